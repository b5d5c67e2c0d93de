"""``optviz init``: a starter config with every key, its default and a line
on what it does.

The text is made from the config's own tables (:data:`optviz.config.TOP_KEYS`,
:data:`~optviz.config.ANIMATION_KEYS` and the optimizer entries'
:data:`~optviz.config.ENTRY_OPTIONS`), whose defaults are the ones the parser
uses, so the starter cannot drift from what a config takes. A key whose
default cannot be written (the surface's own starts, the output folder) or
that the starter's settings refuse (the camera, with the 2-D view) is written
commented out, with an example value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from optviz import config
from optviz.errors import OptvizError

DEFAULT_PATH = Path("optviz.yaml")
_COLUMN = 34  # where the comments start
# The starter's optimizers: one line each of the lecture's settings.
_OPTIMIZERS = (
    {"label": "gd", "method": "gd", "lr": 1.0e-4},
    {"label": "adam", "method": "adam", "lr": 0.22, "beta2": 0.99},
)
# Values to show for the optimizer entries' options (ENTRY_OPTIONS), all
# written commented out: each has its default already (said in its line).
_ENTRY_EXAMPLES = {
    "label": "gd",
    "color": "tab:blue",
    "batch_size": 10,
    "clip_norm": 1.0,
    "noise": 0.1,
    "internals": ["gradient", "step"],
}
HEADER = """\
# optviz starter config: every key, its default and what it does.
# Check it:  optviz validate {name}
# Run it:    optviz run {name}
# A line starting with '#' is left out (its default, or an example to try);
# optviz list shows the surfaces, methods, formats, panels, schedules and themes.
# Several configs as one chaptered MP4: a story file, whose 'story:' lists them
# (see "Stories" in the README).
"""


def text(name: str = str(DEFAULT_PATH)) -> str:
    """The starter config's YAML, its header naming the file ``name``."""
    lines = HEADER.format(name=name).splitlines()
    lines.append("")
    for key in config.TOP_KEYS:
        if key.name == "optimizers":
            lines += list(_optimizers(key))
        else:
            lines += list(_key(key, 0, commented=False))
    return "\n".join(lines) + "\n"


def write(path: Path = DEFAULT_PATH, force: bool = False) -> Path:
    """Write :func:`text` to ``path`` (atomically); an existing file only
    with ``force``."""
    from optviz.output.files import replace_when_done

    path = Path(path)
    if path.exists() and not force:
        error = OptvizError(
            f"{path} exists; give another path, or --force to replace it"
        )
        error.exit_code = 2
        raise error
    with replace_when_done(path) as partial:
        partial.write_text(text(path.name), encoding="utf-8")
    return path


def _key(key: config.Key, depth: int, commented: bool) -> Iterator[str]:
    """The lines of ``key`` at ``depth`` (two spaces each) and its children."""
    hidden = commented or not key.active or key.default is config.UNSET
    help = key.help
    if key.choices is not None:
        help += ": " + ", ".join(key.choices())
    if key.children:
        hidden = commented or not key.active
        yield _line(f"{key.name}:", help, depth, hidden)
        for child in key.children:
            yield from _key(child, depth + 1, hidden)
        return
    value = key.example if key.default is config.UNSET else key.default
    if key.required:
        hidden = False
    yield _line(f"{key.name}: {_yaml(value)}", help, depth, hidden)


def _optimizers(key: config.Key) -> Iterator[str]:
    """``optimizers:`` with the starter's optimizers, each with all of its
    method's hyperparameters (those left at their default commented out);
    the first also with every option an entry takes, commented out."""
    from optviz.optim.methods import METHODS

    yield _line("optimizers:", key.help, 0, False)
    for i, entry in enumerate(_OPTIMIZERS):
        method = METHODS[str(entry["method"])]
        yield _line(
            f"  - label: {_yaml(entry['label'])}",
            "its name in the legend and the table; default: the method's name",
            0, False,
        )  # fmt: skip
        yield _line(f"method: {method.name}", "optviz list methods", 2, False)
        for h in method.hyperparameters:
            given = h.key in entry
            value = entry[h.key] if given else h.default
            default = "required" if h.default is None else f"default {_yaml(h.default)}"
            what = f"{h.symbol}, {h.help}" if h.symbol else h.help
            yield _line(
                f"{h.key}: {_yaml(value)}", f"{what}; {h.allowed()}; {default}", 2,
                not given,
            )  # fmt: skip
        if i == 0:
            for name, help in config.ENTRY_OPTIONS:
                if name != "label":
                    yield _line(
                        f"{name}: {_yaml(_ENTRY_EXAMPLES[name])}", help, 2, True
                    )


def _line(code: str, help: str, depth: int, commented: bool) -> str:
    indent = "  " * depth
    left = f"{indent}# {code}" if commented else f"{indent}{code}"
    pad = max(1, _COLUMN - len(left))
    return f"{left}{' ' * pad}# {help}"


def _yaml(value: Any) -> str:
    """``value`` as YAML in one line (flow style): lists for tuples."""
    import yaml

    def plain(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    dumped = yaml.safe_dump(
        plain(value), default_flow_style=True, width=10_000, allow_unicode=True,
        sort_keys=False,
    )  # fmt: skip
    return dumped.removesuffix("...\n").strip()


def keys_written(text: str) -> Sequence[str]:
    """The key names on the lines of ``text``, commented out or not (for
    tests and for whoever wants to check a starter)."""
    import re

    return re.findall(r"^\s*(?:#\s*)?(?:-\s*)?([A-Za-z_0-9]+):", text, flags=re.M)
