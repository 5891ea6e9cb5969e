"""A searched cell's result: its job's record (or the finished cell's it skipped to) and its objective."""
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import SentgridError
from .objective import Objective


@dataclass
class Scored:
    """One cell of a rung: its grid overrides, its job folder and what it scored."""
    cell: list
    job_dir: Path
    status: str
    record: dict | None = None
    value: float = float("nan")
    name: str = ""  # the overrides that set it apart from the grid's other cells

    @property
    def ok(self) -> bool:
        return self.record is not None and self.value == self.value


def score(cell: list[str], job_dir: Path, objective: Objective, since: float = 0.0, fixed: list = ()) -> Scored:
    """The objective of a finished job (its own record, or the finished cell's record it skipped to). `since`: when
    the rung started; an ok record from before is a cell an earlier run of the sweep finished (a job that skips it
    leaves that record in place), counted as skipped. `fixed`: the overrides every cell of the grid has."""
    import time

    from ..summary import stored

    name = " ".join(o for o in cell if o not in fixed) or " ".join(cell) or "defaults"
    try:
        record = json.loads((Path(job_dir) / "result.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return Scored(cell, Path(job_dir), "missing", name=name)
    scores = stored(record, Path(job_dir))
    if scores is None:
        return Scored(cell, Path(job_dir), record.get("status", "missing"), name=name)
    missing = [m for m in objective.metrics if m not in scores.get("metrics", {})]
    if missing:
        raise SentgridError(f"{objective.setting}={objective.label!r}: the cells record no {', '.join(missing)} (e.g. "
                            f"{sorted(k for k in scores['metrics'] if '/avg/' in k)[:6]}).")
    status = record["status"]
    if status == "ok" and record.get("tags", {}).get("started_at", "") < time.strftime("%Y-%m-%dT%H:%M:%S",
                                                                                       time.localtime(since)):
        status = "skipped"
    return Scored(cell, Path(job_dir), status, scores, objective.of(scores["metrics"]), name)


def job_dir_of(result, sweep_dir: Path, number: int) -> Path:
    """A launched job's folder, as the launcher ran it (its Hydra config), else where Hydra's default puts it."""
    try:
        return Path(result.hydra_cfg.hydra.runtime.output_dir)
    except AttributeError:
        return Path(sweep_dir) / str(number)
