"""The end-of-sweep summary and the sweep expansion `plan` uses, without running cells."""
import json

from sentgrid.callbacks import format_summary, summarise
from sentgrid.plan import expand
from sentgrid.pooling.primitives import PRIMITIVES


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

    report = {"estimate_encode_seconds": 700.0, "estimate_table_seconds": 100.0, "longest_pass_seconds": 300.0,
              "estimate_cells_seconds": START_SECONDS + 640}
    assert on_workers(report, 1) == 800 + 640 + START_SECONDS
    assert on_workers(report, 2) == 400 + 320 + START_SECONDS
    assert on_workers(report, 64) == 300 + 10 + START_SECONDS  # one pass is encoded by one worker


def test_plan_sizes_entries_like_the_store_writes_them_and_refuses_what_cannot_fit(minilm):
    from sentgrid.plan import entry_bytes, too_big
    from sentgrid.plan.estimate import scratch_bytes
    from sentgrid.spec import CacheSpec

    sentences = ["A man is playing a guitar.", "Two dogs run on the beach."]
    # 7 layers x 384 dims x 5 primitives per sentence, halved by float16
    assert entry_bytes(minilm, sentences, False, CacheSpec()) == 2 * 7 * 384 * len(PRIMITIVES) * 4
    assert entry_bytes(minilm, sentences, False, CacheSpec(dtype="float16")) == 2 * 7 * 384 * len(PRIMITIVES) * 2
    assert entry_bytes(minilm, sentences, True, CacheSpec()) > entry_bytes(minilm, sentences, False, CacheSpec())
    fits = {"cache_dir": "/c", "bytes": 10 * 2**30, "free": 20 * 2**30, "max_gb": None, "check_space": True}
    assert too_big({"disk": [fits]}) is None
    tight = {**fits, "free": 2**30}
    assert "about 10.00 GiB in cache.dir=/c, but only 1.00 GiB" in too_big({"disk": [tight]})
    small = {**tight, "bytes": 40 * 2**20, "free": 3 * 2**20}  # a small disk said in units that show it (not 0.0 GiB)
    assert "about 40.0 MiB in cache.dir=/c, but only 3.0 MiB are free" in too_big({"disk": [small]})
    assert "cache.check_space=false" in too_big({"disk": [tight]})
    assert too_big({"disk": [{**tight, "check_space": False}]}) is None
    # a token pass reserves its scratch (every token's state at the kept layers, float32) while it runs
    scratch = {**fits, "scratch": 15 * 2**30}
    assert "and use 15.00 GiB of scratch while a token pass runs" in too_big({"disk": [scratch]})
    assert scratch_bytes(minilm, sentences) == 7 * scratch_bytes(minilm, sentences, keep=[6]) > 0


def test_a_cells_own_cost_leaves_out_the_table_it_built():
    """plan estimates table builds from their measured speed; a finished cell that built one must not make
    every later cell of its kind look as slow (they read the stored table)."""
    from sentgrid.cells import seconds_besides_encoding

    timings = {"total": 95.0}
    b2s = {"timings": timings, "encode": {"encode_seconds": 0.0},
           "resolved": {"model": {"kind": "b2s", "table_built": True, "table_seconds": 93.0}}}
    assert seconds_besides_encoding(b2s) == 2.0
    mix = {**b2s, "resolved": {"model": {"kind": "bert_avg", "average": {"table_built": True, "table_seconds": 90.0}}}}
    assert seconds_besides_encoding(mix) == 5.0
    read = {**b2s, "resolved": {"model": {"kind": "b2s", "table_built": False, "table_seconds": 1.0}}}
    assert seconds_besides_encoding(read) == 95.0
    assert seconds_besides_encoding({"timings": timings, "encode": {"encode_seconds": 80.0}}) == 15.0


def test_a_slice_is_estimated_from_cells_of_the_same_slice_else_from_scaled_defaults():
    from sentgrid.plan.estimate import SLICE_FIXED_SECONDS, TYPICAL_ITEMS, cell_seconds
    from sentgrid.tasks import FAMILIES

    full = {"families": ["sts"], "profile": [["sts"], "minilm", False, False, None], "evaluate_seconds": 9.0}
    old = {"families": ["sts"], "profile": [["sts"], "minilm", False, False], "evaluate_seconds": 8.0}  # no slice kept
    sliced = {"families": ["sts"], "profile": [["sts"], "minilm", False, False, 200], "evaluate_seconds": 1.5}
    wanted = [["sts"], "minilm", True, False, 200]  # another profile, on the same slice
    assert cell_seconds(wanted, [full, old, sliced]) == 1.5  # not the full-data cells' 8-9 s
    assert cell_seconds([["sts"], "minilm", True, False, None], [full, old, sliced]) == 8.5
    sts = FAMILIES["sts"]  # STS's default for a cell pooled from token states, scaled to the slice
    assert cell_seconds(wanted, [full, old]) == (sts.cell_seconds + sts.token_seconds) * 200 / TYPICAL_ITEMS \
        + SLICE_FIXED_SECONDS
    assert cell_seconds([["sts"], "minilm", False, False, None], []) == sts.cell_seconds < \
        cell_seconds([["sts"], "minilm", True, False, None], [])
