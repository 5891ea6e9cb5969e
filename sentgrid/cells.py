"""Which cells are already finished.

A cell's identity hashes its resolved config, less what cannot change a result (paths, tracking,
Hydra, run options), plus the versions of the libraries that can. Static models without layers
(RE, GloVe, B2S) record `layer` as n/a, so a layer sweep over them is one cell. Finished cells are
indexed under the cache folder (`<cache.dir>/cells/`), which every sweep and parallel job shares.
"""
import hashlib
import json
import os
import time
import uuid
from pathlib import Path

from omegaconf import OmegaConf

from .encoders import is_layered
from .versions import versions as result_versions

# Config keys that say where things are or how to run, not what is computed.
RUN_ONLY = ("data", "tracking", "hydra", "force", "fail_fast")
CACHE_RUN_ONLY = ("dir", "memory_gb")


def cell_config(cfg) -> dict:
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
    if not is_layered(cfg.model):
        tree["layer"] = "n/a"
    return tree


def cell_id(cfg, versions: dict | None = None) -> str:
    header = {"cell": cell_config(cfg), "versions": versions or result_versions()}
    return hashlib.sha256(json.dumps(header, sort_keys=True, default=str).encode()).hexdigest()


def profile(config: dict) -> list:
    """What a cell's cost depends on, for `plan` estimates: families, model, token-level pooling, diagnostics."""
    from .spec import PoolingSpec, from_node

    token_level = from_node(PoolingSpec, config.get("pooling", {})).primitive is None
    return [list(config["task"]["families"]), config["model"]["name"], token_level,
            bool(config.get("diagnostics", {}).get("enabled", False))]


class FinishedCells:
    """`<cache.dir>/cells/<id[:2]>/<id>.json`: where a finished cell's record is, and its metrics."""

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
        # A finished cell whose record was deleted is not finished any more.
        return entry if Path(entry.get("result", "")).is_file() else None

    def mark(self, identity: str, result_path: Path, record: dict) -> None:
        path = self.path(identity)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"cell_id": identity, "result": str(Path(result_path).resolve()), "cell": record["tags"].get("cell"),
                 "families": list(record["config"]["task"]["families"]), "profile": profile(record["config"]),
                 "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": record["timings"]["total"]}
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(entry, indent=1))
        os.replace(tmp, path)

    def all(self) -> list[dict]:
        out = []
        for path in self.root.glob("*/*.json"):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):
                continue
        return out
