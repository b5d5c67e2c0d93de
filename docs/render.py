"""Draw the README's pictures (docs/*.png) from the configs and the code.

    python docs/render.py            # rewrite docs/*.png
    python docs/render.py --to DIR   # write them to DIR instead

Every picture is drawn by optviz itself, so a change to the renderer or to a
config shows in the README once this is run again; ``tests/test_docs_pictures.py``
draws them to a temporary folder and fails when a committed one differs by
more than the snapshot tests' tolerance. The picture of the html player is a
screenshot taken by the browser of the player's tests (``tests/browser.py``:
Playwright and Debian's chromium).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# The lecture's last videos, at their own size: the README's first pictures.
LECTURE = (
    "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam",
    "1gd_gd+p_gd+np_adagrad_rmsprop+p_adam",
)
# The README's "lecture's other points", left to right, top to bottom, each
# as its last frame without the panels.
DEMOS = (
    "newton_beale_saddle",
    "newton_saddle",
    "second_order_race",
    "quadratic_zigzag",
    "cliff_jump",
    "batch_vs_minibatch",
    "lr_decay",
    "adam_bias_correction",
)
# The README's "classics": Radford's three animations, left to right, each
# as its last frame without the panels (configs/classics/).
CLASSICS = ("beale", "long_valley", "saddle_point")
SURFACES = (
    "himmelblau",
    "six_hump_camel",
    "branin",
    "cliff",
    "rastrigin",
    "least_squares",
)
# The README's stills of the looks: the example drawn in every theme, the
# camera's example at 10 %, 50 % and 100 % of its motion, and the slides'.
THEMED = "classic_look"
CAMERA = "camera_path"
CAMERA_AT = (0.1, 0.5, 1.0)
SLIDES = "slides_big_type"  # at its own size, 1280×720
# The captions' still: this example's frame CAPTIONS_FRAME, at its own size,
# with the captions its video shows there.
CAPTIONS = "captions_and_events"
CAPTIONS_FRAME = 20
# The html player's picture: this config's page at frame PLAYER_FRAME, with
# gd hidden and the cursor on adam's head (its readout showing).
PLAYER = "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam"
PLAYER_FRAME = 150
PLAYER_PICTURE = "player.png"
# A sweep's player: the example's page with the slider on SWEEP_VARIANT (of
# its five rates, 3e-3) at frame SWEEP_FRAME.
SWEEP_PLAYER = "beale_lr_slider"
SWEEP_VARIANT = 2
SWEEP_FRAME = 120
SWEEP_PICTURE = "player_sweep.png"


# The optimizer internals at the heads: each example at the iteration shown.
INTERNALS = (
    ("momentum_internals", 8),
    ("nesterov_lookahead", 2),
    ("adagrad_scaling", 2),
)
INTERNALS_PICTURE = "internals.png"
# The internals on the surface: this example (view: both) at this iteration,
# at this size.
INTERNALS_3D = ("momentum_internals_3d", 2)
INTERNALS_3D_PICTURE = "internals_3d.png"
INTERNALS_3D_SIZE = (1000, 440)
TILE = (600, 450)  # one picture of a grid, in pixels
TILE_DPI = 75  # the video's 100 dpi at 800 pixels wide, scaled to 600


def render(folder: Path, browser: bool = True) -> list[Path]:
    """Draw every picture into ``folder`` (the player's only with
    ``browser``); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if browser:
        written.append(player_screenshot(folder / PLAYER_PICTURE))
        written.append(sweep_player_screenshot(folder / SWEEP_PICTURE))
    for name in LECTURE:
        config = ROOT / "configs" / "lecture" / f"{name}.yaml"
        written.append(save(folder / f"{name}.png", last_frame(config)))
    demos = [
        last_frame(ROOT / "configs" / "examples" / f"{name}.yaml", TILE, TILE_DPI)
        for name in DEMOS
    ]
    written.append(save(folder / "demos.png", grid(demos, columns=2), palette=True))
    written.append(save(folder / "classics.png", classics_picture(), palette=True))
    written.append(
        save(folder / "surfaces.png", grid(surface_tiles(), columns=2), palette=True)
    )
    written.append(save(folder / "maps.png", grid(map_tiles(), columns=2)))
    written.append(save(folder / "sweep.png", grid(sweep_tiles(), columns=2)))
    tiles = theme_tiles()
    written.append(save(folder / "themes.png", grid(tiles, len(tiles)), palette=True))
    tiles = camera_tiles()
    written.append(save(folder / "camera.png", grid(tiles, len(tiles)), palette=True))
    written.append(save(folder / "slides.png", last_frame(example(SLIDES)), True))
    tiles = internals_tiles()
    written.append(save(folder / INTERNALS_PICTURE, grid(tiles, len(tiles))))
    written.append(save(folder / INTERNALS_3D_PICTURE, internals_3d_still()))
    written.append(save(folder / "captions.png", caption_still(), palette=True))
    written.append(save(folder / "story.png", grid(story_tiles(), 2), palette=True))
    return written


def classics_picture() -> np.ndarray:
    """:data:`CLASSICS`' last frames side by side, each at :data:`TILE`."""
    tiles = [
        last_frame(ROOT / "configs" / "classics" / f"{name}.yaml", TILE, TILE_DPI)
        for name in CLASSICS
    ]
    return grid(tiles, columns=len(tiles))


def internals_tiles() -> list[np.ndarray]:
    """Each of :data:`INTERNALS` at its iteration, at :data:`TILE`: the
    moment its internals make the point (the arrows shrink as the runs
    settle, so a last frame would hardly show them)."""
    from optviz import api
    from optviz.draw.figure import stills

    tiles = []
    for name, k in INTERNALS:
        result = api.run(api.load_config(example(name)))
        animation = dataclasses.replace(
            result.config.animation, size=TILE, dpi=TILE_DPI
        )
        (frame,) = stills(api.scene(result, animation), [k])
        tiles.append(frame[..., :3])
    return tiles


def internals_3d_still() -> np.ndarray:
    """:data:`INTERNALS_3D` at its iteration, at :data:`INTERNALS_3D_SIZE`:
    the internals on the contours and, lifted onto it, on the surface."""
    from optviz import api
    from optviz.draw.figure import stills

    name, k = INTERNALS_3D
    result = api.run(api.load_config(example(name)))
    animation = dataclasses.replace(
        result.config.animation, size=INTERNALS_3D_SIZE, dpi=TILE_DPI
    )
    (frame,) = stills(api.scene(result, animation), [k])
    return frame[..., :3]


STORY = "opt2_story"
STORY_CHAPTER = 5  # the sixth: rmsprop+p in rmsprop's place


def story_tiles() -> list[np.ndarray]:
    """:data:`STORY`'s chapter :data:`STORY_CHAPTER`: its title card and
    its last frame, at :data:`TILE`."""
    from optviz import api, story
    from optviz.draw.figure import Renderer

    s = story.with_animation(story.load(example(STORY)), size=TILE, dpi=TILE_DPI)
    (result,) = api.run_all([s.chapters[STORY_CHAPTER].config])
    scene = api.scene(result)
    card = story.card_image(scene, story.card_lines(s, STORY_CHAPTER))
    renderer = Renderer(scene)
    try:
        last = renderer.frame(renderer.last)
    finally:
        renderer.close()
    return [card[..., :3], last[..., :3]]


def example(name: str) -> Path:
    return ROOT / "configs" / "examples" / f"{name}.yaml"


def theme_tiles() -> list[np.ndarray]:
    """:data:`THEMED` drawn in each built-in theme, in the registry's order,
    at :data:`TILE`, titled with the theme's name."""
    from optviz import api
    from optviz.draw.figure import Renderer
    from optviz.draw.themes import THEMES

    result = api.run(api.load_config(example(THEMED)))
    tiles = []
    for name in THEMES:
        animation = dataclasses.replace(
            result.config.animation, size=TILE, dpi=TILE_DPI, theme=name
        )
        scene = dataclasses.replace(
            api.scene(result, animation), title=f"animation.theme: {name}"
        )
        renderer = Renderer(scene)
        try:
            tiles.append(renderer.frame(renderer.last)[..., :3])
        finally:
            renderer.close()
    return tiles


def camera_tiles() -> list[np.ndarray]:
    """:data:`CAMERA`'s frames at :data:`CAMERA_AT` of its motion, at
    :data:`TILE`, each seen from its frame's camera."""
    from optviz import api
    from optviz.draw.figure import stills

    result = api.run(api.load_config(example(CAMERA)))
    animation = dataclasses.replace(result.config.animation, size=TILE, dpi=TILE_DPI)
    last = animation.frames - 1
    frames = [round(at * last) for at in CAMERA_AT]
    return [f[..., :3] for f in stills(api.scene(result, animation), frames, True)]


def sweep_tiles() -> list[np.ndarray]:
    """configs/examples/interpreting_the_cost.yaml: the overlay's last frame
    and the loss still, at :data:`TILE`."""
    from optviz import api, pipeline
    from optviz.draw.figure import Renderer

    config = api.load_config(ROOT / "configs/examples/interpreting_the_cost.yaml")
    small = dataclasses.replace(config.animation, size=TILE, dpi=TILE_DPI)
    result = api.run(dataclasses.replace(config, animation=small))
    renderer = Renderer(pipeline.overlay_scene(result))
    try:
        overlay = np.array(renderer.frame(renderer.last))[..., :3]
    finally:
        renderer.close()
    import tempfile

    from optviz.snapshot import load_png

    with tempfile.TemporaryDirectory() as tmp:
        path = pipeline.write_loss(result, Path(tmp) / "loss.png")
        loss = load_png(path)[..., :3]
    return [overlay, loss]


# The README's maps, left to right: a basin map, a phase map (optviz map).
MAPS = ("himmelblau_basins", "momentum_phase")


def map_tiles() -> list[np.ndarray]:
    """Each of :data:`MAPS` as ``optviz map`` draws it, at :data:`TILE`."""
    from optviz import api, pipeline
    from optviz.draw.maps import picture

    tiles = []
    for name in MAPS:
        config = api.load_config(ROOT / "configs" / "examples" / f"{name}.yaml")
        shown = pipeline.map_picture(pipeline.run_map(config))
        tiles.append(picture(shown, size=TILE, dpi=TILE_DPI)[..., :3])
    return tiles


def caption_still() -> np.ndarray:
    """:data:`CAPTIONS`'s frame :data:`CAPTIONS_FRAME`, captions drawn."""
    from optviz import api
    from optviz.draw.figure import stills

    result = api.run(api.load_config(example(CAPTIONS)))
    (frame,) = stills(api.scene(result), [CAPTIONS_FRAME], frames=True)
    return frame[..., :3]


def last_frame(
    config: Path, size: tuple[int, int] | None = None, dpi: int | None = None
) -> np.ndarray:
    """The last frame of ``config``'s video, (h, w, 3); with ``size``, drawn
    at that size and ``dpi`` without the panels."""
    from optviz import api
    from optviz.draw.figure import Renderer

    result = api.run(api.load_config(config))
    animation = result.config.animation
    if size is not None:
        animation = dataclasses.replace(animation, size=size, dpi=dpi, panels=())
    renderer = Renderer(api.scene(result, animation))
    try:
        return renderer.frame(renderer.last)[..., :3]
    finally:
        renderer.close()


def player_browser():
    """``tests/browser.py``, the player tests' browser (or SystemExit)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "optviz_test_browser", ROOT / "tests" / "browser.py"
    )
    assert spec is not None and spec.loader is not None
    browser = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = browser  # its dataclasses look themselves up there
    spec.loader.exec_module(browser)
    reason = browser.missing()
    if reason:
        raise SystemExit(f"cannot take the player's screenshot: {reason}")
    return browser


def screenshot(path: Path, page_of, act) -> Path:
    """The page that ``page_of(folder)`` writes there, as the test browser
    shows it at 900 × 820 after ``act(visit)``: the player's part alone."""
    import io
    import tempfile

    from PIL import Image

    browser = player_browser()
    with tempfile.TemporaryDirectory() as folder:
        page = page_of(Path(folder))
        chromium = browser.Browser()
        try:
            visit = chromium.open(page, width=900, height=820)
            act(visit)
            shot = visit.page.locator("#optviz").screenshot()
            visit.close()
        finally:
            chromium.close()
    image = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    return save(path, image)


def player_screenshot(path: Path) -> Path:
    """The html player of :data:`PLAYER` as the test browser shows it."""
    from optviz import api, pipeline

    result = api.run(api.load_config(ROOT / "configs" / "lecture" / f"{PLAYER}.yaml"))

    def page_of(folder: Path) -> Path:
        (page,) = pipeline.write_video(api.scene(result), ["html"], folder, PLAYER)
        return page

    def act(visit) -> None:
        state = visit.eval("f => window.optviz.frame(f)", PLAYER_FRAME)
        visit.eval("window.optviz.toggle(0, false)")  # gd hidden
        head = next(h for h in state["heads"] if h["label"] == "adam")
        box = visit.page.locator("canvas").bounding_box()
        visit.page.mouse.move(box["x"] + head["pixel"][0], box["y"] + head["pixel"][1])

    return screenshot(path, page_of, act)


def sweep_player_screenshot(path: Path) -> Path:
    """The sweep's player of :data:`SWEEP_PLAYER`, its slider moved by a
    key press to :data:`SWEEP_VARIANT`, as the test browser shows it."""
    from optviz import api, pipeline

    result = api.run(api.load_config(example(SWEEP_PLAYER)))

    def page_of(folder: Path) -> Path:
        (page,) = pipeline.write_sweep(result, folder, formats=["html"])
        return page

    def act(visit) -> None:
        visit.eval("f => window.optviz.frame(f)", SWEEP_FRAME)
        slider = visit.page.locator("input.variant")
        slider.focus()
        for _ in range(SWEEP_VARIANT):
            visit.page.keyboard.press("ArrowRight")
        assert visit.eval("window.optviz.state()")["variant"] == SWEEP_VARIANT
        visit.page.mouse.move(5, 5)  # off the canvas

    return screenshot(path, page_of, act)


def surface_tiles() -> list[np.ndarray]:
    """Each of :data:`SURFACES` as ``optviz show`` draws it, at :data:`TILE`."""
    from optviz import surfaces
    from optviz.draw.figure import surface_picture

    return [
        surface_picture(surfaces.get(name), size=TILE, dpi=TILE_DPI)[..., :3]
        for name in SURFACES
    ]


def grid(images: Sequence[np.ndarray], columns: int) -> np.ndarray:
    """``images`` (all one size) in rows of ``columns``, left to right."""
    h, w, _ = images[0].shape
    rows = -(-len(images) // columns)
    out = np.full((rows * h, columns * w, 3), 255, dtype=np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    return out


def save(path: Path, image: np.ndarray, palette: bool = False) -> Path:
    """``image`` as a PNG; with ``palette``, in 256 colours (a grid of
    contour plots loses nothing visible and takes a third of the bytes)."""
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image))
    if palette:
        picture = picture.quantize(256, dither=Image.Dither.NONE)
    picture.save(path, format="PNG", optimize=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", type=Path, default=DOCS, help="default: docs/")
    args = parser.parse_args(argv)
    for path in render(args.to):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
