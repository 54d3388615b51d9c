"""The beach-bar crowd game of the RSPG paper, with the bar that may close.

Agents on cells ``s ∈ {0, …, n_states - 1}`` of a beach move ``a ∈ {-5…5}`` and are then
displaced by idiosyncratic noise on atoms ``-2…2`` (probabilities 0.05, 0.1, 0.7, 0.1, 0.05).
Nobody enters or crosses the bar's cell: a move (or displacement) that would is stopped on the
neighbouring cell. The bar's cell is drawn uniformly at reset from the middle half of the beach
and the initial distribution is uniform on the other cells. The bar is open (``z = 1``); with
common noise on, at ``t = horizon // 2`` it closes (``z = 0``) with probability ½. Reward

    r = -|bar - s| z - 1{|bar - s| = 1} 1{z' = 0} n_states - |a| / n_states.

The shared observation is ``(mean of mu, z, bar cell)``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.core.checks import check_bool, check_in_range
from hank_mfg.core.game import AggState, Discrete, MeanFieldGame
from hank_mfg.core.kernel import GenericKernel

Array = jax.Array

__all__ = ["BeachBar"]


class BeachBar(MeanFieldGame):
    """The seed's beach-bar game; defaults are the paper's.

    Args:
        n_states: number of cells (>= 5).
        actions: allowed moves, integers (default ``-5…5``).
        noise_atoms, noise_prob: idiosyncratic displacements and their probabilities.
        horizon: number of periods (default 30); discount in (0, 1] (default 0.99).
        common_noise: whether the bar may close at ``horizon // 2``.
        close_prob: probability that it closes then (default ½).
    """

    name = "beach_bar"

    def __init__(
        self,
        n_states: int = 101,
        actions: Any = tuple(range(-5, 6)),
        noise_atoms: Any = (-2, -1, 0, 1, 2),
        noise_prob: Any = (0.05, 0.1, 0.7, 0.1, 0.05),
        horizon: int = 30,
        discount: float = 0.99,
        common_noise: bool = False,
        close_prob: float = 0.5,
    ) -> None:
        if not isinstance(n_states, int) or n_states < 5:
            raise ValueError(f"n_states must be an integer >= 5, got {n_states!r}")
        moves = np.asarray(actions)
        if moves.ndim != 1 or moves.size < 1 or not np.issubdtype(moves.dtype, np.integer):
            raise ValueError(
                f"actions must be a non-empty 1-d sequence of integers, got {actions!r}"
            )
        atoms, prob = np.asarray(noise_atoms), np.asarray(noise_prob, dtype=float)
        if atoms.ndim != 1 or not np.issubdtype(atoms.dtype, np.integer):
            raise ValueError(f"noise_atoms must be a 1-d sequence of integers, got {noise_atoms!r}")
        if prob.shape != atoms.shape:
            raise ValueError(
                f"noise_prob must have one probability per atom ({atoms.size}), got {prob.shape}"
            )
        if not np.all(np.isfinite(prob)) or prob.min() < 0 or abs(prob.sum() - 1) > 1e-9:
            raise ValueError("noise_prob must be non-negative and sum to one")
        self.close_prob = check_in_range("close_prob", close_prob, 0.0, 1.0)
        self.n_states = n_states
        self.action_space = Discrete(int(moves.size))
        self.horizon = horizon
        self.discount = discount
        self.common_noise = check_bool("common_noise", common_noise)
        self.moves = jnp.asarray(moves, dtype=jnp.int32)
        self.noise_atoms = jnp.asarray(atoms, dtype=jnp.int32)
        self.noise_prob = jnp.asarray(prob)
        self.cells = jnp.arange(n_states, dtype=jnp.int32)
        # the middle half of the beach, [floor(n/4), ceil(3n/4))
        self.bar_low = int(np.floor(0.25 * n_states))
        self.bar_high = int(np.ceil(0.75 * n_states))
        self.validate()

    def _stop_at_bar(self, start: Array, proposed: Array, bar: Array) -> Array:
        """Stop a move from ``start`` to ``proposed`` beside the bar if it would enter or cross."""
        from_left = (start < bar) & (proposed >= bar)
        from_right = (start > bar) & (proposed <= bar)
        return jnp.where(from_left, bar - 1, jnp.where(from_right, bar + 1, proposed))

    def kernel(self, agg: AggState, z_next: Any = None) -> GenericKernel:
        bar, top = agg.z["bar"], self.n_states - 1
        s = self.cells[:, None, None]
        moved = self._stop_at_bar(s, jnp.clip(s + self.moves[None, :, None], 0, top), bar)
        displaced = jnp.clip(moved + self.noise_atoms[None, None, :], 0, top)
        next_state = self._stop_at_bar(s, displaced, bar).astype(jnp.int32)
        prob = jnp.broadcast_to(self.noise_prob, next_state.shape)
        return GenericKernel(next_state=next_state, prob=prob)

    def reset(self, key: Array) -> AggState:
        bar = jax.random.randint(key, (), self.bar_low, self.bar_high).astype(jnp.int32)
        mu0 = jnp.where(self.cells == bar, 0.0, 1.0 / (self.n_states - 1))
        z = {"open": jnp.ones((), dtype=jnp.int32), "bar": bar}
        return self.make_agg(mu0, z, 0)

    def next_noise(self, key: Array, agg: AggState) -> dict[str, Array]:
        closes = jax.random.bernoulli(key, self.close_prob)
        at_closing_date = self.common_noise & (agg.t + 1 == self.horizon // 2)
        is_open = jnp.where(at_closing_date & closes, 0, agg.z["open"]).astype(jnp.int32)
        return {"open": is_open, "bar": agg.z["bar"]}

    def aggregates(self, mu: Array, z: Any, t: Array) -> dict[str, Array]:
        return {"mean": jnp.sum(mu * self.cells)}

    def observe(self, agg: AggState) -> Array:
        dtype = agg.aux["mean"].dtype
        return jnp.stack([agg.aux["mean"], agg.z["open"].astype(dtype), agg.z["bar"].astype(dtype)])

    def reward(self, agg: AggState, next_agg: AggState) -> Array:
        dtype = agg.mu.dtype
        distance = jnp.abs(agg.z["bar"] - self.cells).astype(dtype)
        is_open = agg.z["open"].astype(dtype)
        closing = (next_agg.z["open"] == 0).astype(dtype)
        per_state = -distance * is_open - (distance == 1).astype(dtype) * closing * self.n_states
        effort = jnp.abs(self.moves).astype(dtype) / self.n_states
        return per_state[:, None] - effort[None, :]

    def uniform_policy(self) -> Array:
        """Every move with equal probability, ``[n_states, n_actions]``."""
        return jnp.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
