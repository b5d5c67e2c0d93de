"""A user's own optimizer: a Python file a config names, or an installed
plug-in (entry point group ``optviz.methods``).

The files are written by the tests into temporary folders, as a user would
write them; they run through the command line (one process and worker
processes) and ``optviz.run``, and every mistake in them is one line naming
the file and the line.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

import optviz
from optviz.cli import main
from optviz.errors import ConfigError
from optviz.optim import plugins

ROOT = Path(__file__).resolve().parent.parent

SIGNUM = '''\
"""Signum (Bernstein et al., 2018): the sign of the momentum."""

from typing import NamedTuple

import numpy as np

from optviz.optim.plugins import LR, Hyperparameter, method


class State(NamedTuple):
    theta: np.ndarray  # (R, 2) the points
    m: np.ndarray  # (R, 2) momentum


def init(hp, rows):
    return State(rows, np.zeros_like(rows))


def update(grad, state, t, hp):
    """Signum: m <- beta m + (1 - beta) g; theta <- theta - lr sign(m)."""
    m = hp.beta * state.m + (1 - hp.beta) * grad
    return State(state.theta - hp.lr * np.sign(m), m)


signum = method(
    LR,
    Hyperparameter("beta", "β", "momentum", default=0.9, low=0.0, high=1.0,
                   high_inclusive=False),
    init=init,
    update=update,
)
'''

# A bowl where every sign step of 1/4 is exact.
BOWL = {"name": "bowl", "formula": "x^2 + 4*y^2", "domain": {"x": [-2, 2],
        "y": [-2, 2]}, "minima": [{"x": 0, "y": 0, "value": 0}]}  # fmt: skip
STARTS = [[1, -0.5], [-0.75, 0.5]]


def config(folder: Path, optimizers, name="toy.yaml", **changes) -> Path:
    data = {"surface": BOWL, "starts": STARTS, "iterations": 8, "tolerance": 0,
            "optimizers": optimizers, **changes}  # fmt: skip
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def signum_by_hand(start, lr, beta, steps):
    """Signum's points, one coordinate at a time in plain floats."""
    theta, m, out = list(map(float, start)), [0.0, 0.0], [tuple(start)]
    for _ in range(steps):
        g = [2 * theta[0], 8 * theta[1]]
        m = [beta * m[i] + (1 - beta) * g[i] for i in range(2)]
        theta = [theta[i] - lr * float(np.sign(m[i])) for i in range(2)]
        out.append(tuple(theta))
    return np.array(out)


def one_line_error(capsys, argv, code):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("optviz: error: ") and "internal error" not in err
    return err


# --- a file a config names ---------------------------------------------------


def test_a_file_named_in_the_config_runs_its_method(tmp_path):
    (tmp_path / "my_optimizers.py").write_text(SIGNUM, encoding="utf-8")
    cfg = config(
        tmp_path,
        [{"method": "./my_optimizers.py:signum", "lr": 0.25, "beta": 0.5},
         {"method": "gd", "lr": 0.1}],
    )  # fmt: skip
    result = optviz.run(optviz.load_config(cfg))
    ours = [t for t in result.trajectories if t.label == "signum"]
    for t, start in zip(ours, STARTS):
        np.testing.assert_array_equal(t.points, signum_by_hand(start, 0.25, 0.5, 8))
    spec = result.config.optimizers[0]
    assert spec.method == "./my_optimizers.py:signum"
    assert spec.params == {"lr": 0.25, "beta": 0.5}
    assert spec.describe() == "./my_optimizers.py:signum(lr=0.25, beta=0.5)"
    # the fused rows beside it keep their numbers
    gd = next(t for t in result.trajectories if t.label == "gd")
    expected = np.array([1.0, -0.5]) * np.array([0.8, 0.2]) ** np.arange(9)[:, None]
    np.testing.assert_allclose(gd.points, expected, rtol=1e-12, atol=1e-15)


def test_the_path_is_relative_to_the_config_file_not_the_current_folder(
    tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "configs" / "mine"
    folder.mkdir(parents=True)
    (folder / "signum.py").write_text(SIGNUM, encoding="utf-8")
    cfg = config(folder, [{"label": "s", "method": "./signum.py:signum", "lr": 0.25}])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--no-video", "-q", "-o", str(out)]) == 0
    with open(out / "trajectories.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["start"] == "0"]
    points = [(float(r["x"]), float(r["y"])) for r in rows]
    np.testing.assert_array_equal(points, signum_by_hand(STARTS[0], 0.25, 0.9, 8))


@pytest.mark.parametrize(
    "entry, where, message",
    [
        ({}, "optimizers[0]", "missing required key 'lr' (ε, learning rate) for "
         "signum"),
        ({"lr": -1}, "optimizers[0].lr", "lr must be > 0; got -1"),
        ({"lr": 1, "beta": 1}, "optimizers[0].beta", "beta must be in [0, 1); got 1"),
        ({"lr": 1, "bta": 0.5}, "optimizers[0].bta", "did you mean 'beta'?"),
        ({"lr": "fast"}, "optimizers[0].lr", "must be a number"),
    ],
    ids=["missing", "out-of-range", "beta", "near-miss", "not-a-number"],
)  # fmt: skip
def test_its_hyperparameters_are_checked_like_the_built_ins(
    tmp_path, capsys, entry, where, message
):
    (tmp_path / "opt.py").write_text(SIGNUM, encoding="utf-8")
    cfg = config(tmp_path, [{"method": "./opt.py:signum", **entry}])
    err = one_line_error(capsys, ["run", str(cfg), "--no-video"], 2)
    assert err.startswith(f"optviz: error: {cfg}: {where}: "), err
    assert message in err


HEAD = """\
from typing import NamedTuple
import numpy as np
from optviz.optim.plugins import LR, Hyperparameter, method
class S(NamedTuple):
    theta: np.ndarray
def init(hp, rows):
    return S(rows)
"""  # 7 lines: what a broken file adds starts at line 8


@pytest.mark.parametrize(
    "body, reference, message",
    [
        ("def update(g, s, t, hp):\n    return S(s.theta -)\n", "signum",
         "bad.py:9: SyntaxError: "),
        ("scale = {}['missing']\n", "signum",
         "bad.py:8: KeyError: 'missing' (while the file was imported)"),
        ("def helper():\n    return 1 / 0\nvalue = helper()\n", "signum",
         "bad.py:9: ZeroDivisionError: division by zero (while the file was "
         "imported)"),
        ("import sys\nsys.exit(3)\n", "signum",
         "bad.py:9: SystemExit: 3 (while the file was imported)"),
        ("signam = method(LR, init=init, update=lambda g, s, t, hp: s)\n",
         "signum", "bad.py: there is no 'signum' in the file; the methods it "
         "declares with method(...) are: signam; did you mean 'signam'?"),
        ("def signum(grad, state, t, hp):\n    return state\n", "signum",
         "bad.py:8: signum is a function, not a method; declare it with "
         "optviz.optim.plugins.method("),
        ("signum = {'init': init}\n", "signum", "bad.py:8: signum is dict, not a "
         "method"),
        ("def update(g, s, hp):\n    return s\n"
         "signum = method(LR, init=init, update=update)\n", "signum",
         "bad.py:8: update must take (grad, state, t, hp); it is "
         "update(g, s, hp)"),
        ("signum = method(LR, LR, init=init, update=init)\n", "signum",
         "bad.py:8: ValueError: the hyperparameter 'lr' is declared twice"),
        ("signum = method(LR, Hyperparameter('noise', 'σ', 'x', 0.0), init=init, "
         "update=init)\n", "signum", "'noise' is a key of every optimizer entry"),
        ("", "", "name the method in the file after a colon: './bad.py:NAME'"),
        ("", "two words", "bad.py: 'two words' is not a Python name"),
    ],
    ids=["syntax", "import-error", "import-error-deeper", "exit", "missing-name",
         "a-function", "a-dict", "wrong-signature", "twice", "entry-key",
         "no-name", "not-a-name"],
)  # fmt: skip
def test_a_broken_file_is_one_line_naming_its_file_and_line(
    tmp_path, capsys, body, reference, message
):
    (tmp_path / "bad.py").write_text(HEAD + body, encoding="utf-8")
    ref = f"./bad.py:{reference}" if reference else "./bad.py"
    cfg = config(tmp_path, [{"method": ref, "lr": 0.1}])
    err = one_line_error(capsys, ["run", str(cfg), "--no-video"], 2)
    assert err.startswith(f"optviz: error: {cfg}: optimizers[0].method: "), err
    assert message in err, err
    # validate says the same, without running anything
    assert main(["validate", str(cfg)]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_file_is_one_line(tmp_path, capsys):
    cfg = config(tmp_path, [{"method": "./nowhere.py:signum", "lr": 0.1}])
    err = one_line_error(capsys, ["run", str(cfg), "--no-video"], 2)
    assert f"optimizers[0].method: cannot read '{tmp_path}/nowhere.py'" in err


@pytest.mark.parametrize(
    "body, message",
    [
        ("def update(g, s, t, hp):\n    if t == 3:\n        raise ValueError("
         "'step three\\nsecond line')\n    return S(s.theta - hp.lr * g)\n",
         "bad.py:10: ValueError: step three second line (in signum's update, "
         "update 3)"),
        ("def update(g, s, t, hp):\n    return S(s.theta[0])\n",
         "bad.py:8: signum's update returned state.theta of shape (2,), not "
         "(R, 2) = (2, 2) (update 1)"),
        ("def update(g, s, t, hp):\n    return s.theta\n",
         "bad.py:8: signum's update returned an array of float64, not a state "
         "with the points 'theta'"),
        ("def update(g, s, t, hp):\n    return S(s.theta + np.sqrt(g - 10))\n",
         "bad.py:8: signum's update returned NaN in state.theta (row 0) from a "
         "finite gradient and state (update 1)"),
        ("def update(g, s, t, hp):\n    return S(list(s.theta))\n",
         "bad.py:8: signum's update returned a list as state.theta, not a float "
         "array (update 1)"),
        ("def start(hp, rows):\n    return rows.sum()\n"
         "def update(g, s, t, hp):\n    return s\n"
         "signum = method(LR, init=start, update=update)\n",
         "bad.py:8: signum's init returned a float64, not a state"),
        ("def ahead(s, hp):\n    return s.theta[:, :1]\n"
         "def update(g, s, t, hp):\n    return s\n"
         "signum = method(LR, init=init, update=update, query=ahead)\n",
         "bad.py:8: signum's query returned its points of shape (2, 1)"),
    ],
    ids=["exception", "shape", "no-theta", "nan", "list", "init", "query"],
)  # fmt: skip
def test_a_method_that_fails_while_it_runs_is_one_line(tmp_path, capsys, body, message):
    if "signum = method" not in body:
        body += "signum = method(LR, init=init, update=update)\n"
    (tmp_path / "bad.py").write_text(HEAD + body, encoding="utf-8")
    cfg = config(tmp_path, [{"method": "./bad.py:signum", "lr": 0.1}])
    err = one_line_error(capsys, ["run", str(cfg), "--no-video", "-o",
                                  str(tmp_path / "out")], 1)  # fmt: skip
    assert message in err, err
    assert not (tmp_path / "out" / "trajectories.csv").exists()


def test_an_overflow_is_a_diverging_row_not_an_error(tmp_path):
    body = "def update(g, s, t, hp):\n    return S(s.theta * 1e200 - s.theta)\n"
    body += "signum = method(LR, init=init, update=update)\n"
    (tmp_path / "wild.py").write_text(HEAD + body, encoding="utf-8")
    cfg = config(tmp_path, [{"method": "./wild.py:signum", "lr": 0.1}])
    result = optviz.run(optviz.load_config(cfg))
    assert {t.status.value for t in result.trajectories} == {"diverged"}


def test_one_file_is_read_once_and_again_when_it_changes(tmp_path):
    path = tmp_path / "opt.py"
    path.write_text(SIGNUM, encoding="utf-8")
    cfg = config(tmp_path, [{"method": "./opt.py:signum", "lr": 0.25}])
    first, again = (optviz.load_config(cfg).optimizers[0].plugin for _ in range(2))
    assert first is again  # the same method: rows computed once per process
    before = optviz.run(optviz.load_config(cfg)).trajectories[0].points
    path.write_text(SIGNUM.replace("hp.lr * np.sign", "2 * hp.lr * np.sign"))
    os.utime(path, ns=(1, 1))  # a new time even on a coarse clock
    edited = optviz.load_config(cfg)
    assert edited.optimizers[0].plugin is not first
    after = optviz.run(edited).trajectories[0].points
    np.testing.assert_array_equal(before[1] - before[0], (-0.25, 0.25))
    np.testing.assert_array_equal(after[1] - after[0], (-0.5, 0.5))


# Heavy ball with Nesterov's look-ahead and an Adagrad-like scaling, declaring
# what a video can draw of it.
INSIDE = """\
from typing import NamedTuple
import numpy as np
from optviz.optim.plugins import LR, method
class S(NamedTuple):
    theta: np.ndarray
    v: np.ndarray
    a: np.ndarray
def init(hp, rows):
    return S(rows, np.zeros_like(rows), np.zeros_like(rows))
def ahead(s, hp):
    return s.theta + 0.5 * s.v
def update(g, s, t, hp):
    a = s.a + g * g
    v = 0.5 * s.v - hp.lr / np.sqrt(a + 1e-8) * g
    return S(s.theta + v, v, a)
def velocity(s, hp):
    return s.v
def scaling(s, t, hp):
    return hp.lr / np.sqrt(s.a + 1e-8)
inside = method(LR, init=init, update=update, query=ahead, velocity=velocity,
                scaling=scaling)
"""


def test_a_plug_in_declares_the_internals_a_video_draws(tmp_path):
    """velocity, scaling and (from its query) the look-ahead point, read off
    its state after every update like a built-in method's."""
    (tmp_path / "inside.py").write_text(INSIDE, encoding="utf-8")
    every = ["gradient", "velocity", "step", "lookahead", "scaling"]
    path = config(tmp_path, [{"method": "./inside.py:inside", "lr": 0.3,
                              "internals": every}])  # fmt: skip
    result = optviz.run(optviz.load_config(path))
    for t in result.trajectories:
        i = t.internals
        assert i.kinds == tuple(every)
        v, a = np.zeros(2), np.zeros(2)
        for k in range(len(t.points) - 1):
            np.testing.assert_allclose(i.velocity[k], v, atol=1e-12)
            np.testing.assert_allclose(i.lookahead[k], t.points[k] + 0.5 * v)
            g = np.array([2, 8]) * (t.points[k] + 0.5 * v)
            a = a + g * g
            factor = 0.3 / np.sqrt(a + 1e-8)
            np.testing.assert_allclose(i.scaling[k], factor, rtol=1e-12)
            v = 0.5 * v - factor * g
            np.testing.assert_allclose(i.step[k], v, atol=1e-12)
    # a method without them shows the gradient and the step alone
    (tmp_path / "my_optimizers.py").write_text(SIGNUM, encoding="utf-8")
    entry = {
        "method": "./my_optimizers.py:signum",
        "lr": 0.25,
        "internals": ["velocity"],
    }
    bare = config(tmp_path, [entry], name="bare.yaml")
    with pytest.raises(ConfigError, match="signum can show 'gradient', 'step'"):
        optviz.load_config(bare)


def test_a_plug_ins_internals_of_the_wrong_shape_are_one_line(tmp_path, capsys):
    body = INSIDE.replace("    return s.v\n", "    return s.v[:, 0]\n")
    (tmp_path / "inside.py").write_text(body, encoding="utf-8")
    path = config(tmp_path, [{"method": "./inside.py:inside", "lr": 0.3,
                              "internals": ["velocity"]}])  # fmt: skip
    err = one_line_error(capsys, ["run", str(path), "--no-video", "-o",
                                  str(tmp_path / "out")], 1)  # fmt: skip
    assert (
        "inside.py:16: inside's velocity returned its velocity of shape (2,), not "
        "(R, 2) = (2, 2) (before the first update)"
    ) in err


@pytest.mark.render
@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_worker_processes_load_the_file_again_by_its_path(tmp_path, start):
    """``optviz run a.yaml b.yaml -j 2``: each worker reads its config again,
    and with it the plug-in file (a spawned one starts with nothing of the
    parent's); a failure there is still one line, naming the config."""
    (tmp_path / "signum.py").write_text(SIGNUM, encoding="utf-8")
    small = {"frames": 4, "hold": 0, "title_card": 0, "size": [96, 64], "dpi": 20,
             "formats": ["gif"]}  # fmt: skip
    entries = [{"label": "s", "method": "./signum.py:signum", "lr": 0.25}]
    config(tmp_path, entries, "a.yaml", animation=small)
    config(tmp_path, entries, "b.yaml", animation=small, starts=[[0.5, 0.5]])
    out = tmp_path / "out"
    # optviz as installed
    env = {**os.environ, "PYTHONPATH": "", "OPTVIZ_START_METHOD": start}
    run = [sys.executable, "-m", "optviz", "run", "a.yaml", "b.yaml", "-j", "2",
           "-q", "-o", str(out)]  # fmt: skip
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    for stem, start in (("a", STARTS[0]), ("b", [0.5, 0.5])):
        assert (out / stem / f"{stem}.gif").stat().st_size > 100
        with open(out / stem / "trajectories.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["start"] == "0"]
        points = [(float(r["x"]), float(r["y"])) for r in rows]
        np.testing.assert_array_equal(points, signum_by_hand(start, 0.25, 0.9, 8))
    check = "    assert t < 4, 'too far'\n"
    broken = SIGNUM.replace("    m = hp.beta", check + "    m = hp.beta")
    (tmp_path / "signum.py").write_text(broken, encoding="utf-8")
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("optviz: error: a.yaml: signum.py:21: "
                                  "AssertionError: too far (in signum's update, "
                                  "update 4)")  # fmt: skip


# --- an installed plug-in ------------------------------------------------------

PACKAGE = "optviz_toy_plugin"


def install(folder: Path, body: str = SIGNUM, name: str = "toy-signum") -> Path:
    """A distribution on ``folder``: the package and its dist-info with the
    entry point, as pip would leave them."""
    (folder / PACKAGE).mkdir(parents=True)
    (folder / PACKAGE / "__init__.py").write_text(body, encoding="utf-8")
    info = folder / f"{PACKAGE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{plugins.GROUP}]\n{name} = {PACKAGE}:signum\n", encoding="utf-8"
    )
    return folder


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for module in [m for m in sys.modules if m.startswith(PACKAGE)]:
        del sys.modules[module]


def test_an_installed_plug_in_is_named_like_a_built_in(tmp_path, site, capsys):
    install(site)
    cfg = config(tmp_path, [{"method": "toy-signum", "lr": 0.25, "beta": 0.5}])
    result = optviz.run(optviz.load_config(cfg))
    assert [t.label for t in result.trajectories] == ["toy-signum"] * 2
    for t, start in zip(result.trajectories, STARTS):
        np.testing.assert_array_equal(t.points, signum_by_hand(start, 0.25, 0.5, 8))
    again = optviz.load_config(cfg).optimizers[0].plugin
    assert again is result.config.optimizers[0].plugin  # made once per process
    # its hyperparameters are checked as a file's are
    bad = config(tmp_path, [{"method": "toy-signum", "lr": 0.25, "beta": 2}])
    err = one_line_error(capsys, ["run", str(bad), "--no-video"], 2)
    assert "optimizers[0].beta: beta must be in [0, 1); got 2" in err
    # a near miss lists it among the methods
    typo = config(tmp_path, [{"method": "toy-signun", "lr": 0.25}])
    err = one_line_error(capsys, ["run", str(typo), "--no-video"], 2)
    assert "'toy-signum'" in err and "did you mean 'toy-signum'?" in err
    assert main(["list", "methods"]) == 0
    listing = capsys.readouterr().out
    assert f"toy-signum   {PACKAGE}:signum ({PACKAGE} 0.1)" in listing


def test_a_broken_plug_in_names_its_file_and_line(tmp_path, site, capsys):
    install(site, SIGNUM.replace("class State", "1 / 0\n\n\nclass State"))
    cfg = config(tmp_path, [{"method": "toy-signum", "lr": 0.25}])
    err = one_line_error(capsys, ["run", str(cfg), "--no-video"], 2)
    where = site / PACKAGE / "__init__.py"
    assert f"optimizers[0].method: {where}:10: ZeroDivisionError" in err, err
    assert f"(while loading plug-in 'toy-signum' ({PACKAGE}:signum" in err


def test_a_built_in_name_is_never_taken_by_a_plug_in(tmp_path, site):
    install(site, name="gd")
    cfg = config(tmp_path, [{"method": "gd", "lr": 0.1}])
    spec = optviz.load_config(cfg).optimizers[0]
    assert spec.plugin is None and spec.resolved().name == "gd"


# --- PyTorch, when it is not installed ------------------------------------------


def test_without_torch_a_torch_method_says_how_to_install_it(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails
    cfg = config(tmp_path, [{"method": "torch:AdamW", "lr": 0.1}])
    err = one_line_error(capsys, ["run", str(cfg), "--no-video"], 2)
    assert err == (
        f"optviz: error: {cfg}: optimizers[0].method: torch: methods need "
        'PyTorch, which is not installed: pip install "optviz[torch]"\n'
    )


def test_the_readme_says_a_plug_in_runs_code_by_choice():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Your own optimizer", 1)[1].split("\n## ", 1)[0]
    assert "conftest.py" in section and "never" in section
    text = textwrap.dedent(section)
    assert "method: ./signum.py:signum" in text
