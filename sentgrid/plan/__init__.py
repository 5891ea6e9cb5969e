"""`python -m sentgrid plan -m <overrides>`: what a sweep will cost, before it runs.

Expands the sweep the way Hydra's basic sweeper does (command line plus an experiment's
`hydra.sweeper.params`), composes every cell, and reports: cells, cells already finished, the
cache entries the cells need (one per dataset and encoder), how many are cached and in how many forward
passes the rest are encoded (one per encoder identity: its entries' sentences together), the sentences left
to encode per model, the static tables left to build, the disk they will take beside the space free,
and a time estimate from measured throughput, table builds and cell times. A sweep that cannot fit on
its cache's disk is refused at its start.
"""
from .estimate import START_SECONDS, entry_bytes, on_workers, plan
from .report import format_plan, passes_phrase, too_big
from .sweep import compose_cell, expand

__all__ = ["START_SECONDS", "compose_cell", "entry_bytes", "expand", "format_plan", "main", "on_workers",
           "passes_phrase", "plan", "too_big"]


def main(arguments: list[str]) -> int:
    from .command import main as run

    return run(arguments)
