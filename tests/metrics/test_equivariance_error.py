"""metrics.equivariance_error: zero for equivariant maps, positive for broken ones, invariant to the scale of f."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import metrics

RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 3))
ROTATIONS = Rotation.random(6, random_state=1).as_matrix()  # (6, 3, 3) elements of SO(3)
IDENTITY = lambda g: g  # noqa: E731  the vector representation


def test_an_equivariant_map_scores_zero_and_a_broken_one_does_not():
    equivariant = lambda x: np.linalg.norm(x, axis=1, keepdims=True) * x  # noqa: E731
    broken = lambda x: x + np.array([1.0, 0.0, 0.0]) * np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    assert metrics.equivariance_error(equivariant, X, ROTATIONS, IDENTITY, IDENTITY).score < 1e-12
    r = metrics.equivariance_error(broken, X, ROTATIONS, IDENTITY, IDENTITY)
    assert 0.05 < r.score <= 1.0
    assert r.per_transform.shape == (6,) and r.per_sample.shape == (50,)
    assert r.score == pytest.approx(r.per_transform.mean()) == pytest.approx(r.per_sample.mean())
    assert r.metric_version == metrics.METRIC_VERSIONS["equivariance_error"] and r.params["n_transforms"] == 6


def test_the_score_does_not_depend_on_the_scale_of_f():
    broken = lambda x: x ** 2  # noqa: E731
    a = metrics.equivariance_error(broken, X, ROTATIONS, IDENTITY, IDENTITY).score
    b = metrics.equivariance_error(lambda x: 7.5 * broken(x), X, ROTATIONS, IDENTITY, IDENTITY).score
    assert a == pytest.approx(b, rel=1e-12) and a > 0


def test_the_hand_computed_value_of_one_sample_and_one_element():
    g = np.diag([-1.0, 1.0, 1.0])  # a reflection
    f = lambda x: np.abs(x)  # noqa: E731  f(gx) = |x|, g f(x) = (-|x0|, |x1|, |x2|)
    x = np.array([[3.0, 0.0, 4.0]])
    # || (3, 0, 4) - (-3, 0, 4) || / (5 + 5) = 6 / 10
    assert metrics.equivariance_error(f, x, g[None], IDENTITY, IDENTITY).score == pytest.approx(0.6)


def test_invariance_is_equivariance_with_the_trivial_output_representation():
    norm = lambda x: np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    trivial = lambda g: np.eye(1)  # noqa: E731
    assert metrics.equivariance_error(norm, X, ROTATIONS, IDENTITY, trivial).score < 1e-12
    first = lambda x: x[:, :1]  # noqa: E731
    assert metrics.equivariance_error(first, X, ROTATIONS, IDENTITY, trivial).score > 0.1


def test_torch_modules_and_group_objects_with_samples():
    class SO3:
        def samples(self, n, rng):
            return Rotation.random(n, random_state=int(rng.integers(1 << 31))).as_matrix()

    torch.manual_seed(0)
    scaled_identity = torch.nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        scaled_identity.weight.copy_(2.0 * torch.eye(3))
    r = metrics.equivariance_error(scaled_identity, torch.tensor(X), SO3(), IDENTITY, IDENTITY, n_transforms=4)
    assert r.score < 1e-6 and r.params == {"n_transforms": 4, "seed": 0}
    generic = torch.nn.Linear(3, 3)
    assert metrics.equivariance_error(generic, X, SO3(), IDENTITY, IDENTITY, n_transforms=4).score > 0.05
    # the same seed draws the same elements
    a = metrics.equivariance_error(generic, X, SO3(), IDENTITY, IDENTITY, n_transforms=3, seed=5).score
    assert a == metrics.equivariance_error(generic, X, SO3(), IDENTITY, IDENTITY, n_transforms=3, seed=5).score


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=np.ones(3)), ValueError, r"x must have shape \(n_samples, n_in\)"),
    (dict(x=np.full((2, 3), np.nan)), ValueError, "x contains NaN"),
    (dict(n_transforms=0), ValueError, "n_transforms must be an integer >= 1"),
    (dict(rho_out=lambda g: np.eye(2)), ValueError, r"rho_out\(g\) 3 x 3"),
    (dict(group=np.eye(3)), ValueError, r"group elements must have shape \(n, d, d\)"),
    (dict(rho_in=5), TypeError, "rho_in must be a representation"),
])
def test_bad_input_is_refused_clearly(kwargs, error, match):
    args = dict(f=lambda x: x, x=X, group=ROTATIONS, rho_in=IDENTITY, rho_out=IDENTITY)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        metrics.equivariance_error(args.pop("f"), args.pop("x"), args.pop("group"), args.pop("rho_in"),
                                   args.pop("rho_out"), **args)
