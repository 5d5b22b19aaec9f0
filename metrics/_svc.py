"""Private exact solver for one-feature ``sklearn.svm.LinearSVC`` fits, as used by discrete SAP.

Discrete SAP (``metrics.sap(..., continuous_factors=False)``, disentanglement_lib's recipe) fits
``LinearSVC(C=0.01, class_weight="balanced")`` on ONE latent column for every (latent, factor) pair
and scores its test accuracy. With one feature, LinearSVC's problem is a strictly convex,
piecewise-quadratic function of two variables, solved here to machine precision instead of
liblinear's ``tol=1e-4``. Re-implemented from the formulas of scikit-learn 1.9
(``svm/_base.py::_fit_liblinear``, ``svm/src/liblinear/linear.cpp``: ``train``, ``train_one``,
``l2r_l2_svc_fun``), not from its code.

What liblinear solves for LinearSVC's defaults (``loss="squared_hinge"``, ``penalty="l2"``,
``dual="auto"`` -> primal TRON, ``fit_intercept=True``, ``intercept_scaling=1``): per binary
problem with labels :math:`y_i \\in \\{-1, +1\\}` and per-sample costs :math:`C_i`,

.. math::

    \\min_{w, b}\\ \\tfrac12 (w^2 + b^2) + \\sum_i C_i \\max(0, 1 - y_i (w x_i + b))^2

(the intercept is an extra constant feature of value 1 and IS regularised).

- Classes are the sorted distinct training labels; balanced weights ``n / (n_classes * n_c)``.
- Two classes: ONE problem, the second class (``classes_[1]``) is +1 with ``C_i = C * weight_1``,
  the first is -1 with ``C_i = C * weight_0``; predict ``classes_[1]`` iff ``w x + b > 0``.
- More classes: one-vs-rest, class c is +1 with ``C_i = C * weight_c`` and EVERY other sample is -1
  with ``C_i = C`` (liblinear's ``train_one(..., weighted_C[i], param->C)``: the class weights of
  the negatives are not applied); predict the first class of largest ``w_c x + b_c``.
- One class in the training set: every test row is predicted as that class.
- Test labels absent from the training set are never predicted (counted wrong).

Solver: a generalised Newton method. At (w, b) the active set is :math:`I = \\{i: m_i > 0\\}` with
margin :math:`m_i = 1 - y_i (w x_i + b)`; the gradient is :math:`(w, b) - 2 \\sum_I C_i y_i m_i
(x_i, 1)` and the (generalised) Hessian :math:`\\mathrm{Id} + 2 \\sum_I C_i (x_i, 1)^T (x_i, 1)`, which is
positive definite. The Newton direction d is followed with an EXACT line search: along d the
derivative of the objective is piecewise linear and increasing in the step t, with breakpoints
:math:`t_i = m_i / s_i`, :math:`s_i = y_i (d_w x_i + d_b)`; its root is found by sweeping the sorted
breakpoints. The objective strictly decreases at each step, there are finitely many active sets,
and when no breakpoint is crossed the step lands on the minimum of the quadratic piece whose
active set is consistent, i.e. the global optimum; that is the stopping rule (plus a gradient test
and an iteration cap that is never reached in the tests).

Above ``_PARALLEL_MIN_WORK`` a ``parallel=True`` variant runs ``prange`` over latents; every
(latent, factor) cell is computed by the same serial code and written to its own output cell, so
serial and parallel results are bit-identical. Below it (all usual SAP sizes) the serial kernel,
cached on disk, is used: the parallel one compiles in ~2 s in every new process.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__: list[str] = []  # private module

_MAX_NEWTON = 200  # Newton steps per binary problem; 1.15 on average, rarely more than 3 (measured)
_PARALLEL_MIN_WORK = 50_000_000  # n_train * n_latents * n_factors above which latents run in parallel: the parallel
# kernel is not cached on disk and compiles in ~2 s per process (measured), which the serial kernel (~0.15 s
# at 10,000 x 12 x 6) only loses to on much larger inputs


@njit(cache=True)
def _objective(x, y, cost, w, b):
    """0.5 (w^2 + b^2) + sum_i cost_i max(0, 1 - y_i (w x_i + b))^2."""
    f = 0.5 * (w * w + b * b)
    for i in range(x.shape[0]):
        m = 1.0 - y[i] * (w * x[i] + b)
        if m > 0.0:
            f += cost[i] * m * m
    return f


@njit(cache=True)
def _solve_binary(x, y, cost, bp_t, bp_i):
    """Exact minimiser (w, b) of the one-feature squared-hinge problem; bp_* are (n,) scratch arrays."""
    n = x.shape[0]
    w = 0.0
    b = 0.0
    for _ in range(_MAX_NEWTON):
        gw = w
        gb = b
        h11 = 1.0
        h12 = 0.0
        h22 = 1.0
        for i in range(n):
            m = 1.0 - y[i] * (w * x[i] + b)
            if m > 0.0:
                c2 = 2.0 * cost[i]
                gw -= c2 * y[i] * m * x[i]
                gb -= c2 * y[i] * m
                h11 += c2 * x[i] * x[i]
                h12 += c2 * x[i]
                h22 += c2
        if gw == 0.0 and gb == 0.0:
            break
        det = h11 * h22 - h12 * h12
        dw = -(h22 * gw - h12 * gb) / det
        db = -(h11 * gb - h12 * gw) / det
        # Exact line search: phi'(t) = A + B t on each piece between breakpoints.
        a_lin = w * dw + b * db
        b_lin = dw * dw + db * db
        n_bp = 0
        for i in range(n):
            m = 1.0 - y[i] * (w * x[i] + b)
            s = y[i] * (dw * x[i] + db)
            if m > 0.0 or (m == 0.0 and s < 0.0):  # active just after t = 0
                c2 = 2.0 * cost[i]
                a_lin -= c2 * s * m
                b_lin += c2 * s * s
            if s != 0.0:
                t = m / s
                if t > 0.0:
                    bp_t[n_bp] = t
                    bp_i[n_bp] = i
                    n_bp += 1
        if a_lin >= 0.0:  # not a descent direction any more (rounding): at the optimum
            break
        t_root = -a_lin / b_lin
        t_min = t_root
        for q in range(n_bp):
            if bp_t[q] < t_min:
                t_min = bp_t[q]
        crossed = t_min < t_root
        if crossed:
            order = np.argsort(bp_t[:n_bp])
            for q in range(n_bp):
                t_q = bp_t[order[q]]
                if t_q >= t_root:
                    break
                i = bp_i[order[q]]
                m = 1.0 - y[i] * (w * x[i] + b)
                s = y[i] * (dw * x[i] + db)
                c2 = 2.0 * cost[i]
                if s > 0.0:  # leaves the active set at t_q
                    a_lin += c2 * s * m
                    b_lin -= c2 * s * s
                else:  # enters
                    a_lin -= c2 * s * m
                    b_lin += c2 * s * s
                if b_lin < 1e-300:
                    b_lin = dw * dw + db * db  # rounding guard: the identity part is always there
                t_root = -a_lin / b_lin
                if t_root < t_q:
                    t_root = t_q
        w_new = w + t_root * dw
        b_new = b + t_root * db
        if w_new == w and b_new == b:
            break
        w = w_new
        b = b_new
        if not crossed:
            break
    return w, b


def _fit_factor_impl(x, codes, n_classes, C, n_per_class, coef, intercept, y, cost, bp_t, bp_i):
    """Fit all binary problems of one factor on one feature; writes coef/intercept (n_problems,)."""
    n = x.shape[0]
    if n_classes == 2:
        for i in range(n):
            c = codes[i]
            y[i] = 1.0 if c == 1 else -1.0
            cost[i] = C * n / (2.0 * n_per_class[c])
        coef[0], intercept[0] = _solve_binary(x, y, cost, bp_t, bp_i)
    elif n_classes > 2:
        for k in range(n_classes):
            pos_cost = C * n / (n_classes * n_per_class[k])
            for i in range(n):
                if codes[i] == k:
                    y[i] = 1.0
                    cost[i] = pos_cost
                else:
                    y[i] = -1.0
                    cost[i] = C
            coef[k], intercept[k] = _solve_binary(x, y, cost, bp_t, bp_i)


_fit_factor = njit(cache=True)(_fit_factor_impl)


@njit(cache=True)
def _predict(x, n_classes, coef, intercept, out):
    """Class codes predicted for x (m,) by the fitted problems of one factor."""
    for i in range(x.shape[0]):
        if n_classes == 1:
            out[i] = 0
        elif n_classes == 2:
            out[i] = 1 if coef[0] * x[i] + intercept[0] > 0.0 else 0
        else:
            best = 0
            best_v = coef[0] * x[i] + intercept[0]
            for k in range(1, n_classes):
                v = coef[k] * x[i] + intercept[k]
                if v > best_v:
                    best_v = v
                    best = k
            out[i] = best


def _accuracy_impl(x_tr, codes_tr, x_te, codes_te, n_classes, C, out):
    """out[j, k] = test accuracy of the fitted one-feature classifiers; x_* are (L, n), codes_* (K, n)."""
    n_latents = x_tr.shape[0]
    n_factors = codes_tr.shape[0]
    n = x_tr.shape[1]
    m = x_te.shape[1]
    max_classes = 1
    for k in range(n_factors):
        max_classes = max(max_classes, n_classes[k])
    counts = np.zeros((n_factors, max_classes), dtype=np.int64)
    for k in range(n_factors):
        for i in range(n):
            counts[k, codes_tr[k, i]] += 1
    for j in prange(n_latents):
        y = np.empty(n)
        cost = np.empty(n)
        bp_t = np.empty(n)
        bp_i = np.empty(n, dtype=np.int64)
        coef = np.zeros(max_classes)
        intercept = np.zeros(max_classes)
        pred = np.empty(m, dtype=np.int64)
        for k in range(n_factors):
            _fit_factor(x_tr[j], codes_tr[k], n_classes[k], C, counts[k], coef, intercept, y, cost, bp_t, bp_i)
            _predict(x_te[j], n_classes[k], coef, intercept, pred)
            hits = 0
            for i in range(m):
                if pred[i] == codes_te[k, i]:
                    hits += 1
            out[j, k] = hits / m if m > 0 else 0.0


_accuracy = njit(cache=True)(_accuracy_impl)
_accuracy_par = njit(parallel=True)(_accuracy_impl)


def _encode(s_tr, s_te):
    """Training codes 0..n_classes-1 (K, n), test codes (-1 for classes unseen in training), class counts."""
    n_factors = s_tr.shape[1]
    codes_tr = np.empty((n_factors, s_tr.shape[0]), dtype=np.int64)
    codes_te = np.empty((n_factors, s_te.shape[0]), dtype=np.int64)
    n_classes = np.empty(n_factors, dtype=np.int64)
    for k in range(n_factors):
        classes, inverse = np.unique(s_tr[:, k], return_inverse=True)
        codes_tr[k] = inverse.reshape(-1)
        n_classes[k] = classes.size
        pos = np.clip(np.searchsorted(classes, s_te[:, k]), 0, max(classes.size - 1, 0))
        found = classes.size > 0
        codes_te[k] = np.where(found & (classes[pos] == s_te[:, k]), pos, -1) if found else -1
    return codes_tr, codes_te, n_classes


def svc_accuracy_matrix(latents_train, sources_train, latents_test, sources_test, *, C=0.01):
    """Test accuracy of a one-latent balanced LinearSVC for every (latent, factor) pair, (L, K).

    Equal in meaning to discrete SAP's score matrix: entry (j, k) is the test accuracy of
    ``LinearSVC(C=C, class_weight="balanced")`` fitted on latent j alone to factor k, with the
    optimisation problem solved exactly (see the module docstring) instead of to liblinear's tol.
    Inputs are already validated 2D arrays with the same number of columns in train and test.
    """
    x_tr = np.ascontiguousarray(np.asarray(latents_train, dtype=np.float64).T)  # (n, L) -> (L, n)
    x_te = np.ascontiguousarray(np.asarray(latents_test, dtype=np.float64).T)  # (m, L) -> (L, m)
    codes_tr, codes_te, n_classes = _encode(np.asarray(sources_train), np.asarray(sources_test))
    out = np.zeros((x_tr.shape[0], codes_tr.shape[0]))
    work = x_tr.shape[0] * x_tr.shape[1] * codes_tr.shape[0]
    kernel = _accuracy_par if work >= _PARALLEL_MIN_WORK and x_tr.shape[0] > 1 else _accuracy
    kernel(x_tr, codes_tr, x_te, codes_te, n_classes, float(C), out)
    return out


def _fit_coefficients(x, s, *, C=0.01):
    """(coef, intercept) of every binary problem for one feature x (n,) and labels s (n,) (tests)."""
    codes_tr, _, n_classes = _encode(np.asarray(s).reshape(-1, 1), np.asarray(s).reshape(-1, 1)[:0])
    nc = int(n_classes[0])
    n_prob = 1 if nc == 2 else (nc if nc > 2 else 0)
    coef = np.zeros(max(nc, 1))
    intercept = np.zeros(max(nc, 1))
    counts = np.bincount(codes_tr[0], minlength=nc).astype(np.int64)
    n = x.shape[0]
    x = np.ascontiguousarray(x, dtype=np.float64)
    _fit_factor(x, codes_tr[0], nc, float(C), counts, coef, intercept, np.empty(n), np.empty(n), np.empty(n),
                np.empty(n, dtype=np.int64))
    return coef[:n_prob], intercept[:n_prob]
