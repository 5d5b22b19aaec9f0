"""Reconstruction quality: peak signal-to-noise ratio (PSNR)."""

from __future__ import annotations

from typing import Any

import numpy as np

from metrics._results import METRIC_VERSIONS, PSNRResult
from metrics._validation import as_numpy, check_float, check_latents

__all__ = ["psnr", "PSNR_CAP_DB"]

PSNR_CAP_DB = 100.0  # per-image PSNR ceiling; an exact reconstruction (MSE 0) scores this, never inf
_CHUNK_IMAGES = 256  # images per vectorised step


def psnr(reconstructions: Any, images: Any, *, max_value: float = 1.0) -> PSNRResult:
    r"""Peak signal-to-noise ratio per image, in dB, and its mean over images.

    .. math::

        \mathrm{PSNR}_n = \min\left(10 \log_{10} \frac{v_{\max}^2}{\mathrm{MSE}_n},\; 100\right),
        \qquad \mathrm{MSE}_n = \frac{1}{D} \sum_{d=1}^{D} (\hat x_{nd} - x_{nd})^2

    over the D values (pixels times channels) of image n; with ``max_value=1`` this is
    :math:`-10 \log_{10} \mathrm{MSE}_n`, the form of latent_quantization's
    ``peak_signal_to_noise_ratio`` (which feeds ``sigmoid(logits)`` as reconstructions: apply the
    sigmoid yourself if your decoder returns logits).

    Parameters
    ----------
    reconstructions : array-like of shape (n_images, ...)
        Decoded images, numpy array or torch tensor, values on the scale of ``images``.
    images : array-like of the same shape
        Original images.
    max_value : float > 0, default=1.0
        Largest possible pixel value (1 for images in [0, 1], 255 for uint8).

    Returns
    -------
    PSNRResult
        ``score``: mean of ``per_image`` in dB, at most 100; ``per_image`` (N,) dB.

    Raises
    ------
    ValueError
        Fewer than 2 dimensions (the first one counts images), different shapes, no images,
        NaN/inf, ``max_value`` not positive.

    Notes
    -----
    An exact reconstruction has MSE 0 and infinite PSNR; it is reported as
    ``PSNR_CAP_DB`` = 100 dB (far above any lossy reconstruction of 8-bit images, whose
    quantisation alone limits PSNR to about 59 dB), so the mean stays finite and comparable.
    The mean of per-image PSNR is not the PSNR of the mean MSE.

    References
    ----------
    Hsu, K., Dorrell, W., Whittington, J. C. R., Wu, J. & Finn, C. (2023). Disentanglement via latent
    quantization. NeurIPS. arXiv:2305.18378 (kylehkhsu/latent_quantization,
    ``disentangle/metrics/reconstruction.py``, the implementation matched here).

    Examples
    --------
    >>> import numpy as np
    >>> from metrics import psnr
    >>> images = np.zeros((6, 2, 2))
    >>> recon = images + np.array([0.1, 0.1, 0.01, 0.01, 0.0, 1.0])[:, None, None]
    >>> r = psnr(recon, images)
    >>> r.per_image.round(6).tolist()
    [20.0, 20.0, 40.0, 40.0, 100.0, 0.0]
    >>> round(r.score, 6)
    36.666667
    """
    max_value = check_float(max_value, "max_value", min_value=0.0, min_inclusive=False)
    rec = as_numpy(reconstructions, "reconstructions")
    img = as_numpy(images, "images")
    for name, arr in (("reconstructions", rec), ("images", img)):
        if arr.ndim < 2:
            raise ValueError(
                f"{name} must have shape (n_images, ...) with at least 2 dimensions; got shape {arr.shape}."
            )
    if rec.shape != img.shape:
        raise ValueError(f"reconstructions and images must have the same shape; got {rec.shape} and {img.shape}.")
    n = rec.shape[0]
    flat = (n, int(np.prod(rec.shape[1:])))  # checked as a (n_images, n_values) matrix
    rec2 = check_latents(rec.reshape(flat), name="reconstructions")
    img2 = check_latents(img.reshape(flat), name="images")
    per_image = np.empty(n)
    for start in range(0, n, _CHUNK_IMAGES):  # bounded float64 temporaries (10,000 64x64 images: 1 GB each)
        stop = min(n, start + _CHUNK_IMAGES)
        per_image[start:stop] = _psnr_rows(rec2[start:stop], img2[start:stop], max_value)
    return PSNRResult(
        score=float(per_image.mean()),
        per_image=per_image,
        n_samples=int(n),
        params={"max_value": max_value, "cap_db": PSNR_CAP_DB},
        metric_version=METRIC_VERSIONS["psnr"],
    )


def _psnr_rows(rec: np.ndarray, img: np.ndarray, max_value: float) -> np.ndarray:
    """Per-row PSNR (dB, capped) of two (n, D) arrays."""
    # Halved difference, rescaled per image: no overflow or underflow of the squares for any finite input.
    half = np.asarray(rec, dtype=np.float64) / 2 - np.asarray(img, dtype=np.float64) / 2
    scale = np.abs(half).max(axis=1)
    pos = scale > 0  # MSE > 0
    out = np.full(rec.shape[0], PSNR_CAP_DB)
    if pos.any():
        rel = half[pos] / scale[pos, None]
        # 10 log10(max^2 / MSE) with MSE = 4 scale^2 mean(rel^2)
        db = (20.0 * np.log10(max_value) - 10.0 * np.log10(4.0) - 20.0 * np.log10(scale[pos])
              - 10.0 * np.log10(np.mean(rel**2, axis=1)))
        out[pos] = np.minimum(db, PSNR_CAP_DB)
    return out
