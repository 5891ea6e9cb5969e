"""Paper tables from recorded results: per-dataset tables per family with averages, the best
configuration per model and family, one pooling x post-processing pivot per family and model, and the
golden checks. Each as Markdown, CSV and LaTeX (escaped, with caption, label and the best per column
in bold; booktabs).

A dataset a cell did not score shows as missing ("-"), and its family average is then missing too:
nothing is averaged over a partial set. Rows that would look the same get the setting that tells them
apart (or their cell id) as a column; ties for "best" go to the simpler configuration.
"""
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..tasks import FAMILIES
from .data_labels import FULL, slice_items, slice_phrase
from .evidence import Evidence, interval_text
from .references import MINILM, REFERENCES
from .results import CONFIG_COLUMNS, Results

MISSING = "-"
# The plainest choice of each column: among configurations that tie, the one with fewer departures wins.
SIMPLEST = {"pooling": "avg", "special_tokens": "include", "weighting": "none", "bias_removal": "none",
            "template": "none", "postproc": "none"}
LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape_latex(text: str) -> str:
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def complexity(row) -> int:
    """How many choices depart from the plainest (mean pooling, nothing added, no post-processing)."""
    return sum(str(row.get(column, plain)) != plain for column, plain in SIMPLEST.items())


def datasets_of(frame: pd.DataFrame, family: str) -> list[str]:
    metric = FAMILIES[family].headline[0]
    found = {c.split("/")[1] for c in frame.columns if c.startswith(f"{family}/") and c.endswith(f"/{metric}")}
    found.discard("avg")
    known = [d for d in FAMILIES[family].datasets if d in found]
    return known + sorted(found - set(known))


def config_columns(frame: pd.DataFrame) -> list[str]:
    """The configuration columns that vary (model always shown)."""
    columns = [c for c in CONFIG_COLUMNS if c in frame and c != "families"]
    return [c for c in columns if c == "model" or frame[c].astype(str).nunique() > 1]


def family_table(frame: pd.DataFrame, family: str, every_column: bool = False) -> pd.DataFrame:
    """Configurations x datasets (headline metric) with the family average; NaN where not scored."""
    if frame.empty:
        return pd.DataFrame()
    cells = frame[frame["families"].str.split(",").apply(lambda f: family in f)]
    if cells.empty:
        return pd.DataFrame()
    metric = FAMILIES[family].headline[0]
    names = datasets_of(cells, family)
    columns = [c for c in CONFIG_COLUMNS if c in cells and c != "families"] if every_column else config_columns(cells)
    if every_column:  # for figures: the diagnostics travel with the configuration
        columns += [c for c in cells.columns if c.startswith("diagnostics/")]
    table = cells[columns].copy()
    for name in names:
        column = f"{family}/{name}/{metric}"
        table[name] = cells[column] if column in cells else np.nan
    table["avg"] = table[names].mean(axis=1, skipna=False)  # missing stays missing
    order = [c for c in columns if not c.startswith("diagnostics/")]
    if not every_column:
        extra = tell_apart(table, cells, order)
        for position, key in enumerate(extra):
            table.insert(len(order) + position, key, cells["settings"].apply(lambda s, k=key: s.get(k, MISSING))
                         if key != "cell" else cells["cell_id"].str[:8])
        order += extra
    table["_cell"] = cells["cell_id"]
    table = table.sort_values(order, na_position="first").reset_index(drop=True)
    table.attrs["cells"] = table.pop("_cell").tolist()  # each row's cell id (the evidence columns are looked up by it)
    table.attrs["labels"] = order  # the columns that name a row (figures label bars with them)
    return table


def with_evidence(table: pd.DataFrame, evidence: Evidence, name: str) -> None:
    """The family average's interval and the tied-set mark as two columns after `avg`."""
    cells = table.attrs["cells"]
    at = table.columns.get_loc("avg") + 1
    table.insert(at, "interval", [interval_text(*evidence.interval(c, name)) for c in cells])
    marks = evidence.tied(cells, table["avg"].tolist(), name)
    table.insert(at + 1, "tied", [marks.get(c, "") for c in cells])


def tell_apart(table: pd.DataFrame, cells: pd.DataFrame, columns: list[str]) -> list[str]:
    """The settings to show so that no two rows look the same: those that differ between look-alike
    rows, and the cell id when nothing recorded does (other data files or library versions)."""
    def look_alikes(shown: pd.DataFrame) -> list:
        looks = pd.Series([" | ".join(map(str, row)) for row in shown.itertuples(index=False)], index=shown.index)
        return [list(index) for index in looks.groupby(looks).groups.values() if len(index) > 1]

    if "settings" not in cells:
        return []
    extra = []
    for rows in look_alikes(table[columns]):
        settings = [cells.at[i, "settings"] for i in rows]
        extra += [k for k in sorted(set().union(*settings)) if len({s.get(k) for s in settings}) > 1 and k not in extra]
    shown = table[columns].assign(**{k: cells["settings"].apply(lambda s, k=k: s.get(k)) for k in extra})
    return extra + (["cell"] if look_alikes(shown) else [])


def described(row, configs: list[str]) -> str:
    """A configuration as `key=value` for the columns that vary."""
    return ", ".join(f"{c}={row[c]}" for c in configs if c not in ("model", "fit_on") and not pd.isna(row[c]))


def best_table(frame: pd.DataFrame, evidence: Evidence | None = None) -> pd.DataFrame:
    """The best configuration per model and family, and the configurations tied with it: not significantly
    worse on the family average (Holm-corrected paired bootstrap over the model's cells, from their kept
    outputs). Where a cell has no outputs, ties are those that print alike at two decimals, as before."""
    rows = []
    for family in FAMILIES:
        table = family_table(frame, family)
        if table.empty:
            continue
        configs = [c for c in config_columns(frame) if c in table]
        name = f"{family}/avg/{FAMILIES[family].headline[0]}"
        table["_cell"] = table.attrs["cells"]
        for model, group in table.groupby("model"):
            scored = group.dropna(subset=["avg"])
            if scored.empty:
                continue

            cells = scored["_cell"].tolist()
            if evidence is not None and not evidence.lacking(cells):
                marks = evidence.tied(cells, scored["avg"].tolist(), name)
                best = scored[scored["_cell"].map(marks) == "*"].iloc[0]
                tied = sorted((r for _, r in scored.iterrows() if marks[r["_cell"]] == "="), key=complexity)
                rule = "paired bootstrap"
            else:
                top = scored[scored["avg"].round(2) == scored["avg"].round(2).max()]  # a tie as printed
                best = min((r for _, r in top.iterrows()), key=complexity)
                tied = sorted((r for _, r in top.iterrows() if r["_cell"] != best["_cell"]), key=complexity)
                rule = "as printed (no outputs)"
            low, high = (evidence.interval(best["_cell"], name) if evidence is not None else (np.nan, np.nan))
            rows.append({"family": family, "model": model, "best": round(float(best["avg"]), 2),
                         "interval": interval_text(low, high),
                         "configuration": described(best, configs) or "(one configuration)",
                         "tied with it": "; ".join(described(r, configs) or "(one configuration)" for r in tied) or "none",
                         "tie rule": rule, "cells": len(group)})
    return pd.DataFrame(rows)


def variant(row) -> str:
    """pooling with its token options, as one label."""
    parts = [row["pooling"]]
    if row.get("special_tokens") == "exclude":
        parts.append("no-special")
    if row.get("weighting", "none") != "none":
        parts.append(row["weighting"])
    if row.get("bias_removal", "none") != "none":
        parts.append(f"bias-{row['bias_removal']}")
    return "+".join(parts)


def pivots(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{"<family> <model>": pooling (with its token options, see `variant`) x post-processing of the family
    average}, with layer and template as row groups when they vary."""
    out = {}
    for family in FAMILIES:
        table = family_table(frame, family, every_column=True)
        if table.empty:
            continue
        table["pooling"] = [variant(r) for _, r in table.iterrows()]
        table["model"] = [m if pd.isna(w) else f"{m} w={w:g}" for m, w in zip(table["model"], table["w"])]
        for model, group in table.groupby("model"):
            rows = [c for c in ("layer", "template") if group[c].astype(str).nunique() > 1] + ["pooling"]
            out[f"{family} {model}"] = group.pivot_table(index=rows, columns="postproc", values="avg", aggfunc="max")
    return out


def golden(frame: pd.DataFrame) -> list[str]:
    """One line per reference row: how far the reproduced cell is, or why it was skipped."""
    lines = []
    references = REFERENCES + [MINILM]
    sts = frame[frame["families"].str.split(",").apply(lambda f: "sts" in f)] if not frame.empty else frame
    for reference in references:
        match = sts
        for key, value in reference["match"].items():
            if key == "model_path":
                match = match[match[key].astype(str).str.endswith(value)] if key in match else match.iloc[0:0]
            else:
                match = match[match[key].astype(str) == str(value)] if key in match else match.iloc[0:0]
        if match.empty:
            hint = " (bert-base-uncased is not available offline: download it and run model=bert-base-uncased " \
                   "task.sts.text_variant=senteval task.sts.sick_split=test)" if "bert-base" in reference["name"] else ""
            lines.append(f"- {reference['name']}: skipped, no matching cell in the results{hint}")
            continue
        cell = match.iloc[-1]
        ours = [cell.get(f"sts/{d}/spearman", np.nan) for d in reference["datasets"]]
        diffs = np.array(ours) - np.array(reference["values"])
        detail = ", ".join(f"{d} {o:.2f} ({x:+.2f})" for d, o, x in zip(reference["datasets"], ours, diffs))
        lines.append(f"- {reference['name']} [{reference['source']}]: max |diff| {np.nanmax(np.abs(diffs)):.2f} "
                     f"points, mean diff {np.nanmean(diffs):+.2f}; {detail}")
    return lines


def markdown_table(table: pd.DataFrame, index: bool = False) -> str:
    if index:  # the row labels as columns of their own: a MultiIndex would print as Python tuples
        table = table.rename_axis(columns=None).reset_index()
    # tabulate prints NaN as "nan" unless it is None: missing must read as missing.
    return table.astype(object).where(table.notna(), None).to_markdown(index=False, floatfmt=".2f", missingval=MISSING)


def latex(table: pd.DataFrame, caption: str, label: str, scores: list[str], index: bool = False) -> str:
    """A booktabs table: every text escaped, two decimals, `-` for missing, the best of each score column bold."""
    styler = table.style.format(precision=2, na_rep=MISSING, escape="latex").format_index(escape="latex", axis=1)
    styler = styler.format_index(escape="latex", axis=0) if index else styler.hide(axis="index")
    if scores:
        styler = styler.highlight_max(subset=scores, props="textbf:--rwrap;")
    return styler.to_latex(caption=escape_latex(caption), label=label, hrules=True, position="htbp",
                           position_float="centering", multirow_align="naive")


def write_table(table: pd.DataFrame, folder: Path, name: str, caption: str, scores: list[str], index: bool = False) -> None:
    table.to_csv(folder / f"{name}.csv", index=index)
    (folder / f"{name}.md").write_text(markdown_table(table, index) + "\n")
    label = "tab:" + re.sub(r"[^A-Za-z0-9.+-]+", "-", name)
    (folder / f"{name}.tex").write_text(latex(table, caption, label, scores, index))


OWNED = ("*.csv", "*.md", "*.tex", "effects_*.png")  # the tables folder is rewritten whole: no file of an earlier report stays


def effect_sections(frame: pd.DataFrame, folder: Path, evidence: Evidence) -> list[str]:
    """`effects_<family>.md/.tex/.csv/.png` for every family where a choice varies, and their README sections."""
    from .effects import effects, effects_figure

    sections = []
    for family in FAMILIES:
        table, interaction, left_out = effects(frame, family, evidence)
        if table.empty:
            continue
        note = f" {left_out} cells without outputs are left out." if left_out else ""
        write_table(table, folder, f"effects_{family}", f"{family}: the effect of each choice on the family average "
                                                   f"(x100): each level's mean over the cells that have it and its "
                                                   f"difference to the reference level, with "
                                                   f"{evidence.settings.level:.0%} intervals over the same item "
                                                   f"resamples.{note}", [])
        figure = effects_figure(table, family, folder / f"effects_{family}.png", evidence.settings.level)
        shown = f"\n![effects of each choice on {family}]({figure.name})\n" if figure else ""
        sections.append(f"## {family}: the effect of each choice\n\nEach level's mean {family} average over the cells "
                        f"that have it, its difference to the reference level (the plainest), and whether that "
                        f"difference's interval leaves out 0 (`clear`).{note}\n\n{markdown_table(table)}\n\n"
                        f"{interaction}\n{shown}")
    return sections


def write_tables(results: Results, folder: Path, data: str = FULL) -> list[Path]:
    """Write every table to `folder` (Markdown, LaTeX, CSV) and a README.md that shows them all; `data`: what
    the cells were scored on (full data or one slice: the caller never mixes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for pattern in OWNED:
        for old in folder.glob(pattern):
            old.unlink()
    frame = results.frame
    scored_on = "full data" if data == FULL else \
        f"a slice of {slice_items(data)} items per dataset ({slice_phrase(data)}), not the paper's numbers"
    sections = [f"# Tables ({scored_on})\n\nSource: {results.source}; {len(frame)} cells; duplicate runs dropped "
                f"(latest kept): {results.duplicates}. Scores x100 (STS: Spearman; clustering and classification: "
                f"accuracy). `{MISSING}` = not scored; an average over a partial set is never shown.\n"]
    evidence = Evidence(frame)
    for family in FAMILIES:
        table = family_table(frame, family)
        if table.empty:
            continue
        metric = FAMILIES[family].headline[0]
        scores = datasets_of(frame, family) + ["avg"]
        with_evidence(table, evidence, f"{family}/avg/{metric}")
        write_table(table, folder, family, f"{family}: {metric} x100 per dataset and their average with its "
                                      f"{evidence.settings.level:.0%} interval; * the best average, = tied with it "
                                      f"(paired bootstrap, Holm); best per column in bold, - not scored.",
               [c for c in scores if c in table])
        sections.append(f"## {family}\n\n{markdown_table(table)}\n")
    best = best_table(frame, evidence)
    if not best.empty:
        write_table(best, folder, "best", "The best configuration per model and family (family average x100 and its "
                                     "interval) and the configurations tied with it: not significantly worse "
                                     "(paired bootstrap over the items, Holm-corrected).", [])
        sections.append(f"## Best configuration per model and family\n\n{markdown_table(best)}\n")
    sections += effect_sections(frame, folder, evidence)
    lacking = evidence.lacking(frame["cell_id"]) if not frame.empty else 0
    if lacking:
        sections.insert(1, f"{lacking} of these cells finished before per-item outputs were kept: they have no "
                           f"interval and are marked `?`; `force=true` on them recomputes the outputs from the cache "
                           f"(no forward pass).\n")
    for name, pivot in pivots(frame).items():
        if pivot.shape[0] > 1 or pivot.shape[1] > 1:
            slug = "pivot_" + re.sub(r"[^A-Za-z0-9.+-]+", "_", name)
            write_table(pivot, folder, slug, f"{name}: pooling x post-processing, family average x100; best per column in "
                                        f"bold.", list(pivot.columns), index=True)
            sections.append(f"## {name}: pooling x post-processing (family average)\n\n"
                            f"{markdown_table(pivot, index=True)}\n")
    if data == FULL:  # the references are full-data numbers
        sections.append("## Golden checks\n\n" + "\n".join(golden(frame)) + "\n")
    (folder / "README.md").write_text("\n".join(sections))
    return sorted(folder.iterdir())
