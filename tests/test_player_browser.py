"""The html player in a real headless Chromium (see ``tests/browser.py``).

Every lecture config's page is written by ``optviz run --html`` and opened:
it loads, raises no error, fetches nothing, is under 2 MB, and its heads
start at the starts and end at the ends. Two configs (the lecture's last
ones: six optimizers each) get the full checks: seeking puts every head
where the video has it (the same transform, to a thousandth of a pixel, and
the decimation's tolerance), play, pause, the end of the video, hiding and
showing optimizers from both legends, the readout under the cursor, the
keyboard, the slider, and screenshots against optviz's own stills of the
same frames: at most :data:`TOLERANCE` grey levels RMS (the browser's
anti-aliasing differs from Agg's; everything else is the video's pixels).

Without Playwright or a chromium executable these tests skip, saying which
is missing; under CI (``CI`` set) they fail instead: CI installs both.
"""

from __future__ import annotations

from pathlib import Path

import browser
import numpy as np
import pytest

from optviz import api, pipeline
from optviz.cli import main
from optviz.draw.backdrop import house_style
from optviz.draw.figure import Renderer
from optviz.snapshot import rms

pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent
LECTURE = sorted((ROOT / "configs" / "lecture").glob("*.yaml"))
FULL = (
    "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam",
    "1gd_gd+p_gd+np_adagrad_rmsprop+p_adam",
)
# A screenshot of frame k against optviz's still of frame k, RMS over every
# pixel and channel, in grey levels of 0..255 (measured: 0.4 to 0.9 on the
# lecture's frames, 0.5 to 1.6 with panels).
TOLERANCE = 1.5
PANEL_TOLERANCE = 2.0
MOST_BYTES = 2_000_000


@pytest.fixture(scope="module")
def pages(tmp_path_factory, chromium):
    """Every lecture config's page, as ``optviz run --html`` writes them."""
    folder = tmp_path_factory.mktemp("players")
    paths = [str(p) for p in LECTURE]
    code = main(
        ["run", *paths, "--html", "--no-video", "-q", "-j", "2", "-o", str(folder)]
    )
    assert code == 0
    return {p.stem: folder / p.stem / f"{p.stem}.html" for p in LECTURE}


@pytest.fixture(scope="module")
def results():
    configs = [api.load_config(p) for p in LECTURE]
    return {c.stem: r for c, r in zip(configs, pipeline.run_all(configs))}


@pytest.fixture(scope="module")
def figures(results):
    """The two full configs' renderers: the video's own figure."""
    made = {}
    with house_style():
        for stem in FULL:
            renderer = Renderer(pipeline.scene(results[stem]))
            made[stem] = (renderer, renderer.schedule())
    yield made
    for renderer, _ in made.values():
        renderer.close()


@pytest.fixture(params=FULL)
def full(request, chromium, pages, figures):
    stem = request.param
    visit = chromium.open(pages[stem])
    renderer, schedule = figures[stem]
    yield visit, renderer, schedule
    assert visit.errors == []
    assert visit.requests == [browser.ADDRESS]
    visit.close()


def seven(v: float) -> float:
    """A value as the page holds it: 7 significant digits."""
    return float(f"{v:.7g}")


def pixels(renderer, points) -> np.ndarray:
    """Where the video draws ``points``, in canvas pixels (y down)."""
    out = renderer.views[0].pixels(np.asarray(points, dtype=float).reshape(-1, 2))
    out[:, 1] = renderer.size[1] - out[:, 1]
    return out


# -- every lecture config ------------------------------------------------------


@pytest.mark.parametrize("config", LECTURE, ids=[p.stem for p in LECTURE])
def test_every_lecture_player_loads_offline_and_small(config, chromium, pages, results):
    path = pages[config.stem]
    assert path.stat().st_size < MOST_BYTES
    visit = chromium.open(path)
    try:
        result = results[config.stem]
        runs = [t for t in result.trajectories if len(t.points)]
        start = visit.eval("window.optviz.seek(0)")
        assert start["frames"] == result.config.animation.frames
        assert start["last"] == max(t.iterations for t in runs)
        assert len(start["heads"]) == len(runs)
        end = visit.eval("window.optviz.seek(1e9)")
        assert end["iteration"] == end["last"]
        for head, t in zip(end["heads"], runs):
            assert head["label"] == result.labels[t.optimizer]
            assert head["data"] == [seven(v) for v in t.points[-1]]
            assert head["f"] == seven(t.loss[-1])
            assert head["iteration"] == len(t.points) - 1
        for head, t in zip(start["heads"], runs):
            assert head["data"] == [seven(v) for v in t.points[0]]
        assert visit.errors == []
        assert visit.requests == [browser.ADDRESS]  # nothing fetched
    finally:
        visit.close()


# -- the full checks -----------------------------------------------------------


def test_seek_puts_every_head_where_the_video_has_it(full):
    visit, renderer, schedule = full
    tolerance = visit.eval("JSON.parse(document.getElementById('optviz-data')"
                           ".textContent).tolerance")  # fmt: skip
    runs = renderer.trajectories
    for k in (0, 1, int(schedule[57]), 777, 3_333, int(schedule[-1])):
        state = visit.eval("k => window.optviz.seek(k)", k)
        assert state["iteration"] == k
        assert f"iteration {k:,} of" in visit.page.locator(".counter").inner_text()
        for head, t in zip(state["heads"], runs):
            at = min(k, len(t.points) - 1)
            kept = head["iteration"]
            assert kept <= at
            if k in schedule:
                assert kept == at  # every point a frame shows is kept
            assert head["data"] == [seven(v) for v in t.points[kept]]
            # the page's transform is the video's
            np.testing.assert_allclose(
                head["pixel"], pixels(renderer, head["data"])[0], atol=1e-3
            )
            # within the decimation's tolerance of where the video has it
            off = np.hypot(
                *(np.array(head["pixel"]) - pixels(renderer, t.points[at])[0])
            )
            assert off <= tolerance + 1e-3


def test_play_runs_through_the_frames_and_pause_stops(full):
    visit, _, schedule = full
    visit.eval("window.optviz.seek(0); window.optviz.play()")
    visit.wait("window.optviz.state().iteration > 0")
    visit.eval("window.optviz.pause()")
    state = visit.eval("window.optviz.state()")
    assert not state["playing"]
    assert state["iteration"] in set(schedule.tolist())  # played on the frames
    visit.page.wait_for_timeout(300)
    assert visit.eval("window.optviz.state()")["iteration"] == state["iteration"]
    # to the end at 4×: it stops on the last frame
    visit.eval("window.optviz.speed(4); window.optviz.frame(285); window.optviz.play()")
    visit.wait("!window.optviz.state().playing")
    assert visit.eval("window.optviz.state()")["iteration"] == int(schedule[-1])
    assert visit.page.locator(".play").inner_text().strip().endswith("play")


def test_hiding_an_optimizer_from_either_legend(full):
    visit, _, _ = full
    visit.eval("f => window.optviz.frame(f)", 200)
    before = visit.canvas()
    state = visit.eval("i => window.optviz.toggle(i)", 0)
    assert state["visible"][0] is False
    assert not any(h["shown"] for h in state["heads"] if h["optimizer"] == 0)
    hidden = visit.canvas()
    changed = np.any(hidden != before, axis=2)
    assert changed.sum() > 500  # its line and head are gone, its entry greyed
    # a click on its entry in the picture's legend shows it again
    box = visit.eval(
        "JSON.parse(document.getElementById('optviz-data').textContent)"
        ".optimizers[0].box"
    )
    where = visit.page.locator("canvas").bounding_box()
    visit.page.mouse.click(
        where["x"] + (box[0] + box[2]) / 2, where["y"] + (box[1] + box[3]) / 2
    )
    assert visit.eval("window.optviz.state()")["visible"][0] is True
    np.testing.assert_array_equal(visit.canvas(), before)
    # and the button under the canvas hides it
    button = visit.page.locator('.legend button[data-optimizer="1"]')
    button.click()
    assert visit.eval("window.optviz.state()")["visible"][1] is False
    assert button.get_attribute("aria-pressed") == "false"


def test_the_readout_names_the_head_under_the_cursor(full):
    visit, _, _ = full
    state = visit.eval("f => window.optviz.frame(f)", 120)
    heads = state["heads"]
    # the head farthest from the others, so that no other is under the cursor
    xy = np.array([h["pixel"] for h in heads])
    gaps = [np.delete(np.hypot(*(xy - p).T), i).min() for i, p in enumerate(xy)]
    pick = int(np.argmax(gaps))
    head = heads[pick]
    where = visit.page.locator("canvas").bounding_box()
    visit.page.mouse.move(
        where["x"] + head["pixel"][0] + 1, where["y"] + head["pixel"][1]
    )
    readout = visit.eval("window.optviz.state()")["readout"]
    assert readout["run"] == pick
    assert readout["theta"] == head["data"]
    assert readout["f"] == head["f"] and readout["grad_norm"] == head["grad_norm"]
    tip = visit.page.locator(".tip")
    assert tip.is_visible()
    text = tip.inner_text()
    assert head["label"] in text and "θ = (" in text and "‖∇f‖ = " in text
    x = float(f"{head['data'][0]:.6g}")
    assert str(x) in text or f"{head['data'][0]:.3e}" in text
    visit.page.mouse.move(where["x"] - 5, where["y"] - 5)  # off the canvas
    assert visit.eval("window.optviz.state()")["readout"] is None
    assert not tip.is_visible()


def test_the_keyboard(full):
    visit, _, schedule = full
    page = visit.page
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Space")
    assert visit.eval("window.optviz.state()")["playing"] is True
    page.keyboard.press("Space")
    assert visit.eval("window.optviz.state()")["playing"] is False
    visit.eval("window.optviz.seek(100)")
    page.keyboard.press("ArrowRight")
    assert visit.eval("window.optviz.state()")["iteration"] == 101
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert visit.eval("window.optviz.state()")["iteration"] == 99
    frame = visit.eval("window.optviz.state()")["frame"]
    page.keyboard.press("Shift+ArrowRight")
    assert visit.eval("window.optviz.state()")["iteration"] == int(schedule[frame + 1])
    page.keyboard.press("ArrowUp")
    assert visit.eval("window.optviz.state()")["speed"] == 2
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert visit.eval("window.optviz.state()")["speed"] == 0.5
    page.keyboard.press("End")
    assert visit.eval("window.optviz.state()")["iteration"] == int(schedule[-1])
    page.keyboard.press("Home")
    assert visit.eval("window.optviz.state()")["iteration"] == 0


def test_the_slider_steps_through_frames_or_every_iteration(full):
    visit, _, schedule = full
    page = visit.page
    slider = page.locator(".scrub")
    assert slider.get_attribute("max") == str(len(schedule) - 1)
    slider.focus()  # the slider's own keys, as a user moves it
    page.keyboard.press("End")
    assert visit.eval("window.optviz.state()")["iteration"] == int(schedule[-1])
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert visit.eval("window.optviz.state()")["iteration"] == int(schedule[3])
    page.locator(".mode").select_option("iterations")
    assert slider.get_attribute("max") == str(int(schedule[-1]))
    slider.evaluate("s => { s.value = 1234; s.dispatchEvent(new Event('input')); }")
    assert visit.eval("window.optviz.state()")["iteration"] == 1234  # not a frame's
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert visit.eval("window.optviz.state()")["iteration"] == 1235


def test_a_screenshot_of_frame_k_is_the_still_of_frame_k(full):
    visit, renderer, schedule = full
    frames = (299, 180, 60, 0)
    with house_style():
        # In decreasing order each frame is drawn afresh, as a still is.
        stills = {f: renderer.frame(int(schedule[f]))[..., :3] for f in frames}
    for f in frames:
        visit.eval("f => window.optviz.frame(f)", f)
        shot = visit.canvas()
        assert shot.shape == stills[f].shape
        off = rms(stills[f], shot)
        assert off <= TOLERANCE, f"frame {f}: {off:.2f} grey levels RMS"
        # and the comparison tells frames apart
        other = frames[(frames.index(f) + 2) % len(frames)]
        assert rms(stills[other], shot) > 2 * TOLERANCE


def test_panels_are_drawn_as_the_video_draws_them(chromium, tmp_path):
    config = api.load_config(ROOT / "configs" / "examples" / "second_order_race.yaml")
    assert config.animation.panels == ("loss", "grad_norm")
    result = api.run(config)
    scene = pipeline.scene(result)
    (path,) = pipeline.write_video(scene, ["html"], tmp_path, config.stem)
    visit = chromium.open(path)
    try:
        with house_style():
            renderer = Renderer(scene)
            schedule = renderer.schedule()
            for f in (299, 100, 20):
                still = renderer.frame(int(schedule[f]))[..., :3]
                visit.eval("f => window.optviz.frame(f)", f)
                off = rms(still, visit.canvas())
                assert off <= PANEL_TOLERANCE, f"frame {f}: {off:.2f} grey levels RMS"
            renderer.close()
        assert visit.errors == [] and visit.requests == [browser.ADDRESS]
    finally:
        visit.close()
