"""Evidence: bootstrap intervals of every headline score, paired comparisons of cells on the same resamples,
and the set of cells tied with the best.

`resample.py` draws the resamples (seeded per dataset, so every cell scored on a dataset sees the same ones);
`weighted.py` holds the statistics a family computes on them (ranks, correlations, contingency tables, with
each item counted as often as it was drawn); `intervals.py` turns a cell's resampled scores into intervals;
`paired.py` compares cells. Imports no torch and no scikit-learn.
"""
from .resample import Settings

__all__ = ["Settings"]
