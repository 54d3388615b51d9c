"""Sparse one-step transition kernels of the individual state.

A kernel represents the transition matrix ``A`` of one period: ``A[s, s']`` is the probability
that an agent in state ``s`` who follows the population's policy is in ``s'`` next period. It is
never formed densely. Two operations use it, in opposite directions:

* ``forward(kernel, mu, policy)`` -- the pushforward ``mu' = Aᵀ mu`` of the cross-sectional
  distribution (mass per state, sums to one);
* ``expect(kernel, v, policy)`` -- the expected next-period value ``A v`` per current state.

They are adjoint: ``<forward(mu), v> = <mu, expect(v)>`` for every ``mu`` and ``v``.

A *policy table* is one of

* action probabilities ``prob_a[n_states, n_actions]`` (rows sum to one), or
* deterministic action indices ``a[n_states]`` (integer dtype), or
* for kernels over continuous actions (see the lottery kernel of the household models),
  a real action per state ``a[n_states]``.

The package is split by job: :mod:`~hank_mfg.core.kernel.base` (the interface, shared
helpers and checks), :mod:`~hank_mfg.core.kernel.grid_search` (locating points on a grid),
:mod:`~hank_mfg.core.kernel.generic` (explicit next states and probabilities) and
:mod:`~hank_mfg.core.kernel.lottery` (the household's wealth lottery and income chain).
"""

from hank_mfg.core.kernel.base import (
    Kernel,
    action_values,
    check_distribution,
    check_markov_matrix,
    check_policy_table,
    expect,
    forward,
    is_concrete,
    kernel_cache,
    with_cache,
)
from hank_mfg.core.kernel.generic import GenericKernel, check_generic_kernel
from hank_mfg.core.kernel.grid_search import grid_interval
from hank_mfg.core.kernel.lottery import LotteryKernel

__all__ = [
    "GenericKernel",
    "Kernel",
    "LotteryKernel",
    "action_values",
    "check_distribution",
    "check_generic_kernel",
    "check_markov_matrix",
    "check_policy_table",
    "expect",
    "forward",
    "grid_interval",
    "is_concrete",
    "kernel_cache",
    "with_cache",
]
