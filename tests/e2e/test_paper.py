"""`python -m sentgrid paper` end to end on a small slice, with the paper's grid cut down to a few values per
axis (every sweep, every row kind, every figure; the full grid is the same code with more values): the
sweeps run as ordinary sweeps, the report's tables equal the records, every artefact says "slice", the
LaTeX compiles, the figures exist as PNG and PDF, the MTEB files load with mteb's own TaskResult and hold
the records' scores, and the same command run again computes nothing."""
import json
import re
import shutil
import subprocess
from dataclasses import replace

import pandas as pd
import pytest

from sentgrid.paper import command
from sentgrid.paper.grid import DEMO, paper_grid

SLICE = ["task.max_items=40", "task.sts.datasets=[STSB,BIOSSES]", "task.clustering.datasets=[AgNews,Tweet]",
         "task.classification.datasets=[MR,TREC]", "task.clustering.seeds=2", "diagnostics.corpus_sentences=200",
         "corpus.max_sentences=600"]  # Avg.'s table and bias removal's counts from 600 WikiText sentences
FEWER = {"postproc": "none,quantile", "pooling.weighting": "none,idf_task", "pooling.bias_removal": "none",
         "pooling": None, "layer.layers": "[0],[6],[1,6]", "model.w": "0,1"}


def small_grid(model, num_layers, axes=None):
    """The demo's sweeps (what a slice runs) with fewer values still, B2S left out (its training takes a minute)."""
    assert axes is DEMO  # a slice runs the demo grid
    sweeps = []
    for sweep in paper_grid(model, num_layers, axes):
        if sweep.name.startswith("static_b2s"):
            continue
        overrides = []
        for item in sweep.overrides:
            key, value = item.split("=", 1)
            if key == "layer.layers" and sweep.name == "bert_avg":
                value = "[0],[6],[1,6],[0,1,2,3,4,5,6]"
            elif FEWER.get(key):
                value = FEWER[key]
            elif key == "pooling" and "," in value:
                value = value.split(",")[0]
            overrides.append(f"{key}={value}")
        sweeps.append(type(sweep)(sweep.name, overrides, sweep.feeds, sweep.why))
    return sweeps


def records_of(folder):
    found = {}
    for path in folder.glob("*/result.json"):
        record = json.loads(path.read_text())
        found[int(path.parent.name)] = record
    return [found[i] for i in sorted(found)]


def halfway(of):
    """Storage.of with the disk's free space halfway between what the paper takes at once, pruned, and what it
    takes keeping everything (both with a token pass's scratch)."""
    def tight(*arguments):
        found = of(*arguments)
        return replace(found, free=(found.peak + found.total + found.scratch) / 2)
    return tight


@pytest.fixture
def paper_run(tmp_path, data_root, monkeypatch, capfd):
    monkeypatch.setenv("SENTGRID_HOME", str(tmp_path))
    monkeypatch.setenv("SENTGRID_DATA", str(data_root))
    monkeypatch.setattr(command, "paper_grid", small_grid)
    arguments = [*SLICE, f"cache.dir={tmp_path / 'cache'}", f"tracking.uri=sqlite:///{tmp_path}/mlflow.db"]

    def run(model="minilm", tight=False):  # the sweeps are subprocesses: their output is read from the descriptors
        with monkeypatch.context() as patch:
            if tight:  # a disk that holds the paper only sweep by sweep: entries are removed after their sweep
                patch.setattr(command.Storage, "of", halfway(command.Storage.of))
            code = command.main([f"model={model}", *arguments])
        return code, capfd.readouterr()
    return run


def test_the_paper_runs_as_sweeps_and_lays_out_its_tables_figures_and_mteb_files(tmp_path, paper_run):
    code, printed = paper_run(tight=True)
    assert code == 0, printed.err[-3000:]
    assert re.search(r"\nall\s+\d+\s+0\s", printed.out)  # the plan of every sweep, summed, before anything ran
    assert "at once with each sweep's entries removed once no later sweep reads them" in printed.out
    removed = re.findall(r"paper: removed (\d+) entries of sweep (\w+)", printed.out)
    assert removed and all(int(n) > 0 for n, _ in removed), printed.out[-3000:]
    sweeps = tmp_path / "multirun" / "paper" / "minilm" / "slice-40"
    assert sorted(p.name for p in sweeps.iterdir()) == sorted(s.name for s in small_grid("minilm", 6, DEMO))
    out = tmp_path / "reports" / "paper" / "minilm" / "slice-40"
    readme = (out / "README.md").read_text()
    assert "slice of 40 items per dataset (task.max_items) and the demo grid" in readme
    assert "stands in for the paper's bert-base-uncased" in readme
    assert 'T4 = `This sentence of "[X]" means [MASK] .`' in readme

    # Table 1's BERT row is the bert sweep's records: plain = the unshaped cell, best shaped = the best cell
    bert = [r for r in records_of(sweeps / "bert") if r["status"] == "ok"]
    table = pd.read_csv(out / "table1_sts.csv").set_index("model")
    plain = [r for r in bert if r["config"]["postproc"]["name"] == "none"
             and r["config"]["pooling"]["weighting"] == "none"]
    assert table.loc["BERT", "plain"] == pytest.approx(plain[0]["metrics"]["sts/avg/spearman"], abs=1e-9)
    assert table.loc["BERT", "best shaped"] == pytest.approx(max(r["metrics"]["sts/avg/spearman"] for r in bert), abs=1e-9)
    assert set(table.index) == {"BERT", "T0", "T4", "Avg.", "BERT + Avg.", "RE"}  # B2S left out above
    assert set(pd.read_csv(out / "table3_classification.csv")["model"]) == set(table.index)

    for tex in out.glob("*.tex"):  # every table says it is a slice
        assert "Slice" in tex.read_text(), tex.name
    for number in range(1, 6):
        [png] = out.glob(f"fig{number}_*.png")
        assert png.stat().st_size > 10_000 and png.with_suffix(".pdf").stat().st_size > 1_000, png.name
    if shutil.which("pdflatex"):
        (out / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + "\n".join(
            p.read_text() for p in sorted(out.glob("table*.tex"))) + "\\end{document}\n")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=out,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 or "booktabs.sty' not found" in done.stdout, done.stdout[-3000:]

    from mteb.results import TaskResult  # the MTEB files load with mteb's own classes and hold the records' scores
    by_id = {r["cell_id"]: r for folder in sweeps.iterdir() for r in records_of(folder) if r["status"] == "ok"}
    cells = list((out / "mteb").glob("*/*/sentgrid_cell.json"))
    assert len(cells) == 6
    for cell in cells:
        record = by_id[json.loads(cell.read_text())["cell_id"]]
        results = [TaskResult.from_disk(p) for p in cell.parent.glob("*.json") if p.name != "sentgrid_cell.json"]
        assert sorted(r.task_name for r in results) == ["BIOSSES", "STSBenchmark"]
        for result in results:
            name = {"STSBenchmark": "STSB"}.get(result.task_name, result.task_name)
            assert result.get_score() * 100 == pytest.approx(record["metrics"][f"sts/{name}/spearman"], abs=1e-9)

    again, printed = paper_run()  # the same command again: every cell is finished, nothing is computed
    assert again == 0, printed.err[-3000:]
    jobs = [r for folder in sweeps.iterdir() for r in records_of(folder)]
    assert jobs and all(r["status"] in ("skipped", "ok") for r in jobs)
    assert printed.out.count("already finished (") == len(jobs)


def test_a_static_model_is_refused_in_one_sentence(tmp_path, paper_run):
    code, printed = paper_run(model="re")
    assert code == 2 and "model=re is not a transformer" in printed.err and "Traceback" not in printed.err
