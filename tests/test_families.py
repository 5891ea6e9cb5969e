"""Clustering and classification: evaluators against their definitions and scikit-learn, readers, task=all."""
import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sentgrid.data import CLASSIFICATION, CLUSTERING, ClassificationData, ClusteringData
from sentgrid.data import readers
from sentgrid.data.check import check
from sentgrid.data.families import load_classification, load_clustering
from sentgrid.errors import SentgridError
from sentgrid.pipeline import run_cell
from sentgrid.tasks import classification, clustering


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
    vectors = np.array([centres[l] + rng.normal(size=5) for l in labels])
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


def test_c_is_chosen_on_the_dev_split_and_test_is_scored():
    X, y, texts = blobs(300)
    data = ClassificationData("X", {"train": (texts[:200], y[:200]), "dev": (texts[200:250], y[200:250]),
                                    "test": (texts[250:], y[250:])}, "test")
    cfg = OmegaConf.merge(SENTEVAL, {"senteval": {"grid": [0.001, 1.0, 100.0]}})
    scores = classification.evaluate(data, X, texts, cfg)
    accuracy = [LogisticRegression(C=c, max_iter=1000).fit(X[:200], y[:200]).score(X[200:250], y[200:250])
                for c in (0.001, 1.0, 100.0)]
    best = (0.001, 1.0, 100.0)[int(np.argmax(accuracy))]
    assert scores["C"] == best
    expected = LogisticRegression(C=best, max_iter=1000).fit(X[:200], y[:200]).score(X[250:], y[250:])
    assert np.isclose(scores["accuracy"], 100 * expected)


def test_pairs_use_absolute_difference_and_product():
    vectors = np.array([[1.0, 2], [3, 5], [0, 1]])
    data = ClassificationData("P", {"train": ([("a", "b"), ("b", "c")], np.array([1, 0]))}, "test", pairs=True)
    X, _ = classification.features(data, "train", vectors, {"a": 0, "b": 1, "c": 2})
    np.testing.assert_array_equal(X, [[2, 3, 3, 10], [3, 4, 0, 5]])


def test_mteb_protocol_undersamples_per_label():
    X, y, texts = blobs(300)
    data = ClassificationData("X", {"train": (texts[:200], y[:200]), "test": (texts[200:], y[200:])}, "test")
    scores = classification.evaluate(data, X, texts, OmegaConf.merge(SENTEVAL, {"protocol": "mteb"}))
    assert 50 < scores["accuracy"] <= 100 and "accuracy_std" in scores
    with pytest.raises(SentgridError, match="choose one of: senteval, mteb"):
        classification.evaluate(data, X, texts, OmegaConf.merge(SENTEVAL, {"protocol": "knn"}))


@pytest.mark.parametrize("name", list(CLUSTERING))
def test_clustering_readers(data_root, name):
    data = load_clustering(name, data_root)
    assert len(data) == CLUSTERING[name].rows and len(set(data.labels)) == CLUSTERING[name].n_labels


@pytest.mark.parametrize("name", list(CLASSIFICATION))
def test_classification_readers(data_root, name):
    data = load_classification(name, data_root)
    assert {s: len(items) for s, (items, _) in data.splits.items()} == CLASSIFICATION[name].rows
    part = data.take(20)
    assert all(len(items) <= 20 for items, _ in part.splits.values())


def test_reader_details(data_root):
    trec = load_classification("TREC", data_root)
    assert sorted(set(trec.splits["test"][1])) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert sorted(set(load_classification("SST5", data_root).splits["train"][1])) == [0, 1, 2, 3, 4]
    tweets = load_classification("TweetSentimentExtraction", data_root)
    assert not set(tweets.splits["train"][0]) >= set(tweets.splits["test"][0])  # no test set in train
    mrpc = load_classification("MRPC", data_root)
    assert mrpc.pairs and len(mrpc.splits["train"][0][0]) == 2


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


def test_data_check_passes_on_the_real_data_and_fails_on_an_empty_root(data_root, tmp_path, capsys):
    assert check(data_root) == 0
    assert "28 of 28 datasets ok" in capsys.readouterr().out
    assert check(tmp_path) == 1
    assert "missing sts-raw/STS12-en-test/test-gold/STS.input.MSRpar.txt" in capsys.readouterr().out


def test_task_all_scores_every_dataset(compose_cell):
    record = run_cell(compose_cell("task=all", "task.max_items=24", "task.clustering.seeds=2",
                                   "task.classification.senteval.folds=3", "postproc=zscore"))
    metrics = record["metrics"]
    for name in CLASSIFICATION:
        if name in record["config"]["task"]["classification"]["datasets"]:
            assert f"classification/{name}/accuracy" in metrics
    assert sum(k.endswith("/accuracy") and k.startswith("clustering/") for k in metrics) == 7  # 6 + avg
    assert {"sts/avg/spearman", "clustering/avg/accuracy", "classification/avg/accuracy"} <= set(metrics)
    # Classification post-processing is fitted on the training split only.
    sst2 = record["postproc"]["classification/SST2"][0]
    assert sst2["fit_sentences"] == 24


def test_skipped_datasets_are_recorded_and_unknown_skips_rejected(compose_cell):
    record = run_cell(compose_cell("task=clustering", "task.max_items=30", "task.clustering.seeds=1",
                                   "task.skip=[Tweet]"))
    assert "clustering/Tweet/accuracy" not in record["metrics"] and "clustering/avg/accuracy" in record["metrics"]
    assert record["resolved"]["skipped"] == ["Tweet"]
    with pytest.raises(SentgridError, match="task.skip names"):
        run_cell(compose_cell("task=clustering", "task.skip=[STS12]"))
