"""BERT + Avg.: per token, (1 - w) * h_layer(token | sentence) + w * Avg_layer[token].

w = 0 is the base model, w = 1 is Avg. (read through the same tokens), 0.5 is the paper's "B + Avg.".
The base model's token states come from its token entries in the store (it is this encoder's
`forward_model`), so a w x layer sweep runs the base model once per dataset. Tokens the corpus never
shows keep the base state alone when
`model.unseen=drop`, and use the Avg. fallback row otherwise.
"""
import numpy as np

from ..errors import SentgridError
from ..templates import Template
from .averaged import AveragedEncoder
from .base import Produces
from .static import base_encoder


class MixEncoder:
    """A transformer's token states mixed with its averaged static table (BERT + Avg.)."""

    kind = "bert_avg"
    exports_to = None  # neither sentence-transformers nor Model2Vec has a module for the mix
    produces = Produces.TOKENS | Produces.TABLE
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
