"""The lottery kernel of a household on a wealth × income grid."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hank_mfg.core.kernel.base import (
    _IN_RANGE,
    Kernel,
    _at,
    _is_index_policy,
    check_markov_matrix,
    is_concrete,
)
from hank_mfg.core.kernel.generic import GenericKernel
from hank_mfg.core.kernel.grid_search import grid_interval

Array = jax.Array

__all__ = ["LotteryKernel", "mix_rows"]


#: Largest income chain whose transition :func:`mix_rows` writes out term by term.
_MAX_UNROLLED_ROWS = 16


def mix_rows(P: Array, rows: Array, *, transpose: bool = False) -> Array:
    """``P @ rows`` ``[n_out, m]`` (or its transpose ``[m, n_out]``) for a small ``P``
    ``[n_out, n_in]`` and long rows ``[n_in, m]``.

    Written as ``n_out`` weighted sums of whole rows, which XLA fuses into one vectorised
    loop; a matrix product of these shapes goes through a library call that costs more on
    CPU. Ask for the transpose here rather than transposing the result (that fuses badly).
    """
    n_out, n_in = P.shape
    if rows.shape[0] != n_in:
        raise ValueError(f"rows must have {n_in} rows (P's columns), got shape {rows.shape}")
    if n_out * n_in > _MAX_UNROLLED_ROWS**2:  # the terms would swell the program
        mixed = P @ rows
        return mixed.T if transpose else mixed
    return jnp.stack(
        [sum(P[f, e] * rows[e] for e in range(n_in)) for f in range(n_out)],
        axis=1 if transpose else 0,
    )


@struct.dataclass
class LotteryKernel(Kernel):
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
        return mix_rows(self.Pi.T, rows, transpose=True).ravel()

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

    def forward_operator(self, policy: Array) -> Callable[[Array], Array]:
        """``mu ↦ Aᵀ mu`` under a fixed ``policy``, its lottery built once
        (:meth:`savings_transitions`), as the Sequence-Space Jacobian toolkit's forward
        iteration does."""
        transitions = self.savings_transitions(policy)
        return lambda mu: self.push(mu, *transitions)

    def transitions(self, policy: Array) -> tuple[Array, Array]:
        """Next-state indices and probabilities under ``policy``, ``[n_states, 2·n_income·k]``
        (``k`` choices; one for a continuous share)."""
        if self.shares is None:
            generic = self.to_generic(policy)
            return generic.transitions(jnp.zeros(generic.n_states, dtype=jnp.int32))
        return self.to_generic().transitions(policy)

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
        v_income = mix_rows(self.Pi, v.reshape(n_a, n_e).T).ravel()
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
