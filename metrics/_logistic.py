"""Private logistic regression: scikit-learn's ``LogisticRegression(solver="lbfgs")`` objective and optimiser, with
the loss and its gradient in numba.

Explicitness (Ridgeway & Mozer, 2018, as disentanglement_lib scores it) and InfoE (Hsu et al., 2023) fit one
logistic regression per factor. scikit-learn 1.9 minimises (``linear_model/_logistic.py``, ``_linear_loss.py``)

.. math::

    f(W, b) = \\frac{1}{\\sum_i w_i} \\sum_i w_i \\, \\ell(y_i, x_i W^\\top + b)
              + \\frac{1}{2 C \\sum_i w_i} \\lVert W \\rVert_F^2

with sample weights :math:`w_i` (the ``"balanced"`` class weights ``n / (K n_k)``, or 1), :math:`\\ell` the
binomial (K = 2: one coefficient vector, the second class positive) or multinomial (K > 2) half deviance
``logsumexp(raw) - raw_y``, and no penalty on the intercept, by ``scipy.optimize.minimize(method="L-BFGS-B")`` from
zero with ``maxiter=max_iter``, ``maxls=50``, ``gtol=tol``, ``ftol=64 eps``, the multinomial coefficients ravelled
with the classes of one feature contiguous. Here the same objective goes to the same scipy call, so the iterates
are scikit-learn's up to the rounding of sums (``tests/metrics/test_logistic.py``: coefficients to 1e-12); only the
loss and gradient are computed in numba, over fixed row blocks in parallel (the same numbers for any number of
threads), each row's scores and gradient as vector operations over the classes.

Features are dense rows, or one-hot codes given as their column per latent (``codes`` (n, L)): the InfoE probe of
discrete latents, where scikit-learn multiplies a sparse one-hot matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

__all__: list[str] = []  # private module

_ROWS_PER_BLOCK = 1_000  # rows per block of the loss and gradient sums (at most _MAX_BLOCKS blocks)
_MAX_BLOCKS = 16


@dataclass(frozen=True)
class LogisticModel:
    """Fitted coefficients: ``coef`` (T, D) and ``intercept`` (T,), T = 1 (binary) or K; ``classes`` (K,)."""

    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int


@njit(cache=True, parallel=True)
def _loss_grad(w, x, codes, one_hot, y, sw, n_out, n_blocks):
    """Weighted sum of the half deviances and its gradient, both over row blocks in parallel.

    ``w`` (n_dof, n_out): row j holds feature j's coefficient of every output, the last row the intercepts (the
    ravelled layout of scikit-learn's lbfgs). Returns (loss, gradient (n_dof, n_out)).
    """
    n = y.shape[0]
    n_dof = w.shape[0]
    bias = n_dof - 1
    block_loss = np.zeros(n_blocks)
    block_grad = np.zeros((n_blocks, n_dof, n_out))
    for blk in prange(n_blocks):
        raw = np.empty(n_out)
        g = block_grad[blk]
        loss = 0.0
        for i in range(blk * n // n_blocks, (blk + 1) * n // n_blocks):
            for k in range(n_out):
                raw[k] = w[bias, k]
            if one_hot:
                for j in range(codes.shape[1]):
                    c = codes[i, j]
                    for k in range(n_out):
                        raw[k] += w[c, k]
            else:
                for j in range(x.shape[1]):
                    xij = x[i, j]
                    for k in range(n_out):
                        raw[k] += xij * w[j, k]
            if n_out == 1:  # binomial: log(1 + exp(raw)) - y raw; gradient sigmoid(raw) - y
                z = raw[0]
                if z > 0.0:
                    loss += sw[i] * (z + np.log1p(np.exp(-z)) - y[i] * z)
                    p = 1.0 / (1.0 + np.exp(-z))
                else:
                    loss += sw[i] * (np.log1p(np.exp(z)) - y[i] * z)
                    e = np.exp(z)
                    p = e / (1.0 + e)
                raw[0] = sw[i] * (p - y[i])
            else:  # multinomial: logsumexp(raw) - raw_y; gradient softmax(raw) - onehot(y)
                yi = int(y[i])
                mx = raw[0]
                for k in range(1, n_out):
                    mx = max(mx, raw[k])
                margin = raw[yi] - mx
                tot = 0.0
                for k in range(n_out):
                    raw[k] = np.exp(raw[k] - mx)
                    tot += raw[k]
                loss += sw[i] * (np.log(tot) - margin)
                scale = sw[i] / tot
                for k in range(n_out):
                    raw[k] *= scale
                raw[yi] -= sw[i]
            for k in range(n_out):  # raw now holds the pointwise gradient
                g[bias, k] += raw[k]
            if one_hot:
                for j in range(codes.shape[1]):
                    c = codes[i, j]
                    for k in range(n_out):
                        g[c, k] += raw[k]
            else:
                for j in range(x.shape[1]):
                    xij = x[i, j]
                    for k in range(n_out):
                        g[j, k] += xij * raw[k]
        block_loss[blk] = loss
    total = 0.0
    grad = np.zeros((n_dof, n_out))
    for blk in range(n_blocks):  # in block order: the same sums for any number of threads
        total += block_loss[blk]
        for j in range(n_dof):
            for k in range(n_out):
                grad[j, k] += block_grad[blk, j, k]
    return total, grad


def _features(x, codes, n_columns):
    """(x, codes, one_hot, n_features) with an empty stand-in for the form not given."""
    if (x is None) == (codes is None):
        raise ValueError("give exactly one of x (dense features) and codes (one-hot columns)")
    if codes is not None:
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        if codes.ndim != 2 or (codes.size and (codes.min() < 0 or codes.max() >= n_columns)):
            raise ValueError(f"codes must be (n, L) column indices in [0, {n_columns}).")
        return np.zeros((codes.shape[0], 0)), codes, True, int(n_columns)
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be a finite 2D array; got shape {x.shape}.")
    return x, np.zeros((x.shape[0], 0), dtype=np.int64), False, x.shape[1]


def fit_logistic(y, *, x=None, codes=None, n_columns: int = 0, C: float = 1.0, balanced: bool = False,
                 max_iter: int = 100, tol: float = 1e-4) -> LogisticModel:
    """``LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=max_iter, tol=tol).fit``
    (lbfgs; ``C=np.inf`` for no penalty) on dense ``x`` (n, D) or one-hot ``codes`` (n, L) into ``n_columns``
    columns. ``y`` (n,) with at least two classes."""
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    classes, target = np.unique(np.asarray(y), return_inverse=True)
    target = target.reshape(-1)
    if classes.size < 2:
        raise ValueError(f"y must contain at least two classes; got only {classes.tolist()}.")
    x, codes, one_hot, n_features = _features(x, codes, n_columns)
    n = target.shape[0]
    if (codes if one_hot else x).shape[0] != n:
        raise ValueError(f"the features have {(codes if one_hot else x).shape[0]} rows, y has {n}.")
    sw = np.ones(n)
    if balanced:  # n / (K n_k): scikit-learn's compute_class_weight("balanced")
        sw = (n / (classes.size * np.bincount(target)))[target]
    sw_sum = float(sw.sum())
    l2 = 0.0 if np.isinf(C) else 1.0 / (C * sw_sum)
    n_out = 1 if classes.size == 2 else classes.size
    n_dof = n_features + 1
    n_blocks = max(1, min(_MAX_BLOCKS, n // _ROWS_PER_BLOCK))
    y_float = target.astype(np.float64)

    def fun(w):
        loss, grad = _loss_grad(w.reshape(n_dof, n_out), x, codes, one_hot, y_float, sw, n_out, n_blocks)
        grad = grad.reshape(-1) / sw_sum
        weights = w[: n_out * n_features]  # the intercepts are the last n_out entries
        grad[: n_out * n_features] += l2 * weights
        return loss / sw_sum + 0.5 * l2 * float(weights @ weights), grad

    # one BLAS thread: L-BFGS-B's small vector operations gain nothing from more, and BLAS threads waiting for work
    # beside numba's made each iteration several times slower on 2 cores
    with threadpool_limits(limits=1, user_api="blas"):
        res = minimize(fun, np.zeros(n_out * n_dof), method="L-BFGS-B", jac=True,
                       options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps})
    w = res.x.reshape(n_dof, n_out).T  # (outputs, features + intercept)
    return LogisticModel(classes=classes, coef=np.ascontiguousarray(w[:, :-1]), intercept=w[:, -1].copy(),
                         n_iter=int(res.nit))


def predict_proba(model: LogisticModel, *, x=None, codes=None) -> np.ndarray:
    """Class probabilities (n, K), as ``LogisticRegression.predict_proba``: the logistic function of the binary
    score for the second class, the softmax of the scores otherwise."""
    x, codes, one_hot, _ = _features(x, codes, model.coef.shape[1])
    raw = (model.coef[:, codes].sum(axis=2).T if one_hot else x @ model.coef.T) + model.intercept
    if model.coef.shape[0] == 1:
        from scipy.special import expit  # no overflow for the large scores of an unpenalised fit

        p = expit(raw[:, 0])
        return np.stack([1.0 - p, p], axis=1)
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

