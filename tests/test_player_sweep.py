"""A sweep in the html player: one page, a slider over the variants.

The page carries every variant's runs (decimated as the player's are), its
legend and the names of its pictures; the contours are kept once. The
browser tests (a real headless Chromium, ``tests/browser.py``) move the
sliders with real input events and check that the heads jump to that
variant's run at the same iteration (as the variant's own run alone, without
the sweep, computes it), that the legend and keys keep working, and that a
screenshot of variant j is optviz's own still of variant j.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import browser
import numpy as np
import pytest
import yaml
from runs import SWEEP_BASE

from optviz import api, pipeline
from optviz import config as config_module
from optviz.cli import main
from optviz.draw.backdrop import house_style
from optviz.draw.figure import Renderer
from optviz.errors import ConfigError
from optviz.explore import MAX_PLAYER_VARIANTS
from optviz.snapshot import rms

ROOT = Path(__file__).resolve().parent.parent
# The lecture's opt 1 (configs/lecture/1gd.yaml) with a sweep of five rates.
EXAMPLE = ROOT / "configs" / "examples" / "beale_lr_slider.yaml"
# As the player's own screenshot test allows (tests/test_player_browser.py).
TOLERANCE = 1.5
MOST_BYTES = 2_000_000

SMALL = {**SWEEP_BASE, "animation": {**SWEEP_BASE["animation"], "size": [480, 360]}}


def small(tmp_path: Path | None = None, name: str = "s", **changes):
    """The small config with ``changes``, parsed (or written, with a folder)."""
    data = {**SMALL, **changes}
    if tmp_path is None:
        return config_module.parse(data, source=f"{name}.yaml", stem=name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def page_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    found = re.search(r'id="optviz-data">(.*?)</script>', text, re.S)
    assert found
    return json.loads(found.group(1))


def seven(v: float) -> float:
    return float(f"{v:.7g}")


# -- the sliders ---------------------------------------------------------------


def test_a_crossed_sweep_has_a_slider_per_key_the_last_fastest():
    c = small(sweep={"optimizer": "adam", "lr": [0.01, 0.1], "beta1": [0.5, 0.9, 0.99]})
    sliders = pipeline.sweep_sliders(api.run(c))
    assert [(s.name, s.values) for s in sliders] == [
        ("ε (lr)", ("0.01", "0.1")),
        ("β1 (beta1)", ("0.5", "0.9", "0.99")),
    ]
    # variant i is the sliders' positions in mixed radix, as the labels say
    assert c.optimizers[1 + 2 * 3 - 1].label == "adam ε=0.1, β1=0.99"
    assert c.optimizers[1 + 1 * 3 + 0].label == "adam ε=0.1, β1=0.5"


def test_a_zipped_sweep_has_one_slider_naming_every_key():
    c = small(
        sweep={"optimizer": "gd", "lr": [0.01, 0.1], "starts": [[1, 1], [-2, 2]],
               "combine": "zip"}
    )  # fmt: skip
    (slider,) = pipeline.sweep_sliders(api.run(c))
    assert slider.name == "ε (lr), start"
    assert slider.values == ("0.01, (1, 1)", "0.1, (-2, 2)")
    # crossed with a value repeated, the keys' positions do not name a
    # variant: one slider over them all
    c = small(sweep={"optimizer": "adam", "lr": [0.1, 0.1], "beta1": [0.5, 0.9]})
    (slider,) = pipeline.sweep_sliders(api.run(c))
    assert slider.name == "ε (lr), β1 (beta1)"
    assert slider.values == ("0.1, 0.5", "0.1, 0.9", "0.1, 0.5", "0.1, 0.9")


# -- bad input -----------------------------------------------------------------


def test_a_sweep_too_large_for_one_page_is_refused_where_the_config_is_read(
    tmp_path, capsys
):
    sweep = {
        "optimizer": "gd",
        "lr": {"geomspace": [1e-3, 0.1, MAX_PLAYER_VARIANTS + 1]},
    }
    with pytest.raises(ConfigError) as e:
        small(sweep=sweep, animation={**SMALL["animation"], "formats": ["html"]})
    assert str(e.value) == (
        f"s.yaml: sweep: the html player shows at most {MAX_PLAYER_VARIANTS} "
        f"variants of a sweep; this one has {MAX_PLAYER_VARIANTS + 1}: sweep fewer "
        "values, or drop html"
    )
    # without html the same sweep is fine (an overlay and the loss)
    assert len(small(sweep=sweep).sweep.variants) == MAX_PLAYER_VARIANTS + 1
    # --html asks for the player: refused before anything runs, one line, exit 2
    path = small(tmp_path, "big", sweep=sweep)
    out = tmp_path / "out"
    assert main(["run", str(path), "--html", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: sweep: the html player shows at most" in err
    assert not out.exists()


def test_a_sweep_on_a_3d_view_has_no_player(tmp_path, capsys):
    sweep = {"optimizer": "gd", "lr": [0.01, 0.1]}
    animation = {**SMALL["animation"], "view": "3d"}
    with pytest.raises(ConfigError, match="the html player shows the 2-D view only"):
        small(sweep=sweep, animation={**animation, "formats": ["html"]})
    path = small(tmp_path, "solid", sweep=sweep, animation=animation)
    assert main(["run", str(path), "--html", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path}: animation.view: the html player shows the 2-D view only" in err


# -- the page ------------------------------------------------------------------


@pytest.mark.render
def test_optviz_run_writes_the_sweeps_player_as_the_formats_ask(tmp_path):
    sweep = {"optimizer": "gd", "lr": [0.01, 0.05, 0.1]}
    # html alone: the player, no grid, overlay or loss
    only = small(tmp_path, "only", sweep=sweep,
                 animation={**SMALL["animation"], "formats": ["html"]})  # fmt: skip
    assert main(["run", str(only), "-q", "-o", str(tmp_path / "a")]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "only.html", "trajectories.csv",
    ]  # fmt: skip
    # --html beside the config's formats: the sweep's outputs as before, and it
    both = small(tmp_path, "both", sweep=sweep,
                 animation={**SMALL["animation"], "formats": ["png"]})  # fmt: skip
    assert main(["run", str(both), "-q", "--html", "-o", str(tmp_path / "b")]) == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "both-loss.png", "both-overlay.png", "both.html", "trajectories.csv",
    ]  # fmt: skip
    # and --no-video --html: the player alone
    assert main(["run", str(both), "-q", "--no-video", "--html",
                 "-o", str(tmp_path / "c")]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "both.html", "trajectories.csv",
    ]  # fmt: skip


@pytest.mark.render
def test_the_page_holds_every_variant_and_the_contours_once(tmp_path):
    c = small(sweep={"optimizer": "adam", "lr": [0.01, 0.1], "beta1": [0.5, 0.9]},
              animation={**SMALL["animation"], "formats": ["html"]})  # fmt: skip
    result = api.run(c)
    (path,) = pipeline.write_sweep(result, tmp_path)
    data = page_data(path)
    sweep = data["sweep"]
    assert len(sweep["variants"]) == 4
    backdrops = {v["pictures"]["backdrop"] for v in sweep["variants"]}
    assert backdrops == {"backdrop"}  # one picture of the contours for all
    assert [k for k in data["pictures"] if k.startswith("backdrop")] == ["backdrop"]
    gd = {v["runs"][0] for v in sweep["variants"]}
    assert len(gd) == 1  # the optimizer not swept: its run kept once
    # the view, and the legend's place (its top right corner, as the plot of
    # every variant puts it), are the same under every variant
    assert len({json.dumps(v["axes"]) for v in sweep["variants"]}) == 1
    corners = {(v["legend"][1], v["legend"][2]) for v in sweep["variants"]}
    assert len(corners) == 1
    # a notebook shows the result as this page
    assert pipeline.player_page(result) == path.read_text(encoding="utf-8")
    for j, v in enumerate(sweep["variants"]):
        # on the page the variants are one optimizer, after gd
        assert [e["label"] for e in v["optimizers"]] == [
            "gd",
            c.optimizers[1 + j].label,
        ]
        (own,) = [t for t in result.trajectories if t.optimizer == 1 + j]
        run = sweep["runs"][v["runs"][1]]
        assert run["optimizer"] == 1
        assert run["k"][0] == 0 and run["k"][-1] == len(own.points) - 1
        assert run["x"] == [seven(own.points[k, 0]) for k in run["k"]]
        assert run["y"] == [seven(own.points[k, 1]) for k in run["k"]]


# -- in the browser --------------------------------------------------------------


def alone(config: config_module.Config, variant: int) -> api.Result:
    """The run of one variant of ``config``'s sweep, as a config without
    the sweep computes it."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del data["sweep"]
    ((key, value),) = config.sweep.variants[variant].values
    data["optimizers"][0][key] = value
    return api.run(config_module.parse(data, source="alone.yaml", stem="alone"))


@pytest.fixture(scope="module")
def lecture(tmp_path_factory, chromium):
    """The example's page (the lecture's opt 1, five rates), its run, its
    variants' scenes and the page's schedule."""
    folder = tmp_path_factory.mktemp("sweep-player")
    assert main(["run", str(EXAMPLE), "-q", "-o", str(folder)]) == 0
    path = folder / f"{EXAMPLE.stem}.html"
    result = api.run(api.load_config(EXAMPLE))
    scenes, schedule = pipeline.sweep_player_scenes(result)
    return path, result, scenes, schedule


@pytest.fixture
def visit(chromium, lecture):
    opened = chromium.open(lecture[0])
    yield opened
    assert opened.errors == []
    assert opened.requests == [browser.ADDRESS]  # nothing fetched
    opened.close()


@pytest.mark.render
def test_the_lecture_sweeps_page_is_small(lecture):
    path, result, _, _ = lecture
    assert len(result.config.sweep.variants) == 5
    assert path.stat().st_size < MOST_BYTES


@pytest.mark.render
def test_moving_the_slider_puts_the_heads_on_that_variants_run(visit, lecture):
    _, result, scenes, _ = lecture
    page = visit.page
    with house_style():
        renderer = Renderer(scenes[0])  # the view is the same for every variant
        view, height = renderer.views[0], renderer.size[1]
    tolerance = page_data(lecture[0])["tolerance"]
    slider = page.locator("input.variant")
    assert slider.count() == 1
    assert page.locator(".sweep .value").inner_text() == "ε (lr) = 4e-05"
    k = 777
    visit.eval("k => window.optviz.seek(k)", k)
    moves = [("key", "ArrowRight", 1), ("fill", "3", 3), ("key", "End", 4),
             ("key", "ArrowLeft", 3), ("fill", "2", 2), ("key", "Home", 0)]  # fmt: skip
    for how, what, j in moves:
        if how == "key":
            slider.focus()
            page.keyboard.press(what)
        else:
            slider.fill(what)
        state = visit.eval("window.optviz.state()")
        assert state["variant"] == j, (how, what)
        assert state["iteration"] == k  # the play position stays
        value = f"{dict(result.config.sweep.variants[j].values)['lr']:g}"
        assert page.locator(".sweep .value").inner_text() == f"ε (lr) = {value}"
        assert state["sweep"] == f"ε (lr) = {value}"
        (head,) = state["heads"]
        assert head["label"] == result.config.optimizers[j].label
        (t,) = alone(result.config, j).trajectories
        at = min(k, len(t.points) - 1)
        assert head["iteration"] <= at
        assert head["data"] == [seven(v) for v in t.points[head["iteration"]]]
        drawn = view.pixels(np.asarray([head["data"]]))[0]
        drawn = np.array([drawn[0], height - drawn[1]])
        # the page's transform is the video's: to a thousandth of a pixel in
        # the frame; outside it, the axes' box (kept to 0.0005 pixel) is
        # stretched as many box widths as the head lies away
        box = np.array(renderer.views[0].axes.bbox.extents)
        u = np.abs(drawn - [box[0], height - box[3]]) / (box[2:] - box[:2])
        atol = 1e-3 if (u <= 1).all() else 5e-4 * (1 + 2 * float(u.max()))
        np.testing.assert_allclose(head["pixel"], drawn, atol=atol)
        true = view.pixels(t.points[at : at + 1])[0]
        off = np.hypot(
            head["pixel"][0] - true[0], head["pixel"][1] - (height - true[1])
        )
        assert off <= tolerance + 1e-3
    renderer.close()


@pytest.mark.render
def test_legend_keys_and_play_carry_over_a_switch(visit, lecture):
    page = visit.page
    visit.eval("window.optviz.seek(300)")
    state = visit.eval("i => window.optviz.toggle(i, false)", 0)
    assert state["heads"][0]["shown"] is False
    state = visit.eval("j => window.optviz.variant(j)", 2)
    assert state["visible"] == [False] and state["heads"][0]["shown"] is False
    button = page.locator('.legend button[data-optimizer="0"]')
    assert "ε=0.003" in button.inner_text()  # the legend names the variant
    assert button.get_attribute("aria-pressed") == "false"
    button.click()
    assert visit.eval("window.optviz.state()")["visible"] == [True]
    # the page's keys: the iteration, not the variant, once off the slider
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    state = visit.eval("window.optviz.state()")
    assert state["iteration"] == 301 and state["variant"] == 2
    # the speed and the slider's steps stay; playing, it plays on
    page.locator(".mode").select_option("iterations")
    visit.eval("window.optviz.speed(0.25); window.optviz.play()")
    state = visit.eval("j => window.optviz.variant(j)", 4)
    assert state["playing"] is True and state["variant"] == 4
    assert state["speed"] == 0.25 and state["scrubber"] == "iterations"
    assert page.locator(".scrub").get_attribute("max") == "10000"
    visit.eval("window.optviz.pause()")
    # the readout under the cursor names the variant shown
    state = visit.eval("j => window.optviz.variant(j)", 2)
    (head,) = state["heads"]
    where = page.locator("canvas").bounding_box()
    page.mouse.move(where["x"] + head["pixel"][0] + 1, where["y"] + head["pixel"][1])
    readout = visit.eval("window.optviz.state()")["readout"]
    assert readout["label"] == "gd ε=0.003" and readout["theta"] == head["data"]
    assert "gd ε=0.003" in page.locator(".tip").inner_text()
    assert [v["label"] for v in visit.eval("window.optviz.variants()")] == [
        "ε (lr) = 4e-05", "ε (lr) = 0.0004", "ε (lr) = 0.003", "ε (lr) = 0.005",
        "ε (lr) = 0.007",
    ]  # fmt: skip


@pytest.mark.render
def test_a_screenshot_of_variant_j_is_the_still_of_variant_j(visit, lecture):
    _, _, scenes, schedule = lecture
    shots = ((2, 150), (3, 299), (0, 60))
    stills = {}
    with house_style():
        for j, f in shots:
            renderer = Renderer(scenes[j])
            stills[j] = renderer.frame(int(schedule[f]))[..., :3]
            renderer.close()
    for j, f in shots:
        visit.eval("j => window.optviz.variant(j)", j)
        visit.eval("f => window.optviz.frame(f)", f)
        shot = visit.canvas()
        assert shot.shape == stills[j].shape
        off = rms(stills[j], shot)
        assert off <= TOLERANCE, f"variant {j}, frame {f}: {off:.2f} grey levels RMS"
        # and the comparison tells the variants apart
        for other in stills:
            if other != j:
                assert rms(stills[other], shot) > 2 * TOLERANCE, (j, other)


@pytest.mark.render
def test_two_sliders_pick_a_variant_of_a_crossed_sweep(chromium, tmp_path):
    c = small(sweep={"optimizer": "adam", "lr": [0.01, 0.1], "beta1": [0.5, 0.9, 0.99]},
              animation={**SMALL["animation"], "formats": ["html"]})  # fmt: skip
    result = api.run(c)
    (path,) = pipeline.write_sweep(result, tmp_path)
    visit = chromium.open(path)
    try:
        page = visit.page
        sliders = page.locator("input.variant")
        assert sliders.count() == 2
        visit.eval("window.optviz.seek(10)")
        sliders.nth(1).focus()
        page.keyboard.press("ArrowRight")
        sliders.nth(1).press("ArrowRight")
        sliders.nth(0).fill("1")
        state = visit.eval("window.optviz.state()")
        assert state["variant"] == 1 * 3 + 2 and state["iteration"] == 10
        assert state["sweep"] == "ε (lr) = 0.1, β1 (beta1) = 0.99"
        gd, adam = state["heads"]
        assert adam["label"] == "adam ε=0.1, β1=0.99"
        (t,) = [t for t in result.trajectories if t.optimizer == 1 + 5]
        assert adam["data"] == [seven(v) for v in t.points[adam["iteration"]]]
        (g,) = [t for t in result.trajectories if t.optimizer == 0]
        assert gd["data"] == [seven(v) for v in g.points[gd["iteration"]]]
        values = page.locator(".sweep .value").all_inner_texts()
        assert values == ["ε (lr) = 0.1", "β1 (beta1) = 0.99"]
        assert visit.errors == [] and visit.requests == [browser.ADDRESS]
    finally:
        visit.close()


def test_each_variant_carries_its_own_internals(tmp_path):
    """A swept optimizer's internals are drawn in every variant from its own
    run: the page holds them for each variant's run, and none for gd."""
    optimizers = [
        SMALL["optimizers"][0],
        {**SMALL["optimizers"][1], "internals": ["scaling", "step"]},
    ]
    c = small(optimizers=optimizers, sweep={"optimizer": "adam", "lr": [0.05, 0.2]},
              animation={**SMALL["animation"], "formats": ["html"]})  # fmt: skip
    (path,) = pipeline.write_sweep(api.run(c), tmp_path)
    data = page_data(path)
    sweep = data["sweep"]
    held = []
    for v in sweep["variants"]:
        gd, adam = (sweep["runs"][i] for i in v["runs"])
        assert "internals" not in gd
        assert set(adam["internals"]) and all(
            len(p["x"]) == len(adam["k"]) for p in adam["internals"].values()
        )
        held.append(adam["internals"])
    assert held[0] != held[1]  # each from its own run
    assert all(v["marks"] for v in sweep["variants"])  # and the marks to draw
