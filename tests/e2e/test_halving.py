"""hydra/sweeper=halving on a tiny real grid: the planted best (MiniLM's own mean pooling, against max pooling and
random embeddings) survives every rung; an interrupted sweep goes on where it stopped; keep=tied keeps exactly the
cells the paired bootstrap calls tied; plan prints each rung and the full grid."""
import base64
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

from sentgrid.paths import PROJECT_ROOT
from sentgrid.stats import Settings
from sentgrid.summary import stored, tied_marks

GRID = ("model=minilm,re", "pooling=avg,max", "task.sts.datasets=[STSB,SICK-R]")
RUNGS = ("hydra/sweeper=halving", "hydra.sweeper.rungs=[20,60]", "hydra.sweeper.eta=2")
BEST = "model=minilm pooling=avg"


def command(tmp_path, data_root, sweep, *args):
    return [sys.executable, "-m", "sentgrid", "-m", f"cache.dir={tmp_path / 'cache'}",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"hydra.sweep.dir={tmp_path / sweep}", *args]


def run(tmp_path, data_root, sweep, *args):
    env = {**os.environ, "SENTGRID_DATA": str(data_root)}
    done = subprocess.run(command(tmp_path, data_root, sweep, *args), cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads((tmp_path / sweep / "halving.json").read_text())


def test_halving_keeps_the_planted_best_and_resumes_where_it_stopped(tmp_path, data_root):
    env = {**os.environ, "SENTGRID_DATA": str(data_root)}
    first = subprocess.Popen(command(tmp_path, data_root, "sweep", *RUNGS, *GRID), cwd=PROJECT_ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = tmp_path / "sweep" / "halving.json"
    deadline = time.time() + 300
    while not ledger.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert ledger.exists(), "rung 0 never finished"
    first.send_signal(signal.SIGTERM)  # in rung 1 now: its first cell is cut short
    assert first.wait(timeout=120) != 0
    assert len(json.loads(ledger.read_text())["rungs"]) == 1

    again, ledger = run(tmp_path, data_root, "sweep", *RUNGS, *GRID)
    zero, one = ledger["rungs"]
    assert (zero["ran"], zero["skipped"], zero["cells"]) == (0, 4, 4)  # finished cells are not run again
    assert len(zero["kept"]) == 2 and BEST in zero["kept"]
    assert one["items"] == 60 and one["cells"] == 2 and one["failed"] == 0
    assert ledger["winner"]["cell"] == BEST and ledger["winner"]["items"] == 60
    assert "winner: model=minilm pooling=avg" in again.stdout and "rung" in again.stdout
    records = [json.loads((tmp_path / "sweep" / str(job) / "result.json").read_text()) for job in range(6)]
    assert [r["tags"]["rung"] for r in records] == ["0"] * 4 + ["1"] * 2  # MLflow tags each run with its rung
    assert all("task.max_items=60" in r["tags"]["cell"] for r in records[4:])
    # the sweep's MLflow view ranks the last rung's cells alone (not 20-item scores above 60-item ones)
    import mlflow

    from sentgrid.tracking_views import TAG_PREFIX, view_key
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    view = json.loads(mlflow.get_experiment_by_name("sentgrid").tags[TAG_PREFIX + view_key(str(tmp_path / "sweep"))])
    state = json.loads(zlib.decompress(base64.b64decode(view["state"].removeprefix("deflate;"))))
    assert state["searchFilter"] == f"tags.sweep_dir = '{tmp_path / 'sweep'}' and tags.rung = '1'"
    assert view["name"].endswith("(rung 1: 2 cells)")
    shown = mlflow.search_runs(experiment_names=["sentgrid"], filter_string=state["searchFilter"])
    assert sorted(shown["tags.job_dir"]) == [str(tmp_path / "sweep" / str(job)) for job in (4, 5)]

    # keep=tied from 60 items on (the MiniLM cells finished above): the survivors are the tied set the stats compute
    tied, ledger = run(tmp_path, data_root, "tied", "hydra/sweeper=halving", "hydra.sweeper.rungs=[60,100]", *GRID,
                       "hydra.sweeper.keep=tied")
    zero = ledger["rungs"][0]
    assert (zero["skipped"], zero["ran"]) == (2, 2)
    jobs = {r["cell"]: r["job_dir"] for r in zero["results"]}
    cells = [(job, stored(json.loads((Path(job) / "result.json").read_text()), Path(job))) for job in jobs.values()]
    marks = tied_marks(cells, "sts/avg/spearman", tmp_path / "cache", Settings())
    best = max(cells, key=lambda c: c[1]["metrics"]["sts/avg/spearman"])[0]
    expected = {name for name, job in jobs.items() if marks.get(job) == "=" or job == best}
    assert set(zero["kept"]) == expected == set(zero["tied"])
    assert BEST in expected and "model=re pooling=avg" not in expected  # 23 points below on 120 pairs: not tied
    assert len(ledger["rungs"][1]["results"]) == len(expected)
    # the 100-item slices hold the 60-item ones (nested): MiniLM encodes only the sentences new at 100 items
    assert ledger["rungs"][1]["sentences_reused"] > 0
    assert "reused" in tied.stdout


def test_a_rung_is_one_batch_for_a_parallel_launcher(tmp_path, data_root):
    """On another launcher (joblib, two workers; a rung is one launch), every rung runs and the planted best wins."""
    done, ledger = run(tmp_path, data_root, "sweep", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *RUNGS, *GRID)
    assert [(r["cells"], r["ran"], r["failed"]) for r in ledger["rungs"]] == [(4, 4, 0), (2, 2, 0)]
    assert ledger["winner"]["cell"] == BEST
    records = [json.loads((tmp_path / "sweep" / str(job) / "result.json").read_text()) for job in range(6)]
    assert [r["tags"]["rung"] for r in records] == ["0"] * 4 + ["1"] * 2 and {r["status"] for r in records} == {"ok"}


def test_plan_prints_each_rung_and_the_full_grid(tmp_path, data_root):
    env = {**os.environ, "SENTGRID_DATA": str(data_root)}
    done = subprocess.run([sys.executable, "-m", "sentgrid", "plan", "-m", f"cache.dir={tmp_path / 'cache'}",
                           "hydra/sweeper=halving", "hydra.sweeper.rungs=[20,60,null]", *GRID],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("halving          sts/avg/spearman, eta 3, keep top: 3 rungs")
    assert [line.split()[:6] for line in lines[1:4]] == [["rung", "0", "20", "items", "4", "cells"],
                                                       ["rung", "1", "60", "items", "2*", "cells"],
                                                       ["rung", "2", "all", "items", "1*", "cells"]]
    assert any(line.startswith("full grid        4 cells on full data") for line in lines)
    refused = subprocess.run([sys.executable, "-m", "sentgrid", "plan", "-m", "hydra/sweeper=halving",
                              "task.max_items=50", *GRID], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2
    assert "task.max_items=50: a halving sweep sets task.max_items and task.slice on each rung" in refused.stderr


def test_a_later_rung_is_planned_to_encode_only_what_the_smaller_rungs_did_not(tmp_path, data_root, monkeypatch):
    """The store reads the rows of a smaller nested slice's sentences (store/donors.py), so plan does not price
    them again: 60 items of STSB and SICK-R are 238 sentences, 80 of them in the 20-item slice (as measured)."""
    from sentgrid.plan import plan

    monkeypatch.setenv("SENTGRID_DATA", str(data_root))
    cell = [f"cache.dir={tmp_path / 'cache'}", "task.sts.datasets=[STSB,SICK-R]", "task.slice=nested"]

    def encoded(report):
        return sum(model["sentences"] for model in report["models"].values())

    small = plan([], cells=[cell + ["task.max_items=20"]], encoded_before=frozenset())  # the first of a chain
    alone = plan([], cells=[cell + ["task.max_items=60"]])
    assert not alone["held"]  # a plan on its own keeps no list of what its entries hold
    after = plan([], cells=[cell + ["task.max_items=60"]], encoded_before=small["held"])
    assert (encoded(small), encoded(alone), encoded(after)) == (80, 238, 158)
    assert after["estimate_encode_seconds"] < alone["estimate_encode_seconds"]
    other = plan([], cells=[cell + ["task.max_items=60", "model=mpnet"]], encoded_before=small["held"])
    assert encoded(other) == 238  # another encoder's entries hold none of its rows
