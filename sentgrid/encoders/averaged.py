"""Avg.: a static table where each token id's vector, per layer, is the base model's contextual state
of that token averaged over all its occurrences in the corpus (Stankevičius & Lukoševičius, 2024).

The corpus goes through the base model once, as a token entry of the store; the table is built from it
layer by layer (a sparse token-to-id sum) by the store's tables room, keyed by the base model's
identity and the corpus sentences. Tokens the corpus never shows fall back to
`model.unseen`: `embedding` (the base model's input embedding row), `zero`, or `drop` (left out of
pooling); the share of task tokens seen in the corpus is recorded as `token_coverage`.
"""
import hashlib

import numpy as np
from scipy import sparse

from ..errors import choice_error
from .static import BaseModelTable

UNSEEN = ("embedding", "zero", "drop")


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


def build_average(corpus_states, vocab_size: int, layers: int) -> dict[str, np.ndarray]:
    """{"table": [layers, V, dim] mean state per token id and layer, "counts": [V]} over the corpus;
    `corpus_states([layer])` gives the corpus's (TokenBatch, states [1, T, dim])."""
    table, counts = None, None
    for layer in range(layers):
        batch, states = corpus_states([layer])
        if counts is None:
            counts = np.bincount(batch.ids, minlength=vocab_size)
            table = np.zeros((layers, vocab_size, states.shape[-1]), np.float32)
        table[layer] = token_sums(batch, states[0], vocab_size) / np.maximum(counts, 1)[:, None]
    return {"table": table, "counts": counts}


class AveragedEncoder(BaseModelTable):
    """model=avg: the Avg. table of `model.base` over the corpus; `layer` picks the table's layer."""

    kind = "avg"
    layered = True
    TABLE_WORK_PER_S = 5.5e8  # `table_work` per second of a build, until one is measured here (MiniLM, 2 cores)

    def __init__(self, cfg, template, corpus=None, fingerprints=None):
        if cfg.unseen not in UNSEEN:
            raise choice_error("model.unseen", cfg.unseen, UNSEEN)
        super().__init__(cfg, template, corpus, fingerprints)

    @property
    def num_layers(self) -> int:
        return self.base.num_layers

    def identity(self) -> dict:
        return {"kind": self.kind, "base": self.base.identity(), "corpus": corpus_digest(self.corpus()),
                "unseen": self.cfg.unseen, "template": self.template.describe()}

    def table_identity(self) -> dict:
        return {"kind": "avg", "base": self.base.identity(), "corpus": corpus_digest(self.corpus())}

    def build_table(self, corpus_states) -> dict[str, np.ndarray]:
        return build_average(corpus_states, len(self.base.tokenizer), self.base.num_layers + 1)

    def table_work(self) -> float:
        """Corpus characters x layers x width: the token states summed."""
        return sum(map(len, self.corpus())) * (self.base.num_layers + 1) * self.base.hidden_size

    def table(self) -> np.ndarray:
        arrays = self.built()
        table, counts = arrays["table"], arrays["counts"]
        if self.cfg.unseen == "embedding":
            unseen = counts == 0
            rows = self.base.model.get_input_embeddings().weight.detach().float().cpu().numpy()
            table = table.copy()
            table[:, unseen] = rows[unseen][None]
        return table

    def known(self) -> np.ndarray | None:
        return self.built()["counts"] > 0 if self.cfg.unseen == "drop" else None
