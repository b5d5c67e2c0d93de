"""The generated code of the built-in surfaces, shipped as a first layer of the
cache: what SymPy generates, found only under its own key, and a first run of
a built-in surface imports no SymPy."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optviz import surfaces
from optviz.surfaces import cache, formula

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "optviz" / "surfaces" / cache.SHIPPED
RERUN = "the shipped code is stale: run python benchmarks/record_builtin_code.py"


def recorder():
    spec = importlib.util.spec_from_file_location(
        "record_builtin_code", ROOT / "benchmarks" / "record_builtin_code.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_file_is_what_the_recorder_writes_now():
    """Every built-in surface's entry is there under the key it is looked up
    by, and its code is the installed SymPy's: to the bit if that is the
    SymPy that recorded it, else f, ∇f and ∇²f to 1e-12 on a grid (a new
    SymPy may print the same derivatives otherwise; the shipped code stays
    right, and a new recording makes it the new one's)."""
    record = recorder()
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    recorded = shipped["entries"]
    now = record.entries()
    assert [e["key"] for e in recorded] == [e["key"] for e in now], RERUN
    if shipped["sympy"] == record.sympy_version():
        for old, new in zip(recorded, now):
            assert old == new, f"{old['key']}: {RERUN}"
        assert SHIPPED.read_text(encoding="utf-8") == record.document(now), RERUN
        return
    x, y = np.meshgrid(np.linspace(-2.3, 2.7, 9), np.linspace(-1.9, 2.1, 9))
    points = np.column_stack([x.ravel(), y.ravel()])
    for old, new in zip(recorded, now):
        a, b = formula.compile_source(old["text"]), formula.compile_source(new["text"])
        with np.errstate(all="ignore"):
            for part in ("f", "grad", "hessian"):
                np.testing.assert_allclose(
                    getattr(a, part)(points), getattr(b, part)(points),
                    rtol=1e-12, atol=1e-12, err_msg=f"{part} of {old['key']}",
                )  # fmt: skip


def shipped_key(name: str, **parameters: float) -> str:
    definition = surfaces.builtin(name)
    values = surfaces.parameter_values(definition, parameters)
    text, symbols, _ = surfaces.formula_of(definition, values)
    return formula._cache_key(text, symbols, shipped=True)


@pytest.mark.parametrize("name", surfaces.builtin_names())
def test_every_built_in_surface_ships_at_its_defaults(name):
    assert ("formula", shipped_key(name)) in cache.shipped()


def test_the_configs_parameters_of_built_in_surfaces_ship_too():
    """The example configs' quadratics (condition 50, ...) need no SymPy
    either; other values do."""
    assert ("formula", shipped_key("quadratic", condition=50)) in cache.shipped()
    assert ("formula", shipped_key("quadratic", condition=20, angle=0)) in (
        cache.shipped()
    )
    assert ("formula", shipped_key("quadratic", condition=7)) not in cache.shipped()


def test_the_package_data_lists_the_shipped_file():
    """Missing from package-data, the file would be absent from a
    non-editable install while every test in the checkout passes."""
    text = (ROOT / "pyproject.toml").read_text()
    listed = re.search(r'^"optviz\.surfaces" = \[(.*?)\]', text, re.M)
    assert listed, "no package-data for optviz.surfaces in pyproject.toml"
    assert f'"{cache.SHIPPED}"' in listed.group(1)


COLD = """
import sys
from optviz import api, surfaces
for path in sys.argv[1:]:
    api.load_config(path).surface.hessian([[1.0, 2.0]])
print("sympy" in sys.modules)
"""


@pytest.mark.parametrize(
    "configs, derives",
    [
        (["configs/lecture/1gd.yaml", "configs/examples/quadratic_zigzag.yaml"], False),
        (["configs/examples/custom_formula.yaml"], True),  # not a built-in surface
    ],
)
def test_a_cold_run_of_a_built_in_surface_imports_no_sympy(tmp_path, configs, derives):
    """An empty user cache: the shipped code is used, and nothing is stored."""
    env = {**os.environ, "OPTVIZ_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", COLD, *configs],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == str(derives)
    assert bool(list(tmp_path.glob("formula-*.json"))) == derives


BEALE = surfaces.builtin("beale").formula


def test_the_shipped_code_is_used_whatever_sympy_is_installed(tmp_path, monkeypatch):
    """The shipped key leaves SymPy's version out: with another SymPy the
    shipped code is still used, and nothing is derived or stored; the user's
    cache still keys by SymPy's version."""
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path))
    entry = cache.shipped()[("formula", formula._cache_key(BEALE, {}, shipped=True))]
    monkeypatch.setattr(formula, "_sympy_release", lambda: '__version__ = "9.9"\n')
    assert formula.source(BEALE) == entry["text"]
    assert not list(tmp_path.glob("formula-*.json"))
    assert '"sympy": "__version__ = \\"9.9\\"\\n"' in formula._cache_key(BEALE, {})
    assert "sympy" not in json.loads(formula._cache_key(BEALE, {}, shipped=True))


def tampered_text(entry):  # the digest no longer matches
    return {**entry, "text": entry["text"].replace("+", "-")}


def tampered_key(entry):  # filed under beale's key, holding another one
    return {**entry, "key": entry["key"].replace("(1.5", "(1.25")}


def other_code(entry):  # digest recomputed, but not f, grad and hessian alone
    import hashlib

    text = "import os\n" + entry["text"]
    return {**entry, "text": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}


@pytest.mark.parametrize("damage", [tampered_text, tampered_key, other_code])
def test_a_damaged_shipped_entry_is_ignored(tmp_path, monkeypatch, damage):
    """The shipped layer passes the user cache's checks: key, digest and the
    shape of the code; a damaged entry costs a derivation, never wrong code."""
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path))
    key = ("formula", formula._cache_key(BEALE, {}, shipped=True))
    good = cache.shipped()[key]
    monkeypatch.setattr(cache, "shipped", lambda: {key: damage(good)})
    assert formula.source(BEALE) == good["text"]
    assert list(tmp_path.glob("formula-*.json"))  # derived, then stored
