"""Figs. 1-5 in the paper's layout, each as PNG and PDF:

1-2. IsoScore of each cell's WikiText vectors against its STS / clustering average, one r per model row.
3.   Alignment and uniformity on STS-B by pooling and post-processing (report.figures' drawing).
4.   3 x 3: columns T0, T4, BERT; rows STS, clustering, classification; the family average by layer (mean
     +- 1 sd over the datasets), first + last as the last tick, RE as a dashed reference line.
5.   BERT + Avg. per family: w x layer, the multi-layer means right of a black line, x at the maximum.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import pearsonr  # noqa: E402

from ..report.figures import alignment_uniformity  # noqa: E402
from ..report.tables import datasets_of  # noqa: E402
from ..tasks import FAMILIES  # noqa: E402

FAMILY_ROWS = ("sts", "clustering", "classification")
COLUMNS = (("T0", "promptbert"), ("T4", "promptbert-of"), ("BERT", "none"))


def stacked(frames) -> pd.DataFrame:
    """The cells of several sweeps in one frame (empty when none has any)."""
    found = [f for f in frames if not f.empty]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def objective(family: str) -> str:
    """The family average a paper table or figure ranks by: `<family>/avg/<first headline metric>`."""
    return f"{family}/avg/{FAMILIES[family].headline[0]}"


def _save(fig, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight", metadata={"CreationDate": None})  # same bytes redrawn
    plt.close(fig)


def isoscore(cells: pd.DataFrame, family: str, path, note: str) -> str | None:
    name = objective(family)
    if cells.empty or "diagnostics/isoscore" not in cells or name not in cells:
        return None
    data = cells.dropna(subset=["diagnostics/isoscore", name])
    if len(data) < 3:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for label, group in data.groupby("row", sort=False):
        r = pearsonr(group["diagnostics/isoscore"], group[name]).statistic if len(group) > 2 else np.nan
        ax.scatter(group["diagnostics/isoscore"], group[name], s=26, alpha=0.8,
                   label=f"{label} (r = {r:.2f}, {len(group)} cells)" if r == r else f"{label} ({len(group)} cells)")
    ax.set(xlabel="IsoScore of WikiText sentence vectors", ylabel=FAMILIES[family].axis_label,
           title=f"IsoScore vs {FAMILIES[family].label}, r per model{note}")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)
    _save(fig, path)
    return f"Fig. {1 if family == 'sts' else 2}: IsoScore vs {FAMILIES[family].label} average, one Pearson r per model"


def layer_panels(frames: dict, cells: pd.DataFrame, path, note: str) -> str | None:
    layers = stacked(frames.get(n, pd.DataFrame()) for n in ("layers", "layers_templates"))
    if layers.empty:
        return None
    fig, axes = plt.subplots(3, 3, figsize=(13, 10), sharex=True, sharey="row", squeeze=False)  # a row compares
    for i, family in enumerate(FAMILY_ROWS):
        name = objective(family)
        datasets = [f"{family}/{d}/{FAMILIES[family].headline[0]}" for d in datasets_of(layers, family)]
        reference = cells[(cells["row"] == "RE") & (cells["weighting"] == "none") & (cells["bias_removal"] == "none")
                          & (cells["postproc"] == "none")] if not cells.empty and "row" in cells else pd.DataFrame()
        for j, (title, template) in enumerate(COLUMNS):
            ax = axes[i][j]
            panel = layers[layers["template"] == template] if name in layers else pd.DataFrame()
            if not panel.empty:
                panel = panel.dropna(subset=[name])
                singles = panel[~panel["layer"].str.contains(r"\+")]
                singles = singles.assign(x=singles["layer"].astype(int)).sort_values("x")
                spread = singles[[d for d in datasets if d in singles]].std(axis=1)
                ax.plot(singles["x"], singles[name], marker="o", color="C0", label="single layer")
                ax.fill_between(singles["x"], singles[name] - spread, singles[name] + spread, alpha=0.15, color="C0")
                both = panel[panel["layer"].str.count(r"\+") == 1]
                last = int(singles["x"].max()) if not singles.empty else 0
                if not both.empty:
                    sd = both[[d for d in datasets if d in both]].std(axis=1).iloc[0]
                    ax.errorbar([last + 1.5], [both[name].iloc[0]], yerr=[sd], fmt="*", markersize=12, color="C1",
                                capsize=3, label="first + last")
                ax.set_xticks(list(range(last + 1)) + [last + 1.5], [str(x) for x in range(last + 1)] + ["F+L"])
            if not reference.empty and name in reference and reference[name].notna().any():
                ax.axhline(reference[name].dropna().iloc[0], color="grey", linestyle="--", label="RE")
            if i == 0:
                ax.set_title(title + ("" if template == "none" else " ([MASK] state)"))
            if j == 0:
                ax.set_ylabel(FAMILIES[family].axis_label, fontsize=8)
            if i == 2:
                ax.set_xlabel("layer (0 = embeddings; F+L = first + last)")
            ax.grid(alpha=0.3)
    handles, labels = axes[0][2].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 1.02))
    fig.suptitle(f"By layer: mean +- 1 sd over each family's datasets{note}", y=1.05)
    _save(fig, path)
    return ("Fig. 4: the family average by layer, T0 (`This sentence : \"[X]\" means [MASK] .`) and T4 (`This sentence "
            "of \"[X]\" means [MASK] .`) at their [MASK] state, and BERT (mean), RE as the dashed line")


def mix_panels(frame: pd.DataFrame, path, note: str) -> str | None:
    if frame.empty:
        return None
    families = [f for f in FAMILY_ROWS if objective(f) in frame]
    if not families:
        return None
    fig, axes = plt.subplots(1, len(families), figsize=(6 * len(families), 4.2), squeeze=False)
    for ax, family in zip(axes[0], families):
        name = objective(family)
        singles = sorted({x for x in frame["layer"] if "+" not in str(x)}, key=int)
        multi = sorted({x for x in frame["layer"] if "+" in str(x)}, key=lambda x: x.count("+"))
        order = singles + multi
        grid = frame.pivot_table(index="w", columns="layer", values=name, aggfunc="max").reindex(columns=order)
        image = ax.imshow(grid.values, origin="lower", aspect="auto", cmap="viridis")
        labels = [str(s) for s in singles] + ["F+L" if m.count("+") == 1 else "all" for m in multi]
        ax.set_xticks(range(len(order)), labels)
        for tick in ax.get_xticklabels()[len(singles):]:  # upright, "F+L" and "all" ran into "12" (MPNet's 15 columns)
            tick.set_rotation(90)
        ax.set_yticks(range(len(grid.index)), [f"{w:g}" for w in grid.index])
        if multi:
            ax.axvline(len(singles) - 0.5, color="black", linewidth=2.5)
        if np.isfinite(grid.values).any():
            best = np.unravel_index(np.nanargmax(grid.values), grid.shape)
            ax.plot(best[1], best[0], marker="x", color="red", markersize=14, markeredgewidth=3)
            where = f"layer {labels[best[1]]}" if labels[best[1]].isdigit() else labels[best[1]]
            ax.set_title(f"{FAMILIES[family].label}: max {grid.values[best]:.2f} at w = {grid.index[best[0]]:g}, "
                         f"{where}", fontsize=9)
        ax.set(xlabel="layer (right of the line: means of several layers)", ylabel="w (0 = BERT, 1 = Avg.)")
        fig.colorbar(image, ax=ax, label=FAMILIES[family].axis_label)
    fig.suptitle(f"BERT + Avg.: (1 - w) x contextual + w x Avg. table, by layer{note}", y=1.03)
    _save(fig, path)
    return "Fig. 5: BERT + Avg. over w and layer, one panel per family; x marks the maximum"


def draw_figures(frames: dict, cells: pd.DataFrame, out, model: str, data: str) -> list[tuple]:
    """[(png path, caption)] of every figure the sweeps can feed."""
    note = f" ({model}{', ' + data if data != 'full' else ''})"
    drawn = []
    plans = [("fig1_isoscore_sts.png", lambda p: isoscore(cells, "sts", p, note)),
             ("fig2_isoscore_clustering.png", lambda p: isoscore(cells, "clustering", p, note)),
             ("fig3_alignment_uniformity.png", lambda p: _alignment(frames, p, data)),
             ("fig4_layers.png", lambda p: layer_panels(frames, cells, p, note)),
             ("fig5_bert_avg.png", lambda p: mix_panels(frames.get("bert_avg", pd.DataFrame()), p, note))]
    for name, draw in plans:
        caption = draw(out / name)
        if caption:
            drawn.append((out / name, caption + note))
    return drawn


def _alignment(frames: dict, path, data: str) -> str | None:
    cells = stacked(frames.get(n, pd.DataFrame()) for n in ("poolings", "bert"))
    if cells.empty:
        return None
    cells = cells[(cells["weighting"] == "none") & (cells["bias_removal"] == "none")]
    note = "" if data == "full" else f", {data}"
    if alignment_uniformity(cells, path, note) is None:
        return None
    alignment_uniformity(cells, path.with_suffix(".pdf"), note)  # the same drawing, as PDF
    return "Fig. 3: alignment and uniformity on STS-B by pooling and post-processing"
