"""MLflow on PostgreSQL (`python -m sentgrid.tracking_server`, what `make tracking-server` runs), on
127.0.0.1, started here and stopped by PID: parallel cells log every run; a server stopped in the middle
of a sweep loses no result (replay afterwards)."""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sentgrid.local_cluster import free_port, runs_found
from sentgrid.paths import PROJECT_ROOT

SMALL = ("task.sts.datasets=[STSB,BIOSSES]", "task.max_items=40")


@pytest.fixture
def server():
    from sentgrid import tracking_server

    if not (shutil.which("pg_ctl") or (tracking_server.PG_BIN / "pg_ctl").exists()):
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="sentgrid-tracking-"))  # not under pytest's 0700 folders: postgres reads it
    ports = free_port(), free_port()
    started = subprocess.run([sys.executable, "-m", "sentgrid.tracking_server", "start", "--dir", str(folder),
                              "--port", str(ports[0]), "--db-port", str(ports[1])], capture_output=True, text=True,
                             timeout=300)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"http://127.0.0.1:{ports[0]}", folder, ports
    finally:
        tracking_server.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def test_parallel_cells_log_every_run_to_the_server(tmp_path, sentgrid_cli, server):
    uri, _, _ = server
    run = sentgrid_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "postproc=none,zscore,normalize,whiten",
                       *SMALL, uri=uri)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "MLflow: 4 runs of this sweep" in run.stdout
    assert len(runs_found(uri, tmp_path / "sweep")) == 4


def test_a_server_stopped_mid_sweep_loses_no_result(tmp_path, data_root, server):
    from sentgrid import tracking_server

    uri, folder, ports = server
    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "sentgrid", "-m", f"cache.dir={tmp_path / 'cache'}", f"tracking.uri={uri}",
               "tracking.timeout_s=2", f"hydra.sweep.dir={sweep}", "postproc=none,zscore,normalize,whiten", *SMALL]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**__import__("os").environ, "SENTGRID_DATA": str(data_root)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (sweep / "0" / "result.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    tracking_server.stop_mlflow(folder)  # the first cell is done, the others are still to come
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]  # results are safe on disk; tracking failures do not fail cells
    assert len(list(sweep.glob("*/result.json"))) == 4
    restarted = subprocess.run([sys.executable, "-m", "sentgrid.tracking_server", "start", "--dir", str(folder), "--port",
                                str(ports[0]), "--db-port", str(ports[1])], capture_output=True, text=True, timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    replay = subprocess.run([sys.executable, "-m", "sentgrid.tracking", "replay", str(sweep), uri],
                            capture_output=True, text=True, timeout=300)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    found = runs_found(uri, sweep)
    assert len(found) == 4 and len({r.data.tags["job_dir"] for r in found}) == 4


def test_the_database_asks_every_connection_for_its_password(server):
    """`make tracking-server` made every local account a database superuser (`initdb -A trust`; issue 24): now
    scram-sha-256 on every line of pg_hba.conf, the secret 0600, and not on any command line."""
    import os

    from sentgrid import tracking_server

    uri, folder, (_, db_port) = server
    password = folder / "db-password"
    assert oct(password.stat().st_mode & 0o777) == "0o600"
    rules = [line.split() for line in (folder / "pgdata" / "pg_hba.conf").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), rules
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    query = [tracking_server._pg("psql"), "-h", "127.0.0.1", "-p", str(db_port), "-U", "postgres", "-w", "-tAc", "SELECT 1"]
    assert subprocess.run(query, capture_output=True, text=True, env=env, timeout=30).returncode != 0
    allowed = subprocess.run(query, capture_output=True, text=True, env={**env, "PGPASSWORD": password.read_text()},
                             timeout=30)
    assert allowed.returncode == 0 and allowed.stdout.strip() == "1", allowed.stderr
    def command_line(process: Path) -> bytes:
        try:
            return (process / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            return b""

    assert not any(password.read_text().encode() in command_line(p) for p in Path("/proc").glob("[0-9]*"))
