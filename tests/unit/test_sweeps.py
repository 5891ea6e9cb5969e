"""The end-of-sweep summary and the sweep expansion `plan` uses, without running cells."""
import json

from sentgrid.callbacks import format_summary, summarise
from sentgrid.plan import expand


def test_summary_counts_statuses(tmp_path):
    for job, record in enumerate([{"status": "ok"}, {"status": "failed", "error": "boom"}, None]):
        (tmp_path / str(job)).mkdir()
        if record:
            (tmp_path / str(job) / "result.json").write_text(json.dumps({**record, "tags": {"cell": f"c{job}"}}))
    summary = summarise(tmp_path)
    assert [len(summary[k]) for k in ("ok", "skipped", "failed", "missing")] == [1, 0, 1, 1]
    assert "failed #1 c1: boom" in format_summary(summary)


def test_expand_follows_hydra_sweeps():
    cells = expand(["model=re,glove", "postproc=none,whiten", "layer=last"])
    assert len(cells) == 4 and ["model=re", "postproc=none", "layer=last"] in cells


def test_a_sweep_on_more_workers_is_bounded_by_its_longest_pass():
    from sentgrid.plan import START_SECONDS, on_workers

    report = {"estimate_encode_seconds": 800.0, "longest_pass_seconds": 300.0, "estimate_cells_seconds": START_SECONDS + 640}
    assert on_workers(report, 1) == 800 + 640 + START_SECONDS
    assert on_workers(report, 2) == 400 + 320 + START_SECONDS
    assert on_workers(report, 64) == 300 + 10 + START_SECONDS  # one pass is encoded by one worker
