"""cache.max_gb: a size budget for the store, kept by evicting the least recently used entries.

An entry folder's mtime says when it was last written or read (a read touches it), so the oldest folders
are the least recently used. Never evicted: the entries the calling cell is using, entries whose lock a
running job holds (it is computing or rewriting them), and entries used in the last GRACE_SECONDS (a
parallel job may be about to read them). When that leaves the store over budget, one warning says so.
"""
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import Timeout

log = logging.getLogger(__name__)

GRACE_SECONDS = 120


@dataclass
class Entry:
    key: str
    path: Path
    last_used: float
    bytes: int


def folder_bytes(path: Path) -> int:
    total = 0
    for item in os.scandir(path):
        if item.is_file(follow_symlinks=False):
            total += item.stat(follow_symlinks=False).st_size
    return total


def entries(store) -> list[Entry]:
    """Every finished entry of the store (temporaries and set-aside entries aside), oldest use first."""
    found = []
    for shard in store.root.glob("[0-9a-f][0-9a-f]"):
        if shard.is_symlink():  # not the cache's own folder: never evicted from
            continue
        for path in shard.iterdir():
            if path.name.startswith(".") or not path.is_dir() or path.is_symlink():
                continue
            try:
                found.append(Entry(path.name, path, path.stat().st_mtime, folder_bytes(path)))
            except OSError:  # removed meanwhile by another job
                continue
    return sorted(found, key=lambda e: e.last_used)


def enforce(store, max_bytes: int, keep: set[str]) -> tuple[int, int]:
    """Evict least recently used entries until the store holds at most `max_bytes`; (entries, bytes) freed."""
    found = entries(store)
    total = sum(e.bytes for e in found)
    evicted = freed = 0
    now = time.time()
    for entry in found:
        if total <= max_bytes:
            break
        if entry.key in keep or now - entry.last_used < GRACE_SECONDS:
            continue
        lock = store.lock(entry.key)
        try:
            lock.acquire(timeout=0)
        except Timeout:  # a running job holds it
            continue
        try:
            gone = store.remove(entry.key)
        finally:
            lock.release()
        if not gone:  # another user's entry, in a group cache
            continue
        total -= entry.bytes
        freed += entry.bytes
        evicted += 1
    if evicted:
        log.info("cache.max_gb: evicted %d least recently used entries (%.2f GiB)", evicted, freed / 2**30)
    if total > max_bytes:
        log.warning("the cache holds %.2f GiB, over cache.max_gb=%.2f: every other entry is in use, was used in the "
                    "last %d s or is another user's; raise cache.max_gb or free space (python -m sentgrid cache du)",
                    total / 2**30, max_bytes / 2**30, GRACE_SECONDS)
    return evicted, freed
