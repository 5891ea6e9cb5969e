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


def sorted_ranks(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the ascending order of `values`, the counts in that order, each item's mid-rank (ties averaged, as
    scipy's rankdata) within each resample, in that order)."""
    order, group, ends = tie_groups(values)
    drawn = counts[:, order].astype(np.float64, copy=False)
    through = np.cumsum(drawn, axis=1)
    if len(ends) == len(values):  # no ties: an item's drawn copies take the ranks just before its running total
        through -= 0.5 * drawn
        through += 0.5
        return order, drawn, through
    through = through[:, ends]  # drawn items up to the end of each tie group
    before = np.c_[np.zeros(len(counts)), through[:, :-1]]
    return order, drawn, (before + (through - before + 1) / 2)[:, group]


def pearson(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Pearson's r of x and y ((n,) each) over each resample: the weighted sums in one matrix product."""
    x, y = x - x.mean(), y - y.mean()  # centred first: the sums of squares below lose no digits
    total = counts.sum(axis=1)
    sum_x, sum_y, sum_xx, sum_yy, sum_xy = (counts @ np.stack([x, y, x * x, y * y, x * y], axis=1)).T / total
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sum_xy - sum_x * sum_y) / np.sqrt((sum_xx - sum_x ** 2) * (sum_yy - sum_y ** 2))


def spearman(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Spearman's rho of x and y over each resample: Pearson's r of their mid-ranks. x's ranks are computed item
    by item (in x's order); y's only per tie group (gold scores have few distinct values), so the sums that
    need both go through per-group sums of x's weighted ranks. The weighted mean of either's mid-ranks is
    (N + 1) / 2 whatever the ties, N the items drawn."""
    order, drawn, rank_x = sorted_ranks(x, counts)
    middle = (drawn.sum(axis=1, keepdims=True) + 1) / 2
    rank_x -= middle
    weighted_x = drawn * rank_x
    order_y, group_y, ends_y = tie_groups(y)
    group = np.empty(len(y), dtype=np.intp)
    group[order_y] = group_y  # each item's tie group of y, groups numbered in y's ascending order
    per_group = _sums(drawn, group[order])  # drawn items per group of y
    through = np.cumsum(per_group, axis=1)
    rank_y = through - (per_group - 1) / 2 - middle  # each group's mid-rank, centred
    cross = (_sums(weighted_x, group[order]) * rank_y).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cross / np.sqrt(np.einsum("ij,ij->i", weighted_x, rank_x) * (per_group * rank_y ** 2).sum(axis=1))


def contingency(a: np.ndarray, b: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(m, A, B): how many drawn items have code a and code b (a, b: whole numbers from 0), per resample."""
    size_a, size_b = int(a.max()) + 1, int(b.max()) + 1
    return _sums(counts, a.astype(np.int64) * size_b + b, size_a * size_b).reshape(len(counts), size_a, size_b)


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


def pair_tables(a: np.ndarray, b: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A contingency table per resample, kept only where all the items have a pair (a, b): (m, pairs) drawn
    counts, and each pair's a and b. A clustering's 152 x 152 table has a few hundred such cells."""
    width = int(b.max()) + 1
    pairs, cell = np.unique(a.astype(np.int64) * width + b, return_inverse=True)
    return _sums(counts, cell), pairs // width, pairs % width


def normalized_mutual_information(tables: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NMI (arithmetic mean of the entropies, scikit-learn's default) of `pair_tables`' tables."""
    total = tables.sum(axis=1, keepdims=True)
    _, row_of = np.unique(a, return_inverse=True)
    _, col_of = np.unique(b, return_inverse=True)
    rows, cols = _sums(tables, row_of), _sums(tables, col_of)  # drawn items per row and per column
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = tables * total / (rows[:, row_of] * cols[:, col_of])
        mi = np.where(tables > 0, tables * np.log(ratio), 0.0).sum(axis=1) / total[:, 0]
        h_rows = -np.where(rows > 0, rows / total * np.log(rows / total), 0.0).sum(axis=1)
        h_cols = -np.where(cols > 0, cols / total * np.log(cols / total), 0.0).sum(axis=1)
        nmi = np.where(mi > 0, mi / ((h_rows + h_cols) / 2), 0.0)
    single = ((rows > 0).sum(axis=1) == 1) & ((cols > 0).sum(axis=1) == 1)
    return np.where(single, 1.0, np.maximum(nmi, 0.0))


def _sums(values: np.ndarray, group: np.ndarray, groups: int | None = None) -> np.ndarray:
    """(m, groups): each row of `values` (m, n) summed by `group`, the group (0, 1, ...) of each column."""
    members = sparse.csr_matrix((np.ones(len(group)), (np.arange(len(group)), group)),
                                shape=(len(group), groups or int(group.max()) + 1))
    return np.asarray((members.T @ values.T).T)
