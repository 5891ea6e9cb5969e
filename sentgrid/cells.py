"""Which cells are already finished.

A cell's identity hashes its resolved config, less what cannot change a result (paths, tracking,
Hydra, run options), plus the versions of the libraries that can and a fingerprint (size and sha256)
of every data file the cell can read, so a run on edited data never counts for the real data. Static
models without layers (RE, GloVe, B2S) record `layer` as n/a, so a layer sweep over them is one cell.

Finished cells are indexed under the cache folder (`<cache.dir>/cells/`), which every sweep and
parallel job shares. An index entry holds the cell's whole record, which no later run into the same job
folder can overwrite; a `force=true` run's entry takes its place and the earlier one moves to `history/`.
"""
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from omegaconf import OmegaConf

from .encoders import is_layered
from .encoders.fingerprint import file_sha256
from .store import sharing
from .store.entries import temporary_name
from .versions import versions as result_versions

# Config keys that say where things are or how to run, not what is computed.
# `stats` changes intervals, never scores: they are recomputed from a finished cell's outputs.
RUN_ONLY = ("data", "tracking", "hydra", "force", "fail_fast", "exit_nonzero_on_failure", "jobs", "stats")
CACHE_RUN_ONLY = ("dir", "models_dir", "memory_gb", "mode", "commit_seconds", "lock_timeout_s", "max_gb", "check_space",
                  "layers", "pass_memory_gb")


def data_files(cfg) -> list[Path]:
    """Every local file the cell can read: its datasets' files (both text variants), the corpus file,
    and STS-B's when diagnostics are on. Files that are not there are left out (reading them fails)."""
    from .tasks import family

    root = cfg.data.get("root")
    names = []
    if root:
        for name in cfg.task.families:
            reader = family(name).data
            names += [f for dataset in cfg.task[name].datasets for f in reader.files(dataset)]
        if cfg.get("diagnostics", {}).get("enabled", False):
            names += family("sts").data.files("STSB")
    files = [Path(str(root)) / name for name in names] if root else []
    if cfg.corpus.get("source", "file") == "file" and cfg.corpus.get("path"):
        files.append(Path(str(cfg.corpus.path)))
    return sorted({f for f in files if f.is_file()})


def data_fingerprint(cfg) -> dict[str, str]:
    """{file name under the data root: "size:sha256"}; hashes are memoised by path, size and mtime."""
    memo = Path(str(cfg.cache.dir)) / "fingerprints"
    root = Path(str(cfg.data.get("root") or "/"))
    out = {}
    for path in data_files(cfg):
        name = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
        out[name] = f"{path.stat().st_size}:{file_sha256(path, memo)}"
    return out


def run_only(override_key: str) -> bool:
    """Whether an override's key (`cache.layers`, `+tracking.tags.rung`) says how to run, not what is computed."""
    parts = override_key.lstrip("+~").split(".")
    return parts[0] in RUN_ONLY or (parts[0] == "cache" and len(parts) > 1 and parts[1] in CACHE_RUN_ONLY)


def cell_config(cfg, with_data: bool = True) -> dict:
    """The part of a resolved config that decides the result."""
    tree = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    for key in RUN_ONLY:
        tree.pop(key, None)
    for key in CACHE_RUN_ONLY:
        tree.get("cache", {}).pop(key, None)
    if tree.get("corpus", {}).get("source", "file") == "file":  # the file, not where it sits
        path = Path(str(tree["corpus"].get("path")))
        tree["corpus"]["path"] = path.name
    if not tree.get("diagnostics", {}).get("enabled", False):  # off: its settings change nothing
        tree.pop("diagnostics", None)
    task = tree.get("task", {})
    if task.get("max_items") is None or task.get("slice", "evenly") == "evenly":  # the items every cell had before
        task.pop("slice", None)
        task.pop("slice_seed", None)
    if not is_layered(cfg.model):
        tree["layer"] = "n/a"
    if with_data:
        tree["data_fingerprint"] = data_fingerprint(cfg)
    return tree


def cell_id(cfg, versions: dict | None = None, with_data: bool = True) -> str:
    header = {"cell": cell_config(cfg, with_data), "versions": versions or result_versions()}
    return hashlib.sha256(json.dumps(header, sort_keys=True, default=str).encode()).hexdigest()


def profile(config: dict) -> list:
    """What a cell's cost depends on, for `plan` estimates: families, model, token-level pooling, diagnostics, and
    the slice (task.max_items; None for full data)."""
    from .spec import PoolingSpec, from_node

    token_level = from_node(PoolingSpec, config.get("pooling", {})).primitive is None
    return [list(config["task"]["families"]), config["model"]["name"], token_level,
            bool(config.get("diagnostics", {}).get("enabled", False)), config["task"].get("max_items")]


def seconds_besides_encoding(record: dict) -> float:
    """A cell's wall time less its forward passes and the static table it built (plan estimates those apart,
    from measured speeds: a cell that reads the table later does not build it again)."""
    model = record.get("resolved", {}).get("model")
    table = (model.get("average") or model) if isinstance(model, dict) else {}  # BERT + Avg. reads the Avg. table
    built = table.get("table_seconds", 0.0) if table.get("table_built") else 0.0
    return max(record["timings"]["total"] - record.get("encode", {}).get("encode_seconds", 0.0) - built, 0.0)


class FinishedCells:
    """`<cache.dir>/cells/<id[:2]>/<id>.json`: a finished cell's whole record, where it was first written,
    and what `plan` needs (profile, seconds)."""

    def __init__(self, cache_dir: str | Path):
        self.root = Path(cache_dir) / "cells"

    def path(self, identity: str) -> Path:
        return self.root / identity[:2] / f"{identity}.json"

    def get(self, identity: str) -> dict | None:
        path = self.path(identity)
        try:
            entry = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        # Entries written before records were kept whole point at a result.json that may be gone.
        return entry if "record" in entry or Path(entry.get("result", "")).is_file() else None

    def outputs_path(self, identity: str) -> Path:
        return self.root / identity[:2] / f"{identity}.outputs.npz"

    def mark(self, identity: str, result_path: Path, record: dict, outputs: bytes | None = None) -> None:
        """Index the finished cell: its outputs file first (the record names its checksum), then its record."""
        path = self.path(identity)
        sharing.make_folder(path.parent)
        entry = {"cell_id": identity, "result": str(Path(result_path).resolve()), "cell": record["tags"].get("cell"),
                 "families": list(record["config"]["task"]["families"]), "profile": profile(record["config"]),
                 "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": record["timings"]["total"],
                 "evaluate_seconds": seconds_besides_encoding(record),
                 "record": record}
        if path.exists() and path.lstat().st_uid != os.getuid() and os.getuid() != 0:
            raise PermissionError(f"its finished record is {sharing.owner_name(path)}'s (a group cache keeps it)")
        if path.exists():  # force=true: the earlier record and outputs are kept (history/), never replaced
            self._keep_earlier(identity)
        if outputs is not None:
            self._write(self.outputs_path(identity), outputs)
        self._write(path, json.dumps(entry, indent=1).encode())  # readers see the earlier entry or this one

    def _keep_earlier(self, identity: str) -> None:
        path = self.path(identity)
        history = path.parent / "history"
        sharing.make_folder(history)
        try:
            earlier = str(json.loads(path.read_text()).get("finished", "")).replace(":", "")
        except (OSError, ValueError):
            earlier = ""
        stem = f"{identity}.{earlier or 'unknown'}.{uuid.uuid4().hex[:6]}"
        if self.outputs_path(identity).exists():
            shutil.copy2(self.outputs_path(identity), history / f"{stem}.outputs.npz")
        shutil.copy2(path, history / f"{stem}.json")

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        """Atomically, read-only once in place (nobody rewrites a record or its outputs in place)."""
        tmp = path.parent / temporary_name(path.name)
        try:
            tmp.write_bytes(data)
            sharing.publish(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def outputs(self, identity: str, record: dict | None = None):
        """The cell's `CellOutputs`, or None when it finished before outputs were kept; a file that is gone, or whose
        bytes are not the ones its record names, raises DamagedOutputs."""
        from .outputs import CellOutputs, DamagedOutputs, checksum

        if record is None:
            entry = self.get(identity)
            record = stored_record(entry) if entry else {}
        expected = record.get("outputs", {}).get("sha256")
        if not expected:
            return None
        try:
            data = self.outputs_path(identity).read_bytes()
        except FileNotFoundError:
            raise DamagedOutputs(f"{self.outputs_path(identity)} is gone; `force=true` on the cell writes it again "
                                 f"from the cache") from None
        if checksum(data) != expected:
            raise DamagedOutputs(f"{self.outputs_path(identity)} is damaged (its sha256 is not the one its record "
                                 f"names); `force=true` on the cell writes it again from the cache")
        return CellOutputs.unpack(data)

    def all(self) -> list[dict]:
        out = []
        for path in self.root.glob("*/*.json"):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):
                continue
        return out


def stored_record(entry: dict) -> dict:
    """The finished cell's record: kept whole in its index entry (or, for old entries, in its result.json)."""
    return entry["record"] if "record" in entry else json.loads(Path(entry["result"]).read_text())
