"""Panels and looks: each option is drawn the same by the fast path as by a
full draw (so the fast path cannot drop a layer), and changes the picture."""

import dataclasses
import warnings

import numpy as np
import pytest
import scenes
from matplotlib.contour import ContourSet
from matplotlib.quiver import Quiver
from matplotlib.text import Text
from runs import run

from optviz import api
from optviz.config import Animation
from optviz.draw.backdrop import gradient_field, surface_grid
from optviz.draw.figure import RendererBoth
from optviz.draw.scene import Camera, CameraKey, CameraPath
from optviz.errors import ConfigError
from optviz.surfaces import SURFACES

# Every test here draws or encodes: deselect with -m 'not render'.
pytestmark = pytest.mark.render

BEALE = SURFACES["beale"]
OPTIMIZERS = [
    ("gd", {"lr": 1e-4}),
    ("rmsprop", {"lr": 0.05, "momentum": 0.9}),
    ("adam", {"lr": 0.22, "beta2": 0.99}),
]
LABELS = ["gd", "rmsprop+p", "adam"]
LOOKS = {
    "panels": dict(panels=("loss", "grad_norm")),
    "loss-panel": dict(panels=("loss",)),
    "dark": dict(theme="dark"),
    "contour-labels": dict(contour_labels=True),
    "3d": dict(view="3d"),
    "3d-dark-panel": dict(view="3d", theme="dark", panels=("loss",)),
    "everything": dict(panels=("grad_norm",), theme="dark", contour_labels=True),
    "gradient-field": dict(gradient_field=True),
    "both": dict(view="both"),
    "both-panels": dict(view="both", panels=("loss", "grad_norm")),
    "both-dark-field-labels": dict(
        view="both", theme="dark", gradient_field=True, contour_labels=True
    ),
    "gradient-field-dark-panel": dict(
        gradient_field=True, theme="dark", panels=("loss",)
    ),
    "classic": dict(theme="classic"),
    "both-classic-panel": dict(view="both", theme="classic", panels=("loss",)),
    "font-size": dict(font_size=14),
    "legend-lower-left": dict(legend="lower left"),
    "3d-camera": dict(view="3d", camera=CameraPath((CameraKey(0, Camera(60, 20)),))),
}


@pytest.fixture(scope="module")
def trajectories():
    return run(BEALE, OPTIMIZERS, [(-3.0, 3.0)], 1200, labels=LABELS)


def renderer(trajectories, **looks):
    return scenes.renderer(
        BEALE, trajectories, LABELS, title="Beale", xlim=BEALE.xlim,
        ylim=BEALE.ylim,
        animation=Animation(size=(480, 360), dpi=60, **looks),
        colors=["#0072B2", "#56B4E9", "#000000"],
    )  # fmt: skip


def rms(a, b):
    return float(np.sqrt(np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.fixture(scope="module")
def plain(trajectories):
    r = renderer(trajectories)
    yield r.frame(700)
    r.close()


@pytest.mark.parametrize("look", LOOKS.values(), ids=LOOKS.keys())
def test_fast_path_matches_a_full_draw_and_the_look_shows(trajectories, plain, look):
    r = renderer(trajectories, **look)
    try:
        assert rms(r.frame(700), r.full_draw_frame(700)) < 0.5
        # In sequence (lines drawn piecewise from checkpoints), as in a video.
        for k in (0, 40, 300, 900):
            r.frame(k)
        assert rms(r.frame(1200), r.full_draw_frame(1200)) < 6.0
        # Far above the 0.5 of the fast path (contour labels, the smallest
        # change, give 2.7 beside the legend and its key to the markers).
        assert rms(r.frame(700), plain) > 2, "the option changed nothing"
    finally:
        r.close()


def test_the_comparison_would_see_a_missing_panel_curve(trajectories):
    r = renderer(trajectories, panels=("loss",))
    try:
        full = r.full_draw_frame(700)
        r._tracks = r._tracks[: len(r.trajectories)]  # the panel's curves dropped
        assert rms(r.frame(700), full) > 0.5
    finally:
        r.close()


@pytest.mark.parametrize(
    "drop",
    ["3-D lines", "3-D heads", "3-D landmarks"],
)
def test_the_comparison_would_see_a_missing_layer_of_the_3d_side(trajectories, drop):
    r = renderer(trajectories, view="both")
    try:
        full = r.full_draw_frame(700)
        n = len(r.trajectories)
        if drop == "3-D lines":
            r._tracks = r._tracks[:n]
        elif drop == "3-D heads":
            r._heads = r._heads[:1]
        else:
            r._landmarks = [m for m in r._landmarks if m.axes is r.axes]
        assert rms(r.frame(700), full) > 0.5
    finally:
        r.close()


def test_both_views_show_the_same_paths_and_heads_one_legend_one_counter(
    trajectories,
):
    r = renderer(trajectories, view="both")
    try:
        assert isinstance(r, RendererBoth)
        flat, solid = r.views
        assert flat.axes.name == "rectilinear" and solid.axes.name == "3d"
        # Side by side, the contours on the left.
        assert flat.axes.get_position().x1 <= solid.axes.get_position().x0
        r.frame(300)
        for line2, line3 in zip(flat.lines, solid.lines):
            x, y, _ = line3.get_data_3d()
            np.testing.assert_array_equal(line2.get_xdata(), x)
            np.testing.assert_array_equal(line2.get_ydata(), y)
        x, y, _ = solid.heads._offsets3d
        np.testing.assert_array_equal(flat.heads.get_offsets(), r.positions(300))
        np.testing.assert_array_equal(np.column_stack((x, y)), r.positions(300))
        # Stars on the minimum in both views.
        assert {m.axes for m in r._landmarks} == {flat.axes, solid.axes}
        # One legend: in the 2-D axes, or along the bottom of the frame when
        # it fits nowhere in them.
        legends = [ax.get_legend() for ax in r.figure.axes if ax.get_legend()]
        assert legends + list(r.figure.legends) == [r.legend]
        counters = r.figure.findobj(
            lambda a: isinstance(a, Text) and a.get_text().startswith("iteration ")
        )
        assert counters == [r.counter]
        assert r.counter.get_text() == "iteration 300"
    finally:
        r.close()


def test_panel_curves_grow_with_the_frames(trajectories):
    r = renderer(trajectories, panels=("loss",))
    try:
        (panel,) = r.panels
        box = panel.get_window_extent()
        h = r.size[1]
        rows = slice(int(h - box.y1), int(h - box.y0))
        cols = slice(int(box.x0), int(box.x1))
        early, late = (r.frame(k)[rows, cols, :3].astype(int) for k in (5, 1200))
        # More of the panel is coloured by the curves at the end.
        assert rms(early, late) > 5
    finally:
        r.close()


def test_dark_theme_draws_black_optimizers_white(trajectories):
    r = renderer(trajectories, theme="dark")
    try:
        assert r.colours[2] == "#FFFFFF"
        corner = r.frame(0)[2, 2, :3]
        assert corner.max() < 60  # a dark figure
    finally:
        r.close()


def quiver_of(r):
    (quiver,) = (c for c in r.axes.collections if isinstance(c, Quiver))
    return quiver


def test_gradient_field_points_down_the_slope(trajectories):
    r = renderer(trajectories, gradient_field=True)
    try:
        quiver = quiver_of(r)
        xy = np.column_stack((quiver.X, quiver.Y))
        # About one arrow every 40 pixels across the axes (at dpi 100).
        box, spacing = r.axes.get_window_extent(), 40 * r.figure.dpi / 100
        assert len(np.unique(quiver.X)) == round(box.width / spacing)
        assert len(np.unique(quiver.Y)) == round(box.height / spacing)
        # −∇f by central differences of f, normalised, at a few grid points.
        dx, dy = np.eye(2) * 1e-6
        for i in (0, 7, len(xy) // 2, len(xy) - 1):
            p = xy[i]
            slope = [BEALE.f(p + d) - BEALE.f(p - d) for d in (dx, dy)]
            down = -np.array(slope) / np.hypot(*slope)
            np.testing.assert_allclose((quiver.U[i], quiver.V[i]), down, atol=1e-5)
        assert np.allclose(np.hypot(quiver.U, quiver.V), 1.0)
    finally:
        r.close()


def test_gradient_field_lies_under_the_contour_lines_and_the_paths(trajectories):
    r = renderer(trajectories, gradient_field=True)
    try:
        fill, lines = (c for c in r.axes.collections if isinstance(c, ContourSet))
        arrows = quiver_of(r)
        assert fill.get_zorder() < arrows.get_zorder() < lines.get_zorder()
        assert arrows.get_zorder() < min(line.get_zorder() for line in r._lines)
        assert not arrows.get_animated(), "drawn once, in the static layer"
    finally:
        r.close()


def test_gradient_field_leaves_out_zero_and_non_finite_gradients():
    def grad(p):
        g = np.array(BEALE.grad(p), dtype=float)
        x = p[..., 0]
        g[x < -2.5] = 0.0  # a flat strip
        g[(x > 2.5) & (x < 3.5)] = np.nan
        g[x > 3.5] = [np.inf, 1.0]
        return g

    surface = dataclasses.replace(BEALE, grad=grad)
    # Grid columns at x = -4, -3, ..., 4: only -2 to 2 have a direction.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, _, u, v = gradient_field(surface, BEALE.xlim, BEALE.ylim, 9, 6)
    assert sorted(set(x)) == [-2, -1, 0, 1, 2] and x.size == 5 * 6
    assert np.all(np.isfinite(u) & np.isfinite(v))
    # A huge but finite gradient still has a direction.
    huge = dataclasses.replace(BEALE, grad=lambda p: np.full(p.shape, 1e300))
    _, _, u, v = gradient_field(huge, BEALE.xlim, BEALE.ylim, 2, 2)
    np.testing.assert_allclose(np.column_stack((u, v)), -np.sqrt(0.5))


def load_animation(tmp_path, animation: str) -> Animation:
    config = tmp_path / "c.yaml"
    config.write_text(
        "surface: beale\noptimizers: [{method: gd, lr: 1.0e-4}]\n"
        f"animation: {animation}\n"
    )
    return api.load_config(config).animation


def test_both_views_default_to_a_wider_frame_unless_sized(tmp_path):
    assert load_animation(tmp_path, "{view: both}").size == (1280, 600)
    assert load_animation(tmp_path, "{view: 2d}").size == (800, 600)
    sized = load_animation(tmp_path, "{view: both, size: [960, 540]}")
    assert sized.size == (960, 540)


def test_both_views_take_the_2d_looks(tmp_path):
    both = load_animation(
        tmp_path,
        "{view: both, gradient_field: true, contour_labels: true, panels: [loss]}",
    )
    assert (both.view, both.gradient_field, both.contour_labels, both.panels) == (
        "both",
        True,
        True,
        ("loss",),
    )


def test_hyperparameters_in_the_legend(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "surface: beale\niterations: 5\noptimizers:\n"
        "  - {method: adam, lr: 0.22, beta2: 0.99}\n"
        "  - {label: plain, method: gd, lr: 1.0e-4}\n"
        "animation: {hyperparameters_in_legend: true}\n"
    )
    result = api.run(api.load_config(config))
    assert api.legend_labels(result) == ["adam (ε=0.22, β2=0.99)", "plain (ε=0.0001)"]
    off = dataclasses.replace(
        result,
        config=dataclasses.replace(result.config, animation=Animation()),
    )
    assert api.legend_labels(off) == ["adam", "plain"]


@pytest.mark.parametrize(
    ("animation", "key_path", "fragment"),
    [
        (
            "{panels: [loss, gradnorm]}",
            "animation.panels[1]",
            "did you mean 'grad_norm'?",
        ),
        ("{panels: loss}", "animation.panels", "must be a list of panels"),
        ("{theme: drak}", "animation.theme", "did you mean 'dark'?"),
        ("{view: 3D}", "animation.view", "did you mean '3d'?"),
        (
            "{view: bothh}",
            "animation.view",
            "supported values are '2d', '3d', 'both'; did you mean 'both'?",
        ),
        (
            "{view: 3d, contour_labels: true}",
            "animation.contour_labels",
            "contour labels are drawn on the 2-D view only",
        ),
        ("{contour_labels: 1}", "animation.contour_labels", "must be true or false"),
        (
            "{view: 3d, gradient_field: true}",
            "animation.gradient_field",
            "the gradient field is drawn on the 2-D view only",
        ),
        (
            "{gradient_fild: true}",
            "animation.gradient_fild",
            "did you mean 'gradient_field'?",
        ),
        ("{gradient_field: 2}", "animation.gradient_field", "must be true or false"),
        (
            "{hyperparameters_in_legend: yes please}",
            "animation.hyperparameters_in_legend",
            "must be true or false",
        ),
    ],
    ids=[
        "panel-typo",
        "panels-not-a-list",
        "theme-typo",
        "view-capital",
        "view-typo",
        "3d-contour-labels",
        "labels-number",
        "3d-gradient-field",
        "gradient-field-typo",
        "gradient-field-text",
        "hyp-text",
    ],
)
def test_bad_look_keys_name_the_key(tmp_path, animation, key_path, fragment):
    config = tmp_path / "c.yaml"
    config.write_text(
        "surface: beale\noptimizers: [{method: gd, lr: 1.0e-4}]\n"
        f"animation: {animation}\n"
    )
    with pytest.raises(ConfigError) as info:
        api.load_config(config)
    assert info.value.path == key_path
    assert fragment in info.value.message, info.value.message


def test_3d_paths_end_where_they_leave_the_box():
    """3-D axes do not clip: a path running off the saddle would run on down
    the figure. It is cut where it leaves the box, and its head is hidden."""
    saddle = SURFACES["saddle"]
    runs = run(saddle, [("gd", {"lr": 0.02})], [(-1.9, 0.001)], 300)
    r = scenes.renderer(
        saddle, runs, ["gd"], xlim=saddle.xlim, ylim=saddle.ylim,
        animation=Animation(size=(480, 360), dpi=60, view="3d"),
    )  # fmt: skip
    try:
        (view,) = r.views
        (t,) = r.trajectories
        path = view.path(t)
        (x0, x1), (y0, y1), (z0, z1) = view._box
        shown = path[np.isfinite(path).all(axis=1)]
        assert np.isnan(path[-1]).all()  # gone off the saddle by the end ...
        assert len(shown) > 150  # ... after a long stretch on it
        assert shown[:, 0].min() >= x0 and shown[:, 0].max() <= x1
        assert shown[:, 1].min() >= y0 and shown[:, 1].max() <= y1
        assert shown[:, 2].min() >= z0 - 0.01 * (z1 - z0)
        # t.points themselves run far past the view: the cut is the view's
        assert np.abs(t.points[-1]).max() > 10 * max(x1, y1)
        np.testing.assert_array_less(rms(r.frame(r.last), r.full_draw_frame(r.last)), 1)
    finally:
        r.close()


@pytest.mark.parametrize("view", ["3d", "both"])
def test_a_diverged_path_beside_others_draws_in_3d(view):
    """A path that diverged ends one point outside the view, NaN in 3-D: its
    head is hidden there, and the heads of the others (made before, when a
    3-D scatter dropped that point and its colour) still draw."""
    booth = SURFACES["booth"]
    specs = [("gd", {"lr": 0.01}), ("gd", {"lr": 0.115})]
    runs = run(booth, specs, [(-6.0, 6.0)], 150, labels=["gd", "gd fast"])
    assert [t.status.name for t in runs] == ["MAX_ITER", "DIVERGED"]
    r = scenes.renderer(
        booth, runs, ["gd", "gd fast"], xlim=booth.xlim, ylim=booth.ylim,
        animation=Animation(size=(480, 240), dpi=40, view=view),
    )  # fmt: skip
    try:
        solid = r.views[-1]
        heads = np.column_stack(solid.heads._offsets3d)
        assert np.isfinite(heads[0]).all() and np.isnan(heads[1]).all()
        assert len(solid.heads.get_facecolor()) == 2
        assert rms(r.frame(r.last), r.full_draw_frame(r.last)) < 1
    finally:
        r.close()


def test_3d_log_heights_bottom_out_on_the_drawn_surface(trajectories):
    """On log heights f − f* → 0 at the minimum: paths and the star stop at
    the lowest point of the mesh as drawn, not in a spike below it."""
    r = renderer(trajectories, view="3d")
    try:
        (view,) = r.views
        low, _ = r.axes.get_zlim()  # the lowest point of the mesh
        star = next(m for m in r._landmarks if m.get_marker() == "*")
        assert star.get_data_3d()[2][0] == pytest.approx(low)
        # The finest contour grid dips more than a decade deeper near the
        # minimum than the 80-facet mesh does: a floor there would leave the
        # star and the paths' ends hanging below the surface.
        _, _, z = surface_grid(BEALE, BEALE.xlim, BEALE.ylim)
        assert low > np.log10(z[z > 0].min()) + 1
        for t in r.trajectories:
            z = view.path(t)[:, 2]
            assert np.nanmin(z) >= low - 1e-9
        adam = r.trajectories[LABELS.index("adam")]
        assert view.path(adam)[-1, 2] == pytest.approx(low)  # it reached the star
    finally:
        r.close()
