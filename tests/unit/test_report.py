"""make tables / make figures: recorded results -> frames, tables, golden checks and PNGs."""
import json

import numpy as np
import pandas as pd
import pytest

from sentgrid.report.figures import write_figures
from sentgrid.report.results import load
from sentgrid.report.tables import best_table, family_table, golden, pivots, write_tables


def record(cell_id, model="minilm", postproc="none", layers=(6,), started="2026-11-26T10:00:00", family="sts",
           metrics=None, weighting="none", w=None, status="ok"):
    model_cfg = {"name": model, "path": "/m"} | ({"w": w} if w is not None else {})
    return {"status": status, "cell_id": cell_id,
            "config": {"model": model_cfg, "pooling": {"name": "avg", "special_tokens": "include",
                                                      "weighting": weighting, "bias_removal": "none"},
                       "template": {"name": "none"}, "postproc": {"name": postproc},
                       "task": {"families": [family], "sts": {"text_variant": "raw", "sick_split": "all"}},
                       "tracking": {"experiment": "sentgrid"}},
            "resolved": {"layers": list(layers) if layers != "n/a" else "n/a", "template": {"name": "none"},
                         "postproc_fit_on": "task" if postproc != "none" else "n/a"},
            "metrics": metrics or {}, "tags": {"started_at": started, "sweep_dir": "s", "cell": cell_id}}


def write(folder, records):
    for i, rec in enumerate(records):
        (folder / str(i)).mkdir(parents=True)
        (folder / str(i) / "result.json").write_text(json.dumps(rec))


@pytest.fixture
def results(tmp_path):
    write(tmp_path / "sweep", [
        record("a", metrics={"sts/STS12/spearman": 70.0, "sts/STSB/spearman": 80.0}),
        record("b", postproc="whiten", metrics={"sts/STS12/spearman": 60.0, "sts/STSB/spearman": 66.0}),
        record("c", model="re", layers="n/a", metrics={"sts/STS12/spearman": 50.0}),  # STSB missing
        record("a", started="2026-11-26T11:00:00", metrics={"sts/STS12/spearman": 71.0, "sts/STSB/spearman": 81.0}),
        record("d", status="failed"),
    ])
    return load("records", sweeps=[str(tmp_path / "sweep")])


def test_table_from_known_records_equals_the_expected_frame(results):
    assert results.duplicates == 1 and len(results.frame) == 3
    table = family_table(results.frame, "sts")
    expected = pd.DataFrame({"model": ["minilm", "minilm", "re"], "layer": ["6", "6", "n/a"],
                             "postproc": ["none", "whiten", "none"], "fit_on": ["n/a", "task", "n/a"],
                             "STS12": [71.0, 60.0, 50.0], "STSB": [81.0, 66.0, np.nan], "avg": [76.0, 63.0, np.nan]})
    pd.testing.assert_frame_equal(table, expected)


def test_missing_cells_show_as_missing_and_are_never_averaged(results, tmp_path):
    files = write_tables(results, tmp_path / "tables")
    markdown = (tmp_path / "tables" / "sts.md").read_text()
    re_row = next(line for line in markdown.splitlines() if "| re " in line)
    assert re_row.rstrip(" |").endswith("-") and "50.00" in re_row
    best = best_table(results.frame)
    assert list(best["model"]) == ["minilm"]  # re has no complete average
    assert {p.name for p in files} >= {"sts.md", "sts.tex", "sts.csv", "best.md", "README.md"}
    assert "nan" not in markdown and "-" in (tmp_path / "tables" / "sts.tex").read_text()


def test_pivot_and_golden_lines(results):
    pivot = pivots(results.frame)["sts minilm"]
    assert pivot.loc["avg", "none"] == 76.0 and pivot.loc["avg", "whiten"] == 63.0
    lines = golden(results.frame)
    assert any("bert-base" in line and "skipped" in line for line in lines)


def with_corpus(rec, **task):
    rec["config"]["corpus"] = {"source": "file", "path": "/data/corpus.txt"}
    rec["config"]["task"]["sts"].update(task)
    return rec


def test_look_alike_rows_are_told_apart_by_the_setting_that_differs(tmp_path):
    write(tmp_path / "s", [
        with_corpus(record("a", metrics={"sts/STSB/spearman": 80.0})),
        with_corpus(record("b", metrics={"sts/STSB/spearman": 79.0}), text_variant="senteval"),
        with_corpus(record("c", metrics={"sts/STSB/spearman": 78.0})),  # same settings, other data: cell id
    ])
    table = family_table(load("records", sweeps=[str(tmp_path / "s")]).frame, "sts")
    assert list(table.columns) == ["model", "task.sts.text_variant", "cell", "STSB", "avg"]
    assert sorted(zip(table["task.sts.text_variant"], table["cell"])) == [("raw", "a"), ("raw", "c"), ("senteval", "b")]


def test_without_outputs_a_tie_as_printed_goes_to_the_simpler_configuration(tmp_path):
    write(tmp_path / "s", [record("n", postproc="normalize", metrics={"sts/STSB/spearman": 80.001}),
                           record("p", postproc="none", metrics={"sts/STSB/spearman": 80.0}),
                           record("w", postproc="whiten", metrics={"sts/STSB/spearman": 70.0})])
    best = best_table(load("records", sweeps=[str(tmp_path / "s")]).frame)
    assert best.loc[0, "configuration"] == "postproc=none" and best.loc[0, "tied with it"] == "postproc=normalize"
    assert best.loc[0, "tie rule"] == "as printed (no outputs)"


def test_latex_is_escaped_captioned_bolds_the_best_and_compiles(tmp_path, results):
    import shutil
    import subprocess

    frame = results.frame.copy()
    frame["template"] = ["prompt_a&b", "50%_off", "none"]
    write_tables(type(results)(frame, "records", 0), tmp_path / "tables")
    tex = (tmp_path / "tables" / "sts.tex").read_text()
    assert r"prompt\_a\&b" in tex and r"50\%\_off" in tex and r"fit\_on" in tex
    assert r"\caption{sts: spearman" in tex and r"\label{tab:sts}" in tex
    assert r"\textbf{76.00}" in tex and r"\textbf{63.00}" not in tex  # the best average, and only it
    pivot = next((tmp_path / "tables").glob("pivot_*.tex")).read_text()
    assert r"\textbf{" in pivot and r"\label{tab:pivot" in pivot
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex is not installed: escaping checked, compiling not")
    document = ("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                + "\n".join(p.read_text() for p in sorted((tmp_path / "tables").glob("*.tex"))) + "\\end{document}\n")
    (tmp_path / "doc.tex").write_text(document)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    if "booktabs.sty' not found" in done.stdout:
        pytest.skip("pdflatex lacks booktabs (texlive-latex-recommended): escaping checked, compiling not")
    assert done.returncode == 0, done.stdout[-3000:]


def test_make_tables_clears_what_it_wrote_before(tmp_path, results):
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "pivot_sts_minilm_layer_3.md").write_text("stale")
    (folder / "notes.txt").write_text("mine")
    write_tables(results, folder)
    assert not (folder / "pivot_sts_minilm_layer_3.md").exists() and (folder / "notes.txt").exists()


def test_golden_minilm_row_reports_the_distance(tmp_path):
    values = {"STS12": 72.37, "STS13": 80.60, "STS14": 75.60, "STS15": 85.39, "STS16": 78.99, "STSB": 82.03,
              "SICK-R": 77.58, "BIOSSES": 81.25}
    metrics = {f"sts/{k}/spearman": v + 0.5 for k, v in values.items()}
    rec = record("m", metrics=metrics)
    rec["config"]["pooling"]["special_tokens"] = "include"
    write(tmp_path / "s", [rec])
    line = [x for x in golden(load("records", sweeps=[str(tmp_path / "s")]).frame) if "MiniLM" in x][0]
    assert "max |diff| 0.50" in line


def test_skipped_cells_stand_for_their_earlier_record(tmp_path):
    write(tmp_path / "first", [record("a", metrics={"sts/STS12/spearman": 70.0})])
    skipped = {"status": "skipped", "cell_id": "a", "previous": str(tmp_path / "first" / "0" / "result.json"),
               "tags": {"sweep_dir": "again", "cell": "a"}}
    write(tmp_path / "again", [skipped])
    frame = load("records", sweeps=[str(tmp_path / "again")]).frame
    assert list(frame["sts/STS12/spearman"]) == [70.0]


def test_figures_from_records(tmp_path):
    rows = []
    rng = np.random.default_rng(0)
    for i, (layer, w) in enumerate([(layer, w) for layer in range(3) for w in (0, 0.5, 1)]):
        metrics = {"sts/STS12/spearman": 50 + layer + w, "sts/STSB/spearman": 60 + layer - w,
                   "diagnostics/isoscore": float(rng.uniform(0, 1)), "diagnostics/alignment": float(rng.uniform()),
                   "diagnostics/uniformity": -float(rng.uniform(1, 3))}
        rows.append(record(f"x{i}", model="bert_avg", w=w, layers=(layer,), metrics=metrics))
    for i, layer in enumerate([(0,), (1,), (2,), (1, 2)]):
        rows.append(record(f"l{i}", layers=layer, metrics={"sts/STS12/spearman": 40.0 + i, "sts/STSB/spearman": 50.0}))
    write(tmp_path / "s", rows)
    frame = load("records", sweeps=[str(tmp_path / "s")]).frame
    written, skipped = write_figures(frame, tmp_path / "figures")
    names = {p.name for p in written}
    assert {"fig0_cells.png", "fig1_isoscore_sts.png", "fig3_alignment_uniformity.png", "fig4_layers.png",
            "fig5_bert_avg.png"} <= names
    assert skipped == ["fig2_isoscore_clustering.png: skipped, the results have no cells with diagnostics and "
                       "clustering; feed it with: python -m sentgrid -m +experiment=isotropy"]
    assert all(p.stat().st_size > 10_000 for p in written)


def test_slices_and_full_data_never_share_a_table_or_a_best(tmp_path):
    """A 300-pair slice scores higher on STSB than the full data here: its row must not stand beside the
    full-data rows, nor be bolded as their best (issue 23); it gets a folder of its own."""
    from sentgrid.report.__main__ import main

    sliced = record("s", metrics={"sts/STS12/spearman": 90.0, "sts/STSB/spearman": 95.0})
    sliced["config"]["task"]["max_items"] = 300
    write(tmp_path / "sweep", [record("f", metrics={"sts/STS12/spearman": 70.0, "sts/STSB/spearman": 80.0}),
                               record("g", postproc="whiten", metrics={"sts/STS12/spearman": 60.0,
                                                                       "sts/STSB/spearman": 66.0}), sliced])
    (tmp_path / "out" / "tables" / "slice-40").mkdir(parents=True)  # a slice of an earlier report: cleared
    assert main(["all", "--sweep", str(tmp_path / "sweep"), "--out", str(tmp_path / "out")]) == 0
    full, part = tmp_path / "out" / "tables", tmp_path / "out" / "tables" / "slice-300"
    assert "95.00" not in (full / "sts.md").read_text() and "80.00" in (full / "sts.md").read_text()
    assert r"\textbf{95.00}" not in (full / "sts.tex").read_text() and "max_items" not in (full / "sts.md").read_text()
    assert "95.00" in (part / "sts.md").read_text() and "80.00" not in (part / "sts.md").read_text()
    assert (part / "README.md").read_text().startswith("# Tables (a slice of 300 items per dataset")
    assert not (full / "slice-40").exists() and (tmp_path / "out" / "figures" / "slice-300" / "fig0_cells.png").exists()


def test_pivot_rows_read_as_labels_not_tuples(tmp_path):
    write(tmp_path / "s", [record(f"c{i}", postproc=p, weighting=w, metrics={"sts/STSB/spearman": 70.0 + i})
                           for i, (p, w) in enumerate([("none", "none"), ("whiten", "none"), ("none", "idf_task")])])
    frame = load("records", sweeps=[str(tmp_path / "s")]).frame
    frame.loc[0, "template"] = "promptbert"  # two templates: a second row level
    write_tables(type(load("records", sweeps=[str(tmp_path / "s")]))(frame, "records", 0), tmp_path / "t")
    markdown = (tmp_path / "t" / "pivot_sts_minilm.md").read_text()
    assert "('" not in markdown and "| template   | pooling" in markdown and "avg+idf_task" in markdown
    assert "variant" not in (tmp_path / "t" / "pivot_sts_minilm.tex").read_text()


def test_an_axis_another_determines_has_no_effect_of_its_own():
    from sentgrid.report.effects import independent

    cells = pd.DataFrame({"weighting": ["none", "idf", "none", "idf"], "postproc": ["none", "none", "whiten", "whiten"],
                          "fit_on": ["n/a", "n/a", "task", "task"]})
    assert independent(["weighting", "postproc", "fit_on"], cells) == ["weighting", "postproc"]
