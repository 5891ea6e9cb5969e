"""Two real users share one cache (cache.mode=group; issue 24, item 8). User B reads A's entries and adds
new ones, and cannot change, replace or delete A's entries or index records, nor make A's run write
outside the cache. Needs root (the users are made with useradd and removed after) and an interpreter
the two users may run (the venv's own may lie in root's home: then the system Python of the same version
runs the venv's packages)."""
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from sentgrid.paths import PROJECT_ROOT

CELL = ("task=sts", "task.sts.datasets=[BIOSSES]", "task.max_items=40", "tracking.enabled=false")
OTHER_CELL = ("task=sts", "task.sts.datasets=[SICK-R]", "task.max_items=40", "tracking.enabled=false")
SITE = sysconfig.get_paths()["purelib"]


def _run_as(user, code_or_module: list[str], folder: Path, data_root, timeout=600):
    python, uid, gid = user["python"], user["uid"], user["gid"]
    env = {"HOME": str(folder / user["name"]), "SENTGRID_DATA": str(data_root), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin", "SENTGRID_MODELS": str(folder / user["name"] / "m")}
    start = f"import site, sys; site.addsitedir({SITE!r}); sys.path.insert(0, {str(PROJECT_ROOT)!r}); "
    return subprocess.run([python, "-S", "-c", start + code_or_module[0], *code_or_module[1:]], env=env,
                          cwd=folder / user["name"], user=uid, group=gid, extra_groups=[gid], umask=0o022,
                          capture_output=True, text=True, timeout=timeout)


def sentgrid_as(user, folder, data_root, *args):
    """`python -m sentgrid ARGS` as `user`, in the shared cache, its job folder in the user's own folder."""
    code = "import runpy; sys.argv[0] = 'sentgrid'; runpy.run_module('sentgrid', run_name='__main__')"
    return _run_as(user, [code, "cache.mode=group", f"cache.dir={folder / 'cache'}",
                          f"hydra.run.dir={folder / user['name'] / 'run'}", *args], folder, data_root)


def python_as(user, folder, data_root, code: str):
    return _run_as(user, [code], folder, data_root)


@pytest.fixture
def two_users(data_root):
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("making two users needs root and useradd")
    remove_stale_users()
    tag = f"sg{os.getpid()}"  # two test runs at once make their own users
    group, names = f"{tag}g", [f"{tag}a", f"{tag}b"]
    folder = Path(tempfile.mkdtemp(prefix=f"sentgrid-group-{tag}-"))  # not under pytest's 0700 folders
    folder.chmod(0o755)
    made = []
    try:
        subprocess.run(["groupadd", group], check=True)
        made.append(("groupdel", group))
        users = []
        for name in names:
            subprocess.run(["useradd", "-M", "-N", "-g", group, "-s", "/usr/sbin/nologin", name], check=True)
            made.insert(0, ("userdel", name))
            home = folder / name
            home.mkdir()
            shutil.chown(home, name, group)
            users.append({"name": name, "uid": int(subprocess.check_output(["id", "-u", name])),
                          "gid": int(subprocess.check_output(["id", "-g", name]))})
        (folder / "cache").mkdir()  # as an administrator gives a project its folder: the first user's
        shutil.chown(folder / "cache", names[0], group)
        python = _python_for(users[0], folder, data_root)
        for user in users:
            user["python"] = python
        yield folder, users
    finally:
        for command, name in made:
            subprocess.run([command, name], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_users() -> None:
    """The users, group and folder of an earlier run that was killed before it could remove them (its process
    is gone, or it had this process's id)."""
    def gone(pid: str) -> bool:
        return int(pid) == os.getpid() or not os.path.exists(f"/proc/{pid}")

    for database, command in (("passwd", "userdel"), ("group", "groupdel")):
        listing = subprocess.run(["getent", database], capture_output=True, text=True).stdout
        for name in (line.split(":")[0] for line in listing.splitlines()):
            match = re.fullmatch(r"sg(\d+)[abg]", name)
            if match and gone(match.group(1)):
                subprocess.run([command, name], capture_output=True)
    for folder in Path(tempfile.gettempdir()).glob("sentgrid-group-sg*-*"):
        if gone(folder.name.split("-")[2][2:]):
            shutil.rmtree(folder, ignore_errors=True)


def _python_for(user, folder, data_root) -> str:
    """An interpreter `user` may run, of this Python's version, that imports the venv's packages."""
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (os.path.realpath(sys.executable), f"/usr/bin/python{minor}", f"/usr/local/bin/python{minor}"):
        try:
            done = _run_as({**user, "python": candidate}, ["import sentgrid, torch, transformers"], folder, data_root)
        except OSError:  # not there, or in a folder the user may not enter
            continue
        if done.returncode == 0:
            return candidate
    pytest.skip(f"no Python {minor} that another user may run imports the venv's packages ({SITE})")


def entry_folders(cache: Path, owner: int) -> list[Path]:
    return [p for p in cache.glob("[0-9a-f][0-9a-f]/*") if not p.name.startswith(".") and p.lstat().st_uid == owner]


def index_records(cache: Path, owner: int) -> list[Path]:
    return [p for p in (cache / "cells").glob("*/*.json") if p.lstat().st_uid == owner]


ATTACKS = """
import json, os, shutil, sys
entries, records, outside = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
attempts = []
def attempt(what, action):
    try:
        action()
        attempts.append([what, "done"])
    except OSError as exc:
        attempts.append([what, type(exc).__name__])
for folder in entries:
    array = next(p for p in os.listdir(folder) if p.endswith(".npy"))
    attempt("rewrite an array", lambda: open(os.path.join(folder, array), "r+b").write(b"x"))
    attempt("rewrite meta.json", lambda: open(os.path.join(folder, "meta.json"), "r+b").write(b"x"))
    attempt("add a file", lambda: open(os.path.join(folder, "extra.npy"), "wb").close())
    attempt("delete an array", lambda: os.unlink(os.path.join(folder, array)))
    attempt("rename the entry", lambda: os.rename(folder, folder + ".mine"))
    attempt("delete the entry", lambda: shutil.rmtree(folder))
    attempt("relax its mode", lambda: os.chmod(folder, 0o777))
for record in records:
    attempt("rewrite a record", lambda: open(record, "r+").write("{}"))
    attempt("delete a record", lambda: os.unlink(record))
    fake = record + ".fake"
    open(fake, "w").write(json.dumps({"record": {"metrics": {"sts/avg": 99.9}}}))
    attempt("replace a record", lambda: os.replace(fake, record))
    if os.path.exists(fake):
        os.unlink(fake)
print(json.dumps(attempts))
"""


def test_a_group_member_adds_to_the_cache_but_changes_nobody_elses_results(two_users, data_root, ledger):
    folder, (alice, bob) = two_users
    cache = folder / "cache"

    first = sentgrid_as(alice, folder, data_root, *CELL)
    assert first.returncode == 0, first.stderr[-3000:]
    reference = json.loads((folder / alice["name"] / "run" / "result.json").read_text())["metrics"]
    alices_entries, alices_records = entry_folders(cache, alice["uid"]), index_records(cache, alice["uid"])
    assert alices_entries and len(alices_records) == 1
    assert not any(p.stat().st_mode & 0o022 for p in alices_entries)  # the entry folder is its owner's alone
    assert {oct(p.stat().st_mode & 0o777) for e in alices_entries for p in e.iterdir()} == {"0o444"}
    assert {oct(p.stat().st_mode & 0o7777) for p in cache.glob("[0-9a-f][0-9a-f]")} == {"0o3775"}
    before = {p: p.read_bytes() for e in alices_entries for p in e.iterdir()}
    record_before = alices_records[0].read_bytes()

    # B reads A's entries (no forward pass) and adds entries of its own.
    again = sentgrid_as(bob, folder, data_root, *CELL, "force=true")
    assert again.returncode == 0, again.stderr[-3000:]
    bobs = json.loads((folder / bob["name"] / "run" / "result.json").read_text())
    assert bobs["metrics"] == reference and bobs["encode"]["sentences_computed"] == 0
    assert "its finished record is " + alice["name"] + "'s" in again.stderr + again.stdout
    added = sentgrid_as(bob, folder, data_root, *OTHER_CELL)
    assert added.returncode == 0, added.stderr[-3000:]
    assert entry_folders(cache, bob["uid"]) and index_records(cache, bob["uid"])

    # B tries to change, replace or delete A's entries and records: every attempt is refused.
    attacks = _run_as(bob, [ATTACKS, json.dumps([str(p) for p in alices_entries]),
                            json.dumps([str(p) for p in alices_records]), str(folder / bob["name"])], folder, data_root)
    assert attacks.returncode == 0, attacks.stderr[-3000:]
    outcomes = json.loads(attacks.stdout)
    assert outcomes and all(outcome == "PermissionError" for _, outcome in outcomes), outcomes

    # B's maintenance and eviction pass over A's entries, aged past every grace period.
    for entry in alices_entries:
        os.utime(entry, (1e9, 1e9))
    evicting = sentgrid_as(bob, folder, data_root, *OTHER_CELL, "force=true", "cache.max_gb=0.000001")
    gc = python_as(bob, folder, data_root, f"from sentgrid.store.maintenance import gc; gc(__import__('pathlib').Path("
                                           f"{str(cache)!r}))")
    assert evicting.returncode == 0 and gc.returncode == 0, evicting.stderr[-3000:] + gc.stderr[-3000:]

    # B plants links where A's next entries go, to a folder of B's: A's run writes nothing through them.
    private = folder / bob["name"] / "private-cache"
    scout = sentgrid_as(bob, folder, data_root, "task=sts", "task.sts.datasets=[STSB]", "task.max_items=40",
                        "tracking.enabled=false", f"cache.dir={private}", "cache.mode=private")
    assert scout.returncode == 0, scout.stderr[-3000:]
    bait = folder / bob["name"] / "bait"
    planted = python_as(bob, folder, data_root, f"""
import os, pathlib
os.makedirs({str(bait)!r}, exist_ok=True)
keys = [p.name for p in pathlib.Path({str(private)!r}).glob('[0-9a-f][0-9a-f]/*') if not p.name.startswith('.')]
for key in keys:
    os.symlink({str(bait)!r}, os.path.join({str(cache)!r}, key[:2], key))
print(len(keys))""")
    assert planted.returncode == 0 and int(planted.stdout) > 0, planted.stderr[-3000:]
    lured = sentgrid_as(alice, folder, data_root, "task=sts", "task.sts.datasets=[STSB]", "task.max_items=40",
                        "tracking.enabled=false")
    assert lured.returncode == 0, lured.stderr[-3000:]
    assert list(bait.iterdir()) == []
    lured_metrics = json.loads((folder / alice["name"] / "run" / "result.json").read_text())["metrics"]
    scout_metrics = json.loads((folder / bob["name"] / "run" / "result.json").read_text())["metrics"]
    assert lured_metrics == scout_metrics

    # A's entries and record are as written, and A's run still reads them.
    assert {p: p.read_bytes() for e in alices_entries for p in e.iterdir()} == before
    assert alices_records[0].read_bytes() == record_before
    rerun = sentgrid_as(alice, folder, data_root, *CELL, "force=true")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert json.loads((folder / alice["name"] / "run" / "result.json").read_text())["metrics"] == reference
    # ... and A, their owner, can still remove them (read-only is no obstacle to the owner's gc).
    removed = python_as(alice, folder, data_root, f"""
from sentgrid.store.entries import EntryStore
print(EntryStore({str(cache)!r}).remove({alices_entries[0].name!r}))""")
    assert removed.stdout.strip() == "True" and not alices_entries[0].exists(), removed.stderr[-3000:]
    ledger("group cache: another member's changes to entries", len(outcomes) + 1, len(outcomes) + 1)
