"""hydra/sweeper=optuna on a tiny real space (a categorical and a continuous knob): trials are ordinary cells, the
study is stored beside the tracking store, and an interrupted study resumes by its name, asking the cut trial again."""
import json
import os
import signal
import subprocess
import sys
import time

import optuna

from sentgrid.paths import PROJECT_ROOT

SPACE = ("hydra/sweeper=optuna", "hydra.sweeper.study_name=sif", "hydra.sweeper.sampler=random", "pooling.weighting=sif",
         "pooling=avg,avg_content", "pooling.sif_a=tag(log,interval(0.0001,0.01))", "task.sts.datasets=[STSB,SICK-R]",
         "task.max_items=30")


def command(tmp_path, trials: int):
    return [sys.executable, "-m", "sentgrid", "-m", f"cache.dir={tmp_path / 'cache'}",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"hydra.sweep.dir={tmp_path / 'search'}",
            f"hydra.sweeper.n_trials={trials}", *SPACE]


def test_an_interrupted_study_resumes_by_name(tmp_path, data_root):
    env = {**os.environ, "SENTGRID_DATA": str(data_root)}
    first = subprocess.Popen(command(tmp_path, 3), cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    second = tmp_path / "search" / "1"  # the second trial's job folder: its parameters are asked by now
    deadline = time.time() + 300
    while not second.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert second.exists(), "the second trial never started"
    ledger = tmp_path / "search" / "optuna.json"
    first.send_signal(signal.SIGTERM)  # the second trial is cut short
    assert first.wait(timeout=120) != 0
    study = optuna.load_study(study_name="sif", storage=f"sqlite:///{tmp_path}/optuna.db")
    states = [t.state.name for t in study.trials]
    assert states[0] == "COMPLETE" and "RUNNING" in states
    cut = next(t for t in study.trials if t.state.name == "RUNNING")

    again = subprocess.run(command(tmp_path, 3), cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "optuna: study 'sif' in sqlite:///" in again.stdout and "1 of 3 trials finished" in again.stdout
    study = optuna.load_study(study_name="sif", storage=f"sqlite:///{tmp_path}/optuna.db")
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(complete) == 3  # the one before, the cut one asked again, one more
    assert any(t.params == cut.params for t in complete)
    assert [t.state.name for t in study.trials if t.number == cut.number] == ["FAIL"]
    for trial in complete:  # the study's values are the cells' recorded objectives, from their own job folders
        record = json.loads((tmp_path / "search" / trial.user_attrs["job_dir"].rsplit("/", 1)[1] /
                             "result.json").read_text())
        if record["status"] == "ok":
            assert record["metrics"]["sts/avg/spearman"] == trial.value
            assert record["tags"]["trial"] == str(trial.number)
            assert record["config"]["pooling"]["sif_a"] == trial.params["pooling.sif_a"]
    table = json.loads(ledger.read_text())
    assert len(table["trials"]) == 4 and table["study"] == "sif"


def test_trials_that_differ_only_where_their_cell_does_not_read_are_one_cell(tmp_path, data_root):
    """Without SIF weighting `a` is not read: three trials with three values of `a` are one cell, run once and
    skipped twice, each trial told that cell's objective."""
    space = [s for s in SPACE if not s.startswith(("hydra.sweeper.study_name", "pooling"))]
    run = subprocess.run([*command(tmp_path, 3)[:-len(SPACE)], *space, "hydra.sweeper.study_name=unread",
                          "pooling=avg", "pooling.weighting=none", "pooling.sif_a=tag(log,interval(0.0001,0.01))"],
                         cwd=PROJECT_ROOT, env={**os.environ, "SENTGRID_DATA": str(data_root)}, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "cell does not read pooling.sif_a" in run.stdout
    trials = json.loads((tmp_path / "search" / "optuna.json").read_text())["trials"]
    assert len({t["params"]["pooling.sif_a"] for t in trials}) == 3
    assert all(t["unread"] == ["pooling.sif_a"] and t["state"] == "COMPLETE" for t in trials)
    assert len({t["value"] for t in trials}) == 1
    records = [json.loads((tmp_path / "search" / str(job) / "result.json").read_text()) for job in range(3)]
    assert [r["status"] for r in records] == ["ok", "skipped", "skipped"]
    assert len({r["cell_id"] for r in records}) == 1 and records[0]["config"]["pooling"]["sif_a"] == 0.001
