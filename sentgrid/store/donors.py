"""Donors: rows that earlier entries already hold, so a pass encodes only sentences nobody encoded.

Entries are keyed by their whole sentence list, so a larger nested slice (task.slice=nested: each slice is a
subset of the next) misses even though a smaller rung encoded most of its sentences. Each primitive and token
entry therefore also stores the hashes of its sentences (`sentence_hashes`, [n, 2] uint64, the first 16 bytes of a
SHA-256) and whether each was over the length limit (`over_length`), both covered by the entry's checksums;
and it is listed as a *donor* of its group (`donors/<group>/<key>`: an empty file; the group is the encoder
identity, kept layers, store dtype and kind, i.e. everything but the sentences). Before a pass, the missing
sentences are looked up in the group's donors, and the rows found are read (checksums verified) instead of
encoded: primitive rows (`Reuse`); for a token pass, the sentences a primitive and a token entry both hold,
with their token ids and states (`TokenReuse`). A listed donor that is gone or damaged is no donor: its
sentences are encoded.

A sentence's primitives do not depend on which other sentences share its pass (each is pooled under its own
attention mask; the pass only orders sentences by length), so a reused row is what a new pass would give, up
to the float noise that padding to another batch's length already brings.
"""
import hashlib
import logging
import os
import uuid

import numpy as np

from . import sharing
from .entries import CorruptEntry, EntryStore, owner_tag, table_key

log = logging.getLogger(__name__)

HASHES, OVER_LENGTH = "sentence_hashes", "over_length"  # the arrays an entry keeps beside its primitives or states


def sentence_hashes(sentences: list[str]) -> np.ndarray:
    """[n, 2] uint64: the first 16 bytes of each sentence's SHA-256."""
    digest = b"".join(hashlib.sha256(s.encode("utf-8")).digest()[:16] for s in sentences)
    return np.frombuffer(digest, dtype=np.uint64).reshape(len(sentences), 2).copy()


class Donors:
    """The donors of one group: `identity` (with kept_layers when not every layer is kept) and `dtype`."""

    def __init__(self, entries: EntryStore, identity: dict, dtype: str):
        self.entries = entries
        self.folder = entries.root / "donors" / table_key({"donors": identity}, dtype)

    def add(self, key: str) -> None:
        """List entry `key` (just written, holding HASHES and OVER_LENGTH) as a donor of this group."""
        try:
            sharing.make_folder(self.folder)
            mark = self.folder / key
            if not mark.exists():
                tmp = self.folder / f".{key}.tmp-{owner_tag()}-{uuid.uuid4().hex[:8]}"
                tmp.touch()
                os.rename(tmp, mark)
        except OSError as exc:  # a listing is an optimisation: without it the sentences are encoded again
            log.debug("donor %s not listed: %s", key[:12], exc)

    def _listed(self) -> list[str]:
        try:
            return sorted(name for name in os.listdir(self.folder) if not name.startswith("."))
        except OSError:
            return []

    def candidates(self, wanted: np.ndarray) -> list[tuple[int, str, np.ndarray]]:
        """[(count, donor key, [k, 2] (position in `wanted`, row in the donor))] for the sentences whose hashes
        are `wanted`, the largest donors first. Only hashes are read here."""
        candidates = []
        for key in self._listed():
            try:
                hashes = self.entries.read_whole(key, [HASHES])
            except CorruptEntry:
                hashes = None  # damaged: its own readers set it aside; here it is simply no donor
            if not hashes or HASHES not in hashes:
                continue
            found = _matches(wanted, hashes[HASHES])
            if len(found):
                candidates.append((len(found), key, found))
        return sorted(candidates, key=lambda c: (-c[0], c[1]))

    def rows(self, hashes: np.ndarray, primitive: str, wanted: np.ndarray | None = None,
             candidates: list | None = None) -> "Reuse":
        """What the group's donors that hold `primitive` hold of the sentences whose `hashes` are given (of those
        `wanted` marks, all when None): the largest donors first, each taken only for the sentences no earlier
        donor gave. `candidates`: this group's, when already found."""
        reuse = Reuse(len(hashes))
        for _, key, found in self.candidates(hashes) if candidates is None else candidates:
            keep = ~reuse.covered[found[:, 0]] if wanted is None else wanted[found[:, 0]] & ~reuse.covered[found[:, 0]]
            found = found[keep]
            if len(found):
                reuse.take(self.entries, key, found, primitive)
        return reuse


def covered_by(candidates: list, n: int) -> np.ndarray:
    """[n] bool: the sentences some candidate holds (by hash alone)."""
    covered = np.zeros(n, dtype=bool)
    for _, _, found in candidates:
        covered[found[:, 0]] = True
    return covered


def _matches(wanted: np.ndarray, held: np.ndarray) -> np.ndarray:
    """[k, 2]: (position in `wanted`, row in `held`) of the hashes both hold, matched on the first 8 bytes
    (sorting uint64 is fast) and confirmed on all 16."""
    _, positions, rows = np.intersect1d(wanted[:, 0], held[:, 0], return_indices=True)
    same = wanted[positions, 1] == held[rows, 1]
    return np.stack([positions[same], rows[same]], axis=1)


class Reuse:
    """Rows of a pass's sentences found in donors: `covered[i]` says sentence i was found; `place` copies
    them into the pass's arrays."""

    def __init__(self, n: int):
        self.covered = np.zeros(n, dtype=bool)
        self.parts: list[tuple[np.ndarray, dict, np.ndarray]] = []  # (positions, {name: [layers, rows, dim]}, over)

    def take(self, entries: EntryStore, key: str, found: np.ndarray, primitive: str) -> None:
        """The rows `found` ([k, 2]: position in the pass, row in the donor) of donor `key`, read one layer at a
        time (a donor may be far larger than the rows taken from it)."""
        positions, rows = found[:, 0], found[:, 1]
        try:
            meta = entries.meta(key)
            if meta is None or primitive not in meta["layered"]:  # removed since it was listed; or older
                return
            over = entries.read_whole(key, [OVER_LENGTH])
            if not over or OVER_LENGTH not in over:
                return
            part = {}
            for name in meta["layered"]:
                slabs = [entries.read_layers(key, name, [layer]) for layer in range(meta["shapes"][name][0])]
                if any(slab is None for slab in slabs):
                    return
                part[name] = np.stack([slab[0][0][rows] for slab in slabs])
        except CorruptEntry:
            return
        self.parts.append((positions, part, over[OVER_LENGTH].astype(bool)[rows]))
        self.covered[positions] = True

    @property
    def count(self) -> int:
        return int(self.covered.sum())

    def move(self, where: np.ndarray) -> None:
        """The pass's sentences were reordered: sentence i is now at `where[i]`."""
        self.covered = self.covered[np.argsort(where)]
        self.parts = [(where[positions], part, over) for positions, part, over in self.parts]

    def place(self, arrays: dict | None, over_length: np.ndarray) -> dict:
        """Copy the found rows into `arrays` ({name: [layers, n, dim]}, allocated here when the pass encoded
        nothing) and `over_length` ([n]); the arrays. Only the primitives every source holds are kept: an
        entry written before a primitive existed donates the others, and the new entry is, like it, a miss for
        that primitive alone."""
        if not self.parts:
            return arrays
        common = set.intersection(*(set(part) for _, part, _ in self.parts), *([set(arrays)] if arrays else []))
        if arrays is None:
            n, (_, first, _) = len(self.covered), self.parts[0]
            arrays = {name: np.empty((a.shape[0], n, a.shape[2]), dtype=np.float32) for name, a in first.items()}
        arrays = {name: a for name, a in arrays.items() if name in common}
        for positions, part, over in self.parts:
            for name in common:
                arrays[name][:, positions] = part[name]
            over_length[positions] = over
        self.parts = []  # placed: their memory goes before the entries are written
        return arrays


class TokenReuse:
    """Token rows of a token pass's sentences found in token entries (each stores HASHES and OVER_LENGTH too):
    their token ids and, layer by layer, their token states, laid after the tokens the pass encodes."""

    SMALL = ("ids", "offsets", "special", "mask_index")

    def __init__(self, n: int):
        self.covered = np.zeros(n, dtype=bool)
        self.parts: list[tuple[np.ndarray, str, np.ndarray, dict]] = []  # (positions, key, rows, small arrays)

    @classmethod
    def find(cls, donors: Donors, hashes: np.ndarray, wanted: np.ndarray) -> "TokenReuse":
        """What the token entries of `donors`' group hold of the sentences (their `hashes`) `wanted` marks."""
        reuse = cls(len(hashes))
        for _, key, found in donors.candidates(hashes):
            found = found[wanted[found[:, 0]] & ~reuse.covered[found[:, 0]]]
            if len(found):
                reuse.take(donors.entries, key, found)
        return reuse

    def take(self, entries: EntryStore, key: str, found: np.ndarray) -> None:
        try:
            small, meta = entries.read_whole(key, [*self.SMALL, OVER_LENGTH]), entries.meta(key)
            if not small or OVER_LENGTH not in small or not meta or "states" not in meta["layered"]:
                return
            # every layer's checksum before the pass, so that a damaged donor is no donor (not a failed pass)
            if any(entries.read_layers(key, "states", [layer]) is None for layer in range(meta["shapes"]["states"][0])):
                return
        except CorruptEntry:
            return
        self.parts.append((found[:, 0], key, found[:, 1], small))
        self.covered[found[:, 0]] = True

    @property
    def count(self) -> int:
        return int(self.covered.sum())

    def keep_only(self, covered: np.ndarray) -> None:
        """Keep the rows of the sentences `covered` marks (those the primitive donors gave too)."""
        parts = []
        for positions, key, rows, small in self.parts:
            mine = covered[positions]
            if mine.any():
                parts.append((positions[mine], key, rows[mine], small))
        self.parts, self.covered = parts, self.covered & covered

    def move(self, where: np.ndarray) -> None:
        """The pass's sentences were reordered: sentence i is now at `where[i]`."""
        self.covered = self.covered[np.argsort(where)]
        self.parts = [(where[positions], key, rows, small) for positions, key, rows, small in self.parts]

    def block(self, first: int):
        """(the TokenBatch of the covered sentences, which sit at positions first.. in the pass, in that order;
        the sources of its tokens: [(donor key, token positions in the block, token positions in the donor)])."""
        from ..pooling.tokens import TokenBatch

        n = len(self.covered) - first
        source, row = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        for j, (positions, _, rows, _) in enumerate(self.parts):
            source[positions - first], row[positions - first] = j, rows
        offsets = [part[3]["offsets"] for part in self.parts]
        starts = np.array([offsets[s][r] for s, r in zip(source, row)], dtype=np.int64)
        lengths = np.array([offsets[s][r + 1] - offsets[s][r] for s, r in zip(source, row)], dtype=np.int64)
        block_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        token_sentence = np.repeat(np.arange(n), lengths)
        donor_token = starts[token_sentence] + np.arange(block_offsets[-1]) - block_offsets[token_sentence]
        token_source = source[token_sentence]
        ids = np.empty(block_offsets[-1], dtype=np.int64)
        special = np.empty(block_offsets[-1], dtype=bool)
        sources = []
        for j, (_, key, _, small) in enumerate(self.parts):
            mine = np.flatnonzero(token_source == j)
            ids[mine], special[mine] = small["ids"][donor_token[mine]], small["special"][donor_token[mine]]
            sources.append((key, mine, donor_token[mine]))
        mask_index = None
        if all("mask_index" in part[3] for part in self.parts):
            mask_index = np.array([self.parts[s][3]["mask_index"][r] - offsets[s][r] for s, r in zip(source, row)],
                                  dtype=np.int64) + block_offsets[:-1]
        return TokenBatch(ids, block_offsets, special, mask_index), sources
