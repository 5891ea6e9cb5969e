"""Successive halving over rungs of data size: every cell of the grid on a small nested slice, the best of them
on a larger one, and so on to the last rung (full data by default).

Each rung's cells are ordinary cells (`task.max_items=<rung> task.slice=nested`, tagged with their rung): recorded,
skipped when finished, logged to MLflow, on any launcher; so a halving sweep run again goes on where it stopped,
and a full-data cell it reaches is the same cell a plain sweep runs. Keep rules: `top` keeps the best 1/eta by
the objective (at least one), `tied` every cell not significantly worse than the rung's best (the paired bootstrap
of the cells' per-item outputs, Holm-corrected: stats/paired.py). The Hydra sweeper is a thin shell around this
(hydra_plugins/sentgrid_halving_sweeper)."""
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SentgridError
from .objective import Objective
from .scored import Scored

KEEP_RULES = ("top", "tied")
OWNED_KEYS = ("task.max_items", "task.slice")  # each rung sets them
RUNG_TAG = "tracking.tags.rung"


@dataclass(frozen=True)
class Halving:
    rungs: tuple          # items per dataset on each rung; None: full data
    eta: float
    keep: str
    objective: Objective

    @classmethod
    def from_config(cls, node, families: list[str]) -> "Halving":
        """The sweeper's settings (hydra.sweeper.*), each checked: one sentence naming the setting."""
        from omegaconf import ListConfig, OmegaConf

        rungs = OmegaConf.to_container(node.rungs) if isinstance(node.rungs, ListConfig) else node.rungs
        if not isinstance(rungs, (list, tuple)) or not rungs:
            raise SentgridError(f"hydra.sweeper.rungs={rungs!r} must be a list of items per dataset, e.g. [100,400,null] "
                                f"(null: full data).")
        for size in rungs:
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
                raise SentgridError(f"hydra.sweeper.rungs={rungs}: {size!r} is not a whole number of items >= 1 or null.")
        sizes = [math.inf if size is None else size for size in rungs]
        if any(b <= a for a, b in zip(sizes, sizes[1:])):
            raise SentgridError(f"hydra.sweeper.rungs={rungs} must grow from rung to rung (null, full data, can only be last).")
        eta = float(node.eta)
        if not eta > 1:
            raise SentgridError(f"hydra.sweeper.eta={node.eta} must be more than 1 (3 keeps the best third).")
        if node.keep not in KEEP_RULES:
            raise SentgridError(f"hydra.sweeper.keep={node.keep!r}: choose one of {', '.join(KEEP_RULES)}.")
        return cls(tuple(rungs), eta, str(node.keep), Objective.parse(node.get("objective"), families))

    def data(self, index: int) -> list[str]:
        """The items a cell of rung `index` is scored on."""
        size = self.rungs[index]
        return [f"task.max_items={'null' if size is None else size}", "task.slice=nested"]

    def overrides(self, index: int) -> list[str]:
        """What a cell of rung `index` adds to its grid overrides: its data, and its rung as an MLflow tag."""
        return self.data(index) + [f"+{RUNG_TAG}={index}"]

    def expected_counts(self, cells: int) -> list[int]:
        """The cells of each rung when each keeps 1/eta (keep=tied keeps what the evidence says: a guess then)."""
        counts = [cells]
        for _ in self.rungs[1:]:
            counts.append(max(1, math.ceil(counts[-1] / self.eta)))
        return counts


def refuse_owned(cells: list[list[str]]) -> None:
    for cell in cells:
        for override in cell:
            key = override.split("=", 1)[0].lstrip("+~")
            if key in OWNED_KEYS:
                raise SentgridError(f"{override}: a halving sweep sets {' and '.join(OWNED_KEYS)} on each rung "
                                    f"(hydra.sweeper.rungs); leave them out of the sweep.")


@dataclass
class Verdict:
    kept: list                 # the Scored cells that go on
    tied: set = field(default_factory=set)      # names judged tied with the best (keep=tied, and the last rung)
    unjudged: list = field(default_factory=list)  # cells without per-item outputs (kept: nothing says they are worse)


def ranked(cells: list[Scored]) -> list[Scored]:
    """Best first; equal scores keep the grid's order."""
    return sorted((c for c in cells if c.ok), key=lambda c: -c.value)


def tied_set(cells: list[Scored], objective: Objective, cache_dir, stats) -> tuple[set, list]:
    """(names of the cells not significantly worse than the best, cells whose outputs are not kept)."""
    from ..cells import FinishedCells
    from ..outputs import DamagedOutputs
    from ..stats.intervals import per_resample
    from ..stats.paired import tied_with_best

    finished, points, values, unjudged = FinishedCells(cache_dir), {}, {}, []
    for cell in ranked(cells):
        try:
            kept = finished.outputs(cell.record.get("cell_id", ""))
        except DamagedOutputs:
            kept = None
        resamples = objective.resampled(per_resample(kept, stats)) if kept is not None else None
        if resamples is None:
            unjudged.append(cell)
            continue
        points[cell.name], values[cell.name] = cell.value, resamples
    if not points:
        return set(), unjudged
    _, tied, _ = tied_with_best(points, values, stats.level)
    return tied, unjudged


def select(cells: list[Scored], halving: Halving, cache_dir, stats) -> Verdict:
    """The cells that go on to the next rung."""
    order = ranked(cells)
    if halving.keep == "top":
        return Verdict(order[:max(1, math.ceil(len(order) / halving.eta))] if order else [])
    tied, unjudged = tied_set(order, halving.objective, cache_dir, stats)
    return Verdict([c for c in order if c.name in tied or c in unjudged], tied, unjudged)


def rung_summary(index: int, size, cells: list[Scored], verdict: Verdict | None, seconds: float) -> dict:
    """One rung of the ledger (halving.json, the end-of-sweep table)."""
    ran = [c.record.get("encode", {}) for c in cells if c.ok and c.status == "ok"]
    computed, reused = (sum(encode.get(count, 0) for encode in ran) for count in ("sentences_computed", "sentences_reused"))
    order = ranked(cells)
    return {"rung": index, "items": size, "cells": len(cells), "ran": sum(c.status == "ok" for c in cells),
            "skipped": sum(c.status == "skipped" for c in cells), "failed": sum(not c.ok for c in cells),
            "sentences_encoded": int(computed), "sentences_reused": int(reused), "seconds": round(seconds, 1),
            "best": {"cell": order[0].name, "value": round(order[0].value, 4)} if order else None,
            "kept": [c.name for c in verdict.kept] if verdict else None,
            "tied": sorted(verdict.tied) if verdict else None,
            "unjudged": [c.name for c in verdict.unjudged] if verdict else None,
            "results": [{"cell": c.name, "job_dir": str(c.job_dir), "status": c.status,
                         "value": round(c.value, 4) if c.ok else None} for c in cells]}


def shared(cells: list[list[str]]) -> list[str]:
    """The overrides every cell of the grid has (said once, not in every row)."""
    return [o for o in cells[0] if all(o in cell for cell in cells)] if cells else []


def table(ledger: dict) -> str:
    """The end-of-sweep table: the rungs, their survivors and what each cost."""
    every = f"; every cell: {' '.join(ledger['shared'])}" if ledger.get("shared") else ""
    lines = [f"halving: objective {ledger['objective']}, eta {ledger['eta']:g}, keep {ledger['keep']}{every}",
             f"  {'rung':>4} {'items':>6} {'cells':>6} {'ran':>5} {'skipped':>8} {'failed':>7} {'kept':>5} "
             f"{'encoded':>9} {'reused':>8} {'minutes':>8}  best"]
    for rung in ledger["rungs"]:
        best = f"{rung['best']['value']:.2f} {rung['best']['cell']}" if rung["best"] else "-"
        kept = len(rung["kept"]) if rung["kept"] is not None else "-"
        lines.append(f"  {rung['rung']:>4} {rung['items'] or 'full':>6} {rung['cells']:>6} {rung['ran']:>5} "
                     f"{rung['skipped']:>8} {rung['failed']:>7} {kept:>5} {rung['sentences_encoded']:>9,} "
                     f"{rung.get('sentences_reused', 0):>8,} {rung['seconds'] / 60:>8.1f}  {best}")
    winner = ledger.get("winner")
    if winner:
        lines.append(f"winner: {winner['cell']} ({ledger['objective']} {winner['value']:.2f} on "
                     f"{winner['items'] or 'full data'}); tied with it on the last rung: {len(winner['tied'])} of "
                     f"{winner['cells']} cells")
    return "\n".join(lines)


def write_ledger(sweep_dir: Path, ledger: dict) -> None:
    """halving.json, rewritten after each rung (an interrupted sweep leaves the rungs it finished)."""
    path = Path(sweep_dir) / "halving.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(ledger, indent=1, default=str))
    tmp.replace(path)


def spread(cells: list, count: int) -> list:
    """`count` of the cells, evenly spaced over the grid: the stand-ins of a later rung's unknown survivors."""
    if count >= len(cells):
        return list(cells)
    return [cells[i] for i in np.unique(np.linspace(0, len(cells) - 1, count).round().astype(int))]
