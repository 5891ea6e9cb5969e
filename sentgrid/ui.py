"""`make ui`: the MLflow UI for the project's store (or $MLFLOW_TRACKING_URI's) on 127.0.0.1:5000.

make does not pass a SIGTERM on to what its recipe started, so `kill <make>` used to leave the UI
serving, orphaned. This process runs the UI as its child and stops it (by its PID) when it is told to
stop (SIGTERM, SIGINT, SIGHUP) and when its parent (make) dies (Linux: PR_SET_PDEATHSIG).

    python -m sentgrid.ui [--port 5000]
"""
import argparse
import ctypes
import signal
import subprocess
import sys
from pathlib import Path

from .tracking import default_uri

PR_SET_PDEATHSIG = 1


def stop_with_parent() -> None:
    """Get a SIGTERM when the parent process dies (Linux only; elsewhere make's Ctrl-C still reaches us)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid.ui", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    uri = default_uri()
    mlflow = Path(sys.executable).parent / "mlflow"
    stop_with_parent()
    print(f"MLflow UI for {uri} on http://127.0.0.1:{args.port} (Ctrl-C stops it)", flush=True)
    ui = subprocess.Popen([str(mlflow), "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port",
                           str(args.port)])

    def stop(signum, frame):
        ui.terminate()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        ui.wait()
    finally:
        if ui.poll() is None:
            ui.terminate()
            try:
                ui.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ui.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
