import dataclasses

import numpy as np
import pytest
import scenes
from PIL import Image
from runs import run

from optviz.config import Animation
from optviz.draw.backdrop import (
    PALETTE,
    contour_levels,
    optimizer_colours,
    surface_grid,
)
from optviz.draw.figure import Renderer, even_size
from optviz.draw.schedules import frame_iterations
from optviz.errors import RenderError
from optviz.optim import runner
from optviz.output.writers import save_png
from optviz.pipeline import write_stills, write_video
from optviz.surfaces import SURFACES, Minimum

# Every test here draws or encodes: deselect with -m 'not render'.
pytestmark = pytest.mark.render

BEALE = SURFACES["beale"]
# The lecture's Beale race, shortened so that the tests stay fast.
OPTIMIZERS = [
    ("gd", {"lr": 1e-4}),
    ("momentum", {"lr": 5e-6}),
    ("nesterov", {"lr": 5e-6}),
    ("adagrad", {"lr": 4}),
    ("rmsprop", {"lr": 0.25}),
    ("rmsprop", {"lr": 0.05, "momentum": 0.9}),
    ("adam", {"lr": 0.22, "beta2": 0.99}),
]
LABELS = ["gd", "gd+p", "gd+np", "adagrad", "rmsprop", "rmsprop+p", "adam"]
STARTS = [(-3.0, 3.0), (2.0, -2.0)]
STAR_FILL = (255, 210, 63)  # the global minimum's star


def beale_trajectories(starts=STARTS, iterations=1500):
    return run(BEALE, OPTIMIZERS, starts, iterations, labels=LABELS)


def make_renderer(trajectories, size=(641, 481), dpi=80, **kw):
    return scenes.renderer(
        BEALE,
        trajectories,
        LABELS,
        title="Beale's function",
        xlim=BEALE.xlim,
        ylim=BEALE.ylim,
        animation=Animation(size=size, dpi=dpi),
        **kw,
    )


@pytest.fixture(scope="module")
def trajectories():
    return beale_trajectories()


@pytest.fixture
def renderer(trajectories):
    r = make_renderer(trajectories)
    yield r
    r.close()


def rms(a, b):
    return float(np.sqrt(np.mean((a.astype(float) - b.astype(float)) ** 2)))


def max_diff(a, b):
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def pixel(renderer, x, y):
    """Row and column of the data point (x, y) in a frame."""
    px, py = renderer.axes.transData.transform((x, y))
    return round(float(renderer.size[1] - py)), round(float(px))


def region(image, renderer, artist):
    """The pixels of ``image`` under ``artist``."""
    box = artist.get_window_extent()
    h = renderer.size[1]
    return image[int(h - box.y1) + 1 : int(h - box.y0), int(box.x0) + 1 : int(box.x1)]


def has_colour(pixels, hex_colour, tolerance=12):
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return bool(
        np.any(np.abs(pixels[..., :3].astype(int) - target).max(-1) <= tolerance)
    )


# -- the fast path draws what a full draw draws ---------------------------------


@pytest.mark.parametrize("k", [0, 1, 40, 700, 1500])
def test_fast_frame_matches_a_full_draw(renderer, k):
    fast = renderer.frame(k)
    full = renderer.full_draw_frame(k)
    # Same layers in the same order: only rounding in the legend composite.
    assert rms(fast, full) < 0.5
    assert max_diff(fast, full) <= 4


def test_frames_in_sequence_match_a_full_draw(renderer):
    for k in frame_iterations(renderer.last, 120):
        fast = renderer.frame(int(k))
    full = renderer.full_draw_frame(renderer.last)
    # Drawn bit by bit, a newer line crossing an older one is on top (a full
    # draw stacks them by optimizer), so a few pixels where lines cross differ.
    assert rms(fast, full) < 6.0
    off = np.abs(fast.astype(int) - full.astype(int)).max(-1) > 32
    assert off.mean() < 0.005


def test_the_comparison_would_see_a_missing_layer(renderer):
    # The tolerance above is tight enough to catch a head out of place (and
    # so anything bigger, like a missing legend or star).
    full = renderer.full_draw_frame(700)
    assert max_diff(renderer.frame(699), full) > 100
    renderer.legend.set_visible(False)
    try:
        assert rms(renderer.full_draw_frame(700), full) > 5
    finally:
        renderer.legend.set_visible(True)


# -- what is in the picture --------------------------------------------------------


def test_frame_has_the_requested_size_rounded_to_even(renderer):
    image = renderer.frame(10)
    assert renderer.size == (640, 480)
    assert image.shape == (480, 640, 4) and image.dtype == np.uint8
    assert np.all(image[..., 3] == 255)


@pytest.mark.parametrize("size, dpi", [((800, 600), 100), ((333, 251), 72)])
def test_frame_size_for_other_sizes_and_dpi(trajectories, size, dpi):
    r = make_renderer(trajectories[:2], size=size, dpi=dpi)
    try:
        assert r.frame(3).shape == (*even_size(size)[::-1], 4)
    finally:
        r.close()


def test_star_marks_the_minimum_and_rings_mark_the_starts(renderer):
    image = renderer.frame(0)
    row, col = pixel(renderer, 3.0, 0.5)
    star = image[row - 2 : row + 3, col - 2 : col + 3, :3].astype(int)
    assert np.abs(star - STAR_FILL).max() <= 10
    later = renderer.frame(renderer.last)
    for x, y in STARTS:
        row, col = pixel(renderer, x, y)
        centre = image[row, col, :3]
        # The heads sit on the start at iteration 0 (nested: a dot in rings
        # of the others' colours) ...
        assert not np.all(centre == image[row - 40, col - 40, :3])
        # ... and once they have left, the black ring marks it.
        ring = later[row - 9 : row + 10, col - 9 : col + 10, :3]
        assert (ring.max(-1) < 60).sum() > 20


def test_legend_names_every_optimizer_in_its_colour(renderer):
    image = renderer.frame(200)
    legend = region(image, renderer, renderer.legend)
    assert legend.size > 0
    texts = [t.get_text() for t in renderer.legend.get_texts()]
    assert [t.split(" ✓")[0] for t in texts[: len(LABELS)]] == LABELS
    assert len(set(renderer.colours)) == len(LABELS)
    for colour in renderer.colours:
        assert has_colour(legend, colour), colour
    assert (legend[..., :3].max(-1) < 80).sum() > 100  # dark label text


def test_legend_stays_on_top_of_the_lines(trajectories, monkeypatch):
    # A magenta line sweeping back and forth over the whole view, and the
    # legend made to sit on it (it would go outside the axes): the line runs
    # under it, so inside the legend the line's colour shows only on the
    # legend's own small magenta handle.
    monkeypatch.setattr(Renderer, "_legend_spot", lambda self, surface: "upper right")
    ys = np.arange(-4.4, 4.4, 0.25)
    xs = np.where(np.arange(len(ys)) % 2, 4.4, -4.4)
    sweep = np.column_stack([np.stack([xs, -xs], 1).ravel(), np.repeat(ys, 2)])
    cross = dataclasses.replace(trajectories[0], optimizer=7, points=sweep)
    r = scenes.renderer(
        BEALE,
        [cross],
        [*LABELS, "sweep"],
        xlim=BEALE.xlim,
        ylim=BEALE.ylim,
        animation=Animation(size=(640, 480), dpi=80),
        colors=[None] * 7 + ["#ff00ff"],
    )

    def magenta(pixels):
        return int(
            (np.abs(pixels[..., :3].astype(int) - (255, 0, 255)).max(-1) <= 12).sum()
        )

    try:
        image = r.frame(r.last)
        on_top = magenta(region(image, r, r.legend))
        assert magenta(image) > 10_000  # the sweep is drawn ...
        assert on_top < 60  # ... but inside the legend only its handle is magenta
        # The check can fail: with the legend under the lines it would.
        r.legend.set_zorder(1)
        under = magenta(region(r.full_draw_frame(r.last), r, r.legend))
        assert under > 3 * on_top
    finally:
        r.close()


def test_contours_are_drawn(renderer):
    image = renderer.frame(0)
    box = renderer.axes.get_window_extent()
    h = renderer.size[1]
    inside = image[int(h - box.y1) + 5 : int(h - box.y0) - 5, int(box.x0) + 5 :]
    grey = inside[..., :3].mean(-1)
    assert grey.std() > 5
    assert len(np.unique(grey.round())) > 20


def test_counter_shows_the_iteration(renderer):
    assert renderer.counter.get_text() == f"iteration {renderer.last:,}"
    a, b = renderer.frame(1), renderer.frame(2)
    assert renderer.counter.get_text() == "iteration 2"
    assert np.any(
        region(a, renderer, renderer.counter) != region(b, renderer, renderer.counter)
    )


def test_heads_move_and_stop_at_the_end_of_a_short_trajectory(trajectories):
    short = dataclasses.replace(trajectories[0], points=trajectories[0].points[:11])
    r = make_renderer([short, trajectories[1]])
    try:
        assert r.last == trajectories[1].iterations
        np.testing.assert_array_equal(r.positions(5)[0], short.points[5])
        np.testing.assert_array_equal(r.positions(900)[0], short.points[10])
        np.testing.assert_array_equal(r.positions(900)[1], trajectories[1].points[900])
        assert max_diff(r.frame(5), r.frame(6)) > 100  # something moved
    finally:
        r.close()


def test_same_colour_for_one_optimizer_across_starts(renderer):
    by_optimizer = {}
    for t, line in zip(renderer.trajectories, renderer._lines):
        by_optimizer.setdefault(t.optimizer, set()).add(line.get_color())
    assert all(len(colours) == 1 for colours in by_optimizer.values())
    assert len({c for cs in by_optimizer.values() for c in cs}) == len(LABELS)


def test_an_empty_trajectory_is_skipped(trajectories):
    empty = dataclasses.replace(
        trajectories[0], points=np.empty((0, 2)), loss=np.empty(0)
    )
    r = make_renderer([empty, *trajectories[2:4]])
    try:
        assert len(r.trajectories) == 2
        assert r.frame(3).shape == (480, 640, 4)
    finally:
        r.close()


def test_own_colours_are_used_and_the_palette_fills_in():
    assert optimizer_colours(3, ["red", None]) == ["red", PALETTE[0], PALETTE[1]]
    assert optimizer_colours(2) == list(PALETTE[:2])
    assert optimizer_colours(2, methods=["adam", "gd"]) == ["#000000", "#0072B2"]
    assert len(optimizer_colours(30)) == 30  # past the palette's end


# -- contour levels ---------------------------------------------------------------


def test_log_levels_span_the_valley_and_the_walls():
    _, _, z = surface_grid(BEALE, BEALE.xlim, BEALE.ylim)
    assert z.min() >= 0
    levels = contour_levels(z, "log")
    assert np.all(np.diff(levels) > 0) and levels[0] > 0
    assert levels[0] < 1 and levels[-1] == pytest.approx(z.max())
    assert np.log10(levels[-1] / levels[0]) > 5  # many decades, as on Beale


def test_log_levels_do_not_depend_on_the_minimum_value():
    shifted = dataclasses.replace(
        BEALE,
        f=lambda p: BEALE.f(p) + 7.0,
        minima=(Minimum(3.0, 0.5, 7.0),),
    )
    _, _, z0 = surface_grid(BEALE, BEALE.xlim, BEALE.ylim)
    _, _, z7 = surface_grid(shifted, BEALE.xlim, BEALE.ylim)
    np.testing.assert_allclose(z7, z0, atol=1e-9)
    np.testing.assert_allclose(
        contour_levels(z7, "log"), contour_levels(z0, "log"), rtol=1e-6
    )


def test_linear_levels_are_even():
    saddle = SURFACES["saddle"]
    _, _, z = surface_grid(saddle, saddle.xlim, saddle.ylim)
    assert z.min() < 0  # no shift for linear spacing
    levels = contour_levels(z, "linear")
    np.testing.assert_allclose(np.diff(levels), np.diff(levels)[0])
    assert levels[0] == pytest.approx(z.min()) and levels[-1] == pytest.approx(z.max())


def test_levels_need_finite_values():
    with pytest.raises(RenderError):
        contour_levels(np.full((3, 3), np.nan), "log")


def test_even_size():
    assert even_size((801, 601)) == (800, 600)
    assert even_size((800, 600)) == (800, 600)
    with pytest.raises(RenderError):
        even_size((8, 600))


# -- files ------------------------------------------------------------------------


def test_render_still_writes_the_last_frame_as_png(tmp_path, trajectories):
    scene = scenes.scene(
        BEALE,
        trajectories,
        LABELS,
        title="Beale",
        xlim=BEALE.xlim,
        ylim=BEALE.ylim,
        animation=Animation(size=(320, 240), dpi=40),
    )
    (path,) = write_stills(scene, [(tmp_path / "still.png", None)])
    assert path == tmp_path / "still.png"
    with Image.open(path) as image:
        assert image.size == (320, 240)
    assert [p.name for p in tmp_path.iterdir()] == ["still.png"]  # no temp left


def test_save_png_leaves_nothing_behind_on_failure(tmp_path):
    with pytest.raises((ValueError, TypeError)):
        save_png(tmp_path / "bad.png", np.zeros((2, 2, 7), dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_render_video_writes_both_formats_and_reports_progress(tmp_path, trajectories):
    calls = []
    scene = scenes.scene(
        BEALE,
        trajectories,
        LABELS,
        title="Beale",
        xlim=BEALE.xlim,
        ylim=BEALE.ylim,
        animation=Animation(frames=12, fps=10, hold=0.5, size=(320, 240), dpi=40),
    )
    paths = write_video(
        scene,
        ("mp4", "gif"),
        tmp_path / "out",
        "beale",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert paths == [tmp_path / "out" / "beale.mp4", tmp_path / "out" / "beale.gif"]
    assert all(p.stat().st_size > 1000 for p in paths)
    # 12 frames of motion and 5 of the held last frame (0.5 s at 10 fps)
    assert calls == [(i, 17) for i in range(1, 18)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "beale.gif",
        "beale.mp4",
    ]


def test_a_converged_run_says_when():
    ts = run(BEALE, [("adam", {"lr": 0.1})], [(2.0, -2.0)], 3000, 1e-3)
    (t,) = ts
    assert t.status is runner.Status.CONVERGED
    r = scenes.renderer(BEALE, ts, ["adam"], xlim=BEALE.xlim, ylim=BEALE.ylim,
                 animation=Animation(size=(300, 200), dpi=40))  # fmt: skip
    try:
        name = r.legend.get_texts()[0].get_text()
    finally:
        r.close()
    assert name.endswith(f" ✓ converged at {t.stopped_at:,}")


def test_a_diverged_path_is_marked_and_stops_at_the_edge_of_the_view():
    specs = [("gd", {"lr": 0.01}), ("adam", {"lr": 0.1})]
    starts = [(-3.0, 3.0), (2.0, -2.0)]
    ts = run(BEALE, specs, starts, 300, labels=["too fast", "adam"])
    assert {t.status for t in ts if t.label == "too fast"} == {runner.Status.DIVERGED}
    r = scenes.renderer(
        BEALE,
        ts,
        ["too fast", "adam"],
        xlim=BEALE.xlim,
        ylim=BEALE.ylim,
        animation=Animation(size=(400, 300), dpi=50),
    )
    try:
        names = [t.get_text() for t in r.legend.get_texts()]
        assert names[:2] == ["too fast ✗ diverged", "adam"]
        for shown, t in zip(r.trajectories, ts, strict=True):
            if t.status is runner.Status.DIVERGED:
                x, y = shown.points[:-1].T
                assert np.all((x >= -4.5) & (x <= 4.5) & (y >= -4.5) & (y <= 4.5))
                last = shown.points[-1]
                assert np.any(np.abs(last) > 4.5)  # the step that left the view
            else:
                np.testing.assert_array_equal(shown.points, t.points)
        assert np.all(np.isfinite(np.concatenate([t.points for t in r.trajectories])))
    finally:
        r.close()


def test_a_users_matplotlib_settings_do_not_change_the_frames(trajectories):
    import matplotlib as mpl

    plain = make_renderer(trajectories[:2], size=(320, 240), dpi=40)
    expected = plain.frame(plain.last)
    plain.close()
    odd = {
        "font.family": "serif",
        "lines.linewidth": 9,
        "axes.facecolor": "red",
        "axes.prop_cycle": mpl.cycler(color=["k"]),
        "legend.fontsize": 30,
        "figure.dpi": 300,
    }
    with mpl.rc_context(odd):
        styled = make_renderer(trajectories[:2], size=(320, 240), dpi=40)
        got = styled.frame(styled.last)
        styled.close()
    np.testing.assert_array_equal(got, expected)
