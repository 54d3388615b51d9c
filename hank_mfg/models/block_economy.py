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

from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.calibration import LogAR1TFP, MarkovTFP
from hank_mfg.core.checks import check_initial_distributions
from hank_mfg.core.evaluation import BestResponse, policy_value
from hank_mfg.core.game import AggState
from hank_mfg.core.kernel import is_concrete
from hank_mfg.models.household_game import HouseholdGame
from hank_mfg.models.model import Model
from hank_mfg.models.production import MarkovProcess, TFPProcess, tfp_process

Array = jax.Array

__all__ = ["BlockEconomy"]

#: Consumption floor inside the reward (a household that saves everything has ``c = 0``).
C_FLOOR = 1e-10


class BlockEconomy(HouseholdGame):
    """A :class:`~hank_mfg.models.model.Model` with exogenous hours as a mean-field game.

    Args:
        model: the model (household block and aggregate blocks).
        parameters: values of the model's parameters (every input not computed each period).
        calibration: the :class:`~hank_mfg.calibration.Calibration` the parameters come from,
            if any (results files record it in full); built-in models set it.
        tfp: the shock process (common noise; default none, ``Z = 1``), whose level is the
            aggregate named ``shock``: a calibration's :class:`~hank_mfg.calibration.LogAR1TFP`
            or :class:`~hank_mfg.calibration.MarkovTFP`, or a process of
            :mod:`hank_mfg.models.production`.
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
        parameters: Mapping[str, Any],
        *,
        calibration: Any = None,
        tfp: LogAR1TFP | MarkovTFP | TFPProcess | None = None,
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
        self._settings = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        block = model.household
        if block.hours:
            raise ValueError(
                f"model {model.name!r}: a household with hours is not a mean-field game here "
                "yet (its second action); solve its steady state with steady_state"
            )
        self.model, self.household = model, block
        self.parameters = {k: float(v) for k, v in parameters.items()}
        self.calibration = calibration
        self.tfp = tfp_process(tfp)
        self.shock, self.wealth, self.labour = shock, wealth, labour
        state = [shock, wealth] + ([] if labour in self.parameters else [labour])
        given = [*self.parameters, *state]
        order = model.order(given)
        at = order.index(block)
        self._blocks = order[:at]  # what prices the household's problem
        self.name = model.name if name is None else name
        self.horizon = horizon
        self.discount = self.parameters[block.discount]
        self.n_states = block.n_wealth * block.n_income
        self._set_choices(shares, kernel)
        self._set_terminal(terminal, terminal_marginal)
        self._set_income_transition(income_transition)
        self.initial_distributions = check_initial_distributions(
            initial_distributions, self.n_states
        )
        obs = tuple(observation)
        self.observation = obs
        self._wealth = jnp.asarray(block.wealth_grid)
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
    def with_settings(self, **changes: Any) -> BlockEconomy:
        """The same model with some constructor arguments changed (``horizon``, ``terminal``,
        ``initial_distributions`` …), e.g. a game starting from a stationary state."""
        unknown = set(changes) - set(self._settings)
        if unknown:
            raise ValueError(f"with_settings: unknown settings {sorted(unknown)}")
        return BlockEconomy(**{**self._settings, **changes})

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
        self.household.check_preferences(self._values(agg0))
        m = np.asarray(self.cash_on_hand(agg0))
        a_min = float(self._wealth[0])
        if np.any(m <= a_min):
            raise ValueError(
                f"borrowing limit {a_min:g} is below the natural borrowing limit at the initial "
                f"prices ({_describe(agg0.aux)}): some households could not repay it; raise it"
            )

    # --- aggregates --------------------------------------------------------------------------
    def evaluate_prices(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters, the period's ``state`` (wealth, labour unless fixed, the shock's
        level) and what the aggregate blocks pricing the household make of them (``r``,
        ``w``, ``Y`` …), as one mapping: the household's inputs."""
        values: dict[str, Any] = {**self.parameters, **state}
        for b in self._blocks:
            values.update(b.steady_state(values))
        return values

    def aggregates(self, mu: Array, z: Any, t: Array) -> dict[str, Array]:
        block = self.household
        d = mu.reshape(block.n_wealth, block.n_income)
        state = {
            self.wealth: jnp.sum(d.sum(axis=1) * self._wealth),
            self.shock: self.tfp.level(z).astype(mu.dtype),
        }
        if self.labour not in self.parameters:
            state[self.labour] = jnp.sum(d.sum(axis=0) * self._productivity)
        values = self.evaluate_prices(state)
        names = [*state, *(k for b in self._blocks for k in b.outputs)]
        aux = {k: jnp.asarray(values[k], dtype=mu.dtype) for k in dict.fromkeys(names)}
        aux["mass_above_grid"] = jnp.zeros((), dtype=mu.dtype)
        return aux

    def _values(self, agg: AggState) -> dict[str, Any]:
        return {**self.parameters, **agg.aux}

    # --- law of motion -----------------------------------------------------------------------
    def cash_on_hand(self, agg: AggState) -> Array:
        """``(1 + r) a + income(e, …)`` at this period's aggregates, ``[n_wealth, n_income]``."""
        shape = (self.household.n_wealth, self.household.n_income)
        return self.household.cash_on_hand(jnp.ones(shape, agg.mu.dtype), self._values(agg))

    def income_transition(self, z: Any, z_next: Any) -> Array:
        """``Pi(e' | e)`` of this period, ``[n_income, n_income]``."""
        if self.income_transition_by_z is None:
            return jnp.asarray(self.household.Pi)
        return self.income_transition_by_z[z, z_next]

    # --- payoffs -----------------------------------------------------------------------------
    def _utility(self, agg: AggState, c: Array) -> Array:
        c = jnp.maximum(c, C_FLOOR)
        return self.household.utility(c, jnp.ones_like(c), self._values(agg))

    def _crra(self) -> float | None:
        crra = self.household.preferences.family == "crra"
        return 1.0 / self.parameters["eis"] if crra else None

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

    # --- the exact best response -------------------------------------------------------------
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

        start = self.terminal_marginal_value(agg_T)
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
