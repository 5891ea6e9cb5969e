"""Hydra callbacks: the end-of-sweep summary (finished, skipped and failed cells)."""
import json
import logging
from pathlib import Path

from hydra.experimental.callback import Callback

log = logging.getLogger("sentgrid")


def summarise(sweep_dir: Path) -> dict:
    """Counts and the failed cells of every job's result.json under `sweep_dir`."""
    summary = {"ok": [], "skipped": [], "failed": [], "missing": []}
    for job in sorted((p for p in Path(sweep_dir).iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)):
        path = job / "result.json"
        if not path.is_file():
            summary["missing"].append({"job": job.name})
            continue
        record = json.loads(path.read_text())
        entry = {"job": job.name, "cell": record.get("tags", {}).get("cell")}
        if record.get("status") == "failed":
            entry["error"] = record.get("error")
        summary.setdefault(record.get("status", "ok"), []).append(entry)
    return summary


def format_summary(summary: dict) -> str:
    counts = ", ".join(f"{len(summary[k])} {k}" for k in ("ok", "skipped", "failed", "missing") if summary[k])
    lines = [f"sweep summary: {counts or 'no cells'}"]
    for entry in summary["failed"]:
        lines.append(f"  failed #{entry['job']} {entry['cell']}: {entry['error']}")
    for entry in summary["missing"]:
        lines.append(f"  no result from job #{entry['job']} (killed or still running?)")
    return "\n".join(lines)


class SweepSummary(Callback):
    """After a multirun: print what finished, what was skipped as already done and what failed, and
    write `summary.json` in the sweep folder."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        summary = summarise(sweep_dir)
        (sweep_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        print("\n" + format_summary(summary), flush=True)
