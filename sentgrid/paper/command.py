"""`python -m sentgrid paper [model=minilm] [overrides] [--plan | --report]`: the paper on one base model.

Plans every sweep of `grid.paper_grid` first, as one (cells, what is finished, the estimate, the disk; a
pass two sweeps share is counted once; each entry keeps the layers its sweep reads, cache.layers=requested,
unless the command says cache.layers=all) and refuses a run that cannot fit its cache's disk (where all of it does
not fit but sweep by sweep it does, each sweep's entries that no later sweep reads are removed after it: a
finished cell never reads them again, and a forced one encodes them again); then runs each
sweep as an ordinary `python -m sentgrid -m` (every cell recorded, skipped when finished, any launcher:
`hydra/launcher=ray` passes through), into multirun/paper/<model>/<data>/<sweep>/; then lays the results
out as the paper in reports/paper/<model>/ (a slice: reports/paper/<model>/slice-N/). Interrupted, the same
command goes on where it stopped. A slice (task.max_items=N) runs the demo: the same sweeps with fewer
values per axis (grid.DEMO), every table and figure in about 15 minutes on 2 cores.

    --plan     print the plan and stop
    --report   skip the sweeps: lay out what the sweep folders already hold
"""
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hydra.errors import HydraException

from ..errors import SentgridError
from ..paths import home
from ..report.data_labels import FULL, data_label
from .grid import DEMO, PAPER, Sweep, paper_grid

USAGE = "usage: python -m sentgrid paper [model=NAME] [OVERRIDE ...] [--plan | --report]"


def base_model(overrides: list[str]) -> tuple[str, int, str]:
    """(model name, its number of blocks, the data label) for the command's overrides."""
    from hydra import compose

    from ..encoders.base import build
    from ..plan.sweep import _config_dir
    from ..templates import Template

    with _config_dir():
        cfg = compose("config", overrides=["task=all", *overrides])  # as every sweep composes it
    encoder = build(cfg.model, Template("none", None), corpus=None)
    if not getattr(encoder, "layered", True) or not hasattr(encoder, "num_layers") or cfg.model.get("base"):
        raise SentgridError(f"model={cfg.model.name} is not a transformer: the paper's rows (T0, T4, Avg., B2S, RE) "
                            f"are built on a transformer; use model=minilm, model=mpnet or a transformer config.")
    return str(cfg.model.name), int(encoder.num_layers), data_label(cfg.task)


def sweep_arguments(sweep: Sweep, overrides: list[str], folder: Path, model: str) -> list[str]:
    # task=all first so that the user's overrides (task.max_items, a launcher, cache.dir) come after and win
    return [*sweep.overrides, "task=all", f"tracking.experiment=paper-{model}", *overrides,
            f"hydra.sweep.dir={folder}"]


def plan_all(sweeps: list[Sweep], arguments: dict[str, list[str]]) -> tuple[dict, "Storage"]:
    """Every sweep's cells planned as one (a forward pass or table two sweeps share is counted once; each sweep
    keeps its own layers under cache.layers=requested, as it will when it runs), printed per sweep and in all;
    and what they store, kept or pruned sweep by sweep (Storage)."""
    from ..plan import expand
    from ..plan.estimate import plan
    from ..plan.report import size

    cells = {s.name: expand(arguments[s.name]) for s in sweeps}
    report = plan([], cells=[c for s in sweeps for c in cells[s.name]],
                  groups=[i for i, s in enumerate(sweeps) for _ in cells[s.name]])
    listing, keys = iter(report["listing"]), {}
    print(f"{'sweep':<18}{'cells':>6}{'finished':>10}  {'scoring':>9}  {'to store':>10}  feeds")
    seen = set()
    for sweep in sweeps:
        items = [next(listing) for _ in cells[sweep.name]]
        keys[sweep.name] = {k for i in items for k in i["keys"]}
        seconds = sum(i.get("estimate_seconds", 0.0) for i in items)
        new = sum(report["entry_bytes"].get(k, 0) for k in keys[sweep.name] - seen)
        seen |= keys[sweep.name]
        print(f"{sweep.name:<18}{len(items):>6}{sum(i['state'] == 'finished' for i in items):>10}  "
              f"{seconds / 60:>5.1f} min  {size(new):>10}  {sweep.feeds}", flush=True)
    storage = Storage.of([s.name for s in sweeps], keys, report)
    print(f"{'all':<18}{report['cells']:>6}{report['finished']:>10}  {report['estimate_seconds'] / 60:>5.1f} min  "
          f"(with {report['estimate_encode_seconds'] / 60:.1f} min of encoding and "
          f"{report['estimate_table_seconds'] / 60:.1f} min of static tables); {size(storage.total)} to store"
          + (f"; {size(storage.scratch)} of scratch while a token pass runs" if storage.scratch else "")
          + (f"; at most {size(storage.peak)} at once with {storage.why}, scratch included" if storage.pruning else ""))
    return report, storage


@dataclass
class Storage:
    """What the sweeps store: all of it kept (`total`, with the largest token pass's `scratch` beside it), or, when
    that does not fit the cache's disk (`pruning`), each sweep's entries that no later sweep reads removed after
    it (`prunable`: sweep -> keys; the last sweep's stay), which takes at most `peak` at once (a sweep's token
    pass's scratch counted while it runs)."""
    total: float
    peak: float
    scratch: float
    free: float | None          # None: cache.check_space=false, or nothing to store
    cache_dir: str | None
    prunable: dict = field(default_factory=dict)
    why = "each sweep's entries removed once no later sweep reads them"

    @classmethod
    def of(cls, names: list[str], keys: dict[str, set], report: dict) -> "Storage":
        sizes, scratch = report["entry_bytes"], report.get("scratch_bytes", {})
        disk = report["disk"][0] if report["disk"] else None
        stored, peak, seen, prunable = 0.0, 0.0, set(), {}
        for i, name in enumerate(names):
            new = keys[name] - seen
            stored += sum(sizes.get(k, 0) for k in new)
            seen |= keys[name]
            peak = max(peak, stored + max((scratch.get(k, 0) for k in new), default=0))
            later = names[i + 1:]
            prunable[name] = sorted(keys[name] - set().union(*(keys[n] for n in later))) if later else []
            stored -= sum(sizes.get(k, 0) for k in prunable[name])
        return cls(sum(sizes.get(k, 0) for k in seen), peak, disk.get("scratch", 0) if disk else 0,
                   disk["free"] if disk and disk["check_space"] else None, disk["cache_dir"] if disk else None, prunable)

    @property
    def pruning(self) -> bool:
        return self.free is not None and self.total + self.scratch > self.free

    def refusal(self) -> str | None:
        from ..plan.report import size

        if not self.pruning or self.peak <= self.free:
            return None
        return (f"the paper would store about {size(self.total)} in cache.dir={self.cache_dir} ({size(self.peak)} at "
                f"once with {self.why}, a token pass's scratch included), but only "
                f"{size(self.free)} are free there; free space (python -m sentgrid cache du), set cache.dir "
                f"elsewhere, keep cache.layers=requested (the paper's default: an entry keeps the layers its sweep "
                f"reads) or "
                f"cache.dtype=float16 (half the primitives' size), or start it anyway with cache.check_space=false.")

    def after(self, sweep: str) -> None:
        """Remove the entries of `sweep` that no later sweep reads (when the disk needs it)."""
        from ..store import EntryStore
        from ..store.maintenance import remove_entries

        if not self.pruning or not self.prunable.get(sweep):
            return
        removed, freed, busy, _ = remove_entries(EntryStore(self.cache_dir), self.prunable[sweep])
        print(f"paper: removed {removed} entries of sweep {sweep} ({freed / 2**30:.2f} GiB) that no later "
              f"sweep reads, so that the rest fits the disk" + (f"; {busy} in use were kept" if busy else ""), flush=True)


def run_sweep(arguments: list[str]) -> int:
    """The sweep as a child process, waited for until it ends, so that an interrupted cell is recorded as such
    (subprocess.call would kill the child). A Ctrl-C reaches the child from the terminal already (the whole
    foreground group is signalled); a SIGTERM (kill, scancel) names this process alone, so it is passed on.
    Either stops the paper after this sweep: 130."""
    child = subprocess.Popen([sys.executable, "-m", "sentgrid", "-m", *arguments])
    stopped = []

    def stop(number, frame):
        stopped.append(number)
        if number == signal.SIGTERM:
            child.send_signal(signal.SIGTERM)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 130 if stopped else code


def main(arguments: list[str]) -> int:
    from ..paths import register_resolvers

    if any(a in ("-h", "--help") for a in arguments):
        print(USAGE + "\n\n" + (__doc__ or "").split("\n", 2)[2].strip())
        return 0
    register_resolvers()
    flags = {a for a in arguments if a.startswith("--")}
    if flags - {"--plan", "--report"}:
        print(f"sentgrid paper: error: unknown option {sorted(flags - {'--plan', '--report'})[0]}; {USAGE}",
              file=sys.stderr)
        return 2
    overrides = [a for a in arguments if not a.startswith("--") and a not in ("-m", "--multirun")]
    if not any(a.startswith("model=") for a in overrides):
        overrides.insert(0, "model=minilm")
    if not any(a.startswith("cache.layers=") for a in overrides):  # every layer of every entry: MiniLM's full
        overrides.append("cache.layers=requested")                 # data would store 210 GiB, not 76
    try:
        model, layers, data = base_model(overrides)
    except (SentgridError, HydraException) as exc:
        print(f"sentgrid paper: error: {exc}", file=sys.stderr)
        return 2
    user = [a for a in overrides if not a.startswith("model=")]
    sweeps = paper_grid(model, layers, PAPER if data == FULL else DEMO)
    root = home() / "multirun" / "paper" / model / data
    folders = {s.name: root / s.name for s in sweeps}
    arguments_of = {s.name: sweep_arguments(s, user, folders[s.name], model) for s in sweeps}
    out = home() / "reports" / "paper" / model / ("" if data == FULL else data)
    print(f"the paper on {model} ({layers} blocks), "
          f"{'full data: the paper' if data == FULL else data + ': the demo'}'s grid, {len(sweeps)} sweeps into {root}")
    if "--report" not in flags:
        try:
            report, storage = plan_all(sweeps, arguments_of)
        except (SentgridError, HydraException) as exc:
            print(f"sentgrid paper: error: {exc}", file=sys.stderr)
            return 2
        refusal = storage.refusal()
        if refusal:
            print(f"sentgrid paper: {refusal}", file=sys.stderr)
            return 2
        if "--plan" in flags:
            return 0
        started = time.perf_counter()
        for sweep in sweeps:
            print(f"\n== paper sweep {sweep.name}: {sweep.why} ==", flush=True)
            code = run_sweep(arguments_of[sweep.name])
            if code != 0:
                print(f"sentgrid paper: sweep {sweep.name} {'interrupted' if code == 130 else f'stopped (exit {code})'}; "
                      f"every finished cell is kept: run the same command again to go on.", file=sys.stderr)
                return code
            storage.after(sweep.name)
        print(f"\nall {len(sweeps)} sweeps done in {(time.perf_counter() - started) / 60:.1f} min "
              f"(plan said {report['estimate_seconds'] / 60:.1f} min)")
    from .layout import write_paper

    written = write_paper(model, data, folders, out, str(out.relative_to(home())))
    print(f"the paper on {model}: {out / 'README.md'} ({len(written)} files)")
    return 0
