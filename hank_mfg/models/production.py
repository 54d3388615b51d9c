"""Production block: a Cobb–Douglas firm and aggregate TFP processes (JAX).

Prices are competitive, per period and per unit:

    Y = Z K^α L^(1-α),   r = α Z (K/L)^(α-1) - δ,   w = (1-α) Z (K/L)^α,

with ``K = Σ_s mu(s) a(s)`` (wealth held by households is the capital stock) and ``L`` the
efficiency units of labour they supply. ``r`` is the net return on wealth per period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.calibration import LogAR1TFP, MarkovTFP, check_log_ar1, check_markov_chain
from hank_mfg.core.checks import check_bool, check_in_range

Array = jax.Array

__all__ = [
    "CobbDouglas",
    "ConstantTFP",
    "LogAR1Process",
    "MarkovProcess",
    "TFPProcess",
    "tfp_process",
]


@dataclass(frozen=True)
class CobbDouglas:
    """A Cobb–Douglas firm with capital share ``alpha`` in (0, 1), depreciation ``delta`` in
    [0, 1] per period and TFP scale ``level`` > 0 (the shock multiplies it)."""

    alpha: float
    delta: float
    level: float = 1.0

    def __post_init__(self) -> None:
        check_in_range("alpha", self.alpha, 0.0, 1.0, low_open=True, high_open=True)
        check_in_range("delta", self.delta, 0.0, 1.0)
        check_in_range("level", self.level, 0.0, np.inf, low_open=True)

    def output(self, K: Array, L: Array, Z: Array = 1.0) -> Array:
        """Output ``Y = level · Z · K^α L^(1-α)``."""
        return self.level * Z * K**self.alpha * L ** (1.0 - self.alpha)

    def prices(self, K: Array, L: Array, Z: Array = 1.0) -> tuple[Array, Array]:
        """Net interest rate ``r`` and wage ``w`` per efficiency unit, from marginal products."""
        k = K / L
        r = self.alpha * self.level * Z * k ** (self.alpha - 1.0) - self.delta
        w = (1.0 - self.alpha) * self.level * Z * k**self.alpha
        return r, w

    def capital_demand(self, r: Any, L: Any, Z: Any = 1.0) -> Any:
        """Capital the firm demands at net rate ``r`` (inverse of the rate equation)."""
        return L * (self.alpha * self.level * Z / (r + self.delta)) ** (1.0 / (1.0 - self.alpha))

    def wage_at(self, r: Any, Z: Any = 1.0) -> Any:
        """The wage consistent with net rate ``r`` (factor-price frontier)."""
        k = (self.alpha * self.level * Z / (r + self.delta)) ** (1.0 / (1.0 - self.alpha))
        return (1.0 - self.alpha) * self.level * Z * k**self.alpha


class TFPProcess:
    """Aggregate TFP as a pytree state ``z``: ``initial()``, ``next(key, z)``, ``level(z)``."""

    def initial(self) -> Any:
        raise NotImplementedError

    def next(self, key: Array, z: Any) -> Any:
        raise NotImplementedError

    def level(self, z: Any) -> Array:
        raise NotImplementedError


class ConstantTFP(TFPProcess):
    """No aggregate risk: ``Z = 1`` always (the state is a dummy 0)."""

    def initial(self) -> Array:
        return jnp.zeros((), dtype=jnp.int32)

    def next(self, key: Array, z: Array) -> Array:
        return z

    def level(self, z: Array) -> Array:
        return jnp.ones(())


@dataclass(frozen=True)
class LogAR1Process(TFPProcess):
    """``log Z' = ρ log Z + σ ε``, ``ε ~ N(0, 1)``; the state is ``log Z``.

    ``rho`` in (-1, 1), ``sigma`` in [0, inf), ``log_initial`` (``log Z_0``) finite: the rule
    of :class:`~hank_mfg.calibration.LogAR1TFP`, checked on construction (``ValueError``).
    """

    rho: float
    sigma: float
    log_initial: float = 0.0

    def __post_init__(self) -> None:
        rho, sigma, log_initial = check_log_ar1(
            self.rho, self.sigma, self.log_initial, initial_name="log_initial"
        )
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "log_initial", log_initial)

    def initial(self) -> Array:
        return jnp.asarray(self.log_initial, dtype=jnp.result_type(float))

    def next(self, key: Array, z: Array) -> Array:
        return self.rho * z + self.sigma * jax.random.normal(key, dtype=z.dtype)

    def level(self, z: Array) -> Array:
        return jnp.exp(z)


@dataclass(frozen=True, eq=False)
class MarkovProcess(TFPProcess):
    """TFP on a finite chain: the state is the index ``i`` of ``levels``; ``Pi[i, j]``.

    ``levels [n_z]`` positive, finite, distinct; ``Pi [n_z, n_z]`` stochastic; ``initial_index``
    an integer in [0, n_z): the rule of :class:`~hank_mfg.calibration.MarkovTFP`, checked on
    construction (``ValueError``). Both are kept as read-only float64 arrays.
    """

    levels: Any
    Pi: Any
    initial_index: int = 0

    def __post_init__(self) -> None:
        levels, Pi = check_markov_chain(self.levels, self.Pi)
        i = self.initial_index
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < levels.size:
            raise ValueError(
                f"initial_index must be an integer in [0, {levels.size}) (a state of levels), "
                f"got {i!r}"
            )
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "Pi", Pi)
        object.__setattr__(self, "initial_index", int(i))

    def initial(self) -> Array:
        return jnp.asarray(self.initial_index, dtype=jnp.int32)

    def next(self, key: Array, z: Array) -> Array:
        logits = jnp.log(jnp.asarray(self.Pi)[z])
        return jax.random.categorical(key, logits).astype(jnp.int32)

    def level(self, z: Array) -> Array:
        return jnp.asarray(self.levels)[z]


def tfp_process(spec: LogAR1TFP | MarkovTFP | None, *, noise: bool = True) -> TFPProcess:
    """The JAX process for a calibration's TFP description (``None`` or ``noise=False``: none)."""
    if spec is None or not check_bool("noise", noise):
        return ConstantTFP()
    if isinstance(spec, LogAR1TFP):
        return LogAR1Process(rho=spec.rho, sigma=spec.sigma, log_initial=spec.log_tfp_initial)
    if isinstance(spec, MarkovTFP):
        return MarkovProcess(levels=np.asarray(spec.levels), Pi=np.asarray(spec.Pi))
    raise ValueError(f"tfp must be a LogAR1TFP, a MarkovTFP or None, got {spec!r}")
