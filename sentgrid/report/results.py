"""Recorded results -> one pandas row per cell.

Sources: MLflow (each run's logged result.json), or the result records under the sweep folders
(`multirun/`, `outputs/`) when MLflow has nothing or is not reachable. Skipped cells in a sweep
folder stand for the earlier record they point to. Several runs of one cell (same cell id) are
resolved deterministically: the latest wins, and the number dropped is reported.
"""
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
from omegaconf import OmegaConf

from ..paths import home
from ..spec import PoolingSpec, from_node
from ..tracking import params_of
from .data_labels import FULL, data_label

log = logging.getLogger(__name__)

CONFIG_COLUMNS = ["model", "base", "w", "layer", "pooling", "special_tokens", "weighting", "bias_removal", "template",
                  "postproc", "fit_on", "families"]


@dataclass
class Results:
    frame: pd.DataFrame        # one row per cell: CONFIG_COLUMNS, data, cell_id, started_at, experiment, sweep_dir, metrics
    source: str
    duplicates: int            # runs dropped because a later run of the same cell exists

    def by_data(self) -> list[tuple[str, "Results"]]:
        """The results per data they were scored on: full data first, then each slice, smallest first."""
        if self.frame.empty:
            return []
        labels = sorted(self.frame["data"].unique(), key=lambda d: (d != FULL, int(d.split("-")[1]) if d != FULL else 0))
        return [(label, Results(self.frame[self.frame["data"] == label].reset_index(drop=True), self.source,
                                self.duplicates)) for label in labels]


def _cell_id(record: dict) -> str:
    if record.get("cell_id"):
        return record["cell_id"]
    from ..cells import cell_id  # records written before cell ids existed
    from ..versions import RESULT_CHANGING
    versions = {k: record.get("versions", {}).get(k) for k in ("sentgrid", *RESULT_CHANGING)}
    return cell_id(OmegaConf.create(record["config"]), versions, with_data=False)


def _settings(record: dict) -> dict:
    try:
        return params_of(record)
    except (KeyError, TypeError, ValueError):  # a record from an older layout
        return {}


def row(record: dict, experiment: str | None = None) -> dict:
    """The table row of one ok result record."""
    config, resolved, tags = record["config"], record.get("resolved", {}), record.get("tags", {})
    layers = resolved.get("layers")
    pooling = from_node(PoolingSpec, config["pooling"])  # the defaults of records that predate a setting
    return {
        "model": config["model"]["name"],
        "base": (config["model"].get("base") or {}).get("name"),  # the transformer a static table is built from
        "w": config["model"].get("w"),
        "layer": "n/a" if layers in (None, "n/a") else "+".join(str(x) for x in layers),
        "pooling": pooling.name,
        "special_tokens": pooling.special_tokens,
        "weighting": pooling.weighting,
        "bias_removal": pooling.bias_removal,
        "template": resolved.get("template", {}).get("name", config["template"]["name"]),
        "postproc": config["postproc"]["name"],
        "fit_on": resolved.get("postproc_fit_on", "n/a"),
        "families": ",".join(config["task"]["families"]),
        "data": data_label(config["task"]),
        "cell_id": _cell_id(record),
        "started_at": tags.get("started_at", ""),
        "experiment": experiment or config.get("tracking", {}).get("experiment"),
        "sweep_dir": tags.get("sweep_dir"),
        "model_path": str(config["model"].get("path") or config["model"].get("base", {}).get("path")),
        "text_variant": config["task"].get("sts", {}).get("text_variant"),
        "sick_split": config["task"].get("sts", {}).get("sick_split"),
        "settings": _settings(record),  # every result-changing setting: tells look-alike rows apart
        "cache_dir": config.get("cache", {}).get("dir"),  # where its per-item outputs are kept
        **record["metrics"],
        **{f"{name}/ci_{side}": value for name, bounds in record.get("intervals", {}).items()
           for side, value in zip(("low", "high"), bounds)},
    }


def from_records(folders: list[Path]) -> list[dict]:
    rows = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("result.json")):
            try:
                record = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                log.warning("unreadable result record %s", path)
                continue
            if record.get("status") == "skipped" and record.get("previous"):
                try:
                    earlier = json.loads(Path(record["previous"]).read_text())
                except (OSError, json.JSONDecodeError):
                    continue
                earlier = earlier.get("record", earlier)  # the finished-cell index keeps the whole record
                earlier["tags"] = {**earlier.get("tags", {}), "sweep_dir": record["tags"].get("sweep_dir"),
                                   "started_at": earlier.get("tags", {}).get("started_at", "")}
                record = earlier
            if record.get("status", "ok") == "ok" and "metrics" in record:
                try:
                    rows.append(row(record))
                except (KeyError, TypeError) as exc:  # a record from an older layout
                    log.warning("skipping %s: it lacks %s", path, exc)
    return rows


def from_mlflow(uri: str, experiments: list[str] | None) -> list[dict]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    names = experiments or [e.name for e in mlflow.search_experiments()]
    found = [e for e in (mlflow.get_experiment_by_name(n) for n in names) if e is not None]
    if not found:
        return []
    runs = mlflow.search_runs([e.experiment_id for e in found], output_format="list")
    by_id = {e.experiment_id: e.name for e in found}
    rows = []
    for run in runs:
        try:
            artifact = f"{run.info.artifact_uri}/result.json"
            local = urlparse(artifact)
            # Local artifact stores are read directly: faster than the artifact API, and no progress bars.
            record = json.loads(Path(unquote(local.path)).read_text()) if local.scheme == "file" \
                else mlflow.artifacts.load_dict(artifact)
        except Exception as exc:
            log.warning("run %s has no readable result.json (%s)", run.info.run_id, exc)
            continue
        try:
            rows.append(row(record, by_id[run.info.experiment_id]))
        except (KeyError, TypeError) as exc:
            log.warning("skipping run %s: its record lacks %s", run.info.run_id, exc)
    return rows


def load(source: str = "auto", uri: str | None = None, experiments: list[str] | None = None,
         sweeps: list[str] | None = None, tags: dict | None = None) -> Results:
    """Every recorded cell that passes the filters, one row per cell id (latest wins)."""
    from ..tracking import default_uri

    uri = uri or default_uri()
    rows, used = [], source
    if source in ("auto", "mlflow") and not sweeps:
        try:
            rows = from_mlflow(uri, experiments)
            used = "mlflow"
        except Exception as exc:
            if source == "mlflow":
                raise
            log.warning("MLflow at %s not readable (%s); reading result records instead", uri, exc)
    if not rows and source != "mlflow":
        folders = [Path(s) for s in sweeps] if sweeps else [home() / "multirun", home() / "outputs"]
        rows, used = from_records([f for f in folders if f.exists()]), "records"
        if experiments:
            rows = [r for r in rows if r["experiment"] in experiments]
    frame = pd.DataFrame(rows)
    for key, value in (tags or {}).items():
        frame = frame[frame[key].astype(str) == str(value)] if key in frame else frame.iloc[0:0]
    if frame.empty:
        return Results(frame, used, 0)
    frame = frame.sort_values(["started_at", "cell_id"], kind="stable")
    latest = frame.drop_duplicates("cell_id", keep="last").reset_index(drop=True)
    return Results(latest, used, len(frame) - len(latest))
