"""FactorVAE score (Kim & Mnih, 2018) and BetaVAE score (Higgins et al., 2017).

Both metrics generate their own data: they sample factor classes from a ground-truth dataset, render
the images, encode them, and train a simple classifier to recover which factor was held fixed.
They follow disentanglement_lib's ``evaluation/metrics/factor_vae.py`` and ``beta_vae.py``.

``dataset`` is anything with the FactorDataset contract parts used here: ``factor_sizes``
(K class counts), ``sample_factors(n, rng) -> (n, K) int64`` and ``images_for_factors(classes) ->
images`` (one image per row of ``classes``). ``encode(images) -> (n, L)`` returns the
representation as a numpy array or torch tensor; it must encode every image independently of the
others in the call, because several voting batches are encoded together (up to 1024 images per call).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from metrics._results import METRIC_VERSIONS, BetaVAEResult, FactorVAEResult
from metrics._split import random_state_param, seed_from
from metrics._validation import (
    check_consistent_samples,
    check_float,
    check_int,
    check_latents,
    check_random_state,
    check_sources,
)

__all__ = ["factor_vae_score", "beta_vae_score"]

_IMAGES_PER_CALL = 1024  # images rendered and encoded per call to encode (whole voting batches)


class _Sampler:
    """Validated access to a dataset and an encoder: sample factors, render, encode, check shapes."""

    def __init__(self, dataset: Any, encode: Callable[[Any], Any]) -> None:
        missing = [a for a in ("factor_sizes", "sample_factors", "images_for_factors") if not hasattr(dataset, a)]
        if missing:
            raise TypeError(
                "dataset must provide factor_sizes, sample_factors(n, rng) and images_for_factors(classes) "
                f"(the FactorDataset contract); got {type(dataset).__name__} without {', '.join(missing)}."
            )
        if not callable(encode):
            raise TypeError(f"encode must be a callable images -> (n, n_latents) array; got {type(encode).__name__}.")
        sizes = np.asarray(dataset.factor_sizes)
        if sizes.ndim != 1 or sizes.size < 1:
            raise ValueError(
                f"dataset.factor_sizes must be a non-empty 1D sequence of class counts; got {sizes.tolist()!r}."
            )
        self.dataset = dataset
        self.encode_fn = encode
        self.n_factors = int(sizes.size)
        self.n_latents: int | None = None
        self.images_encoded = 0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        name = "dataset.sample_factors(n, rng)"
        f = check_sources(self.dataset.sample_factors(n, rng), name=name)
        if f.shape != (n, self.n_factors):
            raise ValueError(
                f"{name} must return shape (n, n_factors) = ({n}, {self.n_factors}); got shape {f.shape}."
            )
        return np.array(f, dtype=np.int64, copy=True)

    def encode(self, factors: np.ndarray) -> np.ndarray:
        z = check_latents(self.encode_fn(self.dataset.images_for_factors(factors)), name="encode(images)")
        check_consistent_samples(**{"encode(images)": z, "factors": factors})
        if self.n_latents is None:
            self.n_latents = int(z.shape[1])
        elif z.shape[1] != self.n_latents:
            raise ValueError(
                f"encode(images) must return the same number of latents on every call; got {z.shape[1]} "
                f"after {self.n_latents}."
            )
        self.images_encoded += factors.shape[0]
        return np.asarray(z, dtype=np.float64)

    def encode_many(self, factors: np.ndarray) -> np.ndarray:
        """Encode (n, K) factor rows in chunks of at most ``_IMAGES_PER_CALL``."""
        parts = [self.encode(factors[i:i + _IMAGES_PER_CALL]) for i in range(0, factors.shape[0], _IMAGES_PER_CALL)]
        return np.concatenate(parts, axis=0)


def _progress(total: int, desc: str, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=None if progress else True, leave=False)


def factor_vae_score(
    dataset: Any,
    encode: Callable[[Any], Any],
    *,
    n_variance: int = 10000,
    n_train: int = 10000,
    n_eval: int = 5000,
    batch_size: int = 64,
    prune_threshold: float = 0.05,
    random_state: Any = 0,
    progress: bool = True,
) -> FactorVAEResult:
    r"""FactorVAE score: accuracy of a majority-vote classifier that finds the factor held fixed.

    Each point: draw a factor k uniformly, a batch of ``batch_size`` factor vectors sharing the
    value of factor k, encode the images, and vote for the active latent with the smallest
    normalised variance,

    .. math::

        j^* = \arg\min_{j \in A} \frac{\mathrm{Var}_{\mathrm{batch}}(z_j)}{\mathrm{Var}_{\mathrm{global}}(z_j)},
        \qquad \mathrm{votes}_{k j^*} \mathrel{+}= 1 .

    The classifier maps latent j to :math:`\arg\max_k \mathrm{votes}_{kj}`; its accuracy is
    :math:`\sum_j \max_k \mathrm{votes}_{kj} / \sum \mathrm{votes}` on the training votes and, with
    the training classifier, on fresh evaluation votes (the score). Variances use ``ddof=1``; the
    global variance comes from ``n_variance`` random images; active latents :math:`A` have
    :math:`\sqrt{\mathrm{Var}_{\mathrm{global}}} \ge` ``prune_threshold``.

    Parameters
    ----------
    dataset : FactorDataset-like
        Provides ``factor_sizes``, ``sample_factors(n, rng)`` and ``images_for_factors(classes)``.
    encode : callable
        ``encode(images) -> (n, n_latents)`` numpy array or torch tensor (e.g. the posterior mean).
    n_variance : int >= 2, default=10000
        Images for the global variance.
    n_train, n_eval : int >= 1, default=10000, 5000
        Voting points for training and evaluating the classifier.
    batch_size : int >= 2, default=64
        Images per voting point.
    prune_threshold : float >= 0, default=0.05
        Minimum global standard deviation of an active latent (disentanglement_lib's study
        setting; disent uses 0).
    random_state : int, numpy.random.Generator or None, default=0
        The generator passed to ``dataset.sample_factors`` and used to draw the fixed factors.
    progress : bool, default=True
        Show a tqdm bar over the voting points (on a terminal only).

    Returns
    -------
    FactorVAEResult
        ``score`` = ``eval_accuracy`` in [0, 1] (chance about 1/K); ``train_accuracy``;
        ``n_active`` (latents kept); ``votes`` (K, L) training votes indexed by the *full* latent
        index; ``n_samples`` = n_train + n_eval voting points; ``params`` with the options and
        ``images_encoded``.

    Raises
    ------
    TypeError
        ``dataset`` lacks a required attribute, or ``encode`` is not callable.
    ValueError
        ``encode`` returns a wrong shape, NaN/inf or a changing number of latents; a parameter is
        out of range.

    Notes
    -----
    - No active latent: all accuracies are 0 and ``votes`` is all zeros (as disentanglement_lib).
    - Latents with zero global variance are never active, even with ``prune_threshold=0``
      (disentanglement_lib would divide by zero and vote by NaN).
    - disentanglement_lib records the argmin's position within the active subset in a full-width
      vote matrix (and reports ``num_active_dims`` as L); here ``votes`` uses the real latent index
      and ``n_active`` counts active latents. Accuracies are unaffected.
    - Several voting batches are rendered and encoded per ``encode`` call; the numbers equal
      one-call-per-batch as long as ``encode`` treats images independently.

    References
    ----------
    Kim, H. & Mnih, A. (2018). Disentangling by factorising. ICML. arXiv:1802.05983.

    Locatello, F. et al. (2019). Challenging common assumptions in the unsupervised learning of
    disentangled representations. ICML. arXiv:1811.12359 (google-research/disentanglement_lib,
    ``evaluation/metrics/factor_vae.py``, the implementation matched here).

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import factor_vae_score
    >>> class Grid:  # images are the factor classes themselves
    ...     factor_sizes = (3, 4)
    ...     def sample_factors(self, n, rng):
    ...         return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)
    ...     def images_for_factors(self, classes):
    ...         return np.asarray(classes, dtype=np.float64)
    >>> r = factor_vae_score(Grid(), lambda x: x[:, ::-1], n_variance=600, n_train=6, n_eval=6,
    ...                      batch_size=8, progress=False)
    >>> r.score, r.n_active, r.votes.sum(axis=0)[::-1].tolist() == r.votes.sum(axis=1).tolist()
    (1.0, 2, True)
    """
    n_variance = check_int(n_variance, "n_variance", min_value=2)
    n_train = check_int(n_train, "n_train", min_value=1)
    n_eval = check_int(n_eval, "n_eval", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=2)
    prune_threshold = check_float(prune_threshold, "prune_threshold", min_value=0.0)
    rng = check_random_state(random_state)
    sampler = _Sampler(dataset, encode)

    z_global = sampler.encode_many(sampler.sample(n_variance, rng))
    global_var = z_global.var(axis=0, ddof=1)
    n_latents = global_var.size
    active = (np.sqrt(global_var) >= prune_threshold) & (global_var > 0)
    params = {
        "n_variance": n_variance,
        "n_train": n_train,
        "n_eval": n_eval,
        "batch_size": batch_size,
        "prune_threshold": prune_threshold,
        "random_state": random_state_param(random_state),
    }

    def result(train_votes: np.ndarray, train_acc: float, eval_acc: float) -> FactorVAEResult:
        params["images_encoded"] = sampler.images_encoded
        return FactorVAEResult(
            score=eval_acc,
            train_accuracy=train_acc,
            eval_accuracy=eval_acc,
            n_active=int(active.sum()),
            votes=train_votes,
            n_samples=n_train + n_eval,
            params=params,
            metric_version=METRIC_VERSIONS["factor_vae_score"],
        )

    if not active.any():
        return result(np.zeros((sampler.n_factors, n_latents), dtype=np.int64), 0.0, 0.0)

    active_index = np.flatnonzero(active)
    with _progress(n_train + n_eval, "FactorVAE score", progress) as bar:
        train_votes = _factor_vae_votes(sampler, n_train, batch_size, rng, global_var, active_index, bar)
        eval_votes = _factor_vae_votes(sampler, n_eval, batch_size, rng, global_var, active_index, bar)
    classifier = np.argmax(train_votes, axis=0)  # (L,) factor assigned to each latent
    columns = np.arange(n_latents)
    train_acc = float(train_votes[classifier, columns].sum() / train_votes.sum())
    eval_acc = float(eval_votes[classifier, columns].sum() / eval_votes.sum())
    return result(train_votes, train_acc, eval_acc)


def _factor_vae_votes(sampler: _Sampler, n_points: int, batch_size: int, rng: np.random.Generator,
                      global_var: np.ndarray, active_index: np.ndarray, bar: Any) -> np.ndarray:
    votes = np.zeros((sampler.n_factors, global_var.size), dtype=np.int64)
    per_call = max(1, _IMAGES_PER_CALL // batch_size)
    for start in range(0, n_points, per_call):
        m = min(per_call, n_points - start)
        fixed = np.empty(m, dtype=np.int64)
        batches = []
        for i in range(m):
            fixed[i] = rng.integers(sampler.n_factors)
            f = sampler.sample(batch_size, rng)
            f[:, fixed[i]] = f[0, fixed[i]]
            batches.append(f)
        z = sampler.encode(np.concatenate(batches, axis=0)).reshape(m, batch_size, -1)
        local_var = z.var(axis=1, ddof=1)[:, active_index]  # (m, n_active)
        winner = active_index[np.argmin(local_var / global_var[active_index], axis=1)]
        np.add.at(votes, (fixed, winner), 1)
        bar.update(m)
    return votes


def beta_vae_score(
    dataset: Any,
    encode: Callable[[Any], Any],
    *,
    n_train: int = 10000,
    n_eval: int = 5000,
    batch_size: int = 64,
    random_state: Any = 0,
    progress: bool = True,
) -> BetaVAEResult:
    r"""BetaVAE score: accuracy of a linear classifier that finds the factor shared by image pairs.

    Each point: draw a factor k uniformly and two batches of ``batch_size`` factor vectors whose
    factor k agrees pairwise; the feature is the mean absolute latent difference

    .. math::

        x = \frac{1}{B} \sum_{b=1}^{B} \left| z(v^{(1)}_b) - z(v^{(2)}_b) \right| \in \mathbb{R}^L,
        \qquad y = k .

    A ``LogisticRegression`` (scikit-learn defaults) is fitted on ``n_train`` points; the score is
    its accuracy on ``n_eval`` fresh points.

    Parameters
    ----------
    dataset : FactorDataset-like
        Provides ``factor_sizes``, ``sample_factors(n, rng)`` and ``images_for_factors(classes)``.
    encode : callable
        ``encode(images) -> (n, n_latents)`` numpy array or torch tensor.
    n_train, n_eval : int >= 1, default=10000, 5000
        Points for training and evaluating the classifier.
    batch_size : int >= 1, default=64
        Image pairs per point.
    random_state : int, numpy.random.Generator or None, default=0
        The generator passed to ``dataset.sample_factors``, used to draw the fixed factors and to
        seed the classifier.
    progress : bool, default=True
        Show a tqdm bar over the points (on a terminal only).

    Returns
    -------
    BetaVAEResult
        ``score`` = ``eval_accuracy`` in [0, 1] (chance about 1/K); ``train_accuracy``;
        ``n_samples`` = n_train + n_eval points; ``params`` with the options and ``images_encoded``.

    Raises
    ------
    TypeError
        ``dataset`` lacks a required attribute, or ``encode`` is not callable.
    ValueError
        ``encode`` returns a wrong shape, NaN/inf or a changing number of latents; a parameter is
        out of range.

    Notes
    -----
    If every training point has the same label (one factor, or ``n_train`` tiny), the classifier
    predicts that label (scikit-learn's LogisticRegression refuses a single class); with one
    factor both accuracies are 1.

    References
    ----------
    Higgins, I. et al. (2017). beta-VAE: Learning basic visual concepts with a constrained
    variational framework. ICLR. https://openreview.net/forum?id=Sy2fzU9gl

    Locatello, F. et al. (2019). Challenging common assumptions in the unsupervised learning of
    disentangled representations. ICML. arXiv:1811.12359 (google-research/disentanglement_lib,
    ``evaluation/metrics/beta_vae.py``, the implementation matched here).

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import beta_vae_score
    >>> class Grid:  # images are the factor classes themselves
    ...     factor_sizes = (3, 4)
    ...     def sample_factors(self, n, rng):
    ...         return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)
    ...     def images_for_factors(self, classes):
    ...         return np.asarray(classes, dtype=np.float64)
    >>> r = beta_vae_score(Grid(), lambda x: x, n_train=6, n_eval=6, batch_size=16, progress=False)
    >>> r.train_accuracy, r.score
    (1.0, 1.0)
    """
    n_train = check_int(n_train, "n_train", min_value=1)
    n_eval = check_int(n_eval, "n_eval", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    rng = check_random_state(random_state)
    sampler = _Sampler(dataset, encode)

    with _progress(n_train + n_eval, "BetaVAE score", progress) as bar:
        x_train, y_train = _beta_vae_points(sampler, n_train, batch_size, rng, bar)
        x_eval, y_eval = _beta_vae_points(sampler, n_eval, batch_size, rng, bar)
    seed = seed_from(rng)  # drawn after sampling, so the sampling stream is disentanglement_lib's order

    if np.unique(y_train).size < 2:
        predict = lambda x: np.full(x.shape[0], y_train[0])  # noqa: E731
    else:
        from sklearn.linear_model import LogisticRegression

        predict = LogisticRegression(random_state=seed).fit(x_train, y_train).predict
    train_acc = float(np.mean(predict(x_train) == y_train))
    eval_acc = float(np.mean(predict(x_eval) == y_eval))
    import sklearn

    params = {
        "n_train": n_train,
        "n_eval": n_eval,
        "batch_size": batch_size,
        "random_state": random_state_param(random_state),
        "images_encoded": sampler.images_encoded,
        "sklearn_version": sklearn.__version__,
    }
    return BetaVAEResult(
        score=eval_acc,
        train_accuracy=train_acc,
        eval_accuracy=eval_acc,
        n_samples=n_train + n_eval,
        params=params,
        metric_version=METRIC_VERSIONS["beta_vae_score"],
    )


def _beta_vae_points(sampler: _Sampler, n_points: int, batch_size: int, rng: np.random.Generator,
                     bar: Any) -> tuple[np.ndarray, np.ndarray]:
    features = []
    labels = np.empty(n_points, dtype=np.int64)
    per_call = max(1, _IMAGES_PER_CALL // (2 * batch_size))
    for start in range(0, n_points, per_call):
        m = min(per_call, n_points - start)
        batches = []
        for i in range(m):
            k = int(rng.integers(sampler.n_factors))
            f1 = sampler.sample(batch_size, rng)
            f2 = sampler.sample(batch_size, rng)
            f2[:, k] = f1[:, k]
            labels[start + i] = k
            batches += [f1, f2]
        z = sampler.encode(np.concatenate(batches, axis=0)).reshape(m, 2, batch_size, -1)
        features.append(np.abs(z[:, 0] - z[:, 1]).mean(axis=1))  # (m, L)
        bar.update(m)
    return np.concatenate(features, axis=0), labels
