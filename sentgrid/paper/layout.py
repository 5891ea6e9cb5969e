"""The paper's layout, from the paper sweeps' records: the main table per family (a row per model as the paper
has them, plain and best shaped, with IsoScore, intervals and the tied set), pooling x post-processing,
per-dataset tables in an appendix, Figs. 1-5 (figures.py), MTEB result files (mteb.py), the three headline
answers, and a README.md that shows it all. Each table as Markdown, CSV and LaTeX."""
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..report.data_labels import FULL, slice_items, slice_phrase, slice_settings
from ..report.evidence import Evidence, interval_text
from ..report.results import from_records
from ..report.tables import datasets_of, markdown_table, write_table
from ..stats.paired import paired
from ..tasks import FAMILIES
from .figures import draw_figures, objective, stacked
from .grid import STATIC_ROWS, TEMPLATE_TEXT, TEMPLATES
from .mteb import write_mteb

PAPER_FAMILIES = ("sts", "clustering", "classification")
ROWS = ["BERT", "T0", "T4", "Avg.", "BERT + Avg.", "B2S", "B2S-100", "RE"]
ROW_SWEEPS = ("bert", "templates", "templates_mean")  # and every static_* sweep
TEMPLATE_ROW = {name: row for row, name in TEMPLATES.items()}


def load_sweeps(folders: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """Each sweep's finished cells (skipped cells stand for the records they point to)."""
    return {name: pd.DataFrame(from_records([folder])) if folder.exists() else pd.DataFrame()
            for name, folder in folders.items()}


def paper_row(cell) -> str:
    """The paper's name for a cell's model row."""
    if cell["model"] in STATIC_ROWS:
        return STATIC_ROWS[cell["model"]].split(" (")[0]
    return TEMPLATE_ROW.get(cell["template"], "BERT")


def is_plain(cell) -> bool:
    """Nothing shaped: no token weighting, no bias removal, no post-processing; mean pooling, or the [MASK]
    state for a template row (PromptBERT's reading)."""
    pooling = "template" if paper_row(cell) in TEMPLATES else "avg"
    return (cell["pooling"] == pooling and cell["weighting"] == "none" and cell["bias_removal"] == "none"
            and cell["postproc"] == "none")


def setting(cell) -> str:
    """What a cell changes from its row's plain cell, in the paper's words."""
    parts = []
    if paper_row(cell) in TEMPLATES and cell["pooling"] != "template":
        parts.append("mean of all tokens")
    if cell["weighting"] != "none":
        parts.append({"idf_task": "task idf", "idf_corpus": "WikiText idf"}.get(cell["weighting"], cell["weighting"]))
    if cell["bias_removal"] != "none":
        parts.append("bias removal")
    if cell["postproc"] != "none":
        parts.append(cell["postproc"] + (" (fit on WikiText)" if cell.get("fit_on") == "wikitext" else ""))
    return ", ".join(parts) or "plain"


def row_cells(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cells = stacked(frames[n] for n in frames if n in ROW_SWEEPS or n.startswith("static_"))
    if cells.empty:
        return cells
    cells = cells.drop_duplicates("cell_id", keep="last")
    return cells.assign(row=[paper_row(c) for _, c in cells.iterrows()]).reset_index(drop=True)


def main_table(cells: pd.DataFrame, family: str, evidence: Evidence) -> pd.DataFrame:
    """A row per model: plain, best shaped (with its setting and interval), how many cells are tied with the
    best, and whether shaping helps (the plain cell is significantly worse than the best)."""
    name, out = objective(family), []
    if cells.empty or name not in cells:
        return pd.DataFrame()
    for label in ROWS:
        group = cells[(cells["row"] == label) & cells[name].notna()]
        plain = group[[is_plain(c) for _, c in group.iterrows()]]
        if group.empty:
            continue
        marks = evidence.tied(group["cell_id"].tolist(), group[name].tolist(), name)
        best = group.loc[group[name].idxmax()]
        plain_cell = plain.iloc[0] if not plain.empty else None
        row = {"model": label,
               "plain": plain_cell[name] if plain_cell is not None else np.nan,
               "plain interval": interval_text(*evidence.interval(plain_cell["cell_id"], name))
               if plain_cell is not None else "",
               "IsoScore": plain_cell.get("diagnostics/isoscore", np.nan) if plain_cell is not None else np.nan,
               "best shaped": best[name], "interval": interval_text(*evidence.interval(best["cell_id"], name)),
               "setting": setting(best),
               "tied with best": f"{sum(m in ('*', '=') for m in marks.values())} of {len(group)}"}
        plain_mark = marks.get(plain_cell["cell_id"], "?") if plain_cell is not None else "?"
        row["shaping helps"] = {"": "yes", "=": "no (plain tied)", "*": "no (plain best)"}.get(plain_mark, "?")
        out.append(row)
    return pd.DataFrame(out)


def pooling_table(frames: dict[str, pd.DataFrame], family: str) -> pd.DataFrame:
    """Pooling x post-processing (fitted on the task's sentences, and on WikiText where the fit-set sweep ran)
    of the base model's last layer, family average."""
    cells = stacked(f for n, f in frames.items() if n in ("poolings", "fit_set", "bert"))
    if objective(family) not in cells:
        return pd.DataFrame()
    cells = cells[(cells["weighting"] == "none") & (cells["bias_removal"] == "none")]
    columns = [f"{c['postproc']} (WikiText fit)" if c.get("fit_on") == "wikitext" else c["postproc"]
               for _, c in cells.iterrows()]
    table = cells.assign(column=columns).pivot_table(index="pooling", columns="column", values=objective(family),
                                                     aggfunc="max")
    order = [c for c in ("none", "zscore", "whiten", "abtt", "quantile", "normalize") if c in table.columns]
    return table[order + sorted(set(table.columns) - set(order))].rename_axis(columns=None)


def per_dataset(cells: pd.DataFrame, family: str) -> pd.DataFrame:
    """The appendix: each row's plain and best-shaped cell on every dataset of the family."""
    name = objective(family)
    if cells.empty or name not in cells:
        return pd.DataFrame()
    metric, datasets = FAMILIES[family].headline[0], datasets_of(cells, family)
    out = []
    for label in ROWS:
        group = cells[(cells["row"] == label) & cells[name].notna()]
        if group.empty:
            continue
        picked = [("plain", c) for _, c in group.iterrows() if is_plain(c)][:1] + \
                 [("best shaped", group.loc[group[name].idxmax()])]
        for kind, cell in picked:
            out.append({"model": label, "cell": kind, "setting": setting(cell),
                        **{d: cell.get(f"{family}/{d}/{metric}", np.nan) for d in datasets}, "avg": cell[name]})
    return pd.DataFrame(out)


def answers(cells: pd.DataFrame, frames: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame],
            evidence: Evidence) -> list[str]:
    """The paper's three questions, answered from these cells with their evidence."""
    lines = ["**Does shaping (token weighting, bias removal, post-processing) help?** Per family, the rows where "
             "the best shaped cell is significantly better than the plain one (paired bootstrap, Holm):"]
    for family, table in tables.items():
        if table.empty:
            continue
        helped = table[table["shaping helps"] == "yes"]
        gains = ", ".join(f"{r['model']} {r['best shaped'] - r['plain']:+.2f} ({r['setting']})"
                          for _, r in helped.iterrows())
        lines.append(f"* {FAMILIES[family].label}: {len(helped)} of {len(table)} rows" + (f": {gains}" if gains else ""))
    lines.append("\n**How close do shaped random embeddings come?** RE's best shaped cell against BERT's (the base "
                 "model's) best shaped cell, the difference with its interval over the same items:")
    for family in tables:
        name = objective(family)
        best = {label: group.loc[group[name].idxmax()] for label, group in cells.groupby("row")
                if label in ("RE", "BERT") and group[name].notna().any()} if name in cells else {}
        if len(best) < 2:
            continue
        re_cell, bert = best["RE"], best["BERT"]
        a, b = evidence.values(bert["cell_id"]), evidence.values(re_cell["cell_id"])
        detail = ""
        if a and b and name in a and name in b:
            d = paired(bert[name], re_cell[name], a[name], b[name], evidence.settings.level)
            detail = f", difference {d.difference:+.2f} [{d.low:+.2f}, {d.high:+.2f}], p = {d.p:.3g}"
        lines.append(f"* {FAMILIES[family].label}: RE {re_cell[name]:.2f} ({setting(re_cell)}) vs BERT "
                     f"{bert[name]:.2f} ({setting(bert)}){detail}")
    layers = frames.get("layers", pd.DataFrame())
    lines.append("\n**Which layer is best?** BERT, mean pooling, no shaping (Fig. 4's BERT column); the layers tied "
                 "with the best:")
    for family in tables:
        name = objective(family)
        if layers.empty or name not in layers:
            continue
        scored = layers.dropna(subset=[name])
        marks = evidence.tied(scored["cell_id"].tolist(), scored[name].tolist(), name)
        best = scored.loc[scored[name].idxmax()]
        tied = [layer_name(r["layer"]) for _, r in scored.iterrows() if marks.get(r["cell_id"]) == "="]
        lines.append(f"* {FAMILIES[family].label}: {layer_name(best['layer'])} ({best[name]:.2f}); tied: "
                     f"{', '.join(tied) or 'none'}")
    return lines


def layer_name(layer: str) -> str:
    parts = str(layer).split("+")
    return f"layer {layer}" if len(parts) == 1 else "first + last" if len(parts) == 2 else "all layers' mean"


def template_note() -> str:
    return ("T0 and T4 are PromptBERT's templates (Jiang et al., 2022) as sentgrid reads the paper, whose text is not "
            "available offline: " + "; ".join(f"{row} = `{TEMPLATE_TEXT[name]}` (`template={name}`)"
                                              for row, name in TEMPLATES.items())
            + ". The [MASK] state is read out, or every token averaged where the setting says so.")


def write_paper(model: str, data: str, folders: dict[str, Path], out: Path, link: str) -> list[Path]:
    """Every table, figure and MTEB file of the paper for `model`, and the README.md that shows them;
    `link`: the folder as the project README links it (summary.md's figures)."""
    frames = load_sweeps(folders)
    out.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.md", "*.csv", "*.tex", "*.png", "*.pdf"):  # the folder is rewritten whole
        for old in out.glob(pattern):
            old.unlink()
    shutil.rmtree(out / "mteb", ignore_errors=True)
    everything = stacked(frames.values())
    evidence = Evidence(everything.drop_duplicates("cell_id", keep="last") if not everything.empty else everything)
    cells = row_cells(frames)
    sliced = data != FULL
    where = (f"a slice of {slice_items(data)} items per dataset ({slice_phrase(data)}) and the demo grid: a "
             f"demo of the layout, not the paper's numbers" if sliced else "full data, the paper's grid")
    stand_in = (f"`{model}` stands in for the paper's bert-base-uncased (not available offline); every number here "
                f"is {model}'s, not the paper's BERT.")
    level = f"{evidence.settings.level:.0%}"
    sections = [f"# The paper on {model} ({where})\n", f"{stand_in} {template_note()}\n",
                f"{len(everything.drop_duplicates('cell_id')) if not everything.empty else 0} cells from "
                f"{sum(not f.empty for f in frames.values())} sweeps (`python -m sentgrid paper model={model}"
                f"{'' if not sliced else ' ' + slice_settings(data)}`). Scores x100; "
                f"intervals: {level} bootstrap over the items; tied: not significantly worse than the best "
                f"(paired bootstrap, Holm).\n"]
    tables = {}
    for number, family in enumerate(PAPER_FAMILIES, 1):
        table = main_table(cells, family, evidence)
        if table.empty:
            continue
        tables[family] = table
        caption = (f"Table {number}: {FAMILIES[family].label} ({FAMILIES[family].objective_label or 'accuracy'} "
                   f"x100, average of {len(datasets_of(cells, family))} datasets), per model: plain and best shaped "
                   f"with {level} intervals. T0 and T4: PromptBERT's templates `This sentence : \"[X]\" means [MASK] .` "
                   f"and `This sentence of \"[X]\" means [MASK] .`. {stand_in}{' Slice: ' + data if sliced else ''}")
        write_table(table, out, f"table{number}_{family}", caption, ["plain", "best shaped"])
    said = answers(cells, frames, tables, evidence) if tables else ["No row cells finished yet."]
    sections += said
    for number, family in enumerate(PAPER_FAMILIES, 1):
        if family in tables:
            sections.append(f"\n## Table {number}: {FAMILIES[family].label}\n\n{markdown_table(tables[family])}\n")
    for family in PAPER_FAMILIES:
        pivot = pooling_table(frames, family)
        if not pivot.empty:
            caption = (f"{FAMILIES[family].label}: pooling x post-processing of {model}'s last layer (family "
                       f"average x100).{' Slice: ' + data if sliced else ''}")
            write_table(pivot, out, f"table4_pooling_{family}", caption, list(pivot.columns), index=True)
            sections.append(f"\n## Table 4 ({FAMILIES[family].label}): pooling x post-processing\n\n"
                            f"{markdown_table(pivot, index=True)}\n")
    figures = draw_figures(frames, cells, out, model, data)
    sections.append("\n## Figures\n")
    for path, caption in figures:
        sections.append(f"**{caption}** ([PDF]({path.with_suffix('.pdf').name}))\n\n![{caption}]({path.name})\n")
    mteb_note = write_mteb(cells, out / "mteb", model, data)
    sections.append(f"\n## MTEB result files\n\n{mteb_note}\n")
    sections.append("\n## Appendix: every dataset\n")
    for family in PAPER_FAMILIES:
        table = per_dataset(cells, family)
        if not table.empty:
            write_table(table, out, f"appendix_{family}", f"{FAMILIES[family].label} per dataset: each model's plain and "
                                                     f"best-shaped cell.{' Slice: ' + data if sliced else ''}",
                   [c for c in table.columns if c not in ("model", "cell", "setting")])
            sections.append(f"### {FAMILIES[family].label}\n\n{markdown_table(table)}\n")
    sections.append("\n## What each sweep ran\n\n" + "\n".join(
        f"* `{name}`: {len(frame)} cells" for name, frame in frames.items()))
    (out / "README.md").write_text("\n".join(sections) + "\n")
    (out / "summary.md").write_text(summary(model, where, stand_in, tables, said, figures, link))
    return sorted(p for p in out.rglob("*") if p.is_file())


def summary(model: str, where: str, stand_in: str, tables: dict, said: list[str], figures, link: str) -> str:
    """What the project README shows of this report: the answers, the main tables and Figs. 4-5."""
    answers_text = "\n".join(said)
    shown = "\n".join(f"![{caption}]({link}/{path.name})" for path, caption in figures
                      if re.match(r"fig[45]", path.name))
    main = "\n".join(f"{FAMILIES[f].label}:\n\n{markdown_table(t)}\n" for f, t in tables.items())
    return f"The paper on {model} ({where}). {stand_in}\n\n{answers_text}\n\n{main}\n{shown}\n"
