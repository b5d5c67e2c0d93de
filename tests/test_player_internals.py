"""The optimizers' internals in the html player: the stage keeps them at the
heads' own kept points, within the decimation's tolerance of the frames'
at every iteration and exactly at the frames' own; in a real Chromium
(``tests/browser.py``) a screenshot of iteration k is optviz's still of it,
``state()`` reports the tips the still draws, and hiding an optimizer hides
its internals.

One small config shows every kind: gd with −∇f and its step, Nesterov
with its velocity and look-ahead (the ring, the dotted line, −∇f there),
Adagrad with −∇f and its scaling ellipse. With 300 iterations on 60 frames of a
log schedule, the late iterations are no frame's and the page drops most.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import browser
import numpy as np
import pytest
from test_player_browser import TOLERANCE

from optviz import api, pipeline
from optviz.draw.backdrop import house_style
from optviz.draw.figure import Renderer
from optviz.draw.internals import COLOURS
from optviz.draw.scene import Player
from optviz.draw.stage import stage
from optviz.snapshot import rms

pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
title: Internals in the player
surface: {name: quadratic, condition: 50}
starts: [[-2.8, -0.3]]
iterations: 300
optimizers:
  - {label: gd, method: gd, lr: 0.03, internals: [gradient, step]}
  - {label: nesterov, method: nesterov, lr: 0.01, momentum: 0.9,
     internals: [velocity, lookahead]}
  - {label: adagrad, method: adagrad, lr: 0.5, internals: [gradient, scaling]}
animation: {frames: 60, fps: 10, hold: 0, size: [640, 480], formats: [html]}
"""
# What each mark of the stage is drawn to, from HeadInternals.drawn's
# tails and vectors: an arrow's tip, the look-ahead point, the semi-axes.
TIPS = {"lookahead": lambda tail, v: v, "scaling": lambda tail, v: v}


def tip(kind: str, tails: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    return TIPS.get(kind, lambda tail, v: tail + v)(tails, vectors)


def seven(v: float) -> float | None:
    return float(f"{v:.7g}") if np.isfinite(v) else None


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The config's scene, its renderer (the video's figure) and schedule."""
    folder = tmp_path_factory.mktemp("internals")
    path = folder / "internals.yaml"
    path.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    scene = pipeline.scene(api.run(api.load_config(path)))
    with house_style():
        renderer = Renderer(scene)
    yield folder, scene, renderer, renderer.schedule()
    renderer.close()


@pytest.fixture(scope="module")
def page(made):
    folder, scene, _, _ = made
    (path,) = pipeline.write_video(scene, ["html"], folder, "internals")
    return path


@pytest.fixture
def visit(chromium, page):
    opened = chromium.open(page)
    yield opened
    assert opened.errors == []
    assert opened.requests == [browser.ADDRESS]  # nothing fetched
    opened.close()


def test_the_stage_keeps_the_internals_with_the_heads_within_the_tolerance(made):
    _, _, renderer, schedule = made
    with house_style():
        shown = stage(renderer, schedule, Player())
    drawn = renderer.internals
    # the marks are the artists of the frames, in their order, their colours
    kinds = [m.kind for m in shown.marks]
    assert kinds == sorted(drawn.arrows, key=lambda k: drawn.arrows[k].get_zorder())
    colours = {m.kind: m.colour for m in shown.marks}
    want = {kind: colour.lower() for kind, colour in COLOURS.items()}
    assert colours["gradient"] == colours["lookahead_gradient"] == want["gradient"]
    assert colours["velocity"] == want["velocity"]
    assert colours["step"] == want["step"]
    assert colours["scaling"] == want["scaling"]
    assert colours["lookahead"] is None  # the optimizer's own
    tol = shown.player.tolerance
    view = renderer.views[0]
    last = max(len(t.points) for t in renderer.trajectories) - 1
    frames = sorted(set(int(k) for k in schedule))
    for kind in kinds:
        runs = [r for r in shown.runs if kind in r.internals]
        if kind == "lookahead_line":  # drawn to the look-ahead point
            assert not runs
            continue
        assert runs
        # what the still draws at every iteration, (iterations, runs, 2)
        exact = np.array([tip(kind, *drawn.drawn(kind, k)) for k in range(last + 1)])
        for i, run in enumerate(runs):
            t = renderer.trajectories[shown.runs.index(run)]
            n = len(t.points)
            assert len(run.kept) < n - 50  # it drops points: between frames
            # each iteration is shown at the last kept point at or before it
            at = np.searchsorted(run.kept, np.arange(n), side="right") - 1
            held, want = run.internals[kind][at], exact[:n, i]
            for k in frames:  # a frame's own iteration: exact
                np.testing.assert_array_equal(held[k], want[k])
            if kind == "scaling":  # lengths: where the ellipse's corner is
                held, want = t.points[run.kept[at]] + held, t.points + want
            ok = np.all(np.isfinite(want), axis=1)
            assert np.array_equal(ok, np.all(np.isfinite(held), axis=1)), kind
            off = np.hypot(*(view.pixels(held[ok]) - view.pixels(want[ok])).T)
            assert off.max() <= tol + 1e-9, kind


def box_of(state, margin: float = 14.0) -> tuple[slice, slice]:
    """The rows and columns round every internal mark the page draws."""
    points = [
        p
        for head in state["heads"]
        for mark in head["internals"].values()
        for p in (mark["pixel"], mark["from"])
    ]
    (x0, y0), (x1, y1) = np.min(points, axis=0), np.max(points, axis=0)
    w, h = state["size"]
    return (
        slice(max(0, int(y0 - margin)), min(h, int(y1 + margin) + 1)),
        slice(max(0, int(x0 - margin)), min(w, int(x1 + margin) + 1)),
    )


def test_a_screenshot_of_iteration_k_is_the_still_of_iteration_k(made, visit):
    _, _, renderer, schedule = made
    n = len(schedule)
    frames = [int(schedule[f]) for f in (n - 1, n // 2, n // 10)]
    between = next(k for k in range(frames[0], 0, -1) if k not in set(schedule))
    artists = renderer.internals.artists
    for k in (*frames, between):
        with house_style():
            still = renderer.frame(k)[..., :3]
            for artist in artists:
                artist.set_visible(False)
            bare = renderer.frame(k)[..., :3]
            for artist in artists:
                artist.set_visible(True)
        state = visit.eval("k => window.optviz.seek(k)", k)
        shot = visit.canvas()
        assert shot.shape == still.shape
        off = rms(still, shot)
        assert off <= TOLERANCE, f"iteration {k}: {off:.2f} grey levels RMS"
        if k in frames[1:]:  # early: long arrows, a wide ellipse
            # round them, the page is the still, and far from it without them
            rows, cols = box_of(state)
            near = rms(still[rows, cols], shot[rows, cols])
            assert near <= TOLERANCE, f"iteration {k}: {near:.2f} near the internals"
            assert rms(bare[rows, cols], shot[rows, cols]) > 2 * TOLERANCE


def test_state_reports_the_tips_the_still_draws(made, visit):
    _, _, renderer, schedule = made
    drawn = renderer.internals
    tolerance = visit.eval(
        "JSON.parse(document.getElementById('optviz-data').textContent).tolerance"
    )
    n = len(schedule)
    frames = [int(schedule[f]) for f in (n - 1, n // 2, n // 10, 0)]
    between = next(k for k in range(frames[0], 0, -1) if k not in set(schedule))
    for k in (*frames, between):
        state = visit.eval("k => window.optviz.seek(k)", k)
        heads = state["heads"]
        for kind in [m for m in drawn.arrows if m != "lookahead_line"]:
            tails, vectors = drawn.drawn(kind, k)
            want = tip(kind, tails, vectors)
            want = want[np.all(np.isfinite(want), axis=1)]  # none: not drawn
            having = [h for h in heads if kind in h["internals"]]
            assert len(having) == len(want), kind
            for head, point in zip(having, want):
                got = head["internals"][kind]
                if k in schedule:  # a frame's own iteration: the very numbers
                    assert got["data"] == [seven(v) for v in point], kind
                else:
                    if kind == "scaling":
                        continue  # lengths: the stage test checks them
                    where = renderer.views[0].pixels(point[None])[0]
                    where[1] = renderer.size[1] - where[1]
                    off = np.hypot(*(np.array(got["pixel"]) - where))
                    assert off <= tolerance + 1e-3, kind
        # the dotted line runs from the head to the ring
        for head in heads:
            line = head["internals"].get("lookahead_line")
            if line:
                assert line["from"] == head["pixel"]
                assert line["pixel"] == head["internals"]["lookahead"]["pixel"]


def test_hiding_an_optimizer_hides_its_internals(made, visit):
    _, _, _, schedule = made
    k = int(schedule[len(schedule) // 2])
    state = visit.eval("k => window.optviz.seek(k)", k)
    assert all(h["internals"] for h in state["heads"])
    rows, cols = box_of(state)
    before = visit.canvas()
    hidden = visit.eval("i => window.optviz.toggle(i, false)", 1)
    gone, kept = hidden["heads"][1], hidden["heads"][0]
    assert gone["internals"] == {} and not gone["shown"]
    assert kept["internals"] == state["heads"][0]["internals"]
    after = visit.canvas()
    # its ellipse, arrows and ring leave the picture
    changed = np.any(after[rows, cols] != before[rows, cols], axis=2)
    assert changed.sum() > 300
    visit.eval("i => window.optviz.toggle(i, true)", 1)
    np.testing.assert_array_equal(visit.canvas(), before)


EXAMPLES = ("momentum_internals", "nesterov_lookahead", "adagrad_scaling")


def test_the_example_pages_are_small(tmp_path):
    # the README: under 250 KB each, 2.6 to 5 KB of that the internals
    for stem in EXAMPLES:
        config = api.load_config(ROOT / "configs" / "examples" / f"{stem}.yaml")
        assert config.animation.internals or any(o.internals for o in config.optimizers)
        scene = pipeline.scene(api.run(config))
        (path,) = pipeline.write_video(scene, ["html"], tmp_path, stem)
        text = path.read_text(encoding="utf-8")
        data = re.search(r'id="optviz-data">(.*?)</script>', text, re.S)
        runs = json.loads(data.group(1))["runs"]
        compact = sum(
            len(json.dumps(r.get("internals", {}), separators=(",", ":"))) for r in runs
        )
        assert path.stat().st_size < 250_000, stem
        assert 2_600 <= compact <= 5_100, (stem, compact)
