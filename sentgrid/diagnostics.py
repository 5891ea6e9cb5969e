"""Geometry of a cell's sentence vectors: IsoScore, average cosine, alignment and uniformity.

* IsoScore (Rudman et al., 2022) of points [n_points, dim]: how uniformly the variance spreads over
  the principal directions; 1 = isotropic, 0 = one direction. Computed from the covariance's
  eigenvalues exactly as the `IsoScore` package does (tests hold the two together).
* Average cosine between distinct points.
* Alignment and uniformity (Wang & Isola, 2020) on L2-normalised vectors: alignment is the mean
  squared distance of positive pairs (lower is better), uniformity log E exp(-2 ||x - y||^2) over
  all pairs (lower is more uniform).
"""
import numpy as np
from scipy.spatial.distance import pdist


def isoscore(points: np.ndarray) -> float:
    points = np.asarray(points, dtype=np.float64)
    n = points.shape[1]
    eigenvalues = np.clip(np.linalg.eigvalsh(np.cov(points.T)), 0.0, None)
    normalised = eigenvalues * np.sqrt(n) / np.linalg.norm(eigenvalues)
    defect = np.linalg.norm(normalised - 1.0) / np.sqrt(2 * (n - np.sqrt(n)))
    return float(((n - defect ** 2 * (n - np.sqrt(n))) ** 2 - n) / (n * (n - 1)))


def _unit(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)


def average_cosine(points: np.ndarray) -> float:
    unit = _unit(points)
    n = len(unit)
    total = unit.sum(axis=0)
    return float((total @ total - n) / (n * (n - 1)))


def alignment(a: np.ndarray, b: np.ndarray, alpha: float = 2.0) -> float:
    return float((np.linalg.norm(_unit(a) - _unit(b), axis=1) ** alpha).mean())


def uniformity(points: np.ndarray, t: float = 2.0) -> float:
    distances = pdist(_unit(points), "sqeuclidean")
    return float(np.log(np.exp(-t * distances).mean()))


def measure(spec, requests, vectors: dict) -> dict:
    """The diagnostics of a cell, on its vectors after its post-processing: for the corpus sentences
    fitted on held-out corpus sentences, for STS-B fitted like the task (STS-B itself, or the corpus
    with fit_on=wikitext)."""
    from . import postproc
    from .requests import Dataset
    from .scoring import rows_of

    steps = list(spec.postproc.steps)
    sets = requests.diagnostics
    corpus, _ = postproc.fit_transform(postproc.build(steps), vectors["diagnostics/corpus-fit"],
                                       vectors["diagnostics/corpus"])
    stsb_vectors = vectors["diagnostics/STSB"]
    fit = Dataset("sts", "STSB", sets.stsb).fit_sentences(spec.postproc.fit_on_corpus)
    fit_set = vectors["corpus"] if fit is None else stsb_vectors[rows_of(sets.stsb.sentences, fit)]
    stsb_vectors, _ = postproc.fit_transform(postproc.build(steps), fit_set, stsb_vectors)
    row = {s: i for i, s in enumerate(sets.stsb.sentences)}
    positive = np.asarray(sets.stsb.scores) >= float(spec.diagnostics.positive_min_score)
    first = stsb_vectors[[row[s] for s, p in zip(sets.stsb.sentences1, positive) if p]]
    second = stsb_vectors[[row[s] for s, p in zip(sets.stsb.sentences2, positive) if p]]
    return {"diagnostics/isoscore": isoscore(corpus), "diagnostics/avg_cosine": average_cosine(corpus),
            "diagnostics/alignment": alignment(first, second), "diagnostics/uniformity": uniformity(stsb_vectors),
            "diagnostics/positive_pairs": float(positive.sum())}
