"""Captions in the html player: at every iteration the page shows the
captions that optviz's still of that iteration shows (those of the first
frame of the video that shows it or a later iteration), each set drawn from
a picture of the frame's own caption box; in a real Chromium
(``tests/browser.py``) a screenshot at a frame's iteration is optviz's still
of that frame, caption and all, and ``state()`` lists the captions; with
``captions.draw: false`` the page draws none, like the video.

One small config: two cues that overlap on some frames (one box of two
lines there), and one that lasts into the video's hold (the page shows it
to the last iteration), on a log schedule of 60 frames at 10 fps.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import browser
import numpy as np
import pytest
from PIL import Image
from test_player_browser import TOLERANCE

from optviz import api, pipeline
from optviz.draw.backdrop import house_style
from optviz.draw.figure import Renderer, _still_captions, stills
from optviz.snapshot import rms

pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
title: Captions in the player
surface: {name: quadratic, condition: 10}
starts: [[-2.8, -0.3]]
iterations: 120
optimizers:
  - {label: gd, method: gd, lr: 0.05}
  - {label: momentum, method: momentum, lr: 0.02, momentum: 0.9}
captions:
  draw: DRAW
  cues:
    - {at: 20, text: "momentum swings past the valley floor", seconds: 2}
    - {at: 40, text: "gd creeps down", seconds: 2}
    - {at: 110, text: "into the hold", seconds: 3}
animation: {frames: 60, fps: 10, hold: 1, size: [480, 360], formats: [html]}
"""


def made(folder: Path, draw: bool):
    """The config's scene and its page, as ``optviz run`` writes it."""
    path = folder / "captions.yaml"
    path.write_text(CONFIG.replace("DRAW", str(draw).lower()), encoding="utf-8")
    scene = pipeline.scene(api.run(api.load_config(path)))
    (page,) = pipeline.write_video(scene, ["html"], folder, "captions")
    return scene, page


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    return made(tmp_path_factory.mktemp("captions"), True)


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    return made(tmp_path_factory.mktemp("undrawn"), False)


@pytest.fixture(scope="module")
def schedule(drawn):
    scene, _ = drawn
    with house_style():
        renderer = Renderer(scene)
    try:
        return renderer.schedule(), renderer.last
    finally:
        renderer.close()


def opened(chromium, page):
    return chromium.open(page)


def checked(visit) -> None:
    assert visit.errors == []
    assert visit.requests == [browser.ADDRESS]  # nothing fetched
    visit.close()


def data(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    return json.loads(re.search(r'id="optviz-data">(.*?)</script>', text, re.S)[1])


def test_at_every_iteration_the_page_shows_the_captions_of_its_still(
    chromium, drawn, schedule
):
    scene, page = drawn
    _, last = schedule
    with house_style():
        renderer = Renderer(scene)
    try:
        want = _still_captions(scene, renderer, range(last + 1), False)
    finally:
        renderer.close()
    assert sum(len(w) == 2 for w in want) > 0  # the two cues overlap somewhere
    assert want[-1] == ("into the hold",)  # on the last motion frame and after
    visit = opened(chromium, page)
    got = visit.eval(
        "n => Array.from({length: n}, (_, k) => window.optviz.seek(k).captions)",
        last + 1,
    )
    checked(visit)
    assert [tuple(g) for g in got] == list(want)


def framed(scene, schedule, f: int) -> tuple[np.ndarray, np.ndarray]:
    """The still of frame ``f`` of the video, and that frame with no caption."""
    (still,) = stills(scene, [f], frames=True)
    with house_style():
        renderer = Renderer(scene)
        try:
            bare = np.array(renderer.frame(int(schedule[f])), copy=True)
        finally:
            renderer.close()
    return still[..., :3], bare[..., :3]


def box(page: dict, caption: dict) -> tuple[slice, slice]:
    """The rows and columns of a caption's box on the canvas."""
    name, left, top = caption["pieces"][0]  # the box, under its lines
    (w, h) = Image.open(io.BytesIO(base64.b64decode(page["pictures"][name]))).size
    return slice(top, top + h), slice(left, left + w)


def test_a_screenshot_at_a_frame_with_captions_is_its_still(chromium, drawn, schedule):
    scene, page = drawn
    frames, _ = schedule
    stored = data(page)
    shown = stored["captions"]
    # the config's first two cues: one, then both in one box, then the second
    assert [len(c["texts"]) for c in shown[:3]] == [1, 2, 1]
    visit = opened(chromium, page)
    try:
        # before the first caption's frame, its first, and in the box of two
        one, two = shown[0], shown[1]
        middle = (two["first"] + two["stop"]) // 2
        for f in (one["first"] - 1, one["first"], middle):
            state = visit.eval("k => window.optviz.seek(k)", int(frames[f]))
            assert state["frame"] == f
            shot = visit.canvas()
            still, bare = framed(scene, frames, f)
            off = rms(still, shot)
            assert off <= TOLERANCE, f"frame {f}: {off:.2f} grey levels RMS"
            on = [c for c in shown if c["first"] <= f < c["stop"]]
            assert state["captions"] == (on[0]["texts"] if on else [])
            if not on:
                assert np.array_equal(still, bare)  # the still has none either
                continue
            # in the caption's box the page is the still, and far from it without
            rows, cols = box(stored, on[0])
            near = rms(still[rows, cols], shot[rows, cols])
            assert near <= TOLERANCE, f"frame {f}: {near:.2f} in the caption's box"
            assert rms(bare[rows, cols], shot[rows, cols]) > 4 * TOLERANCE
    finally:
        checked(visit)


def test_with_draw_false_the_page_draws_no_captions(chromium, hidden, schedule):
    scene, page = hidden
    frames, _ = schedule
    stored = data(page)
    assert stored["captions"] == []
    assert not [name for name in stored["pictures"] if name.startswith("caption")]
    f = len(frames) // 2
    visit = opened(chromium, page)
    try:
        state = visit.eval("k => window.optviz.seek(k)", int(frames[f]))
        assert state["captions"] == []
        still, bare = framed(scene, frames, f)
        assert np.array_equal(still, bare)  # no caption in the video's frame
        assert rms(still, visit.canvas()) <= TOLERANCE
    finally:
        checked(visit)


def test_the_example_page_is_small(tmp_path):
    # the README: under 310 KB, 40 to 50 KB of that its captions; its eight
    # sets of captions take 20 pictures, each kept once
    config = api.load_config(ROOT / "configs" / "examples" / "captions_and_events.yaml")
    scene = pipeline.scene(api.run(config))
    (page,) = pipeline.write_video(scene, ["html"], tmp_path, config.stem)
    stored = data(page)
    pictures = {k: v for k, v in stored["pictures"].items() if k.startswith("caption")}
    size = sum(map(len, pictures.values())) + len(json.dumps(stored["captions"]))
    assert page.stat().st_size < 310_000
    assert 40_000 <= size <= 50_000, size
    assert len(stored["captions"]) == 8
    assert len(pictures) == 20 == len(set(pictures.values()))
    used = {p[0] for c in stored["captions"] for p in c["pieces"]}
    assert used == set(pictures)
    lines = sum(len(c["pieces"]) for c in stored["captions"])
    assert lines > len(pictures)  # a line in several boxes is kept once
