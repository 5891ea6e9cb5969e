"""Classification: logistic regression on frozen sentence vectors, accuracy and macro-F1 x100.

Protocol `senteval` (default): 10-fold stratified cross-validation where there is no test split (MR, CR,
SUBJ, MPQA); otherwise fit on train and score test. C comes from a small grid, chosen on the dev split
where there is one, else by inner cross-validation on the training part. Pairs (MRPC) are represented
as [|u - v|, u * v].

The senteval protocol's solver is `float32` by default (`logistic.py`: scikit-learn's lbfgs problem with
the data products in float32, and LogisticRegressionCV's algorithm: a warm-started C path per inner fold,
a refit started from the folds' mean; about 3x faster on one core) or `sklearn` (LogisticRegressionCV /
LogisticRegression in float64, the reference it is held to).

Protocol `mteb`: `n_experiments` times, undersample the training split to `samples_per_label` per label,
fit a default logistic regression and score the test split; report the mean.

The outputs a cell keeps are the predicted labels (each fold's held-out items, each experiment's test items);
`rescore` turns them into the scores.
"""
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from ..data.records import ClassificationData
from ..errors import SentgridError, choice_error
from ..stats import weighted
from . import logistic

PROTOCOLS = ("senteval", "mteb")
SOLVERS = ("float32", "sklearn")
MAX_ITER = 1000


def _texts(data: ClassificationData, split: str) -> list[str]:
    items, _ = data.splits[split]
    return sorted({t for item in items for t in (item if data.pairs else (item,))})


def fit_sentences(data: ClassificationData) -> list[str]:
    """Post-processing is fitted on the training split only (all data when cross-validating)."""
    return _texts(data, "train")


def scored_sentences(data: ClassificationData) -> list[str]:
    """The sentences whose predictions are scored: the test split, or every item when cross-validating."""
    return _texts(data, "test" if "test" in data.splits else "train")


def features(data: ClassificationData, split: str, vectors: np.ndarray, row: dict) -> tuple[np.ndarray, np.ndarray]:
    items, labels = data.splits[split]
    if data.pairs:
        u = vectors[[row[a] for a, _ in items]]
        v = vectors[[row[b] for _, b in items]]
        return np.hstack([np.abs(u - v), u * v]), labels
    return vectors[[row[t] for t in items]], labels


def _scores(y_true, y_pred) -> dict[str, float]:
    return {"accuracy": 100 * accuracy_score(y_true, y_pred), "f1": 100 * f1_score(y_true, y_pred, average="macro")}


def smallest_class(y) -> int:
    return int(np.unique(y, return_counts=True)[1].min())


def choose_c(X, y, grid, inner_folds: int, seed: int, dev=None, solver: str = "float32"):
    """The C of `grid` with the best dev accuracy, or the best inner cross-validation accuracy (summed over
    the inner folds, first of equals, as LogisticRegressionCV), and the model fitted on (X, y) at that C
    when choosing fitted it (the dev route; float32's inner route too), else None.

    float32 is LogisticRegressionCV's algorithm: a warm-started C path per inner fold, then a refit at the
    chosen C started from the folds' mean solution there. On a slice too small for inner folds (a class
    with a single example) the grid's middle is used."""
    if len(grid) == 1:
        return grid[0], None
    if dev is not None:
        models = (logistic.fit_path(X, y, grid, MAX_ITER) if solver == "float32"
                  else [LogisticRegression(C=c, max_iter=MAX_ITER).fit(X, y) for c in grid])
        best = int(np.argmax([model.score(*dev) for model in models]))
        return grid[best], models[best]
    inner_folds = min(inner_folds, smallest_class(y))
    if inner_folds < 2:
        return grid[len(grid) // 2], None
    cv = StratifiedKFold(inner_folds, shuffle=True, random_state=seed)
    if solver == "float32":
        classes, folds = np.unique(y), list(cv.split(X, y))
        paths = [logistic.fit_path(X[train], y[train], grid, MAX_ITER, classes) for train, _ in folds]
        accuracy = np.sum([[model.score(X[test], y[test]) for model in path] for path, (_, test) in zip(paths, folds)],
                          axis=0)
        best = int(np.argmax(accuracy))
        start = np.mean([path[best].coef for path in paths], axis=0)
        return grid[best], logistic.fit(X, y, grid[best], MAX_ITER, start)
    with warnings.catch_warnings():  # scikit-learn 1.9 announces attribute changes we do not rely on
        warnings.simplefilter("ignore", FutureWarning)
        search = LogisticRegressionCV(Cs=grid, cv=cv, max_iter=MAX_ITER, scoring="accuracy", refit=False).fit(X, y)
    accuracy = next(iter(search.scores_.values())).sum(axis=0)  # (folds, Cs): what refit=True chooses by
    return grid[int(np.argmax(accuracy))], None


def fit(X, y, c: float, solver: str):
    return logistic.fit(X, y, c, MAX_ITER) if solver == "float32" else LogisticRegression(C=c, max_iter=MAX_ITER).fit(X, y)


def _codes(data: ClassificationData) -> np.ndarray:
    """Every label of the dataset, sorted: a prediction is kept as its index here."""
    return np.unique(np.concatenate([labels for _, labels in data.splits.values()]))


def senteval(data, vectors, row, cfg) -> dict[str, np.ndarray]:
    """Each fold's predictions of its held-out items (cross-validation), or the test split's."""
    grid = [float(c) for c in cfg.grid]
    seed, solver = int(cfg.seed), str(cfg.get("solver", "float32"))
    if solver not in SOLVERS:
        raise choice_error("task.classification.senteval.solver", solver, SOLVERS)
    classes = _codes(data)
    X, y = features(data, "train", vectors, row)
    if "test" not in data.splits:
        if smallest_class(y) < 2:
            raise SentgridError(f"{data.name}: a class has a single example, too few for cross-validation; "
                                f"use more items (task.max_items).")
        folds = StratifiedKFold(min(int(cfg.folds), smallest_class(y)), shuffle=True, random_state=seed)
        predicted, chosen = [], []
        for train, test in folds.split(X, y):
            c, model = choose_c(X[train], y[train], grid, int(cfg.inner_folds), seed, solver=solver)
            model = model or fit(X[train], y[train], c, solver)
            predicted.append(_held_out(len(y), test, np.searchsorted(classes, model.predict(X[test]))))
            chosen.append(c)
        return {"predicted": np.array(predicted), "gold": np.searchsorted(classes, y).astype(np.int32),
                "C": np.array(chosen), "repeated": np.array(True)}
    dev = features(data, "dev", vectors, row) if "dev" in data.splits else None
    c, model = choose_c(X, y, grid, int(cfg.inner_folds), seed, dev, solver)
    X_test, y_test = features(data, "test", vectors, row)
    model = model or fit(X, y, c, solver)  # the dev route fitted it already
    return {"predicted": np.searchsorted(classes, model.predict(X_test))[None].astype(np.int32),
            "gold": np.searchsorted(classes, y_test).astype(np.int32), "C": np.array([c]), "repeated": np.array(False)}


def _held_out(n: int, test: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """A row of predictions over all n items: -1 where the item was not held out."""
    out = np.full(n, -1, dtype=np.int32)
    out[test] = predicted
    return out


def mteb(data, vectors, row, cfg) -> dict[str, np.ndarray]:
    """Each experiment's predictions of the test split (or of its held-out fold)."""
    classes = _codes(data)
    X, y = features(data, "train", vectors, row)
    has_test = "test" in data.splits
    if has_test:
        X_test, y_test = features(data, "test", vectors, row)
    else:  # no test split: each experiment holds out one fold of a stratified 10-fold split
        folds = list(StratifiedKFold(10, shuffle=True, random_state=int(cfg.seed)).split(X, y))
    predicted = []
    for experiment in range(int(cfg.n_experiments)):
        rng = np.random.default_rng(int(cfg.seed) + experiment)
        pool = np.arange(len(y)) if has_test else folds[experiment % 10][0]
        picked = np.concatenate([rng.permutation(pool[y[pool] == label])[:int(cfg.samples_per_label)]
                                 for label in np.unique(y[pool])])
        model = LogisticRegression(max_iter=100, random_state=int(cfg.seed) + experiment).fit(X[picked], y[picked])
        if has_test:
            predicted.append(np.searchsorted(classes, model.predict(X_test)).astype(np.int32))
        else:
            test = folds[experiment % 10][1]
            predicted.append(_held_out(len(y), test, np.searchsorted(classes, model.predict(X[test]))))
    return {"predicted": np.array(predicted), "gold": np.searchsorted(classes, y_test if has_test else y).astype(np.int32),
            "repeated": np.array(True)}


def predict(data: ClassificationData, vectors: np.ndarray, sentences: list[str], cfg) -> dict[str, np.ndarray]:
    """The outputs a cell keeps: rows of predicted labels (a fold's or an experiment's; -1 where an item was not
    predicted in that row), the gold labels, the C each row chose (senteval)."""
    if cfg.protocol not in PROTOCOLS:
        raise choice_error("task.classification.protocol", cfg.protocol, PROTOCOLS)
    row = {s: i for i, s in enumerate(sentences)}
    outputs = (senteval if cfg.protocol == "senteval" else mteb)(data, vectors, row, cfg[cfg.protocol])
    return {**outputs, "items": np.array(len(data))}


def rescore(outputs: dict[str, np.ndarray]) -> dict[str, float]:
    """The mean of each row's scores over the items it predicted."""
    gold, rows = outputs["gold"], outputs["predicted"]
    results = [_scores(gold[predicted >= 0], predicted[predicted >= 0]) for predicted in rows]
    out = {m: float(np.mean([r[m] for r in results])) for m in results[0]}
    if outputs["repeated"]:
        out["accuracy_std"] = float(np.std([r["accuracy"] for r in results]))
    if "C" in outputs:
        out["C"] = float(np.median(outputs["C"]))
    return {**out, "items": float(outputs["items"])}


def evaluate(data: ClassificationData, vectors: np.ndarray, sentences: list[str], cfg) -> dict[str, float]:
    return rescore(predict(data, vectors, sentences, cfg))


def resampled(outputs: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and macro-F1 on resamples of the evaluated items, each row's over the drawn items it predicted,
    averaged over the rows (as the score is)."""
    gold, accuracy, f1 = outputs["gold"], [], []
    for predicted in outputs["predicted"]:
        held = predicted >= 0
        table = weighted.contingency(gold[held], predicted[held], counts[:, held])
        row_accuracy, row_f1 = weighted.accuracy_and_macro_f1(_square(table))
        accuracy.append(row_accuracy)
        f1.append(row_f1)
    with warnings.catch_warnings():  # a row with no drawn item (a tiny slice) is left out of its resample
        warnings.simplefilter("ignore", RuntimeWarning)
        return {"accuracy": 100 * np.nanmean(accuracy, axis=0), "f1": 100 * np.nanmean(f1, axis=0)}


def _square(table: np.ndarray) -> np.ndarray:
    """A confusion table with as many predicted classes as true ones (pad the shorter side)."""
    size = max(table.shape[1:])
    return np.pad(table, ((0, 0), (0, size - table.shape[1]), (0, size - table.shape[2])))
