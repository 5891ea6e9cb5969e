"""Who may change what in the cache: published files are read-only, and a cache shared by a group
(cache.mode=group) is laid out so that members add to it but never change or remove each other's files.

In a group cache every folder is group-writable, setgid (what is made inside keeps the folder's group) and
sticky, as /tmp is: a file or folder in it can be renamed or removed only by its owner or the folder's
owner. The folders a member writes into (the 256 entry shards, `cells/` and its shards, `locks/`,
`fingerprints/`) are all made by the cache's creator when the cache is opened for the first time, so no
member owns a folder that holds another member's entries or index records. Entries and index records
are read-only once published, in every mode (an entry's folder is its owner's alone): nobody rewrites one
in place.

What this guards is accidents and other members' mistakes, not a member who writes wrong entries first:
a shared cache trusts everyone who can write to it, as a shared ccache or pip cache does
(docs/scale-out.md, "Who can do what").
"""
import os
import pwd
import stat
from pathlib import Path

SHARDS = tuple(f"{i:02x}" for i in range(256))
GROUP_FOLDER = 0o3775  # setgid + sticky + rwxrwxr-x
READ_ONLY_FILE = 0o444


def open_group_cache(root: Path) -> None:
    """Make this process's files group-writable and, when this user created the cache, lay out its folders."""
    os.umask(0o002)  # every file and folder this process makes is group-writable
    if root.stat().st_uid != os.getuid():
        return
    root.chmod(GROUP_FOLDER)
    for folder in [root / s for s in SHARDS] + [root / "locks", root / "fingerprints", root / "cells"] + \
            [root / "cells" / s for s in SHARDS]:
        folder.mkdir(exist_ok=True)
        if folder.lstat().st_uid == os.getuid() and stat.S_IMODE(folder.lstat().st_mode) != GROUP_FOLDER:
            folder.chmod(GROUP_FOLDER)


def make_folder(path: Path) -> None:
    """mkdir -p; a group-writable folder of ours is made sticky too (a group cache made before the layout above)."""
    path.mkdir(parents=True, exist_ok=True)
    info = path.lstat()
    if info.st_mode & stat.S_IWGRP and not info.st_mode & stat.S_ISVTX and info.st_uid == os.getuid():
        path.chmod(stat.S_IMODE(info.st_mode) | stat.S_ISVTX)


def publish(path: Path) -> None:
    """Make a written entry (its files) or an index record read-only, and an entry's folder writable by its
    owner alone: nobody else adds, removes or rewrites a file of it. The owner can still `rm -rf` it."""
    if path.is_dir():
        for item in path.iterdir():
            item.chmod(READ_ONLY_FILE)
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o022)
    else:
        path.chmod(READ_ONLY_FILE)


def owner_name(path: Path) -> str:
    """The user who owns `path` (a uid when the name is unknown)."""
    try:
        uid = path.lstat().st_uid
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return f"uid {uid}"
    except OSError:
        return "another user"
