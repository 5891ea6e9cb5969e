"""Tables: static token tables built once from a base model over the corpus (Avg., B2S), then read whole.

The room asks the encoder what identifies its table and how to build it; the corpus's token states come
from the encoding room, so the base model runs over the corpus once and that pass is cached too.
"""
import logging
import time

import numpy as np

from .encoding import Encoding
from .entries import CorruptEntry, EntryStore, table_key

log = logging.getLogger(__name__)
CORPUS = "corpus"


class Tables:
    def __init__(self, entries: EntryStore, encoding: Encoding, on_built=None):
        self.entries, self.encoding = entries, encoding
        self.on_built = on_built  # (kind, base model, work, seconds): the build's speed, for `plan`

    def get(self, encoder) -> tuple[dict[str, np.ndarray], dict]:
        """The arrays of `encoder`'s table, built now if nobody built them yet; and notes to record."""
        base, sentences = encoder.table_source()
        identity = encoder.table_identity()  # hashes the whole corpus: once
        key = table_key(identity, self.encoding.store_dtype)
        started = time.perf_counter()
        corpus_seconds = []  # the corpus pass, measured as encoding: left out of the build's own speed

        def corpus_states(layers: list[int]):
            begun = time.perf_counter()
            hits, _ = self.encoding.tokens(base, {CORPUS: sentences}, layers)
            corpus_seconds.append(time.perf_counter() - begun)
            return hits[CORPUS]

        for attempt in range(2):
            try:
                hit = self.entries.read_whole(key)
            except CorruptEntry as exc:
                log.warning("cached %s table %s is corrupt (%s); rebuilding it", encoder.kind, key[:12], exc)
                self.entries.remove(key)
                hit = None
            if hit is not None:
                self.entries.touch(key)
                arrays = {name: a.astype(np.float32) if a.dtype == np.float16 else a for name, a in hit.items()}
                return arrays, self._notes(False, started, sentences, key)
            if attempt == 0:
                lock = self.entries.acquire(key)
                try:
                    if not self.entries.exists(key):
                        begun = time.perf_counter()
                        arrays = encoder.build_table(corpus_states)
                        if self.on_built is not None:
                            self.on_built(identity["kind"], base.speed_label, encoder.table_work(),
                                          time.perf_counter() - begun - sum(corpus_seconds))
                        self.entries.write(key, arrays, {"sentences": 0, "table": identity,
                                                         "kind": "table", "model": encoder.label, "request": "corpus"},
                                           self.encoding.store_dtype)
                        self.encoding.keep_budget({key})
                        return arrays, self._notes(True, started, sentences, key)
                finally:
                    lock.release()
        raise CorruptEntry(f"cached {encoder.kind} table {key[:12]} could not be read back")

    @staticmethod
    def _notes(built: bool, started: float, sentences: list[str], key: str) -> dict:
        return {"table_built": built, "table_seconds": round(time.perf_counter() - started, 3),
                "corpus_sentences": len(sentences), "table_key": key}
