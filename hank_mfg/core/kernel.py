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
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

Array = jax.Array

__all__ = [
    "Kernel",
    "GenericKernel",
    "forward",
    "expect",
    "action_values",
    "check_distribution",
    "check_policy_table",
    "is_concrete",
]


@runtime_checkable
class Kernel(Protocol):
    """What every kernel provides; solvers only ever call these."""

    @property
    def n_states(self) -> int: ...

    def forward(self, mu: Array, policy: Array) -> Array: ...

    def expect(self, v: Array, policy: Array) -> Array: ...


def forward(kernel: Kernel, mu: Array, policy: Array) -> Array:
    """Push the distribution ``mu[n_states]`` one period forward under ``policy``: ``Aᵀ mu``."""
    return kernel.forward(mu, policy)


def expect(kernel: Kernel, v: Array, policy: Array) -> Array:
    """Expected next-period value per current state under ``policy``: ``A v`` (``[n_states]``)."""
    return kernel.expect(v, policy)


def action_values(kernel: Any, v: Array) -> Array:
    """Expected next-period value per state and action, ``[n_states, n_actions]``.

    Defined for kernels over a discrete action set; used by the best response.
    """
    return kernel.action_values(v)


def is_concrete(*arrays: Any) -> bool:
    """True when no argument is a JAX tracer, i.e. values can be checked eagerly."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(arrays))


def _is_index_policy(policy: Array) -> bool:
    return policy.ndim == 1 and jnp.issubdtype(policy.dtype, jnp.integer)


@struct.dataclass
class GenericKernel:
    """Next-state indices and probabilities for every (state, action) pair.

    Attributes:
        next_state: int32 ``[n_states, n_actions, K]``, index of each possible next state.
        prob: float ``[n_states, n_actions, K]``, its probability; sums to one over ``K``.

    Build it with :meth:`create` to have the arrays checked.
    """

    next_state: Array
    prob: Array

    @classmethod
    def create(cls, next_state: Any, prob: Any, *, atol: float | None = None) -> GenericKernel:
        """Build a kernel, checking shapes and (when values are concrete) indices and masses.

        Raises:
            ValueError: naming ``next_state`` or ``prob`` and what is allowed.
        """
        next_state = jnp.asarray(next_state)
        prob = jnp.asarray(prob)
        if not jnp.issubdtype(next_state.dtype, jnp.integer):
            raise ValueError(f"next_state must hold integer indices, got dtype {next_state.dtype}")
        kernel = cls(next_state=next_state.astype(jnp.int32), prob=prob)
        check_generic_kernel(kernel, atol=atol)
        return kernel

    @property
    def n_states(self) -> int:
        return self.next_state.shape[0]

    @property
    def n_actions(self) -> int:
        return self.next_state.shape[1]

    def _flat(self, policy: Array) -> tuple[Array, Array]:
        """Next-state indices and policy-weighted probabilities, ``[n_states, M]`` each."""
        if _is_index_policy(policy):
            idx = jnp.take_along_axis(self.next_state, policy[:, None, None], axis=1)[:, 0]
            w = jnp.take_along_axis(self.prob, policy[:, None, None], axis=1)[:, 0]
            return idx, w
        if policy.ndim != 2:
            raise ValueError(
                "policy must be action probabilities [n_states, n_actions] or integer action "
                f"indices [n_states]; got shape {policy.shape} and dtype {policy.dtype}"
            )
        w = self.prob * policy[:, :, None].astype(self.prob.dtype)
        n = self.n_states
        return self.next_state.reshape(n, -1), w.reshape(n, -1)

    def forward(self, mu: Array, policy: Array) -> Array:
        """``Aᵀ mu``: scatter each state's mass onto its next states."""
        idx, w = self._flat(policy)
        mass = (mu[:, None] * w).ravel()
        return jnp.zeros(self.n_states, dtype=mass.dtype).at[idx.ravel()].add(mass)

    def expect(self, v: Array, policy: Array) -> Array:
        """``A v``: gather next-state values and weight them."""
        idx, w = self._flat(policy)
        return jnp.sum(w * v[idx], axis=-1)

    def action_values(self, v: Array) -> Array:
        """``E[v(s') | s, a]`` for every state and action, ``[n_states, n_actions]``."""
        return jnp.sum(self.prob * v[self.next_state], axis=-1)

    def check(self, atol: float | None = None) -> None:
        """Raise ``ValueError`` if shapes, indices or probabilities are invalid."""
        check_generic_kernel(self, atol=atol)

    def to_dense(self, policy: Array) -> Array:
        """The dense matrix ``A[s, s']`` under ``policy`` (for inspection on small games)."""
        idx, w = self._flat(policy)
        rows = jnp.broadcast_to(jnp.arange(self.n_states)[:, None], idx.shape)
        dense = jnp.zeros((self.n_states, self.n_states), dtype=w.dtype)
        return dense.at[rows.ravel(), idx.ravel()].add(w.ravel())


def _default_atol(dtype: Any) -> float:
    return 1e-12 if jnp.dtype(dtype) == jnp.float64 else 1e-5


def check_generic_kernel(kernel: GenericKernel, *, atol: float | None = None) -> None:
    """Check a generic kernel's shapes, index range and probabilities.

    Value checks run only on concrete arrays (not inside ``jit``).

    Raises:
        ValueError: naming the offending field and what is allowed.
    """
    ns, p = kernel.next_state, kernel.prob
    if ns.ndim != 3:
        raise ValueError(
            f"next_state must have shape [n_states, n_actions, K], got shape {ns.shape}"
        )
    if p.shape != ns.shape:
        raise ValueError(f"prob must have the shape of next_state {ns.shape}, got {p.shape}")
    if not is_concrete(ns, p):
        return
    n = ns.shape[0]
    ns_np, p_np = np.asarray(ns), np.asarray(p)
    if ns_np.size and (ns_np.min() < 0 or ns_np.max() >= n):
        raise ValueError(
            f"next_state indices must lie in [0, {n - 1}] (n_states={n}); "
            f"got values in [{ns_np.min()}, {ns_np.max()}]"
        )
    if not np.all(np.isfinite(p_np)) or (p_np.size and p_np.min() < 0):
        raise ValueError("prob must be finite and non-negative")
    tol = _default_atol(p_np.dtype) if atol is None else atol
    err = np.abs(p_np.sum(axis=-1) - 1.0).max() if p_np.size else 0.0
    if err > tol * max(1, ns.shape[-1]):
        raise ValueError(
            f"prob must sum to one over next states for every (state, action); "
            f"largest deviation {err:.3g}"
        )


def check_distribution(mu: Any, n_states: int, *, name: str = "mu") -> Array:
    """Check that ``mu`` is a distribution over ``n_states`` states (finite, >= 0, mass 1).

    Raises:
        ValueError: naming ``name`` and what is allowed.
    """
    mu = jnp.asarray(mu)
    if mu.ndim != 1 or mu.shape[0] != n_states:
        raise ValueError(f"{name} must have shape ({n_states},), got {mu.shape}")
    if is_concrete(mu):
        m = np.asarray(mu)
        if not np.all(np.isfinite(m)) or m.min() < 0:
            raise ValueError(f"{name} must be finite and non-negative")
        if abs(m.sum() - 1.0) > _default_atol(m.dtype) * max(1, n_states):
            raise ValueError(f"{name} must sum to one, sums to {m.sum():.12g}")
    return mu


def check_policy_table(policy: Any, n_states: int, n_actions: int) -> Array:
    """Check a discrete policy table (probabilities or action indices).

    Raises:
        ValueError: naming ``policy`` and what is allowed.
    """
    policy = jnp.asarray(policy)
    if _is_index_policy(policy):
        if policy.shape != (n_states,):
            raise ValueError(f"policy indices must have shape ({n_states},), got {policy.shape}")
        if is_concrete(policy):
            p = np.asarray(policy)
            if p.min() < 0 or p.max() >= n_actions:
                raise ValueError(f"policy indices must lie in [0, {n_actions - 1}]")
        return policy
    if policy.shape != (n_states, n_actions):
        raise ValueError(
            f"policy probabilities must have shape ({n_states}, {n_actions}), got {policy.shape}"
        )
    if is_concrete(policy):
        p = np.asarray(policy)
        if not np.all(np.isfinite(p)) or p.min() < 0:
            raise ValueError("policy probabilities must be finite and non-negative")
        err = np.abs(p.sum(axis=1) - 1.0).max()
        if err > _default_atol(p.dtype) * max(1, n_actions):
            raise ValueError(f"policy probabilities must sum to one per state; deviation {err:.3g}")
    return policy
