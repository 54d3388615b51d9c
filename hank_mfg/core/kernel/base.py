"""The kernel interface, what every kernel shares, and the checks of distributions and policy
tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

__all__ = [
    "Kernel",
    "action_values",
    "check_distribution",
    "check_markov_matrix",
    "check_policy_table",
    "expect",
    "forward",
    "is_concrete",
    "kernel_cache",
    "with_cache",
]


class Kernel:
    """The interface of every kernel; solvers only ever call these methods.

    A kernel states its capabilities here rather than by its class: the two directions
    (:meth:`forward`, :meth:`expect`) and :attr:`n_states` are required; the rest have
    defaults that every kernel may refine:

    * :meth:`transitions` -- the policy's one-period transitions as sparse rows (indices and
      probabilities), for exact stationary distributions;
    * :meth:`forward_operator` -- ``mu ↦ Aᵀ mu`` for a fixed policy, with whatever the policy
      determines computed once (forward iteration applies it many times);
    * :meth:`cache` / :meth:`with_cache` -- what both directions share and the policy does not
      change (default: nothing);
    * :meth:`mass_above_grid` -- mass a policy sends beyond the state space's edge (default 0);
    * :meth:`check` -- validation of the kernel's arrays (default: none).
    """

    @property
    def n_states(self) -> int:
        raise NotImplementedError

    def forward(self, mu: Array, policy: Array) -> Array:
        """``Aᵀ mu``: the distribution ``[n_states]`` one period later under ``policy``."""
        raise NotImplementedError

    def expect(self, v: Array, policy: Array) -> Array:
        """``A v``: the expected next-period value per current state ``[n_states]``."""
        raise NotImplementedError

    def transitions(self, policy: Array) -> tuple[Array, Array]:
        """Next-state indices and probabilities under ``policy``, ``[n_states, M]`` each."""
        raise NotImplementedError(f"{type(self).__name__} does not list its transitions")

    def forward_operator(self, policy: Array) -> Callable[[Array], Array]:
        """``mu ↦ Aᵀ mu`` under a fixed ``policy``."""
        return lambda mu: self.forward(mu, policy)

    def cache(self) -> Any:
        """A pytree of what :meth:`forward` and :meth:`expect` share for every policy."""
        return ()

    def with_cache(self, cache: Any) -> Kernel:
        """This kernel with :meth:`cache` filled in."""
        return self

    def mass_above_grid(self, mu: Array, policy: Array) -> Array:
        """Mass placed on the edge of the state space because the policy chose beyond it."""
        return jnp.zeros((), dtype=mu.dtype)

    def check(self, atol: float | None = None) -> None:
        """Raise ``ValueError`` naming what is invalid (default: nothing is checked)."""


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


def kernel_cache(kernel: Kernel) -> Any:
    """What a kernel's two directions share and the policy does not change (a pytree).

    Computed once per period (e.g. in the rollout) and handed back with :func:`with_cache`
    to the same period's kernel rebuilt later (e.g. in the value recursion). ``()`` for kernels
    with nothing worth keeping.
    """
    return kernel.cache()


def with_cache(kernel: Kernel, cache: Any) -> Any:
    """The kernel with its :func:`kernel_cache` filled in (unchanged for an empty cache)."""
    if not jax.tree_util.tree_leaves(cache):
        return kernel
    return kernel.with_cache(cache)


def _at(x: Array, *index: Array) -> Any:
    """``x.at[index]`` for indices known to lie in range (no clamping, no negative wrap)."""
    return x.at[index]


_IN_RANGE: dict[str, Any] = {"mode": "promise_in_bounds", "wrap_negative_indices": False}


def is_concrete(*arrays: Any) -> bool:
    """True when no argument is a JAX tracer, i.e. values can be checked eagerly."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(arrays))


def _is_index_policy(policy: Array) -> bool:
    return policy.ndim == 1 and jnp.issubdtype(policy.dtype, jnp.integer)


def _default_atol(dtype: Any) -> float:
    return 1e-12 if jnp.dtype(dtype) == jnp.float64 else 1e-5


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


def check_markov_matrix(P: Any, *, name: str = "Pi", atol: float | None = None) -> None:
    """Raise ``ValueError`` unless ``P`` is a square, finite, non-negative row-stochastic matrix."""
    p = np.asarray(P)
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise ValueError(f"{name} must be finite and non-negative")
    tol = _default_atol(p.dtype) if atol is None else atol
    err = np.abs(p.sum(axis=1) - 1.0).max()
    if err > tol * max(1, p.shape[0]):
        raise ValueError(f"{name} must be row-stochastic (rows sum to one); deviation {err:.3g}")
