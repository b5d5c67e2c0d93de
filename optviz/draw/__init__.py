"""Frames from trajectories: contours, views, schedules and the figure.

:mod:`~optviz.draw.backdrop` draws what never moves (contours, the house
look), :mod:`~optviz.draw.views` the 2-D and 3-D views of one axes,
:mod:`~optviz.draw.schedules` which iteration each frame shows,
:mod:`~optviz.draw.panels` and :mod:`~optviz.draw.themes` the registries of
panels and themes,
:mod:`~optviz.draw.animation` the settings they read, and
:mod:`~optviz.draw.figure` the :class:`Renderer` that owns the figure. This is
the layer that imports matplotlib (the config borrows only its colour check).
It is not named ``render``: that is the API function ``optviz.render``, which
a subpackage of the same name would shadow once imported.
"""
