"""What a person reads at the end of a cell and of a sweep: the cell's per-dataset table, and one
comparison of the sweep's cells (skipped ones with their stored scores), best first."""
import json
import re
from pathlib import Path

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
    """One row per ok or skipped cell, sorted by the first family's headline average with its interval, best
    marked `*` and the cells tied with it `=` (from the cells' outputs in `cache_dir`'s finished-cell index)."""
    rows = []
    for job in sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)):
        try:
            record = json.loads((job / "result.json").read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        scores = stored(record, job)
        if scores is None:
            continue
        family = FAMILIES[scores["config"]["task"]["families"][0]]
        first, second = (f"{family.name}/avg/{m}" for m in family.headline)
        rows.append((scores["metrics"].get(first, float("nan")), scores["metrics"].get(second, float("nan")),
                     job.name, record["status"], record.get("tags", {}).get("cell", "defaults"), family, scores))
    if not rows:
        return ""
    rows.sort(key=lambda r: -r[0] if r[0] == r[0] else float("inf"))
    marks = tied_marks([(r[2], r[6]) for r in rows], f"{rows[0][5].name}/avg/{rows[0][5].headline[0]}", cache_dir, stats)
    # Settings every cell shares are said once, above the table; each row shows what sets it apart.
    parts = [OVERRIDE.split(r[4]) for r in rows]
    shared = [p for p in parts[0] if all(p in other for other in parts)] if len(rows) > 1 else []
    rows = [(a, b, job, status, ",".join(p for p in part if p not in shared) or cell, fam, scores)
            for (a, b, job, status, cell, fam, scores), part in zip(rows, parts)]
    family = rows[0][5]
    first, second = family.headline
    objective = f"{family.name}/avg/{first}"
    width = min(max(len(r[4]) for r in rows), 90)
    header = f"   {'job':>4}  {'cell':<{width}}  {family.name + ' ' + first:>16} {'interval':>16}{second:>10}  status"
    lines = ([f"\nevery cell: {','.join(shared)}"] if shared else [""]) + [header]
    for index, (a, b, job, status, cell, _, scores) in enumerate(rows):
        mark = "*" if index == 0 else marks.get(job, " ")
        low, high = scores.get("intervals", {}).get(objective, (float("nan"), float("nan")))
        span = f"[{low:.2f}, {high:.2f}]" if low == low else "-"
        lines.append(f" {mark} {job:>4}  {cell[:width]:<{width}}  {a:>16.2f} {span:>16}{b:>10.2f}  {status}")
    level = f"{100 * stats.level:g}%" if stats else "95%"
    tied = ", = tied with the best (Holm-corrected paired bootstrap)" if marks else ""
    lines.append(f"\n(* best{tied}; averages x100, {level} intervals) sweep folder: {sweep_dir}")
    lines.append(f"tables: make tables ARGS=\"--sweep {sweep_dir}\"")
    return "\n".join(lines)


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
