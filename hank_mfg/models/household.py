"""Households on a wealth × income grid, and the economy game built from blocks.

A household with wealth ``a`` (on ``wealth_grid``, whose first point is the borrowing limit
``a_min``) and income state ``e`` has cash on hand

    m = (1 + r) a + w · y(e),

with ``y(e)`` its income in units of the wage. It chooses a savings share ``x ∈ [0, 1]`` of
what it can save,

    a' = a_min + x (m − c_min − a_min),      c = m − a',

either continuously (one share per state; ``Box(0, 1)``) or from a discrete set of shares. The
next wealth is placed on its two neighbouring grid points (a lottery, differentiable in ``x``),
then income moves by ``Pi`` (which may depend on the aggregate transition ``z → z'``).
Flow utility is CRRA, ``u(c) = c^(1-σ)/(1-σ)`` (``log c`` at ``σ = 1``).

:class:`HouseholdEconomy` combines a :class:`Household`, a :class:`~hank_mfg.models.production.
CobbDouglas` firm and a TFP process into a :class:`~hank_mfg.core.game.MeanFieldGame` whose
prices clear factor markets every period: ``K = Σ mu·a``, ``L = Σ mu·ℓ(e)``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hank_mfg.calibration.income import check_grid, check_stochastic_matrix
from hank_mfg.core.checks import check_in_range, check_initial_distributions
from hank_mfg.core.evaluation import BestResponse, policy_value
from hank_mfg.core.game import AggState
from hank_mfg.core.kernel import is_concrete
from hank_mfg.core.rollout import MeanFieldPath
from hank_mfg.models.household_game import HouseholdGame
from hank_mfg.models.production import CobbDouglas, ConstantTFP, MarkovProcess, TFPProcess

Array = jax.Array

__all__ = ["Household", "HouseholdEconomy", "OBSERVABLES", "crra_utility"]

#: Aggregates a household may observe, in model units.
OBSERVABLES = ("r", "w", "K", "L", "Y", "Z")

#: Consumption below this is valued as if it were this (keeps utilities finite).
C_FLOOR = 1e-10


def crra_utility(c: Array, crra: float) -> Array:
    """CRRA utility ``c^(1-σ)/(1-σ)``, ``log c`` at ``σ = 1``; ``c`` floored at 1e-10."""
    c = jnp.maximum(c, C_FLOOR)
    if crra == 1.0:
        return jnp.log(c)
    return c ** (1.0 - crra) / (1.0 - crra)


@dataclass(frozen=True, eq=False)
class Household:
    """The household block: preferences, wealth grid, income states and their dynamics.

    Args:
        beta: discount factor per period, in (0, 1).
        crra: relative risk aversion σ, in (0, inf).
        wealth_grid: strictly increasing wealth points ``[n_wealth >= 2]``; the first is the
            borrowing limit ``a_min``.
        income: income per state in units of the wage ``y(e)``, ``[n_income]``, >= 0.
        Pi: income transition, ``[n_income, n_income]``, or ``[n_z, n_z, n_income, n_income]``
            giving ``Pi(e' | e, z, z')`` for a Markov TFP state ``z`` (Krusell–Smith).
        labour: efficiency units each income state supplies to the firm, ``[n_income]``
            (default: ``income``); e.g. zero for the unemployed.
        c_min: consumption left when saving everything one can (share 1), >= 0.
    """

    beta: float
    crra: float
    wealth_grid: Any
    income: Any
    Pi: Any
    labour: Any = None
    c_min: float = 0.0
    Pi_is_aggregate: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "beta", check_in_range("beta", self.beta, 0, 1, low_open=True, high_open=True))
        put(self, "crra", check_in_range("crra", self.crra, 0, np.inf, low_open=True))
        put(self, "c_min", check_in_range("c_min", self.c_min, 0, np.inf))
        grid = check_grid("wealth_grid", self.wealth_grid)
        put(self, "wealth_grid", grid)
        income = np.asarray(self.income, dtype=float)
        if income.ndim != 1 or income.size < 1 or not np.all(np.isfinite(income)):
            raise ValueError(f"income must be a finite 1-d array, got {self.income!r}")
        if income.min() < 0:
            raise ValueError("income must be >= 0 in every income state")
        put(self, "income", income)
        n_e = income.size
        labour = income if self.labour is None else np.asarray(self.labour, dtype=float)
        if labour.shape != (n_e,) or not np.all(np.isfinite(labour)) or labour.min() < 0:
            raise ValueError(f"labour must be a finite array of {n_e} values >= 0")
        put(self, "labour", labour)
        Pi = np.asarray(self.Pi, dtype=float)
        if Pi.ndim == 2:
            put(self, "Pi", check_stochastic_matrix("Pi", Pi, n_e))
        elif Pi.ndim == 4 and Pi.shape[2:] == (n_e, n_e) and Pi.shape[0] == Pi.shape[1]:
            for i in range(Pi.shape[0]):
                for j in range(Pi.shape[1]):
                    check_stochastic_matrix(f"Pi[{i}, {j}]", Pi[i, j], n_e)
            put(self, "Pi", Pi)
            put(self, "Pi_is_aggregate", True)
        else:
            raise ValueError(
                f"Pi must have shape ({n_e}, {n_e}) or (n_z, n_z, {n_e}, {n_e}), got {Pi.shape}"
            )

    @property
    def n_wealth(self) -> int:
        return self.wealth_grid.size

    @property
    def n_income(self) -> int:
        return self.income.size

    @property
    def n_states(self) -> int:
        return self.n_wealth * self.n_income

    @property
    def borrowing_limit(self) -> float:
        return float(self.wealth_grid[0])

    def utility(self, c: Array) -> Array:
        """Flow utility of consumption ``c`` (CRRA with coefficient ``crra``)."""
        return crra_utility(c, self.crra)

    def cash_on_hand(self, r: Array, w: Array) -> Array:
        """``m = (1 + r) a + w y(e)``, ``[n_wealth, n_income]``, in units of the good."""
        a = jnp.asarray(self.wealth_grid)[:, None]
        return (1.0 + r) * a + w * jnp.asarray(self.income)[None, :]

    def savings_bounds(self, m: Array) -> tuple[Array, Array]:
        """Next wealth at share 0 (``a_min``) and share 1 (``m − c_min``)."""
        return jnp.full_like(m, self.borrowing_limit), m - self.c_min

    def check_natural_limit(self, r: float, w: float) -> None:
        """Raise ``ValueError`` if some state cannot afford the borrowing limit at (r, w).

        That is the case when the borrowing limit lies below the natural one,
        ``a_min < -w min(y) / r`` (for ``r > 0``): repaying it would take all income forever.
        """
        m = np.asarray(self.cash_on_hand(r, w))
        if np.any(m - self.c_min <= self.borrowing_limit):
            raise ValueError(
                f"borrowing_limit {self.borrowing_limit:g} is below the natural borrowing limit "
                f"at r={r:.4g}, w={w:.4g}: some households could not repay it; raise it"
            )


# --- the household's endogenous-grid step ---------------------------------------------------


@struct.dataclass
class EGMPolicy:
    """A household policy on the grid, ``[n_wealth, n_income]`` each.

    Attributes:
        savings: next-period wealth ``a'`` (units of the good).
        consumption: ``c = m − a'``.
        marginal_value: ``V'(a, e) = (1 + r) u'(c)``.
    """

    savings: Array
    consumption: Array
    marginal_value: Array


def _is_small_integer(crra: Any) -> bool:
    """True for a concrete integral ``σ`` in [1, 8], whose powers are a few multiplications."""
    return isinstance(crra, int | float) and float(crra).is_integer() and 1 <= crra <= 8


def marginal_utility(c: Array, crra: float) -> Array:
    """``u'(c) = c^(−σ)`` (``c`` floored as in the utility)."""
    c = jnp.maximum(c, C_FLOOR)
    if _is_small_integer(crra):  # repeated multiplication: much faster than pow on CPU
        return jax.lax.integer_pow(c, -int(crra))
    return c ** (-crra)


def inverse_marginal_utility(x: Array, crra: float) -> Array:
    """``c = x^(−1/σ)``, the consumption whose marginal utility is ``x`` (``inf`` at ``x = 0``)."""
    if isinstance(crra, int | float) and crra == 1.0:
        return 1.0 / x
    return x ** (-1.0 / crra)


def _interp_extrapolate(x: Array, xp: Array, fp: Array) -> Array:
    """Linear interpolation of ``fp(xp)`` at ``x``, extrapolating linearly at both ends."""
    i = jnp.clip(jnp.searchsorted(xp, x, side="right") - 1, 0, xp.shape[0] - 2)
    slope = (fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i])
    return fp[i] + slope * (x - xp[i])


@struct.dataclass
class _Primitives:
    """The household's primitives as a pytree: arrays traced, ``crra`` static.

    Jitted solvers take this instead of the (static, identity-hashed) :class:`Household`, so
    that households differing only in numbers (``beta``, grids, income) share one compilation.
    """

    wealth_grid: Array
    income: Array
    Pi: Array
    beta: Array
    c_min: Array
    crra: float = struct.field(pytree_node=False)

    @classmethod
    def of(cls, household: Household, dtype: Any = None) -> _Primitives:
        dtype = jnp.result_type(float) if dtype is None else dtype
        return cls(
            wealth_grid=jnp.asarray(household.wealth_grid, dtype=dtype),
            income=jnp.asarray(household.income, dtype=dtype),
            Pi=jnp.asarray(household.Pi, dtype=dtype),
            beta=jnp.asarray(household.beta, dtype=dtype),
            c_min=jnp.asarray(household.c_min, dtype=dtype),
            crra=float(household.crra),
        )

    def cash_on_hand(self, r: Array, w: Array) -> Array:
        """``m = (1 + r) a + w y(e)``, ``[n_wealth, n_income]``."""
        return (1.0 + r) * self.wealth_grid[:, None] + w * self.income[None, :]


_PRIMITIVES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _primitives(household: Household) -> _Primitives:
    """:meth:`_Primitives.of` in the default float dtype, built once per household (solvers
    call it at every interest rate they try)."""
    dtype = jnp.result_type(float)
    cached = _PRIMITIVES.get(household)
    if cached is None or cached.wealth_grid.dtype != dtype:
        with jax.ensure_compile_time_eval():  # concrete arrays, even when called under a trace
            cached = _Primitives.of(household, dtype)
        _PRIMITIVES[household] = cached
    return cached


def _egm_step(
    prim: _Primitives, marginal_next: Array, Pi: Array, r: Array, w: Array, m: Array
) -> EGMPolicy:
    """:func:`egm_step` on primitives, given cash on hand ``m`` ``[n_wealth, n_income]``."""
    a = prim.wealth_grid.astype(marginal_next.dtype)
    a_min = a[0]
    expected = prim.beta * marginal_next @ Pi.T  # [a', e]
    c_endo = inverse_marginal_utility(jnp.where(expected > 0, expected, 0.0), prim.crra)
    m_endo = c_endo + a[:, None]
    a_next = jax.vmap(_interp_extrapolate, in_axes=(1, 1, None), out_axes=1)(m, m_endo, a)
    # the constraint binds below the cash on hand at which a' = a_min is optimal; with no
    # value of saving (V' = 0) it binds everywhere
    binds = (m <= m_endo[0][None, :]) | ~jnp.isfinite(m_endo[0][None, :])
    a_next = jnp.where(binds, a_min, a_next)
    a_next = jnp.clip(a_next, a_min, m - prim.c_min)
    c = m - a_next
    return EGMPolicy(
        savings=a_next,
        consumption=c,
        marginal_value=(1.0 + r) * marginal_utility(c, prim.crra),
    )


def egm_step(
    household: Household, marginal_next: Array, Pi: Array, r: Array, w: Array
) -> EGMPolicy:
    """One backward EGM step at prices ``(r, w)`` given ``V'_{t+1}`` ``[n_wealth, n_income]``.

    ``Pi[e, e']`` is this period's income transition.
    """
    prim = _Primitives.of(household, marginal_next.dtype)
    return _egm_step(prim, marginal_next, Pi, r, w, prim.cash_on_hand(r, w))


def _share(prim: _Primitives, savings: Array, m: Array) -> Array:
    low, high = prim.wealth_grid[0], m - prim.c_min
    span = jnp.where(high > low, high - low, 1.0)
    return jnp.clip((savings - low) / span, 0.0, 1.0).ravel()


def savings_share(household: Household, savings: Array, r: Array, w: Array) -> Array:
    """The savings share ``x ∈ [0, 1]`` giving ``savings``: the model's action, ``[n_states]``."""
    low, high = household.savings_bounds(household.cash_on_hand(r, w))
    span = jnp.where(high > low, high - low, 1.0)
    return jnp.clip((savings - low) / span, 0.0, 1.0).ravel()


class HouseholdEconomy(HouseholdGame):
    """A heterogeneous-household economy as a mean-field game.

    Each period: prices ``(r, w)`` from the firm's marginal products at ``K = Σ mu·a``,
    ``L = Σ mu·ℓ(e)`` (or a fixed ``labour_supply``) and TFP ``Z``; households consume and save;
    the distribution moves by the lottery kernel. Rewards are ``u(c)``; after the last period
    the household receives ``terminal`` (see below).

    Args:
        household: the :class:`Household` block.
        firm: the :class:`CobbDouglas` block.
        tfp: the TFP process (default: none, ``Z = 1``). A Krusell–Smith household needs a
            :class:`MarkovProcess` whose states index ``household.Pi``.
        horizon: number of periods.
        shares: ``None`` for a continuous savings share (``Box(0, 1)``), or the discrete
            savings shares ``[n_choices]`` in [0, 1].
        terminal: ``"none"`` (value 0 after the horizon), ``"consume_wealth"`` (the last
            period pays ``u(m)``, all cash on hand consumed, whatever the choice), or an array
            ``[n_states]`` of terminal values on the grid (e.g. a stationary value function).
        terminal_marginal: with terminal values, their derivative in wealth ``[n_states]``
            (e.g. ``(1 + r) u'(c)`` of the stationary solution); used by the endogenous-grid
            best response. Default: finite differences of the terminal values.
        initial_distributions: ``[n_states]`` or ``[k, n_states]``; default uniform.
        observation: names of the aggregates every household observes (from
            :data:`OBSERVABLES`).
        labour_supply: fixed aggregate labour ``L`` (QuantEcon's lecture), else ``None``.
        kernel: ``"lottery"`` (fast, default) or ``"generic"`` (the same transitions as a
            :class:`~hank_mfg.core.kernel.GenericKernel`; discrete choices only; for checking
            and benchmarks).
        name: a label for results.
    """

    def __init__(
        self,
        household: Household,
        firm: CobbDouglas,
        *,
        tfp: TFPProcess | None = None,
        horizon: int = 100,
        shares: Any = None,
        terminal: Any = "none",
        terminal_marginal: Any = None,
        initial_distributions: Any = None,
        observation: tuple[str, ...] = ("r", "w"),
        labour_supply: float | None = None,
        kernel: str = "lottery",
        name: str = "household_economy",
    ) -> None:
        if not isinstance(household, Household):
            raise ValueError(f"household must be a Household, got {type(household).__name__}")
        if not isinstance(firm, CobbDouglas):
            raise ValueError(f"firm must be a CobbDouglas, got {type(firm).__name__}")
        self.household, self.firm = household, firm
        self.tfp = ConstantTFP() if tfp is None else tfp
        if household.Pi_is_aggregate and not isinstance(self.tfp, MarkovProcess):
            raise ValueError("an income transition Pi(e'|e,z,z') needs a MarkovProcess tfp")
        if household.Pi_is_aggregate and np.shape(self.tfp.levels)[0] != household.Pi.shape[0]:
            raise ValueError("tfp.levels and household.Pi disagree on the number of z states")
        self.name = name
        self.horizon = horizon
        self.discount = household.beta
        self.n_states = household.n_states
        self._set_choices(shares, kernel)
        self._set_terminal(terminal, terminal_marginal)
        obs = tuple(observation)
        if not obs or any(o not in OBSERVABLES for o in obs):
            raise ValueError(f"observation must name aggregates from {OBSERVABLES}, got {obs!r}")
        self.observation = obs
        self.labour_supply = (
            None
            if labour_supply is None
            else check_in_range("labour_supply", labour_supply, 0, np.inf, low_open=True)
        )
        self.initial_distributions = check_initial_distributions(
            initial_distributions, self.n_states
        )
        self._warned_grid = False
        self._wealth = jnp.asarray(household.wealth_grid)
        self._labour = jnp.asarray(household.labour)
        agg0 = self.reset(jax.random.PRNGKey(0))
        if is_concrete(agg0.aux):
            if not float(agg0.aux["K"]) > 0:
                raise ValueError(
                    f"aggregate capital K under the initial distribution must be > 0, got "
                    f"{float(agg0.aux['K']):.4g}: choose initial_distributions with positive wealth"
                )
            household.check_natural_limit(float(agg0.aux["r"]), float(agg0.aux["w"]))
        self.validate()

    # --- aggregates and prices ---------------------------------------------------------------
    def grid_mu(self, mu: Array) -> Array:
        """The distribution as ``[n_wealth, n_income]``."""
        return mu.reshape(self.household.n_wealth, self.household.n_income)

    def aggregates(self, mu: Array, z: Any, t: Array) -> dict[str, Array]:
        grid_mu = self.grid_mu(mu)
        K = jnp.sum(grid_mu.sum(axis=1) * self._wealth)
        L = (
            jnp.sum(grid_mu.sum(axis=0) * self._labour)
            if self.labour_supply is None
            else jnp.asarray(self.labour_supply, dtype=mu.dtype)
        )
        Z = self.tfp.level(z).astype(mu.dtype)
        r, w = self.firm.prices(K, L, Z)
        return {
            "K": K,
            "L": L,
            "Z": Z,
            "Y": self.firm.output(K, L, Z),
            "r": r,
            "w": w,
            "mass_above_grid": jnp.zeros((), dtype=mu.dtype),
        }

    # --- law of motion -----------------------------------------------------------------------
    def income_transition(self, z: Any, z_next: Any) -> Array:
        """``Pi(e' | e)`` of this period, ``[n_income, n_income]``."""
        Pi = jnp.asarray(self.household.Pi)
        return Pi[z, z_next] if self.household.Pi_is_aggregate else Pi

    def cash_on_hand(self, agg: AggState) -> Array:
        """Cash on hand at this period's prices, ``[n_wealth, n_income]``."""
        return self.household.cash_on_hand(agg.aux["r"], agg.aux["w"])

    def savings_bounds(self, agg: AggState) -> tuple[Array, Array]:
        """Next wealth at share 0 (``a_min``) and share 1 (``m − c_min``)."""
        return self.household.savings_bounds(self.cash_on_hand(agg))

    # --- payoffs -----------------------------------------------------------------------------
    def _utility(self, agg: AggState, c: Array) -> Array:
        return self.household.utility(c)

    def _crra(self) -> float:
        return self.household.crra

    # --- helpers for users and solvers -------------------------------------------------------
    def household_grid(self) -> dict[str, Any]:
        """The grid for results files (see :meth:`MeanFieldGame.household_grid`)."""
        hh = self.household
        return {
            "wealth": hh.wealth_grid,
            "income": hh.income,
            "income_label": "income state y(e)",
            "income_units": "wage units",
            "income_transition": hh.Pi,
        }

    def exact_best_response(self, path: Any) -> BestResponse | None:
        """Backward EGM along each path (continuous share; see :func:`household_best_response`);
        ``None`` for discrete shares (evaluation maximises over them)."""
        return household_best_response(self, path)


# --- the exact best response: backward EGM along the path -------------------------------------


def backward_egm(game: HouseholdEconomy, agg: Any) -> Array:
    """Best-response savings shares along one mean-field path, ``[horizon, n_states]``.

    ``agg`` holds the path's dates ``0…T`` (prices, TFP states); the household knows the path
    (the clairvoyant best response of :mod:`hank_mfg.core.evaluation`).
    """
    hh = game.household
    agg_now = jax.tree_util.tree_map(lambda x: x[:-1], agg)
    z_next = jax.tree_util.tree_map(lambda x: x[1:], agg.z)
    agg_T = jax.tree_util.tree_map(lambda x: x[-1], agg)
    is_last = jnp.arange(game.horizon) == game.horizon - 1

    def period(marginal_next, inputs):
        agg_t, z_n, last = inputs
        r, w = agg_t.aux["r"], agg_t.aux["w"]
        Pi = game.income_transition(agg_t.z, z_n).astype(marginal_next.dtype)
        policy = egm_step(hh, marginal_next, Pi, r, w)
        share = savings_share(hh, policy.savings, r, w)
        if game.terminal == "consume_wealth":  # the last period consumes all cash on hand
            m = hh.cash_on_hand(r, w)
            all_in = (1.0 + r) * marginal_utility(m, hh.crra)
            marginal = jnp.where(last, all_in, policy.marginal_value)
        else:
            marginal = policy.marginal_value
        return marginal, share

    start = game.terminal_marginal_value(agg_T)
    _, shares = jax.lax.scan(period, start, (agg_now, z_next, is_last), reverse=True)
    return shares


@partial(jax.jit, static_argnames=("game",))
def _household_best_response(game: HouseholdEconomy, path: MeanFieldPath) -> BestResponse:
    shares = jax.vmap(backward_egm, in_axes=(None, 0))(game, path.agg)
    value = policy_value(game, path, shares)
    return BestResponse(value=value, actions=shares)


def household_best_response(game: HouseholdEconomy, path: MeanFieldPath) -> BestResponse | None:
    """Exact best response of a household with a continuous savings share, by backward EGM.

    Its value is that of the EGM policy under the model's own kernel (linear interpolation in
    wealth), so it is comparable with every other policy's value. Discrete-choice economies
    return ``None`` (evaluation then maximises over their actions).
    """
    return None if game.shares is not None else _household_best_response(game, path)
