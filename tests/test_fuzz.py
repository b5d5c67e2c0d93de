"""Mutated configs never crash the command line.

Hypothesis takes a valid config and breaks it — a value replaced by one of the
wrong type, NaN, a huge or negative number, an empty list or a list of the
wrong shape; a key removed or an unknown one added — or breaks the file itself
(non-UTF-8 bytes, a YAML bomb, a ``!!python`` tag, truncation). Every case
must end in exit 0 (the mutation happened to stay valid) or exit 2 with exactly
one line on stderr naming the file and a key path on the mutated branch, and
never a traceback.
"""

from __future__ import annotations

import copy
import math
import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optviz.cli import main

VALID = {
    "title": "fuzz",
    "surface": "beale",
    "starts": [[2, -2], [-3, 3]],
    "iterations": 20,
    "tolerance": 0,
    "view": {"x": [-4.5, 4.5], "y": [-4.5, 4.5]},
    "optimizers": [
        {"label": "gd", "method": "gd", "lr": 1.0e-4},
        {"label": "p", "method": "momentum", "lr": 5.0e-6, "momentum": 0.9},
        {"label": "a", "method": "adam", "lr": 0.22, "beta1": 0.9, "beta2": 0.99},
        {"label": "r", "method": "rmsprop", "lr": 0.05, "beta": 0.99, "color": "red"},
    ],
    "animation": {
        "frames": 30,
        "fps": 30,
        "hold": 1,
        "size": [400, 300],
        "dpi": 100,
        "formats": ["mp4", "gif"],
    },
    "output": "out/fuzz",
    "seed": 3,
}


def paths(node, prefix=()):
    """Every key path in a nested structure, as tuples of keys and indices."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*prefix, i))


ALL_PATHS = [p for p in paths(VALID) if p]


def dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 0, -1, 10**400]),
    st.text(max_size=12),
    st.sampled_from(["1e-3", "beal", "adamm", "mp5", "", " ", "x" * 300, "-5"]),
    st.lists(st.integers(-5, 5), max_size=4),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.just([]),
    st.just({}),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def mutated(draw):
    """(text or bytes of the file, the key path the mutation touched or None)."""
    data = copy.deepcopy(VALID)
    kind = draw(st.sampled_from(["replace", "delete", "add", "file"]))
    if kind == "file":
        text = yaml.safe_dump(data, allow_unicode=True)
        attack = draw(
            st.sampled_from(["bytes", "bomb", "tag", "truncate", "tabs", "alias"])
        )
        if attack == "bytes":
            raw = text.encode()
            at = draw(st.integers(0, len(raw)))
            return raw[:at] + draw(
                st.sampled_from([b"\xff", b"\xc3\x28", b"\x00"])
            ) + raw[at:], None
        if attack == "bomb":
            lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
            for i in range(1, 10):
                prev = chr(ord("a") + i - 1)
                cur = chr(ord("a") + i)
                lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
            return "\n".join(lines) + "\n" + text, None
        if attack == "tag":
            tag = draw(
                st.sampled_from(
                    [
                        "!!python/object/apply:os.system ['echo hacked']",
                        "!!python/name:os.system",
                        "!!binary aGVsbG8=",
                        "!custom x",
                    ]
                )
            )
            key = draw(st.sampled_from(["title", "surface", "iterations", "output"]))
            return re.sub(rf"^{key}:.*$", f"{key}: {tag}", text, flags=re.M), None
        if attack == "truncate":
            return text[: draw(st.integers(0, len(text)))], None
        if attack == "tabs":
            return text.replace("  ", "\t", 1), None
        return "x: *undefined\n" + text, None
    path = draw(st.sampled_from(ALL_PATHS))
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if kind == "replace":
        parent[last] = draw(JUNK)
    elif kind == "delete":
        if isinstance(parent, list):
            parent.pop(last)
        else:
            del parent[last]
    else:  # add an unknown key next to this one (or into this list's item)
        target = parent if isinstance(parent, dict) else None
        if target is None:
            return yaml.safe_dump(data), None
        target[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
        return yaml.safe_dump(data, allow_unicode=True), path[:-1]
    return yaml.safe_dump(data, allow_unicode=True), path


def on_branch(error_path: str, mutated_path) -> bool:
    """The error's key path lies on the mutated path's branch: a prefix of it
    (a missing key is reported at its parent), or below it."""
    if mutated_path is None:
        return True
    m = dotted(mutated_path)
    if not error_path or not m:
        return True
    return m.startswith(error_path) or error_path.startswith(m)


def test_mutated_configs_end_in_one_line_and_exit_2(tmp_path, capsys):
    seen = {"cases": 0, "errors": 0}
    config = tmp_path / "fuzz.yaml"

    @settings(
        max_examples=600,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated())
    def check(case):
        content, path = case
        if isinstance(content, bytes):
            config.write_bytes(content)
        else:
            config.write_text(content, encoding="utf-8")
        code = main(["validate", str(config)])
        out, err = capsys.readouterr()
        seen["cases"] += 1
        assert "Traceback" not in out + err
        assert "internal error" not in err, err
        assert code in (0, 2), (code, err)
        if code == 2:
            seen["errors"] += 1
            assert out == ""
            assert err.count("\n") == 1, err
            assert err.startswith(f"optviz: error: {config}"), err
            where = err[len(f"optviz: error: {config}: ") :]
            key = where.split(": ", 1)[0] if ": " in where else ""
            looks_like_path = re.fullmatch(r"[\w.\[\]-]*", key) is not None
            assert not looks_like_path or on_branch(key, path), (path, err)

    check()
    print(f"\nfuzz: {seen['cases']} mutated configs, {seen['errors']} refused")
    assert seen["cases"] >= 500
    assert seen["errors"] >= seen["cases"] // 3
