"""Partial encodes: the finished rows of a long forward pass, committed in segments as it goes, so an
interrupted pass (Ctrl-C, a kill, a cluster's time limit) loses at most the last segment and the next
run computes only the rest.

A pass over `sentences` (in order) commits rows [start, end) as one ordinary entry, with the same
integrity rules as any other; its key depends on the whole pass (encoder identity, every sentence, the
store dtype) and on `start` alone, so the next run finds the chain 0 -> end -> ... without an index.
When the pass completes, its segments are removed; `cache gc` removes abandoned ones after an hour.
"""
import hashlib
import logging

import numpy as np

from .entries import CorruptEntry, EntryStore, entry_key

log = logging.getLogger(__name__)


class PartialEncode:
    def __init__(self, entries: EntryStore, identity: dict, sentences: list[str], dtype: str):
        self.entries, self.dtype, self.total = entries, dtype, len(sentences)
        self.pass_key = entry_key({**identity, "entry": "partial"}, sentences, dtype)
        self.starts: list[int] = []  # the segments this pass holds (resumed or committed)

    def segment_key(self, start: int) -> str:
        return hashlib.sha256(f"{self.pass_key}:{start}".encode()).hexdigest()

    def resume(self) -> list[dict]:
        """The committed segments in order, from row 0: {name: [layers, rows, dim] float32} and
        `over_length` [rows]. A damaged segment ends the chain there (set aside, computed again)."""
        done, segments = 0, []
        while done < self.total:
            key = self.segment_key(done)
            try:
                arrays = self.entries.read_whole(key)
                if arrays is None:
                    break
                end = done + len(arrays["over_length"])
                if not done < end <= self.total or any(a.ndim != 3 or a.shape[1] != end - done
                                           for name, a in arrays.items() if name != "over_length"):
                    raise CorruptEntry(f"segment at row {done} does not hold the rows it says")
            except (CorruptEntry, KeyError) as exc:
                log.warning("partial encode segment %s is damaged (%s); computing it again", key[:12], exc)
                self.entries.set_aside(key)
                break
            segments.append({name: a.astype(bool if name == "over_length" else np.float32) for name, a in arrays.items()})
            self.starts.append(done)
            done = end
        return segments

    def commit(self, start: int, arrays: dict[str, np.ndarray], over_length: np.ndarray) -> None:
        """Store rows [start, start + len(over_length)) of the pass (nothing when that is no row)."""
        if not len(over_length):
            return
        end = start + len(over_length)
        meta = {"sentences": end - start, "partial_of": self.pass_key, "rows": [start, end], "kind": "segment"}
        self.entries.write(self.segment_key(start), {**arrays, "over_length": over_length.astype(np.uint8)}, meta,
                           self.dtype)
        self.starts.append(start)

    def discard(self) -> None:
        """Remove the pass's segments (it is complete and its entries are written)."""
        for start in self.starts:
            self.entries.remove(self.segment_key(start))
        self.starts = []
