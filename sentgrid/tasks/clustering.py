"""Short-text clustering: k-means with k = number of gold labels, several seeds.

Accuracy is the share of texts whose cluster maps to their gold label under the best one-to-one
mapping (Hungarian matching on the contingency table); NMI and, optionally, MTEB's v-measure too.
Mean and standard deviation over seeds, x100. The outputs a cell keeps: each seed's clusters.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score, v_measure_score
from sklearn.metrics.cluster import contingency_matrix

from ..data.records import ClusteringData
from ..stats import weighted


def hungarian_accuracy(gold, predicted) -> float:
    table = contingency_matrix(gold, predicted)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return 100 * table[rows, cols].sum() / len(gold)


def fit_sentences(data: ClusteringData) -> list[str]:
    return data.sentences


def scored_sentences(data: ClusteringData) -> list[str]:
    """The sentences whose vectors the scores are computed from (every text is clustered)."""
    return data.sentences


def predict(data: ClusteringData, vectors: np.ndarray, sentences: list[str], cfg) -> dict[str, np.ndarray]:
    """Each seed's cluster of each text (seeds x texts), beside the texts' gold labels (as codes)."""
    row = {s: i for i, s in enumerate(sentences)}
    X = vectors[[row[t] for t in data.texts]]
    gold = np.unique(data.labels, return_inverse=True)[1].astype(np.int32)
    k = int(gold.max()) + 1
    predicted = [KMeans(n_clusters=k, n_init=int(cfg.n_init), random_state=seed).fit_predict(X)
                 for seed in range(int(cfg.seeds))]
    return {"predicted": np.array(predicted, dtype=np.int32), "gold": gold, "v_measure": np.array(bool(cfg.v_measure))}


def rescore(outputs: dict[str, np.ndarray]) -> dict[str, float]:
    gold = outputs["gold"]
    scores = {"accuracy": [], "nmi": [], "v_measure": []}
    for predicted in outputs["predicted"]:
        scores["accuracy"].append(hungarian_accuracy(gold, predicted))
        scores["nmi"].append(100 * normalized_mutual_info_score(gold, predicted))
        if outputs["v_measure"]:
            scores["v_measure"].append(100 * v_measure_score(gold, predicted))
    out = {"k": float(len(np.unique(gold))), "items": float(len(gold))}
    for metric, values in scores.items():
        if values:
            out[metric] = float(np.mean(values))
            out[f"{metric}_std"] = float(np.std(values))
    return out


def evaluate(data: ClusteringData, vectors: np.ndarray, sentences: list[str], cfg) -> dict[str, float]:
    return rescore(predict(data, vectors, sentences, cfg))


def resampled(outputs: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and NMI, averaged over the seeds, on resamples of the texts (each seed's clusters kept: the
    seeds are part of the score, the texts are what is resampled). Accuracy keeps each seed's one-to-one
    mapping of clusters to labels found on all the texts, as a classifier's predictions are kept: matching
    again per resample would cost a Hungarian assignment per resample and seed (15 s for GoogleNews-TS's 152
    clusters) and credit matches that only the resample's draw makes."""
    gold, accuracy, nmi = outputs["gold"], [], []
    total = counts.sum(axis=1)
    for predicted in outputs["predicted"]:
        table = contingency_matrix(gold, predicted)
        labels, clusters = linear_sum_assignment(table, maximize=True)
        label_of = np.full(int(predicted.max()) + 1, -1)
        label_of[np.unique(predicted)[clusters]] = np.unique(gold)[labels]
        accuracy.append(100 * (counts @ (label_of[predicted] == gold)) / total)
        nmi.append(100 * weighted.normalized_mutual_information(*weighted.pair_tables(gold, predicted, counts)))
    return {"accuracy": np.mean(accuracy, axis=0), "nmi": np.mean(nmi, axis=0)}
