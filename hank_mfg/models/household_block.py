"""A household block from functions: preferences and a budget in the paper's symbols.

The economist gives

* preferences ``u(c)`` or ``u(c, n)`` — any JAX function of consumption ``c`` (and hours ``n``)
  with named parameters (:func:`preferences`), or a recognised family with closed forms
  (:func:`crra`, :func:`crra_labor`, the Sequence-Space Jacobian toolkit's ``hh_labor``);
* the budget's non-asset income per income state, ``income(e, n, w, tau, T, …)`` (after
  taxes, transfers, dividends — SSJ's "hetinputs"), a JAX function of the state's productivity
  ``e``, hours ``n`` (when the preferences have hours) and named aggregates or parameters;
* the asset return's name (default ``r``: wealth ``a`` pays ``(1 + r) a``), the wealth grid (its
  first point is the borrowing limit), the productivity of each income state and their Markov
  matrix ``Pi[e, e']``.

The block derives, by ``jax.grad`` (closed forms for the recognised families): marginal
utilities, the EGM step (Euler inversion; hours from the intratemporal condition; households at
the borrowing limit solved as a one-dimensional root in hours), consumption, hours and savings.
The budget, written once:

    c + a' = (1 + r) a + income(e, n, …).

Units: wealth, consumption and income in units of the good; ``r`` per period; hours ``n`` in
the units the preferences give them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.core.kernel import LotteryKernel

Array = jax.Array

__all__ = [
    "HouseholdBlock",
    "HouseholdPolicy",
    "Preferences",
    "crra",
    "crra_labor",
    "preferences",
]

#: Smallest consumption a household with exogenous hours is left with (units of the good).
C_MIN = 1e-12
#: Newton iterations of the generic inversions (each converges quadratically from its guess).
NEWTON_STEPS = 60
#: Relative tolerance a generic Newton solve must reach; beyond it the block names the state.
NEWTON_TOL = 1e-10
# Newton steps for the point of a chord at which the budget holds (hours_rule
# "intratemporal"): the budget is nearly linear there, and two steps reach rounding
CHORD_NEWTON_STEPS = 2


@dataclass(frozen=True)
class Preferences:
    """Period utility ``u(c, **params)`` or ``u(c, n, **params)``.

    Attributes:
        utility: the function (scalar in, scalar out; JAX-traceable).
        hours: whether it has hours ``n`` as its second argument.
        params: names of its parameters, read from the model's values.
        family: ``"crra"`` or ``"crra_labor"`` for the closed forms; ``None``: Newton.
    """

    utility: Callable[..., Array]
    hours: bool
    params: tuple[str, ...]
    family: str | None = None


def preferences(utility: Callable[..., Array], *, hours: bool | None = None) -> Preferences:
    """Preferences from any JAX function ``u(c, …)`` or ``u(c, n, …)`` (hours: second argument
    named ``n``, unless ``hours`` says otherwise); other arguments are named parameters."""
    names = list(inspect.signature(utility).parameters)
    if not names or names[0] != "c":
        raise ValueError(f"preferences: the first argument of the utility must be 'c', got {names}")
    has_hours = (len(names) > 1 and names[1] == "n") if hours is None else bool(hours)
    return Preferences(utility, has_hours, tuple(names[2 if has_hours else 1 :]))


def _crra_u(c: Array, eis: Array) -> Array:
    power = 1.0 - 1.0 / eis
    safe = jnp.where(power == 0.0, 1.0, power)  # both branches finite: the gradient is, too
    return jnp.where(power == 0.0, jnp.log(c), c**safe / safe)


def _crra_labor_u(c: Array, n: Array, eis: Array, frisch: Array, vphi: Array) -> Array:
    return _crra_u(c, eis) - vphi * n ** (1.0 + 1.0 / frisch) / (1.0 + 1.0 / frisch)


def crra() -> Preferences:
    """``u(c) = c^(1 − 1/eis) / (1 − 1/eis)`` (``log c`` at ``eis = 1``); parameter ``eis``."""
    return Preferences(_crra_u, False, ("eis",), "crra")


def crra_labor() -> Preferences:
    """``u(c, n) = c^(1−1/eis)/(1−1/eis) − vphi n^(1+1/frisch)/(1+1/frisch)``; parameters
    ``eis``, ``frisch``, ``vphi`` (SSJ's ``hh_labor``)."""
    return Preferences(_crra_labor_u, True, ("eis", "frisch", "vphi"), "crra_labor")


@dataclass(frozen=True)
class HouseholdPolicy:
    """A household policy on the grid, ``[n_wealth, n_income]`` each (units of the good; hours
    in the preferences' units; ``marginal_value`` is ``∂V/∂a = (1 + r) u_c``)."""

    savings: Array
    consumption: Array
    hours: Array
    marginal_value: Array


jax.tree_util.register_dataclass(
    HouseholdPolicy,
    data_fields=["savings", "consumption", "hours", "marginal_value"],
    meta_fields=[],
)


def _interp_columns(x: Array, xp: Array, *fps: Array) -> Array | tuple[Array, ...]:
    """Linear interpolation, column by column, of ``fp[:, k](xp[:, k])`` at the points ``x``
    ``[n_x]`` (the same for every column), extrapolating linearly at both ends: ``[n_x, m]``
    for each ``fp`` in ``fps`` (``xp`` and each ``fp`` ``[n, m]``, ``xp`` increasing down each
    column; one array for one ``fp``).

    The interval of each point is found by bisection on the flattened columns, one fused
    gather and comparison per halving (``ceil(log2 n)`` of them): on CPU a general sorted
    search costs several times more, and this search is most of a household's EGM step.
    """
    lower, upper, slope = _segments(x, xp)
    out = []
    for fp in fps:
        flat = fp.ravel()
        f0 = flat[lower]
        out.append(f0 + (flat[upper] - f0) * slope)
    return out[0] if len(out) == 1 else tuple(out)


def _segments(x: Array, xp: Array) -> tuple[Array, Array, Array]:
    """The interval of each point of ``x`` in each column of ``xp`` (see
    :func:`_interp_columns`): flat indices of its lower and upper ends in ``xp.ravel()`` and
    the point's position ``(x − xp_lower) / (xp_upper − xp_lower)``, each ``[n_x, m]``."""
    n, m = xp.shape
    flat_xp = xp.ravel()
    column = jnp.arange(m, dtype=jnp.int32)[None, :]
    levels = max(int(np.ceil(np.log2(n - 1))), 1)

    def halve(t: Array, low: Array) -> Array:
        # low is the last point known to be <= x (or 0): try a step of 2^(levels - 1 - t)
        trial = jnp.minimum(low + jnp.left_shift(1, levels - 1 - t), n - 2)
        return jnp.where(flat_xp[trial * m + column] <= x[:, None], trial, low)

    i = jax.lax.fori_loop(0, levels, halve, jnp.zeros((x.shape[0], m), dtype=jnp.int32))
    lower, upper = i * m + column, (i + 1) * m + column
    x0, x1 = flat_xp[lower], flat_xp[upper]
    return lower, upper, (x[:, None] - x0) / (x1 - x0)


@dataclass(frozen=True, eq=False)
class HouseholdBlock:
    """A household on a wealth × income grid, from its preferences and budget.

    Args:
        preferences: :class:`Preferences` (or a plain utility function, see :func:`preferences`).
        income: non-asset income ``income(e, [n,] **inputs)`` of a household of productivity
            ``e`` (elementwise in ``e`` and ``n``); inputs are read by name from the values.
        wealth_grid: ``[n_wealth]``, increasing; its first point is the borrowing limit.
        productivity: ``[n_income]`` productivity ``e`` of each income state.
        Pi: ``[n_income, n_income]`` Markov matrix of the income states.
        asset_return: name of the return on wealth (default ``"r"``).
        discount: name of the discount factor (default ``"beta"``).
        name: the block's name in messages.
        hours_rule: between the endogenous grid points, hours are interpolated like
            consumption (``"interpolate"``, SSJ's ``hh_labor``; its steady states match SSJ's,
            but the intratemporal condition holds only to the interpolation's error, about
            1e-4.7 at the top of SSJ's HANK grid), or (``"intratemporal"``) consumption and
            savings stay on the chord between the endogenous points while hours solve the
            intratemporal condition and the point on the chord is the one where the budget
            holds: that condition then holds to rounding at every grid point and the Euler
            equation as accurately as with interpolated hours (each EGM step costs about
            three times more).

    Inputs (:attr:`inputs`): the discount factor, the asset return, the preferences'
    parameters and the income function's inputs. Outputs of a steady state: ``A`` (assets,
    ``Σ μ a'``), ``C``, ``N`` (hours), ``NE`` (effective hours ``Σ μ e n``; with exogenous
    labour ``n = 1``), ``UCE`` (``Σ μ e u_c``).
    """

    preferences: Preferences | Callable[..., Array]
    income: Callable[..., Array]
    wealth_grid: Any
    productivity: Any
    Pi: Any
    asset_return: str = "r"
    discount: str = "beta"
    name: str = "household"
    hours_rule: str = "interpolate"
    _income_inputs: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        prefs = self.preferences
        if not isinstance(prefs, Preferences):
            prefs = preferences(prefs)
            object.__setattr__(self, "preferences", prefs)
        grid = np.asarray(self.wealth_grid, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 2 or not np.all(np.diff(grid) > 0):
            raise ValueError(f"{self.name}: wealth_grid must be 1-D, increasing, >= 2 points")
        e = np.asarray(self.productivity, dtype=np.float64)
        Pi = np.asarray(self.Pi, dtype=np.float64)
        if e.ndim != 1 or not np.all(np.isfinite(e)) or np.any(e < 0):
            raise ValueError(
                f"{self.name}: productivity must be a 1-D array of finite values >= 0, got {e}"
            )
        if Pi.shape != (e.size, e.size):
            raise ValueError(
                f"{self.name}: Pi must be [n_income, n_income] = [{e.size}, {e.size}], "
                f"got {Pi.shape}"
            )
        if np.any(Pi < 0) or not np.allclose(Pi.sum(axis=1), 1.0, atol=1e-10):
            raise ValueError(f"{self.name}: Pi must be non-negative with rows summing to 1")
        if self.hours_rule not in ("interpolate", "intratemporal"):
            raise ValueError(
                f"{self.name}: hours_rule must be 'interpolate' or 'intratemporal', "
                f"got {self.hours_rule!r}"
            )
        object.__setattr__(self, "wealth_grid", grid)
        object.__setattr__(self, "productivity", e)
        object.__setattr__(self, "Pi", Pi)
        names = list(inspect.signature(self.income).parameters)
        head = ["e", "n"] if prefs.hours else ["e"]
        if names[: len(head)] != head:
            raise ValueError(
                f"{self.name}: the income function's first arguments must be {head}, got {names}"
            )
        object.__setattr__(self, "_income_inputs", tuple(names[len(head) :]))

    # --- the block's interface ---------------------------------------------------------------

    @property
    def hours(self) -> bool:
        """Whether hours are chosen."""
        return self.preferences.hours

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names the block reads from the model's values."""
        names = [self.discount, self.asset_return, *self.preferences.params, *self._income_inputs]
        return tuple(dict.fromkeys(names))

    @property
    def income_inputs(self) -> tuple[str, ...]:
        """Names the budget's non-asset income reads (its arguments after ``e`` and ``n``)."""
        return self._income_inputs

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("A", "C", "N", "NE", "UCE")

    @property
    def n_wealth(self) -> int:
        return self.wealth_grid.shape[0]

    @property
    def binding_rows(self) -> int:
        """Wealth points on which the EGM step first looks for households at the borrowing
        limit (an eighth of the grid, at least 8): when the limit binds only there, the
        constrained households' Newton solve runs on those rows alone."""
        return min(self.n_wealth, max(8, -(-self.n_wealth // 8)))

    @property
    def n_income(self) -> int:
        return self.productivity.shape[0]

    def check_inputs(self, values: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the first input the values do not provide."""
        for name in self.inputs:
            if name not in values:
                raise ValueError(
                    f"block {self.name!r} needs input {name!r}, which nothing provides "
                    f"(available: {', '.join(sorted(values))})"
                )

    @property
    def linear_in_hours(self) -> bool:
        """Whether income is affine in hours (then hours have a closed form for
        :func:`crra_labor`); known after :meth:`check_income` at concrete values."""
        return bool(getattr(self, "_linear_hours", False))

    # --- the economics, written once ---------------------------------------------------------

    def _u(self, values: Mapping[str, Any]) -> Callable[[Array, Array], Array]:
        p = {k: values[k] for k in self.preferences.params}
        f = self.preferences.utility
        if self.hours:
            return lambda c, n: f(c, n, **p)
        return lambda c, n: f(c, **p)

    def _y(self, values: Mapping[str, Any]) -> Callable[[Array, Array], Array]:
        p = {k: values[k] for k in self._income_inputs}
        if self.hours:
            return lambda e, n: self.income(e, n, **p)
        return lambda e, n: self.income(e, **p)

    def utility(self, c: Array, n: Array, values: Mapping[str, Any]) -> Array:
        """Period utility, elementwise."""
        return self._u(values)(c, n)

    def marginal_utility(self, c: Array, n: Array, values: Mapping[str, Any]) -> Array:
        """``u_c(c, n)``, elementwise (autodiff, closed form for the CRRA families)."""
        if self.preferences.family is not None:
            return _power(c, -1.0 / values["eis"])
        u = self._u(values)
        return _elementwise(jax.grad(u, 0), c, n)

    def income_at(self, n: Array, values: Mapping[str, Any]) -> Array:
        """The budget's non-asset income ``income(e, n)`` at hours ``n`` ``[..., n_income]``
        (the last axis the income state, whose productivity is ``e``), elementwise, in units
        of the good per period."""
        e = jnp.broadcast_to(jnp.asarray(self.productivity), jnp.shape(n))
        return self._y(values)(e, n)

    def intratemporal_error(self, c: Array, n: Array, values: Mapping[str, Any]) -> Array:
        """``−u_n / (u_c ∂income/∂n) − 1`` at consumption ``c`` and hours ``n``
        ``[..., n_income]``, elementwise: zero where hours satisfy the intratemporal condition
        (a household with hours only)."""
        u = self._u(values)
        e = jnp.broadcast_to(jnp.asarray(self.productivity), jnp.shape(n))
        u_c = self.marginal_utility(c, n, values)
        u_n = _elementwise(jax.grad(u, 1), c, n)
        y_n = _elementwise(jax.grad(self._y(values), 1), e, n)
        return -u_n / (u_c * y_n) - 1.0

    def cash_on_hand(self, n: Array, values: Mapping[str, Any]) -> Array:
        """``(1 + r) a + income(e, n)``, ``[n_wealth, n_income]``."""
        a = jnp.asarray(self.wealth_grid)[:, None]
        return (1.0 + values[self.asset_return]) * a + self.income_at(n, values)

    def _euler_inverse(self, x: Array, values: Mapping[str, Any]) -> tuple[Array, Array]:
        """Consumption and hours ``[n_wealth, n_income]`` at which ``u_c = x`` and the
        intratemporal condition ``−u_n = u_c ∂income/∂n`` holds (on the grid of savings)."""
        e = jnp.broadcast_to(jnp.asarray(self.productivity)[None, :], x.shape)
        family = self.preferences.family
        u = self._u(values)
        u_c, u_n = jax.grad(u, 0), jax.grad(u, 1)
        if family is not None:  # separable CRRA: c in closed form
            c = _power(x, -values["eis"])
        elif not self.hours:
            log_c = _newton(
                lambda lc, xi: jnp.log(u_c(jnp.exp(lc), 1.0)) - jnp.log(xi), -jnp.log(x), x
            )
            c = jnp.exp(log_c)
        if not self.hours:
            return c, jnp.ones_like(x)
        y_n = jax.grad(self._y(values), 1)
        if family == "crra_labor":
            # vphi n^(1/frisch) = x ∂income/∂n: closed form when income is linear in hours,
            # else Newton from it
            frisch, vphi = values["frisch"], values["vphi"]
            if self.linear_in_hours:
                return c, _power(x * _elementwise(y_n, e, jnp.ones_like(x)) / vphi, frisch)
            guess = jnp.log(x * _elementwise(y_n, e, jnp.ones_like(x)) / vphi) * frisch

            def hours(ln: Array, xi: Array, ei: Array) -> Array:
                return ln / frisch - jnp.log(xi * y_n(ei, jnp.exp(ln)) / vphi)

            return c, jnp.exp(_newton(hours, guess, x, e))

        def residual(z: Array, xi: Array, ei: Array) -> Array:
            c, n = jnp.exp(z[0]), jnp.exp(z[1])
            return jnp.stack(
                [jnp.log(u_c(c, n)) - jnp.log(xi), jnp.log(-u_n(c, n)) - jnp.log(xi * y_n(ei, n))]
            )

        z0 = jnp.stack([-jnp.log(x), jnp.zeros_like(x)], axis=-1)
        z = _newton(residual, z0, x, e)
        return jnp.exp(z[..., 0]), jnp.exp(z[..., 1])

    def hours_given_consumption(self, c: Array, guess: Array, values: Mapping[str, Any]) -> Array:
        """Hours ``[n_wealth, n_income]`` at which ``−u_n(c, n) = u_c(c, n) ∂income/∂n`` for
        consumption ``c``: closed form for :func:`crra_labor` with income linear in hours,
        else a Newton solve in ``log n`` from ``guess``."""
        e = jnp.broadcast_to(jnp.asarray(self.productivity)[None, :], c.shape)
        y_n = jax.grad(self._y(values), 1)
        if self.preferences.family == "crra_labor" and self.linear_in_hours:
            x = self.marginal_utility(c, guess, values)
            slope = _elementwise(y_n, e, jnp.ones_like(c))
            return _power(x * slope / values["vphi"], values["frisch"])
        u = self._u(values)
        u_c, u_n = jax.grad(u, 0), jax.grad(u, 1)

        def residual(ln: Array, ci: Array, ei: Array) -> Array:
            n = jnp.exp(ln)
            return jnp.log(-u_n(ci, n)) - jnp.log(u_c(ci, n) * y_n(ei, n))

        return jnp.exp(_newton(residual, jnp.log(guess), c, e))

    def static_choice(
        self,
        savings: Array,
        values: Mapping[str, Any],
        hours_guess: Array | None = None,
        where: Array | None = None,
    ) -> tuple[Array, Array]:
        """Consumption and hours ``[n_wealth, n_income]`` of households who save ``savings``:
        the budget and the intratemporal condition, a one-dimensional root in hours (Newton
        from ``hours_guess``, default 1). With ``where`` (boolean ``[n_wealth, n_income]``)
        only those households' are solved; elsewhere hours are the guess (and consumption
        what the budget leaves at them). ``savings`` may cover the first rows of the wealth
        grid alone (``[n_rows, n_income]``): those households are solved."""
        if not self.hours:
            n = jnp.ones_like(savings)
            return self.cash_on_hand(n, values) - savings, n
        a = jnp.asarray(self.wealth_grid)[: savings.shape[0], None] * jnp.ones_like(savings)
        e = jnp.broadcast_to(jnp.asarray(self.productivity)[None, :], savings.shape)
        R = 1.0 + values[self.asset_return]
        u, y = self._u(values), self._y(values)
        u_c, u_n, y_n = jax.grad(u, 0), jax.grad(u, 1), jax.grad(y, 1)

        if self.preferences.family == "crra_labor":
            # the same condition with the marginal utilities in closed form, in logs:
            # log vphi + log(n) / frisch = −log(c) / eis + log ∂income/∂n (no powers to take)
            log_vphi = jnp.log(values["vphi"])
            inv_eis, inv_frisch = 1.0 / values["eis"], 1.0 / values["frisch"]

            def residual(ln: Array, ai: Array, ei: Array, si: Array) -> Array:
                n = jnp.exp(ln)
                c = jnp.maximum(R * ai + y(ei, n) - si, 1e-300)
                return log_vphi + ln * inv_frisch + jnp.log(c) * inv_eis - jnp.log(y_n(ei, n))

        else:

            def residual(ln: Array, ai: Array, ei: Array, si: Array) -> Array:
                n = jnp.exp(ln)
                c = R * ai + y(ei, n) - si
                c = jnp.maximum(c, 1e-300)
                return jnp.log(-u_n(c, n)) - jnp.log(u_c(c, n) * y_n(ei, n))

        start = jnp.zeros_like(savings) if hours_guess is None else jnp.log(hours_guess)
        ln = _newton(residual, start, a, e, savings, active=where)
        n = jnp.exp(ln)
        return R * a + y(e, n) - savings, n

    def egm_step(
        self, marginal_next: Array, values: Mapping[str, Any], Pi: Array | None = None
    ) -> HouseholdPolicy:
        """One backward EGM step: this period's policy given ``∂V/∂a`` of next period
        (``[n_wealth, n_income]``) and this period's values (discount, return, prices …);
        ``Pi`` is this period's income transition (default the block's)."""
        a = jnp.asarray(self.wealth_grid, dtype=marginal_next.dtype)
        beta = values[self.discount]
        Pi = jnp.asarray(self.Pi if Pi is None else Pi, dtype=marginal_next.dtype)
        # E[∂V'/∂a | e] = Σ_e' Pi[e, e'] ∂V'/∂a(e'): a small matrix product (on CPU it costs
        # less here than unrolled weighted sums of columns, which XLA fuses with the
        # transposed reads of what follows and then runs several times slower)
        expected = beta * (marginal_next @ Pi.T)
        c_endo, n_endo = self._euler_inverse(expected, values)
        e = jnp.broadcast_to(jnp.asarray(self.productivity)[None, :], c_endo.shape)
        R = 1.0 + values[self.asset_return]
        # wealth today at which saving a' (the grid) is optimal: the budget read backwards
        a_endo = (c_endo + a[:, None] - self._y(values)(e, n_endo)) / R

        # with no value of saving (V' = 0, e.g. the last period of a finite horizon) the
        # endogenous grid is infinite and every household is at the borrowing limit
        no_value = ~jnp.isfinite(a_endo[0])[None, :]
        a_endo = jnp.where(no_value, a[:, None] + jnp.arange(a.shape[0])[:, None], a_endo)
        if self.hours:
            # consumption interpolated; hours interpolated too (SSJ's hh_labor, the default)
            # or from the intratemporal condition at that consumption (hours_rule
            # "intratemporal": it then holds at every grid point, not only at the endogenous
            # ones); savings from the budget; at the borrowing limit, consumption and hours
            # from the static problem
            if self.hours_rule == "intratemporal":
                c, n, savings = self._on_chords(a_endo, c_endo, n_endo, R, values)
            else:
                c, n = _interp_columns(a, a_endo, c_endo, n_endo)  # per income state
                savings = R * a[:, None] + self._y(values)(e, n) - c
            binds = (savings < a[0]) | no_value
            limit = jnp.full_like(savings, a[0])
            # Newton from the interpolated hours, close to the constrained ones
            guess = _hours_start(n)

            def at_limit(rows: int) -> tuple[Array, Array]:
                # the households on the first `rows` wealth points, solved where the limit
                # binds alone (the others' would be discarded)
                c_rows, n_rows = self.static_choice(
                    limit[:rows], values, guess[:rows], where=binds[:rows]
                )
                return (
                    jnp.concatenate([c_rows, c[rows:]]),
                    jnp.concatenate([n_rows, n[rows:]]),
                )

            # savings rise with wealth, so the limit binds on the first rows of each column:
            # usually a few, and Newton then runs on those rows, not on the whole grid
            rows = self.binding_rows
            if rows < self.n_wealth:
                c_limit, n_limit = jax.lax.cond(
                    jnp.any(binds[rows:]),
                    lambda: at_limit(self.n_wealth),
                    lambda: at_limit(rows),
                )
            else:
                c_limit, n_limit = at_limit(self.n_wealth)
            savings = jnp.where(binds, a[0], savings)
            c, n = jnp.where(binds, c_limit, c), jnp.where(binds, n_limit, n)
        else:
            savings = _interp_columns(a, a_endo, jnp.broadcast_to(a[:, None], a_endo.shape))
            # below a_endo[0] the borrowing limit binds; consumption stays positive
            cash = self.cash_on_hand(jnp.ones_like(savings), values)
            savings = jnp.where(no_value, a[0], jnp.clip(savings, a[0], cash - C_MIN))
            c, n = self.static_choice(savings, values)
        return HouseholdPolicy(
            savings=savings,
            consumption=c,
            hours=n,
            marginal_value=R * self.marginal_utility(c, n, values),
        )

    def _on_chords(
        self, a_endo: Array, c_endo: Array, n_endo: Array, R: Array, values: Mapping[str, Any]
    ) -> tuple[Array, Array, Array]:
        """Consumption, hours and savings at the wealth grid (hours_rule "intratemporal").

        Between two endogenous grid points, consumption and savings lie on the chord that
        joins them, as when everything is interpolated, so that the Euler equation is kept
        as accurately; but hours are the intratemporal condition's at that consumption, and
        the point on the chord is the one at which the budget holds with those hours: a root
        in the chord's parameter, by Newton from the interpolated point (where the budget is
        nearly linear on the chord, so that a few steps reach rounding)."""
        a = jnp.asarray(self.wealth_grid, dtype=c_endo.dtype)
        lower, upper, t0 = _segments(a, a_endo)
        savings_endo = jnp.broadcast_to(a[:, None], c_endo.shape).ravel()
        c_lo, c_hi = c_endo.ravel()[lower], c_endo.ravel()[upper]
        s_lo, s_hi = savings_endo[lower], savings_endo[upper]
        n_lo = n_endo.ravel()[lower]
        guess = _hours_start(n_lo + (n_endo.ravel()[upper] - n_lo) * t0)
        e = jnp.broadcast_to(jnp.asarray(self.productivity)[None, :], c_lo.shape)
        cash = R * a[:, None]
        income = self._y(values)

        def on_chord(t: Array) -> tuple[Array, Array]:
            c = c_lo + (c_hi - c_lo) * t
            # below the first endogenous point the chord can leave c > 0; those households
            # are at the borrowing limit and solved apart
            c = jnp.where(c > 0, c, c_lo)
            return c, self.hours_given_consumption(c, guess, values)

        def gap(t: Array) -> Array:
            c, n = on_chord(t)
            return c + s_lo + (s_hi - s_lo) * t - cash - income(e, n)

        t = t0
        for _ in range(CHORD_NEWTON_STEPS):
            value, slope = jax.jvp(gap, (t,), (jnp.ones_like(t),))
            t = t - value / slope
        c, n = on_chord(t)
        return c, n, s_lo + (s_hi - s_lo) * t

    def initial_policy(self, values: Mapping[str, Any]) -> HouseholdPolicy:
        """A start for backward iteration: save a tenth of cash on hand above the limit."""
        n = jnp.ones((self.n_wealth, self.n_income))
        m = self.cash_on_hand(n, values)
        a_min = self.wealth_grid[0]
        savings = a_min + 0.1 * jnp.maximum(m - a_min, 0.0)
        c, n = self.static_choice(savings, values)
        R = 1.0 + values[self.asset_return]
        return HouseholdPolicy(savings, c, n, R * self.marginal_utility(c, n, values))

    def kernel(self, Pi: Array | None = None) -> LotteryKernel:
        """The lottery kernel whose continuous action is next wealth's place on the grid:
        share ``x = (a' − a_min) / (a_max − a_min)`` (:meth:`savings_share`), then ``Pi``."""
        grid = jnp.asarray(self.wealth_grid)
        shape = (self.n_wealth, self.n_income)
        return LotteryKernel(
            wealth_grid=grid,
            low=jnp.full(shape, grid[0]),
            high=jnp.full(shape, grid[-1]),
            Pi=jnp.asarray(self.Pi if Pi is None else Pi),
        )

    def savings_share(self, savings: Array) -> Array:
        """The kernel's action ``[n_states]`` for a savings policy ``[n_wealth, n_income]``."""
        lo, hi = self.wealth_grid[0], self.wealth_grid[-1]
        return jnp.clip((savings - lo) / (hi - lo), 0.0, 1.0).ravel()

    def aggregate(
        self, policy: HouseholdPolicy, mu: Array, values: Mapping[str, Any]
    ) -> dict[str, Array]:
        """The block's outputs from a policy and a distribution ``[n_states]``."""
        d = jnp.reshape(mu, (self.n_wealth, self.n_income))
        e = jnp.asarray(self.productivity)[None, :]
        uc = self.marginal_utility(policy.consumption, policy.hours, values)
        return {
            "A": jnp.sum(d * policy.savings),
            "C": jnp.sum(d * policy.consumption),
            "N": jnp.sum(d * policy.hours),
            "NE": jnp.sum(d * e * policy.hours),
            "UCE": jnp.sum(d * e * uc),
        }

    def check_preferences(self, values: Mapping[str, Any]) -> None:
        """``ValueError`` unless utility is increasing and concave in consumption on a range of
        consumption ``(0.01 … 100) × `` mean cash on hand, hours 1 (checked before solving)."""
        shape = (self.n_wealth, self.n_income)
        m = float(np.mean(np.asarray(self.cash_on_hand(jnp.ones(shape), values))))
        c = jnp.geomspace(1e-2, 1e2, 41) * max(abs(m), 1e-3)
        n = jnp.ones_like(c) * (0.5 if self.hours else 1.0)
        params = {k: jnp.asarray(values[k]) for k in self.preferences.params}
        du, d2u = _utility_slopes(self, c, n, params)
        if not bool(jnp.all(jnp.isfinite(du))) or not bool(jnp.all(du > 0)):
            bad = float(c[jnp.argmin(jnp.where(jnp.isfinite(du), du, -jnp.inf))])
            raise ValueError(
                f"block {self.name!r}: preferences must be increasing in consumption; "
                f"u_c <= 0 or not finite at c={bad:.4g}"
            )
        if not bool(jnp.all(d2u < 0)):
            bad = float(c[jnp.argmax(d2u)])
            raise ValueError(
                f"block {self.name!r}: preferences must be strictly concave in consumption; "
                f"u_cc >= 0 at c={bad:.4g}"
            )

    def check_income(self, values: Mapping[str, Any]) -> None:
        """``ValueError`` if income is not finite or has the wrong shape."""
        e = jnp.asarray(self.productivity)
        out = self._y(values)(e, jnp.ones_like(e))
        out = jnp.asarray(out)
        if out.shape not in ((), e.shape):
            raise ValueError(
                f"block {self.name!r}: income must return one value per income state "
                f"({e.shape}), got shape {out.shape}"
            )
        if not bool(jnp.all(jnp.isfinite(out))):
            raise ValueError(f"block {self.name!r}: income is not finite: {np.asarray(out)}")
        if self.hours and not hasattr(self, "_linear_hours"):
            y = self._y(values)
            d2 = jax.grad(jax.grad(lambda ei, n: jnp.sum(y(ei, n)), 1), 1)
            curvature = [float(d2(ei, n)) for ei in e for n in (0.3, 1.0, 2.5)]
            object.__setattr__(self, "_linear_hours", bool(np.max(np.abs(curvature)) < 1e-12))


def _hours_start(n: Array) -> Array:
    """A Newton start for hours from interpolated ones (1 where they are not positive and
    finite); no derivative flows through a start."""
    return jax.lax.stop_gradient(jnp.where(jnp.isfinite(n) & (n > 0), n, 1.0))


@partial(jax.jit, static_argnums=0)
def _utility_slopes(
    block: HouseholdBlock, c: Array, n: Array, params: dict[str, Array]
) -> tuple[Array, Array]:
    """``u_c`` and ``u_cc`` at ``(c, n)`` (compiled once per block: run op by op, the
    autodiff of the utility costs more than a steady state's evaluations)."""
    u = block._u(params)
    return _elementwise(jax.grad(u, 0), c, n), _elementwise(jax.grad(jax.grad(u, 0), 0), c, n)


def _power(x: Array, p: Any) -> Array:
    """``x ** p``; for a concrete exponent, the cheap form XLA does not find by itself
    (integer powers by multiplication, ``±½`` by square roots)."""
    if isinstance(p, int | float) and not isinstance(p, bool):
        if float(p).is_integer() and abs(p) <= 8:
            return jax.lax.integer_pow(x, int(p))
        if p == 0.5:
            return jnp.sqrt(x)
        if p == -0.5:
            return jax.lax.rsqrt(x)
    return x**p


def _elementwise(f: Callable[[Array, Array], Array], x: Array, y: Array) -> Array:
    """``f`` (scalar) applied elementwise over broadcast ``x, y``."""
    x, y = jnp.broadcast_arrays(x, y)
    out = jax.vmap(f)(x.ravel(), y.ravel())
    return out.reshape(x.shape)


def _newton(g: Callable[..., Array], z0: Array, *args: Array, active: Array | None = None) -> Array:
    """Solve ``g(z, *args) = 0`` elementwise by Newton from ``z0`` (scalar ``z``, or a vector
    in ``z0``'s last axis); steps clipped to 1 (``z`` are logs), at most :data:`NEWTON_STEPS`,
    stopping where ``|g| <= NEWTON_TOL``. Returns ``z`` (NaN where it did not converge).
    Where ``active`` (boolean, the shape of ``args[0]``) is false, nothing is solved: ``z`` is
    ``z0``, with derivative 0 (each element iterates on its own, so this changes nothing
    where it is true; the loop stops once the active elements have converged).

    Derivatives come from the implicit function theorem at the root (``g_z dz = −g_a da``),
    not from differentiating the iterations: a linearisation holds no Newton loop."""
    vector = z0.ndim == args[0].ndim + 1
    shape = args[0].shape
    flat = [jnp.broadcast_to(v, shape).ravel() for v in args]
    act = jnp.ones(shape, dtype=bool) if active is None else jnp.broadcast_to(active, shape)
    act = act.ravel()
    z0 = z0.reshape(-1, z0.shape[-1]) if vector else z0.ravel()
    # what g closes over (prices, parameters — traced under jit or autodiff) becomes explicit
    # arguments, so that the custom derivative below sees them
    g_explicit, consts = jax.closure_convert(g, z0[0], *(v[0] for v in flat))
    n_args = len(flat)
    jac = jax.jacfwd(g_explicit, 0)

    def masked(on: Array, value: Array, slope: Array) -> tuple[Array, Array]:
        """Residual 0 and slope 1 (the identity) where ``on`` is false: no step there."""
        one = jnp.eye(slope.shape[-1], dtype=slope.dtype) if vector else jnp.ones_like(slope)
        return jnp.where(on, value, 0.0), jnp.where(on, slope, one)

    @jax.custom_jvp
    def solve(z: Array, on: Array, *rest: Array) -> Array:
        # the residual and its slope at the iterate travel with it: each iteration evaluates
        # them once, together (XLA shares their common terms), and the test of convergence
        # reads the residual instead of evaluating it again
        def at(zi: Array) -> tuple[Array, Array]:
            if vector:
                return masked(on, g_explicit(zi, *rest), jac(zi, *rest))
            # one pass for both: the derivative in the direction 1 is the slope
            return masked(on, *jax.jvp(lambda y: g_explicit(y, *rest), (zi,), (jnp.ones_like(zi),)))

        def cond(state: tuple[Array, Array, Array, Array]) -> Array:
            _, value, _, k = state
            return (jnp.max(jnp.abs(value)) > NEWTON_TOL) & (k < NEWTON_STEPS)

        def body(state: tuple[Array, Array, Array, Array]) -> tuple[Array, Array, Array, Array]:
            zi, value, slope, k = state
            dz = jnp.linalg.solve(slope, value) if vector else value / slope
            z_next = zi - jnp.clip(dz, -1.0, 1.0)
            return (z_next, *at(z_next), k + 1)

        zi, value, _, _ = jax.lax.while_loop(cond, body, (z, *at(z), jnp.asarray(0)))
        converged = jnp.max(jnp.abs(value)) <= NEWTON_TOL * 1e3
        return jnp.where(converged, zi, jnp.nan)

    @solve.defjvp
    def solve_jvp(primals: tuple, tangents: tuple) -> tuple[Array, Array]:
        z, on, *rest = primals
        root = solve(z, on, *rest)
        _, g_dot = jax.jvp(lambda *b: g_explicit(root, *b), tuple(rest), tuple(tangents[2:]))
        g_dot, slope = masked(on, g_dot, jac(root, *rest))
        dz = jnp.linalg.solve(slope, g_dot) if vector else g_dot / slope
        return root, -dz

    axes = (0,) * (2 + n_args) + (None,) * len(consts)
    z = jax.vmap(solve, in_axes=axes)(z0, act, *flat, *consts)
    return z.reshape((*shape, -1)) if vector else z.reshape(shape)
