"""What optviz knows, as text: every registry's entries with their help
(``optviz list``), read from the registries themselves."""

from __future__ import annotations

LISTS = ("surfaces", "methods", "formats", "panels", "schedules", "themes")


def text(what: str | None = None) -> str:
    """The list ``what`` (one of :data:`LISTS`), or all of them."""
    from optviz import surfaces
    from optviz.config import ENTRY_OPTIONS
    from optviz.draw.panels import PANELS
    from optviz.draw.schedules import SCHEDULES
    from optviz.draw.themes import THEMES
    from optviz.optim.methods import METHODS
    from optviz.output.writers import WRITERS

    lines: list[str] = []
    shown = [w for w in LISTS if what in (None, w)]
    for i, which in enumerate(shown):
        if i:
            lines.append("")
        if which == "surfaces":
            lines.append("Surfaces (surface: NAME; see them with 'optviz show NAME'):")
            for name in surfaces.builtin_names():
                lines.append(_describe_surface(surfaces.builtin(name)))
        elif which == "methods":
            from optviz.optim.lr_schedules import LR_SCHEDULES, WARMUP

            lines.append("Methods (method: NAME, then its hyperparameters):")
            for m in METHODS.values():
                lines.append(f"  {m.name:<12} {m.summary}")
                lines += [_setting(h) for h in m.hyperparameters]
            from optviz.optim import plugins

            lines.append(
                "Methods from outside optviz (naming one runs its code, like a "
                "conftest.py):"
            )
            lines.append(
                f"  {'./FILE.py:NAME':<12} the method(...) NAME of a Python file, "
                "its path relative to the config"
            )
            lines.append(
                f"  {'torch:CLASS':<12} a PyTorch optimizer: torch:AdamW, "
                "torch:package.module.Class"
            )
            for name, where in plugins.installed().items():
                lines.append(f"  {name:<12} {where}")
            lines.append("Every method also takes:")
            for key, text in ENTRY_OPTIONS:
                lines.append(f"  {key:<12} {text}")
            lines.append(
                "Learning-rate schedules (lr: {schedule: NAME, SETTING: value, "
                "...}, for every method whose lr allows one; ε_k is the rate of "
                "the update after k updates, torch.optim.lr_scheduler's convention):"
            )
            for kind in LR_SCHEDULES.values():
                lines.append(f"  {kind.name:<12} {kind.summary}")
                if kind.torch:
                    lines.append(f"  {'':<12}   (torch: {kind.torch})")
                lines += [_setting(h) for h in kind.settings]
            lines.append(
                "Every schedule but warmup also takes a linear warm-up (after it "
                "the schedule runs from its start):"
            )
            lines += [_setting(h) for h in WARMUP]
        else:
            entries = {
                "formats": (
                    "Output formats (animation.formats: [NAME, ...]; file "
                    "<name>.SUFFIX):",
                    {n: w.summary() for n, w in WRITERS.items()},
                ),
                "panels": (
                    "Panels (animation.panels: [NAME, ...]; beside the contours):",
                    {n: p.summary for n, p in PANELS.items()},
                ),
                "schedules": (
                    "Schedules (animation.schedule: NAME; which iteration each "
                    "frame shows):",
                    {n: s.summary for n, s in SCHEDULES.items()},
                ),
                "themes": (
                    "Themes (animation.theme: NAME):",
                    {n: t.summary for n, t in THEMES.items()},
                ),
            }
            heading, rows = entries[which]
            lines.append(heading)
            for name, text in rows.items():
                lines.append(f"  {name:<12} {text}")

    return "\n".join(lines)


def _setting(h) -> str:
    """One hyperparameter (or schedule setting) of ``optviz list methods``."""
    default = "required" if h.default is None else f"default {_word(h.default)}"
    return f"  {'':<12}   {h.key:<9} {h.symbol:<3} {h.help}; {h.allowed()}; {default}"


def _word(value) -> str:
    """A default as YAML would write it: true, pr, 0.9."""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else format(value, "g")


def _describe_surface(d) -> str:
    """A built-in surface's entry in ``optviz list``, from its file alone
    (nothing is compiled, so the list is quick)."""

    def point(m) -> str:
        return f"({m.x:.6g}, {m.y:.6g}) f={m.value:.6g}"

    minima = [m for m in d.minima if m.kind != "saddle"]
    saddles = [m for m in d.minima if m.kind == "saddle"]
    glob = [point(m) for m in minima if m.kind == "global"]
    local = [point(m) for m in minima if m.kind == "local"]
    if d.data:
        formula = "mean squared error of a line fit to generated examples"
    else:
        formula = d.formula
    lines = [f"  {d.name:<17} {d.description}", f"  {'':<17} f = {formula}"]
    facts = [f"view x {list(d.xlim)}, y {list(d.ylim)}"]
    if d.parameters:
        settings = ", ".join(f"{k}={v:g}" for k, v in d.parameters)
        facts.append(("data: " if d.data else "parameters: ") + settings)
    lines.append(f"  {'':<17} " + "; ".join(facts))
    if glob:
        lines.append(f"  {'':<17} global minima: " + "; ".join(glob))
    if local:
        lines.append(f"  {'':<17} local minima: " + "; ".join(local))
    if saddles:
        lines.append(f"  {'':<17} saddles: " + "; ".join(point(m) for m in saddles))
    if d.nondifferentiable:
        lines.append(f"  {'':<17} not differentiable {d.nondifferentiable}")
    return "\n".join(lines)
