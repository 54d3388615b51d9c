"""What every game of households on a wealth × income grid shares.

A household in state ``(a, e)`` with cash on hand ``m`` picks a savings share ``x ∈ [0, 1]``
(continuously, or from a discrete set of shares) between the bounds of its savings,

    a' = low + x (high − low),    c = m − a',

its next wealth is placed on the grid by the lottery kernel and its income moves by this
period's ``Pi``. After the horizon it gets nothing, consumes its cash on hand in the last period,
or gets given terminal values. The subclasses say where cash on hand, the savings bounds, the
income transition and the utility come from (:class:`~hank_mfg.models.block_economy.BlockEconomy`:
a household block and aggregate blocks); the rest is written here once.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.core.game import AggState, Box, Discrete, MeanFieldGame
from hank_mfg.core.kernel import GenericKernel, LotteryKernel

Array = jax.Array

__all__ = ["HouseholdGame"]


class HouseholdGame(MeanFieldGame):
    """A mean-field game of households on a wealth × income grid.

    Subclasses set ``household`` (with ``n_wealth``, ``n_income``), ``tfp``,
    ``initial_distributions``, ``observation``, ``_wealth`` (the wealth grid as an array), the
    game's ``name``, ``horizon``, ``discount`` and ``n_states``; call :meth:`_set_choices` and
    :meth:`_set_terminal`; and define :meth:`cash_on_hand`, :meth:`income_transition`,
    :meth:`_utility` and :meth:`_crra` (and :meth:`savings_bounds` when the upper bound is not
    all cash on hand).
    """

    _warned_grid = False

    # --- settings ----------------------------------------------------------------------------
    def _set_choices(self, shares: Any, kernel: str) -> None:
        """The action space: a continuous share (``shares=None``) or discrete shares."""
        if kernel not in ("lottery", "generic"):
            raise ValueError(f"kernel must be 'lottery' or 'generic', got {kernel!r}")
        if kernel == "generic" and shares is None:
            raise ValueError("kernel='generic' needs discrete shares (a continuous share has none)")
        self.kernel_kind = kernel
        if shares is None:
            self.action_space: Discrete | Box = Box(0.0, 1.0)
            self.shares = None
            return
        sh = np.asarray(shares, dtype=float)
        if sh.ndim != 1 or sh.size < 1 or not np.all((sh >= 0) & (sh <= 1)):
            raise ValueError("shares must be a non-empty 1-d array of savings shares in [0, 1]")
        self.action_space = Discrete(int(sh.size))
        self.shares = jnp.asarray(sh)

    def _set_terminal(self, terminal: Any, terminal_marginal: Any) -> None:
        """The terminal condition: ``"none"``, ``"consume_wealth"`` or values ``[n_states]``
        (with, optionally, their derivative in wealth)."""
        self._terminal_values = self.terminal_marginal = None
        if isinstance(terminal, str):
            if terminal not in ("none", "consume_wealth"):
                raise ValueError(
                    f"terminal must be 'none', 'consume_wealth' or an array of {self.n_states} "
                    f"terminal values, got {terminal!r}"
                )
            self.terminal = terminal
        else:
            values = np.asarray(terminal, dtype=float)
            if values.shape != (self.n_states,) or not np.all(np.isfinite(values)):
                raise ValueError(
                    f"terminal values must be a finite array of shape ({self.n_states},)"
                )
            self.terminal, self._terminal_values = "values", jnp.asarray(values)
        if terminal_marginal is not None:
            marginal = np.asarray(terminal_marginal, dtype=float)
            if self.terminal != "values":
                raise ValueError("terminal_marginal needs terminal values (an array)")
            if marginal.shape != (self.n_states,) or not np.all(np.isfinite(marginal)):
                raise ValueError(
                    f"terminal_marginal must be a finite array of shape ({self.n_states},)"
                )
            self.terminal_marginal = jnp.asarray(marginal)

    # --- what the subclasses say -------------------------------------------------------------
    def cash_on_hand(self, agg: AggState) -> Array:
        """Cash on hand at this period's aggregates, ``[n_wealth, n_income]``."""
        raise NotImplementedError

    def income_transition(self, z: Any, z_next: Any) -> Array:
        """``Pi(e' | e)`` of this period, ``[n_income, n_income]``."""
        raise NotImplementedError

    def _utility(self, agg: AggState, c: Array) -> Array:
        """Flow utility of consumption ``c`` at this period's aggregates, elementwise."""
        raise NotImplementedError

    def _crra(self) -> float | None:
        """Relative risk aversion ``σ`` of CRRA preferences, ``None`` for others."""
        return None

    def savings_bounds(self, agg: AggState) -> tuple[Array, Array]:
        """Next wealth at share 0 (the borrowing limit) and share 1 (all cash on hand),
        ``[n_wealth, n_income]`` each."""
        return self.bounds_given_cash(self.cash_on_hand(agg))

    def bounds_given_cash(self, m: Array) -> tuple[Array, Array]:
        """:meth:`savings_bounds` for cash on hand ``m`` ``[n_wealth, n_income]``."""
        return jnp.full_like(m, self._wealth[0]), m

    # --- law of motion -----------------------------------------------------------------------
    def observe(self, agg: AggState) -> Array:
        return jnp.stack([agg.aux[name] for name in self.observation])

    def reset(self, key: Array) -> AggState:
        k = self.initial_distributions.shape[0]
        mu0 = self.initial_distributions[jax.random.randint(key, (), 0, k)]
        return self.make_agg(mu0, self.tfp.initial(), 0)

    def next_noise(self, key: Array, agg: AggState) -> Any:
        return self.tfp.next(key, agg.z)

    def lottery_kernel(self, agg: AggState, z_next: Any) -> LotteryKernel:
        """The period's kernel: the wealth lottery, then the income transition."""
        low, high = self.savings_bounds(agg)
        return LotteryKernel(
            wealth_grid=self._wealth.astype(low.dtype),
            low=low,
            high=high,
            Pi=self.income_transition(agg.z, z_next).astype(low.dtype),
            shares=self.shares,
        )

    def kernel(self, agg: AggState, z_next: Any) -> LotteryKernel | GenericKernel:
        lottery = self.lottery_kernel(agg, z_next)
        return lottery.to_generic() if self.kernel_kind == "generic" else lottery

    def step(self, key: Array, agg: AggState, policy: Array, kernel: Any = None) -> AggState:
        z_next = self.next_noise(key, agg)
        kernel = self.kernel(agg, z_next) if kernel is None else kernel
        nxt = self.make_agg(kernel.forward(agg.mu, policy), z_next, agg.t + 1)
        lottery = self.lottery_kernel(agg, z_next) if self.kernel_kind == "generic" else kernel
        above = lottery.mass_above_grid(agg.mu, policy)
        return nxt.replace(aux={**nxt.aux, "mass_above_grid": above})

    # --- payoffs -----------------------------------------------------------------------------
    def consumption(self, agg: AggState, policy: Array | None = None) -> Array:
        """Consumption per state and choice ``[n_states, n_choices]`` (a continuous share:
        one column, for the shares ``policy``)."""
        m = self.cash_on_hand(agg)
        low, high = self.savings_bounds(agg)
        x = self.shares[None, None, :] if policy is None else policy.reshape(m.shape + (1,))
        a_next = low[..., None] + x * (high - low)[..., None]
        return (m[..., None] - a_next).reshape(self.n_states, -1)

    def _last_period_override(self, agg: AggState, flow: Array) -> Array:
        if self.terminal != "consume_wealth":
            return flow
        all_in = self._utility(agg, self.cash_on_hand(agg)).reshape(self.n_states, 1)
        return jnp.where(agg.t == self.horizon - 1, jnp.broadcast_to(all_in, flow.shape), flow)

    def reward(self, agg: AggState, next_agg: AggState) -> Array:
        if self.shares is None:
            raise TypeError(
                f"{self.name} has a continuous savings choice: use policy_reward; its best "
                "response is solved by the endogenous-grid method"
            )
        return self._last_period_override(agg, self._utility(agg, self.consumption(agg)))

    def policy_reward(self, agg: AggState, next_agg: AggState, policy: Array) -> Array:
        if self.shares is not None:
            return super().policy_reward(agg, next_agg, policy)
        flow = self._utility(agg, self.consumption(agg, policy))
        return self._last_period_override(agg, flow)[:, 0]

    def terminal_value(self, agg: AggState) -> Array:
        if self._terminal_values is None:
            return jnp.zeros(self.n_states, dtype=agg.mu.dtype)
        return self._terminal_values.astype(agg.mu.dtype)

    def terminal_marginal_value(self, agg_T: AggState) -> Array:
        """``∂V_T/∂a`` of the terminal condition, ``[n_wealth, n_income]`` (given, or finite
        differences of the terminal values; zero without them)."""
        shape = (self.household.n_wealth, self.household.n_income)
        if self.terminal != "values":
            return jnp.zeros(shape, dtype=agg_T.mu.dtype)
        if self.terminal_marginal is not None:
            return self.terminal_marginal.reshape(shape).astype(agg_T.mu.dtype)
        v = self.terminal_value(agg_T).reshape(shape)
        return jnp.gradient(v, self._wealth.astype(v.dtype), axis=0)

    def consumption_equivalent(self, value: Array, best_response_value: Array) -> Array | None:
        """Exploitability as a permanent consumption cut, per state, in percent (CRRA
        preferences; ``None`` for others).

        ``λ(s)`` solves ``V_π(s) = V_BR,λ(s)``, the value of the best response with its
        consumption scaled by ``1 − λ`` in every period (``λ`` in percent of consumption; it is
        >= 0 where the best response gains). With CRRA utility ``u(c) = c^(1−σ)/(1−σ)`` every
        flow utility scales by ``(1 − λ)^(1−σ)``, so

            λ = 1 − (V_π / V_BR)^(1/(1−σ));

        with log utility (``σ = 1``) ``V_BR,λ = V_BR + log(1 − λ) D``, so
        ``λ = 1 − exp((V_π − V_BR) / D)`` with ``D`` the discounted number of periods the value
        counts: ``Σ_{t<T} β^t``, plus ``β^T / (1 − β)`` when the terminal value is an array.

        Assumes the terminal value is homogeneous in consumption: zero (``"none"``), all cash
        on hand consumed in the last period (``"consume_wealth"``, a period like the others),
        or an array that is an infinite-horizon value function of a consumption stream with
        this household's ``β`` and ``σ`` (e.g. a stationary value function); other terminal
        arrays make ``λ`` approximate. The floor on consumption (1e-10) is ignored.

        Args:
            value: the policy's value at date 0, ``[n_samples, n_states]`` (utility).
            best_response_value: the best response's value at date 0, same shape.

        Returns:
            ``λ`` in percent of consumption, ``[n_samples, n_states]``.
        """
        sigma = self._crra()
        if sigma is None:
            return None
        value = jnp.asarray(value)
        best = jnp.asarray(best_response_value)
        beta = self.discount
        if sigma == 1.0:
            periods = (1.0 - beta**self.horizon) / (1.0 - beta)
            if self.terminal == "values":
                periods += beta**self.horizon / (1.0 - beta)
            lam = -jnp.expm1((value - best) / periods)
        else:  # 1 − (V_π/V_BR)^(1/(1−σ)), without cancellation for small gains
            lam = -jnp.expm1(jnp.log1p((value - best) / best) / (1.0 - sigma))
        return 100.0 * lam

    # --- helpers for users, solvers and results ----------------------------------------------
    def savings_share(self, agg: AggState, savings: Array) -> Array:
        """The share ``x`` that gives ``savings`` ``[n_wealth, n_income]``, ``[n_states]``."""
        return self.share_given_cash(self.cash_on_hand(agg), savings)

    def share_given_cash(self, m: Array, savings: Array) -> Array:
        """:meth:`savings_share` for cash on hand ``m`` ``[n_wealth, n_income]``."""
        low, high = self.bounds_given_cash(m)
        span = jnp.where(high > low, high - low, 1.0)
        return jnp.clip((savings - low) / span, 0.0, 1.0).ravel()

    def household_policy(self, agg: AggState, actions: Array) -> dict[str, Array]:
        """Savings share, savings and consumption ``[n_states]`` of the policy table."""
        share = actions if self.shares is None else actions @ self.shares
        m = self.cash_on_hand(agg).ravel()
        low, high = self.savings_bounds(agg)
        savings = low.ravel() + share * (high - low).ravel()
        return {"savings_share": share, "savings": savings, "consumption": m - savings}

    def state_features(self) -> Array:
        """Normalised grid coordinates ``[n_states, 2]`` (wealth index, income index in [0, 1])."""
        n_a, n_e = self.household.n_wealth, self.household.n_income
        ia, ie = jnp.meshgrid(jnp.arange(n_a), jnp.arange(n_e), indexing="ij")
        return jnp.stack([ia.ravel() / (n_a - 1), ie.ravel() / max(n_e - 1, 1)], axis=1)

    def check_path(self, path: Any, tol: float = 1e-6) -> float:
        """Warn if a path pushed mass beyond the top of the wealth grid; return the largest mass."""
        worst = float(jnp.max(path.agg.aux["mass_above_grid"]))
        if worst > tol and not self._warned_grid:
            self._warned_grid = True  # once per economy: training evaluates many paths
            warnings.warn(
                f"{self.name}: up to {worst:.3g} of the population chose wealth above the top of "
                f"the grid ({float(self._wealth[-1]):g}) and was placed on the top point; raise "
                "the grid's maximum wealth",
                RuntimeWarning,
                stacklevel=3,
            )
        return worst

    def uniform_policy(self) -> Array:
        """Every discrete choice with equal probability, or share ½ when continuous."""
        if self.shares is None:
            return jnp.full(self.n_states, 0.5)
        return jnp.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
