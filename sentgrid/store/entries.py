"""Entries: content-addressed folders of arrays, with integrity checks, atomic writes and a lock per key.

An entry is `<root>/<key[:2]>/<key>/`: one `<name>.npy` per array and `meta.json`. 3-d float arrays are
*layered* ([layers, rows, dim]): a layer is one contiguous slab with its own CRC32, so a reader takes only
the layers it uses. This room knows nothing of encoders or tables.

* Integrity covers every byte: each `.npy` header has a CRC32, each layer slab one, every other array its
  whole file, and `meta.json` carries a CRC32 of its own content and the entry's key, so an entry under
  another key than its own (copied, moved) is damage, not a hit. Sizes are checked before reading, and
  only regular files are opened (a FIFO would hang a reader).
* Writes are atomic and never memory-mapped: an entry is written with plain writes (past the page cache
  where the filesystem allows: direct.py) into a temporary folder (a full disk is an OSError, not a
  SIGBUS) and renamed into place. NaN or infinite values are never stored.
* Temporaries carry their owner (host and PID): `stale_temporaries` finds those whose writer is gone.
* Anything that cannot be trusted raises `CorruptEntry`; `set_aside` moves it out of the way.
"""
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import stat
import time
import uuid
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from ..errors import SentgridError
from . import sharing
from .direct import DirectFile

FORMAT_VERSION = 2
STORE_DTYPES = ("float32", "float16")
HOST = socket.gethostname()
STALE_FOREIGN_SECONDS = 24 * 3600  # a temporary of another host is left alone for this long
LOCK_TIMEOUT_S = 6 * 3600  # the longest wait for another job computing the same entry (cache.lock_timeout_s)


log = logging.getLogger(__name__)


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


def crc(data) -> int:
    return zlib.crc32(data if isinstance(data, bytes) else np.ascontiguousarray(data).data)


def _raw_bytes(array: np.ndarray) -> np.ndarray:
    """A contiguous array's bytes without copying them (`tobytes()` copies: writing MPNet's 5.7 GB of STS
    primitives took 7x longer with it)."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def owner_tag() -> str:
    """`<host>~<pid>`: who wrote a temporary, so only a dead writer's leftovers are removed."""
    return f"{HOST}~{os.getpid()}"


def temporary_name(base: str) -> str:
    """A hidden temporary beside `base`, unique and tagged with its owner."""
    return f".{base}.tmp-{owner_tag()}-{uuid.uuid4().hex[:8]}"


def owner_gone(name: str, mtime: float) -> bool:
    """Whether the writer named in a temporary's name (`...-<host>~<pid>-...`) is gone: a process of this
    host that no longer runs, or, for another host (a shared cache), a temporary older than a day."""
    mine = f"-{HOST}~"
    if mine in name:
        try:
            pid = int(name.split(mine, 1)[1].split("-", 1)[0])
        except ValueError:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return time.time() - mtime > STALE_FOREIGN_SECONDS


def _meta_crc(meta: dict) -> int:
    return crc(json.dumps({k: v for k, v in meta.items() if k != "meta_crc32"}, sort_keys=True).encode())


def _npy_header(dtype, shape) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                  "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue()


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
    def __init__(self, root: str | Path, memory_bytes: int = 2 * 2**30, shared: bool = False,
                 lock_timeout_s: float = LOCK_TIMEOUT_S):
        self.root = Path(root)
        self.recent = RecentSlabs(memory_bytes)
        self.lock_mode = 0o664 if shared else 0o644  # group-writable locks in a shared cache, never world-writable
        self.lock_timeout_s = lock_timeout_s

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def exists(self, key: str) -> bool:
        return os.path.lexists(self.path(key))

    # -- reading ------------------------------------------------------------------------------------
    def _meta(self, folder: Path) -> dict:
        if not folder.is_dir() or folder.is_symlink():
            raise CorruptEntry("the entry is not a folder")
        meta = json.loads(self._regular(folder / "meta.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise CorruptEntry(f"format {meta.get('format')} != {FORMAT_VERSION}")
        if meta.get("meta_crc32") != _meta_crc(meta):
            raise CorruptEntry("meta.json does not match its checksum")
        if meta.get("key", folder.name) != folder.name:  # an entry copied or moved onto another key (older ones lack it)
            raise CorruptEntry(f"the entry is {str(meta['key'])[:12]}'s, found under {folder.name[:12]}")
        return meta

    @staticmethod
    def _regular(path: Path) -> Path:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise CorruptEntry(f"{path.name} is not a regular file")
        return path

    def _checked_file(self, folder: Path, meta: dict, name: str) -> Path:
        """The array file, after its size and header checksum were found as written."""
        path = self._regular(folder / f"{name}.npy")
        if path.stat().st_size != meta["sizes"][name]:
            raise CorruptEntry(f"{name}.npy has {path.stat().st_size} bytes, {meta['sizes'][name]} were written")
        with open(path, "rb") as f:
            header = f.read(meta["header_bytes"][name])
        if crc(header) != meta["header_crc32"][name]:
            raise CorruptEntry(f"the header of {name}.npy does not match its checksum")
        return path

    def meta(self, key: str) -> dict | None:
        """An entry's checked meta.json (names, shapes, sizes), or None when there is no entry."""
        folder = self.path(key)
        if not os.path.lexists(folder):
            return None
        try:
            return self._meta(folder)
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"{type(exc).__name__}: {exc}") from exc

    def read_layers(self, key: str, name: str, layers: list[int]) -> tuple[np.ndarray, dict] | None:
        """[len(layers), n, dim] float32 of the layered array `name` at `layers`, and the entry's meta;
        None when there is no entry, or it holds no `name` (written before that primitive existed: a miss for
        it alone, and the entry written again holds it). Raises CorruptEntry when the entry cannot be trusted."""
        folder = self.path(key)
        if not os.path.lexists(folder):
            return None
        try:
            meta = self._meta(folder)
            if name not in meta["layered"]:
                return None
            path = self._checked_file(folder, meta, name)
            array = np.load(path, mmap_mode="r")
            stat_ = path.stat()
            slabs = []
            for layer in layers:
                # Cells of one process (a sweep) often read the same slab: keep recent ones, keyed by the
                # file's size and mtime so a rewritten or damaged file is read (and checked) again.
                memo_key = (str(folder), name, layer, stat_.st_size, stat_.st_mtime_ns)
                slab = self.recent.get(memo_key)
                if slab is None:
                    slab = np.array(array[layer])
                    if crc(slab) != meta["crc32"][name][layer]:
                        raise CorruptEntry(f"checksum mismatch in {name} layer {layer}")
                    slab.flags.writeable = False  # shared by later reads: a write would change them all
                    self.recent.put(memo_key, slab)
                slabs.append(slab)
            # one layer of a float32 entry: the slab itself (a task=all cell reads ~0.5 GB; copies cost seconds)
            stacked = slabs[0][None] if len(slabs) == 1 else np.stack(slabs)
            return stacked.astype(np.float32, copy=False), meta
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise CorruptEntry(f"{type(exc).__name__}: {exc}") from exc

    def read_whole(self, key: str, names: list[str] | None = None) -> dict[str, np.ndarray] | None:
        """Whole arrays of an entry (all of them when `names` is None), checksums verified; None if absent."""
        folder = self.path(key)
        if not os.path.lexists(folder):
            return None
        try:
            meta = self._meta(folder)
            out = {}
            for name in names or meta["arrays"]:
                if name not in meta["arrays"]:
                    continue
                array = np.load(self._checked_file(folder, meta, name))
                expected = meta["crc32"][name]
                found = [crc(a) for a in array] if name in meta["layered"] else crc(array)
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
        ids, offsets, counts) is kept as it is. Refuses NaN and infinite values."""
        final = self.path(key)
        if self._through_link(final):  # a link where the shard folder should be: never written through
            log.warning("cache entry %s not stored: %s is a symbolic link, and another user's (it stays)",
                        key[:12], final.parent)
            return
        sharing.make_folder(final.parent)
        tmp = final.parent / f".tmp-{key}-{owner_tag()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            record = {"crc32": {}, "shapes": {}, "sizes": {}, "header_bytes": {}, "header_crc32": {}, "layered": []}
            for name, array in arrays.items():
                layered = array.ndim == 3 and np.issubdtype(array.dtype, np.floating)
                header = _npy_header(dtype if layered else array.dtype, array.shape)
                with DirectFile(tmp / f"{name}.npy") as f:  # past the page cache: 4x less kernel time
                    f.write(header)
                    if layered:
                        record["crc32"][name] = [self._write_slab(f, array[layer], dtype, name, layer)
                                                 for layer in range(array.shape[0])]
                        record["layered"].append(name)
                    else:
                        data = np.ascontiguousarray(array)
                        f.write(_raw_bytes(data))
                        record["crc32"][name] = crc(data)
                record["shapes"][name] = list(array.shape)
                record["sizes"][name] = (tmp / f"{name}.npy").stat().st_size
                record["header_bytes"][name] = len(header)
                record["header_crc32"][name] = crc(header)
            meta = {**meta, **record, "key": key, "format": FORMAT_VERSION, "arrays": sorted(arrays),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
            meta["meta_crc32"] = _meta_crc(meta)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
            sharing.publish(tmp)  # read-only before anyone can see it
            if os.path.lexists(final):  # a damaged entry we are replacing
                self.set_aside(key)
            if os.path.lexists(final):  # another user's, in a group cache: theirs to set aside (cache verify --fix)
                log.warning("cache entry %s not stored: a damaged entry of %s is in its place (they can set it "
                            "aside: python -m sentgrid cache verify --fix)", key[:12], sharing.owner_name(final))
                return
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _write_slab(f, slab, dtype: str, name: str, layer: int) -> int:
        slab = np.ascontiguousarray(slab, dtype=dtype)
        if not np.isfinite(slab).all():
            raise SentgridError(f"refusing to store {name} (layer {layer}): it holds NaN or infinite values; the "
                                f"encoder's output is broken (a float16 overflow? try model.dtype=float32).")
        f.write(_raw_bytes(slab))
        return crc(slab)

    def _through_link(self, path: Path) -> bool:
        """Whether `path` lies in a shard folder that is a symbolic link (`cache/a3 -> /elsewhere`): nothing is
        deleted or moved through one; the link itself is set aside (renamed: its target is not touched)."""
        shard = path.parent
        if shard == self.root or not shard.is_symlink():
            return False
        try:
            os.rename(shard, self.root / f".damaged-{shard.name}-{owner_tag()}-{uuid.uuid4().hex[:8]}")
        except OSError:  # another user's link in a group cache: it stays, and is never followed
            return True
        return path.parent.is_symlink()  # set aside, unless another link took its place meanwhile

    def set_aside(self, key: str) -> None:
        """Move whatever is at an entry's path out of the way (`cache gc` removes it later)."""
        path = self.path(key)
        if self._through_link(path):
            return
        if os.path.lexists(path):
            try:
                os.rename(path, path.parent / f".damaged-{key}-{owner_tag()}-{uuid.uuid4().hex[:8]}")
            except OSError:
                self.remove(key)

    def remove(self, key: str) -> bool:
        """Remove an entry; whether it is gone (another user's, in a group cache, stays)."""
        path = self.path(key)
        if self._through_link(path):
            return False
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                path.unlink(missing_ok=True)
        except PermissionError:  # another user's, in a group cache
            pass
        return not os.path.lexists(path)

    def touch(self, key: str) -> None:
        """Mark an entry as just used (its folder's mtime): the budget evicts the least recently used."""
        try:
            os.utime(self.path(key))
        except OSError:  # a read-only shared cache: recency is only a hint
            pass

    def lock(self, key: str) -> FileLock:
        locks = self.root / "locks"
        sharing.make_folder(locks)
        return FileLock(str(locks / f"{key}.lock"), mode=self.lock_mode)

    def acquire(self, key: str) -> FileLock:
        """The lock of `key`, held by this process (release it): waits for another job computing the same
        entry up to `lock_timeout_s`, then stops with one sentence naming the holder (host and PID)."""
        lock, owner = self.lock(key), self.root / "locks" / f"{key}.owner"
        try:
            lock.acquire(timeout=self.lock_timeout_s)
        except Timeout:
            try:
                holder = owner.read_text().strip()
            except OSError:
                holder = "another job"
            raise SentgridError(
                f"waited {self.lock_timeout_s:.0f} s for cache entry {key[:12]}, locked by {holder} (computing the same "
                f"sentences); if that job is gone, the filesystem of cache.dir={self.root} does not release its locks "
                f"(POSIX locks are needed: a local disk, NFSv4 with locking, Lustre, GPFS); for longer encodes raise "
                f"cache.lock_timeout_s.") from None
        except OSError as exc:  # a symlink (never followed), or a file this user may not open
            raise SentgridError(f"cannot lock cache entry {key[:12]}: {lock.lock_file} cannot be opened ({exc.strerror}); "
                                f"a symbolic link there is never followed: remove it, or, for another user's file, "
                                f"share the cache with cache.mode=group.") from None
        try:  # never through a symlink: whoever can write locks/ would otherwise pick the file we overwrite
            descriptor = os.open(owner, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
            with os.fdopen(descriptor, "w") as note:
                note.write(f"{owner_tag()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        except OSError:  # the owner note is for messages only
            pass
        return lock

    # -- housekeeping -------------------------------------------------------------------------------
    TEMPORARIES = ("*/.tmp-*", ".scratch-*", ".*.tmp-*", "fingerprints/.*.tmp-*", "cells/*/.*.tmp-*",
                   "donors/*/.*.tmp-*")

    def stale_temporaries(self, damaged: bool = False) -> list[Path]:
        """Temporaries of every kind (entry writes, scratch, index and memo files) whose writer is gone;
        with `damaged`, entries set aside as damaged too."""
        found = []
        for pattern in self.TEMPORARIES + (("*/.damaged-*", ".damaged-*") if damaged else ()):
            for path in self.root.glob(pattern):
                if path.parent != self.root and path.parent.is_symlink():  # never through a linked folder
                    self._through_link(path)
                    continue
                try:
                    mtime = path.lstat().st_mtime
                except OSError:
                    continue
                if path.name.startswith(".damaged-") or owner_gone(path.name, mtime):
                    found.append(path)
        return found

    def remove_stale_temporaries(self, damaged: bool = False) -> int:
        removed = 0
        for path in self.stale_temporaries(damaged):
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            except PermissionError:  # another user's, in a group cache: theirs to remove
                continue
            removed += 1
        return removed
