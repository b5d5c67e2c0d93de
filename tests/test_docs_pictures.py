"""The README's pictures are what the code draws today.

``docs/render.py`` draws every ``docs/*.png`` from the configs; this draws
them again into a temporary folder and compares each with the committed one
with the snapshot tests' tolerance. When it fails, the picture is stale: run
``python docs/render.py``, look at the pictures, and commit them.
"""

import importlib.util
import os
import re
from pathlib import Path

import browser
import pytest

from optviz.snapshot import DEFAULT_IMAGE_TOL, load_png, rms

# Every test here draws or encodes: deselect with -m 'not render'.
pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def render_module():
    spec = importlib.util.spec_from_file_location(
        "docs_render", ROOT / "docs" / "render.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The player's picture is a screenshot by the browser of the player's tests:
# without it (Playwright or chromium missing) that picture alone is skipped,
# except under CI, which installs both.
NO_BROWSER = browser.missing()
if NO_BROWSER and os.environ.get("CI"):
    raise RuntimeError(f"CI must draw the player's picture: {NO_BROWSER}")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    module = render_module()
    paths = module.render(folder, browser=NO_BROWSER is None)
    found = {path.name: path for path in paths}
    if NO_BROWSER:
        found[module.PLAYER_PICTURE] = None  # drawn where a browser is
        found[module.SWEEP_PICTURE] = None
    return found


def test_the_script_draws_every_picture_the_readme_shows(drawn):
    shown = {Path(p).name for p in re.findall(r"\]\((docs/[^)]+\.png)\)", README)}
    assert shown == set(drawn)
    assert {p.name for p in (ROOT / "docs").glob("*.png")} == set(drawn)


@pytest.mark.parametrize(
    "name",
    sorted({Path(p).name for p in re.findall(r"\]\(docs/([^)]+\.png)\)", README)}),
)
def test_each_picture_is_current(drawn, name):
    if drawn[name] is None:
        pytest.skip(f"docs/{name} is a browser's screenshot: {NO_BROWSER}")
    committed = load_png(ROOT / "docs" / name)
    now = load_png(drawn[name])
    assert committed.shape == now.shape, "run python docs/render.py"
    off = rms(committed, now)
    assert off <= DEFAULT_IMAGE_TOL, (
        f"docs/{name} differs from what the code draws by {off:.2f} grey levels "
        "RMS; run python docs/render.py, look at it, and commit it"
    )
