"""A content-addressed, on-disk store of encoder output.

An *entry* holds the pooling primitives of one list of sentences (one dataset, or the corpus) for one
encoder identity: `<root>/<key[:2]>/<key>/` with one `<primitive>.npy` of shape [layers+1, n, dim]
(a layer is one contiguous slab, so a cell reads only the layers it uses) and `meta.json` with the
shapes and a CRC32 of every slab. The key hashes the encoder identity and the sentences.

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
from pathlib import Path

import numpy as np
from filelock import FileLock

from .errors import choice_error

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


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


class EncodingCache:
    """`store_dtype` float16 halves the disk size (cosines move by ~1e-4) for big models."""

    def __init__(self, root: str | Path, store_dtype: str = "float32"):
        if store_dtype not in STORE_DTYPES:
            raise choice_error("cache.dtype", store_dtype, STORE_DTYPES)
        self.root = Path(root)
        self.store_dtype = store_dtype

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    # -- reading ------------------------------------------------------------------------------------
    def read(self, key: str, primitive: str, layers: list[int]) -> tuple[np.ndarray, dict] | None:
        """[len(layers), n, dim] for `primitive` at `layers`, and the entry's meta; None if absent.

        Raises CorruptEntry when the entry exists but cannot be trusted."""
        folder = self.path(key)
        if not folder.exists():
            return None
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta["format"] != FORMAT_VERSION or primitive not in meta["primitives"]:
                raise CorruptEntry(f"entry lacks primitive {primitive!r}")
            array = np.load(folder / f"{primitive}.npy", mmap_mode="r")
            if list(array.shape) != meta["shape"]:
                raise CorruptEntry(f"shape {array.shape} != {meta['shape']}")
            slabs = []
            for layer in layers:
                slab = np.array(array[layer])
                if _crc(slab) != meta["crc32"][primitive][layer]:
                    raise CorruptEntry(f"checksum mismatch in {primitive} layer {layer}")
                slabs.append(slab)
            return np.stack(slabs).astype(np.float32), meta
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"{type(exc).__name__}: {exc}") from exc

    # -- writing ------------------------------------------------------------------------------------
    def write(self, key: str, primitives: dict[str, np.ndarray], meta: dict) -> None:
        final = self.path(key)
        tmp = final.parent / f".tmp-{key}-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            crcs = {}
            for name, array in primitives.items():
                array = np.ascontiguousarray(array, dtype=self.store_dtype)
                np.save(tmp / f"{name}.npy", array)
                crcs[name] = [_crc(array[layer]) for layer in range(array.shape[0])]
            shape = list(next(iter(primitives.values())).shape)
            meta = {**meta, "format": FORMAT_VERSION, "shape": shape, "primitives": sorted(primitives),
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

    # -- the one call the pipeline makes --------------------------------------------------------------
    def fetch(self, encoder, requests: dict[str, list[str]], primitive: str, layers: list[int]):
        """For each request name, the primitive at `layers` for its sentences ([len(layers), n, dim]).

        Returns (arrays by name, statistics). Missing or corrupt entries are computed in one encoder call."""
        identity = encoder.identity()
        keys = {name: entry_key(identity, sentences, self.store_dtype) for name, sentences in requests.items()}
        stats = {"sentences_requested": 0, "cache_hits": 0, "sentences_computed": 0, "entries_hit": 0,
                 "entries_computed": 0, "entries_corrupt": 0, "truncated": 0, "encode_seconds": 0.0}
        by_key: dict[str, list[str]] = {}
        for name, key in keys.items():
            by_key.setdefault(key, []).append(name)

        found: dict[str, np.ndarray] = {}
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
                    found.update(self._compute(encoder, identity, still_missing, by_key, requests, primitive, layers, stats))
            finally:
                for lock in locks:
                    lock.release()
        return {name: found[key] for name, key in keys.items()}, stats

    def _try_read(self, key, primitive, layers, stats):
        try:
            hit = self.read(key, primitive, layers)
        except CorruptEntry as exc:
            log.warning("cache entry %s is corrupt (%s); recomputing it", key[:12], exc)
            stats["entries_corrupt"] += 1
            self.remove(key)
            return None
        if hit is None:
            return None
        array, meta = hit
        stats["entries_hit"] += 1
        stats["cache_hits"] += array.shape[1]
        stats["truncated"] += meta.get("truncated", 0)
        return array

    def _compute(self, encoder, identity, keys, by_key, requests, primitive, layers, stats):
        union = list(dict.fromkeys(s for key in keys for s in requests[by_key[key][0]]))
        row = {sentence: i for i, sentence in enumerate(union)}
        started = time.perf_counter()
        primitives, encode_stats = encoder.encode(union, desc=f"encode {len(union)} sentences")
        stats["encode_seconds"] += time.perf_counter() - started
        stats["sentences_computed"] += len(union)
        over_length = encode_stats["lengths"] > encode_stats["max_length"]
        stats["truncated"] += int(over_length.sum())
        for extra in ("tokens", "mask_truncated"):
            if extra in encode_stats:
                stats[extra] = stats.get(extra, 0) + encode_stats[extra]
        out = {}
        for key in keys:
            sentences = requests[by_key[key][0]]
            index = np.fromiter((row[s] for s in sentences), dtype=np.int64, count=len(sentences))
            subset = {name: array[:, index] for name, array in primitives.items()}
            self.write(key, subset, {"sentences": len(sentences), "truncated": int(over_length[index].sum()),
                                     "encoder": identity})
            stats["entries_computed"] += 1
            out[key] = subset[primitive][layers].astype(self.store_dtype).astype(np.float32)
        return out
