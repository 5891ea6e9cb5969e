"""B2S: BERT2Static in the manner of X2Static (Gupta & Jaggi, 2021).

Static token vectors U are trained on the corpus, CBOW-style with negative sampling, to predict the
base model's contextual representation of each token's context:

    context c_t = mean of the teacher states (layer `teacher_layer`) of the other content tokens of
                  the sentence (X2Static's sentence-level context), L2-normalised, and projected
                  onto its top `dim` principal directions when `dim` < the teacher's width;
    loss        = -log sigmoid(U[w_t] . c_t) - sum over k negatives of log sigmoid(-U[n_k] . c_t),
                  negatives drawn from the corpus unigram distribution ** 0.75.

Only U is learned. Tokens the corpus never shows have no vector (left out of pooling, counted).
The table is trained once per (base model, corpus, settings) by the store's tables room.
"""
import logging

import numpy as np
from scipy import sparse
from tqdm.auto import tqdm

from ..errors import SentgridError
from ..layers import resolve_index
from .averaged import corpus_digest
from .static import BaseModelTable

log = logging.getLogger(__name__)

# Bump when the training code changes what it produces, so cached tables are retrained.
TRAINING_VERSION = 2
TRAINING_KEYS = ("teacher_layer", "dim", "epochs", "lr", "negatives", "batch_size", "seed")


def sentence_contexts(batch, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(targets [N] token ids, contexts [N, dim]) for every content token of a sentence with >= 2 of them."""
    content = ~batch.special
    sentence = batch.sentence_of_token()
    n = len(batch)
    per_sentence = np.bincount(sentence[content], minlength=n)
    total = len(batch.ids)
    scatter = sparse.csr_matrix((content.astype(np.float64), (sentence, np.arange(total))), shape=(n, total))
    sums = scatter @ states.astype(np.float64)
    usable = content & (per_sentence[sentence] >= 2)
    others = (sums[sentence[usable]] - states[usable]) / (per_sentence[sentence[usable]] - 1)[:, None]
    return batch.ids[usable], others.astype(np.float32)


def train_static(targets: np.ndarray, contexts: np.ndarray, vocab_size: int, settings: dict,
                 progress: bool = True) -> dict[str, np.ndarray]:
    """{"table": [1, V, dim], "counts": [V], "loss": [epochs]}: U trained to score contexts (see module doc)."""
    import torch
    from sklearn.decomposition import PCA

    dim = int(settings["dim"])
    if dim > contexts.shape[1]:
        raise SentgridError(f"model.dim={dim} is wider than the teacher ({contexts.shape[1]}); use at most that.")
    contexts = contexts / np.maximum(np.linalg.norm(contexts, axis=1, keepdims=True), 1e-12)
    if dim < contexts.shape[1]:
        contexts = PCA(dim, random_state=int(settings["seed"])).fit_transform(contexts)
        contexts /= np.maximum(np.linalg.norm(contexts, axis=1, keepdims=True), 1e-12)
    counts = np.bincount(targets, minlength=vocab_size)
    generator = torch.Generator().manual_seed(int(settings["seed"]))
    noise = torch.tensor(counts, dtype=torch.float64) ** 0.75
    noise /= noise.sum()
    # Sparse rows: each step touches only the batch's targets and negatives, not the whole vocabulary.
    vectors = torch.nn.Embedding(vocab_size, dim, sparse=True)
    with torch.no_grad():
        vectors.weight.copy_(torch.randn(vocab_size, dim, generator=generator) * 0.01)
    optimizer = torch.optim.SparseAdam(list(vectors.parameters()), lr=float(settings["lr"]))
    x = torch.tensor(contexts, dtype=torch.float32)
    y = torch.tensor(targets, dtype=torch.long)
    batch_size, negatives = int(settings["batch_size"]), int(settings["negatives"])
    losses = []
    for _ in tqdm(range(int(settings["epochs"])), desc="train B2S", unit="epoch", disable=not progress):
        order = torch.randperm(len(y), generator=generator)
        total = 0.0
        for start in range(0, len(y), batch_size):
            rows = order[start:start + batch_size]
            c = x[rows]
            negative = torch.multinomial(noise, len(rows) * negatives, replacement=True, generator=generator)
            positive_score = (vectors(y[rows]) * c).sum(dim=1)
            negative_score = torch.bmm(vectors(negative).view(len(rows), negatives, dim), c[:, :, None]).squeeze(2)
            loss = -(torch.nn.functional.logsigmoid(positive_score).mean()
                     + torch.nn.functional.logsigmoid(-negative_score).sum(dim=1).mean())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / len(y))
    return {"table": vectors.weight.detach().numpy()[None].astype(np.float32), "counts": counts,
            "loss": np.array(losses, np.float64)}


class Bert2StaticEncoder(BaseModelTable):
    """model=b2s: the B2S table of `model.base` on the corpus; `layer` is n/a (one static table)."""

    kind = "b2s"
    TABLE_WORK_PER_S = 8.4e8  # `table_work` per second of a build, until one is measured here (MiniLM, 2 cores)

    def settings(self) -> dict:
        return {"version": TRAINING_VERSION, **{key: self.cfg[key] for key in TRAINING_KEYS}}

    def identity(self) -> dict:
        return {"kind": self.kind, "base": self.base.identity(), "corpus": corpus_digest(self.corpus()),
                "settings": self.settings(), "template": self.template.describe()}

    def table_identity(self) -> dict:
        return {"kind": "b2s", "base": self.base.identity(), "corpus": corpus_digest(self.corpus()),
                "settings": self.settings()}

    def build_table(self, corpus_states) -> dict[str, np.ndarray]:
        layer = resolve_index(self.cfg.teacher_layer, self.base.num_layers)
        batch, states = corpus_states([layer])
        targets, contexts = sentence_contexts(batch, states[0])
        log.info("training B2S on %d corpus tokens (teacher layer %d)", len(targets), layer)
        return train_static(targets, contexts, len(self.base.tokenizer), self.settings())

    def table_work(self) -> float:
        """Corpus characters x epochs x (1 + negatives) x dim: the scores trained."""
        return (sum(map(len, self.corpus())) * int(self.cfg.epochs) * (1 + int(self.cfg.negatives))
                * int(self.cfg.dim))

    def extra_notes(self) -> dict:
        return {"final_loss": float(self.arrays["loss"][-1])}

    def table(self) -> np.ndarray:
        return self.built()["table"]

    def known(self) -> np.ndarray:
        return self.built()["counts"] > 0
