"""Steady states of block models: solve the named unknowns so that the named targets hold.

``steady_state(model, calibration, unknowns={"beta": (0.9, 0.99)}, targets={"asset_mkt": 0})``
evaluates the model's blocks in dependency order — the household block by a stationary EGM
fixed point and the exact stationary distribution of its lottery kernel — and finds the
unknowns with scipy's root-finders: Brent's method on a bracket for one unknown, Powell's
hybrid method from a guess for several.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from hank_mfg.models.household_block import HouseholdBlock, HouseholdPolicy
from hank_mfg.models.model import Model
from hank_mfg.solvers.egm import household_inputs, initial_policy
from hank_mfg.solvers.stationary import (
    direct_stationary,
    loose_tolerance,
    refined_tolerance,
    stationary_policy,
)

__all__ = ["HouseholdSteadyState", "SteadyState", "euler_errors", "solve_household", "steady_state"]

Array = jax.Array

#: EGM iterations allowed for one stationary household problem.
EGM_MAX_ITER = 20_000


@dataclass(frozen=True)
class HouseholdSteadyState:
    """A household's stationary policy and distribution.

    Attributes:
        policy: :class:`~hank_mfg.models.household_block.HouseholdPolicy` (NumPy arrays).
        mu: ``[n_wealth, n_income]`` stationary distribution (mass 1, >= 0).
        outputs: the block's aggregates (``A``, ``C``, ``N``, ``NE``, ``UCE``).
        iterations: EGM iterations; change: the last sup-norm change of savings.
    """

    policy: HouseholdPolicy
    mu: np.ndarray
    outputs: dict[str, float]
    iterations: int
    change: float


def solve_household(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    *,
    tol: float = 1e-12,
    max_iter: int = EGM_MAX_ITER,
    warm: HouseholdPolicy | None = None,
    static: Sequence[str] | None = None,
    reuse: dict[str, Any] | None = None,
) -> HouseholdSteadyState:
    """The household's stationary policy at constant ``values`` (discount factor, return,
    prices, parameters) and its exact stationary distribution.

    Raises:
        ValueError: an input missing, or a policy that is not finite (the message names the
            wealth and income state where it first fails).
        RuntimeError: EGM did not converge in ``max_iter`` iterations.

    ``static`` names inputs compiled into the solve as constants (default: the preferences'
    parameters, so that e.g. ``eis = 0.5`` makes powers square roots); each new value of one
    compiles again, so inputs that vary across calls (unknowns) should not be static.
    ``reuse``, a dict kept across calls at nearby values, lets the distribution's solve start
    from the last call's factorisation (the result is the same to rounding).
    """
    if static is None:  # preference parameters are compiled in (cheap powers)
        static = block.preferences.params
    block.check_income({k: jnp.asarray(values[k]) for k in block.inputs if k in values})
    traced, fixed = household_inputs(block, values, static)
    start = initial_policy(block, traced, fixed) if warm is None else warm
    start = jax.tree_util.tree_map(jnp.asarray, start)
    policy, it, change, _, idx, weights = stationary_policy(
        block, traced, jnp.asarray(tol), start, max_iter=max_iter, fixed=fixed
    )
    policy = jax.tree_util.tree_map(np.asarray, policy)
    for name in ("savings", "consumption", "hours", "marginal_value"):
        bad = ~np.isfinite(getattr(policy, name))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(
                f"block {block.name!r}: {name} is not finite at wealth {block.wealth_grid[i]:.6g} "
                f"(point {i}), income state {j}: the Euler or intratemporal condition has no "
                f"solution there at {_describe(values, block.inputs)}"
            )
    if not float(change) <= tol:
        raise RuntimeError(
            f"block {block.name!r}: EGM did not converge in {max_iter} iterations "
            f"(change {float(change):.3g}) at {_describe(values, block.inputs)}"
        )
    mu = direct_stationary(np.asarray(idx), np.asarray(weights, dtype=np.float64), reuse)
    mu = np.clip(mu, 0.0, None)
    mu = (mu / mu.sum()).reshape(block.n_wealth, block.n_income)
    outputs = {k: float(v) for k, v in _aggregate(block, policy, mu, traced, fixed).items()}
    return HouseholdSteadyState(policy, mu, outputs, int(it), float(change))


@partial(jax.jit, static_argnames=("block", "fixed"))
def _aggregate(
    block: HouseholdBlock,
    policy: HouseholdPolicy,
    mu: Array,
    values: dict[str, Array],
    fixed: tuple[tuple[str, float], ...],
) -> dict[str, Array]:
    return block.aggregate(policy, mu, {**values, **dict(fixed)})


def _describe(values: Mapping[str, Any], names: Sequence[str]) -> str:
    return ", ".join(f"{k}={float(values[k]):.6g}" for k in names if k in values)


@dataclass(frozen=True)
class SteadyState:
    """A model's steady state.

    Attributes:
        model: the model; values: every variable (calibration, unknowns, block outputs).
        household: the household's :class:`HouseholdSteadyState`.
        unknowns: the solved unknowns; residuals: the targets' residuals at the solution.
        seconds: wall time of the solve.
    """

    model: Model
    values: dict[str, float]
    household: HouseholdSteadyState
    unknowns: dict[str, float]
    residuals: dict[str, float]
    seconds: float = 0.0
    evaluations: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset``: the household's policies and distribution on
        ``(wealth, income)``, every scalar value in ``attrs`` (``value_NAME``)."""
        import xarray as xr

        block = self.model.household
        dims = ("wealth", "income")
        p = self.household.policy
        units = "consumption good"
        data = {
            "savings": (dims, p.savings, {"units": units, "long_name": "next-period wealth a'"}),
            "consumption": (dims, p.consumption, {"units": units, "long_name": "consumption c"}),
            "hours": (dims, p.hours, {"long_name": "hours n"}),
            "mu": (dims, self.household.mu, {"long_name": "stationary distribution"}),
        }
        coords = {
            "wealth": ("wealth", block.wealth_grid, {"units": units}),
            "income": ("income", np.arange(block.n_income)),
            "productivity": ("income", block.productivity, {"long_name": "productivity e"}),
        }
        attrs = {"model": self.model.name, "solver": "steady_state"}
        attrs.update({f"value_{k}": float(v) for k, v in self.values.items()})
        attrs["unknowns"] = ",".join(self.unknowns)
        attrs["targets"] = ",".join(self.residuals)
        return xr.Dataset(data, coords=coords, attrs=attrs)


def _evaluate(
    model: Model,
    values: dict[str, float],
    order: Sequence[Any],
    warm: list,
    egm_tol: float,
    static: Sequence[str],
) -> tuple[dict[str, float], HouseholdSteadyState]:
    values = dict(values)
    household = None
    for block in order:
        if block is model.household:
            household = solve_household(
                block, values, tol=egm_tol, warm=warm[0], static=static, reuse=warm[1]
            )
            warm[0] = jax.tree_util.tree_map(jnp.asarray, household.policy)
            values.update(household.outputs)
        else:
            values.update(_block_steady_state(block, values))
    return values, household


def _block_steady_state(block: Any, values: Mapping[str, float]) -> dict[str, float]:
    """An aggregate block's outputs at plain-number ``values``, as floats (in NumPy where the
    block offers it: a search evaluates its blocks many times)."""
    floats = getattr(block, "steady_state_floats", None)
    if floats is not None:
        return floats(values)
    return {k: float(np.asarray(v)) for k, v in block.steady_state(values).items()}


def _extrapolated_start(
    x: tuple[float, ...],
    solved: Mapping[tuple[float, ...], tuple[dict[str, float], HouseholdSteadyState]],
    last: HouseholdPolicy,
) -> HouseholdPolicy:
    """An EGM start at the unknowns ``x``: the marginal value extrapolated affinely from the
    last ``len(x) + 1`` solved points (stationary policies move smoothly with the unknowns, so
    this start is off by the square of the step, not by the step), or ``last`` when those
    points do not span ``x`` well or the extrapolation is not a marginal value (positive,
    decreasing in wealth)."""
    k = len(x)
    points = list(solved)[-(k + 1) :]
    if len(points) < k + 1:
        return last
    # weights λ with Σ λ_i x_i = x and Σ λ_i = 1
    system = np.vstack([np.array(points, dtype=float).T, np.ones(k + 1)])
    rhs = np.append(np.asarray(x, dtype=float), 1.0)
    try:
        weights = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        return last
    if not np.all(np.isfinite(weights)) or np.max(np.abs(weights)) > 4.0:
        return last
    marginal = sum(
        w * np.asarray(solved[p][1].policy.marginal_value)
        for w, p in zip(weights, points, strict=True)
    )
    if not (np.all(marginal > 0) and np.all(np.diff(marginal, axis=0) <= 0)):
        return last
    return HouseholdPolicy(last.savings, last.consumption, last.hours, jnp.asarray(marginal))


def steady_state(
    model: Model,
    calibration: Mapping[str, Any],
    unknowns: Mapping[str, Any] | None = None,
    targets: Sequence[str] | Mapping[str, float] | None = None,
    *,
    tol: float = 1e-8,
    egm_tol: float = 1e-12,
    max_evaluations: int = 200,
) -> SteadyState:
    """Solve ``unknowns`` so that ``targets`` hold, in the sense of the Sequence-Space
    Jacobian toolkit's ``solve_steady_state``.

    Args:
        model: the :class:`~hank_mfg.models.model.Model`.
        calibration: values of the model's exogenous inputs (parameters, prices, policies).
        unknowns: name -> initial guess, or ``(low, high)`` bracket (one unknown only: Brent).
        targets: names of block outputs that must be 0, or name -> target value.
        tol: tolerance on the targets (absolute; near β(1 + r) = 1 a target such as assets
            moves by ~1e4 per unit of β, so one ulp of β is ~1e-12 of it).
        egm_tol: the household's EGM stops when savings move by less (units of the good).
        max_evaluations: model evaluations the root-finder may spend.

    Raises:
        ValueError: before any work, for a calibration value of a block's output, unknowns
            and targets of different counts, an unknown
            no block reads (or one a block produces), a target no block produces, an input
            nothing provides, a bad household (preferences not increasing/concave, income not
            finite or of the wrong shape); after, when the root-finder cannot reach the targets
            (naming the target left furthest and by how much).
    """
    unknowns = dict(unknowns or {})
    targets = {t: 0.0 for t in targets} if not isinstance(targets, Mapping) else dict(targets)
    targets = {k: float(v) for k, v in (targets or {}).items()}
    if len(unknowns) != len(targets):
        raise ValueError(
            f"steady state: {len(unknowns)} unknowns ({', '.join(unknowns) or 'none'}) but "
            f"{len(targets)} targets ({', '.join(targets) or 'none'}); give as many of each"
        )
    read, produced = set(model.inputs), set(model.outputs)
    for name in calibration:
        if name in produced:
            producer = next(b.name for b in model.all_blocks if name in b.outputs)
            raise ValueError(
                f"steady state: the calibration gives {name!r}, which block {producer!r} "
                "produces; leave it out (a value there would hide the block's)"
            )
    for name in unknowns:
        if name in produced:
            raise ValueError(
                f"steady state: unknown {name!r} is an output of a block, not an input"
            )
        if name not in read:
            raise ValueError(
                f"steady state: unknown {name!r} is not an input of any block of model "
                f"{model.name!r} (inputs: {', '.join(model.exogenous())})"
            )
    for name in targets:
        if name not in produced:
            raise ValueError(
                f"steady state: target {name!r} is produced by no block of model "
                f"{model.name!r} (outputs: {', '.join(model.outputs)})"
            )
    given = {k: float(v) for k, v in calibration.items() if k not in unknowns}
    guesses = {}
    for name, guess in unknowns.items():
        guesses[name] = guess if np.ndim(guess) else float(guess)
        given[name] = float(np.mean(guess))
    order = model.order(list(given))
    household = model.household
    start = {k: given[k] for k in given}
    for block in order:  # household checks at the initial values, before any solve
        if block is household:
            vals = {k: jnp.asarray(start[k]) for k in household.inputs}
            household.check_income(vals)
            household.check_preferences(vals)
            break
        start.update(_block_steady_state(block, start))

    names, target_names = list(unknowns), list(targets)
    # preference parameters that stay fixed are compiled in; the unknowns stay traced (one
    # compilation serves every trial value)
    static = tuple(p for p in household.preferences.params if p not in unknowns)
    warm: list = [None, {}]  # the last policy, the distribution's last factorisation
    count = [0]
    cache: dict[tuple[float, ...], tuple[dict[str, float], HouseholdSteadyState]] = {}

    # with one unknown on a bracket, households at a trial value are solved only as precisely
    # as the sign of its target needs, as the classical rate search does (see
    # stationary.LOOSE_EGM_TOL), by the working estimates SEARCH_LOOSE_TOL and
    # SEARCH_ERROR_SCALE; Powell's method differentiates by finite differences and needs
    # every solve precise
    loose = [len(names) == 1 and np.ndim(guesses[names[0]]) == 1]
    solved_to: dict[tuple[float, ...], float] = {}

    def off_by(values: Mapping[str, float]) -> float:
        return max(abs(values[t] - targets[t]) for t in target_names)

    def solve_at(
        x: Sequence[float], precise: bool = False
    ) -> tuple[dict[str, float], HouseholdSteadyState]:
        key = tuple(float(v) for v in x)
        trial = {**given, **dict(zip(names, key, strict=True))}
        if key not in cache:
            count[0] += 1
            first = egm_tol
            if loose[0] and not precise:  # tighter next to trials already close to the targets
                near = min((off_by(v) / _error_scale(h) for v, h in cache.values()), default=None)
                first = loose_tolerance(near, egm_tol, SEARCH_LOOSE_TOL)
            if warm[0] is not None:
                warm[0] = _extrapolated_start(key, cache, warm[0])
            cache[key] = _evaluate(model, trial, order, warm, first, static)
            solved_to[key] = first
        while True:
            values, hh = cache[key]
            distance = 0.0 if precise or not loose[0] else off_by(values) / _error_scale(hh)
            finer = refined_tolerance(distance, solved_to[key], egm_tol)
            if finer is None:
                return cache[key]
            solved_to[key] = finer
            warm[0] = jax.tree_util.tree_map(jnp.asarray, hh.policy)
            cache[key] = _evaluate(model, trial, order, warm, finer, static)

    def residual(x: Sequence[float]) -> np.ndarray:
        values, _ = solve_at(x)
        out = np.array([values[t] - targets[t] for t in target_names])
        # a point that meets the targets with a margin ends the search: the root-finders' own
        # tests (on the step in the unknowns) would spend further solves on digits beyond it
        if np.max(np.abs(out)) <= _MARGIN * tol:
            raise _Reached(list(x))
        return out

    def search() -> tuple[list[float], dict[str, float], HouseholdSteadyState]:
        try:
            x = _find_root(names, guesses, target_names, residual, max_evaluations)
        except _Reached as reached:
            x = reached.x
        return x, *solve_at(x, precise=True)

    t0 = time.perf_counter()
    x, values, hh = search()
    if loose[0] and not off_by(values) <= tol:  # a loose solve misled the search: redo it
        loose[0] = False
        cache.clear()
        x, values, hh = search()
    res = {t: values[t] - targets[t] for t in target_names}
    worst = max(res, key=lambda t: abs(res[t])) if res else None
    if worst is not None and not abs(res[worst]) <= tol:
        at = ", ".join(f"{n}={v:.8g}" for n, v in zip(names, x, strict=True))
        raise ValueError(
            f"steady state not reached: target {worst!r} is off by {res[worst]:.3g} "
            f"(tolerance {tol:g}) at {at}"
        )
    return SteadyState(
        model=model,
        values=values,
        household=hh,
        unknowns=dict(zip(names, (float(v) for v in x), strict=True)),
        residuals=res,
        seconds=time.perf_counter() - t0,
        evaluations=count[0],
    )


#: The search stops at a point whose targets are all within this fraction of ``tol``.
_MARGIN = 1e-2

#: With one unknown on a bracket, the household at a new trial value is first solved to
#: ``SEARCH_LOOSE_TOL`` (tighter next to trials already close to the targets) and refined, from
#: where it stopped, until the error that its EGM tolerance may cause in the household's
#: outputs, estimated as ``SEARCH_ERROR_SCALE · size · tol``, is below the target's distance.
#: This is an estimate, not the classical rate search's bound (``EGM_ERROR_SCALE``, with a
#: margin of 100): on SSJ's Krusell–Smith calibration the errors measured are 1e-3 to 80 times
#: ``size · tol`` (the largest where β(1 + r) is near 1 and EGM converges slowly, at a trial
#: whose target was far from zero), so a trial's sign could be wrong where its error exceeds
#: the estimate. The search cannot return a wrong point: the one it returns is solved to
#: ``egm_tol``, and if it misses the targets there, the search is redone with every trial
#: precise.
SEARCH_LOOSE_TOL = 1e-3
SEARCH_ERROR_SCALE = 50.0


def _error_scale(household: HouseholdSteadyState) -> float:
    """Estimated error in the household's outputs per unit of EGM tolerance (see
    :data:`SEARCH_ERROR_SCALE`)."""
    return SEARCH_ERROR_SCALE * max(1.0, *(abs(v) for v in household.outputs.values()))


class _Reached(Exception):  # noqa: N818 (control flow, not an error)
    """The targets are met at ``x``."""

    def __init__(self, x: list[float]) -> None:
        super().__init__()
        self.x = x


def _find_root(
    names: Sequence[str],
    guesses: Mapping[str, Any],
    target_names: Sequence[str],
    residual: Any,
    max_evaluations: int,
) -> list[float]:
    """Brent's method on a bracket for one unknown, Powell's hybrid method from a guess for
    several (scipy); ``residual`` may end the search early by raising :class:`_Reached`."""
    if not names:
        return []
    if len(names) == 1 and np.ndim(guesses[names[0]]) == 1:
        low, high = (float(v) for v in guesses[names[0]])
        f_low, f_high = residual([low])[0], residual([high])[0]
        if f_low * f_high > 0:
            raise ValueError(
                f"steady state: target {target_names[0]!r} has the same sign at both ends of "
                f"the bracket of {names[0]!r} [{low:.6g}, {high:.6g}]: {f_low:.3g}, {f_high:.3g}"
            )
        return [
            scipy.optimize.brentq(
                lambda v: residual([v])[0],
                low,
                high,
                xtol=1e-14,
                rtol=4 * np.finfo(float).eps,
                maxiter=max_evaluations,
            )
        ]
    x0 = [float(np.mean(guesses[n])) for n in names]
    sol = scipy.optimize.root(
        residual, x0, method="hybr", tol=1e-14, options={"maxfev": max_evaluations}
    )
    return list(sol.x)


def euler_errors(ss: SteadyState) -> dict[str, float]:
    """log10 errors of the Euler and intratemporal conditions on the grid, mass-weighted mean
    and max over unconstrained states (savings above the borrowing limit): the Euler equation
    ``u_c = β E[(1 + r) u_c']`` with next period's policy interpolated at ``a'``, the
    intratemporal condition ``−u_n = u_c ∂income/∂n``, each relative to ``u_c``."""
    block = ss.model.household
    vals = {k: jnp.asarray(ss.values[k]) for k in block.inputs}
    p = ss.household.policy
    mu = ss.household.mu
    grid = block.wealth_grid
    c, n, a_next = p.consumption, p.hours, p.savings
    uc = np.asarray(block.marginal_utility(jnp.asarray(c), jnp.asarray(n), vals))

    # next period: consumption and hours at a' for every e' (linear interpolation of the
    # policies, nearly linear in wealth), then the marginal value (1 + r) u_c there
    def at_next(x: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(a_next, grid, x[:, k]) for k in range(block.n_income)], -1)

    c_next, n_next = at_next(c), at_next(n)
    R = 1.0 + ss.values[block.asset_return]
    mv_next = R * np.asarray(block.marginal_utility(jnp.asarray(c_next), jnp.asarray(n_next), vals))
    expected = ss.values[block.discount] * np.einsum("aek,ek->ae", mv_next, block.Pi)
    unconstrained = a_next > grid[0] + 1e-10
    euler = np.abs(expected / uc - 1.0)
    out = {}
    weights = mu * unconstrained
    out["euler_mean"] = float(np.log10(np.sum(weights * euler) / weights.sum() + 1e-300))
    out["euler_max"] = float(np.log10(np.max(np.where(unconstrained, euler, 0.0)) + 1e-300))
    if block.hours:
        intra = np.abs(np.asarray(block.intratemporal_error(jnp.asarray(c), jnp.asarray(n), vals)))
        out["intratemporal_mean"] = float(np.log10(np.sum(mu * intra) + 1e-300))
        out["intratemporal_max"] = float(np.log10(np.max(intra) + 1e-300))
    return out
