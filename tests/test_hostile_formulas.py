"""Formulas the whitelist accepts but NumPy cannot compute, and surfaces that
cannot be drawn on their view: each works, or is one line naming the key,
exit 2, at ``validate``; what ``validate`` accepts, ``run`` runs; no NumPy
warning reaches the terminal."""

import time
import warnings

import numpy as np
import pytest

from optviz import config, surfaces
from optviz.cli import main
from optviz.errors import ConfigError
from optviz.surfaces import formula, probe

GD = "optimizers: [{method: gd, lr: 0.01}, {method: newton}]\n"
DOMAIN = "domain: {x: [-2, 2], y: [-2, 2]}"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder, formula_text, rest="", domain=DOMAIN, name="c.yaml"):
    path = folder / name
    path.write_text(
        f"surface: {{formula: '{formula_text}', {domain}}}\n"
        "starts: [[0.5, 0.7]]\niterations: 20\n" + GD + rest,
        encoding="utf-8",
    )
    return path


def one_line_error(err: str) -> str:
    assert err.startswith("optviz: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert "Warning" not in err, err
    return err


def cli(capsys, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert not caught, [str(w.message) for w in caught]  # none reached stderr
    return code, out, err


def refused(capsys, path, key="surface.formula"):
    code, out, err = cli(capsys, "validate", path)
    assert code == 2, (out, err)
    assert f"{path}: {key}: " in one_line_error(err)
    return err


def runs(capsys, path):
    code, _, err = cli(capsys, "validate", path)
    assert code == 0, err
    code, _, err = cli(capsys, "run", path, "--no-video", "-q", "-o", "out")
    assert code == 0 and err == "", err


# --- kinks: abs and sign --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "point", "gradient", "hessian"),
    [
        ("abs(x) + y^2", (0.5, 1.0), (1.0, 2.0), ((0, 0), (0, 2))),
        ("abs(x) + y^2", (-0.5, 1.0), (-1.0, 2.0), ((0, 0), (0, 2))),
        ("sign(x)*y", (-0.5, 2.0), (0.0, -1.0), ((0, 0), (0, 0))),
        ("sqrt(x^2) + y", (-0.5, 2.0), (-1.0, 1.0), ((0, 0), (0, 0))),
        ("abs(x - y)^3", (0.5, 1.0), (-0.75, 0.75), ((3, -3), (-3, 3))),
        ("abs(log(x)) + y", (0.5, 1.0), (-2.0, 1.0), ((4, 0), (0, 0))),
    ],
)
def test_abs_and_sign_are_differentiated_twice_on_the_reals(
    text, point, gradient, hessian
):
    """SymPy's second derivative of |x| is a DiracDelta, which NumPy cannot
    compute ('internal error: PrintMethodNotImplementedError'); away from the
    kink it is 0, as the gradient already was."""
    compiled = formula.compile_formula(text)
    p = np.array([point])
    assert compiled.grad(p)[0] == pytest.approx(gradient)
    assert compiled.hessian(p)[0] == pytest.approx(np.array(hessian, dtype=float))


def test_newton_runs_on_a_surface_with_a_kink(folder, capsys):
    runs(capsys, write(folder, "abs(x) + y^2"))


# --- constants that overflow or are complex -----------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("exp(exp(exp(64.0)))", "overflows"),
        ("pi^pi^pi^pi", "exponents may be at most 64; one here is 1.34e+18"),
        ("1e300*1e300*x", "overflows"),
        ("exp(1000)*x + y", "overflows"),
        ("(2^64)^64*x", "overflows: about 10^1,233"),
        ("x + (((((1/3)^64)^64)^64)^64)^64", "underflows"),
        ("log(-1)*x", "complex values (I*pi)"),
        ("sqrt(-1)", "complex values (I)"),
        ("sqrt(-x^2) + y", "complex values"),
        ("acos(2)*x", "complex values"),
        ("((x^64)^64)^64", "exponents may be at most 64"),
        ("log(0)*x", "undefined"),
    ],
)
def test_formulas_numpy_cannot_compute_are_refused_at_the_formula(
    folder, capsys, text, fragment
):
    err = refused(capsys, write(folder, text))
    assert fragment in err


def test_a_power_tower_of_fractions_is_refused_before_it_is_computed(folder, capsys):
    """(1/3)^(64^5) as an exact fraction has 1.6 billion digits: SymPy spent
    400 s making it. A bound on hangs, not a speed target."""
    start = time.perf_counter()
    refused(capsys, write(folder, "x + (((((1/3)^64)^64)^64)^64)^64"))
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize(
    "text",
    [
        "sin(" * 120 + "x" + ")" * 120,
        "*".join(f"(x+{i}*y)" for i in range(1, 46)),
        "/".join(f"(x+{i}*y)" for i in range(1, 45)),
        "log(" + "*".join(f"(x+{i}*y)" for i in range(1, 40)) + ")",
    ],
    ids=["120-nested-sin", "product-of-45", "quotient-of-44", "log-of-product"],
)
def test_derivatives_too_large_to_build_are_refused(folder, capsys, text):
    """120 nested sin took 115 s in validate, a product of 45 factors 16 s:
    their Hessians have most of a million parts. The derivatives are measured
    as they are built."""
    start = time.perf_counter()
    err = refused(capsys, write(folder, text))
    assert "too complex to differentiate" in err
    assert time.perf_counter() - start < 60  # a bound on hangs


def test_the_built_in_surfaces_are_far_inside_the_derivative_bounds():
    import sympy as sp

    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    largest = 0
    for name in surfaces.builtin_names():
        definition = surfaces.builtin(name)
        if definition.data:
            continue
        expr = formula.parse(definition.formula, dict(definition.parameters))
        g = [sp.diff(expr, x), sp.diff(expr, y)]
        h = [sp.diff(g[0], x), sp.diff(g[0], y), sp.diff(g[1], y)]
        size = sum(sum(1 for _ in sp.preorder_traversal(e)) for e in h)
        largest = max(largest, size)
    assert largest * 10 < formula.MAX_HESSIAN


# --- long numbers ---------------------------------------------------------------

DIGITS = "9" * 5000


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (f"iterations: {DIGITS}\nsurface: beale\n" + GD, "iterations"),
        (f"title: {DIGITS}\nsurface: beale\n" + GD, "title"),
        (
            f"surface: {{formula: 'a*x^2 + y^2', parameters: {{a: {DIGITS}}}, "
            f"{DOMAIN}}}\n" + GD,
            "surface.parameters.a",
        ),
        (
            f"surface: {{formula: '{DIGITS[:1900]}*x^2 + y^2', {DOMAIN}}}\n" + GD,
            "surface.formula",
        ),
    ],
    ids=["iterations", "title", "parameter", "formula"],
)
def test_a_5000_digit_integer_is_one_short_line_at_its_key(folder, capsys, text, key):
    """Python refuses to turn more than 4,300 digits into an int: the YAML
    loader raised 'internal error: ValueError: Exceeds the limit'."""
    path = folder / "c.yaml"
    path.write_text(text)
    code, _, err = cli(capsys, "validate", path)
    assert code == 2
    assert f"{path}: {key}: " in one_line_error(err)
    assert len(err) < 250 and "99999999999999999999999" not in err


def test_a_huge_python_int_is_shown_by_its_digits():
    with pytest.raises(
        ConfigError,
        match="iterations: must be a finite number; got one with 5,001 digits",
    ):
        config.parse({"surface": "beale", "iterations": 10**5000,
                      "optimizers": [{"method": "gd", "lr": 0.1}]})  # fmt: skip


# --- near 1e308 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (
            f"surface: {{formula: 'a*x^2 + y^2', parameters: {{a: 1.0e300}}, "
            f"{DOMAIN}}}\nstarts: [[1, 1]]\n" + GD,
            "surface",
            "f reaches",
        ),
        (
            "surface: beale\nview: {x: [-1.0e308, 1.0e308], y: [-1, 1]}\n" + GD,
            "view.x[0]",
            "must be between -1e+100 and 1e+100",
        ),
        (
            "surface: {formula: 'x^2 + y^2', domain: {x: [-1, 1.0e300], "
            "y: [-1, 1]}}\nstarts: [[1, 1]]\n" + GD,
            "surface.domain.x[1]",
            "must be between",
        ),
    ],
    ids=["parameter", "view", "domain"],
)
def test_values_near_the_float_limit_are_refused_without_warnings(
    folder, capsys, text, key, fragment
):
    """a: 1e300 passed validate and failed in run ('internal error: upper_level
    must be larger than lower_level'); a view of ±1e308 printed RuntimeWarnings
    and then 'internal error: arange: cannot compute length'."""
    path = folder / "c.yaml"
    path.write_text(text)
    code, _, err = cli(capsys, "validate", path)
    assert code == 2
    assert f"{path}: {key}: " in one_line_error(err) and fragment in err


@pytest.mark.render
def test_a_narrow_view_far_from_the_origin_is_drawn_without_warnings(folder, capsys):
    path = folder / "c.yaml"
    path.write_text(
        "surface: beale\nview: {x: [1.0e15, 1.0000000000000004e15], y: [-1, 1]}\n"
        "iterations: 20\n" + GD
    )
    code, _, err = cli(capsys, "run", path, "--no-video", "--still", "-q", "-o", "out")
    assert code == 0 and err == "", err


def test_starts_far_out_run_without_warnings_or_internal_errors(folder, capsys):
    """Newton at a start where ∇²f overflows: LAPACK's SVD raised
    'internal error: LinAlgError: SVD did not converge'."""
    path = folder / "c.yaml"
    path.write_text(
        "surface: beale\nstarts: [[1.0e308, -1.0e308], [1.0e5, 1.0e5]]\n"
        "iterations: 20\noptimizers: [{method: gd, lr: 0.1}, {method: newton}, "
        "{method: adam, lr: 1.0e308}, {method: bfgs}, {method: lbfgs}, "
        "{method: cg}]\n"
    )
    runs(capsys, path)


# --- what validate accepts, run runs: the surface on its view ------------------


@pytest.mark.parametrize(
    ("text", "rest", "fragment"),
    [
        ("log(-x^2 - 1) + y", "", "f is not finite anywhere in the view"),
        ("sqrt(x - 100) + y", "", "f is not finite anywhere"),
        ("exp(x^2 + y^2)", "", "f reaches"),
        ("0*x", "", "f is constant in the view"),
        ("1e17 + x", "", "varies too little"),
        ("1e-60*(x^2 + y^2)", "", "varies by only"),
    ],
    ids=["nan", "nan-right", "huge", "constant-log", "flat", "tiny"],
)
def test_surfaces_that_cannot_be_drawn_on_their_view_are_refused(
    folder, capsys, text, rest, fragment
):
    domain = "domain: {x: [-30, 30], y: [-30, 30]}, levels: " + (
        "linear" if text in ("1e17 + x", "1e-60*(x^2 + y^2)") else "log"
    )
    err = refused(capsys, write(folder, text, rest, domain=domain), key="surface")
    assert fragment in err


def test_a_constant_on_log_levels_is_refused_where_the_drawing_would_fail():
    from optviz.draw.backdrop import contour_levels
    from optviz.errors import RenderError

    z = np.array([5.0, 5.0, 5.0, np.nan])
    with pytest.raises(RenderError):
        contour_levels(z - 5.0, "log")
    with pytest.raises(ConfigError, match="f is constant in the view"):
        probe.levels(z, "log", f_min=7.0)


def test_a_view_given_in_the_config_is_the_key_of_a_view_problem(folder, capsys):
    path = write(folder, "log(x) + y", "view: {x: [-3, -1], y: [-1, 1]}\n")
    err = refused(capsys, path, key="view")
    assert "x in [-3, -1], y in [-1, 1]" in err


def test_a_constant_surface_draws_on_linear_levels(folder, capsys):
    path = write(folder, "0*x", domain=DOMAIN + ", levels: linear")
    code, _, err = cli(capsys, "run", path, "--no-video", "--still", "-q", "-o", "out")
    assert code == 0, err
    assert (folder / "out" / "c.png").stat().st_size > 1000


class Fake:
    """A surface whose parts are given functions."""

    def __init__(self, f, grad=None, hessian=None, levels="log", f_min=0.0):
        self.f = f
        self.grad = grad or (lambda p: np.zeros(np.shape(p)))
        self.hessian = hessian or (lambda p: np.zeros((*np.shape(p), 2)))
        self.levels, self.f_min = levels, f_min


def bowl(p):
    p = np.asarray(p)
    return (p**2).sum(axis=-1)


def nowhere(p):
    return np.full((*np.shape(p), 2), np.nan)


def test_the_hessian_is_checked_only_where_an_optimizer_uses_it():
    surface = Fake(bowl, hessian=nowhere)
    probe.check(surface, (-1, 1), (-1, 1))  # no Newton: fine
    with pytest.raises(ConfigError, match="its Hessian is not finite anywhere"):
        probe.check(surface, (-1, 1), (-1, 1), hessian=True)


def test_newton_counts_as_using_the_hessian_and_bfgs_does_not():
    def specs(method):
        data = {"surface": "beale", "optimizers": [{"method": method}]}
        if method == "gd":
            data["optimizers"][0]["lr"] = 0.1
        return config.parse(data).optimizers

    assert config._uses_hessian(specs("newton"))
    assert not config._uses_hessian(specs("bfgs"))
    assert not config._uses_hessian(specs("gd"))


def test_a_gradient_finite_nowhere_is_refused():
    with pytest.raises(ConfigError, match="its gradient is not finite anywhere"):
        probe.check(Fake(bowl, grad=lambda p: np.full(np.shape(p), np.inf)),
                    (-1, 1), (-1, 1))  # fmt: skip


def test_an_evaluation_that_raises_is_one_line():
    def broken(p):
        raise OverflowError("(34, 'Numerical result out of range')")

    with pytest.raises(ConfigError, match=r"^f cannot be evaluated: OverflowError"):
        probe.check(Fake(broken), (-1, 1), (-1, 1))


LEVEL_CASES = [
    ("log", np.linspace(0, 10, 50)),
    ("log", np.geomspace(1e-3, 1e5, 300)),
    ("log", np.array([-5.0, -5.0, -4.0, np.nan])),
    ("linear", np.linspace(-3, 7, 80)),
    ("linear", np.array([2.0, 2.0, np.inf])),
    ("linear", np.random.default_rng(1).normal(size=500) * 1e6),
]


@pytest.mark.parametrize(("spacing", "z"), LEVEL_CASES)
def test_the_probe_computes_the_levels_the_drawing_takes(spacing, z):
    from optviz.draw.backdrop import contour_levels

    # the shift of optviz.draw.backdrop.surface_grid (no minimum listed: f* 0)
    shifted = z - min(0.0, z[np.isfinite(z)].min()) if spacing == "log" else z
    assert np.array_equal(
        probe.levels(z, spacing), contour_levels(shifted, spacing), equal_nan=True
    )


@pytest.mark.render
def test_probe_levels_that_matplotlib_draws(folder, capsys):
    """The largest values the probe lets through are drawn without a
    warning or an error (matplotlib extends filled contours to ±1e250)."""
    for scale, levels in ((1e190, "log"), (1e190, "linear"), (1e-45, "linear"),
                          (1e-190, "log")):  # fmt: skip
        path = write(folder, f"{scale!r}*(x^2 + y^2)",
                     domain=DOMAIN + f", levels: {levels}")  # fmt: skip
        code, _, err = cli(capsys, "run", path, "--no-video", "--still", "-q",
                           "-o", "out")  # fmt: skip
        assert code == 0 and err == "", (scale, levels, err)
