"""L2-regularised logistic regression in float32: scikit-learn's `lbfgs` problem, solved as it solves it.

The objective is scikit-learn's (`LogisticRegression(C, solver="lbfgs")`): the mean log-loss (binomial
for two classes, multinomial over all classes otherwise) plus ||w||^2 / (2 C n), intercepts not
penalised, minimised by SciPy's L-BFGS-B from zeros with the same options (gtol = tol, ftol = 64 eps,
maxls 50). The difference is the arithmetic: the two products with the data run in float32, which on one
core is 2-4x faster (the products are memory-bound). The optimum is the same; where each stops within
the tolerance differs in the last digits, which moves a prediction only for points on the boundary.
`tests/unit/test_families.py` holds it to scikit-learn's optimum; `make bench --tasks` compares the two
on every classification dataset.

A regularisation path (`fit_path`) warm-starts each C from the previous one's solution, and a refit can
start from a given solution, as scikit-learn's LogisticRegressionCV does within a fold and for its refit.
"""
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning

TOL = 1e-4  # scikit-learn's default


class Model:
    """A fitted model: `coef` (k, d + 1) in float64 (weights, then the intercept; k = 1 for two classes)
    is what a warm start continues from; predictions use float32 like the fit."""

    def __init__(self, classes: np.ndarray, coef: np.ndarray):
        self.classes, self.coef = classes, coef
        self.weights, self.intercept = coef[:, :-1].astype(np.float32), coef[:, -1].astype(np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        scores = np.asarray(X, dtype=np.float32) @ self.weights.T + self.intercept
        index = (scores[:, 0] > 0).astype(int) if len(self.classes) == 2 else scores.argmax(axis=1)
        return self.classes[index]

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(X) == y))


class _Problem:
    """Loss and gradient at a flat float64 coefficient vector (what L-BFGS-B works with)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, classes: np.ndarray):
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        if not np.isfinite(self.X).all():  # as scikit-learn refuses them: a fit on them would be silently wrong
            raise ValueError("the features hold NaN or infinite values")
        self.n, self.d = self.X.shape
        self.codes = np.searchsorted(classes, y)
        self.rows = np.arange(self.n)
        self.binary = len(classes) == 2
        self.k = 1 if self.binary else len(classes)
        self.positive = self.codes == 1
        self.l2 = None

    def regularise(self, C: float) -> "_Problem":
        self.l2 = 1.0 / (C * self.n)
        return self

    def size(self) -> int:
        return self.k * (self.d + 1)

    def __call__(self, flat: np.ndarray) -> tuple[float, np.ndarray]:
        coef = flat.reshape(self.k, self.d + 1)
        z = self.X @ coef[:, :-1].T.astype(np.float32)  # (n, k)
        z += coef[:, -1].astype(np.float32)
        if self.binary:  # log(1 + e^z) - y z; its derivative sigmoid(z) - y
            z = z[:, 0]
            loss = np.sum(np.logaddexp(0, z), dtype=np.float64) - np.sum(z[self.positive], dtype=np.float64)
            residual = expit(z)
            residual[self.positive] -= 1
            residual = residual[:, None]
        else:  # log sum_j e^z_j - z_y; its derivative softmax(z) - onehot(y)
            z -= z.max(axis=1, keepdims=True)
            true = z[self.rows, self.codes]
            np.exp(z, out=z)
            total = z.sum(axis=1)
            loss = np.sum(np.log(total), dtype=np.float64) - np.sum(true, dtype=np.float64)
            z /= total[:, None]
            z[self.rows, self.codes] -= 1
            residual = z
        gradient = np.empty_like(coef)
        gradient[:, :-1] = (residual.T @ self.X) / self.n + self.l2 * coef[:, :-1]
        gradient[:, -1] = residual.sum(axis=0, dtype=np.float64) / self.n
        value = loss / self.n + 0.5 * self.l2 * float(np.sum(coef[:, :-1] ** 2))
        return value, gradient.ravel()


def _minimise(problem: _Problem, start: np.ndarray, max_iter: int) -> np.ndarray:
    result = minimize(problem, start, method="L-BFGS-B", jac=True,
                      options={"maxiter": max_iter, "maxls": 50, "gtol": TOL, "ftol": 64 * np.finfo(float).eps})
    if result.status != 0:  # as scikit-learn says it: the cell records the warning
        warnings.warn(f"lbfgs failed to converge after {result.nit} iterations ({result.message}); "
                      f"scale the features or raise max_iter", ConvergenceWarning, stacklevel=3)
    return result.x


def fit_path(X: np.ndarray, y: np.ndarray, Cs, max_iter: int, classes: np.ndarray | None = None,
             start: np.ndarray | None = None) -> list[Model]:
    """One model per C, in the given order, each started from the previous solution; the first from
    `start` (a model's `coef`), else from zeros."""
    classes = np.unique(y) if classes is None else classes
    if len(classes) < 2:
        raise ValueError(f"logistic regression needs two classes or more; the training labels hold {len(classes)}")
    problem = _Problem(X, y, classes)
    models, flat = [], np.zeros(problem.size()) if start is None else np.ravel(start)
    for C in Cs:
        flat = _minimise(problem.regularise(float(C)), flat, max_iter)
        models.append(Model(classes, flat.reshape(problem.k, problem.d + 1)))
    return models


def fit(X: np.ndarray, y: np.ndarray, C: float, max_iter: int, start: np.ndarray | None = None) -> Model:
    return fit_path(X, y, [C], max_iter, start=start)[0]
