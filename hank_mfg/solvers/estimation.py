"""Moments and the likelihood of a linearised model, and maximum-likelihood estimation of
its shock processes (the Sequence-Space Jacobian toolkit's ``estimation`` module, in JAX).

Each shock ``z`` follows an AR(1) in deviations from the steady state, ``dz_t = ρ dz_{t−1} +
σ ε_t`` with ``ε_t`` i.i.d. standard normal. Its moving-average representation in the
observables ``o`` is ``M[j, o, z] = (G[o][z] @ ρ^t)[j]`` (the general-equilibrium response at
lag ``j`` to a unit innovation, :meth:`~hank_mfg.solvers.sequence.LinearModel.jacobian`), so

    Σ[τ][o, o'] = Σ_j Σ_z M[j, o, z] σ_z² M[j + τ, o', z]     (autocovariances, lag τ ≥ 0)

and observed series ``Y`` (``T_obs × n_obs``, deviations from the steady state, plus i.i.d.
measurement error of standard deviation ``σ_m``) are Gaussian with the block-Toeplitz
covariance built from ``Σ``. Everything is a JAX function of ``(ρ, σ, σ_m)``: gradients and the
Hessian (standard errors) by autodiff.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from hank_mfg.solvers.sequence import LinearModel

Array = jax.Array

__all__ = [
    "Estimate",
    "LinearLikelihood",
    "autocovariances",
    "check_shock_parameters",
    "full_covariance",
    "gaussian_log_likelihood",
    "ma_representation",
    "simulate_aggregates",
]


def check_shock_parameters(rho: Any, sigma: Any, names: Sequence[str]) -> None:
    """``ValueError`` naming the first shock whose persistence is not in (−1, 1) or whose
    standard deviation is not positive (or either not finite)."""
    for name, r, s in zip(names, np.atleast_1d(rho), np.atleast_1d(sigma), strict=True):
        if not np.isfinite(r) or not -1.0 < float(r) < 1.0:
            raise ValueError(f"shock {name!r}: the persistence rho must be in (-1, 1), got {r}")
        if not np.isfinite(s) or not float(s) > 0.0:
            raise ValueError(f"shock {name!r}: the standard deviation sigma must be > 0, got {s}")


def ma_representation(G: Array, rho: Array) -> Array:
    """``M [T, n_obs, n_shocks]``: the responses to a unit innovation of each AR(1) shock,
    from ``G [n_shocks, n_obs, T, T]`` (general-equilibrium Jacobians) and ``rho [n_shocks]``."""
    T = G.shape[-1]
    paths = rho[:, None] ** jnp.arange(T, dtype=G.dtype)[None, :]  # [n_shocks, T]
    return jnp.einsum("zots,zs->toz", G, paths)


def autocovariances(M: Array, sigma: Array) -> Array:
    """``Σ [T, n_obs, n_obs]``: ``Σ[τ][o, o'] = Σ_j Σ_z M[j, o, z] σ_z² M[j + τ, o', z]`` for
    lags ``τ = 0 … T−1``, by the fast Fourier transform (zero-padded: no wrap-around)."""
    T = M.shape[0]
    dft = jnp.fft.rfft(M, n=2 * T, axis=0)  # [F, n_obs, n_shocks]
    spectrum = jnp.einsum("foz,z,fpz->fop", jnp.conj(dft), sigma**2, dft)
    return jnp.fft.irfft(spectrum, n=2 * T, axis=0)[:T]


def full_covariance(Sigma: Array, measurement_sd: Array, T_obs: int) -> Array:
    """The ``(T_obs n_obs) × (T_obs n_obs)`` covariance of the stacked observations (time
    major): block ``(t1, t2)`` is ``Σ[t2 − t1]`` above the diagonal, its transpose below, zero
    beyond the lags ``Σ`` holds, plus ``diag(σ_m²)`` on the diagonal blocks."""
    T, n = Sigma.shape[0], Sigma.shape[1]
    lag = jnp.arange(T_obs)[None, :] - jnp.arange(T_obs)[:, None]  # t2 − t1
    within = jnp.abs(lag) < T
    blocks = Sigma[jnp.clip(jnp.abs(lag), 0, T - 1)]  # [T_obs, T_obs, n, n]
    blocks = jnp.where((lag < 0)[..., None, None], jnp.swapaxes(blocks, -1, -2), blocks)
    blocks = jnp.where(within[..., None, None], blocks, 0.0)
    diagonal = (Sigma[0] + Sigma[0].T) / 2 + jnp.diag(measurement_sd**2)
    eye = jnp.eye(T_obs, dtype=bool)[..., None, None]
    blocks = jnp.where(eye, diagonal, blocks)
    return blocks.transpose(0, 2, 1, 3).reshape(T_obs * n, T_obs * n)


def gaussian_log_likelihood(y: Array, V: Array, constant: bool = True) -> Array:
    """``−½ (log det V + y' V⁻¹ y)`` by Cholesky, less ``½ n log 2π`` with ``constant``."""
    L = jnp.linalg.cholesky(V)
    z = jax.scipy.linalg.solve_triangular(L, y, lower=True)
    value = -jnp.sum(jnp.log(jnp.diag(L))) - 0.5 * jnp.dot(z, z)
    return value - (0.5 * y.shape[0] * math.log(2 * math.pi) if constant else 0.0)


def simulate_aggregates(M: Any, sigma: Any, T_obs: int, seed: int = 0) -> np.ndarray:
    """Simulated observables ``[T_obs, n_obs]`` (deviations from the steady state):
    ``Y_t = Σ_j M[j] σ ε_{t−j}`` with the innovations of ``T`` periods before the sample drawn
    too (the series start in their stationary distribution up to the MA truncation)."""
    if isinstance(T_obs, bool) or not isinstance(T_obs, int | np.integer) or T_obs < 1:
        raise ValueError(f"T_obs (periods to simulate) must be a positive integer, got {T_obs!r}")
    M, sigma = np.asarray(M), np.asarray(sigma)
    T, n_obs, n_shocks = M.shape
    eps = np.random.default_rng(seed).standard_normal((T_obs + T - 1, n_shocks)) * sigma
    out = np.zeros((T_obs, n_obs))
    for z in range(n_shocks):
        for o in range(n_obs):
            out[:, o] += np.convolve(eps[:, z], M[:, o, z])[T - 1 : T - 1 + T_obs]
    return out


@dataclass(frozen=True)
class Estimate:
    """A maximum-likelihood estimate.

    Attributes:
        names: the parameters (``rho_Z``, ``sigma_Z``, ``measurement_Y`` …); estimate: their
            values; standard_errors: from the inverse Hessian of the log-likelihood;
        log_likelihood: at the estimate; converged: the optimiser's verdict; message: its word.
    """

    names: tuple[str, ...]
    estimate: np.ndarray
    standard_errors: np.ndarray
    log_likelihood: float
    converged: bool
    message: str

    def as_dict(self) -> dict[str, tuple[float, float]]:
        """name -> (estimate, standard error)."""
        return {
            n: (float(v), float(s))
            for n, v, s in zip(self.names, self.estimate, self.standard_errors, strict=True)
        }


class LinearLikelihood:
    """The likelihood of observed aggregates under a linearised model and AR(1) shocks.

    Args:
        linear: the :class:`~hank_mfg.solvers.sequence.LinearModel` (its ``exogenous`` must
            include the shocks).
        shocks: the shocked inputs (``["Z"]``); observables: the observed variables
            (``["Y", "C"]``), in the columns of the data.
        measurement: estimate a measurement-error standard deviation per observable
            (otherwise it is fixed, default 0).
    """

    def __init__(
        self,
        linear: LinearModel,
        shocks: Sequence[str],
        observables: Sequence[str],
        measurement: bool = False,
    ) -> None:
        self.shocks, self.observables = tuple(shocks), tuple(observables)
        if not self.shocks or not self.observables:
            raise ValueError("give at least one shock and one observable")
        G = np.stack(
            [np.stack([linear.jacobian(o, z) for o in self.observables]) for z in self.shocks]
        )
        self.G = jnp.asarray(G)  # [n_shocks, n_obs, T, T]
        self.T = linear.T
        self.measurement = bool(measurement)
        self.names = (
            *(f"rho_{z}" for z in self.shocks),
            *(f"sigma_{z}" for z in self.shocks),
            *((f"measurement_{o}" for o in self.observables) if measurement else ()),
        )

    def _split(self, params: Array) -> tuple[Array, Array, Array]:
        k = len(self.shocks)
        rho, sigma = params[:k], params[k : 2 * k]
        if self.measurement:
            return rho, sigma, params[2 * k :]
        return rho, sigma, jnp.zeros(len(self.observables), dtype=params.dtype)

    def moments(self, rho: Sequence[float], sigma: Sequence[float]) -> np.ndarray:
        """Autocovariances ``[T, n_obs, n_obs]`` of the observables (no measurement error)."""
        check_shock_parameters(rho, sigma, self.shocks)
        M = ma_representation(self.G, jnp.asarray(rho, dtype=jnp.float64))
        return np.asarray(autocovariances(M, jnp.asarray(sigma, dtype=jnp.float64)))

    def ma(self, rho: Sequence[float]) -> np.ndarray:
        """The moving-average representation ``[T, n_obs, n_shocks]``."""
        check_shock_parameters(rho, np.ones(len(self.shocks)), self.shocks)
        return np.asarray(ma_representation(self.G, jnp.asarray(rho, dtype=jnp.float64)))

    def check_data(self, data: Any) -> jnp.ndarray:
        """The data as a float64 array ``[T_obs, n_obs]``; ``ValueError`` if not finite or of
        the wrong shape."""
        Y = np.asarray(data, dtype=np.float64)
        if Y.ndim != 2 or Y.shape[1] != len(self.observables) or Y.shape[0] < 2:
            raise ValueError(
                f"data must have shape (T_obs >= 2, {len(self.observables)}) for the "
                f"observables {', '.join(self.observables)}, got {Y.shape}"
            )
        bad = np.argwhere(~np.isfinite(Y))
        if bad.size:
            t, o = bad[0]
            raise ValueError(
                f"data is not finite at period {t} of observable {self.observables[o]!r}"
            )
        return jnp.asarray(Y)

    def _value(self, rho: Array, sigma: Array, sd: Array, Y: Array, constant: bool) -> Array:
        M = ma_representation(self.G, rho)
        V = full_covariance(autocovariances(M, sigma), sd, Y.shape[0])
        return gaussian_log_likelihood(Y.ravel(), V, constant)

    def _loglik(self, params: Array, Y: Array, constant: bool) -> Array:
        return self._value(*self._split(params), Y, constant)

    def __call__(
        self,
        data: Any,
        rho: Sequence[float],
        sigma: Sequence[float],
        measurement_sd: Sequence[float] | None = None,
        constant: bool = True,
    ) -> float:
        """The log-likelihood of ``data`` ``[T_obs, n_obs]`` (deviations from the steady
        state) at the shock parameters and measurement-error standard deviations (default
        0; ``constant=False``: without ``−½ n log 2π``, as SSJ's ``log_likelihood``)."""
        Y = self.check_data(data)
        check_shock_parameters(rho, sigma, self.shocks)
        n = len(self.observables)
        sd = np.zeros(n) if measurement_sd is None else np.asarray(measurement_sd, float)
        if sd.shape != (n,) or np.any(~np.isfinite(sd)) or np.any(sd < 0):
            raise ValueError(f"measurement_sd must be {n} finite values >= 0, got {sd}")
        as_array = lambda v: jnp.asarray(np.asarray(v, dtype=np.float64))  # noqa: E731
        return float(self._value(as_array(rho), as_array(sigma), as_array(sd), Y, constant))

    def estimate(self, data: Any, start: Mapping[str, float] | Sequence[float]) -> Estimate:
        """Maximum-likelihood estimate from ``start`` (name -> value, or values in the order
        of :attr:`names`): L-BFGS-B with the JAX gradient, in unbounded coordinates (``ρ =
        tanh``, ``σ = exp``); standard errors from the Hessian at the estimate."""
        Y = self.check_data(data)
        x0 = np.array([start[n] for n in self.names] if isinstance(start, Mapping) else start)
        if x0.shape != (len(self.names),):
            raise ValueError(f"start must give {len(self.names)} values ({', '.join(self.names)})")
        k = len(self.shocks)
        check_shock_parameters(x0[:k], x0[k : 2 * k], self.shocks)
        if self.measurement and np.any(x0[2 * k :] <= 0):
            raise ValueError("start: measurement-error standard deviations must be > 0")

        def natural(u: Array) -> Array:
            return jnp.concatenate([jnp.tanh(u[:k]), jnp.exp(u[k:])])

        def objective(u: Array) -> Array:
            return -self._loglik(natural(u), Y, True)

        value_and_grad = jax.jit(jax.value_and_grad(objective))
        u0 = np.concatenate([np.arctanh(x0[:k]), np.log(x0[k:])])

        def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = value_and_grad(jnp.asarray(u))
            return float(v), np.asarray(g, dtype=np.float64)

        result = scipy.optimize.minimize(fun, u0, jac=True, method="L-BFGS-B")
        x = np.asarray(natural(jnp.asarray(result.x)))
        H = np.asarray(jax.hessian(lambda p: self._loglik(p, Y, True))(jnp.asarray(x)))
        covariance = np.linalg.inv(-H)
        errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        return Estimate(
            names=self.names,
            estimate=x,
            standard_errors=errors,
            log_likelihood=-float(result.fun),
            converged=bool(result.success),
            message=str(result.message),
        )
