"""Avg.: a static table where each token id's vector, per layer, is the base model's contextual state
of that token averaged over all its occurrences in the corpus (Stankevičius & Lukoševičius, 2024).

The corpus goes through the base model once, as a token entry of the encoding cache; the table is
built from it layer by layer (a sparse token-to-id sum) and stored in the cache, keyed by the base
model's identity and the corpus sentences. Tokens the corpus never shows fall back to
`model.unseen`: `embedding` (the base model's input embedding row), `zero`, or `drop` (left out of
pooling); the share of task tokens seen in the corpus is recorded as `token_coverage`.
"""
import hashlib
import logging
import time

import numpy as np
from scipy import sparse

from ..errors import choice_error
from .static import BaseModelTable
from .transformer import TransformerEncoder

log = logging.getLogger(__name__)

UNSEEN = ("embedding", "zero", "drop")
CORPUS_REQUEST = "corpus"


def corpus_digest(sentences: list[str]) -> str:
    digest = hashlib.sha256()
    for sentence in sentences:
        digest.update(b"\0" + sentence.encode("utf-8"))
    return f"{len(sentences)}:{digest.hexdigest()}"


def token_sums(batch, states: np.ndarray, vocab_size: int) -> np.ndarray:
    """[V, dim]: the sum of `states` ([T, dim]) over each token id's occurrences."""
    total = len(batch.ids)
    scatter = sparse.csr_matrix((np.ones(total), (batch.ids, np.arange(total))), shape=(vocab_size, total))
    return scatter @ states.astype(np.float64)


def build_average(base: TransformerEncoder, cache, sentences: list[str]) -> dict[str, np.ndarray]:
    """{"table": [L+1, V, dim] mean state per token id and layer, "counts": [V]} over the corpus."""
    vocab_size, layers = len(base.tokenizer), base.num_layers + 1
    table = np.zeros((layers, vocab_size, int(base.config.hidden_size)), np.float32)
    counts = None
    for layer in range(layers):
        hits, _ = cache.fetch_tokens(base, {CORPUS_REQUEST: sentences}, [layer])
        batch, states = hits[CORPUS_REQUEST]
        if counts is None:
            counts = np.bincount(batch.ids, minlength=vocab_size)
        table[layer] = token_sums(batch, states[0], vocab_size) / np.maximum(counts, 1)[:, None]
    return {"table": table, "counts": counts}


class AveragedEncoder(BaseModelTable):
    """model=avg: the Avg. table of `model.base` over the corpus; `layer` picks the table's layer."""

    kind = "avg"

    def __init__(self, cfg, template, cache, corpus):
        if cfg.unseen not in UNSEEN:
            raise choice_error("model.unseen", cfg.unseen, UNSEEN)
        super().__init__(cfg, template, cache, corpus)

    @property
    def num_layers(self) -> int:
        return self.base.num_layers

    def identity(self) -> dict:
        return {"kind": self.kind, "base": self.base.identity(), "corpus": corpus_digest(self.corpus()),
                "unseen": self.cfg.unseen, "template": self.template.describe()}

    def average(self) -> tuple[np.ndarray, np.ndarray]:
        """The raw Avg. table and counts (built once per base model and corpus, then read from the cache)."""
        if not hasattr(self, "_average"):
            sentences = self.corpus()
            started = time.perf_counter()
            arrays, built = self.cache.table({"kind": "avg", "base": self.base.identity(),
                                              "corpus": corpus_digest(sentences)},
                                             lambda: build_average(self.base, self.cache, sentences), "Avg. table")
            self.table_notes = {"table_built": built, "table_seconds": round(time.perf_counter() - started, 3),
                                "corpus_sentences": len(sentences),
                                "vocabulary_seen": int((arrays["counts"] > 0).sum())}
            self._average = (arrays["table"], arrays["counts"])
        return self._average

    def table(self) -> np.ndarray:
        table, counts = self.average()
        if self.cfg.unseen == "embedding":
            unseen = counts == 0
            rows = self.base.model.get_input_embeddings().weight.detach().float().cpu().numpy()
            table = table.copy()
            table[:, unseen] = rows[unseen][None]
        return table

    def known(self) -> np.ndarray | None:
        return self.average()[1] > 0 if self.cfg.unseen == "drop" else None
