"""`make cluster-demo`: a Ray head and an MLflow server on PostgreSQL, all on 127.0.0.1, a 16-cell STS
sweep through `hydra/launcher=ray` logging to the server, then the sweep summary and the runs MLflow
holds; everything it started is stopped by PID at the end.

    python -m sentgrid.local_cluster [--workers 2] [sweep overrides, e.g. task.max_items=300]
"""
import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import tracking_server
from .paths import PROJECT_ROOT, home

QUIET = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "MLFLOW_DISABLE_TELEMETRY": "true"}
DEMO_SWEEP = ["pooling=cls,avg,avg_content,max", "postproc=none,zscore,whiten,quantile"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def ray_head(num_cpus: int = 2):
    """A Ray head on 127.0.0.1 with `num_cpus` CPUs and Ray's token authentication on; yields its address,
    with this process's environment holding the token (RAY_AUTH_MODE, RAY_AUTH_TOKEN_PATH) for the drivers it
    starts. Ray's servers listen on every interface whatever the node address says, so without the token
    anyone who reaches this machine could run code on the head. `ray start --block` is stopped by its PID
    (it stops what it started). Fails if the head is not on loopback."""
    port, temp = free_port(), tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    token = Path(temp) / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    saved = {name: os.environ.get(name) for name in auth}
    os.environ.update(auth)
    env = {**os.environ, **QUIET}
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
                             "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={num_cpus}",
                             "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline, probe = time.monotonic() + 120, None
        while time.monotonic() < deadline and head.poll() is None:
            probe = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address='{address}', log_to_driver=False);"
                                    " print([n['NodeManagerAddress'] for n in ray.nodes()])"],
                                   env=env, capture_output=True, text=True, timeout=120)
            if probe.returncode == 0:
                break
            time.sleep(1)
        if probe is None or probe.returncode != 0:
            raise RuntimeError(f"the Ray head did not start: {(probe.stderr if probe else head.stdout.read())[-2000:]}")
        if probe.stdout.strip() != "['127.0.0.1']":
            raise RuntimeError(f"the Ray head is not on loopback: {probe.stdout.strip()}")
        yield address
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def runs_found(uri: str, sweep_dir: Path) -> list:
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.sweep_dir = '{sweep_dir}'",
                              output_format="list")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid.local_cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the Ray head (one cell per CPU)")
    parser.add_argument("overrides", nargs="*", help="more sweep overrides")
    args = parser.parse_args(argv)
    os.environ.update(QUIET)
    folder = home() / "cluster-demo"
    sweep_dir = folder / "multirun" / time.strftime("%Y-%m-%d_%H-%M-%S")
    ports = free_port(), free_port()
    started = time.perf_counter()
    try:
        uri = tracking_server.start(folder / "tracking-server", *ports)
        print(f"MLflow on PostgreSQL: {uri} ({time.perf_counter() - started:.0f} s)", flush=True)
        with ray_head(args.workers) as address:
            print(f"Ray head: {address} with {args.workers} CPUs ({time.perf_counter() - started:.0f} s)", flush=True)
            command = [sys.executable, "-m", "sentgrid", "-m", "hydra/launcher=ray", f"hydra.launcher.address={address}",
                       f"tracking.uri={uri}", f"cache.dir={folder / 'cache'}", f"hydra.sweep.dir={sweep_dir}",
                       *DEMO_SWEEP, *args.overrides]
            print("$ " + " ".join(command[1:]), flush=True)
            sweep_started = time.perf_counter()
            done = subprocess.run(command, cwd=PROJECT_ROOT)
            print(f"sweep wall time: {time.perf_counter() - sweep_started:.1f} s (exit {done.returncode})")
        found = runs_found(uri, sweep_dir)
        print(f"\nMLflow at {uri} holds {len(found)} runs of this sweep:")
        for run in sorted(found, key=lambda r: -r.data.metrics.get("sts/avg/spearman", float("-inf"))):
            print(f"  {run.info.run_name:<48} sts/avg/spearman {run.data.metrics.get('sts/avg/spearman', float('nan')):6.2f}")
        return done.returncode
    finally:
        tracking_server.stop(folder / "tracking-server")
        print(f"stopped the Ray head, the MLflow server and PostgreSQL ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
