"""Short-text clustering: k-means with k = number of gold labels, several seeds.

Accuracy is the share of texts whose cluster maps to their gold label under the best one-to-one
mapping (Hungarian matching on the contingency table); NMI and, optionally, MTEB's v-measure too.
Mean and standard deviation over seeds, x100.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score, v_measure_score
from sklearn.metrics.cluster import contingency_matrix

from ..data.records import ClusteringData


def hungarian_accuracy(gold, predicted) -> float:
    table = contingency_matrix(gold, predicted)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return 100 * table[rows, cols].sum() / len(gold)


def fit_sentences(data: ClusteringData) -> list[str]:
    return data.sentences


def scored_sentences(data: ClusteringData) -> list[str]:
    """The sentences whose vectors the scores are computed from (every text is clustered)."""
    return data.sentences


def evaluate(data: ClusteringData, vectors: np.ndarray, sentences: list[str], cfg) -> dict[str, float]:
    row = {s: i for i, s in enumerate(sentences)}
    X = vectors[[row[t] for t in data.texts]]
    k = len(np.unique(data.labels))
    scores = {"accuracy": [], "nmi": [], "v_measure": []}
    for seed in range(int(cfg.seeds)):
        predicted = KMeans(n_clusters=k, n_init=int(cfg.n_init), random_state=seed).fit_predict(X)
        scores["accuracy"].append(hungarian_accuracy(data.labels, predicted))
        scores["nmi"].append(100 * normalized_mutual_info_score(data.labels, predicted))
        if cfg.v_measure:
            scores["v_measure"].append(100 * v_measure_score(data.labels, predicted))
    out = {"k": float(k), "items": float(len(data))}
    for metric, values in scores.items():
        if values:
            out[metric] = float(np.mean(values))
            out[f"{metric}_std"] = float(np.std(values))
    return out
