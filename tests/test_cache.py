"""The cache of generated surface code: SymPy only on a first load, the same
bits either way, never fooled by a damaged entry, never in the way.

These are tests of the user's cache, so the code shipped for the built-in
surfaces (tests/test_builtin_code.py) is left out: each first load derives."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optviz import surfaces
from optviz.surfaces import formula

BEALE = surfaces.builtin("beale").formula
GRID = np.stack(
    np.meshgrid(np.linspace(-4.5, 4.5, 61), np.linspace(-4.5, 4.5, 53)), axis=-1
)


@pytest.fixture(autouse=True)
def no_shipped_code(monkeypatch):
    from optviz.surfaces import cache

    monkeypatch.setattr(cache, "shipped", dict)


def run_python(script: str, cache: Path) -> str:
    env = {**os.environ, "OPTVIZ_CACHE_DIR": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


LOAD = """
import sys
from optviz import api
from optviz.surfaces import cache
cache.shipped = dict
config = api.load_config("configs/lecture/1gd.yaml")
config.surface.grad([[1.0, 2.0]])
print("sympy" in sys.modules, "matplotlib" in sys.modules)
"""


def test_a_second_load_of_a_built_in_surface_does_not_import_sympy(tmp_path):
    cache = tmp_path / "cache"
    assert run_python(LOAD, cache) == "True False"  # the first one derives it
    assert list(cache.glob("formula-*.json"))
    # (nor matplotlib: hex colours are checked without it)
    assert run_python(LOAD, cache) == "False False"


def uncached(text, parameters=None, guard_nan=False):
    return formula.compile_expression(formula.parse(text, parameters), guard_nan)


def same_bits(a: formula.Compiled, b: formula.Compiled, points=GRID) -> bool:
    with np.errstate(all="ignore"):
        return all(
            np.array_equal(fa(points), fb(points), equal_nan=True)
            for fa, fb in ((a.f, b.f), (a.grad, b.grad), (a.hessian, b.hessian))
        )


@pytest.mark.parametrize("name", surfaces.builtin_names())
def test_cached_code_gives_the_very_same_numbers(name, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path))
    definition = surfaces.builtin(name)
    # a data surface's formula is written from its examples, with no parameters
    text = surfaces.get(name).formula if definition.data else definition.formula
    params = {} if definition.data else dict(definition.parameters)
    guard = bool(definition.nondifferentiable)
    reference = uncached(text, params, guard)
    first = formula.compile_formula(text, params, guard)
    assert list(tmp_path.glob("formula-*.json"))
    monkeypatch.setattr(formula, "generate", None)  # a second one must not derive
    second = formula.compile_formula(text, params, guard)
    assert same_bits(first, reference)
    assert same_bits(second, reference)


def test_the_key_tells_parameters_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path))
    a = formula.compile_formula("a * x^2 + y^2", {"a": 1.0})
    b = formula.compile_formula("a * x^2 + y^2", {"a": 1.0 + 2**-52})
    assert len(list(tmp_path.glob("formula-*.json"))) == 2
    assert same_bits(a, uncached("a * x^2 + y^2", {"a": 1.0}))
    assert same_bits(b, uncached("a * x^2 + y^2", {"a": 1.0 + 2**-52}))


def damage_by_truncation(entry: Path) -> None:
    entry.write_text(entry.read_text()[:100])


def damage_the_code(entry: Path) -> None:  # the digest no longer matches
    entry.write_text(entry.read_text().replace("+", "-"))


def damage_to_other_code(entry: Path) -> None:  # valid JSON, digest recomputed
    import hashlib
    import json

    data = json.loads(entry.read_text())
    data["text"] = "import os\n" + data["text"]
    data["sha256"] = hashlib.sha256(data["text"].encode()).hexdigest()
    entry.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "damage", [damage_by_truncation, damage_the_code, damage_to_other_code]
)
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path))
    reference = uncached(BEALE)
    formula.compile_formula(BEALE)
    (entry,) = tmp_path.glob("formula-*.json")
    damage(entry)
    assert same_bits(formula.compile_formula(BEALE), reference)
    monkeypatch.setattr(formula, "generate", None)
    assert same_bits(formula.compile_formula(BEALE), reference)  # rewritten


def test_a_cache_folder_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(blocker / "cache"))
    assert same_bits(formula.compile_formula(BEALE), uncached(BEALE))
    assert list(tmp_path.iterdir()) == [blocker]


def test_the_whitelist_runs_on_a_cached_load_too(tmp_path, monkeypatch):
    """An entry planted under the key of a refused formula is never reached."""
    from optviz.surfaces import cache

    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path))
    text = "__import__('os')"
    planted = formula.generate(formula.parse("x"))
    cache.store("formula", formula._cache_key(text, {}), planted)
    with pytest.raises(formula.FormulaError, match="calling '__import__'"):
        formula.compile_formula(text)


def test_the_cache_folder_follows_xdg_unless_optviz_cache_dir_is_set(monkeypatch):
    from optviz.surfaces import cache

    monkeypatch.delenv("OPTVIZ_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert cache.folder() == Path("/somewhere/optviz")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.folder() == Path.home() / ".cache" / "optviz"
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", "/elsewhere")
    assert cache.folder() == Path("/elsewhere")


@pytest.mark.parametrize("name", ["beale", "ackley", "least_squares"])
def test_a_compiled_surface_pickles_and_evaluates_the_same(name):
    surface = surfaces.get(name)
    again = pickle.loads(pickle.dumps(surface))
    assert again.name == surface.name
    assert same_bits(
        formula.Compiled(again.f, again.grad, again.hessian),
        formula.Compiled(surface.f, surface.grad, surface.hessian),
    )


UNPICKLE = """
import pickle, sys
import numpy as np
surface = pickle.load(sys.stdin.buffer)
print(surface.grad(np.array([[1.0, 2.0], [-3.0, 3.0]])).tobytes().hex())
"""


def test_a_pickled_surface_is_rebuilt_in_a_fresh_interpreter(tmp_path):
    """What a spawned worker does: nothing of the parent's process is there."""
    surface = surfaces.get("beale")
    result = subprocess.run(
        [sys.executable, "-c", UNPICKLE],
        input=pickle.dumps(surface),
        capture_output=True,
        env={**os.environ, "OPTVIZ_CACHE_DIR": str(tmp_path)},
        timeout=120,
        check=True,
    )
    here = surface.grad(np.array([[1.0, 2.0], [-3.0, 3.0]])).tobytes().hex()
    assert result.stdout.decode().strip() == here
