"""Every built-in surface against its own claims, and the formula machinery."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optviz import api, surfaces
from optviz.config import parse
from optviz.errors import ConfigError
from optviz.surfaces import SURFACES, formula

ROOT = Path(__file__).resolve().parent.parent
NAMES = sorted(SURFACES)
RNG = np.random.default_rng(0)


def random_points(s, n=60):
    lo = np.array([s.xlim[0], s.ylim[0]])
    hi = np.array([s.xlim[1], s.ylim[1]])
    return lo + (hi - lo) * RNG.random((n, 2))


def central_difference(fn, p, h=1e-5):
    """d fn / d(x, y) at p, stacked on a new last axis."""
    out = []
    for axis in range(2):
        e = np.zeros(2)
        e[axis] = h
        out.append((fn(p + e) - fn(p - e)) / (2 * h))
    return np.stack(out, axis=-1)


def test_the_built_in_set():
    required = {
        "beale", "rosenbrock", "himmelblau", "booth", "matyas", "three_hump_camel",
        "six_hump_camel", "goldstein_price", "rastrigin", "ackley", "styblinski_tang",
        "mccormick", "branin", "levy13", "easom", "saddle", "monkey_saddle",
        "quadratic", "cliff",
    }  # fmt: skip
    assert required <= set(NAMES)
    assert sorted(p.stem for p in (ROOT / "surfaces").glob("*.yaml")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    s = SURFACES[name]
    p = random_points(s)
    exact, approx = s.grad(p), central_difference(s.f, p)
    scale = np.maximum(1.0, np.abs(exact))
    assert np.all(np.abs(exact - approx) / scale < 1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_finite_differences_of_the_gradient(name):
    s = SURFACES[name]
    p = random_points(s)
    exact = s.hessian(p)
    approx = central_difference(s.grad, p)  # [..., i, j] = d g_i / d x_j
    scale = np.maximum(1.0, np.abs(exact))
    assert np.all(np.abs(exact - approx) / scale < 1e-4)
    np.testing.assert_array_equal(exact[..., 0, 1], exact[..., 1, 0])


@pytest.mark.parametrize("name", NAMES)
def test_listed_critical_points_hold(name):
    s = SURFACES[name]
    assert s.minima or s.saddles, "a surface lists at least one critical point"
    for m in s.minima + s.saddles:
        p = np.array(m.point)
        assert s.f(p) == pytest.approx(m.value, abs=1e-6)
        assert np.linalg.norm(s.grad(p)) < 1e-6
        eigenvalues = np.linalg.eigvalsh(s.hessian(p))
        if m.kind == "saddle":
            assert not np.all(eigenvalues > 0)
        elif not s.nondifferentiable:
            assert np.all(eigenvalues > 0), "a listed minimum curves up"
    for m in s.minima:  # no listed minimum is beaten by the global one's claim
        assert m.value >= s.f_min


@pytest.mark.parametrize("name", NAMES)
def test_every_surface_is_described_and_has_starts(name):
    d = surfaces.builtin(name)
    assert d.name == name and d.description and d.reference and d.starts
    for x, y in d.starts:
        assert d.xlim[0] <= x <= d.xlim[1] and d.ylim[0] <= y <= d.ylim[1]


@pytest.mark.parametrize("name", NAMES)
def test_any_leading_shape(name):
    s = SURFACES[name]
    grid = random_points(s, 12).reshape(3, 4, 2)
    assert s.f(grid).shape == (3, 4)
    assert s.grad(grid).shape == (3, 4, 2)
    assert s.hessian(grid).shape == (3, 4, 2, 2)
    np.testing.assert_array_equal(s.grad(grid)[1, 2], s.grad(grid[1, 2]))


def test_ackley_says_where_it_is_not_differentiable_and_gives_no_nan_there():
    ackley = SURFACES["ackley"]
    assert "origin" in ackley.nondifferentiable
    at_kink = np.zeros((3, 2))
    assert np.all(ackley.grad(at_kink) == 0.0)
    assert np.all(np.isfinite(ackley.hessian(at_kink)))


def test_beale_facts_the_lecture_configs_rely_on():
    beale = SURFACES["beale"]
    assert beale.f(np.array([3.0, 0.5])) == 0.0
    saddle = np.array([0.0, 1.0])
    assert beale.f(saddle) == pytest.approx(14.203125)
    assert np.allclose(beale.grad(saddle), 0.0)
    np.testing.assert_allclose(
        beale.grad(np.array([-3.0, 3.0])), (-4286, 13021), rtol=1e-3
    )


def test_parameters_change_the_surface():
    default = surfaces.get("quadratic")
    steep = surfaces.get("quadratic", condition=100.0, angle=0.0)
    assert dict(default.parameters) == {"angle": 30.0, "condition": 10.0}
    np.testing.assert_allclose(steep.hessian(np.zeros(2)), [[1, 0], [0, 100]])
    eig = np.linalg.eigvalsh(default.hessian(np.zeros(2)))
    np.testing.assert_allclose(eig, [1, 10])


BEALE = "(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2"


def lecture_config(surface):
    return {
        "surface": surface,
        "starts": [[-3, 3], [2, -2]],
        "iterations": 2000,
        "optimizers": [
            {"label": "rmsprop+p", "method": "rmsprop", "lr": 0.05, "momentum": 0.9},
            {"label": "adam", "method": "adam", "lr": 0.22, "beta2": 0.99},
        ],
    }


def test_a_formula_surface_gives_the_same_trajectories_as_the_built_in():
    inline = {"formula": BEALE, "domain": {"x": [-4.5, 4.5], "y": [-4.5, 4.5]}}
    ours = api.run(parse(lecture_config(inline)))
    builtin = api.run(parse(lecture_config("beale")))
    for a, b in zip(ours.trajectories, builtin.trajectories, strict=True):
        np.testing.assert_array_equal(a.points, b.points)
        assert a.status == b.status


def test_a_surface_file_is_found_beside_the_config(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        f'name: mine\nformula: "{BEALE}"\ndomain: {{x: [-4.5, 4.5], y: [-4.5, 4.5]}}\n'
        "minima: [{x: 3, y: 0.5, value: 0}]\nstarts: [[2, -2]]\n"
    )
    config = parse(
        {"surface": "mine.yaml", "optimizers": [{"method": "gd", "lr": 1e-3}]},
        base=tmp_path,
    )
    assert config.surface.name == "mine" and config.starts == ((2.0, -2.0),)


UNSAFE = [
    ("__import__('os').system('touch {marker}')", "attribute access"),
    ("__import__('os')", "calling '__import__'"),
    ("open('{marker}', 'w')", "calling 'open'"),
    ("x.__class__", "attribute access"),
    ("(lambda: 1)()", "calling the result of a lambda"),
    ("[c for c in ().__class__.__bases__]", "a comprehension"),
    ("'{marker}'", "only numbers"),
    ("x[0]", "indexing"),
    ("globals()", "calling 'globals'"),
    ("eval('1')", "calling 'eval'"),
    ("exec('import os')", "calling 'exec'"),
    ("x if y else 0", "if/else"),
    ("9**9**9", "exponents may be at most 64"),
    ("x " + "+ x " * 300, "at most 500 parts"),
    ("x " + "+ x " * 600, "at most 2000 characters"),
    ("(" * 400 + "x" + ")" * 400, "formula"),
    ("x +", "not a formula"),
    ("z + 1", "unknown name 'z'"),
    ("sine(x)", "did you mean 'sin'"),
    ("sin(x, y)", "sin() takes 1 argument"),
    ("sqrt(x=1)", "no keyword arguments"),
    ("x == y", "a comparison"),
    ("x and y", "and/or"),
    ("x := 2", "not a formula"),
    ("True + x", "True is not allowed"),
    ("1/0", "undefined"),
]


@pytest.mark.parametrize(("text", "fragment"), UNSAFE, ids=[u[0][:24] for u in UNSAFE])
def test_unsafe_or_broken_formulas_are_refused_before_anything_runs(
    tmp_path, text, fragment
):
    marker = tmp_path / "ran"
    config = {
        "surface": {"formula": text.format(marker=marker), "domain": {
            "x": [-1, 1], "y": [-1, 1]}},
        "starts": [[0.5, 0.5]],
        "optimizers": [{"method": "gd", "lr": 0.1}],
    }  # fmt: skip
    with pytest.raises(ConfigError) as e:
        parse(config, source="cfg.yaml")
    message = str(e.value)
    assert message.startswith("cfg.yaml: surface.formula: "), message
    assert fragment in message
    assert "\n" not in message
    assert not marker.exists()


def test_the_formula_parser_never_evaluates(monkeypatch):
    """No eval, exec or sympify of user text: the parser builds SymPy objects
    node by node. Poisoning the builtins proves it."""
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached eval/exec")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    formula.parse(BEALE)


@pytest.mark.parametrize(
    ("surface", "key_path", "fragment"),
    [
        ({"formula": "x^2"}, "surface", "missing required key 'domain'"),
        ({"name": "quadratic", "conditon": 5}, "surface.conditon", "did you mean"),
        ({"name": "quadratic", "condition": "steep"}, "surface.condition", "number"),
        ({"name": "nope.yaml"}, "surface.name", "cannot read 'nope.yaml': No such"),
        ({"formula": "x", "domain": {"x": [1, 0], "y": [0, 1]}}, "surface.domain.x",
         "min must be below max"),
        ({"formula": "x", "domain": {"x": [0, 1], "y": [0, 1]}, "levels": "logg"},
         "surface.levels", "did you mean 'log'"),
        ({"formula": "x", "domain": {"x": [0, 1], "y": [0, 1]},
          "minima": [{"x": 0, "y": 0, "value": 0, "kind": "best"}]},
         "surface.minima[0].kind", "'best' is not a valid value"),
        (3, "surface", "must be a surface name"),
    ],
    ids=["no-domain", "typo-parameter", "bad-parameter", "missing-file",
         "domain-order", "levels", "minimum-kind", "number"],
)  # fmt: skip
def test_bad_surfaces_name_the_key(tmp_path, surface, key_path, fragment):
    config = {
        "surface": surface,
        "starts": [[0.5, 0.5]],
        "optimizers": [{"method": "gd", "lr": 0.1}],
    }
    with pytest.raises(ConfigError) as e:
        parse(config, source="cfg.yaml", base=tmp_path)
    message = str(e.value)
    where = f"cfg.yaml: {key_path}: " if key_path else f"{tmp_path / 'nope.yaml'}: "
    assert message.startswith(where), message
    assert fragment in message


def test_the_installed_package_finds_its_surfaces_from_another_folder(tmp_path):
    """Run from a folder that is not the checkout, so that the import comes
    from wherever optviz is installed (in CI: a non-editable install)."""
    script = (
        "from optviz import surfaces; import sys; "
        "print(surfaces._data_dir()); print(' '.join(surfaces.builtin_names())); "
        "print(surfaces.get('beale').f([3.0, 0.5]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    _, names, value = done.stdout.strip().splitlines()
    assert names.split() == NAMES
    assert float(value) == 0.0
