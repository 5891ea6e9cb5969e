"""`hydra/launcher=slurm` (hydra-submitit-launcher) on a real single-node SLURM, started for the test in
a network namespace of its own (tests/e2e/slurm_local.sh) and stopped by PID."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sentgrid.paths import PROJECT_ROOT

SCRIPT = Path(__file__).parent / "slurm_local.sh"


def test_a_sweep_through_slurm(tmp_path, data_root):
    missing = [tool for tool in ("slurmctld", "slurmd", "munged", "sbatch", "unshare", "ip") if not shutil.which(tool)]
    if missing or not Path("/etc/munge/munge.key").exists():
        pytest.skip(f"SLURM cannot start here: missing {missing or '/etc/munge/munge.key'} (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode:
        pytest.skip("SLURM cannot start here: a private network namespace (unshare -n, as root) is not allowed")
    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "sentgrid", "-m", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1",
               "hydra.launcher.mem_gb=1", f"cache.dir={tmp_path / 'cache'}", f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
               f"hydra.sweep.dir={sweep}", "postproc=none,zscore,whiten", "task.sts.datasets=[BIOSSES]", "task.max_items=30"]
    done = subprocess.run(["unshare", "-n", str(SCRIPT), str(tmp_path / "slurm"), *command], cwd=PROJECT_ROOT,
                          env={**os.environ, "SENTGRID_DATA": str(data_root)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = [json.loads((sweep / str(i) / "result.json").read_text()) for i in range(3)]
    assert [r["status"] for r in records] == ["ok", "ok", "ok"]
    assert "sweep summary: 3 ok" in done.stdout and "MLflow: 3 runs of this sweep" in done.stdout
    assert list(sweep.glob(".submitit/*/*_submission.sh"))  # the cells really went through sbatch
    assert not [daemon for daemon in ("slurmctld", "slurmd", "munged") if _running(tmp_path / "slurm" / f"{daemon}.pid")]


def _running(pid_file: Path) -> bool:
    """Alive and not a zombie (a daemon's zombie waits for whichever init reaps it; it holds nothing)."""
    stat = Path(f"/proc/{pid_file.read_text().strip()}/stat") if pid_file.exists() else None
    try:
        return stat is not None and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
