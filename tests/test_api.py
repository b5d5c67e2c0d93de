"""api.run_all: the rows that several configs share are computed once, and
every config's numbers are the ones it gets when it runs alone."""

from pathlib import Path

import pytest

from optviz import api, pipeline
from optviz.optim import runner
from optviz.output import trajectories_csv as export

ROOT = Path(__file__).resolve().parent.parent
LECTURE = sorted((ROOT / "configs" / "lecture").glob("1gd*.yaml"))
CONFIGS = [
    *(LECTURE[i] for i in (0, 1, 5, 6)),  # 1, 2, 6 and 5 of the optimizers
    *(
        ROOT / "configs" / "examples" / f"{name}.yaml"
        for name in ("second_order_race", "cliff_jump", "lr_decay", "custom_formula")
    ),
]


@pytest.fixture
def fresh(monkeypatch):
    """No rows from other tests; runner.trajectories' calls counted."""
    pipeline._ROWS.clear()
    calls = []
    real = runner.trajectories

    def counted(*args, **kwargs):
        calls.append(len(args[2]))  # the optimizers in the batch
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "trajectories", counted)
    yield calls
    pipeline._ROWS.clear()


def alone(config) -> list[runner.Trajectory]:
    """What one config computes when it shares nothing: a batch of its own."""
    return pipeline._run_alone(config)


def same(a: runner.Trajectory, b: runner.Trajectory) -> bool:
    """The same row to the bit: numbers, status and where it is in its config."""
    return (
        (a.label, a.optimizer, a.start, a.status, a.stopped_at)
        == (b.label, b.optimizer, b.start, b.status, b.stopped_at)
        and all(
            x.dtype == y.dtype and x.tobytes() == y.tobytes()
            for x, y in ((a.points, b.points), (a.loss, b.loss),
                         (a.grad_norm, b.grad_norm))
        )
    )  # fmt: skip


def test_shared_rows_give_each_config_the_numbers_it_gets_alone(tmp_path, fresh):
    configs = [api.load_config(path) for path in CONFIGS]
    together = api.run_all(configs)
    for config, result in zip(configs, together):
        mine = alone(config)
        assert len(mine) == len(result.trajectories)
        assert all(same(a, b) for a, b in zip(mine, result.trajectories)), config.stem
        if config.stem in ("1gd_gd+p_gd+np_adagrad_rmsprop+p_adam", "cliff_jump"):
            a = export.write_csv(mine, tmp_path / f"{config.stem}-alone.csv")
            b = export.write_csv(result.trajectories, tmp_path / f"{config.stem}.csv")
            assert a.read_bytes() == b.read_bytes(), config.stem


def test_the_lecture_configs_of_one_start_are_one_batch(fresh):
    """Seven configs, seven distinct optimizers from (2, −2): one loop over the
    iterations, not seven, and a second run_all computes nothing."""
    configs = [api.load_config(path) for path in LECTURE]
    api.run_all(configs)
    assert fresh == [7]
    again = api.run_all(configs)
    assert fresh == [7]
    assert [len(r.trajectories) for r in again] == [len(c.optimizers) for c in configs]


def test_the_fourteen_lecture_configs_are_one_batch(fresh):
    """Two starts, the same seven optimizers: one loop for all fourteen."""
    configs = [api.load_config(p) for p in sorted(LECTURE[0].parent.glob("*.yaml"))]
    results = api.run_all(configs)
    assert len(configs) == 14 and fresh == [7]
    for config, result in zip(configs[:: len(configs) - 1], results[::13]):
        assert all(same(a, b) for a, b in zip(alone(config), result.trajectories))


def test_a_row_too_big_to_keep_is_still_returned(fresh, monkeypatch):
    monkeypatch.setattr(pipeline, "_MAX_POINTS", 10)
    (result,) = api.run_all([api.load_config(LECTURE[1])])
    assert [t.label for t in result.trajectories] == ["gd", "gd+p"]
    assert pipeline._ROWS == {}


def test_a_config_with_noise_runs_on_its_own(fresh):
    """Its random draws depend on the rest of its batch: nothing is shared."""
    (lr_decay,) = (api.load_config(p) for p in CONFIGS if p.stem == "lr_decay")
    api.run_all([lr_decay, lr_decay])
    assert fresh == [2, 2]


def test_shared_rows_cannot_be_changed_through_one_result(fresh):
    first, second = api.run_all([api.load_config(p) for p in LECTURE[:2]])
    with pytest.raises(ValueError, match="read-only"):
        first.trajectories[0].points[0] = 0.0
    assert first.trajectories[0].points is second.trajectories[0].points
