"""Sentences as flat token sequences: the input of token-level pooling (weighting, static models, mixes).

A `TokenBatch` holds the token ids of n sentences back to back ([T]) with `offsets` ([n+1]) marking
where each sentence starts. Per-layer token states that go with it are arrays [layers, T, dim].
"""
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from ..templates import mask_positions


@dataclass
class TokenBatch:
    ids: np.ndarray                  # [T] token ids (int64)
    offsets: np.ndarray              # [n+1] sentence i is tokens offsets[i]:offsets[i+1]
    special: np.ndarray              # [T] bool: [CLS]/[SEP]-like tokens
    mask_index: np.ndarray | None = None   # [n] flat index of each sentence's [MASK] (templates with one)
    known: np.ndarray | None = None  # [T] bool: the token has a vector (static vocabularies); None = all
    notes: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sentence_of_token(self) -> np.ndarray:
        """[T] the sentence each token belongs to."""
        return np.repeat(np.arange(len(self)), self.lengths)

    def select(self, rows: np.ndarray) -> tuple["TokenBatch", np.ndarray]:
        """The batch of sentences `rows` (in that order) and the flat token positions it took."""
        starts, ends = self.offsets[rows], self.offsets[np.asarray(rows) + 1]
        positions = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if len(rows) else np.zeros(0, int)
        offsets = np.concatenate([[0], np.cumsum(ends - starts)])
        mask_index = None
        if self.mask_index is not None:
            mask_index = self.mask_index[rows] - starts + offsets[:-1]
        known = None if self.known is None else self.known[positions]
        return TokenBatch(self.ids[positions], offsets, self.special[positions], mask_index, known), positions

    def joined(self, other: "TokenBatch") -> "TokenBatch":
        """This batch's sentences, then `other`'s (both with or both without a [MASK] index)."""
        if (self.mask_index is None) != (other.mask_index is None) or self.known is not None or other.known is not None:
            raise ValueError("joining token batches of different kinds")
        mask_index = None if self.mask_index is None else np.concatenate([self.mask_index, other.mask_index + len(self.ids)])
        return TokenBatch(np.concatenate([self.ids, other.ids]),
                          np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]]),
                          np.concatenate([self.special, other.special]), mask_index)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"ids": self.ids, "offsets": self.offsets, "special": self.special}
        if self.mask_index is not None:
            out["mask_index"] = self.mask_index
        return out

    @classmethod
    def from_rows(cls, rows, special_ids=()) -> "TokenBatch":
        """The batch of sentences given as token id lists; `special_ids` are marked special."""
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(offsets[-1]))
        return cls(ids, offsets, np.isin(ids, list(special_ids)))

    @classmethod
    def from_arrays(cls, arrays: dict) -> "TokenBatch":
        return cls(np.asarray(arrays["ids"]), np.asarray(arrays["offsets"]), np.asarray(arrays["special"]),
                   np.asarray(arrays["mask_index"]) if "mask_index" in arrays else None)


class TableRows:
    """One layer's token states that are rows of a static table (state t = table[ids[t]]), kept as the table and
    the ids: a mean over tokens is then one sparse [n, V] @ table product (modes._weighted_sum), where the rows
    themselves would be a [T, dim] copy per layer (5.9M tokens x 384 floats for a full-data task=all cell: ~40 s
    of copying per static cell). Indexing returns real rows; np.asarray makes them all (max pooling)."""

    def __init__(self, table: np.ndarray, ids: np.ndarray):
        self.table, self.ids = table, ids

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ids), self.table.shape[1]

    @property
    def dtype(self):
        return self.table.dtype

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        return self.table[self.ids[index]]

    def __array__(self, dtype=None, copy=None):
        rows = self.table[self.ids]
        return rows if dtype is None else rows.astype(dtype)


RECENT_TOKENS = 20_000_000  # per tokenizer (~200 MB): a full-data task=all cell's lists and its corpus fit
_recent: "weakref.WeakKeyDictionary[object, OrderedDict]" = weakref.WeakKeyDictionary()


def tokenize(tokenizer, texts: list[str], max_length: int, has_mask: bool = False) -> TokenBatch:
    """Tokenise `texts` (templates already applied) the way the transformer encoder does.

    The last few lists each tokenizer tokenised are kept: the cells of a sweep that run in one process ask the
    same lists again (mean_sqrt_len's token counts, the corpus of idf and SIF, a static model's lookups), and
    tokenising them was up to a second of a 100-item cell and 6.5 s of a full-data one. The kept arrays are
    read-only; each caller gets a batch of its own to set `known` and `notes` on."""
    recent = _recent.setdefault(tokenizer, OrderedDict())
    key = (tuple(texts), max_length, has_mask)
    if key in recent:
        recent.move_to_end(key)
    else:
        recent[key] = _tokenize(tokenizer, texts, max_length, has_mask)
        while len(recent) > 1 and sum(len(batch.ids) for batch in recent.values()) > RECENT_TOKENS:
            recent.popitem(last=False)
    return replace(recent[key], notes={})


def _tokenize(tokenizer, texts: list[str], max_length: int, has_mask: bool) -> TokenBatch:
    encoded = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]
    special_ids = sorted(set(tokenizer.all_special_ids) - {tokenizer.mask_token_id, tokenizer.unk_token_id})
    batch = TokenBatch.from_rows(encoded, special_ids)
    if has_mask:
        batch.mask_index = batch.offsets[:-1] + mask_positions(encoded, tokenizer.mask_token_id)
    for array in batch.arrays().values():
        array.flags.writeable = False
    return batch
