"""Diagnostics against the IsoScore package, closed forms and known cases."""
import numpy as np
import pytest

from sentgrid import diagnostics


@pytest.mark.parametrize("seed,scale", [(0, [1.0] * 8), (1, [5, 1, 1, 0.1, 1, 1, 2, 1]), (2, [1, 0, 0, 0, 0, 0, 0, 0.01])])
def test_isoscore_equals_the_isoscore_package(seed, scale):
    from IsoScore.IsoScore import IsoScore

    points = np.random.default_rng(seed).standard_normal((500, 8)) * np.array(scale)
    assert diagnostics.isoscore(points) == pytest.approx(float(IsoScore(points)), abs=1e-6)


def test_isoscore_known_cases():
    rng = np.random.default_rng(0)
    assert diagnostics.isoscore(rng.standard_normal((20000, 10))) > 0.99   # isotropic
    line = np.outer(rng.standard_normal(500), rng.standard_normal(10))
    assert diagnostics.isoscore(line) == pytest.approx(0.0, abs=1e-6)     # one direction
    # Orientation matters: points are rows. Half the dimensions used -> about half the score.
    half = np.hstack([rng.standard_normal((20000, 5)), np.zeros((20000, 5))])
    assert 0.35 < diagnostics.isoscore(half) < 0.5


def test_average_cosine_alignment_uniformity_match_their_definitions():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((40, 6))
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    pairs = [(i, j) for i in range(40) for j in range(40) if i != j]
    assert diagnostics.average_cosine(points) == pytest.approx(np.mean([unit[i] @ unit[j] for i, j in pairs]))
    other = points + 0.1 * rng.standard_normal((40, 6))
    unit_other = other / np.linalg.norm(other, axis=1, keepdims=True)
    assert diagnostics.alignment(points, other) == pytest.approx(np.mean(np.sum((unit - unit_other) ** 2, axis=1)))
    expected = np.log(np.mean([np.exp(-2 * np.sum((unit[i] - unit[j]) ** 2)) for i, j in pairs if i < j]))
    assert diagnostics.uniformity(points) == pytest.approx(expected)
    assert diagnostics.average_cosine(np.ones((5, 3))) == pytest.approx(1.0)
