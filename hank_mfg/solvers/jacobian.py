"""Sequence-space Jacobians of a household block around its steady state.

``household_jacobian(block, values, steady, inputs=("r", "w"), outputs=("A", "C"), T=300)``
returns ``J[output][input]``, a ``[T, T]`` array with

    J[o][i][t, s] = ∂O_t / ∂X_s,

the response of the aggregate output ``O`` at date ``t`` (assets ``A_t = Σ μ_t a'_t``,
consumption ``C_t = Σ μ_t c_t`` …) to the input ``X`` (the return ``r``, the wage ``w``, the
discount factor, a tax rate …) at date ``s`` alone, every other input at its steady-state
value, the economy starting at date 0 from the steady-state distribution. Units: output units
per unit of the input (e.g. units of the good per unit of ``r``, a rate per period).

Timing (that of the Sequence-Space Jacobian toolkit's ``HetBlock``): the household at date
``t`` sees date ``t``'s inputs and next period's marginal value ``∂V_{t+1}/∂a``; ``μ_t`` is the
distribution over (wealth, income) at which date ``t``'s choices are made (SSJ's ``D``: after
the income draw); it moves by the wealth lottery of date ``t``'s savings, then the income
transition ``Pi``, to ``μ_{t+1}``. Beyond the horizon, at ``T``, the marginal value is the
steady state's.

Two independent computations, equal to rounding:

* ``method="fake_news"`` — the fake-news algorithm of Auclert, Bardóczy, Rognlie and Straub
  (2021, Econometrica): one backward pass of the linearised EGM step (exact derivatives by
  ``jax.linearize`` of :meth:`HouseholdBlock.egm_step`) gives, for a shock ``h`` periods ahead,
  the date-0 change of savings and of the outputs at the steady distribution; expectation
  vectors ``E_k = A^k y`` by the steady-state kernel's ``expect``; the fake-news matrix
  ``F[0, s] = Y_s``, ``F[t, s] = E_{t−1} · D_s`` with ``D_s`` the change of the next
  distribution (computed as ``(μ ⊙ ∂expect(E_{t−1})/∂a') · da_s``, the adjoint form); then
  ``J[t, s] = J[t−1, s−1] + F[t, s]``.
* ``method="autodiff"`` — the whole ``T``-period map (input paths → backward EGM from the
  steady-state marginal value at ``T`` → forward lottery from the steady-state distribution →
  output paths, :func:`household_path`) linearised and applied to every unit shock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hank_mfg.models.household_block import HouseholdBlock, HouseholdPolicy
from hank_mfg.solvers.steady_state import HouseholdSteadyState, SteadyState

Array = jax.Array

__all__ = ["METHODS", "household_jacobian", "household_path", "household_transition"]

#: The ways :func:`household_jacobian` computes.
METHODS = ("fake_news", "autodiff")
#: A steady state whose policy moves by more than this in one EGM step at ``values`` (units of
#: the good) was solved at other values.
FIXED_POINT_TOL = 1e-6
#: A distribution that moves by more than this (sup norm of mass) in one period under the
#: steady policy is not the stationary one.
STATIONARY_TOL = 1e-10
#: Bytes of tangents the autodiff method keeps per batch of unit shocks.
AUTODIFF_BATCH_BYTES = 2**28


# --- checks ------------------------------------------------------------------------------------


def _household_steady(steady: HouseholdSteadyState | SteadyState) -> HouseholdSteadyState:
    if isinstance(steady, SteadyState):
        return steady.household
    if isinstance(steady, HouseholdSteadyState):
        return steady
    raise ValueError(
        f"steady must be a SteadyState or HouseholdSteadyState, got {type(steady).__name__}"
    )


def _check(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    steady: HouseholdSteadyState,
    inputs: Sequence[str],
    outputs: Sequence[str],
    T: int,
) -> None:
    """``ValueError`` naming the first bad argument."""
    if isinstance(T, bool) or not isinstance(T, int | np.integer):
        raise ValueError(f"T (the horizon, in periods) must be an integer, got {T!r}")
    if T < 2:
        raise ValueError(f"T (the horizon, in periods) must be at least 2, got {T}")
    if isinstance(inputs, str) or isinstance(outputs, str):
        raise ValueError("inputs and outputs must be sequences of names, not one string")
    if not inputs:
        raise ValueError("inputs: give at least one input to shock")
    if not outputs:
        raise ValueError("outputs: give at least one output")
    for name in inputs:
        if name not in block.inputs:
            raise ValueError(
                f"input {name!r} is not an input of block {block.name!r} "
                f"(inputs: {', '.join(block.inputs)})"
            )
    for name in outputs:
        if name not in block.outputs:
            raise ValueError(
                f"output {name!r} is not an output of block {block.name!r} "
                f"(outputs: {', '.join(block.outputs)})"
            )
    for group, names in (("inputs", inputs), ("outputs", outputs)):
        if len(set(names)) != len(names):
            raise ValueError(f"{group} must not repeat a name, got {list(names)}")
    block.check_inputs(values)
    for name in block.inputs:
        if not np.isfinite(float(values[name])):
            raise ValueError(f"input {name!r} is not finite: {values[name]!r}")
    shape = (block.n_wealth, block.n_income)
    if tuple(np.shape(steady.policy.savings)) != shape or np.size(steady.mu) != np.prod(shape):
        raise ValueError(
            f"the steady state is on a grid of shape {np.shape(steady.policy.savings)}, "
            f"block {block.name!r} on {shape}"
        )


def _split_values(
    block: HouseholdBlock, values: Mapping[str, Any], inputs: Sequence[str]
) -> tuple[tuple[tuple[str, float], ...], Array]:
    """The inputs held fixed (compiled in as constants) and the shocked ones' steady values."""
    fixed = tuple((k, float(values[k])) for k in block.inputs if k not in inputs)
    x_ss = jnp.asarray([float(values[k]) for k in inputs], dtype=jnp.float64)
    return fixed, x_ss


def _steady_arrays(steady: HouseholdSteadyState) -> tuple[HouseholdPolicy, Array]:
    policy = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=jnp.float64), steady.policy)
    mu = jnp.asarray(steady.mu, dtype=jnp.float64).ravel()
    return policy, mu


def _prepare(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    steady: HouseholdSteadyState | SteadyState,
    inputs: Sequence[str],
    outputs: Sequence[str],
    T: int,
) -> tuple[tuple, Array, HouseholdPolicy, Array]:
    hh = _household_steady(steady)
    inputs, outputs = tuple(inputs), tuple(outputs)
    _check(block, values, hh, inputs, outputs, T)
    # income affine in hours or not: the EGM step's closed forms depend on it
    block.check_income({k: jnp.asarray(values[k], dtype=jnp.float64) for k in block.inputs})
    fixed, x_ss = _split_values(block, values, inputs)
    policy, mu = _steady_arrays(hh)
    drift, moved = (float(v) for v in _one_step_change(block, fixed, inputs, x_ss, policy, mu))
    described = ", ".join(f"{k}={float(values[k]):.6g}" for k in block.inputs)
    if not drift <= FIXED_POINT_TOL:
        raise ValueError(
            f"steady: the household's savings move by {drift:.3g} in one EGM step at these "
            f"values, so the steady state was solved at other values ({described})"
        )
    if not moved <= STATIONARY_TOL:
        raise ValueError(
            f"steady: the distribution moves by {moved:.3g} (sup norm) in one period under the "
            f"steady-state policy; it is not the stationary one ({described})"
        )
    return fixed, x_ss, policy, mu


@partial(jax.jit, static_argnames=("block", "fixed", "names"))
def _one_step_change(
    block: HouseholdBlock,
    fixed: tuple[tuple[str, float], ...],
    names: tuple[str, ...],
    x_ss: Array,
    policy: HouseholdPolicy,
    mu: Array,
) -> tuple[Array, Array]:
    """Sup-norm changes in one period from the steady state: of savings by an EGM step (units
    of the good), of the distribution under the steady policy (mass)."""
    new = block.egm_step(policy.marginal_value, _values(fixed, names, x_ss))
    mu_next = block.kernel().forward(mu, block.savings_share(policy.savings))
    return jnp.max(jnp.abs(new.savings - policy.savings)), jnp.max(jnp.abs(mu_next - mu))


def _values(fixed: tuple[tuple[str, float], ...], names: tuple[str, ...], x: Array) -> dict:
    return {**dict(fixed), **{k: x[j] for j, k in enumerate(names)}}


# --- the nonlinear T-period map ----------------------------------------------------------------


def _path_map(
    block: HouseholdBlock,
    fixed: tuple[tuple[str, float], ...],
    names: tuple[str, ...],
    outputs: tuple[str, ...],
    marginal_terminal: Array,
    mu0: Array,
    X: Array,
) -> Array:
    """Output paths ``[n_outputs, T]`` for input paths ``X`` ``[n_inputs, T]`` (levels)."""
    kernel = block.kernel()

    def backward(marginal_next: Array, x: Array) -> tuple[Array, HouseholdPolicy]:
        policy = block.egm_step(marginal_next, _values(fixed, names, x))
        return policy.marginal_value, policy

    _, policies = jax.lax.scan(backward, marginal_terminal, X.T, reverse=True)

    def forward(mu: Array, step: tuple[HouseholdPolicy, Array]) -> tuple[Array, Array]:
        policy, x = step
        aggregates = block.aggregate(policy, mu, _values(fixed, names, x))
        mu_next = kernel.forward(mu, block.savings_share(policy.savings))
        return mu_next, jnp.stack([aggregates[o] for o in outputs])

    _, Y = jax.lax.scan(forward, mu0, (policies, X.T))
    return Y.T


_path_map_jit = jax.jit(_path_map, static_argnames=("block", "fixed", "names", "outputs"))


def household_path(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    steady: HouseholdSteadyState | SteadyState,
    shocks: Mapping[str, Any],
    outputs: Sequence[str] = ("A", "C"),
) -> dict[str, np.ndarray]:
    """The nonlinear response of the household's aggregates to input paths.

    Args:
        block: the household.
        values: steady-state values of the block's inputs (those at which ``steady`` holds).
        steady: the household's steady state (policy and distribution), or a model's.
        shocks: input name -> deviation path ``[T]`` from its steady-state value (input units,
            e.g. a rate per period for ``r``); all paths of one length ``T``.
        outputs: output names (``A``, ``C``, ``N``, ``NE``, ``UCE``).

    Returns:
        output name -> level path ``[T]`` (units of the output): at date ``t`` households face
        the shocked inputs of date ``t``; the marginal value after ``T`` is the steady state's;
        the distribution starts at the steady state.
    """
    names = tuple(shocks)
    paths = [np.asarray(shocks[k], dtype=np.float64) for k in names]
    if not paths or any(p.ndim != 1 for p in paths) or len({p.shape for p in paths}) != 1:
        raise ValueError("shocks: give one or more 1-d paths of equal length, input -> path")
    T = int(paths[0].shape[0])
    fixed, x_ss, policy, mu = _prepare(block, values, steady, names, outputs, T)
    X = x_ss[:, None] + jnp.asarray(np.stack(paths))
    Y = _path_map_jit(block, fixed, names, tuple(outputs), policy.marginal_value, mu, X)
    Y = np.asarray(Y)
    return {o: Y[j] for j, o in enumerate(outputs)}


def household_transition(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    paths: Mapping[str, Any],
    outputs: Sequence[str],
    initial_distribution: Any,
    terminal_marginal_value: Any,
) -> dict[str, Array]:
    """The household's aggregates along level paths of some of its inputs (no checks: the
    sequence-space solvers call it inside Newton's loop).

    Args:
        block: the household.
        values: every input of the block; those in ``paths`` are replaced by their paths.
        paths: input name -> level path ``[T]`` (input units).
        outputs: output names (``A``, ``C``, ``N``, ``NE``, ``UCE``).
        initial_distribution: ``[n_wealth, n_income]`` (or flat) distribution at date 0.
        terminal_marginal_value: ``[n_wealth, n_income]`` marginal value of wealth after ``T``
            (the terminal steady state's).

    Returns:
        output name -> level path ``[T]`` (a JAX array).
    """
    names = tuple(paths)
    fixed = tuple((k, float(values[k])) for k in block.inputs if k not in paths)
    X = jnp.stack([jnp.asarray(paths[k], dtype=jnp.float64) for k in names])
    mu0 = jnp.asarray(initial_distribution, dtype=jnp.float64).ravel()
    marginal = jnp.asarray(terminal_marginal_value, dtype=jnp.float64)
    Y = _path_map_jit(block, fixed, names, tuple(outputs), marginal, mu0, X)
    return {o: Y[j] for j, o in enumerate(outputs)}


# --- autodiff of the T-period map --------------------------------------------------------------


@partial(jax.jit, static_argnames=("block", "fixed", "names", "outputs", "T", "batch"))
def _autodiff(
    block: HouseholdBlock,
    fixed: tuple[tuple[str, float], ...],
    names: tuple[str, ...],
    outputs: tuple[str, ...],
    T: int,
    batch: int,
    x_ss: Array,
    policy: HouseholdPolicy,
    mu: Array,
) -> Array:
    """``[n_inputs, n_outputs, T, T]``: ``[i, o, t, s] = ∂O_t/∂X_s``."""
    n_in = len(names)
    X = jnp.broadcast_to(x_ss[:, None], (n_in, T))
    path = partial(_path_map, block, fixed, names, outputs, policy.marginal_value, mu)
    _, linear = jax.linearize(path, X)
    units = jnp.eye(n_in * T, dtype=X.dtype).reshape(n_in * T, n_in, T)
    columns = jax.lax.map(linear, units, batch_size=batch)  # [n_in*T, n_out, T]
    return columns.reshape(n_in, T, len(outputs), T).transpose(0, 2, 3, 1)


# --- the fake-news algorithm -------------------------------------------------------------------


def _jacobian_from_fake_news(F: Array) -> Array:
    """``J[t, s] = J[t−1, s−1] + F[t, s]``, ``J[0, s] = F[0, s]``, for ``F`` ``[T, T]``."""

    def row(previous: Array, f: Array) -> tuple[Array, Array]:
        current = f + jnp.concatenate([jnp.zeros(1, f.dtype), previous[:-1]])
        return current, current

    _, J = jax.lax.scan(row, jnp.zeros_like(F[0]), F)
    return J


def _fake_news(
    block: HouseholdBlock,
    fixed: tuple[tuple[str, float], ...],
    names: tuple[str, ...],
    outputs: tuple[str, ...],
    T: int,
    occupied: int,
    x_ss: Array,
    policy: HouseholdPolicy,
    mu: Array,
) -> Array:
    """``[n_inputs, n_outputs, T, T]``: ``[i, o, t, s] = ∂O_t/∂X_s``; the steady distribution
    has no mass on states from ``occupied`` on (wealth-major order).

    Two compiled calls rather than one: the recursions' results (``T × occupied`` per input
    and per output, 7 MB each at ``T = 300`` on 500 × 7 points) come back as separate buffers
    that the products then read. In one call they would be parts of one temporary buffer of
    all of them; above glibc's largest threshold for reusing freed memory (32 MiB) malloc
    maps such a buffer afresh at every call, and the first touch of each page then costs more
    than the arithmetic (tens of milliseconds at ``T = 300``, most with two threads).
    """
    d_savings, curly_G, curly_Y = _fake_news_parts(
        block, fixed, names, outputs, T, occupied, x_ss, policy, mu
    )
    return _jacobian_from_parts(d_savings, curly_G, curly_Y)


@partial(jax.jit, static_argnames=("block", "fixed", "names", "outputs", "T", "occupied"))
def _fake_news_parts(
    block: HouseholdBlock,
    fixed: tuple[tuple[str, float], ...],
    names: tuple[str, ...],
    outputs: tuple[str, ...],
    T: int,
    occupied: int,
    x_ss: Array,
    policy: HouseholdPolicy,
    mu: Array,
) -> tuple[tuple[Array, ...], tuple[Array, ...], tuple[Array, Array, tuple[Array, ...]]]:
    """The fake-news algorithm's recursions: per input, the date-0 change of savings on the
    occupied states for a shock ``h = 0 … T−1`` periods ahead (``[T, occupied]``); per
    output, ``G_t`` (below) on the occupied states for ``t = 0 … T−2`` (``[T−1, occupied]``);
    and what curly Y (the date-0 change of the outputs) is made of: its value for ``h = 0``
    ``[n_inputs, n_outputs]``, the weights ``W`` ``[n_outputs, n_states]`` and, per input,
    the marginal values ``dm_h`` ``[T, n_states]`` (``Y_h = W · dm_{h−1}`` for ``h >= 1``)."""
    n_in = len(names)
    kernel = block.kernel()

    # 1. backward: the EGM step linearised once at the steady state; a shock h periods ahead
    #    reaches date 0 through the marginal value h times. The inputs move at h = 0 only: that
    #    step has its own linearisation, the recursion after it one in the marginal value
    #    alone (no products with input changes that are zero).
    def step(marginal_next: Array, x: Array) -> HouseholdPolicy:
        return block.egm_step(marginal_next, _values(fixed, names, x))

    _, egm_linear = jax.linearize(step, policy.marginal_value, x_ss)
    _, egm_ahead = jax.linearize(lambda m: step(m, x_ss), policy.marginal_value)

    def aggregates(p: HouseholdPolicy, m: Array, x: Array) -> Array:
        out = block.aggregate(p, m, _values(fixed, names, x))
        return jnp.stack([out[o] for o in outputs])

    _, outputs_linear = jax.linearize(lambda p, x: aggregates(p, mu, x), policy, x_ss)
    _, outputs_ahead = jax.linearize(lambda p: aggregates(p, mu, x_ss), policy)

    # the loops keep the occupied states alone (G = 0 where μ = 0), one array per input and
    # per output: the products read them as they are
    def kept(x: Array) -> Array:
        return x.ravel()[:occupied]

    units = jnp.eye(n_in, dtype=x_ss.dtype)
    first = jax.vmap(egm_linear)(jnp.zeros((n_in, *policy.marginal_value.shape)), units)

    # The outputs of a shock h >= 1 periods ahead are linear in the marginal value the step
    # starts from: y_h = W · dm_{h−1}, W the transpose of that map (computed once). The loop
    # hands out the marginal values and the products are formed after it: a reduction over
    # the states inside the loop is a library call on CPU that costs more than the EGM step.
    W = jax.jacrev(lambda m: outputs_ahead(egm_ahead(m)))(jnp.zeros_like(policy.marginal_value))

    # step h hands out what step h − 1 computed (so that h = 0, computed above, needs no
    # copy into place); its own EGM step, at h = T − 1, is not needed
    def backward(
        carry: tuple[Array, tuple[Array, ...]], _: None
    ) -> tuple[tuple[Array, tuple[Array, ...]], tuple[tuple[Array, ...], tuple[Array, ...]]]:
        d_marginal, d_savings = carry
        dp = jax.vmap(egm_ahead)(d_marginal)
        ahead = (dp.marginal_value, tuple(kept(a) for a in dp.savings))
        return ahead, (d_savings, tuple(m.ravel() for m in d_marginal))

    start = (first.marginal_value, tuple(kept(a) for a in first.savings))
    _, (d_savings, d_marginal) = jax.lax.scan(backward, start, None, length=T)
    # d_savings: n_in × [T, occupied], d_marginal: n_in × [T, n_states]
    curly_Y = (jax.vmap(outputs_linear)(first, units), W.reshape(len(outputs), -1), d_marginal)

    # 2. expectation vectors E_k = A^k y of each output's per-state value y = ∂O/∂μ, and what
    #    the fake news needs of them: F[t, s] = E_{t−1} · D_s with D_s = M da_s the change of
    #    next period's distribution, M its derivative in savings a'. By the adjointness of
    #    forward and expect (E · forward(μ, a') = μ · expect(E, a') for every a'),
    #    E · M da = G · da with G = μ ⊙ ∂expect(E, a')/∂a', a derivative state by state (each
    #    state's expectation depends on its own savings only): one jvp in the direction of
    #    ones, beside the expectation itself. A constant added to E leaves G as it is (the
    #    lottery's two weights sum to one), so E_k, which tends to a constant, need not be
    #    demeaned: no product with a distribution change of mass zero is formed. The lottery
    #    of the steady savings is the same at every step; XLA computes it once, outside the
    #    loop.
    E0 = jax.jacrev(lambda m: aggregates(policy, m, x_ss))(mu)  # [n_out, n_states]
    ones = jnp.ones_like(policy.savings)

    def expect(E: Array, _: None) -> tuple[Array, tuple[Array, ...]]:
        def ahead(savings: Array) -> Array:
            return jax.vmap(lambda v: kernel.expect(v, block.savings_share(savings)))(E)

        E_next, slope = jax.jvp(ahead, (policy.savings,), (ones,))
        return E_next, tuple(kept(g) for g in mu * slope)

    _, curly_G = jax.lax.scan(expect, E0, None, length=T - 1)  # n_out × [T−1, occupied]
    return d_savings, curly_G, curly_Y


@jax.jit
def _jacobian_from_parts(
    d_savings: tuple[Array, ...],
    curly_G: tuple[Array, ...],
    curly_Y: tuple[Array, Array, tuple[Array, ...]],
) -> Array:
    """3. the fake-news matrix F[0, s] = Y_s, F[t, s] = G_{t−1} · da_s (one product per input
    and output); 4. J by the recursion. ``[n_inputs, n_outputs, T, T]``."""
    first_Y, W, d_marginal = curly_Y
    F = []
    for i, (d, m) in enumerate(zip(d_savings, d_marginal, strict=True)):
        # (the last marginal value is not needed; slicing the product copies less)
        Y = jnp.concatenate([first_Y[i][:, None], (W @ m.T)[:, :-1]], axis=1)  # [n_out, T]
        F.append([jnp.concatenate([Y[o][None], G @ d.T]) for o, G in enumerate(curly_G)])
    return jax.vmap(jax.vmap(_jacobian_from_fake_news))(jnp.asarray(F))


def _occupied(block: HouseholdBlock, mu: Array) -> int:
    """Number of leading states (wealth-major) past which the distribution has no mass: the
    wealth points above the richest occupied one times the income states are left out."""
    mass = np.asarray(mu).reshape(block.n_wealth, block.n_income).sum(axis=1)
    top = int(np.flatnonzero(mass > 0)[-1]) if np.any(mass > 0) else block.n_wealth - 1
    return (top + 1) * block.n_income


# --- the public function -----------------------------------------------------------------------


def household_jacobian(
    block: HouseholdBlock,
    values: Mapping[str, Any],
    steady: HouseholdSteadyState | SteadyState,
    inputs: Sequence[str] = ("r", "w"),
    outputs: Sequence[str] = ("A", "C"),
    T: int = 300,
    method: str = "fake_news",
) -> dict[str, dict[str, np.ndarray]]:
    """Sequence-space Jacobians of the household's aggregates around its steady state.

    Args:
        block: the household.
        values: steady-state values of every input of the block (discount factor, return,
            wage, preference parameters, taxes …), those at which ``steady`` was solved.
        steady: the household's steady state (:func:`~hank_mfg.solvers.steady_state.
            solve_household`) or a model's (:func:`~hank_mfg.solvers.steady_state.
            steady_state`).
        inputs: names in ``block.inputs`` to shock, one date at a time.
        outputs: names in ``block.outputs`` (``A`` assets, ``C`` consumption, ``N`` hours,
            ``NE`` effective hours, ``UCE`` productivity-weighted marginal utility).
        T: horizon (periods, at least 2).
        method: ``"fake_news"`` (the fake-news algorithm; fast) or ``"autodiff"`` (the whole
            ``T``-period map differentiated; an independent check, ``O(T²)`` work).

    Returns:
        ``J[output][input]``, float64 ``[T, T]``: ``J[o][i][t, s] = ∂O_t/∂X_s`` (output units
        per unit of the input), the economy starting from the steady-state distribution and
        the marginal value after ``T`` being the steady state's.

    Raises:
        ValueError: naming the bad argument: an input or output the block does not have, a
            value missing or not finite, ``T < 2``, an unknown method, a steady state on
            another grid or not a fixed point of the EGM step at ``values``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    names, outs = tuple(inputs), tuple(outputs)
    fixed, x_ss, policy, mu = _prepare(block, values, steady, names, outs, T)
    T = int(T)
    if method == "fake_news":
        J = _fake_news(block, fixed, names, outs, T, _occupied(block, mu), x_ss, policy, mu)
    else:
        per_column = T * block.n_wealth * block.n_income * 8 * 6
        batch = int(max(1, min(len(names) * T, AUTODIFF_BATCH_BYTES // per_column)))
        J = _autodiff(block, fixed, names, outs, T, batch, x_ss, policy, mu)
    J = np.asarray(J)
    return {o: {i: J[a, b] for a, i in enumerate(names)} for b, o in enumerate(outs)}
