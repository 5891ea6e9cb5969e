"""`hydra/launcher=ray` on a real Ray head started here (127.0.0.1, stopped by its PID)."""
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("ray")

SMALL = ("task.sts.datasets=[STSB,BIOSSES]", "task.max_items=40")


@pytest.fixture
def ray_head():
    """A Ray head with 2 CPUs on 127.0.0.1 (checked), stopped by its PID afterwards."""
    from sentgrid.local_cluster import ray_head as head

    with head(2) as address:
        yield address


def test_a_sweep_on_ray_encodes_a_shared_key_once_and_logs_every_run(tmp_path, sentgrid_cli, records, ray_head):
    from sentgrid.local_cluster import QUIET

    os.environ.update(QUIET)
    run = sentgrid_cli("-m", "hydra/launcher=ray", f"hydra.launcher.address={ray_head}",
                       "postproc.steps=[],[zscore],[normalize],[whiten],[no_such_step]", *SMALL)
    cells = records(tmp_path / "sweep")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]  # one cell failed: the sweep says so
    assert [c["status"] for c in cells] == ["ok", "ok", "ok", "ok", "failed"]
    assert "no_such_step" in cells[4]["error"]
    computed = sorted(c["encode"]["sentences_computed"] for c in cells[:4])
    assert computed[:3] == [0, 0, 0] and computed[3] > 0  # one task encoded, the others read its entries
    assert "sweep summary: 4 ok, 1 failed" in run.stdout and "MLflow: 4 runs of this sweep" in run.stdout
    assert all(Path(c["tags"]["job_dir"]).parent == tmp_path / "sweep" for c in cells[:4])
    summary = json.loads((tmp_path / "sweep" / "summary.json").read_text())
    assert len(summary["ok"]) == 4
