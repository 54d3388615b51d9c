"""Calibrate a household parameter so that the stationary equilibrium hits a target.

Two equilibrium targets are supported, both in model units per period:

* the net interest rate ``r`` (e.g. 0.03 a year);
* the capital–output ratio ``K / Y`` (e.g. 3 years of output).

With the Cobb–Douglas firm ``Y = A K^α L^(1-α)`` both pin down the same thing, because the
rental rate is ``r + δ = α Y / K``:

    K / Y = α / (r + δ)    ⇔    r = α / (K / Y) − δ.

A target therefore fixes the equilibrium prices — ``r`` and the wage ``w(r)`` of the
factor-price frontier — and the capital the firm demands, ``K_d(r) = L (α A / (r + δ))^(1/(1-α))``.
The parameter ``x`` (``beta`` by default) is then the root of households' excess capital at
those prices,

    F(x) = K_s(r, w; x) − K_d(r) = 0,

with ``K_s`` the mean wealth of the stationary distribution under the households' EGM policy
(:func:`hank_mfg.solvers.stationary.capital_supply`), found by Brent's method on ``bounds``.
This is the equilibrium condition itself, solved for ``x`` instead of ``r``: at the root the
target rate clears the capital market, so it *is* the equilibrium rate. The result is then
re-solved from scratch by :func:`~hank_mfg.solvers.stationary.stationary_equilibrium` (Brent on
``r``), whose rate matches the target to the solvers' tolerances (~1e-12).

Solving for ``x`` at fixed prices rather than running an equilibrium per trial ``x`` costs one
household solve per Brent step instead of a whole inner root-finding, and avoids nesting two
root-finders' tolerances.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.optimize

from hank_mfg.calibration.presets import Calibration, HouseholdCalibration
from hank_mfg.core.checks import check_finite, check_in_range
from hank_mfg.models.aiyagari import aiyagari, aiyagari_model, calibration_parameters
from hank_mfg.solvers.stationary import (
    aggregate_labour,
    capital_supply,
    check_natural_limit,
    prices_at_rate,
    stationary_equilibrium,
)

if TYPE_CHECKING:
    from hank_mfg.solvers.stationary import StationaryEquilibrium

__all__ = ["calibrate_beta", "calibrate_household", "target_interest_rate"]

#: Default Brent tolerance on the calibrated parameter.
DEFAULT_TOL = 1e-10

#: Relative excess capital ``|log(K_s / K_d)|`` at which the search stops before ``tol`` is met.
#: Capital supply is computed to about 1e-10 relative (EGM to 1e-12 in savings, warm-started),
#: and ``log(K_s / K_d)`` moves by hundreds per unit of ``r`` or ``beta``, so this leaves the
#: equilibrium rate within ~1e-11 of its target.
_CAPITAL_RTOL = 1e-9

#: Distance of the first trial ``beta`` below ``1 / (1 + r)``, where households' wealth diverges.
_BETA_GAP = 1e-3


def target_interest_rate(
    calibration: Calibration,
    *,
    target_r: float | None = None,
    target_capital_output: float | None = None,
    r_max: float | None = None,
) -> float:
    """The net interest rate implied by exactly one target, validated.

    ``target_r`` is returned as is; ``target_capital_output`` (``K / Y``, in periods of output)
    is converted by ``r = α / (K / Y) − δ`` (Cobb–Douglas). The rate must lie in
    ``(−δ, r_max)``: above ``−δ`` for a finite capital demand, below ``r_max`` (default
    ``1/β − 1`` of the calibration) for households' wealth to stay bounded.

    Raises:
        ValueError: naming the target, if none or both are given or the target is out of range.
    """
    if (target_r is None) == (target_capital_output is None):
        raise ValueError(
            "give exactly one target: target_r or target_capital_output, got "
            f"target_r={target_r!r}, target_capital_output={target_capital_output!r}"
        )
    alpha, delta = calibration.firm.alpha, calibration.firm.delta
    r_hi = 1.0 / calibration.household.beta - 1.0 if r_max is None else float(r_max)
    if target_r is not None:
        return check_in_range("target_r", target_r, -delta, r_hi, low_open=True, high_open=True)
    # K/Y = α / (r + δ) is decreasing in r: r in (−δ, r_hi)  ⇔  K/Y in (α / (r_hi + δ), ∞)
    ky = check_in_range(
        "target_capital_output",
        target_capital_output,
        alpha / (r_hi + delta),
        math.inf,
        low_open=True,
        high_open=True,
    )
    return alpha / ky - delta


def _check_parameter(calibration: Calibration, parameter: str) -> float:
    """The current value of a real-valued household parameter, or ``ValueError``."""
    names = {f.name for f in dataclasses.fields(HouseholdCalibration)}
    value = getattr(calibration.household, parameter, None) if parameter in names else None
    if not isinstance(value, float):
        allowed = sorted(
            f.name
            for f in dataclasses.fields(HouseholdCalibration)
            if isinstance(getattr(calibration.household, f.name), float)
        )
        raise ValueError(
            f"parameter must name a real-valued household parameter, one of {allowed}, "
            f"got {parameter!r}"
        )
    return value


def _check_bounds(parameter: str, bounds: Any) -> tuple[float, float]:
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise ValueError(
            f"bounds for {parameter} must be a pair (low, high), got {bounds!r}"
        ) from None
    lo = check_finite(f"bounds[0] ({parameter})", lo)
    hi = check_in_range(f"bounds[1] ({parameter})", hi, lo, math.inf, low_open=True)
    return lo, hi


class _Converged(Exception):
    """Raised inside the root-finder when the excess capital is zero to solver precision."""

    def __init__(self, root: float) -> None:
        super().__init__(root)
        self.root = root


def _log_ratio(k: float, k_ref: float, floor: float = 0.1) -> float:
    """``log(k / k_ref)``, continued linearly (C¹, increasing) below ``k = floor · k_ref``.

    A monotone rescaling of capital supply with the same root as ``k − k_ref``: near linear in
    the calibrated parameter where ``k`` grows steeply, and defined for ``k <= 0`` too.
    """
    if k >= floor * k_ref:
        return math.log(k / k_ref)
    return math.log(floor) + (k - floor * k_ref) / (floor * k_ref)


def _with_parameter(calibration: Calibration, parameter: str, value: float) -> Calibration:
    """The calibration with one household parameter replaced (re-validated)."""
    household = dataclasses.replace(calibration.household, **{parameter: float(value)})
    return dataclasses.replace(calibration, household=household)


def calibrate_household(
    calibration: Calibration,
    parameter: str,
    *,
    target_r: float | None = None,
    target_capital_output: float | None = None,
    bounds: tuple[float, float],
    tol: float = DEFAULT_TOL,
) -> tuple[Calibration, StationaryEquilibrium]:
    """Set one scalar household parameter so that the stationary equilibrium hits a target.

    The parameter ``x`` solves ``K_s(r*, w(r*); x) = K_d(r*)`` at the target rate ``r*`` (see
    the module docstring), by Brent's method on ``bounds`` to tolerance ``tol`` in ``x``;
    the calibration is rebuilt with :func:`dataclasses.replace`, which re-validates it.

    Args:
        calibration: an economy without aggregate risk whose households have an income process
            (Aiyagari-type, e.g. :func:`~hank_mfg.calibration.aiyagari_1994`).
        parameter: a real-valued field of :class:`HouseholdCalibration`, e.g. ``"beta"``,
            ``"crra"`` or ``"borrowing_limit"``.
        target_r: the equilibrium net interest rate per period, in ``(−δ, 1/β − 1)``.
        target_capital_output: the equilibrium capital–output ratio ``K / Y`` (periods of
            output), ``> α / (1/β − 1 + δ)``. Give exactly one of the two targets.
        bounds: ``(low, high)`` for the parameter; excess capital must change sign on it.
        tol: Brent's absolute tolerance on the parameter, > 0.

    Returns:
        The calibration with the new parameter value, and its
        :class:`~hank_mfg.solvers.stationary.StationaryEquilibrium`.

    Raises:
        ValueError: naming the offending argument, for a bad parameter name, bounds, tolerance
            or target, or when no parameter value in ``bounds`` attains the target.
    """
    if not isinstance(calibration, Calibration):
        raise ValueError(f"calibration must be a Calibration, got {type(calibration).__name__}")
    if calibration.household.income is None:
        raise ValueError(
            f"calibration {calibration.name!r} has no household income process (e.g. a "
            "Krusell–Smith economy): it has no stationary equilibrium to calibrate"
        )
    _check_parameter(calibration, parameter)
    lo, hi = _check_bounds(parameter, bounds)
    tol = check_in_range("tol", tol, 0.0, math.inf, low_open=True, high_open=True)
    r_max = None
    if parameter == "beta":
        lo = check_in_range("bounds[0] (beta)", lo, 0.0, 1.0, low_open=True, high_open=True)
        hi = check_in_range("bounds[1] (beta)", hi, lo, 1.0, low_open=True, high_open=True)
        r_max = 1.0 / lo - 1.0  # the most patient households allowed save without bound above
    r = target_interest_rate(
        calibration, target_r=target_r, target_capital_output=target_capital_output, r_max=r_max
    )
    economy = aiyagari(calibration, horizon=1)
    L = aggregate_labour(economy)
    prices = prices_at_rate(economy, r, L)
    K_d = prices.K
    warm: list[Any] = [None]
    cache: dict[float, float] = {}

    def excess_capital(x: float) -> float:
        """``K_s(r*, w*; x) − K_d(r*)``, in units of the good (each ``x`` solved once)."""
        if x not in cache:
            changed = _with_parameter(calibration, parameter, x)
            block = economy.household
            if not np.array_equal(changed.household.wealth_grid, block.wealth_grid):
                block = aiyagari_model(changed).household  # e.g. a new borrowing limit
            values = {**prices.values, **calibration_parameters(changed)}
            check_natural_limit(block, values)
            K_s, policy, mu, _ = capital_supply(block, values, warm[0])
            warm[0] = (policy.consumption, mu)
            cache[x] = K_s - K_d
        return cache[x]

    # Each trial value costs a household solve (EGM to its fixed point and the stationary
    # distribution), so the search is set up to need few of them: Brent's method runs on
    # ``log``-scaled excess capital (wealth grows steeply in patience and risk aversion), and
    # for ``beta`` in ``z = −log(β_sup − β)`` with ``β_sup = 1 / (1 + r)``, where a bounded
    # household problem ends (``β (1 + r) < 1``): ``log K_s`` is nearly linear in ``z``.
    def scaled(k: float) -> float:
        return _log_ratio(k + K_d, K_d)

    if parameter == "beta":
        beta_sup = 1.0 / (1.0 + r)

        def to_x(z: float) -> float:
            return beta_sup - math.exp(-z)

        def to_z(x: float) -> float:
            return -math.log(beta_sup - x)

        # evaluations near β_sup are slow (EGM and the distribution contract at rate
        # β (1 + r)): approach it only as far as needed
        top = hi if hi < beta_sup else max(0.5 * (lo + beta_sup), beta_sup - _BETA_GAP)
        f_lo, f_hi = excess_capital(lo), excess_capital(top)
        while f_hi <= 0 and hi >= beta_sup and beta_sup - top > 1e-6:
            top = beta_sup - 0.1 * (beta_sup - top)
            f_hi = excess_capital(top)
        hi = top
        xtol = tol / (beta_sup - lo)  # dβ/dz = β_sup − β <= β_sup − low
    else:

        def to_x(z: float) -> float:
            return z

        to_z = to_x
        f_lo, f_hi = excess_capital(lo), excess_capital(hi)
        xtol = tol
    if not np.sign(f_lo) * np.sign(f_hi) < 0:
        raise ValueError(
            f"no {parameter} in bounds ({lo:.6g}, {hi:.6g}) attains r = {r:.6g}: households' "
            f"excess capital is {f_lo:.4g} and {f_hi:.4g} at the two ends; widen the bounds"
        )

    def objective(z: float) -> float:
        value = scaled(excess_capital(to_x(z)))
        if abs(value) <= _CAPITAL_RTOL:  # K_s = K_d to solver precision: stop early
            raise _Converged(z)
        return value

    try:
        z = scipy.optimize.brentq(
            objective, to_z(lo), to_z(hi), xtol=xtol, rtol=4 * np.finfo(float).eps
        )
    except _Converged as done:
        z = done.root
    x = to_x(z)
    calibrated = _with_parameter(calibration, parameter, x)
    economy = aiyagari(calibrated, horizon=1)
    # a narrow bracket around the target rate (the root of the equilibrium's excess capital)
    r_sup = 1.0 / calibrated.household.beta - 1.0
    width = 1e-3 * max(1.0, abs(r))
    delta = calibrated.firm.delta
    r_bounds = (max(r - width, 0.5 * (r - delta)), min(r + width, 0.5 * (r + r_sup)))
    try:
        eq = stationary_equilibrium(economy, r_bounds=r_bounds)
    except ValueError:  # no sign change in the narrow bracket: search the whole range
        eq = stationary_equilibrium(economy)
    return calibrated, eq


def calibrate_beta(
    calibration: Calibration,
    *,
    target_r: float | None = None,
    target_capital_output: float | None = None,
    bounds: tuple[float, float] = (0.8, 0.999),
    tol: float = DEFAULT_TOL,
) -> tuple[Calibration, StationaryEquilibrium]:
    """The discount factor ``β`` at which the stationary equilibrium hits a target.

    Give exactly one target: the net interest rate per period ``target_r`` (e.g. 0.03), in
    ``(−δ, 1/β_low − 1)``, or the capital–output ratio ``target_capital_output`` (e.g. 3
    years), equivalent to ``r = α / (K / Y) − δ``. ``β`` is searched in ``bounds`` (within
    (0, 1)) below ``1 / (1 + r)``, where households' wealth diverges; ``tol`` is Brent's
    tolerance on ``β``. See :func:`calibrate_household`.

    Returns:
        The calibration with the new ``household.beta``, and its stationary equilibrium.

    Raises:
        ValueError: naming the offending argument (targets, bounds, tol), or when no ``β`` in
            ``bounds`` attains the target.
    """
    return calibrate_household(
        calibration,
        "beta",
        target_r=target_r,
        target_capital_output=target_capital_output,
        bounds=bounds,
        tol=tol,
    )
