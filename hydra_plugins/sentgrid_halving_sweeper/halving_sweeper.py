"""`hydra/sweeper=halving`: successive halving of a grid over rungs of data size (sentgrid/search/halving.py).

    python -m sentgrid -m hydra/sweeper=halving layer=1,2,3,4,5,6 pooling=avg,max postproc=none,whiten \\
        hydra.sweeper.rungs=[100,400,null] hydra.sweeper.eta=3 hydra.sweeper.keep=top

The grid is the command line's (and a preset's `hydra.sweeper.params`), expanded as the basic sweeper expands it.
Each rung is one batch for the configured launcher (basic, joblib, Ray, SLURM), so cells of a rung run side by
side where the launcher allows; their job folders are numbered on across the rungs in one sweep folder.
"""
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


@dataclass
class HalvingSweeperConf:
    _target_: str = "hydra_plugins.sentgrid_halving_sweeper.halving_sweeper.HalvingSweeper"
    rungs: list[Any] = field(default_factory=lambda: [100, 400, None])  # items per dataset; null: full data
    eta: float = 3.0          # keep=top keeps the best 1/eta of a rung
    keep: str = "top"         # top | tied: every cell not significantly worse than the rung's best
    objective: str | None = None  # a metric or a weighted mean (0.7*sts/avg/spearman+0.3*clustering/avg/accuracy)
    params: dict[str, str] | None = None  # the grid of a preset, as the basic sweeper's


ConfigStore.instance().store(group="hydra/sweeper", name="halving", node=HalvingSweeperConf, provider="sentgrid")


class HalvingSweeper(Sweeper):
    def __init__(self, rungs=(100, 400, None), eta: float = 3.0, keep: str = "top", objective: str | None = None,
                 params: dict | None = None) -> None:
        self.settings = OmegaConf.create({"rungs": list(rungs), "eta": eta, "keep": keep, "objective": objective})
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)

    def grid(self, arguments: list[str]) -> list[list[str]]:
        from sentgrid.plan.sweep import combinations

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        return combinations(parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()] + list(arguments)))

    def sweep(self, arguments: list[str]) -> Any:
        from sentgrid.errors import SentgridError
        from sentgrid.search import halving
        from sentgrid.search.scored import job_dir_of, score
        from sentgrid.stats import Settings

        try:
            cells = self.grid(arguments)
            halving.refuse_owned(cells)
            settings = halving.Halving.from_config(self.settings, list(self.config.task.families))
            stats = Settings.from_config(self.config.get("stats"))
        except SentgridError as exc:
            print(f"sentgrid: error: {exc}", file=sys.stderr, flush=True)
            sys.exit(2)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        cache_dir = Path(str(self.config.cache.dir))
        fixed = halving.shared(cells)  # said once; each cell is named by what sets it apart
        ledger = {"objective": settings.objective.label, "eta": settings.eta, "keep": settings.keep,
                  "rungs_planned": list(settings.rungs), "grid": len(cells), "shared": self._shown(fixed), "rungs": []}
        returns, job = [], 0
        for index, size in enumerate(settings.rungs):
            last = index == len(settings.rungs) - 1
            print(f"\n== halving rung {index}: {len(cells)} cells on {size or 'all'} items per dataset "
                  f"(task.slice=nested) ==", flush=True)
            started = int(time.time())  # whole seconds, as a cell's started_at
            batch = [cell + settings.overrides(index) for cell in cells]
            results = self.launcher.launch(batch, initial_job_idx=job)
            returns.append(results)
            scored = [score(cell, job_dir_of(result, sweep_dir, job + i), settings.objective, started, fixed)
                      for i, (cell, result) in enumerate(zip(cells, results))]
            job += len(batch)
            try:
                verdict = None if last else halving.select(scored, settings, cache_dir, stats)
            except SentgridError as exc:
                print(f"sentgrid: error: {exc}", file=sys.stderr, flush=True)
                sys.exit(2)
            ledger["rungs"].append(halving.rung_summary(index, size, scored, verdict, time.time() - started))
            if last or not verdict.kept:
                ledger["winner"] = self._winner(scored, size, settings, cache_dir, stats)
                halving.write_ledger(sweep_dir, ledger)
                break
            halving.write_ledger(sweep_dir, ledger)
            cells = [c.cell for c in verdict.kept]
        print("\n" + halving.table(ledger), flush=True)
        return returns

    def _shown(self, overrides: list[str]) -> list[str]:
        """The overrides a person reads: not where things are (cache.dir, tracking.uri: Hydra's excluded keys)."""
        excluded = set(self.config.hydra.job.config.override_dirname.exclude_keys)
        return [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in excluded]

    @staticmethod
    def _winner(scored, size, settings, cache_dir, stats) -> dict | None:
        from sentgrid.search import halving

        order = halving.ranked(scored)
        if not order:
            return None
        tied, _ = halving.tied_set(order, settings.objective, cache_dir, stats)
        best = order[0]
        return {"cell": best.name, "value": round(best.value, 4), "items": size, "cells": len(order),
                "job_dir": str(best.job_dir), "cell_id": best.record.get("cell_id"), "tied": sorted(tied)}
