"""The linear-quadratic crowd game of the RSPG paper (after Perrin et al. 2020).

Agents on positions ``s ∈ {0, …, n_states - 1}`` choose a move ``a`` and are pulled towards
the population mean ``m̄``. One period:

    s' = clip(round(s + a + σρ ε_t + σ√(1-ρ²) ξ), 0, n_states - 1),

with ``ξ`` on 7 atoms ``-3…3`` weighted by the normalised standard-normal density and the
common shock ``ε_t = -10 z`` for ``t < 8``, ``+10 z`` for ``t > 20`` and ``0`` otherwise, where
``z ∈ {-1, +1}`` is drawn once at reset (``z = 0`` without common noise). Reward

    r = -c_a a² + q a (m̄' - s) - (κ/2)(m̄' - s)²,     last period: -(c_T/2)(m̄' - s)²,

with ``m̄'`` the mean of next period's distribution. The shared observation is ``m̄``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.core.checks import (
    check_bool,
    check_finite,
    check_in_range,
    check_initial_distributions,
)
from hank_mfg.core.game import AggState, Discrete, MeanFieldGame
from hank_mfg.core.kernel import GenericKernel

Array = jax.Array

__all__ = ["LinearQuadratic"]


class LinearQuadratic(MeanFieldGame):
    """The seed's linear-quadratic game; defaults are the paper's.

    Args:
        n_states: number of positions (>= 2).
        actions: the allowed moves, integers (default ``-3…3``).
        horizon: number of periods (default 30).
        discount: discount factor in (0, 1] (default 0.99).
        kappa, c_action, q, c_terminal: reward weights (finite).
        sigma: noise scale (>= 0); rho: share of it that is common, in [0, 1].
        noise_atoms_per_side: idiosyncratic atoms ``-m…m`` (default 3, i.e. 7 atoms).
        common_noise: draw ``z = ±1`` at reset (otherwise ``z = 0``).
        initial_distributions: one ``[n_states]`` or several ``[k, n_states]`` initial
            distributions; reset draws one uniformly. Default: uniform.
    """

    name = "linear_quadratic"

    def __init__(
        self,
        n_states: int = 99,
        actions: Any = tuple(range(-3, 4)),
        horizon: int = 30,
        discount: float = 0.99,
        kappa: float = 0.5,
        c_action: float = 0.5,
        q: float = 0.1,
        c_terminal: float = 1.0,
        sigma: float = 1.0,
        rho: float = 0.5,
        noise_atoms_per_side: int = 3,
        common_noise: bool = False,
        initial_distributions: Any = None,
    ) -> None:
        if not isinstance(n_states, int) or n_states < 2:
            raise ValueError(f"n_states must be an integer >= 2, got {n_states!r}")
        moves = np.asarray(actions)
        if moves.ndim != 1 or moves.size < 1 or not np.issubdtype(moves.dtype, np.integer):
            raise ValueError(
                f"actions must be a non-empty 1-d sequence of integers, got {actions!r}"
            )
        for name, value in dict(kappa=kappa, c_action=c_action, q=q, c_terminal=c_terminal).items():
            check_finite(name, value)
        if check_finite("sigma", sigma) < 0:
            raise ValueError(f"sigma must be finite and >= 0, got {sigma!r}")
        check_in_range("rho", rho, 0.0, 1.0)
        check_bool("common_noise", common_noise)
        if not isinstance(noise_atoms_per_side, int) or noise_atoms_per_side < 0:
            raise ValueError(
                f"noise_atoms_per_side must be an integer >= 0, got {noise_atoms_per_side!r}"
            )
        self.n_states = n_states
        self.action_space = Discrete(int(moves.size))
        self.horizon = horizon
        self.discount = discount
        self.kappa, self.c_action, self.q, self.c_terminal = kappa, c_action, q, c_terminal
        self.sigma, self.rho = float(sigma), float(rho)
        self.common_noise = check_bool("common_noise", common_noise)
        self.moves = jnp.asarray(moves, dtype=jnp.int32)
        self.positions = jnp.arange(n_states, dtype=jnp.int32)
        atoms = np.arange(-noise_atoms_per_side, noise_atoms_per_side + 1, dtype=np.float64)
        pdf = np.exp(-0.5 * atoms**2)
        self.noise_atoms = jnp.asarray(atoms)
        self.noise_prob = jnp.asarray(pdf / pdf.sum())
        self.initial_distributions = check_initial_distributions(initial_distributions, n_states)
        # without common noise the kernel is the same every period: build it once
        self._fixed_kernel = None if self.common_noise else self._kernel_with_drift(0.0)
        self.validate()

    # --- law of motion -----------------------------------------------------------------------
    def common_shock(self, z: Array, t: Array) -> Array:
        """ε_t: -10 z before period 8, +10 z after period 20, else 0."""
        zf = jnp.asarray(z).astype(self.noise_prob.dtype)
        return jnp.where(t < 8, -10.0 * zf, jnp.where(t > 20, 10.0 * zf, 0.0))

    def kernel(self, agg: AggState, z_next: Any = None) -> GenericKernel:
        if self._fixed_kernel is not None:
            return self._fixed_kernel
        return self._kernel_with_drift(self.sigma * self.rho * self.common_shock(agg.z, agg.t))

    def _kernel_with_drift(self, drift: Any) -> GenericKernel:
        idio = self.sigma * math.sqrt(1.0 - self.rho**2) * self.noise_atoms
        target = (
            self.positions[:, None, None] + self.moves[None, :, None] + drift + idio[None, None, :]
        )
        next_state = jnp.clip(jnp.round(target), 0, self.n_states - 1).astype(jnp.int32)
        prob = jnp.broadcast_to(self.noise_prob, next_state.shape)
        return GenericKernel(next_state=next_state, prob=prob)

    def reset(self, key: Array) -> AggState:
        key_mu, key_z = jax.random.split(key)
        k = self.initial_distributions.shape[0]
        mu0 = self.initial_distributions[jax.random.randint(key_mu, (), 0, k)]
        if self.common_noise:
            z = jnp.where(jax.random.bernoulli(key_z), 1, -1).astype(jnp.int32)
        else:
            z = jnp.zeros((), dtype=jnp.int32)
        return self.make_agg(mu0, z, 0)

    def next_noise(self, key: Array, agg: AggState) -> Array:
        return agg.z

    def aggregates(self, mu: Array, z: Any, t: Array) -> dict[str, Array]:
        return {"mean": jnp.sum(mu * self.positions)}

    def observe(self, agg: AggState) -> Array:
        return agg.aux["mean"][None]

    # --- payoffs ---------------------------------------------------------------------------------
    def reward(self, agg: AggState, next_agg: AggState) -> Array:
        gap = next_agg.aux["mean"] - self.positions.astype(agg.mu.dtype)  # m̄' - s
        a = self.moves.astype(agg.mu.dtype)[None, :]
        running = (
            -self.c_action * a**2 + self.q * a * gap[:, None] - 0.5 * self.kappa * gap[:, None] ** 2
        )
        terminal = jnp.broadcast_to(-0.5 * self.c_terminal * gap[:, None] ** 2, running.shape)
        return jnp.where(agg.t == self.horizon - 1, terminal, running)

    def uniform_policy(self) -> Array:
        """Every move with equal probability, ``[n_states, n_actions]``."""
        return jnp.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
