"""api.run_all: the rows that several configs share are computed once, and
every config's numbers are the ones it gets when it runs alone."""

from pathlib import Path

import pytest

from optviz import api, core, export

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [
    *sorted((ROOT / "configs" / "lecture").glob("1gd*.yaml")),
    *(
        ROOT / "configs" / "examples" / f"{name}.yaml"
        for name in ("second_order_race", "cliff_jump", "lr_decay", "custom_formula")
    ),
]


@pytest.fixture
def fresh(monkeypatch):
    """No rows from other tests; core.trajectories' calls counted."""
    api._ROWS.clear()
    calls = []
    real = core.trajectories

    def counted(*args, **kwargs):
        calls.append(len(args[2]))  # the optimizers in the batch
        return real(*args, **kwargs)

    monkeypatch.setattr(core, "trajectories", counted)
    yield calls
    api._ROWS.clear()


def alone(config) -> list[core.Trajectory]:
    """What one config computes when it shares nothing: a batch of its own."""
    return api._run_alone(config)


def test_shared_rows_give_each_config_the_same_csv_to_the_byte(tmp_path, fresh):
    configs = [api.load_config(path) for path in CONFIGS]
    together = api.run_all(configs)
    for config, result in zip(configs, together):
        a = export.write_csv(alone(config), tmp_path / f"{config.stem}-alone.csv")
        b = export.write_csv(result.trajectories, tmp_path / f"{config.stem}.csv")
        assert a.read_bytes() == b.read_bytes(), config.stem
        assert [t.label for t in result.trajectories] == [
            t.label for t in alone(config)
        ]


def test_the_lecture_configs_of_one_start_are_one_batch(fresh):
    """Seven configs, seven distinct optimizers from (2, −2): one loop over the
    iterations, not seven, and a second run_all computes nothing."""
    configs = [api.load_config(path) for path in CONFIGS[:7]]
    api.run_all(configs)
    assert fresh == [7]
    again = api.run_all(configs)
    assert fresh == [7]
    assert [len(r.trajectories) for r in again] == [len(c.optimizers) for c in configs]


def test_a_config_with_noise_runs_on_its_own(fresh):
    """Its random draws depend on the rest of its batch: nothing is shared."""
    (lr_decay,) = (api.load_config(p) for p in CONFIGS if p.stem == "lr_decay")
    api.run_all([lr_decay, lr_decay])
    assert fresh == [2, 2]


def test_shared_rows_cannot_be_changed_through_one_result(fresh):
    first, second = api.run_all([api.load_config(p) for p in CONFIGS[1:3]])
    with pytest.raises(ValueError, match="read-only"):
        first.trajectories[0].points[0] = 0.0
    assert first.trajectories[0].points is second.trajectories[0].points
