"""Nothing lost, nothing silently wrong: records, the data a finished cell was computed on, tracking
that is down or slow, unwritable caches, damaged records."""
import json
import shutil
import time

from sentgrid.cells import cell_id
from sentgrid.store.entries import _meta_crc

SMALL = ("task.sts.datasets=[BIOSSES]", "task.max_items=30")


def test_a_rerun_into_the_same_job_folder_keeps_the_record(tmp_path, sentgrid_cli):
    first = sentgrid_cli(*SMALL)
    assert first.returncode == 0, first.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    again = sentgrid_cli(*SMALL)
    assert again.returncode == 0 and "already finished" in again.stdout
    assert json.loads((tmp_path / "run" / "result.json").read_text()) == record  # never replaced by a stub
    (tmp_path / "run" / "result.json").unlink()  # even with its result.json gone the cell's record is kept
    skipped = sentgrid_cli(*SMALL)
    stub = json.loads((tmp_path / "run" / "result.json").read_text())
    assert skipped.returncode == 0 and stub["status"] == "skipped"
    assert json.loads(open(stub["previous"]).read())["record"]["metrics"] == record["metrics"]


def test_a_finished_cell_does_not_stand_for_edited_data(tmp_path, data_root, compose_cell):
    root = tmp_path / "data"
    shutil.copytree(data_root / "biosses", root / "biosses")
    before = cell_id(compose_cell(f"data.root={root}", *SMALL))
    assert cell_id(compose_cell(f"data.root={root}", *SMALL)) == before
    gold = root / "biosses" / "biosses.tsv"
    lines = gold.read_text().split("\n")
    fields = lines[1].split("\t")
    fields[8] = "0.0" if fields[8] != "0.0" else "4.0"
    gold.write_text("\n".join([lines[0], "\t".join(fields), *lines[2:]]))
    assert cell_id(compose_cell(f"data.root={root}", *SMALL)) != before


def test_an_unreachable_tracking_server_costs_seconds_and_loses_nothing(tmp_path, sentgrid_cli):
    started = time.perf_counter()
    run = sentgrid_cli(*SMALL, "tracking.timeout_s=2", uri="http://127.0.0.1:9")
    assert run.returncode == 0, run.stderr[-3000:]
    assert time.perf_counter() - started < 120  # was 763 s with MLflow's default retries
    assert json.loads((tmp_path / "run" / "result.json").read_text())["status"] == "ok"
    assert "replay it with" in run.stdout + run.stderr


def test_an_unwritable_cache_stops_with_one_sentence(tmp_path, sentgrid_cli):
    run = sentgrid_cli(*SMALL, "cache.dir=/proc/sentgrid-cache")
    assert run.returncode == 2 and "cache.dir=/proc/sentgrid-cache cannot be written" in run.stderr
    assert "Traceback" not in run.stderr


def test_replay_passes_over_a_damaged_record(tmp_path, sentgrid_cli):
    run = sentgrid_cli("-m", "postproc=none,zscore", *SMALL, "tracking.enabled=false")
    assert run.returncode == 0, run.stderr[-3000:]
    (tmp_path / "sweep" / "0" / "result.json").write_text('{"status": "ok", "met')  # truncated
    from sentgrid.tracking import replay
    assert replay(tmp_path / "sweep", f"sqlite:///{tmp_path / 'replayed.db'}", "sentgrid") == 1


def test_cache_verify_finds_damage_and_gc_keeps_what_finished_cells_use(tmp_path, sentgrid_cli):
    import os
    import subprocess
    import sys

    assert sentgrid_cli(*SMALL).returncode == 0
    cache = tmp_path / "cache"

    def cache_command(*args):
        return subprocess.run([sys.executable, "-m", "sentgrid", "cache", *args, "--dir", str(cache)],
                              capture_output=True, text=True)

    entries = sorted(p for p in cache.glob("[0-9a-f][0-9a-f]/*") if not p.name.startswith("."))
    assert len(entries) == 1 and cache_command("verify").returncode == 0
    used = entries[0]
    unused = cache / "ff" / ("f" * 64)  # an entry no finished cell recorded, written two hours ago
    shutil.copytree(used, unused)
    meta = json.loads((unused / "meta.json").read_text())  # an intact entry of its own key
    meta["key"] = unused.name
    meta["meta_crc32"] = _meta_crc(meta)
    (unused / "meta.json").write_text(json.dumps(meta))
    os.utime(unused, (time.time() - 7200, time.time() - 7200))
    [listed] = cache.glob(f"donors/*/{used.name}")  # the entry is listed as a donor of its encoder's rows
    (listed.parent / unused.name).touch()
    array = next(used.glob("*.npy"))
    array.write_bytes(array.read_bytes()[:-3])
    found = cache_command("verify")
    assert found.returncode == 1 and f"damaged entry {used.name[:16]}" in found.stdout
    assert cache_command("verify", "--fix").returncode == 0 and cache_command("verify").returncode == 0
    assert not used.exists() and list(cache.glob("*/.damaged-*"))
    assert sentgrid_cli(*SMALL, "force=true").returncode == 0 and used.exists()  # recomputed
    collected = cache_command("gc")
    assert collected.returncode == 0 and "1 unused entries" in collected.stdout, collected.stdout
    assert not unused.exists() and used.exists() and not list(cache.glob("*/.damaged-*"))
    assert listed.exists() and not (listed.parent / unused.name).exists()  # its listing went with it
