"""Clustering and classification: evaluators against their definitions and scikit-learn, reader errors."""
import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sentgrid.data import ClassificationData, ClusteringData, readers
from sentgrid.errors import SentgridError
from sentgrid.tasks import classification, clustering, logistic


def test_hungarian_accuracy_ignores_label_names():
    gold = np.array([0, 0, 1, 1, 2, 2])
    assert clustering.hungarian_accuracy(gold, np.array([5, 5, 3, 3, 9, 9])) == 100
    # One text of cluster 1 lands in cluster 0: the best mapping gets 5 of 6.
    assert np.isclose(clustering.hungarian_accuracy(gold, np.array([1, 1, 1, 0, 2, 2])), 500 / 6)
    # Two clusters merged: the third gold class cannot be matched.
    assert np.isclose(clustering.hungarian_accuracy(gold, np.array([0, 0, 0, 0, 1, 1])), 400 / 6)


def test_kmeans_finds_separated_blobs():
    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c"], 30)
    centres = {"a": 0, "b": 10, "c": 20}
    texts = [f"t{i}" for i in range(90)]
    vectors = np.array([centres[label] + rng.normal(size=5) for label in labels])
    cfg = OmegaConf.create({"seeds": 3, "n_init": 1, "v_measure": True})
    scores = clustering.evaluate(ClusteringData("X", texts, labels, "test"), vectors, texts, cfg)
    assert scores["accuracy"] == 100 and scores["nmi"] == 100 and scores["v_measure"] == 100
    assert scores["accuracy_std"] == 0 and scores["k"] == 3


def blobs(n=200, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, dim)) + 0.8 * y[:, None]
    texts = [f"s{i}" for i in range(n)]
    return X, y, texts


SENTEVAL = OmegaConf.create({"protocol": "senteval", "senteval": {"folds": 10, "inner_folds": 3, "grid": [1.0], "seed": 0},
                             "mteb": {"n_experiments": 4, "samples_per_label": 8, "seed": 0}})


def test_cross_validation_equals_scikit_learn():
    X, y, texts = blobs()
    data = ClassificationData("X", {"train": (texts, y)}, "test")
    ours = classification.evaluate(data, X, texts, SENTEVAL)
    theirs = cross_val_score(LogisticRegression(C=1.0, max_iter=1000), X, y,
                             cv=StratifiedKFold(10, shuffle=True, random_state=0), scoring="accuracy")
    assert np.isclose(ours["accuracy"], 100 * theirs.mean())


@pytest.mark.parametrize("solver", ["float32", "sklearn"])
def test_c_is_chosen_on_the_dev_split_and_test_is_scored(solver):
    X, y, texts = blobs(300)
    data = ClassificationData("X", {"train": (texts[:200], y[:200]), "dev": (texts[200:250], y[200:250]),
                                    "test": (texts[250:], y[250:])}, "test")
    cfg = OmegaConf.merge(SENTEVAL, {"senteval": {"grid": [0.001, 1.0, 100.0], "solver": solver}})
    scores = classification.evaluate(data, X, texts, cfg)
    accuracy = [LogisticRegression(C=c, max_iter=1000).fit(X[:200], y[:200]).score(X[200:250], y[200:250])
                for c in (0.001, 1.0, 100.0)]
    best = (0.001, 1.0, 100.0)[int(np.argmax(accuracy))]
    assert scores["C"] == best
    expected = LogisticRegression(C=best, max_iter=1000).fit(X[:200], y[:200]).score(X[250:], y[250:])
    assert np.isclose(scores["accuracy"], 100 * expected)


def objective(X, y, coef, intercept, C):
    """scikit-learn's lbfgs objective in float64: mean log-loss + ||w||^2 / (2 C n)."""
    z = X @ coef.T + intercept
    if coef.shape[0] == 1:
        loss = np.logaddexp(0, z[:, 0]) - (y == np.unique(y)[1]) * z[:, 0]
    else:
        loss = np.logaddexp.reduce(z, axis=1) - z[np.arange(len(y)), np.searchsorted(np.unique(y), y)]
    return loss.mean() + (coef ** 2).sum() / (2 * C * len(y))


@pytest.mark.parametrize("classes", [2, 5])
def test_float32_logistic_regression_reaches_scikit_learns_optimum(classes):
    rng = np.random.default_rng(classes)
    y = rng.integers(0, classes, 600)
    X = (rng.normal(size=(600, 24)) + 0.6 * np.eye(classes, 24)[y]).astype(np.float32)
    for C in (0.25, 4.0):
        theirs = LogisticRegression(C=C, max_iter=1000).fit(X, y)
        ours = logistic.fit(X, y, C, 1000)
        # the same problem: both stop within the tolerance of one optimum
        assert objective(X, y, ours.weights, ours.intercept, C) == pytest.approx(
            objective(X, y, theirs.coef_, theirs.intercept_, C), rel=1e-5)
        np.testing.assert_allclose(ours.weights, theirs.coef_, atol=2e-3)
        assert np.mean(ours.predict(X) == theirs.predict(X)) >= 0.995
    # a path warm-starts each C from the last: the same models as cold fits, within the tolerance
    path = logistic.fit_path(X, y, [0.25, 4.0], 1000)
    np.testing.assert_allclose(path[1].weights, logistic.fit(X, y, 4.0, 1000).weights, atol=2e-3)
    with pytest.raises(ValueError, match="two classes or more"):
        logistic.fit(X[y == 0], y[y == 0], 1.0, 1000)
    X[3, 5] = np.nan  # never fitted on, as scikit-learn refuses them
    with pytest.raises(ValueError, match="NaN or infinite"):
        logistic.fit(X, y, 1.0, 1000)
    with pytest.warns(ConvergenceWarning, match="failed to converge"):
        logistic.fit(X[:, :4] * 0 + np.arange(600)[:, None], y, 1.0, 2)  # two iterations cannot


def test_unknown_solver_is_one_sentence():
    X, y, texts = blobs()
    data = ClassificationData("X", {"train": (texts, y)}, "test")
    with pytest.raises(SentgridError, match="task.classification.senteval.solver.*choose one of: float32, sklearn"):
        classification.evaluate(data, X, texts, OmegaConf.merge(SENTEVAL, {"senteval": {"solver": "newton"}}))


def test_pairs_use_absolute_difference_and_product():
    vectors = np.array([[1.0, 2], [3, 5], [0, 1]])
    data = ClassificationData("P", {"train": ([("a", "b"), ("b", "c")], np.array([1, 0]))}, "test", pairs=True)
    X, _ = classification.features(data, "train", vectors, {"a": 0, "b": 1, "c": 2})
    np.testing.assert_array_equal(X, [[2, 3, 3, 10], [3, 4, 0, 5]])


def test_mteb_protocol_undersamples_per_label(monkeypatch):
    X, y, texts = blobs(300)
    data = ClassificationData("X", {"train": (texts[:200], y[:200]), "test": (texts[200:], y[200:])}, "test")
    seen = []

    class Recording(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            seen.append((dict(zip(*np.unique(y, return_counts=True))), set(map(tuple, X))))
            return super().fit(X, y, sample_weight)

    monkeypatch.setattr(classification, "LogisticRegression", Recording)
    settings = OmegaConf.merge(SENTEVAL, {"protocol": "mteb"})
    scores = classification.evaluate(data, X, texts, settings)
    # Each of the n experiments trains on exactly `samples_per_label` examples of every label, drawn anew.
    assert len(seen) == settings.mteb.n_experiments
    assert all(counts == {label: settings.mteb.samples_per_label for label in np.unique(y)} for counts, _ in seen)
    assert len({frozenset(rows) for _, rows in seen}) > 1
    assert 50 < scores["accuracy"] <= 100 and scores["accuracy_std"] >= 0
    with pytest.raises(SentgridError, match="choose one of: senteval, mteb"):
        classification.evaluate(data, X, texts, OmegaConf.merge(SENTEVAL, {"protocol": "knn"}))


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_lines_name_file_and_line(tmp_path):
    with pytest.raises(SentgridError, match=r"c.txt:2: expected label<TAB>text"):
        readers.label_tab_text(write(tmp_path / "c.txt", "1\tfine\nno tab here\n"))
    with pytest.raises(SentgridError, match=r"c2.txt:1: empty text"):
        readers.label_tab_text(write(tmp_path / "c2.txt", "1\t  \n"))
    with pytest.raises(SentgridError, match=r"fine:2: label 'x' is not an integer"):
        readers.sst_fine(write(tmp_path / "fine", "1 good\nx bad\n"))
    with pytest.raises(SentgridError, match=r"e.txt:1: expected text;label"):
        readers.semicolon(write(tmp_path / "e.txt", "no separator\n"))
    with pytest.raises(SentgridError, match=r"b.csv:3: missing column"):
        readers.csv_columns(write(tmp_path / "b.csv", "text,category\nok,a\nonly text\n"), "text", "category")
    with pytest.raises(SentgridError, match=r"m.txt:2: expected 5 tab-separated columns"):
        readers.mrpc(write(tmp_path / "m.txt", "header\n1\t2\t3\tonly a\n"))


def test_pair_classification_thresholds_equal_sentence_transformers_evaluator():
    """Best accuracy and F1 over thresholds, ties kept together, as sentence-transformers' (and MTEB's) evaluator."""
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator as peer

    from sentgrid.tasks.pair_classification import best_accuracy_and_f1

    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(2, 80))
        labels = rng.integers(0, 2, n)
        scores = np.round(rng.uniform(-1, 1, n) + 0.5 * labels, 1 if trial % 2 else 6)  # coarse rounding: many ties
        accuracy, f1 = best_accuracy_and_f1(scores, labels)
        assert accuracy == pytest.approx(peer.find_best_acc_and_threshold(scores, labels, True)[0], abs=1e-12)
        assert f1 == pytest.approx(peer.find_best_f1_and_threshold(scores, labels, True)[0], abs=1e-12)
