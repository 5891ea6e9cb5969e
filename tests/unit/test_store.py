"""The store: hits, atomic writes, corruption, and one computation per key across processes."""
import json
import multiprocessing
import os
import shutil
import signal
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from sentgrid.pooling.primitives import MOST_PRIMITIVES, PRIMITIVES
from sentgrid.store import Encoding, EntryStore, entry_key


def store(root, dtype="float32"):
    return Encoding(EntryStore(root), dtype)


class CountingEncoder:
    """A deterministic stand-in for the model (the cache only needs identity() and encode()),
    which appends one line to `log` per encode call so tests can count forward passes."""

    label = "counting"
    primitives = PRIMITIVES

    def __init__(self, log: Path, delay: float = 0.0, dim: int = 4, layers: int = 3):
        self.log, self.delay, self.dim, self.layers = log, delay, dim, layers

    def identity(self):
        return {"model": "counting", "dim": self.dim}

    def encode(self, sentences, progress=None, token_states=None):
        with open(self.log, "a") as f:
            f.write(f"{len(sentences)}\n")
        time.sleep(self.delay)
        base = np.array([[zlib.crc32(s.encode()) % 1000 for _ in range(self.dim)] for s in sentences], dtype=np.float32)
        out = {name: np.stack([base + 10 * layer + i for layer in range(self.layers)])
               for i, name in enumerate(self.primitives)}
        return out, {"lengths": np.full(len(sentences), 5), "max_length": 4, "tokens": 4 * len(sentences)}


def calls(log: Path) -> list[int]:
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def test_hit_after_miss_and_dedup_across_requests(tmp_path):
    encoder = CountingEncoder(tmp_path / "log")
    cache = store(tmp_path / "cache")
    requests = {"a": ["x", "y", "z"], "b": ["y", "z", "w"]}
    first, stats = cache.primitives(encoder, requests, "mean_all", [0, 2])
    assert calls(tmp_path / "log") == [4]  # y and z encoded once for both datasets
    assert stats.sentences_computed == 4 and stats.entries_computed == 2 and stats.truncated == 4
    second, stats = cache.primitives(encoder, requests, "mean_all", [0, 2])
    assert calls(tmp_path / "log") == [4] and stats.sentences_computed == 0 and stats.cache_hits == 6
    for name in requests:
        np.testing.assert_array_equal(first[name], second[name])
        assert first[name].shape == (2, 3, 4)
    # Another primitive and layer are served by the same entries.
    other, stats = cache.primitives(encoder, requests, "max_content", [1])
    assert stats.sentences_computed == 0
    np.testing.assert_array_equal(other["a"][0], second["a"][0] + 13)  # layer 1 (+10), max_content (+4), not mean_all (+1)


def test_key_depends_on_identity_sentences_and_dtype():
    assert entry_key({"m": 1}, ["a", "b"]) != entry_key({"m": 2}, ["a", "b"])
    assert entry_key({"m": 1}, ["a", "b"]) != entry_key({"m": 1}, ["a", "c"])
    assert entry_key({"m": 1}, ["ab"]) != entry_key({"m": 1}, ["a", "b"])
    assert entry_key({"m": 1}, ["a"]) != entry_key({"m": 1}, ["a"], "float16")


def _corrupt_and_refetch(tmp_path, damage):
    encoder = CountingEncoder(tmp_path / "log")
    cache = store(tmp_path / "cache")
    good, _ = cache.primitives(encoder, {"a": ["x", "y"]}, "cls", [1])
    folder = cache.entries.path(entry_key(encoder.identity(), ["x", "y"]))
    damage(folder)
    again, stats = cache.primitives(encoder, {"a": ["x", "y"]}, "cls", [1])
    assert stats.entries_corrupt == 1 and stats.sentences_computed == 2
    assert calls(tmp_path / "log") == [2, 2]
    np.testing.assert_array_equal(good["a"], again["a"])
    _, stats = cache.primitives(encoder, {"a": ["x", "y"]}, "cls", [1])
    assert stats.entries_hit == 1  # the rewritten entry is trusted again


def test_truncated_entry_is_recomputed(tmp_path):
    def truncate(folder):
        path = folder / "cls.npy"
        path.write_bytes(path.read_bytes()[:-7])
    _corrupt_and_refetch(tmp_path, truncate)


def test_flipped_bytes_are_detected_by_checksum(tmp_path):
    def flip(folder):
        data = bytearray((folder / "cls.npy").read_bytes())
        data[-40] ^= 0xFF  # inside layer 1, the slab that is read
        (folder / "cls.npy").write_bytes(bytes(data))
    _corrupt_and_refetch(tmp_path, flip)


def test_unreadable_meta_is_recomputed(tmp_path):
    _corrupt_and_refetch(tmp_path, lambda folder: (folder / "meta.json").write_text("{not json"))


def test_failed_write_leaves_no_entry(tmp_path):
    entries = EntryStore(tmp_path / "cache")
    with pytest.raises((TypeError, AttributeError)):
        entries.write("ab" * 32, {"cls": np.zeros((2, 2, 2)), "bad": object()}, {}, "float32")
    assert not entries.path("ab" * 32).exists()
    assert not list((tmp_path / "cache").glob("*/.tmp-*"))


def test_float16_store_halves_size_and_stays_close(tmp_path):
    encoder = CountingEncoder(tmp_path / "log", dim=256)
    sentences = [f"s{i}" for i in range(50)]
    full, _ = store(tmp_path / "c32").primitives(encoder, {"a": sentences}, "cls", [0])
    half, _ = store(tmp_path / "c16", "float16").primitives(encoder, {"a": sentences}, "cls", [0])
    np.testing.assert_allclose(full["a"], half["a"], rtol=1e-3)
    size = lambda root: sum(p.stat().st_size for p in root.rglob("*.npy"))  # noqa: E731
    assert size(tmp_path / "c16") < 0.55 * size(tmp_path / "c32")


def _fetch_in_process(root, log, out):
    cache = store(root)
    arrays, stats = cache.primitives(CountingEncoder(Path(log), delay=1.0), {"a": ["p", "q", "r"]}, "cls", [0])
    np.save(out, arrays["a"])


def test_parallel_jobs_compute_a_key_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    jobs = [ctx.Process(target=_fetch_in_process, args=(tmp_path / "cache", tmp_path / "log", tmp_path / f"out{i}.npy"))
            for i in range(2)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(60)
        assert job.exitcode == 0
    assert calls(tmp_path / "log") == [3]
    np.testing.assert_array_equal(np.load(tmp_path / "out0.npy"), np.load(tmp_path / "out1.npy"))


def test_stale_temporaries_of_every_kind_are_removed_and_live_ones_kept(tmp_path):
    import os

    from sentgrid.store.entries import HOST

    root = tmp_path / "cache"
    dead, alive, foreign = f"{HOST}~999999999", f"{HOST}~{os.getpid()}", "otherhost~1"
    made = {
        "stale": [root / "ab" / f".tmp-{'ab' * 32}-{dead}-1", root / f".scratch-{dead}-2",
                  root / "fingerprints" / f".tag.tmp-{dead}-3", root / "cells" / "cd" / f".cd.json.tmp-{dead}-4"],
        "kept": [root / "ab" / f".tmp-{'ab' * 32}-{alive}-5", root / f".scratch-{foreign}-6"],
    }
    for path in made["stale"] + made["kept"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if "tmp-ab" in path.name or "scratch" in path.name else path.write_text("x")
    entries = EntryStore(root)
    assert sorted(entries.stale_temporaries()) == sorted(made["stale"])
    assert entries.remove_stale_temporaries() == 4
    assert all(p.exists() for p in made["kept"]) and not any(p.exists() for p in made["stale"])
    # An encode cleans up before it writes.
    (root / f".scratch-{dead}-7").mkdir()
    store(root).primitives(CountingEncoder(tmp_path / "log"), {"a": ["x"]}, "cls", [0])
    assert not (root / f".scratch-{dead}-7").exists()


# -- every byte is checked; anything unexpected at an entry's path is set aside and recomputed ---------
def test_a_changed_header_byte_is_detected(tmp_path):
    def retype(folder):
        data = (folder / "cls.npy").read_bytes()
        (folder / "cls.npy").write_bytes(data.replace(b"<f4", b"<i4", 1))
    _corrupt_and_refetch(tmp_path, retype)


def test_an_edited_meta_json_is_detected(tmp_path):
    def edit(folder):
        meta = json.loads((folder / "meta.json").read_text())
        meta["sentences"] += 1
        (folder / "meta.json").write_text(json.dumps(meta))
    _corrupt_and_refetch(tmp_path, edit)


def test_an_entry_replaced_by_a_file_is_set_aside_and_recomputed(tmp_path):
    def replace_by_file(folder):
        shutil.rmtree(folder)
        folder.write_text("not an entry")
    _corrupt_and_refetch(tmp_path, replace_by_file)


def test_a_fifo_in_place_of_an_array_does_not_hang(tmp_path):
    def fifo(folder):
        (folder / "cls.npy").unlink()
        os.mkfifo(folder / "cls.npy")
    _corrupt_and_refetch(tmp_path, fifo)


class BrokenEncoder(CountingEncoder):
    def __init__(self, log, fault):
        super().__init__(log)
        self.fault = fault

    def encode(self, sentences, progress=None, token_states=None):
        out, stats = super().encode(sentences, progress, token_states)
        if self.fault == "nan":
            out["cls"][1, 0, 0] = np.nan
        else:  # rows left unfilled
            out = {name: array[:, :-1] for name, array in out.items()}
        return out, stats


@pytest.mark.parametrize("fault,message", [("nan", "NaN or infinite"), ("rows", "rows for 3 sentences")])
def test_broken_encoder_output_is_never_stored(tmp_path, fault, message):
    from sentgrid.errors import SentgridError

    cache = store(tmp_path / "cache")
    with pytest.raises(SentgridError, match=message):
        cache.primitives(BrokenEncoder(tmp_path / "log", fault), {"a": ["x", "y", "z"]}, "cls", [1])
    assert not list((tmp_path / "cache").glob("[0-9a-f][0-9a-f]/*"))
    good, stats = cache.primitives(CountingEncoder(tmp_path / "log"), {"a": ["x", "y", "z"]}, "cls", [1])
    assert stats.sentences_computed == 3 and np.isfinite(good["a"]).all()


class InterruptedEncoder(CountingEncoder):
    """Ctrl-C during its `stop_at`-th forward pass."""

    def __init__(self, log, stop_at: int):
        super().__init__(log)
        self.stop_at, self.passes = stop_at, 0

    def encode(self, sentences, progress=None, token_states=None):
        self.passes += 1
        if self.passes == self.stop_at:
            raise KeyboardInterrupt
        return super().encode(sentences, progress, token_states)


def many(n):
    return [f"sentence number {i}" for i in range(n)]


@pytest.mark.parametrize("commit_seconds", [0.0, 3600.0])
def test_an_interrupted_encode_keeps_its_finished_pieces_and_the_next_run_computes_the_rest(tmp_path, commit_seconds):
    from sentgrid.errors import Interrupted
    from sentgrid.store.encoding import PIECE_SENTENCES

    requests = {"a": many(2500), "b": many(2600)[100:]}  # 2,600 distinct: pieces of 1,024, 1,024, 552
    cache = Encoding(EntryStore(tmp_path / "cache"), commit_seconds=commit_seconds)
    with pytest.raises(Interrupted, match=f"kept {2 * PIECE_SENTENCES:,} of 2,600 encoded sentences"):
        cache.primitives(InterruptedEncoder(tmp_path / "log", stop_at=3), requests, "cls", [0, 2])
    resumed, stats = cache.primitives(CountingEncoder(tmp_path / "log"), requests, "cls", [0, 2])
    assert calls(tmp_path / "log") == [1024, 1024, 552] and stats.sentences_computed == 552
    fresh, _ = store(tmp_path / "fresh").primitives(CountingEncoder(tmp_path / "log2"), requests, "cls", [0, 2])
    for name in requests:
        np.testing.assert_array_equal(resumed[name], fresh[name])
    # the pass's segments are gone once its entries are written
    metas = [json.loads(p.read_text()) for p in (tmp_path / "cache").glob("[0-9a-f][0-9a-f]/*/meta.json")]
    assert len(metas) == 2 and not any("partial_of" in m for m in metas)


def test_an_entry_under_another_key_is_damage_not_a_hit(tmp_path):
    """An intact entry copied onto another key (issue 24: STS14's on STS12's served 18.70 for 71.58) is set
    aside and recomputed, and `cache verify` calls it damaged."""
    from sentgrid.store.maintenance import verify_entry

    cache = store(tmp_path / "cache")
    encoder = CountingEncoder(tmp_path / "log")
    first, _ = cache.primitives(encoder, {"a": many(30), "b": many(40)[30:] + ["x", "y"]}, "cls", [1])
    key_a, key_b = (cache.key_for(encoder.identity(), s, "cls") for s in (many(30), many(40)[30:] + ["x", "y"]))
    shutil.rmtree(cache.entries.path(key_b))
    shutil.copytree(cache.entries.path(key_a), cache.entries.path(key_b))
    assert verify_entry(cache.entries, key_b) is not None and verify_entry(cache.entries, key_a) is None
    again, stats = cache.primitives(encoder, {"b": many(40)[30:] + ["x", "y"]}, "cls", [1])
    assert stats.entries_corrupt == 1 and stats.sentences_computed == 12
    np.testing.assert_array_equal(again["b"], first["b"])


def test_an_encode_interrupted_in_its_first_piece_keeps_nothing_and_says_so(tmp_path):
    """Ctrl-C before any piece is done (the model still loading, or its first 1,024 sentences): the same
    one sentence, not a crash on rows that were never allocated (issue 23)."""
    from sentgrid.errors import Interrupted

    cache = Encoding(EntryStore(tmp_path / "cache"), commit_seconds=0.0)
    with pytest.raises(Interrupted, match="kept 0 of 2,600 encoded sentences in the cache; the next run encodes only "
                                          "the other 2,600"):
        cache.primitives(InterruptedEncoder(tmp_path / "log", stop_at=1), {"a": many(2600)}, "cls", [1])
    _, stats = cache.primitives(CountingEncoder(tmp_path / "log"), {"a": many(2600)}, "cls", [1])
    assert stats.sentences_computed == 2600


class SwallowingEncoder(CountingEncoder):
    """Ctrl-C in its second pass, swallowed as Python swallows one raised in a finaliser ("Exception ignored in:
    <function Group.__del__ ...>", the `regex` package's); it goes on and advances the progress bar."""

    passes = 0

    def encode(self, sentences, progress=None, token_states=None):
        from sentgrid import interrupts

        self.passes += 1
        if self.passes == 2:
            try:
                interrupts._interrupt(signal.SIGINT, None)
            except KeyboardInterrupt:
                pass
        out = super().encode(sentences, progress, token_states)
        if progress is not None:
            progress.update(len(sentences))
        return out


def test_a_ctrl_c_a_finaliser_swallowed_still_stops_the_encode_after_its_batch(tmp_path):
    """Both make test runs at once saw it: an encode went on for minutes after its SIGINT."""
    from sentgrid import interrupts
    from sentgrid.errors import Interrupted

    cache = Encoding(EntryStore(tmp_path / "cache"), commit_seconds=0.0)
    try:
        with pytest.raises(Interrupted, match="kept 1,024 of 3,000"):
            cache.primitives(SwallowingEncoder(tmp_path / "log"), {"a": many(3000)}, "cls", [1])
    finally:
        interrupts._requested.clear()
    assert calls(tmp_path / "log") == [1024, 1024]


def test_a_damaged_segment_is_computed_again(tmp_path):
    from sentgrid.errors import Interrupted

    cache = Encoding(EntryStore(tmp_path / "cache"), commit_seconds=0.0)
    with pytest.raises(Interrupted, match="kept 2,048 of 3,000"):
        cache.primitives(InterruptedEncoder(tmp_path / "log", stop_at=3), {"a": many(3000)}, "cls", [1])
    segments = sorted((p for p in (tmp_path / "cache").glob("[0-9a-f][0-9a-f]/*/meta.json")
                       if json.loads(p.read_text())["rows"][0] == 1024), key=str)
    cls = segments[0].parent / "cls.npy"
    data = bytearray(cls.read_bytes())
    data[-1] ^= 0xFF
    cls.write_bytes(bytes(data))
    _, stats = cache.primitives(CountingEncoder(tmp_path / "log"), {"a": many(3000)}, "cls", [1])
    assert stats.sentences_computed == 3000 - 1024 and calls(tmp_path / "log") == [1024, 1024, 1024, 952]


def test_an_interrupted_token_pass_says_it_kept_nothing(tmp_path):
    from sentgrid.errors import Interrupted

    cache = store(tmp_path / "cache")
    with pytest.raises(Interrupted, match="token pass keeps nothing"):
        cache.tokens(InterruptedEncoder(tmp_path / "log", stop_at=1), {"a": many(10)}, [0])
    assert not list((tmp_path / "cache").glob(".scratch-*"))


def test_a_lock_wait_ends_with_one_sentence_naming_the_holder(tmp_path):
    from sentgrid.errors import SentgridError
    from sentgrid.store.entries import HOST

    held = EntryStore(tmp_path / "cache").acquire("ab" * 32)
    try:
        waiting = EntryStore(tmp_path / "cache", lock_timeout_s=0.3)
        with pytest.raises(SentgridError, match=f"locked by {HOST}~{os.getpid()} since .*cache.lock_timeout_s"):
            waiting.acquire("ab" * 32)
    finally:
        held.release()
    EntryStore(tmp_path / "cache", lock_timeout_s=0.3).acquire("ab" * 32).release()  # free again


def test_budget_evicts_least_recently_used_entries_but_never_the_callers_or_held_ones(tmp_path, monkeypatch, capsys):
    from sentgrid.store import budget
    from sentgrid.store.maintenance import du

    monkeypatch.setattr(budget, "GRACE_SECONDS", 0)
    encoder = CountingEncoder(tmp_path / "log", dim=64)
    entries = EntryStore(tmp_path / "cache")
    unlimited = Encoding(entries)
    for name in ("old", "used", "held"):
        unlimited.primitives(encoder, {name: [f"{name} {i}" for i in range(50)]}, "mean_all", [0])
    size = {e.key: e.bytes for e in budget.entries(entries)}
    key = {n: unlimited.key_for(encoder.identity(), [f"{n} {i}" for i in range(50)], "mean_all") for n in ("old", "used", "held")}
    for n, age in (("old", 300), ("held", 200), ("used", 100)):  # "used" is the most recently used of the three
        os.utime(entries.path(key[n]), (time.time() - age, time.time() - age))
    unlimited.primitives(encoder, {"used": [f"used {i}" for i in range(50)]}, "mean_all", [0])  # a hit touches it
    assert time.time() - entries.path(key["used"]).stat().st_mtime < 5
    lock = entries.lock(key["held"])
    lock.acquire()  # a running job computing it
    try:
        limited = Encoding(entries, max_bytes=sum(size.values()) + 1000)  # room for three
        limited.primitives(encoder, {"new": [f"new {i}" for i in range(50)]}, "mean_all", [0])
    finally:
        lock.release()
    left = {e.key for e in budget.entries(entries)}
    assert key["old"] not in left and {key["held"], key["used"]} <= left and len(left) == 3
    du(tmp_path / "cache")
    listing = capsys.readouterr().out
    assert "counting" in listing and "primitives" in listing and "new" in listing and "free on the disk" in listing


def _folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.npy"))


def test_kept_layers_store_only_those_and_an_entry_of_every_layer_serves_them(tmp_path):
    """cache.layers=requested: an entry keeps the layers asked (its key says which), reads give the same
    numbers as an entry of every layer, and an existing entry of every layer is read instead."""
    encoder, requests = CountingEncoder(tmp_path / "log", layers=5), {"a": ["x", "y", "z"]}
    narrow = store(tmp_path / "narrow")
    kept, stats = narrow.primitives(encoder, requests, "mean_all", [4], keep=[1, 4])
    assert stats.sentences_computed == 3
    again, stats = narrow.primitives(encoder, requests, "mean_all", [1, 4], keep=[1, 4])
    assert stats.sentences_computed == 0 and again["a"].shape == (2, 3, 4)
    whole = store(tmp_path / "whole")
    every, _ = whole.primitives(encoder, requests, "mean_all", [1, 4])
    np.testing.assert_array_equal(again["a"], every["a"])
    np.testing.assert_array_equal(kept["a"][0], every["a"][1])
    assert _folder_bytes(tmp_path / "narrow") < _folder_bytes(tmp_path / "whole") * 2 / 5 + 2048  # 2 of 5 layers + headers
    meta = json.loads(next((tmp_path / "narrow").glob("[0-9a-f][0-9a-f]/*/meta.json")).read_text())
    assert meta["kept_layers"] == [1, 4] and meta["shapes"]["mean_all"] == [2, 3, 4]
    # Another kept set is another entry (a forward pass again); the entry of every layer serves any set.
    _, stats = narrow.primitives(encoder, requests, "mean_all", [2], keep=[2])
    assert stats.sentences_computed == 3
    served, stats = whole.primitives(encoder, requests, "mean_all", [2], keep=[2])
    assert stats.sentences_computed == 0 and len(calls(tmp_path / "log")) == 3
    np.testing.assert_array_equal(served["a"][0], every["a"][0] + 10)  # layer 2 = layer 1 + 10


def test_a_pass_bigger_than_its_memory_bound_is_cut_in_groups_of_whole_entries(tmp_path):
    """cache.pass_memory_gb: entries are grouped so that one pass holds at most that many rows; the
    numbers equal one big pass's, and sentences two groups share are encoded once (the later group reads them
    from the earlier group's entries)."""
    class Wide(CountingEncoder):
        num_layers, hidden_size = 2, 4  # three layers of width 4, float32: 48 bytes per row and primitive

    requests = {"a": many(50), "b": many(80)[40:], "c": many(200)[150:]}  # 50 + 40 + 50 rows, 10 shared
    bounded = Encoding(EntryStore(tmp_path / "bounded"), pass_bytes=100 * 48 * MOST_PRIMITIVES)
    grouped, stats = bounded.primitives(Wide(tmp_path / "log"), requests, "cls", [0, 2])
    passes = calls(tmp_path / "log")  # any order of the entries: two passes, the 10 shared rows once
    assert len(passes) == 2 and max(passes) <= 100 and sum(passes) == stats.sentences_computed == 130
    assert stats.sentences_reused == 10
    whole, _ = store(tmp_path / "whole").primitives(Wide(tmp_path / "log2"), requests, "cls", [0, 2])
    assert calls(tmp_path / "log2") == [130]
    for name in requests:
        np.testing.assert_array_equal(grouped[name], whole[name])


# -- writing past the page cache ----------------------------------------------------------------------
def _write_pieces(path, pieces):
    from sentgrid.store.direct import DirectFile

    with DirectFile(path) as f:
        for piece in pieces:
            f.write(piece)
        return f.direct


@pytest.mark.parametrize("sizes", [[], [1], [4095], [4096], [4097], [128, 3 * 2**20, 4096, 6 * 2**20 + 5, 7]])
def test_a_direct_file_holds_exactly_the_bytes_written(tmp_path, sizes):
    rng = np.random.default_rng(len(sizes))
    pieces = [rng.integers(0, 256, size, dtype=np.uint8) for size in sizes]
    direct = _write_pieces(tmp_path / "f", [pieces[0].tobytes(), *pieces[1:]] if pieces else [])
    assert (tmp_path / "f").read_bytes() == b"".join(p.tobytes() for p in pieces)
    if hasattr(os, "O_DIRECT") and not direct:
        pytest.skip(f"{tmp_path} does not take O_DIRECT writes: only the plain path was checked")


def test_a_direct_file_falls_back_to_plain_writes(tmp_path, monkeypatch):
    """Where O_DIRECT is refused at open (EINVAL) or at the first write, the same bytes are written plainly."""
    import errno

    from sentgrid.store import direct

    data = np.arange(5 * 2**20 + 3, dtype=np.uint32).view(np.uint8)
    open_, write_ = os.open, os.write

    def refusing_open(path, flags, *args):
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return open_(path, flags, *args)

    monkeypatch.setattr(direct.os, "open", refusing_open)
    assert not _write_pieces(tmp_path / "a", [data[:100], data[100:]])
    assert (tmp_path / "a").read_bytes() == data.tobytes()
    monkeypatch.setattr(direct.os, "open", open_)
    if not hasattr(os, "O_DIRECT"):
        pytest.skip("no O_DIRECT on this OS")
    calls = []

    def refusing_write(fd, buffer):
        calls.append(len(buffer))
        if len(calls) == 2:
            raise OSError(errno.EINVAL, "Invalid argument")
        return write_(fd, buffer)

    monkeypatch.setattr(direct.os, "write", refusing_write)
    assert not _write_pieces(tmp_path / "b", [data])
    assert (tmp_path / "b").read_bytes() == data.tobytes()


def test_nothing_is_deleted_through_a_symlinked_shard_folder(tmp_path, capsys):
    """`cache/a3 -> /elsewhere` (issue 24: gc removed a folder outside the cache): gc, eviction, set_aside and
    remove leave the target alone; the link is set aside."""
    from sentgrid.store import budget
    from sentgrid.store.entries import HOST
    from sentgrid.store.maintenance import gc

    cache = store(tmp_path / "cache")
    cache.primitives(CountingEncoder(tmp_path / "log"), {"a": many(5)}, "cls", [1])
    elsewhere = tmp_path / "elsewhere"
    victim = elsewhere / ("a3" + "0" * 62)
    victim.mkdir(parents=True)
    (victim / "precious.txt").write_text("mine")
    dead = elsewhere / f".tmp-x-{HOST}~999999-abcd"  # looks like a dead writer's temporary
    dead.mkdir()
    os.utime(victim, (time.time() - 7200, time.time() - 7200))
    (tmp_path / "cache" / "a3").symlink_to(elsewhere, target_is_directory=True)
    cache.entries.remove(victim.name)
    cache.entries.set_aside(victim.name)
    (tmp_path / "cache" / "a3").unlink(missing_ok=True)
    (tmp_path / "cache" / "a3").symlink_to(elsewhere, target_is_directory=True)
    gc(tmp_path / "cache")
    budget.enforce(cache.entries, 0, set())
    assert (victim / "precious.txt").read_text() == "mine" and dead.is_dir()


def test_a_lock_never_writes_through_a_symlink(tmp_path):
    """A symlink planted as an entry's owner note or lock file (anyone who can write locks/, issue 24): the
    victim file is left as it is, and a linked lock file stops with one sentence naming it."""
    from sentgrid.errors import SentgridError

    entries = EntryStore(tmp_path / "cache")
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    (tmp_path / "cache" / "locks").mkdir(parents=True)
    (tmp_path / "cache" / "locks" / "k1.owner").symlink_to(victim)
    entries.acquire("k1").release()
    assert victim.read_text() == "mine"
    (tmp_path / "cache" / "locks" / "k2.lock").symlink_to(victim)
    with pytest.raises(SentgridError, match="k2.lock cannot be opened .* a symbolic link there is never followed"):
        entries.acquire("k2")
    assert victim.read_text() == "mine"


def test_a_shared_caches_lock_files_are_not_world_writable(tmp_path):
    """cache.mode=group made lock files 0666 (issue 24): group-writable, so members share locks, no more."""
    shared = EntryStore(tmp_path / "cache", shared=True)
    shared.acquire("k").release()
    mode = (tmp_path / "cache" / "locks" / "k.lock").stat().st_mode
    assert not mode & 0o002


def test_an_entry_evicted_while_it_is_read_is_a_miss_not_damage(tmp_path, monkeypatch, caplog):
    """A read racing an eviction (issue 24: 3,337 "corrupt; recomputing" reports under stress) is a plain
    miss: not counted as corrupt, nothing set aside, the sentences computed again."""
    cache = store(tmp_path / "cache")
    encoder = CountingEncoder(tmp_path / "log")
    cache.primitives(encoder, {"a": many(20)}, "cls", [1])
    read = EntryStore._meta

    def evicted_meanwhile(self, folder):
        shutil.rmtree(folder)  # another job's eviction, between the existence check and the read
        return read(self, folder)

    monkeypatch.setattr(EntryStore, "_meta", evicted_meanwhile)
    _, stats = cache.primitives(encoder, {"a": many(20)}, "cls", [1])
    assert stats.entries_corrupt == 0 and stats.sentences_computed == 20 and "corrupt" not in caplog.text
    assert not list((tmp_path / "cache").glob("*/.damaged-*"))


def test_published_entries_and_index_records_are_read_only(tmp_path):
    """Issue 24: nobody rewrites an entry or a finished record in place; its folder is its owner's alone."""
    from sentgrid.cells import FinishedCells

    cache = store(tmp_path / "cache")
    cache.primitives(CountingEncoder(tmp_path / "log"), {"a": many(5)}, "cls", [1])
    folders = [p for p in (tmp_path / "cache").glob("[0-9a-f][0-9a-f]/*") if not p.name.startswith(".")]
    assert folders and not any(p.stat().st_mode & 0o022 for p in folders)
    assert {oct(p.stat().st_mode & 0o777) for f in folders for p in f.iterdir()} == {"0o444"}
    record = {"tags": {"cell": "c"}, "config": {"task": {"families": ["sts"]}, "model": {"name": "m"}},
              "timings": {"total": 1.0}}
    FinishedCells(tmp_path / "cache").mark("ab" * 32, tmp_path / "result.json", record)
    FinishedCells(tmp_path / "cache").mark("ab" * 32, tmp_path / "result.json", record)  # force=true: replaced
    records = list((tmp_path / "cache" / "cells").rglob("*.json"))
    assert len(records) == 2 and {oct(p.stat().st_mode & 0o777) for p in records} == {"0o444"}


def test_an_entry_is_never_written_through_a_symlinked_shard_folder(tmp_path):
    """A link planted where an entry's shard folder goes (issue 24): the entry is written in the cache, the
    link's target gets nothing."""
    cache = store(tmp_path / "cache")
    encoder = CountingEncoder(tmp_path / "log")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "cache").mkdir(exist_ok=True)
    for shard in range(256):  # wherever the entry's key falls
        (tmp_path / "cache" / f"{shard:02x}").symlink_to(elsewhere, target_is_directory=True)
    cache.primitives(encoder, {"a": many(5)}, "cls", [1])
    written = [p for p in (tmp_path / "cache").glob("[0-9a-f][0-9a-f]/*") if not p.name.startswith(".")]
    assert list(elsewhere.iterdir()) == [] and written and not written[0].parent.is_symlink()


def test_an_entry_written_before_a_primitive_existed_is_a_miss_for_it_alone(tmp_path):
    """Adding a primitive keeps every cache (issue 25): an entry without it serves the others; asking for the new
    one recomputes that entry (not damage, nothing set aside as corrupt), and the rewritten entry holds both."""
    class Older(CountingEncoder):
        primitives = PRIMITIVES[:-1]  # as if the last primitive had been added since

    cache = store(tmp_path / "cache")
    cache.primitives(Older(tmp_path / "log"), {"a": many(6)}, "cls", [1])
    encoder = CountingEncoder(tmp_path / "log")
    _, stats = cache.primitives(encoder, {"a": many(6)}, "cls", [1])
    assert stats.sentences_computed == 0 and calls(tmp_path / "log") == [6]
    newest, stats = cache.primitives(encoder, {"a": many(6)}, PRIMITIVES[-1], [1])
    assert stats.sentences_computed == 6 and stats.entries_corrupt == 0
    again, stats = cache.primitives(encoder, {"a": many(6)}, PRIMITIVES[-1], [1])
    assert stats.sentences_computed == 0 and np.array_equal(again["a"], newest["a"])
    _, stats = cache.primitives(encoder, {"a": many(6)}, "cls", [1])
    assert stats.sentences_computed == 0 and calls(tmp_path / "log") == [6, 6]


class LengthEncoder(CountingEncoder):
    """Over the length limit: sentences longer than 17 characters (sentence number 10 and on)."""

    def encode(self, sentences, progress=None, token_states=None):
        out, encoded = super().encode(sentences, progress, token_states)
        return out, {**encoded, "lengths": np.array([len(s) for s in sentences]), "max_length": 17}


def test_a_larger_slice_encodes_only_the_sentences_no_entry_holds(tmp_path):
    """Nested slices (issue 28): rows an earlier entry of other sentences holds are read, not encoded again;
    what comes back, and what is stored, equals a cache that encoded everything."""
    log = tmp_path / "log"
    cache = store(tmp_path / "cache")
    cache.primitives(LengthEncoder(log), {"a": many(10)}, "cls", [0, 2])
    larger, stats = cache.primitives(LengthEncoder(log), {"a": many(30)}, "cls", [0, 2])
    assert calls(log) == [10, 20] and stats.sentences_computed == 20 and stats.sentences_reused == 10
    assert stats.truncated == 20  # sentence numbers 10-29: the over-length marks of reused rows come with them
    # an entry built from reused rows donates in its turn; two requests of one pass share the donors
    both, stats = cache.primitives(LengthEncoder(log), {"a": many(50), "b": many(40)[5:]}, "cls", [0, 2])
    assert calls(log) == [10, 20, 20] and stats.sentences_reused == 30
    fresh = store(tmp_path / "fresh")
    for name, sentences, got in (("a", many(30), larger["a"]), ("a", many(50), both["a"]), ("b", many(40)[5:], both["b"])):
        expected, expected_stats = fresh.primitives(LengthEncoder(tmp_path / "log2"), {name: sentences}, "cls", [0, 2])
        np.testing.assert_array_equal(got, expected[name])
        again, again_stats = cache.primitives(LengthEncoder(log), {name: sentences}, "max_all", [1])
        assert again_stats.sentences_computed == 0 and again_stats.truncated == expected_stats.truncated
        np.testing.assert_array_equal(again[name], fresh.primitives(LengthEncoder(tmp_path / "log2"), {name: sentences},
                                                                    "max_all", [1])[0][name])


def test_a_damaged_or_vanished_donor_is_no_donor(tmp_path):
    log = tmp_path / "log"
    cache = store(tmp_path / "cache")
    cache.primitives(CountingEncoder(log), {"a": many(10)}, "cls", [0])
    cache.primitives(CountingEncoder(log), {"a": many(20)[10:]}, "cls", [0])
    small = cache.entries.path(entry_key(CountingEncoder(log).identity(), many(10)))
    cls = small / "cls.npy"
    cls.chmod(0o644)
    data = bytearray(cls.read_bytes())
    data[-1] ^= 0xFF
    cls.write_bytes(bytes(data))
    shutil.rmtree(cache.entries.path(entry_key(CountingEncoder(log).identity(), many(20)[10:])))
    got, stats = cache.primitives(CountingEncoder(log), {"a": many(25)}, "cls", [0])
    assert calls(log) == [10, 10, 25] and stats.sentences_reused == 0
    expected, _ = store(tmp_path / "fresh").primitives(CountingEncoder(tmp_path / "log2"), {"a": many(25)}, "cls", [0])
    np.testing.assert_array_equal(got["a"], expected["a"])


def test_an_older_donor_gives_what_it_holds_and_the_new_entry_misses_the_rest(tmp_path):
    class Older(CountingEncoder):
        primitives = PRIMITIVES[:-1]  # as if the last primitive had been added since

    log = tmp_path / "log"
    cache = store(tmp_path / "cache")
    cache.primitives(Older(log), {"a": many(6)}, "cls", [1])
    _, stats = cache.primitives(CountingEncoder(log), {"a": many(6)[1:]}, PRIMITIVES[-1], [1])
    assert stats.sentences_reused == 0 and calls(log) == [6, 5]  # the donor lacks it: encoded
    _, stats = cache.primitives(CountingEncoder(log), {"a": many(4)}, "cls", [1])
    assert stats.sentences_reused == 4 and stats.sentences_computed == 0 and calls(log) == [6, 5]
    newest, stats = cache.primitives(CountingEncoder(log), {"a": many(4)}, PRIMITIVES[-1], [1])
    # sentences 1-3 from the second entry; sentence 0 only the older entry holds, without this primitive
    assert stats.sentences_computed == 1 and stats.sentences_reused == 3 and calls(log) == [6, 5, 1]


@pytest.mark.parametrize("template", ["none", "promptbert"])
def test_a_token_pass_reads_the_tokens_earlier_token_entries_hold(tmp_path, minilm_cfg, template):
    """Nested slices of token-level cells (issue 28): a larger slice's token pass encodes only the sentences no
    token entry (and primitive entry) holds; its token ids, [MASK] positions, states and primitives equal a cold
    pass's (states to float16's step: another batch pads differently)."""
    from sentgrid.encoders.transformer import TransformerEncoder
    from sentgrid.templates import PROMPTBERT, Template

    encoder = TransformerEncoder(minilm_cfg, PROMPTBERT if template == "promptbert" else Template("none", None),
                                 fingerprints=tmp_path / "memo")
    sentences = [f"the {word} number {i} is here" for i, word in enumerate(["cat", "dog", "tree", "a long word"] * 5)]
    cache = store(tmp_path / "cache")
    cache.tokens(encoder, {"a": sentences[:8]}, [0, 6])
    out, stats = cache.tokens(encoder, {"a": sentences}, [0, 6])
    batch, states = out["a"]
    assert stats.sentences_computed == 12 and stats.sentences_reused == 8
    cold = store(tmp_path / "cold")
    cold_batch, cold_states = cold.tokens(encoder, {"a": sentences}, [0, 6])[0]["a"]
    for name, array in cold_batch.arrays().items():
        np.testing.assert_array_equal(batch.arrays()[name], array)
    np.testing.assert_allclose(states, cold_states, rtol=2e-3, atol=2e-3)
    (small_batch, small_states), _ = cache.tokens(encoder, {"a": sentences[:8]}, [0, 6])[0]["a"], None
    held = small_batch.offsets[-1]  # the reused sentences' states are the earlier entry's, to the bit
    np.testing.assert_array_equal(states[:, :held], small_states)
    for primitive in ("cls", "mean_all"):  # the primitive entry written beside it holds the reused rows too
        ours, stats = cache.primitives(encoder, {"a": sentences}, primitive, [6])
        assert stats.sentences_computed == 0 and stats.sentences_reused == 0  # a hit
        np.testing.assert_allclose(ours["a"], cold.primitives(encoder, {"a": sentences}, primitive, [6])[0]["a"],
                                   atol=1e-5)
    # every sentence held: no forward pass at all
    _, stats = cache.tokens(encoder, {"b": sentences[4:]}, [6])
    assert stats.sentences_computed == 0 and stats.sentences_reused == 16


def test_a_token_pass_keeping_some_layers_reserves_scratch_for_those_alone(tmp_path, minilm, monkeypatch):
    """cache.layers=requested: a token pass's scratch holds the kept layers only (the paper's bert sweep reserved
    57 GB for seven layers on full data where its entries keep one); with a donor's rows, in the order asked,
    its states equal an all-layer pass's at those layers."""
    from sentgrid.store import encoding

    reserved, scratch_states = [], encoding.scratch_states

    def recording(scratch):
        allocate = scratch_states(scratch)
        return lambda layers, tokens, dim: reserved.append(layers) or allocate(layers, tokens, dim)
    monkeypatch.setattr(encoding, "scratch_states", recording)
    sentences = [f"the {word} number {i} is here" for i, word in enumerate(["cat", "dog", "tree", "a long word"] * 3)]
    narrow = store(tmp_path / "narrow")
    narrow.tokens(minilm, {"a": sentences[:6]}, [2, 6], keep=[2, 6])
    out, stats = narrow.tokens(minilm, {"a": sentences}, [6, 2], keep=[2, 6])
    assert stats.sentences_reused == 6 and stats.sentences_computed == 6 and reserved == [2, 2]
    (batch, states), = out.values()
    (whole_batch, whole), = store(tmp_path / "whole").tokens(minilm, {"a": sentences}, [6, 2])[0].values()
    assert reserved == [2, 2, 7]
    np.testing.assert_array_equal(batch.ids, whole_batch.ids)
    np.testing.assert_allclose(states, whole, rtol=2e-3, atol=2e-3)  # float16 entries; other batches pad differently


def test_a_token_donor_with_damaged_states_is_no_donor(tmp_path, minilm):
    sentences = [f"sentence {i} of the test" for i in range(12)]
    cache = store(tmp_path / "cache")
    cache.tokens(minilm, {"a": sentences[:6]}, [6])
    [donor] = [p.parent for p in (tmp_path / "cache").glob("[0-9a-f][0-9a-f]/*/states.npy")]
    states = donor / "states.npy"
    states.chmod(0o644)
    data = bytearray(states.read_bytes())
    data[-1] ^= 0xFF
    states.write_bytes(bytes(data))
    out, stats = cache.tokens(minilm, {"a": sentences}, [6])
    (batch, got) = out["a"]
    assert stats.sentences_computed == 12 and stats.sentences_reused == 0  # encoded, not a failed pass
    _, stats = cache.tokens(minilm, {"b": sentences[3:]}, [6])  # the new entry donates; the damaged one does not
    assert stats.sentences_reused == 9 and stats.sentences_computed == 0
    (cold_batch, cold), _ = store(tmp_path / "cold").tokens(minilm, {"a": sentences}, [6])[0]["a"], None
    np.testing.assert_array_equal(batch.ids, cold_batch.ids)
    np.testing.assert_allclose(got, cold, rtol=2e-3, atol=2e-3)
