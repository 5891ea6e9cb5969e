"""Pooling modes: how a sentence's token states become one vector. One registry, one entry per mode.

A mode says which cached primitive serves it (so a cell needs no forward pass when the entry exists),
whether it reads a single token (then token weights do not apply), whether it takes token weights,
and its token-level function, used when the cell pools token states (token weighting, bias removal,
static models, mixes, and modes no primitive serves).

Token-level functions take one layer's states [T, dim] of a flat `TokenBatch` (an array, or a static
table's `TableRows`), the per-token weights `w` [T] (0 = left out) and their per-sentence sums `mass` [n],
and return [n, dim]. Layers are pooled one at a time and averaged. Names follow sentence-transformers'
`Pooling` where it has the mode.
"""
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from . import primitives as p
from .tokens import TableRows


def _first(states, batch, w, mass):
    return states[batch.offsets[:-1]]


def _mask(states, batch, w, mass):
    return states[batch.mask_index]


def _last(states, batch, w, mass):
    return states[np.maximum(batch.offsets[1:] - 1, 0)] if len(batch.ids) else np.zeros((len(batch), states.shape[1]))


def _weighted_sum(states, batch, w, scale):
    """Σ_t w_t / scale_s · h_t per sentence s (the scale folded into the weights, as the reference numbers were made)."""
    sentence = batch.sentence_of_token()
    scaled = w / np.maximum(scale, 1e-12)[sentence]
    if isinstance(states, TableRows):  # a static table's rows: each sentence's weight per token id, then one product
        matrix = sparse.csr_matrix((scaled, (sentence, states.ids)), shape=(len(batch), len(states.table)))
        return matrix @ states.table.astype(np.float64)
    matrix = sparse.csr_matrix((scaled, (sentence, np.arange(len(batch.ids)))), shape=(len(batch), len(batch.ids)))
    return matrix @ states.astype(np.float64)


def _mean(states, batch, w, mass):
    return _weighted_sum(states, batch, w, mass)


def _mean_sqrt_len(states, batch, w, mass):
    return _weighted_sum(states, batch, w, np.sqrt(mass))


def _position_weighted_mean(states, batch, w, mass):
    """SGPT's weighted mean: token i of a sentence (from 1) weighs i."""
    position = np.arange(len(batch.ids)) - np.repeat(batch.offsets[:-1], batch.lengths) + 1
    weights = w * position
    total = np.bincount(batch.sentence_of_token(), weights=weights, minlength=len(batch))
    return _weighted_sum(states, batch, weights, total)


def _max(states, batch, w, mass):
    if not len(batch.ids):
        return np.zeros((len(batch), states.shape[1]))
    starts = np.minimum(batch.offsets[:-1], len(batch.ids) - 1)
    pooled = np.maximum.reduceat(np.where((w > 0)[:, None], states, -np.inf), starts, axis=0)
    return np.where((mass > 0)[:, None], pooled, 0.0)


@dataclass(frozen=True)
class Mode:
    name: str
    description: str
    tokens: Callable                 # the token-level function (see the module doc)
    primitive: dict | None = None    # special_tokens (include|exclude) -> the cached primitive; None: token states
    one_token: bool = False          # reads one token: weighting and bias removal do not apply
    weighted: bool = True            # takes token weights (idf, SIF); bias removal works for every multi-token mode
    sqrt_length: bool = False        # served from a mean primitive times sqrt(tokens): needs token counts
    st_name: str | None = None       # sentence-transformers' Pooling mode (special tokens included); None: it has none
    linear: bool = True              # pooling commutes with averaging layers (max does not): layers may be averaged first

    def served_by(self, special_tokens: str) -> str | None:
        return None if self.primitive is None else self.primitive[special_tokens]


def _both(name):
    return {"include": name, "exclude": name}


MODES = {mode.name: mode for mode in [
    Mode("cls", "the first token's state ([CLS])", _first, _both(p.CLS), one_token=True, st_name="cls"),
    Mode("avg", "mean over tokens", _mean, {"include": p.MEAN_ALL, "exclude": p.MEAN_CONTENT}, st_name="mean"),
    Mode("max", "element-wise max over tokens", _max, {"include": p.MAX_ALL, "exclude": p.MAX_CONTENT},
         weighted=False, st_name="max", linear=False),
    Mode("template", "the state at the template's [MASK]", _mask, _both(p.MASK), one_token=True),
    Mode("lasttoken", "the last token's state (decoder models; [SEP] for BERT)", _last, one_token=True,
         st_name="lasttoken"),
    Mode("mean_sqrt_len", "sum over tokens / sqrt(number of tokens)", _mean_sqrt_len,
         {"include": p.MEAN_ALL, "exclude": p.MEAN_CONTENT}, sqrt_length=True, st_name="mean_sqrt_len_tokens"),
    Mode("weightedmean", "position-weighted mean (SGPT): token i weighs i", _position_weighted_mean, weighted=False,
         st_name="weightedmean"),
]}


def pool_primitive(per_layer: np.ndarray, mode: Mode, token_counts: np.ndarray | None = None) -> np.ndarray:
    """Sentence vectors [n, dim] from one primitive read at the cell's layers ([layers, n, dim])."""
    if len(per_layer) == 1 and not mode.sqrt_length and per_layer.dtype == np.float32:
        return per_layer[0]  # the mean of one layer is that layer
    out = per_layer.mean(axis=0, dtype=np.float64)
    if mode.sqrt_length:
        out = out * np.sqrt(np.maximum(token_counts, 1))[:, None]
    return out.astype(np.float32)


def pool_tokens(states: np.ndarray, batch, mode: Mode, weights: np.ndarray | None = None,
                special_tokens: str = "include") -> tuple[np.ndarray, dict]:
    """Sentence vectors [n, dim] from token states [layers, T, dim] of `batch`, averaged over layers.

    `weights` ([T], >= 0) weight each token (idf, SIF) and drop tokens with weight 0 (bias removal).
    Tokens without a vector (`batch.known` False) always count 0. A sentence left with no token falls
    back to all its known tokens, then to a zero vector; both are counted in the returned notes.
    """
    if mode.one_token:
        return np.mean([mode.tokens(layer, batch, None, None) for layer in states], axis=0,
                       dtype=np.float64).astype(np.float32), {}
    n, total = len(batch), len(batch.ids)
    known = np.ones(total, bool) if batch.known is None else batch.known
    keep = known & ~batch.special if special_tokens == "exclude" else known.copy()
    w = keep.astype(np.float64) if weights is None else np.where(keep, weights, 0.0)
    sentence = batch.sentence_of_token()
    mass = np.bincount(sentence, weights=w, minlength=n)
    empty = mass <= 0
    if empty.any():  # everything removed: fall back to the sentence's known tokens
        w = np.where(empty[sentence] & known, 1.0, w)
        mass = np.bincount(sentence, weights=w, minlength=n)
    notes = {"sentences_fallback": int(empty.sum()), "sentences_zero": int((mass <= 0).sum())}
    pooled = np.mean([mode.tokens(layer, batch, w, mass) for layer in states], axis=0, dtype=np.float64)
    return pooled.astype(np.float32), notes
