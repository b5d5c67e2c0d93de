"""Files a run leaves behind, each under its final name only when complete.

:mod:`~optviz.output.writers` is the registry of output formats (one class
each: MP4, GIF, PNG), :mod:`~optviz.output.encode` pipes frames to ffmpeg,
:mod:`~optviz.output.segments` encodes one video in several processes and
joins the pieces, :mod:`~optviz.output.trajectories_csv` writes the
trajectories, :mod:`~optviz.output.files` the atomic replace they all use.
"""
