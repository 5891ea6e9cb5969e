"""Check the README's MLflow steps in a real browser and keep a screenshot: start the MLflow UI on
127.0.0.1, open the runs page of one sweep (filter by its folder, sort by the headline score), pick the
columns the README names, save a headless-Chromium screenshot, stop the UI by its PID.

    .venv/bin/pip install playwright        # a docs tool, not a dependency; it drives the system chromium
    .venv/bin/python docs/screenshot_ui.py SWEEP_DIR [OUT.png] [--columns sts/avg/spearman pooling.name ...]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
PORT = 5079


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep")
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "mlflow_sweep.png"))
    parser.add_argument("--columns", nargs="+", default=["sts/avg/spearman", "pooling.name", "postproc.name"])
    parser.add_argument("--hide", nargs="*", default=["Dataset", "Source", "Models"], help="default columns to untick")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    import mlflow
    from playwright.sync_api import sync_playwright

    sweep = str(Path(args.sweep).resolve())
    uri = os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{ROOT / 'mlflow.db'}")
    record = json.loads(next(Path(sweep).glob("*/result.json")).read_text())
    name = record.get("config", {}).get("tracking", {}).get("experiment", "sentgrid")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(name).experiment_id
    url = (f"http://127.0.0.1:{PORT}/#/experiments/{experiment}/runs?searchFilter={quote(f'tags.sweep_dir = {sweep!r}')}"
           f"&orderByKey={quote('metrics.`' + args.columns[0] + '`')}&orderByAsc=false")
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
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            page.goto(url)
            page.get_by_text("matching runs").wait_for()  # the runs (and so their columns) have loaded
            page.wait_for_timeout(3000)
            try:
                for column in args.columns + args.hide:  # the README's step: Columns, search, tick
                    page.get_by_role("button", name="Columns").click()
                    page.get_by_placeholder("Search columns").fill(column)
                    page.wait_for_timeout(1000)
                    title = page.locator(".du-bois-light-tree-title").filter(has_text=re.compile(f"^{re.escape(column)}$"))
                    page.locator(".du-bois-light-tree-treenode").filter(has=title).locator(
                        ".du-bois-light-tree-checkbox").first.click(timeout=10000)
                    page.keyboard.press("Escape")
            except Exception:
                page.screenshot(path=args.out + ".failed.png")
                raise
            closer = page.get_by_role("button", name="Close")
            if closer.count():  # the assistant side panel hides the table's right part
                closer.first.click()
            page.wait_for_timeout(1500)
            page.screenshot(path=args.out, clip={"x": 0, "y": 0, "width": 1500, "height": 420})
            browser.close()
    finally:
        ui.terminate()
        ui.wait()
    print(f"{url}\nscreenshot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
