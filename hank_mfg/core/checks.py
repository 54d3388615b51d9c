"""Input validation shared by games and models: fail early, naming the parameter and range."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from hank_mfg.core.kernel import check_distribution

__all__ = [
    "NonFiniteError",
    "check_bool",
    "check_discount",
    "check_finite",
    "check_horizon",
    "check_in_range",
    "check_initial_distributions",
    "check_memory",
    "check_settings",
    "memory_available",
]


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return x


def check_in_range(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it lies in the interval, else raise ``ValueError``.

    The message names the parameter and the allowed interval, e.g. ``beta must lie in (0, 1)``.
    """
    x = check_finite(name, value)
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if too_low or too_high:
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {lb}{low:g}, {high:g}{hb}, got {value!r}")
    return x


def check_horizon(horizon: Any) -> int:
    """Validate a horizon: a positive integer number of periods."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    return int(horizon)


def check_discount(discount: Any) -> float:
    """Validate a discount factor, allowed in (0, 1]."""
    return check_in_range("discount", discount, 0.0, 1.0, low_open=True)


def check_initial_distributions(dists: Any, n_states: int) -> jnp.ndarray:
    """Stack one ``[n_states]`` or several ``[k, n_states]`` initial distributions.

    ``None`` gives the uniform distribution. Each row must be a distribution (>= 0, mass 1).
    """
    if dists is None:
        return jnp.full((1, n_states), 1.0 / n_states)
    arr = jnp.asarray(dists)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise ValueError(
            f"initial_distributions must have shape ({n_states},) or (k, {n_states}), "
            f"got {jnp.shape(dists)}"
        )
    for i in range(arr.shape[0]):
        check_distribution(arr[i], n_states, name=f"initial_distributions[{i}]")
    return arr


def check_settings(
    config: Any, counts: Sequence[str], rules: Sequence[tuple[str, bool, str]]
) -> None:
    """Check a solver's settings object; raise ``ValueError`` naming the first bad one.

    ``counts``: attributes that must be integers >= 1. ``rules``: ``(name, ok, rule)`` for
    real-valued settings, which must also be finite; the message reads ``name must rule``
    (e.g. ``"be > 0"``). ``config.hidden`` must be a non-empty tuple of widths >= 1.
    """
    for name in counts:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    for name, ok, rule in rules:
        value = getattr(config, name)
        if not (math.isfinite(value) and ok):
            raise ValueError(f"{name} must {rule}, got {value!r}")
    if not config.hidden or min(config.hidden) < 1:
        raise ValueError(f"hidden must be a non-empty tuple of widths >= 1, got {config.hidden!r}")


class NonFiniteError(ValueError):
    """A computed aggregate, distribution or value is NaN or infinite.

    The message names the variable, the common-noise path (sample) and the date where it
    first happened, e.g. ``K is nan on path 0 at date 3``.
    """


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a boolean (``True``/``False``, numpy's too), else raise
    ``ValueError`` naming the parameter (a string such as ``'false'`` is not a boolean)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")


def memory_available() -> int | None:
    """Bytes of memory a new computation can use now, or ``None`` where unknown.

    The accelerator's free memory (limit minus use) when JAX has been imported and its
    default device reports it (GPU, TPU); else the host's ``MemAvailable`` from
    ``/proc/meminfo``, else the free physical pages ``os.sysconf`` reports.
    """
    jax = sys.modules.get("jax")
    if jax is not None:
        try:
            stats = jax.devices()[0].memory_stats()
        except Exception:  # a backend without memory statistics (CPU)
            stats = None
        if stats and "bytes_limit" in stats:
            return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:,.1f} GiB" if nbytes >= 2**27 else f"{nbytes / 2**20:,.0f} MiB"


def check_memory(nbytes: int, what: str, available: int | None = None) -> int:
    """Refuse a computation estimated to need ``nbytes`` bytes when they are not available.

    Call it before allocating (before JAX builds anything), with an estimate such as
    :func:`hank_mfg.cli.solve_memory_bytes`. ``available`` defaults to
    :func:`memory_available` (nothing is refused where that is unknown).

    Returns:
        ``nbytes`` as an int.

    Raises:
        ValueError: ``what needs about X GiB of memory, Y GiB are available``.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int | np.integer) or nbytes < 0:
        raise ValueError(f"nbytes must be an integer >= 0, got {nbytes!r}")
    free = memory_available() if available is None else available
    if free is not None and nbytes > free:
        raise ValueError(
            f"{what} needs about {_gib(nbytes)} of memory, {_gib(free)} are available; "
            "choose a smaller grid, horizon or number of paths"
        )
    return int(nbytes)
