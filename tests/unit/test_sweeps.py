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
