"""Pair classification (MTEB's PairClassification protocol): the cosine of each pair as the score that it is
a paraphrase; accuracy and F1 at their best thresholds, and average precision, x100. The thresholds are
chosen on the evaluated pairs themselves, as MTEB and sentence-transformers' BinaryClassificationEvaluator
do (a tie between scores is never split)."""
import numpy as np
from sklearn.metrics import average_precision_score

from ..data.pair_classification import PairData
from .sts import cosine


def best_accuracy_and_f1(similarity: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The best accuracy and the best F1 over every threshold (predict 1 at or above it) that keeps ties together."""
    order = np.argsort(-similarity, kind="stable")
    ranked, positives = similarity[order], labels[order].astype(np.int64)
    taken = np.arange(1, len(ranked) + 1)
    true_positives = np.cumsum(positives)
    group_ends = np.r_[ranked[1:] != ranked[:-1], True]  # a threshold falls only between distinct scores
    taken, true_positives = taken[group_ends], true_positives[group_ends]
    total_positive, total_negative = int(positives.sum()), len(positives) - int(positives.sum())
    correct = true_positives + (total_negative - (taken - true_positives))
    accuracy = max(total_negative, int(correct.max())) / len(positives)
    f1 = np.where(true_positives > 0, 2 * true_positives / (taken + total_positive), 0.0)
    return float(accuracy), float(f1.max())


def evaluate(data: PairData, vectors: np.ndarray, sentences: list[str], cfg=None) -> dict[str, float]:
    """Scores of `data` given `vectors[i]` for `sentences[i]` (the dataset's distinct sentences)."""
    row = {s: i for i, s in enumerate(sentences)}
    similarity = cosine(vectors[[row[a] for a, _ in data.pairs]], vectors[[row[b] for _, b in data.pairs]])
    accuracy, f1 = best_accuracy_and_f1(similarity, data.labels)
    return {"ap": 100 * float(average_precision_score(data.labels, similarity)), "accuracy": 100 * accuracy,
            "f1": 100 * f1, "pairs": float(len(data))}


def fit_sentences(data: PairData) -> list[str]:
    return data.sentences


def scored_sentences(data: PairData) -> list[str]:
    return data.sentences
