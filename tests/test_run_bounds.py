"""A run's memory and time are bounded before it starts, with the figures in
the message; minibatches are drawn a few steps at a time; ``optviz snapshot``
refuses a scale it cannot draw and never decodes a stored frame that is not
the size of its own."""

import struct
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest

import optviz
from optviz import config, pipeline, snapshot
from optviz.cli import main
from optviz.errors import ConfigError
from optviz.optim import budget, runner
from optviz.optim.methods import METHODS


def refusal(data) -> str:
    with pytest.raises(ConfigError) as info:
        config.parse(data)
    assert info.value.path == "iterations"
    return str(info.value)


# --- memory and time, estimated up front --------------------------------------


def test_ten_million_iterations_are_refused_with_their_memory():
    """10,000,000 iterations passed validate and then took 1,028 s and 1.9 GiB;
    the bound's comment said half a gigabyte."""
    message = refusal(
        {
            "surface": "beale",
            "starts": [[2, -2]],
            "iterations": 10_000_000,
            "optimizers": [{"method": "gd", "lr": 1e-4}],
        }
    )
    assert "10,000,000 × 1 × 1 = 10,000,000 points" in message
    assert "about 4.7 GiB of memory" in message and "may take 1.0 GiB" in message


def test_a_run_that_fits_in_memory_but_takes_too_long_is_refused_with_its_time():
    lbfgs = [{"label": f"l{i}", "method": "lbfgs"} for i in range(5)]
    message = refusal(
        {
            "surface": "beale",
            "starts": [[2, -2]],
            "iterations": 400_000,
            "optimizers": lbfgs,
        }
    )
    assert "400,000 × 5 × 1 would take about 26 minutes" in message
    assert "more than the 10 minutes a run may take" in message


def test_large_minibatches_count_in_the_time():
    """100,000-example batches from 50 starts: 5 billion example gradients."""
    optimizers = [{"method": "gd", "lr": 0.1, "batch_size": 100_000}]
    data = {
        "surface": {"name": "least_squares", "examples": 100_000},
        "starts": [[0.1 * i, 0.0] for i in range(50)],
        "iterations": 1000,
        "optimizers": optimizers,
    }
    assert "would take about" in refusal(data)
    data["iterations"] = 10  # the same run, short, is fine
    assert config.parse(data).iterations == 10


def test_the_estimate_counts_blocks_rows_examples_and_points():
    gd = METHODS["gd"].build({"lr": 0.1})
    newton = METHODS["newton"].build({})
    one = budget.estimate([gd], 1, 1000)
    assert one.points == 1001 and one.bytes == 1001 * budget.BYTES_PER_POINT
    # a second first-order optimizer joins the fused block: rows only
    two = budget.estimate([gd, gd], 1, 1000)
    assert two.seconds - one.seconds == pytest.approx(
        1000 * budget.FUSED[1] + 1001 * budget.POINT
    )
    # a second-order optimizer is a block of its own
    step, row = budget.SECOND_ORDER["newton"]
    both = budget.estimate([gd, newton], 1, 1000)
    assert both.seconds - one.seconds == pytest.approx(
        1000 * (step + row) + 1001 * budget.POINT
    )
    batched = budget.estimate([gd], 3, 1000, [500])
    plain = budget.estimate([gd], 3, 1000)
    assert batched.seconds - plain.seconds == pytest.approx(
        1000 * 3 * 500 * budget.EXAMPLE
    )


def test_the_lecture_configs_are_far_inside_the_bounds():
    from pathlib import Path

    from optviz.story import is_story_file

    # every config (a story only lists configs, which are among them)
    for path in sorted(Path("configs").glob("*/*.yaml")):
        if is_story_file(path):
            continue
        c = optviz.load_config(path)
        rules = [o.resolved().build(dict(o.hyperparameters)) for o in c.optimizers]
        cost = budget.estimate(
            rules, len(c.starts), c.iterations, [o.batch_size for o in c.optimizers]
        )
        assert cost.seconds * 10 < config.MAX_SECONDS, path
        assert cost.bytes * 10 < config.MAX_MEMORY, path


# --- minibatches ----------------------------------------------------------------


def least_squares(iterations, batch=100_000):
    return config.parse(
        {
            "surface": {"name": "least_squares", "examples": 100_000},
            "starts": [[0.0, 0.0]],
            "iterations": iterations,
            "optimizers": [
                {"method": "gd", "lr": 0.1, "batch_size": batch},
                {"label": "b", "method": "bfgs", "batch_size": batch},
            ],
        }
    )


def test_a_run_on_100000_example_batches_takes_little_memory():
    """A chunk of 256 steps drew all its indices and weights at once: 400 MB
    per row for batches of 100,000 (19 GiB in the issue's config)."""
    parsed = least_squares(300)
    tracemalloc.start()
    try:
        optviz.run(parsed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_drawing_batches_a_few_steps_at_a_time_draws_the_same(monkeypatch):

    def paths():
        pipeline._ROWS.clear()
        return [t.points for t in optviz.run(least_squares(40, 700)).trajectories]

    few = paths()
    monkeypatch.setattr(runner, "_MAX_DRAWN", 10**12)  # a chunk at once
    assert all(np.array_equal(a, b) for a, b in zip(few, paths()))


# --- snapshot -------------------------------------------------------------------


@pytest.mark.parametrize("scale", ["nan", "inf", "-inf", "1e300", "6"])
def test_a_scale_that_cannot_be_drawn_is_one_line(tmp_path, capsys, scale):
    code = main(["snapshot", "configs/lecture/1gd.yaml", "--dir", str(tmp_path),
                 "--scale", scale, "--update"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code in (1, 2) and out == ""
    assert err.startswith("optviz: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and len(err) < 200
    assert not list(tmp_path.iterdir())  # nothing drawn, nothing written


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` × ``height`` pixels: a decompression bomb's
    header, with almost nothing after it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + pixels + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [20_000, 10_000, 100_000])
def test_a_decompression_bomb_in_a_snapshot_is_a_size_difference(tmp_path, side):
    """Pillow raised DecompressionBombError (an internal error) for 400
    million pixels and printed a DecompressionBombWarning for 100 million."""
    path = tmp_path / "frame-first.png"
    path.write_bytes(png_header(side, side))
    ours = np.zeros((270, 360, 3), dtype=np.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (found,) = snapshot.compare_frame(path, ours, 0, image_tol=1,
                                          keep_failed=False)  # fmt: skip
    assert not caught, [str(w.message) for w in caught]
    assert found.what == "frame at iteration 0: size"
    assert (found.expected, found.got) == (f"{side}x{side} pixels", "360x270 pixels")


def test_a_frame_of_the_right_size_but_broken_is_unreadable(tmp_path):
    path = tmp_path / "frame-first.png"
    path.write_bytes(png_header(360, 270))  # its pixels are missing
    ours = np.zeros((270, 360, 3), dtype=np.uint8)
    (found,) = snapshot.compare_frame(path, ours, 0, image_tol=1, keep_failed=False)
    assert found.what.startswith("unreadable (") and "--update" in found.what


def test_a_huge_trajectories_file_is_refused_unread(tmp_path):
    small = snapshot.Snapshot("", {}, ())
    big = tmp_path / snapshot.TRAJECTORIES
    with open(big, "wb") as f:
        f.truncate(8 << 20)
    (found,) = snapshot.compare(small, tmp_path)
    assert "8,388,608 bytes" in found.what and "--update" in found.what
