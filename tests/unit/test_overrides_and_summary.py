"""No silent no-ops, and what a person reads at the end of a sweep."""
import json

import pytest

from sentgrid.errors import SentgridError
from sentgrid.help import text as help_text
from sentgrid.overrides import check_added_keys
from sentgrid.summary import comparison


@pytest.mark.parametrize("override,choices,message", [
    ("+layer.index=3", {"layer": "last"}, "layer.index is not read by layer=last, so +layer.index=3 would change "
                                          "nothing; it is read by layer=index: for example layer=index layer.index=3."),
    ("+model.w=0.3", {"model": "minilm"}, "it is read by model=bert_avg"),
    ("+pooling.median=1", {"pooling": "avg"}, "no pooling option reads it"),
])
def test_an_added_value_the_option_does_not_read_is_refused(override, choices, message):
    with pytest.raises(SentgridError, match=message.replace("+", r"\+").replace(".", r"\.")):
        check_added_keys([override], choices)


def test_values_the_option_reads_pass():
    check_added_keys(["+layer.index=3", "++model.epochs=2", "+experiment=main_table", "pooling=max"],
                     {"layer": "index", "model": "b2s-100", "experiment": "main_table", "pooling": "max"})


def test_help_names_groups_choices_presets_and_subcommands():
    text = help_text()
    for expected in ("pooling   avg*, avg_content, cls, lasttoken", "plan -m SWEEP", "cache verify", "data check",
                     "tracking replay", "main_table", "--hydra-help"):
        assert expected in text


def test_sweep_comparison_ranks_cells_and_shows_skipped_ones_with_their_stored_scores(tmp_path):
    def record(spearman, cell):
        return {"status": "ok", "config": {"task": {"families": ["sts"]}}, "tags": {"cell": cell},
                "metrics": {"sts/avg/spearman": spearman, "sts/avg/pearson": spearman + 1}}
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"record": record(80.0, "pooling=max,task.max_items=9")}))
    jobs = [record(70.0, "pooling=avg,task.max_items=9"),
            {"status": "skipped", "previous": str(index), "tags": {"cell": "pooling=max,task.max_items=9"}},
            {"status": "failed", "error": "boom", "tags": {"cell": "pooling=cls,task.max_items=9"}}]
    for number, job in enumerate(jobs):
        (tmp_path / str(number)).mkdir()
        (tmp_path / str(number) / "result.json").write_text(json.dumps(job))
    lines = comparison(tmp_path).splitlines()
    assert lines[1] == "every cell: task.max_items=9"
    rows = [line for line in lines if "pooling=" in line]
    assert rows[0].startswith(" *") and "pooling=max" in rows[0] and "80.00" in rows[0] and rows[0].endswith("skipped")
    assert "pooling=avg" in rows[1] and "70.00" in rows[1] and len(rows) == 2


def test_a_sweep_over_families_gets_one_ranked_block_per_family(tmp_path):
    def record(family, metric, value, cell):
        return {"status": "ok", "config": {"task": {"families": [family]}}, "tags": {"cell": cell},
                "metrics": {f"{family}/avg/{metric}": value}, "intervals": {f"{family}/avg/{metric}": [value - 1, value + 1]}}
    jobs = [record("sts", "spearman", 79.0, "task=sts,postproc=none"), record("clustering", "accuracy", 65.0,
            "task=clustering,postproc=none"), record("sts", "spearman", 75.0, "task=sts,postproc=whiten"),
            record("clustering", "accuracy", 42.0, "task=clustering,postproc=whiten")]
    for number, job in enumerate(jobs):
        (tmp_path / str(number)).mkdir()
        (tmp_path / str(number) / "result.json").write_text(json.dumps(job))
    text = comparison(tmp_path)
    sts, clustering = text.split("clustering accuracy")
    assert "sts spearman" in sts and "[78.00, 80.00]" in sts and "[74.00, 76.00]" in sts and "65.00" not in sts
    assert "[64.00, 66.00]" in clustering and "[41.00, 43.00]" in clustering and "79.00" not in clustering
    assert [line.split()[:2] for line in clustering.splitlines()[1:3]] == [["*", "1"], ["3", "task=clustering,postproc=whiten"]]


def test_a_tracking_uri_mlflow_cannot_use_is_resolved_or_refused_in_one_sentence(tmp_path, monkeypatch):
    from sentgrid.tracking import main, resolve_uri

    monkeypatch.chdir(tmp_path)
    assert resolve_uri("sqlite:///../x.db") == f"sqlite:///{tmp_path.parent / 'x.db'}"
    assert resolve_uri("sqlite:////abs/m.db") == "sqlite:////abs/m.db" and resolve_uri("http://h:5055") == "http://h:5055"
    for uri in ("file:///tmp/mlruns", "mlruns"):
        with pytest.raises(SentgridError, match="MLflow 3 no longer keeps runs in"):
            resolve_uri(uri)
    (tmp_path / "sweep").mkdir()
    assert main(["replay", str(tmp_path / "sweep"), "--uri", f"sqlite:///{tmp_path / 'm.db'}"]) == 0
    with pytest.raises(SystemExit):
        main(["replay", str(tmp_path / "nowhere")])


def test_cells_scored_on_different_slices_are_ranked_apart(tmp_path):
    def record(value, items, cell):
        task = {"families": ["sts"], "max_items": items, "slice": "nested" if items else "evenly"}
        return {"status": "ok", "config": {"task": task}, "tags": {"cell": cell}, "metrics": {"sts/avg/spearman": value}}
    jobs = [record(90.0, 20, "pooling=max,task.max_items=20"), record(70.0, 20, "pooling=avg,task.max_items=20"),
            record(60.0, None, "pooling=max,task.max_items=null"), record(80.0, None, "pooling=avg,task.max_items=null")]
    for number, job in enumerate(jobs):
        (tmp_path / str(number)).mkdir()
        (tmp_path / str(number) / "result.json").write_text(json.dumps(job))
    small, full = comparison(tmp_path).split("on full:")
    assert "on nested-20:" in small and "90.00" in small and "80.00" not in small
    rows = [line for line in full.splitlines() if "pooling=" in line]
    assert rows[0].startswith(" *") and "80.00" in rows[0] and "60.00" in rows[1]  # the best of its own slice


def test_a_run_name_starts_with_what_the_cell_computes_not_how_it_ran():
    from sentgrid.tracking import run_name

    config = {"model": {"name": "minilm"}, "pooling": {"name": "avg"}, "postproc": {"name": "none"},
              "task": {"families": ["sts"]}}
    cell = "cache.layers=requested,layer.layers=[1,6],+tracking.tags.rung=2,task.max_items=100"
    name = run_name({"config": config, "resolved": {"layers": [1, 6]}, "cell_id": "abcdef123",
                     "tags": {"cell": cell}})
    assert name == "layer.layers=[1,6] task.max_items=100 · minilm·L1+6·avg·none·sts·abcdef"
