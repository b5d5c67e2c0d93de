import csv

import numpy as np
import pytest
from runs import run

from optviz.optim import runner
from optviz.optim.methods import METHODS
from optviz.output.trajectories_csv import COLUMNS, write_csv
from optviz.surfaces import SURFACES


def test_runs_to_the_cap_without_a_tolerance():
    (t,) = run("beale", [("gd", {"lr": 1e-4})], [(2, -2)], 500)
    assert t.status is runner.Status.MAX_ITER
    assert t.iterations == 500 and len(t.points) == 501
    assert t.stopped_at == 500


def test_stops_at_the_first_iteration_below_the_tolerance():
    tol = 1e-4
    (t,) = run("rosenbrock", [("adam", {"lr": 0.02})], [(-1.2, 1.0)], 20000, tol)
    assert t.status is runner.Status.CONVERGED
    assert t.grad_norm[-1] < tol
    assert np.all(t.grad_norm[:-1] >= tol)
    assert t.stopped_at == t.iterations < 20000


def test_each_start_gets_its_own_status():
    ts = run("beale", [("gd", {"lr": 0.01})], [(3.1, 0.5), (-4.0, 4.0)], 5000, 1e-4)
    assert [t.status for t in ts] == [runner.Status.CONVERGED, runner.Status.DIVERGED]


def test_divergence_is_a_status_and_keeps_only_finite_points():
    (t,) = run("beale", [("gd", {"lr": 0.01})], [(-3, 3)], 1000)
    assert t.status is runner.Status.DIVERGED
    # The first bad point is dropped: the run stopped at the one before it.
    assert t.stopped_at == t.iterations == len(t.points) - 1
    assert np.all(np.isfinite(t.points)) and np.all(np.isfinite(t.loss))
    lo, hi = runner.divergence_box(SURFACES["beale"].xlim, SURFACES["beale"].ylim)
    assert np.all((t.points >= lo) & (t.points <= hi))


def test_loop_ends_early_when_every_row_has_stopped():
    history = runner.step_all(
        SURFACES["beale"].grad,
        [METHODS["gd"].build({"lr": 1.0})],
        np.array([[-3.0, 3.0]]),
        100_000,
        stop=lambda theta: ~np.all(np.isfinite(theta), axis=-1),
    )
    assert len(history) < 1000


def test_loss_and_grad_norm_are_of_the_stored_points():
    (t,) = run("beale", [("nesterov", {"lr": 1e-5})], [(2, -2)], 50)
    beale = SURFACES["beale"]
    np.testing.assert_array_equal(t.loss, beale.f(t.points))
    np.testing.assert_array_equal(
        t.grad_norm, np.linalg.norm(beale.grad(t.points), axis=-1)
    )


def test_csv_round_trips_at_full_precision(tmp_path):
    ts = run(
        "beale",
        [("adam", {"lr": 0.22}), ("gd", {"lr": 1e-4})],
        [(2, -2), (-3, 3)],
        40,
    )
    path = write_csv(ts, tmp_path / "trajectories.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + sum(len(t.points) for t in ts)
    by_key = {(r[0], int(r[1]), int(r[2])): r for r in rows[1:]}
    for t in ts:
        for k in (0, 1, len(t.points) - 1):
            row = by_key[(t.label, t.start, k)]
            got = [float(v) for v in row[3:]]
            want = [*t.points[k], t.loss[k], t.grad_norm[k]]
            assert got == want  # exact: the text round-trips
    assert not list(tmp_path.glob(".*.part"))


def csv_module_text(trajectories) -> str:
    """The file as the csv module writes it, row by row: the reference."""
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for t in trajectories:
        for k in range(len(t.points)):
            x, y = t.points[k].tolist()
            writer.writerow((t.label, t.start, k, x, y, *t.loss[[k]].tolist(),
                             *t.grad_norm[[k]].tolist()))  # fmt: skip
    return out.getvalue()


def tricky(label: str, read_only: bool) -> runner.Trajectory:
    rng = np.random.default_rng(len(label))
    values = rng.standard_normal((50, 4)) * 10.0 ** rng.integers(-320, 300, (50, 4))
    values[:6, 0] = [0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324]
    values[:3, 3] = [1e16, 1e-5, 0.1 + 0.2]
    points, loss, norm = values[:, :2].copy(), values[:, 2].copy(), values[:, 3].copy()
    for a in (points, loss, norm):
        a.flags.writeable = not read_only
    return runner.Trajectory(label, 0, 1, points, loss, norm, runner.Status.MAX_ITER)


@pytest.mark.parametrize("read_only", [False, True], ids=["own", "shared"])
def test_the_csv_is_the_csv_module_s_text_to_the_byte(tmp_path, read_only):
    """Written in bulk (and, for rows shared between runs, formatted once),
    the file is what csv.writer makes of the same rows: quoting of awkward
    labels, the shortest repr of every float, nan and inf."""
    ts = [tricky(label, read_only) for label in ("gd", 'say "hi", then', "ε, β")]
    ts.append(runner.Trajectory("empty", 1, 0, np.empty((0, 2)), np.empty(0),
                              np.empty(0), runner.Status.DIVERGED))  # fmt: skip
    for name in ("first.csv", "again.csv"):  # the second from the shared text
        path = write_csv(ts, tmp_path / name)
        assert path.read_text() == csv_module_text(ts)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    got = np.array([[float(v) for v in row[3:]] for row in rows])
    want = np.concatenate([np.column_stack([t.points, t.loss, t.grad_norm])
                           for t in ts])  # fmt: skip
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))  # -0.0 stays -0.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_start_diverges_at_once(bad):
    (t,) = run("beale", [("gd", {"lr": 1e-4})], [(bad, 0.0)], 10)
    assert t.status is runner.Status.DIVERGED and t.stopped_at == 0
