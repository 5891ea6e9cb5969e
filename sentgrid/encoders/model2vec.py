"""model=m2v: Model2Vec (Tulkens & van Dongen, 2024), distilled from `model.base` by the `model2vec`
library's own `distill`: every vocabulary token passes through the base model once, PCA to `pca_dims`,
SIF weights baked into the rows. Built once and kept in the store as a table keyed by the base model's
identity and these settings (16 s for MiniLM on 2 cores), then tokenised as Model2Vec tokenises
(its own tokenizer, no special tokens, the unknown token left out) and pooled, weighted, post-processed
and evaluated like every other static model. pooling=avg gives exactly `StaticModel.encode`'s vectors
(before its normalisation, which cosine similarity does not see).
"""
from functools import cached_property

import numpy as np

from ..errors import SentgridError
from ..pooling.tokens import TokenBatch
from ..pooling.weighting import Vocabulary
from .static import BaseModelTable
from .transformer import resolve_device


class Model2VecEncoder(BaseModelTable):
    kind = "m2v"
    layered = False
    TABLE_WORK_PER_S = 2.2e9  # `table_work` per second of a build, until one is measured here (MiniLM, 2 cores)

    def table_source(self):
        return self.base, []  # distill passes the vocabulary itself: no corpus pass

    def table_identity(self) -> dict:
        from importlib.metadata import version

        return {"kind": "m2v", "base": self.base.identity(), "pca_dims": self.cfg.pca_dims,
                "sif_coefficient": self.cfg.sif_coefficient, "token_remove_pattern": self.cfg.token_remove_pattern,
                "quantize_to": self.cfg.quantize_to, "model2vec": version("model2vec")}

    def identity(self) -> dict:
        return {**self.table_identity(), "max_length": int(self.cfg.max_length), "template": self.template.describe()}

    def build_table(self, corpus_states) -> dict[str, np.ndarray]:
        try:
            from model2vec.distill import distill
        except ImportError:
            raise SentgridError("model=m2v distils with the model2vec library: pip install 'sentgrid[m2v]'.") from None
        if self.base.folder is None:
            raise SentgridError("model=m2v distils a pretrained model: model.base needs a model folder (model.base.path).")
        model = distill(str(self.base.folder), pca_dims=self.cfg.pca_dims, sif_coefficient=self.cfg.sif_coefficient,
                        token_remove_pattern=self.cfg.token_remove_pattern, quantize_to=self.cfg.quantize_to,
                        device=str(resolve_device(self.base.cfg.device)))
        table = np.asarray(model.embedding, dtype=np.float32)
        return {"table": table[None], "counts": np.ones(len(table), np.int64),
                "tokenizer": np.frombuffer(model.tokenizer.to_str().encode("utf-8"), dtype=np.uint8)}

    def table_work(self) -> float:
        """Vocabulary x layers x width^2: every token through the base model once."""
        return len(self.base.tokenizer) * self.base.num_layers * self.base.hidden_size ** 2

    def table(self) -> np.ndarray:
        return self.built()["table"]

    @cached_property
    def m2v_tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(bytes(self.built()["tokenizer"]).decode("utf-8"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(int(self.cfg.max_length))
        return tokenizer

    @cached_property
    def unknown_id(self) -> int | None:
        token = getattr(self.m2v_tokenizer.model, "unk_token", None)
        return None if token is None else self.m2v_tokenizer.token_to_id(token)

    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of_backend(self.m2v_tokenizer)

    def tokenize(self, sentences, template=True):
        texts = [self.template.apply(s) for s in sentences] if template else list(sentences)
        rows = [e.ids for e in self.m2v_tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        if self.unknown_id is not None:  # as StaticModel.tokenize: the unknown token has no vector
            rows = [[i for i in row if i != self.unknown_id] for row in rows]
        return TokenBatch.from_rows(rows)
