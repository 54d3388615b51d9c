"""The generic kernel: next-state indices and probabilities for every (state, action) pair."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hank_mfg.core.kernel.base import Kernel, _default_atol, _is_index_policy, is_concrete

Array = jax.Array

__all__ = ["GenericKernel", "check_generic_kernel"]


@struct.dataclass
class GenericKernel(Kernel):
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

    def transitions(self, policy: Array) -> tuple[Array, Array]:
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
        idx, w = self.transitions(policy)
        mass = (mu[:, None] * w).ravel()
        return jnp.zeros(self.n_states, dtype=mass.dtype).at[idx.ravel()].add(mass)

    def expect(self, v: Array, policy: Array) -> Array:
        """``A v``: gather next-state values and weight them."""
        idx, w = self.transitions(policy)
        return jnp.sum(w * v[idx], axis=-1)

    def action_values(self, v: Array) -> Array:
        """``E[v(s') | s, a]`` for every state and action, ``[n_states, n_actions]``."""
        return jnp.sum(self.prob * v[self.next_state], axis=-1)

    def sample(self, key: Array, states: Array, actions: Array) -> Array:
        """Next state of each agent, drawn from ``prob[state, action]`` (int32 ``[N]``)."""
        prob = self.prob[states, actions]  # [N, K]
        pick = jax.random.categorical(key, jnp.log(prob), axis=-1)
        return jnp.take_along_axis(self.next_state[states, actions], pick[:, None], axis=1)[:, 0]

    def check(self, atol: float | None = None) -> None:
        """Raise ``ValueError`` if shapes, indices or probabilities are invalid."""
        check_generic_kernel(self, atol=atol)

    def to_dense(self, policy: Array) -> Array:
        """The dense matrix ``A[s, s']`` under ``policy`` (for inspection on small games)."""
        idx, w = self.transitions(policy)
        rows = jnp.broadcast_to(jnp.arange(self.n_states)[:, None], idx.shape)
        dense = jnp.zeros((self.n_states, self.n_states), dtype=w.dtype)
        return dense.at[rows.ravel(), idx.ravel()].add(w.ravel())


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
