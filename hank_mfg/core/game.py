"""The mean-field game interface every model compiles to and every solver consumes.

A game describes one representative agent on a finite individual state space (``n_states``
states, e.g. a flattened wealth × income grid) facing the population distribution ``mu`` and a
common-noise state ``z``. Timing of one period ``t = 0, …, horizon - 1``:

1. every agent sees the shared observation ``o_t = observe(agg_t)`` and acts (policy table);
2. common noise draws ``z_{t+1}``; the distribution moves, ``mu_{t+1} = Aᵀ mu_t`` with
   ``A = kernel(agg_t, z_{t+1})`` (idiosyncratic risk may depend on the aggregate transition,
   as in Krusell–Smith); aggregates (prices, means) are recomputed from ``(mu_{t+1}, z_{t+1})``;
3. the agent earns ``reward(agg_t, agg_{t+1})[s, a]`` (a game may use a terminal form of the
   reward on the last period), and after the last period ``terminal_value(agg_T)[s]``.

Values are discounted by ``discount`` per period.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from hank_mfg.core.checks import check_discount, check_horizon
from hank_mfg.core.kernel import Kernel, check_distribution, is_concrete

Array = jax.Array

__all__ = ["AggState", "Box", "Discrete", "MeanFieldGame"]


@dataclass(frozen=True)
class Discrete:
    """A finite action set ``{0, …, n-1}``; policies give probabilities ``[n_states, n]``."""

    n: int


@dataclass(frozen=True)
class Box:
    """A continuous action in ``[low, high]``; policies give one action per state."""

    low: float
    high: float


@struct.dataclass
class AggState:
    """The aggregate state of the economy at one date.

    Attributes:
        mu: distribution over individual states, ``[n_states]``, mass 1.
        z: common-noise state (a game-specific pytree, e.g. TFP or whether the bar is open).
        t: period, int32 scalar.
        aux: aggregates computed from ``(mu, z)`` that several parts need (prices, means).
    """

    mu: Array
    z: Any
    t: Array
    aux: Any = ()


class MeanFieldGame(abc.ABC):
    """Base class of every model: the exact one-period law of motion and its payoffs.

    Subclasses set ``name``, ``n_states``, ``action_space``, ``horizon``, ``discount`` in their
    constructor (then call :meth:`validate`) and implement the abstract methods. Games are used
    as static arguments of jitted functions: they hash by identity and must not be mutated.
    """

    name: str = "game"
    n_states: int
    action_space: Discrete | Box
    horizon: int
    discount: float

    # --- to implement ------------------------------------------------------------------------
    @abc.abstractmethod
    def reset(self, key: Array) -> AggState:
        """Initial aggregate state: ``mu_0`` (one of possibly several), ``z_0``, ``t = 0``."""

    @abc.abstractmethod
    def kernel(self, agg: AggState, z_next: Any) -> Kernel:
        """The transition kernel of period ``agg.t`` given next period's common noise.

        Built once per period and used in both directions (forward and expect).
        """

    @abc.abstractmethod
    def next_noise(self, key: Array, agg: AggState) -> Any:
        """Draw ``z_{t+1}`` given the aggregate state at ``t``."""

    @abc.abstractmethod
    def aggregates(self, mu: Array, z: Any, t: Array) -> Any:
        """Aggregates derived from the distribution and common noise (stored in ``agg.aux``)."""

    @abc.abstractmethod
    def observe(self, agg: AggState) -> Array:
        """The shared observation every agent sees (1-d float array), not ``mu`` itself."""

    @abc.abstractmethod
    def reward(self, agg: AggState, next_agg: AggState) -> Array:
        """Reward of period ``agg.t`` per state and action, ``[n_states, n_actions]``."""

    # --- provided ----------------------------------------------------------------------------
    @property
    def n_actions(self) -> int:
        if not isinstance(self.action_space, Discrete):
            raise TypeError(f"{self.name} has a continuous action space")
        return self.action_space.n

    def terminal_value(self, agg: AggState) -> Array:
        """Value after the last period per state, ``[n_states]`` (zero unless a model sets it)."""
        return jnp.zeros(self.n_states, dtype=agg.mu.dtype)

    def consumption_equivalent(self, value: Array, best_response_value: Array) -> Array | None:
        """Exploitability as a consumption equivalent, per state, in percent (or ``None``).

        ``value`` and ``best_response_value`` are the policy's and the best response's values at
        date 0, ``[n_samples, n_states]``. A game whose reward is the utility of a consumption
        good returns ``λ(s)`` ``[n_samples, n_states]``: the permanent percentage of consumption
        an agent in state ``s`` would give up rather than deviate (the best response with
        consumption scaled by ``1 − λ/100`` in every period is worth ``V_π(s)``). Games without
        a consumption good return ``None`` (the default).
        """
        return None

    def exact_best_response(self, path: Any) -> Any:
        """The game's own exact best response to a mean-field path (a
        :class:`~hank_mfg.core.evaluation.BestResponse`), or ``None`` (the default): evaluation
        then uses backward induction over the discrete actions."""
        return None

    def household_grid(self) -> dict[str, Any] | None:
        """For a game of households on a wealth × income grid: ``wealth`` ``[n_wealth]`` and
        ``income`` ``[n_income]`` (the coordinate of each income state), ``income_label`` and
        ``income_units`` (what that coordinate is), ``income_transition`` (``[n_income,
        n_income]`` or ``[n_z, n_z, n_income, n_income]``); ``None`` (the default) for other
        games, whose states results files keep flat."""
        return None

    def household_policy(self, agg: AggState, actions: Array) -> dict[str, Array] | None:
        """For a game of households: the period's ``savings_share``, ``savings`` and
        ``consumption`` ``[n_states]`` under the policy table ``actions`` (units of the good);
        ``None`` (the default) for other games."""
        return None

    def check_path(self, path: Any) -> float:
        """Inspect a rolled-out path before it is evaluated (e.g. warn when mass left the
        state space); returns the largest mass concerned (default: nothing to check, 0)."""
        return 0.0

    def policy_reward(self, agg: AggState, next_agg: AggState, policy: Array) -> Array:
        """Expected reward per state under a policy table, ``[n_states]``."""
        table = self.reward(agg, next_agg)
        if policy.ndim == 1:
            return jnp.take_along_axis(table, policy[:, None].astype(jnp.int32), axis=1)[:, 0]
        return jnp.sum(table * policy, axis=1)

    def state_features(self) -> Array:
        """Normalised coordinates of each individual state, ``[n_states, d]`` in [0, 1].

        Policy networks take these as the individual state; default: ``index / (n − 1)``.
        """
        return (jnp.arange(self.n_states) / max(self.n_states - 1, 1))[:, None]

    def make_agg(self, mu: Array, z: Any, t: Any) -> AggState:
        """Assemble an aggregate state, computing the derived aggregates."""
        t = jnp.asarray(t, dtype=jnp.int32)
        return AggState(mu=mu, z=z, t=t, aux=self.aggregates(mu, z, t))

    def step(
        self, key: Array, agg: AggState, policy: Array, kernel: Kernel | None = None
    ) -> AggState:
        # ``kernel`` may be passed when already built for this period and this draw of z'.
        """One period of the mean field: ``mu' = Aᵀ mu``, ``z'`` drawn, aggregates recomputed."""
        z_next = self.next_noise(key, agg)
        kernel = self.kernel(agg, z_next) if kernel is None else kernel
        mu_next = kernel.forward(agg.mu, policy)
        return self.make_agg(mu_next, z_next, agg.t + 1)

    def validate(self) -> None:
        """Check the game's settings and its initial distribution and kernel, eagerly.

        Raises:
            ValueError: naming the offending setting and what is allowed.
        """
        self.horizon = check_horizon(self.horizon)
        self.discount = check_discount(self.discount)
        if not isinstance(self.n_states, int) or self.n_states < 1:
            raise ValueError(f"n_states must be a positive integer, got {self.n_states!r}")
        agg = self.reset(jax.random.PRNGKey(0))
        if is_concrete(agg.mu):
            check_distribution(agg.mu, self.n_states, name="initial distribution")
        kernel = self.kernel(agg, self.next_noise(jax.random.PRNGKey(1), agg))
        kernel.check()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n_states={self.n_states})"
