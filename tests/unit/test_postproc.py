import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from sentgrid.errors import SentgridError
from sentgrid.postproc import STEPS, build, fit_transform


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(16, 16))
    return (rng.normal(size=(500, 16)) @ mixing + 5).astype(np.float32)


def test_whitening_gives_identity_covariance(vectors):
    out, reports = fit_transform(build(["whiten"]), vectors, vectors)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.eye(16), atol=1e-3)
    assert reports[0]["dims_kept"] == 16 and not reports[0]["rank_reduced"]


def test_whitening_equals_the_bert_whitening_formula_up_to_rotation(vectors):
    # Su et al.: W = U diag(s)^-1/2 from the SVD of the covariance; cosines are rotation-invariant.
    mu = vectors.mean(axis=0)
    u, s, _ = np.linalg.svd(np.cov(vectors.astype(np.float64), rowvar=False))
    reference = (vectors - mu) @ (u / np.sqrt(s))
    ours, _ = fit_transform(build(["whiten"]), vectors, vectors)
    np.testing.assert_allclose(ours @ ours.T, reference @ reference.T, rtol=1e-3, atol=1e-3)


def test_whitening_with_fewer_sentences_than_dimensions_shrinks_without_nan():
    rng = np.random.default_rng(1)
    few = (rng.normal(size=(20, 64)) @ rng.normal(size=(64, 64))).astype(np.float32)  # BIOSSES-like: n << dim
    out, reports = fit_transform(build(["whiten", "normalize"]), few, few)
    assert np.isfinite(out).all()
    assert 0 < reports[0]["shrinkage"] <= 1 and reports[0]["dims_kept"] == 64
    # Without shrinkage the fit set collapses onto a simplex: every pair has cosine -1/(n-1).
    flat, reports = fit_transform(build([{"name": "whiten", "shrinkage": "none"}, "normalize"]), few, few)
    off_diagonal = (flat @ flat.T)[~np.eye(20, dtype=bool)]
    np.testing.assert_allclose(off_diagonal, -1 / 19, atol=1e-3)
    assert reports[0]["rank_reduced"] and reports[0]["dims_kept"] == 19
    assert (out @ out.T)[~np.eye(20, dtype=bool)].std() > 0.05


def test_whitening_on_one_sentence_is_a_clear_error():
    with pytest.raises(SentgridError, match="at least 2 fit sentences"):
        fit_transform(build(["whiten"]), np.ones((1, 8), np.float32), np.ones((1, 8), np.float32))


def test_k_kept_dimensions(vectors):
    out, reports = fit_transform(build([{"name": "whiten", "n_components": 4}]), vectors, vectors)
    assert out.shape == (500, 4) and reports[0]["dims_kept"] == 4


def test_abtt_removes_mean_and_top_directions(vectors):
    out, reports = fit_transform(build([{"name": "abtt", "n_components": 2}]), vectors, vectors)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-3)
    centred = vectors - vectors.mean(axis=0)
    top = np.linalg.svd(centred, full_matrices=False)[2][:2]
    np.testing.assert_allclose(out @ top.T, 0, atol=1e-2)
    assert reports[0]["directions_removed"] == 2


def test_zscore_matches_sklearn(vectors):
    out, _ = fit_transform(build(["zscore"]), vectors, vectors)
    np.testing.assert_allclose(out, StandardScaler().fit_transform(vectors), rtol=1e-5)


def test_quantile_maps_to_uniform_and_chains_with_normalize(vectors):
    out, _ = fit_transform(build(["quantile"]), vectors, vectors)
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(np.median(out, axis=0), 0.5, atol=0.01)
    chained, reports = fit_transform(build(["quantile", "normalize"]), vectors, vectors)
    np.testing.assert_allclose(np.linalg.norm(chained, axis=1), 1, rtol=1e-5)
    assert [r["step"] for r in reports] == ["quantile", "normalize"]


def test_fit_set_and_transform_set_differ(vectors):
    out, _ = fit_transform(build(["zscore"]), vectors[:100], vectors[100:])
    assert out.shape == (400, 16)


def test_unknown_step_lists_the_choices():
    with pytest.raises(SentgridError, match="choose one of: " + ", ".join(STEPS)):
        build(["lda"])
    with pytest.raises(SentgridError, match="bad parameters"):
        build([{"name": "whiten", "k": 3}])
