"""Pair classification (MTEB's PairClassification protocol): the cosine of each pair as the score that it is
a paraphrase; accuracy and F1 at their best thresholds, and average precision, x100. The thresholds are
chosen on the evaluated pairs themselves, as MTEB and sentence-transformers' BinaryClassificationEvaluator
do (a tie between scores is never split)."""
import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

from ..data.pair_classification import PairData
from ..stats import weighted
from .sts import cosine


def best_accuracy_and_f1(similarity: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The best accuracy and the best F1 over every threshold (predict 1 at or above it); scikit-learn's curves
    put a threshold only between distinct scores, so a tie is never split."""
    positive, negative = int(labels.sum()), len(labels) - int(labels.sum())
    if not positive or not negative:  # one class only (a tiny slice): no curve; every pair called that class
        return 1.0, float(positive > 0)
    false_rate, true_rate, _ = roc_curve(labels, similarity, drop_intermediate=False)
    accuracy = ((true_rate * positive + (1 - false_rate) * negative) / len(labels)).max()
    precision, recall, _ = precision_recall_curve(labels, similarity)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision),
                   where=precision + recall > 0)
    return float(accuracy), float(f1.max())


def predict(data: PairData, vectors: np.ndarray, sentences: list[str], cfg=None) -> dict[str, np.ndarray]:
    """The similarity of each pair given `vectors[i]` for `sentences[i]`, beside its label."""
    row = {s: i for i, s in enumerate(sentences)}
    similarity = cosine(vectors[[row[a] for a, _ in data.pairs]], vectors[[row[b] for _, b in data.pairs]])
    return {"similarity": similarity, "gold": data.labels}


def rescore(outputs: dict[str, np.ndarray]) -> dict[str, float]:
    similarity, labels = outputs["similarity"], outputs["gold"]
    accuracy, f1 = best_accuracy_and_f1(similarity, labels)
    return {"ap": 100 * float(average_precision_score(labels, similarity)), "accuracy": 100 * accuracy,
            "f1": 100 * f1, "pairs": float(len(labels))}


def evaluate(data: PairData, vectors: np.ndarray, sentences: list[str], cfg=None) -> dict[str, float]:
    """Scores of `data` given `vectors[i]` for `sentences[i]` (the dataset's distinct sentences)."""
    return rescore(predict(data, vectors, sentences, cfg))


def resampled(outputs: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, np.ndarray]:
    """Average precision and the best accuracy on resamples of the pairs: every threshold between distinct
    similarities, from the highest down, as the curves above."""
    order, group, ends = weighted.tie_groups(-outputs["similarity"])
    positive = outputs["gold"][order] == 1
    drawn = counts[:, order].astype(np.float64)
    true_pos = np.cumsum(drawn * positive, axis=1)[:, ends]
    false_pos = np.cumsum(drawn * ~positive, axis=1)[:, ends]
    positives, negatives = true_pos[:, -1:], false_pos[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = true_pos / positives
        precision = np.where(true_pos + false_pos > 0, true_pos / np.maximum(true_pos + false_pos, 1), 1.0)
        ap = (np.diff(np.c_[np.zeros(len(counts)), recall], axis=1) * precision).sum(axis=1)
        accuracy = np.maximum((true_pos + negatives - false_pos).max(axis=1), negatives[:, 0]) / (positives + negatives)[:, 0]
    one_class = (positives[:, 0] == 0) | (negatives[:, 0] == 0)
    return {"ap": np.where(one_class, np.nan, 100 * ap), "accuracy": np.where(one_class, np.nan, 100 * accuracy)}


def fit_sentences(data: PairData) -> list[str]:
    return data.sentences


def scored_sentences(data: PairData) -> list[str]:
    return data.sentences
