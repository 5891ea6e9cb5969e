"""Big grids: plan before launch, skip finished cells, parallel jobs, failures that do not stop a sweep."""
import json

import pytest

from sentgrid.plan import plan

SMALL = ("task.sts.datasets=[STSB,BIOSSES]", "task.max_items=40")


def test_finished_cells_are_skipped_and_force_runs_them(tmp_path, sentgrid_cli, records):
    one = sentgrid_cli("pooling=max", *SMALL)
    assert one.returncode == 0, one.stderr[-3000:]
    sweep = sentgrid_cli("-m", "pooling=avg,max", *SMALL)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    cells = records(tmp_path / "sweep")
    assert [c["status"] for c in cells] == ["ok", "skipped"]
    assert cells[0]["encode"]["sentences_computed"] == 0  # the single run filled the cache
    assert "1 ok, 1 skipped" in sweep.stdout
    summary = json.loads((tmp_path / "sweep" / "summary.json").read_text())
    assert summary["skipped"][0]["job"] == "1"
    # plan's estimate, printed at the start, kept beside the measured wall time (make bench prints the ratio)
    assert sweep.stdout.startswith("sweep: 2 cells (1 already finished, all encodings cached); plan estimates")
    assert summary["seconds"]["planned"] > 0 and summary["seconds"]["measured"] > 0
    forced = sentgrid_cli("-m", "pooling=avg,max", "force=true", *SMALL, sweep="forced")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert [c["status"] for c in records(tmp_path / "forced")] == ["ok", "ok"]


def test_parallel_jobs_encode_a_shared_key_once_and_log_every_run(tmp_path, sentgrid_cli, records):
    """Two jobs at once on a fresh SQLite store: one forward pass, every run logged exactly once, and a
    replay afterwards adds nothing."""
    run = sentgrid_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                       "postproc=none,zscore,normalize,whiten", *SMALL)
    assert run.returncode == 0, run.stderr[-3000:]
    cells = records(tmp_path / "sweep")
    computed = sorted(c["encode"]["sentences_computed"] for c in cells)
    assert computed[:3] == [0, 0, 0] and computed[3] > 0  # one job encoded, the others read its entries
    assert "MLflow: 4 runs of this sweep" in run.stdout
    import mlflow

    from sentgrid.tracking import replay
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["sentgrid"])
    assert len(runs) == 4 and sorted(runs["tags.job_dir"]) == sorted(c["tags"]["job_dir"] for c in cells)
    for marker in (tmp_path / "sweep").glob("*/.tracked"):
        marker.unlink()  # as if every log had been lost after the run was made
    assert replay(tmp_path / "sweep", uri, "sentgrid") == 4
    assert len(mlflow.search_runs(experiment_names=["sentgrid"])) == 4  # found, not duplicated


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path, sentgrid_cli, records):
    run = sentgrid_cli("-m", "layer=index", "layer.index=9,1", *SMALL)
    assert run.returncode == 1, run.stderr[-3000:]  # after the summary: a sweep with failed cells is not a success
    cells = records(tmp_path / "sweep")
    assert cells[0]["status"] == "failed" and "out of range" in cells[0]["error"]
    assert cells[1]["status"] == "ok"
    assert "1 ok, 1 failed" in run.stdout and "failed #0" in run.stdout
    stop = sentgrid_cli("-m", "layer=index", "layer.index=9,2", "fail_fast=true", *SMALL, sweep="stop")
    assert stop.returncode == 2
    assert not (tmp_path / "stop" / "1" / "result.json").exists()


def test_plan_counts_cells_forward_passes_and_what_is_done(tmp_path, data_root, sentgrid_cli):
    common = [f"data.root={data_root}", f"cache.dir={tmp_path / 'cache'}", *SMALL]
    before = plan(["pooling=avg,max", "postproc=none,whiten", *common])
    assert (before["cells"], before["finished"], before["entries"], before["cached"]) == (4, 0, 2, 0)
    assert before["forward_passes"] == 1  # the two datasets' entries are encoded together
    assert before["models"]["minilm (float32, cpu)"]["sentences"] > 0 and before["estimate_seconds"] > 0
    weighted = plan(["pooling.weighting=none,idf_task", *common])
    assert (weighted["entries"], weighted["forward_passes"]) == (4, 2)  # token-level pooling reads token entries
    assert plan(["model=re", "layer=last,first_last", *common])["finished"] == 1  # one cell: RE has no layers
    run = sentgrid_cli("pooling=avg", *SMALL)
    assert run.returncode == 0, run.stderr[-3000:]
    after = plan(["pooling=avg,max", "postproc=none,whiten", *common])
    assert (after["finished"], after["cached"], after["to_encode"], after["forward_passes"]) == (1, 2, 0, 0)
    assert after["models"] == {}


@pytest.mark.parametrize("args", [["plan", "-m", "pooling=median"]])
def test_plan_command_reports_bad_choices(tmp_path, data_root, args):
    import subprocess
    import sys

    from sentgrid.paths import PROJECT_ROOT

    out = subprocess.run([sys.executable, "-m", "sentgrid", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         env={**__import__("os").environ, "SENTGRID_DATA": str(data_root)}, timeout=120)
    assert out.returncode != 0 and "median" in out.stderr


def test_a_skipped_cell_returns_the_objective_of_the_finished_cell(tmp_path, data_root):
    """What Hydra's sweeper receives (an optimising sweeper such as Optuna uses it): the first family's
    headline average, the same when the cell is skipped as when it ran."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from sentgrid.__main__ import main
    from sentgrid.paths import CONF_DIR

    def job(name):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", return_hydra_config=True, overrides=[
                f"data.root={data_root}", f"cache.dir={tmp_path / 'cache'}", "tracking.enabled=false",
                "task.sts.datasets=[BIOSSES]", "task.max_items=30"])
        with open_dict(cfg):
            cfg.hydra.runtime.output_dir, cfg.hydra.mode, cfg.hydra.job.override_dirname = str(tmp_path / name), "RUN", name
        (tmp_path / name).mkdir()  # Hydra makes the job folder before the task function runs
        HydraConfig.instance().set_config(cfg)
        task = cfg.copy()
        with open_dict(task):
            del task["hydra"]
        return main(task)  # hydra.main hands a given config straight to the task function

    try:
        ran, skipped = job("first"), job("again")
    finally:
        HydraConfig.instance().cfg = None  # the singleton is this process's: leave it as other tests expect
    assert json.loads((tmp_path / "again" / "result.json").read_text())["status"] == "skipped"
    assert isinstance(ran, float) and skipped == ran


def test_requested_layers_keep_the_sweeps_layers_once_and_plan_prices_a_later_layer_sweep(tmp_path, data_root,
                                                                                         sentgrid_cli, records):
    """cache.layers=requested: the sweep's start collects the layers its cells ask of the model, so its
    two layer settings share one forward pass; entries keep those 2 of 7 layers; plan names the cost of a
    later sweep over other layers; the scores equal those of a cache keeping every layer."""
    sweep = sentgrid_cli("-m", "layer=last,first_last", "cache.layers=requested", *SMALL)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    cells = records(tmp_path / "sweep")
    assert [c["encode"]["sentences_computed"] > 0 for c in cells] == [True, False]
    metas = [json.loads(p.read_text()) for p in (tmp_path / "cache").glob("[0-9a-f][0-9a-f]/*/meta.json")]
    assert metas and all(m["kept_layers"] == [1, 6] and m["shapes"]["mean_all"][0] == 2 for m in metas)
    common = [f"data.root={data_root}", f"cache.dir={tmp_path / 'cache'}", "cache.layers=requested", *SMALL]
    later = plan(["layer=index", "layer.index=3", *common])
    assert later["to_encode"] == 2 and later["later_layers"][0]["kept"] == [3]
    whole = sentgrid_cli("-m", "layer=last,first_last", f"cache.dir={tmp_path / 'every'}", *SMALL, sweep="whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    assert [c["metrics"] for c in records(tmp_path / "whole")] == [c["metrics"] for c in cells]


def test_plan_estimates_static_table_builds_from_their_measured_speed(tmp_path, data_root, compose_cell):
    from sentgrid import throughput
    from sentgrid.pipeline import run_cell

    small = ["corpus.max_sentences=200", "task.sts.datasets=[STSB]", "task.max_items=20"]
    common = [f"data.root={data_root}", f"cache.dir={tmp_path / 'cache'}", *small]
    before = plan(["model=b2s", "model.epochs=1", *common])
    assert [(b["table"], b["speed"]) for b in before["tables"]] == [("b2s from minilm (float32, cpu)", "default")]
    assert before["estimate_table_seconds"] > 0 and before["listing"][0]["state"].endswith("table")
    record = run_cell(compose_cell("model=b2s", "model.epochs=1", *small))
    assert record["resolved"]["model"]["table_built"]
    measured = throughput.read(tmp_path / "cache")["b2s table from minilm (float32, cpu)"]
    after = plan(["model=b2s", "model.epochs=1,3", *common])
    assert [item["state"] for item in after["listing"]] == ["cached", "table"]  # the corpus pass is cached too
    (build,) = after["tables"]  # epochs=1's table is stored; epochs=3 trains three times as long
    assert build["speed"] == "measured" and build["seconds"] == pytest.approx(3 * measured["seconds"], abs=0.25)
