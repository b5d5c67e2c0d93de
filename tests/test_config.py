"""YAML configs → frozen, typed objects, or one clear ConfigError.

Every bad config must name the file and the key path, and say what is wrong in
words a user can act on; every message is one line (the CLI prints it as is).
"""

import dataclasses
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optviz import config
from optviz.config import MAX_OPTIMIZERS, MAX_POINTS, MAX_STARTS, Animation
from optviz.errors import ConfigError
from optviz.optim.methods import METHODS
from optviz.surfaces import SURFACES

LECTURE = sorted((Path(__file__).parent.parent / "configs" / "lecture").glob("*.yaml"))

# The smallest valid config, as YAML; bad cases below change one thing in it.
BASE = """\
surface: beale
iterations: 50
optimizers:
  - {label: plain, method: gd, lr: 1.0e-3}
  - {label: fast, method: adam, lr: 0.1}
"""


def write(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path, text, name="cfg.yaml"):
    return config.load(write(tmp_path, text, name))


def error_of(tmp_path, text, name="cfg.yaml"):
    path = write(tmp_path, text, name)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    return path, info.value


def with_optimizers(*entries, extra=""):
    lines = "".join(f"  - {entry}\n" for entry in entries)
    return f"surface: beale\niterations: 50\n{extra}optimizers:\n{lines}"


# --- valid configs --------------------------------------------------------


def test_minimal_config_fills_every_default(tmp_path):
    c = load_text(tmp_path, "surface: rosenbrock\noptimizers: [{method: adam, lr: 1}]")
    surface = SURFACES["rosenbrock"]
    assert c.source == str(tmp_path / "cfg.yaml")
    assert c.stem == "cfg"
    assert c.title is None
    assert c.surface.name == "rosenbrock"
    assert c.starts == surface.starts
    assert (c.xlim, c.ylim) == (surface.xlim, surface.ylim)
    assert c.iterations == 1000
    assert c.tolerance == 0.0
    assert c.animation == Animation()
    assert c.output == Path("out") / "cfg"
    [adam] = c.optimizers
    assert adam.label == "adam"  # the method's name when no label is given
    assert adam.color is None
    # every hyperparameter, in the method's order, defaults filled in
    keys = [h.key for h in METHODS["adam"].hyperparameters]
    assert [k for k, _ in adam.hyperparameters] == keys
    assert adam.params == {**METHODS["adam"].defaults(), "lr": 1.0}


def test_full_config_is_read_as_written(tmp_path):
    c = load_text(
        tmp_path,
        """\
title: Two starts
surface: himmelblau
starts: [[1, 2], [-3.5, 0]]
iterations: 1e2
tolerance: 1e-6
view: {x: [-6, 6]}
optimizers:
  - {label: 1, method: rmsprop, lr: 0.05, beta: 0.9, momentum: 0.5, color: tab:red}
animation: {frames: 10, fps: 5, hold: 0, size: [320, 240], dpi: 50, formats: [gif]}
output: somewhere/else
""",
    )
    assert c.title == "Two starts"
    assert c.starts == ((1.0, 2.0), (-3.5, 0.0))
    assert c.iterations == 100 and isinstance(c.iterations, int)
    assert c.tolerance == 1e-6
    assert c.xlim == (-6.0, 6.0)
    assert c.ylim == SURFACES["himmelblau"].ylim  # y not given: the surface's
    [o] = c.optimizers
    assert (o.label, o.method, o.color) == ("1", "rmsprop", "tab:red")
    assert o.params == {
        "lr": 0.05,
        "beta": 0.9,
        "eps": 1e-7,
        "momentum": 0.5,
        "nesterov": False,
    }
    assert o.describe() == (
        "rmsprop(lr=0.05, beta=0.9, eps=1e-07, momentum=0.5, nesterov=false)"
    )
    assert c.animation == Animation(10, 5, 0.0, (320, 240), 50, ("gif",))
    assert c.output == Path("somewhere/else")


def test_config_objects_are_frozen(tmp_path):
    c = load_text(tmp_path, BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.iterations = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.optimizers[0].label = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.animation.fps = 1


def test_empty_animation_key_means_the_defaults(tmp_path):
    c = load_text(tmp_path, BASE + "animation:\n")
    assert c.animation == Animation()


def test_repeated_formats_are_kept_once(tmp_path):
    c = load_text(tmp_path, BASE + "animation: {formats: [gif, mp4, gif]}\n")
    assert c.animation.formats == ("gif", "mp4")


@pytest.mark.parametrize("path", LECTURE, ids=[p.stem for p in LECTURE])
def test_lecture_configs_load(path):
    c = config.load(path)
    assert c.stem == path.stem
    labels = [o.label for o in c.optimizers]
    assert len(labels) == len(set(labels))
    # the file name lists the optimizers: "2gd_gd+p_gd+np" has gd, gd+p, gd+np
    assert labels == path.stem[1:].split("_")


# PyYAML follows YAML 1.1, which reads 1e-3 (no dot) as a string; users write
# it anyway, so the config layer must read it as the number it looks like.
NUMBERS = [
    ("1e-3", 1e-3),
    ("1E-3", 1e-3),
    ("+1e-3", 1e-3),
    ("1.0e-3", 1e-3),
    ("'1e-3'", 1e-3),
    (" 1e-3 ", 1e-3),
    ("0.001", 1e-3),
    (".001", 1e-3),
    ("1e+2", 100.0),
    ("2", 2.0),
]


@pytest.mark.parametrize(("text", "value"), NUMBERS, ids=[t for t, _ in NUMBERS])
def test_numbers_in_any_usual_spelling(tmp_path, text, value):
    c = load_text(tmp_path, with_optimizers(f"{{method: gd, lr: {text}}}"))
    assert c.optimizers[0].params["lr"] == value


def test_yaml_really_reads_1e_minus_3_as_text():
    # the reason for the test above: if PyYAML ever changes, this says so
    assert yaml.safe_load("lr: 1e-3") == {"lr": "1e-3"}


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1e300))
def test_any_positive_float_round_trips_through_its_repr(x):
    # repr gives the spellings YAML 1.1 reads as text (1e-05, 1e+16) as well
    # as those it reads as floats; both must come back as exactly x
    c = config.parse(
        yaml.safe_load(f"surface: beale\noptimizers: [{{method: gd, lr: {x!r}}}]")
    )
    assert c.optimizers[0].params["lr"] == x


def test_parse_takes_a_dict_and_names_its_source():
    data = {"surface": "saddle", "optimizers": [{"method": "gd", "lr": 0.1}]}
    c = config.parse(data, source="notebook", stem="mine")
    assert (c.source, c.stem, c.output) == ("notebook", "mine", Path("out/mine"))
    with pytest.raises(ConfigError, match=r"^notebook: surface: 'sadle' is not"):
        config.parse({**data, "surface": "sadle"}, source="notebook")


def test_points_limit_is_inclusive():
    # exactly MAX_POINTS is allowed, one more iteration's worth is not
    half = MAX_POINTS // 2
    data = {
        "surface": "beale",
        "starts": [[0, 0]],
        "iterations": half,
        "optimizers": [{"method": "gd", "lr": 1}, {"method": "adam", "lr": 1}],
    }
    assert config.parse(data).iterations == half
    with pytest.raises(ConfigError) as info:
        config.parse({**data, "iterations": half + 1})
    message = str(info.value)
    assert message.startswith("<config>: iterations: iterations × optimizers × starts")
    assert f"{half + 1:,} × 2 × 1 = {2 * (half + 1):,} points" in message
    assert f"{MAX_POINTS:,}" in message


# --- bad configs: (id, YAML, key path, part of the message) ----------------

BAD = [
    # required keys
    pytest.param(
        "optimizers: [{method: gd, lr: 1}]",
        "",
        "missing required key 'surface'",
        id="no-surface",
    ),
    pytest.param(
        "surface: beale", "", "missing required key 'optimizers'", id="no-optimizers"
    ),
    pytest.param(
        with_optimizers("{lr: 1}"),
        "optimizers[0]",
        "missing required key 'method'; supported values are 'gd'",
        id="no-method",
    ),
    pytest.param(
        with_optimizers("{method: adam}"),
        "optimizers[0]",
        "missing required key 'lr'",
        id="no-lr",
    ),
    # unknown keys and names, with a did-you-mean
    pytest.param(
        BASE + "optimiser: 1\n",
        "optimiser",
        "unknown key 'optimiser'; allowed keys are 'title',",
        id="unknown-top-key",
    ),
    pytest.param(
        BASE.replace("iterations", "iteration"),
        "iteration",
        "did you mean 'iterations'?",
        id="typo-top-key",
    ),
    pytest.param(
        BASE.replace("surface", "Surface"),
        "Surface",
        "did you mean 'surface'?",
        id="capitalised-key",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: 1}", "{method: adamm, lr: 1}"),
        "optimizers[1].method",
        "'adamm' is not a valid value; supported values are 'gd', 'momentum', "
        "'nesterov', 'adagrad', 'rmsprop', 'adam', 'newton', 'bfgs', 'lbfgs', 'cg', "
        "'sgd', 'adam_torch', 'adamw', 'nadam', 'radam', 'adamax', 'adadelta', "
        "'lion', a method in a Python file ('./my_optimizers.py:NAME') or a PyTorch "
        "optimizer ('torch:AdamW'); did you mean 'adam'?",
        id="unknown-method",
    ),
    pytest.param(
        with_optimizers("{method: 3, lr: 1}"),
        "optimizers[0].method",
        "3 is not a valid value",
        id="method-not-text",
    ),
    pytest.param(
        BASE.replace("beale", "beal"),
        "surface",
        "'beal' is not a built-in surface; supported values are 'ackley', 'beale', "
        "'booth'",
        id="unknown-surface",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: 1, momentum: 0.9}"),
        "optimizers[0].momentum",
        "unknown key 'momentum' for gd; "
        "allowed keys are 'label', 'method', 'color', 'batch_size', 'clip_norm', "
        "'noise', 'internals', 'lr', 'lr_final', 'decay_steps'",
        id="key-of-another-method",
    ),
    pytest.param(
        with_optimizers("{method: adam, lr: 1, beta_1: 0.9}"),
        "optimizers[0].beta_1",
        "did you mean 'beta1'?",
        id="typo-hyperparameter",
    ),
    pytest.param(
        BASE + "animation: {fsp: 30}\n",
        "animation.fsp",
        "did you mean 'fps'?",
        id="unknown-animation-key",
    ),
    pytest.param(
        BASE + "view: {z: [0, 1]}\n",
        "view.z",
        "allowed keys are 'x', 'y'",
        id="unknown-view-key",
    ),
    pytest.param(
        BASE + "animation: {formats: [gif, mp5]}\n",
        "animation.formats[1]",
        "'mp5' is not a valid value; supported values are 'mp4', 'gif', 'png', 'html'; "
        "did you mean 'mp4'?",
        id="unknown-format",
    ),
    # hyperparameter ranges (the optimizer registry's)
    pytest.param(
        with_optimizers("{method: gd, lr: -0.01}"),
        "optimizers[0].lr",
        "lr must be > 0; got -0.01",
        id="negative-lr",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: 0}"),
        "optimizers[0].lr",
        "lr must be > 0; got 0",
        id="zero-lr",
    ),
    pytest.param(
        with_optimizers("{method: nesterov, lr: 1, momentum: 1}"),
        "optimizers[0].momentum",
        "momentum must be in [0, 1); got 1",
        id="momentum-one",
    ),
    pytest.param(
        with_optimizers("{method: adam, lr: 1, beta2: 1.5}"),
        "optimizers[0].beta2",
        "beta2 must be in [0, 1); got 1.5",
        id="beta2-too-big",
    ),
    pytest.param(
        with_optimizers("{method: rmsprop, lr: 1, beta: -0.1}"),
        "optimizers[0].beta",
        "beta must be in [0, 1); got -0.1",
        id="beta-negative",
    ),
    pytest.param(
        with_optimizers("{method: adagrad, lr: 1, eps: 0}"),
        "optimizers[0].eps",
        "eps must be > 0; got 0",
        id="eps-zero",
    ),
    # numbers: booleans are not numbers, text must look like one, finite only
    pytest.param(
        with_optimizers("{method: gd, lr: true}"),
        "optimizers[0].lr",
        "must be a number; got true/false",
        id="bool-lr",
    ),
    pytest.param(
        BASE.replace("50", "yes"),
        "iterations",
        "must be a number; got true/false",
        id="yes-iterations",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: fast}"),
        "optimizers[0].lr",
        "must be a number; got 'fast'",
        id="text-lr",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: '1,5'}"),
        "optimizers[0].lr",
        "must be a number; got '1,5'",
        id="comma-number",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: [1]}"),
        "optimizers[0].lr",
        "must be a number; got a list",
        id="list-lr",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: null}"),
        "optimizers[0].lr",
        "must be a number; got nothing",
        id="null-lr",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: .nan}"),
        "optimizers[0].lr",
        "must be a finite number; got nan",
        id="nan-lr",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: 1e999}"),
        "optimizers[0].lr",
        "must be a finite number; got inf",
        id="inf-lr",
    ),
    pytest.param(
        BASE.replace("50", "9" * 400),
        "iterations",
        "must be a finite number; got one with 400 digits",
        id="huge-int",
    ),
    pytest.param(
        BASE.replace("50", "0"),
        "iterations",
        "must be between 1 and 1e+12; got 0",
        id="zero-iterations",
    ),
    pytest.param(
        BASE.replace("50", "50.5"),
        "iterations",
        "must be a whole number; got 50.5",
        id="fractional-iterations",
    ),
    pytest.param(
        BASE + "tolerance: -1\n",
        "tolerance",
        "must be >= 0; got -1",
        id="negative-tolerance",
    ),
    # labels
    pytest.param(
        with_optimizers(
            "{label: a, method: gd, lr: 1}", "{label: a, method: adam, lr: 1}"
        ),
        "optimizers[1].label",
        "label 'a' is used twice",
        id="duplicate-label",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: 1}", "{method: gd, lr: 2}"),
        "optimizers[1].label",
        "label 'gd' is used twice",
        id="duplicate-default-label",
    ),
    pytest.param(
        with_optimizers(
            "{label: 1, method: gd, lr: 1}", "{label: '1', method: gd, lr: 2}"
        ),
        "optimizers[1].label",
        "label '1' is used twice",
        id="label-equal-after-text",
    ),
    pytest.param(
        with_optimizers("{label: no, method: gd, lr: 1}"),
        "optimizers[0].label",
        "must be text; got true/false",
        id="bool-label",
    ),
    pytest.param(
        with_optimizers("{method: gd, lr: 1, color: blurple}"),
        "optimizers[0].color",
        "'blurple' is not a colour",
        id="bad-color",
    ),
    # shapes
    pytest.param(
        "surface: beale\noptimizers: {gd: {lr: 1}}",
        "optimizers",
        "must be a list of optimizers; got a mapping",
        id="optimizers-mapping",
    ),
    pytest.param(
        "surface: beale\noptimizers: []",
        "optimizers",
        "needs at least one optimizer",
        id="optimizers-empty",
    ),
    pytest.param(
        with_optimizers("gd"),
        "optimizers[0]",
        "must be a mapping (an optimizer); got text",
        id="optimizer-not-mapping",
    ),
    pytest.param(
        with_optimizers(
            *[f"{{label: o{i}, method: gd, lr: 1}}" for i in range(MAX_OPTIMIZERS + 1)]
        ),
        "optimizers",
        f"at most {MAX_OPTIMIZERS} optimizers; got {MAX_OPTIMIZERS + 1}",
        id="too-many-optimizers",
    ),
    pytest.param(
        BASE + "starts: [1, 2]\n",
        "starts[0]",
        "must be an [x, y] point; got 1",
        id="flat-start",
    ),
    pytest.param(
        BASE + "starts: [[1, 2, 3]]\n",
        "starts[0]",
        "must be an [x, y] point; got [1, 2, 3]",
        id="three-coordinates",
    ),
    pytest.param(
        BASE + "starts: [[1, 2], [0, up]]\n",
        "starts[1][1]",
        "must be a number; got 'up'",
        id="text-coordinate",
    ),
    pytest.param(
        BASE + "starts: []\n",
        "starts",
        "needs at least one [x, y] point",
        id="no-starts",
    ),
    pytest.param(
        BASE + f"starts: {[[0, 0]] * (MAX_STARTS + 1)}\n",
        "starts",
        f"at most {MAX_STARTS} starts",
        id="too-many-starts",
    ),
    pytest.param(
        BASE + "view: {x: [1, 1]}\n",
        "view.x",
        "min must be below max; got [1, 1]",
        id="empty-view",
    ),
    pytest.param(
        BASE + "view: {y: 3}\n",
        "view.y",
        "must be [min, max]; got 3",
        id="view-one-number",
    ),
    pytest.param(
        BASE + "view: [0, 1]\n", "view", "must be a mapping", id="view-not-mapping"
    ),
    pytest.param(
        BASE + "animation: [mp4]\n",
        "animation",
        "must be a mapping (the animation settings); got a list",
        id="animation-list",
    ),
    pytest.param(
        BASE + "animation: {fps: 0}\n",
        "animation.fps",
        "must be between 1 and 120; got 0",
        id="zero-fps",
    ),
    pytest.param(
        BASE + "animation: {frames: 1}\n",
        "animation.frames",
        "must be between 2 and 20000; got 1",
        id="one-frame",
    ),
    pytest.param(
        BASE + "animation: {size: [10, 600]}\n",
        "animation.size[0]",
        "must be between 16 and 4096; got 10",
        id="tiny-width",
    ),
    pytest.param(
        BASE + "animation: {size: 800}\n",
        "animation.size",
        "must be [width, height] in pixels; got 800",
        id="size-one-number",
    ),
    pytest.param(
        BASE + "animation: {formats: []}\n",
        "animation.formats",
        "needs at least one format",
        id="no-formats",
    ),
    pytest.param(
        BASE + "title: yes\n", "title", "must be text; got true/false", id="bool-title"
    ),
    pytest.param(
        BASE + "title: [a]\n", "title", "must be text; got a list", id="list-title"
    ),
    pytest.param(
        BASE + "output: 5\n",
        "output",
        "must be a folder path as text; got a number",
        id="number-output",
    ),
    pytest.param(
        BASE + "output: ' '\n",
        "output",
        "must be a folder path as text",
        id="blank-output",
    ),
    pytest.param(
        BASE + "1: 2\n", "", "keys must be text; got a number 1", id="number-key"
    ),
    pytest.param(
        BASE + '"a\\nb": 1\n', "'a\\nb'", "unknown key 'a\\nb'", id="newline-in-key"
    ),
    pytest.param(
        BASE.replace("50", str(MAX_POINTS)),
        "iterations",
        f"more than the {MAX_POINTS:,} a run may keep",
        id="points-limit",
    ),
]


@pytest.mark.parametrize(("text", "key_path", "fragment"), BAD)
def test_bad_config_names_file_key_path_and_problem(tmp_path, text, key_path, fragment):
    path, error = error_of(tmp_path, text)
    message = str(error)
    where = f"{path}: {key_path}: " if key_path else f"{path}: "
    assert message.startswith(where), message
    assert fragment in message
    assert (error.source, error.path) == (str(path), key_path)
    assert "\n" not in message


# --- files that are not configs at all: (id, content, part of the message) --

NOT_CONFIGS = [
    pytest.param(
        None, "cannot read the file: No such file or directory", id="missing-file"
    ),
    pytest.param(
        "surface: b\xe9ale\n".encode("latin-1"),
        "not UTF-8 text (byte 10); save the file as UTF-8",
        id="not-utf8",
    ),
    pytest.param(BASE.encode("utf-16"), "not UTF-8 text (byte 0)", id="utf16"),
    pytest.param(
        "surface: beale\noptimizers: [\n",
        "not valid YAML: line 3, column 1:",
        id="unclosed-list",
    ),
    pytest.param(
        "surface: beale\n  iterations: 5\n",
        "not valid YAML: line 2, column 13: mapping values are not allowed here",
        id="bad-indent",
    ),
    pytest.param(
        "surface: beale\n\titerations: 5\n",
        "not valid YAML: line 2, column 1: "
        "found character '\\t' that cannot start any token",
        id="tab-indent",
    ),
    pytest.param(
        "surface: *s\n",
        "not valid YAML: line 1, column 10: found undefined alias 's'",
        id="undefined-alias",
    ),
    pytest.param(
        "surface: beale\noptimizers: !!python/object:os.system {}\n",
        "line 2, column 13: the tag '!!python/object:os.system' is not allowed",
        id="python-object",
    ),
    pytest.param(
        "surface: !shape beale\n",
        "line 1, column 10: the tag '!shape' is not allowed",
        id="unknown-tag",
    ),
    pytest.param(
        "",
        "the config is empty; it needs at least 'surface' and 'optimizers'",
        id="empty",
    ),
    pytest.param("# surface: beale\n\n", "the config is empty", id="only-comments"),
    pytest.param("~\n", "the config is empty", id="null"),
    pytest.param(
        "- surface: beale\n",
        "must be a mapping (the config); got a list",
        id="top-level-list",
    ),
    pytest.param(
        "surface beale\n",
        "must be a mapping (the config); got text",
        id="top-level-text",
    ),
    pytest.param(
        "a: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply", id="deeply-nested"
    ),
    pytest.param(
        "surface: beale\niterations: 10\noptimizers: [{method: adam}]\n"
        "iterations: 20\n",
        "line 4, column 1: the key 'iterations' is given twice in one mapping "
        "(first on line 2); keep one",
        id="duplicate-top-level-key",
    ),
    pytest.param(
        "surface: beale\noptimizers:\n  - method: adam\n    lr: 0.1\n    lr: 0.2\n",
        "line 5, column 5: the key 'lr' is given twice in one mapping "
        "(first on line 4); keep one",
        id="duplicate-hyperparameter",
    ),
    pytest.param(
        "surface: beale\noptimizers: [{method: adam, lr: 0.1, lr: 0.1}]\n",
        "the key 'lr' is given twice",  # even when both say the same
        id="duplicate-in-flow-mapping",
    ),
]


def test_a_merged_key_may_be_overridden(tmp_path):
    """``<<`` merges a mapping in: overriding one of its keys is not a repeat."""
    text = (
        "surface: beale\noptimizers:\n"
        "  - &fast {method: adam, lr: 0.1}\n"
        "  - {<<: *fast, lr: 0.2, label: slow}\n"
    )
    c = load_text(tmp_path, text)
    assert [o.params["lr"] for o in c.optimizers] == [0.1, 0.2]


@pytest.mark.parametrize(("content", "fragment"), NOT_CONFIGS)
def test_unusable_file_gives_one_clear_error(tmp_path, content, fragment):
    path = tmp_path / "cfg.yaml"
    if content is not None:
        write(tmp_path, content)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert fragment in message
    assert "\n" not in message


def test_a_folder_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match=r": cannot read the file: it is a folder$"):
        config.load(tmp_path)


def test_python_tags_are_never_executed(tmp_path):
    marker = tmp_path / "ran"
    text = f"surface: !!python/object/apply:os.system ['touch {marker}']\n"
    _, error = error_of(tmp_path, text)
    assert "is not allowed" in str(error)
    assert not marker.exists()


# --- any value anywhere: a Config or a one-line ConfigError at that key ----

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["1e-3", "gd", "adam", "beale", "mp4", "", "\n"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["lr", "method", "x", "fps"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
PLACES = [
    ("title",),
    ("surface",),
    ("starts",),
    ("iterations",),
    ("tolerance",),
    ("view",),
    ("optimizers",),
    ("animation",),
    ("output",),
    ("optimizers", 0),
    ("optimizers", 0, "lr"),
    ("optimizers", 0, "method"),
    ("optimizers", 0, "label"),
    ("optimizers", 0, "momentum"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PLACES), VALUES)
def test_any_value_gives_a_config_or_a_located_one_line_error(place, value):
    data = {
        "surface": "beale",
        "iterations": 50,
        "optimizers": [{"method": "momentum", "lr": 0.1}],
    }
    parent = data
    for part in place[:-1]:
        parent = parent[part]
    parent[place[-1]] = value
    try:
        c = config.parse(data, source="f.yaml")
    except ConfigError as e:
        message = str(e)
        assert "\n" not in message and "\r" not in message
        key_path = ".".join(str(p) for p in place).replace(".0", "[0]")
        # the error is at the key that was changed, or inside it
        assert e.path.startswith(key_path), (e.path, key_path)
        assert message.startswith(f"f.yaml: {e.path}: " if e.path else "f.yaml: ")
    else:
        assert c.iterations * len(c.optimizers) * len(c.starts) <= MAX_POINTS
        assert all(math.isfinite(v) for o in c.optimizers for _, v in o.hyperparameters)


# --- view: auto, and animation settings written at the top level -----------


def test_view_auto_keeps_the_surfaces_window_for_the_run(tmp_path):
    c = load_text(tmp_path, BASE + "view: auto\n")
    assert c.fit_view
    assert (c.xlim, c.ylim) == (c.surface.xlim, c.surface.ylim)
    assert not load_text(tmp_path, BASE).fit_view


@pytest.mark.parametrize(
    ("extra", "key_path", "message"),
    [
        pytest.param(
            "theme: dark\n",
            "theme",
            "unknown key 'theme' at the top level; it is an animation setting: "
            "did you mean 'animation.theme'?",
            id="theme",
        ),
        pytest.param(
            "frames: 100\n",
            "frames",
            "unknown key 'frames' at the top level; it is an animation setting: "
            "did you mean 'animation.frames'?",
            id="frames",
        ),
        pytest.param(
            "view: 3d\n",
            "view",
            "'3d' is not a view window; supported values are 'auto' (the "
            "surface's window fitted to the paths) or {x: [min, max], y: [min, "
            "max]}; '3d' is a way to draw the surface: did you mean "
            "'animation.view'?",
            id="view-3d",
        ),
        pytest.param(
            "view: Auto\n",
            "view",
            "did you mean 'auto'?",
            id="view-Auto",
        ),
    ],
)
def test_animation_settings_at_the_top_level_say_where_they_belong(
    tmp_path, extra, key_path, message
):
    path, e = error_of(tmp_path, BASE + extra)
    assert str(e).startswith(f"{path}: {key_path}: ")
    assert message in str(e)
    assert "\n" not in str(e)
