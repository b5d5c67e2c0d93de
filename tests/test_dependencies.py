"""Every dependency pyproject.toml declares is imported by optviz itself."""

import ast
import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def declared() -> list[str]:
    """The names in [project] dependencies (read as text: tomllib is 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    specs = re.findall(r'"([^"]+)"', block)
    assert specs
    return [re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0] for d in specs]


def imported_modules() -> set[str]:
    """The top-level modules that optviz's own code imports."""
    found = set()
    for path in (ROOT / "optviz").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.partition(".")[0])
    return found


def test_every_declared_dependency_is_imported_by_optviz():
    provides = importlib.metadata.packages_distributions()
    used = {
        dist.lower()
        for module in imported_modules()
        for dist in provides.get(module, [])
    }
    unused = [d for d in declared() if d.lower() not in used]
    assert unused == []
