"""The equivariance suite's models, PER's regulariser and its lambda rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metrics
from benchmark.suites.equivariance.groups import O, SO, Scaling, embedded_O2, union
from benchmark.suites.equivariance.models import EquivariantNet, is_orthogonal, regularisers
from benchmark.suites.equivariance.reps import Scalar, T, Vector, projector
from benchmark.suites.equivariance.training import LambdaTuner

INERTIA_IN, INERTIA_OUT = 5 * Scalar + 5 * Vector, T(2)


def _net(group, rep_in, rep_out, mode, seed=0):
    torch.manual_seed(seed)
    return EquivariantNet(group, rep_in, rep_out, ch=32, mode=mode).double()


def _error(net, group, rep_in, rep_out, n=16):
    x = torch.randn(n, rep_in.size(group.d), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return metrics.equivariance_error(net, x, group, rep_in, rep_out, n_transforms=4).score


def test_emlp_is_equivariant_to_its_group_and_the_unconstrained_nets_are_not():
    g = O(3)
    assert _error(_net(g, INERTIA_IN, INERTIA_OUT, "emlp"), g, INERTIA_IN, INERTIA_OUT) < 1e-10
    assert _error(_net(g, INERTIA_IN, INERTIA_OUT, "per"), g, INERTIA_IN, INERTIA_OUT) > 0.05
    assert _error(_net(g, INERTIA_IN, INERTIA_OUT, "rpp"), g, INERTIA_IN, INERTIA_OUT) > 1e-3


def test_emlp_about_one_axis_keeps_that_axis_only():
    about_z = embedded_O2((0, 1))
    net = _net(about_z, INERTIA_IN, INERTIA_OUT, "emlp")
    assert _error(net, about_z, INERTIA_IN, INERTIA_OUT) < 1e-10
    assert _error(net, O(3), INERTIA_IN, INERTIA_OUT) > 1e-3
    assert _error(net, embedded_O2((1, 2)), INERTIA_IN, INERTIA_OUT) > 1e-3


def test_emlp_for_rotations_and_scaling_is_invariant_on_cosine_similarity_inputs():
    g = union(SO(3), Scaling(3))
    assert not is_orthogonal(g) and is_orthogonal(O(3))
    rep_in = 3 * Vector
    net = _net(g, rep_in, Scalar, "emlp")
    assert _error(net, g, rep_in, Scalar) < 1e-8


def test_rpp_without_its_free_path_is_equivariant():
    g = O(3)
    net = _net(g, INERTIA_IN, INERTIA_OUT, "rpp")
    with torch.no_grad():
        for layer in net.linear_layers():
            layer.weight_free.zero_()
            layer.bias_free.zero_()
    assert _error(net, g, INERTIA_IN, INERTIA_OUT) < 1e-10


def test_per_regulariser_is_half_the_squared_distance_to_each_subspace():
    groups = [O(3), embedded_O2((0, 1)), embedded_O2((1, 2))]
    net = _net(groups[0], INERTIA_IN, INERTIA_OUT, "per")
    expected = []
    for g in groups:
        total = 0.0
        for layer in net.linear_layers():
            p = projector(g, layer.rep_in, layer.rep_out)
            w, b = layer.weight.detach(), layer.bias.detach()
            w_vec = w.numpy().reshape(-1)
            w_proj = p.dense_matrix() @ w_vec if w_vec.size <= 8192 else p.project_weight(w).numpy().reshape(-1)
            total += 0.5 * np.sum((w_vec - w_proj) ** 2) + 0.5 * float(((b - p.project_bias(b)) ** 2).sum())
        expected.append(total)
    got = regularisers(net, groups)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-8)
    assert got[0] > got[1]  # the larger group's subspace is smaller: farther away
    got.sum().backward()
    assert net.linears[0].weight.grad.abs().sum() > 0
    with torch.no_grad():  # weights already in O(3)'s subspace: zero for O(3) and for its subgroups
        for layer in net.linear_layers():
            p = projector(groups[0], layer.rep_in, layer.rep_out)
            layer.weight.copy_(p.project_weight(layer.weight))
            layer.bias.copy_(p.project_bias(layer.bias))
    assert float(regularisers(net, groups).detach().abs().max()) < 1e-10


def test_lambda_rule_matches_the_reference_formula():
    tuner = LambdaTuner([0.0, 100.0, 100.0, 100.0], t_adj=10, power=2, window=6, warmup=2)
    observed = {5: [9, 9, 9, 9], 6: [9, 9, 9, 9], 7: [6, 2, 8, 4], 8: [7, 3, 9, 5], 9: [5, 1, 4, 2], 10: [8, 8, 8, 8]}
    for epoch in range(1, 13):
        tuner.observe(epoch, observed.get(epoch, [100, 100, 100, 100]))
    # epochs 5-10 are the window; 5 and 6 warm up; the running minimum is the vector of epoch 9 (7: a component
    # decreased, so 7 replaced nothing before; 8: nothing decreased; 9: replaced; 10: nothing decreased)
    assert tuner.minimum == [5, 1, 4, 2] and tuner.done
    np.testing.assert_allclose(tuner.lambdas, [0.0, 100.0, 100 / 16, 100 / 4])
    assert tuner.trajectory[8] == [0.0, 100.0, 100.0, 100.0] and tuner.trajectory[9] == tuner.lambdas
    again = LambdaTuner([1.0], t_adj=1, power=1)
    again.load_state_dict(tuner.state_dict())
    assert again.lambdas == tuner.lambdas and again.trajectory == tuner.trajectory and again.done


@pytest.mark.parametrize("mode", ["emlp", "rpp", "per"])
def test_every_parameter_receives_a_finite_gradient(mode):
    net = _net(O(3), INERTIA_IN, INERTIA_OUT, mode).float()
    x, y = torch.randn(8, 20), torch.randn(8, 9)
    torch.nn.functional.mse_loss(net(x), y).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        # unconstrained layers: every weight moves; EMLP's bilinear terms may read parts its group keeps at zero
        assert p.grad.abs().sum() > 0 or name.endswith("bias") or (mode == "emlp" and "bilinears" in name), name


def test_per_halfsoft_init_starts_halfway_into_the_largest_groups_subspace():
    import dataclasses

    from benchmark.suites.equivariance.config import TrainSettings
    from benchmark.suites.equivariance.training import Data, EquivarianceTask

    groups = [O(3), embedded_O2((0, 1))]
    data = Data(torch.zeros(10, 20), torch.zeros(10, 9))
    kw = dict(data=data, groups=groups, lambda_init=(0, 1), correct=1, rep_in=INERTIA_IN, rep_out=INERTIA_OUT,
              seed=0, label="t")
    settings = TrainSettings(ch=16)
    torch.manual_seed(0)
    plain = EquivarianceTask("per", settings, **kw).build_model()
    torch.manual_seed(0)
    half = EquivarianceTask("per", dataclasses.replace(settings, per_init="halfsoft"), **kw).build_model()
    r_plain, r_half = regularisers(plain, groups[:1]).detach(), regularisers(half, groups[:1]).detach()
    assert float(r_half) == pytest.approx(float(r_plain) / 4, rel=1e-4)  # half the residual: a quarter of R
    with pytest.raises(ValueError, match="per_init must be"):
        EquivarianceTask("per", dataclasses.replace(settings, per_init="full"), **kw).build_model()
