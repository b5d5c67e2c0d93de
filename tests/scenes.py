"""Scenes for the drawing tests, built the way the pipeline builds them."""

from __future__ import annotations

from optviz.config import Animation
from optviz.draw.figure import Renderer
from optviz.draw.scene import Scene


def scene(
    surface,
    trajectories,
    labels,
    *,
    xlim,
    ylim,
    title=None,
    animation: Animation | None = None,
    colors=(),
    methods=(),
) -> Scene:
    """A :class:`Scene` from the ``animation:`` settings as a config gives them."""
    animation = animation or Animation()
    return Scene(
        surface,
        tuple(trajectories),
        tuple(labels),
        tuple(xlim),
        tuple(ylim),
        title=title,
        colours=tuple(colors),
        methods=tuple(methods),
        look=animation.look,
        layout=animation.layout,
        timeline=animation.timeline,
    )


def renderer(*args, **kwargs) -> Renderer:
    """A :class:`Renderer` of :func:`scene` ``(*args, **kwargs)``."""
    return Renderer(scene(*args, **kwargs))
