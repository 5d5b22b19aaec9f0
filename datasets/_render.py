"""numba kernels of the procedural twins (private).

Each kernel takes a C-contiguous int64 array of factor classes (B, K), the lookup tables of
factor values prepared by the Python wrapper, and a preallocated uint8 output (B, C, 64, 64) that
it fills in place. No Python objects, no randomness: an image is a pure function of its classes.

Geometry shared by all kernels: pixel (row i, column j) has its centre at (x, y) = (j + 0.5, i + 0.5),
x to the right, y downwards, in pixel units.

* dSprites twin: binary white sprite on black, sampled at pixel centres (as the original, values
  {0, 255}). Square (half side 0.75 s), ellipse (semi-axes s and 0.5 s) and the heart curve
  (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, all rotated by the orientation about the sprite centre,
  which sits on the position grid.
* Shapes3D twin: a room corner (two wall planes of one hue, floor of another hue) seen from an
  azimuth given by the orientation factor, with a shaded object (cube, cylinder, sphere, capsule)
  standing at the centre of the floor. Edges are anti-aliased: analytic coverage for the
  floor/wall boundaries, 3x3 supersampling inside the object's bounding box.
* MPI3D twin: a flat-coloured background, a grey robot arm (post + link, anti-aliased capsules)
  whose two joint angles are the horizontal and vertical axes, an orthographic camera at one of
  three elevations, and the object (cone, cube, cylinder, hexagonal prism, pyramid, sphere) at the
  tip of the arm, 3x3 supersampled.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---- dSprites twin -----------------------------------------------------------------------------
SPRITE_SQUARE_HALF = 0.75   # half side of the square, in units of s = scale * base radius
SPRITE_ELLIPSE_A = 1.0      # ellipse semi-axes
SPRITE_ELLIPSE_B = 0.5
SPRITE_HEART_SCALE = 1.3    # heart-curve coordinates per unit of s
SPRITE_HEART_SHIFT = 0.15   # moves the heart's centre of mass onto the sprite centre


@njit(cache=True)
def dsprites_kernel(classes, out, scales, angles, positions, base_radius):
    """Render dSprites-twin images; ``out`` (B, 1, H, W) uint8 must be zero on entry."""
    n = classes.shape[0]
    h = out.shape[2]
    w = out.shape[3]
    for b in range(n):
        shape = classes[b, 0]
        s = scales[classes[b, 1]] * base_radius
        th = angles[classes[b, 2]]
        cx = positions[classes[b, 3]]
        cy = positions[classes[b, 4]]
        c = math.cos(th)
        sn = math.sin(th)
        inv = 1.0 / s
        ext = 1.5 * s + 1.0
        i0 = max(0, int(cy - ext))
        i1 = min(h, int(cy + ext) + 1)
        j0 = max(0, int(cx - ext))
        j1 = min(w, int(cx + ext) + 1)
        for i in range(i0, i1):
            y = i + 0.5 - cy
            for j in range(j0, j1):
                x = j + 0.5 - cx
                # rotate the pixel by -theta into the sprite frame (sprite rotated by +theta)
                u = (c * x + sn * y) * inv
                v = (-sn * x + c * y) * inv
                if shape == 0:
                    inside = abs(u) <= SPRITE_SQUARE_HALF and abs(v) <= SPRITE_SQUARE_HALF
                elif shape == 1:
                    inside = (u * u) / (SPRITE_ELLIPSE_A * SPRITE_ELLIPSE_A) + (v * v) / (SPRITE_ELLIPSE_B * SPRITE_ELLIPSE_B) <= 1.0
                else:
                    hx = u * SPRITE_HEART_SCALE
                    hy = -v * SPRITE_HEART_SCALE + SPRITE_HEART_SHIFT  # heart curve has y upwards
                    q = hx * hx + hy * hy - 1.0
                    inside = q * q * q - hx * hx * hy * hy * hy <= 0.0
                if inside:
                    out[b, 0, i, j] = 255


# ---- shared helpers ----------------------------------------------------------------------------
@njit(cache=True)
def _clamp01(x):
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


@njit(cache=True)
def _seg_dist(px, py, ax, ay, bx, by):
    """Distance from point p to segment ab."""
    dx = bx - ax
    dy = by - ay
    ll = dx * dx + dy * dy
    t = 0.0
    if ll > 0.0:
        t = ((px - ax) * dx + (py - ay) * dy) / ll
        t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
    ex = px - (ax + t * dx)
    ey = py - (ay + t * dy)
    return math.sqrt(ex * ex + ey * ey)


@njit(cache=True)
def _cross(ax, ay, bx, by, px, py):
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


# ---- Shapes3D twin -----------------------------------------------------------------------------
S3_HORIZON = 27.0     # y of the room corner on the floor/wall boundary
S3_SLOPE = 0.32       # slope of the floor/wall boundary on either side of the corner
S3_CORNER_SHIFT = 40.0  # corner x = 32 - S3_CORNER_SHIFT * sin(azimuth)
S3_SQUASH = 0.35      # vertical squash of the ground plane (camera elevation)
S3_OBJ_X = 32.0
S3_OBJ_Y = 50.0       # screen y of the object's base centre
S3_OBJ_RADIUS = 7.5   # object half width at scale 1, pixels


@njit(cache=True)
def _blend_supersampled(buf, i, j, colour, coverage, shade_sum):
    """Composite an object over pixel (i, j) of ``buf`` (3, H, W): ``coverage`` of its 3x3 subsamples hit the
    object, whose shades there sum to ``shade_sum``."""
    a = coverage / 9.0
    for ch in range(3):
        buf[ch, i, j] = (1.0 - a) * buf[ch, i, j] + colour[ch] * shade_sum / 9.0


@njit(cache=True)
def _store_uint8(buf, out, b):
    """Write the float image ``buf`` (3, H, W) in [0, 1] into ``out[b]`` as uint8, rounded half up."""
    for ch in range(3):
        for i in range(buf.shape[1]):
            for j in range(buf.shape[2]):
                out[b, ch, i, j] = np.uint8(min(255.0, buf[ch, i, j] * 255.0 + 0.5))


@njit(cache=True)
def _shapes3d_geometry(shape, w, beta, geo):
    """Per-image constants of the object, written into ``geo`` (16 floats) once per image.

    cube: corner offsets x[0:4], ground-plane depth z[4:8] (of the top view, rotated by beta + 45
    degrees) and the shade of each vertical face [8:12] (-1 for faces turned away); capsule: the
    screen end points of its axis [0:4].
    """
    if shape == 0:
        r = w * math.sqrt(2.0)
        base = beta + 0.25 * math.pi
        for c in range(4):
            a0 = base + c * 0.5 * math.pi
            geo[c] = r * math.cos(a0)
            geo[4 + c] = r * math.sin(a0)
            normal = a0 + 0.25 * math.pi
            geo[8 + c] = 0.5 + 0.4 * max(0.0, math.cos(normal - 0.3 * math.pi)) if math.sin(normal) > 0.0 else -1.0
    elif shape == 3:
        rc = 0.65 * w
        half = 1.1 * w
        geo[0] = S3_OBJ_X - half * math.cos(beta)
        geo[1] = S3_OBJ_Y - rc - S3_SQUASH * half * math.sin(beta)
        geo[2] = S3_OBJ_X + half * math.cos(beta)
        geo[3] = S3_OBJ_Y - rc + S3_SQUASH * half * math.sin(beta)


@njit(cache=True)
def _shapes3d_object(px, py, shape, w, geo):
    """Shade (> 0) of the object at point (px, py), or -1.0 outside. ``w``: half width."""
    ox = S3_OBJ_X
    oy = S3_OBJ_Y
    k = S3_SQUASH
    if shape == 0:  # cube of side 2w
        hgt = 2.0 * w
        # top face: the squashed rotated square at height hgt (convex: inside all four edges)
        inside_top = True
        for c in range(4):
            d = (c + 1) % 4
            x0 = ox + geo[c]
            y0 = oy - hgt + k * geo[4 + c]
            x1 = ox + geo[d]
            y1 = oy - hgt + k * geo[4 + d]
            if _cross(x0, y0, x1, y1, px, py) < 0.0:
                inside_top = False
                break
        if inside_top:
            return 1.0
        dx = px - ox
        for c in range(4):
            if geo[8 + c] < 0.0:
                continue
            d = (c + 1) % 4
            x0 = geo[c]
            x1 = geo[d]
            lo = min(x0, x1)
            hi = max(x0, x1)
            if dx < lo or dx > hi or hi - lo < 1e-9:
                continue
            t = (dx - x0) / (x1 - x0)
            z = geo[4 + c] + t * (geo[4 + d] - geo[4 + c])
            ybot = oy + k * z
            if ybot - hgt <= py <= ybot:
                return geo[8 + c]
        return -1.0
    if shape == 1:  # upright cylinder, radius w, height 1.8 w
        hgt = 1.8 * w
        dx = (px - ox) / w
        if abs(dx) > 1.0:
            return -1.0
        ty = (py - (oy - hgt)) / (k * w)
        if dx * dx + ty * ty <= 1.0:
            return 1.0
        if py >= oy - hgt and py <= oy + k * w * math.sqrt(1.0 - dx * dx):
            nz = math.sqrt(max(0.0, 1.0 - dx * dx))
            return 0.3 + 0.65 * max(0.0, -0.5 * dx + 0.85 * nz)
        return -1.0
    if shape == 2:  # sphere of radius w resting on the floor
        dx = (px - ox) / w
        dy = (py - (oy - w)) / w
        rr = dx * dx + dy * dy
        if rr > 1.0:
            return -1.0
        nz = math.sqrt(1.0 - rr)
        return 0.3 + 0.7 * max(0.0, -0.4 * dx - 0.5 * dy + 0.77 * nz)
    # capsule lying on the floor, axis along the azimuth
    rc = 0.65 * w
    d = _seg_dist(px, py, geo[0], geo[1], geo[2], geo[3])
    if d > rc:
        return -1.0
    nz = math.sqrt(1.0 - (d / rc) ** 2)
    return 0.35 + 0.6 * nz


@njit(cache=True)
def shapes3d_kernel(classes, out, hue_rgb, scales, azimuths):
    """Render Shapes3D-twin images into ``out`` (B, 3, H, W) uint8.

    classes columns: floor_hue, wall_hue, object_hue, scale, shape, orientation.
    ``hue_rgb`` (10, 3) float64 in [0, 1]; ``scales`` (8,); ``azimuths`` (15,) in radians.
    """
    n = classes.shape[0]
    h = out.shape[2]
    wd = out.shape[3]
    buf = np.empty((3, h, wd))
    geo = np.zeros(16)
    for b in range(n):
        floor = hue_rgb[classes[b, 0]]
        wall = hue_rgb[classes[b, 1]]
        obj = hue_rgb[classes[b, 2]]
        w = S3_OBJ_RADIUS * scales[classes[b, 3]]
        shape = classes[b, 4]
        az = azimuths[classes[b, 5]]
        xc = 32.0 - S3_CORNER_SHIFT * math.sin(az)
        _shapes3d_geometry(shape, w, az, geo)
        for i in range(h):
            py = i + 0.5
            for j in range(wd):
                px = j + 0.5
                yb = S3_HORIZON + S3_SLOPE * abs(px - xc)
                a_floor = _clamp01(py - yb + 0.5)
                a_left = _clamp01(xc - px + 0.5)
                wall_v = 0.95 * a_left + 0.75 * (1.0 - a_left)
                floor_v = 0.65 + 0.35 * _clamp01((py - yb) / (h - yb))
                for ch in range(3):
                    buf[ch, i, j] = a_floor * floor[ch] * floor_v + (1.0 - a_floor) * wall[ch] * wall_v
        # object, 3x3 supersampled inside its bounding box
        x0 = max(0, int(S3_OBJ_X - 1.6 * w) - 1)
        x1 = min(wd, int(S3_OBJ_X + 1.6 * w) + 2)
        y0 = max(0, int(S3_OBJ_Y - 2.3 * w) - 1)
        y1 = min(h, int(S3_OBJ_Y + S3_SQUASH * 1.6 * w) + 2)
        for i in range(y0, y1):
            for j in range(x0, x1):
                cov = 0.0
                shade_sum = 0.0
                for si in range(3):
                    for sj in range(3):
                        sh = _shapes3d_object(j + (sj + 0.5) / 3.0, i + (si + 0.5) / 3.0, shape, w, geo)
                        if sh >= 0.0:
                            cov += 1.0
                            shade_sum += sh
                if cov > 0.0:
                    _blend_supersampled(buf, i, j, obj, cov, shade_sum)
        _store_uint8(buf, out, b)


# ---- MPI3D twin --------------------------------------------------------------------------------
M3_ARM_LENGTH = 22.0
M3_Y0 = 31.0          # screen y of the shoulder joint, before the camera-height shift
M3_CAM_SHIFT = 12.0   # a higher camera sees the scene lower in the frame: y0 = M3_Y0 + M3_CAM_SHIFT * sin(e)
M3_POST = 30.0        # length of the vertical post below the shoulder
M3_ARM_GREY = 0.55


@njit(cache=True)
def _mpi3d_object(dx, dy, shape, r):
    """Shade (> 0) of the object at offset (dx, dy) from the arm tip, or -1.0 outside."""
    if shape == 0:  # cone: apex up, elliptic base
        top = -0.95 * r
        bot = 0.75 * r
        if top <= dy <= bot:
            half = 0.75 * r * (dy - top) / (bot - top)
            if abs(dx) <= half:
                return 0.55 + 0.4 * (0.5 - 0.5 * dx / (0.75 * r))
        ex = dx / (0.75 * r)
        ey = (dy - bot) / (0.25 * r)
        if dy >= bot and ex * ex + ey * ey <= 1.0:
            return 0.55 + 0.4 * (0.5 - 0.5 * ex)
        return -1.0
    if shape == 1:  # cube in oblique projection: front face, lighter top face, darker right face
        a = 0.7 * r
        depth = 0.4 * r
        top = -0.45 * r
        bot = 0.9 * r
        if abs(dx) <= a and top <= dy <= bot:
            return 0.7
        rise = top - dy
        if 0.0 < rise <= depth and -a + rise <= dx <= a + rise:
            return 1.0
        run = dx - a
        if 0.0 < run <= depth and top - run <= dy <= bot - run:
            return 0.45
        return -1.0
    if shape == 2:  # cylinder: body and top ellipse
        a = 0.65 * r
        ex = dx / a
        if abs(ex) > 1.0:
            return -1.0
        ty = (dy + 0.6 * r) / (0.25 * r)
        if ex * ex + ty * ty <= 1.0:
            return 1.0
        if -0.6 * r <= dy <= 0.8 * r + 0.25 * r * math.sqrt(1.0 - ex * ex):
            return 0.4 + 0.5 * math.sqrt(1.0 - ex * ex) * (0.8 - 0.3 * ex)
        return -1.0
    if shape == 3:  # hexagonal prism seen end-on: hexagon with three shaded sectors
        rr = math.sqrt(dx * dx + dy * dy)
        if rr > r:
            return -1.0
        ang = math.atan2(dy, dx)
        # distance to the hexagon's edge (flat top): apothem / cos(angle to nearest edge normal)
        sector = math.floor((ang + math.pi / 6.0) / (math.pi / 3.0))
        rel = ang - sector * (math.pi / 3.0)
        apothem = 0.9 * r * math.cos(math.pi / 6.0)
        if rr * math.cos(rel) > apothem:
            return -1.0
        # light from above: faces whose outward normal points up are brighter
        return 0.65 - 0.3 * math.sin(sector * (math.pi / 3.0))
    if shape == 4:  # pyramid: two triangular faces
        top = -0.95 * r
        bot = 0.75 * r
        if dy < top or dy > bot:
            return -1.0
        t = (dy - top) / (bot - top)
        if abs(dx) > 0.85 * r * t:
            return -1.0
        return 0.95 if dx < 0.15 * r * t else 0.6
    # sphere
    ex = dx / (0.85 * r)
    ey = dy / (0.85 * r)
    q = ex * ex + ey * ey
    if q > 1.0:
        return -1.0
    nz = math.sqrt(1.0 - q)
    return 0.3 + 0.7 * max(0.0, -0.4 * ex - 0.5 * ey + 0.77 * nz)


@njit(cache=True)
def mpi3d_kernel(classes, out, colours, sizes, elevations, backgrounds, h_angles, v_angles):
    """Render MPI3D-twin images into ``out`` (B, 3, H, W) uint8.

    classes columns: object_color, object_shape, object_size, camera_height, background_color,
    horizontal_axis, vertical_axis. Tip of the arm, 3-D (x right, y up, z to the camera):
    L (sin h cos v, sin v, cos h cos v); screen y = y0(e) - (y cos e - z sin e) for elevation e.
    """
    n = classes.shape[0]
    h = out.shape[2]
    wd = out.shape[3]
    buf = np.empty((3, h, wd))
    for b in range(n):
        col = colours[classes[b, 0]]
        shape = classes[b, 1]
        r = sizes[classes[b, 2]]
        e = elevations[classes[b, 3]]
        bg = backgrounds[classes[b, 4]]
        ha = h_angles[classes[b, 5]]
        va = v_angles[classes[b, 6]]
        ce = math.cos(e)
        se = math.sin(e)
        X = M3_ARM_LENGTH * math.sin(ha) * math.cos(va)
        Y = M3_ARM_LENGTH * math.sin(va)
        Z = M3_ARM_LENGTH * math.cos(ha) * math.cos(va)
        y0 = M3_Y0 + M3_CAM_SHIFT * se
        tx = 32.0 + X
        ty = y0 - (Y * ce - Z * se)
        sx = 32.0
        sy = y0
        bx = 32.0
        by = y0 + M3_POST * ce
        for i in range(h):
            py = i + 0.5
            shade_bg = 0.8 + 0.2 * (1.0 - py / h)
            for j in range(wd):
                px = j + 0.5
                d_post = _seg_dist(px, py, bx, by, sx, sy)
                d_arm = _seg_dist(px, py, sx, sy, tx, ty)
                a_post = _clamp01(3.0 - d_post + 0.5)
                a_arm = _clamp01(2.0 - d_arm + 0.5)
                a = max(a_post, a_arm)
                arm_v = M3_ARM_GREY * (0.85 if a_arm >= a_post else 0.7)
                for ch in range(3):
                    buf[ch, i, j] = (1.0 - a) * bg[ch] * shade_bg + a * arm_v
        x0 = max(0, int(tx - r) - 2)
        x1 = min(wd, int(tx + r) + 3)
        y0 = max(0, int(ty - r) - 2)
        y1 = min(h, int(ty + r) + 3)
        for i in range(y0, y1):
            for j in range(x0, x1):
                cov = 0.0
                shade_sum = 0.0
                for si in range(3):
                    for sj in range(3):
                        sh = _mpi3d_object(j + (sj + 0.5) / 3.0 - tx, i + (si + 0.5) / 3.0 - ty, shape, r)
                        if sh >= 0.0:
                            cov += 1.0
                            shade_sum += sh
                if cov > 0.0:
                    _blend_supersampled(buf, i, j, col, cov, shade_sum)
        _store_uint8(buf, out, b)
