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
    pivot = pivots(results.frame)["sts minilm layer=6"]
    assert pivot.loc["avg", "none"] == 76.0 and pivot.loc["avg", "whiten"] == 63.0
    lines = golden(results.frame)
    assert any("bert-base" in line and "skipped" in line for line in lines)


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
    assert {"fig1_isoscore_sts.png", "fig3_alignment_uniformity.png", "fig4_layers.png", "fig5_bert_avg.png"} <= names
    assert any("fig2" in line for line in skipped)
    assert all(p.stat().st_size > 10_000 for p in written)
