"""What a halving sweep (hydra/sweeper=halving) costs: each rung, their sum, and the full grid beside it.

Rung 0 is planned exactly (every cell of the grid on the first slice). Which cells survive a rung is not known
before it runs, so a later rung is planned on as many cells as the keep rule keeps (1/eta of the rung before),
spread evenly over the grid: an estimate, said as one. A later rung encodes only the sentences the smaller rungs'
passes did not (nested slices; the store reads their rows, store/donors.py)."""
from ..search.halving import Halving, refuse_owned, spread
from .estimate import plan
from .report import size

HALVING, OPTUNA = "HalvingSweeper", "OptunaSweeper"


def is_halving(sweeper) -> bool:
    return str(sweeper.get("_target_", "")).endswith(HALVING)


def is_optuna(sweeper) -> bool:
    """A search whose cells are known only as it runs: no plan before it (the sweeper says what it does)."""
    return str(sweeper.get("_target_", "")).endswith(OPTUNA)


def halving_plan(cells: list[list[str]], sweeper, throughput: float | None = None, with_grid: bool = True) -> dict:
    """{"halving", "rungs": [{rung, items, cells, exact, report}], "grid": the full grid's plan on the last rung's
    data (or None),
    "estimate_seconds", "disk"} of a halving sweep over `cells`."""
    from .sweep import compose_cell

    refuse_owned(cells)
    settings = Halving.from_config(sweeper, list(compose_cell(cells[0] if cells else []).task.families))
    rungs, held = [], frozenset()
    for index, count in enumerate(settings.expected_counts(len(cells))):
        stand_ins = cells if index == 0 else spread(cells, count)
        report = plan([], throughput, cells=[cell + settings.overrides(index) for cell in stand_ins],
                      encoded_before=held)
        held |= report.pop("held")
        rungs.append({"rung": index, "items": settings.rungs[index], "cells": count, "exact": index == 0,
                      "report": report})
    disk = {}
    for rung in rungs:
        for entry in rung["report"]["disk"]:
            merged = disk.setdefault(entry["cache_dir"], {**entry, "bytes": 0})
            merged["bytes"] += entry["bytes"]
    last = settings.data(len(settings.rungs) - 1)  # the grid beside it: every cell on the last rung's data
    grid = plan([], throughput, cells=[cell + last for cell in cells]) if with_grid else None
    return {"halving": settings, "rungs": rungs, "grid": grid,
            "estimate_seconds": sum(r["report"]["estimate_seconds"] for r in rungs), "disk": list(disk.values()),
            "kept_layers": rungs[0]["report"]["kept_layers"] if rungs else None}


def format_halving(search: dict) -> str:
    settings = search["halving"]
    lines = [f"halving          {settings.objective.label}, eta {settings.eta:g}, keep {settings.keep}: "
             f"{len(search['rungs'])} rungs"]
    for rung in search["rungs"]:
        report = rung["report"]
        stored = sum(d["bytes"] for d in report["disk"])
        mark = "" if rung["exact"] else "*"
        lines.append(f"  rung {rung['rung']:<3} {rung['items'] or 'all':>6} items {rung['cells']:>6}{mark:1} cells "
                     f"{report['estimate_seconds'] / 60:8.1f} min ({report['estimate_encode_seconds'] / 60:.1f} "
                     f"encoding) {size(stored):>11} to store")
    if any(not r["exact"] for r in search["rungs"]):
        survivors = "keep=tied keeps what the evidence says" if settings.keep == "tied" else \
            f"1/{settings.eta:g} of the rung before"
        lines.append(f"  (* which cells go on is known only when the rung before has run: that many cells ({survivors}), "
                     f"spread over the grid, stand in)")
    total = search["estimate_seconds"]
    lines.append(f"halving total    {total / 60:.1f} min, {size(sum(d['bytes'] for d in search['disk']))} to store")
    grid = search["grid"]
    if grid is not None:
        stored = sum(d["bytes"] for d in grid["disk"])
        share = f" (halving: {100 * total / grid['estimate_seconds']:.0f}% of its time)" if grid["estimate_seconds"] else ""
        data = f"{settings.rungs[-1]} items" if settings.rungs[-1] else "full data"
        lines.append(f"full grid        {grid['cells']} cells on {data}: {grid['estimate_seconds'] / 60:.1f} min, "
                     f"{size(stored)} to store{share}")
    return "\n".join(lines)
