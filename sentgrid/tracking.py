"""Results: one record per cell, written as result.json in the Hydra job folder first, then logged to
MLflow. A failed MLflow call loses nothing: `python -m sentgrid.tracking replay <folder>` logs every
record that has no `.tracked` marker beside it.
"""
import json
import logging
import random
import subprocess
import sys
import time
from pathlib import Path

from .paths import PROJECT_ROOT

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
TRACKED_MARKER = ".tracked"
SCHEMA_VERSION = 1
ATTEMPTS = 3


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_record(record: dict, job_dir: Path) -> Path:
    path = Path(job_dir) / RESULT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=False, default=str))
    tmp.replace(path)
    return path


def flatten(tree, prefix: str = "") -> dict[str, str]:
    """{"a": {"b": 1}} -> {"a.b": "1"}: the config as MLflow params."""
    flat = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            flat.update(flatten(value, f"{prefix}{key}."))
    else:
        flat[prefix[:-1]] = json.dumps(tree) if isinstance(tree, (list, tuple)) else str(tree)
    return flat


def artifact_location(uri: str) -> str | None:
    """Artifacts beside the SQLite file (MLflow would otherwise use ./mlruns of whatever the cwd is)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").as_uri()
    return None


def _use_experiment(mlflow, name: str, uri: str) -> None:
    if mlflow.get_experiment_by_name(name) is None:
        try:
            mlflow.create_experiment(name, artifact_location=artifact_location(uri))
        except Exception:  # a parallel job created it first
            if mlflow.get_experiment_by_name(name) is None:
                raise
    mlflow.set_experiment(name)


def log_to_mlflow(record: dict, uri: str, experiment: str, run_name: str | None = None) -> str:
    import mlflow

    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    _use_experiment(mlflow, experiment, uri)
    params = {k: v[:6000] for k, v in flatten(record["config"]).items()}
    params.update({f"resolved.{k}": v[:6000] for k, v in flatten(record["resolved"]).items()})
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(record["metrics"])
        mlflow.log_metrics({f"encode/{k}": float(v) for k, v in record["encode"].items()})
        mlflow.set_tags({k: str(v) for k, v in record["tags"].items()})
        mlflow.log_dict(record, RESULT_FILE)
        return run.info.run_id


def track(record: dict, job_dir: Path, uri: str, experiment: str) -> str | None:
    """Log a record already on disk; on failure warn and leave it for `replay`."""
    for attempt in range(ATTEMPTS):
        try:
            run_id = log_to_mlflow(record, uri, experiment, record["tags"].get("cell"))
            break
        except Exception as exc:  # tracking must never lose or fail a computed cell
            error = exc
            # Parallel jobs share one SQLite file: "database is locked" passes after a moment.
            if attempt < ATTEMPTS - 1:
                time.sleep(0.5 * 2 ** attempt + 0.5 * random.random())
    else:
        exc = error
        log.warning("MLflow logging failed (%s: %s); the result is safe in %s, replay it with "
                    "`python -m sentgrid.tracking replay %s`", type(exc).__name__, exc, job_dir / RESULT_FILE, job_dir)
        return None
    (Path(job_dir) / TRACKED_MARKER).write_text(run_id)
    return run_id


def log_if_missing(result_path: str | Path, uri: str, experiment: str) -> bool:
    """Log a finished cell's earlier record into `experiment` unless a run of that cell is there already,
    so an experiment's runs are complete even when its cells were finished by another sweep."""
    try:
        import mlflow

        record = json.loads(Path(result_path).read_text())
        mlflow.set_tracking_uri(uri)
        found = mlflow.get_experiment_by_name(experiment)
        if found is not None and len(mlflow.search_runs([found.experiment_id], max_results=1,
                                                        filter_string=f"tags.cell_id = '{record['cell_id']}'")):
            return False
        return track(record, Path(result_path).parent, uri, experiment) is not None
    except Exception as exc:
        log.warning("could not log the earlier result %s to MLflow (%s)", result_path, exc)
        return False


def replay(folder: Path, uri: str, experiment: str | None = None) -> int:
    """Log every untracked result.json under `folder`; returns how many were logged."""
    logged = 0
    for path in sorted(Path(folder).rglob(RESULT_FILE)):
        if (path.parent / TRACKED_MARKER).exists():
            continue
        record = json.loads(path.read_text())
        if record.get("status") != "ok":
            continue
        if track(record, path.parent, uri, experiment or record["config"]["tracking"]["experiment"]):
            logged += 1
    return logged


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "replay":
        sys.exit("usage: python -m sentgrid.tracking replay FOLDER [TRACKING_URI]")
    default_uri = f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"
    print(f"logged {replay(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else default_uri)} result(s)")
