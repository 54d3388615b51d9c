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

from hank_mfg.calibration import LogAR1TFP, MarkovTFP
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
    """The dynamics of a :class:`~hank_mfg.calibration.LogAR1TFP` calibration, ``log Z' = ρ
    log Z + σ ε``, ``ε ~ N(0, 1)``; the state is ``log Z``, starting at the calibration's
    ``log_tfp_initial``. The parameters are the calibration's, validated there once."""

    spec: LogAR1TFP

    def __post_init__(self) -> None:
        if not isinstance(self.spec, LogAR1TFP):
            raise ValueError(
                f"spec must be a LogAR1TFP (rho, sigma, log_tfp_initial), got {self.spec!r}"
            )

    @property
    def rho(self) -> float:
        return self.spec.rho

    @property
    def sigma(self) -> float:
        return self.spec.sigma

    def initial(self) -> Array:
        return jnp.asarray(self.spec.log_tfp_initial, dtype=jnp.result_type(float))

    def next(self, key: Array, z: Array) -> Array:
        return self.spec.rho * z + self.spec.sigma * jax.random.normal(key, dtype=z.dtype)

    def level(self, z: Array) -> Array:
        return jnp.exp(z)


@dataclass(frozen=True, eq=False)
class MarkovProcess(TFPProcess):
    """The dynamics of a :class:`~hank_mfg.calibration.MarkovTFP` calibration: the state is the
    index ``i`` of its ``levels``, moving by its ``Pi[i, j]``, starting at ``initial_index``
    (an integer in [0, n_z); ``ValueError`` otherwise). The chain is the calibration's,
    validated there once."""

    spec: MarkovTFP
    initial_index: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.spec, MarkovTFP):
            raise ValueError(f"spec must be a MarkovTFP (levels, Pi), got {self.spec!r}")
        i, n = self.initial_index, self.spec.levels.size
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < n:
            raise ValueError(
                f"initial_index must be an integer in [0, {n}) (a state of levels), got {i!r}"
            )
        object.__setattr__(self, "initial_index", int(i))

    @property
    def levels(self) -> np.ndarray:
        return self.spec.levels

    @property
    def Pi(self) -> np.ndarray:
        return self.spec.Pi

    def initial(self) -> Array:
        return jnp.asarray(self.initial_index, dtype=jnp.int32)

    def next(self, key: Array, z: Array) -> Array:
        logits = jnp.log(jnp.asarray(self.spec.Pi)[z])
        return jax.random.categorical(key, logits).astype(jnp.int32)

    def level(self, z: Array) -> Array:
        return jnp.asarray(self.spec.levels)[z]


def tfp_process(
    spec: LogAR1TFP | MarkovTFP | TFPProcess | None, *, noise: bool = True
) -> TFPProcess:
    """The JAX process for a calibration's TFP description (``None`` or ``noise=False``: none;
    a process already: itself)."""
    if spec is None or not check_bool("noise", noise):
        return ConstantTFP()
    if isinstance(spec, TFPProcess):
        return spec
    if isinstance(spec, LogAR1TFP):
        return LogAR1Process(spec)
    if isinstance(spec, MarkovTFP):
        return MarkovProcess(spec)
    raise ValueError(f"tfp must be a LogAR1TFP, a MarkovTFP or None, got {spec!r}")
