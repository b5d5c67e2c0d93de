import numpy as np
import pytest

from optviz import api, surfaces
from optviz.config import parse
from optviz.errors import ConfigError
from optviz.surfaces import minibatch


def test_the_full_batch_surface_is_the_mean_squared_error_over_the_examples():
    s = surfaces.get("least_squares", examples=50, seed=4)
    u, v = s.examples.u, s.examples.v
    p = np.random.default_rng(1).normal(size=(7, 2)) * 3
    loss = np.mean((p[:, :1] * u + p[:, 1:] - v) ** 2, axis=1) / 2
    np.testing.assert_allclose(s.f(p), loss, rtol=1e-12)
    everything = np.tile(np.arange(50), (7, 1))
    weights = np.full((7, 50), 1 / 50)
    np.testing.assert_allclose(
        minibatch.gradient(s.examples, p, everything, weights), s.grad(p), atol=1e-12
    )
    w, b = s.minima[0].point
    np.testing.assert_allclose(np.polyfit(u, v, 1), [w, b])


def test_a_minibatch_gradient_is_the_mean_over_its_examples():
    data = minibatch.generate(20, 1.0, 0.0, 1.0, 0)
    p = np.array([[0.3, -0.2]])
    index = np.array([[3, 7, 11, 0]])
    weight = np.array([[1 / 3, 1 / 3, 1 / 3, 0.0]])  # padding has weight 0
    r = 0.3 * data.u[[3, 7, 11]] - 0.2 - data.v[[3, 7, 11]]
    expected = [np.mean(r * data.u[[3, 7, 11]]), np.mean(r)]
    np.testing.assert_allclose(minibatch.gradient(data, p, index, weight)[0], expected)


def test_each_epoch_is_a_fresh_shuffle_without_repeats():
    sampler = minibatch.Sampler(m=10, batch_sizes=[3, 1], seed=7)
    index, weight = sampler.take(6)  # 2 epochs of 3 batches for the first row
    first = index[:, 0, :3]
    for epoch in (first[:3], first[3:]):
        seen = epoch.ravel()
        assert len(set(seen.tolist())) == 9  # 9 of 10: the incomplete batch drops
    assert not np.array_equal(first[:3], first[3:])
    assert np.all(weight[:, 0, :3] == 1 / 3) and np.all(weight[:, 1, 1:] == 0)
    again, _ = minibatch.Sampler(m=10, batch_sizes=[3, 1], seed=7).take(6)
    np.testing.assert_array_equal(index, again)  # seeded


def config(**changes):
    data = {
        "surface": "least_squares",
        "starts": [[-0.5, 1.5]],
        "iterations": 200,
        "optimizers": [
            {"label": "batch", "method": "gd", "lr": 0.1},
            {"label": "mini", "method": "gd", "lr": 0.1, "batch_size": 10},
            {"label": "one", "method": "momentum", "lr": 0.05, "batch_size": 1},
        ],
    }
    data.update(changes)
    return parse(data, source="cfg.yaml")


def paths(result):
    return {t.label: t.points for t in result.trajectories}


def test_minibatch_runs_are_noisy_seeded_and_reach_the_minimum():
    first, again = api.run(config()), api.run(config())
    other = api.run(config(seed=1))
    for label in ("mini", "one"):
        np.testing.assert_array_equal(paths(first)[label], paths(again)[label])
        assert not np.array_equal(paths(first)[label], paths(other)[label])
    np.testing.assert_array_equal(paths(first)["batch"], paths(other)["batch"])
    w, b = first.surface.minima[0].point
    for t in first.trajectories:
        assert t.first_within((w, b), 0.2) is not None, t.label
    # the full batch moves smoothly: each step along the previous one's side
    batch, one = paths(first)["batch"], paths(first)["one"]
    assert np.std(np.diff(one[50:], axis=0)) > 3 * np.std(np.diff(batch[50:], axis=0))


def test_a_batch_of_all_examples_is_the_full_batch():
    c = config(
        optimizers=[
            {"label": "batch", "method": "gd", "lr": 0.1},
            {"label": "all", "method": "gd", "lr": 0.1, "batch_size": 100},
        ]
    )
    p = paths(api.run(c))
    np.testing.assert_allclose(p["all"], p["batch"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("changes", "key_path", "fragment"),
    [
        ({"surface": "beale"}, "optimizers[1].batch_size", "needs a data surface"),
        (
            {"optimizers": [{"method": "gd", "lr": 0.1, "batch_size": 101}]},
            "optimizers[0].batch_size",
            "between 1 and 100",
        ),
        ({"seed": -1}, "seed", "between 0 and"),
        (
            {"surface": {"name": "least_squares", "examples": 1}},
            "surface.examples",
            "between 2 and 100000",
        ),
        (
            {"surface": {"name": "least_squares", "nosie": 1}},
            "surface.nosie",
            "did you mean 'noise'",
        ),
    ],
    ids=["not-data", "too-big", "seed", "examples", "typo"],
)
def test_bad_minibatch_settings(changes, key_path, fragment):
    with pytest.raises(ConfigError) as e:
        config(**changes)
    assert str(e.value).startswith(f"cfg.yaml: {key_path}: ")
    assert fragment in str(e.value)


def test_noise_and_clipping_apply_to_minibatch_gradients_too():
    base = {"label": "mini", "method": "gd", "lr": 0.1, "batch_size": 10}
    plain = api.run(config(optimizers=[base])).trajectories[0].points
    clipped = api.run(config(optimizers=[{**base, "clip_norm": 0.01}]))
    steps = np.linalg.norm(np.diff(clipped.trajectories[0].points, axis=0), axis=1)
    assert steps.max() <= 0.1 * 0.01 + 1e-12
    noisy = api.run(config(optimizers=[{**base, "noise": 1.0}]))
    assert not np.allclose(noisy.trajectories[0].points[1], plain[1])
