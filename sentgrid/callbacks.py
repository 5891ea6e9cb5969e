"""Hydra callbacks: the tracking store made before a sweep's jobs start, and the end-of-sweep summary
(finished, skipped and failed cells, reconciled with MLflow)."""
import json
import logging
import sys
import time
from pathlib import Path

from hydra.experimental.callback import Callback

from .summary import comparison
from .tracking_views import LOCAL_UI

log = logging.getLogger("sentgrid")


def summarise(sweep_dir: Path) -> dict:
    """Counts and the failed cells of every job's result.json under `sweep_dir`."""
    summary = {"ok": [], "skipped": [], "failed": [], "interrupted": [], "missing": []}
    for job in sorted((p for p in Path(sweep_dir).iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)):
        path = job / "result.json"
        if not path.is_file():
            summary["missing"].append({"job": job.name})
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            summary["missing"].append({"job": job.name, "unreadable": True})
            continue
        entry = {"job": job.name, "cell": record.get("tags", {}).get("cell")}
        if record.get("status") in ("failed", "interrupted"):
            entry["error"] = record.get("error")
        summary.setdefault(record.get("status", "ok"), []).append(entry)
    return summary


def format_summary(summary: dict) -> str:
    counts = ", ".join(f"{len(summary[k])} {k}" for k in summary if summary[k])
    lines = [f"sweep summary: {counts or 'no cells'}"]
    for status in ("failed", "interrupted"):
        for entry in summary[status]:
            lines.append(f"  {status} #{entry['job']} {entry['cell']}: {entry['error']}")
    for entry in summary["missing"]:
        lines.append(f"  no result from job #{entry['job']} (killed or still running?)")
    return "\n".join(lines)


class SweepSummary(Callback):
    """Before a multirun's jobs: create the tracking store and experiment once (parallel jobs would race
    to create it). After: print what finished, what was skipped as already done and what failed, log
    every ok record MLflow lacks (so the counts are MLflow's too), write `summary.json` in the sweep
    folder, and exit 1 when cells failed (`exit_nonzero_on_failure`)."""

    def on_multirun_start(self, config, **kwargs) -> None:
        self.started, self.estimate = time.time(), self.announce(config)
        if self.refusal:  # before any cell writes a byte
            print(f"sentgrid: {self.refusal}", file=sys.stderr, flush=True)
            sys.exit(2)
        if config.get("tracking", {}).get("enabled", False):
            from . import tracking
            from .errors import SentgridError

            try:
                tracking.resolve_uri(config.tracking.uri)
            except SentgridError as exc:  # before any cell: every one would fail to log
                print(f"sentgrid: error: {exc}", file=sys.stderr, flush=True)
                sys.exit(2)
            try:
                tracking.prepare(config.tracking.uri, config.tracking.experiment, config.tracking.timeout_s)
            except Exception as exc:  # the cells record their results anyway; replay logs them later
                log.warning("could not prepare the MLflow store %s (%s)", config.tracking.uri, exc)

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        summary = summarise(sweep_dir)
        # plan's estimate beside the measured wall time: `make bench` prints the ratio of the last sweeps
        seconds = {"planned": self.estimate, "measured": round(time.time() - self.started, 1)} \
            if getattr(self, "started", None) else {}
        (sweep_dir / "summary.json").write_text(json.dumps({**summary, "seconds": seconds}, indent=1))
        print(comparison(sweep_dir, Path(str(config.cache.dir)), self.stats(config)) + "\n\n" + format_summary(summary),
              flush=True)
        if config.get("tracking", {}).get("enabled", False):
            print(self.reconcile(config, sweep_dir, summary), flush=True)
        if (summary["failed"] or summary["interrupted"]) and config.get("exit_nonzero_on_failure", True):
            sys.exit(1)

    refusal = None

    @staticmethod
    def stats(config):
        from .errors import SentgridError
        from .stats import Settings

        try:
            return Settings.from_config(config.get("stats"))
        except SentgridError:  # each cell said so already
            return Settings()

    def announce(self, config) -> float | None:
        """Print what `plan` estimates for the sweep about to run; its estimate in seconds. A sweep whose
        cache would not fit on its disk is refused (`self.refusal`)."""
        from .plan import passes_phrase, plan, too_big
        from .plan.search import halving_plan, is_halving, is_optuna

        if is_optuna(config.hydra.sweeper):
            return None
        try:
            if is_halving(config.hydra.sweeper):
                from .plan import expand

                cells = expand(list(config.hydra.overrides.task))
                search = halving_plan(cells, config.hydra.sweeper, with_grid=False)
            else:
                search, report = None, plan(list(config.hydra.overrides.task))
        except Exception as exc:  # an estimate is a courtesy: the sweep runs anyway (a halving sweep checks its own)
            log.debug("no estimate for this sweep (%s: %s)", type(exc).__name__, exc)
            return None
        if search is not None:
            self.refusal = too_big(search)
            rungs = " -> ".join(f"{r['cells']}{'' if r['exact'] else '~'} on {r['items'] or 'all'}"
                                for r in search["rungs"])
            print(f"halving sweep: {len(cells)} cells, rungs of {rungs} items per dataset (~: as many as the rung "
                  f"before keeps); plan estimates {search['estimate_seconds'] / 60:.1f} min", flush=True)
            report = search
        else:
            self.refusal = too_big(report)
            encode = f", {passes_phrase(report['forward_passes'])} to encode {report['to_encode']} cache entries" \
                if report["to_encode"] else ", all encodings cached"
            print(f"sweep: {report['cells']} cells ({report['finished']} already finished{encode}); plan estimates "
                  f"{report['estimate_seconds'] / 60:.1f} min", flush=True)
        if report["kept_layers"]:  # cache.layers=requested: every cell of the sweep keeps the same layers
            from .store.kept_layers import write_sweep

            write_sweep(config.hydra.sweep.dir, report["kept_layers"])
        return report["estimate_seconds"]

    @staticmethod
    def reconcile(config, sweep_dir: Path, summary: dict) -> str:
        from . import tracking

        uri, experiment, timeout = config.tracking.uri, config.tracking.experiment, config.tracking.timeout_s
        try:
            logged = tracking.replay(sweep_dir, uri, experiment, timeout)
            runs = tracking.count_runs(uri, experiment, str(sweep_dir), timeout)
            links = tracking.sweep_view(sweep_dir, uri, experiment, timeout) if runs else {}
        except Exception as exc:
            return f"MLflow: not reachable ({type(exc).__name__}); replay later: python -m sentgrid.tracking replay {sweep_dir}"
        expected = len(summary["ok"]) + len(summary["skipped"])
        note = f", {logged} logged now" if logged else ""
        state = "all logged" if runs >= expected else f"{expected - runs} missing: replay with " \
            f"python -m sentgrid.tracking replay {sweep_dir}"
        lines = [f"MLflow: {runs} runs of this sweep in experiment {experiment!r} for {expected} ok and skipped cells "
                 f"({state}{note})"]
        if links:
            start = " (start the UI with: make ui)" if links["runs"].startswith(LOCAL_UI) else ""
            lines += [f"  its runs, with the settings that vary and the scores: {links['runs']}{start}",
                      f"  compared (parallel coordinates, score against time): {links['compare']}"]
        return "\n".join(lines)
