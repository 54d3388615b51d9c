"""Locating points on a concrete grid: bucket lookup tables instead of binary search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.core.kernel.base import _IN_RANGE, _at, is_concrete

Array = jax.Array

__all__ = ["grid_interval"]


#: Most buckets of a lookup table for :func:`grid_interval` (int32 entries: 1 MiB).
_MAX_BUCKETS = 1 << 18
#: Most correction steps after the table lookup; grids that need more use a binary search.
_MAX_STEPS = 6
#: Integer type of the bit pattern of each float type (for logarithmic buckets).
_BITS = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


@dataclass(frozen=True)
class _SearchTable:
    """Buckets over a grid's span and, per bucket, a lower bound ``start`` on the interval index
    of every point that rounding may put in it (its neighbours included); ``steps``
    comparisons then reach the exact index.

    ``kind == "linear"``: bucket ``floor((x - origin) · scale)`` (equal widths).
    ``kind == "log"``: bucket ``(bits(x - origin) - bits0) >> shift``, with ``bits`` the float's
    bit pattern as an integer, which grows like ``log2`` of a positive float: equal widths in
    ``log(x - origin)``, for grids spaced geometrically towards ``origin`` (household wealth).
    """

    kind: str
    start: np.ndarray
    steps: int
    origin: float
    scale: float = 0.0
    bits0: int = 0
    shift: int = 0

    def bucket(self, x: Array) -> Array:
        """Bucket of each ``x`` (int32, within the table)."""
        last = self.start.size - 1
        if self.kind == "linear":
            b = jnp.floor((x - self.origin) * self.scale)
            return jnp.clip(jnp.nan_to_num(b), 0, last).astype(jnp.int32)
        # x - origin <= 0 (below the grid) and NaN land in the end buckets; both are clipped
        u = jnp.maximum(x - self.origin, np.finfo(x.dtype).tiny)
        bits = jax.lax.bitcast_convert_type(u, _BITS[np.dtype(x.dtype)])
        return jnp.clip((bits - self.bits0) >> self.shift, 0, last).astype(jnp.int32)


def _bucket_bounds(g: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, int]:
    """``start`` and ``steps`` of buckets whose left edges are ``edges`` (``M + 3`` of them).

    Bucket ``k`` may receive points of buckets ``k ± 1`` through rounding: its ``start`` is the
    interval of bucket ``k - 1``'s left edge, its last possible interval that of bucket
    ``k + 2``'s left edge.
    """
    n, m = g.size, edges.size - 3
    edge = np.clip(np.searchsorted(g, edges, "right") - 1, 0, n - 2)
    low = np.concatenate([[0], edge[:m]])  # k = 0…M
    high = edge[2 : m + 3]  # past the last: n - 2
    return low.astype(np.int32), int(np.max(high - low))


def _linear_table(g: np.ndarray) -> _SearchTable:
    """About two equal buckets per smallest grid spacing (at most :data:`_MAX_BUCKETS`)."""
    span = float(g[-1] - g[0])
    n_buckets = int(min(_MAX_BUCKETS, 2 * np.ceil(span / np.diff(g).min())))
    width = span / n_buckets
    start, steps = _bucket_bounds(g, g[0] + width * np.arange(n_buckets + 3))
    return _SearchTable("linear", start, steps, float(g[0]), scale=1.0 / width)


def _log_table(g: np.ndarray, dtype: np.dtype) -> _SearchTable | None:
    """Buckets of equal width in ``log(x - origin)``, ``origin`` fitted to geometric spacing.

    ``None`` if the spacing does not grow, or no bucket width both resolves the grid and stays
    wider than the rounding of ``x - origin`` in ``dtype``.
    """
    if dtype not in _BITS:
        return None
    d = np.diff(g)
    ratio = (d[-1] / d[0]) ** (1.0 / (g.size - 2))
    if not np.isfinite(ratio) or ratio < 1.0 + 1e-6:
        return None
    pivot = d[0] / (ratio - 1.0)  # x - (g[0] - pivot) is geometric in a geometric grid
    origin = float(g[0] - pivot)
    # Buckets span 2**shift units in the last place of u = x - origin, at least
    # 2**(shift-1)·eps·u wide; at u = pivot that must exceed the rounding of u, at most about
    # eps·rounding, eight times over for the one-bucket margins to hold (eps cancels).
    rounding = 3.0 * (np.abs(g).max() + abs(origin)) + pivot
    min_shift = int(np.ceil(np.log2(16.0 * rounding / pivot)))
    itype = _BITS[dtype]
    bits0 = int(np.asarray(pivot, dtype=dtype).view(itype))
    bits_top = int(np.asarray(g[-1] - origin, dtype=dtype).view(itype))
    bits_max = int(np.asarray(np.finfo(dtype).max, dtype=dtype).view(itype))
    best = None
    for shift in range(min_shift, 8 * np.dtype(itype).itemsize - 2):
        n_buckets = ((bits_top - bits0) >> shift) + 2
        if n_buckets > _MAX_BUCKETS:
            continue
        if bits0 + ((n_buckets + 2) << shift) > bits_max:
            break  # edges past the largest float
        codes = bits0 + (np.arange(n_buckets + 3, dtype=np.int64) << shift)
        edges = codes.astype(itype).view(dtype).astype(np.float64) + origin
        start, steps = _bucket_bounds(g, edges)
        if best is not None and steps > best.steps:
            break  # coarser buckets only need more steps
        best = _SearchTable("log", start, steps, origin, bits0=bits0, shift=shift)
    return best


_SEARCH_TABLES: dict[tuple[str, str, bytes], _SearchTable | None] = {}


def _search_table(grid: np.ndarray, dtype: Any) -> _SearchTable | None:
    """The cheapest bucket lookup table of a concrete increasing grid for points of ``dtype``,
    or ``None`` if none pays (cached per grid and dtype).

    Cheapest: fewest correction steps (each is a pass over the points), then fewest buckets.
    """
    dtype = np.dtype(dtype)
    key = (dtype.str, grid.dtype.str, grid.tobytes())
    if key in _SEARCH_TABLES:
        return _SEARCH_TABLES[key]
    g = grid.astype(np.float64)
    table = None
    if g.size >= 3 and g[-1] > g[0] and np.all(np.diff(g) > 0):
        tables = [_linear_table(g)]
        if dtype == grid.dtype:  # the log buckets read the bit patterns of the points
            tables.append(_log_table(g, dtype))
        tables = [t for t in tables if t is not None and t.steps <= _MAX_STEPS]
        if tables:
            table = min(tables, key=lambda t: (t.steps, t.start.size))
    _SEARCH_TABLES[key] = table
    return table


def grid_interval(grid: Array, x: Array) -> Array:
    """Index ``i`` of the grid interval ``[grid[i], grid[i+1])`` holding each ``x``, int32.

    Equals ``clip(searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)``: points below
    the grid get 0, points at or above its top get ``len(grid) - 2``. ``grid`` must be
    strictly increasing with at least two points. When the grid is concrete (a constant of the
    model, as for households), a bucket lookup table replaces the binary search: one table
    lookup and a few comparisons per point instead of ``log2(len(grid))`` dependent gathers.
    """
    n = grid.shape[0]
    table = _search_table(np.asarray(grid), x.dtype) if is_concrete(grid) else None
    if table is None:
        i = jnp.searchsorted(grid, x, side="right") - 1
        return jnp.clip(i, 0, n - 2).astype(jnp.int32)
    i = _at(jnp.asarray(table.start), table.bucket(x)).get(**_IN_RANGE)
    for _ in range(table.steps):  # never overshoots: moves up only while x >= grid[i + 1]
        above = x >= _at(grid, jnp.minimum(i + 1, n - 1)).get(**_IN_RANGE)
        i = i + above.astype(jnp.int32)
    return jnp.minimum(i, n - 2)
