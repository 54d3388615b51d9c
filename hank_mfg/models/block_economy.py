"""A block model as a mean-field game: aggregate shocks as common noise, prices from μ and z.

Each period the aggregate blocks that do not need the household's choices are evaluated from
the distribution and the shock — wealth held at the start of the period, ``Σ μ a``, is the
aggregate named ``wealth`` (capital ``K`` by default), effective labour ``Σ μ e`` the one
named ``labour`` unless the calibration fixes it, TFP ``Z`` the shock's level — and give the
household block its prices. Households pick a savings share ``x ∈ [0, 1]``:

    a' = a_min + x (m − a_min),    c = m − a',    m = (1 + r) a + income(e, …),

the distribution moves by the block's lottery kernel, and the reward is the block's utility.
The exact best response is the block's own backward EGM along the path. No economics is
written here: the budget, the EGM step and the utility are the household block's.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from hank_mfg.core.checks import check_initial_distributions
from hank_mfg.core.evaluation import BestResponse, policy_value
from hank_mfg.core.game import AggState, Box, MeanFieldGame
from hank_mfg.core.kernel import LotteryKernel
from hank_mfg.models.model import Model
from hank_mfg.models.production import ConstantTFP, TFPProcess

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
        self.action_space = Box(0.0, 1.0)
        self.initial_distributions = check_initial_distributions(
            initial_distributions, self.n_states
        )
        obs = tuple(observation)
        self.observation = obs
        self._grid = jnp.asarray(block.wealth_grid)
        self._productivity = jnp.asarray(block.productivity)
        agg0 = self.reset(jax.random.PRNGKey(0))
        for o in obs:
            if o not in agg0.aux:
                raise ValueError(
                    f"observation {o!r} is not an aggregate of the game "
                    f"(aggregates: {', '.join(agg0.aux)})"
                )
        self.validate()

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

    def kernel(self, agg: AggState, z_next: Any) -> LotteryKernel:
        m = self.cash_on_hand(agg)
        return LotteryKernel(
            wealth_grid=self._grid.astype(m.dtype),
            low=jnp.full_like(m, self._grid[0]),
            high=m,
            Pi=jnp.asarray(self.household.Pi, dtype=m.dtype),
        )

    def step(self, key: Array, agg: AggState, policy: Array, kernel: Any = None) -> AggState:
        z_next = self.next_noise(key, agg)
        kernel = self.kernel(agg, z_next) if kernel is None else kernel
        nxt = self.make_agg(kernel.forward(agg.mu, policy), z_next, agg.t + 1)
        above = kernel.mass_above_grid(agg.mu, policy)
        return nxt.replace(aux={**nxt.aux, "mass_above_grid": above})

    # --- payoffs -----------------------------------------------------------------------------
    def consumption(self, agg: AggState, policy: Array) -> Array:
        """Consumption ``[n_states]`` of savings shares ``policy``."""
        m = self.cash_on_hand(agg)
        a_min = self._grid[0]
        a_next = a_min + policy.reshape(m.shape) * (m - a_min)
        return (m - a_next).ravel()

    def reward(self, agg: AggState, next_agg: AggState) -> Array:
        raise TypeError(f"{self.name} has a continuous savings choice: use policy_reward")

    def policy_reward(self, agg: AggState, next_agg: AggState, policy: Array) -> Array:
        c = jnp.maximum(self.consumption(agg, policy), C_FLOOR)
        return self.household.utility(c, jnp.ones_like(c), self._values(agg))

    def terminal_value(self, agg: AggState) -> Array:
        return jnp.zeros(self.n_states, dtype=agg.mu.dtype)

    def state_features(self) -> Array:
        """Normalised grid coordinates ``[n_states, 2]`` (wealth index, income index)."""
        n_a, n_e = self.household.n_wealth, self.household.n_income
        ia, ie = jnp.meshgrid(jnp.arange(n_a), jnp.arange(n_e), indexing="ij")
        return jnp.stack([ia.ravel() / (n_a - 1), ie.ravel() / max(n_e - 1, 1)], axis=1)

    def uniform_policy(self) -> Array:
        """Savings share ½ everywhere."""
        return jnp.full(self.n_states, 0.5)

    # --- the exact best response -------------------------------------------------------------
    def savings_share(self, agg: AggState, savings: Array) -> Array:
        """The share ``x`` that gives ``savings`` ``[n_wealth, n_income]``, ``[n_states]``."""
        m = self.cash_on_hand(agg)
        a_min = self._grid[0]
        span = jnp.where(m > a_min, m - a_min, 1.0)
        return jnp.clip((savings - a_min) / span, 0.0, 1.0).ravel()

    def backward_shares(self, agg: AggState) -> Array:
        """Best-response savings shares along one path (dates ``0…T``), ``[horizon, n_states]``:
        the household block's EGM step backwards from ``V'_T = 0``."""
        agg_now = jax.tree_util.tree_map(lambda x: x[:-1], agg)
        shape = (self.household.n_wealth, self.household.n_income)

        def period(marginal_next: Array, agg_t: AggState) -> tuple[Array, Array]:
            policy = self.household.egm_step(marginal_next, self._values(agg_t))
            return policy.marginal_value, self.savings_share(agg_t, policy.savings)

        zeros = jnp.zeros(shape, dtype=agg.mu.dtype)
        _, shares = jax.lax.scan(period, zeros, agg_now, reverse=True)
        return shares

    def exact_best_response(self, path: Any) -> BestResponse:
        """The household block's backward EGM on each path, valued under the game's kernel."""
        shares = _backward(self, path.agg)
        return BestResponse(value=policy_value(self, path, shares), actions=shares)


@partial(jax.jit, static_argnums=0)
def _backward(game: BlockEconomy, agg: AggState) -> Array:
    """:meth:`BlockEconomy.backward_shares` on every sampled path, ``[n_samples, T, n_states]``."""
    return jax.vmap(game.backward_shares)(agg)
