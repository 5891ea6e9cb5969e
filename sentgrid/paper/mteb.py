"""Each paper row's best STS cell as MTEB result files, so the numbers drop into MTEB's tooling:
`mteb/<model name>/<revision>/<Task>.json` (MTEB's results layout; the revision is the cell id's start),
one file per STS task, in the format of mteb 2.26 (`mteb.results.TaskResult` loads them; tests check it).

Only STS: sentgrid scores it exactly as MTEB does (raw text, every pair, Spearman of cosine). Its
clustering sets are not MTEB's, and its classification follows SentEval's protocol (MTEB's is ten
experiments of a few samples per label), so neither is written as an MTEB result."""
import json
import re
from pathlib import Path

import pandas as pd

MTEB_FORMAT = "2.26.24"
# sentgrid's dataset -> (MTEB task, the Hugging Face dataset revision MTEB names for it; sentgrid reads local
# copies of the same data, ../shared/data/SOURCES.md)
STS_TASKS = {
    "STS12": ("STS12", "a0d554a64d88156834ff5ae9920b964011b16384"),
    "STS13": ("STS13", "7e90230a92c190f1bf69ae9002b8cea547a64cca"),
    "STS14": ("STS14", "6031580fec1f6af667f0bd2da0a551cf4f0b2375"),
    "STS15": ("STS15", "ae752c7c21bf194d8b67fd573edf7ae58183cbe3"),
    "STS16": ("STS16", "4d8694f8f0e0100860b497b999b3dbed754a0513"),
    "STSB": ("STSBenchmark", "b0fddb56ed78048fa8b90373c8a3cfc37b684831"),
    "SICK-R": ("SICK-R", "20a6d6f312dd54037fe07a32d58e5e168867909d"),
    "BIOSSES": ("BIOSSES", "d3fb88f8f02e40887cd149695127462bbcf29b4a"),
}


def task_result(cell, dataset: str) -> dict | None:
    """One MTEB result record of a cell's STS dataset (scores in MTEB's 0-1 scale), or None if not scored."""
    spearman = cell.get(f"sts/{dataset}/spearman")
    if spearman is None or pd.isna(spearman):
        return None
    task, revision = STS_TASKS[dataset]
    pearson = cell.get(f"sts/{dataset}/pearson")
    scores = {"main_score": spearman / 100, "cosine_spearman": spearman / 100, "spearman": spearman / 100,
              "hf_subset": "default", "languages": ["eng-Latn"]}
    if pearson is not None and not pd.isna(pearson):
        scores.update(cosine_pearson=pearson / 100, pearson=pearson / 100)
    return {"dataset_revision": revision, "task_name": task, "mteb_version": MTEB_FORMAT,
            "scores": {"test": [scores]}, "evaluation_time": None, "kg_co2_emissions": None}


def model_name(model: str, row: str, data: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", row.lower()).strip("-")
    return f"sentgrid__{model}-{slug}" + ("" if data == "full" else f"-{data}")


def write_mteb(cells: pd.DataFrame, folder: Path, model: str, data: str) -> str:
    """Write the files; a paragraph saying what was written (for the report's README)."""
    from .layout import ROWS, setting

    name = "sts/avg/spearman"
    if cells.empty or name not in cells:
        return "No STS cells yet: no MTEB result files."
    written = []
    for row in ROWS:
        group = cells[(cells["row"] == row) & cells[name].notna()]
        if group.empty:
            continue
        best = group.loc[group[name].idxmax()]
        target = folder / model_name(model, row, data) / best["cell_id"][:12]
        target.mkdir(parents=True, exist_ok=True)
        for dataset in STS_TASKS:
            result = task_result(best, dataset)
            if result:
                (target / f"{result['task_name']}.json").write_text(json.dumps(result, indent=2) + "\n")
        (target / "sentgrid_cell.json").write_text(json.dumps(
            {"cell_id": best["cell_id"], "row": row, "setting": setting(best), "data": data,
             "note": "sentgrid's cell; load the task files with mteb.results.TaskResult.from_disk"}, indent=2) + "\n")
        written.append(f"`{target.relative_to(folder.parent)}` ({row}: {setting(best)})")
    sliced = "" if data == "full" else f" These are scores on a slice ({data}), named so: not comparable with MTEB's."
    return ("Each row's best STS cell as MTEB result files (MTEB's results layout, format of mteb "
            f"{MTEB_FORMAT}; `mteb.results.TaskResult.from_disk` loads them).{sliced} Clustering and classification "
            "are not written: sentgrid's clustering sets are not MTEB's, and its classification follows SentEval's "
            "protocol.\n\n" + "\n".join(f"* {w}" for w in written))
