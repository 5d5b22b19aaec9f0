"""Tests for metrics._logistic: scikit-learn's lbfgs logistic regression with the loss and gradient in numba."""

import warnings

import numba
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder

from metrics._logistic import fit_logistic, predict_proba


def _dense(seed, n, n_classes, n_features=6):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    x = rng.normal(size=(n, n_features)) + 0.8 * (y[:, None] % 3) * rng.normal(size=n_features)
    return x, y


def _reference(x, y, C, balanced, max_iter=100):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=max_iter,
                                  tol=1e-4).fit(x, y)


@pytest.mark.parametrize("n_classes,C,balanced", [(2, 1.0, False), (5, 1.0, False), (5, np.inf, True),
                                                  (2, np.inf, True), (12, 0.1, True)])
def test_same_iterates_as_sklearn(n_classes, C, balanced):
    # the same objective handed to the same scipy optimiser: the same number of iterations and coefficients
    x, y = _dense(n_classes, 2500, n_classes)
    ref = _reference(x, y, C, balanced)
    model = fit_logistic(y, x=x, C=C, balanced=balanced)
    assert model.n_iter == ref.n_iter_[0]
    np.testing.assert_allclose(model.coef, ref.coef_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(model.intercept, ref.intercept_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(predict_proba(model, x=x), ref.predict_proba(x), atol=1e-12)
    np.testing.assert_array_equal(model.classes, ref.classes_)


def test_one_hot_codes_equal_sklearn_on_the_encoded_matrix():
    rng = np.random.default_rng(3)
    z = rng.integers(0, 4, size=(1500, 3)) * 0.5 - 1.0  # quantised latents as floats
    y = (np.round(z[:, 0] * 2) + np.round(z[:, 1] * 2) + rng.integers(0, 2, 1500)).astype(int) % 5
    encoded = OneHotEncoder(handle_unknown="ignore").fit_transform(z)
    codes = np.stack([np.unique(z[:, j], return_inverse=True)[1] + 4 * j for j in range(3)], axis=1)
    ref = _reference(encoded, y, np.inf, True)
    model = fit_logistic(y, codes=codes, n_columns=12, C=np.inf, balanced=True)
    assert model.n_iter == ref.n_iter_[0]
    np.testing.assert_allclose(predict_proba(model, codes=codes), ref.predict_proba(encoded), atol=1e-8)


def test_same_numbers_for_any_number_of_threads():
    x, y = _dense(7, 4000, 4)  # four row blocks
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fit_logistic(y, x=x)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = fit_logistic(y, x=x)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.coef, two.coef)


def test_bad_input_raises():
    x, y = _dense(8, 50, 3)
    with pytest.raises(ValueError, match="at least two classes"):
        fit_logistic(np.zeros(50), x=x)
    with pytest.raises(ValueError, match="exactly one of x"):
        fit_logistic(y)
    with pytest.raises(ValueError, match=r"codes must be \(n, L\) column indices in \[0, 3\)"):
        fit_logistic(y, codes=np.full((50, 1), 3), n_columns=3)
    with pytest.raises(ValueError, match="x must be a finite 2D array"):
        fit_logistic(y, x=np.where(x > 1, np.nan, x))
    with pytest.raises(ValueError, match="the features have 49 rows, y has 50"):
        fit_logistic(y, x=x[:49])
