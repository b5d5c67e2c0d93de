"""The ``optviz`` command, through click's CliRunner and through ``main``.

``main`` is the console-script entry: it turns every failure into one line on
stderr and an exit code, so exit codes and error lines are checked through it;
CliRunner covers what successful commands print and write. No video is ever
rendered here: every run is ``--no-video`` with a few dozen iterations.
"""

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optviz import api, pipeline, surfaces
from optviz.cli import cli, main
from optviz.optim.methods import METHODS
from optviz.surfaces import SURFACES

ITERATIONS = 50
COLUMNS = ["optimizer", "start", "iteration", "x", "y", "loss", "grad_norm"]
README = Path(__file__).parent.parent / "README.md"


def write_config(folder, name="cfg", **changes):
    """A small valid config (two optimizers, two starts) as ``folder/name.yaml``."""
    data = {
        "surface": "beale",
        "starts": [[2, -2], [-1, 1]],
        "iterations": ITERATIONS,
        "optimizers": [
            {"label": "plain", "method": "gd", "lr": "1e-3"},
            {"label": "adam", "method": "adam", "lr": 0.1},
        ],
    }
    data.update(changes)
    path = Path(folder) / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def invoke(*args):
    """Run through CliRunner; a raised exception is a failure of the test."""
    result = CliRunner().invoke(
        cli, [str(a) for a in args], prog_name="optviz", catch_exceptions=False
    )
    assert "Traceback" not in result.output
    return result


def call(capsys, *args):
    """Run through ``main`` as the console script does: (code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def read_csv(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


# --- help and speed -------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["validate"], ["list"]],
    ids=["optviz", "run", "validate", "list"],
)
def test_help_has_examples(command):
    for flag in ("--help", "-h"):
        result = invoke(*command, flag)
        assert result.exit_code == 0
        assert result.output.startswith(f"Usage: {' '.join(['optviz', *command])} ")
        assert "Example" in result.output
        assert f"optviz {command[0] if command else 'run'} " in result.output


def test_help_lists_every_command():
    result = invoke("--help")
    for name in cli.commands:
        assert f"\n  {name} " in result.output


def test_help_and_version_through_main_exit_zero(capsys):
    code, out, _ = call(capsys, "--help")
    assert code == 0 and "Commands:" in out
    code, out, _ = call(capsys, "--version")
    assert code == 0 and "version" in out


def test_help_in_a_fresh_interpreter():
    result = subprocess.run(
        [sys.executable, "-m", "optviz.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for name in ("run", "validate", "list"):
        assert f"\n  {name} " in result.stdout


def test_python_dash_m_optviz_is_the_optviz_command(tmp_path):
    config = write_config(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "optviz", "validate", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{config}: ok (beale, 2 start(s)")
    bad = subprocess.run(
        [sys.executable, "-m", "optviz", "validate", str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("optviz: error: ")


def test_import_and_help_do_not_load_numpy_or_matplotlib():
    # the reason --help is fast: the heavy libraries load inside the commands
    script = """
import sys
import optviz.cli
loaded = lambda: sorted(m for m in ("numpy", "matplotlib") if m in sys.modules)
after_import = loaded()
for args in (["--help"], ["run", "--help"], ["validate", "--help"]):
    assert optviz.cli.main(args) == 0
print(after_import, loaded())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[] []"


def test_readme_documents_every_command():
    text = README.read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"optviz {name}" in text


# --- run ------------------------------------------------------------------


def test_run_no_video_writes_the_trajectories_and_a_summary(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / "out"
    result = invoke("run", config, "--no-video", "-o", out)
    assert result.exit_code == 0, result.output

    assert sorted(p.name for p in out.iterdir()) == ["trajectories.csv"]  # no video
    header, rows = read_csv(out / "trajectories.csv")
    assert header == COLUMNS
    beale = SURFACES["beale"]
    starts = [(2.0, -2.0), (-1.0, 1.0)]
    seen = {}
    for label, start, iteration, *numbers in rows:
        x, y, loss, grad_norm = map(float, numbers)
        seen.setdefault((label, int(start)), []).append(int(iteration))
        # each row is a point of the surface: its loss and gradient norm match
        assert loss == pytest.approx(float(beale.f([x, y])), rel=1e-12)
        gx, gy = beale.grad([x, y])
        assert grad_norm == pytest.approx(math.hypot(gx, gy), rel=1e-12)
        if int(iteration) == 0:
            assert (x, y) == starts[int(start)]
    # every optimizer from every start, each iteration once, in order
    assert sorted(seen) == [("adam", 0), ("adam", 1), ("plain", 0), ("plain", 1)]
    for iterations in seen.values():
        assert iterations == list(range(len(iterations)))
        assert 1 < len(iterations) <= ITERATIONS + 1

    # the summary: a header and one line per optimizer and start, then the file
    lines = result.stdout.splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("optimizer"))
    assert lines[header_at].split() == [
        "optimizer", "start", "status", "iterations", "reached", "final", "loss"
    ]  # fmt: skip
    table = lines[header_at + 1 : header_at + 5]
    assert sorted(line.split()[0] for line in table) == [
        "adam",
        "adam",
        "plain",
        "plain",
    ]
    assert f"wrote {out / 'trajectories.csv'}" in lines


def test_run_agrees_with_the_api(tmp_path):
    # what the CLI wrote is what the API computes for the same config
    config = write_config(tmp_path)
    invoke("run", config, "--no-video", "-q", "-o", tmp_path / "out")
    result = api.run(api.load_config(config))
    _, rows = read_csv(tmp_path / "out" / "trajectories.csv")
    assert len(rows) == sum(len(t.points) for t in result.trajectories)
    last = {(r[0], int(r[1])): (float(r[3]), float(r[4])) for r in rows}
    for t in result.trajectories:
        assert last[t.label, t.start] == tuple(t.points[-1])  # exact: repr floats


def test_run_quiet_prints_nothing(tmp_path):
    config = write_config(tmp_path)
    result = invoke("run", config, "--no-video", "-q", "-o", tmp_path / "out")
    assert result.exit_code == 0
    assert result.output == ""
    assert (tmp_path / "out" / "trajectories.csv").exists()


def test_run_several_configs_each_in_its_own_folder(tmp_path):
    a = write_config(tmp_path, "first")
    b = write_config(
        tmp_path, "second", optimizers=[{"method": "momentum", "lr": 1e-4}]
    )
    result = invoke("run", a, b, "--no-video", "-o", tmp_path / "videos")
    assert result.exit_code == 0, result.output
    labels = {}
    for stem in ("first", "second"):
        header, rows = read_csv(tmp_path / "videos" / stem / "trajectories.csv")
        assert header == COLUMNS
        labels[stem] = {r[0] for r in rows}
    assert labels == {"first": {"plain", "adam"}, "second": {"momentum"}}
    assert "first (beale):" in result.stdout and "second (beale):" in result.stdout


def test_run_writes_to_the_configs_output_else_out_stem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = write_config("configs", "mine")
    b = write_config("configs", "elsewhere", output="results/here")
    assert invoke("run", a, b, "--no-video", "-q").exit_code == 0
    assert (tmp_path / "out" / "mine" / "trajectories.csv").exists()
    assert (tmp_path / "results" / "here" / "trajectories.csv").exists()


def test_run_refuses_two_configs_that_would_write_to_one_folder(tmp_path, capsys):
    a = write_config(tmp_path / "a", "same")
    b = write_config(tmp_path / "b", "same")
    code, _, err = call(capsys, "run", a, b, "--no-video", "-o", tmp_path / "out")
    assert code == 2
    assert err.count("\n") == 1
    target = tmp_path / "out" / "same" / "same"
    assert f"optviz: error: {b}: would write {target}.* like {a}" in err
    assert not (tmp_path / "out").exists()


def test_run_checks_every_config_before_running_any(tmp_path, capsys):
    good = write_config(tmp_path, "good")
    bad = write_config(tmp_path, "bad", iterations=0)
    code, _, err = call(capsys, "run", good, bad, "--no-video", "-o", tmp_path / "out")
    assert code == 2
    assert err.startswith(f"optviz: error: {bad}: iterations: ")
    assert not (tmp_path / "out").exists()


# --- validate and list ----------------------------------------------------


def test_validate_prints_one_line_per_config(tmp_path, capsys):
    a = write_config(tmp_path, "a")
    b = write_config(
        tmp_path, "b", starts=[[0, 0]], optimizers=[{"method": "adam", "lr": 1}]
    )
    code, out, err = call(capsys, "validate", a, b)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{a}: ok (beale, 2 start(s), {ITERATIONS} iterations, "
        "optimizers: plain, adam)",
        f"{b}: ok (beale, 1 start(s), {ITERATIONS} iterations, optimizers: adam)",
    ]


def test_validate_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write_config(".", "cfg")
    assert invoke("validate", config).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.yaml"]


@pytest.mark.parametrize(
    "what", [None, "surfaces", "methods"], ids=["all", "surfaces", "methods"]
)
def test_list_shows_every_surface_and_method(what):
    result = invoke("list", *([what] if what else []))
    assert result.exit_code == 0
    text = result.output
    assert ("Surfaces (surface: NAME" in text) == (what != "methods")
    assert ("Methods (method: NAME" in text) == (what != "surfaces")
    if what != "methods":
        for name in SURFACES:
            assert f"  {name} " in text
            definition = surfaces.builtin(name)
            assert definition.data or definition.formula in text
    if what != "surfaces":
        for name, method in METHODS.items():
            assert f"  {name} " in text
            assert method.summary in text
            for h in method.hyperparameters:
                assert f" {h.key} " in text
                assert h.allowed() in text


# --- failures: exit code, one line on stderr, no traceback ----------------

# (id, config changes, key path, part of the message)
BAD_CONFIGS = [
    pytest.param(
        {"optimizers": [{"method": "gd", "lr": 1}, {"method": "adamm", "lr": 1}]},
        "optimizers[1].method",
        "'adamm' is not a valid value; supported values are 'gd', ",
        id="unknown-method",
    ),
    pytest.param(
        {"optimizers": [{"method": "gd", "lr": -0.01}]},
        "optimizers[0].lr",
        "lr must be > 0; got -0.01",
        id="negative-lr",
    ),
    pytest.param(
        {"optimizers": [{"method": "gd"}]},
        "optimizers[0]",
        "missing required key 'lr'",
        id="missing-lr",
    ),
    pytest.param(
        {"iterations": True},
        "iterations",
        "must be a number; got true/false",
        id="bool",
    ),
    pytest.param({"sufrace": "x"}, "sufrace", "did you mean 'surface'?", id="typo"),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("changes", "key_path", "fragment"), BAD_CONFIGS)
def test_bad_config_is_exit_2_and_one_line(
    tmp_path, capsys, command, changes, key_path, fragment
):
    config = write_config(tmp_path, **changes)
    extra = ["--no-video", "-o", tmp_path / "out"] if command == "run" else []
    code, out, err = call(capsys, command, config, *extra)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.startswith(f"optviz: error: {config}: {key_path}: ")
    assert fragment in err


def test_validate_stops_at_the_first_bad_config(tmp_path, capsys):
    good = write_config(tmp_path, "good")
    bad = write_config(tmp_path, "bad", surface="beal")
    code, out, err = call(capsys, "validate", good, bad, good)
    assert code == 2
    assert out.startswith(f"{good}: ok (")
    assert out.count("\n") == 1
    assert err == (
        f"optviz: error: {bad}: surface: 'beal' is not a built-in surface; "
        f"supported values are {', '.join(map(repr, SURFACES))}, a path to a "
        "surface .yaml file, or {formula: ...}; did you mean 'beale'?\n"
    )


# (id, file content or None for no file, part of the message)
BAD_FILES = [
    pytest.param(None, "cannot read the file: No such file or directory", id="missing"),
    pytest.param(b"surface: b\xe9ale\n", "not UTF-8 text", id="not-utf8"),
    pytest.param(
        b"surface: [beale\n", "not valid YAML: line 2, column 1: ", id="bad-yaml"
    ),
    pytest.param(b"", "the config is empty", id="empty"),
    pytest.param(b"- 1\n", "must be a mapping (the config); got a list", id="list"),
    pytest.param(
        b"surface: !!python/object/apply:os.system [echo hi]\n",
        "line 1, column 10: the tag '!!python/object/apply:os.system' is not allowed",
        id="python-tag",
    ),
]


@pytest.mark.parametrize(("content", "fragment"), BAD_FILES)
def test_unusable_file_is_exit_2_and_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "cfg.yaml"
    if content is not None:
        path.write_bytes(content)
    code, _, err = call(capsys, "validate", path)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"optviz: error: {path}: ")
    assert fragment in err


USAGE_ERRORS = [
    pytest.param(["run"], "Missing argument 'CONFIGS...'", id="run-without-config"),
    pytest.param(["validate"], "Missing argument 'CONFIGS...'", id="validate-without"),
    pytest.param(["list", "colours"], "'colours' is not one of", id="list-unknown"),
    pytest.param(
        ["render", "x.yaml"], "No such command 'render'", id="unknown-command"
    ),
    pytest.param(
        ["run", "--video", "x.yaml"],
        "No such option '--video'. Did you mean '--no-video'?",
        id="bad-option",
    ),
]


@pytest.mark.parametrize(("args", "fragment"), USAGE_ERRORS)
def test_usage_errors_exit_2_with_clicks_message(capsys, args, fragment):
    code, _, err = call(capsys, *args)
    assert code == 2
    assert fragment in err


def test_unwritable_output_folder_is_one_line_not_a_crash(tmp_path, capsys):
    config = write_config(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = call(capsys, "run", config, "--no-video", "-o", blocker / "sub")
    assert code == 1
    assert err.count("\n") == 1
    csv_path = blocker / "sub" / "trajectories.csv"
    assert err == f"optviz: error: cannot write {csv_path}: Not a directory\n"
    assert "internal error" not in err


def test_a_run_that_draws_nothing_stays_in_one_process(tmp_path, capsys, monkeypatch):
    """Workers would each compute their configs' rows; one process computes
    the rows the configs share once (pipeline.run_all)."""
    from optviz import pipeline

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started")

    monkeypatch.setattr(pipeline, "run_many", no_pool)
    paths = [write_config(tmp_path, f"c{i}") for i in range(3)]
    code, out, _ = call(capsys, "run", *paths, "--no-video", "-j", "2")
    assert code == 0
    assert out.count("trajectories.csv") == 3


def test_a_bug_is_reported_in_one_line(tmp_path, capsys, monkeypatch):
    def broken(configs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "run_all", broken)
    code, _, err = call(capsys, "run", write_config(tmp_path), "--no-video")
    assert code == 1
    assert err.startswith("optviz: internal error: RuntimeError: boom (please report")
    assert err.count("\n") == 1


def bad_lr_config(tmp_path):
    return write_config(
        tmp_path, optimizers=[{"label": "gd", "method": "gd", "lr": -1}]
    )


def test_an_error_is_one_line_without_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPTVIZ_DEBUG", raising=False)
    code, _, err = call(capsys, "run", bad_lr_config(tmp_path), "--no-video")
    assert code == 2
    assert err.count("\n") == 1 and "optimizers[0].lr" in err


@pytest.mark.parametrize(
    ("env", "flag"), [("1", ()), ("", ("--debug",))], ids=["OPTVIZ_DEBUG", "--debug"]
)
def test_debug_shows_the_traceback_before_the_one_line(
    tmp_path, capsys, monkeypatch, env, flag
):
    monkeypatch.setenv("OPTVIZ_DEBUG", env)
    code = main([*flag, "run", str(bad_lr_config(tmp_path)), "--no-video"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("Traceback (most recent call last):")
    assert "ConfigError" in err and "in plan" in err  # where it was raised
    last = err.strip().splitlines()[-1]
    assert last.startswith("optviz: error: ") and "optimizers[0].lr" in last


def test_debug_shows_where_a_bug_happened(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPTVIZ_DEBUG", raising=False)

    def broken(configs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "run_all", broken)
    code = main(["--debug", "run", str(write_config(tmp_path)), "--no-video"])
    err = capsys.readouterr().err
    assert code == 1
    assert 'raise RuntimeError("boom")' in err
    assert err.strip().splitlines()[-1].startswith("optviz: internal error: ")
    # --debug lasts one call
    code, _, err = call(capsys, "run", str(write_config(tmp_path)), "--no-video")
    assert err.count("\n") == 1


@pytest.mark.render
def test_debug_shows_a_workers_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPTVIZ_DEBUG", raising=False)
    good = write_config(tmp_path, "good")
    blocked = write_config(tmp_path, "blocked", output=str(tmp_path / "file" / "x"))
    (tmp_path / "file").write_text("not a folder")
    args = ["run", str(good), str(blocked), "--no-video", "--still", "-j", "2"]
    assert main(["--debug", *args]) == 1
    err = capsys.readouterr().err
    assert "(in a worker process)" in err and "NotADirectoryError" in err
    assert err.strip().splitlines()[-1].startswith(f"optviz: error: {blocked}: ")


def test_ctrl_c_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(configs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_all", interrupted)
    code, _, err = call(capsys, "run", write_config(tmp_path), "--no-video")
    assert code == 130
    assert err.strip() == "optviz: interrupted; no output was left half-written"


def test_console_script_exit_code_reaches_the_shell(tmp_path):
    # python -m optviz.cli is what the console script runs: sys.exit(main())
    bad = write_config(tmp_path, optimizers=[{"method": "gd", "lr": 0}])
    result = subprocess.run(
        [sys.executable, "-m", "optviz.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"optviz: error: {bad}: optimizers[0].lr: lr must be > 0; got 0\n"
    )


@pytest.mark.render
def test_run_renders_a_short_video(tmp_path, capsys):
    config = write_config(tmp_path, animation={"frames": 8, "hold": 0})
    out = tmp_path / "out"
    code, stdout, _ = call(capsys, "run", config, "-o", out)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "cfg.gif",
        "cfg.mp4",
        "trajectories.csv",
    ]
    assert f"wrote {out / 'cfg.mp4'}" in stdout


@pytest.mark.render
def test_a_missing_ffmpeg_is_one_line_and_leaves_no_video(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-ffmpeg-here"))
    config = write_config(tmp_path, animation={"frames": 8})
    out = tmp_path / "out"
    code, _, err = call(capsys, "run", config, "-o", out)
    assert code == 1
    *progress, error = err.splitlines()  # (no tty: the bar prints its label once)
    assert progress == ["cfg: rendering"]
    assert error.startswith("optviz: error: cannot run ffmpeg")
    videos = [p.name for p in out.iterdir() if p.suffix in (".mp4", ".gif", ".part")]
    assert videos == []


def test_the_api_functions_are_not_shadowed_by_submodules():
    """``optviz.run`` and ``optviz.render`` are API functions; a submodule of
    the same name, once imported, would replace them on the package."""
    import optviz
    from optviz import api, snapshot  # noqa: F401
    from optviz.draw import figure as drawing  # noqa: F401
    from optviz.optim import runner  # noqa: F401

    for name in optviz.__all__:
        assert callable(getattr(optviz, name)) or name == "__version__", name


@pytest.mark.render
def test_show_draws_a_surface_with_parameters(tmp_path, capsys):
    out = tmp_path / "bowl.png"
    code, stdout, _ = call(
        capsys, "show", "quadratic", "-p", "condition=50", "-p", "angle=0", "-o", out
    )
    assert code == 0 and stdout == f"wrote {out}\n"
    from PIL import Image

    assert Image.open(out).size == (800, 600)


@pytest.mark.render
def test_show_a_surface_file(tmp_path, capsys):
    surface = tmp_path / "mine.yaml"
    surface.write_text(
        'formula: "x^2 + 3*y^2"\ndomain: {x: [-1, 1], y: [-1, 1]}\n'
        "minima: [{x: 0, y: 0, value: 0}]\n"
    )
    code, _, _ = call(capsys, "show", surface, "-o", tmp_path / "mine.png")
    assert code == 0 and (tmp_path / "mine.png").is_file()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", "beal"], "did you mean 'beale'?"),
        (["show", "quadratic", "-p", "conditon=5"], "did you mean 'condition'?"),
        (["show", "quadratic", "-p", "condition=steep"], "must be a number"),
    ],
    ids=["name", "parameter", "value"],
)
def test_show_refuses_bad_surfaces_in_one_line(capsys, tmp_path, args, fragment):
    code, _, err = call(capsys, *args, "-o", tmp_path / "x.png")
    assert code == 2 and err.count("\n") == 1 and fragment in err
    assert not (tmp_path / "x.png").exists()


def test_list_surfaces_shows_every_surface_with_its_minima(capsys):
    from optviz.surfaces import builtin_names

    code, out, _ = call(capsys, "list", "surfaces")
    assert code == 0
    for name in builtin_names():
        assert f"  {name} " in out
    assert "global minima: (3, 0.5) f=0" in out  # beale
    assert "parameters: condition=10, angle=30" in out  # quadratic
    assert "not differentiable at the origin" in out  # ackley


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run"], "Missing argument 'CONFIGS...'. (see 'optviz run --help')"),
        (["frobnicate"], "No such command 'frobnicate'. (see 'optviz --help')"),
        (["run", "x.yaml", "--jobs", "0"], "0 is not in the range x>=1."),
        (
            ["list", "nothing"],
            "'nothing' is not one of 'surfaces', 'methods', 'formats', 'panels', "
            "'schedules', 'themes'.",
        ),
    ],
    ids=["missing", "command", "jobs", "choice"],
)
def test_usage_errors_are_one_line_too(capsys, args, fragment):
    code, out, err = call(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("optviz: error: ")
    assert fragment in err


# --- a bare optviz, the list of options, folders of configs ------------------


def test_bare_optviz_prints_its_help_and_exits_zero(capsys):
    code, out, err = call(capsys)
    assert (code, err) == (0, "")
    assert out.startswith("Usage: optviz ") and "Commands:" in out
    for name in cli.commands:
        assert f"\n  {name} " in out


def test_list_methods_shows_the_options_every_method_takes():
    text = invoke("list", "methods").output
    tail = text.split("Every method also takes:\n", 1)[1]
    for key in ("clip_norm", "noise", "batch_size", "label", "color"):
        assert f"\n  {key} " in "\n" + tail
    # lr_final's default is 0, and it only counts with decay_steps
    (line,) = [x for x in text.splitlines() if x.strip().startswith("lr_final ")]
    assert "default 0" in line and "used only with decay_steps" in line
    assert "default: lr" not in line


def test_every_option_listed_is_accepted_by_every_method(tmp_path):
    # what the list promises, the config takes: each option on gd and newton
    options = {"clip_norm": 1, "noise": 0.1, "label": "x", "color": "red"}
    for method in ({"method": "gd", "lr": 0.01}, {"method": "newton"}):
        path = write_config(tmp_path, optimizers=[{**method, **options}])
        assert api.run(api.load_config(path)).trajectories
    path = write_config(
        tmp_path,
        surface="least_squares",
        starts=[[0, 0]],
        optimizers=[{"method": "gd", "lr": 0.1, "batch_size": 10}],
    )
    assert api.run(api.load_config(path)).trajectories


def test_run_a_folder_takes_every_yaml_in_it_sorted(tmp_path, capsys):
    folder = tmp_path / "configs"
    for name in ("b", "a", "c"):
        write_config(folder, name)
    (folder / "notes.txt").write_text("not a config")
    code, out, err = call(capsys, "run", folder, "--no-video", "-j", "1",
                          "-o", tmp_path / "out")  # fmt: skip
    assert code == 0, err
    heads = [line for line in out.splitlines() if line.endswith("(beale):")]
    assert heads == ["a (beale):", "b (beale):", "c (beale):"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a", "b", "c"]
    code, out, _ = call(capsys, "validate", folder)
    assert code == 0 and len(out.splitlines()) == 3


def test_run_a_folder_without_configs_is_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = call(capsys, "run", empty, "--no-video")
    assert code == 2
    assert err == (
        f"optviz: error: {empty}: is a folder with no *.yaml config in it; give "
        "config files, or a folder that holds some\n"
    )
