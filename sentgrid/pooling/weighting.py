"""Token weights for pooling: idf (from the task's texts or the corpus), SIF, and bias removal.

Every scheme is a vector over the vocabulary ([V], >= 0) looked up per token; bias removal sets
the removed tokens' weight to 0. Counting is over the same tokenisation the model sees.

* idf(t) = log((N + 1) / (df(t) + 1)), N sentences, df(t) the sentences containing t (smoothed so
  unseen tokens get the largest weight, and tokens in every sentence, like [CLS], get 0).
* SIF(t) = a / (a + p(t)), p(t) the token's share of all corpus tokens (Arora et al., 2017).
* bias removal `frequent`: the k most frequent corpus tokens (special tokens aside), punctuation-only
  tokens and `##` sub-words; `promptbert`: PromptBERT's fixed lists (kongds/Prompt-BERT,
  evaluation.py, `--remove_continue_word`) plus `##` sub-words.
"""
import unicodedata
from dataclasses import dataclass

import numpy as np

WEIGHTINGS = ("none", "idf_task", "idf_corpus", "sif")
BIAS_REMOVALS = ("none", "frequent", "promptbert")

# PromptBERT's lists for bert-base-uncased: frequent STS tokens and punctuation.
PROMPTBERT_FREQUENT = {".", "a", "the", "in", ",", "is", "to", "of", "and", "'", "on", "man", "-", "s", "with",
                       "for", '"', "at", "##s", "woman", "are", "it", "two", "that", "you", "dog", "said",
                       "playing", "i", "an", "as", "was", "from", ":", "by", "white"}
PROMPTBERT_PUNCTUATION = set("?*#´’=…|~/‚¿–»-€‘\"(•`$:[”%£<;“@_{^,.!™&]>\\')+—")


@dataclass(frozen=True)
class Vocabulary:
    """Token strings by id, and how this tokenizer spells a word-continuing piece and the unknown token
    (`##` and `[UNK]` in BERT's WordPiece; bias removal follows the tokenizer, not BERT's spelling)."""
    tokens: list
    continuation: str | None = "##"   # prefix of pieces that continue a word; None: the tokenizer marks none
    unknown: str | None = "[UNK]"

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def of(cls, tokenizer) -> "Vocabulary":
        """Of a transformers tokenizer."""
        model = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
        return cls(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))), _continuation(model), tokenizer.unk_token)

    @classmethod
    def of_backend(cls, tokenizer) -> "Vocabulary":
        """Of a `tokenizers.Tokenizer` (Model2Vec's)."""
        tokens = [tokenizer.id_to_token(i) for i in range(tokenizer.get_vocab_size())]
        return cls(tokens, _continuation(tokenizer.model), getattr(tokenizer.model, "unk_token", None))

    def subwords(self) -> np.ndarray:
        if not self.continuation:
            return np.zeros(len(self.tokens), bool)
        return np.array([t.startswith(self.continuation) for t in self.tokens])


def _continuation(model) -> str | None:
    """The prefix a WordPiece model marks word-continuing pieces with; other models mark none."""
    return getattr(model, "continuing_subword_prefix", None) if type(model).__name__ == "WordPiece" else None


def needs_corpus(weighting: str, bias_removal: str) -> bool:
    return weighting in ("idf_corpus", "sif") or bias_removal == "frequent"


def idf(batch, vocab_size: int) -> np.ndarray:
    sentence = batch.sentence_of_token()
    pairs = np.unique(sentence * vocab_size + batch.ids)  # (sentence, token) present
    df = np.bincount(pairs % vocab_size, minlength=vocab_size)
    return np.log((len(batch) + 1) / (df + 1))


def sif(batch, vocab_size: int, a: float) -> np.ndarray:
    counts = np.bincount(batch.ids[~batch.special], minlength=vocab_size)
    return a / (a + counts / max(counts.sum(), 1))


def is_punctuation(token: str) -> bool:
    return bool(token) and all(unicodedata.category(c).startswith(("P", "S")) for c in token)


def removed_tokens(pooling, vocabulary: Vocabulary, corpus) -> np.ndarray:
    """[V] bool: the tokens `pooling.bias_removal` drops."""
    if not isinstance(vocabulary, Vocabulary):
        vocabulary = Vocabulary(list(vocabulary))
    tokens, removal = vocabulary.tokens, pooling.bias_removal
    removed = np.zeros(len(tokens), bool)
    if removal == "none":
        return removed
    if removal == "promptbert":
        continuation = vocabulary.continuation or "##"  # the lists are spelled in BERT's WordPiece
        listed = {t.replace("##", continuation, 1) for t in PROMPTBERT_FREQUENT} | PROMPTBERT_PUNCTUATION
        listed |= {vocabulary.unknown} if vocabulary.unknown else set()
        return vocabulary.subwords() | np.array([t in listed for t in tokens])
    counts = np.bincount(corpus.ids[~corpus.special], minlength=len(tokens))
    top_k = pooling.bias_top_k
    removed[np.argsort(-counts, kind="stable")[:top_k]] = True
    return removed | vocabulary.subwords() | np.array([is_punctuation(t) for t in tokens])


def weight_table(pooling, vocabulary: Vocabulary, task_batch, corpus_batch, removed=None) -> np.ndarray:
    """[V] the weight of each token id, 0 for the tokens bias removal drops (`task_batch` only for idf_task;
    `removed`: those tokens when the caller has them already)."""
    if removed is None:
        removed = removed_tokens(pooling, vocabulary, corpus_batch)
    vocab_size = len(vocabulary)
    weighting = pooling.weighting
    if weighting == "idf_task":
        table = idf(task_batch, vocab_size)
    elif weighting == "idf_corpus":
        table = idf(corpus_batch, vocab_size)
    elif weighting == "sif":
        table = sif(corpus_batch, vocab_size, pooling.sif_a)
    else:
        table = np.ones(vocab_size)
    return np.where(removed, 0.0, table)


def token_weights(pooling, vocabulary: Vocabulary, task_batch, corpus_batch) -> tuple[np.ndarray | None, dict]:
    """Per-token weights [T] for `task_batch` (None when `pooling` is plain), and what to record about them."""
    if pooling.plain:
        return None, {}
    removed = removed_tokens(pooling, vocabulary, corpus_batch)
    weights = weight_table(pooling, vocabulary, task_batch, corpus_batch, removed)[task_batch.ids]
    return weights, {"tokens_removed": int((removed[task_batch.ids] & ~task_batch.special).sum()),
                     "vocabulary_removed": int(removed.sum())}
