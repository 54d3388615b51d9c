"""Input validation shared by games and models: fail early, naming the parameter and range."""

from __future__ import annotations

import math
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
    "check_settings",
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
