"""Sparse one-step transition kernels of the individual state.

A kernel represents the transition matrix ``A`` of one period: ``A[s, s']`` is the probability
that an agent in state ``s`` who follows the population's policy is in ``s'`` next period. It is
never formed densely. Two operations use it, in opposite directions:

* ``forward(kernel, mu, policy)`` -- the pushforward ``mu' = Aᵀ mu`` of the cross-sectional
  distribution (mass per state, sums to one);
* ``expect(kernel, v, policy)`` -- the expected next-period value ``A v`` per current state.

They are adjoint: ``<forward(mu), v> = <mu, expect(v)>`` for every ``mu`` and ``v``.

A *policy table* is one of

* action probabilities ``prob_a[n_states, n_actions]`` (rows sum to one), or
* deterministic action indices ``a[n_states]`` (integer dtype), or
* for kernels over continuous actions (see the lottery kernel of the household models),
  a real action per state ``a[n_states]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

Array = jax.Array

__all__ = [
    "Kernel",
    "GenericKernel",
    "LotteryKernel",
    "forward",
    "expect",
    "action_values",
    "grid_interval",
    "kernel_cache",
    "with_cache",
    "check_distribution",
    "check_markov_matrix",
    "check_policy_table",
    "is_concrete",
]


@runtime_checkable
class Kernel(Protocol):
    """What every kernel provides; solvers only ever call these."""

    @property
    def n_states(self) -> int: ...

    def forward(self, mu: Array, policy: Array) -> Array: ...

    def expect(self, v: Array, policy: Array) -> Array: ...


def forward(kernel: Kernel, mu: Array, policy: Array) -> Array:
    """Push the distribution ``mu[n_states]`` one period forward under ``policy``: ``Aᵀ mu``."""
    return kernel.forward(mu, policy)


def expect(kernel: Kernel, v: Array, policy: Array) -> Array:
    """Expected next-period value per current state under ``policy``: ``A v`` (``[n_states]``)."""
    return kernel.expect(v, policy)


def action_values(kernel: Any, v: Array) -> Array:
    """Expected next-period value per state and action, ``[n_states, n_actions]``.

    Defined for kernels over a discrete action set; used by the best response.
    """
    return kernel.action_values(v)


def kernel_cache(kernel: Any) -> Any:
    """What a kernel's two directions share and the policy does not change (a pytree).

    Computed once per period (e.g. in the rollout) and handed back with :func:`with_cache`
    to the same period's kernel rebuilt later (e.g. in the value recursion). ``()`` for kernels
    with nothing worth keeping.
    """
    return kernel.cache() if hasattr(kernel, "cache") else ()


def with_cache(kernel: Any, cache: Any) -> Any:
    """The kernel with its :func:`kernel_cache` filled in (unchanged for an empty cache)."""
    if not jax.tree_util.tree_leaves(cache):
        return kernel
    return kernel.with_cache(cache)


def _at(x: Array, *index: Array) -> Any:
    """``x.at[index]`` for indices known to lie in range (no clamping, no negative wrap)."""
    return x.at[index]


_IN_RANGE: dict[str, Any] = {"mode": "promise_in_bounds", "wrap_negative_indices": False}


def is_concrete(*arrays: Any) -> bool:
    """True when no argument is a JAX tracer, i.e. values can be checked eagerly."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(arrays))


def _is_index_policy(policy: Array) -> bool:
    return policy.ndim == 1 and jnp.issubdtype(policy.dtype, jnp.integer)


# --- locating points on a grid ---------------------------------------------------------------
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


@struct.dataclass
class GenericKernel:
    """Next-state indices and probabilities for every (state, action) pair.

    Attributes:
        next_state: int32 ``[n_states, n_actions, K]``, index of each possible next state.
        prob: float ``[n_states, n_actions, K]``, its probability; sums to one over ``K``.

    Build it with :meth:`create` to have the arrays checked.
    """

    next_state: Array
    prob: Array

    @classmethod
    def create(cls, next_state: Any, prob: Any, *, atol: float | None = None) -> GenericKernel:
        """Build a kernel, checking shapes and (when values are concrete) indices and masses.

        Raises:
            ValueError: naming ``next_state`` or ``prob`` and what is allowed.
        """
        next_state = jnp.asarray(next_state)
        prob = jnp.asarray(prob)
        if not jnp.issubdtype(next_state.dtype, jnp.integer):
            raise ValueError(f"next_state must hold integer indices, got dtype {next_state.dtype}")
        kernel = cls(next_state=next_state.astype(jnp.int32), prob=prob)
        check_generic_kernel(kernel, atol=atol)
        return kernel

    @property
    def n_states(self) -> int:
        return self.next_state.shape[0]

    @property
    def n_actions(self) -> int:
        return self.next_state.shape[1]

    def _flat(self, policy: Array) -> tuple[Array, Array]:
        """Next-state indices and policy-weighted probabilities, ``[n_states, M]`` each."""
        if _is_index_policy(policy):
            idx = jnp.take_along_axis(self.next_state, policy[:, None, None], axis=1)[:, 0]
            w = jnp.take_along_axis(self.prob, policy[:, None, None], axis=1)[:, 0]
            return idx, w
        if policy.ndim != 2:
            raise ValueError(
                "policy must be action probabilities [n_states, n_actions] or integer action "
                f"indices [n_states]; got shape {policy.shape} and dtype {policy.dtype}"
            )
        w = self.prob * policy[:, :, None].astype(self.prob.dtype)
        n = self.n_states
        return self.next_state.reshape(n, -1), w.reshape(n, -1)

    def forward(self, mu: Array, policy: Array) -> Array:
        """``Aᵀ mu``: scatter each state's mass onto its next states."""
        idx, w = self._flat(policy)
        mass = (mu[:, None] * w).ravel()
        return jnp.zeros(self.n_states, dtype=mass.dtype).at[idx.ravel()].add(mass)

    def expect(self, v: Array, policy: Array) -> Array:
        """``A v``: gather next-state values and weight them."""
        idx, w = self._flat(policy)
        return jnp.sum(w * v[idx], axis=-1)

    def action_values(self, v: Array) -> Array:
        """``E[v(s') | s, a]`` for every state and action, ``[n_states, n_actions]``."""
        return jnp.sum(self.prob * v[self.next_state], axis=-1)

    def sample(self, key: Array, states: Array, actions: Array) -> Array:
        """Next state of each agent, drawn from ``prob[state, action]`` (int32 ``[N]``)."""
        prob = self.prob[states, actions]  # [N, K]
        pick = jax.random.categorical(key, jnp.log(prob), axis=-1)
        return jnp.take_along_axis(self.next_state[states, actions], pick[:, None], axis=1)[:, 0]

    def check(self, atol: float | None = None) -> None:
        """Raise ``ValueError`` if shapes, indices or probabilities are invalid."""
        check_generic_kernel(self, atol=atol)

    def to_dense(self, policy: Array) -> Array:
        """The dense matrix ``A[s, s']`` under ``policy`` (for inspection on small games)."""
        idx, w = self._flat(policy)
        rows = jnp.broadcast_to(jnp.arange(self.n_states)[:, None], idx.shape)
        dense = jnp.zeros((self.n_states, self.n_states), dtype=w.dtype)
        return dense.at[rows.ravel(), idx.ravel()].add(w.ravel())


def _default_atol(dtype: Any) -> float:
    return 1e-12 if jnp.dtype(dtype) == jnp.float64 else 1e-5


def check_generic_kernel(kernel: GenericKernel, *, atol: float | None = None) -> None:
    """Check a generic kernel's shapes, index range and probabilities.

    Value checks run only on concrete arrays (not inside ``jit``).

    Raises:
        ValueError: naming the offending field and what is allowed.
    """
    ns, p = kernel.next_state, kernel.prob
    if ns.ndim != 3:
        raise ValueError(
            f"next_state must have shape [n_states, n_actions, K], got shape {ns.shape}"
        )
    if p.shape != ns.shape:
        raise ValueError(f"prob must have the shape of next_state {ns.shape}, got {p.shape}")
    if not is_concrete(ns, p):
        return
    n = ns.shape[0]
    ns_np, p_np = np.asarray(ns), np.asarray(p)
    if ns_np.size and (ns_np.min() < 0 or ns_np.max() >= n):
        raise ValueError(
            f"next_state indices must lie in [0, {n - 1}] (n_states={n}); "
            f"got values in [{ns_np.min()}, {ns_np.max()}]"
        )
    if not np.all(np.isfinite(p_np)) or (p_np.size and p_np.min() < 0):
        raise ValueError("prob must be finite and non-negative")
    tol = _default_atol(p_np.dtype) if atol is None else atol
    err = np.abs(p_np.sum(axis=-1) - 1.0).max() if p_np.size else 0.0
    if err > tol * max(1, ns.shape[-1]):
        raise ValueError(
            f"prob must sum to one over next states for every (state, action); "
            f"largest deviation {err:.3g}"
        )


def check_distribution(mu: Any, n_states: int, *, name: str = "mu") -> Array:
    """Check that ``mu`` is a distribution over ``n_states`` states (finite, >= 0, mass 1).

    Raises:
        ValueError: naming ``name`` and what is allowed.
    """
    mu = jnp.asarray(mu)
    if mu.ndim != 1 or mu.shape[0] != n_states:
        raise ValueError(f"{name} must have shape ({n_states},), got {mu.shape}")
    if is_concrete(mu):
        m = np.asarray(mu)
        if not np.all(np.isfinite(m)) or m.min() < 0:
            raise ValueError(f"{name} must be finite and non-negative")
        if abs(m.sum() - 1.0) > _default_atol(m.dtype) * max(1, n_states):
            raise ValueError(f"{name} must sum to one, sums to {m.sum():.12g}")
    return mu


def check_policy_table(policy: Any, n_states: int, n_actions: int) -> Array:
    """Check a discrete policy table (probabilities or action indices).

    Raises:
        ValueError: naming ``policy`` and what is allowed.
    """
    policy = jnp.asarray(policy)
    if _is_index_policy(policy):
        if policy.shape != (n_states,):
            raise ValueError(f"policy indices must have shape ({n_states},), got {policy.shape}")
        if is_concrete(policy):
            p = np.asarray(policy)
            if p.min() < 0 or p.max() >= n_actions:
                raise ValueError(f"policy indices must lie in [0, {n_actions - 1}]")
        return policy
    if policy.shape != (n_states, n_actions):
        raise ValueError(
            f"policy probabilities must have shape ({n_states}, {n_actions}), got {policy.shape}"
        )
    if is_concrete(policy):
        p = np.asarray(policy)
        if not np.all(np.isfinite(p)) or p.min() < 0:
            raise ValueError("policy probabilities must be finite and non-negative")
        err = np.abs(p.sum(axis=1) - 1.0).max()
        if err > _default_atol(p.dtype) * max(1, n_actions):
            raise ValueError(f"policy probabilities must sum to one per state; deviation {err:.3g}")
    return policy


#: Largest income chain whose transition :func:`_mix_rows` writes out term by term.
_MAX_UNROLLED_ROWS = 16


def _mix_rows(P: Array, rows: Array, *, transpose: bool = False) -> Array:
    """``P @ rows`` ``[n, m]`` (or its transpose ``[m, n]``) for a small square ``P`` ``[n, n]``
    and long rows ``[n, m]``.

    Written as ``n`` weighted sums of whole rows, which XLA fuses into one vectorised loop; a
    matrix product of these shapes goes through a library call that costs more on CPU. Ask
    for the transpose here rather than transposing the result (that fuses badly).
    """
    n = P.shape[0]
    if n > _MAX_UNROLLED_ROWS:  # n² terms would swell the program; a matmul pays off by now
        mixed = P @ rows
        return mixed.T if transpose else mixed
    return jnp.stack(
        [sum(P[f, e] * rows[e] for e in range(n)) for f in range(n)], axis=1 if transpose else 0
    )


@struct.dataclass
class LotteryKernel:
    """Kernel of a household on a wealth × income grid: a wealth lottery, then income moves.

    States are flattened wealth-major, ``s = i_wealth * n_income + i_income``. A household in
    state ``(a, e)`` who picks the savings share ``x ∈ [0, 1]`` ends the period with wealth

        a' = low[a, e] + x · (high[a, e] - low[a, e]),

    which is placed on the two neighbouring grid points with linear weights (Young's lottery,
    differentiable in ``x``); its income then moves by the Markov matrix ``Pi[e, e']`` of this
    period. ``forward`` scatters mass along wealth and multiplies by ``Pi``; ``expect`` applies
    ``Pi`` first and gathers. Cost ``O(n_wealth · n_income · (2 n_choices + n_income))``.

    Attributes:
        wealth_grid: ``[n_wealth]``, increasing (model units of wealth).
        low, high: ``[n_wealth, n_income]``, next wealth at ``x = 0`` and ``x = 1``.
        Pi: ``[n_income, n_income]``, income transition of this period.
        shares: ``[n_choices]`` savings shares of a discrete choice set, or ``None`` when the
            policy gives a continuous share per state (``policy[n_states]``, float).
        index, upper: optional cache of the discrete choices' lottery, ``[n_wealth, n_income,
            n_choices]`` (lower grid index, weight on the upper point); see :meth:`cache`.

    Next wealth above the top of the grid is placed on the top point; :meth:`mass_above_grid`
    measures how much mass that concerns so that models can warn.
    """

    wealth_grid: Array
    low: Array
    high: Array
    Pi: Array
    shares: Array | None = None
    index: Array | None = None
    upper: Array | None = None

    @property
    def n_wealth(self) -> int:
        return self.wealth_grid.shape[0]

    @property
    def n_income(self) -> int:
        return self.Pi.shape[0]

    @property
    def n_states(self) -> int:
        return self.n_wealth * self.n_income

    @property
    def n_actions(self) -> int:
        if self.shares is None:
            raise TypeError("a lottery kernel over a continuous share has no discrete actions")
        return self.shares.shape[0]

    def next_wealth(self, policy: Array | None = None) -> Array:
        """Next wealth ``[n_wealth, n_income, n_choices]`` (continuous: ``n_choices = 1``)."""
        if self.shares is None:
            x = policy.reshape(self.n_wealth, self.n_income, 1)
        else:
            x = self.shares[None, None, :]
        return self.low[..., None] + x * (self.high - self.low)[..., None]

    def lottery(self, policy: Array | None = None) -> tuple[Array, Array]:
        """Lower grid index and weight on the upper point, ``[n_wealth, n_income, n_choices]``."""
        if self.shares is not None and self.index is not None:
            return self.index, self.upper
        return self._place(self.next_wealth(policy))

    def _place(self, a_next: Array) -> tuple[Array, Array]:
        """Lower grid index and weight on the upper point of next-wealth values ``a_next``."""
        grid = self.wealth_grid
        i = grid_interval(grid, a_next)
        low, high = _at(grid, i).get(**_IN_RANGE), _at(grid, i + 1).get(**_IN_RANGE)
        return i, jnp.clip((a_next - low) / (high - low), 0.0, 1.0)

    def cache(self) -> tuple[Array, Array] | tuple[()]:
        """The lottery of the discrete choices (it does not depend on the policy), or ``()``."""
        if self.shares is None:
            return ()
        return self.lottery(None)

    def with_cache(self, cache: tuple[Array, Array]) -> LotteryKernel:
        """This kernel with the lottery of :meth:`cache` kept (discrete choices only)."""
        if self.shares is None:
            return self
        index, upper = cache
        return self.replace(index=index, upper=upper)

    def _choice_prob(self, policy: Array) -> Array:
        """Probability of each choice, ``[n_wealth, n_income, n_choices]``."""
        shape = (self.n_wealth, self.n_income, -1)
        if self.shares is None:
            return jnp.ones((self.n_wealth, self.n_income, 1), dtype=self.low.dtype)
        if _is_index_policy(policy):
            return jax.nn.one_hot(policy, self.n_actions, dtype=self.low.dtype).reshape(shape)
        if policy.ndim != 2:
            raise ValueError(
                "policy must be choice probabilities [n_states, n_choices] or integer choice "
                f"indices [n_states]; got shape {policy.shape}"
            )
        return policy.reshape(shape).astype(self.low.dtype)

    def forward(self, mu: Array, policy: Array) -> Array:
        """``Aᵀ mu``: lottery along wealth per income state, then ``Pi`` over income."""
        i, weight = self.lottery(policy)
        n_a, n_e = self.n_wealth, self.n_income
        mass = mu.reshape(n_a, n_e, 1) * self._choice_prob(policy)
        # Mass lands income-major ([n_income, n_wealth]) so that the income transition below
        # mixes whole wealth rows (vectorised); a small matmul costs more on CPU.
        lower = (self._income_offset() + i).ravel()
        # two scatter-adds rather than one of the concatenation: XLA:CPU runs that ~4x slower
        # when the lottery is computed in the same call (see savings_transitions)
        after_savings = jnp.zeros(self.n_states, dtype=mass.dtype)
        after_savings = _at(after_savings, lower).add((mass * (1.0 - weight)).ravel(), **_IN_RANGE)
        after_savings = _at(after_savings, lower + 1).add((mass * weight).ravel(), **_IN_RANGE)
        return self._income_moves(after_savings)

    def _income_offset(self) -> Array:
        """``e · n_wealth`` per income state ``[1, n_income, 1]``: income-major positions."""
        return jnp.arange(self.n_income, dtype=jnp.int32)[None, :, None] * self.n_wealth

    def _income_moves(self, after_savings: Array) -> Array:
        """Income-major mass after savings ``[n_income · n_wealth]`` → next ``mu`` (by ``Pi``)."""
        rows = after_savings.reshape(self.n_income, self.n_wealth)
        return _mix_rows(self.Pi.T, rows, transpose=True).ravel()

    def savings_transitions(self, policy: Array) -> tuple[Array, Array]:
        """The wealth lottery under ``policy`` as a sparse matrix: where each state's mass goes.

        Returns ``(targets, weights)``, each ``[n_states, 2 n_choices]``: mass ``mu[s]`` moves
        ``weights[s, j]`` of itself to position ``targets[s, j]`` of the income-major
        after-savings grid; :meth:`push` completes the period. Forward iteration builds them
        once and pushes many times (one scatter per update).
        """
        i, weight = self.lottery(policy)
        prob = self._choice_prob(policy)
        lower = self._income_offset() + i
        targets = jnp.stack([lower, lower + 1], axis=-1)  # neighbours adjacent: one scatter
        weights = jnp.stack([prob * (1.0 - weight), prob * weight], axis=-1)
        return targets.reshape(self.n_states, -1), weights.reshape(self.n_states, -1)

    def push(self, mu: Array, targets: Array, weights: Array) -> Array:
        """``Aᵀ mu`` from :meth:`savings_transitions`: the lottery's scatter, then ``Pi``."""
        mass = (mu[:, None] * weights).ravel()
        after_savings = _at(jnp.zeros(self.n_states, dtype=mass.dtype), targets.ravel()).add(
            mass, **_IN_RANGE
        )
        return self._income_moves(after_savings)

    def _choice_values(self, v: Array, policy: Array | None) -> Array:
        """``E[v(a', e') | a, e, choice]``, ``[n_wealth, n_income, n_choices]``."""
        n_a, n_e = self.n_wealth, self.n_income
        # E over e' given e, income-major [n_income, n_wealth] (see push)
        v_income = _mix_rows(self.Pi, v.reshape(n_a, n_e).T).ravel()
        i, weight = self.lottery(policy)
        lower = self._income_offset() + i
        below = _at(v_income, lower).get(**_IN_RANGE)
        above = _at(v_income, lower + 1).get(**_IN_RANGE)
        return (1.0 - weight) * below + weight * above

    def expect(self, v: Array, policy: Array) -> Array:
        """``A v``: ``Pi`` over income first, then the lottery's weighted gather."""
        values = self._choice_values(v, policy)
        return jnp.sum(values * self._choice_prob(policy), axis=-1).ravel()

    def action_values(self, v: Array) -> Array:
        """``E[v(s') | s, choice]`` for every state and discrete choice, ``[n_states, n]``."""
        return self._choice_values(v, None).reshape(self.n_states, self.n_actions)

    def sample(self, key: Array, states: Array, actions: Array) -> Array:
        """Next state of each agent (int32 ``[N]``): the wealth lottery, then income by ``Pi``.

        ``actions``: choice indices ``[N]`` (discrete shares) or savings shares ``[N]`` in
        [0, 1] (continuous).
        """
        k_lottery, k_income = jax.random.split(key)
        wealth, income = states // self.n_income, states % self.n_income
        if self.shares is None:
            x = jnp.clip(actions, 0.0, 1.0)
        else:
            x = self.shares[actions]
        low, high = self.low[wealth, income], self.high[wealth, income]
        i, weight = self._place(low + x * (high - low))
        up = jax.random.uniform(k_lottery, weight.shape, dtype=weight.dtype) < weight
        e_next = jax.random.categorical(k_income, jnp.log(self.Pi[income]), axis=-1)
        return ((i + up.astype(jnp.int32)) * self.n_income + e_next).astype(jnp.int32)

    def mass_above_grid(self, mu: Array, policy: Array) -> Array:
        """Mass whose chosen next wealth lies above the top of the grid (placed on the top)."""
        above = self.next_wealth(policy) > self.wealth_grid[-1] * (1 + 1e-12)
        mass = mu.reshape(self.n_wealth, self.n_income, 1) * self._choice_prob(policy)
        return jnp.sum(mass * above)

    def to_generic(self, policy: Array | None = None) -> GenericKernel:
        """The same transitions as a :class:`GenericKernel` ``[n_states, n_choices, 2·n_income]``.

        For a continuous share, pass the policy; the result then has a single action.
        """
        i, weight = self.lottery(policy)
        n_a, n_e = self.n_wealth, self.n_income
        n_c = i.shape[-1]
        e_next = jnp.arange(n_e, dtype=jnp.int32)
        points = jnp.stack([i, i + 1], axis=-1)  # [n_a, n_e, n_c, 2]
        w = jnp.stack([1.0 - weight, weight], axis=-1)
        next_state = points[..., None] * n_e + e_next  # [n_a, n_e, n_c, 2, n_e]
        prob = w[..., None] * self.Pi[None, :, None, None, :]
        return GenericKernel(
            next_state=next_state.reshape(n_a * n_e, n_c, 2 * n_e),
            prob=prob.reshape(n_a * n_e, n_c, 2 * n_e),
        )

    def check(self, atol: float | None = None) -> None:
        """Raise ``ValueError`` if the grid, bounds, shares or ``Pi`` are invalid."""
        n_a, n_e = self.n_wealth, self.n_income
        if self.wealth_grid.ndim != 1 or n_a < 2:
            raise ValueError(
                f"wealth_grid must be 1-d with >= 2 points, got {self.wealth_grid.shape}"
            )
        if self.Pi.shape != (n_e, n_e):
            raise ValueError(f"Pi must be square [n_income, n_income], got {self.Pi.shape}")
        for name, x in (("low", self.low), ("high", self.high)):
            if x.shape != (n_a, n_e):
                raise ValueError(f"{name} must have shape ({n_a}, {n_e}), got {x.shape}")
        if not is_concrete(self.wealth_grid, self.low, self.high, self.Pi, self.shares):
            return
        grid = np.asarray(self.wealth_grid)
        if not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
            raise ValueError("wealth_grid must be finite and strictly increasing")
        low, high = np.asarray(self.low), np.asarray(self.high)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError("low and high (next-wealth bounds) must be finite")
        if np.any(high < low - 1e-12):
            raise ValueError("high must be >= low: the household cannot afford the lowest saving")
        check_markov_matrix(self.Pi, name="Pi", atol=atol)
        if self.shares is not None:
            sh = np.asarray(self.shares)
            if sh.ndim != 1 or not np.all((sh >= 0) & (sh <= 1)):
                raise ValueError("shares must be a 1-d array of savings shares in [0, 1]")


def check_markov_matrix(P: Any, *, name: str = "Pi", atol: float | None = None) -> None:
    """Raise ``ValueError`` unless ``P`` is a square, finite, non-negative row-stochastic matrix."""
    p = np.asarray(P)
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise ValueError(f"{name} must be finite and non-negative")
    tol = _default_atol(p.dtype) if atol is None else atol
    err = np.abs(p.sum(axis=1) - 1.0).max()
    if err > tol * max(1, p.shape[0]):
        raise ValueError(f"{name} must be row-stochastic (rows sum to one); deviation {err:.3g}")
