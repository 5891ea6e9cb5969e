"""Paper figures from recorded results (PNG, matplotlib, no display needed).

0     Every cell's family average as a bar, best first (any sweep feeds it).
1, 2  IsoScore of the corpus representations against the STS / clustering average, with Pearson r.
3     The alignment-uniformity plane (STS-B), one point per pooling and post-processing.
4     Layer-wise family averages per model, with a band of +-1 standard deviation over the family's
      datasets, and first+last as its own tick at the right.
5     BERT + Avg.: the w x layer heatmap of the STS average, the maximum marked.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import pearsonr  # noqa: E402

from ..tasks import FAMILIES  # noqa: E402
from .tables import datasets_of, family_table, variant  # noqa: E402

MOST_BARS = 40


def cell_bars(frame: pd.DataFrame, path: Path) -> Path | None:
    """One panel per family: each cell's family average, best on top (the best 40 when there are more)."""
    tables = {f: with_intervals(family_table(frame, f), frame, f) for f in FAMILIES}
    tables = {f: t.dropna(subset=["avg"]) for f, t in tables.items() if not t.empty}
    tables = {f: t for f, t in tables.items() if not t.empty}
    if not tables:
        return None
    rows = max(min(len(t), MOST_BARS) for t in tables.values())
    fig, axes = plt.subplots(1, len(tables), figsize=(6.5 * len(tables), 1.2 + 0.3 * rows), squeeze=False)
    for ax, (family, table) in zip(axes[0], tables.items()):
        # the varying choices, and the settings family_table added to tell look-alike rows apart
        shown = [c for c in table.attrs["labels"] if c != "fit_on"]
        total = len(table)
        table = table.sort_values("avg", ascending=False).head(MOST_BARS).iloc[::-1]
        labels = [" · ".join(_short(c, r[c]) for c in shown if not pd.isna(r[c])) for _, r in table.iterrows()]
        best = table["avg"] == table["avg"].max()
        ax.barh(np.arange(len(table))[~best.values], table["avg"][~best], color="C0", label="cell")
        ax.barh(np.arange(len(table))[best.values], table["avg"][best], color="C1", label="best")
        lows, highs = (np.array(table.attrs["intervals"], dtype=float)[table.index].T if table.attrs.get("intervals")
                       else (np.full(len(table), np.nan),) * 2)
        if np.isfinite(lows).any():  # the recorded 95% intervals of the family average
            ax.errorbar(table["avg"], np.arange(len(table)), xerr=[table["avg"] - lows, highs - table["avg"]],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=2, label="95% interval")
        ax.set_yticks(range(len(table)), labels, fontsize=8)
        ends = np.fmax(table["avg"].to_numpy(), highs)  # a value is written right of its bar and its interval
        for y, (value, end) in enumerate(zip(table["avg"], ends)):
            ax.text(end, y, f" {value:.2f}", va="center", fontsize=7)
        low = max(0.0, float(np.floor(np.fmin(table["avg"].to_numpy(), lows).min() - 5)))
        ax.set_xlim(low, ends.max() + 0.12 * (ends.max() - low) + 1)  # room for the values
        axis = f" (axis starts at {low:g}, not 0)" if low > 0 else ""
        ax.set(xlabel=FAMILIES[family].axis_label + axis, ylabel=" · ".join(shown),
               title=f"{family}: " + (f"the best {len(table)} of {total} cells" if total > len(table) else f"{total} cells"))
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a bar or a value
        ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def with_intervals(table: pd.DataFrame, frame: pd.DataFrame, family: str) -> pd.DataFrame:
    """The table, its rows' recorded intervals of the family average in `attrs["intervals"]` (by row index)."""
    if table.empty:
        return table
    name = f"{family}/avg/{FAMILIES[family].headline[0]}"
    by_cell = frame.set_index("cell_id")
    table.attrs["intervals"] = [
        (by_cell.at[c, f"{name}/ci_low"], by_cell.at[c, f"{name}/ci_high"]) if f"{name}/ci_low" in by_cell
        else (np.nan, np.nan) for c in table.attrs["cells"]]
    return table


def _short(column: str, value) -> str:
    """A bar label's part: a choice as it is (`avg`), a setting added to tell cells apart as `key=value`."""
    return f"{column}={value}" if "." in column or column == "cell" else str(value)


def isoscore_scatter(frame: pd.DataFrame, family: str, path: Path) -> Path | None:
    data = family_table(frame, family, every_column=True)
    if data.empty or "diagnostics/isoscore" not in data:
        return None
    data = data.dropna(subset=["avg", "diagnostics/isoscore"])
    if len(data) < 3:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for model, group in data.groupby("model"):
        ax.scatter(group["diagnostics/isoscore"], group["avg"], label=model, s=28, alpha=0.8)
    r = pearsonr(data["diagnostics/isoscore"], data["avg"]).statistic
    ax.set(xlabel="IsoScore of corpus sentence vectors", ylabel=FAMILIES[family].axis_label,
           title=f"IsoScore vs {family} (Pearson r = {r:.2f}, {len(data)} cells)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def alignment_uniformity(frame: pd.DataFrame, path: Path, note: str = "") -> Path | None:
    if "diagnostics/alignment" not in frame:
        return None
    data = frame.dropna(subset=["diagnostics/alignment", "diagnostics/uniformity"])
    if data.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 5))
    labels = data.apply(variant, axis=1)
    colours = {label: f"C{i}" for i, label in enumerate(sorted(labels.unique()))}
    postprocs = sorted(data["postproc"].unique())
    markers = dict(zip(postprocs, "osD^v<>ph*"))
    sizes = {p: 150 - 100 * i / max(len(postprocs) - 1, 1) for i, p in enumerate(postprocs)}
    for (label, postproc), group in data.groupby([labels, "postproc"]):
        # hollow, and smaller for each later post-processing: points that coincide stay visible
        ax.scatter(group["diagnostics/uniformity"], group["diagnostics/alignment"], marker=markers[postproc],
                   s=sizes[postproc], facecolors="none", edgecolors=colours[label], linewidths=1.6)
    # Two legends: colour = pooling, marker = post-processing (none and normalize coincide: both are cosine-based,
    # so the legend says so).
    pooling_legend = ax.legend(handles=[plt.Line2D([], [], color=c, marker="o", linestyle="", label=label)
                                        for label, c in colours.items()], title="pooling", fontsize=7, loc="upper right")
    ax.add_artist(pooling_legend)
    said = {"normalize": "normalize (on none: both\nmeasure unit vectors)"} if "none" in markers else {}
    ax.legend(handles=[plt.Line2D([], [], color="grey", marker=m, linestyle="", markerfacecolor="none",
                                  label=said.get(p, p)) for p, m in markers.items()],
              title="post-processing", fontsize=7, loc="upper center")
    ax.set(xlabel="uniformity (lower = more uniform)", ylabel="alignment (lower = closer positives)",
           title=f"Alignment and uniformity on STS-B ({models_named(data)}){note}")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def line_label(row) -> str:
    """A configuration without its layer: model (and w), pooling, then whatever else is not the default."""
    parts = [row["model"] if pd.isna(row.get("w")) else f"{row['model']} w={row['w']:g}", f"pooling {variant(row)}"]
    parts += [f"{c} {row[c]}" for c in ("template", "postproc") if row.get(c, "none") != "none"]
    return " · ".join(parts)


def layer_curves(frame: pd.DataFrame, path: Path) -> Path | None:
    families = [f for f in FAMILIES if not family_table(frame, f).empty]
    if not families:
        return None
    fig, axes = plt.subplots(1, len(families), figsize=(5.5 * len(families), 4), squeeze=False)
    drawn = False
    for ax, family in zip(axes[0], families):
        table = family_table(frame, family, every_column=True)
        datasets = [d for d in datasets_of(frame, family) if d in table]
        table["std"] = table[datasets].std(axis=1)
        table = table[table["layer"] != "n/a"]
        table["model"] = [line_label(r) for _, r in table.iterrows()]  # one line per configuration but layer
        singles = table[~table["layer"].str.contains(r"\+")]
        for model, group in singles.groupby("model"):
            group = group.assign(x=group["layer"].astype(int)).sort_values("x").drop_duplicates("x", keep="last")
            if len(group) < 2:  # a line needs two layers
                continue
            line, = ax.plot(group["x"], group["avg"], marker="o", label=model)
            ax.fill_between(group["x"], group["avg"] - group["std"], group["avg"] + group["std"], alpha=0.15,
                            color=line.get_color())
            both = table[(table["model"] == model) & table["layer"].str.contains(r"\+")]
            if not both.empty:
                x = group["x"].max() + 1.5
                ax.errorbar([x], both["avg"].iloc[:1], yerr=both["std"].iloc[:1], fmt="*", markersize=12,
                            color=line.get_color(), capsize=3)
                ticks = list(group["x"]) + [x]
                ax.set_xticks(ticks, [str(t) for t in group["x"]] + ["first+last"])
            drawn = True
        ax.set(xlabel="layer (0 = embeddings)", ylabel=FAMILIES[family].axis_label,
               title=f"{family} by layer (band: +-1 sd over datasets)")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if not drawn:
        plt.close(fig)
        return None
    return _save(fig, path)


def mix_heatmap(frame: pd.DataFrame, path: Path) -> Path | None:
    table = family_table(frame, "sts", every_column=True)
    if table.empty:
        return None
    table = table[(table["model"] == "bert_avg") & table["w"].notna() & ~table["layer"].str.contains(r"\+|n/a")]
    if table.empty:
        return None
    grid = table.assign(layer=table["layer"].astype(int)).pivot_table(index="layer", columns="w", values="avg",
                                                                        aggfunc="max")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    image = ax.imshow(grid.values, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{w:g}" for w in grid.columns])
    ax.set_yticks(range(grid.shape[0]), grid.index)
    for (i, j), value in np.ndenumerate(grid.values):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7, color="white")
    best = np.unravel_index(np.nanargmax(grid.values), grid.shape)
    ax.add_patch(plt.Rectangle((best[1] - 0.5, best[0] - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    base = models_named(table, "base")
    ax.set(xlabel=f"w (0 = {base} alone, 1 = its Avg. table)", ylabel="layer",
           title=f"{base} + Avg. (the paper's BERT + Avg.), STS average\nmax {grid.values[best]:.2f} at "
                 f"w={grid.columns[best[1]]:g}, layer {grid.index[best[0]]}")
    fig.colorbar(image, ax=ax, label=FAMILIES["sts"].axis_label)
    return _save(fig, path)


def models_named(table: pd.DataFrame, column: str = "model") -> str:
    """The models (or the static tables' base models) a figure was drawn from, as its title says them."""
    names = sorted({str(m) for m in table[column].dropna()}) if column in table else []
    return ", ".join(names) or "unknown model"


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    # legends placed outside an axes are kept; a PDF without its creation date is the same bytes when redrawn
    fig.savefig(path, dpi=130, bbox_inches="tight", **({"metadata": {"CreationDate": None}} if path.suffix == ".pdf" else {}))
    plt.close(fig)
    return path


def write_figures(frame: pd.DataFrame, folder: Path) -> tuple[list[Path], list[str]]:
    """Every figure the results can feed; (written paths, lines saying what was skipped and why)."""
    plans = [("fig0_cells.png", lambda p: cell_bars(frame, p), "cells", "-m pooling=avg,max"),
             ("fig1_isoscore_sts.png", lambda p: isoscore_scatter(frame, "sts", p), "cells with diagnostics and STS",
              "-m +experiment=isotropy"),
             ("fig2_isoscore_clustering.png", lambda p: isoscore_scatter(frame, "clustering", p),
              "cells with diagnostics and clustering", "-m +experiment=isotropy"),
             ("fig3_alignment_uniformity.png", lambda p: alignment_uniformity(frame, p), "cells with diagnostics",
              "-m +experiment=alignment"),
             ("fig4_layers.png", lambda p: layer_curves(frame, p), "single-layer cells of one model",
              "-m +experiment=layers"),
             ("fig5_bert_avg.png", lambda p: mix_heatmap(frame, p), "bert_avg cells over w and layer",
              "-m +experiment=bert_avg")]
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("fig*.png"):  # the folder is rewritten whole: no figure of an earlier report stays
        old.unlink()
    written, skipped = [], []
    for name, draw, needs, command in plans:
        path = draw(folder / name) if not frame.empty else None
        if path:
            written.append(path)
        else:
            skipped.append(f"{name}: skipped, the results have no {needs}; feed it with: python -m sentgrid {command}")
    return written, skipped
