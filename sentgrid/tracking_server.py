"""`make tracking-server` / `make tracking-server-stop`: an MLflow server on a PostgreSQL store, both on
127.0.0.1, in one folder (`<home>/tracking-server`: the database cluster, the artifacts, logs, PIDs).

    python -m sentgrid.tracking_server start [--dir DIR] [--port 5055] [--db-port 5433]
    python -m sentgrid.tracking_server stop [--dir DIR]

PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user and its commands
run as that user. Both are stopped by their PIDs (pg_ctl reads the postmaster's; the MLflow server's
process group is the one this module started).

The database asks for a password (scram-sha-256) on every connection, the socket's too: a generated secret
in `<dir>/db-password` (0600, the starting user's), which the MLflow server gets in its environment, never on
its command line. (With PostgreSQL's `trust`, any local account could connect as the superuser and run
programs as `postgres`.) MLflow itself asks nobody for a password: for a server others reach, start it
with MLflow's own authentication (`mlflow server --app-name basic-auth`, see MLflow's docs).
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .paths import home

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _pg(tool: str) -> str:
    found = shutil.which(tool) or (str(PG_BIN / tool) if (PG_BIN / tool).exists() else None)
    if not found:
        raise SystemExit(f"tracking-server: {tool} not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return found


def _as_db_user(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL command, as `postgres` when we are root (initdb and postgres refuse root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + command, capture_output=True, text=True, **kwargs)


def _wait(url: str, seconds: float) -> bool:
    """Whether `url` answers within `seconds` (asked at least once)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)


def secret(folder: Path) -> str:
    """The database password, made once (0600, created so: never readable by others, not even briefly)."""
    path = folder / "db-password"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as f:
            f.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def start(folder: Path, port: int, db_port: int) -> str:
    """Start PostgreSQL and the MLflow server (each unless it already runs); the tracking URI."""
    folder.mkdir(parents=True, exist_ok=True)
    data, logs, sockets, state = folder / "pgdata", folder / "logs", folder / "run", folder / "pids.json"
    fresh = not (data / "PG_VERSION").exists()
    if not fresh and not (folder / "db-password").exists():
        raise SystemExit(f"tracking-server: {data} was made without a password (trust: every local account is its "
                         f"superuser); stop it, remove {data} and start again (the runs it holds are lost; replay "
                         f"the sweep folders afterwards).")
    password = secret(folder)
    db_env = {**os.environ, "PGPASSWORD": password}
    for owned in (logs, sockets):
        owned.mkdir(exist_ok=True)
        if os.geteuid() == 0:  # the database user must own its log and socket folders
            shutil.chown(owned, "postgres")
    if os.geteuid() == 0:
        folder.chmod(0o755)
    if fresh:
        data.mkdir(exist_ok=True)
        pwfile = logs / ".initdb-password"  # the database user reads it once, then it goes
        pwfile.write_text(password)
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres")
            shutil.chown(pwfile, "postgres")
        try:
            done = _as_db_user([_pg("initdb"), "-D", str(data), "-A", "scram-sha-256", "--pwfile", str(pwfile),
                                "-U", "postgres", "--no-instructions"])
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode:
            raise SystemExit(f"tracking-server: initdb failed: {done.stderr.strip()[-500:]}")
    if _as_db_user([_pg("pg_ctl"), "status", "-D", str(data)]).returncode != 0:
        options = f"-p {db_port} -c listen_addresses=127.0.0.1 -k {sockets}"
        done = _as_db_user([_pg("pg_ctl"), "start", "-w", "-D", str(data), "-o", options, "-l", str(logs / "postgres.log")])
        if done.returncode:
            raise SystemExit(f"tracking-server: PostgreSQL did not start (see {logs / 'postgres.log'}): "
                             f"{done.stderr.strip()[-500:]}")
    exists = _as_db_user([_pg("psql"), "-h", "127.0.0.1", "-p", str(db_port), "-U", "postgres", "-tAc",
                          "SELECT 1 FROM pg_database WHERE datname = 'mlflow'"], env=db_env)
    if exists.stdout.strip() != "1":
        made = _as_db_user([_pg("createdb"), "-h", "127.0.0.1", "-p", str(db_port), "-U", "postgres", "mlflow"],
                           env=db_env)
        if made.returncode:
            raise SystemExit(f"tracking-server: createdb failed: {made.stderr.strip()[-500:]}")
    uri = f"http://127.0.0.1:{port}"
    if not _wait(f"{uri}/health", 0):
        # the password in the environment (psycopg2 reads PGPASSWORD), not in the arguments every user's ps shows
        env = {**db_env, "MLFLOW_DISABLE_TELEMETRY": "true",
               "MLFLOW_BACKEND_STORE_URI": f"postgresql+psycopg2://postgres@127.0.0.1:{db_port}/mlflow"}
        with open(logs / "mlflow.log", "ab") as log:
            server = subprocess.Popen(
                [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
                 "--artifacts-destination", str(folder / "artifacts"), "--workers", "2"],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        state.write_text(json.dumps({"mlflow": server.pid, "port": port, "db_port": db_port}))
        if not _wait(f"{uri}/health", 120):
            stop(folder)
            raise SystemExit(f"tracking-server: the MLflow server did not answer on {uri} (see {logs / 'mlflow.log'})")
    return uri


def stop(folder: Path) -> None:
    """Stop the MLflow server, then PostgreSQL."""
    stop_mlflow(folder)
    if (folder / "pgdata" / "PG_VERSION").exists():
        _as_db_user([_pg("pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(folder / "pgdata")])


def stop_mlflow(folder: Path) -> None:
    """Stop the MLflow server: its process group, led by the PID recorded at start."""
    state = folder / "pids.json"
    if not state.exists():
        return
    pid = json.loads(state.read_text())["mlflow"]
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(100):
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    state.unlink()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid.tracking_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--dir", default=str(home() / "tracking-server"))
    parser.add_argument("--port", type=int, default=5055, help="the MLflow server's port (127.0.0.1)")
    parser.add_argument("--db-port", type=int, default=5433, help="PostgreSQL's port (127.0.0.1)")
    args = parser.parse_args(argv)
    folder = Path(args.dir).resolve()
    if args.command == "stop":
        stop(folder)
        print(f"tracking server in {folder} stopped")
        return 0
    uri = start(folder, args.port, args.db_port)
    print(f"MLflow on PostgreSQL: {uri}  (export MLFLOW_TRACKING_URI={uri}; stop: make tracking-server-stop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
