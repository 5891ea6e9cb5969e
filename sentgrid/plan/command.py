"""`python -m sentgrid plan [--cells] [--workers N,..] [--throughput CHARS_PER_S] -m SWEEP`."""
import sys
import time

from hydra.errors import HydraException

from .. import plan as package
from ..errors import SentgridError
from .estimate import on_workers, plan
from .report import format_plan, too_big
from .search import format_halving, halving_plan, is_halving
from .sweep import grid


def _option(arguments: list[str], name: str) -> tuple[str | None, list[str]]:
    """The value of `--name=VALUE` (or `--name VALUE`) and the arguments without it."""
    for i, argument in enumerate(arguments):
        if argument == name and i + 1 < len(arguments):
            return arguments[i + 1], arguments[:i] + arguments[i + 2:]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1], arguments[:i] + arguments[i + 1:]
    return None, arguments


def main(arguments: list[str]) -> int:
    if any(a in ("-h", "--help") for a in arguments):
        print("usage: python -m sentgrid plan [--cells] [--workers 1,8,64] [--throughput CHARS_PER_S] -m SWEEP\n"
              "       (the sweep's overrides, presets too; --cells lists every cell with its state, finished /\n"
              "       cached / needs encode, and its estimate; --workers estimates the sweep on that many workers\n"
              "       (Ray, SLURM), each as fast as this machine measured, or as --throughput says, e.g. a GPU's)\n\n"
              + package.__doc__.split("\n", 1)[1].strip()
              + "\n\nexample: python -m sentgrid plan -m pooling=avg,max postproc=none,whiten")
        return 0
    show_cells = "--cells" in arguments
    workers, arguments = _option(arguments, "--workers")
    rate, arguments = _option(arguments, "--throughput")
    arguments = [a for a in arguments if a not in ("-m", "--multirun", "--cells")]
    started = time.perf_counter()
    try:
        counts = [int(w) for w in workers.split(",")] if workers else []
        if any(w < 1 for w in counts) or (rate is not None and float(rate) <= 0):
            raise ValueError
    except ValueError:
        print("sentgrid plan: error: --workers takes whole numbers >= 1 (e.g. 1,8,64) and --throughput a positive "
              "number of characters per second.", file=sys.stderr)
        return 2
    throughput = float(rate) if rate else None
    try:
        cells, sweeper = grid(arguments) if "hydra/sweeper=optuna" not in arguments else ([], None)
        if sweeper is None:
            raise SentgridError("an Optuna search picks its cells as it runs: plan one cell (without the sweeps), or "
                                "plan its space as a grid or a halving sweep (hydra/sweeper=halving).")
        search = halving_plan(cells, sweeper, throughput) if is_halving(sweeper) else None
        report = plan(arguments, throughput, cells=cells) if search is None else None
    except (SentgridError, HydraException) as exc:
        print(f"sentgrid plan: error: {exc}", file=sys.stderr)
        return 2
    if search is not None:  # a search: each rung, and the full grid beside it
        print(format_halving(search))
        refusal = too_big(search)
        if counts:
            print("(--workers: each rung runs as one batch of its launcher; not estimated for a halving sweep)")
            counts = []
    else:
        print(format_plan(report, show_cells))
        refusal = too_big(report)
    if refusal:
        print(f"sentgrid plan: {refusal}", file=sys.stderr)
    for count in counts:
        print(f"on {count:>4} worker{'s' if count > 1 else ' '}  {on_workers(report, count) / 60:8.1f} min")
    command = f"python -m sentgrid -m {' '.join(arguments)}" if arguments else "python -m sentgrid"
    print(f"(planned in {time.perf_counter() - started:.1f} s; run it with: {command})")
    return 1 if refusal else 0
