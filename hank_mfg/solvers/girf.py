"""Generalised impulse responses (GIRFs) of a global solution, and the sequence space's linear
impulse response of the same economy to compare them with.

**The GIRF.** For ``B`` common-noise samples ``b`` the economy is rolled forward twice from the
same starting point (the game's initial distribution ``mu_0``, its initial TFP ``log Z_0``;
or, with ``start > 0``, the state the sample's noise has reached by date ``start``) on the
same later innovations ``ε_1, ε_2, …``: once as it is and once with an extra TFP innovation
of ``s`` standard deviations at the shock's date, ``log Z + s σ``. Both runs use the game's exact
law of motion — the distribution pushed forward by the game's kernel under the population's
policy, no sampled households — and the same policy (an RSPG/SPG network, the Krusell–Smith
policy, a stationary or a first-order policy). The GIRF of an aggregate ``X`` at date ``t`` is
the mean over samples of the difference of the two paths,

    GIRF_X(t) = (1/B) Σ_b [X_t^b(shocked) − X_t^b(baseline)],

with its standard error (the sample standard deviation of the differences over ``√B``). It is
exactly zero for a zero shock (both runs are the same computation on the same inputs), and for
a linear economy it does not depend on the noise; with nonlinearities (precautionary motives,
the borrowing limit, the policy's own curvature, and the level ``Z = e^{log Z}`` itself: a
shock to ``log Z`` moves ``Z`` by ``Z_t (e^{sσρ^t} − 1)``, more where ``Z_t`` is high) it
depends on the size and sign of the shock and on the state.

**Timing.** The mean-field game is timed at the start of a period (:mod:`hank_mfg.core.game`):
at date ``t`` the distribution ``mu_t`` gives wealth ``K_t = Σ mu_t a`` — the capital the firm
uses at ``t`` — and with TFP ``Z_t`` the prices ``r_t``, ``w_t`` and output ``Y_t``;
households then consume ``C_t`` and save, which is ``K_{t+1}``. A shock at date 0 therefore
moves ``Z_0, r_0, w_0, Y_0, C_0`` at once and capital first at date 1. In the sequence space
(:mod:`hank_mfg.solvers.sequence`, SSJ's timing) ``K_t`` is *end-of-period* capital — the asset
market ``A_t = K_t`` — and the firm uses ``K_{t−1}``. So the game's ``K_{t+1}`` is the sequence
space's ``K_t`` and every other variable has the same date in both:
:func:`linear_irf` returns the linear responses in the game's timing, ``K`` shifted one period
later (``K_0 = 0``, capital is predetermined), so that they line up date by date with
:func:`girf`'s.

**First order.** A log-AR(1) shock of size ``s σ`` to ``log Z`` is, to first order, the path
``dZ_t = Z s σ ρ^t`` (:func:`~hank_mfg.solvers.sequence.ar1_shock`). :func:`first_order_policy`
is the policy of the linearised economy (the stationary savings shares plus their linear
response to the history of TFP innovations, from the sequence space's prices and the
household's backward EGM): its GIRF for a small shock, divided by the shock, is the linear
impulse response up to terms of the order of the shock.

**The Krusell–Smith algorithm** (:mod:`hank_mfg.solvers.krusell_smith`) needs a finite TFP
chain and an income transition ``Pi(e' | e, z, z')``; it does not run on a log-AR(1)
economy. :func:`krusell_smith_ar1_policy` runs it on the Rouwenhorst discretisation of the
economy's TFP process (:func:`markov_economy`, income independent of TFP) and rolls its policy
out in the log-AR(1) economy itself, interpolating the savings policy linearly in ``log Z``
between the chain's levels (and in ``K`` between capital nodes, as the algorithm does).

Units: every path is an absolute deviation in the variable's own units — ``K``, ``Y``, ``C``
in units of the good, ``r`` a net rate per period, ``w`` per efficiency unit of labour, ``Z``
the TFP level — at dates ``0 … horizon`` (periods of the model: years for Aiyagari's
calibration, quarters for Krusell–Smith's).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.calibration import MarkovTFP
from hank_mfg.calibration.income import rouwenhorst
from hank_mfg.core.game import AggState, MeanFieldGame
from hank_mfg.core.rollout import Policy, memoryless, period
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.blocks import SimpleBlock
from hank_mfg.models.model import Model
from hank_mfg.models.production import LogAR1Process, MarkovProcess
from hank_mfg.solvers.krusell_smith import (
    KrusellSmithConfig,
    KrusellSmithPolicyParams,
    capital_weights,
    solve_krusell_smith,
)
from hank_mfg.solvers.sequence import LinearModel, ar1_shock, block_jacobian, linearize
from hank_mfg.solvers.solution import Solution
from hank_mfg.solvers.stationary import (
    StationaryEquilibrium,
    stationary_equilibrium,
    stationary_state,
)
from hank_mfg.solvers.steady_state import SteadyState, steady_state

Array = jax.Array

__all__ = [
    "GIRF",
    "LinearIRF",
    "MIN_HORIZON",
    "first_order_policy",
    "girf",
    "krusell_smith_ar1_policy",
    "linear_irf",
    "markov_economy",
    "peak",
    "sequence_model",
    "simulate_paths",
]

#: The shortest GIRF (periods after the shock): capital, predetermined at date 0, has moved
#: at dates 1 and 2.
MIN_HORIZON = 2
#: Name of aggregate consumption ``Σ mu_t c_t`` in the paths (the game's aggregates hold none).
CONSUMPTION = "C"
#: Name of the asset-market target added to the sequence-space model (``A − K``).
ASSET_MARKET = "asset_mkt"


# --- checks ------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} ({what}) must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} ({what}) must be >= {low}, got {value}")
    return int(value)


def _check_shock_sd(shock_sd: Any) -> float:
    if isinstance(shock_sd, bool) or not isinstance(
        shock_sd, int | float | np.integer | np.floating
    ):
        raise ValueError(
            f"shock_sd (the initial TFP innovation, in standard deviations) must be a real "
            f"number, got {shock_sd!r}"
        )
    value = float(shock_sd)
    if not math.isfinite(value):
        raise ValueError(
            f"shock_sd (the initial TFP innovation, in standard deviations) must be finite, "
            f"got {value}"
        )
    return value


def _log_ar1(game: Any, name: str = "game") -> LogAR1Process:
    """The game's TFP process, which must be a log-AR(1) with a positive innovation sd."""
    tfp = getattr(game, "tfp", None)
    if not isinstance(tfp, LogAR1Process):
        raise ValueError(
            f"{name}: a GIRF to a TFP innovation needs a game whose common noise is a log-AR(1) "
            f"TFP process (LogAR1Process, e.g. aiyagari(tfp=LogAR1TFP(...))); "
            f"{getattr(game, 'name', game)!r} has {type(tfp).__name__}"
        )
    if not tfp.sigma > 0:
        raise ValueError(
            f"{name}: its TFP innovations have standard deviation sigma = 0, so a shock measured "
            "in standard deviations is zero; give the process a positive sigma"
        )
    return tfp


def _check_horizon(horizon: Any, start: Any, game: MeanFieldGame) -> tuple[int, int]:
    horizon = _check_int("horizon", horizon, MIN_HORIZON, "periods after the shock")
    start = _check_int("start", start, 0, "date of the shock")
    if start + horizon > game.horizon:
        raise ValueError(
            f"horizon (periods after the shock) must be at most the game's horizon "
            f"{game.horizon} less the shock's date start={start} (the policy is defined over "
            f"the game's horizon), got {horizon}"
        )
    return horizon, start


# --- the GIRF ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GIRF:
    """A generalised impulse response (see the module's docstring for the definition).

    Attributes:
        responses: ``name -> [horizon + 1]``, the mean over samples of shocked minus baseline
            path at dates ``0 … horizon`` (absolute deviations, the variable's units).
        standard_errors: ``name -> [horizon + 1]``, their standard errors (sample sd of the
            differences over ``√B``; NaN with one sample).
        baseline: ``name -> [horizon + 1]``, the mean baseline path (levels).
        shock_sd: the initial innovation in standard deviations ``s``.
        shock: the same in ``log Z``, ``s σ``.
        n_samples, horizon, start, seed: the settings (``start``: the shock's date in the
            game); seconds: wall time (compilation included).
    """

    responses: dict[str, np.ndarray]
    standard_errors: dict[str, np.ndarray]
    baseline: dict[str, np.ndarray]
    shock_sd: float
    shock: float
    n_samples: int
    horizon: int
    start: int
    seed: int
    seconds: float

    def __getitem__(self, name: str) -> np.ndarray:
        return self.responses[name]

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.responses)


def _scalars(agg: AggState) -> dict[str, Array]:
    """The game's scalar aggregates at one date (``mass_above_grid`` left out)."""
    return {k: v for k, v in agg.aux.items() if jnp.ndim(v) == 0 and k != "mass_above_grid"}


def _consumption(game: MeanFieldGame, agg: AggState, table: Array) -> Array | None:
    """``Σ mu_t c_t`` under the period's policy table, if the game is one of households."""
    policy = game.household_policy(agg, table)
    if policy is None:
        return None
    return jnp.sum(agg.mu * policy["consumption"])


@partial(jax.jit, static_argnames=("game", "policy", "horizon", "start"))
def _paths(
    game: MeanFieldGame,
    policy: Policy,
    params: Any,
    keys: Array,
    shift: Array,
    horizon: int,
    start: int,
) -> dict[str, Array]:
    """The aggregates ``[n_samples, horizon + 1]`` at dates ``start … start + horizon`` of the
    paths from ``keys``, with ``log Z`` moved by ``shift`` at date ``start``. Keys are used as
    :func:`~hank_mfg.core.rollout.rollout_keys` uses them, so that the baseline
    (``shift = 0``) is the core's rollout."""

    def one(key: Array) -> dict[str, Array]:
        key_reset, key_path = jax.random.split(key)
        ready = policy.prepared(params)

        def shocked(agg: AggState) -> AggState:
            return game.make_agg(agg.mu, agg.z + shift.astype(agg.mu.dtype), agg.t)

        def step(state: Any, key_t: Array) -> tuple[Any, dict[str, Array]]:
            agg, carry = state
            agg = jax.lax.cond(agg.t == start, shocked, lambda a: a, agg)
            obs = game.observe(agg)
            carry_next, table = policy.apply(ready, carry, obs)
            out = _scalars(agg)
            c = _consumption(game, agg, table)
            if c is not None:
                out[CONSUMPTION] = c
            next_agg, _, _, _, _ = period(game, policy, ready, agg, carry, key_t)
            return (next_agg, carry_next), out

        keys_t = jax.random.split(key_path, game.horizon)[: start + horizon]
        state0 = (game.reset(key_reset), policy.init(params))
        (agg_T, carry_T), out = jax.lax.scan(step, state0, keys_t)
        last = _scalars(agg_T)
        if CONSUMPTION in out:
            if start + horizon < game.horizon:  # households act at the last date too
                _, table = policy.apply(ready, carry_T, game.observe(agg_T))
                last[CONSUMPTION] = _consumption(game, agg_T, table)
            else:  # the game's terminal date: no choice, no consumption
                last[CONSUMPTION] = jnp.full((), jnp.nan, out[CONSUMPTION].dtype)
        return {k: jnp.concatenate([v[start:], last[k][None]]) for k, v in out.items()}

    return jax.vmap(one)(keys)


def girf(
    game: MeanFieldGame,
    policy: Policy,
    params: Any,
    *,
    shock_sd: float,
    horizon: int,
    n_samples: int = 64,
    seed: int = 0,
    start: int = 0,
) -> GIRF:
    """The generalised impulse response of the game's aggregates to a TFP innovation.

    For ``n_samples`` common-noise paths (keys ``split(PRNGKey(seed), n_samples)``, used as
    the core's :func:`~hank_mfg.core.rollout.rollout` uses them) the mean field is rolled
    forward by the game's exact kernel from the game's initial state, once as it is and once
    with ``log Z`` raised by ``shock_sd · σ`` at date ``start`` — the same state up to that
    date, the same later innovations, the same policy (``policy.apply`` on the shared
    observations, as in training). Responses are dated from the shock, ``0 … horizon``, in
    the game's timing: ``K_t`` is wealth at the start of date ``t``, so capital responds from
    date 1 on; ``r, w, Y, Z, L`` (the game's scalar aggregates) and aggregate consumption
    ``C_t = Σ mu_t c_t`` (households' games) from date 0. Consumption is NaN at the game's
    terminal date (``start + horizon == game.horizon``), where households do not choose.

    Args:
        game: a mean-field game whose common noise is a
            :class:`~hank_mfg.models.production.LogAR1Process` (``game.tfp``) with ``σ > 0``,
            e.g. :func:`hank_mfg.models.aiyagari` with a ``LogAR1TFP``.
        policy, params: the population's policy as the core rolls it out (a trained
            network's ``Solution.policy, Solution.params``, ``constant_policy`` and a table,
            :func:`first_order_policy`, :func:`krusell_smith_ar1_policy` …).
        shock_sd: the extra innovation in standard deviations of ``ε`` (finite, any sign;
            0 gives exactly zero responses).
        horizon: periods after the shock, ``MIN_HORIZON ≤ horizon ≤ game.horizon − start``.
        n_samples: common-noise samples ``B >= 1``.
        seed: seed of the samples (integer >= 0); the result is a deterministic function of it.
        start: date of the shock (default 0, the game's initial state; a later date starts
            each sample from where its noise has taken the economy, the same for both runs).

    Returns:
        A :class:`GIRF`: mean differences, standard errors and mean baseline paths
        ``[horizon + 1]`` (absolute, in each variable's units: see the module's docstring).

    Raises:
        ValueError: naming the parameter — ``shock_sd`` not a finite number, ``n_samples <
            1``, ``horizon`` below ``MIN_HORIZON`` or beyond the game's, ``seed`` or ``start``
            not an integer >= 0, a game without a log-AR(1) TFP process (or with ``σ = 0``).
    """
    t0 = time.perf_counter()
    shock_sd = _check_shock_sd(shock_sd)
    n_samples = _check_int("n_samples", n_samples, 1, "common-noise samples B")
    seed = _check_int("seed", seed, 0, "seed of the samples")
    tfp = _log_ar1(game)
    horizon, start = _check_horizon(horizon, start, game)
    keys = jax.random.split(jax.random.PRNGKey(seed), n_samples)
    shift = shock_sd * tfp.sigma
    dtype = jnp.result_type(float)
    base = _paths(game, policy, params, keys, jnp.asarray(0.0, dtype), horizon, start)
    shocked = _paths(game, policy, params, keys, jnp.asarray(shift, dtype), horizon, start)
    responses, errors, baseline = {}, {}, {}
    for name in base:
        b = np.asarray(base[name], dtype=np.float64)
        d = np.asarray(shocked[name], dtype=np.float64) - b
        responses[name] = d.mean(axis=0)
        errors[name] = (
            d.std(axis=0, ddof=1) / math.sqrt(n_samples)
            if n_samples > 1
            else np.full(horizon + 1, np.nan)
        )
        baseline[name] = b.mean(axis=0)
    return GIRF(
        responses=responses,
        standard_errors=errors,
        baseline=baseline,
        shock_sd=shock_sd,
        shock=shift,
        n_samples=n_samples,
        horizon=horizon,
        start=start,
        seed=seed,
        seconds=time.perf_counter() - t0,
    )


def simulate_paths(
    game: MeanFieldGame,
    policy: Policy,
    params: Any,
    *,
    periods: int,
    n_samples: int = 64,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The game's aggregates ``name -> [n_samples, periods + 1]`` (levels, float64) at dates
    ``0 … periods`` on ``n_samples`` common-noise paths (keys ``split(PRNGKey(seed),
    n_samples)``, as the core's rollout uses them): the mean field pushed forward by the
    game's exact kernel under ``policy`` from the game's initial state — :func:`girf`'s
    baseline paths, one by one. Consumption is NaN at the game's terminal date.

    Raises:
        ValueError: ``periods`` below ``MIN_HORIZON`` or beyond the game's horizon,
            ``n_samples < 1``, ``seed`` not an integer >= 0, a game without log-AR(1) TFP.
    """
    n_samples = _check_int("n_samples", n_samples, 1, "common-noise samples B")
    seed = _check_int("seed", seed, 0, "seed of the samples")
    _log_ar1(game)
    periods = _check_int("periods", periods, MIN_HORIZON, "dates after the first")
    if periods > game.horizon:
        raise ValueError(
            f"periods (dates after the first) must be at most the game's horizon "
            f"{game.horizon}, got {periods}"
        )
    keys = jax.random.split(jax.random.PRNGKey(seed), n_samples)
    zero = jnp.asarray(0.0, jnp.result_type(float))
    paths = _paths(game, policy, params, keys, zero, periods, 0)
    return {k: np.asarray(v, dtype=np.float64) for k, v in paths.items()}


def peak(path: Any) -> tuple[int, float]:
    """``(date, value)`` of the largest absolute entry of a response path ``[n]`` (NaN
    entries, such as consumption at the game's terminal date, ignored)."""
    path = np.asarray(path, dtype=np.float64)
    t = int(np.nanargmax(np.abs(path)))
    return t, float(path[t])


# --- the sequence space ------------------------------------------------------------------------


def _pricing_blocks(economy: BlockEconomy) -> tuple[Any, ...]:
    """The blocks that price the household's problem, in the order the game evaluates them."""
    state = [economy.shock, economy.wealth]
    if economy.labour not in economy.parameters:
        state.append(economy.labour)
    order = economy.model.order([*economy.parameters, *state])
    return order[: order.index(economy.household)]


def _renamed(block: SimpleBlock, renames: Mapping[str, str]) -> SimpleBlock:
    """``block`` reading input ``old`` under the name ``renames[old]``."""
    inputs = tuple(renames.get(name, name) for name in block.inputs)
    pairs = tuple(zip(block.inputs, inputs, strict=True))

    def func(**values: Any) -> Any:
        return block.func(**{old: values[new] for old, new in pairs})

    func.__name__ = block.name
    return SimpleBlock(func=func, name=block.name, inputs=inputs, outputs=block.outputs)


def _asset_market(wealth: str) -> SimpleBlock:
    def asset_market(A: Any, K: Any) -> Any:
        return A - K

    return SimpleBlock(
        func=lambda **v: asset_market(v["A"], v[wealth]),
        name="asset_market",
        inputs=("A", wealth),
        outputs=(ASSET_MARKET,),
    )


@lru_cache(maxsize=32)
def _sequence_blocks(economy: BlockEconomy) -> tuple[Model, dict[str, str]]:
    """The dynamic model of ``economy`` and the renamed parameters (old -> new name)."""
    household = economy.household
    taken = set(household.outputs) | {ASSET_MARKET}
    renames: dict[str, str] = {}
    blocks = []
    for block in _pricing_blocks(economy):
        if not isinstance(block, SimpleBlock):
            raise ValueError(
                f"economy: block {getattr(block, 'name', block)!r} prices the household but is "
                "not a simple block; the sequence space needs its paths"
            )
        clash = {
            name: f"{name}_{block.name}"
            for name in block.inputs
            if name in taken and name in economy.parameters
        }
        renames.update(clash)
        blocks.append(_renamed(block, clash) if clash else block)
    model = Model(household, [*blocks, _asset_market(economy.wealth)], name=economy.name)
    return model, renames


def _check_lagged_capital(model: Model, values: Mapping[str, float], wealth: str) -> None:
    """The game evaluates its blocks on wealth at the start of the period; the sequence space
    reads that as last period's capital ``K(-1)``. A block that reads this period's ``K`` would
    be timed differently in the two: refuse it."""
    for block in model.blocks[:-1]:
        if wealth not in block.inputs:
            continue
        J = block_jacobian(block, values, [wealth], 3)
        for output, by in J.items():
            M = by[wealth]
            if np.any(np.abs(np.triu(M)) > 0):
                raise ValueError(
                    f"economy: block {block.name!r} makes {output!r} depend on this period's "
                    f"{wealth!r}; in the game {wealth} is wealth at the start of the period, "
                    f"which the sequence space calls {wealth}(-1): write the block with "
                    f"{wealth}(-1), as the built-in firm does"
                )


def sequence_model(
    economy: BlockEconomy, equilibrium: StationaryEquilibrium | None = None
) -> tuple[Model, SteadyState]:
    """The economy as a dynamic model of the sequence space, and its steady state.

    The household block, the blocks that price it in the game (the firm …) and the asset
    market ``asset_mkt = A − K`` (``K`` the economy's wealth aggregate): unknown ``K``, target
    ``asset_mkt``, shock ``Z``. The steady state is the economy's stationary equilibrium
    (``Z = 1``, ``L`` the stationary ``Σ mu e`` unless the parameters fix it, ``K`` the
    equilibrium capital). A block input that is also a household output (the built-in
    Aiyagari firm's TFP level ``A`` against the household's assets ``A``) is renamed
    ``A_<block>`` and given its parameter's value.

    Raises:
        ValueError: a pricing block that is not a simple block, or that reads this period's
            capital instead of ``K(-1)`` (the timings would differ).
    """
    _log_ar1(economy, "economy")
    eq = stationary_equilibrium(economy, with_value=False) if equilibrium is None else equilibrium
    model, renames = _sequence_blocks(economy)
    parameters = {k: v for k, v in economy.parameters.items() if k not in renames}
    parameters.update({new: economy.parameters[old] for old, new in renames.items()})
    level = float(economy.tfp.level(jnp.asarray(0.0)))
    calibration = {**parameters, **stationary_state(economy, eq.K, eq.L, level)}
    ss = steady_state(model, calibration, {}, [])
    _check_lagged_capital(model, ss.values, economy.wealth)
    return model, ss


@dataclass(frozen=True, eq=False)
class LinearIRF:
    """The sequence space's linear impulse response to a log-AR(1) TFP shock.

    Attributes:
        responses: ``name -> [horizon + 1]`` in the game's timing (dates ``0 … horizon``;
            ``K`` is capital at the start of the date: the sequence space's ``K`` one period
            later, 0 at date 0), absolute deviations from the steady state.
        sequence: ``name -> [T]`` as the sequence space dates them (``K`` end of period).
        shock_sd: the shock in standard deviations of the innovation; shock: in ``log Z``
            (``shock_sd · σ``); the TFP path is ``dZ_t = Z · shock · ρ^t``.
        horizon, T: dates returned and the sequence space's truncation.
        steady: every variable at the steady state; linear: the
            :class:`~hank_mfg.solvers.sequence.LinearModel`; seconds: wall time.
    """

    responses: dict[str, np.ndarray]
    sequence: dict[str, np.ndarray]
    shock_sd: float
    shock: float
    horizon: int
    T: int
    steady: dict[str, float]
    linear: LinearModel = field(repr=False)
    seconds: float = 0.0
    wealth: str = "K"

    def __getitem__(self, name: str) -> np.ndarray:
        return self.responses[name]

    def game_path(self, name: str) -> np.ndarray:
        """``name``'s response ``[T]`` in the game's timing at dates ``0 … T − 1`` (the whole
        truncation, not only ``horizon``): wealth one period later than the sequence space's."""
        return _game_timing(self.sequence[name], name, self.wealth, self.T)


def _game_timing(path: np.ndarray, name: str, wealth: str, n: int) -> np.ndarray:
    """A sequence-space path ``[T]`` at the game's dates ``0 … n − 1`` (wealth one later)."""
    if name == wealth:
        return np.concatenate([[0.0], path[: n - 1]])
    return path[:n]


def linear_irf(
    economy: BlockEconomy,
    *,
    shock_sd: float = 1.0,
    horizon: int,
    T: int | None = None,
    equilibrium: StationaryEquilibrium | None = None,
    linear: LinearModel | None = None,
) -> LinearIRF:
    """The linear impulse response of the economy to a TFP innovation of ``shock_sd``
    standard deviations at date 0, in the game's timing (see the module's docstring).

    The sequence space (:func:`~hank_mfg.solvers.sequence.linearize` of
    :func:`sequence_model`, unknown ``K``, target ``asset_mkt``) with the shock
    ``dZ_t = Z · shock_sd · σ · ρ^t`` (first order in ``log Z``).

    Args:
        economy: a :class:`~hank_mfg.models.block_economy.BlockEconomy` with a log-AR(1)
            TFP process (``σ > 0``).
        shock_sd: size of the innovation in standard deviations (finite).
        horizon: last date returned (``>= MIN_HORIZON``).
        T: the sequence space's horizon (default ``max(200, 2 (horizon + 1))``), > horizon.
        equilibrium: the economy's stationary equilibrium (default: solved here).
        linear: a :class:`LinearModel` of :func:`sequence_model` to reuse (its ``T`` then).

    Raises:
        ValueError: naming the parameter, as :func:`girf`; ``T <= horizon``.
    """
    start = time.perf_counter()
    shock_sd = _check_shock_sd(shock_sd)
    tfp = _log_ar1(economy, "economy")
    horizon = _check_int("horizon", horizon, MIN_HORIZON, "periods after the shock")
    if linear is None:
        T = max(200, 2 * (horizon + 1)) if T is None else T
        T = _check_int("T", T, horizon + 1, "the sequence space's horizon")
        model, ss = sequence_model(economy, equilibrium)
        linear = linearize(model, ss, [economy.wealth], [ASSET_MARKET], [economy.shock], T)
    T = linear.T
    if T <= horizon:
        raise ValueError(f"T (the sequence space's horizon) must exceed horizon, got {T}")
    shock = shock_sd * tfp.sigma
    Z = linear.values[economy.shock]
    irf = linear.irf({economy.shock: ar1_shock(Z * shock, tfp.rho, T)})
    sequence = {k: np.asarray(v, dtype=np.float64) for k, v in irf.responses[economy.shock].items()}
    responses = {
        k: _game_timing(v, k, economy.wealth, horizon + 1)
        for k, v in sequence.items()
        if k != ASSET_MARKET
    }
    return LinearIRF(
        responses=responses,
        sequence=sequence,
        shock_sd=shock_sd,
        shock=shock,
        horizon=horizon,
        T=T,
        steady=dict(linear.values),
        linear=linear,
        seconds=time.perf_counter() - start,
        wealth=economy.wealth,
    )


# --- the first-order policy -------------------------------------------------------------------


def _stationary_game(economy: BlockEconomy, eq: StationaryEquilibrium, horizon: int) -> Any:
    return economy.with_settings(
        horizon=horizon,
        terminal=eq.value,
        terminal_marginal=eq.marginal_value,
        initial_distributions=eq.distribution,
    )


@lru_cache(maxsize=32)
def _first_order(index: int, rho: float) -> Policy:
    """The first-order policy reading ``log Z`` at ``obs[index]`` (one object per setting, so
    that jitted rollouts of it compile once)."""

    def init(params: Any) -> Any:
        response = params["response"]
        return jnp.zeros((), response.dtype), jnp.zeros(response.shape[0], response.dtype)

    def apply(params: Any, carry: Any, obs: Array) -> tuple[Any, Array]:
        log_z_prev, innovations = carry
        log_z = jnp.log(obs[index]).astype(innovations.dtype)
        innovations = jnp.roll(innovations, 1).at[0].set(log_z - rho * log_z_prev)
        table = params["shares"] + innovations @ params["response"]
        return (log_z, innovations), jnp.clip(table, 0.0, 1.0)

    return Policy(init=init, apply=apply)


def first_order_policy(
    game: BlockEconomy,
    *,
    equilibrium: StationaryEquilibrium | None = None,
    linear: LinearModel | None = None,
    T: int | None = None,
) -> tuple[Policy, dict[str, Array]]:
    """The savings policy of the economy linearised around its stationary equilibrium.

    The share of cash on hand saved at date ``t`` is

        x_t(s) = x̄(s) + Σ_{j=0}^{t} D_j(s) ε_{t−j},    ε_t = log Z_t − ρ log Z_{t−1}

    (``log Z_{−1} = 0``: the economy starts at the steady state), clipped to [0, 1]: ``x̄`` the
    stationary shares and ``D_j`` their response ``j`` periods after a unit innovation to
    ``log Z``, when prices follow the sequence space's linear general-equilibrium response —
    the household's backward EGM along those prices from the stationary marginal value,
    differentiated (``jax.jvp``). This is the equilibrium to first order in the aggregate
    shock (certainty equivalence), for any history of innovations; its memory (the innovations
    so far, read from the observed ``Z``) is driven by the shared observation only.

    Args:
        game: a :class:`~hank_mfg.models.block_economy.BlockEconomy` with a log-AR(1) TFP
            process and a continuous savings share whose observation includes the shock's
            level (``"Z"``).
        equilibrium: its stationary equilibrium (default: solved here, with values).
        linear: a :class:`LinearModel` of :func:`sequence_model` with ``T >= game.horizon + 2``.
        T: the sequence space's horizon when ``linear`` is not given (default
            ``max(200, 2 (game.horizon + 1))``).

    Returns:
        ``(policy, params)`` for :func:`girf` or the core's rollout: ``params`` holds the
        stationary shares ``[n_states]`` and the responses ``[game.horizon, n_states]``.
    """
    tfp = _log_ar1(game)
    if game.shares is not None:
        raise ValueError("game: the first-order policy needs a continuous savings share")
    if game.shock not in game.observation:
        raise ValueError(
            f"game: its observation {game.observation!r} must include the shock's level "
            f"{game.shock!r}, from which the policy reads the TFP innovations"
        )
    eq = stationary_equilibrium(game) if equilibrium is None else equilibrium
    if linear is None:
        T = max(200, 2 * (game.horizon + 1)) if T is None else T
        T = _check_int("T", T, game.horizon + 2, "the sequence space's horizon")
        model, ss = sequence_model(game, eq)
        linear = linearize(model, ss, [game.wealth], [ASSET_MARKET], [game.shock], T)
    T = linear.T
    if T < game.horizon + 2:
        raise ValueError(f"linear.T must be >= game.horizon + 2 = {game.horizon + 2}, got {T}")
    unit = linear_irf(game, shock_sd=1.0 / tfp.sigma, horizon=T - 1, linear=linear)
    inner = _stationary_game(game, eq, T - 1)
    base = inner.make_agg(jnp.asarray(eq.distribution), jnp.asarray(0.0), 0)
    moved = {k: jnp.asarray(v) for k, v in unit.responses.items() if k in base.aux}
    shares, response = _share_response(inner, base, moved)
    return _first_order(game.observation.index(game.shock), tfp.rho), {
        "shares": shares[0],
        "response": response[: game.horizon],
    }


@partial(jax.jit, static_argnums=0)
def _share_response(
    game: BlockEconomy, base: AggState, moved: dict[str, Array]
) -> tuple[Array, Array]:
    """Shares along the steady path and their derivative along ``base.aux + ε moved``."""
    n = game.horizon + 1
    t = jnp.arange(n, dtype=jnp.int32)

    def shares(eps: Array) -> Array:
        aux = {
            k: jnp.broadcast_to(v, (n,)) + (eps * moved[k] if k in moved else 0.0)
            for k, v in base.aux.items()
        }
        path = AggState(
            mu=jnp.broadcast_to(base.mu, (n, base.mu.shape[0])),
            z=jnp.zeros(n, base.mu.dtype),
            t=t,
            aux=aux,
        )
        return game.backward_shares(path)

    zero = jnp.zeros((), base.mu.dtype)
    return jax.jvp(shares, (zero,), (jnp.ones_like(zero),))


# --- the Krusell–Smith algorithm on the discretised economy -----------------------------------


def markov_economy(
    economy: BlockEconomy, n_states: int = 7, initial_distribution: Any = None
) -> BlockEconomy:
    """The economy with its log-AR(1) TFP replaced by the Rouwenhorst (1995) chain on
    ``n_states`` levels (``log Z`` grid symmetric around 0, spanning ``±√(n − 1)`` unconditional
    sd, first two conditional moments exact), starting in the middle level (``Z = 1``), and
    income moving by the household's own ``Pi`` whatever TFP does (``Pi(e'|e,z,z') = Pi``): the
    form the Krusell–Smith algorithm runs on.

    Args:
        n_states: odd, >= 3 (so that ``Z = 1`` is a level).
        initial_distribution: ``[n_states of the game]`` (default the economy's first
            initial distribution); its income marginal must be stationary under ``Pi``.
    """
    tfp = _log_ar1(economy, "economy")
    n = _check_int("n_states", n_states, 3, "TFP levels of the chain")
    if n % 2 == 0:
        raise ValueError(f"n_states (TFP levels of the chain) must be odd, got {n}")
    chain = rouwenhorst(tfp.rho, tfp.sigma, n)
    log_levels = np.log(chain.grid)
    log_levels -= log_levels.mean()  # the grid is symmetric: recentred on log Z = 0
    Pi_e = np.asarray(economy.household.Pi, dtype=np.float64)
    mu0 = economy.initial_distributions[0] if initial_distribution is None else initial_distribution
    spec = MarkovTFP(levels=np.exp(log_levels), Pi=chain.Pi)
    calibration = economy.calibration
    if calibration is not None and dataclasses.is_dataclass(calibration):
        calibration = dataclasses.replace(calibration, tfp=spec)
    return economy.with_settings(
        calibration=calibration,
        tfp=MarkovProcess(spec, initial_index=n // 2),
        income_transition=np.broadcast_to(Pi_e, (n, n, *Pi_e.shape)).copy(),
        initial_distributions=np.asarray(mu0, dtype=np.float64),
        name=f"{economy.name}_markov{n}",
    )


@lru_cache(maxsize=32)
def _ks_ar1(game: BlockEconomy, i_K: int, i_Z: int) -> Policy:
    def table(params: Any, obs: Array) -> Array:
        ks: KrusellSmithPolicyParams = params["ks"]
        K, log_z = obs[i_K], jnp.log(obs[i_Z])
        jz, tz = capital_weights(params["log_levels"], log_z)
        jk, tk = capital_weights(ks.capital_grid, K)
        S = ks.savings
        at_z = [(1.0 - tk) * S[j, jk] + tk * S[j, jk + 1] for j in (jz, jz + 1)]
        savings = (1.0 - tz) * at_z[0] + tz * at_z[1]
        L = jnp.mean(ks.labour)
        values = game.evaluate_prices(stationary_state(game, K, L, obs[i_Z]))
        m = game.household.cash_on_hand(jnp.ones_like(savings), values)
        return game.share_given_cash(m, savings)

    return memoryless(table)


def krusell_smith_ar1_policy(
    game: BlockEconomy,
    *,
    n_tfp_states: int = 7,
    equilibrium: StationaryEquilibrium | None = None,
    config: KrusellSmithConfig | None = None,
    **settings: Any,
) -> tuple[Policy, dict[str, Any], Solution]:
    """The Krusell–Smith algorithm's policy for a log-AR(1) economy.

    Runs :func:`~hank_mfg.solvers.krusell_smith.solve_krusell_smith` on
    :func:`markov_economy` (``n_tfp_states`` Rouwenhorst levels, starting from the stationary
    distribution) and returns a policy for ``game`` itself: the savings ``a'(a, e; K, Z)`` of
    the algorithm interpolated linearly in capital between its nodes and in ``log Z`` between
    the chain's levels (extrapolated linearly beyond the extreme levels), turned into the
    game's savings share at the game's prices. It reads ``K`` and ``Z`` from the shared
    observation.

    Args:
        game: a BlockEconomy with a log-AR(1) TFP process, a continuous savings share, and
            the wealth and the shock (``"K"``, ``"Z"``) in its observation.
        equilibrium: its stationary equilibrium (the starting distribution and the centre of
            the capital grid; default solved here).
        config, settings: the algorithm's :class:`KrusellSmithConfig` (default: capital
            nodes on ``[0.8, 1.2] K̄``, no evaluation).

    Returns:
        ``(policy, params, solution)``: the policy and its parameters for :func:`girf`, and
        the algorithm's :class:`Solution` (on the Markov economy; its law of motion, R² …).
    """
    _log_ar1(game)
    missing = [name for name in (game.wealth, game.shock) if name not in game.observation]
    if missing:
        raise ValueError(
            f"game: its observation {game.observation!r} must include {missing} for the "
            "Krusell–Smith policy to read capital and TFP"
        )
    eq = stationary_equilibrium(game, with_value=False) if equilibrium is None else equilibrium
    chain = markov_economy(game, n_tfp_states, eq.distribution)
    defaults = {"capital_bounds": (0.8 * eq.K, 1.2 * eq.K), "evaluation_samples": 0}
    if config is None:
        config = KrusellSmithConfig(**{**defaults, **settings})
    elif settings:
        config = dataclasses.replace(config, **settings)
    solution = solve_krusell_smith(chain, config)
    log_levels = jnp.log(jnp.asarray(chain.tfp.levels))
    params = {"ks": solution.params, "log_levels": log_levels}
    policy = _ks_ar1(game, game.observation.index(game.wealth), game.observation.index(game.shock))
    return policy, params, solution
