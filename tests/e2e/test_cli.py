"""`python -m sentgrid` as users run it: a real Hydra multirun, real MLflow, small real data slices."""
import base64
import json
import zlib

import pytest

SLICE = "task.max_items=40"


def test_sweep_encodes_each_forward_pass_once_and_logs_every_cell(tmp_path, sentgrid_cli, records):
    run = sentgrid_cli("-m", "pooling=avg,template", "postproc=none,whiten", SLICE)
    assert run.returncode == 0, run.stderr[-3000:]
    cells = records(tmp_path / "sweep")
    assert [c["config"]["pooling"]["name"] for c in cells] == ["avg", "avg", "template", "template"]
    computed = [c["encode"]["sentences_computed"] for c in cells]
    assert computed[0] > 0 and computed[2] > 0 and computed[1] == computed[3] == 0
    assert cells[2]["resolved"]["template"]["name"] == "promptbert" and cells[2]["notes"]["template"]
    for cell in cells:
        assert cell["resolved"]["layers"] == [6]
        assert set(cell["metrics"]) >= {"sts/STS12/spearman", "sts/SICK-R/pearson", "sts/avg/spearman",
                                        "sts/STS12/spearman_wmean"}
        assert cell["versions"]["torch"] and cell["timings"]["total"] > 0
    assert "spearman" in run.stdout and "BIOSSES" in run.stdout
    # The sweep ends with one comparison, best first, and the commands to look further.
    best = max(cells, key=lambda c: c["metrics"]["sts/avg/spearman"])
    ranked = run.stdout.split("every cell: task.max_items=40")[1].splitlines()
    assert ranked[2].startswith(" *") and f"{best['metrics']['sts/avg/spearman']:.2f}" in ranked[2]
    assert f'make tables ARGS="--sweep {tmp_path / "sweep"}"' in run.stdout

    import mlflow
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["sentgrid"])
    assert len(runs) == 4
    assert set(runs["params.pooling.name"]) == {"avg", "template"}
    assert runs["metrics.sts/avg/spearman"].notna().all()
    assert set(runs["tags.sweep_dir"]) == {str(tmp_path / "sweep")}
    # Made for comparison: complete, distinct short names; the cell's settings as params, no paths;
    # costs apart from the scores.
    names = list(runs["tags.mlflow.runName"])
    assert len(set(names)) == 4 and "minilm·L6·template·promptbert·whiten·sts·" in " ".join(names)
    assert {n.split(" · ")[0] for n in names} == {f"pooling={p} postproc={q} task.max_items=40"  # differ early
                                                  for p in ("avg", "template") for q in ("none", "whiten")}
    # a run lasts as long as its cell, not as long as its logging
    durations = dict(zip(runs["tags.job_dir"], (runs["end_time"] - runs["start_time"]).dt.total_seconds()))
    for job, cell in enumerate(cells):
        assert abs(durations[str(tmp_path / "sweep" / str(job))] - cell["timings"]["total"]) <= 0.01
    assert (runs["status"] == "FINISHED").all()
    params = [c for c in runs.columns if c.startswith("params.")]
    assert "params.data.root" not in params and "params.corpus.hub_config" not in params
    assert not any(str(tmp_path) in str(v) or "site-packages" in str(v) for v in runs[params].to_numpy().ravel())
    assert "metrics.cost/encode/sentences_computed" in runs and not any(c.startswith("metrics.encode/") for c in runs)
    # The experiment opens on its runs (a classic ML experiment), and the sweep printed links to its own view:
    # its runs filtered and sorted, the varying settings and the scores as columns, and the compare charts.
    from sentgrid.tracking_views import TAG_PREFIX, view_key
    tags = mlflow.get_experiment_by_name("sentgrid").tags
    assert tags["mlflow.experimentKind"] == "custom_model_development" and "two links" in tags["mlflow.note.content"]
    key = view_key(str(tmp_path / "sweep"))
    assert f"runs?viewStateShareKey={key}" in run.stdout and f"viewStateShareKey={key}&compareRunsMode=CHART" in run.stdout
    view = json.loads(tags[TAG_PREFIX + key])
    state = json.loads(zlib.decompress(base64.b64decode(view["state"].removeprefix("deflate;"))))
    assert state["searchFilter"] == f"tags.sweep_dir = '{tmp_path / 'sweep'}'"
    assert state["selectedColumns"][1:3] == ["metrics.`sts/avg/spearman`", "metrics.`sts/avg/pearson`"]
    assert {"params.`pooling.name`", "params.`postproc.name`"} <= set(state["selectedColumns"])
    assert "params.`postproc.steps`" not in state["selectedColumns"]  # it only repeats postproc.name
    assert [c["type"] for c in state["compareRunCharts"]] == ["PARALLEL", "SCATTER"]

    again = sentgrid_cli("-m", "pooling=avg,template", "postproc=none,whiten", SLICE, sweep="again")
    assert again.returncode == 0, again.stderr[-3000:]
    assert [c["status"] for c in records(tmp_path / "again")] == ["skipped"] * 4
    # Skipped cells are runs of the sweep that skipped them too: filtering by its folder shows every cell.
    rerun = mlflow.search_runs(experiment_names=["sentgrid"], filter_string=f"tags.sweep_dir = '{tmp_path / 'again'}'")
    assert len(rerun) == 4 and set(rerun["tags.skipped_from"]) == {c["tags"]["job_dir"] for c in cells}
    assert "MLflow: 4 runs of this sweep" in again.stdout
    forced = sentgrid_cli("-m", "pooling=avg,template", "postproc=none,whiten", SLICE, "force=true",
                      sweep="forced")
    assert forced.returncode == 0, forced.stderr[-3000:]
    repeat = records(tmp_path / "forced")
    assert [c["encode"]["sentences_computed"] for c in repeat] == [0, 0, 0, 0]
    assert [c["metrics"] for c in repeat] == [c["metrics"] for c in cells]


@pytest.mark.parametrize("args,message", [
    (["pooling=median"], "pooling=median is not an option of pooling; choose one of: avg, avg_content, cls"),
    (["pooling=avgg"], "pooling=avgg is not an option of pooling (did you mean avg?)"),
    (["-m", "postproc=none,whitten"], "postproc=whitten is not an option of postproc (did you mean whiten?)"),
    (["task.max_items=abc"], "task.max_items='abc' is not a whole number; give a whole number of at least 1"),
    (["model.batch_size=zero"], "model.batch_size='zero' is not a whole number"),
    (["cache.max_gb=0"], "cache.max_gb=0 must be more than 0"),
    (["pooling.special_tokens=some"], "pooling.special_tokens='some' is not valid; choose one of: include, exclude"),
    (["layer=index", "layer.index=9"], "layer 9 is out of range for a model with 6 blocks"),
    (["pooling=template", "template=custom", "template.text='Just [X] here'"], "has no [MASK]"),
    (["template=custom"], "template.text has no value"),
    (["model.path=/no/such/model"], "is not a model folder"),
    (["postproc.fit_on=both"], "postproc.fit_on='both' is not valid; choose one of: task, wikitext"),
    (["+layer.index=3"], "layer.index is not read by layer=last"),
])
def test_bad_input_stops_with_one_clear_sentence(sentgrid_cli, args, message):
    run = sentgrid_cli(*args)
    assert run.returncode != 0
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_data_root_names_the_setting(tmp_path, sentgrid_cli):
    run = sentgrid_cli(root=tmp_path / "nowhere")
    assert run.returncode == 2
    assert "data.root=" in run.stderr and "SENTGRID_DATA" in run.stderr
    failed = json.loads((tmp_path / "run" / "result.json").read_text())
    assert failed["status"] == "failed" and "data.root" in failed["error"]


def test_fit_on_wikitext_and_tracking_replay(tmp_path, sentgrid_cli):
    (tmp_path / "a-file").write_text("")  # a store under a file cannot be created: tracking fails
    run = sentgrid_cli("postproc=whiten_normalize", "postproc.fit_on=wikitext",
                   "corpus.max_sentences=600", "task.sts.datasets=[STSB,BIOSSES]", SLICE,
                   uri=f"sqlite:///{tmp_path}/a-file/mlflow.db")
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    assert record["resolved"]["postproc_fit_on"] == "wikitext"
    assert record["postproc"]["sts/BIOSSES"][0]["fit_sentences"] == 600  # fitted on the corpus, not 80 sentences
    assert record["encode"]["sentences_requested"] > 600
    assert "replay it with" in run.stdout + run.stderr and not (tmp_path / "run" / ".tracked").exists()

    from sentgrid.tracking import replay
    assert replay(tmp_path / "run", f"sqlite:///{tmp_path / 'replayed.db'}") == 1
    assert (tmp_path / "run" / ".tracked").exists()
    assert replay(tmp_path / "run", f"sqlite:///{tmp_path / 'replayed.db'}") == 0


def test_help_is_sentgrids_and_hydras_is_one_flag_away(sentgrid_cli):
    mine = sentgrid_cli("--help")
    assert mine.returncode == 0 and "python -m sentgrid plan -m SWEEP" in mine.stdout and "pooling" in mine.stdout
    hydras = sentgrid_cli("--hydra-help")
    assert hydras.returncode == 0 and "Hydra" in hydras.stdout
    import subprocess
    import sys
    plan = subprocess.run([sys.executable, "-m", "sentgrid", "plan", "--help"], capture_output=True, text=True)
    assert plan.returncode == 0 and "usage: python -m sentgrid plan" in plan.stdout


def test_the_ray_launcher_is_found_from_any_folder(tmp_path, data_root):
    """With an editable install Hydra's plugin scan does not see hydra_plugins/ from another folder (issue 24)."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "sentgrid", "hydra/launcher=ray", "--cfg", "hydra"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "SENTGRID_DATA": str(data_root)})
    assert done.returncode == 0 and "sentgrid_ray_launcher.ray_launcher.RayLauncher" in done.stdout, done.stderr[-2000:]
