"""optviz: watch optimizers move on 2-D surfaces.

The package root stays light (no NumPy, no matplotlib) so that the command
line starts fast; the API below is imported on first use.
"""

from __future__ import annotations

from typing import Any

from optviz.errors import ConfigError, OptvizError, RenderError

__version__ = "0.1.0"

_API = (
    "Result",
    "load_config",
    "run",
    "run_all",
    "render",
    "still",
    "write_csv",
    "write_outputs",
    "summary_rows",
    "summary_table",
    "view_warnings",
    "timeline_note",
    "run_map",
    "write_map",
    "show",
    "player_page",
    "video_html",
)

__all__ = ["ConfigError", "OptvizError", "RenderError", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from optviz import api

        return getattr(api, name)
    raise AttributeError(f"module 'optviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The API too (loaded on first use, so not yet in the module's
    namespace): what tab completion offers."""
    return sorted({*globals(), *__all__})
