"""MLP, EMLP, RPP and PER (soft EMLP) in PyTorch, on the group library of :mod:`.reps`.

All four share one architecture (Kim et al., ICML 2023, code ``models/objax_per.py``; Finzi et al. 2021):
three blocks ``Linear -> BiLinear (+ residual) -> gated nonlinearity`` on a hidden representation
(:func:`.reps.uniform_rep`: tensors of ranks 0 to 3 of about ``ch`` dimensions in all), then a final
``Linear`` to the output representation. They differ in the linear layers (:class:`SoftLinear`):

* ``mlp``: unconstrained weights, and plain swish units in place of the gates and the bilinear layer;
* ``emlp``: W and b projected onto the largest group's equivariant subspace in every forward pass, P W;
* ``rpp`` (residual pathway prior, Finzi et al. NeurIPS 2021): P W_a + W_b, the unconstrained path W_b under a
  stronger weight decay (its prior);
* ``per``: unconstrained W and b, pulled towards each candidate group j by the regulariser
  :math:`R_j = \\sum_l \\tfrac12\\lVert W_l - P_j W_l\\rVert^2 + \\tfrac12\\lVert b_l - P^b_j b_l\\rVert^2`
  (:func:`regularisers`), its gates "RPP gated": :math:`\\sigma(\\text{gate})\\,x + w_g \\odot \\mathrm{swish}(x)`.

The bilinear layer and the gates are the largest group's (equivariant by construction): the gate of each
non-scalar copy is an extra scalar channel of the linear layer's output; the bilinear layer is EMLP's cheap one
(:class:`BiLinear`), in which parts of the input act as linear maps between parts of the input. The hidden
representation has tensors up to rank 3 at width 128 (EMLP's allocation, :func:`hidden_max_rank`): a rank-3 part
read as a map from vectors to rank-2 tensors is what lets the network form outer products such as r r^T.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.suites.equivariance.groups import Group
from benchmark.suites.equivariance.reps import Rep, Scalar, TensorType, projector, uniform_rep

__all__ = ["SoftLinear", "GatedNonlinearity", "BiLinear", "EquivariantNet", "MLP", "regularisers", "MODES"]

MODES = ("mlp", "emlp", "rpp", "per")
GATE_INIT = 1e-3  # PER's w_g of the "RPP gated" nonlinearity


def is_orthogonal(group: Group) -> bool:
    """Every Lie generator antisymmetric and every discrete generator orthogonal: then V* = V."""
    lie = all(np.allclose(a, -a.T) for a in group.lie_algebra)
    disc = all(np.allclose(h @ h.T, np.eye(group.d)) for h in group.discrete_generators)
    return lie and disc


def gated_rep(hidden: Rep, d: int) -> Rep:
    """The linear layer's output: the hidden representation and one gate scalar per non-scalar copy."""
    n_gates = sum(1 for _, t in hidden.copies(d) if t.rank > 0)
    return hidden + n_gates * Scalar if n_gates else hidden


class SoftLinear(nn.Module):
    """``y = W x + b`` between two representations, with W and b as the ``mode`` says (see the module doc)."""

    def __init__(self, group: Group, rep_in: Rep, rep_out: Rep, mode: str):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}.")
        d = group.d
        n_in, n_out = rep_in.size(d), rep_out.size(d)
        self.mode, self.rep_in, self.rep_out = mode, rep_in, rep_out
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / np.sqrt(n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))
        if mode == "rpp":
            self.weight_free = nn.Parameter(torch.randn(n_out, n_in) / np.sqrt(n_in) * 0.1)
            self.bias_free = nn.Parameter(torch.zeros(n_out))
        self.proj = projector(group, rep_in, rep_out) if mode in ("emlp", "rpp") else None

    def effective(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The (W, b) the layer applies."""
        if self.mode in ("mlp", "per"):
            return self.weight, self.bias
        w, b = self.proj.project_weight(self.weight), self.proj.project_bias(self.bias)
        if self.mode == "rpp":
            w, b = w + self.weight_free, b + self.bias_free
        return w, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.effective()
        return F.linear(x, w, b)


class GatedNonlinearity(nn.Module):
    """Scalars -> swish; each non-scalar copy x_i -> sigmoid(gate_i) x_i (+ w_g * swish(x_i) when ``soft``)."""

    def __init__(self, hidden: Rep, d: int, *, soft: bool = False):
        super().__init__()
        copies = hidden.copies(d)
        n_hidden = hidden.size(d)
        scalar_idx, gate_of = [], torch.zeros(n_hidden, dtype=torch.long)
        gate = n_hidden
        for offset, t in copies:
            if t.rank == 0:
                scalar_idx.append(offset)
            else:
                gate_of[offset:offset + t.size(d)] = gate
                gate += 1
        is_scalar = torch.zeros(n_hidden, dtype=torch.bool)
        is_scalar[scalar_idx] = True
        self.n_hidden = n_hidden
        self.register_buffer("is_scalar", is_scalar, persistent=False)
        self.register_buffer("gate_of", gate_of, persistent=False)
        self.soft = soft
        if soft:
            self.w_gate = nn.Parameter(torch.full((n_hidden,), GATE_INIT))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z[:, :self.n_hidden]
        gates = torch.sigmoid(z[:, self.gate_of])
        out = torch.where(self.is_scalar, F.silu(x), gates * x)
        if self.soft:
            out = out + torch.where(self.is_scalar, torch.zeros_like(x), self.w_gate * F.silu(x))
        return out


class BiLinear(nn.Module):
    """EMLP's cheap bilinear layer on a representation: ``0.1 * W(x) x``, where each block of W(x), from a copy of
    type t_in to a copy of type t_out, is a learned combination of the parts of x whose type is that of such maps,
    t_out (x) t_in*, read as a (size t_out) x (size t_in) matrix. For orthogonal groups (V* = V) that is every part
    of rank r_out + r_in > 0; otherwise only maps from scalars (a part of type t_out as a column). Equivariant by
    construction: a part of x transforms exactly as the map it stands for."""

    def __init__(self, rep: Rep, d: int, *, orthogonal: bool):
        super().__init__()
        by_type: dict[TensorType, list[int]] = {}
        for offset, t in rep.copies(d):
            by_type.setdefault(t, []).append(offset)
        self.d, self.n = d, rep.size(d)
        self.terms: list[tuple[TensorType, TensorType, TensorType]] = []
        scalar = TensorType(0, 0)
        for t_out in by_type:
            for t_in in by_type:
                if t_in == scalar:
                    t_x = t_out  # a part of type t_out as a column from a scalar
                elif orthogonal and t_out.q == 0 and t_in.q == 0:
                    t_x = TensorType(t_out.rank + t_in.rank, 0) if t_out.rank + t_in.rank <= 3 else None
                else:
                    t_x = None
                if t_x is not None and t_x != scalar and t_x in by_type:
                    self.terms.append((t_out, t_in, t_x))
        self.weights = nn.ParameterList()
        for k, (t_out, t_in, t_x) in enumerate(self.terms):
            o, i, x = (torch.tensor(by_type[t], dtype=torch.long) for t in (t_out, t_in, t_x))
            self.register_buffer(f"out{k}", o, persistent=False)
            self.register_buffer(f"in{k}", i, persistent=False)
            self.register_buffer(f"x{k}", x, persistent=False)
            self.weights.append(nn.Parameter(torch.randn(len(o), len(i), len(x)) / np.sqrt(len(i) * len(x))))

    def _gather(self, z: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
        index = offsets[:, None] + torch.arange(size, device=z.device)[None, :]
        return z[:, index]  # (B, copies, size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(z)
        d = self.d
        for k, (t_out, t_in, t_x) in enumerate(self.terms):
            o, i, x = getattr(self, f"out{k}"), getattr(self, f"in{k}"), getattr(self, f"x{k}")
            s_out, s_in = t_out.size(d), t_in.size(d)
            h = self._gather(z, i, s_in)  # (B, I, s_in)
            m = self._gather(z, x, t_x.size(d)).reshape(z.shape[0], len(x), s_out, s_in)  # parts as maps
            contrib = torch.einsum("oik,bkpq,biq->bop", self.weights[k], m, h)
            index = (o[:, None] + torch.arange(s_out, device=z.device)[None, :]).reshape(-1)
            out = out.index_add(1, index, contrib.reshape(z.shape[0], -1))
        return 0.1 * out


def hidden_max_rank(ch: int, d: int) -> int:
    """EMLP's allocation: the largest rank r <= 3 with r d^r <= ch (width 128 in 3-D: rank 3; width 64: rank 2)."""
    return max(r for r in range(4) if r == 0 or r * d ** r <= ch)


class EquivariantNet(nn.Module):
    """Three blocks ``SoftLinear -> BiLinear (+ residual) -> gates`` and a final ``SoftLinear``.

    ``group`` is the largest candidate group (the bilinear layers and gates are its); ``mode`` in MODES."""

    def __init__(self, group: Group, rep_in: Rep, rep_out: Rep, *, ch: int = 128, blocks: int = 3,
                 mode: str = "per"):
        super().__init__()
        d = group.d
        self.mode, self.group, self.rep_in, self.rep_out = mode, group, rep_in, rep_out
        hidden = uniform_rep(ch, max_rank=hidden_max_rank(ch, d), d=d)
        linear_out = gated_rep(hidden, d)
        orthogonal = is_orthogonal(group)
        self.linears = nn.ModuleList()
        self.bilinears = nn.ModuleList()
        self.gates = nn.ModuleList()
        rep = rep_in
        for _ in range(blocks):
            self.linears.append(SoftLinear(group, rep, linear_out, mode))
            self.bilinears.append(BiLinear(linear_out, d, orthogonal=orthogonal))
            self.gates.append(GatedNonlinearity(hidden, d, soft=mode == "per"))
            rep = hidden
        self.out = SoftLinear(group, hidden, rep_out, mode)

    def linear_layers(self) -> list[SoftLinear]:
        return [*self.linears, self.out]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for linear, bilinear, gate in zip(self.linears, self.bilinears, self.gates):
            z = linear(x)
            z = z + bilinear(z)
            x = gate(z)
        return self.out(x)


class MLP(nn.Module):
    """The unconstrained baseline: ``blocks`` Linear + swish layers of width ``ch``, then a Linear."""

    def __init__(self, n_in: int, n_out: int, *, ch: int = 128, blocks: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for _ in range(blocks):
            layers += [nn.Linear(width, ch), nn.SiLU()]
            width = ch
        layers.append(nn.Linear(width, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def regularisers(model: EquivariantNet, groups: list[Group]) -> torch.Tensor:
    """PER's :math:`R_j` for every candidate group j: (n_groups,) (closed form, data-free)."""
    values = []
    for g in groups:
        total = 0.0
        for layer in model.linear_layers():
            p = projector(g, layer.rep_in, layer.rep_out).to(layer.weight.device)
            w, b = layer.weight, layer.bias
            total = total + 0.5 * (w - p.project_weight(w)).pow(2).sum() + 0.5 * (b - p.project_bias(b)).pow(2).sum()
        values.append(total)
    return torch.stack(values)
