"""The interactive player: one self-contained HTML page of a video's stage.

The page (``player.html`` beside this module: its markup, style and script)
gets the stage's numbers as a JSON block and its pictures as base64 PNGs
inside that block, decoded in the page into bitmaps (no ``data:`` or network
URL anywhere); a Content-Security-Policy forbids every fetch, so the file
works offline, from a course website or inside a slide. The stage itself is
the drawing layer's (:mod:`optviz.draw.stage`); this module knows it only
through :class:`Stage`.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from optviz.output.files import replace_when_done

if TYPE_CHECKING:
    import numpy as np

_DATA = "/*OPTVIZ-DATA*/"
_TITLE = "<!--OPTVIZ-TITLE-->"


class Stage(Protocol):
    """What the player is drawn from (:class:`optviz.draw.stage.Stage`)."""

    @property
    def size(self) -> tuple[int, int]: ...
    @property
    def title(self) -> str: ...
    @property
    def pictures(self) -> Mapping[str, np.ndarray]: ...
    def to_json(self) -> dict[str, Any]: ...


def template() -> str:
    return (
        resources.files("optviz.output")
        .joinpath("player.html")
        .read_text(encoding="utf-8")
    )


def png(image: np.ndarray) -> bytes:
    """``image`` (RGBA) as PNG bytes; opaque pictures without alpha."""
    import numpy as np
    from PIL import Image  # matplotlib's own dependency

    image = np.asarray(image, dtype=np.uint8)
    if image.shape[2] == 4 and np.all(image[..., 3] == 255):
        image = image[..., :3]
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", optimize=True)
    return out.getvalue()


def page(stage: Stage, name: str = "") -> str:
    """The player's page for ``stage``, titled by its title or ``name``."""
    data = stage.to_json()
    data["pictures"] = {
        key: base64.b64encode(png(image)).decode("ascii")
        for key, image in stage.pictures.items()
    }
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # Inside <script>: no "</script>" or "<!--" may appear in the data.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = html.escape(stage.title or name or "optviz")
    return template().replace(_TITLE, title, 1).replace(_DATA, text, 1)


def write(path: Path, stage: Stage) -> Path:
    """The page of ``stage`` at ``path``, under its name only when complete."""
    path = Path(path)
    text = page(stage, path.stem)
    with replace_when_done(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def inline(page_text: str, size: tuple[int, int]) -> str:
    """``page_text`` as an ``<iframe>`` for a notebook: its own document, so
    that two players on one page, or the notebook's styles, never meet."""
    w, h = size
    return (
        f'<iframe srcdoc="{html.escape(page_text, quote=True)}" '
        f'width="{w + 32}" height="{h + 190}" style="border:0;max-width:100%" '
        'sandbox="allow-scripts" title="optviz player"></iframe>'
    )
