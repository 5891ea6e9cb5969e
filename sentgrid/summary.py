"""What a person reads at the end of a cell and of a sweep: the cell's per-dataset table, and one
comparison of the sweep's cells (skipped ones with their stored scores), best first."""
import json
import re
from pathlib import Path

from .report.data_labels import data_label
from .tasks import FAMILIES, family

OVERRIDE = re.compile(r",(?![^\[]*\])")  # commas between overrides, not inside [a,b]


def summary_table(record: dict) -> str:
    """Per-dataset scores as a small text table, one block per family (x100)."""
    metrics = record["metrics"]
    lines = []
    for name in record["config"]["task"]["families"]:
        first, second = family(name).headline
        lines.append(f"{name:<26}{first:>10}{second:>10}{'items':>8}")
        keys = [k for k, d in record["datasets"].items() if d["family"] == name] + [f"{name}/avg"]
        for key in keys:
            items = record["datasets"].get(key, {}).get("items", "")
            cells = [f"{metrics[f'{key}/{m}']:>10.2f}" if f"{key}/{m}" in metrics else f"{'-':>10}" for m in (first, second)]
            lines.append(f"  {key.split('/', 1)[1]:<24}{''.join(cells)}{items:>8}")
    return "\n".join(lines)


def stored(record: dict, job: Path) -> dict | None:
    """The scores a job stands for: its own record, or for a skipped job the finished cell's record."""
    if record.get("status") == "ok":
        return record
    if record.get("status") == "skipped" and record.get("previous"):
        try:
            earlier = json.loads(Path(record["previous"]).read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return earlier.get("record", earlier)
    return None


def comparison(sweep_dir: Path, cache_dir: Path | None = None, stats=None) -> str:
    """The sweep's ok and skipped cells, one block per family (by each cell's first family), best first by the
    family's headline average with its interval; the best marked `*` and the cells tied with it `=` (from the
    cells' outputs in `cache_dir`'s finished-cell index)."""
    rows = []
    for job in sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)):
        try:
            record = json.loads((job / "result.json").read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        scores = stored(record, job)
        if scores is not None:
            rows.append((job.name, record["status"], record.get("tags", {}).get("cell", "defaults"), scores))
    if not rows:
        return ""
    # Settings every cell shares are said once, above the tables; each row shows what sets it apart.
    parts = [OVERRIDE.split(cell) for _, _, cell, _ in rows]
    shared = [p for p in parts[0] if all(p in other for other in parts)] if len(rows) > 1 else []
    rows = [(job, status, ",".join(p for p in part if p not in shared) or cell, scores)
            for (job, status, cell, scores), part in zip(rows, parts)]
    width = min(max(len(r[2]) for r in rows), 90)
    lines = [f"\nevery cell: {','.join(shared)}"] if shared else [""]
    # Cells scored on different items (slices of a halving sweep's rungs, full data) are never ranked together.
    by_data = {}
    for row in rows:
        by_data.setdefault(data_label(row[3]["config"]["task"]), {}).setdefault(
            row[3]["config"]["task"]["families"][0], []).append(row)
    tied_any = False
    for data in sorted(by_data, key=_items):
        if len(by_data) > 1:
            lines += ([""] if len(lines) > 1 else []) + [f"on {data}:"]
        for name in [f for f in FAMILIES if f in by_data[data]]:
            marks, block = family_block(by_data[data][name], family(name), width, cache_dir, stats)
            tied_any = tied_any or bool(marks)
            lines += ([""] if len(lines) > 1 and lines[-1] != f"on {data}:" else []) + block
    level = f"{100 * stats.level:g}%" if stats else "95%"
    tied = ", = tied with the best (Holm-corrected paired bootstrap)" if tied_any else ""
    lines.append(f"\n(* best{tied}; averages x100, {level} intervals) sweep folder: {sweep_dir}")
    lines.append(f"tables: make tables ARGS=\"--sweep {sweep_dir}\"")
    return "\n".join(lines)


def _items(label: str) -> float:
    """Smaller slices first, full data last."""
    from .report.data_labels import FULL, slice_items

    return float("inf") if label == FULL else float(slice_items(label))


def family_block(rows: list, fam, width: int, cache_dir, stats) -> tuple[dict, list[str]]:
    """(the tied marks, the lines) of one family's cells: (job, status, cell, record) rows."""
    first, second = fam.headline
    objective, other = f"{fam.name}/avg/{first}", f"{fam.name}/avg/{second}"
    nan = float("nan")
    rows = sorted(rows, key=lambda r: -r[3]["metrics"].get(objective, nan)
                  if r[3]["metrics"].get(objective, nan) == r[3]["metrics"].get(objective, nan) else float("inf"))
    marks = tied_marks([(job, record) for job, _, _, record in rows], objective, cache_dir, stats)
    lines = [f"   {'job':>4}  {'cell':<{width}}  {fam.name + ' ' + first:>16} {'interval':>16}{second:>10}  status"]
    for index, (job, status, cell, record) in enumerate(rows):
        mark = "*" if index == 0 else marks.get(job, " ")
        low, high = record.get("intervals", {}).get(objective, (nan, nan))
        span = f"[{low:.2f}, {high:.2f}]" if low == low else "-"
        lines.append(f" {mark} {job:>4}  {cell[:width]:<{width}}  {record['metrics'].get(objective, nan):>16.2f} "
                     f"{span:>16}{record['metrics'].get(other, nan):>10.2f}  {status}")
    return marks, lines


def tied_marks(cells: list[tuple[str, dict]], objective: str, cache_dir: Path | None, stats) -> dict[str, str]:
    """{job: "=" for the cells tied with the best, " " for the others}, over the cells whose outputs are kept (a
    cell finished before outputs were kept is marked "?"); {} when there is nothing to judge."""
    if cache_dir is None or len(cells) < 2:
        return {}
    from .cells import FinishedCells
    from .outputs import DamagedOutputs
    from .stats import Settings
    from .stats.intervals import per_resample
    from .stats.paired import tied_with_best

    settings = stats or Settings()
    finished, points, values, marks = FinishedCells(cache_dir), {}, {}, {}
    for job, record in cells:
        try:  # the index's record names the outputs kept now (a later force=true run replaces them)
            kept = finished.outputs(record.get("cell_id", ""))
        except DamagedOutputs:
            kept = None
        resamples = per_resample(kept, settings) if kept is not None else {}
        if objective not in resamples or objective not in record["metrics"]:
            marks[job] = "?"
            continue
        points[job], values[job] = record["metrics"][objective], resamples[objective]
    if len(points) < 2:
        return {}
    _, tied, _ = tied_with_best(points, values, settings.level)
    return {**marks, **{job: "=" if job in tied else " " for job in points}}
