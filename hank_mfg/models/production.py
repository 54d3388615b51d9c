"""Aggregate TFP processes (JAX): the common noise of the built-in economies.

A process is a pytree state ``z`` with ``initial()``, ``next(key, z)`` and ``level(z)``, the TFP
level ``Z`` the firm block reads (``Y = A Z K^α L^(1-α)`` in the built-ins, see
:mod:`hank_mfg.models.aiyagari`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.calibration import LogAR1TFP, MarkovTFP, check_log_ar1, check_markov_chain
from hank_mfg.core.checks import check_bool

Array = jax.Array

__all__ = [
    "ConstantTFP",
    "LogAR1Process",
    "MarkovProcess",
    "TFPProcess",
    "tfp_process",
]


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
