"""Optimizer internals at the heads: kept by the run only when asked, equal to
the lecture's update rules, drawn where and how long the legend says, and
refused with one clear message where a method has no such thing."""

import dataclasses
import textwrap

import numpy as np
import pytest

import optviz
from optviz import pipeline
from optviz.cli import main
from optviz.config import load
from optviz.draw.figure import Renderer
from optviz.draw.internals import round_down, scales
from optviz.errors import ConfigError
from optviz.optim import methods, runner
from optviz.surfaces import SURFACES

QUADRATIC = SURFACES["quadratic"]
START = np.array([[-2.8, -0.3]])
ALL = frozenset({"gradient", "velocity", "step", "lookahead", "scaling"})


def rows(specs, iterations=30, internals=(), surface=QUADRATIC, starts=START):
    rules = [methods.METHODS[name].build(hp) for name, hp in specs]
    return runner.trajectories(
        surface.f, surface.grad, rules, [name for name, _ in specs], starts,
        iterations, 0.0, runner.divergence_box(surface.xlim, surface.ylim),
        internals=internals,
    )  # fmt: skip


LECTURE = [
    ("gd", {"lr": 0.03}),
    ("momentum", {"lr": 0.01, "momentum": 0.9}),
    ("nesterov", {"lr": 0.01, "momentum": 0.9}),
    ("adagrad", {"lr": 0.5}),
    ("rmsprop", {"lr": 0.05, "momentum": 0.5, "nesterov": True}),
    ("adam", {"lr": 0.1}),
]


# -- the run --------------------------------------------------------------


def test_a_run_without_internals_keeps_none():
    assert all(t.internals is None for t in rows(LECTURE))


def test_keeping_internals_leaves_every_point_as_it_was():
    asked = [methods.internal_kinds(methods.METHODS[n].build(h)) for n, h in LECTURE]
    plain, kept = rows(LECTURE), rows(LECTURE, internals=asked)
    for a, b in zip(plain, kept):
        assert np.array_equal(a.points, b.points)
        assert set(b.internals.kinds) == asked[a.optimizer]


@pytest.mark.parametrize(
    ("name", "hp", "kinds"),
    [
        ("gd", {"lr": 0.1}, {"gradient", "step"}),
        ("momentum", {"lr": 0.1, "momentum": 0.9}, {"gradient", "step", "velocity"}),
        ("nesterov", {"lr": 0.1}, {"gradient", "step", "velocity", "lookahead"}),
        ("adagrad", {"lr": 0.1}, {"gradient", "step", "scaling"}),
        ("rmsprop", {"lr": 0.1}, {"gradient", "step", "scaling"}),
        ("rmsprop", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, ALL),
        ("adam", {"lr": 0.1}, {"gradient", "step", "scaling"}),
        ("newton", {}, {"gradient", "step"}),
        ("lion", {"lr": 0.1}, {"gradient", "step"}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_what_each_method_can_show(name, hp, kinds):
    assert methods.internal_kinds(methods.METHODS[name].build(hp)) == kinds


def test_the_gradient_and_the_step_are_those_of_the_path():
    (t,) = rows([("gd", {"lr": 0.03})], internals=[{"gradient", "step"}])
    i = t.internals
    np.testing.assert_array_equal(i.gradient, QUADRATIC.grad(t.points))
    np.testing.assert_array_equal(i.step[:-1], np.diff(t.points, axis=0))
    assert np.all(np.isnan(i.step[-1]))  # no step after the last point
    # gradient descent: its step is −ε∇f, the −∇f arrow × ε
    np.testing.assert_allclose(i.step[:-1], -0.03 * i.gradient[:-1], atol=1e-15)


def test_nesterovs_velocity_and_look_ahead_follow_the_lecture():
    """v ← αv − ε∇f(θ + αv); θ ← θ + v, written out on its own here."""
    (t,) = rows(
        [("nesterov", {"lr": 0.01, "momentum": 0.9})],
        internals=[{"velocity", "lookahead"}],
    )
    theta, v = START[0].copy(), np.zeros(2)
    for k in range(len(t.points) - 1):
        ahead = theta + 0.9 * v
        np.testing.assert_allclose(t.internals.velocity[k], v, atol=1e-12)
        np.testing.assert_allclose(t.internals.lookahead[k], ahead, atol=1e-12)
        np.testing.assert_allclose(
            t.internals.lookahead_gradient[k], QUADRATIC.grad(ahead), atol=1e-9
        )
        v = 0.9 * v - 0.01 * QUADRATIC.grad(ahead)
        theta = theta + v


@pytest.mark.parametrize(
    ("name", "hp", "decay", "gain"),
    [
        ("adagrad", {"lr": 0.5, "eps": 1e-7}, 1.0, 1.0),
        ("rmsprop", {"lr": 0.05, "beta": 0.9, "eps": 1e-7}, 0.9, 0.1),
    ],
)
def test_the_scaling_is_that_of_the_step_it_takes(name, hp, decay, gain):
    """At point k: ε/√(a + ν) with a including the gradient at θ_k, and
    the step is −that ⊙ ∇f(θ_k)."""
    (t,) = rows([(name, hp)], internals=[{"scaling", "step", "gradient"}])
    a = np.zeros(2)
    for k in range(len(t.points) - 1):
        g = QUADRATIC.grad(t.points[k])
        a = decay * a + gain * g * g
        factor = hp["lr"] / np.sqrt(a + hp["eps"])
        np.testing.assert_allclose(t.internals.scaling[k], factor, rtol=1e-12)
        np.testing.assert_allclose(t.internals.step[k], -factor * g, atol=1e-12)
    assert np.all(np.isnan(t.internals.scaling[-1]))


def test_adams_scaling_carries_its_bias_corrections():
    hp = {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}
    (t,) = rows([("adam", hp)], internals=[{"scaling"}])
    a = np.zeros(2)
    for k in range(5):
        g = QUADRATIC.grad(t.points[k])
        a = 0.999 * a + 0.001 * g * g
        step = k + 1
        want = 0.1 / (1 - 0.9**step) / np.sqrt(a / (1 - 0.999**step) + 1e-7)
        np.testing.assert_allclose(t.internals.scaling[k], want, rtol=1e-9)


def test_a_kind_the_method_has_not_is_refused_by_the_run():
    with pytest.raises(ValueError, match="has no velocity"):
        rows([("gd", {"lr": 0.1})], internals=[{"velocity"}])


# -- the scales ----------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "want"), [(1.0, 1.0), (0.99, 0.5), (3.0, 2.0), (7.0, 5.0), (0.0123, 0.01)]
)
def test_round_down(x, want):
    assert round_down(x) == pytest.approx(want)


def test_given_scales_win_and_the_rest_are_round_numbers():
    from optviz.draw.scene import InternalScales

    ts = rows(
        [("momentum", {"lr": 0.02, "momentum": 0.6})],
        internals=[{"gradient", "velocity", "step"}],
    )
    auto = scales(ts, QUADRATIC.xlim, QUADRATIC.ylim)
    for s in (auto.gradient, auto.displacement):
        mantissa = s / 10 ** np.floor(np.log10(s))
        assert round(mantissa, 9) in (1, 2, 5)
    given = scales(ts, QUADRATIC.xlim, QUADRATIC.ylim, InternalScales(0.3, 7.0))
    assert (given.gradient, given.displacement) == (0.3, 7.0)


@pytest.mark.parametrize("lr", [0.02, 0.002, 0.0002])
def test_an_automatic_scale_draws_the_90th_percentile_at_most_15_percent(lr):
    ts = rows(
        [("momentum", {"lr": lr, "momentum": 0.6})],
        internals=[{"gradient", "velocity", "step"}],
    )
    span = 6.0  # the quadratic's view, [-3, 3]²
    s = scales(ts, QUADRATIC.xlim, QUADRATIC.ylim)
    i = ts[0].internals

    def q90(*arrays):
        lengths = np.concatenate([np.hypot(*a.T) for a in arrays])
        return np.quantile(lengths[np.isfinite(lengths)], 0.9)

    drawn = q90(i.gradient) * s.gradient
    assert 0.15 * span / 2.5 < drawn <= 0.15 * span  # the largest round number
    moves = q90(i.velocity, i.step)
    if 0.03 * span <= moves <= 0.15 * span:
        assert s.displacement == 1
    else:
        assert s.displacement != 1
        assert 0.15 * span / 2.5 < moves * s.displacement <= 0.15 * span
    if lr == 0.02:
        assert s.displacement == 1  # the true steps, visible
    if lr == 0.0002:
        assert s.displacement > 1  # too small to see at their true size


def test_momentums_step_is_alpha_v_plus_the_gradient_arrow_tip_to_tail():
    """With the −∇f scale ε times the step's: step × s = α (v × s) + (−∇f × εs)."""
    (t,) = rows(
        [("momentum", {"lr": 0.02, "momentum": 0.6})],
        internals=[{"gradient", "velocity", "step"}],
    )
    i, s = t.internals, 2.0
    tip_to_tail = 0.6 * (i.velocity * s) + (-i.gradient * 0.02 * s)
    np.testing.assert_allclose(i.step[:-1] * s, tip_to_tail[:-1], atol=1e-12)


# -- the drawing ---------------------------------------------------------


def write(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


CONFIG = """\
    surface: {name: quadratic, condition: 50}
    starts: [[-2.8, -0.3]]
    iterations: 30
    optimizers:
      - {label: gd, method: gd, lr: 0.03}
      - {label: nag, method: nesterov, lr: 0.01, momentum: 0.9}
      - {label: ada, method: adagrad, lr: 0.5}
    animation:
      size: [400, 300]
      internals: [gradient, velocity, step, lookahead, scaling]
      internals_scale: {gradient: 0.05, step: 2, scaling: 3}
"""


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("internals"), CONFIG)
    result = optviz.run(load(path))
    renderer = Renderer(pipeline.scene(result))
    yield result, renderer
    renderer.close()


def test_animation_internals_go_to_every_optimizer_that_has_them(drawn):
    result, _ = drawn
    kinds = {o.label: o.internals for o in result.config.optimizers}
    assert kinds == {
        "gd": ("gradient", "step"),
        "nag": ("gradient", "velocity", "step", "lookahead"),
        "ada": ("gradient", "step", "scaling"),
    }


@pytest.mark.render
@pytest.mark.parametrize("k", [0, 3, 17, 30])
def test_the_arrows_drawn_are_the_internals_times_the_stated_scales(drawn, k):
    result, renderer = drawn
    renderer.frame(k)
    by = {t.label: t for t in result.trajectories}
    arrows = renderer.internals.arrows

    def quiver(kind):
        q = arrows[kind]
        return np.asarray(q.get_offsets()), np.column_stack([q.U, q.V])

    def row(t, values):
        value = values[min(k, len(t.points) - 1)]
        return np.where(np.isfinite(value), value, 0.0)

    runs = {"gradient": ["gd", "nag", "ada"], "step": ["gd", "nag", "ada"]}
    for kind, scale in (("gradient", -0.05), ("step", 2.0)):
        tails, vectors = quiver(kind)
        for n, label in enumerate(runs[kind]):
            t = by[label]
            np.testing.assert_allclose(tails[n], t.points[min(k, 30)])
            want = row(t, getattr(t.internals, kind)) * scale
            np.testing.assert_allclose(vectors[n], want, rtol=1e-12, atol=1e-15)
    nag = by["nag"]
    tails, vectors = quiver("velocity")
    np.testing.assert_allclose(vectors[0], nag.internals.velocity[k] * 2.0)
    tails, vectors = quiver("lookahead_gradient")
    np.testing.assert_allclose(tails[0], nag.internals.lookahead[k])
    np.testing.assert_allclose(vectors[0], -nag.internals.lookahead_gradient[k] * 0.05)
    rings = np.asarray(arrows["lookahead"].get_offsets())
    np.testing.assert_allclose(rings[0], nag.internals.lookahead[k])
    ellipse = arrows["scaling"]
    ada = by["ada"]
    semi = row(ada, ada.internals.scaling) * 3.0
    # matplotlib's widths and heights are whole axes: twice the semi-axes
    np.testing.assert_allclose(ellipse.get_widths()[0], 2 * semi[0])
    np.testing.assert_allclose(ellipse.get_heights()[0], 2 * semi[1])
    np.testing.assert_allclose(np.asarray(ellipse.get_offsets())[0], ada.points[k])


@pytest.mark.render
def test_the_legend_states_every_scale(drawn):
    _, renderer = drawn
    names = [t.get_text() for t in renderer.legend.get_texts()]
    assert "arrow −∇f × 0.05" in names
    assert "arrow velocity v × 2" in names
    assert "arrow next step × 2" in names
    assert "look-ahead θ + αv (−∇f there)" in names
    assert "ellipse ε/√(a + ν) per axis × 3" in names


@pytest.mark.render
@pytest.mark.parametrize("k", [0, 2, 12, 30])
def test_the_fast_path_draws_what_a_full_draw_draws(drawn, k):
    _, renderer = drawn
    fast = renderer.frame(k)
    full = renderer.full_draw_frame(k)
    assert np.abs(fast.astype(int) - full.astype(int)).max() <= 4


@pytest.mark.render
def test_the_arrows_are_in_the_picture(drawn):
    """A test of the tests above: hiding the internals changes the frame."""
    _, renderer = drawn
    shown = renderer.frame(2)
    for artist in renderer.internals.artists:
        artist.set_visible(False)
    try:
        hidden = renderer.frame(2)
    finally:
        for artist in renderer.internals.artists:
            artist.set_visible(True)
    changed = np.abs(shown.astype(int) - hidden.astype(int)).max(-1) > 40
    assert changed.sum() > 200


# -- bad input -----------------------------------------------------------

BASE = """\
surface: {name: quadratic}
starts: [[-2, 1]]
iterations: 10
"""


@pytest.mark.parametrize(
    ("body", "where", "fragment"),
    [
        (
            "optimizers: [{method: gd, lr: 0.1, internals: [gradiant]}]",
            "optimizers[0].internals[0]",
            "'gradiant' is not a valid value; supported values are 'gradient', "
            "'velocity', 'step', 'lookahead', 'scaling'; did you mean 'gradient'?",
        ),
        (
            "optimizers: [{method: gd, lr: 0.1, internals: [step, velocity]}]",
            "optimizers[0].internals[1]",
            "gd (gd) has no velocity: it needs a velocity (momentum > 0); gd can "
            "show 'gradient', 'step'",
        ),
        (
            "optimizers: [{method: momentum, lr: 0.1, internals: [lookahead]}]",
            "optimizers[0].internals[0]",
            "momentum (momentum) has no lookahead: it needs a look-ahead point "
            "(Nesterov momentum)",
        ),
        (
            "optimizers: [{method: momentum, lr: 0.1, internals: [scaling]}]",
            "optimizers[0].internals[0]",
            "has no scaling: it needs a per-coordinate scaling (adagrad, rmsprop, "
            "adam)",
        ),
        (
            "optimizers: [{method: gd, lr: 0.1, internals: velocity}]",
            "optimizers[0].internals",
            "must be a list",
        ),
        (
            "optimizers: [{method: gd, lr: 0.1}, {method: adam, lr: 0.1}]\n"
            "animation: {internals: [gradient, velocity]}",
            "animation.internals[1]",
            "no optimizer of this config has a velocity: it needs a velocity "
            "(momentum > 0)",
        ),
        (
            "optimizers: [{method: gd, lr: 0.1}]\n"
            "animation: {internals: [step], view: 3d}",
            "animation.internals",
            "internals are drawn on the 2-D view only (view: 2d or both)",
        ),
        (
            "optimizers: [{method: gd, lr: 0.1}]\n"
            "animation: {internals_scale: {gradient: -1}}",
            "animation.internals_scale.gradient",
            "must be > 0, or auto; got -1",
        ),
        (
            "optimizers: [{method: gd, lr: 0.1}]\n"
            "animation: {internals_scale: {step: autp}}",
            "animation.internals_scale.step",
            "must be a number > 0, or auto; got 'autp'; did you mean 'auto'?",
        ),
        (
            "optimizers: [{method: gd, lr: 0.1}]\n"
            "animation: {internals_scale: {arrows: 1}}",
            "animation.internals_scale.arrows",
            "unknown key 'arrows'; allowed keys are 'gradient', 'step', 'scaling'",
        ),
    ],
    ids=[
        "typo", "velocity-on-gd", "lookahead-on-momentum", "scaling-on-momentum",
        "not-a-list", "none-has-it", "3d", "negative-scale", "scale-typo",
        "unknown-scale-key",
    ],
)  # fmt: skip
def test_bad_internals_name_the_key_and_what_is_allowed(
    tmp_path, body, where, fragment
):
    path = write(tmp_path, BASE + body + "\n")
    with pytest.raises(ConfigError) as error:
        load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert fragment in message, message


def test_the_cli_refuses_bad_internals_with_exit_2_and_one_line(tmp_path, capsys):
    path = write(
        tmp_path, BASE + "optimizers: [{method: gd, lr: 0.1, internals: [velocity]}]\n"
    )
    code = main(["run", str(path), "--no-video"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "optimizers[0].internals[0]: gd (gd) has no velocity" in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in out + err


def test_an_optimizers_own_internals_win_over_the_animations(tmp_path):
    path = write(
        tmp_path,
        BASE + "optimizers: [{method: momentum, lr: 0.1, internals: [step]},\n"
        "             {method: nesterov, lr: 0.1}]\n"
        "animation: {internals: [velocity]}\n",
    )
    config = load(path)
    assert [o.internals for o in config.optimizers] == [("step",), ("velocity",)]
    result = optviz.run(config)
    assert [t.internals.kinds for t in result.trajectories] == [
        ("step",),
        ("velocity",),
    ]


def test_a_config_without_internals_shares_the_cached_rows(tmp_path):
    plain = load(write(tmp_path, BASE + "optimizers: [{method: gd, lr: 0.1}]\n"))
    asked = load(
        write(
            tmp_path,
            BASE + "optimizers: [{method: gd, lr: 0.1, internals: [step]}]\n",
            "asked.yaml",
        )
    )
    assert pipeline._shares_rows(plain)
    assert not pipeline._shares_rows(asked)  # run on its own, keeping them
    a, b = optviz.run(plain), optviz.run(asked)
    assert a.trajectories[0].internals is None
    assert np.array_equal(a.trajectories[0].points, b.trajectories[0].points)
    assert dataclasses.replace(b.trajectories[0], internals=None).status is (
        a.trajectories[0].status
    )


@pytest.mark.render
def test_view_both_draws_them_on_the_contours(tmp_path):
    text = CONFIG.replace("size: [400, 300]", "size: [640, 300]\n      view: both")
    result = optviz.run(load(write(tmp_path, text)))
    renderer = Renderer(pipeline.scene(result))
    try:
        assert renderer.internals is not None
        contours, solid = renderer.views
        for artist in renderer.internals.artists:
            assert artist.axes is contours.axes
            assert artist.axes is not solid.axes
        fast, full = renderer.frame(3), renderer.full_draw_frame(3)
        assert np.abs(fast.astype(int) - full.astype(int)).max() <= 4
    finally:
        renderer.close()
