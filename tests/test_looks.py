"""The classic theme, the 3-D camera (fixed or on a path), the font size and
the legend's position: each as the config takes it (one-line errors with
the key path), and as the frames show it."""

import dataclasses
import os

import numpy as np
import pytest
from matplotlib.colorbar import Colorbar
from matplotlib.contour import ContourSet
from runs import run
from scenes import scene

from optviz import api
from optviz.config import Animation, parse
from optviz.draw import themes
from optviz.draw.figure import Renderer, stills
from optviz.draw.scene import (
    LEGEND_POSITIONS,
    Camera,
    CameraKey,
    CameraPath,
    Timeline,
)
from optviz.errors import ConfigError
from optviz.surfaces import SURFACES

BEALE = SURFACES["beale"]
CAMEL = SURFACES["six_hump_camel"]
SMALL = {"surface": "beale", "optimizers": [{"method": "gd", "lr": 1.0e-4}]}


def animation(**looks) -> Animation:
    return Animation(size=(480, 360), dpi=60, **looks)


def rms(a, b) -> float:
    return float(np.sqrt(np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.fixture(scope="module")
def beale_runs():
    specs = [("gd", {"lr": 1e-4}), ("adam", {"lr": 0.22, "beta2": 0.99})]
    return run(BEALE, specs, [(-3.0, 3.0)], 1200, labels=["gd", "adam"])


@pytest.fixture(scope="module")
def camel_runs():
    specs = [("gd", {"lr": 1e-2}), ("momentum", {"lr": 3e-2, "momentum": 0.95})]
    return run(CAMEL, specs, [(-1.9, 1.2)], 800, labels=["gd", "momentum"])


def beale(trajectories, **looks) -> Renderer:
    return Renderer(
        scene(BEALE, trajectories, ["gd", "adam"], xlim=BEALE.xlim,
              ylim=BEALE.ylim, title="Beale", animation=animation(**looks))
    )  # fmt: skip


def camel(trajectories, **looks) -> Renderer:
    return Renderer(camel_scene(trajectories, **looks))


def camel_scene(trajectories, **looks):
    return scene(
        CAMEL, trajectories, ["gd", "momentum"], xlim=CAMEL.xlim, ylim=CAMEL.ylim,
        title="camel", animation=animation(**looks),
    )  # fmt: skip


# -- the classic theme ------------------------------------------------------


def test_classic_is_a_theme_of_the_registry_as_data():
    theme = themes.get("classic")
    assert theme.contours == "lines" and theme.colour_bar
    assert theme.levels > themes.get("light").levels  # Tiao's notes: 35
    assert len(set(theme.fill)) > 10  # a colour map, not shades of grey
    with pytest.raises(ValueError, match="contours must be one of"):
        themes.register(dataclasses.replace(theme, name="x", contours="dots"))
    assert "x" not in themes.THEMES


def colour_bars(r) -> list:
    return [a for a in r.figure.axes if hasattr(a, "_colorbar")]


@pytest.mark.render
def test_classic_draws_coloured_log_lines_and_a_colour_bar_of_f_minus_f_star(
    beale_runs,
):
    r = beale(beale_runs, theme="classic")
    try:
        sets = [c for c in r.axes.collections if isinstance(c, ContourSet)]
        assert len(sets) == 1 and not sets[0].filled  # lines, no bands
        levels = sets[0].levels
        ratios = levels[1:] / levels[:-1]
        np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # log-spaced
        assert len(levels) == themes.get("classic").levels
        colours = sets[0].get_edgecolor()
        assert len({tuple(np.round(c, 2)) for c in colours}) > 10  # coloured
        (bar,) = colour_bars(r)
        assert isinstance(bar._colorbar, Colorbar)
        assert bar.get_ylabel() == "f − f*" and bar.get_yscale() == "log"
        ticks = bar.get_yticks()
        np.testing.assert_allclose(np.log10(ticks), np.round(np.log10(ticks)))
    finally:
        r.close()
    light = beale(beale_runs)
    try:
        assert colour_bars(light) == []  # log levels: none on the house look
        sets = [c for c in light.axes.collections if isinstance(c, ContourSet)]
        assert [c.filled for c in sets] == [True, False]
    finally:
        light.close()


@pytest.mark.render
def test_classic_on_linear_levels_has_a_bar_labelled_f():
    saddle = SURFACES["saddle"]
    t = run(saddle, [("gd", {"lr": 1e-2})], [(-1.5, 0.01)], 200)
    r = Renderer(scene(saddle, t, ["gd"], xlim=saddle.xlim, ylim=saddle.ylim,
                       animation=animation(theme="classic")))  # fmt: skip
    try:
        (bar,) = colour_bars(r)
        assert bar.get_ylabel() == "f" and bar.get_yscale() == "linear"
    finally:
        r.close()


# -- font size --------------------------------------------------------------


def sizes(r) -> dict[str, float]:
    texts = {
        "counter": r.counter,
        "legend": r.legend.get_texts()[0],
        "tick": r.axes.get_xticklabels()[0],
        "label": r.axes.xaxis.label,
    }
    return {name: t.get_fontsize() for name, t in texts.items()}


@pytest.mark.render
@pytest.mark.parametrize("view", ["2d", "3d"])
def test_font_size_scales_every_text(beale_runs, view):
    base, big = beale(beale_runs, view=view), beale(beale_runs, view=view,
                                                   font_size=18)  # fmt: skip
    try:
        for name, size in sizes(base).items():
            assert sizes(big)[name] == pytest.approx(size * 1.8), name
        # The title is fitted to its room: never larger than the base allows.
        assert big.title.get_fontsize() > base.title.get_fontsize()
        # The title card's text too, though it is made when drawn.
        found = []
        figure_text = big.figure.text

        def spy(*args, **kwargs):
            found.append(kwargs["fontsize"])
            return figure_text(*args, **kwargs)

        big.figure.text = spy
        big.card(["a title"])
        assert found == [pytest.approx(18 * 1.2)]
    finally:
        base.close()
        big.close()


# -- the legend's position --------------------------------------------------


@pytest.mark.render
@pytest.mark.parametrize("position", [p for p in LEGEND_POSITIONS if p != "auto"])
def test_the_legend_goes_where_it_is_put(beale_runs, position):
    r = beale(beale_runs, legend=position)
    try:
        r.frame(600)
        legend = r.legend.get_window_extent()
        axes = r.axes.get_window_extent()
        if position == "outside right":
            assert legend.x0 >= axes.x1
        elif position == "outside bottom":
            assert legend.y1 <= axes.y0
        else:
            assert axes.contains(legend.x0, legend.y0)
            assert axes.contains(legend.x1, legend.y1)
            middle_x, middle_y = (axes.x0 + axes.x1) / 2, (axes.y0 + axes.y1) / 2
            vertical, horizontal = position.split()
            side_y = {"upper": legend.y0 > middle_y, "lower": legend.y1 < middle_y}
            side_x = {"right": legend.x0 > middle_x, "left": legend.x1 < middle_x}
            if vertical in side_y:
                assert side_y[vertical]
            else:  # center: across the middle
                assert legend.y0 < middle_y < legend.y1
            if horizontal in side_x:
                assert side_x[horizontal]
            else:
                assert legend.x0 < middle_x < legend.x1
    finally:
        r.close()


@pytest.mark.render
def test_auto_is_the_spot_that_covers_nothing(beale_runs):
    """Beale from (−3, 3): the upper left holds the start; auto finds a spot
    elsewhere, and explicitly asked, the legend goes there anyway."""
    auto = beale(beale_runs)
    there = beale(beale_runs, legend="upper left")
    try:
        a, b = auto.legend.get_window_extent(), there.legend.get_window_extent()
        assert (a.x0, a.y0) != pytest.approx((b.x0, b.y0), abs=5)
        assert auto._legend_spot(BEALE) != "upper left"
    finally:
        auto.close()
        there.close()


# -- the camera -------------------------------------------------------------


def test_a_camera_path_is_linear_between_its_keys_and_holds_beyond():
    path = CameraPath(
        (
            CameraKey(0.2, Camera(60, -90)),
            CameraKey(0.6, Camera(20, -50)),
            CameraKey(1.0, Camera(20, 30)),
        )
    )
    assert path.moves

    def angles(p):
        return pytest.approx((path.at(p).elevation, path.at(p).azimuth))

    assert path.at(0.0) == path.at(0.2) == Camera(60, -90)
    assert angles(0.4) == (40, -70)
    assert angles(0.8) == (20, -10)
    assert path.at(1.0) == path.at(1.5) == Camera(20, 30)
    assert not CameraPath().moves
    orbit = CameraPath.orbit(Camera(30, -60), 90)
    assert orbit.at(0.5) == Camera(30, -15) and orbit.at(1) == Camera(30, 30)
    assert path.at(0.55) == path.at(0.55)  # a pure function: no state


def test_the_camera_of_a_frame_is_a_function_of_its_index():
    """Title card frames see the start, hold frames the end, and the motion
    frames go from one to the other: frame i of the video, wherever drawn."""
    timeline = Timeline(frames=11, fps=10, hold=0.5, title_card=0.3)
    assert [timeline.progress(i) for i in (0, 2, 3, 8, 13, 14, 18)] == [
        0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0,
    ]  # fmt: skip
    s = dataclasses.replace(
        camel_scene(()),
        timeline=timeline,
        layout=dataclasses.replace(
            camel_scene(()).layout, camera=CameraPath.orbit(Camera(30, 0), 100)
        ),
    )
    assert s.camera(8) == Camera(30, 50)
    assert [s.camera(i).azimuth for i in range(3, 14)] == pytest.approx(
        np.arange(0, 101, 10)
    )


CAMERAS = [
    ("{elevation: 45, azimuth: 10}", CameraPath((CameraKey(0, Camera(45, 10)),))),
    ("{orbit: 90}", CameraPath.orbit(Camera(), 90)),
    ("{elevation: 10, orbit: -30}", CameraPath.orbit(Camera(10, -60), -30)),
    (
        "{elevation: 60, path: [{at: 0, azimuth: 0}, {at: 0.5, elevation: 20},"
        " {at: 1, azimuth: 90}]}",
        CameraPath(
            (
                CameraKey(0, Camera(60, 0)),
                CameraKey(0.5, Camera(20, 0)),
                CameraKey(1, Camera(20, 90)),
            )
        ),
    ),
]


@pytest.mark.parametrize(("text", "path"), CAMERAS)
def test_the_camera_as_the_config_writes_it(text, path):
    import yaml

    data = {**SMALL, "animation": {"view": "3d", "camera": yaml.safe_load(text)}}
    assert parse(data).animation.camera == path
    assert parse(data).animation.layout.camera == path


@pytest.mark.parametrize(
    ("looks", "key_path", "fragment"),
    [
        ({"camera": {"orbit": 60}}, "animation.camera",
         "the camera looks at the 3-D view only (view: 3d or both)"),
        ({"view": "3d", "camera": {"elevation": 100}}, "animation.camera.elevation",
         "must be between -90 and 90; got 100"),
        ({"view": "3d", "camera": {"azimuth": "east"}}, "animation.camera.azimuth",
         "must be a number"),
        ({"view": "3d", "camera": {"orbit": 1e6}}, "animation.camera.orbit",
         "must be between -3600 and 3600"),
        ({"view": "3d", "camera": {"orbit": 60, "path": []}}, "animation.camera.path",
         "give either 'orbit'"),
        ({"view": "3d", "camera": {"orbitt": 60}}, "animation.camera.orbitt",
         "did you mean 'orbit'?"),
        ({"view": "3d", "camera": 60}, "animation.camera", "must be a mapping"),
        ({"view": "both", "camera": {"path": []}}, "animation.camera.path",
         "needs at least one key"),
        ({"view": "3d", "camera": {"path": [{"azimuth": 3}]}},
         "animation.camera.path[0]", "missing required key 'at'"),
        ({"view": "3d", "camera": {"path": [{"at": 0, "azimuth": 1},
                                            {"at": 0, "azimuth": 2}]}},
         "animation.camera.path[1].at", "must be after the key before it (at 0)"),
        ({"view": "3d", "camera": {"path": [{"at": 1.5, "azimuth": 1}]}},
         "animation.camera.path[0].at", "must be between 0 and 1"),
        ({"view": "3d", "camera": {"path": [{"at": 0}]}},
         "animation.camera.path[0]", "a key sets 'elevation', 'azimuth' or both"),
        ({"view": "3d", "camera": {"path": [{"at": 0, "roll": 3}]}},
         "animation.camera.path[0].roll", "allowed keys are 'at', 'elevation'"),
        ({"legend": "upper left"}, "animation.legend",
         "must be a mapping such as {position: 'upper left'}"),
        ({"legend": {"position": "top left"}}, "animation.legend.position",
         "did you mean 'upper left'?"),
        ({"legend": {"where": "auto"}}, "animation.legend.where",
         "allowed keys are 'position'"),
        ({"font_size": 40}, "animation.font_size", "must be between 5 and 30; got 40"),
        ({"font_size": "big"}, "animation.font_size", "must be a number"),
    ],
    ids=[
        "camera-2d", "elevation-range", "azimuth-text", "orbit-range",
        "orbit-and-path", "camera-typo", "camera-number", "empty-path",
        "key-without-at", "keys-out-of-order", "at-range", "key-without-angle",
        "key-roll", "legend-text", "position-typo", "legend-key", "font-too-big",
        "font-text",
    ],
)  # fmt: skip
def test_bad_camera_legend_and_font_keys_are_one_line(looks, key_path, fragment):
    with pytest.raises(ConfigError) as info:
        parse({**SMALL, "animation": looks}, source="c.yaml")
    assert info.value.path == key_path
    assert fragment in info.value.message, info.value.message
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"c.yaml: {key_path}: ")


ORBIT = CameraPath.orbit(Camera(35, -100), 120)


@pytest.mark.render
@pytest.mark.parametrize("view", ["3d", "both"])
def test_a_moving_camera_draws_each_frame_as_a_full_draw_would(camel_runs, view):
    r = camel(camel_runs, view=view, camera=ORBIT, panels=("loss",))
    try:
        assert r._moves
        shots = [(5, ORBIT.at(0)), (300, ORBIT.at(0.5)), (800, ORBIT.at(1))]
        drawn = [r.frame(k, camera) for k, camera in shots]
        for (k, camera), image in zip(shots, drawn):
            assert rms(image, r.full_draw_frame(k, camera)) < 0.5
        # The camera really moves the picture; and a frame is a function of
        # (iteration, camera) alone, whatever was drawn before it.
        assert rms(r.frame(300, ORBIT.at(0)), drawn[1]) > 5
        assert np.array_equal(r.frame(300, ORBIT.at(0.5)), drawn[1])
    finally:
        r.close()


@pytest.mark.render
def test_a_fixed_camera_keeps_the_fast_path_and_is_where_it_is_put(camel_runs):
    fixed = CameraPath((CameraKey(0.0, Camera(60, 20)),))
    r = camel(camel_runs, view="3d", camera=fixed)
    plain = camel(camel_runs, view="3d")
    try:
        assert not r._moves and r._solid_tracks == []
        solid = r.views[0].axes
        assert (solid.elev, solid.azim) == (60, 20)
        assert (plain.views[0].axes.elev, plain.views[0].axes.azim) == (30, -60)
        assert rms(r.frame(400), r.full_draw_frame(400)) < 0.5
        assert rms(r.frame(400), plain.frame(400)) > 5
    finally:
        r.close()
        plain.close()


@pytest.mark.render
def test_stills_see_the_camera_of_their_frame(camel_runs):
    s = camel_scene(camel_runs, view="3d", camera=ORBIT, frames=20)
    first, last, middle = stills(s, [0, 19, 10], frames=True)
    r = Renderer(s)
    try:
        schedule = r.schedule()
        assert np.array_equal(first, r.frame(int(schedule[0]), ORBIT.at(0)))
        assert np.array_equal(middle, r.frame(int(schedule[10]), ORBIT.at(10 / 19)))
        assert np.array_equal(last, r.frame(int(schedule[19]), ORBIT.at(1)))
    finally:
        r.close()
    (end,) = stills(s, [None])
    assert np.array_equal(end, last)  # the last frame: the end camera


@pytest.mark.render
def test_a_moving_camera_redraws_held_iterations_and_holds_the_hold(
    camel_runs, monkeypatch
):
    """A short run holds each iteration for several frames: the camera keeps
    moving over them. The hold at the end keeps the last camera, and its
    frames are written again, not drawn."""
    from optviz.pipeline import FrameRanges

    short = tuple(dataclasses.replace(t, points=t.points[:6], loss=t.loss[:6],
                  grad_norm=t.grad_norm[:6]) for t in camel_runs)  # fmt: skip
    s = dataclasses.replace(
        camel_scene(short, view="3d", camera=ORBIT, frames=12),
        timeline=Timeline(frames=12, fps=10, hold=0.5),
    )
    r = Renderer(s)
    try:
        frames = s.timeline.sequence(r.schedule())
        assert len(frames) == 17 and len(set(frames)) == 6
        drawn = []
        buffer = r.buffer

        def counting(k, camera=None):
            drawn.append((k, camera))
            return buffer(k, camera)

        monkeypatch.setattr(r, "buffer", counting)
        written = []
        FrameRanges(s, frames, r)(0, len(frames), lambda im: written.append(
            np.array(im, copy=True)), lambda: None)  # fmt: skip
        assert len(drawn) == 12  # every motion frame, none of the hold's
        assert [camera for _, camera in drawn] == [s.camera(i) for i in range(12)]
        assert all(np.array_equal(written[11], w) for w in written[12:])
        assert rms(written[0], written[1]) > 1  # the same iteration, turned
    finally:
        r.close()


def test_the_camera_is_off_the_lecture_configs_fast_path():
    """The lecture configs are 2-D and set no camera: nothing of it runs."""
    from pathlib import Path

    lecture = Path(__file__).resolve().parent.parent / "configs" / "lecture"
    config = api.load_config(lecture / "1gd.yaml")
    assert config.animation.camera == CameraPath()
    assert not config.animation.camera.moves


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_parses_mathtext_with_fonts_of_its_own():
    """A forked child shares its parent's font files' offsets: it must not
    draw mathtext (the 3-D ticks of a moving camera) with the parent's
    fonts, kept in matplotlib's cache of parsed mathtext (once seen as
    "FT_Load_Glyph failed: invalid outline" in one process or the other,
    half the time)."""
    from matplotlib.mathtext import MathTextParser

    import optviz.draw.figure  # noqa: F401  (registers the fork handler)

    parser = MathTextParser("agg")
    parser.parse(r"$\mathdefault{10^{-2}}$", dpi=100)
    assert MathTextParser._parse_cached.cache_info().currsize > 0
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the cache's size, and go
        os.write(
            write, str(MathTextParser._parse_cached.cache_info().currsize).encode()
        )
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"0"
    os.close(read)
    assert MathTextParser._parse_cached.cache_info().currsize > 0  # the parent's
