"""`python -m sentgrid cache verify [--fix]`, `python -m sentgrid cache gc` and `python -m sentgrid cache du`.

du lists what the cache stores, per model, kind (primitives, tokens, table, segment) and dataset, with the
disk's free space; entries written before their labels were recorded are listed as `(unlabelled)`.

verify reads every entry whole (every checksum) and every finished-cell index entry, and reports what
is damaged; `--fix` sets damaged entries aside and removes damaged index entries. gc removes stale
temporaries, set-aside entries, and entries that no finished cell recorded using, unless a job holds
their lock or wrote or read them in the last hour (a running cell that has not finished yet).
"""
import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from filelock import Timeout

from . import budget, sharing
from .entries import CorruptEntry, EntryStore

RECENT_SECONDS = 3600


def entry_keys(store: EntryStore) -> list[str]:
    """The entries of the store, not those seen through a shard folder that is a symbolic link."""
    return sorted(p.name for p in store.root.glob("[0-9a-f][0-9a-f]/*")
                  if not p.name.startswith(".") and not p.parent.is_symlink())


def verify_entry(store: EntryStore, key: str) -> str | None:
    """None when every byte of the entry checks out, else what is wrong."""
    try:
        meta = store._meta(store.path(key))
        for name in meta["arrays"]:
            if name in meta["layered"]:
                store.read_layers(key, name, list(range(meta["shapes"][name][0])))
            else:
                store.read_whole(key, [name])
    except CorruptEntry as exc:
        return str(exc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def index_files(root: Path) -> list[Path]:
    return sorted((root / "cells").glob("*/*.json"))


def verify(root: Path, fix: bool = False) -> int:
    store = EntryStore(root, memory_bytes=0)
    damaged = 0
    keys = entry_keys(store)
    for key in keys:
        problem = verify_entry(store, key)
        if problem:
            damaged += 1
            if fix:
                store.set_aside(key)
            kept = fix and os.path.lexists(store.path(key))
            print(f"damaged entry {key[:16]}: {problem}" + (f" (left: {sharing.owner_name(store.path(key))}'s to set "
                                                             f"aside)" if kept else " (set aside)" if fix else ""))
    index = index_files(root)
    for path in index:
        try:
            entry = json.loads(path.read_text())
            if entry.get("cell_id") != path.stem or "record" not in entry:
                raise ValueError("not a finished-cell entry with its record")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            damaged += 1
            outcome = ""
            if fix:
                try:
                    path.unlink(missing_ok=True)
                    outcome = " (removed)"
                except PermissionError:
                    outcome = f" (left: {sharing.owner_name(path)}'s to remove)"
            print(f"damaged index entry {path.name}: {exc}{outcome}")
            continue
        damaged += _verify_outputs(path, entry, fix)
    print(f"{len(keys)} entries and {len(index)} finished cells checked: {damaged} damaged"
          + ("" if fix or not damaged else "; --fix sets them aside"))
    return 1 if damaged and not fix else 0


def _verify_outputs(path: Path, entry: dict, fix: bool) -> int:
    """1 when the per-item outputs the record names are damaged or gone (--fix removes a damaged file; the record
    stays, and `force=true` on the cell writes them again from the cache), else 0."""
    from ..outputs import checksum

    expected = entry["record"].get("outputs", {}).get("sha256")
    outputs = path.parent / f"{path.stem}.outputs.npz"
    if not expected:
        return 0
    try:
        if checksum(outputs.read_bytes()) == expected:
            return 0
        problem, outcome = "its sha256 is not the one its record names", ""
        if fix:
            try:
                outputs.unlink()
                outcome = " (removed)"
            except PermissionError:
                outcome = f" (left: {sharing.owner_name(outputs)}'s to remove)"
    except FileNotFoundError:
        problem, outcome = "gone", ""
    print(f"damaged outputs of cell {path.stem[:16]}: {problem}{outcome}; force=true on the cell writes them again")
    return 1


def _table_keys(tree) -> set[str]:
    if isinstance(tree, dict):
        found = {tree["table_key"]} if isinstance(tree.get("table_key"), str) else set()
        return found.union(*(_table_keys(v) for v in tree.values()))
    return set()


def used_keys(root: Path) -> set[str]:
    """The entries finished cells recorded reading, and the tables they used."""
    used = set()
    for path in index_files(root):
        try:
            resolved = json.loads(path.read_text()).get("record", {}).get("resolved", {})
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        used.update(resolved.get("cache_entries", []))
        used.update(_table_keys(resolved))
    return used


def _size(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.lstat().st_size if os.path.lexists(path) else 0


def remove_entries(store: EntryStore, keys) -> tuple[int, int, int, int]:
    """Remove the entries `keys` that no job holds: (removed, bytes freed, kept because in use, kept because
    another user's). Each is removed under its lock, so a job reading or writing it keeps it."""
    removed, freed, busy, others = 0, 0, 0, 0
    for key in keys:
        if not store.exists(key):
            continue
        lock = store.lock(key)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            busy += 1
            continue
        try:
            size = _size(store.path(key))
            if store.remove(key):
                freed += size
                removed += 1
            else:
                others += 1
        finally:
            lock.release()
            with contextlib.suppress(OSError):  # another user's lock files, in a group cache, stay
                Path(lock.lock_file).unlink(missing_ok=True)
                Path(lock.lock_file).with_suffix(".owner").unlink(missing_ok=True)
    for mark in store.root.glob("donors/*/[0-9a-f]*"):  # donor listings of entries removed here or earlier
        if not store.exists(mark.name):
            with contextlib.suppress(OSError):
                mark.unlink()
    return removed, freed, busy, others


def gc(root: Path) -> int:
    store = EntryStore(root, memory_bytes=0)
    freed = 0
    temporaries = store.stale_temporaries(damaged=True)
    for path in temporaries:
        freed += _size(path)
    store.remove_stale_temporaries(damaged=True)
    used = used_keys(root)
    unused = [key for key in entry_keys(store)
              if key not in used and time.time() - store.path(key).lstat().st_mtime >= RECENT_SECONDS]
    removed, entries_freed, kept_busy, others = remove_entries(store, unused)
    freed += entries_freed
    print(f"removed {len(temporaries)} temporaries and {removed} unused entries ({freed / 2**20:.1f} MiB); "
          f"kept {len(used)} entries that finished cells use" + (f", {kept_busy} in use" if kept_busy else "")
          + (f", {others} unused entries of other users (theirs to remove)" if others else ""))
    return 0


def _label(meta: dict) -> tuple[str, str, str]:
    kind = meta.get("kind") or ("table" if "table" in meta else "segment" if "partial_of" in meta
                                else "tokens" if "states" in meta.get("arrays", []) else "primitives")
    return str(meta.get("model", "(unlabelled)")), kind, str(meta.get("request", "(unlabelled)"))


def du(root: Path) -> int:
    store = EntryStore(root, memory_bytes=0)
    groups: dict[tuple, list[int]] = {}
    for entry in budget.entries(store):
        try:
            meta = json.loads((entry.path / "meta.json").read_text())
        except (OSError, ValueError):
            meta = {}
        group = groups.setdefault(_label(meta), [0, 0])
        group[0] += 1
        group[1] += entry.bytes
    rows = sorted(groups.items(), key=lambda item: -item[1][1])
    stored = sum(size for _, (_, size) in rows)
    print(f"{'model':<16}{'kind':<12}{'dataset':<34}{'entries':>8}{'size':>12}")
    for (model, kind, request), (count, size) in rows:
        print(f"{model:<16}{kind:<12}{request:<34}{count:>8}{size / 2**20:>9.1f} MiB")
    per_model: dict[str, int] = {}
    for (model, _, _), (_, size) in rows:
        per_model[model] = per_model.get(model, 0) + size
    print("\nper model: " + ", ".join(f"{m} {b / 2**30:.2f} GiB" for m, b in sorted(per_model.items(), key=lambda i: -i[1])))
    other = {name: _size(root / name) for name in ("models", "cells", "fingerprints", "locks") if (root / name).exists()}
    temporaries = sum(_size(p) for p in store.stale_temporaries(damaged=True))
    print(f"entries {stored / 2**30:.2f} GiB; " + "; ".join(f"{n}/ {b / 2**20:.1f} MiB" for n, b in other.items())
          + f"; stale temporaries {temporaries / 2**20:.1f} MiB")
    free = shutil.disk_usage(root).free
    print(f"free on the disk of {root}: {free / 2**30:.1f} GiB")
    return 0


def main(argv: list[str]) -> int:
    from ..paths import home

    parser = argparse.ArgumentParser(prog="python -m sentgrid cache", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["verify", "gc", "du"])
    parser.add_argument("--dir", default=os.environ.get("SENTGRID_CACHE", str(home() / "cache")),
                        help="the cache folder (default: $SENTGRID_CACHE or ./cache of the project)")
    parser.add_argument("--fix", action="store_true", help="verify: set damaged entries aside")
    args = parser.parse_args(argv)
    root = Path(args.dir)
    if not root.is_dir():
        print(f"sentgrid cache: error: {root} is not a cache folder; pass --dir.", file=sys.stderr)
        return 2
    return {"verify": lambda: verify(root, args.fix), "gc": lambda: gc(root), "du": lambda: du(root)}[args.command]()

