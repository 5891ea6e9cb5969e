"""The effect of each axis of a sweep: for every choice that varies (model, layer, pooling, weighting, bias
removal, template, post-processing, ...), each level's mean family average over the cells that have it, and
its difference to a reference level (the plainest choice where it is present, else the first), with
intervals from the same item resamples: resample b of a level's mean averages resample b of its cells. And
the strongest two-way interaction: the pair of axes whose table of means departs most from the sum of their
separate effects.

On a full cross product (a preset's sweep) every level is averaged over the same combinations of the other
axes; on a ragged set of cells the `cells` column says what each mean stands on."""
from itertools import combinations

import numpy as np
import pandas as pd

from ..stats.resample import interval
from ..tasks import FAMILIES
from .evidence import Evidence, interval_text
from .tables import SIMPLEST, family_table

AXES = ("model", "w", "layer", "pooling", "special_tokens", "weighting", "bias_removal", "template", "postproc", "fit_on")


def effects(frame: pd.DataFrame, family: str, evidence: Evidence) -> tuple[pd.DataFrame, str, int]:
    """(one row per axis level: cells, mean, its interval, difference to the reference and its interval and
    whether that interval leaves out 0; the strongest interaction in words; cells left out for lack of outputs)."""
    table = family_table(frame, family, every_column=True)
    if table.empty:
        return pd.DataFrame(), "", 0
    name = f"{family}/avg/{FAMILIES[family].headline[0]}"
    table["_cell"] = table.attrs["cells"]
    table = table.dropna(subset=["avg"])
    found = {c: evidence.values(c) for c in table["_cell"]}
    usable = table[[found[c] is not None and name in found[c] for c in table["_cell"]]].reset_index(drop=True)
    left_out = len(table) - len(usable)
    axes = independent([a for a in AXES if a in usable and usable[a].astype(str).nunique() > 1], usable)
    if len(usable) < 2 or not axes:
        return pd.DataFrame(), "", left_out
    values = np.stack([found[c][name] for c in usable["_cell"]])  # cells x resamples
    points = usable["avg"].to_numpy()
    level = evidence.settings.level
    rows = []
    for axis in axes:
        labels = usable[axis].astype(str)
        levels = sorted(labels.unique(), key=lambda v: (v != str(SIMPLEST.get(axis, "")), v))
        reference = levels[0]
        ref_point, ref_values = points[labels == reference].mean(), values[(labels == reference).to_numpy()].mean(axis=0)
        for value in levels:
            mask = (labels == value).to_numpy()
            mean, resampled = points[mask].mean(), values[mask].mean(axis=0)
            low, high = interval(resampled - ref_values, level)
            rows.append({"axis": axis, "level": value, "cells": int(mask.sum()), "mean": round(float(mean), 2),
                         "interval": interval_text(*interval(resampled, level)),
                         "difference": round(float(mean - ref_point), 2),
                         "difference interval": "reference" if value == reference else interval_text(low, high),
                         "clear": "" if value == reference else ("yes" if low > 0 or high < 0 else "no")})
    return pd.DataFrame(rows), strongest_interaction(usable, axes, points), left_out


def independent(axes: list[str], cells: pd.DataFrame) -> list[str]:
    """The axes less those an earlier one determines (`fit_on` is n/a exactly where `postproc=none`): their
    "effect" would be the other's again."""
    kept = []
    for axis in axes:
        if not any((cells.groupby(cells[a].astype(str))[axis].nunique(dropna=False) == 1).all() for a in kept):
            kept.append(axis)
    return kept


def strongest_interaction(cells: pd.DataFrame, axes: list[str], points: np.ndarray) -> str:
    """The pair of axes whose two-way table of mean scores departs most from additive (the largest |residual|
    of mean - row effect - column effect), said in one sentence with where it departs."""
    best = None
    for a, b in combinations(axes, 2):
        means = pd.DataFrame({"a": cells[a].astype(str), "b": cells[b].astype(str), "y": points}) \
            .pivot_table(index="a", columns="b", values="y", aggfunc="mean")
        if means.isna().any().any() or min(means.shape) < 2:
            continue
        residual = means.sub(means.mean(axis=1), axis=0).sub(means.mean(axis=0), axis=1) + means.values.mean()
        where = np.unravel_index(np.abs(residual.values).argmax(), residual.shape)
        size = float(np.abs(residual.values).max())
        if best is None or size > best[0]:
            best = (size, a, b, means.index[where[0]], means.columns[where[1]], float(residual.values[where]))
    if best is None:
        return ""
    size, a, b, level_a, level_b, signed = best
    return (f"The strongest two-way interaction is {a} x {b}: {a}={level_a} with {b}={level_b} scores {signed:+.2f} "
            f"points against what their separate effects add up to (the largest departure from additive of any pair).")


def effects_figure(table: pd.DataFrame, family: str, path, level: float):
    """Each axis's levels as their difference to the reference, with the interval as an error bar."""
    import matplotlib.pyplot as plt

    shown = table[table["difference interval"] != "reference"]
    if shown.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.32 * len(shown)))
    y = np.arange(len(shown))[::-1]
    bounds = np.array([[float(v) for v in s.strip("[]").split(",")] for s in shown["difference interval"]])
    diff = shown["difference"].to_numpy()
    ax.errorbar(diff, y, xerr=[diff - bounds[:, 0], bounds[:, 1] - diff], fmt="o", capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    references = table[table["difference interval"] == "reference"].set_index("axis")["level"]
    ax.set_yticks(y, [f"{a}: {lv} (vs {references[a]})" for a, lv in zip(shown["axis"], shown["level"])], fontsize=8)
    ax.set(xlabel=f"difference in the {FAMILIES[family].label} average (x100), {level:.0%} interval",
           title=f"{family}: the effect of each choice")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
