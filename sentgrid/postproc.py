"""Post-processing as scikit-learn transformers; a chain of steps is a `Pipeline`.

Each step is fitted on the fit set (the task's own sentences or the corpus) and applied to the
evaluation vectors. Fitted steps expose `report_`, a small dict recorded in the result (for example
how many dimensions whitening kept when there were fewer fit sentences than dimensions).

What export needs, a step says itself: an affine step has `affine()`, the fitted `(mean, matrix)` with
`transform(x) == (x - mean) @ matrix`; a step that scales each vector to length 1 has `unit_length = True`;
any other step (quantile) is refused by the exporters, naming the step and its docstring's first line.
"""
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, QuantileTransformer, StandardScaler

from .errors import SentgridError, choice_error, what_it_is

# Components whose variance is below this fraction of the largest carry only rounding noise;
# dividing by their square root would blow the noise up (and yields NaN/inf at zero variance).
RELATIVE_VARIANCE_FLOOR = 1e-6


class Whitener(TransformerMixin, BaseEstimator):
    """Whitening x -> (x - mu) U diag(lambda)^-1/2 from the eigendecomposition of the fit set's
    covariance, as in BERT-whitening (Su et al., 2021). `n_components` keeps the top k directions.

    With no more fit sentences than dimensions (BIOSSES: 182 sentences, 384+ dims) the sample
    covariance is singular, and whitening the fit set in its own span maps it onto a regular simplex:
    every pair of its sentences gets the same cosine, -1/(n-1), and the scores mean nothing. So
    `shrinkage="auto"` uses the Ledoit-Wolf shrunk covariance there (full rank, well conditioned) and the
    plain sample covariance otherwise; "none" and "ledoit_wolf" force one or the other.
    """

    def __init__(self, n_components: int | None = None, shrinkage: str = "auto"):
        self.n_components = n_components
        self.shrinkage = shrinkage

    def fit(self, X, y=None):
        n, d = X.shape
        if n < 2:
            raise SentgridError(f"whitening needs at least 2 fit sentences, got {n}; "
                                f"use postproc.fit_on=wikitext or a larger dataset.")
        if self.shrinkage not in ("auto", "none", "ledoit_wolf"):
            raise choice_error("whiten shrinkage", self.shrinkage, ("auto", "none", "ledoit_wolf"))
        X = X.astype(np.float64)
        shrink = self.shrinkage == "ledoit_wolf" or (self.shrinkage == "auto" and n <= d)
        if shrink:
            estimate = LedoitWolf().fit(X)
            covariance, shrinkage = estimate.covariance_, float(estimate.shrinkage_)
        else:
            covariance, shrinkage = np.cov(X, rowvar=False), 0.0
        variances, directions = np.linalg.eigh(covariance)
        variances, directions = variances[::-1], directions[:, ::-1]
        wanted = d if self.n_components is None else min(int(self.n_components), d)
        keep = np.flatnonzero(variances > RELATIVE_VARIANCE_FLOOR * variances[0])[:wanted]
        self.mean_ = X.mean(axis=0)
        self.projection_ = directions[:, keep] / np.sqrt(variances[keep])
        self.report_ = {"dims_in": d, "dims_kept": len(keep), "fit_sentences": n,
                        "shrinkage": round(shrinkage, 4), "rank_reduced": len(keep) < wanted}
        return self

    def transform(self, X):
        return ((X - self.mean_) @ self.projection_).astype(np.float32)

    def affine(self):
        return self.mean_, self.projection_


class ABTT(TransformerMixin, BaseEstimator):
    """All-but-the-top (Mu & Viswanath, 2018): remove the mean and the top D principal directions.

    `n_components="auto"` takes D = round(dim / 100), at least 1, as the paper suggests."""

    def __init__(self, n_components: int | str = "auto"):
        self.n_components = n_components

    def fit(self, X, y=None):
        n, d = X.shape
        wanted = max(1, round(d / 100)) if self.n_components == "auto" else int(self.n_components)
        if n < 2:
            raise SentgridError(f"ABTT needs at least 2 fit sentences, got {n}.")
        removed = min(wanted, n - 1, d)
        pca = PCA(n_components=removed, svd_solver="full").fit(X.astype(np.float64))
        self.mean_, self.components_ = pca.mean_, pca.components_
        self.report_ = {"dims_in": d, "directions_removed": removed, "fit_sentences": n}
        return self

    def transform(self, X):
        centred = X - self.mean_
        return (centred - (centred @ self.components_.T) @ self.components_).astype(np.float32)

    def affine(self):
        return self.mean_, np.eye(len(self.mean_)) - self.components_.T @ self.components_


class Project(TransformerMixin, BaseEstimator):
    """PCA: centre, then keep the top `n_components` principal directions (shorter vectors)."""

    def __init__(self, n_components: int = 128):
        self.n_components = n_components

    def fit(self, X, y=None):
        n, d = X.shape
        if n < 2:
            raise SentgridError(f"pca needs at least 2 fit sentences, got {n}.")
        kept = min(int(self.n_components), n, d)
        pca = PCA(n_components=kept, svd_solver="full").fit(X.astype(np.float64))
        self.mean_, self.components_ = pca.mean_, pca.components_
        self.report_ = {"dims_in": d, "dims_kept": kept, "fit_sentences": n,
                        "variance_kept": round(float(pca.explained_variance_ratio_.sum()), 4)}
        return self

    def transform(self, X):
        return ((X - self.mean_) @ self.components_.T).astype(np.float32)

    def affine(self):
        return self.mean_, self.components_.T


class ZScore(StandardScaler):
    """Each dimension centred and scaled to unit variance on the fit set."""

    def fit(self, X, y=None, sample_weight=None):
        super().fit(X, y, sample_weight)
        self.report_ = {"fit_sentences": X.shape[0]}
        return self

    def affine(self):
        width = self.n_features_in_
        mean = self.mean_ if self.mean_ is not None else np.zeros(width)
        return mean, np.diag(1.0 / (self.scale_ if self.scale_ is not None else np.ones(width)))


class UnitLength(Normalizer):
    """Each vector scaled to length 1."""

    unit_length = True


class Quantile(QuantileTransformer):
    """Each dimension mapped to uniform [0, 1] through its empirical CDF on the fit set."""

    def fit(self, X, y=None):
        with warnings.catch_warnings():  # sklearn clips n_quantiles to the fit size itself, with a warning
            warnings.simplefilter("ignore", UserWarning)
            super().fit(X, y)
        self.report_ = {"n_quantiles": int(self.n_quantiles_), "fit_sentences": X.shape[0]}
        return self


def _quantile(n_quantiles: int = 1000, subsample: int = 100_000, random_state: int = 0):
    return Quantile(n_quantiles=n_quantiles, output_distribution="uniform", subsample=subsample,
                    random_state=random_state)


STEPS = {
    "normalize": lambda: UnitLength(norm="l2"),
    "zscore": ZScore,
    "whiten": Whitener,
    "abtt": ABTT,
    "pca": Project,
    "quantile": _quantile,
}


def is_affine(step) -> bool:
    return callable(getattr(step, "affine", None))


def is_unit_length(step) -> bool:
    return bool(getattr(step, "unit_length", False))


def steps_of(steps) -> list[tuple[str, object]]:
    """(name, unfitted step) of each configured step."""
    return [_step(spec) for spec in steps]


def unmapped(steps) -> tuple[str, str] | None:
    """The first configured step that is neither affine nor a scaling to length 1 (name, what it does), or None."""
    for name, step in steps_of(steps):
        if not (is_affine(step) or is_unit_length(step)):
            return name, what_it_is(step, name)
    return None


def _step(spec):
    """A step is a name (`whiten`) or a mapping with a name and parameters (`{name: whiten, n_components: 256}`)."""
    if isinstance(spec, str):
        name, params = spec, {}
    else:
        params = dict(spec)
        name = params.pop("name", None)
    if name not in STEPS:
        raise choice_error("postproc step", name, STEPS)
    try:
        return name, STEPS[name](**params)
    except TypeError as exc:
        raise SentgridError(f"postproc step {name!r} got bad parameters {params}: {exc}.") from exc


def build(steps) -> Pipeline | None:
    """A Pipeline of the configured steps; None when there are none (postproc=none)."""
    if not steps:
        return None
    named = [_step(spec) for spec in steps]
    return Pipeline([(f"{i}_{name}", est) for i, (name, est) in enumerate(named)])


def fit_transform(pipeline: Pipeline | None, fit_vectors: np.ndarray, vectors: np.ndarray):
    """Fit on `fit_vectors`, transform `vectors`; returns (vectors, per-step reports)."""
    if pipeline is None:
        return vectors, []
    pipeline.fit(fit_vectors)
    out = pipeline.transform(vectors)
    if not np.isfinite(out).all():
        raise SentgridError("post-processing produced NaN or infinite values; "
                            "the fit set is probably degenerate (all sentences identical?).")
    reports = [{"step": name.split("_", 1)[1], **getattr(est, "report_", {})} for name, est in pipeline.steps]
    return out, reports
