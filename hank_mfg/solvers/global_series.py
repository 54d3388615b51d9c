"""Aggregate time series of a global solution under sampled TFP shocks, the linear model's
series on the same shocks, and their second moments against those the sequence space implies
without simulation.

**Global series.** ``B`` common-noise paths of a mean-field game whose common noise is log-AR(1)
TFP, rolled forward by the game's exact law of motion under the population's policy (an
RSPG/SPG network, the Krusell–Smith policy, a first-order or stationary policy) from the game's
initial state (its initial distribution, ``log Z_0`` = the process's initial value): the
aggregates ``K_t, r_t, w_t, Y_t, Z_t, L_t, C_t`` at dates ``t = 0 … n`` in the game's timing
(:mod:`hank_mfg.solvers.girf`: ``K_t`` is wealth at the start of date ``t``). The innovations of
log TFP are read back from the TFP path, ``ε_t = log Z_t − ρ log Z_{t−1}`` for ``t = 1 … n``.

**Linear series on the same shocks.** ``X_t = X̄ + Σ_{j=1}^{t} m_X(t − j) ε_j``, with ``m_X(s)``
the linear impulse response, ``s`` periods after it, to a unit innovation in ``log Z``
(:func:`~hank_mfg.solvers.girf.linear_irf`, game timing) and ``X̄`` the steady state. For a
small ``σ`` the global and linear series agree path by path up to terms of order ``σ²``.

**Moments.** Across the ``B`` paths, at a date ``t``: ``Cov(X_t, Y_{t−k})``. The linear
model's are exact and need no simulation (the economy starts at the steady state, so only the
innovations ``ε_1 … ε_t`` have arrived):

    Cov(X_t, Y_{t−k}) = σ² Σ_{i=0}^{t−k−1} m_X(i + k) m_Y(i),

which for ``t → ∞`` are the stationary autocovariances of the moving-average representation
(:func:`hank_mfg.solvers.estimation.autocovariances`). The sampling error of a sample
covariance of ``B`` independent jointly normal pairs is ``√((σ_XX σ_YY + σ_XY²) / (B − 1))``,
evaluated at the linear moments: simulated and analytic moments agree when their difference is
a few of these.

Units: levels (``paths``) and covariances in the variables' own units (``K``, ``Y``, ``C`` in
units of the good, ``r`` a net rate per period, ``Z`` the TFP level); innovations in ``log Z``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from hank_mfg.core.game import MeanFieldGame
from hank_mfg.core.rollout import Policy
from hank_mfg.solvers.girf import LinearIRF, simulate_paths

__all__ = [
    "AggregateSeries",
    "compare_moments",
    "global_series",
    "linear_covariances",
    "linear_series",
]

#: The TFP level in the paths, from which the innovations are read back.
SHOCK = "Z"


@dataclass(frozen=True)
class AggregateSeries:
    """Aggregate series on ``n_samples`` common-noise paths (see the module's docstring).

    Attributes:
        paths: ``name -> [n_samples, periods + 1]``, levels at dates ``0 … periods``.
        innovations: ``[n_samples, periods]``, ``ε_t`` in ``log Z`` at dates ``1 … periods``.
        rho, sigma: the log-AR(1) TFP process's persistence and innovation sd.
        source: ``"global"`` (a policy rolled out in the game) or ``"linear"``.
        model: the economy's name; seed: the samples' seed.
    """

    paths: dict[str, np.ndarray]
    innovations: np.ndarray
    rho: float
    sigma: float
    source: str
    model: str
    seed: int

    def __getitem__(self, name: str) -> np.ndarray:
        return self.paths[name]

    @property
    def n_samples(self) -> int:
        return int(self.innovations.shape[0])

    @property
    def periods(self) -> int:
        return int(self.innovations.shape[1])

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.paths)

    def covariances(
        self, date: int, lags: Sequence[int] = (0, 1), variables: Sequence[str] | None = None
    ) -> xr.DataArray:
        """Sample covariances across paths ``[variable, other, lag]``:
        ``Cov(X_date, Y_{date − lag})`` (ddof 1), in the variables' units."""
        names = self._names(variables)
        lags = _check_lags(lags, date, self.periods)

        def centred(at: int) -> np.ndarray:  # [variable, sample]
            x = np.stack([self.paths[name][:, at] for name in names])
            return x - x.mean(axis=1, keepdims=True)

        now = centred(date)
        out = np.stack(
            [now @ centred(date - lag).T / (self.n_samples - 1) for lag in lags], axis=-1
        )
        return _covariance_array(out, names, lags, f"sample covariance at date {date}")

    def to_xarray(self) -> xr.Dataset:
        """An ``xarray.Dataset`` on ``(sample, time)``: one variable per aggregate (levels) and
        the innovation ``epsilon`` (NaN at date 0, where none has arrived)."""
        data = {
            name: (
                ("sample", "time"),
                path,
                {"long_name": f"{name} ({self.source} series)", "units": f"units of {name}"},
            )
            for name, path in self.paths.items()
        }
        eps = np.concatenate([np.full((self.n_samples, 1), np.nan), self.innovations], axis=1)
        data["epsilon"] = (
            ("sample", "time"),
            eps,
            {"long_name": "innovation of log TFP", "units": "log points"},
        )
        coords = {
            "sample": ("sample", np.arange(self.n_samples), {"long_name": "common-noise path"}),
            "time": ("time", np.arange(self.periods + 1), {"units": "period"}),
        }
        attrs = {
            "model": self.model,
            "source": self.source,
            "rho": self.rho,
            "sigma": self.sigma,
            "seed": self.seed,
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def _names(self, variables: Sequence[str] | None) -> list[str]:
        names = list(self.paths) if variables is None else list(variables)
        missing = [n for n in names if n not in self.paths]
        if missing:
            raise ValueError(
                f"variables {missing} are not in the series (it has {', '.join(self.paths)})"
            )
        return names


def _check_lags(lags: Sequence[int], date: int | None, periods: int | None) -> list[int]:
    lags = [int(k) for k in lags]
    if not lags or min(lags) < 0:
        raise ValueError(f"lags must be integers >= 0, got {lags}")
    if date is not None:
        if isinstance(date, bool) or not isinstance(date, int | np.integer):
            raise ValueError(f"date must be an integer, got {date!r}")
        top = periods if periods is not None else date
        if not 0 <= date <= top:
            raise ValueError(f"date must be in [0, {top}], got {date}")
        if max(lags) > date:
            raise ValueError(f"lags must be at most date = {date}, got {max(lags)}")
    return lags


def _covariance_array(
    values: np.ndarray, names: list[str], lags: list[int], what: str
) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("variable", "other", "lag"),
        coords={"variable": names, "other": names, "lag": lags},
        attrs={"long_name": f"{what}: Cov(variable_t, other_(t - lag))"},
    )


def global_series(
    game: MeanFieldGame,
    policy: Policy,
    params: Any,
    *,
    periods: int,
    n_samples: int = 256,
    seed: int = 0,
) -> AggregateSeries:
    """The aggregate series of a global solution on ``n_samples`` common-noise paths.

    Args:
        game: a mean-field game with log-AR(1) TFP (``game.tfp``, ``σ > 0``) whose aggregates
            include the TFP level ``Z``.
        policy, params: the population's policy as the core rolls it out (a trained network's
            ``Solution.policy, Solution.params``; :func:`~hank_mfg.solvers.girf.
            krusell_smith_ar1_policy`; :func:`~hank_mfg.solvers.girf.first_order_policy` …).
        periods: dates after the first (``2 ≤ periods ≤ game.horizon``).
        n_samples: paths ``B >= 1``; seed: their seed (integer >= 0).

    Returns:
        An :class:`AggregateSeries` (``source="global"``), levels at dates ``0 … periods``.
    """
    paths = simulate_paths(game, policy, params, periods=periods, n_samples=n_samples, seed=seed)
    if SHOCK not in paths:
        raise ValueError(f"game: its aggregates {sorted(paths)} hold no TFP level {SHOCK!r}")
    tfp = game.tfp
    log_z = np.log(paths[SHOCK])
    innovations = log_z[:, 1:] - tfp.rho * log_z[:, :-1]
    return AggregateSeries(
        paths=paths,
        innovations=innovations,
        rho=float(tfp.rho),
        sigma=float(tfp.sigma),
        source="global",
        model=str(getattr(game, "name", type(game).__name__)),
        seed=int(seed),
    )


def _unit_responses(linear: LinearIRF, names: Sequence[str]) -> dict[str, np.ndarray]:
    """``m_X(s)``, ``s = 0 … T − 1``: the response to a unit innovation in ``log Z``."""
    return {name: linear.game_path(name) / linear.shock for name in names}


def _common(linear: LinearIRF, names: Sequence[str]) -> list[str]:
    missing = [n for n in names if n not in linear.sequence or n not in linear.steady]
    if missing:
        raise ValueError(
            f"variables {missing} are not in the linear model (it has "
            f"{', '.join(n for n in linear.sequence if n in linear.steady)})"
        )
    return list(names)


def linear_series(
    linear: LinearIRF, like: AggregateSeries, variables: Sequence[str] | None = None
) -> AggregateSeries:
    """The linear model's series on the innovations of ``like`` (the same paths, dates and
    seed): ``X_t = X̄ + Σ_{j=1}^{t} m_X(t − j) ε_j`` for each variable in both.

    Raises:
        ValueError: ``like`` longer than the linear model's truncation ``T``; a variable the
            linear model does not have.
    """
    n = like.periods + 1
    if n > linear.T:
        raise ValueError(
            f"like: its {like.periods} periods exceed the linear model's horizon T = "
            f"{linear.T} less one; linearise with a larger T"
        )
    if variables is None:
        variables = [v for v in like.paths if v in linear.sequence and v in linear.steady]
    names = _common(linear, variables)
    m = _unit_responses(linear, names)
    eps = np.concatenate([np.zeros((like.n_samples, 1)), like.innovations], axis=1)
    lag = np.arange(n)[:, None] - np.arange(n)[None, :]  # t − j
    paths = {}
    for name in names:
        toeplitz = np.where(lag >= 0, m[name][np.clip(lag, 0, None)], 0.0)  # [t, j]
        paths[name] = float(linear.steady[name]) + eps @ toeplitz.T
    return AggregateSeries(
        paths=paths,
        innovations=like.innovations,
        rho=like.rho,
        sigma=like.sigma,
        source="linear",
        model=like.model,
        seed=like.seed,
    )


def linear_covariances(
    linear: LinearIRF,
    sigma: float,
    date: int | None = None,
    lags: Sequence[int] = (0, 1),
    variables: Sequence[str] = ("K", "Y", "C", "r"),
) -> xr.DataArray:
    """The linear model's covariances ``[variable, other, lag]``, ``Cov(X_t, Y_{t−k})``, for
    innovations of sd ``sigma`` (in ``log Z``) from date 1 on and the economy at the steady
    state at date 0: at ``date`` ``t``, or the stationary ones (``date=None``, sums over the
    whole truncation ``T``). No simulation.

    Raises:
        ValueError: ``sigma`` not positive and finite, a date beyond ``T − 1``, a negative lag
            or one beyond the date, a variable the linear model does not have.
    """
    sigma = float(sigma)
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(
            f"sigma (innovation sd of log TFP) must be positive and finite, got {sigma}"
        )
    lags = _check_lags(lags, date, linear.T - 1)
    names = _common(linear, variables)
    m = _unit_responses(linear, names)
    span = linear.T if date is None else date
    out = np.empty((len(names), len(names), len(lags)))
    for k, lag in enumerate(lags):
        terms = max(span - lag, 0)
        for a, x in enumerate(names):
            for b, y in enumerate(names):
                out[a, b, k] = sigma**2 * (m[x][lag : lag + terms] @ m[y][:terms])
    what = "stationary covariance" if date is None else f"covariance at date {date}"
    return _covariance_array(out, names, lags, f"linear model's {what}")


def compare_moments(
    series: AggregateSeries,
    linear: LinearIRF,
    date: int,
    lags: Sequence[int] = (0, 1),
    variables: Sequence[str] = ("K", "Y", "C", "r"),
) -> xr.Dataset:
    """Sample covariances of ``series`` at ``date`` against the linear model's, with the
    sampling error of a covariance of ``series.n_samples`` normal draws (at the linear
    moments) and their ratio ``z = (simulated − linear) / standard_error``.

    Returns:
        An ``xarray.Dataset`` on ``(variable, other, lag)``: ``simulated``, ``linear``,
        ``standard_error``, ``z``; the settings as attributes.
    """
    simulated = series.covariances(date, lags, variables)
    analytic = linear_covariances(linear, series.sigma, date, lags, variables)
    names, lags = list(simulated["variable"].values), list(simulated["lag"].values)

    def variances(at: int) -> np.ndarray:
        return np.diag(linear_covariances(linear, series.sigma, at, [0], names).values[..., 0])

    var_now = variances(date)
    se = np.empty_like(analytic.values)
    for k, lag in enumerate(lags):
        var_then = variances(date - lag)
        se[..., k] = np.sqrt(
            (np.outer(var_now, var_then) + analytic.values[..., k] ** 2)
            / max(series.n_samples - 1, 1)
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (simulated.values - analytic.values) / se
    dims = ("variable", "other", "lag")
    return xr.Dataset(
        {
            "simulated": (dims, simulated.values, {"long_name": "sample covariance"}),
            "linear": (dims, analytic.values, {"long_name": "linear model's covariance"}),
            "standard_error": (dims, se, {"long_name": "sampling sd of the sample covariance"}),
            "z": (dims, z, {"long_name": "(simulated - linear) / standard_error", "units": "1"}),
        },
        coords={"variable": names, "other": names, "lag": lags},
        attrs={
            "date": int(date),
            "n_samples": series.n_samples,
            "source": series.source,
            "model": series.model,
            "sigma": series.sigma,
            "definition": "Cov(variable_date, other_(date - lag)) across common-noise paths",
        },
    )
