"""The html player without a browser: its stage (the pictures and numbers
taken from the video's figure), the decimation, the counter's glyphs, the
page's packaging, the config's ``animation.html``, the command line, the
notebook hooks. ``tests/test_player_browser.py`` opens the pages in Chromium.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import optviz
from optviz import api, pipeline
from optviz.cli import main
from optviz.draw.backdrop import house_style
from optviz.draw.figure import Renderer
from optviz.draw.scene import Player
from optviz.draw.stage import counter_glyphs, decimate, stage
from optviz.errors import ConfigError
from optviz.output import player, writers

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "configs" / "lecture"

SMALL = {
    "title": "small",
    "surface": "beale",
    "starts": [[2, -2], [-3, 3]],
    "iterations": 200,
    "optimizers": [
        {"label": "gd", "method": "gd", "lr": "1e-3"},
        {"label": "adam", "method": "adam", "lr": 0.1},
    ],
    "animation": {"frames": 40, "fps": 10, "hold": 0, "formats": ["html"]},
}


def write(folder: Path, name="cfg", animation=None, **changes) -> Path:
    data = json.loads(json.dumps(SMALL))
    data["animation"].update(animation or {})
    data.update(changes)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# -- decimation ----------------------------------------------------------------


paths = st.integers(2, 300).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=n, max_size=n
        ),
        st.lists(st.integers(0, n - 1), max_size=10),
        st.sampled_from([0.1, 0.5, 2.0]),
    )
)


@settings(max_examples=200, deadline=None)
@given(paths)
def test_every_dropped_point_is_within_the_tolerance_of_the_kept_one_before(case):
    steps, keep, tol = case
    pixels = np.cumsum(np.array(steps, dtype=float), axis=0)
    kept = decimate(pixels, tol, keep)
    assert kept[0] == 0 and kept[-1] == len(pixels) - 1
    assert np.all(np.diff(kept) > 0)
    assert set(keep) <= set(kept.tolist())
    # each point is drawn at the last kept point at or before it
    drawn_at = kept[np.searchsorted(kept, np.arange(len(pixels)), side="right") - 1]
    off = np.hypot(*(pixels - pixels[drawn_at]).T)
    assert off.max() <= tol + 1e-9


def test_decimation_drops_what_does_not_move_and_keeps_gaps():
    still = np.zeros((1000, 2))
    assert decimate(still, 0.25).tolist() == [0, 999]
    moving = np.column_stack((np.arange(10.0), np.zeros(10)))
    assert decimate(moving, 0.25).tolist() == list(range(10))
    gap = moving.copy()
    gap[4] = np.nan
    kept = decimate(gap, 100.0)
    assert {3, 4, 5} <= set(kept.tolist())  # the line breaks and starts again


# -- the stage ---------------------------------------------------------------


@pytest.fixture(scope="module")
def lecture():
    config = api.load_config(LECTURE / "2gd_gd+p_gd+np_adagrad_rmsprop+p_adam.yaml")
    result = api.run(config)
    with house_style():
        renderer = Renderer(pipeline.scene(result))
        schedule = renderer.schedule()
        shown = stage(renderer, schedule, Player())
    yield result, renderer, schedule, shown
    renderer.close()


@pytest.mark.render
def test_the_stage_keeps_every_frame_point_and_its_values(lecture):
    _, renderer, schedule, shown = lecture
    assert shown.frames == tuple(int(k) for k in schedule)
    assert len(shown.runs) == len(renderer.trajectories) == 6
    for run, t in zip(shown.runs, renderer.trajectories):
        assert set(np.minimum(schedule, len(t.points) - 1)) <= set(run.kept.tolist())
        np.testing.assert_array_equal(run.points, t.points[run.kept])
        np.testing.assert_array_equal(run.loss, t.loss[run.kept])
        np.testing.assert_array_equal(run.grad_norm, t.grad_norm[run.kept])
        # far fewer points than iterations: what the page holds
        assert len(run.kept) < len(t.points) / 5


@pytest.mark.render
def test_the_stage_transform_is_the_axes_own(lecture):
    _, renderer, _, shown = lecture
    h = shown.size[1]
    rng = np.random.default_rng(0)
    points = rng.uniform(-4.5, 4.5, size=(50, 2))
    want = renderer.views[0].pixels(points)
    want[:, 1] = h - want[:, 1]
    box, (x0, x1), (y0, y1) = shown.axes, shown.xlim, shown.ylim
    got = np.column_stack(
        (
            box.left + (points[:, 0] - x0) / (x1 - x0) * (box.right - box.left),
            box.bottom - (points[:, 1] - y0) / (y1 - y0) * (box.bottom - box.top),
        )
    )
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.render
def test_the_layers_add_up_to_a_frame_of_the_video(lecture):
    """backdrop, then the landmarks, the heads, the outlines and the legend:
    with no line and no head yet (a run of no points), composited they are
    the frame the renderer draws with its own compositing."""
    _, renderer, _, shown = lecture
    pictures = shown.pictures
    out = pictures["backdrop"][..., :3].astype(float)
    for name in ("under", "over"):
        layer = pictures[name].astype(float)
        a = layer[..., 3:] / 255
        out = layer[..., :3] * a + out * (1 - a)
    assert pictures["backdrop"][..., 3].min() == 255
    legend = pictures["legend"].astype(float)
    box = shown.legend
    rows = slice(int(box.top), int(box.bottom))
    cols = slice(int(box.left), int(box.right))
    a = legend[..., 3:] / 255
    out[rows, cols] = legend[..., :3] * a + out[rows, cols] * (1 - a)
    # The same layers the frames draw, without the lines, heads and counter.
    canvas = renderer.canvas
    canvas.restore_region(renderer.static_layer)
    for artist in (*renderer._landmarks, *renderer._outlines):
        renderer.figure.draw_artist(artist)
    renderer._paste_legend(np.asarray(canvas.buffer_rgba()))
    want = np.array(canvas.buffer_rgba(), dtype=float)[..., :3]
    canvas.restore_region(renderer.static_layer)
    assert np.abs(out - want).max() <= 2.0


@pytest.mark.render
def test_the_counter_is_composed_of_matplotlibs_own_glyphs(lecture):
    _, renderer, _, _ = lecture
    with house_style():
        glyphs = counter_glyphs(renderer)
        assert glyphs is not None
        pixels = np.asarray(renderer.canvas.buffer_rgba())
        for k in (0, 7, 709, 1_111, 10_000, 98_765_432):
            text = f"iteration {k:,}"
            renderer.counter.set_text(text)
            pixels[...] = 0
            renderer.figure.draw_artist(renderer.counter)
            want = pixels.copy()
            np.testing.assert_array_equal(
                glyphs.compose(text, renderer.size), want, err_msg=text
            )
        renderer.canvas.restore_region(renderer.static_layer)
    assert glyphs.layout("iteration 1e3") is None  # not digits: a browser font


@pytest.mark.render
def test_a_3d_view_has_no_stage():
    config = api.load_config(ROOT / "configs" / "examples" / "newton_saddle.yaml")
    result = api.run(config)
    scene = pipeline.scene(result)
    import dataclasses

    layout = dataclasses.replace(scene.layout, view="3d")
    renderer = Renderer(dataclasses.replace(scene, layout=layout))
    try:
        with pytest.raises(ValueError, match="2-D view only"):
            stage(renderer, [0, 1], Player())
    finally:
        renderer.close()


# -- the page ----------------------------------------------------------------


@pytest.mark.render
def test_the_page_is_self_contained_and_carries_the_stage(lecture):
    _, _, _, shown = lecture
    page = player.page(shown, "x")
    assert "<title>Beale&#x27;s function, opt 2</title>" in page
    found = re.search(
        r'<script type="application/json" id="optviz-data">(.*?)</script>', page, re.S
    )
    data = json.loads(found.group(1))
    markup = page.replace(found.group(1), "")
    # no address of any kind, and a policy that forbids fetching one
    addresses = r"https?:|//[a-z]|src=|href=(?!\"data:,\")|url\(|@import"
    assert not re.search(addresses, markup)
    assert "default-src 'none'" in markup
    assert "://" not in json.dumps({k: v for k, v in data.items() if k != "pictures"})
    assert data == {**shown.to_json(), "pictures": data["pictures"]}
    assert set(data["pictures"]) == {"backdrop", "under", "over", "legend", "glyphs"}


def test_text_in_the_data_cannot_close_the_script():
    class Stage:
        size = (20, 20)
        title = "</script><script>alert(1)</script>"
        pictures: ClassVar[dict] = {}

        def to_json(self):
            return {"title": self.title}

    page = player.page(Stage())  # type: ignore[arg-type]
    start = page.index('id="optviz-data">') + len('id="optviz-data">')
    block = page[start : page.index("</script>", start)]  # where the browser ends it
    assert json.loads(block)["title"] == Stage.title
    assert "<title>&lt;/script&gt;" in page


def test_the_html_format_is_a_writer_of_the_scene():
    html = writers.get("html")
    assert html.from_scene and not html.from_last_frame
    assert html.path(Path("out"), "x") == Path("out/x.html")
    assert "html" in writers.WRITERS


# -- the config ----------------------------------------------------------------


def test_html_settings_are_read(tmp_path):
    c = api.load_config(
        write(
            tmp_path,
            animation={
                "html": {
                    "tolerance": 0.5,
                    "autoplay": True,
                    "speed": 2,
                    "scrubber": "iterations",
                }
            },
        )
    )
    assert c.animation.html == Player(0.5, True, 2.0, "iterations")
    assert pipeline.scene(api.run(c)).player == c.animation.html
    assert api.load_config(write(tmp_path)).animation.html == Player()


@pytest.mark.parametrize(
    ("html", "where", "fragment"),
    [
        ({"tolerance": "fine"}, "animation.html.tolerance", "must be a number"),
        ({"tolerance": 0}, "animation.html.tolerance", "between 0.01 and 10"),
        ({"speed": 3}, "animation.html.speed", "0.25, 0.5, 1, 2, 4"),
        ({"autoplay": "yes"}, "animation.html.autoplay", "true or false"),
        ({"scrubber": "frame"}, "animation.html.scrubber", "did you mean 'frames'"),
        ({"loop": True}, "animation.html.loop", "allowed keys are 'tolerance'"),
        ([1, 2], "animation.html", "must be a mapping"),
    ],
)
def test_bad_html_settings_are_one_line_errors(tmp_path, capsys, html, where, fragment):
    path = write(tmp_path, animation={"html": html})
    with pytest.raises(ConfigError) as e:
        api.load_config(path)
    assert str(e.value).startswith(f"{path}: {where}: ")
    assert fragment in str(e.value)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_the_player_of_a_3d_view_is_refused_where_the_config_is_read(tmp_path, capsys):
    path = write(tmp_path, animation={"view": "3d"})
    with pytest.raises(ConfigError, match="2-D view only") as e:
        api.load_config(path)
    assert e.value.path == "animation.formats"
    # --html on a config whose own formats leave it out: refused before running
    other = write(tmp_path, "other", animation={"view": "3d", "formats": ["png"]})
    assert main(["run", str(other), "--html", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{other}: animation.view: the html player shows the 2-D view only" in err
    assert not (tmp_path / "out").exists()


# -- writing it --------------------------------------------------------------


@pytest.mark.render
def test_optviz_run_writes_the_page_and_nothing_half_written(tmp_path, capsys):
    path = write(tmp_path, animation={"formats": ["png", "html"]})
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "cfg.html",
        "cfg.png",
        "trajectories.csv",
    ]
    page = (out / "cfg.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # --html with --no-video: the page alone, the config's formats aside
    again = tmp_path / "again"
    plain = write(tmp_path, "plain", animation={"formats": ["mp4"]})
    assert main(["run", str(plain), "--no-video", "--html", "-o", str(again)]) == 0
    assert sorted(p.name for p in again.iterdir()) == ["plain.html", "trajectories.csv"]
    assert "wrote " + str(again / "plain.html") in capsys.readouterr().out


@pytest.mark.render
def test_a_result_shows_itself_as_the_player(tmp_path):
    result = api.run(api.load_config(write(tmp_path)))
    shown = result._repr_html_()
    found = re.fullmatch(r'<iframe srcdoc="([^"]*)" (.*)></iframe>', shown, re.S)
    assert found and 'sandbox="allow-scripts"' in found.group(2)
    assert html.unescape(found.group(1)) == pipeline.player_page(result)
    # outside IPython show() hands the HTML back
    inline = optviz.show(result)
    assert isinstance(inline, api.Inline) and inline.html == shown
    page = inline.save(tmp_path / "shown.html")
    assert page.read_text(encoding="utf-8") == shown


@pytest.mark.render
def test_show_with_video_embeds_the_mp4(tmp_path):
    path = write(tmp_path, animation={"frames": 8, "fps": 8, "size": [96, 72]})
    result = api.run(api.load_config(path))
    inline = optviz.show(result, video=True)
    assert inline is not None
    found = re.fullmatch(
        r'<video controls loop muted playsinline width="96" height="72" '
        r'style="[^"]*" src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"></video>',
        inline.html,
    )
    assert found
    import base64

    mp4 = base64.b64decode(found.group(1))
    assert mp4[4:8] == b"ftyp"


def test_dir_lists_the_api():
    names = dir(optviz)
    for name in ("run", "load_config", "render", "still", "show", "Result"):
        assert name in names
    assert "ConfigError" in names and "__version__" in names
    assert names == sorted(names)
