"""Simulated household panels: ``N`` households × ``T`` periods drawn from a solved model.

A panel is drawn from the model's own kernel, the one its exact solvers push the distribution
with (:class:`~hank_mfg.core.kernel.LotteryKernel`): each period a household in state
``(a, e)`` follows the period's policy, its chosen next wealth ``a'`` is placed on one of the
two neighbouring grid points by the wealth lottery (the upper one with the lottery's weight),
then its income state moves by the chain ``Pi``. Each draw is
:meth:`LotteryKernel.sample <hank_mfg.core.kernel.LotteryKernel.sample>`, the draw of the
sample-based simulator (:mod:`hank_mfg.core.sample`), so households' wealth is always a grid
point and the panel's cross-section has exactly the distribution the exact pushforward gives,
up to sampling error.

Sources of policies (each becomes a :class:`PanelPolicy`):

* a steady state (:func:`steady_state_policy`, or the
  :class:`~hank_mfg.solvers.steady_state.SteadyState` itself): the stationary policy in every
  period, initial states from the stationary distribution ``mu``;
* a transition (:func:`transition_policy`): the policies of
  :func:`~hank_mfg.solvers.distributional.household_path` date by date, initial states from the
  distribution the transition starts from;
* a global solution (:func:`solution_policy`): a trained or solved policy of a household game
  (SPG, RSPG, the Krusell–Smith algorithm) along one mean-field path under sampled aggregate
  shocks (:func:`~hank_mfg.core.rollout.rollout`); the period's kernel is the game's.

Reproducibility: household ``i`` draws its initial state from ``fold_in(fold_in(key, 0), i)``
and its date-``t`` transition from ``fold_in(fold_in(fold_in(key, 1), i), t)``, so its path
depends on the key and on ``i`` only: a panel written in household chunks of any size equals
the panel simulated in one piece, number for number.

Variables per household and period (dims ``household``, ``time``): wealth at the start of the
period (a grid point) and its grid index, the income state and its productivity, consumption,
hours, savings (the chosen next wealth, before the lottery), the budget's non-asset income and,
where the budget has a wage, its labour part and the rest (transfers, dividends less taxes).
Units are the model's: the consumption good per period.

Output: :func:`simulate_panel` returns an ``xarray.Dataset`` (checked first against the memory
it would need); :func:`write_panel` writes NetCDF (atomically, household chunks at a time, so a
panel larger than memory can be written) or zarr; :func:`open_panel` opens either lazily.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import importlib
import importlib.metadata
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from hank_mfg.core.files import atomic_write, partial_prefix, remove_stale_partials
from hank_mfg.core.kernel import LotteryKernel
from hank_mfg.models.household_block import HouseholdBlock
from hank_mfg.models.model import Model
from hank_mfg.solvers.steady_state import SteadyState

Array = jax.Array

__all__ = [
    "PANEL_VARIABLES",
    "PanelPolicy",
    "available_memory_bytes",
    "default_chunk_households",
    "open_panel",
    "panel_memory_bytes",
    "simulate_panel",
    "solution_policy",
    "steady_state_policy",
    "to_netcdf",
    "transition_policy",
    "write_panel",
]

GOOD = "consumption good"

#: The panel's household-period variables: name -> (units, long_name). Those a source cannot
#: give (hours of a game, labour income of a budget without a wage) are left out.
PANEL_VARIABLES: dict[str, tuple[str, str]] = {
    "wealth": (GOOD, "wealth a at the start of the period (a grid point)"),
    "wealth_index": ("1", "index of the wealth grid point"),
    "income_index": ("1", "income state (index of the income chain)"),
    "productivity": ("1", "productivity e of the income state"),
    "consumption": (GOOD, "consumption c"),
    "hours": ("1", "hours n (the preferences' units)"),
    "savings": (GOOD, "next-period wealth chosen a' (before the wealth lottery)"),
    "income": (GOOD, "non-asset income of the budget: income(e, n, ...)"),
    "labour_income": (GOOD, "labour income: the budget's income less its value at a zero wage"),
    "transfers": (
        GOOD,
        "non-labour, non-asset income: the budget's income at a zero wage (transfers, "
        "dividends less taxes)",
    ),
}

#: Units and long names of the aggregates recorded per period (others: "model units").
_AGGREGATES: dict[str, tuple[str, str]] = {
    "r": ("1 per period", "return on wealth r"),
    "w": (f"{GOOD} per unit of effective labour", "wage w"),
    "K": (GOOD, "aggregate capital K"),
    "Y": (GOOD, "output Y"),
    "C": (GOOD, "aggregate consumption C"),
    "A": (GOOD, "aggregate assets A"),
    "L": ("1", "aggregate effective labour L"),
    "Z": ("1", "total factor productivity Z"),
    "mass_above_grid": ("1", "mass choosing wealth above the grid's top (placed on it)"),
}

#: Per-state variables a policy carries (the rest are the state's own coordinates).
_STATE_VARIABLES = ("consumption", "hours", "savings", "income", "labour_income", "transfers")

#: Bytes of household-period work memory beyond the variables kept: the drawn states (int32)
#: and one gathered float64 array at a time.
_WORK_BYTES = 12

#: Target size of one chunk's arrays when none is given (bytes).
_CHUNK_BYTES = 1 << 28

#: Households simulated per compiled call when none is given (bounds JAX's temporaries).
_SIM_CHUNK = 1 << 17

#: Share of the available memory an in-memory panel may take.
_MEMORY_SHARE = 0.8


# --- what a panel is drawn from ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PanelPolicy:
    """A household policy on a wealth × income grid at each date, with the period's kernel.

    Arrays are NumPy. ``D`` is the number of dates the source covers: 1 for a stationary
    policy (used in every period), else the horizon (a panel may not run past it).

    Attributes:
        wealth_grid: ``[n_wealth]`` (units of the good); productivity: ``[n_income]``.
        share: ``[D, n_wealth · n_income]`` the kernel's action (savings share in ``[0, 1]``
            between ``low`` and ``high``, states wealth-major).
        low, high: ``[D, n_wealth, n_income]`` next wealth at share 0 and 1.
        Pi: ``[D, n_income, n_income]`` the income chain of each period.
        variables: name -> ``[D, n_wealth, n_income]`` (``savings`` and ``consumption`` at
            least; see :data:`PANEL_VARIABLES`).
        initial: ``[n_wealth, n_income]`` the distribution initial states are drawn from.
        aggregates: name -> ``[D]`` aggregates of each date (``r``, ``w`` …), kept per time.
        stationary: the single date applies to every period.
        attrs: what the Dataset's attributes record (model, source, parameters ``value_*``).
    """

    wealth_grid: np.ndarray
    productivity: np.ndarray
    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    Pi: np.ndarray
    variables: dict[str, np.ndarray]
    initial: np.ndarray
    aggregates: dict[str, np.ndarray] = field(default_factory=dict)
    stationary: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grid = np.asarray(self.wealth_grid, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 2 or not np.all(np.diff(grid) > 0):
            raise ValueError(
                f"wealth_grid must be 1-d, strictly increasing, >= 2 points; got shape {grid.shape}"
            )
        e = np.asarray(self.productivity, dtype=np.float64)
        if e.ndim != 1 or e.size < 1:
            raise ValueError(f"productivity must be 1-d [n_income], got shape {e.shape}")
        n_a, n_e = grid.size, e.size
        share = np.asarray(self.share, dtype=np.float64)
        if share.ndim != 2 or share.shape[1] != n_a * n_e:
            raise ValueError(
                f"share must have shape [D, {n_a * n_e}] (dates, wealth x income states), got "
                f"{share.shape}"
            )
        n_d = share.shape[0]
        if self.stationary and n_d != 1:
            raise ValueError(f"a stationary policy has one date; share has {n_d}")
        object.__setattr__(self, "wealth_grid", grid)
        object.__setattr__(self, "productivity", e)
        object.__setattr__(self, "share", share)
        for name, shape in (("low", (n_d, n_a, n_e)), ("high", (n_d, n_a, n_e))):
            object.__setattr__(self, name, _array(name, getattr(self, name), shape))
        object.__setattr__(self, "Pi", _array("Pi", self.Pi, (n_d, n_e, n_e)))
        if np.any(self.Pi < 0) or not np.allclose(self.Pi.sum(axis=-1), 1.0, atol=1e-10):
            raise ValueError("Pi must be non-negative with rows summing to one at each date")
        variables = {}
        for name in ("savings", "consumption"):
            if name not in self.variables:
                raise ValueError(f"variables must include {name!r}")
        for name, value in self.variables.items():
            if name not in _STATE_VARIABLES:
                raise ValueError(
                    f"variables: unknown name {name!r}; allowed: {', '.join(_STATE_VARIABLES)}"
                )
            variables[name] = _array(name, value, (n_d, n_a, n_e))
        object.__setattr__(self, "variables", variables)
        object.__setattr__(
            self,
            "aggregates",
            {name: _array(name, value, (n_d,)) for name, value in self.aggregates.items()},
        )
        initial = _array("initial", self.initial, (n_a, n_e))
        if np.any(initial < 0) or abs(initial.sum() - 1.0) > 1e-9:
            raise ValueError("initial must be a distribution (non-negative, mass one)")
        object.__setattr__(self, "initial", initial)
        object.__setattr__(self, "attrs", dict(self.attrs))

    @property
    def n_wealth(self) -> int:
        return self.wealth_grid.size

    @property
    def n_income(self) -> int:
        return self.productivity.size

    @property
    def n_dates(self) -> int:
        return self.share.shape[0]

    def dates(self, n_periods: int) -> np.ndarray:
        """The policy's date used in each of ``n_periods`` periods ``[T]``.

        Raises:
            ValueError: a non-stationary policy shorter than ``n_periods``.
        """
        if self.stationary:
            return np.zeros(n_periods, dtype=np.int32)
        if n_periods > self.n_dates:
            raise ValueError(
                f"n_periods (T) = {n_periods} exceeds the source's horizon of {self.n_dates} "
                "dates; simulate at most that many periods"
            )
        return np.arange(n_periods, dtype=np.int32)


def _array(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape``, else ``ValueError`` naming ``name``."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {list(shape)}, got {list(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _income_parts(
    block: HouseholdBlock, hours: np.ndarray, values: Mapping[str, Any], wage: str | None
) -> dict[str, np.ndarray]:
    """The budget's non-asset income at ``hours`` ``[..., n_wealth, n_income]`` and, when it
    reads the wage ``wage``, its labour part (income less its value at a zero wage) and the
    rest. ``values``: the income's inputs, scalars or arrays broadcasting against ``hours``."""
    n = jnp.asarray(hours)
    income = np.asarray(block.income_at(n, values), dtype=np.float64)
    out = {"income": np.broadcast_to(income, hours.shape).copy()}
    if wage is not None and wage in block.income_inputs:
        no_wage = {**values, wage: 0.0 * np.asarray(values[wage])}
        rest = np.asarray(block.income_at(n, no_wage), dtype=np.float64)
        rest = np.broadcast_to(rest, hours.shape)
        out["labour_income"] = out["income"] - rest
        if len(block.income_inputs) > 1:  # income other than the wage's: transfers etc.
            out["transfers"] = rest.copy()
    return out


def _value_attrs(values: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in values.items():
        with contextlib.suppress(TypeError, ValueError):
            out[f"value_{k}"] = float(v)
    return out


def _household_kernel_bounds(block: HouseholdBlock, n_dates: int) -> tuple[np.ndarray, ...]:
    kernel = block.kernel()
    shape = (n_dates, block.n_wealth, block.n_income)
    low = np.broadcast_to(np.asarray(kernel.low), shape)
    high = np.broadcast_to(np.asarray(kernel.high), shape)
    Pi = np.broadcast_to(np.asarray(kernel.Pi), (n_dates, block.n_income, block.n_income))
    return low, high, Pi


def steady_state_policy(steady: SteadyState, *, wage: str | None = "w") -> PanelPolicy:
    """The steady state's policy in every period; initial states from its ``mu``.

    ``wage``: the name of the wage among the budget's inputs (labour income is the income it
    pays; ``None``: report total income only).
    """
    if not isinstance(steady, SteadyState):
        raise ValueError(f"steady must be a SteadyState, got {type(steady).__name__}")
    block = steady.model.household
    shape = (block.n_wealth, block.n_income)
    p = steady.household.policy
    savings = _array("savings", p.savings, shape)
    consumption = _array("consumption", p.consumption, shape)
    hours = _array("hours", p.hours, shape)
    values = {k: steady.values[k] for k in block.inputs}
    variables = {"savings": savings, "consumption": consumption, "hours": hours}
    variables.update(_income_parts(block, hours, values, wage))
    low, high, Pi = _household_kernel_bounds(block, 1)
    share = np.asarray(block.savings_share(jnp.asarray(savings)))[None]
    aggregates = {block.asset_return: np.array([steady.values[block.asset_return]])}
    if wage is not None and wage in steady.values:
        aggregates[wage] = np.array([steady.values[wage]])
    return PanelPolicy(
        wealth_grid=block.wealth_grid,
        productivity=block.productivity,
        share=share,
        low=low,
        high=high,
        Pi=Pi,
        variables={k: v[None] for k, v in variables.items()},
        initial=_array("mu", steady.household.mu, shape),
        aggregates=aggregates,
        stationary=True,
        attrs={"model": steady.model.name, "source": "steady_state", **_value_attrs(steady.values)},
    )


def transition_policy(
    model: Model,
    transition: Any,
    steady: SteadyState,
    initial: Any = None,
    *,
    household: Any = None,
    wage: str | None = "w",
) -> PanelPolicy:
    """The policies along a transition, date by date (:func:`~hank_mfg.solvers.distributional.
    household_path`); initial states from the distribution it starts from.

    Args:
        model, transition, steady, initial: as for ``household_path`` (``initial``: the steady
            state the transition starts from, default ``steady``, or a distribution).
        household: the :class:`~hank_mfg.solvers.distributional.HouseholdPath` when already
            computed (else it is computed here).
        wage: as in :func:`steady_state_policy`.
    """
    from hank_mfg.solvers.distributional import household_path

    block = model.household
    hh = household_path(model, transition, steady, initial) if household is None else household
    n_t = hh.savings.shape[0]
    shape = (n_t, block.n_wealth, block.n_income)
    savings = _array("savings", hh.savings, shape)
    hours = _array("hours", hh.hours, shape)
    values: dict[str, Any] = {}
    for k in block.inputs:
        if k in transition.paths:
            values[k] = np.asarray(transition.paths[k], dtype=np.float64)[:, None, None]
        else:
            values[k] = steady.values[k]
    variables = {"savings": savings, "consumption": hh.consumption, "hours": hours}
    variables.update(_income_parts(block, hours, values, wage))
    low, high, Pi = _household_kernel_bounds(block, n_t)
    share = np.asarray(jax.vmap(block.savings_share)(jnp.asarray(savings)))
    aggregates = {}
    for name in (block.asset_return, wage):
        if name is not None and name in transition.paths:
            aggregates[name] = np.asarray(transition.paths[name], dtype=np.float64)
    return PanelPolicy(
        wealth_grid=block.wealth_grid,
        productivity=block.productivity,
        share=share,
        low=low,
        high=high,
        Pi=Pi,
        variables=variables,
        initial=_array("initial", hh.mu[0], shape[1:]),
        aggregates=aggregates,
        attrs={
            "model": model.name,
            "source": "transition",
            **_value_attrs(steady.values),
            **{f"initial_{k}": v for k, v in _value_attrs(transition.initial).items()},
        },
    )


def solution_policy(solution: Any, key: Any = 0, *, sample: int = 0) -> PanelPolicy:
    """A global solution's policy along one mean-field path under sampled aggregate shocks.

    The mean field is rolled out exactly (:func:`~hank_mfg.core.rollout.rollout` with
    ``key``); date ``t``'s kernel is the game's for the period's aggregates and next shock,
    its policy the solution's table. The panel's households are drawn from that path (a
    continuum of households lives the same aggregate history).

    Args:
        solution: a :class:`~hank_mfg.solvers.solution.Solution` of a household game (SPG,
            RSPG, the Krusell–Smith algorithm …) whose tables are savings shares or choice
            indices (stochastic tables: ``ValueError``).
        key: seed (int) or JAX key of the aggregate shocks; sample: which of the rollout's
            paths (``key`` rolls out ``sample + 1``).
    """
    from hank_mfg.core.rollout import rollout

    game = solution.game
    grid_info = game.household_grid()
    if grid_info is None or not hasattr(game, "lottery_kernel"):
        raise ValueError(f"solution: {game.name} is not a game of households on a grid")
    key = _as_key(key)
    path = rollout(game, solution.policy, solution.params, key, n_samples=sample + 1)
    horizon = game.horizon
    n_a, n_e = len(grid_info["wealth"]), len(grid_info["income"])
    shares = getattr(game, "shares", None)
    tables = np.asarray(path.actions[sample])
    if tables.ndim == 3:
        raise ValueError(
            "solution: its tables are choice probabilities (a stochastic policy); a panel needs "
            "a savings share or a choice index per state"
        )
    share_t, low_t, high_t, Pi_t, c_t, a_t = [], [], [], [], [], []
    for t in range(horizon):
        agg = jax.tree_util.tree_map(lambda x, t=t: x[sample, t], path.agg)
        z_next = jax.tree_util.tree_map(lambda x, t=t: x[sample, t + 1], path.agg.z)
        kernel = game.lottery_kernel(agg, z_next)
        table = jnp.asarray(tables[t])
        x = jnp.asarray(shares)[table] if jnp.issubdtype(table.dtype, jnp.integer) else table
        pol = game.household_policy(
            agg, x if shares is None else jax.nn.one_hot(table, len(shares))
        )
        share_t.append(np.asarray(x))
        low_t.append(np.asarray(kernel.low))
        high_t.append(np.asarray(kernel.high))
        Pi_t.append(np.asarray(kernel.Pi))
        c_t.append(np.asarray(pol["consumption"]).reshape(n_a, n_e))
        a_t.append(np.asarray(pol["savings"]).reshape(n_a, n_e))
    aggregates = {}
    for name, value in path.agg.aux.items():
        arr = np.asarray(value[sample])
        if arr.ndim == 1 and arr.shape[0] == horizon + 1:
            aggregates[name] = arr[:horizon]
    attrs = {"model": game.name, "source": f"solution:{solution.solver}", "sample": int(sample)}
    attrs["aggregate_key"] = json.dumps(np.asarray(jax.random.key_data(key)).tolist())
    for k, v in getattr(game, "parameters", {}).items():
        with contextlib.suppress(TypeError, ValueError):
            attrs[f"value_{k}"] = float(v)
    return PanelPolicy(
        wealth_grid=np.asarray(grid_info["wealth"]),
        productivity=np.asarray(grid_info["income"]),
        share=np.stack(share_t),
        low=np.stack(low_t),
        high=np.stack(high_t),
        Pi=np.stack(Pi_t),
        variables={"savings": np.stack(a_t), "consumption": np.stack(c_t)},
        initial=np.asarray(path.agg.mu[sample, 0]).reshape(n_a, n_e),
        aggregates=aggregates,
        attrs=attrs,
    )


def _as_policy(source: Any) -> PanelPolicy:
    if isinstance(source, PanelPolicy):
        return source
    if isinstance(source, SteadyState):
        return steady_state_policy(source)
    raise ValueError(
        "source must be a PanelPolicy (steady_state_policy, transition_policy, "
        f"solution_policy) or a SteadyState, got {type(source).__name__}"
    )


# --- drawing the states --------------------------------------------------------------------------


def _as_key(key: Any) -> Array:
    """A JAX key from an int seed or a key (typed or raw ``uint32[2]``)."""
    if isinstance(key, bool):
        raise ValueError(f"key must be an int seed or a JAX key, got {key!r}")
    if isinstance(key, int | np.integer):
        if key < 0:
            raise ValueError(f"key: a seed must be >= 0, got {key}")
        return jax.random.key(int(key))
    try:
        arr = jnp.asarray(key)
    except TypeError as err:
        raise ValueError(f"key must be an int seed or a JAX key, got {key!r}") from err
    if jnp.issubdtype(arr.dtype, jax.dtypes.prng_key):
        return arr
    if arr.shape == (2,) and arr.dtype == jnp.uint32:
        return jax.random.wrap_key_data(arr)
    raise ValueError(f"key must be an int seed or a JAX key, got {key!r}")


def _key_attr(key: Any) -> dict[str, Any]:
    if isinstance(key, int | np.integer):
        return {"seed": int(key)}
    return {"seed": -1, "key": json.dumps(np.asarray(jax.random.key_data(_as_key(key))).tolist())}


@functools.lru_cache(maxsize=8)
def _draw_fn(grid_bytes: bytes, n_income: int, n_periods: int) -> Any:
    """The compiled draw of one chunk's states for a wealth grid (kept concrete, so that the
    kernel's grid search uses its lookup table) and a number of periods."""
    grid = np.frombuffer(grid_bytes, dtype=np.float64)

    def draw(key, ids, cdf0, share, low, high, Pi, dates):
        k_init, k_path = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)
        u0 = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(k_init, i)))(ids)
        states0 = jnp.minimum(jnp.searchsorted(cdf0, u0, side="right"), cdf0.shape[0] - 1)
        household_keys = jax.vmap(lambda i: jax.random.fold_in(k_path, i))(ids)
        return _draw_paths(
            grid, household_keys, states0.astype(jnp.int32), share, low, high, Pi, dates
        )

    return jax.jit(draw)


@functools.lru_cache(maxsize=8)
def _draw_given_fn(grid_bytes: bytes, n_income: int, n_periods: int) -> Any:
    """As :func:`_draw_fn` from given initial states."""
    grid = np.frombuffer(grid_bytes, dtype=np.float64)

    def draw(key, ids, states0, share, low, high, Pi, dates):
        k_path = jax.random.fold_in(key, 1)
        household_keys = jax.vmap(lambda i: jax.random.fold_in(k_path, i))(ids)
        return _draw_paths(grid, household_keys, states0, share, low, high, Pi, dates)

    return jax.jit(draw)


def _draw_paths(grid, household_keys, states0, share, low, high, Pi, dates):
    """States ``[n, T]`` (int32, wealth-major): date ``t``'s households follow the period's
    kernel, each with its own key ``fold_in(household_key, t)``."""
    grid = jnp.asarray(grid)

    def period(states, inputs):
        t, d = inputs
        kernel = LotteryKernel(wealth_grid=grid, low=low[d], high=high[d], Pi=Pi[d])
        x = share[d][states]
        keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(household_keys)
        one = jax.vmap(lambda k, s, a: kernel.sample(k, s[None], a[None])[0])
        return one(keys, states, x), states

    steps = (jnp.arange(dates.shape[0], dtype=jnp.uint32), dates)
    _, states = jax.lax.scan(period, states0, steps)
    return states.T  # household-major [n, T]


def _initial_states(initial: Any, policy: PanelPolicy, n_households: int) -> np.ndarray | None:
    """``None`` (draw from a distribution: the policy's, or the one given, set on the policy by
    the caller) or flat initial states ``[N]`` given by the caller."""
    if initial is None:
        return None
    arr = np.asarray(initial)
    if arr.shape == (n_households,) and arr.dtype.kind in "iu":
        if arr.min() < 0 or arr.max() >= policy.n_wealth * policy.n_income:
            raise ValueError(
                f"initial: state indices must lie in [0, {policy.n_wealth * policy.n_income - 1}]"
            )
        return arr.astype(np.int32)
    raise ValueError(
        f"initial must be a distribution [{policy.n_wealth}, {policy.n_income}] or integer "
        f"states [{n_households}] (flat index wealth * n_income + income), got shape "
        f"{list(arr.shape)} of {arr.dtype}"
    )


def _check_count(name: str, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} ({what}) must be an integer >= 1, got {value!r}")
    return int(value)


def _with_initial(policy: PanelPolicy, initial: Any) -> tuple[PanelPolicy, Any]:
    """A distribution given as ``initial`` replaces the policy's; states pass through."""
    if initial is None:
        return policy, None
    arr = np.asarray(initial)
    if arr.shape == (policy.n_wealth, policy.n_income) and arr.dtype.kind == "f":
        from dataclasses import replace

        return replace(policy, initial=_array("initial", arr, arr.shape)), None
    return policy, initial


def _draw_inputs(policy: PanelPolicy, n_periods: int) -> tuple[Any, tuple[Array, ...]]:
    """The compiled draw and the policy's arrays it reads, once per panel."""
    grid = policy.wealth_grid.tobytes()
    args = (
        jnp.asarray(policy.share),
        jnp.asarray(policy.low),
        jnp.asarray(policy.high),
        jnp.asarray(policy.Pi),
        jnp.asarray(policy.dates(n_periods)),
    )
    return grid, args


def _launch(
    policy: PanelPolicy,
    inputs: tuple[Any, tuple[Array, ...]],
    key: Array,
    start: int,
    stop: int,
    size: int,
    n_periods: int,
    states0: np.ndarray | None,
) -> Array:
    """Start drawing the states ``[size, T]`` of households ``start …`` (those from ``stop``
    on are padding: every piece has ``size`` households, so one compilation serves all).
    JAX runs it asynchronously; the result is waited for where it is read."""
    grid, args = inputs
    ids = jnp.asarray(np.arange(start, start + size, dtype=np.uint32))
    if states0 is None:
        cdf = np.cumsum(policy.initial.ravel())
        cdf = cdf / cdf[-1]
        cdf[-1] = 1.0
        return _draw_fn(grid, policy.n_income, n_periods)(key, ids, jnp.asarray(cdf), *args)
    given = np.zeros(size, dtype=np.int32)
    given[: stop - start] = states0[start:stop]
    return _draw_given_fn(grid, policy.n_income, n_periods)(key, ids, jnp.asarray(given), *args)


# --- the panel's variables -----------------------------------------------------------------------


def _index_dtype(n: int) -> np.dtype:
    return np.dtype(np.int8 if n <= 127 else np.int16 if n <= 32767 else np.int32)


def _variable_dtypes(policy: PanelPolicy, dtype: Any) -> dict[str, np.dtype]:
    """The panel's household-period variables and their dtypes."""
    out = {
        "wealth": np.dtype(dtype),
        "wealth_index": _index_dtype(policy.n_wealth),
        "income_index": _index_dtype(policy.n_income),
        "productivity": np.dtype(dtype),
    }
    for name in _STATE_VARIABLES:
        if name in policy.variables:
            out[name] = np.dtype(dtype)
    return out


def _chunk_values(
    policy: PanelPolicy, states: np.ndarray, n_periods: int, dtype: Any
) -> dict[str, np.ndarray]:
    """The household-period variables ``[n, T]`` of states ``[n, T]`` (flat, wealth-major):
    the grid's coordinates and each variable's table at the period's date and the state."""
    dtypes = _variable_dtypes(policy, dtype)
    wealth = states // policy.n_income
    income = states - wealth * policy.n_income
    if policy.stationary:
        flat = states
    else:  # row t of the tables [D · n_states] holds date t
        n_states = policy.n_wealth * policy.n_income
        flat = policy.dates(n_periods)[None, :].astype(np.int64) * n_states + states
    out = {
        "wealth": np.take(policy.wealth_grid.astype(dtypes["wealth"]), wealth),
        "wealth_index": wealth.astype(dtypes["wealth_index"]),
        "income_index": income.astype(dtypes["income_index"]),
        "productivity": np.take(policy.productivity.astype(dtypes["productivity"]), income),
    }
    for name in _STATE_VARIABLES:
        if name in policy.variables:
            out[name] = np.take(policy.variables[name].astype(dtypes[name]).ravel(), flat)
    return out


def _package_version() -> str:
    try:
        return importlib.metadata.version("hank-mfg")
    except importlib.metadata.PackageNotFoundError:
        from hank_mfg import __version__

        return __version__


def _panel_attrs(policy: PanelPolicy, key: Any, n_households: int, n_periods: int) -> dict:
    attrs: dict[str, Any] = {
        "hank_mfg_kind": "panel",
        "title": "simulated household panel",
        "model": str(policy.attrs.get("model", "")),
        "source": str(policy.attrs.get("source", "")),
        **_key_attr(key),
        "n_households": int(n_households),
        "n_periods": int(n_periods),
        "n_wealth": policy.n_wealth,
        "n_income": policy.n_income,
        "draws": "initial state of household i from fold_in(fold_in(key, 0), i); its period-t "
        "transition from fold_in(fold_in(fold_in(key, 1), i), t): the wealth lottery, then the "
        "income chain (LotteryKernel.sample)",
        "timing": "at time t a household holds wealth (a grid point) and income state, "
        "consumes, works and saves by the period's policy; savings is placed on the wealth "
        "grid by the lottery and income moves by Pi to give its state at t + 1",
        "Conventions": "CF-1.8",
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "version_hank_mfg": _package_version(),
        "version_jax": jax.__version__,
    }
    for k, v in policy.attrs.items():
        if k in ("model", "source"):
            continue
        if isinstance(v, bool | np.bool_):
            v = int(v)
        attrs[k] = v if isinstance(v, int | float | str | np.integer | np.floating) else str(v)
    return attrs


def _coords_and_static(
    policy: PanelPolicy, households: np.ndarray, n_periods: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Coordinates and the time-only variables (aggregates of each date)."""
    coords = {
        "household": ("household", households.astype(np.int64), {"long_name": "household id"}),
        "time": (
            "time",
            np.arange(n_periods, dtype=np.int64),
            {"long_name": "period", "units": "1"},
        ),
    }
    dates = policy.dates(n_periods)
    static = {}
    for name, value in policy.aggregates.items():
        units, long_name = _AGGREGATES.get(name, ("model units", f"aggregate {name}"))
        static[name] = ("time", value[dates], {"long_name": long_name, "units": units})
    return coords, static


def _dataset(
    policy: PanelPolicy,
    households: np.ndarray,
    values: Mapping[str, np.ndarray],
    n_periods: int,
    attrs: Mapping[str, Any],
) -> xr.Dataset:
    coords, static = _coords_and_static(policy, households, n_periods)
    data = {}
    for name, arr in values.items():
        units, long_name = PANEL_VARIABLES[name]
        data[name] = (("household", "time"), arr, {"units": units, "long_name": long_name})
    data.update(static)
    return xr.Dataset(data, coords=coords, attrs=dict(attrs))


# --- memory --------------------------------------------------------------------------------------


def panel_memory_bytes(
    source: Any, n_households: int, n_periods: int, dtype: Any = np.float64
) -> int:
    """Estimated peak memory (bytes) of an in-memory panel of ``n_households × n_periods``:
    its variables plus the work arrays of drawing them."""
    policy = _as_policy(source)
    per = sum(d.itemsize for d in _variable_dtypes(policy, dtype).values()) + _WORK_BYTES
    return int(n_households) * int(n_periods) * per


def available_memory_bytes() -> int:
    """Memory available to a new allocation (Linux ``MemAvailable``; else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def default_chunk_households(source: Any, n_periods: int, dtype: Any = np.float64) -> int:
    """Households per chunk so that one chunk's arrays take about 256 MB."""
    per_household = panel_memory_bytes(source, 1, n_periods, dtype)
    return max(1, _CHUNK_BYTES // per_household)


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


# --- the panel in memory -------------------------------------------------------------------------


def _prepare(
    source: Any, n_households: Any, n_periods: Any, initial: Any
) -> tuple[PanelPolicy, int, int, np.ndarray | None]:
    n_households = _check_count("n_households", n_households, "N, households")
    n_periods = _check_count("n_periods", n_periods, "T, periods")
    if n_households > np.iinfo(np.uint32).max:
        raise ValueError(f"n_households (N) must be < 2**32, got {n_households}")
    policy = _as_policy(source)
    policy, initial = _with_initial(policy, initial)
    policy.dates(n_periods)  # a path shorter than T: ValueError now
    return policy, n_households, n_periods, _initial_states(initial, policy, n_households)


def _iter_chunks(
    policy: PanelPolicy,
    key: Array,
    n_households: int,
    n_periods: int,
    chunk: int,
    states0: np.ndarray | None,
    dtype: Any,
) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
    """``(start, stop, values)`` of each chunk of households, in order.

    Each chunk is drawn in compiled pieces of at most :data:`_SIM_CHUNK` households; the next
    piece is launched before the current one is read, so that drawing overlaps the gathering
    and writing of the one before."""
    size = min(chunk, _SIM_CHUNK, n_households)
    inputs = _draw_inputs(policy, n_periods)
    chunks = [(c, min(c + chunk, n_households)) for c in range(0, n_households, chunk)]
    pieces = [
        (i, (s, min(s + size, stop)))
        for i, (start, stop) in enumerate(chunks)
        for s in range(start, stop, size)
    ]

    def launch(j: int) -> Array:
        s, e = pieces[j][1]
        return _launch(policy, inputs, key, s, e, size, n_periods, states0)

    pending = launch(0)
    j = 0
    for i, (start, stop) in enumerate(chunks):
        parts = []
        while j < len(pieces) and pieces[j][0] == i:
            current, (s, e) = pending, pieces[j][1]
            j += 1
            if j < len(pieces):
                pending = launch(j)
            parts.append(np.asarray(current)[: e - s])
        states = parts[0] if len(parts) == 1 else np.concatenate(parts)
        yield start, stop, _chunk_values(policy, states, n_periods, dtype)


def simulate_panel(
    source: Any,
    n_households: int,
    n_periods: int,
    key: Any = 0,
    *,
    initial: Any = None,
    dtype: Any = np.float64,
    max_memory_bytes: int | None = None,
) -> xr.Dataset:
    """Simulate ``n_households`` households over ``n_periods`` periods, in memory.

    Args:
        source: a :class:`PanelPolicy` (:func:`steady_state_policy`,
            :func:`transition_policy`, :func:`solution_policy`) or a ``SteadyState``.
        n_households (N), n_periods (T): the panel's size.
        key: an int seed or a JAX key; the same key gives the same panel, in one piece or in
            chunks (:func:`write_panel`).
        initial: the distribution ``[n_wealth, n_income]`` initial states are drawn from
            (default the source's), or the households' flat initial states int ``[N]``.
        dtype: of the real variables (float64; float32 halves the panel).
        max_memory_bytes: the most the panel may take (default 80% of the memory available).

    Returns:
        An ``xarray.Dataset`` on ``(household, time)`` (see :data:`PANEL_VARIABLES`), the
        aggregates of each date on ``time``, the model's values in ``attrs`` (``value_*``).

    Raises:
        ValueError: N or T not an integer >= 1, T beyond a path's horizon, a bad source or
            initial condition; or a panel whose estimated memory (:func:`panel_memory_bytes`)
            exceeds ``max_memory_bytes`` (then write it in chunks with :func:`write_panel`).
    """
    policy, n_households, n_periods, states0 = _prepare(source, n_households, n_periods, initial)
    need = panel_memory_bytes(policy, n_households, n_periods, dtype)
    limit = max_memory_bytes
    if limit is None:
        limit = int(_MEMORY_SHARE * available_memory_bytes())
    if need > limit:
        raise ValueError(
            f"an in-memory panel of N={n_households} households x T={n_periods} periods needs "
            f"about {_gb(need)}, more than the {_gb(limit)} it may use; write it to disk in "
            "household chunks with hank_mfg.panels.write_panel(source, path, N, T, key, "
            "chunk_households=...) and open it lazily with open_panel"
        )
    jkey = _as_key(key)
    dtypes = _variable_dtypes(policy, dtype)
    values = {name: np.empty((n_households, n_periods), dtype=d) for name, d in dtypes.items()}
    for start, stop, chunk in _iter_chunks(
        policy, jkey, n_households, n_periods, _SIM_CHUNK, states0, dtype
    ):
        for name, arr in chunk.items():
            values[name][start:stop] = arr
    attrs = _panel_attrs(policy, key, n_households, n_periods)
    return _dataset(policy, np.arange(n_households), values, n_periods, attrs)


# --- on disk -------------------------------------------------------------------------------------


def to_netcdf(dataset: xr.Dataset, path: str | os.PathLike) -> str:
    """Write an in-memory panel (:func:`simulate_panel`) to NetCDF 4 atomically (a temporary
    file beside ``path``, then one rename); :func:`open_panel` reads it back."""
    if dataset.attrs.get("hank_mfg_kind") != "panel":
        raise ValueError("dataset: not a panel from simulate_panel (attribute hank_mfg_kind)")
    path = os.path.abspath(os.fspath(path))
    atomic_write(path, lambda tmp: dataset.to_netcdf(tmp, engine="netcdf4", format="NETCDF4"))
    return path


def _require(package: str, purpose: str) -> Any:
    try:
        return importlib.import_module(package)
    except ImportError as err:
        raise ModuleNotFoundError(
            f"{purpose} needs the package {package!r}, which is not installed (pip install "
            f"{package}); write NetCDF instead (a path not ending in .zarr), which is written "
            "in household chunks as well",
            name=package,
        ) from err


def _engine(path: str, engine: str | None) -> str:
    if engine is None:
        engine = "zarr" if path.rstrip("/").endswith(".zarr") else "netcdf"
    if engine not in ("netcdf", "zarr"):
        raise ValueError(f"engine must be 'netcdf' or 'zarr', got {engine!r}")
    return engine


def write_panel(
    source: Any,
    path: str | os.PathLike,
    n_households: int,
    n_periods: int,
    key: Any = 0,
    *,
    chunk_households: int | None = None,
    engine: str | None = None,
    initial: Any = None,
    dtype: Any = np.float64,
    compress: bool = False,
) -> str:
    """Simulate a panel and write it to ``path`` in chunks of households, atomically.

    Only one chunk is in memory at a time, so the panel may be larger than memory. The file
    equals ``simulate_panel(source, N, T, key)`` written in one piece, number for number.

    Args:
        source, n_households, n_periods, key, initial, dtype: as in :func:`simulate_panel`.
        path: the file (NetCDF 4) or, for zarr, the store's folder.
        chunk_households: households per chunk (default: about 256 MB of arrays a chunk,
            :func:`default_chunk_households`); also the file's chunking along ``household``.
        engine: ``"netcdf"`` or ``"zarr"`` (default: zarr for a path ending in ``.zarr``).
        compress: zlib (NetCDF) or the default compressor (zarr); off: faster to write.

    Returns:
        The path written.

    Raises:
        ValueError: as :func:`simulate_panel` (not the memory check), a bad chunk size.
        ModuleNotFoundError: zarr asked for and not installed.
    """
    path = os.path.abspath(os.fspath(path))
    engine = _engine(path, engine)
    policy, n_households, n_periods, states0 = _prepare(source, n_households, n_periods, initial)
    if chunk_households is None:
        chunk_households = default_chunk_households(policy, n_periods, dtype)
    chunk = _check_count("chunk_households", chunk_households, "households per chunk")
    chunk = min(chunk, n_households)
    if engine == "zarr":
        _require("zarr", "writing a panel to zarr")
    jkey = _as_key(key)
    attrs = _panel_attrs(policy, key, n_households, n_periods)
    attrs["chunk_households"] = chunk
    chunks = _iter_chunks(policy, jkey, n_households, n_periods, chunk, states0, dtype)
    args = (policy, chunks, n_households, n_periods, attrs, chunk, compress)
    if engine == "netcdf":
        atomic_write(path, lambda tmp: _write_netcdf(tmp, *args))
    else:
        _atomic_folder(path, lambda tmp: _write_zarr(tmp, *args))
    return path


def _file_chunks(chunk: int, n_periods: int, itemsize: int) -> tuple[int, int]:
    """HDF5 chunks of a household-period variable: whole rows of at most ``chunk``
    households, about 8 MB at most (the last chunk of a file is stored whole)."""
    time = min(n_periods, 1 << 20)
    return max(1, min(chunk, (1 << 23) // (time * itemsize))), time


def _write_netcdf(
    tmp: str,
    policy: PanelPolicy,
    chunks: Iterator[tuple[int, int, dict[str, np.ndarray]]],
    n_households: int,
    n_periods: int,
    attrs: Mapping[str, Any],
    chunk: int,
    compress: bool,
) -> None:
    """The panel to NetCDF 4 by ``netCDF4`` directly: the layout xarray writes (so that
    ``xarray.open_dataset`` reads the same Dataset), filled one household chunk at a time."""
    import netCDF4

    coords, static = _coords_and_static(policy, np.arange(n_households), n_periods)
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.createDimension("household", n_households)
        nc.createDimension("time", n_periods)
        for name, (dims, value, var_attrs) in {**coords, **static}.items():
            if name == "household":
                continue
            var = nc.createVariable(name, value.dtype, (dims,))
            var.setncatts(var_attrs)
            var[:] = value
        hh = nc.createVariable(
            "household", np.int64, ("household",), chunksizes=(min(chunk, 1 << 20),)
        )
        hh.setncatts(coords["household"][2])
        variables = None
        for start, stop, values in chunks:
            if variables is None:
                variables = {}
                for name, arr in values.items():
                    units, long_name = PANEL_VARIABLES[name]
                    var = nc.createVariable(
                        name,
                        arr.dtype,
                        ("household", "time"),
                        chunksizes=_file_chunks(chunk, n_periods, arr.dtype.itemsize),
                        zlib=compress,
                        complevel=1 if compress else 4,
                        fill_value=False,
                    )
                    var.setncatts({"units": units, "long_name": long_name})
                    # a cache of two HDF5 chunks: rows arrive in order and each chunk is
                    # written once (the library's default cache per variable is far larger)
                    rows, cols = var.chunking()
                    var.set_var_chunk_cache(
                        size=2 * rows * cols * arr.dtype.itemsize, preemption=1.0
                    )
                    variables[name] = var
            for name, arr in values.items():
                variables[name][start:stop, :] = arr
            hh[start:stop] = np.arange(start, stop, dtype=np.int64)
            del values  # before the next chunk is drawn: one chunk in memory at a time
        nc.setncatts(dict(attrs))


def _write_zarr(
    tmp: str,
    policy: PanelPolicy,
    chunks: Iterator[tuple[int, int, dict[str, np.ndarray]]],
    n_households: int,
    n_periods: int,
    attrs: Mapping[str, Any],
    chunk: int,
    compress: bool,
) -> None:
    """The panel to a zarr store, appending one household chunk at a time."""
    first = True
    for start, stop, values in chunks:
        ds = _dataset(policy, np.arange(start, stop), values, n_periods, attrs)
        if first:
            encoding = {}
            for name in values:
                encoding[name] = {"chunks": (chunk, n_periods)}
                if not compress:  # zarr 3 names a list of compressors, zarr 2 one
                    encoding[name]["compressors" if _zarr_major() >= 3 else "compressor"] = None
            ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=False)
            first = False
        else:
            ds = ds.drop_vars([n for n in ds.data_vars if "household" not in ds[n].dims])
            ds.to_zarr(tmp, mode="a", append_dim="household", consolidated=False)
        del ds, values


def _zarr_major() -> int:
    import zarr

    return int(str(zarr.__version__).split(".")[0])


def _atomic_folder(path: str, write: Any) -> None:
    """Write a folder (a zarr store) beside ``path`` under a temporary name, then rename it
    into place (a folder already there is moved aside first, then removed)."""
    folder = os.path.dirname(path)
    remove_stale_partials(path)
    tmp = os.path.join(folder, f"{partial_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        write(tmp)
        if os.path.lexists(path):
            old = f"{tmp}-old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def open_panel(path: str | os.PathLike, chunks: Any = None) -> xr.Dataset:
    """Open a panel written by :func:`write_panel` lazily (nothing is read until used).

    NetCDF opens with xarray's lazily indexed arrays, or as dask arrays given ``chunks``
    (e.g. ``{"household": 100_000}``; needs dask); a zarr store by ``xarray.open_zarr`` (dask
    chunks: the store's own by default).

    Raises:
        ValueError: no panel at ``path``. ModuleNotFoundError: zarr, or dask for ``chunks``,
            not installed.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"no panel at {path!r}")
    if os.path.isdir(path):
        _require("zarr", "opening a zarr panel")
        _require("dask", "opening a zarr panel with dask chunks")
        return xr.open_zarr(path, chunks={} if chunks is None else chunks, consolidated=False)
    if chunks is not None:
        _require("dask", "opening a NetCDF panel with dask chunks")
    ds = xr.open_dataset(path, engine="netcdf4", chunks=chunks)
    if ds.attrs.get("hank_mfg_kind") != "panel":
        ds.close()
        raise ValueError(f"{path!r} is not a panel written by hank_mfg (hank_mfg_kind)")
    return ds
