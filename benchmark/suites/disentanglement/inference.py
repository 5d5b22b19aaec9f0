"""Inference helpers for evaluation and plots: representations, reconstructions and latent traversals as numpy."""

from __future__ import annotations

import numpy as np
import torch

from benchmark.suites.disentanglement.models.base import DisentanglementModel

__all__ = ["encode", "decode", "reconstruct", "traverse", "model_device"]


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _as_images(images, name: str = "images") -> np.ndarray:
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{name} must be 4D with shape (n_images, channels, height, width); got shape {images.shape}.")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 (0..255) or float (0..1); got dtype {images.dtype}.")
    return images


def _to_tensor(chunk: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(chunk)).to(device)
    return t.float() / 255.0 if chunk.dtype == np.uint8 else t.float()


def _batched(model: DisentanglementModel, images: np.ndarray, batch_size: int, fn) -> np.ndarray:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
    device = model_device(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = [fn(_to_tensor(images[i:i + batch_size], device)).float().cpu().numpy()
                   for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(out, axis=0)


def encode(model: DisentanglementModel, images, batch_size: int = 256) -> np.ndarray:
    """Representations of ``images`` (N, C, H, W) (uint8 0..255 or float 0..1) as float32 (N, L).

    Quantized models (QLAE, QL-InfoWGAN-GP) return codebook values exactly; VAEs return the posterior mean.
    """
    images = _as_images(images)
    return _batched(model, images, batch_size, model.encode).astype(np.float32, copy=False)


def decode(model: DisentanglementModel, latents, batch_size: int = 256) -> np.ndarray:
    """Images decoded from representations (N, L) as float32 (N, C, H, W) in [0, 1].

    ``decode(model, encode(model, x))`` equals ``reconstruct(model, x)`` without a second encoder pass.
    """
    latents = latents.detach().cpu().numpy() if hasattr(latents, "detach") else np.asarray(latents)
    if latents.ndim != 2 or not np.issubdtype(latents.dtype, np.floating):
        raise ValueError(f"latents must be a float array of shape (n_samples, n_latents); got {latents.dtype} {latents.shape}.")
    return _batched(model, latents, batch_size, model.decode).astype(np.float32, copy=False)


def reconstruct(model: DisentanglementModel, images, batch_size: int = 256) -> np.ndarray:
    """Reconstructions decode(encode(x)) of ``images`` as float32 (N, C, H, W) in [0, 1]."""
    images = _as_images(images)
    return _batched(model, images, batch_size, model.reconstruct).astype(np.float32, copy=False)


def traverse(model: DisentanglementModel, image, sample, n_steps: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Latent traversal of one image: each latent dimension swept alone, the others fixed at the image's code.

    Parameters
    ----------
    image : array (C, H, W)
        The image whose representation is varied.
    sample : array (N, C, H, W)
        Images whose representations set the sweep range of continuous latents (2nd..98th percentile);
        quantized models sweep their sorted codebooks instead.
    n_steps : int
        Values per dimension for continuous latents.

    Returns
    -------
    grid : float32 (L, S, C, H, W) in [0, 1]
    values : float32 (L, S), the swept values
    """
    device = model_device(model)
    base = encode(model, np.asarray(image)[None])  # (1, L)
    latents = torch.from_numpy(encode(model, sample)).to(device)
    values = model.traversal_values(latents, n_steps).float()  # (L, S)
    n_latents, n_values = values.shape
    z = torch.from_numpy(base).to(device).repeat(n_latents * n_values, 1)  # (L*S, L)
    rows = torch.arange(n_latents, device=device).repeat_interleave(n_values)
    z[torch.arange(len(z), device=device), rows] = values.reshape(-1)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            images = model.decode(z).float().cpu().numpy()  # (L*S, C, H, W)
    finally:
        model.train(was_training)
    return images.reshape(n_latents, n_values, *images.shape[1:]), values.cpu().numpy()
