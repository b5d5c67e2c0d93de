"""Draw the README's pictures (docs/*.png) from the configs and the code.

    python docs/render.py            # rewrite docs/*.png
    python docs/render.py --to DIR   # write them to DIR instead

Every picture is drawn by optviz itself, so a change to the renderer or to a
config shows in the README once this is run again; ``tests/test_docs.py``
draws them to a temporary folder and fails when a committed one differs by
more than the snapshot tests' tolerance.
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
SURFACES = (
    "himmelblau",
    "six_hump_camel",
    "branin",
    "cliff",
    "rastrigin",
    "least_squares",
)
TILE = (600, 450)  # one picture of a grid, in pixels
TILE_DPI = 75  # the video's 100 dpi at 800 pixels wide, scaled to 600


def render(folder: Path) -> list[Path]:
    """Draw every picture into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in LECTURE:
        config = ROOT / "configs" / "lecture" / f"{name}.yaml"
        written.append(save(folder / f"{name}.png", last_frame(config)))
    demos = [
        last_frame(ROOT / "configs" / "examples" / f"{name}.yaml", TILE, TILE_DPI)
        for name in DEMOS
    ]
    written.append(save(folder / "demos.png", grid(demos, columns=2), palette=True))
    written.append(
        save(folder / "surfaces.png", grid(surface_tiles(), columns=2), palette=True)
    )
    written.append(save(folder / "maps.png", grid(map_tiles(), columns=2)))
    written.append(save(folder / "sweep.png", grid(sweep_tiles(), columns=2)))
    return written


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
