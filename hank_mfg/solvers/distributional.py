"""Distributional and welfare effects along a sequence-space path.

After :func:`~hank_mfg.solvers.sequence.transition` has found the prices, :func:`household_path`
runs the household block once more along them and keeps what the aggregates summed: the
policies and the distribution ``μ_t`` at each date and the value functions ``V_t``. From these:

* :func:`group_means` — a variable's mean within wealth groups (by percentile of the wealth
  distribution at each date: bottom 10%, middle, top 10% …) or income states, at each date;
* :func:`mpc` — marginal propensities to consume out of cash on hand;
* :func:`consumption_equivalent` — the welfare effect of a reform, transition included, as the
  permanent percentage change of consumption in the old steady state that a household of each
  state would find as good (``> 0``: the reform is a gain), and its aggregates by group and
  utilitarian (mass-weighted).

Timing as in :mod:`hank_mfg.solvers.jacobian`: ``μ_t`` is the distribution at which date ``t``'s
choices are made, ``V_t`` the value at date ``t`` before them; after ``T`` the terminal steady
state's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.models.household_block import HouseholdBlock
from hank_mfg.models.model import Model
from hank_mfg.solvers.egm import finite_horizon_egm, flow_utility, policy_value_stationary
from hank_mfg.solvers.sequence import Transition
from hank_mfg.solvers.steady_state import SteadyState

__all__ = [
    "WEALTH_GROUPS",
    "HouseholdPath",
    "consumption_equivalent",
    "group_means",
    "group_responses",
    "household_path",
    "mpc",
    "steady_value",
]

#: The usual wealth groups: (lower, upper) percentiles of the wealth distribution.
WEALTH_GROUPS = {"bottom 10%": (0.0, 0.1), "middle 80%": (0.1, 0.9), "top 10%": (0.9, 1.0)}


@dataclass(frozen=True)
class HouseholdPath:
    """The household along a path: each ``[T, n_wealth, n_income]`` (``values``:
    ``[T + 1, …]``, the last the terminal steady state's), NumPy float64.

    Attributes:
        savings, consumption, hours: the policies at each date (units of the good; hours).
        mu: the distribution at which each date's choices are made (mass 1 each date).
        values: the value functions ``V_t`` (utility).
        r: the asset return at each date (per period); wealth_grid, productivity: the grid.
    """

    savings: np.ndarray
    consumption: np.ndarray
    hours: np.ndarray
    mu: np.ndarray
    values: np.ndarray
    r: np.ndarray
    wealth_grid: np.ndarray
    productivity: np.ndarray

    def aggregate(self, name: str) -> np.ndarray:
        """``Σ μ_t x_t`` of ``savings``, ``consumption`` or ``hours`` at each date ``[T]``."""
        return np.einsum("tae,tae->t", self.mu, getattr(self, name))

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` on ``(time, wealth, income)``."""
        import xarray as xr

        dims = ("time", "wealth", "income")
        good = "consumption good"
        data = {
            "savings": (dims, self.savings, {"units": good, "long_name": "next-period wealth"}),
            "consumption": (dims, self.consumption, {"units": good, "long_name": "consumption"}),
            "hours": (dims, self.hours, {"units": "1", "long_name": "hours"}),
            "mu": (dims, self.mu, {"units": "1", "long_name": "distribution (mass)"}),
            "value": (dims, self.values[:-1], {"units": "utility", "long_name": "value V_t"}),
        }
        coords = {
            "time": np.arange(self.mu.shape[0]),
            "wealth": ("wealth", self.wealth_grid, {"units": good}),
            "income": np.arange(self.productivity.size),
            "productivity": ("income", self.productivity),
        }
        return xr.Dataset(data, coords=coords)


def steady_value(block: HouseholdBlock, steady: SteadyState) -> np.ndarray:
    """The value function ``[n_wealth, n_income]`` of the steady state's policy (utility)."""
    values = {k: steady.values[k] for k in block.inputs}
    policy = jax.tree_util.tree_map(jnp.asarray, steady.household.policy)
    v = policy_value_stationary(block, values, policy)
    return np.asarray(v).reshape(block.n_wealth, block.n_income)


@partial(jax.jit, static_argnames=("block",))
def _forward(block: HouseholdBlock, mu0: jax.Array, savings: jax.Array) -> jax.Array:
    kernel = block.kernel()

    def step(mu: jax.Array, a_next: jax.Array) -> tuple[jax.Array, jax.Array]:
        return kernel.forward(mu, block.savings_share(a_next)), mu

    _, mus = jax.lax.scan(step, mu0, savings)
    return mus


def household_path(
    model: Model, path: Transition, steady: SteadyState, initial: Any = None
) -> HouseholdPath:
    """The household's policies, distribution and values along a transition.

    Args:
        model: the dynamic model the transition solved; path: the transition.
        steady: its terminal steady state (the value and marginal value after ``T``).
        initial: the steady state the transition started from (default ``steady``), or a
            distribution ``[n_wealth, n_income]``.

    Returns:
        A :class:`HouseholdPath`; its aggregates equal the transition's ``A``, ``C``.
    """
    block = model.household
    values = {k: steady.values[k] for k in block.inputs}
    paths = {k: path.paths[k] for k in block.inputs if k in path.paths}
    if not paths:
        paths = {block.asset_return: np.full(path.T, values[block.asset_return])}
    if initial is None:
        initial = steady
    mu0 = initial.household.mu if isinstance(initial, SteadyState) else np.asarray(initial)
    policies, v = finite_horizon_egm(
        block,
        values,
        paths,
        terminal_marginal=jnp.asarray(steady.household.policy.marginal_value),
        terminal_value=jnp.asarray(steady_value(block, steady)),
    )
    mus = _forward(block, jnp.asarray(mu0, dtype=jnp.float64).ravel(), policies.savings)
    shape = (path.T, block.n_wealth, block.n_income)
    r = np.asarray(path.paths.get(block.asset_return, np.full(path.T, values[block.asset_return])))
    return HouseholdPath(
        savings=np.asarray(policies.savings),
        consumption=np.asarray(policies.consumption),
        hours=np.asarray(policies.hours),
        mu=np.asarray(mus).reshape(shape),
        values=np.asarray(v).reshape((path.T + 1, block.n_wealth, block.n_income)),
        r=np.broadcast_to(r, (path.T,)).copy(),
        wealth_grid=np.asarray(block.wealth_grid),
        productivity=np.asarray(block.productivity),
    )


def _group_weights(mu: np.ndarray, low: float, high: float) -> np.ndarray:
    """``[n_wealth]`` fraction of each wealth point's mass that lies between the ``low`` and
    ``high`` percentiles of the wealth distribution (mass at one point split pro rata)."""
    mass = mu.sum(axis=-1)
    upper = np.cumsum(mass)
    lower = upper - mass
    overlap = np.clip(np.minimum(upper, high) - np.maximum(lower, low), 0.0, None)
    return np.divide(overlap, mass, out=np.zeros_like(mass), where=mass > 0)


def group_means(
    household: HouseholdPath,
    variable: str | np.ndarray,
    groups: Mapping[str, tuple[float, float]] | None = None,
    by: str = "wealth",
) -> dict[str, np.ndarray]:
    """A variable's mean within groups of households at each date, ``group -> [T]``.

    Args:
        household: the path; variable: ``"savings"``, ``"consumption"``, ``"hours"``,
            ``"wealth"`` (the grid) or an array ``[T, n_wealth, n_income]``.
        groups: by wealth, name -> (lower, upper) percentiles in [0, 1] of each date's wealth
            distribution (default :data:`WEALTH_GROUPS`); by income, ignored.
        by: ``"wealth"`` or ``"income"`` (one group per income state, ``"income 0"`` …).
    """
    mu = household.mu
    if isinstance(variable, str):
        if variable == "wealth":
            x = np.broadcast_to(household.wealth_grid[None, :, None], mu.shape)
        elif variable in ("savings", "consumption", "hours"):
            x = getattr(household, variable)
        else:
            raise ValueError(
                "variable must be savings, consumption, hours, wealth or an array, got "
                f"{variable!r}"
            )
    else:
        x = np.asarray(variable)
        if x.shape != mu.shape:
            raise ValueError(f"variable must have shape {mu.shape}, got {x.shape}")
    if by == "income":
        mass = mu.sum(axis=1)
        total = np.einsum("tae,tae->te", mu, x)
        return {
            f"income {k}": np.divide(
                total[:, k], mass[:, k], out=np.full(mu.shape[0], np.nan), where=mass[:, k] > 0
            )
            for k in range(mu.shape[-1])
        }
    if by != "wealth":
        raise ValueError(f"by must be 'wealth' or 'income', got {by!r}")
    groups = WEALTH_GROUPS if groups is None else groups
    out = {}
    for name, (low, high) in groups.items():
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"group {name!r}: percentiles must satisfy 0 <= low < high <= 1")
        weights = np.stack([_group_weights(m, low, high) for m in mu])[:, :, None] * mu
        out[name] = np.einsum("tae,tae->t", weights, x) / weights.sum(axis=(1, 2))
    return out


def group_responses(
    household: HouseholdPath,
    old: SteadyState,
    variables: tuple[str, ...] = ("consumption", "wealth"),
    groups: Mapping[str, tuple[float, float]] | None = None,
    percent: tuple[str, ...] = ("consumption",),
) -> Any:
    """Responses by wealth group: each variable's group mean at each date less the same
    group's mean in the steady state ``old``, in percent of the latter for the names in
    ``percent`` (the poorest may hold no wealth, so wealth is absolute by default), as an
    ``xarray.Dataset`` on ``(group, time)`` with ``deviation`` in each variable's attributes."""
    import xarray as xr

    shape = (1, *np.shape(old.household.mu))
    policy = old.household.policy
    before = HouseholdPath(
        savings=np.asarray(policy.savings).reshape(shape),
        consumption=np.asarray(policy.consumption).reshape(shape),
        hours=np.asarray(policy.hours).reshape(shape),
        mu=np.asarray(old.household.mu).reshape(shape),
        values=np.zeros((2, *shape[1:])),
        r=np.zeros(1),
        wealth_grid=household.wealth_grid,
        productivity=household.productivity,
    )
    data = {}
    names: list[str] = []
    for variable in variables:
        now = group_means(household, variable, groups)
        base = group_means(before, variable, groups)
        names = list(now)
        change = np.stack([now[g] - base[g][0] for g in names])
        attrs = {
            "long_name": f"mean {variable} of the wealth group, deviation from its "
            "steady-state mean"
        }
        if variable in percent:
            change = 100.0 * change / np.stack([base[g][:1] for g in names])
            attrs.update(deviation="percent", units="percent")
        else:
            attrs.update(deviation="absolute", units="consumption good")
        data[variable] = (("group", "time"), change, attrs)
    coords = {"group": names, "time": np.arange(household.mu.shape[0])}
    return xr.Dataset(data, coords=coords, attrs={"groups": "by wealth percentile at each date"})


def mpc(consumption: np.ndarray, wealth_grid: np.ndarray, r: float | np.ndarray) -> np.ndarray:
    """Marginal propensity to consume out of cash on hand, ``∂c/∂m = (∂c/∂a) / (1 + r)`` by
    finite differences in wealth, same shape as ``consumption`` (wealth on axis −2)."""
    slope = np.gradient(np.asarray(consumption), np.asarray(wealth_grid), axis=-2)
    r = np.asarray(r, dtype=np.float64)
    return slope / (1.0 + r.reshape(r.shape + (1, 1)))


@partial(jax.jit, static_argnames=("block",))
def _plan_value(
    block: HouseholdBlock, savings: jax.Array, flow: jax.Array, beta: float
) -> jax.Array:
    """``V = flow + β A V`` for the fixed savings policy (``[n_states]``, to rounding)."""
    kernel = block.kernel()
    x = block.savings_share(savings)

    def cond(state: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
        v, it, change = state
        return (change > 1e-12 * jnp.maximum(1.0, jnp.max(jnp.abs(v)))) & (it < 200_000)

    def body(state: tuple[jax.Array, jax.Array, jax.Array]) -> tuple:
        v, it, _ = state
        new = flow + beta * kernel.expect(v, x)
        return new, it + 1, jnp.max(jnp.abs(new - v))

    start = (flow / (1.0 - beta), jnp.asarray(0), jnp.asarray(jnp.inf))
    return jax.lax.while_loop(cond, body, start)[0]


def _separable_values(
    block: HouseholdBlock, steady: SteadyState
) -> tuple[np.ndarray, np.ndarray, float]:
    """For CRRA preferences with separable hours, ``u = u_c(c) − v(n)``: the values of the
    steady plan's consumption part ``V_c`` and hours part ``V_n`` (``V = V_c − V_n``,
    ``[n_wealth, n_income]``) and ``σ = 1/eis``."""
    family = block.preferences.family
    if family not in ("crra", "crra_labor"):
        raise ValueError(
            f"consumption equivalents need the crra or crra_labor preferences (utility "
            f"homogeneous in consumption); block {block.name!r} has family {family!r}"
        )
    values = {k: jnp.asarray(steady.values[k]) for k in block.inputs}
    policy = jax.tree_util.tree_map(jnp.asarray, steady.household.policy)
    c = jnp.maximum(policy.consumption, 1e-300)
    u_c = block.utility(c, jnp.zeros_like(c), values).ravel()  # v(0) = 0
    v_n = u_c - flow_utility(block, policy, values)
    beta = float(values[block.discount])
    shape = (block.n_wealth, block.n_income)
    V_c = np.asarray(_plan_value(block, policy.savings, u_c, beta)).reshape(shape)
    V_n = np.asarray(_plan_value(block, policy.savings, v_n, beta)).reshape(shape)
    return V_c, V_n, 1.0 / float(values["eis"])


def _scale(V_c: Any, target: Any, sigma: float, beta: float) -> Any:
    """``λ`` (a fraction) solving ``(1 + λ)^(1−σ) V_c = target`` (log: ``V_c + log(1 + λ)/(1 − β)
    = target``)."""
    if sigma == 1.0:
        return np.expm1((target - V_c) * (1.0 - beta))
    return np.expm1(np.log(target / V_c) / (1.0 - sigma))


def consumption_equivalent(
    model: Model,
    old: SteadyState,
    household: HouseholdPath,
    groups: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """The welfare effect of a reform, its transition included, as a consumption equivalent.

    ``λ(s)`` (percent) makes a household of state ``s`` at date 0 indifferent between staying in
    the old steady state with consumption scaled by ``1 + λ`` in every period and the reform's
    path (value ``V_0(s)`` of :func:`household_path`). With CRRA utility and separable hours
    ``V_old,λ = (1 + λ)^(1−σ) V_c − V_n`` (log: ``V_c + log(1 + λ)/(1 − β) − V_n``).

    Returns:
        ``{"by_state": [n_wealth, n_income], "by_group": {group: λ}, "mean": λ,
        "utilitarian": λ}`` in percent: by group and ``mean`` the mass-weighted means of
        ``λ(s)`` over the old steady state's distribution (wealth groups by percentile,
        :data:`WEALTH_GROUPS` by default); ``utilitarian`` the one ``λ`` for everyone that
        makes the mass-weighted sum of values equal (a utilitarian planner's).
    """
    block = model.household
    V_c, V_n, sigma = _separable_values(block, old)
    beta = float(old.values[block.discount])
    target = household.values[0] + V_n  # what the consumption part must be worth
    lam = 100.0 * _scale(V_c, target, sigma, beta)
    mu = np.asarray(old.household.mu).reshape(V_c.shape)
    groups = WEALTH_GROUPS if groups is None else groups
    by_group = {}
    for name, (low, high) in groups.items():
        weights = _group_weights(mu, low, high)[:, None] * mu
        by_group[name] = float(np.sum(weights * lam) / np.sum(weights))
    common = 100.0 * _scale(np.sum(mu * V_c), np.sum(mu * target), sigma, beta)
    return {
        "by_state": lam,
        "by_group": by_group,
        "mean": float(np.sum(mu * lam)),
        "utilitarian": float(common),
    }
