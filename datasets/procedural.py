"""Procedural twins of dSprites, Shapes3D and MPI3D: the same factor names and sizes, no files.

Every image is rendered from its factor classes by a numba kernel (``datasets/_render.py``),
deterministically: the same index gives the same bytes on every machine. The twins are not
pixel copies of the published datasets; they reproduce their factor grids and the kind of visual
change each factor causes, so that the whole pipeline (training, metrics, leaderboard) runs
offline. Records carry the twin's ``content_hash``, a hash of the renderer version and all its
parameters, and its name says it is a twin (``dsprites-procedural``).

Speed (``benchmarks/render_speed.py``): the goal is >= 10,000 images/s on one core for the
dSprites twin and >= 2,000 for the others.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
from typing import Any

import numpy as np

from datasets import _render
from datasets._base import FactorDataset, _check_int

__all__ = ["ProceduralDSprites", "ProceduralShapes3D", "ProceduralMPI3D", "RENDERER_VERSION"]

RENDERER_VERSION = "1"  # bump whenever any rendered pixel can change


class ProceduralFactorDataset(FactorDataset):
    """A :class:`FactorDataset` rendered on demand by a numba kernel."""

    renderer_version = RENDERER_VERSION

    def __init__(self, batch_size: int = 4096):
        # a non-positive batch would skip the render loop and return black images
        self._batch_size = _check_int(batch_size, "batch_size", min_value=1)
        self._hash = None

    def _params(self) -> dict:
        """Every number the renderer uses, as plain JSON values (hashed into ``content_hash``)."""
        raise NotImplementedError

    def _kernel(self, classes: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    @property
    def content_hash(self) -> str:
        if self._hash is None:
            blob = json.dumps({"name": self.name, "renderer_version": self.renderer_version,
                               "factor_sizes": list(self.factor_sizes), "image_shape": list(self.image_shape),
                               "params": self._params()}, sort_keys=True)
            self._hash = hashlib.sha256(blob.encode()).hexdigest()
        return self._hash

    def render(self, classes: Any) -> np.ndarray:
        """Render factor classes (B, K) into uint8 (B, C, H, W).

        Raises the errors of :meth:`factors_to_index` for a wrong shape, non-integer or out-of-range
        classes (the kernels index their tables with them unchecked)."""
        self.factors_to_index(classes)  # validates
        return self._render(np.asarray(classes).reshape(-1, self.num_factors))

    def _render(self, classes: np.ndarray) -> np.ndarray:
        """Render valid factor classes (B, K) into uint8 (B, C, H, W)."""
        classes = np.ascontiguousarray(classes, dtype=np.int64)
        out = np.zeros((classes.shape[0],) + tuple(self.image_shape), dtype=np.uint8)
        for start in range(0, classes.shape[0], self._batch_size):
            self._kernel(classes[start:start + self._batch_size], out[start:start + self._batch_size])
        return out

    def _read_uint8(self, indices: np.ndarray) -> np.ndarray:
        return self._render(self.index_to_factors(indices).reshape(-1, self.num_factors))


def _tolist(a) -> list:
    return np.asarray(a, dtype=np.float64).round(12).tolist()


class ProceduralDSprites(ProceduralFactorDataset):
    """dSprites twin: a white square, ellipse or heart on black, 64x64, binary.

    Factors as in dSprites (Matthey et al., 2017): shape 3 (square, ellipse, heart), scale 6
    (0.5..1.0), orientation 40 (``linspace(0, 2 pi, 40)``: classes 0 and 39 are the same angle,
    hence the same image, exactly as in the original; the sprite turns from +x towards +y, i.e.
    clockwise on screen), posX 32 and posY 32 (``linspace(0, 1, 32)``, mapped to sprite centres
    13..51 px, posY downwards). Sprite size: s = 9 px * scale.
    """

    name = "dsprites-procedural"
    description = "dSprites twin rendered offline: shape 3, scale 6, orientation 40, posX 32, posY 32 (64x64 binary)"
    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    factor_sizes = (3, 6, 40, 32, 32)
    image_shape = (1, 64, 64)
    adapter_version = "1"

    scales = np.linspace(0.5, 1.0, 6)
    orientations = np.linspace(0.0, 2.0 * np.pi, 40)
    positions = np.linspace(0.0, 1.0, 32)
    base_radius = 9.0   # pixels at scale 1
    margin = 13.0       # sprite centre at position 0, pixels; position 1 is at 64 - margin

    def _centres(self) -> np.ndarray:
        return self.margin + (64.0 - 2.0 * self.margin) * self.positions

    def _params(self) -> dict:
        return {"scales": _tolist(self.scales), "orientations": _tolist(self.orientations),
                "centres": _tolist(self._centres()), "base_radius": self.base_radius,
                "square_half": _render.SPRITE_SQUARE_HALF, "ellipse": [_render.SPRITE_ELLIPSE_A, _render.SPRITE_ELLIPSE_B],
                "heart": [_render.SPRITE_HEART_SCALE, _render.SPRITE_HEART_SHIFT]}

    def _kernel(self, classes, out):
        _render.dsprites_kernel(classes, out, self.scales, self.orientations, self._centres(), self.base_radius)


def _hsv_table(hues, s: float, v: float) -> np.ndarray:
    return np.array([colorsys.hsv_to_rgb(float(h), s, v) for h in hues], dtype=np.float64)


class ProceduralShapes3D(ProceduralFactorDataset):
    """Shapes3D twin: floor, two walls and a shaded object in a 64x64 RGB scene.

    Factors as in 3D Shapes (Burgess & Kim, 2018): floor_hue, wall_hue, object_hue 10 each (hues
    0.0, 0.1, ..., 0.9, saturation 0.8, value 0.95), scale 8 (0.75..1.25), shape 4 (cube,
    cylinder, sphere, capsule), orientation 15 (azimuth -30..30 degrees: moves the room corner and
    turns the cube and the capsule).
    """

    name = "shapes3d-procedural"
    description = "Shapes3D twin rendered offline: floor/wall/object hue 10 each, scale 8, shape 4, orientation 15 (64x64 RGB)"
    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    factor_sizes = (10, 10, 10, 8, 4, 15)
    image_shape = (3, 64, 64)
    adapter_version = "1"
    shape_names = ("cube", "cylinder", "sphere", "capsule")

    hues = np.arange(10) / 10.0
    saturation = 0.8
    value = 0.95
    scales = np.linspace(0.75, 1.25, 8)
    azimuths_deg = np.linspace(-30.0, 30.0, 15)

    def _params(self) -> dict:
        return {"hues": _tolist(self.hues), "saturation": self.saturation, "value": self.value,
                "scales": _tolist(self.scales), "azimuths_deg": _tolist(self.azimuths_deg),
                "geometry": [_render.S3_HORIZON, _render.S3_SLOPE, _render.S3_CORNER_SHIFT, _render.S3_SQUASH,
                             _render.S3_OBJ_X, _render.S3_OBJ_Y, _render.S3_OBJ_RADIUS]}

    def _kernel(self, classes, out):
        _render.shapes3d_kernel(classes, out, _hsv_table(self.hues, self.saturation, self.value), self.scales,
                                np.deg2rad(self.azimuths_deg))


class ProceduralMPI3D(ProceduralFactorDataset):
    """MPI3D twin: a toy-style render of an object held by a two-joint robot arm, 64x64 RGB.

    Factors as in MPI3D (Gondal et al., 2019): object_color 6 (white, green, red, blue, brown,
    olive), object_shape 6 (cone, cube, cylinder, hexagonal, pyramid, sphere), object_size 2,
    camera_height 3 (top, center, bottom: camera elevation 0.6, 0.25, -0.05 rad), background_color
    3 (purple, sea green, salmon), horizontal_axis 40 and vertical_axis 40 (the arm's two joint
    angles, -0.9..0.9 and -0.6..0.8 rad).
    """

    name = "mpi3d-procedural"
    description = "MPI3D twin rendered offline: colour 6, shape 6, size 2, camera height 3, background 3, two axes 40 x 40"
    factor_names = ("object_color", "object_shape", "object_size", "camera_height", "background_color",
                    "horizontal_axis", "vertical_axis")
    factor_sizes = (6, 6, 2, 3, 3, 40, 40)
    image_shape = (3, 64, 64)
    adapter_version = "1"

    colours = np.array([[0.92, 0.92, 0.92], [0.15, 0.65, 0.2], [0.85, 0.12, 0.1],
                        [0.12, 0.25, 0.85], [0.5, 0.3, 0.1], [0.5, 0.5, 0.1]])
    backgrounds = np.array([[0.45, 0.3, 0.6], [0.2, 0.55, 0.45], [0.95, 0.55, 0.45]])
    sizes = np.array([4.5, 6.5])
    elevations = np.array([0.6, 0.25, -0.05])
    h_angles = np.linspace(-0.9, 0.9, 40)
    v_angles = np.linspace(-0.6, 0.8, 40)

    def _params(self) -> dict:
        return {"colours": _tolist(self.colours), "backgrounds": _tolist(self.backgrounds), "sizes": _tolist(self.sizes),
                "elevations": _tolist(self.elevations), "h_angles": _tolist(self.h_angles),
                "v_angles": _tolist(self.v_angles),
                "geometry": [_render.M3_ARM_LENGTH, _render.M3_Y0, _render.M3_CAM_SHIFT, _render.M3_POST,
                             _render.M3_ARM_GREY]}

    def _kernel(self, classes, out):
        _render.mpi3d_kernel(classes, out, self.colours, self.sizes, self.elevations, self.backgrounds,
                             self.h_angles, self.v_angles)
