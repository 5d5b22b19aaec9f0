"""The equivariance suite: PER (soft equivariance under mixed symmetries) against MLP, EMLP and RPP
(``python -m benchmark run --suite equivariance``).

* ``groups``, ``reps`` -- matrix groups from their generators, tensor representations, and the equivariant
  subspace of a linear layer (solved per block type, cached) with its projector;
* ``models`` -- MLP, EMLP, RPP and PER's soft EMLP, and PER's regularisers;
* ``training`` -- the loss, PER's one-shot lambda tuning, the engine task;
* ``profiles``, ``suite``, ``plots`` -- settings, profiles and claims; the Suite object; the figures.
"""

from benchmark.suites.equivariance.suite import EquivarianceSuite

SUITE = EquivarianceSuite()
