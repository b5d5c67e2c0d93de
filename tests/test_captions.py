"""Timed captions, the run's events, the WebVTT file and events.csv.

The events are checked against the runs they come from (the trajectory's own
numbers); the subtitle file's cue times against the frame schedule the video
is drawn from; the captions in the frame against frames drawn without them.
"""

import csv
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import optviz
from optviz import pipeline
from optviz.cli import main
from optviz.config import EventRef, load, parse
from optviz.optim import events as run_events
from optviz.optim import window
from optviz.optim.runner import Status
from optviz.output import subtitles

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "configs" / "lecture" / "1gd_gd+p_gd+np_adagrad_rmsprop+p_adam.yaml"
DEMO = ROOT / "configs" / "examples" / "captions_and_events.yaml"


def config(**changes):
    """A small config on Booth's bowl: gd, momentum, and a gd that diverges."""
    data = {
        "surface": "booth",
        "starts": [[-6, 6]],
        "iterations": 300,
        "optimizers": [
            {"label": "gd", "method": "gd", "lr": 0.01},
            {"label": "momentum", "method": "momentum", "lr": 0.01, "momentum": 0.9},
            {"label": "wild", "method": "gd", "lr": 0.115},
        ],
        "captions": {"events": True, "cues": [{"at": 15, "text": "overshoot"}]},
        "animation": {"size": [160, 120], "dpi": 20, "frames": 40, "hold": 0.5,
                      "formats": ["mp4"]},
    }  # fmt: skip
    data.update(changes)
    return parse(data, source="test.yaml", stem="test")


# --- events ----------------------------------------------------------------


def test_lecture_events_are_where_the_trajectories_say():
    result = optviz.run(load(LECTURE))
    minima = [m.point for m in result.surface.minima]
    found = pipeline.events(result)
    reached = {(e.label, e.start): e for e in found if e.kind == "reached"}
    adam = [t for t in result.trajectories if t.label == "adam"]
    assert adam
    for t in result.trajectories:
        first = t.first_reach(minima)
        if first is None:
            assert (t.label, t.start) not in reached
            continue
        e = reached[(t.label, t.start)]
        assert e.iteration == first
        assert np.hypot(*(t.points[first] - minima[0])) < 0.05
        assert np.hypot(*(t.points[first - 1] - minima[0])) >= 0.05
        # the summary table's "reached" column is the same number
    table = {(r.label, r.start): r.reached for r in pipeline.summary_rows(result)}
    starts = result.config.starts
    for (label, j), e in reached.items():
        assert table[(label, tuple(map(float, starts[j])))] == e.iteration
    assert any(e.label == "adam" for e in reached.values())
    # one start: the text names none
    assert not any(" from (" in e.text for e in found)


def test_with_several_starts_an_event_names_its_start():
    result = optviz.run(config(starts=[[-6, 6], [6, -4]]))
    found = pipeline.events(result)
    assert {e.start for e in found} == {0, 1}
    for e in found:
        x, y = result.config.starts[e.start]
        assert e.text.startswith(f"{e.label} from ({x:g}, {y:g}) ")


def test_events_come_in_iteration_order_and_name_the_minimum():
    result = optviz.run(config())
    found = pipeline.events(result)
    assert [e.iteration for e in found] == sorted(e.iteration for e in found)
    texts = {e.label: e.text for e in found if e.kind == "reached"}
    assert texts["momentum"] == "momentum reaches the global minimum (1, 3)"


def test_a_diverged_event_is_where_the_path_leaves_the_view():
    result = optviz.run(config())
    (wild,) = [t for t in result.trajectories if t.label == "wild"]
    assert wild.status is Status.DIVERGED
    left = window.first_outside(wild, result.xlim, result.ylim)
    assert left is not None and left < wild.stopped_at
    (e,) = [e for e in pipeline.events(result) if e.label == "wild"]
    assert (e.kind, e.iteration, e.text) == ("diverged", left, "wild diverged")
    # without a view: where it stopped
    (alone,) = run_events.events([wild], result.surface.minima)
    assert alone.iteration == wild.stopped_at


def test_nothing_of_a_diverged_run_after_it_left_the_picture():
    from optviz.optim.runner import Trajectory
    from optviz.surfaces import Minimum

    # out of the view at 2, through the minimum's disc at 3 on its way on
    points = np.array([[0.5, 0.5], [0.8, 0.8], [5.0, 0.0], [1.0, 1.0], [9.0, 9.0]])
    zeros = np.zeros(len(points))
    t = Trajectory("wild", 0, 0, points, zeros, zeros, Status.DIVERGED)
    minima = [Minimum(1.0, 1.0, 0.0)]
    assert t.first_reach([(1.0, 1.0)]) == 3
    found = run_events.events([t], minima, ((0, 2), (0, 2)))
    assert [(e.kind, e.iteration) for e in found] == [("diverged", 2)]
    # reached before it left: both, in order
    inside = dataclasses.replace(t, points=points[[0, 3, 1, 2, 4]])
    found = run_events.events([inside], minima, ((0, 2), (0, 2)))
    assert [(e.kind, e.iteration) for e in found] == [("reached", 1), ("diverged", 3)]


def test_second_order_stops_and_convergence_are_events():
    flat = {"formula": "x^2 + y", "domain": {"x": [-3, 3], "y": [-3, 3]}}
    result = optviz.run(parse({
        "surface": flat, "starts": [[1, 1]], "iterations": 10,
        "optimizers": [{"method": "newton"}]}))  # fmt: skip
    (e,) = pipeline.events(result)
    assert (e.kind, e.iteration, e.text) == (
        "singular_hessian", 0, "newton stopped: singular Hessian",
    )  # fmt: skip
    bowl = {"formula": "x^2 + 3*y^2", "domain": {"x": [-3, 3], "y": [-3, 3]}}
    result = optviz.run(parse({
        "surface": bowl, "starts": [[1, -2]], "iterations": 500, "tolerance": 1e-3,
        "optimizers": [{"method": "gd", "lr": 0.1}]}))  # fmt: skip
    (t,) = result.trajectories
    assert t.status is Status.CONVERGED
    converged = [e for e in pipeline.events(result) if e.kind == "converged"]
    assert [e.iteration for e in converged] == [t.stopped_at]
    assert converged[0].text == "gd converged"


def test_events_csv_is_written_with_the_run(tmp_path):
    c = dataclasses.replace(config(), output=tmp_path)
    result = optviz.run(c)
    paths = pipeline.write_outputs(result, tmp_path, pipeline.Outputs(video=False))
    assert tmp_path / "events.csv" in paths
    with open(tmp_path / "events.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    found = pipeline.events(result)
    assert [(int(r["iteration"]), r["event"], r["optimizer"]) for r in rows] == [
        (e.iteration, e.kind, e.label) for e in found
    ]
    assert not list(tmp_path.glob(".*.part"))


def test_no_events_csv_without_events(tmp_path):
    c = config(captions=[{"at": 3, "text": "hello"}])
    paths = pipeline.write_outputs(optviz.run(c), tmp_path, pipeline.Outputs(False))
    assert not (tmp_path / "events.csv").exists()
    assert all(p.name != "events.csv" for p in paths)


# --- captions resolved on the run --------------------------------------------


def test_a_cue_at_an_event_takes_its_iteration():
    c = config(captions=[{"at": {"event": "reached", "optimizer": "momentum"},
                          "text": "there", "seconds": 2}])  # fmt: skip
    assert c.captions.cues[0].at == EventRef("reached", "momentum")
    result = optviz.run(c)
    (caption,) = pipeline.captions(result).items
    (t,) = [t for t in result.trajectories if t.label == "momentum"]
    assert caption.iteration == t.first_reach([(1, 3)])
    assert (caption.text, caption.seconds) == ("there", 2)


def test_no_captions_no_scene_captions():
    c = config()
    plain = dataclasses.replace(c, captions=None)
    assert pipeline.scene(optviz.run(plain)).captions is None


def test_a_cue_at_an_event_that_never_happens_is_an_error_that_lists_the_events(
    tmp_path, capsys
):
    path = tmp_path / "c.yaml"
    path.write_text(
        "surface: booth\nstarts: [[-6, 6]]\niterations: 100\n"
        "optimizers: [{label: gd, method: gd, lr: 0.01},"
        " {label: momentum, method: momentum, lr: 0.01}]\n"
        "captions: [{at: {event: diverged, optimizer: gd}, text: boom}]\n"
    )
    code = main(["run", str(path), "--no-video", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line == (
        f"optviz: error: {path}: captions[0].at: no event 'diverged' of gd happens "
        "in this run; those that do: reached (momentum)"
    )
    assert not (tmp_path / "out").exists()  # refused before any file


def test_a_cue_after_every_run_stopped_is_an_error():
    bowl = {"formula": "x^2 + 3*y^2", "domain": {"x": [-3, 3], "y": [-3, 3]}}
    c = parse({"surface": bowl, "starts": [[1, -2]], "iterations": 500,
               "tolerance": 1e-3, "optimizers": [{"method": "gd", "lr": 0.1}],
               "captions": [{"at": 400, "text": "late"}]})  # fmt: skip
    with pytest.raises(optviz.ConfigError, match=r"captions\[0\]\.at: iteration 400 "
                       r"is after the last one the video shows, \d+"):  # fmt: skip
        pipeline.captions(optviz.run(c))


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "captions, message",
    [
        (
            {"cue": []},
            "captions.cue: unknown key 'cue'; allowed keys are 'cues', "
            "'events', 'draw', 'position', 'seconds'; did you mean 'cues'?",
        ),
        (
            [{"at": 301, "text": "x"}],
            "captions[0].at: must be between 0 and 300; got 301",
        ),
        (
            [{"at": 3, "text": "x", "seconds": -1}],
            "captions[0].seconds: must be between 0.1 and 60; got -1",
        ),
        ({"seconds": 0}, "captions.seconds: must be between 0.1 and 60; got 0"),
        (
            [{"at": {"event": "reachd"}, "text": "x"}],
            "captions[0].at.event: 'reachd' is not a valid value; supported values "
            "are 'reached', 'converged', 'diverged', 'singular_hessian', "
            "'line_search_failed'; did you mean 'reached'?",
        ),
        (
            [{"at": {"event": "reached", "optimizer": "adma"}, "text": "x"}],
            "captions[0].at.optimizer: 'adma' is not a valid value; supported values "
            "are 'gd', 'momentum', 'wild'",
        ),
        (
            [{"at": "adam reaches", "text": "x"}],
            "captions[0].at: must be an iteration or {event: KIND, optimizer: "
            "LABEL}; got 'adam reaches'",
        ),
        (
            [{"text": "x"}],
            "captions[0]: missing required key 'at' of a cue {at, text, seconds}",
        ),
        (
            {"cues": [{"at": 1, "txt": "x"}]},
            "captions.cues[0].txt: unknown key 'txt'; allowed keys are 'at', 'text', "
            "'seconds'; did you mean 'text'?",
        ),
        (
            [{"at": 1, "text": "a\nb"}],
            "captions[0].text: must be one line of printable text",
        ),
        ({"position": "left"}, "captions.position: 'left' is not a valid value"),
        ({"events": "yes"}, "captions.events: must be true or false; got 'yes'"),
        (
            "all",
            "captions: must be a mapping (a list of cues, or {cues: [...], "
            "events: true}); got text",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_bad_captions_are_one_line_errors_with_the_key_path(captions, message):
    with pytest.raises(optviz.ConfigError) as caught:
        config(captions=captions)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("test.yaml: ")
    assert message in text


def test_captions_with_a_sweep_are_refused():
    with pytest.raises(optviz.ConfigError, match="captions: captions are for a "
                       "video of one run"):  # fmt: skip
        config(sweep={"optimizer": "gd", "lr": [0.01, 0.02]})


def test_bad_captions_exit_2_through_the_command_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(
        "surface: booth\nstarts: [[-6, 6]]\niterations: 100\n"
        "optimizers: [{method: gd, lr: 0.01}]\ncaptions: [{at: 101, text: x}]\n"
    )
    assert main(["run", str(path), "--no-video"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"optviz: error: {path}: captions[0].at: must be between 0 and 100; got 101"
    )


# --- cue placement and the subtitle file ---------------------------------------


def test_cues_start_on_the_first_frame_showing_their_iteration():
    from optviz.draw.captions import cues, shown_on
    from optviz.draw.scene import Caption

    # a title card of 3 frames, held iterations, a hold at the end
    frames = [None, None, None, 0, 0, 1, 1, 5, 9, 9, 9]
    placed = cues([Caption(6, "b", 0.2), Caption(1, "a", 10.0)], frames, fps=10)
    # 6 is never shown: the first frame past it, showing 9
    assert [(q.first, q.stop, q.text) for q in placed] == [(5, 11, "a"), (8, 10, "b")]
    assert shown_on(placed, 4) == ()
    assert shown_on(placed, 7) == ("a",)
    assert shown_on(placed, 8) == ("a", "b")
    assert shown_on(placed, 10) == ("a",)
    with pytest.raises(ValueError, match="no frame shows iteration 10"):
        cues([Caption(10, "c", 1.0)], frames, fps=10)


def test_vtt_text_is_escaped_and_timed_to_the_millisecond():
    text = subtitles.vtt_text([subtitles.Cue(61.0005, 3725.25, "a < b & c --> d")])
    assert text == (
        "WEBVTT\n\n1\n00:01:01.000 --> 01:02:05.250\na &lt; b &amp; c --&gt; d\n"
    )


def read_vtt(path: Path) -> list[tuple[float, float, str]]:
    """(start, end, text) of each cue of a WebVTT file, parsed on its own."""
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    assert blocks[0] == "WEBVTT"
    out = []
    stamp = r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)"
    for block in blocks[1:]:
        _, times, text = block.strip("\n").split("\n")
        m = re.fullmatch(f"{stamp} --> {stamp}", times)
        assert m, times
        g = [int(v) for v in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        out.append((start, end, text))
    return out


@pytest.mark.render
@pytest.mark.parametrize("schedule", ["log", "adaptive"])
def test_webvtt_cue_times_agree_with_the_frame_schedule(tmp_path, schedule):
    from optviz.draw.figure import Renderer

    c = config()
    animation = dataclasses.replace(c.animation, schedule=schedule, title_card=0.5)
    result = optviz.run(dataclasses.replace(c, animation=animation))
    paths = pipeline.render(result, tmp_path)
    vtt = tmp_path / "test.vtt"
    assert vtt in paths and (tmp_path / "test.mp4") in paths
    scene = pipeline.scene(result)
    renderer = Renderer(scene)
    try:
        frames = scene.timeline.sequence(renderer.schedule())
    finally:
        renderer.close()
    fps, total = scene.timeline.fps, len(frames)
    wanted = {c.text: c for c in scene.captions.items}
    cues = read_vtt(vtt)
    assert sorted(text for _, _, text in cues) == sorted(wanted)
    for start, end, text in cues:
        first = round(start * fps)
        assert abs(first / fps - start) < 0.0005  # a frame's own time
        k = wanted[text].iteration
        # the first frame that shows the caption's iteration (or one past it)
        assert frames[first] is not None and frames[first] >= k
        assert all(f is None or f < k for f in frames[:first])
        length = min(total, first + round(wanted[text].seconds * fps)) - first
        assert end == pytest.approx(start + length / fps, abs=0.001)
        assert end <= total / fps + 0.0005
    # the "overshoot" cue at 15 starts after the title card
    (start,) = [s for s, _, text in cues if text == "overshoot"]
    assert start >= scene.timeline.intro_frames / fps


@pytest.mark.render
def test_captions_are_drawn_in_exactly_the_frames_of_their_cue():
    from optviz.draw.captions import cues
    from optviz.draw.figure import Renderer

    result = optviz.run(config(captions=[{"at": 15, "text": "overshoot",
                                          "seconds": 0.2}]))  # fmt: skip
    captioned = pipeline.scene(result)
    plain = dataclasses.replace(captioned, captions=None)
    renderer = Renderer(plain)
    try:
        frames = plain.timeline.sequence(renderer.schedule())
    finally:
        renderer.close()
    (cue,) = cues(captioned.captions.items, frames, plain.timeline.fps)
    assert cue.stop - cue.first == round(0.2 * plain.timeline.fps)

    def video(scene, placed):
        out = []
        draw = pipeline.FrameRanges(scene, frames, cues=placed)
        draw(0, len(frames), lambda image: out.append(np.array(image)), lambda: None)
        top = draw.renderer._captions_on_top()
        draw.renderer.close()
        return out, top

    with_captions, top = video(captioned, (cue,))
    without, _ = video(plain, ())
    for i, (a, b) in enumerate(zip(with_captions, without)):
        if cue.first <= i < cue.stop:
            changed = np.any(a != b, axis=2)
            assert changed.sum() > 100, i  # a box with text (at 160×120)
            rows = np.flatnonzero(changed.any(axis=1))
            half = a.shape[0] // 2
            # in the half of the frame away from the legend
            assert rows.max() < half if top else rows.min() > half, i
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"frame {i}")
    # a piece of the video drawn on its own (--jobs) has the same captions
    out = []
    piece = pipeline.FrameRanges(captioned, frames, cues=(cue,))
    piece(cue.first + 1, len(frames), lambda image: out.append(np.array(image)),
          lambda: None)  # fmt: skip
    piece.renderer.close()
    for i, image in enumerate(out, cue.first + 1):
        np.testing.assert_array_equal(image, with_captions[i], err_msg=f"frame {i}")
    # and so do the stills of those frames (--frame K)
    from optviz.draw.figure import stills

    which = [cue.first - 1, cue.first, cue.stop - 1, cue.stop]
    which = [k - captioned.timeline.intro_frames for k in which]
    shown = stills(captioned, which, frames=True)
    bare = stills(plain, which, frames=True)
    drawn = [bool(np.any(a != b)) for a, b in zip(shown, bare)]
    assert drawn == [False, True, True, False]


@pytest.mark.render
def test_a_player_shows_each_cue_from_its_start_to_its_end(tmp_path, mpv):
    """mpv picks up ``<stem>.vtt`` beside the video by itself, and shows a
    cue's text within its times and not before."""
    c = config(captions={"cues": [{"at": 15, "text": "overshoot", "seconds": 1}]})
    paths = pipeline.render(optviz.run(c), tmp_path)
    video = tmp_path / "test.mp4"
    assert video in paths
    count = int(mpv(video, "${track-list/count}"))
    subs = [
        mpv(video, f"${{track-list/{i}/external-filename}}")
        for i in range(count)
        if mpv(video, f"${{track-list/{i}/type}}") == "sub"
    ]
    assert [Path(p).name for p in subs] == ["test.vtt"]
    ((start, end, text),) = read_vtt(tmp_path / "test.vtt")
    assert mpv(video, "${sub-text}", start=(start + end) / 2) == text
    assert mpv(video, "${sub-text}", start=max(0.0, start - 0.25)) == ""


@pytest.mark.render
@pytest.mark.parametrize("drawn", [False, True])
def test_captions_draw_false_writes_the_vtt_but_draws_none(tmp_path, monkeypatch,
                                                         drawn):  # fmt: skip
    from optviz.draw.figure import Renderer

    def refuse(self, lines):
        raise AssertionError(f"drew {lines}")

    monkeypatch.setattr(Renderer, "caption", refuse)
    c = config(captions={"draw": drawn, "cues": [{"at": 15, "text": "overshoot"}]})
    result = optviz.run(c)
    if drawn:  # the test can fail: a drawn caption is seen
        with pytest.raises(AssertionError, match="drew"):
            pipeline.render(result, tmp_path)
        return
    paths = pipeline.render(result, tmp_path)
    assert [text for _, _, text in read_vtt(tmp_path / "test.vtt")] == ["overshoot"]
    assert (tmp_path / "test.vtt") in paths


@pytest.mark.render
@pytest.mark.parametrize("draw", [True, False])
def test_the_png_still_shows_the_captions_of_the_videos_last_frame(tmp_path, draw):
    from optviz.snapshot import load_png

    c = config(captions={"draw": draw, "cues": [
        {"at": 300, "text": "the end", "seconds": 60}]})  # fmt: skip
    result = optviz.run(c)
    (png,) = pipeline.render(result, tmp_path / "with", formats=["png"])
    plain = dataclasses.replace(result, config=dataclasses.replace(c, captions=None))
    (bare,) = pipeline.render(plain, tmp_path / "bare", formats=["png"])
    differ = bool(np.any(load_png(png) != load_png(bare)))
    assert differ is draw
    assert not (tmp_path / "with" / "test.vtt").exists()  # no video, no subtitles


@pytest.mark.render
def test_a_long_caption_is_wrapped_between_words_to_the_contours_width():
    from optviz.draw.figure import Renderer

    long = "a caption long enough to need two lines in a small frame " * 2
    result = optviz.run(config(captions=[{"at": 1, "text": long.strip()}]))
    renderer = Renderer(pipeline.scene(result))
    try:
        wrapped = renderer._wrapped(long.strip(), renderer.font_size * 1.1)
        rows = wrapped.split("\n")
        assert len(rows) >= 2 and " ".join(rows) == long.strip()
        room = renderer.axes.get_window_extent().width * 0.9
        probe = renderer.figure.text(0, 0, "", fontsize=renderer.font_size * 1.1)
        for row in rows:
            probe.set_text(row)
            width = probe.get_window_extent(renderer.canvas.get_renderer()).width
            assert width <= room, row
        probe.remove()
    finally:
        renderer.close()
