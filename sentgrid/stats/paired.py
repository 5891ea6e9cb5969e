"""Two cells scored on the same items, compared on the same resamples; and the cells tied with the best.

The difference's interval is the percentile interval of the per-resample differences. Its p-value comes from
the bootstrap standard error of the difference and the normal distribution, not from counting resamples: a
count over 1,000 resamples cannot go below 1/1001, too coarse for a Holm correction over a sweep's cells
(99 comparisons need p < 0.0005). `tests/unit/test_stats.py` holds the test to its level on synthetic data
(3-7 % rejections at 0.05 under the null, >= 80 % with a planted improvement).

Tied with the best: the best cell (highest point score) against every other, one-sided (is the other worse?),
Holm-corrected over those comparisons; the cells whose hypothesis "as good as the best" is not rejected at
the level are tied with it. Holm keeps the chance of calling any truly-as-good cell worse below 1 - level,
with no assumption about how the comparisons depend on each other (they share the best cell)."""
from dataclasses import dataclass
from math import erfc, sqrt

import numpy as np

from .resample import interval


@dataclass(frozen=True)
class Difference:
    difference: float  # b - a, on all items
    low: float
    high: float
    p: float           # two-sided: the hypothesis that the two cells score alike


def normal_tail(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * erfc(z / sqrt(2))


def paired(a_point: float, b_point: float, a_values: np.ndarray, b_values: np.ndarray, level: float) -> Difference:
    """B - A, with its interval and two-sided p-value, from both cells' scores on the same resamples."""
    differences = b_values - a_values
    finite = differences[np.isfinite(differences)]
    observed = b_point - a_point
    low, high = interval(finite, level)
    return Difference(observed, low, high, _p(observed, finite, two_sided=True))


def _p(observed: float, differences: np.ndarray, two_sided: bool) -> float:
    spread = float(np.std(differences, ddof=1)) if len(differences) > 1 else 0.0
    if spread <= 1e-12 * max(1.0, abs(observed)):  # the same predictions on every item: nothing differs
        return 1.0 if abs(observed) <= 1e-9 else 0.0
    z = observed / spread
    return min(1.0, 2 * normal_tail(abs(z))) if two_sided else normal_tail(z)


def holm(p_values: dict[str, float], alpha: float) -> set[str]:
    """The hypotheses Holm's step-down procedure rejects at family-wise level alpha."""
    rejected = set()
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    for step, (name, p) in enumerate(ordered):
        if p > alpha / (len(ordered) - step):
            break
        rejected.add(name)
    return rejected


def tied_with_best(points: dict[str, float], values: dict[str, np.ndarray], level: float) -> tuple[str, set[str], dict]:
    """(the best cell, the cells tied with it (the best among them), each other cell's one-sided p-value of
    being worse than the best)."""
    best = max(points, key=lambda name: points[name])
    p_values = {}
    for name in points:
        if name != best:
            differences = values[best] - values[name]
            p_values[name] = _p(points[best] - points[name], differences[np.isfinite(differences)], two_sided=False)
    worse = holm(p_values, 1 - level)
    return best, {name for name in points if name not in worse}, p_values
