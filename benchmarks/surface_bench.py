"""How long does building a surface take? Run: python benchmarks/surface_bench.py

For every built-in surface: parse its formula, differentiate it and print f,
∇f and ∇²f as NumPy code (what a first run did before the built-ins' code shipped,
and what a formula of one's own costs once), timed in a fresh process with an
empty cache and the shipped code left out, so that no cache helps; SymPy's own
import is reported separately.
Also the cost of one gradient call on the 14-row lecture batch, against the
hand-written Beale gradient a formula replaces.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import timeit

import numpy as np

PROBE = """
import time
t = time.perf_counter()
import sympy
imported = time.perf_counter() - t
from optviz import surfaces
from optviz.surfaces import cache
cache.shipped = dict
t = time.perf_counter()
surfaces.get({name!r})
print(imported, time.perf_counter() - t)
"""


def beale_by_hand(p):
    x, y = p[..., 0], p[..., 1]
    y2 = y * y
    y3 = y2 * y
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y3
    gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    gy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    return np.stack((gx, gy), axis=-1)


def main() -> None:
    from optviz import surfaces

    print("building each built-in surface in a fresh process (seconds):")
    worst = 0.0
    for name in surfaces.builtin_names():
        with tempfile.TemporaryDirectory() as empty:
            out = subprocess.run(
                [sys.executable, "-c", PROBE.format(name=name)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "OPTVIZ_CACHE_DIR": empty},
            ).stdout.split()
        imported, built = float(out[0]), float(out[1])
        worst = max(worst, built)
        print(f"  {name:<18} {built:6.3f}   (sympy import {imported:.3f})")
    print(f"  slowest build: {worst:.3f} s (target: well under 1 s)")

    beale = surfaces.get("beale")
    p = np.random.default_rng(0).uniform(-4, 4, (14, 2))
    n = 20_000
    ours = timeit.timeit(lambda: beale.grad(p), number=n) / n
    hand = timeit.timeit(lambda: beale_by_hand(p), number=n) / n
    print(
        f"one Beale gradient on 14 points: formula {ours * 1e6:.1f} µs, "
        f"hand-written {hand * 1e6:.1f} µs ({ours / hand:.2f}×)"
    )


if __name__ == "__main__":
    main()
