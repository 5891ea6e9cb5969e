"""Measured speeds, kept beside the cache for `plan`'s estimates: each model's encode throughput
(characters per second: a corpus of long sentences takes longer per sentence than STS; and sentences per
second), and each static table's build (work per second, in the units its encoder's `table_work` counts)."""
import json
import logging
import os
import time
from pathlib import Path

from filelock import FileLock

from .store.entries import temporary_name

log = logging.getLogger(__name__)
FILE = "throughput.json"
MIN_SENTENCES = 500  # fewer say nothing about speed


def read(cache_dir: str | Path) -> dict:
    try:
        return json.loads((Path(cache_dir) / FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def label(model: str, tokens: bool) -> str:
    """Passes that keep every token's state run slower: they are measured apart."""
    return f"{model} + token states" if tokens else model


def recorder(cache_dir: str | Path):
    """A function (model, sentences, characters, seconds, tokens) that records one forward pass's speed."""
    def record(model: str, sentences: int, characters: int, seconds: float, tokens: bool = False) -> None:
        if sentences < MIN_SENTENCES or seconds <= 0:
            return
        _update(cache_dir, label(model, tokens), {"characters_per_s": round(characters / seconds),
                                                  "sentences_per_s": round(sentences / seconds, 1),
                                                  "sentences": sentences})
    return record


def table_label(kind: str, base: str) -> str:
    return f"{kind} table from {base}"


def table_recorder(cache_dir: str | Path):
    """A function (kind, base model, work, seconds) that records one table build's speed."""
    def record(kind: str, base: str, work: float, seconds: float) -> None:
        if work > 0 and seconds > 0:
            _update(cache_dir, table_label(kind, base), {"work_per_s": work / seconds, "seconds": round(seconds, 1)})
    return record


def _update(cache_dir: str | Path, key: str, measured: dict) -> None:
    root = Path(cache_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(root / f"{FILE}.lock")):
            table = read(root)
            table[key] = {**measured, "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
            tmp = root / temporary_name(FILE)
            tmp.write_text(json.dumps(table, indent=1))
            os.replace(tmp, root / FILE)
    except OSError as exc:
        log.warning("could not record a measured speed (%s)", exc)
