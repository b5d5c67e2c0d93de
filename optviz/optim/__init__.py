"""The optimizers and the loop that runs them: pure NumPy over batched rows.

:mod:`~optviz.optim.protocol` says what a method is (``init``/``update``
over batched rows), :mod:`~optviz.optim.methods` is the registry of methods
(and the fused lecture rule), :mod:`~optviz.optim.second_order` the methods
that need the Hessian,
:mod:`~optviz.optim.runner` the loop with its :class:`Trajectory` and
:class:`Status`, :mod:`~optviz.optim.window` and :mod:`~optviz.optim.summary`
what is read off finished trajectories. Nothing here draws, writes files or
reads a config.
"""
