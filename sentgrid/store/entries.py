"""Entries: content-addressed folders of arrays, with integrity checks, atomic writes and a lock per key.

An entry is `<root>/<key[:2]>/<key>/`: one `<name>.npy` per array and `meta.json` with the shapes and
CRC32s. 3-d float arrays are *layered* ([layers, rows, dim]): a layer is one contiguous slab with its
own CRC32, so a reader takes only the layers it uses. This room knows nothing of encoders or tables.

* Writes are atomic: an entry is built in a temporary folder and renamed into place.
* A lock per key lets parallel jobs wait for the one writing it.
* An entry that cannot be trusted (missing file, wrong shape, CRC mismatch, unreadable meta) raises
  `CorruptEntry`; the caller removes and recomputes it.
"""
import hashlib
import json
import os
import shutil
import time
import uuid
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
from filelock import FileLock

FORMAT_VERSION = 1
STORE_DTYPES = ("float32", "float16")


class CorruptEntry(Exception):
    pass


def entry_key(identity: dict, sentences: list[str], store_dtype: str = "float32") -> str:
    """The key of an entry holding what `identity` computes for `sentences`, stored in `store_dtype`."""
    header = {"format": FORMAT_VERSION, "encoder": identity, "store_dtype": store_dtype}
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for sentence in sentences:
        digest.update(b"\0" + sentence.encode("utf-8"))
    return digest.hexdigest()


def table_key(identity: dict, store_dtype: str) -> str:
    return hashlib.sha256(json.dumps({"format": FORMAT_VERSION, "table": identity, "store_dtype": store_dtype},
                                     sort_keys=True).encode()).hexdigest()


def crc(array: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).data)


class RecentSlabs:
    """A least-recently-used memo of slabs read in this process, up to `budget` bytes."""

    def __init__(self, budget: int):
        self.budget, self.used = budget, 0
        self.slabs: OrderedDict = OrderedDict()

    def get(self, key):
        slab = self.slabs.get(key)
        if slab is not None:
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


class EntryStore:
    def __init__(self, root: str | Path, memory_bytes: int = 2 * 2**30):
        self.root = Path(root)
        self.recent = RecentSlabs(memory_bytes)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    # -- reading ------------------------------------------------------------------------------------
    def _meta(self, folder: Path) -> dict:
        meta = json.loads((folder / "meta.json").read_text())
        if meta["format"] != FORMAT_VERSION:
            raise CorruptEntry(f"format {meta['format']} != {FORMAT_VERSION}")
        return meta

    def read_layers(self, key: str, name: str, layers: list[int]) -> tuple[np.ndarray, dict] | None:
        """[len(layers), n, dim] float32 of the layered array `name` at `layers`, and the entry's meta;
        None when there is no entry. Raises CorruptEntry when the entry exists but cannot be trusted."""
        folder = self.path(key)
        if not folder.exists():
            return None
        try:
            meta = self._meta(folder)
            if name not in meta["primitives"]:
                raise CorruptEntry(f"entry lacks {name!r}")
            array = np.load(folder / f"{name}.npy", mmap_mode="r")
            if list(array.shape) != meta["shapes"][name]:
                raise CorruptEntry(f"shape {array.shape} does not match meta.json")
            stat = (folder / f"{name}.npy").stat()
            slabs = []
            for layer in layers:
                # Cells of one process (a sweep) often read the same slab: keep recent ones, keyed by the
                # file's size and mtime so a rewritten or damaged file is read (and checked) again.
                memo_key = (str(folder), name, layer, stat.st_size, stat.st_mtime_ns)
                slab = self.recent.get(memo_key)
                if slab is None:
                    slab = np.array(array[layer])
                    if crc(slab) != meta["crc32"][name][layer]:
                        raise CorruptEntry(f"checksum mismatch in {name} layer {layer}")
                    self.recent.put(memo_key, slab)
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
                expected = meta["crc32"][name]
                found = [crc(a) for a in array] if isinstance(expected, list) else crc(array)
                if found != expected:
                    raise CorruptEntry(f"checksum mismatch in {name}")
                out[name] = array
            return out
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"{type(exc).__name__}: {exc}") from exc

    # -- writing ------------------------------------------------------------------------------------
    def write(self, key: str, arrays: dict, meta: dict, dtype: str) -> None:
        """Write an entry atomically. 3-d float arrays are layered (stored in `dtype`, a checksum per
        layer, written layer by layer so a big one never sits in memory at once); anything else (token
        ids, offsets, counts) is kept as it is."""
        final = self.path(key)
        tmp = final.parent / f".tmp-{key}-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            crcs, shapes, layered = {}, {}, []
            for name, array in arrays.items():
                if array.ndim == 3 and np.issubdtype(array.dtype, np.floating):
                    out = np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=dtype,
                                                    shape=tuple(array.shape))
                    crcs[name] = []
                    for layer in range(array.shape[0]):
                        out[layer] = array[layer]
                        crcs[name].append(crc(out[layer]))
                    out.flush()
                    del out
                    layered.append(name)
                else:
                    array = np.ascontiguousarray(array)
                    crcs[name] = crc(array)
                    np.save(tmp / f"{name}.npy", array)
                shapes[name] = list(array.shape)
            meta = {**meta, "format": FORMAT_VERSION, "shapes": shapes, "primitives": sorted(layered),
                    "arrays": sorted(arrays), "crc32": crcs, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
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
