"""Newton, BFGS, L-BFGS and CG against their formulas and the lecture's claims."""

import numpy as np
import pytest
from runs import run

from optviz import api, surfaces
from optviz.config import parse
from optviz.optim import runner, second_order

BOWL = {"formula": "x^2 + 3*y^2", "domain": {"x": [-3, 3], "y": [-3, 3]}}


def bowl():
    return parse({"surface": BOWL, "starts": [[1, -2]],
                  "optimizers": [{"method": "gd", "lr": 0.1}]}).surface  # fmt: skip


def test_first_steps_by_hand_on_a_bowl():
    # f = x² + 3y² from (1, −2): g = (2, −12), H = diag(2, 6).
    # Newton: (1, −2) − H⁻¹g = (0, 0), the minimum, in one step.
    # BFGS and CG start along −g with α = 1, ½, ¼: f(−1, 10) = 301 and
    # f(0, 4) = 48 fail Armijo against f = 13; f(0.5, 1) = 3.25 passes.
    ts = run(bowl(), [("newton", {}), ("bfgs", {}), ("cg", {})], [(1, -2)], 1)
    np.testing.assert_allclose(ts[0].points[1], (0, 0), atol=1e-15)
    np.testing.assert_allclose(ts[1].points[1], (0.5, 1.0))
    np.testing.assert_allclose(ts[2].points[1], (0.5, 1.0))


def test_newton_reaches_a_quadratics_minimum_in_one_step():
    q = surfaces.get("quadratic", condition=50.0)
    (t,) = run(q, [("newton", {})], [(-2.5, 2)], 3)
    np.testing.assert_allclose(t.points[1], (0, 0), atol=1e-12)


def test_heavy_damping_turns_newton_into_gd_with_lr_one_over_alpha():
    alpha = 1e6
    newton, gd = run(
        "beale",
        [("newton", {"damping": alpha}), ("gd", {"lr": 1 / alpha})],
        [(2, -2)],
        5,
    )
    np.testing.assert_allclose(newton.points, gd.points, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("start", [(2, -2), (-3, 3)], ids=["opt1", "opt2"])
def test_plain_newton_on_beale_goes_to_the_saddle(start):
    plain, damped = run(
        "beale", [("newton", {}), ("newton", {"damping": 1.0})], [start], 100
    )
    np.testing.assert_allclose(plain.points[-1], (0, 1), atol=1e-8)
    # the saddle is a critical point, not a minimum: f there is 14.2
    assert plain.loss[-1] == pytest.approx(14.203125)
    assert np.linalg.norm(damped.points[-1] - (0, 1)) > 1  # damping avoids it


def test_a_singular_hessian_is_a_status_not_a_crash():
    flat = parse({"surface": {"formula": "x^2 + y", "domain": {
        "x": [-3, 3], "y": [-3, 3]}}, "starts": [[1, 1]],
        "optimizers": [{"method": "gd", "lr": 0.1}]}).surface  # fmt: skip
    (t,) = run(flat, [("newton", {})], [(1, 1), (2, 0)], 10)[:1]
    assert t.status is runner.Status.SINGULAR
    # No update could be made from θ_0: it stopped there.
    assert t.stopped_at == 0 and len(t.points) == 1


def test_a_line_search_on_an_ascent_direction_fails_and_says_so():
    p = surfaces.get("beale")
    problem = second_order.Problem(p.f, p.grad, p.hessian)
    theta = np.array([[2.0, -2.0]])
    g = p.grad(theta)
    code = np.zeros(1, dtype=np.int8)
    new, _, moving, code = second_order._line_step(
        problem, theta, p.f(theta), g, g, code
    )
    assert code[0] == second_order.LINE_SEARCH and not moving[0]
    np.testing.assert_array_equal(new, theta)


def test_bfgs_update_keeps_the_secant_condition():
    rng = np.random.default_rng(0)
    h = np.broadcast_to(np.eye(2), (50, 2, 2)).copy()
    for _ in range(5):
        s, y = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
        h, accepted = second_order.bfgs_update(h, s, y)
        assert np.array_equal(accepted, np.sum(s * y, axis=1) > 0)
        ok = accepted
        np.testing.assert_allclose(
            np.einsum("rij,rj->ri", h[ok], y[ok]), s[ok], rtol=1e-9, atol=1e-9
        )
        assert np.all(np.linalg.eigvalsh(h) > 0)  # stays positive definite


def test_lbfgs_with_enough_memory_takes_the_same_steps_as_bfgs():
    bfgs, lbfgs = run(
        "rosenbrock", [("bfgs", {}), ("lbfgs", {"memory": 60})], [(-1.2, 1)], 50
    )
    np.testing.assert_allclose(lbfgs.points, bfgs.points, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    ("surface", "start", "minimum"),
    [("beale", (-3, 3), (3, 0.5)), ("rosenbrock", (-1.2, 1), (1, 1))],
    ids=["beale", "rosenbrock"],
)
@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
def test_quasi_newton_reaches_the_minimum_in_under_100_iterations(
    surface, start, minimum, method
):
    (t,) = run(surface, [(method, {})], [start], 100)
    reached = t.first_within(minimum, 1e-6)
    assert reached is not None and reached < 100


def test_cg_decreases_f_at_every_step_and_fletcher_reeves_reaches_rosenbrock():
    pr, fr = run(
        "rosenbrock", [("cg", {}), ("cg", {"variant": "fr"})], [(-1.2, 1)], 300
    )
    for t in (pr, fr):
        assert np.all(np.diff(t.loss) <= 1e-12)
    assert fr.first_within((1, 1), 1e-6) is not None


def test_second_order_methods_take_noise_clipping_and_minibatches():
    def config(**extra):
        return parse({"surface": "least_squares", "starts": [[-0.5, 1.5]],
                      "iterations": 30, "seed": 4,
                      "optimizers": [{"method": "bfgs", **extra}]})  # fmt: skip

    exact = api.run(config()).trajectories[0]
    mini = api.run(config(batch_size=5)).trajectories[0]
    again = api.run(config(batch_size=5)).trajectories[0]
    noisy = api.run(config(noise=0.5)).trajectories[0]
    np.testing.assert_array_equal(mini.points, again.points)  # seeded
    w, b = exact.points[-1]
    assert exact.first_within((w, b), 1e-9) < 10  # a quadratic: a few steps
    # the minibatch gradient need not point downhill on the full-batch f, so
    # BFGS's line search may give up: the lecture's "quasi-Newton methods
    # usually require a full batch", as a status
    assert mini.status in (runner.Status.MAX_ITER, runner.Status.LINE_SEARCH)
    assert not np.allclose(mini.points[1], exact.points[1])
    assert not np.allclose(noisy.points[1], exact.points[1])
    clipped = api.run(
        parse(
            {
                "surface": "rosenbrock",
                "starts": [[-1.2, 1]],
                "iterations": 20,
                "optimizers": [{"method": "newton", "clip_norm": 1.0}],
            }
        )
    ).trajectories[0]
    # Newton's step is H⁻¹g: with g clipped to norm 1 it is at most |H⁻¹|
    plain = run("rosenbrock", [("newton", {})], [(-1.2, 1)], 20)[0]
    assert not np.allclose(clipped.points[:3], plain.points[:3])


def test_clipping_bounds_every_step_on_the_cliff():
    c = parse({
        "surface": "cliff", "starts": [[-3.5, 1.5]], "iterations": 200,
        "optimizers": [{"label": "raw", "method": "gd", "lr": 0.5},
                       {"label": "clipped", "method": "gd", "lr": 0.5,
                        "clip_norm": 1}],
    })  # fmt: skip
    raw, clipped = api.run(c).trajectories
    assert np.linalg.norm(np.diff(raw.points, axis=0), axis=1).max() > 5
    assert np.linalg.norm(np.diff(clipped.points, axis=0), axis=1).max() <= 0.5 + 1e-12


def test_gradient_noise_is_seeded():
    def noisy(seed, sigma=0.5):
        return parse({"surface": "beale", "starts": [[2, -2]], "iterations": 50,
                      "seed": seed, "optimizers": [
                          {"method": "gd", "lr": 1e-3, "noise": sigma}]})  # fmt: skip

    a, b, c = (api.run(noisy(s)).trajectories[0].points for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    quiet = api.run(noisy(1, 0.0)).trajectories[0].points
    plain = run("beale", [("gd", {"lr": 1e-3})], [(2, -2)], 50)[0].points
    np.testing.assert_array_equal(quiet, plain)


@pytest.mark.render
def test_the_legend_says_why_a_second_order_run_stopped():
    from scenes import renderer

    from optviz.config import Animation

    flat = parse({"surface": {"formula": "x^2 + y", "domain": {
        "x": [-3, 3], "y": [-3, 3]}}, "starts": [[1, 1]],
        "optimizers": [{"method": "gd", "lr": 0.1}]}).surface  # fmt: skip
    ts = run(flat, [("newton", {}), ("gd", {"lr": 0.1})], [(1, 1)], 10)
    r = renderer(flat, ts, ["newton", "gd"], xlim=(-3, 3), ylim=(-3, 3),
                 animation=Animation(size=(300, 200), dpi=40))  # fmt: skip
    try:
        names = [t.get_text() for t in r.legend.get_texts()]
    finally:
        r.close()
    assert names[0] == "newton ✗ singular Hessian at 0"
    assert names[1] == "gd"  # ran to the cap: no badge
