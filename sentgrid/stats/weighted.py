"""Statistics of resampled items, each item counted as often as the resample drew it. `counts` is (m, n): m
resamples of n items; every function returns one value per resample. With all counts 1 they equal the plain
statistic (scipy's and scikit-learn's, which the tests hold them to)."""
import numpy as np
from scipy import sparse


def tie_groups(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the ascending order of `values`, the tie group of each sorted position, the last position of each group)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(new) - 1
    ends = np.r_[np.flatnonzero(new)[1:] - 1, len(values) - 1]
    return order, group, ends


def ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mid-ranks (ties averaged, as scipy's rankdata) of each item within each resample."""
    order, group, ends = tie_groups(values)
    through = np.cumsum(counts[:, order], axis=1, dtype=np.float64)[:, ends]  # drawn items up to each group
    before = np.c_[np.zeros(len(counts)), through[:, :-1]]
    group_rank = before + (through - before + 1) / 2
    out = np.empty(counts.shape, dtype=np.float64)
    out[:, order] = group_rank[:, group]
    return out


def pearson(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Pearson's r of x and y ((n,) or (m, n)) over each resample."""
    total = counts.sum(axis=1, dtype=np.float64)
    dx = x - (counts * x).sum(axis=1, keepdims=True) / total[:, None]
    dy = y - (counts * y).sum(axis=1, keepdims=True) / total[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts * dx * dy).sum(axis=1) / np.sqrt((counts * dx * dx).sum(axis=1) * (counts * dy * dy).sum(axis=1))


def spearman(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return pearson(ranks(x, counts), ranks(y, counts), counts)


def contingency(a: np.ndarray, b: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(m, A, B): how many drawn items have code a and code b (a, b: whole numbers from 0), per resample."""
    size_a, size_b = int(a.max()) + 1, int(b.max()) + 1
    onehot = sparse.csr_matrix((np.ones(len(a)), (np.arange(len(a)), a * size_b + b)), shape=(len(a), size_a * size_b))
    return np.asarray((onehot.T @ counts.T.astype(np.float64)).T).reshape(len(counts), size_a, size_b)


def accuracy_and_macro_f1(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro-F1 (over the classes present in the truth or the predictions, as scikit-learn) of
    (m, classes, classes) confusion tables, truth along axis 1."""
    total = table.sum(axis=(1, 2))
    hits = np.einsum("mii->mi", table)
    truth, predicted = table.sum(axis=2), table.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(truth + predicted > 0, 2 * hits / np.maximum(truth + predicted, 1), 0.0)
        present = (truth + predicted > 0).sum(axis=1)
        return hits.sum(axis=1) / total, f1.sum(axis=1) / present


def mutual_information_scores(table: np.ndarray) -> np.ndarray:
    """Normalized mutual information (arithmetic mean of the entropies, scikit-learn's default) of (m, A, B)
    contingency tables."""
    total = table.sum(axis=(1, 2), keepdims=True)
    p = table / total
    pa, pb = p.sum(axis=2, keepdims=True), p.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mi = np.where(p > 0, p * np.log(p / (pa * pb)), 0.0).sum(axis=(1, 2))
        ha = -np.where(pa > 0, pa * np.log(pa), 0.0).sum(axis=(1, 2))
        hb = -np.where(pb > 0, pb * np.log(pb), 0.0).sum(axis=(1, 2))
        nmi = np.where(mi > 0, mi / ((ha + hb) / 2), 0.0)
    single = ((pa[:, :, 0] > 0).sum(axis=1) == 1) & ((pb[:, 0, :] > 0).sum(axis=1) == 1)
    return np.where(single, 1.0, np.maximum(nmi, 0.0))
