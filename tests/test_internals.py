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
from optviz.draw.internals import LIFT, round_down, scales
from optviz.errors import ConfigError
from optviz.optim import lr_schedules, methods, runner
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
        ("sgd", {"lr": 0.1}, {"gradient", "step"}),
        ("sgd", {"lr": 0.1, "momentum": 0.9}, {"gradient", "step", "velocity"}),
        ("adam_torch", {"lr": 0.1}, {"gradient", "step", "scaling"}),
        ("adamw", {"lr": 0.1, "amsgrad": True}, {"gradient", "step", "scaling"}),
        ("radam", {"lr": 0.1}, {"gradient", "step", "scaling"}),
        ("adamax", {"lr": 0.1}, {"gradient", "step", "scaling"}),
        ("nadam", {"lr": 0.1}, {"gradient", "step"}),
        ("adadelta", {"lr": 0.1}, {"gradient", "step"}),
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


@pytest.mark.parametrize("lr", [0.02, {"schedule": "cosine", "from": 0.02, "to": 0.002,
                                       "steps": 20}])  # fmt: skip
@pytest.mark.parametrize("dampening", [0.0, 0.3])
def test_torch_sgds_velocity_is_the_displacement_its_buffer_carries(lr, dampening):
    """v_k = −ε_k b_k, and the step from θ_k is μ v_k − ε(1 − τ)∇f(θ_k)
    (ε of that step), tip to tail as for the lecture's momentum."""
    if isinstance(lr, dict):
        settings = {k: v for k, v in lr.items() if k != "schedule"}
        lr = lr_schedules.make(lr["schedule"], settings)
    hp = {"lr": lr, "momentum": 0.8, "dampening": dampening}
    rule = methods.METHODS["sgd"].build(hp)
    rates = methods.learning_rates(rule, 30)
    (t,) = rows([("sgd", hp)], internals=[{"velocity", "step", "gradient"}])
    i = t.internals
    np.testing.assert_array_equal(i.velocity[0], [0.0, 0.0])
    for k in range(1, len(t.points) - 1):
        eps_k, eps_next = rates[k - 1], rates[k]
        buffer = -i.velocity[k] / eps_k
        want = -eps_next * (0.8 * buffer + (1 - dampening) * i.gradient[k])
        np.testing.assert_allclose(i.step[k], want, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "hp"),
    [
        ("adam_torch", {"lr": 0.1, "eps": 1e-3}),
        ("adam_torch", {"lr": 0.1, "amsgrad": True}),
        ("adamw", {"lr": 0.1, "weight_decay": 0.0}),
        ("radam", {"lr": 0.1, "beta2": 0.9}),  # rectified from step 6 on
        ("adamax", {"lr": 0.1}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_the_adam_kinds_scaling_is_the_factor_of_their_first_moment(name, hp):
    """θ_{k+1} − θ_k = −scaling_k ⊙ m_{k+1}, with m the first moment
    written out here: m ← β1 m + (1 − β1)∇f(θ_k)."""
    (t,) = rows([(name, hp)], internals=[{"scaling", "step", "gradient"}])
    i = t.internals
    m = np.zeros(2)
    for k in range(len(t.points) - 1):
        m = 0.9 * m + 0.1 * i.gradient[k]
        np.testing.assert_allclose(i.step[k], -i.scaling[k] * m, rtol=1e-9)
    assert np.all(np.isnan(i.scaling[-1]))
    assert not np.allclose(i.scaling[3], i.scaling[20])  # it adapts


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


def changed_without(renderer, artists, k, shown):
    """Which pixels of frame ``k`` (``shown``) differ by more than 40 grey
    levels when ``artists`` are hidden (they are shown again after)."""
    for artist in artists:
        artist.set_visible(False)
    try:
        hidden = renderer.frame(k)
    finally:
        for artist in artists:
            artist.set_visible(True)
    return np.abs(shown.astype(int) - hidden.astype(int)).max(-1) > 40


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
@pytest.mark.parametrize(
    ("methods", "factor"),
    [
        (["adagrad"], "ε/√(a + ν)"),
        (["adagrad", "adam_torch"], "step factor"),
        (["radam"], "step factor"),
    ],
)
def test_the_legend_names_the_ellipses_factor_of_the_methods_drawn(
    tmp_path, methods, factor
):
    """The lecture's ε/√(a + ν) only where every ellipse is a lecture
    method's; torch's Adam kind applies another factor to its m."""
    entries = "".join(
        f"  - {{label: m{i}, method: {m}, lr: 0.3, internals: [scaling]}}\n"
        for i, m in enumerate(methods)
    )
    text = (
        "surface: {name: quadratic, condition: 50}\nstarts: [[-2.8, -0.3]]\n"
        f"iterations: 10\noptimizers:\n{entries}"
        "animation: {size: [320, 240], internals_scale: {scaling: 3}}\n"
    )
    path = tmp_path / "cfg.yaml"
    path.write_text(text, encoding="utf-8")
    renderer = Renderer(pipeline.scene(optviz.run(load(path))))
    try:
        names = [t.get_text() for t in renderer.legend.get_texts()]
    finally:
        renderer.close()
    assert f"ellipse {factor} per axis × 3" in names


@pytest.mark.render
@pytest.mark.parametrize("view", ["drawn", "solid"])  # the 2-D and the 3-D one
@pytest.mark.parametrize("k", [0, 2, 12, 30])
def test_the_fast_path_draws_what_a_full_draw_draws(request, view, k):
    _, renderer = request.getfixturevalue(view)
    fast = renderer.frame(k)
    full = renderer.full_draw_frame(k)
    assert np.abs(fast.astype(int) - full.astype(int)).max() <= 4


@pytest.mark.render
def test_the_arrows_are_in_the_picture(drawn):
    """A test of the tests above: hiding the internals changes the frame."""
    _, renderer = drawn
    shown = renderer.frame(2)
    changed = changed_without(renderer, renderer.internals.artists, 2, shown)
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
            "adam, adam_torch, adamw, radam, adamax)",
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
        "not-a-list", "none-has-it", "negative-scale", "scale-typo",
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


# -- on the surface in 3-D ---------------------------------------------------

ARROWS = ("gradient", "velocity", "step", "lookahead_gradient")


def renderer_of(tmp_path, text):
    result = optviz.run(load(write(tmp_path, text)))
    return result, Renderer(pipeline.scene(result))


@pytest.fixture(scope="module")
def solid(tmp_path_factory):
    text = CONFIG.replace("size: [400, 300]", "size: [400, 300]\n      view: 3d")
    result, renderer = renderer_of(tmp_path_factory.mktemp("internals3d"), text)
    yield result, renderer
    renderer.close()


def surface_height(view, xy):
    """The height the 3-D view draws the surface at over ``xy`` (..., 2),
    from f itself (the view's log heights of f − f*)."""
    return view._height(view._surface.f(np.asarray(xy, dtype=float)))


def lifted(view):
    """How far above the surface the internals float, in the z units."""
    assert LIFT == 0.01  # as the README says: 1 % of the box's height
    (_, _), (_, _), (z0, z1) = view._box
    return LIFT * (z1 - z0)


def check_on_the_surface(drawing, k):
    """Every piece drawn at iteration ``k`` is the 2-D drawing's geometry
    (``drawing.drawn``: the same tails, vectors, scales) lifted onto the
    surface, :data:`LIFT` above it; and every run whose kind is drawn in 2-D
    is there (the quadratic's view holds all of them)."""
    view = drawing.view
    for kind, pieces in drawing.pieces.items():
        tails, vectors = drawing.drawn(kind, k)
        for i, piece in pieces:
            assert np.isfinite(piece).all()
            np.testing.assert_allclose(
                piece[:, 2] - surface_height(view, piece[:, :2]),
                lifted(view), rtol=1e-9, atol=1e-12,
            )  # fmt: skip
            tail, vector = tails[i], vectors[i]
            xy = piece[:, :2]
            if kind == "scaling":  # on the ellipse of those semi-axes
                rim = ((xy - tail) / vector) ** 2
                np.testing.assert_allclose(rim.sum(axis=1), 1.0, rtol=1e-9)
            elif kind == "lookahead":
                np.testing.assert_allclose(xy[0], tail)
            else:  # from the tail, along the vector, not past its tip
                np.testing.assert_allclose(xy[0], tail, atol=1e-12)
                t = (xy - tail) @ vector / (vector @ vector)
                np.testing.assert_allclose(xy, tail + t[:, None] * vector, atol=1e-12)
                assert np.all(np.diff(t) > 0) and t[-1] <= 1 + 1e-12
        shown = [
            i
            for i in range(len(tails))
            if np.all(np.isfinite(vectors[i])) and np.any(vectors[i] != 0)
        ]
        assert sorted({i for i, _ in pieces}) == shown, kind
    for kind in ARROWS:  # the heads' tips at the tail plus the vector
        if kind not in drawing.tips:
            continue
        tails, vectors = drawing.drawn(kind, k)
        for i, corners in drawing.tips[kind]:
            np.testing.assert_allclose(corners[0, :2], tails[i] + vectors[i])
            np.testing.assert_allclose(
                corners[:, 2] - surface_height(view, corners[:, :2]),
                lifted(view), rtol=1e-9, atol=1e-12,
            )  # fmt: skip


@pytest.mark.render
@pytest.mark.parametrize("k", [0, 3, 17, 30])
def test_the_3d_internals_are_the_2d_ones_on_the_surface(solid, k):
    _, renderer = solid
    renderer.frame(k)
    (drawing,) = renderer._internals
    assert drawing.axes is renderer.views[0].axes
    assert set(drawing.arrows) == set(DRAWN_KINDS)
    check_on_the_surface(drawing, k)
    # the same scales as the 2-D drawing's: the config's
    _, vectors = drawing.drawn("gradient", k)
    by = {t.label: t for t in renderer.trajectories}
    gd = by["gd"]
    np.testing.assert_allclose(vectors[0], -gd.internals.gradient[k] * 0.05)


DRAWN_KINDS = (
    "scaling", "lookahead_line", "velocity", "step", "gradient",
    "lookahead_gradient", "lookahead",
)  # fmt: skip


@pytest.mark.render
def test_the_3d_legend_states_the_same_scales(solid):
    _, renderer = solid
    names = [t.get_text() for t in renderer.legend.get_texts()]
    for name in ("arrow −∇f × 0.05", "arrow next step × 2",
                 "ellipse ε/√(a + ν) per axis × 3"):  # fmt: skip
        assert name in names


@pytest.mark.render
def test_the_3d_internals_are_in_the_picture_at_the_heads(solid):
    """A still with them differs from one without them, and where the heads
    are: every head with internals has changed pixels within 25 px."""
    _, renderer = solid
    (drawing,) = renderer._internals
    shown = renderer.frame(3)
    changed = changed_without(renderer, drawing.artists, 3, shown)
    assert changed.sum() > 100
    rows, cols = np.nonzero(changed[::-1])  # pixels count up from the bottom
    heads = renderer.views[0].pixels(renderer.positions(3))
    for x, y in heads:
        near = np.hypot(cols - x, rows - y) < 25
        assert near.sum() > 10, (x, y)


@pytest.mark.render
def test_view_both_draws_them_on_both_halves_alike(tmp_path):
    text = CONFIG.replace("size: [400, 300]", "size: [640, 300]\n      view: both")
    _, renderer = renderer_of(tmp_path, text)
    try:
        contours, surface = renderer.views
        flat, drawing = renderer._internals
        assert renderer.internals is flat  # the legend's key
        assert {a.axes for a in flat.artists} == {contours.axes}
        assert {a.axes for a in drawing.artists} == {surface.axes}
        fast, full = renderer.frame(3), renderer.full_draw_frame(3)
        assert np.abs(fast.astype(int) - full.astype(int)).max() <= 4
        check_on_the_surface(drawing, 3)
        # the 2-D arrows as drawn (the quivers' own data) end where the 3-D
        # ones do, seen from above
        for kind in ARROWS:
            q = flat.arrows[kind]
            tips = np.asarray(q.get_offsets()) + np.column_stack([q.U, q.V])
            for i, corners in drawing.tips[kind]:
                np.testing.assert_allclose(corners[0, :2], tips[i])
            for i, piece in drawing.pieces[kind]:
                np.testing.assert_allclose(piece[0, :2], q.get_offsets()[i])
        ring = np.asarray(flat.arrows["lookahead"].get_offsets())
        ((i, centre),) = drawing.pieces["lookahead"]
        np.testing.assert_allclose(centre[0, :2], ring[i])
        # each half shows its own: hiding one half's changes only that half
        for half, view in ((flat, contours), (drawing, surface)):
            changed = changed_without(renderer, half.artists, 3, fast)
            box = view.axes.get_window_extent()
            cols = np.nonzero(changed)[1]
            assert len(cols) > 30
            assert box.x0 - 2 <= cols.min() and cols.max() <= box.x1 + 2
    finally:
        renderer.close()


@pytest.mark.render
def test_the_3d_internals_turn_with_a_moving_camera(tmp_path):
    """Each frame projects them with its own camera, as the heads."""
    from mpl_toolkits.mplot3d import proj3d

    from optviz.draw.scene import Camera

    text = CONFIG.replace(
        "size: [400, 300]",
        "size: [400, 300]\n      view: 3d\n      camera: {path: [{at: 0, "
        "elevation: 60, azimuth: -90}, {at: 1, elevation: 15, azimuth: 0}]}",
    )
    _, renderer = renderer_of(tmp_path, text)
    try:
        (drawing,) = renderer._internals
        (view,) = renderer.views
        seen = []
        for camera in (Camera(60, -90), Camera(15, 0)):
            fast = renderer.frame(3, camera)
            full = renderer.full_draw_frame(3, camera)
            assert np.abs(fast.astype(int) - full.astype(int)).max() <= 4
            renderer.frame(3, camera)
            shafts = drawing.arrows["gradient"]
            points = np.concatenate([p for _, p in drawing.pieces["gradient"]])
            x, y, _ = proj3d.proj_transform(*points.T, view.axes.get_proj())
            drawn = np.concatenate(shafts.get_segments())
            np.testing.assert_allclose(drawn, np.column_stack([x, y]), atol=1e-12)
            seen.append(drawn)
        assert np.abs(seen[0] - seen[1]).max() > 1e-3  # it turned
    finally:
        renderer.close()


@pytest.mark.render
def test_what_leaves_the_box_is_cut_at_its_edge(tmp_path):
    """Arrows drawn long enough to run out of the view end at its edge: no
    non-finite point reaches matplotlib (a 3-D collection given NaN can fail
    to draw), and what stays is drawn."""
    text = CONFIG.replace("gradient: 0.05", "gradient: 5").replace(
        "size: [400, 300]", "size: [400, 300]\n      view: 3d"
    )
    _, renderer = renderer_of(tmp_path, text)
    try:
        (drawing,) = renderer._internals
        fast, full = renderer.frame(3), renderer.full_draw_frame(3)
        assert np.abs(fast.astype(int) - full.astype(int)).max() <= 4
        (x0, x1), (y0, y1), _ = drawing.view._box
        cut = 0
        for kind, pieces in drawing.pieces.items():
            tails, vectors = drawing.drawn(kind, 3)
            for i, piece in pieces:
                assert np.isfinite(piece).all()
                assert piece[:, 0].min() >= x0 and piece[:, 0].max() <= x1
                assert piece[:, 1].min() >= y0 and piece[:, 1].max() <= y1
                tip = tails[i] + vectors[i]
                if kind == "gradient" and not (
                    x0 <= tip[0] <= x1 and y0 <= tip[1] <= y1
                ):
                    cut += 1
        assert cut >= 2  # gd's and adagrad's −∇f × 5 run out of the view
        tipped = {i for i, _ in drawing.tips["gradient"]}
        assert len(tipped) < len(drawing.pieces["gradient"])  # no tip outside
    finally:
        renderer.close()


@pytest.mark.parametrize("shared", [False, True])
def test_internals_that_would_not_fit_in_memory_are_refused_where_asked(shared):
    from optviz.config import MAX_MEMORY, parse
    from optviz.optim import budget

    kinds = ["gradient", "velocity", "step", "lookahead"]
    arrays = budget.internal_kinds_kept(kinds)
    assert arrays == 5
    per_point = budget.BYTES_PER_POINT + arrays * budget.BYTES_PER_INTERNAL
    fits = MAX_MEMORY // per_point - 1  # iterations: that many + 1 points
    nesterov = {"method": "nesterov", "lr": 1e-4}
    data = {"surface": "rosenbrock", "starts": [[-1.2, 1]], "iterations": fits}
    if shared:
        data |= {"optimizers": [nesterov], "animation": {"internals": kinds}}
    else:
        data |= {"optimizers": [{**nesterov, "internals": kinds}]}
    assert parse(data).iterations == fits
    without = {**data, "iterations": fits + 1, "optimizers": [nesterov]}
    without.pop("animation", None)
    assert parse(without).iterations == fits + 1  # the points alone fit
    with pytest.raises(ConfigError) as info:
        parse({**data, "iterations": fits + 1})
    where = "animation.internals" if shared else "optimizers[0].internals"
    assert str(info.value).startswith(f"<config>: {where}: the internals kept ")
    assert "ask for fewer internals, iterations or starts" in str(info.value)
