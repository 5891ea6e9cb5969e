"""Per-item outputs, intervals and comparisons through the CLI, on small slices of every family: kept outputs
re-score to the recorded metrics exactly, intervals reach result.json and MLflow, `compare` reads the outputs
(two poolings equal under cosine: difference 0, p = 1), and a damaged outputs file is refused, then rewritten
by force=true."""
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sentgrid.cells import FinishedCells
from sentgrid.outputs import checksum
from sentgrid.paths import PROJECT_ROOT

SLICE = ["task.max_items=40", "task.sts.datasets=[STSB,BIOSSES]", "task.clustering.datasets=[AgNews,Tweet]",
         "task.classification.datasets=[MR,TREC,MRPC]", "task.clustering.seeds=2"]


def compare(tmp_path, *cells):
    return subprocess.run([sys.executable, "-m", "sentgrid", "compare", *cells, "--cache", str(tmp_path / "cache")],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_outputs_rescore_exactly_intervals_are_recorded_and_compare_reads_them(tmp_path, sentgrid_cli, records):
    run = sentgrid_cli("-m", "pooling=avg,mean_sqrt_len", "task=all", *SLICE)
    assert run.returncode == 0, run.stderr[-3000:]
    pairs = sentgrid_cli("-m", "task=pair_classification", "task.max_items=100", sweep="pairs")
    assert pairs.returncode == 0, pairs.stderr[-3000:]
    cells = records(tmp_path / "sweep") + records(tmp_path / "pairs")
    assert [c["status"] for c in cells] == ["ok"] * 3
    finished = FinishedCells(tmp_path / "cache")
    for record in cells:
        kept = finished.outputs(record["cell_id"], record)
        assert set(kept.families.values()) == set(record["config"]["task"]["families"])
        for key in kept.families:  # every family's outputs give back its recorded numbers, bit for bit
            recorded = {m.split("/")[-1]: v for m, v in record["metrics"].items() if m.rsplit("/", 1)[0] == key}
            assert kept.rescored(key) == recorded, key
        for name, (low, high) in record["intervals"].items():
            assert low <= record["metrics"][name] + 1e-9 and record["metrics"][name] <= high + 1e-9, name
        averages = {f"{f}/avg/{m}" for f in record["config"]["task"]["families"] for m in ("spearman", "accuracy", "ap")}
        assert averages & set(record["metrics"]) <= set(record["intervals"])
    assert "= " in run.stdout and "tied with the best" in run.stdout  # the sweep summary's tied set

    import mlflow
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    [logged] = mlflow.search_runs(experiment_names=["sentgrid"], filter_string=f"tags.cell_id = '{cells[0]['cell_id']}'",
                                  output_format="list")
    low, high = cells[0]["intervals"]["sts/avg/spearman"]
    assert logged.data.metrics["sts/avg/spearman/ci_low"] == low and logged.data.metrics["sts/avg/spearman/ci_high"] == high

    same = compare(tmp_path, cells[0]["cell_id"][:12], str(tmp_path / "sweep" / "1"))  # avg, mean_sqrt_len
    assert same.returncode == 0, same.stderr
    sts_block = same.stdout.split("\nsts spearman", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert len(sts_block) == 3  # STSB, BIOSSES, avg: alike under cosine (k-means and classifiers see the lengths)
    for line in sts_block:
        assert line.split()[-1] == "1.000" and "+0.00 [ +0.00,  +0.00]" in line, line

    report = subprocess.run([sys.executable, "-m", "sentgrid.report", "tables", "--sweep", str(tmp_path / "sweep"),
                             "--out", str(tmp_path / "reports")], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert report.returncode == 0, report.stderr
    tables = tmp_path / "reports" / "tables" / "slice-40"
    best = (tables / "best.md").read_text()
    assert best.count("paired bootstrap") == 3 and "as printed" not in best  # sts, clustering, classification
    effects = (tables / "effects_sts.md").read_text()
    assert "| pooling | mean_sqrt_len |" in effects and (tables / "effects_sts.png").stat().st_size > 0
    if shutil.which("pdflatex"):  # the intervals, tied marks and effects tables still compile
        (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + "\n".join(
            p.read_text() for p in sorted(tables.glob("*.tex"))) + "\\end{document}\n")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 or "booktabs.sty' not found" in done.stdout, done.stdout[-3000:]

    damaged = finished.outputs_path(cells[0]["cell_id"])
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 1
    damaged.chmod(0o644)
    damaged.write_bytes(bytes(data))
    refused = compare(tmp_path, cells[0]["cell_id"], cells[1]["cell_id"])
    assert refused.returncode == 2 and "damaged" in refused.stderr and "force=true" in refused.stderr
    again = sentgrid_cli("pooling=avg", "task=all", *SLICE, "force=true", "tracking.enabled=false")
    assert again.returncode == 0, again.stderr[-3000:]
    # a force=true run on another machine: outputs that differ in the last bit replace those the first run's job
    # folder names; compare reads the index's record
    identity = cells[0]["cell_id"]
    kept = finished.outputs(identity)
    kept.outputs["sts/STSB"]["similarity"] = np.nextafter(kept.outputs["sts/STSB"]["similarity"], 2)
    record = {**cells[0], "outputs": {"sha256": checksum(kept.pack())}}
    finished.mark(identity, tmp_path / "elsewhere.json", record, kept.pack())
    rewritten = compare(tmp_path, str(tmp_path / "sweep" / "0"), cells[1]["cell_id"])
    assert rewritten.returncode == 0, rewritten.stderr


@pytest.mark.parametrize("ref, message", [("ffffffff", "no finished cell"), ("pooling=max", "has not finished")])
def test_compare_names_a_cell_it_cannot_find(tmp_path, ref, message):
    run = compare(tmp_path, ref, "pooling=avg")
    assert run.returncode == 2 and message in run.stderr and "\n" not in run.stderr.strip()
