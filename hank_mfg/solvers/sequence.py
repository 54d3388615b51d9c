"""The sequence space: general-equilibrium Jacobians, linear impulse responses and nonlinear
perfect-foresight transitions of a block model (the Sequence-Space Jacobian toolkit's
``solve_jacobian``, ``solve_impulse_linear`` and ``solve_impulse_nonlinear``).

A model (a household block and aggregate blocks) has named **unknowns** ``U`` (paths solved
for, e.g. capital ``K``), **targets** ``H`` (block outputs that must be 0 at every date, e.g.
the asset market ``asset_mkt``) and **exogenous** inputs ``Z`` that can be shocked (TFP ``Z``,
a discount factor, a tax rate, government spending). Around a steady state:

* every block's Jacobian — the household's by the fake-news algorithm
  (:func:`~hank_mfg.solvers.jacobian.household_jacobian`), a simple block's by ``jax.jacfwd``
  of its path map — is composed along the blocks' graph by the chain rule (forward
  accumulation in dependency order), giving each variable's ``∂X/∂U`` and ``∂X/∂Z``
  (``[T, T]``: ``[t, s]`` is the response at date ``t`` to date ``s``);
* the targets' give ``H_U`` and ``H_Z``; general equilibrium is ``G_U = −H_U⁻¹ H_Z``, and the
  linear impulse response of ``X`` to a shock path ``dZ`` is ``dX = (∂X/∂Z + ∂X/∂U G_U) dZ``.

:func:`transition` solves ``H(U, Z) = 0`` for the whole path of ``U`` by Newton's method with
the steady state's ``H_U`` (quasi-Newton, as SSJ), after a temporary ("MIT") shock or a
permanent change: the economy starts from an old steady state (its distribution, its lagged
values such as ``K(-1)``) and ends at the new one.

Timing is SSJ's (see :mod:`hank_mfg.models.blocks`): date 0 is the shock's; lags before date 0
are the initial steady state's, leads after ``T − 1`` the terminal one's. Units: every path is in
the variable's own units (a rate per period, units of the good); deviations are absolute unless
a Dataset says ``deviation = "percent"``.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from hank_mfg.models.model import Model
from hank_mfg.solvers.jacobian import household_jacobian, household_transition
from hank_mfg.solvers.steady_state import SteadyState, steady_state

__all__ = [
    "ImpulseResponse",
    "LinearModel",
    "Transition",
    "TransitionError",
    "ar1_shock",
    "block_jacobian",
    "linearize",
    "reform_steady_state",
    "transition",
]

#: A steady-state value a dynamic block reproduces to less than this (relative) is the same.
STEADY_RTOL = 1e-8
#: A target further from 0 than this at the steady state means the steady state is another
#: model's.
STEADY_TARGET_TOL = 1e-6
#: A shock whose last value is above this fraction of its largest has not died out by ``T``.
DECAY_TOL = 1e-3


class TransitionError(ValueError):
    """Newton's method in the sequence space did not reach the targets."""


def ar1_shock(size: float, rho: float, T: int) -> np.ndarray:
    """The path ``size · ρ^t``, ``t = 0 … T−1`` (a shock of ``size`` at date 0 decaying at rate
    ``ρ`` per period; absolute, in the shocked variable's units)."""
    if not -1.0 < float(rho) < 1.0:
        raise ValueError(f"rho (the shock's persistence) must be in (-1, 1), got {rho}")
    _check_horizon(T)
    return float(size) * float(rho) ** np.arange(int(T), dtype=np.float64)


def _check_horizon(T: Any) -> int:
    if isinstance(T, bool) or not isinstance(T, int | np.integer):
        raise ValueError(f"T (the horizon, in periods) must be an integer, got {T!r}")
    if T < 2:
        raise ValueError(f"T (the horizon, in periods) must be at least 2, got {T}")
    return int(T)


# --- the model at the steady state -------------------------------------------------------------


def _names(argument: str, names: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(names, str):
        raise ValueError(f"{argument} must be a sequence of names, not the string {names!r}")
    names = tuple(names)
    if len(set(names)) != len(names):
        raise ValueError(f"{argument} must not repeat a name, got {list(names)}")
    return names


def _check_roles(
    model: Model, unknowns: tuple[str, ...], targets: tuple[str, ...], exogenous: tuple[str, ...]
) -> None:
    if len(unknowns) != len(targets) or not unknowns:
        raise ValueError(
            f"the sequence space needs as many targets as unknowns (at least one), got "
            f"unknowns {list(unknowns)} and targets {list(targets)}"
        )
    free = set(model.exogenous())
    for role, names in (("unknown", unknowns), ("shock", exogenous)):
        for name in names:
            if name in model.outputs:
                raise ValueError(
                    f"{role} {name!r} is an output of a block of model {model.name!r}; "
                    f"a {role} must be an input no block produces"
                )
            if name not in free:
                raise ValueError(
                    f"{role} {name!r} is not an input of model {model.name!r} "
                    f"(inputs no block produces: {', '.join(sorted(free))})"
                )
    both = sorted(set(unknowns) & set(exogenous))
    if both:
        raise ValueError(f"{', '.join(map(repr, both))} cannot be both an unknown and a shock")
    for name in targets:
        if name not in model.outputs:
            raise ValueError(
                f"target {name!r} is produced by no block of model {model.name!r} "
                f"(outputs: {', '.join(model.outputs)})"
            )


def _steady_values(model: Model, steady: SteadyState, targets: Sequence[str]) -> dict[str, float]:
    """Every variable of ``model`` at ``steady``: its blocks evaluated at the steady state's
    values of the inputs no block produces, checked against the values ``steady`` holds."""
    if not isinstance(steady, SteadyState):
        raise ValueError(
            f"steady must be a SteadyState (from steady_state), got {type(steady).__name__}"
        )
    values = dict(steady.values)
    exogenous = model.exogenous()
    missing = [k for k in exogenous if k not in values]
    if missing:
        raise ValueError(
            f"the steady state has no value of {', '.join(map(repr, missing))}, an input of "
            f"model {model.name!r}"
        )
    computed = {k: float(values[k]) for k in exogenous}
    for block in model.order(exogenous):
        if block is model.household:
            out = steady.household.outputs
        else:
            out = {k: float(np.asarray(v)) for k, v in block.steady_state(computed).items()}
        for name, value in out.items():
            held = values.get(name)
            if held is not None and not np.isclose(value, held, rtol=STEADY_RTOL, atol=STEADY_RTOL):
                raise ValueError(
                    f"block {block.name!r} gives {name} = {value:.10g} at the steady state, "
                    f"which holds {name} = {held:.10g}: the steady state is not one of model "
                    f"{model.name!r}"
                )
            computed[name] = float(value)
    for name in targets:
        if not abs(computed[name]) <= STEADY_TARGET_TOL:
            raise ValueError(
                f"target {name!r} is {computed[name]:.3g} at the steady state, not 0: the "
                f"steady state is not one of model {model.name!r}"
            )
    return {**{k: float(v) for k, v in values.items()}, **computed}


# --- Jacobians of blocks -----------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _block_jacobian_fn(block: Any, names: tuple[str, ...], T: int) -> Callable[..., Any]:
    """A compiled function: (steady values, paths of the other inputs, paths of ``names``,
    initial values) -> ``block``'s Jacobians in ``names`` there."""

    def jacobians(steady: dict, others: dict, base: dict, initial: dict) -> Any:
        def outputs(*paths: jax.Array) -> tuple[jax.Array, ...]:
            given = {**others, **dict(zip(names, paths, strict=True))}
            out = block.paths(given, steady, T=T, initial_state=initial)
            return tuple(out[o] for o in block.outputs)

        return jax.jacfwd(outputs, argnums=tuple(range(len(names))))(*(base[k] for k in names))

    return jax.jit(jacobians)


def block_jacobian(
    block: Any,
    values: Mapping[str, Any],
    inputs: Sequence[str],
    T: int,
    paths: Mapping[str, Any] | None = None,
    initial: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """A simple block's Jacobians: ``J[output][input]``, ``[T, T]`` with ``[t, s] =
    ∂output_t / ∂input_s`` (lags and leads included), by ``jax.jacfwd`` of the block's path
    map (compiled once per block, inputs and ``T``) — around the steady state ``values``, or
    along level ``paths`` of some inputs (the others at ``values``; lags before date 0 from
    ``initial``, default ``values``)."""
    T = _check_horizon(T)
    names = tuple(name for name in block.inputs if name in inputs)
    if not names:
        return {}
    steady = {k: jnp.asarray(float(values[k]), dtype=jnp.float64) for k in block.inputs}
    given = {} if paths is None else {k: paths[k] for k in block.inputs if k in paths}
    given = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in given.items()}
    base = {k: given.get(k, jnp.full(T, steady[k])) for k in names}
    others = {k: v for k, v in given.items() if k not in names}
    start = (
        steady
        if initial is None
        else {k: jnp.asarray(float(initial[k]), dtype=jnp.float64) for k in block.inputs}
    )
    J = _block_jacobian_fn(block, names, T)(steady, others, base, start)
    return {
        o: {i: np.asarray(J[a][b], dtype=np.float64) for b, i in enumerate(names)}
        for a, o in enumerate(block.outputs)
    }


#: A simple block's Jacobian with at most this many non-zero diagonals is kept banded.
BANDED_DIAGONALS = 8


class _Banded:
    """A ``[T, T]`` matrix with few non-zero diagonals (a simple block's Jacobian: its lags and
    leads): ``diagonals[k]`` is the ``k``-th diagonal (entries ``[t, t + k]``), so that products
    with dense matrices cost ``O(k T²)`` instead of ``O(T³)``."""

    __slots__ = ("T", "diagonals")
    __array_ufunc__ = None  # ``dense @ banded`` calls __rmatmul__

    def __init__(self, T: int, diagonals: dict[int, np.ndarray]) -> None:
        self.T, self.diagonals = T, diagonals

    @classmethod
    def from_dense(cls, J: np.ndarray) -> _Banded | None:
        T = J.shape[0]
        rows, cols = np.nonzero(J)
        shifts = np.unique(cols - rows)
        if shifts.size > BANDED_DIAGONALS:
            return None
        return cls(T, {int(k): np.diagonal(J, k).copy() for k in shifts})

    def dense(self) -> np.ndarray:
        J = np.zeros((self.T, self.T))
        for k, d in self.diagonals.items():
            J += np.diag(d, k)
        return J

    def __matmul__(self, other: Any) -> Any:
        if isinstance(other, _Banded):
            return _Banded.from_dense(self.dense() @ other.dense()) or self.dense() @ other.dense()
        out = np.zeros((self.T, *other.shape[1:]))
        for k, d in self.diagonals.items():  # row t takes other[t + k]
            if k >= 0:
                out[: self.T - k] += d.reshape(-1, *([1] * (other.ndim - 1))) * other[k:]
            else:
                out[-k:] += d.reshape(-1, *([1] * (other.ndim - 1))) * other[: self.T + k]
        return out

    def __rmatmul__(self, other: np.ndarray) -> np.ndarray:
        out = np.zeros((other.shape[0], self.T))
        for k, d in self.diagonals.items():  # column t + k takes other[:, t] d[t]
            if k >= 0:
                out[:, k:] += other[:, : self.T - k] * d
            else:
                out[:, : self.T + k] += other[:, -k:] * d
        return out


def _dense(J: Any) -> np.ndarray:
    return J.dense() if isinstance(J, _Banded) else J


def _add_product(total: dict[str, Any], J: Any, of: Mapping[str, Any]) -> None:
    """``total[source] += J @ of[source]`` for every source (``of`` entries ``None`` stand for
    the identity: the input is the source itself)."""
    for source, inner in of.items():
        term = J if inner is None else J @ inner
        if source not in total:
            total[source] = term
        elif isinstance(term, _Banded) and isinstance(total[source], _Banded):
            summed = dict(total[source].diagonals)
            for k, d in term.diagonals.items():
                summed[k] = summed[k] + d if k in summed else d
            total[source] = _Banded(term.T, summed)
        else:
            total[source] = _dense(total[source]) + _dense(term)


def _stacked(
    partials: Mapping[str, Mapping[str, np.ndarray]],
    rows: Sequence[str],
    columns: Sequence[str],
    T: int,
) -> np.ndarray:
    """``[len(rows) T, len(columns) T]``: the blocks ``partials[row][column]`` ``[T, T]``
    (zero where a row does not depend on a column), rows of targets by columns of sources."""
    zeros = np.zeros((T, T))
    return np.block([[partials[r].get(c, zeros) for c in columns] for r in rows])


@dataclass(frozen=True, eq=False)
class LinearModel:
    """A model linearised around a steady state in the sequence space (:func:`linearize`).

    Attributes:
        model: the model; steady: the steady state; values: every variable there.
        T: horizon (periods); unknowns, targets, exogenous: the names.
        partials: ``partials[X][source]`` ``[T, T]``, the response of ``X`` to an unknown or
            an exogenous input holding the others at the steady state (no equilibrium).
        household_jacobians: the household block's own ``J[output][input]`` ``[T, T]`` for
            its inputs that move (for :meth:`channels`).
        seconds: wall time of the linearisation (household Jacobians and composition).
    """

    model: Model
    steady: SteadyState
    values: dict[str, float]
    T: int
    unknowns: tuple[str, ...]
    targets: tuple[str, ...]
    exogenous: tuple[str, ...]
    partials: dict[str, dict[str, np.ndarray]]
    seconds: float
    _lu: Any = field(repr=False)
    household_jacobians: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable with a response: unknowns, shocks and the block outputs that depend
        on them."""
        return tuple(self.partials)

    def _H(self, source: str) -> np.ndarray:
        return _stacked(self.partials, self.targets, [source], self.T)

    def H_U(self) -> np.ndarray:
        """``[n_targets T, n_unknowns T]``: the targets' Jacobian in the unknowns."""
        return _stacked(self.partials, self.targets, self.unknowns, self.T)

    def _G_unknowns(self, shock: str) -> np.ndarray:
        """``[n_unknowns T, T]``: the unknowns' general-equilibrium response ``−H_U⁻¹ H_Z``."""
        if shock not in self._cache:
            self._cache[shock] = -scipy.linalg.lu_solve(self._lu, self._H(shock))
        return self._cache[shock]

    def jacobian(self, output: str, shock: str) -> np.ndarray:
        """The general-equilibrium Jacobian ``G[output][shock]`` ``[T, T]``: ``[t, s]`` is the
        response of ``output`` at date ``t`` to a unit of ``shock`` at date ``s`` alone."""
        self._check_names([shock], [output])
        G_U = self._G_unknowns(shock)
        row = self.partials[output]
        total = np.array(row.get(shock, np.zeros((self.T, self.T))), copy=True)
        for k, u in enumerate(self.unknowns):
            if u in row:
                total += row[u] @ G_U[k * self.T : (k + 1) * self.T]
        return total

    def _check_names(self, shocks: Sequence[str], outputs: Sequence[str] = ()) -> None:
        for name in shocks:
            if name not in self.exogenous:
                raise ValueError(
                    f"shock {name!r} is not one of the linearisation's exogenous inputs "
                    f"({', '.join(self.exogenous)}); pass it to linearize(exogenous=...)"
                )
        for name in outputs:
            if name not in self.partials:
                raise ValueError(
                    f"variable {name!r} does not respond to the unknowns or shocks (variables: "
                    f"{', '.join(self.variables)})"
                )

    def unknowns_response(self, shocks: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The unknowns' linear response ``dU = −H_U⁻¹ Σ H_Z dZ`` to shock paths (absolute
        deviations ``[T]``) together."""
        paths = _check_shocks(shocks, self.exogenous, self.T, self.model.name)
        rhs = sum(self._H(z) @ dz for z, dz in paths.items())
        dU = -scipy.linalg.lu_solve(self._lu, rhs)
        return {u: dU[k * self.T : (k + 1) * self.T] for k, u in enumerate(self.unknowns)}

    def response(self, shocks: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Every variable's linear response (absolute deviation ``[T]``) to the shock paths
        (absolute deviations ``[T]``, all at once)."""
        paths = _check_shocks(shocks, self.exogenous, self.T, self.model.name)
        dU = self.unknowns_response(paths)
        sources = {**paths, **dU}
        out = {}
        for name, row in self.partials.items():
            path = np.zeros(self.T)
            for source, J in row.items():
                if source in sources:
                    path = path + J @ sources[source]
            out[name] = path
        return out

    def channels(self, shocks: Mapping[str, Any], output: str = "C") -> dict[str, np.ndarray]:
        """The household's ``output`` response to the shocks split by the household input
        it comes through (``J[output][input] @ d input``): e.g. the direct effect of the
        interest rate ``r`` and the indirect effects of wages, dividends and taxes (Kaplan,
        Moll and Violante's decomposition). The parts sum to the total response."""
        if output not in self.household_jacobians:
            raise ValueError(
                f"output {output!r} is not a household output with a Jacobian here "
                f"({', '.join(self.household_jacobians)})"
            )
        response = self.response(shocks)
        return {name: J @ response[name] for name, J in self.household_jacobians[output].items()}

    def irf(self, shocks: Mapping[str, Any]) -> ImpulseResponse:
        """Impulse responses to each shock path alone and, with several, to all at once
        (``"all"``): an :class:`ImpulseResponse`."""
        paths = _check_shocks(shocks, self.exogenous, self.T, self.model.name, warn=True)
        responses = {name: self.response({name: path}) for name, path in paths.items()}
        if len(paths) > 1:
            responses["all"] = self.response(paths)
        return ImpulseResponse(
            model=self.model.name,
            responses=responses,
            shocks=paths,
            steady=self.values,
            T=self.T,
            kind="linear",
        )


def _check_shocks(
    shocks: Mapping[str, Any],
    allowed: Sequence[str],
    T: int,
    model: str,
    *,
    warn: bool = False,
) -> dict[str, np.ndarray]:
    """Shock paths as float64 arrays ``[T]``; ``ValueError`` naming a bad one."""
    if not isinstance(shocks, Mapping) or not shocks:
        raise ValueError("shocks: give a mapping of one or more names to paths [T]")
    out = {}
    for name, path in shocks.items():
        if name not in allowed:
            raise ValueError(
                f"shock {name!r} is not an exogenous input of model {model!r} that can be "
                f"shocked (allowed: {', '.join(allowed) or 'none'})"
            )
        array = np.asarray(path, dtype=np.float64)
        if array.ndim != 1 or array.shape[0] != T:
            raise ValueError(
                f"the path of shock {name!r} must have shape ({T},) (the horizon T), got "
                f"{array.shape}"
            )
        if not np.all(np.isfinite(array)):
            bad = int(np.flatnonzero(~np.isfinite(array))[0])
            raise ValueError(f"the path of shock {name!r} is not finite at date {bad}")
        peak = float(np.max(np.abs(array)))
        if warn and peak > 0 and abs(array[-1]) > DECAY_TOL * peak:
            warnings.warn(
                f"the shock on {name!r} has not died out by T={T}: its last value is "
                f"{array[-1]:.3g} ({abs(array[-1]) / peak:.2%} of its largest); the responses "
                "near the end are cut off by the steady state assumed after T",
                stacklevel=3,
            )
        out[name] = array
    return out


def _compose(
    model: Model,
    sources: Sequence[str],
    jacobian_of: Callable[[Any, list[str]], dict[str, dict[str, np.ndarray]]],
    T: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Every variable's Jacobians in the ``sources`` by the chain rule along the blocks in
    dependency order (forward accumulation): ``partials[X][source]`` ``[T, T]``."""
    household = model.household
    partials: dict[str, dict[str, Any]] = {s: {s: None} for s in sources}
    for block in model.order(model.exogenous()):
        moving = [name for name in block.inputs if name in partials]
        if not moving:
            continue
        for output, row in jacobian_of(block, moving).items():
            total: dict[str, Any] = {}
            for name, matrix in row.items():
                if name not in partials or not np.any(matrix):
                    continue
                if block is not household:
                    matrix = _Banded.from_dense(matrix) or matrix
                _add_product(total, matrix, partials[name])
            if total:
                partials[output] = total
    identity = np.eye(T)
    return {
        name: {s: identity if J is None else _dense(J) for s, J in row.items()}
        for name, row in partials.items()
    }


def linearize(
    model: Model,
    steady: SteadyState,
    unknowns: Sequence[str],
    targets: Sequence[str],
    exogenous: Sequence[str],
    T: int = 300,
) -> LinearModel:
    """Linearise ``model`` around ``steady`` in the sequence space.

    Args:
        model: the dynamic model (its blocks map paths; the steady state may come from another
            model with the same household, e.g. one that calibrates TFP to output).
        steady: a :class:`~hank_mfg.solvers.steady_state.SteadyState` of ``model``.
        unknowns: inputs no block produces whose paths general equilibrium determines (``K``).
        targets: block outputs that are 0 along an equilibrium path (``asset_mkt``).
        exogenous: inputs that may be shocked (``Z``, ``beta``, ``G`` …).
        T: horizon (periods).

    Raises:
        ValueError: before any Jacobian, for a name that is not what its role needs (naming
            it and the allowed names), a steady state that is not one of ``model`` (naming the
            block and variable), ``T < 2``; after, when ``H_U`` is singular (the targets do not
            determine the unknowns).
    """
    T = _check_horizon(T)
    unknowns, targets = _names("unknowns", unknowns), _names("targets", targets)
    exogenous = _names("exogenous", exogenous)
    _check_roles(model, unknowns, targets, exogenous)
    values = _steady_values(model, steady, targets)

    t0 = time.perf_counter()
    household = model.household
    used = {name for block in model.all_blocks for name in block.inputs} | set(targets)
    household_jacobians: dict[str, dict[str, np.ndarray]] = {}

    def jacobian_of(block: Any, moving: list[str]) -> dict[str, dict[str, np.ndarray]]:
        if block is household:
            outputs = [o for o in block.outputs if o in used or o in ("A", "C")]
            household_jacobians.update(
                household_jacobian(block, values, steady, moving, outputs, T)
            )
            return household_jacobians
        return block_jacobian(block, values, moving, T)

    partials = _compose(model, (*unknowns, *exogenous), jacobian_of, T)
    for name in targets:
        if name not in partials or not any(u in partials[name] for u in unknowns):
            raise ValueError(
                f"target {name!r} does not depend on any unknown ({', '.join(unknowns)}): "
                "the unknowns cannot make it hold"
            )
    linear = LinearModel(
        model,
        steady,
        values,
        T,
        unknowns,
        targets,
        exogenous,
        partials,
        0.0,
        _lu=None,
        household_jacobians=household_jacobians,
    )
    H_U = linear.H_U()
    with warnings.catch_warnings():  # a singular H_U is reported below, by name
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu = scipy.linalg.lu_factor(H_U, check_finite=True)
    diagonal = np.abs(np.diag(lu[0]))
    if not diagonal.min() > 1e-13 * max(diagonal.max(), 1e-300):
        raise ValueError(
            f"H_U, the Jacobian of the targets ({', '.join(targets)}) in the unknowns "
            f"({', '.join(unknowns)}), is singular: the targets do not determine the unknowns"
        )
    object.__setattr__(linear, "_lu", lu)
    object.__setattr__(linear, "seconds", time.perf_counter() - t0)
    return linear


# --- results -----------------------------------------------------------------------------------


def _dataset(
    responses: Mapping[str, Mapping[str, np.ndarray]],
    steady: Mapping[str, float],
    attrs: Mapping[str, Any],
    percent: Sequence[str],
) -> Any:
    import xarray as xr

    shocks = list(responses)
    names = list(next(iter(responses.values())))
    T = len(next(iter(next(iter(responses.values())).values())))
    data = {}
    for name in names:
        path = np.stack([np.asarray(responses[s][name]) for s in shocks])
        level = float(steady.get(name, np.nan))
        var_attrs = {"long_name": f"response of {name}", "steady_state": level}
        if name in percent and np.isfinite(level) and level != 0:
            data[name] = (("shock", "time"), 100.0 * path / level, var_attrs)
            var_attrs.update(deviation="percent", units=f"percent of steady-state {name}")
        else:
            data[name] = (("shock", "time"), path, var_attrs)
            var_attrs.update(deviation="absolute", units=f"units of {name}")
    coords = {
        "shock": ("shock", shocks),
        "time": ("time", np.arange(T), {"units": "periods after the shock"}),
    }
    return xr.Dataset(data, coords=coords, attrs=dict(attrs))


@dataclass(frozen=True)
class ImpulseResponse:
    """Impulse responses: ``responses[shock][variable]``, absolute deviations ``[T]`` from the
    steady state (``shock`` a shocked input, or ``"all"`` for every shock at once).

    Attributes:
        model: the model's name; shocks: each shock's path (absolute deviations ``[T]``);
        steady: every variable at the steady state; T: horizon; kind: ``"linear"`` or
        ``"nonlinear"``.
    """

    model: str
    responses: dict[str, dict[str, np.ndarray]]
    shocks: dict[str, np.ndarray]
    steady: dict[str, float]
    T: int
    kind: str

    def __getitem__(self, variable: str) -> np.ndarray:
        """The response of ``variable`` to all the shocks (the only one, or ``"all"``)."""
        key = "all" if "all" in self.responses else next(iter(self.responses))
        return self.responses[key][variable]

    def to_xarray(self, percent: Sequence[str] = ()) -> Any:
        """An ``xarray.Dataset`` on ``(shock, time)``: one variable per model variable, its
        attributes saying the deviation (``absolute``, or ``percent`` of the steady state for
        the names in ``percent``) and the steady-state value; the shock paths as
        ``shock_path``."""
        import xarray as xr

        ds = _dataset(
            self.responses,
            self.steady,
            {"model": self.model, "solver": f"sequence_space_{self.kind}", "horizon": self.T},
            percent,
        )
        paths = np.zeros((len(self.responses), self.T))
        for k, s in enumerate(self.responses):
            if s in self.shocks:
                paths[k] = self.shocks[s]
        ds["shock_path"] = xr.DataArray(
            paths,
            dims=("shock", "time"),
            attrs={"long_name": "the shocked input's path", "deviation": "absolute"},
        )
        ds.attrs.update({f"value_{k}": float(v) for k, v in self.steady.items()})
        return ds


# --- nonlinear transitions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A nonlinear perfect-foresight path (:func:`transition`).

    Attributes:
        model: the model's name; paths: every variable's level path ``[T]``;
        steady: the terminal steady state's values; initial: the initial steady state's;
        shocks: the shock paths (absolute deviations from ``steady``); T: horizon;
        iterations: Newton steps; residuals: the largest |target| after each evaluation (the
        first at the initial guess); seconds: wall time.
    """

    model: str
    paths: dict[str, np.ndarray]
    steady: dict[str, float]
    initial: dict[str, float]
    shocks: dict[str, np.ndarray]
    T: int
    iterations: int
    residuals: list[float]
    seconds: float

    def __getitem__(self, variable: str) -> np.ndarray:
        """The level path of ``variable``."""
        return self.paths[variable]

    def deviation(self, variable: str) -> np.ndarray:
        """``variable``'s path less its terminal steady-state value (absolute)."""
        return self.paths[variable] - self.steady[variable]

    def to_xarray(self, percent: Sequence[str] = ()) -> Any:
        """An ``xarray.Dataset`` on ``(shock, time)`` (one shock entry, ``"transition"``) of
        deviations from the terminal steady state, as :meth:`ImpulseResponse.to_xarray`; the
        initial steady state's values as ``initial_NAME`` attributes and the convergence
        report as ``newton_residuals``."""
        deviations = {n: self.paths[n] - self.steady.get(n, np.nan) for n in self.paths}
        ds = _dataset(
            {"transition": deviations},
            self.steady,
            {
                "model": self.model,
                "solver": "sequence_space_nonlinear",
                "horizon": self.T,
                "newton_iterations": self.iterations,
                "newton_residuals": np.asarray(self.residuals),
                "shocks": ",".join(self.shocks),
            },
            percent,
        )
        ds.attrs.update({f"value_{k}": float(v) for k, v in self.steady.items()})
        ds.attrs.update({f"initial_{k}": float(v) for k, v in self.initial.items()})
        return ds


def _path_evaluator(
    model: Model,
    values: Mapping[str, float],
    initial_values: Mapping[str, float],
    mu0: Any,
    terminal_marginal: Any,
    T: int,
) -> Callable[[Mapping[str, Any]], dict[str, jax.Array]]:
    """A function: paths of the unknowns and shocked inputs (levels) -> every variable's path."""
    household = model.household
    order = model.order(model.exogenous())
    steady = {k: jnp.asarray(v) for k, v in values.items()}
    initial = {k: jnp.asarray(v) for k, v in initial_values.items()}

    def evaluate(given: Mapping[str, Any]) -> dict[str, jax.Array]:
        results = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in given.items()}
        for block in order:
            if block is household:
                paths = {k: results[k] for k in block.inputs if k in results}
                if not paths:  # a reform: the distribution moves though no price does
                    r = block.asset_return
                    paths = {r: jnp.full(T, values[r])}
                out = household_transition(
                    block, values, paths, block.outputs, mu0, terminal_marginal
                )
            else:
                paths = {k: results[k] for k in block.inputs if k in results}
                out = block.paths(paths, steady, T=T, initial_state=initial)
            results.update(out)
        return results

    return evaluate


def _path_lu(
    model: Model,
    linear: LinearModel,
    values: Mapping[str, float],
    results: Mapping[str, Any],
    initial_values: Mapping[str, float],
) -> Any:
    """``H_U`` with the simple blocks' Jacobians along the path ``results`` and the
    household's of the steady state, LU-factored."""
    household, T = model.household, linear.T

    def jacobian_of(block: Any, moving: list[str]) -> dict[str, dict[str, np.ndarray]]:
        if block is household:
            return linear.household_jacobians
        return block_jacobian(block, values, moving, T, results, initial_values)

    partials = _compose(model, linear.unknowns, jacobian_of, T)
    return scipy.linalg.lu_factor(_stacked(partials, linear.targets, linear.unknowns, T))


def transition(
    model: Model,
    steady: SteadyState,
    unknowns: Sequence[str],
    targets: Sequence[str],
    shocks: Mapping[str, Any] | None = None,
    *,
    T: int = 300,
    initial: SteadyState | None = None,
    linear: LinearModel | None = None,
    tol: float = 1e-9,
    max_iter: int = 30,
    progress: Callable[[int, float], None] | None = None,
    update_blocks: bool = False,
) -> Transition:
    """The nonlinear perfect-foresight path after unexpected shocks at date 0 and/or from an
    old steady state to a new one, by quasi-Newton in the sequence space.

    Args:
        model: the dynamic model; steady: the terminal steady state (after a reform, the
            new one; for a temporary shock, the only one).
        unknowns, targets: as in :func:`linearize`.
        shocks: input name -> path ``[T]`` of absolute deviations from ``steady`` (e.g.
            ``{"Z": ar1_shock(0.01, 0.8, T)}``); none for a pure reform.
        T: horizon (periods); the economy is at ``steady`` after it.
        initial: the steady state the economy starts from (its distribution and the lags of
            every variable at date 0, e.g. ``K(-1)``); default ``steady``.
        linear: a :class:`LinearModel` of ``model`` at ``steady`` for the same unknowns and
            targets whose ``H_U`` Newton uses (computed when not given).
        tol: the largest |target − its steady-state value| (target units) at which the path
            is accepted.
        max_iter: Newton steps allowed.
        progress: called with (iteration, largest |target|) after each evaluation.
        update_blocks: re-evaluate the simple blocks' Jacobians along the current path at
            every Newton step (the household's stay the steady state's): exact for their
            nonlinearities, e.g. a Taylor rule at the zero lower bound, where the steady
            state's Jacobian converges slowly.

    Raises:
        ValueError: before any work, as :func:`linearize`, and for a bad shock (unknown name,
            wrong length, not finite) or a ``linear`` of another model, horizon or unknowns.
        TransitionError (a ``ValueError``): the targets not reached in ``max_iter`` steps or a
            path that is not finite (naming the target, its residual and the date).
    """
    t0 = time.perf_counter()
    T = _check_horizon(T)
    unknowns, targets = _names("unknowns", unknowns), _names("targets", targets)
    shocks = dict(shocks or {})
    exogenous = tuple(shocks)
    _check_roles(model, unknowns, targets, exogenous)
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    values = _steady_values(model, steady, targets)
    start = initial if initial is not None else steady
    initial_values = _steady_values(model, start, ()) if initial is not None else values
    paths = _check_shocks(shocks, exogenous, T, model.name, warn=True) if shocks else {}
    if linear is None:
        linear = linearize(model, steady, unknowns, targets, (), T)
    elif (
        linear.model is not model
        or linear.T != T
        or linear.unknowns != unknowns
        or linear.targets != targets
    ):
        raise ValueError(
            "linear: a LinearModel of this model, horizon T and these unknowns and targets "
            f"is needed (it has T={linear.T}, unknowns {list(linear.unknowns)}, targets "
            f"{list(linear.targets)})"
        )

    evaluate = _path_evaluator(
        model,
        values,
        initial_values,
        start.household.mu,
        steady.household.policy.marginal_value,
        T,
    )
    given = {z: values[z] + dz for z, dz in paths.items()}
    U = {u: np.full(T, values[u]) for u in unknowns}
    residuals: list[float] = []
    for iteration in range(max_iter + 1):
        results = evaluate({**given, **U})
        # deviations from the steady state's targets (zero to its tolerance), as SSJ's
        H = np.concatenate([np.asarray(results[t]) - values[t] for t in targets])
        worst = int(np.argmax(np.abs(np.where(np.isfinite(H), H, np.inf))))
        residuals.append(float(np.abs(H[worst])))
        if progress is not None:
            progress(iteration, residuals[-1])
        if not np.all(np.isfinite(H)):
            raise TransitionError(
                f"the transition is not finite: target {targets[worst // T]!r} at date "
                f"{worst % T} after {iteration} Newton steps (residuals {residuals[:-1]})"
            )
        if residuals[-1] <= tol:
            break
        if iteration == max_iter:
            raise TransitionError(
                f"the transition did not converge in {max_iter} Newton steps: target "
                f"{targets[worst // T]!r} is off by {H[worst]:.3g} at date {worst % T} "
                f"(tolerance {tol:g}; residuals {', '.join(f'{r:.2g}' for r in residuals)})"
            )
        lu = linear._lu
        if update_blocks:
            lu = _path_lu(model, linear, values, results, initial_values)
        step = -scipy.linalg.lu_solve(lu, H)
        for k, u in enumerate(unknowns):
            U[u] = U[u] + step[k * T : (k + 1) * T]
    out = {k: np.asarray(v, dtype=np.float64) for k, v in results.items()}
    return Transition(
        model=model.name,
        paths=out,
        steady=values,
        initial=initial_values,
        shocks=paths,
        T=T,
        iterations=iteration,
        residuals=residuals,
        seconds=time.perf_counter() - t0,
    )


def reform_steady_state(
    model: Model,
    old: SteadyState,
    changes: Mapping[str, float],
    unknowns: Mapping[str, Any],
    targets: Sequence[str],
    **options: Any,
) -> SteadyState:
    """The steady state of ``model`` after a permanent change of some of its inputs, every
    other input (β, TFP …) at its value in ``old``.

    Args:
        model: the dynamic model (at a steady state lags and leads are the value itself).
        old: the steady state before the reform.
        changes: input name -> its new value (e.g. ``{"tau": 0.3}``).
        unknowns: name -> bracket ``(low, high)`` or guess, as for
            :func:`~hank_mfg.solvers.steady_state.steady_state` (e.g. capital ``K``).
        targets: block outputs that are 0 at the new steady state (``asset_mkt``).
        options: passed to ``steady_state`` (``tol``, ``egm_tol``, ``max_evaluations``).

    Raises:
        ValueError: a change of something that is not an input of ``model`` no block produces
            (or is an unknown), or not finite; as ``steady_state`` otherwise.
    """
    free = model.exogenous()
    for name, value in changes.items():
        if name not in free or name in unknowns:
            raise ValueError(
                f"reform: {name!r} is not an input of model {model.name!r} that a reform can set "
                f"(allowed: {', '.join(k for k in free if k not in unknowns)})"
            )
        if not np.isfinite(float(value)):
            raise ValueError(f"reform: the new value of {name!r} is not finite: {value!r}")
    calibration = {k: float(old.values[k]) for k in free if k not in unknowns}
    calibration.update({k: float(v) for k, v in changes.items()})
    return steady_state(model, calibration, dict(unknowns), list(targets), **options)
