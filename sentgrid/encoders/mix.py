"""BERT + Avg.: per token, (1 - w) * h_layer(token | sentence) + w * Avg_layer[token].

w = 0 is the base model, w = 1 is Avg. (read through the same tokens), 0.5 is the paper's "B + Avg.".
The base model's token states come from its token entries in the store (it is this encoder's
`forward_model`), so a w x layer sweep runs the base model once per dataset. Tokens the corpus never
shows keep the base state alone when
`model.unseen=drop`, and use the Avg. fallback row otherwise.

The mix is linear per token: when every token takes the same share w (any `model.unseen` but drop), the mean
of the mixed tokens is the mix of the two means, and the mixed [CLS] or [MASK] state the mix of that token's.
Those cells read the base model's primitive entries (a few vectors per sentence) and the Avg. rows of the
sentence's token ids; only max pooling, token weighting, bias removal and `unseen=drop` read token entries
(every token, every layer: 51 GiB for the paper's 26 datasets on MiniLM).
"""
import numpy as np
from scipy import sparse

from ..errors import SentgridError
from ..pooling.primitives import CLS, MASK, MEAN_ALL, MEAN_CONTENT
from ..templates import Template
from .averaged import AveragedEncoder
from .base import Produces
from .static import base_encoder


class MixEncoder:
    """A transformer's token states mixed with its averaged static table (BERT + Avg.)."""

    kind = "bert_avg"
    exports_to = None  # neither sentence-transformers nor Model2Vec has a module for the mix
    LINEAR = (CLS, MEAN_ALL, MEAN_CONTENT, MASK)  # the primitives the mix commutes with (max does not)
    TABLE_WORK_PER_S = AveragedEncoder.TABLE_WORK_PER_S  # its table is the Avg. table
    layered = True

    def __init__(self, cfg, template, corpus=None, fingerprints=None):
        self.cfg = cfg
        self.label = str(cfg.name)
        self.weight = float(cfg.w)
        if not 0.0 <= self.weight <= 1.0:
            raise SentgridError(f"model.w={cfg.w} is outside [0, 1]; 0 is the base model, 1 is Avg.")
        self.base = base_encoder(cfg.base, fingerprints, template)
        # The Avg. table has no template (it averages the corpus as it is).
        self.average = AveragedEncoder(cfg, Template("none", None), corpus, fingerprints)
        self.template = template

    @property
    def produces(self) -> Produces:
        same_share = self.cfg.unseen != "drop"  # drop gives unseen tokens no share: not a mix of the means
        return Produces.TOKENS | Produces.TABLE | (Produces.PRIMITIVES if same_share else Produces(0))

    def serves(self, primitive: str) -> bool:
        return primitive in self.LINEAR

    @property
    def forward_model(self):
        return self.base

    # The table is the Avg. table of the same base model and corpus.
    def table_source(self):
        return self.average.table_source()

    def table_identity(self) -> dict:
        return self.average.table_identity()

    def build_table(self, corpus_states):
        return self.average.build_table(corpus_states)

    def table_work(self) -> float:
        return self.average.table_work()

    def use_table(self, arrays, notes) -> None:
        self.average.use_table(arrays, notes)

    @property
    def num_layers(self) -> int:
        return self.base.num_layers

    @property
    def tokenizer(self):
        return self.base.tokenizer

    def vocabulary(self):
        return self.average.vocabulary()

    def tokenize_corpus(self, sentences):
        return self.average.tokenize_corpus(sentences)

    def identity(self) -> dict:
        return {"kind": self.kind, "w": self.weight, "base": self.base.identity(),
                "average": self.average.identity()}

    def describe(self) -> dict:
        return {"kind": self.kind, "w": self.weight, "num_layers": self.num_layers,
                "base": self.base.describe(), "average": self.average.describe()}

    def token_states(self, requests, layers, computed):
        hits, stats = computed, {}
        table, known = self.average.table(), self.average.known()
        out, unknown, tokens = {}, 0, 0
        for name, (batch, states) in hits.items():
            share = np.full(len(batch.ids), self.weight, np.float32)
            if known is not None:
                share[~known[batch.ids]] = 0.0
                unknown += int((~known[batch.ids]).sum())
            tokens += len(batch.ids)
            mixed = np.stack([(1 - share)[:, None] * states[i] + share[:, None] * table[layer][batch.ids]
                              for i, layer in enumerate(layers)])
            out[name] = (batch, mixed)
        stats.update(tokens_without_average=unknown, token_coverage=round(1 - unknown / max(tokens, 1), 6))
        return out, stats

    def from_primitives(self, arrays, sentences, primitive, layers):
        """(1 - w) * the base model's `primitive` ({name: [layers, n, dim]}) + w * the same reduction of the Avg.
        rows of the sentences' tokens (as the forward pass tokenised them); and the coverage statistics."""
        table, counts = self.average.table(), self.average.built()["counts"]
        out, unknown, tokens = {}, 0, 0
        for name, base in arrays.items():
            batch = self.base.token_batch(sentences[name])
            unknown += int((counts[batch.ids] == 0).sum())
            tokens += len(batch.ids)
            reduce = reduction(batch, primitive, table.shape[1])  # one matrix for every layer
            rows = np.stack([reduce @ table[layer] for layer in layers])
            out[name] = ((1 - self.weight) * base + self.weight * rows).astype(np.float32)
        return out, {"tokens_without_average": unknown, "token_coverage": round(1 - unknown / max(tokens, 1), 6)}


def reduction(batch, primitive: str, vocabulary: int) -> sparse.csr_matrix:
    """[n, V] float32: each sentence's share of each token id, so that `reduction @ rows` ([V, dim]) reduces the
    table rows of its tokens as the forward pass reduces its states to `primitive` (pooling/primitives.py:
    means over real or content tokens, the first token, [MASK])."""
    sentence, n = batch.sentence_of_token(), len(batch)
    if primitive in (CLS, MASK):
        position = batch.offsets[:-1] if primitive == CLS else batch.mask_index
        return sparse.csr_matrix((np.ones(n, np.float32), (np.arange(n), batch.ids[position])), shape=(n, vocabulary))
    keep = ~batch.special if primitive == MEAN_CONTENT else np.ones(len(batch.ids), bool)
    keep |= (np.bincount(sentence, weights=keep, minlength=n) == 0)[sentence]  # no content token: all real tokens
    share = keep / np.maximum(np.bincount(sentence, weights=keep, minlength=n), 1)[sentence]
    return sparse.csr_matrix((share.astype(np.float32), (sentence, batch.ids)), shape=(n, vocabulary))
