"""Measured encode throughput per model, kept beside the cache for `plan`'s estimates: characters per
second (a corpus of long sentences takes longer per sentence than STS) and sentences per second."""
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
    root = Path(cache_dir)

    def record(model: str, sentences: int, characters: int, seconds: float, tokens: bool = False) -> None:
        if sentences < MIN_SENTENCES or seconds <= 0:
            return
        key = label(model, tokens)
        try:
            root.mkdir(parents=True, exist_ok=True)
            with FileLock(str(root / f"{FILE}.lock")):
                table = read(root)
                table[key] = {"characters_per_s": round(characters / seconds), "sentences_per_s": round(sentences / seconds, 1),
                              "sentences": sentences, "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
                tmp = root / temporary_name(FILE)
                tmp.write_text(json.dumps(table, indent=1))
                os.replace(tmp, root / FILE)
        except OSError as exc:
            log.warning("could not record encode throughput (%s)", exc)
    return record
