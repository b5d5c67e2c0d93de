"""Property tests: every text field and every path field of a config, and
formulas made of the whitelist.

Hypothesis puts generated text — any Unicode but surrogates (which YAML
cannot carry), mathtext and broken mathtext, YAML and shell
metacharacters, names ffmpeg would read as options, over-long and empty
strings — into one field of a small valid config at a time, and generated
paths into the fields that name files (``output``, a surface file, the
config file itself, whose name names the outputs). Whatever it makes must
either validate or be refused with one line naming the file and the field's
key path, exit 2; and whatever validates must run (``--no-video``; fields
the figure draws also draw the title card and the last frame, so that
mathtext and glyph problems show), exit 0, with nothing on stderr. Never
"internal error", never a traceback, never a warning.

Complements ``tests/test_fuzz.py`` (wrong types, NaN, shapes, file attacks)
and ``tests/test_hostile_input.py``; tuned to take well under a minute.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from optviz.cli import main
from optviz.surfaces import formula

BASE = {
    "title": "t",
    "surface": {
        "name": "bowl",
        "description": "a bowl",
        "reference": "none",
        "nondifferentiable": "",
        "formula": "x^2 + 2*y^2 + 0.1*x*y",
        "domain": {"x": [-2, 2], "y": [-2, 2]},
        "levels": "log",
    },
    "starts": [[1.5, 1.0]],
    "iterations": 12,
    "optimizers": [
        {"label": "gd", "method": "gd", "lr": 0.05, "color": "tab:blue"},
        {"label": "cg", "method": "cg", "variant": "pr"},
    ],
    "animation": {
        "frames": 4,
        "fps": 4,
        # (smaller frames collapse the layout, with a warning, under an
        # 80-character label: a drawing problem of its own)
        "size": [400, 300],
        "title_card": 0.5,
        "formats": ["gif"],
        "schedule": "linear",
        "theme": "light",
        "view": "2d",
        "aspect": "auto",
        "panels": ["loss"],
    },
    "output": "out",
}

# Fields the figure draws: a run draws the title card and the last frame.
DRAWN = [
    ("title",),
    ("optimizers", 0, "label"),
    ("optimizers", 1, "label"),
    ("surface", "name"),
]
# Every other field that takes text: names from a list, colours, free text.
TEXT_FIELDS = [
    ("surface", "description"),
    ("surface", "reference"),
    ("surface", "nondifferentiable"),
    ("surface", "levels"),
    ("optimizers", 0, "color"),
    ("optimizers", 0, "method"),
    ("optimizers", 1, "variant"),
    ("animation", "schedule"),
    ("animation", "theme"),
    ("animation", "view"),
    ("animation", "aspect"),
    ("animation", "formats", 0),
    ("animation", "panels", 0),
    ("view",),
]

SPECIAL = [
    "", " ", "$", "$$", "$x$", r"$\alpha_1$", r"$\frac{1}{2}$", r"$\frac{$", "$x^$",
    r"\$5", r"$\foo$", "$漢$", "a$b", "%s", "{}", "{x}", "#", "&a", "*a", "!t",
    "a: b", "- x", "null", "~", "true", "1e3", "0x1F", "-y", "-f null", "-0",
    "--help", "x" * 80, "x" * 81, "x" * 200, "x" * 201, "😀", "漢字", "é",
    "e\u0301", "\u200b", "\x00", "\n", "\t", "a\rb", "\u202e", "\ufeff", "\\",
    "'", '"', "`", "|", ";rm -rf", "../..", "/", "tab:blue", "C0", "#0072B2",
    "#12", "rgb(1,2,3)", "linear", "log", "gd", "adam", "pr", "fr", "mp4", "png",
    "loss", "grad_norm", "dark", "3d", "both", "equal", "auto", "Linear", " log",
]  # fmt: skip
ANY_CHARACTER = st.characters(blacklist_categories=("Cs",))
TEXT = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(ANY_CHARACTER, max_size=24),
    st.text(st.sampled_from("$\\^_{}()ab1 "), max_size=14),  # mathtext-ish
    st.builds(
        lambda a, b: a + b, st.sampled_from(SPECIAL), st.text(ANY_CHARACTER, max_size=6)
    ),
)


def dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def with_value(path: tuple, value) -> dict:
    data = copy.deepcopy(BASE)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return data


def dump(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def cli(capsys, *args) -> tuple[int, str, str]:
    """``optviz ARGS``; no warning may be raised on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert "Warning" not in err, err
    return code, out, err


def one_line(err: str, most: int = 600) -> str:
    """``err`` is one line of error, of at most ``most`` characters (a path
    may be echoed whole: up to 1,000 for an output folder)."""
    assert err.startswith("optviz: error: ") and err.count("\n") == 1, err
    assert len(err) < most, err
    return err


def validate_then_run(capsys, config: Path, drawn: bool, keys: tuple[str, ...]):
    """Validate ``config``: refused at one of ``keys`` (a key path, or where
    it is checked: a missing key at its parent), or accepted and run."""
    code, _, err = cli(capsys, "validate", config)
    if code == 2:
        one_line(err)
        rest = err[len(f"optviz: error: {config}: ") :]
        assert err.startswith(f"optviz: error: {config}: "), err
        assert any(
            rest.startswith(f"{k}: ") or (k and rest.startswith(f"{k}.")) for k in keys
        ), (keys, err)
        return "refused"
    assert code == 0 and err == "", err
    extra = ("--still", "--frame", "0") if drawn else ()
    code, _, err = cli(capsys, "run", config, "--no-video", "-q", *extra)
    assert code == 0 and err == "", err
    return "ran"


def hypothesis_settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )


@pytest.fixture
def work(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def parents(path: tuple) -> tuple[str, ...]:
    """The key path and each of its parents: where an error may be raised."""
    return tuple(dotted(path[:i]) for i in range(len(path), 0, -1))


@pytest.mark.render
def test_drawn_text_fields_validate_and_draw_or_name_their_key(work, capsys):
    seen = {"refused": 0, "ran": 0}

    @hypothesis_settings(25)
    @given(st.sampled_from(DRAWN), TEXT)
    @example(("title",), "漢字")  # a glyph-missing warning in run
    @example(("surface", "name"), r"$\frac{$")  # broke the title card
    def check(path, value):
        config = work / "c.yaml"
        config.write_text(dump(with_value(path, value)), encoding="utf-8")
        seen[validate_then_run(capsys, config, True, parents(path))] += 1

    check()
    assert seen["ran"] >= 5 and seen["refused"] >= 5, seen


def test_other_text_fields_validate_and_run_or_name_their_key(work, capsys):
    seen = {"refused": 0, "ran": 0}

    @hypothesis_settings(120)
    @given(st.sampled_from(TEXT_FIELDS), TEXT)
    def check(path, value):
        config = work / "c.yaml"
        config.write_text(dump(with_value(path, value)), encoding="utf-8")
        seen[validate_then_run(capsys, config, False, parents(path))] += 1

    check()
    assert seen["ran"] >= 10 and seen["refused"] >= 40, seen


# --- paths ------------------------------------------------------------------------

NAME_PART = st.one_of(
    st.sampled_from(
        [
            "out",
            "-y",
            "-f null",
            "-0",
            "--",
            " ",
            "a b",
            ".hidden",
            "ü",
            "😀",
            "con",
            "x" * 120,
            "x" * 300,
            "$HOME",
            "~",
            "*",
            "?",
            "[a]",
            "a\\b",
            "CON.yaml",
            "v.mp4",
            "trajectories.csv",
            ".",
            "x.yaml",
        ]
    ),
    st.text(ANY_CHARACTER.filter(lambda c: c not in "/\x00"), min_size=1, max_size=16),
)
RELATIVE = st.lists(NAME_PART, min_size=1, max_size=3).map("/".join)
SURFACE_FILE = """\
name: from-file
formula: "x^2 + y^2"
domain: {x: [-2, 2], y: [-2, 2]}
starts: [[1, 1]]
"""


def try_write(path: Path, text: str) -> bool:
    """Write ``text`` at ``path`` if the file system takes the name."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except (OSError, ValueError):
        return False
    return True


def test_output_paths_validate_and_run_or_fail_in_one_line(work, capsys):
    """An output folder the file system refuses (a name of 300 bytes, a file
    in its way) is a one-line error of the run, exit 1: the config is fine."""
    seen = {"ran": 0, "refused": 0, "failed": 0}
    (work / "taken").write_text("a file where a folder would go")

    @hypothesis_settings(60)
    @given(st.one_of(RELATIVE, st.sampled_from(["taken", "taken/sub", "/proc/1/x"])))
    @example("out/\nx")  # its error was two lines
    @example("x" * 300)  # 'File name too long', echoed whole
    def check(output):
        config = work / "c.yaml"
        config.write_text(dump(with_value(("output",), output)), encoding="utf-8")
        code, _, err = cli(capsys, "validate", config)
        if code == 2:
            assert f"{config}: output: " in one_line(err)
            seen["refused"] += 1
            return
        assert code == 0, err
        code, _, err = cli(capsys, "run", config, "--no-video", "-q")
        if code == 1:  # the folder cannot be made: said in one line
            assert "cannot" in one_line(err, 1200), err
            seen["failed"] += 1
            return
        assert code == 0 and err == "", err
        # as YAML reads it back (it takes U+0085 for a line break)
        written = yaml.safe_load(config.read_text(encoding="utf-8"))["output"]
        assert (Path(written) / "trajectories.csv").is_file()
        seen["ran"] += 1

    check()
    assert seen["ran"] >= 20, seen


def test_surface_file_paths_validate_and_run_or_name_their_key(work, capsys):
    seen = {"refused": 0, "ran": 0}
    specials = ["/dev/null", "/dev/zero", "/etc/passwd", "/", ".", "..", "~",
                "missing.yaml", "-x.yaml", "work", "c.yaml"]  # fmt: skip

    @hypothesis_settings(60)
    @given(st.one_of(RELATIVE, st.sampled_from(specials)), st.booleans())
    def check(name, create):
        if create and name not in specials:
            try_write(work / name, SURFACE_FILE)
        data = with_value(("surface",), name)
        config = work / "c.yaml"
        config.write_text(dump(data), encoding="utf-8")
        code, _, err = cli(capsys, "validate", config)
        if code == 2:
            one_line(err)
            # the config's key, or the surface file (which names its own keys)
            assert f"{config}: surface" in err or "optviz: error: " in err, err
            if f"{config}:" in err:
                assert err.startswith(f"optviz: error: {config}: surface"), err
            seen["refused"] += 1
            return
        assert code == 0, err
        code, _, err = cli(capsys, "run", config, "--no-video", "-q")
        assert code == 0 and err == "", err
        seen["ran"] += 1

    check()
    assert seen["ran"] >= 5 and seen["refused"] >= 10, seen


def test_config_file_names_name_the_outputs(work, capsys):
    """The config file's stem names its outputs (<stem>.png): any name the
    file system takes works, whatever it looks like to ffmpeg or a shell."""
    seen = {"ran": 0}

    @hypothesis_settings(30)
    @given(NAME_PART)
    def check(stem):
        config = work / f"{stem}.yaml"
        assume(config.parent == work and len(os.fsencode(config.name)) <= 255)
        assume(try_write(config, dump(with_value(("output",), "out"))))
        code, _, err = cli(capsys, "validate", config)
        assert code == 0, err
        code, _, err = cli(capsys, "run", config, "--no-video", "-q")
        assert code == 0 and err == "", err
        assert (work / "out" / "trajectories.csv").is_file()
        # and an error in it names it on one line, whatever its characters
        config.write_text(dump(with_value(("iterations",), "many")), encoding="utf-8")
        code, _, err = cli(capsys, "validate", config)
        assert code == 2 and "iterations: must be a number" in one_line(err, 1200)
        config.unlink()
        seen["ran"] += 1

    check()
    assert seen["ran"] >= 10, seen


# --- formulas -----------------------------------------------------------------


def expressions(depth: int):
    atoms = st.one_of(
        st.sampled_from(
            [
                "x",
                "y",
                "pi",
                "e",
                "0",
                "1",
                "2",
                "0.5",
                "10",
                "1e300",
                "1e-300",
                "64",
                "-1",
                "100000",
            ]
        )
    )
    if depth == 0:
        return atoms
    inner = expressions(depth - 1)
    return st.one_of(
        atoms,
        st.builds(
            lambda a, op, b: f"({a}){op}({b})",
            inner,
            st.sampled_from(["+", "-", "*", "/", "^"]),
            inner,
        ),
        st.builds(
            lambda f, a: f"{f}({a})",
            st.sampled_from([f for f in formula.FUNCTIONS if f != "atan2"]),
            inner,
        ),
        st.builds(lambda a, b: f"atan2({a}, {b})", inner, inner),
        st.builds(lambda a: f"-({a})", inner),
    )


@pytest.mark.render
def test_formulas_of_the_whitelist_validate_and_draw_or_name_their_key(work, capsys):
    """What the whitelist accepts, SymPy derives, NumPy computes and the
    contour plot draws, with Newton's Hessian; or one line at the formula,
    the surface or the view."""
    seen = {"refused": 0, "ran": 0}

    @hypothesis_settings(30)
    @given(expressions(3))
    @example("abs(x) + y")  # a DiracDelta in the Hessian
    @example("atan2(-(atan2(pi, e)), e)")  # a constant of shared parts
    def check(text):
        data = with_value(("surface", "formula"), text)
        data["optimizers"][1] = {"label": "newton", "method": "newton"}
        data["animation"]["title_card"] = 0
        config = work / "c.yaml"
        config.write_text(dump(data), encoding="utf-8")
        keys = ("surface.formula", "surface", "view")
        seen[validate_then_run(capsys, config, True, keys)] += 1

    check()
    assert seen["ran"] >= 5, seen


# --- what the properties found, as examples ---------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("title",), "漢字", "the character '漢' (U+6F22) cannot be drawn"),
        (("optimizers", 0, "label"), "$漢$", "cannot be drawn"),
        (("surface", "name"), r"$\frac{$", "not mathtext matplotlib can draw"),
        (("output",), "out/\nx", "must be a path of printable characters"),
        (("output",), "x" * 300, "is 300 bytes long; a folder's name may have"),
        (("animation", "size"), [32, 24], "a 32x24 frame is drawn at 4 dpi"),
        (("optimizers", 1, "variant"), "a" * 100_000, "(100,000 characters)"),
    ],
    ids=[
        "cjk-title",
        "cjk-mathtext",
        "surface-name",
        "newline",
        "long-name",
        "tiny",
        "long-choice",
    ],
)
def test_found_values_are_refused_at_their_key(work, capsys, path, value, fragment):
    """A CJK title printed 'UserWarning: Glyph 28450 missing from font(s)
    DejaVu Sans' in run; a surface name is drawn on the title card; a
    newline in the output folder split its error in two; a 32x24 frame
    ended in 'internal error: FT_Set_Char_Size failed'; a hyperparameter
    that takes names echoed a value of 100,000 characters whole."""
    config = work / "c.yaml"
    config.write_text(dump(with_value(path, value)), encoding="utf-8")
    code, _, err = cli(capsys, "validate", config)
    assert code == 2
    assert f"{config}: {dotted(path)}: " in one_line(err) and fragment in err


def test_a_constant_formula_with_shared_parts_has_the_points_shape():
    """'atan2(-(atan2(pi, e)), e)': its code computes exp(-1) once, and the
    constant was returned as a scalar (probe: 'cannot reshape array of size
    1')."""
    import numpy as np

    compiled = formula.compile_formula("atan2(-(atan2(pi, e)), e)")
    assert compiled.f(np.zeros((3, 4, 2))).shape == (3, 4)


def test_a_config_that_names_itself_as_its_surface_is_refused_at_the_key(work, capsys):
    config = work / "c.yaml"
    config.write_text(dump(with_value(("surface",), "c.yaml")), encoding="utf-8")
    code, _, err = cli(capsys, "validate", config)
    assert code == 2
    assert f"{config}: surface: 'c.yaml': not a surface file" in one_line(err)


def test_an_error_in_a_file_named_with_a_newline_is_one_line(work, capsys):
    config = work / "a\nb.yaml"
    config.write_text(dump(with_value(("iterations",), "many")), encoding="utf-8")
    code, _, err = cli(capsys, "validate", config)
    assert code == 2
    assert repr(str(config)) in one_line(err)
