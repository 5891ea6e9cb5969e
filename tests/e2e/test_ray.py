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


def running_cells() -> list[int]:
    """PIDs of this test's Ray workers running a cell now (Ray titles a busy worker `ray::run_cell`); another
    test run's head on the same machine has workers too, told apart by the token file in their environment."""
    mine = f"RAY_AUTH_TOKEN_PATH={os.environ['RAY_AUTH_TOKEN_PATH']}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(b"ray::run_cell") \
                    and mine in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_worker_killed_mid_cell_fails_that_cell_and_the_sweep_goes_on(tmp_path, data_root, records, ray_head):
    """SIGKILL of one Ray worker while it runs a cell (a node lost, preempted, out of memory): with no retry
    left, that cell is recorded failed with the reason; the other 5 finish and are logged; the sweep ends with
    its summary and exit 1 (issue 24: the driver died, and all 4 cells of its sweep were lost)."""
    import signal
    import subprocess
    import sys
    import time

    from sentgrid.local_cluster import QUIET
    from sentgrid.paths import PROJECT_ROOT

    env = {**os.environ, **QUIET, "SENTGRID_DATA": str(data_root)}
    sweep = subprocess.Popen([sys.executable, "-m", "sentgrid", "-m", "hydra/launcher=ray",
                              f"hydra.launcher.address={ray_head}", "hydra.launcher.max_retries=0",
                              "pooling=avg,max,cls", "postproc=none,zscore", *SMALL, f"cache.dir={tmp_path / 'cache'}",
                              f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                             cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # A worker busy with one cell for a second is inside it (its imports, the model, the encode). On a loaded
    # machine a cell can end before a fixed wait does, so watch until one has been busy that long.
    deadline, busy_since, victim = time.monotonic() + 300, {}, None
    while victim is None and sweep.poll() is None and time.monotonic() < deadline:
        now = time.monotonic()
        busy_since = {pid: busy_since.get(pid, now) for pid in running_cells()}
        victim = next((pid for pid, since in busy_since.items() if now - since >= 1.0), None)
        time.sleep(0.1)
    assert victim is not None, "no cell was running to kill"
    os.kill(victim, signal.SIGKILL)
    out, err = sweep.communicate(timeout=600)
    cells = records(tmp_path / "sweep")
    statuses = [c["status"] for c in cells]
    assert sweep.returncode == 1 and len(cells) == 6 and statuses.count("ok") == 5, out[-3000:] + err[-3000:]
    failed = cells[statuses.index("failed")]
    assert "the Ray worker running it died" in failed["error"] and "max_retries=0" in failed["error"]
    assert "sweep summary: 5 ok, 1 failed" in out and "MLflow: 5 runs of this sweep" in out



PROBE = """
import sys
from ray._raylet import GcsClient
try:
    GcsClient(address=sys.argv[1]).internal_kv_get(b"probe", None, timeout=10)
    print("answered")
except Exception as exc:
    print("refused" if "Unauthenticated" in str(exc) or "token" in str(exc).lower() else f"{type(exc).__name__}: {exc}")
"""


def test_the_local_head_refuses_a_client_without_its_token(tmp_path, ray_head):
    """Issue 24: Ray's servers listen on every interface, so the head the project starts must refuse whoever
    lacks its token: no token, or another token, is refused at once; the head's own token is answered."""
    import subprocess
    import sys

    other = tmp_path / "other_token"
    other.write_text("0" * 64)
    without = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    clients = {"no token": without, "another token": {**without, "RAY_AUTH_MODE": "token",
                                                      "RAY_AUTH_TOKEN_PATH": str(other)},
               "the head's token": dict(os.environ)}
    outcomes = {label: subprocess.run([sys.executable, "-c", PROBE, ray_head], env=env, capture_output=True,
                                      text=True, timeout=120).stdout.strip() for label, env in clients.items()}
    assert outcomes == {"no token": "refused", "another token": "refused", "the head's token": "answered"}
