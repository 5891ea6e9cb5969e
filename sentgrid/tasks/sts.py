"""STS scoring (MTEB protocol): cosine of each pair, Spearman and Pearson against gold, x100.

`predict` gives the outputs a cell keeps (the similarity of each pair, beside its gold score and subset);
`rescore` turns them into the scores, so stored outputs re-score to the recorded numbers exactly; `resampled`
scores bootstrap resamples of the pairs.

"all" is one correlation over every pair of a dataset (MTEB, and the paper's default). For datasets
made of subsets (STS12-16) "mean" averages the per-subset correlations and "wmean" weights them by
subset size (SentEval's reports).
"""
import numpy as np
from scipy.stats import pearsonr, spearmanr

from ..data.sts import STSData
from ..stats import weighted


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(axis=1) / np.maximum(norms, 1e-12)


def _correlations(similarity: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    return {"spearman": 100 * float(spearmanr(similarity, gold).statistic),
            "pearson": 100 * float(pearsonr(similarity, gold).statistic)}


def predict(data: STSData, vectors: np.ndarray, sentences: list[str], cfg=None) -> dict[str, np.ndarray]:
    """The similarity of each pair of `data` given `vectors[i]` for `sentences[i]`, with what it is scored against."""
    row = {s: i for i, s in enumerate(sentences)}
    left = vectors[[row[s] for s in data.sentences1]]
    right = vectors[[row[s] for s in data.sentences2]]
    return {"similarity": cosine(left, right), "gold": data.scores,
            "subset": np.unique(data.subsets, return_inverse=True)[1].astype(np.int32)}


def rescore(outputs: dict[str, np.ndarray]) -> dict[str, float]:
    similarity, gold, subset = outputs["similarity"], outputs["gold"], outputs["subset"]
    scores = _correlations(similarity, gold)
    # A subset needs a few pairs for a correlation (only tiny slices have fewer).
    subsets = [s for s in np.unique(subset) if (subset == s).sum() >= 3]
    per_subset = [(_correlations(similarity[subset == s], gold[subset == s]), int((subset == s).sum())) for s in subsets]
    sizes = np.array([n for _, n in per_subset], dtype=float)
    for metric in ("spearman", "pearson"):
        values = np.array([c[metric] for c, _ in per_subset])
        scores[f"{metric}_mean"] = float(values.mean())
        scores[f"{metric}_wmean"] = float((values * sizes).sum() / sizes.sum())
    scores["pairs"] = float(len(gold))
    return scores


def evaluate(data: STSData, vectors: np.ndarray, sentences: list[str], cfg=None) -> dict[str, float]:
    """Scores of `data` given `vectors[i]` for `sentences[i]` (the dataset's distinct sentences)."""
    return rescore(predict(data, vectors, sentences, cfg))


def resampled(outputs: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, np.ndarray]:
    """The headline correlations on resamples of the pairs (`counts`: (resamples, pairs))."""
    similarity, gold = outputs["similarity"], outputs["gold"].astype(np.float64)
    return {"spearman": 100 * weighted.spearman(similarity, gold, counts),
            "pearson": 100 * weighted.pearson(similarity, gold, counts)}


def fit_sentences(data: STSData) -> list[str]:
    return data.sentences


def scored_sentences(data: STSData) -> list[str]:
    """The sentences whose vectors the scores are computed from (a fit set holding them has seen the test)."""
    return data.sentences
