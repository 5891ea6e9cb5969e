"""A content-addressed, on-disk store of encoder output.

An *entry* holds the pooling primitives of one list of sentences (one dataset, or the corpus) for one
encoder identity: `<root>/<key[:2]>/<key>/` with one `<primitive>.npy` of shape [layers+1, n, dim]
(a layer is one contiguous slab, so a cell reads only the layers it uses) and `meta.json` with the
shapes and a CRC32 of every slab. The key hashes the encoder identity and the sentences.

A *token entry* (only when a cell needs token-level pooling: weighting, bias removal, BERT + Avg.)
holds `states.npy` [layers+1, T, dim] with the token ids and sentence offsets. *Tables* (Avg.,
B2S) are stored the same way under the hash of what built them.

* Writes are atomic: an entry is built in a temporary folder and renamed into place.
* A lock per key: parallel jobs that need the same key wait for the one computing it.
* A truncated or corrupt entry (missing file, wrong size, CRC mismatch, unreadable meta) is removed
  and recomputed, never trusted.
* Misses of one request are encoded together, each distinct sentence once.
"""
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
from filelock import FileLock

from .errors import choice_error
from .tokens import TokenBatch

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
TOKENS = "tokens"  # the entry kind holding per-token states (weighting, mixes)


class CorruptEntry(Exception):
    pass


STORE_DTYPES = ("float32", "float16")


def entry_key(identity: dict, sentences: list[str], store_dtype: str = "float32") -> str:
    header = {"format": FORMAT_VERSION, "encoder": identity, "store_dtype": store_dtype}
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for sentence in sentences:
        digest.update(b"\0" + sentence.encode("utf-8"))
    return digest.hexdigest()


def _crc(array: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).data)


class RecentSlabs:
    """A least-recently-used store of slabs read in this process, up to `budget` bytes."""

    def __init__(self, budget: int):
        self.budget, self.used = budget, 0
        self.slabs: OrderedDict = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key):
        slab = self.slabs.get(key)
        if slab is None:
            self.misses += 1
            return None
        self.hits += 1
        self.slabs.move_to_end(key)
        return slab

    def put(self, key, slab: np.ndarray) -> None:
        if slab.nbytes > self.budget:
            return
        slab.flags.writeable = False  # shared between cells: nobody may change it in place
        self.slabs[key] = slab
        self.used += slab.nbytes
        while self.used > self.budget:
            _, old = self.slabs.popitem(last=False)
            self.used -= old.nbytes


RECENT = RecentSlabs(int(float(os.environ.get("SENTGRID_MEMORY_CACHE_GB", "2")) * 2**30))


class LayerGather:
    """Rows `positions` of a [layers, rows, dim] array, one layer at a time (no full copy)."""

    def __init__(self, array, positions: np.ndarray):
        self.array, self.positions = array, positions
        self.shape = (array.shape[0], len(positions), array.shape[2])
        self.ndim, self.dtype = 3, array.dtype

    def __getitem__(self, layer: int) -> np.ndarray:
        return np.asarray(self.array[layer][self.positions])


class EncodingCache:
    """`store_dtype` float16 halves the disk size (cosines move by ~1e-4) for big models. Token entries
    (`token_dtype`) are float16 by default: they hold every token's state at every layer (~11 kB per
    token for MiniLM in float32), and token-level pooling averages them anyway."""

    def __init__(self, root: str | Path, store_dtype: str = "float32", token_dtype: str = "float16"):
        if store_dtype not in STORE_DTYPES:
            raise choice_error("cache.dtype", store_dtype, STORE_DTYPES)
        if token_dtype not in STORE_DTYPES:
            raise choice_error("cache.token_dtype", token_dtype, STORE_DTYPES)
        self.token_dtype = token_dtype
        self.root = Path(root)
        self.store_dtype = store_dtype

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    # -- reading ------------------------------------------------------------------------------------
    def _meta(self, folder: Path) -> dict:
        meta = json.loads((folder / "meta.json").read_text())
        if meta["format"] != FORMAT_VERSION:
            raise CorruptEntry(f"format {meta['format']} != {FORMAT_VERSION}")
        return meta

    def read(self, key: str, primitive: str, layers: list[int]) -> tuple[np.ndarray, dict] | None:
        """[len(layers), n, dim] of the layered array `primitive` at `layers`, and the entry's meta; None if absent.

        Raises CorruptEntry when the entry exists but cannot be trusted."""
        folder = self.path(key)
        if not folder.exists():
            return None
        try:
            meta = self._meta(folder)
            if primitive not in meta["primitives"]:
                raise CorruptEntry(f"entry lacks primitive {primitive!r}")
            array = np.load(folder / f"{primitive}.npy", mmap_mode="r")
            if list(array.shape) != meta.get("shapes", {}).get(primitive, meta["shape"]):
                raise CorruptEntry(f"shape {array.shape} does not match meta.json")
            stat = (folder / f"{primitive}.npy").stat()
            slabs = []
            for layer in layers:
                # Cells of one process (a sweep) often read the same slab: keep recent ones, keyed by the
                # file's size and mtime so a rewritten or damaged file is read (and checked) again.
                memo_key = (str(folder), primitive, layer, stat.st_size, stat.st_mtime_ns)
                slab = RECENT.get(memo_key)
                if slab is None:
                    slab = np.array(array[layer])
                    if _crc(slab) != meta["crc32"][primitive][layer]:
                        raise CorruptEntry(f"checksum mismatch in {primitive} layer {layer}")
                    RECENT.put(memo_key, slab)
                slabs.append(slab)
            return np.stack(slabs).astype(np.float32), meta
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"{type(exc).__name__}: {exc}") from exc

    def read_whole(self, key: str, names: list[str] | None = None) -> dict[str, np.ndarray] | None:
        """Whole arrays of an entry (all of them when `names` is None), checksums verified; None if absent."""
        folder = self.path(key)
        if not folder.exists():
            return None
        try:
            meta = self._meta(folder)
            out = {}
            for name in names or meta["arrays"]:
                if name not in meta["arrays"]:
                    continue
                array = np.load(folder / f"{name}.npy")
                crc = meta["crc32"][name]
                found = [_crc(a) for a in array] if isinstance(crc, list) else _crc(array)
                if found != crc:
                    raise CorruptEntry(f"checksum mismatch in {name}")
                out[name] = array
            return out
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"{type(exc).__name__}: {exc}") from exc

    # -- writing ------------------------------------------------------------------------------------
    def write(self, key: str, arrays: dict[str, np.ndarray], meta: dict, dtype: str | None = None) -> None:
        """Write an entry atomically. 3-d float arrays are *layered* ([layers, rows, dim], stored in the
        store dtype, a checksum per layer); anything else (token ids, offsets, counts) is kept as it is."""
        final = self.path(key)
        tmp = final.parent / f".tmp-{key}-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            crcs, shapes, layered = {}, {}, []
            for name, array in arrays.items():
                if array.ndim == 3 and np.issubdtype(array.dtype, np.floating):
                    # Layer by layer, so a big token entry never has to sit in memory at once.
                    out = np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=dtype or self.store_dtype,
                                                    shape=tuple(array.shape))
                    crcs[name] = []
                    for layer in range(array.shape[0]):
                        out[layer] = array[layer]
                        crcs[name].append(_crc(out[layer]))
                    out.flush()
                    del out
                    layered.append(name)
                else:
                    array = np.ascontiguousarray(array)
                    crcs[name] = _crc(array)
                    np.save(tmp / f"{name}.npy", array)
                shapes[name] = list(array.shape)
            meta = {**meta, "format": FORMAT_VERSION, "shape": shapes[layered[0]] if layered else None,
                    "shapes": shapes, "primitives": sorted(layered), "arrays": sorted(arrays),
                    "crc32": crcs, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
            if final.exists():  # a corrupt entry we are replacing
                shutil.rmtree(final)
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def remove(self, key: str) -> None:
        shutil.rmtree(self.path(key), ignore_errors=True)

    def lock(self, key: str) -> FileLock:
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{key}.lock"))

    # -- what the pipeline calls ----------------------------------------------------------------------
    def fetch(self, encoder, requests: dict[str, list[str]], primitive: str, layers: list[int]):
        """For each request name, the primitive at `layers` for its sentences ([len(layers), n, dim]).

        Returns (arrays by name, statistics). Missing or corrupt entries are computed in one encoder call."""
        return self._fetch(encoder, requests, layers, primitive)

    def fetch_tokens(self, encoder, requests: dict[str, list[str]], layers: list[int]):
        """For each request name, (TokenBatch, token states [len(layers), T, dim]) of its sentences.

        Token entries sit beside primitive entries (same encoder identity, `entry: tokens`); computing
        one writes the primitives of the same forward pass too, so no sentence is encoded twice for both."""
        return self._fetch(encoder, requests, layers, TOKENS)

    def _fetch(self, encoder, requests, layers, primitive):
        identity = encoder.identity()
        keys = {name: self.key_for(identity, sentences, primitive) for name, sentences in requests.items()}
        stats = {"sentences_requested": 0, "cache_hits": 0, "sentences_computed": 0, "entries_hit": 0,
                 "entries_computed": 0, "entries_corrupt": 0, "truncated": 0, "encode_seconds": 0.0}
        by_key: dict[str, list[str]] = {}
        for name, key in keys.items():
            by_key.setdefault(key, []).append(name)

        found = {}
        missing = []
        for key, names in by_key.items():
            stats["sentences_requested"] += len(requests[names[0]])
            hit = self._try_read(key, primitive, layers, stats)
            if hit is None:
                missing.append(key)
            else:
                found[key] = hit
        if missing:
            locks = [self.lock(key) for key in sorted(missing)]  # sorted: no deadlock between jobs
            for lock in locks:
                lock.acquire()
            try:
                still_missing = []
                for key in missing:  # another job may have written it while we waited
                    hit = self._try_read(key, primitive, layers, stats)
                    if hit is None:
                        still_missing.append(key)
                    else:
                        found[key] = hit
                if still_missing:
                    found.update(self._compute(encoder, identity, still_missing, by_key, requests, primitive,
                                               layers, stats))
            finally:
                for lock in locks:
                    lock.release()
        return {name: found[key] for name, key in keys.items()}, stats

    def key_for(self, identity: dict, sentences: list[str], primitive: str) -> str:
        if primitive == TOKENS:
            identity = {**identity, "entry": TOKENS}
        return entry_key(identity, sentences, self.token_dtype if primitive == TOKENS else self.store_dtype)

    def _read_entry(self, key, primitive, layers):
        if primitive != TOKENS:
            return self.read(key, primitive, layers)
        hit = self.read(key, "states", layers)
        if hit is None:
            return None
        states, meta = hit
        small = self.read_whole(key, ["ids", "offsets", "special", "mask_index"])
        return (TokenBatch.from_arrays(small), states), meta

    def _try_read(self, key, primitive, layers, stats):
        try:
            hit = self._read_entry(key, primitive, layers)
        except CorruptEntry as exc:
            log.warning("cache entry %s is corrupt (%s); recomputing it", key[:12], exc)
            stats["entries_corrupt"] += 1
            self.remove(key)
            return None
        if hit is None:
            return None
        value, meta = hit
        stats["entries_hit"] += 1
        stats["cache_hits"] += meta["sentences"]
        stats["truncated"] += meta.get("truncated", 0)
        return value

    def _compute(self, encoder, identity, keys, by_key, requests, primitive, layers, stats):
        union = list(dict.fromkeys(s for key in keys for s in requests[by_key[key][0]]))
        row = {sentence: i for i, sentence in enumerate(union)}
        keep_tokens = primitive == TOKENS
        started = time.perf_counter()
        if keep_tokens:
            self._remove_orphan_scratch()
        scratch = self.root / f".scratch-{os.getpid()}-{uuid.uuid4().hex}" if keep_tokens else None
        try:
            return self._encode_and_write(encoder, identity, keys, by_key, requests, primitive, layers, stats,
                                          union, row, scratch, started)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    def _remove_orphan_scratch(self) -> None:
        """Scratch folders of killed jobs (their process is gone) hold gigabytes of token states: remove them."""
        for folder in self.root.glob(".scratch-*"):
            try:
                pid = int(folder.name.split("-")[1])
                os.kill(pid, 0)
            except (ValueError, IndexError):
                continue
            except ProcessLookupError:
                shutil.rmtree(folder, ignore_errors=True)
            except PermissionError:
                continue

    def _encode_and_write(self, encoder, identity, keys, by_key, requests, primitive, layers, stats, union, row,
                          scratch, started):
        keep_tokens = scratch is not None
        primitives, encode_stats = encoder.encode(union, desc=f"encode {len(union)} sentences", token_dir=scratch)
        seconds = time.perf_counter() - started
        stats["encode_seconds"] += seconds
        stats["sentences_computed"] += len(union)
        self.record_throughput(getattr(encoder, "cfg", {}).get("name", "model"), len(union), seconds)
        over_length = encode_stats["lengths"] > encode_stats["max_length"]
        stats["truncated"] += int(over_length.sum())
        for extra in ("tokens", "mask_truncated"):
            if extra in encode_stats:
                stats[extra] = stats.get(extra, 0) + encode_stats[extra]
        out = {}
        for key in keys:
            sentences = requests[by_key[key][0]]
            index = np.fromiter((row[s] for s in sentences), dtype=np.int64, count=len(sentences))
            meta = {"sentences": len(sentences), "truncated": int(over_length[index].sum()), "encoder": identity}
            subset = {name: array[:, index] for name, array in primitives.items()}
            primitive_key = entry_key(identity, sentences, self.store_dtype)
            if not keep_tokens:
                self.write(primitive_key, subset, meta)
            elif not self.path(primitive_key).exists():
                try:  # a bonus of the same forward pass; another job may be writing it right now
                    self.write(primitive_key, subset, meta)
                except OSError:
                    pass
            if keep_tokens:
                batch, positions = encode_stats["token_batch"].select(index)
                states = LayerGather(encode_stats["token_states"], positions)
                self.write(key, {"states": states, **batch.arrays()}, meta, dtype=self.token_dtype)
                out[key] = (batch, np.stack([states[layer] for layer in layers]).astype(self.token_dtype)
                            .astype(np.float32))
            else:
                out[key] = subset[primitive][layers].astype(self.store_dtype).astype(np.float32)
            stats["entries_computed"] += 1
        return out

    # -- measured throughput, for `sentgrid plan` estimates ----------------------------------------------
    def throughput(self) -> dict:
        try:
            return json.loads((self.root / "throughput.json").read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def record_throughput(self, label: str, sentences: int, seconds: float) -> None:
        if sentences < 500 or seconds <= 0:  # too few to say anything about speed
            return
        try:
            with FileLock(str(self.root / "throughput.json.lock")):
                table = self.throughput()
                table[label] = {"sentences_per_s": round(sentences / seconds, 1), "sentences": sentences,
                                "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
                tmp = self.root / f".throughput-{uuid.uuid4().hex}"
                tmp.write_text(json.dumps(table, indent=1))
                os.replace(tmp, self.root / "throughput.json")
        except OSError as exc:
            log.warning("could not record encode throughput (%s)", exc)

    # -- built tables (Avg., B2S): built once per identity, read whole ---------------------------------
    def table(self, identity: dict, build, desc: str = "table") -> tuple[dict[str, np.ndarray], bool]:
        """The arrays `build()` returns for `identity`, built once and stored; (arrays, built_now)."""
        key = hashlib.sha256(json.dumps({"format": FORMAT_VERSION, "table": identity, "store_dtype": self.store_dtype},
                                        sort_keys=True).encode()).hexdigest()
        for attempt in range(2):
            try:
                hit = self.read_whole(key)
            except CorruptEntry as exc:
                log.warning("cached %s %s is corrupt (%s); rebuilding it", desc, key[:12], exc)
                self.remove(key)
                hit = None
            if hit is not None:
                return {name: a.astype(np.float32) if a.dtype == np.float16 else a for name, a in hit.items()}, False
            if attempt == 0:
                with self.lock(key):
                    if not self.path(key).exists():
                        arrays = build()
                        self.write(key, arrays, {"sentences": 0, "table": identity})
                        return arrays, True
        raise CorruptEntry(f"cached {desc} {key[:12]} could not be read back")
