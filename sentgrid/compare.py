"""`python -m sentgrid compare A B [C ...]`: finished cells compared on the same items, from their stored
outputs (no forward pass, no re-evaluation): each dataset's and each family average's score with its
interval, and each later cell's difference to the first with its interval and p-value; with three cells or
more, the cells tied with the best on each family average (Holm-corrected).

A cell is named by its id or the start of it (result.json's `cell_id`, MLflow's tag), its job folder, or its
overrides in one argument ("pooling=max postproc=whiten")."""
import argparse
import json
import sys
from pathlib import Path

from .cells import FinishedCells, stored_record
from .errors import SentgridError
from .outputs import DamagedOutputs
from .stats.intervals import per_resample
from .stats.paired import Difference, paired, tied_with_best
from .stats.resample import Settings, interval
from .summary import stored
from .tasks import family


def find(ref: str, cache_dir: Path) -> tuple[str, dict]:
    """(cell id, record) of a finished cell named by a job folder, overrides, or an id (or its start)."""
    finished = FinishedCells(cache_dir)
    if Path(ref, "result.json").is_file():
        record = stored(json.loads(Path(ref, "result.json").read_text()), Path(ref))
        if record is None:
            raise SentgridError(f"{ref}: its cell did not finish (see its result.json).")
        # the index's record: a later force=true run of the cell replaced the outputs this job's record names
        entry = finished.get(record["cell_id"])
        return record["cell_id"], stored_record(entry) if entry else record
    if "=" in ref:
        from .cells import cell_id
        from .plan import compose_cell

        identity = cell_id(compose_cell([*ref.split(), f"cache.dir={cache_dir}"]))
        entry = finished.get(identity)
        if entry is None:
            raise SentgridError(f"{ref!r}: that cell has not finished in the cache {cache_dir}; run it first "
                                f"(python -m sentgrid {ref}).")
        return identity, stored_record(entry)
    found = [e for e in finished.all() if str(e.get("cell_id", "")).startswith(ref)]
    if len(found) != 1:
        what = "no finished cell" if not found else f"{len(found)} finished cells"
        raise SentgridError(f"{ref}: {what} in the cache {cache_dir} with that id; give a cell id (or its start), "
                            f"a job folder, or the cell's overrides in one argument.")
    return found[0]["cell_id"], stored_record(found[0])


def label(record: dict) -> str:
    return record.get("tags", {}).get("cell", "defaults")


def outputs_of(identity: str, record: dict, cache_dir: Path):
    try:
        kept = FinishedCells(cache_dir).outputs(identity, record)
    except DamagedOutputs as exc:
        raise SentgridError(str(exc)) from None
    if kept is None:
        raise SentgridError(f"cell {identity[:12]} ({label(record)}) finished before per-item outputs were kept; run "
                            f"it again with force=true (it reads the cache: no forward pass).")
    return kept


def table(cells: list[tuple[str, dict]], cache_dir: Path, settings: Settings, metric: str | None) -> str:
    kept = [outputs_of(identity, record, cache_dir) for identity, record in cells]
    values = [per_resample(k, settings) for k in kept]
    names = [chr(ord("A") + i) for i in range(len(cells))]
    lines = [f"{name}  {identity[:12]}  {label(record)}" for name, (identity, record) in zip(names, cells)]
    first_record = cells[0][1]
    level = f"{100 * settings.level:g}%"
    for fam in first_record["config"]["task"]["families"]:
        chosen = metric or family(fam).headline[0]
        keys = [k for k, f in kept[0].families.items() if f == fam] + [f"{fam}/avg"]
        lines += ["", f"{fam} {chosen}" + "".join(f"{n:>24}" for n in names[:1]) +
                  "".join(f"{n + ' - A':>26}{'p':>8}" for n in names[1:])]
        for key in keys:
            name = f"{key}/{chosen}"
            if name not in values[0]:
                continue
            row = f"  {key.split('/', 1)[1]:<{len(fam) + len(chosen) - 1}}"
            point = first_record["metrics"][name]
            low, high = interval(values[0][name], settings.level)
            row += f"{point:>8.2f} [{low:6.2f}, {high:6.2f}]"
            for (_, record), theirs, kept_other in zip(cells[1:], values[1:], kept[1:]):
                if name not in theirs or not _same_items(kept[0], kept_other, key):
                    row += f"{'not the same items':>26}{'':>8}"
                    continue
                d = Difference(0.0, 0.0, 0.0, 1.0) if _same_items(kept[0], kept_other, key, predictions=True) else \
                    paired(point, record["metrics"][name], values[0][name], theirs[name], settings.level)
                row += f"{d.difference:>+8.2f} [{d.low:+6.2f}, {d.high:+6.2f}]{_p(d.p):>8}"
            lines.append(row)
        average = f"{fam}/avg/{chosen}"
        if len(cells) > 2 and all(average in v for v in values):
            points = {n: r["metrics"][average] for n, (_, r) in zip(names, cells)}
            best, tied, _ = tied_with_best(points, {n: v[average] for n, v in zip(names, values)}, settings.level)
            lines.append(f"  tied with the best ({best}) on the {fam} average: {', '.join(sorted(tied))} "
                         f"(Holm-corrected, one-sided, at {1 - settings.level:.2g})")
    lines += ["", f"x100; [{level} percentile interval] over {settings.resamples} resamples of each dataset's items, the "
              f"same resamples for every cell; B - A and its interval paired on them; p: two-sided (bootstrap "
              f"standard error, normal approximation)."]
    return "\n".join(lines)


def _same_items(a, b, key: str, predictions: bool = False) -> bool:
    """Both cells scored dataset `key` (or every dataset of a family average) on the same items, gold alike; with
    `predictions`, predicted alike too: equal labels and clusters, similarities equal within float32 rounding
    (two poolings equal under cosine, avg and mean_sqrt_len, differ by 1e-7 and may swap two near-tied pairs)."""
    import numpy as np

    if key.endswith("/avg"):
        family_keys = [k for k, f in a.families.items() if f == key.split("/")[0]]
        return all(_same_items(a, b, k, predictions) for k in family_keys)
    if key not in b.outputs or not np.array_equal(a.outputs[key]["gold"], b.outputs[key]["gold"]):
        return False
    if not predictions:
        return True
    mine, theirs = a.outputs[key], b.outputs[key]
    return mine.keys() == theirs.keys() and all(
        mine[name].shape == theirs[name].shape and (np.allclose(mine[name], theirs[name], rtol=0, atol=FLOAT_NOISE)
                                                    if mine[name].dtype.kind == "f" else np.array_equal(mine[name], theirs[name]))
        for name in mine)


FLOAT_NOISE = 1e-6  # float32 vectors: a cosine is good to ~1e-7


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cells", nargs="+", help="two cells or more: ids (or their start), job folders, or overrides")
    parser.add_argument("--cache", type=Path, help="the cache the cells finished in (default: the configured cache.dir)")
    parser.add_argument("--metric", help="the metric compared (default: each family's headline, e.g. spearman)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (stats.resamples)")
    parser.add_argument("--level", type=float, default=0.95, help="the intervals' level (stats.level)")
    parser.add_argument("--seed", type=int, default=0, help="the resamples' seed (stats.seed)")
    args = parser.parse_args(argv)
    if len(args.cells) < 2:
        parser.error("give two cells or more")
    try:
        settings = Settings.from_config({"resamples": args.resamples, "level": args.level, "seed": args.seed})
        cache_dir = args.cache
        if cache_dir is None:
            from .paths import register_resolvers
            from .plan import compose_cell

            register_resolvers()
            cache_dir = Path(str(compose_cell([]).cache.dir))
        cells = [find(ref, cache_dir) for ref in args.cells]
        print(table(cells, cache_dir, settings, args.metric))
    except SentgridError as exc:
        print(f"sentgrid compare: error: {exc}", file=sys.stderr)
        return 2
    return 0
