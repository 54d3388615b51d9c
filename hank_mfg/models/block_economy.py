"""A block model as a mean-field game: aggregate shocks as common noise, prices from μ and z.

Each period the aggregate blocks that do not need the household's choices are evaluated from
the distribution and the shock — wealth held at the start of the period, ``Σ μ a``, is the
aggregate named ``wealth`` (capital ``K`` by default), effective labour ``Σ μ e`` the one
named ``labour`` unless the calibration fixes it, TFP ``Z`` the shock's level — and give the
household block its prices. Households pick a savings share ``x ∈ [0, 1]``, continuously or
from a discrete set of shares:

    a' = a_min + x (m − a_min),    c = m − a',    m = (1 + r) a + income(e, …),

the distribution moves by the block's lottery kernel — income by the block's ``Pi`` or, with a
Markov shock, by ``Pi(e' | e, z, z')`` (Krusell–Smith) — and the reward is the block's
utility. After the horizon the household gets nothing, consumes its cash on hand in the last
period, or gets given terminal values (e.g. a stationary value function). The exact best
response of a continuous share is the block's own backward EGM along the path. No economics
is written here: the budget, the EGM step and the utility are the household block's.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.core.checks import check_initial_distributions
from hank_mfg.core.evaluation import BestResponse, policy_value
from hank_mfg.core.game import AggState, Box, Discrete, MeanFieldGame
from hank_mfg.core.kernel import GenericKernel, LotteryKernel, is_concrete
from hank_mfg.models.model import Model
from hank_mfg.models.production import ConstantTFP, MarkovProcess, TFPProcess

Array = jax.Array

__all__ = ["BlockEconomy"]

#: Consumption floor inside the reward (a household that saves everything has ``c = 0``).
C_FLOOR = 1e-10


class BlockEconomy(MeanFieldGame):
    """A :class:`~hank_mfg.models.model.Model` with exogenous hours as a mean-field game.

    Args:
        model: the model (household block and aggregate blocks).
        calibration: values of the model's parameters (every input not computed each period).
        tfp: the shock process (common noise; default none, ``Z = 1``), whose level is the
            aggregate named ``tfp``.
        shock: name of the shock's aggregate (default ``"Z"``).
        wealth: name of the aggregate equal to wealth at the start of the period (``"K"``).
        labour: name of effective labour ``Σ μ e`` (``"L"``), unless the calibration gives it.
        horizon: periods; initial_distributions: ``[n_states]`` or ``[k, n_states]``
            (default uniform); observation: aggregates every household sees.
        shares: ``None`` for a continuous savings share (``Box(0, 1)``), or the discrete
            savings shares ``[n_choices]`` in [0, 1].
        terminal: ``"none"`` (value 0 after the horizon), ``"consume_wealth"`` (the last
            period pays ``u(m)``: all cash on hand consumed, whatever the choice), or terminal
            values on the grid ``[n_states]``.
        terminal_marginal: with terminal values, their derivative in wealth ``[n_states]``
            (default: finite differences of the values); used by the backward EGM.
        income_transition: ``Pi(e' | e, z, z')`` ``[n_z, n_z, n_income, n_income]`` for a
            :class:`~hank_mfg.models.production.MarkovProcess` shock (default: the block's
            ``Pi`` in every period).
        kernel: ``"lottery"`` (default) or ``"generic"`` (the same transitions as a
            :class:`~hank_mfg.core.kernel.GenericKernel`; discrete shares only; for checks and
            benchmarks).
    """

    def __init__(
        self,
        model: Model,
        calibration: Mapping[str, Any],
        *,
        tfp: TFPProcess | None = None,
        shock: str = "Z",
        wealth: str = "K",
        labour: str = "L",
        horizon: int = 100,
        initial_distributions: Any = None,
        observation: tuple[str, ...] = ("r", "w"),
        name: str | None = None,
        shares: Any = None,
        terminal: Any = "none",
        terminal_marginal: Any = None,
        income_transition: Any = None,
        kernel: str = "lottery",
    ) -> None:
        block = model.household
        if block.hours:
            raise ValueError(
                f"model {model.name!r}: a household with hours is not a mean-field game here "
                "yet (its second action); solve its steady state with steady_state"
            )
        self.model, self.household = model, block
        self.calibration = {k: float(v) for k, v in calibration.items()}
        self.tfp = ConstantTFP() if tfp is None else tfp
        self.shock, self.wealth, self.labour = shock, wealth, labour
        state = [shock, wealth] + ([] if labour in self.calibration else [labour])
        given = [*self.calibration, *state]
        order = model.order(given)
        at = order.index(block)
        self._blocks = order[:at]  # what prices the household's problem
        self.name = model.name if name is None else name
        self.horizon = horizon
        self.discount = self.calibration[block.discount]
        self.n_states = block.n_wealth * block.n_income
        self._set_choices(shares, kernel)
        self._set_terminal(terminal, terminal_marginal)
        self._set_income_transition(income_transition)
        self.initial_distributions = check_initial_distributions(
            initial_distributions, self.n_states
        )
        obs = tuple(observation)
        self.observation = obs
        self._grid = jnp.asarray(block.wealth_grid)
        self._productivity = jnp.asarray(block.productivity)
        self._warned_grid = False
        agg0 = self.reset(jax.random.PRNGKey(0))
        for o in obs:
            if o not in agg0.aux:
                raise ValueError(
                    f"observation {o!r} is not an aggregate of the game "
                    f"(aggregates: {', '.join(agg0.aux)})"
                )
        if is_concrete(agg0.aux):
            self._check_initial_state(agg0)
        self.validate()

    # --- settings ----------------------------------------------------------------------------
    def _set_choices(self, shares: Any, kernel: str) -> None:
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

    def _set_income_transition(self, income_transition: Any) -> None:
        self.income_transition_by_z = None
        if income_transition is None:
            return
        n_e = self.household.n_income
        Pi = np.asarray(income_transition, dtype=float)
        if not isinstance(self.tfp, MarkovProcess):
            raise ValueError("an income transition Pi(e'|e,z,z') needs a MarkovProcess shock")
        n_z = np.shape(self.tfp.levels)[0]
        if Pi.shape != (n_z, n_z, n_e, n_e):
            raise ValueError(
                f"income_transition must have shape ({n_z}, {n_z}, {n_e}, {n_e}), got {Pi.shape}"
            )
        if np.any(Pi < 0) or not np.allclose(Pi.sum(axis=-1), 1.0, atol=1e-10):
            raise ValueError("income_transition must be non-negative with rows summing to 1")
        self.income_transition_by_z = jnp.asarray(Pi)

    def _check_initial_state(self, agg0: AggState) -> None:
        """The initial distribution holds positive wealth; every state can afford the
        borrowing limit at the initial prices."""
        wealth = float(agg0.aux[self.wealth])
        if not wealth > 0:
            raise ValueError(
                f"aggregate {self.wealth} under the initial distribution must be > 0, got "
                f"{wealth:.4g}: choose initial_distributions with positive wealth"
            )
        m = np.asarray(self.cash_on_hand(agg0))
        a_min = float(self._grid[0])
        if np.any(m <= a_min):
            raise ValueError(
                f"borrowing limit {a_min:g} is below the natural borrowing limit at the initial "
                f"prices ({_describe(agg0.aux)}): some households could not repay it; raise it"
            )

    # --- aggregates --------------------------------------------------------------------------
    def aggregates(self, mu: Array, z: Any, t: Array) -> dict[str, Array]:
        block = self.household
        d = mu.reshape(block.n_wealth, block.n_income)
        values: dict[str, Any] = dict(self.calibration)
        aux = {
            self.wealth: jnp.sum(d.sum(axis=1) * self._grid),
            self.shock: self.tfp.level(z).astype(mu.dtype),
        }
        if self.labour not in self.calibration:
            aux[self.labour] = jnp.sum(d.sum(axis=0) * self._productivity)
        values.update(aux)
        for b in self._blocks:
            out = b.steady_state(values)
            values.update(out)
            aux.update({k: jnp.asarray(v, dtype=mu.dtype) for k, v in out.items()})
        aux["mass_above_grid"] = jnp.zeros((), dtype=mu.dtype)
        return aux

    def _values(self, agg: AggState) -> dict[str, Any]:
        return {**self.calibration, **agg.aux}

    def observe(self, agg: AggState) -> Array:
        return jnp.stack([agg.aux[name] for name in self.observation])

    # --- law of motion -----------------------------------------------------------------------
    def reset(self, key: Array) -> AggState:
        k = self.initial_distributions.shape[0]
        mu0 = self.initial_distributions[jax.random.randint(key, (), 0, k)]
        return self.make_agg(mu0, self.tfp.initial(), 0)

    def next_noise(self, key: Array, agg: AggState) -> Any:
        return self.tfp.next(key, agg.z)

    def cash_on_hand(self, agg: AggState) -> Array:
        """``(1 + r) a + income(e, …)`` at this period's aggregates, ``[n_wealth, n_income]``."""
        shape = (self.household.n_wealth, self.household.n_income)
        return self.household.cash_on_hand(jnp.ones(shape, agg.mu.dtype), self._values(agg))

    def income_transition(self, z: Any, z_next: Any) -> Array:
        """``Pi(e' | e)`` of this period, ``[n_income, n_income]``."""
        if self.income_transition_by_z is None:
            return jnp.asarray(self.household.Pi)
        return self.income_transition_by_z[z, z_next]

    def lottery_kernel(self, agg: AggState, z_next: Any) -> LotteryKernel:
        """The period's kernel: the wealth lottery, then the income transition."""
        m = self.cash_on_hand(agg)
        return LotteryKernel(
            wealth_grid=self._grid.astype(m.dtype),
            low=jnp.full_like(m, self._grid[0]),
            high=m,
            Pi=self.income_transition(agg.z, z_next).astype(m.dtype),
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
        a_min = self._grid[0]
        x = self.shares[None, None, :] if policy is None else policy.reshape(m.shape + (1,))
        a_next = a_min + x * (m - a_min)[..., None]
        return (m[..., None] - a_next).reshape(self.n_states, -1)

    def _utility(self, agg: AggState, c: Array) -> Array:
        c = jnp.maximum(c, C_FLOOR)
        return self.household.utility(c, jnp.ones_like(c), self._values(agg))

    def _last_period_override(self, agg: AggState, flow: Array) -> Array:
        if self.terminal != "consume_wealth":
            return flow
        all_in = self._utility(agg, self.cash_on_hand(agg)).reshape(self.n_states, 1)
        return jnp.where(agg.t == self.horizon - 1, jnp.broadcast_to(all_in, flow.shape), flow)

    def reward(self, agg: AggState, next_agg: AggState) -> Array:
        if self.shares is None:
            raise TypeError(f"{self.name} has a continuous savings choice: use policy_reward")
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

    def consumption_equivalent(self, value: Array, best_response_value: Array) -> Array | None:
        """Exploitability as a permanent consumption cut, per state, in percent (CRRA
        preferences, see :meth:`~hank_mfg.core.game.MeanFieldGame.consumption_equivalent`);
        ``None`` for other preferences.

        With ``u(c) = c^(1−σ)/(1−σ)`` (``σ = 1/eis``) ``λ = 1 − (V_π / V_BR)^(1/(1−σ))``;
        with log utility ``λ = 1 − exp((V_π − V_BR) / D)``, ``D`` the discounted number of
        periods the value counts (``Σ_{t<T} β^t``, plus ``β^T/(1 − β)`` with terminal values).
        Assumes the terminal value is homogeneous in consumption (none, the last period's cash
        on hand, or an infinite-horizon value of this household's preferences).
        """
        if self.household.preferences.family != "crra":
            return None
        value, best = jnp.asarray(value), jnp.asarray(best_response_value)
        beta, sigma = self.discount, 1.0 / self.calibration["eis"]
        if sigma == 1.0:
            periods = (1.0 - beta**self.horizon) / (1.0 - beta)
            if self.terminal == "values":
                periods += beta**self.horizon / (1.0 - beta)
            lam = -jnp.expm1((value - best) / periods)
        else:  # 1 − (V_π/V_BR)^(1/(1−σ)), without cancellation for small gains
            lam = -jnp.expm1(jnp.log1p((value - best) / best) / (1.0 - sigma))
        return 100.0 * lam

    def household_grid(self) -> dict[str, Any]:
        """The grid for results files (see :meth:`MeanFieldGame.household_grid`)."""
        block = self.household
        Pi = block.Pi if self.income_transition_by_z is None else self.income_transition_by_z
        return {
            "wealth": block.wealth_grid,
            "income": block.productivity,
            "income_label": "productivity e",
            "income_units": "1",
            "income_transition": np.asarray(Pi),
        }

    def household_policy(self, agg: AggState, actions: Array) -> dict[str, Array]:
        """Savings share, savings and consumption ``[n_states]`` of the policy table."""
        share = actions if self.shares is None else actions @ self.shares
        m = self.cash_on_hand(agg).ravel()
        a_min = self._grid[0]
        savings = a_min + share * (m - a_min)
        return {"savings_share": share, "savings": savings, "consumption": m - savings}

    def check_path(self, path: Any, tol: float = 1e-6) -> float:
        """Warn if a path pushed mass beyond the top of the wealth grid; return the largest mass."""
        worst = float(jnp.max(path.agg.aux["mass_above_grid"]))
        if worst > tol and not self._warned_grid:
            self._warned_grid = True  # once per economy: training evaluates many paths
            warnings.warn(
                f"{self.name}: up to {worst:.3g} of the population chose wealth above the top of "
                f"the grid ({float(self._grid[-1]):g}) and was placed on the top point; raise "
                "the grid's maximum wealth",
                RuntimeWarning,
                stacklevel=3,
            )
        return worst

    def state_features(self) -> Array:
        """Normalised grid coordinates ``[n_states, 2]`` (wealth index, income index)."""
        n_a, n_e = self.household.n_wealth, self.household.n_income
        ia, ie = jnp.meshgrid(jnp.arange(n_a), jnp.arange(n_e), indexing="ij")
        return jnp.stack([ia.ravel() / (n_a - 1), ie.ravel() / max(n_e - 1, 1)], axis=1)

    def uniform_policy(self) -> Array:
        """Every discrete choice with equal probability, or share ½ when continuous."""
        if self.shares is None:
            return jnp.full(self.n_states, 0.5)
        return jnp.full((self.n_states, self.n_actions), 1.0 / self.n_actions)

    # --- the exact best response -------------------------------------------------------------
    def savings_share(self, agg: AggState, savings: Array) -> Array:
        """The share ``x`` that gives ``savings`` ``[n_wealth, n_income]``, ``[n_states]``."""
        m = self.cash_on_hand(agg)
        a_min = self._grid[0]
        span = jnp.where(m > a_min, m - a_min, 1.0)
        return jnp.clip((savings - a_min) / span, 0.0, 1.0).ravel()

    def _terminal_marginal(self, agg_T: AggState) -> Array:
        """``∂V_T/∂a`` of the terminal condition, ``[n_wealth, n_income]``."""
        shape = (self.household.n_wealth, self.household.n_income)
        if self.terminal != "values":
            return jnp.zeros(shape, dtype=agg_T.mu.dtype)
        if self.terminal_marginal is not None:
            return self.terminal_marginal.reshape(shape).astype(agg_T.mu.dtype)
        v = self.terminal_value(agg_T).reshape(shape)
        return jnp.gradient(v, self._grid.astype(v.dtype), axis=0)

    def backward_shares(self, agg: AggState) -> Array:
        """Best-response savings shares along one path (dates ``0…T``), ``[horizon, n_states]``:
        the household block's EGM step backwards from the terminal condition."""
        agg_now = jax.tree_util.tree_map(lambda x: x[:-1], agg)
        z_next = jax.tree_util.tree_map(lambda x: x[1:], agg.z)
        agg_T = jax.tree_util.tree_map(lambda x: x[-1], agg)
        is_last = jnp.arange(self.horizon) == self.horizon - 1
        block = self.household

        def period(marginal_next: Array, inputs: Any) -> tuple[Array, Array]:
            agg_t, z_n, last = inputs
            values = self._values(agg_t)
            Pi = self.income_transition(agg_t.z, z_n).astype(marginal_next.dtype)
            policy = block.egm_step(marginal_next, values, Pi=Pi)
            marginal = policy.marginal_value
            if self.terminal == "consume_wealth":  # the last period consumes all cash on hand
                m = self.cash_on_hand(agg_t)
                all_in = (1.0 + values[block.asset_return]) * block.marginal_utility(
                    m, jnp.ones_like(m), values
                )
                marginal = jnp.where(last, all_in, marginal)
            return marginal, self.savings_share(agg_t, policy.savings)

        start = self._terminal_marginal(agg_T)
        _, shares = jax.lax.scan(period, start, (agg_now, z_next, is_last), reverse=True)
        return shares

    def exact_best_response(self, path: Any) -> BestResponse | None:
        """The household block's backward EGM on each path, valued under the game's kernel
        (continuous shares; ``None`` for discrete ones: evaluation maximises over them)."""
        if self.shares is not None:
            return None
        shares = _backward(self, path.agg)
        return BestResponse(value=policy_value(self, path, shares), actions=shares)


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={float(v):.4g}" for k, v in values.items() if np.ndim(v) == 0)


@partial(jax.jit, static_argnums=0)
def _backward(game: BlockEconomy, agg: AggState) -> Array:
    """:meth:`BlockEconomy.backward_shares` on every sampled path, ``[n_samples, T, n_states]``."""
    return jax.vmap(game.backward_shares)(agg)
