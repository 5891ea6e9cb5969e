"""Results: one record per cell, written as result.json in the Hydra job folder first, then logged to
MLflow. A failed MLflow call loses nothing: `python -m sentgrid.tracking replay <folder>` logs every
record that has no `.tracked` marker beside it, and every multirun ends by doing the same.

Safe under parallel jobs:
* A SQLite store is used under one file lock (`<store>.lock`): its creation and every write are
  serialised, never left to luck (two processes creating its tables at once break it for good).
* A run is looked up by its record (cell id + job folder) before one is created, so a retry, a replay
  or a reconciliation never duplicates a run.
* Every call to a tracking server is bounded (`tracking.timeout_s`, few retries).
"""
import json
import logging
import os
import random
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock

from .errors import SentgridError
from .paths import PROJECT_ROOT, home
from .store.entries import temporary_name
from .summary import OVERRIDE as _OVERRIDE

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
TRACKED_MARKER = ".tracked"
SCHEMA_VERSION = 1
ATTEMPTS = 3
DEFAULT_TIMEOUT_S = 10


def default_uri() -> str:
    """MLflow's own convention first: MLFLOW_TRACKING_URI when set, else the project's SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_record(record: dict, job_dir: Path) -> Path | None:
    """`result.json` in the job folder, atomically; None (said in one line, no temporary left) when the folder
    cannot take it (a full or read-only job disk): the caller keeps the result in the finished-cell index and
    MLflow all the same."""
    path = Path(job_dir) / RESULT_FILE
    tmp = path.parent / temporary_name(RESULT_FILE)
    try:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=False, default=str))
        tmp.replace(path)
        return path
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        print(f"sentgrid: warning: the job folder {job_dir} cannot take {RESULT_FILE} ({exc.strerror or exc}); "
              f"the result is kept in the cache's finished-cell index and MLflow", file=sys.stderr, flush=True)
        return None


def read_record(path: Path) -> dict | None:
    """A result record, or None (with a warning naming the file) when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        log.warning("result record %s is unreadable (%s); left as it is", path, exc)
        return None


def flatten(tree, prefix: str = "") -> dict[str, str]:
    """{"a": {"b": 1}} -> {"a.b": "1"}: the config as MLflow params."""
    flat = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            flat.update(flatten(value, f"{prefix}{key}."))
    else:
        flat[prefix[:-1]] = json.dumps(tree) if isinstance(tree, (list, tuple)) else str(tree)
    return flat


def resolve_uri(uri: str) -> str:
    """The tracking store as MLflow takes it, checked before any cell runs: a relative SQLite path made
    absolute (MLflow cannot express one as a file URI and failed every cell), and a file store, which
    MLflow 3 refuses, refused in one sentence."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        return uri if path.is_absolute() else f"sqlite:///{path.resolve()}"
    if urlparse(uri).scheme in ("", "file"):
        raise SentgridError(f"tracking.uri={uri} is a folder of files, which MLflow 3 no longer keeps runs in; use a "
                            f"database (sqlite:///<folder>/mlflow.db) or a tracking server (http://host:port).")
    return uri


def sqlite_path(uri: str) -> Path | None:
    uri = resolve_uri(uri)
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def artifact_location(uri: str) -> str | None:
    """Artifacts beside the SQLite file (MLflow would otherwise use ./mlruns of whatever the cwd is)."""
    path = sqlite_path(uri)
    return (path.parent / "mlartifacts").as_uri() if path else None


@contextmanager
def store(uri: str, timeout_s: float = DEFAULT_TIMEOUT_S):
    """MLflow pointed at `uri`, under the store's lock when it is a SQLite file, with bounded HTTP calls."""
    import mlflow

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)  # "Creating initial ... tables" is noise
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # a "View run at" line per cell
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(timeout_s))
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "1"
    uri = resolve_uri(uri)
    path = sqlite_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock") if path is not None else nullcontext():
        if path is not None and not path.exists():
            _create_sqlite_store(mlflow, path)
        mlflow.set_tracking_uri(uri)
        yield mlflow


def _create_sqlite_store(mlflow, path: Path) -> None:
    """Make a new SQLite store whole or not at all: MLflow creates its tables in several transactions, and
    a kill between them leaves a store no later call can open ("table ... already exists"). So the tables
    are made in an owner-tagged temporary beside it, which is then renamed into place."""
    tmp = path.parent / temporary_name(path.name)
    try:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}")
        mlflow.MlflowClient().search_experiments(max_results=1)  # creates and migrates every table
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


EXPERIMENT_NOTE = """Each run is one sentgrid cell; its name starts with the overrides that set it apart, then reads
model·layers·pooling·template·post-processing·task·cell id. Every sweep prints two links at its end: its runs with the
settings that vary and the headline averages as columns (a saved view of this experiment, under Views), and the
same runs compared (parallel coordinates, score against time). Costs are under `cost/…`; the run's start and end
are the cell's; the full resolved config is in each run's result.json artifact."""
# The experiment kind MLflow 3 opens an experiment by: "custom_model_development" (the UI's "Machine learning")
# opens on its runs, not on the GenAI overview of traces.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def ensure_experiment(mlflow, name: str, uri: str) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found:
        experiment_id = found.experiment_id
        for key, value in EXPERIMENT_KIND.items():  # an experiment made before sentgrid set its kind
            if found.tags.get(key) != value:
                mlflow.MlflowClient().set_experiment_tag(experiment_id, key, value)
    else:
        experiment_id = mlflow.create_experiment(name, artifact_location=artifact_location(uri),
                                                 tags={"mlflow.note.content": EXPERIMENT_NOTE, **EXPERIMENT_KIND})
    return experiment_id


def run_name(record: dict) -> str:
    """What sets the cell apart in its sweep first (its overrides), then complete and short:
    `pooling=max postproc=whiten · minilm·L6·max·whiten·sts·3f2a9c`."""
    config, resolved = record["config"], record.get("resolved", {})
    layers = resolved.get("layers")
    pooling = config["pooling"]
    parts = [config["model"]["name"],
             "L-" if layers in (None, "n/a") else "L" + "+".join(map(str, layers)),
             "+".join([pooling["name"], *(["no-special"] if pooling.get("special_tokens") == "exclude" else []),
                       *(v for k in ("weighting", "bias_removal") if (v := pooling.get(k, "none")) != "none")]),
             *([t] if (t := resolved.get("template", {}).get("name", "none")) != "none" else []),
             config["postproc"]["name"], "+".join(config["task"]["families"]), record.get("cell_id", "")[:6]]
    from .cells import run_only

    cell = record.get("tags", {}).get("cell", "defaults")  # less how it ran (the paper's cache.layers=requested)
    overrides = " ".join(o for o in _OVERRIDE.split(cell) if not run_only(o.split("=")[0])) if cell != "defaults" else ""
    return " · ".join(p for p in (overrides, "·".join(p for p in parts if p)) if p)


def cell_times(record: dict) -> tuple[int, int]:
    """The cell's start and end, in ms since the epoch: its `started_at` tag and its measured wall time (the run's
    Duration is then the cell's, not the logging's)."""
    try:
        start = time.mktime(time.strptime(record["tags"]["started_at"], "%Y-%m-%dT%H:%M:%S"))
    except (KeyError, TypeError, ValueError):
        start = time.time()
    return int(start * 1000), int((start + float(record.get("timings", {}).get("total", 0.0))) * 1000)


def params_of(record: dict) -> dict[str, str]:
    """The cell's choices and the settings that change its result: no paths, nothing unused."""
    from omegaconf import OmegaConf

    from .cells import cell_config

    tree = cell_config(OmegaConf.create(record["config"]), with_data=False)
    for node in (tree.get("model", {}), tree.get("model", {}).get("base") or {}):
        for key in ("path", "tokenizer"):
            if node.get(key):
                node[key] = Path(str(node[key])).name
    corpus = tree.get("corpus", {})
    if corpus.get("source", "file") == "file":
        for key in [k for k in corpus if k.startswith("hub_")]:
            corpus.pop(key)
    resolved = record.get("resolved", {})
    tree["resolved"] = {"layers": resolved.get("layers"), "template": resolved.get("template", {}).get("text"),
                        "pooled_from": resolved.get("pooling_primitive"), "fit_on": resolved.get("postproc_fit_on")}
    return {k: v[:6000] for k, v in flatten(tree).items()}


def prepare(uri: str, experiment: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Create the store and the experiment once, before parallel jobs use them."""
    with store(uri, timeout_s) as mlflow:
        ensure_experiment(mlflow, experiment, uri)


def _runs(mlflow, experiment_id: str, finished: bool = True, **tags) -> list:
    """The runs with these tags; only the finished ones unless `finished=False`. A run is FINISHED only once
    its params, metrics and record are all logged (log_to_mlflow ends it last), so a run a kill left behind
    half-logged (RUNNING) is never taken for a logged one."""
    query = " and ".join(f"tags.{key} = '{value}'" for key, value in tags.items())
    if finished and query:
        query += " and attributes.status = 'FINISHED'"
    return list(mlflow.search_runs([experiment_id], filter_string=query, output_format="list",
                                   max_results=1000)) if query else []


def log_to_mlflow(record: dict, uri: str, experiment: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                  match: tuple = ("cell_id", "job_dir")) -> str:
    """The run of `record` in `experiment`: found by the tags in `match`, or created once."""
    with store(uri, timeout_s) as mlflow:
        experiment_id = ensure_experiment(mlflow, experiment, uri)
        tags = {key: record["tags"].get(key) for key in match}
        existing = _runs(mlflow, experiment_id, **tags)
        if existing:
            return existing[0].info.run_id
        from mlflow.entities import Metric, Param

        client = mlflow.MlflowClient()
        for half in _runs(mlflow, experiment_id, finished=False, **tags):  # killed while it was logged: log anew
            client.delete_run(half.info.run_id)
        start, end = cell_times(record)
        run = client.create_run(experiment_id, start_time=start, run_name=run_name(record),
                                tags={k: str(v) for k, v in record["tags"].items()})
        run_id = run.info.run_id
        costs = {f"cost/encode/{k}": float(v) for k, v in record["encode"].items()}
        # scores to 4 decimals (x100: 1e-6 of a correlation), so the UI shows 79.2263, not 79.2262624...; the
        # record (the run's result.json artifact) keeps every digit, and `make tables` reads it
        scores = {k: round(float(v), 4) for k, v in record["metrics"].items()}
        scores.update({f"{k}/ci_{side}": v for k, (low, high) in record.get("intervals", {}).items()
                       for side, v in (("low", low), ("high", high)) if v == v})  # NaN: undefined on a tiny slice
        metrics = {**scores, **costs, "cost/seconds": float(record.get("timings", {}).get("total", 0.0))}
        params = [Param(k, v) for k, v in params_of(record).items()]
        values = [Metric(k, float(v), end, 0) for k, v in metrics.items()]
        for i in range(0, len(params), 100):  # log_batch takes at most 100 params and 1,000 metrics a call
            client.log_batch(run_id, params=params[i:i + 100])
        for i in range(0, len(values), 1000):
            client.log_batch(run_id, metrics=values[i:i + 1000])
        client.log_dict(run_id, record, RESULT_FILE)
        client.set_terminated(run_id, "FINISHED", end_time=end)
        return run_id


def track(record: dict, job_dir: Path, uri: str, experiment: str, timeout_s: float = DEFAULT_TIMEOUT_S,
          match: tuple = ("cell_id", "job_dir")) -> str | None:
    """Log a record already on disk; on failure warn and leave it for `replay`."""
    error = None
    for attempt in range(ATTEMPTS):
        try:
            run_id = log_to_mlflow(record, uri, experiment, timeout_s, match)
            break
        except Exception as exc:  # tracking must never lose or fail a computed cell
            error = exc
            if attempt < ATTEMPTS - 1:
                time.sleep(0.5 * 2 ** attempt + 0.5 * random.random())
    else:
        log.warning("MLflow logging failed (%s: %s); the result is safe in %s, replay it with "
                    "`python -m sentgrid.tracking replay %s`", type(error).__name__, error, job_dir / RESULT_FILE,
                    job_dir)
        return None
    if match == ("cell_id", "job_dir"):  # the record itself was logged (not an earlier one for a skip)
        try:
            (Path(job_dir) / TRACKED_MARKER).write_text(run_id)
        except OSError:  # a full job folder: the run is logged, and replay finds it by its tags
            pass
    return run_id


def as_skipped(record: dict, tags: dict) -> dict:
    """A finished cell's record as the run of a job that skipped it: the job's own tags (its sweep folder,
    so a sweep's runs are all there), and where the scores came from."""
    return {**record, "tags": {**record.get("tags", {}), **tags, "skipped_from": record.get("tags", {}).get("job_dir")}}


def _skipped_record(stub: dict) -> dict | None:
    try:
        entry = json.loads(Path(stub["previous"]).read_text())
    except (OSError, KeyError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return as_skipped(entry.get("record", entry), stub.get("tags", {}))


def replay(folder: Path, uri: str, experiment: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> int:
    """Log every untracked ok (or skipped) result.json under `folder`; returns how many were logged. An
    unreadable record is reported and passed over, never stopping the replay."""
    logged = 0
    for path in sorted(Path(folder).rglob(RESULT_FILE)):
        if (path.parent / TRACKED_MARKER).exists():
            continue
        record = read_record(path)
        if record and record.get("status") == "skipped":
            record = _skipped_record(record)  # its run is the finished cell's record, tagged for this job
        if not record or record.get("status") != "ok":
            continue
        if track(record, path.parent, uri, experiment or record["config"]["tracking"]["experiment"], timeout_s):
            logged += 1
    return logged


def sweep_view(sweep_dir: Path, uri: str, experiment: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, str]:
    """Save the MLflow UI view of a sweep's runs (tracking_views.py); its links, {"runs", "compare"}."""
    from .summary import stored
    from .tracking_views import write_view

    records = []
    for path in sorted(Path(sweep_dir).glob(f"*/{RESULT_FILE}")):
        record = read_record(path)
        record = stored(record, path.parent) if record else None
        if record:
            records.append(record)
    with store(uri, timeout_s) as mlflow:
        experiment_id = ensure_experiment(mlflow, experiment, uri)
        return write_view(mlflow, experiment_id, str(sweep_dir), records, [params_of(r) for r in records], uri)


def count_runs(uri: str, experiment: str, sweep_dir: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> int:
    with store(uri, timeout_s) as mlflow:
        found = mlflow.get_experiment_by_name(experiment)
        return len(_runs(mlflow, found.experiment_id, sweep_dir=sweep_dir)) if found else 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sentgrid.tracking",
                                     description="Log to MLflow every result under a folder that is not logged yet.")
    commands = parser.add_subparsers(dest="command", required=True)
    replaying = commands.add_parser("replay", help="log every untracked result.json under FOLDER")
    replaying.add_argument("folder", type=Path, help="a sweep or job folder (multirun/<date>/<time>)")
    replaying.add_argument("uri", nargs="?", help="the tracking URI (the same as --uri)")
    replaying.add_argument("--uri", dest="uri_option", metavar="URI",
                           help="the tracking URI (default: $MLFLOW_TRACKING_URI, else the project's mlflow.db)")
    replaying.add_argument("--experiment", help="the experiment (default: each record's own)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    try:
        uri = resolve_uri(args.uri_option or args.uri or default_uri())
    except SentgridError as exc:
        parser.error(str(exc))
    print(f"logged {replay(args.folder, uri, args.experiment)} result(s) to {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
