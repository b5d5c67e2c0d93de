"""The frame's text, scales and look: a title that never runs into the
counter or off the frame, panels whose scale fits their data, solid contour
lines with a colour scale, text that keeps its proportion at any size, a z
axis read in f, and a dark theme that reaches the title card and 3-D panes."""

import numpy as np
import pytest
from matplotlib.contour import ContourSet
from matplotlib.text import Text
from runs import run
from scenes import renderer

from optviz import config
from optviz.config import Animation
from optviz.draw.backdrop import surface_grid
from optviz.errors import ConfigError
from optviz.surfaces import SURFACES

BEALE = SURFACES["beale"]


@pytest.fixture(scope="module")
def beale_runs():
    specs = [("gd", {"lr": 1e-4}), ("adam", {"lr": 0.22, "beta2": 0.99})]
    return run(BEALE, specs, [(-3.0, 3.0)], 300, labels=["gd", "adam"])


def draw(surface, trajectories, labels, title="Beale", xlim=None, ylim=None, **anim):
    return renderer(
        surface,
        trajectories,
        labels,
        title=title,
        xlim=xlim or surface.xlim,
        ylim=ylim or surface.ylim,
        animation=Animation(**anim),
    )


def texts(r, startswith):
    return r.figure.findobj(
        lambda a: isinstance(a, Text) and a.get_text().startswith(startswith)
    )


def title_of(r):
    (title,) = (t for t in texts(r, "Beale") if t.get_text())
    return title


def height_fraction(r, artist) -> float:
    return artist.get_window_extent().height / r.size[1]


# -- HD: text keeps its proportion to the frame --------------------------------


@pytest.mark.parametrize("view", ["2d", "both"])
def test_text_keeps_its_proportion_to_the_frame_at_any_size(beale_runs, view):
    fractions = []
    for size in [(800, 600), (1920, 1080), (3840, 2160)]:
        r = draw(BEALE, beale_runs, ["gd", "adam"], size=size, view=view)
        try:
            fractions.append(
                (height_fraction(r, title_of(r)), height_fraction(r, r.legend))
            )
        finally:
            r.close()
    base = np.array(fractions[0])
    for got in fractions[1:]:
        np.testing.assert_allclose(got, base, rtol=0.05)


@pytest.mark.parametrize("size", [(800, 600), (1280, 600)])
def test_the_800_by_600_frame_is_drawn_as_at_dpi_100(beale_runs, size):
    frames = []
    for dpi in (None, 100):
        r = draw(BEALE, beale_runs, ["gd", "adam"], size=size, dpi=dpi)
        try:
            frames.append(r.frame(r.last))
        finally:
            r.close()
    np.testing.assert_array_equal(*frames)


def test_a_given_dpi_is_the_figure_dpi(beale_runs):
    r = draw(BEALE, beale_runs, ["gd", "adam"], size=(1920, 1080), dpi=100)
    try:
        assert r.figure.dpi == 100
        assert r.canvas.get_width_height() == (1920, 1080)
    finally:
        r.close()


def units(axes):
    """Pixels per unit of x and of y, as drawn."""
    box = axes.get_window_extent()
    (x0, x1), (y0, y1) = axes.get_xlim(), axes.get_ylim()
    return box.width / abs(x1 - x0), box.height / abs(y1 - y0)


@pytest.mark.parametrize("size", [(800, 600), (1920, 1080), (600, 800)])
def test_equal_aspect_where_the_frame_allows(beale_runs, size):
    r = draw(BEALE, beale_runs, ["gd", "adam"], size=size)
    try:
        ux, uy = units(r.axes)
        assert ux == pytest.approx(uy, rel=0.01)
    finally:
        r.close()
    r = draw(BEALE, beale_runs, ["gd", "adam"], size=size, aspect="auto")
    try:
        ux, uy = units(r.axes)
        assert ux != pytest.approx(uy, rel=0.1)  # stretched to fill its room
    finally:
        r.close()


def test_a_long_thin_view_is_stretched_to_fill_its_room(beale_runs):
    r = draw(BEALE, beale_runs, ["gd", "adam"], xlim=(-4.5, 4.5), ylim=(0, 1))
    try:
        box = r.axes.get_window_extent()
        assert box.width > 0.7 * r.size[0] and box.height > 0.7 * r.size[1]
    finally:
        r.close()


def test_aspect_is_validated_like_the_other_animation_keys():
    data = {"surface": "beale", "optimizers": [{"method": "gd", "lr": 0.1}]}
    c = config.parse({**data, "animation": {"aspect": "auto"}}, source="c.yaml")
    assert c.animation.aspect == "auto"
    assert config.parse(data, source="c.yaml").animation.aspect == "equal"
    with pytest.raises(ConfigError) as info:
        config.parse({**data, "animation": {"aspect": "eqaul"}}, source="c.yaml")
    assert str(info.value) == (
        "c.yaml: animation.aspect: 'eqaul' is not a valid value; supported values "
        "are 'equal', 'auto'; did you mean 'equal'?"
    )


# -- the title and the counter -----------------------------------------------

LONG = (
    "Beale's function from (-3, 3): gradient descent, momentum, Nesterov, "
    "AdaGrad, RMSProp with momentum and Adam, 10,000 iterations each"
)


@pytest.mark.parametrize(
    "title", ["Beale's function, opt 2", LONG, "Beale" + "x" * 120]
)
@pytest.mark.parametrize(
    "look",
    [
        dict(size=(800, 600)),
        dict(size=(480, 360), dpi=60),
        dict(size=(1920, 1080)),
        dict(size=(600, 600), panels=("loss",)),
        dict(size=(800, 600), view="3d"),
        dict(size=(1280, 600), view="both"),
        dict(size=(1280, 600), view="both", panels=("loss", "grad_norm")),
        dict(size=(800, 600), aspect="auto", panels=("loss", "grad_norm")),
    ],
    ids=["800", "480-dpi60", "1080p", "square-panel", "3d", "both", "both-panels",
         "auto-panels"],
)  # fmt: skip
def test_title_and_counter_never_overlap_and_stay_in_the_frame(beale_runs, title, look):
    r = draw(BEALE, beale_runs, ["gd", "adam"], title=title, **look)
    try:
        r.frame(r.last)  # the counter at its widest
        frame = r.figure.bbox
        (counter,) = texts(r, "iteration ")
        boxes = [t.get_window_extent() for t in (title_of(r), counter)]
        for box in boxes:
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, box
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, box
        assert not boxes[0].overlaps(boxes[1]), boxes
        # Shown whole where it fits (not cut short when it need not be).
        if title != LONG and "x" * 120 not in title:
            assert title_of(r).get_text() == title
    finally:
        r.close()


# -- panels: a scale that fits the data ----------------------------------------

SADDLE = SURFACES["saddle"]


@pytest.fixture(scope="module")
def saddle_runs():
    specs = [("newton", {}), ("newton", {"damping": 3.0})]
    return run(SADDLE, specs, [(-1.5, 0.3)], 40, labels=["newton", "damped"])


def panel_curves(r, panel):
    """Each trajectory's curve in ``panel``, as drawn at the last frame."""
    r.frame(r.last)
    lines = [line for line in panel.get_lines() if len(line.get_xdata())]
    assert len(lines) == len(r.trajectories), "a run's curve is missing"
    return [np.column_stack(line.get_data()).astype(float) for line in lines]


def test_a_loss_that_falls_below_zero_is_drawn_as_it_is(saddle_runs):
    r = draw(SADDLE, saddle_runs, ["newton", "damped"], panels=("loss",))
    try:
        (loss,) = r.panels
        newton, damped = panel_curves(r, loss)
        # f* is unknown (a saddle has no minimum) and f goes far below zero:
        # not a log of f − f*, and said so on the axis.
        assert loss.get_yscale() == "symlog"
        assert loss.get_ylabel() == "f, symmetric log scale"
        # Every value at its height: plain Newton's 2.16 then zeros, damped
        # Newton down to its last point before it diverged (f ≈ −4.8e4).
        np.testing.assert_array_equal(newton[:, 1], saddle_runs[0].loss)
        np.testing.assert_array_equal(damped[:, 1], saddle_runs[1].loss)
        assert damped[-1, 1] < -4e4
        low, high = loss.get_ylim()
        assert low <= damped[:, 1].min() and high >= newton[:, 1].max()
    finally:
        r.close()


def test_a_zero_on_a_log_axis_is_drawn_at_a_floor_that_the_label_names(
    saddle_runs,
):
    r = draw(SADDLE, saddle_runs, ["newton", "damped"], panels=("grad_norm",))
    try:
        (grad,) = r.panels
        newton, damped = panel_curves(r, grad)
        assert grad.get_yscale() == "log"
        # Plain Newton's ‖∇f‖ is exactly 0 from iteration 1 on: every point
        # is drawn, the zeros at the floor, which the label gives.
        assert np.isfinite(newton[:, 1]).all() and len(newton) == 41
        floor = newton[1:, 1]
        smallest = min(t.grad_norm[t.grad_norm > 0].min() for t in saddle_runs)
        assert np.all(floor == floor[0]) and 0 < floor[0] < smallest
        assert grad.get_ylim()[0] < floor[0]
        assert grad.get_ylabel() == f"‖∇f‖, log scale\n(0 drawn at {floor[0]:.0e})"
        # The damped run's curve goes on to its last point (iteration 6),
        # past where its line left the view (iteration 2).
        assert damped[-1, 0] == saddle_runs[1].iterations == 6
        assert len(r.trajectories[1].points) < 7
    finally:
        r.close()


def test_a_loss_above_a_known_minimum_is_drawn_as_f_minus_f_star_on_a_log_scale(
    beale_runs,
):
    r = draw(BEALE, beale_runs, ["gd", "adam"], panels=("loss",))
    try:
        (loss,) = r.panels
        curves = panel_curves(r, loss)
        assert loss.get_yscale() == "log"
        assert loss.get_ylabel() == "f − f*, log scale"
        for curve, t in zip(curves, beale_runs):
            np.testing.assert_allclose(curve[:, 1], t.loss - BEALE.f_min)
    finally:
        r.close()


# -- contours: solid lines, and a colour scale on linear levels ----------------


@pytest.mark.parametrize("name", ["saddle", "easom", "monkey_saddle", "beale"])
def test_contour_lines_are_solid_and_linear_levels_get_a_colour_scale(name):
    surface = SURFACES[name]
    start = np.mean([surface.xlim, surface.ylim], axis=1) + 0.1
    runs = run(surface, [("gd", {"lr": 1e-3})], [start], 5)
    r = draw(surface, runs, ["gd"], title=name, size=(480, 360), dpi=60)
    try:
        contours = [c for c in r.axes.collections if isinstance(c, ContourSet)]
        lines = [c for c in contours if not c.filled]
        assert lines and all(
            dashes is None for c in lines for _, dashes in c.get_linestyle()
        )
        bars = [a for a in r.figure.axes if a.get_label() == "<colorbar>"]
        if surface.levels == "linear":
            (bar,) = bars
            (filled,) = (c for c in contours if c.filled)
            assert bar._colorbar.mappable is filled
            # From a dimple's value to a bump's, labelled with what it is.
            z = surface_grid(surface, surface.xlim, surface.ylim)[2]
            low, high = sorted(bar.get_ylim())
            assert low <= np.nanmin(z) + 1e-9 and high >= np.nanmax(z) - 1e-9
            assert bar.get_ylabel() == "f"
        else:
            assert not bars
    finally:
        r.close()


# -- 3-D: the z axis is read in f ----------------------------------------------


@pytest.mark.parametrize(
    "look", [dict(view="3d"), dict(view="3d", panels=("loss",)), dict(view="both"),
             dict(view="both", panels=("loss", "grad_norm"))],
    ids=["3d", "3d-panel", "both", "both-panels"],
)  # fmt: skip
def test_the_z_axis_is_labelled_and_ticked_in_f(beale_runs, look):
    r = draw(BEALE, beale_runs, ["gd", "adam"], size=(800, 600), **look)
    try:
        r.frame(r.last)
        solid = r.views[-1].axes
        assert solid.get_zlabel() == "f − f*"
        low, high = solid.get_zlim()
        ticks = [t for t in solid.get_zticks() if low <= t <= high]
        labels = [t.get_text() for t in solid.zaxis.get_ticklabels()]
        labels = [s for t, s in zip(solid.get_zticks(), labels) if low <= t <= high]
        # Heights are log10(f − f*): ticks on whole decades, labelled 10^k.
        assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)
        assert labels == [f"$\\mathdefault{{10^{{{int(t)}}}}}$" for t in ticks]
        # The label is drawn inside the frame, clear of the panels.
        box = solid.zaxis.label.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= r.size[0]
        for panel in r.panels:
            assert not box.overlaps(panel.get_tightbbox())
    finally:
        r.close()


def test_a_linear_surface_in_3d_is_labelled_f():
    runs = run(SADDLE, [("gd", {"lr": 0.05})], [(-1.5, 0.01)], 20)
    r = draw(SADDLE, runs, ["gd"], size=(800, 600), view="3d")
    try:
        assert r.views[0].axes.get_zlabel() == "f"
    finally:
        r.close()


# -- the dark theme reaches the title card and the 3-D panes -------------------


def brightness(rgb) -> float:
    return float(np.mean(np.asarray(rgb, dtype=float)[..., :3]))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_title_card_follows_the_theme(beale_runs, theme):
    r = draw(BEALE, beale_runs, ["gd", "adam"], size=(480, 360), dpi=60,
             theme=theme, view="3d")  # fmt: skip
    try:
        card = r.card(["Beale", "gd: ε=0.0001", "adam: ε=0.22, β2=0.99"])
        # The middle of the box, where the text is: the box's own colour,
        # and text that stands out from it.
        h, w = r.size[1], r.size[0]
        box = card[h // 2 - 40 : h // 2 + 40, w // 2 - 90 : w // 2 + 90, :3]
        shade = np.median(box.reshape(-1, 3), axis=0).mean()
        if theme == "dark":
            assert shade < 60
            assert box.max() > 180  # light text on it
        else:
            assert shade > 200
            assert box.min() < 80  # dark text on it
    finally:
        r.close()


def test_3d_panes_follow_the_dark_theme(beale_runs):
    looks = {}
    for theme in ("light", "dark"):
        r = draw(BEALE, beale_runs, ["gd", "adam"], size=(480, 360), dpi=60,
                 theme=theme, view="3d")  # fmt: skip
        try:
            axes = r.views[0].axes
            panes = [
                a.pane.get_facecolor() for a in (axes.xaxis, axes.yaxis, axes.zaxis)
            ]
            frame = r.frame(0)
            # A pixel of the back pane, above the surface's far corner.
            box = axes.get_window_extent()
            x, y = (
                int(box.x0 + 0.5 * box.width),
                int(r.size[1] - box.y1 + 0.12 * box.height),
            )
            looks[theme] = (panes, brightness(frame[y, x]))
        finally:
            r.close()
    panes, pixel = looks["dark"]
    assert all(brightness(np.array(c[:3]) * 255) < 70 for c in panes)
    assert pixel < 70
    assert looks["light"][1] > 180


def test_panel_scale_follows_the_values():
    from optviz.draw.figure import panel_scale

    falling = [np.array([2.0, -7.0, -65.0, -4.8e4])]
    narrow = [np.array([-1.0, -0.5, 0.25])]
    above = [np.array([3.0, 1.0, 1e-9, 0.0]) + 0.5]
    assert panel_scale(falling, None, "f").scale == "symlog"
    assert panel_scale(narrow, None, "f").label == "f, linear scale"
    # f* known and every value above it: log of f − f*, from the floor up.
    log = panel_scale(above, 0.5, "f")
    assert (log.scale, log.shift) == ("log", 0.5)
    assert log.label == "f − f*, log scale\n(0 drawn at 1e-10)"
    assert log.drawn(above[0])[-1] == log.floor == pytest.approx(1e-10)
    # A value below the known f* (the view's minimum is not the surface's):
    # not a log scale that would hide it.
    assert panel_scale([above[0] - 1.0], 0.5, "f").scale == "linear"
    assert panel_scale([np.array([0.2, 0.4, -0.1])], 0.0, "f").scale == "linear"


def test_a_title_is_wrapped_before_it_is_set_smaller(beale_runs):
    title = "Beale's function: the lecture's six optimizers from (-3, 3)"
    r = draw(BEALE, beale_runs, ["gd", "adam"], title=title, panels=("loss",))
    try:
        lines = title_of(r).get_text().split("\n")
        assert len(lines) == 2 and " ".join(lines) == title
        assert title_of(r).get_fontsize() == pytest.approx(12)  # "large"
    finally:
        r.close()
    r = draw(BEALE, beale_runs, ["gd", "adam"], title=LONG, size=(800, 600))
    try:
        lines = title_of(r).get_text().split("\n")
        assert len(lines) <= 3 and " ".join(lines) == LONG  # every word
        assert title_of(r).get_fontsize() < 12
    finally:
        r.close()
    word = "Beale" + "x" * 120
    r = draw(BEALE, beale_runs, ["gd", "adam"], title=word, size=(800, 600))
    try:
        shown = title_of(r).get_text()
        assert shown.endswith("…") and word.startswith(shown[:-1])
        assert title_of(r).get_fontsize() == pytest.approx(8)  # 0.8 of 10 pt
    finally:
        r.close()
