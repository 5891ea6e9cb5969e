"""The package as users install it: a wheel in a fresh virtual environment, run from an empty folder."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from sentgrid.paths import PROJECT_ROOT


def source_copy(target: Path) -> Path:
    """The sources alone, so building leaves nothing in the checkout (and two test runs do not collide)."""
    outputs = {".git", ".venv", "cache", "multirun", "outputs", "reports", "mlartifacts", "build", ".pytest_cache",
               ".ruff_cache"}
    shutil.copytree(PROJECT_ROOT, target, ignore=lambda folder, names: [
        n for n in names if n in outputs or n.startswith("mlflow.db") or n.endswith(".egg-info")])
    return target


def test_the_wheel_runs_a_cell_from_any_folder(tmp_path, data_root):
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source_copy(tmp_path / "src")), "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(wheels)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    # every config group travels (a group left out of pyproject's packages would be missing, or warned about)
    with zipfile.ZipFile(next(wheels.glob("sentgrid-*.whl"))) as wheel:
        packed = {name.removeprefix("sentgrid/conf/") for name in wheel.namelist() if name.startswith("sentgrid/conf/")}
    assert packed >= {str(p.relative_to(PROJECT_ROOT / "conf")) for p in (PROJECT_ROOT / "conf").rglob("*.yaml")}
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=120)
    python = fresh / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies (torch, transformers, ...) come from this environment, appended after the fresh
    # site-packages; sentgrid itself only from the wheel (an editable install's finder is not loaded this way).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                                str(next(wheels.glob("sentgrid-*.whl")))], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "SENTGRID_DATA": str(data_root), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for name in ("SENTGRID_HOME", "SENTGRID_CACHE", "MLFLOW_TRACKING_URI", "PYTHONPATH"):  # the wheel's sentgrid alone
        env.pop(name, None)
    run = subprocess.run([fresh / "bin" / "sentgrid", "task.sts.datasets=[BIOSSES]", "task.max_items=30"], cwd=work,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    where = subprocess.run([python, "-c", "import sentgrid.paths as p; print(p.CONF_DIR)"], cwd=work, env=env,
                           capture_output=True, text=True).stdout.strip()
    assert where.startswith(str(site)), where  # the configs inside the installed package
    records = list((work / "outputs").rglob("result.json"))
    assert len(records) == 1 and json.loads(records[0].read_text())["status"] == "ok"
    assert (work / "cache").is_dir() and (work / "mlflow.db").is_file()  # outputs in the working folder
    assert "BIOSSES" in run.stdout
