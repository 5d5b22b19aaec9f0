"""Equivariance-suite regression tasks: exact and broken symmetries of the generated targets, the
simulator, and the Waymo Open Motion reader on tiny TFRecord files written here by hand."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import datasets
from datasets.symmetry_tasks import (
    CosineSimilarity,
    ModifiedInertia,
    RegressionTask,
    SE3Distance,
    SyntheticMotion,
    WaymoMotion,
    ade,
    cossim_target,
    crc32c,
    inertia_target,
    parse_example,
    se3dist_target,
    simulate_motion,
)


def rotation(axis, angle: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def random_rotation(rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q * np.linalg.det(q)  # det +1


def transform_vectors(x: np.ndarray, rot: np.ndarray, start: int = 0) -> np.ndarray:
    """Rotate the 3-vectors stored from column ``start`` on."""
    out = x.astype(np.float64).copy()
    v = out[:, start:].reshape(len(out), -1, 3)
    out[:, start:] = (v @ rot.T).reshape(len(out), -1)
    return out


# ---- common API ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, kwargs, n_in, n_out", [
    (ModifiedInertia, {"n": 300, "n_val": 50, "n_test": 60, "ood_n": 40}, 20, 9),
    (CosineSimilarity, {"n": 300, "k": 4, "n_val": 50, "n_test": 60}, 12, 1),
    (SE3Distance, {"n": 300, "n_val": 50, "n_test": 60}, 12, 1),
    (SyntheticMotion, {"n_tracks": 360}, 18, 18),
])
def test_task_api_splits_and_determinism(cls, kwargs, n_in, n_out):
    ds = cls(**kwargs)
    assert isinstance(ds, RegressionTask)
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.float32
    assert ds.x.shape == (len(ds), n_in) and ds.y.shape == (len(ds), n_out) and (ds.n_in, ds.n_out) == (n_in, n_out)
    parts = [ds.splits[s] for s in ("train", "val", "test")]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(ds)))
    assert all(np.all(np.diff(p) > 0) for p in parts)
    expected = (240, 60, 60) if cls is SyntheticMotion else (190, 50, 60)
    assert tuple(len(p) for p in parts) == expected
    xv, yv = ds.split("val")
    np.testing.assert_array_equal(xv, ds.x[ds.splits["val"]])
    np.testing.assert_array_equal(yv, ds.y[ds.splits["val"]])
    with pytest.raises(ValueError, match="split must be one of 'train', 'val', 'test'"):
        ds.split("training")
    again = cls(**kwargs)
    np.testing.assert_array_equal(again.x, ds.x)
    np.testing.assert_array_equal(again.y, ds.y)
    assert again.content_hash == ds.content_hash and len(ds.content_hash) == 64
    other = cls(**kwargs, seed=1)
    assert other.content_hash != ds.content_hash and not np.array_equal(other.x, ds.x)
    ident = ds.identity()
    assert ident["class"] == cls.__name__ and ident["options"]["seed"] == 0 and ident["adapter_version"]
    assert ds.rep_in and ds.rep_out


def test_registry_names_load_and_verify(tmp_path):
    names = datasets.available()
    for name in ("inertia", "cossim", "se3dist", "motion-synthetic", "waymo-motion"):
        assert name in names and names[name]
    ds = datasets.load("inertia", n=100, n_val=20, n_test=20, ood_n=10, epsilon=0.6)
    assert isinstance(ds, ModifiedInertia) and ds.epsilon == 0.6
    assert isinstance(datasets.load("motion-synthetic", n_tracks=60, gravity=0.0), SyntheticMotion)
    assert "procedural" in datasets.download("cossim")
    assert datasets.load("se3dist").content_hash in datasets.verify("se3dist")
    with pytest.raises(datasets.DatasetNotFoundError, match="waymo.com/open"):
        datasets.load("waymo-motion", root=tmp_path)
    with pytest.raises(datasets.DatasetDownloadError, match="terms of use"):
        datasets.download("waymo-motion", root=tmp_path)


# ---- modified inertia ------------------------------------------------------------------------------
def test_inertia_target_matches_the_definition():
    ds = ModifiedInertia(n=50, n_val=10, n_test=10, ood_n=0)
    x = ds.x.astype(np.float64)
    m, r = x[:, :5], x[:, 5:].reshape(-1, 5, 3)
    assert np.all(m > 0)
    inertia = np.zeros((50, 3, 3))
    for i in range(5):
        inertia += m[:, i, None, None] * ((r[:, i] ** 2).sum(-1)[:, None, None] * np.eye(3)
                                          - r[:, i, :, None] * r[:, i, None, :])
    expected = inertia.copy()
    expected[:, :, 2] += 0.3 * inertia[:, :, 2]  # I e_z e_z^T: the z column of I
    np.testing.assert_allclose(ds.y, expected.reshape(50, 9), rtol=1e-5, atol=1e-5)
    two = inertia.copy()
    two[:, :, 0] -= 0.5 * inertia[:, :, 0]
    two[:, :, 1] += 0.5 * inertia[:, :, 1]
    np.testing.assert_allclose(inertia_target(x, 0.5, -1), two.reshape(50, 9), rtol=1e-10)
    assert ds.split_names == ("train", "val", "test") and ds.ood is None


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_inertia_is_exactly_o2_equivariant_about_its_axis(axis):
    rng = np.random.default_rng(axis)
    x = ModifiedInertia(n=200, n_val=10, n_test=10, ood_n=0, axis=axis, epsilon=0.9).x.astype(np.float64)
    y = inertia_target(x, 0.9, axis).reshape(-1, 3, 3)
    e = np.eye(3)[axis]
    reflection = np.eye(3) - 2 * np.outer(e[[1, 2, 0]], e[[1, 2, 0]])  # a mirror containing the axis
    for rot in (rotation(e, rng.uniform(0, 2 * np.pi)), reflection, np.diag(1 - 2 * e)):
        y_rot = inertia_target(transform_vectors(x, rot, start=5), 0.9, axis).reshape(-1, 3, 3)
        np.testing.assert_allclose(y_rot, rot @ y @ rot.T, rtol=1e-10, atol=1e-10)
    off_axis = rotation(e[[1, 2, 0]], 0.7)  # a rotation moving the axis: not a symmetry
    y_rot = inertia_target(transform_vectors(x, off_axis, start=5), 0.9, axis).reshape(-1, 3, 3)
    assert np.abs(y_rot - off_axis @ y @ off_axis.T).max() > 0.1


def test_inertia_is_o3_equivariant_only_without_the_extra_term():
    rng = np.random.default_rng(7)
    x = ModifiedInertia(n=200, n_val=10, n_test=10, ood_n=0).x.astype(np.float64)
    rot = random_rotation(rng)
    rot_x = transform_vectors(x, rot, start=5)
    for eps, equivariant in ((0.0, True), (0.3, False)):
        y = inertia_target(x, eps).reshape(-1, 3, 3)
        gap = np.abs(inertia_target(rot_x, eps).reshape(-1, 3, 3) - rot @ y @ rot.T).max()
        assert (gap < 1e-9) if equivariant else (gap > 0.05)


def test_inertia_ood_sets():
    base = ModifiedInertia(n=300, n_val=50, n_test=50, ood_n=2000)
    x_ood, y_ood = base.split("ood")
    assert x_ood.shape == (2000, 20) and y_ood.shape == (2000, 9) and "ood" in base.split_names
    pos = x_ood[:, 5:].astype(np.float64)
    np.testing.assert_allclose(pos.mean(), 1.0, atol=0.05)  # N(0, I) shifted by +1 on every axis
    np.testing.assert_allclose(pos.std(), 1.0, atol=0.05)
    np.testing.assert_allclose(y_ood, base.target(x_ood))
    scaled = ModifiedInertia(n=300, n_val=50, n_test=50, ood_n=2000, ood="scale")
    # same draw (default_rng([seed, 2])), positions doubled instead of shifted, masses unchanged
    np.testing.assert_array_equal(scaled.ood[0][:, :5], x_ood[:, :5])
    np.testing.assert_allclose(scaled.ood[0][:, 5:], (pos - 1.0) * 2.0, atol=1e-5)
    np.testing.assert_array_equal(scaled.x, base.x)
    assert scaled.content_hash != base.content_hash
    with pytest.raises(ValueError, match="ood must be one of 'shift', 'scale'; got 'flip'"):
        ModifiedInertia(ood="flip")


def test_inertia_options_are_checked():
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2"):
        ModifiedInertia(axis=3)
    with pytest.raises(ValueError, match="epsilon must be a finite real number"):
        ModifiedInertia(epsilon=float("nan"))
    with pytest.raises(ValueError, match="n_val must be an integer"):
        ModifiedInertia(n=100)  # 1000 validation samples do not fit
    assert ModifiedInertia(n=100, n_val=10, n_test=10, epsilon=-1).epsilon == -1.0


# ---- cosine similarity and SE(3) distance ----------------------------------------------------------
@pytest.mark.parametrize("symmetry, rotation_invariant, scale_invariant", [
    ("so3-scale", True, True), ("so3", True, False), ("scale", False, True), ("none", False, False)])
def test_cossim_invariances(symmetry, rotation_invariant, scale_invariant):
    ds = CosineSimilarity(n=200, k=4, symmetry=symmetry, n_val=10, n_test=10)
    x = ds.x.astype(np.float64)
    y = cossim_target(x, symmetry, 1.0)
    np.testing.assert_allclose(ds.y, y, rtol=1e-5, atol=1e-6)
    rot_gap = np.abs(cossim_target(transform_vectors(x, random_rotation(np.random.default_rng(3))), symmetry) - y).max()
    scale_gap = np.abs(cossim_target(2.5 * x, symmetry) - y).max()
    assert (rot_gap < 1e-9) if rotation_invariant else (rot_gap > 1e-2)
    assert (scale_gap < 1e-9) if scale_invariant else (scale_gap > 1e-2)


def test_cossim_value_and_options():
    x = np.array([[1.0, 0, 0, 0, 2, 0, 0, 0, 3]])  # orthogonal vectors: all cosines 0
    np.testing.assert_allclose(cossim_target(x), [[0.0]], atol=1e-12)
    np.testing.assert_allclose(cossim_target(x, "so3", 1.0), [[-2.0]])       # mean norm 2
    np.testing.assert_allclose(cossim_target(x, "scale", 1.0), [[-1 / 5]])   # |x_0|_1 / (|x_1|_1 + |x_2|_1)
    with pytest.raises(ValueError, match="symmetry must be one of 'so3-scale', 'so3', 'scale', 'none'"):
        CosineSimilarity(symmetry="o3")
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        CosineSimilarity(k=1)


@pytest.mark.parametrize("variant, rotation_invariant, translation_invariant", [
    ("distance", True, True), ("ball", True, False), ("l1distance", False, True)])
def test_se3dist_rigid_motion_invariance(variant, rotation_invariant, translation_invariant):
    ds = SE3Distance(n=200, variant=variant, n_val=10, n_test=10)
    assert np.all(ds.x.reshape(-1, 3, 4)[:, :, 3] == 1)
    x = ds.x.astype(np.float64)
    y = se3dist_target(x, variant, -0.5)
    np.testing.assert_allclose(ds.y, y, rtol=1e-5, atol=1e-6)

    def moved(rot, shift):
        g = np.eye(4)
        g[:3, :3], g[:3, 3] = rot, shift
        return (x.reshape(-1, 3, 4) @ g.T).reshape(-1, 12)  # homogeneous points: p -> R p + t

    rng = np.random.default_rng(5)
    rot_gap = np.abs(se3dist_target(moved(random_rotation(rng), np.zeros(3)), variant) - y).max()
    shift_gap = np.abs(se3dist_target(moved(np.eye(3), np.array([1.5, -2.0, 0.5])), variant) - y).max()
    both_gap = np.abs(se3dist_target(moved(random_rotation(rng), np.array([0.3, 1.0, -1.0])), variant) - y).max()
    assert (rot_gap < 1e-9) if rotation_invariant else (rot_gap > 1e-2)
    assert (shift_gap < 1e-9) if translation_invariant else (shift_gap > 1e-2)
    assert (both_gap < 1e-9) == (variant == "distance")
    p = np.array([[0.0, 0, 0, 1, 3, 0, 0, 1, 3, 4, 0, 1]])  # 3-4-5 triangle
    np.testing.assert_allclose(se3dist_target(p, "distance"), [[4.0]])


# ---- synthetic motion ------------------------------------------------------------------------------
def _rotated_runs(rot, gravity):
    p0 = np.array([[0.2, -0.1, 0.3], [-0.3, 0.4, 0.0], [0.1, 0.1, -0.2]])
    v0 = np.array([[0.3, 0.2, -0.1], [-0.2, 0.1, 0.25], [0.1, -0.3, 0.2]])
    plain = simulate_motion(p0, v0, gravity=gravity)
    turned = simulate_motion(p0 @ rot.T, v0 @ rot.T, gravity=gravity)
    return plain, turned


def test_motion_without_gravity_commutes_with_rotations():
    for rot in (rotation([0, 0, 1], 0.9), rotation([1, 0, 0], 1.1)):
        plain, turned = _rotated_runs(rot, gravity=0.0)
        assert plain[..., 2].min() > -2.0 and turned[..., 2].min() > -2.0  # no ground contact
        np.testing.assert_allclose(turned, plain @ rot.T, atol=1e-12)


def test_gravity_keeps_rotations_about_z_only():
    plain, turned = _rotated_runs(rotation([0, 0, 1], 0.9), gravity=1.0)
    np.testing.assert_allclose(turned, plain @ rotation([0, 0, 1], 0.9).T, atol=1e-12)
    rot_x = rotation([1, 0, 0], 1.1)
    plain, turned = _rotated_runs(rot_x, gravity=1.0)
    assert np.abs(turned - plain @ rot_x.T).max() > 0.1
    # a bouncing track stays above the ground plane and still commutes with rotations about z
    p0, v0 = np.array([[0.0, 0.0, -1.5]]), np.array([[0.5, 0.2, -2.0]])
    bounce = simulate_motion(p0, v0)
    assert bounce[0, :, 2].min() >= -2.0 and bounce[0, -1, 2] > bounce[0, :, 2].min()
    rot_z = rotation([0, 0, 1], 2.0)
    np.testing.assert_allclose(simulate_motion(p0 @ rot_z.T, v0 @ rot_z.T), bounce @ rot_z.T, atol=1e-12)


def test_motion_dataset_layout_and_centring():
    ds = SyntheticMotion(n_tracks=120, seed=3)
    assert ds.tracks.shape == (120, 12, 3) and ds.tracks[:, :, 2].min() >= -2.0
    pts = np.concatenate([ds.x.reshape(-1, 6, 3), ds.y.reshape(-1, 6, 3)], axis=1).astype(np.float64)
    np.testing.assert_allclose(pts + ds.offset[:, None], ds.tracks, atol=1e-5)
    np.testing.assert_allclose(ds.x.reshape(-1, 6, 3).mean(1), 0.0, atol=1e-5)  # past mean removed
    np.testing.assert_allclose(ds.offset, ds.tracks[:, :6].mean(1))
    full = SyntheticMotion(n_tracks=120, seed=3, centre="all")
    np.testing.assert_allclose(full.offset, ds.tracks.mean(1))
    np.testing.assert_allclose(np.concatenate([full.x.reshape(-1, 6, 3), full.y.reshape(-1, 6, 3)], 1).mean(1), 0,
                               atol=1e-5)
    assert not np.allclose(full.x, ds.x) and full.content_hash != ds.content_hash
    # the tracks themselves: every 2nd of 24 simulated steps from the seeded initial states
    rng = np.random.default_rng(3)
    p0, v0 = rng.standard_normal((120, 3)), rng.standard_normal((120, 3))
    p0[:, 2] = np.where(p0[:, 2] < -2, -4 - p0[:, 2], p0[:, 2])
    np.testing.assert_allclose(ds.tracks, simulate_motion(p0, v0)[:, ::2])
    with pytest.raises(ValueError, match="centre must be one of 'past', 'all'"):
        SyntheticMotion(centre="mean")


def test_ade():
    y = np.zeros((2, 18))
    pred = y.copy()
    pred[0, :3] = [3, 4, 0]  # one point of 12 off by 5
    assert ade(pred, y) == pytest.approx(5 / 12)
    assert ade(pred.reshape(2, 6, 3), y.reshape(2, 6, 3)) == pytest.approx(5 / 12)
    with pytest.raises(ValueError, match="same shape"):
        ade(pred[:1], y)


# ---- Waymo Open Motion: a hand-written TFRecord writer -----------------------------------------------
def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    crc = _crc32c_bitwise(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64: ten bytes of two's complement
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _len_field(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _feature(values, kind: str, packed: bool = True) -> bytes:
    if kind == "float":
        body = _len_field(1, struct.pack(f"<{len(values)}f", *values)) if packed else \
            b"".join(_varint(1 << 3 | 5) + struct.pack("<f", v) for v in values)
        return _len_field(2, body)
    if kind == "int":
        body = _len_field(1, b"".join(_varint(int(v)) for v in values)) if packed else \
            b"".join(_varint(1 << 3 | 0) + _varint(int(v)) for v in values)
        return _len_field(3, body)
    return _len_field(1, b"".join(_len_field(1, v) for v in values))


def _example(features: dict) -> bytes:
    entries = b"".join(_len_field(1, _len_field(1, key.encode()) + _len_field(2, value))
                       for key, value in features.items())
    return _len_field(1, entries)


def _record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _masked(length)) + data + struct.pack("<I", _masked(data))


def _scenario(tracks: np.ndarray, valid: np.ndarray, *, unpacked_current_valid: bool = False) -> bytes:
    """tracks (A, 91, 3), valid (A, 91) -> a Waymo-style tf.Example (past 10, current 1, future 80)."""
    parts = {"past": slice(0, 10), "current": slice(10, 11), "future": slice(11, 91)}
    feats = {"scenario/id": _feature([b"abc"], "bytes"),
             "roadgraph_samples/xyz": _feature(np.arange(30, dtype=float), "float"),  # skipped unread
             "state/id": _feature([-1] * len(tracks), "int")}
    for part, sl in parts.items():
        for axis, name in enumerate("xyz"):
            feats[f"state/{part}/{name}"] = _feature(tracks[:, sl, axis].ravel(), "float")
        feats[f"state/{part}/valid"] = _feature(valid[:, sl].ravel().astype(int), "int",
                                                packed=not (unpacked_current_valid and part == "current"))
    return _example(feats)


def _agents(rng, n_keep: int):
    """Agents of one scenario: the first n_keep pass the filter; then one of each kind that fails it."""
    steps = np.arange(91)[:, None]
    tracks, valid = [], []
    for a in range(n_keep + 3):
        start = rng.uniform(-50, 50, size=3) + [0, 0, 10]
        vel = np.array([0.3, -0.2, 0.04]) + 0.01 * a  # per raw step: dz(p0, p5) = 10 steps * 0.04 > 0.05
        if a == n_keep:
            vel[2] = 0.002                            # dz = 0.02: filtered
        if a == n_keep + 1:
            vel[0] = 0.6                              # dx = 6: filtered
        tracks.append(start + steps * vel)
        ok = np.ones(91, dtype=bool)
        if a == n_keep + 2:
            ok[20] = False                            # one invalid step among the first 24: filtered
        if a == 0:
            ok[30:] = False                           # invalid after step 23 only: kept
        valid.append(ok)
    tracks, valid = np.array(tracks), np.array(valid)
    tracks[~valid] = -1.0                             # as in the published files
    return tracks.astype(np.float32).astype(np.float64), valid


def _write_waymo(folder, n_files: int = 6):
    """n_files files; file 0 holds 2 scenarios (2 and 1 kept agents), the others 1 scenario (1 kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    expected = []  # (file, record, agent, 12 points)
    for fi in range(n_files):
        records = []
        for ri, n_keep in enumerate((2, 1) if fi == 0 else (1,)):
            tracks, valid = _agents(rng, n_keep)
            records.append(_record(_scenario(tracks, valid, unpacked_current_valid=ri == 1)))
            expected += [(fi, ri, a, tracks[a, :24:2]) for a in range(n_keep)]
        (folder / f"training_tfexample.tfrecord-{fi:05d}-of-{n_files:05d}").write_bytes(b"".join(records))
    return expected


def test_crc32c_and_example_parsing():
    assert crc32c(b"123456789") == 0xE3069283 == _crc32c_bitwise(b"123456789")
    data = np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes()  # the numpy lane path
    assert crc32c(data) == _crc32c_bitwise(data)
    example = _example({"f": _feature([1.5, -2.0], "float"), "g": _feature([0, 300, -7], "int"),
                        "h": _feature([1, 0], "int", packed=False), "b": _feature([b"x", b"yz"], "bytes"),
                        "u": _feature([0.25], "float", packed=False)})
    parsed = parse_example(example)
    np.testing.assert_array_equal(parsed["f"], np.array([1.5, -2.0], np.float32))
    assert parsed["g"].tolist() == [0, 300, -7] and parsed["h"].tolist() == [1, 0] and parsed["u"].tolist() == [0.25]
    assert parsed["b"] == [b"x", b"yz"]
    assert set(parse_example(example, keys=["g"])) == {"g"}


def test_waymo_reads_filters_normalises_and_splits(tmp_path):
    expected = _write_waymo(tmp_path / "waymo-motion" / "training")
    ds = WaymoMotion(tmp_path, progress=False)
    assert len(ds.files) == 6 and len(ds) == len(expected) == 8
    assert ds.sources.tolist() == [[f, r, a] for f, r, a, _ in expected]
    points = np.stack([p for *_, p in expected])
    centred = points - points[:, :6].mean(1, keepdims=True)
    np.testing.assert_allclose(ds.x, (centred[:, :6] / 1.05).reshape(-1, 18), atol=1e-5)
    np.testing.assert_allclose(ds.y, (centred[:, 6:] / 1.05).reshape(-1, 18), atol=1e-5)
    np.testing.assert_allclose(ds.offset, points[:, :6].mean(1))
    # by file, sorted: files 0-3 train (3 + 1 + 1 + 1 tracks), file 4 validates, file 5 tests
    assert ds.splits["train"].tolist() == [0, 1, 2, 3, 4, 5]
    assert ds.splits["val"].tolist() == [6] and ds.splits["test"].tolist() == [7]
    assert [p.name[-14:-9] for p in ds.file_splits["val"]] == ["00004"]
    assert ds.rep_in == "6*Vector" and ds.split_names == ("train", "val", "test")
    leaky = WaymoMotion(files=ds.files, centre="all", std=(1.0, 2.0, 4.0), progress=False)
    full = points - points.mean(1, keepdims=True)
    np.testing.assert_allclose(leaky.y, (full[:, 6:] / [1.0, 2.0, 4.0]).reshape(-1, 18), atol=1e-5)
    assert leaky.content_hash != ds.content_hash
    assert WaymoMotion(tmp_path, progress=False).content_hash == ds.content_hash
    assert WaymoMotion.verify_layout(tmp_path, progress=False) == {"train": 6, "val": 1, "test": 1}


def test_waymo_refuses_corrupted_records(tmp_path):
    folder = tmp_path / "waymo-motion"
    _write_waymo(folder, n_files=3)
    path = folder / "training_tfexample.tfrecord-00000-of-00003"
    raw = bytearray(path.read_bytes())
    second = 12 + struct.unpack("<Q", raw[:8])[0] + 4  # start of record 1
    damaged = raw.copy()
    damaged[second + 40] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(datasets.DatasetIntegrityError, match=r"tfrecord-00000-of-00003: record 1: the CRC-32C of "
                                                             r"the data does not match"):
        WaymoMotion(tmp_path, progress=False)
    damaged = raw.copy()
    damaged[second + 2] ^= 0x10  # the length field
    path.write_bytes(bytes(damaged))
    with pytest.raises(datasets.DatasetIntegrityError, match="record 1: the CRC-32C of the length field"):
        WaymoMotion(tmp_path, progress=False)
    path.write_bytes(bytes(raw[:-3]))
    with pytest.raises(datasets.DatasetIntegrityError, match="record 1: truncated"):
        WaymoMotion(tmp_path, progress=False)


def test_waymo_missing_files(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError, match=r"no \*\.tfrecord\* files under .*waymo-motion\. "
                                                            r"Waymo Open Motion v1\.1 cannot be downloaded"):
        WaymoMotion(tmp_path, progress=False)
    with pytest.raises(datasets.DatasetNotFoundError, match="file\\(s\\) not found: .*nope.tfrecord"):
        WaymoMotion(files=[tmp_path / "nope.tfrecord"], progress=False)
    _write_waymo(tmp_path / "waymo-motion", n_files=2)
    with pytest.raises(ValueError, match="at least 3 TFRecord files"):
        WaymoMotion(tmp_path, progress=False)
    with pytest.raises(ValueError, match="std must be a positive number"):
        WaymoMotion(tmp_path, std=0.0)
