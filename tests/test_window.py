"""Paths that leave the view: the summary says so, and ``view: auto`` fits
the view to them (bounded, so that a run that goes far away does not shrink
the surface to a dot)."""

import numpy as np
import pytest
import yaml

from optviz import api
from optviz.cli import main
from optviz.config import parse
from optviz.draw.figure import Renderer
from optviz.optim import window
from optviz.optim.runner import Status

# On the cliff, gd at ε = 0.5 is flung off the right edge (x = 6) at
# iteration 12 and comes back into the basin; at ε = 0.05 it stays in view.
CLIFF = {
    "surface": "cliff",
    "starts": [[-3.5, 1.5]],
    "iterations": 100,
}
FLUNG = {"label": "flung", "method": "gd", "lr": 0.5}
STAYS = {"label": "stays", "method": "gd", "lr": 0.05}


def config(optimizers, **changes):
    return parse({**CLIFF, "optimizers": optimizers, **changes})


def write(tmp_path, optimizers, **changes):
    path = tmp_path / "cliff.yaml"
    data = {**CLIFF, "optimizers": optimizers, **changes}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def run_cli(capsys, tmp_path, optimizers, **changes):
    path = write(tmp_path, optimizers, **changes)
    code = main(["run", str(path), "--no-video", "-o", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def drawn_points(renderer):
    """Every point of every line on the contour view, as drawn."""
    view = renderer.views[0]
    return [np.column_stack(line.get_data()) for line in view.lines]


# --- the warning ------------------------------------------------------------


def test_the_summary_warns_of_a_path_that_leaves_the_view(capsys, tmp_path):
    out = run_cli(capsys, tmp_path, [FLUNG, STAYS])
    assert (
        "warning: flung from (-3.5, 1.5) leaves the view at iteration 12 and "
        "comes back\n"
    ) in out
    assert "stays from" not in out
    assert "view: auto fits the view to the paths" in out


def test_no_warning_when_every_path_stays_in_view(capsys, tmp_path):
    out = run_cli(capsys, tmp_path, [STAYS])
    assert "warning:" not in out and "view: auto" not in out


def test_the_warning_is_on_the_numbers_the_video_shows():
    result = api.run(config([FLUNG, STAYS]))
    flung, stays = api.summary_rows(result)
    # iteration 12 is the first point past x = 6, the one before is not
    points = result.trajectories[0].points
    assert points[11, 0] <= 6 < points[12, 0]
    assert (flung.left_view, flung.ends_in_view) == (12, True)
    assert (stays.left_view, stays.ends_in_view) == (None, True)
    assert api.view_warnings(result)[0].startswith("warning: flung from (-3.5, 1.5)")


def test_a_path_that_ends_outside_says_so():
    # a window that the run's end (the minimum at (1.5, 0)) lies outside of
    result = api.run(config([FLUNG], view={"x": [-4, 1]}))
    (row,) = api.summary_rows(result)
    assert row.left_view is not None and not row.ends_in_view
    assert api.view_warnings(result)[0].endswith(
        f"leaves the view at iteration {row.left_view} and ends outside it"
    )


# --- view: auto -------------------------------------------------------------


@pytest.mark.render
def test_view_auto_contains_every_drawn_point():
    result = api.run(config([FLUNG, STAYS], view="auto"))
    assert api.view_warnings(result) == []
    renderer = Renderer(api.scene(result))
    try:
        (x0, x1), (y0, y1) = renderer.axes.get_xlim(), renderer.axes.get_ylim()
        assert (x0, x1, y0, y1) == (*result.xlim, *result.ylim)
        lines = drawn_points(renderer)
        assert [len(xy) for xy in lines] == [101, 101]  # the whole paths
        for xy in lines:
            assert np.all((xy[:, 0] >= x0) & (xy[:, 0] <= x1))
            assert np.all((xy[:, 1] >= y0) & (xy[:, 1] <= y1))
    finally:
        renderer.close()
    # the furthest point is not on the frame's edge
    far = result.trajectories[0].points[:, 0].max()
    assert far > 6 and x1 - far == pytest.approx(window.MARGIN * 10)


def test_view_auto_keeps_the_surfaces_window():
    # nothing leaves the window: auto changes nothing
    result = api.run(config([STAYS], view="auto"))
    assert (result.xlim, result.ylim) == (result.config.xlim, result.config.ylim)
    # a path that leaves only to the right widens only the right side
    result = api.run(config([FLUNG], view="auto"))
    assert result.xlim[0] == -4 and result.xlim[1] > 6
    assert result.ylim == (-3, 3)


@pytest.mark.render
def test_view_auto_is_bounded_when_a_run_diverges():
    # Newton with a small damping on x² − y² is thrown to y ≈ 1e5 and on:
    # the fit stops FIT_SPANS window spans past each edge, and warns
    data = {
        "surface": "saddle",
        "starts": [[-1.5, 0.3]],
        "iterations": 40,
        "view": "auto",
        "optimizers": [{"label": "damped", "method": "newton", "damping": 3}],
    }
    result = api.run(parse(data))
    (t,) = result.trajectories
    assert t.status is Status.DIVERGED
    (wx0, wx1), (wy0, wy1) = result.config.xlim, result.config.ylim
    width, height = wx1 - wx0, wy1 - wy0
    most = 1 + 2 * window.FIT_SPANS
    assert result.xlim[1] - result.xlim[0] <= most * width
    assert result.ylim[1] - result.ylim[0] <= most * height
    assert result.ylim[1] > wy1  # it did widen towards the path
    assert api.view_warnings(result)[0].endswith("and diverges")
    assert "window spans past its edges" in api.view_warnings(result)[-1]
    # every point drawn before the line's last one (the one that runs it to
    # the frame's edge) is in view
    renderer = Renderer(api.scene(result))
    try:
        (xy,) = drawn_points(renderer)
        inside = ~window.outside(xy[:-1], result.xlim, result.ylim)
        assert inside.all() and len(xy) >= 2
    finally:
        renderer.close()


def test_the_run_is_the_same_with_view_auto():
    # the divergence box is the surface's window's, whatever the view
    plain = api.run(config([FLUNG, STAYS]))
    fitted = api.run(config([FLUNG, STAYS], view="auto"))
    for a, b in zip(plain.trajectories, fitted.trajectories):
        assert np.array_equal(a.points, b.points) and a.status == b.status
