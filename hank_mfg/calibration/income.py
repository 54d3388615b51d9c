"""Idiosyncratic labour-income processes: finite Markov chains for the endowment e.

The household's labour endowment follows a Markov chain on a grid ``e_1 < … < e_n`` with
transition matrix ``Pi[i, j] = P(e' = e_j | e = e_i)``. The discretised AR(1) processes

    log e_t = rho log e_{t-1} + sigma eps_t,    eps_t ~ N(0, 1),

(``sigma`` is the standard deviation of the innovation, ``sigma / sqrt(1 - rho^2)`` the
unconditional one) come from QuantEcon's Tauchen and Rouwenhorst methods, are exponentiated and
rescaled so that the mean endowment under the stationary distribution is exactly 1: labour
income is then measured in units of mean labour income, ``w E[e] = w``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import quantecon as qe

from hank_mfg.core.checks import check_finite, check_in_range

__all__ = [
    "IncomeProcess",
    "check_grid",
    "check_stochastic_matrix",
    "innovation_sd",
    "markov_income",
    "rouwenhorst",
    "stationary_distribution",
    "tauchen",
]

#: Tolerance for "rows sum to one" and "the distribution is stationary".
PROB_TOL = 1e-10


def frozen_array(x: Any) -> np.ndarray:
    """A read-only float64 copy of ``x``."""
    x = np.array(x, dtype=np.float64, copy=True)
    x.setflags(write=False)
    return x


def check_grid(
    name: str, grid: Any, *, positive: bool = False, increasing: bool = True
) -> np.ndarray:
    """Return ``grid`` as a read-only float64 vector of at least two finite points.

    Raises ``ValueError`` naming ``name`` if the grid is not 1-D, has fewer than two points,
    holds NaN/inf, is not strictly increasing (when ``increasing``) or has a point ``<= 0``
    (when ``positive``).
    """
    try:
        x = np.asarray(grid, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a vector of numbers, got {grid!r}") from None
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"{name} must be a vector of at least 2 points, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {x}")
    if positive and np.any(x <= 0):
        raise ValueError(f"{name} must be positive (all points in (0, inf)), got {x}")
    if increasing and np.any(np.diff(x) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {x}")
    return frozen_array(x)


def check_stochastic_matrix(name: str, Pi: Any, n: int | None = None) -> np.ndarray:
    """Return ``Pi`` as a read-only float64 Markov matrix (square, entries >= 0, rows sum to 1).

    Raises ``ValueError`` naming ``name`` otherwise (``n``: the required number of states).
    """
    try:
        P = np.asarray(Pi, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a square matrix of numbers, got {Pi!r}") from None
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {P.shape}")
    if n is not None and P.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, {n}) to match the grid, got {P.shape}")
    if not np.all(np.isfinite(P)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if np.any(P < 0):
        raise ValueError(f"{name} must have non-negative entries (probabilities in [0, 1])")
    rows = P.sum(axis=1)
    if np.any(np.abs(rows - 1.0) > PROB_TOL):
        raise ValueError(f"{name} must be stochastic (every row sums to 1), row sums {rows}")
    return frozen_array(P)


def _gth(P: np.ndarray) -> np.ndarray:
    """Stationary distribution of an irreducible chain by Grassmann–Taksar–Heyman elimination
    (subtraction-free, so accurate even for nearly decomposable chains)."""
    A = np.array(P, dtype=np.float64)
    n = A.shape[0]
    for k in range(n - 1):
        scale = A[k, k + 1 :].sum()
        A[k + 1 :, k] /= scale
        A[k + 1 :, k + 1 :] += np.outer(A[k + 1 :, k], A[k, k + 1 :])
    x = np.zeros(n)
    x[-1] = 1.0
    for k in range(n - 2, -1, -1):
        x[k] = x[k + 1 :] @ A[k + 1 :, k]
    return x / x.sum()


def stationary_distribution(Pi: Any) -> np.ndarray:
    """The stationary distribution ``pi = pi Pi``, ``sum(pi) = 1``, of a Markov matrix.

    Zero on transient states; on the recurrent class by Grassmann–Taksar–Heyman elimination
    (the algorithm of QuantEcon's ``gth_solve``). Raises ``ValueError`` if ``Pi`` has several
    recurrent classes, hence several stationary distributions.
    """
    P = check_stochastic_matrix("Pi", Pi)
    n = P.shape[0]
    # reach[i, j]: j can be reached from i (transitive closure by repeated squaring)
    reach = (P > 0) | np.eye(n, dtype=bool)
    for _ in range(max(1, math.ceil(math.log2(n)))):
        reach = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
    recurrent = np.all(reach.T | ~reach, axis=1)  # i reaches j => j reaches i
    if np.unique(reach[recurrent], axis=0).shape[0] != 1:
        raise ValueError("Pi must have a unique stationary distribution (one recurrent class)")
    pi = np.zeros(n)
    pi[recurrent] = _gth(P[np.ix_(recurrent, recurrent)])
    return pi


@dataclass(frozen=True, eq=False)
class IncomeProcess:
    """A Markov chain for the labour endowment e.

    Attributes:
        grid: endowment levels ``e`` ``[n_e]``, positive and strictly increasing; for
            ``tauchen``/``rouwenhorst`` normalised so that ``stationary @ grid == 1``
            (efficiency units per unit of mean labour).
        Pi: transition matrix ``[n_e, n_e]``, ``Pi[i, j] = P(e' = grid[j] | e = grid[i])``.
        stationary: the stationary distribution ``[n_e]`` of ``Pi``.
        method, rho, sigma, n_std: how the chain was made, for the record (results files):
            ``"tauchen"`` or ``"rouwenhorst"`` and the AR(1) of log e it discretises
            (``sigma`` the innovation sd; ``n_std`` Tauchen's grid width); ``None`` for a
            chain given by its levels.

    Arrays are stored as read-only float64 copies.
    """

    grid: np.ndarray
    Pi: np.ndarray
    stationary: np.ndarray
    method: str | None = None
    rho: float | None = None
    sigma: float | None = None
    n_std: float | None = None

    def __post_init__(self) -> None:
        grid = check_grid("grid", self.grid, positive=True)
        Pi = check_stochastic_matrix("Pi", self.Pi, grid.size)
        try:
            pi = np.asarray(self.stationary, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"stationary must be a vector, got {self.stationary!r}") from None
        if pi.shape != grid.shape:
            raise ValueError(f"stationary must have shape {grid.shape}, got {pi.shape}")
        if not np.all(np.isfinite(pi)) or np.any(pi < 0):
            raise ValueError("stationary must be finite and non-negative")
        if abs(pi.sum() - 1.0) > PROB_TOL:
            raise ValueError(f"stationary must sum to 1, sums to {pi.sum():.15g}")
        if np.max(np.abs(pi @ Pi - pi)) > 1e-9:
            raise ValueError("stationary must be stationary for Pi (stationary @ Pi == stationary)")
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "Pi", Pi)
        object.__setattr__(self, "stationary", frozen_array(pi))
        if self.method is not None and not isinstance(self.method, str):
            raise ValueError(f"method must be a string or None, got {self.method!r}")
        for name in ("rho", "sigma", "n_std"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_finite(name, getattr(self, name)))

    @property
    def n(self) -> int:
        """Number of endowment states ``n_e``."""
        return int(self.grid.size)

    @property
    def mean(self) -> float:
        """Mean endowment under the stationary distribution, ``sum_i stationary_i e_i``."""
        return float(self.stationary @ self.grid)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter as plain Python values (arrays as nested lists); for a discretised
        AR(1) also its ``method``, ``rho``, ``sigma`` (innovation sd), ``unconditional_sd``
        (``sigma / sqrt(1 - rho^2)``) and, for Tauchen, ``n_std``."""
        out: dict[str, Any] = {
            "grid": self.grid.tolist(),
            "Pi": self.Pi.tolist(),
            "stationary": self.stationary.tolist(),
        }
        if self.method is not None:
            out["method"] = self.method
        if self.rho is not None and self.sigma is not None:
            out["rho"], out["sigma"] = self.rho, self.sigma
            out["unconditional_sd"] = self.sigma / math.sqrt(1.0 - self.rho**2)
        if self.n_std is not None:
            out["n_std"] = self.n_std
        return out


def markov_income(grid: Any, Pi: Any, *, normalize: bool = False) -> IncomeProcess:
    """An income process from user-given endowment levels and Markov matrix.

    Args:
        grid: endowment levels ``e`` ``[n_e]``, positive and strictly increasing.
        Pi: transition matrix ``[n_e, n_e]`` with a unique stationary distribution.
        normalize: rescale ``grid`` so that its stationary mean is 1 (default: keep levels).
    """
    e = check_grid("grid", grid, positive=True)
    P = check_stochastic_matrix("Pi", Pi, e.size)
    pi = stationary_distribution(P)
    if normalize:
        e = e / (pi @ e)
    return IncomeProcess(grid=e, Pi=P, stationary=pi)


def _check_ar1(rho: float, sigma: float, n: int) -> tuple[float, float, int]:
    rho = check_in_range("rho", rho, -1.0, 1.0, low_open=True, high_open=True)
    sigma = check_in_range("sigma", sigma, 0.0, math.inf, low_open=True, high_open=True)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n must be an integer in [2, inf), got {n!r}")
    return rho, sigma, int(n)


def _from_log_chain(log_e: np.ndarray, Pi: np.ndarray, **origin: Any) -> IncomeProcess:
    P = np.asarray(Pi, dtype=np.float64)
    P = P / P.sum(axis=1, keepdims=True)
    chain = markov_income(np.exp(np.asarray(log_e, dtype=np.float64)), P, normalize=True)
    return IncomeProcess(chain.grid, chain.Pi, chain.stationary, **origin)


def tauchen(rho: float, sigma: float, n: int, n_std: float = 3.0) -> IncomeProcess:
    """Tauchen (1986) discretisation of ``log e' = rho log e + sigma eps``, mean of e set to 1.

    Args:
        rho: persistence, in (-1, 1).
        sigma: standard deviation of the innovation of log e, in (0, inf).
        n: number of states, >= 2.
        n_std: the grid of log e spans ``±n_std`` unconditional standard deviations.
    """
    rho, sigma, n = _check_ar1(rho, sigma, n)
    n_std = check_in_range("n_std", n_std, 0.0, math.inf, low_open=True, high_open=True)
    mc = qe.markov.tauchen(n, rho, sigma, mu=0.0, n_std=n_std)
    return _from_log_chain(
        mc.state_values, mc.P, method="tauchen", rho=rho, sigma=sigma, n_std=n_std
    )


def rouwenhorst(rho: float, sigma: float, n: int) -> IncomeProcess:
    """Rouwenhorst (1995) discretisation of ``log e' = rho log e + sigma eps``, mean of e set to 1.

    Exact in the first two conditional moments of log e, hence preferred for rho near 1.

    Args:
        rho: persistence, in (-1, 1).
        sigma: standard deviation of the innovation of log e, in (0, inf).
        n: number of states, >= 2.
    """
    rho, sigma, n = _check_ar1(rho, sigma, n)
    with warnings.catch_warnings():
        # QuantEcon warns on every call that the argument order changed in 0.6; ours is current.
        warnings.filterwarnings("ignore", message="The API of rouwenhorst", category=UserWarning)
        mc = qe.markov.rouwenhorst(n, rho, sigma, mu=0.0)
    return _from_log_chain(mc.state_values, mc.P, method="rouwenhorst", rho=rho, sigma=sigma)


def innovation_sd(unconditional_sd: float, rho: float) -> float:
    """Innovation standard deviation ``sigma = sigma_u sqrt(1 - rho^2)`` of an AR(1).

    Args:
        unconditional_sd: ``sigma_u``, the unconditional standard deviation, in (0, inf).
        rho: persistence, in (-1, 1).
    """
    sigma_u = check_in_range(
        "unconditional_sd", unconditional_sd, 0.0, math.inf, low_open=True, high_open=True
    )
    rho = check_in_range("rho", rho, -1.0, 1.0, low_open=True, high_open=True)
    return sigma_u * math.sqrt(1.0 - rho * rho)
