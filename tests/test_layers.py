"""The layers of docs/ARCHITECTURE.md, enforced from the imports.

Every module of the package is parsed (not imported) and every import of an
optviz module is collected wherever it stands: at the top, inside a function
(the lazy imports that keep the command line fast), under ``TYPE_CHECKING``.
A lower layer importing a higher one, even only for a type, is a violation.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import optviz

PACKAGE = Path(optviz.__file__).resolve().parent
TOP = (
    "optviz.config",
    "optviz.pipeline",
    "optviz.api",
    "optviz.cli",
    "optviz.snapshot",
    "optviz.catalogue",
    "optviz.starter",
    "optviz.explore",
    "optviz.story",
)

# layer → the modules it must not import (a name stands for it and its children)
FORBIDDEN = {
    "optviz.surfaces": ("optviz.optim", "optviz.draw", "optviz.output", *TOP),
    "optviz.optim": ("optviz.draw", "optviz.output", *TOP),
    # draw makes frames and output writes them: neither knows the other
    # (the pipeline hands one's frames to the other)
    "optviz.draw": ("optviz.output", *TOP),
    "optviz.output": ("optviz.draw", *TOP),
}
ONLY_THE_CLI_IMPORTS = {"click": "optviz.cli"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[tuple]:
    """``(line, imported module)`` for every import in ``source``, at any depth.
    ``from a import b`` counts as importing ``a`` and ``a.b`` (b may be a
    submodule); relative imports are resolved against ``module``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                package = package if is_package else package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """What ``module`` (whose code is ``source``) imports against the layering."""
    found: dict[tuple[int, str], str] = {}  # one line per import statement
    for line, imported in imports_of(source, module, is_package):
        for layer, forbidden in FORBIDDEN.items():
            for f in forbidden:
                if within(module, layer) and within(imported, f):
                    found.setdefault(
                        (line, f),
                        f"{module}:{line} imports {imported} ({layer} is below {f})",
                    )
        for library, owner in ONLY_THE_CLI_IMPORTS.items():
            if within(imported, library) and module != owner:
                found.setdefault(
                    (line, library),
                    f"{module}:{line} imports {library} (only {owner} may)",
                )
    return list(found.values())


def modules() -> list[tuple[str, Path]]:
    return sorted((module_name(p), p) for p in PACKAGE.rglob("*.py"))


def test_every_module_keeps_to_its_layer():
    found = []
    for name, path in modules():
        found += violations(path.read_text(), name, path.name == "__init__.py")
    assert found == [], "\n".join(found)


# The command line parses arguments, prints and maps errors to exit codes;
# everything else it asks of these.
CLI_CALLS = (
    "optviz.api",
    "optviz.pipeline",
    "optviz.story",
    "optviz.snapshot",
    "optviz.catalogue",
    "optviz.starter",
    "optviz.errors",
    "optviz.interrupts",
)


def test_the_cli_calls_the_pipeline_and_the_api_only():
    path = PACKAGE / "cli.py"
    reached = {
        imported
        for _, imported in imports_of(path.read_text(), "optviz.cli")
        if within(imported, "optviz") and imported != "optviz"
    }
    beyond = sorted(i for i in reached if not any(within(i, m) for m in CLI_CALLS))
    assert beyond == []
    assert "optviz.pipeline" in reached  # so that the test sees the imports


def test_the_checker_reads_the_real_imports():
    """A checker that collected nothing would pass the test above: these edges
    exist today (a top-level import, a lazy one inside a function, one under
    TYPE_CHECKING), so they must be found."""
    edges = {
        (name, imported)
        for name, path in modules()
        for _, imported in imports_of(
            path.read_text(), name, path.name == "__init__.py"
        )
    }
    assert ("optviz.pipeline", "optviz.output.writers") in edges
    assert ("optviz.pipeline", "optviz.draw.figure") in edges  # lazy
    assert ("optviz.draw.views", "optviz.optim.runner") in edges  # TYPE_CHECKING
    assert ("optviz.cli", "click") in edges
    assert {name for name, _ in modules()} >= {
        "optviz.surfaces",
        "optviz.optim.runner",
        "optviz.draw.figure",
        "optviz.output.writers",
    }


LAZY = """
def later():
    from {imported} import something
"""
TYPES_ONLY = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import {imported}
"""
AS_NAME = """
from {parent} import {leaf} as renamed
"""


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
@pytest.mark.parametrize("template", [LAZY, TYPES_ONLY, AS_NAME])
def test_a_forbidden_import_is_caught(layer, template):
    for imported in FORBIDDEN[layer]:
        parent, leaf = imported.rsplit(".", 1)
        source = template.format(imported=imported, parent=parent, leaf=leaf)
        found = violations(source, f"{layer}.fabricated")
        assert len(found) == 1 and imported in found[0], (source, found)


def test_a_relative_import_is_resolved_and_caught():
    assert violations("from ..draw import figure\n", "optviz.optim.fabricated")
    assert violations("from .. import config\n", "optviz.surfaces", True)
    assert not violations("from . import formula\n", "optviz.surfaces", True)


def test_an_allowed_import_is_not_flagged():
    assert not violations(
        "from optviz.optim.runner import Trajectory\n", "optviz.draw.x"
    )
    assert not violations("from optviz.draw import figure\n", "optviz.api")
    assert not violations("import click\n", "optviz.cli")


def test_only_the_cli_imports_click():
    assert violations("def f():\n    import click.testing\n", "optviz.api")
    assert violations("from click import echo\n", "optviz.draw.figure")


def test_no_module_shadows_an_api_function():
    """``optviz.render`` is a function of the API, loaded on first use; a
    submodule ``optviz.render``, once imported, would replace it on the package
    (so the drawing layer is ``optviz.draw``)."""
    children = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    children |= {path.stem for path in PACKAGE.glob("*.py")}
    assert children.isdisjoint(optviz.__all__), children & set(optviz.__all__)


def test_every_subpackage_ships():
    """setuptools lists the packages by name; one left out would be missing
    from a non-editable install while every test in the checkout passes."""
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    listed = re.search(r"^packages = \[(.*?)\]", text, re.M | re.S)
    assert listed, "no packages = [...] in pyproject.toml"
    shipped = set(re.findall(r'"([\w.]+)"', listed.group(1)))
    subpackages = {module_name(p.parent) for p in PACKAGE.rglob("__init__.py")}
    assert subpackages <= shipped, subpackages - shipped
