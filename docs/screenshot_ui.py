"""Open the two MLflow links a sweep prints in a real browser and keep screenshots of what a person sees:
start the MLflow UI on 127.0.0.1, save the sweep's view again (as the sweep's end did), open its runs
link and its compare link in headless Chromium, save a PNG of each, stop the UI by its PID. One click:
the assistant panel MLflow opens on a first visit is closed (MLflow remembers that); the rest is what
the links show.

    .venv/bin/pip install playwright        # a docs tool, not a dependency; it drives the system chromium
    .venv/bin/python docs/screenshot_ui.py SWEEP_DIR [--out docs/mlflow_sweep]   # -> _runs.png, _compare.png
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT = 5079


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep")
    parser.add_argument("--out", default=str(ROOT / "docs" / "mlflow_sweep"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from sentgrid.tracking import sweep_view
    from sentgrid.tracking_views import LOCAL_UI

    sweep = Path(args.sweep).resolve()
    uri = os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{ROOT / 'mlflow.db'}")
    record = json.loads(next(sweep.glob("*/result.json")).read_text())
    experiment = record.get("config", {}).get("tracking", {}).get("experiment", "sentgrid")
    links = {k: v.replace(LOCAL_UI, f"http://127.0.0.1:{PORT}") for k, v in sweep_view(sweep, uri, experiment).items()}
    ui = subprocess.Popen([str(ROOT / ".venv/bin/mlflow"), "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
                           "--port", str(PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(90):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            for name, link in links.items():
                page = browser.new_page(viewport={"width": 1600, "height": 900})
                page.goto(link)
                page.get_by_text("matching runs").or_(page.get_by_text("runs")).first.wait_for()
                page.wait_for_timeout(6000)  # the table's columns and the charts draw after the runs load
                closer = page.get_by_role("button", name="Close")
                if closer.count():  # MLflow's assistant panel opens on a first visit; a person closes it once
                    closer.first.click()
                    page.wait_for_timeout(1500)
                path = f"{args.out}_{name}.png"
                page.screenshot(path=path)
                print(f"{name}: {link}\nscreenshot: {path}")
                page.close()
            browser.close()
    finally:
        ui.terminate()
        ui.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
