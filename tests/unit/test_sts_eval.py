import numpy as np
from scipy.stats import pearsonr, spearmanr

from sentgrid.data import STSData
from sentgrid.tasks.sts import cosine, evaluate


def test_cosine_matches_definition():
    a, b = np.array([[1.0, 0], [1, 1]]), np.array([[0.0, 1], [2, 2]])
    np.testing.assert_allclose(cosine(a, b), [0, 1])
    assert np.isfinite(cosine(np.zeros((1, 2)), np.ones((1, 2)))).all()


def test_all_mean_and_wmean_aggregations():
    rng = np.random.default_rng(0)
    sentences = [f"s{i}" for i in range(40)]
    vectors = rng.normal(size=(40, 8))
    s1, s2 = sentences[:20], sentences[20:]
    scores = rng.uniform(0, 5, 20)
    subsets = np.array(["a"] * 5 + ["b"] * 15)
    data = STSData("X", s1, s2, scores, subsets, "test")
    result = evaluate(data, vectors, sentences)
    sims = cosine(vectors[:20], vectors[20:])
    assert np.isclose(result["spearman"], 100 * spearmanr(sims, scores).statistic)
    assert np.isclose(result["pearson"], 100 * pearsonr(sims, scores).statistic)
    per = [100 * spearmanr(sims[subsets == s], scores[subsets == s]).statistic for s in ("a", "b")]
    assert np.isclose(result["spearman_mean"], np.mean(per))
    assert np.isclose(result["spearman_wmean"], (5 * per[0] + 15 * per[1]) / 20)
    assert result["pairs"] == 20
