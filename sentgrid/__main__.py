"""`python -m sentgrid` runs one grid cell; `python -m sentgrid -m ...` sweeps (Hydra multirun);
`python -m sentgrid plan -m ...` says what a sweep will cost without running it; `python -m sentgrid
compare A B` compares finished cells on the same items; `python -m sentgrid paper` runs the paper's
experiments and lays them out as the paper; `python -m sentgrid cache verify|gc|du` checks, tidies and
lists the cache."""
import gc
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from . import interrupts
from .errors import Interrupted, SentgridError
from .paths import CONF_DIR, register_resolvers
from .summary import summary_table

log = logging.getLogger("sentgrid")
register_resolvers()


def _fail(record: dict, job_dir: Path, message: str, multirun: bool, fail_fast: bool):
    """Record a failed cell; stop a single run (exit 2) but let a sweep go on unless fail_fast."""
    from . import tracking

    tracking.write_record(record, job_dir)
    print(f"sentgrid: error: {message}", file=sys.stderr, flush=True)
    if not multirun or fail_fast:
        sys.exit(2)
    return None


def _skip(cfg, job_dir: Path, identity: str, finished, done: dict, tags: dict) -> None:
    """A finished cell: point at its record (kept whole in the finished-cell index) and log it as this
    job's run (tagged with this sweep). Never overwrites a record: a re-run into the same job folder
    leaves an ok result.json as it is."""
    from . import tracking
    from .cells import stored_record

    path = job_dir / tracking.RESULT_FILE
    here = tracking.read_record(path)
    if not (here and here.get("status") == "ok" and here.get("cell_id") == identity):
        tracking.write_record({"status": "skipped", "cell_id": identity, "previous": str(finished.path(identity)),
                               "result": done["result"], "tags": tags}, job_dir)
    print(f"\n{tags['cell']}: already finished ({done['finished']}), result in {done['result']}; "
          f"force=true runs it again\n{summary_table(stored_record(done))}\n", flush=True)
    if cfg.tracking.enabled:  # a run of this job too, so the sweep's runs are all there under its folder
        tracking.track(tracking.as_skipped(stored_record(done), {**tags, "cell_id": identity}), job_dir,
                       cfg.tracking.uri, cfg.tracking.experiment, cfg.tracking.timeout_s)


def _interrupted(exc: KeyboardInterrupt, job_dir: Path, tags: dict):
    """Record the interrupted cell and stop, with one line instead of a traceback."""
    from . import tracking

    kept = str(exc) if isinstance(exc, Interrupted) else "everything already in the cache is kept"
    tracking.write_record({"status": "interrupted", "error": f"interrupted: {kept}", "tags": tags}, job_dir)
    print(f"\nsentgrid: interrupted {tags['cell']}: {kept}; run the same command again to go on.", file=sys.stderr,
          flush=True)
    sys.exit(130)


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from . import tracking
    from .cells import FinishedCells, cell_id, stored_record
    from .outputs import checksum
    from .overrides import check_added_keys

    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode.name == "MULTIRUN"
    fail_fast = bool(cfg.get("fail_fast", False))
    job_dir = Path(hydra_cfg.runtime.output_dir)
    tags = {"cell": hydra_cfg.job.override_dirname or "defaults", "job_dir": str(job_dir),
            "sweep_dir": hydra_cfg.sweep.dir if multirun else hydra_cfg.run.dir,
            "git_commit": tracking.git_commit(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **{str(k): str(v) for k, v in (cfg.tracking.get("tags") or {}).items()}}
    # MLflow's import and store check (a second or two) run while the datasets are scored, when this
    # process only waits for its workers; a sweep's callback did it before its jobs
    preparing = _Preparing(cfg.tracking, enabled=cfg.tracking.enabled and not multirun)
    try:
        check_added_keys(list(hydra_cfg.overrides.task), dict(hydra_cfg.runtime.choices))
        if cfg.tracking.enabled:  # a store MLflow cannot use fails here, not after the cell's work
            tracking.resolve_uri(cfg.tracking.uri)
        identity = cell_id(cfg)
        finished = FinishedCells(cfg.cache.dir)
        done = None if cfg.get("force", False) else finished.get(identity)
        if done:  # the finished cell's objective, so sweepers that optimise (Optuna) see the same value
            _skip(cfg, job_dir, identity, finished, done, tags)
            return objective(stored_record(done), cfg)
        from . import pipeline  # heavy imports (torch, transformers) only for a cell that runs

        with interrupts.catching():
            record, outputs = pipeline.run(cfg, while_scoring=preparing.start)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, job_dir, tags)
    except MissingMandatoryValue as exc:
        message = f"{exc.full_key} has no value; set it on the command line ({exc.full_key}=...)."
        return _fail({"status": "failed", "error": message, "tags": tags}, job_dir, message, multirun, fail_fast)
    except SentgridError as exc:
        return _fail({"status": "failed", "error": str(exc), "tags": tags}, job_dir, str(exc), multirun, fail_fast)
    except Exception as exc:  # a bug, not a user mistake: keep the traceback in the record
        if fail_fast or not multirun:
            tracking.write_record({"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                                   "traceback": traceback.format_exc(), "tags": tags}, job_dir)
            raise
        log.exception("cell %s failed", tags["cell"])
        return _fail({"status": "failed", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(),
                      "tags": tags}, job_dir, f"{type(exc).__name__}: {exc}", multirun, fail_fast)
    finally:  # never left half-way through the store's creation
        preparing.wait()
    record["tags"] = {**tags, "cell_id": identity}
    record["cell_id"] = identity
    packed = outputs.pack()  # kept beside the record in the finished-cell index, which names its checksum
    record["outputs"] = {"file": finished.outputs_path(identity).name, "sha256": checksum(packed), "bytes": len(packed)}
    path = tracking.write_record(record, job_dir)  # before anything else can fail
    try:
        finished.mark(identity, path or job_dir / tracking.RESULT_FILE, record, packed)
    except OSError as exc:  # a read-only shared cache: the result is safe, it just is not indexed
        log.warning("could not mark the cell finished in %s (%s); its result is in %s", finished.root, exc, path)
    log.info("encode: %s", record["encode"])
    count = len(record.get("warnings", []))
    warned = f"({count} library warning{'s' * (count > 1)} kept in {path}: warnings)\n" if count and path else ""
    print(f"\n{tags['cell']}\n{summary_table(record)}\n{warned}", flush=True)
    if cfg.tracking.enabled:
        tracking.track(record, job_dir, cfg.tracking.uri, cfg.tracking.experiment, cfg.tracking.timeout_s)
    return objective(record, cfg)


class _Preparing:
    """tracking.prepare (create the store and the experiment) in a thread, so that MLflow's import overlaps
    the cell's scoring (this process mostly waits for its workers then). A head start only: logging the
    run creates whatever is still missing."""

    def __init__(self, settings, enabled: bool):
        self.enabled = enabled
        self.thread = threading.Thread(target=self._prepare, args=(settings,), daemon=True)

    def start(self) -> None:
        if self.enabled:
            self.thread.start()

    @staticmethod
    def _prepare(settings) -> None:
        from . import tracking

        try:
            tracking.prepare(settings.uri, settings.experiment, settings.timeout_s)
        except Exception as exc:  # the record is written anyway; tracking says what went wrong at the end
            log.debug("could not prepare the MLflow store %s (%s)", settings.uri, exc)

    def wait(self) -> None:
        if self.thread.is_alive():
            self.thread.join()


def objective(record: dict, cfg) -> float | None:
    """What a cell returns to Hydra's sweeper: the average headline metric of its first family."""
    from .tasks import family

    first = family(cfg.task.families[0])
    return record["metrics"].get(f"{first.name}/avg/{first.headline[0]}")


def cli() -> None:
    """The `sentgrid` command (and `python -m sentgrid`): subcommands first, else a Hydra run."""
    if any(a in ("-h", "--help") for a in sys.argv[1:2]):
        from .help import text

        sys.exit(print(text()))
    if "--hydra-help" in sys.argv[1:]:
        sys.argv = [a if a != "--hydra-help" else "--help" for a in sys.argv]
    if len(sys.argv) > 1 and sys.argv[1] == "plan":
        from .plan import main as plan_main

        sys.exit(plan_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "export":
        from .export import main as export_main

        sys.exit(export_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "compare":
        from .compare import main as compare_main

        sys.exit(compare_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "paper":
        from .paper.command import main as paper_main

        sys.exit(paper_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "cache":
        from .store.maintenance import main as cache_main

        sys.exit(cache_main(sys.argv[2:]))
    # Our plugins: hydra/launcher=ray, hydra/sweeper=halving and hydra/sweeper=optuna. Hydra finds plugins by
    # scanning the hydra_plugins folders on sys.path, which an editable install's import hook is not (from another
    # folder "Could not find 'hydra/launcher/ray'", then "Unknown plugin class"); importing and registering them here
    # works wherever sentgrid is installed.
    from hydra.core.plugins import Plugins

    from hydra_plugins.sentgrid_halving_sweeper.halving_sweeper import HalvingSweeper
    from hydra_plugins.sentgrid_optuna_sweeper.optuna_sweeper import OptunaSweeper
    from hydra_plugins.sentgrid_ray_launcher.ray_launcher import RayLauncher

    for plugin in (HalvingSweeper, OptunaSweeper, RayLauncher):
        Plugins.instance().register(plugin)

    from .overrides import check_choices

    try:
        check_choices(sys.argv[1:])
    except SentgridError as exc:
        print(f"sentgrid: error: {exc}", file=sys.stderr)
        sys.exit(2)
    main()
    # The interpreter's last garbage collection walks every object MLflow and scikit-learn made (0.7 s of
    # each run's exit); results and logs are closed by now, and the exit frees the memory all the same.
    gc.freeze()


def run() -> None:
    """cli(), with Ctrl-C before a cell has started (imports, composing the config) said in one line too,
    and a closed pipe (`| head`) ended quietly."""
    try:
        cli()
    except KeyboardInterrupt:
        print("\nsentgrid: interrupted before anything was computed.", file=sys.stderr, flush=True)
        sys.exit(130)
    except BrokenPipeError:  # `... | head`: the reader has what it wanted; no traceback (Python's own recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    run()
