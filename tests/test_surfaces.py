import numpy as np
import pytest

from optviz.surfaces import SURFACES

NAMES = sorted(SURFACES)


def central_difference(f, p, h=1e-6):
    p = np.asarray(p, dtype=float)
    out = np.empty_like(p)
    for axis in range(2):
        e = np.zeros(2)
        e[axis] = h
        out[..., axis] = (f(p + e) - f(p - e)) / (2 * h)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    s = SURFACES[name]
    rng = np.random.default_rng(0)
    lo = np.array([s.xlim[0], s.ylim[0]])
    hi = np.array([s.xlim[1], s.ylim[1]])
    p = lo + (hi - lo) * rng.random((50, 2))
    exact = s.grad(p)
    approx = central_difference(s.f, p)
    scale = np.maximum(1.0, np.abs(exact))
    assert np.all(np.abs(exact - approx) / scale < 1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_are_minima(name):
    s = SURFACES[name]
    for m in s.minima:
        assert s.f(np.array(m.point)) == pytest.approx(m.value, abs=1e-6)
        assert np.linalg.norm(s.grad(np.array(m.point))) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_any_leading_shape(name):
    s = SURFACES[name]
    grid = np.zeros((3, 4, 2))
    assert s.f(grid).shape == (3, 4)
    assert s.grad(grid).shape == (3, 4, 2)


def test_beale_facts_the_lecture_configs_rely_on():
    beale = SURFACES["beale"]
    assert beale.f(np.array([3.0, 0.5])) == 0.0
    # the saddle at (0, 1) whose lines x = 0 and y = 1 fence off the valley
    assert beale.f(np.array([0.0, 1.0])) == pytest.approx(14.203125)
    assert np.allclose(beale.grad(np.array([0.0, 1.0])), 0.0)
    # gradient at opt 2's start, as quoted in the lecture-videos issue
    np.testing.assert_allclose(
        beale.grad(np.array([-3.0, 3.0])), (-4286, 13021), rtol=1e-3
    )
