"""A sweep's own view in the MLflow UI, so the link a sweep prints opens on what compares its cells.

MLflow keeps a saved view of an experiment's runs page as an experiment tag,
`mlflow.sharedViewState.<key>`: JSON with the view's name and its page state, the state compressed
(`deflate;` + base64 of zlib), the format the UI's own "Save view" writes. The view of a sweep filters
its runs (`tags.sweep_dir`), sorts them by the first family's headline average, shows the settings
that vary between its cells and every family's headline averages as columns, and carries two charts
for the compare tab: parallel coordinates (the varying settings -> the averages) and the score
against the cell's wall time. Its key follows from the sweep folder, so writing it again updates it.
A halving sweep's view shows its last rung (cells scored on other slices are never ranked together; the
filter's `tags.rung` picks another).
"""
import base64
import hashlib
import json
import time
import zlib
from urllib.parse import urlparse

from .tasks import FAMILIES

TAG_PREFIX = "mlflow.sharedViewState."
LOCAL_UI = "http://127.0.0.1:5000"  # `make ui`, for a store that is a file
HIDDEN = ("resolved.",)  # what a choice resolved to: it repeats the choice
RUN_NAME = "attributes.`Run Name`"  # the runs table's name column (its column id)


def ui_address(uri: str) -> str:
    """Where a person opens the runs of tracking store `uri`: the server itself, or `make ui`."""
    parsed = urlparse(uri)
    return uri.rstrip("/") if parsed.scheme in ("http", "https") else LOCAL_UI


def varying(params: list[dict]) -> list[str]:
    """The params whose values differ between the runs (choice names first), in a stable order; one that only
    repeats an earlier one (postproc.steps beside postproc.name) is left out."""
    keys = sorted({k for p in params for k in p if not k.startswith(HIDDEN)})
    found = sorted([k for k in keys if len({p.get(k) for p in params}) > 1], key=lambda k: (not k.endswith(".name"), k))
    shown = []
    for key in found:
        if not any(len({(p.get(k), p.get(key)) for p in params}) == len({p.get(k) for p in params}) for k in shown):
            shown.append(key)
    return shown


def headline(records: list[dict]) -> list[str]:
    """Every family's headline averages the sweep's cells scored, its first family first."""
    names = list(dict.fromkeys(f for r in records for f in r["config"]["task"]["families"]))
    return [f"{name}/avg/{metric}" for name in names if name in FAMILIES for metric in FAMILIES[name].headline]


def last_rung(records: list[dict]) -> str | None:
    """The last rung a halving sweep's cells ran on (their `rung` tag); None for any other sweep."""
    rungs = [int(r["tags"]["rung"]) for r in records if str(r.get("tags", {}).get("rung", "")).isdigit()]
    return str(max(rungs)) if rungs else None


def state(sweep_dir: str, metrics: list[str], params: list[str], rung: str | None = None) -> dict:
    """The page state of the view: filter (to one rung of a halving sweep), order, columns, and the compare
    tab's charts."""
    scores = [f"metrics.`{m}`" for m in metrics]
    columns = ["attributes.`Duration`", *scores, *(f"params.`{p}`" for p in params), "metrics.`cost/seconds`"]
    widths = {RUN_NAME: 400, **{c: 150 if c in scores else 125 for c in columns[1:]}}  # names and headers whole
    section = "sentgrid"
    charts = [{"uuid": "sentgrid-parallel", "type": "PARALLEL", "metricSectionId": section, "deleted": False,
               "isGenerated": False, "runsCountToCompare": 500, "selectedParams": params[:8],
               "selectedMetrics": metrics[::2], "showAllRuns": True},  # each family's first headline
              {"uuid": "sentgrid-scatter", "type": "SCATTER", "metricSectionId": section, "deleted": False,
               "isGenerated": False, "runsCountToCompare": 500, "xaxis": {"key": "cost/seconds", "type": "METRIC"},
               "yaxis": {"key": metrics[0], "type": "METRIC"}}] if metrics else []
    only = f" and tags.rung = '{rung}'" if rung is not None else ""
    return {"searchFilter": f"tags.sweep_dir = '{sweep_dir}'{only}", "orderByKey": f"metrics.`{metrics[0]}`" if metrics
            else "attributes.start_time", "orderByAsc": False, "startTime": "ALL", "lifecycleFilter": "Active",
            "datasetsFilter": [], "modelVersionFilter": "All Runs", "selectedColumns": columns,
            "columnOrder": [RUN_NAME, *columns], "columnWidths": widths, "runsHiddenMode": "SHOW_ALL", "viewMaximized": False,
            "runListHidden": False, "isAccordionReordered": True, "useGroupedValuesInCharts": True,
            "hideEmptyCharts": True, "groupBy": None, "groupsExpanded": {}, "compareRunCharts": charts,
            "compareRunSections": [{"uuid": section, "name": "this sweep", "display": True, "isReordered": True,
                                    "deleted": False, "isGenerated": False}],
            "globalLineChartConfig": {"xAxisKey": "step", "lineSmoothness": 0, "selectedXAxisMetricKey": ""}}


def view_key(sweep_dir: str) -> str:
    return "sweep" + hashlib.sha256(sweep_dir.encode()).hexdigest()[:16]


def tag_value(name: str, page: dict, created_ms: int | None = None) -> str:
    now = int(time.time() * 1000)
    packed = "deflate;" + base64.b64encode(zlib.compress(json.dumps(page).encode())).decode()
    return json.dumps({"name": name, "createdAt": created_ms or now, "updatedAt": now, "state": packed})


def write_view(mlflow, experiment_id: str, sweep_dir: str, records: list[dict], params: list[dict],
               uri: str) -> dict[str, str]:
    """Save the sweep's view in its experiment; {"runs": link, "compare": link}."""
    key = view_key(sweep_dir)
    client = mlflow.MlflowClient()
    experiment = client.get_experiment(experiment_id)
    earlier = experiment.tags.get(TAG_PREFIX + key)
    created = json.loads(earlier).get("createdAt") if earlier else None
    rung = last_rung(records)
    if rung is not None:  # what the view shows: the last rung's cells, which vary in their settings alone
        params = [p for r, p in zip(records, params) if str(r["tags"].get("rung")) == rung]
        records = [r for r in records if str(r["tags"].get("rung")) == rung]
    shown = f"rung {rung}: {len(records)} cells" if rung is not None else f"{len(records)} cells"
    name = f"sweep {'/'.join(sweep_dir.rstrip('/').split('/')[-2:])} ({shown})"
    client.set_experiment_tag(experiment_id, TAG_PREFIX + key,
                              tag_value(name, state(sweep_dir, headline(records), varying(params), rung), created))
    runs = f"{ui_address(uri)}/#/experiments/{experiment_id}/runs?viewStateShareKey={key}"
    return {"runs": runs, "compare": runs + "&compareRunsMode=CHART"}
