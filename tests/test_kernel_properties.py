"""Property tests of the generic kernel (mass, non-negativity, adjointness; float64) and of
the grid search behind the lottery kernel (exact against a sorted search, float32 and 64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hank_mfg.calibration import geometric_grid
from hank_mfg.core import GenericKernel
from hank_mfg.core import action_values as _action_values
from hank_mfg.core import expect as _expect
from hank_mfg.core import forward as _forward
from hank_mfg.core.kernel.grid_search import _search_table, grid_interval

# jitted once per shape: far fewer compilations than op-by-op dispatch
forward, expect, action_values = jax.jit(_forward), jax.jit(_expect), jax.jit(_action_values)


@st.composite
def kernels_and_policies(draw):
    # few distinct shapes: each new shape costs a compilation, the values vary freely
    n_states = draw(st.sampled_from([1, 7, 12]))
    n_actions = draw(st.sampled_from([1, 4]))
    k = draw(st.sampled_from([1, 3]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    next_state = rng.integers(0, n_states, size=(n_states, n_actions, k))
    prob = rng.dirichlet(np.ones(k), size=(n_states, n_actions))
    kernel = GenericKernel.create(next_state, prob)
    prob_a = rng.dirichlet(np.ones(n_actions), size=n_states)
    indices = rng.integers(0, n_actions, size=n_states).astype(np.int32)
    policy = jnp.asarray(indices) if draw(st.booleans()) else jnp.asarray(prob_a)
    mu = jnp.asarray(rng.dirichlet(np.ones(n_states)))
    v = jnp.asarray(rng.normal(size=n_states) * 10.0)
    return kernel, policy, mu, v


@given(kernels_and_policies())
def test_forward_keeps_mass_and_sign(case):
    kernel, policy, mu, _ = case
    mu_next = forward(kernel, mu, policy)
    assert mu_next.dtype == jnp.float64
    assert abs(float(mu_next.sum()) - 1.0) < 1e-12
    assert float(mu_next.min()) >= 0.0


@given(kernels_and_policies())
def test_forward_and_expect_are_adjoint(case):
    kernel, policy, mu, v = case
    lhs = float(jnp.dot(forward(kernel, mu, policy), v))
    rhs = float(jnp.dot(mu, expect(kernel, v, policy)))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


@given(kernels_and_policies())
def test_expect_matches_dense_matrix(case):
    kernel, policy, mu, v = case
    dense = np.asarray(kernel.to_dense(policy))
    np.testing.assert_allclose(dense.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        np.asarray(expect(kernel, v, policy)), dense @ np.asarray(v), atol=1e-10
    )
    np.testing.assert_allclose(
        np.asarray(forward(kernel, mu, policy)), dense.T @ np.asarray(mu), atol=1e-12
    )


@given(kernels_and_policies())
def test_action_values_average_to_expect(case):
    kernel, policy, _, v = case
    q = action_values(kernel, v)
    if policy.ndim == 1:
        avg = jnp.take_along_axis(q, policy[:, None], axis=1)[:, 0]
    else:
        avg = jnp.sum(q * policy, axis=1)
    np.testing.assert_allclose(np.asarray(avg), np.asarray(expect(kernel, v, policy)), atol=1e-10)


def test_forward_is_linear_in_mu():
    rng = np.random.default_rng(0)
    kernel = GenericKernel.create(rng.integers(0, 6, (6, 3, 2)), rng.dirichlet(np.ones(2), (6, 3)))
    policy = jnp.asarray(rng.dirichlet(np.ones(3), 6))
    a, b = jnp.asarray(rng.dirichlet(np.ones(6))), jnp.asarray(rng.dirichlet(np.ones(6)))
    lhs = forward(kernel, 0.3 * a + 0.7 * b, policy)
    rhs = 0.3 * forward(kernel, a, policy) + 0.7 * forward(kernel, b, policy)
    np.testing.assert_allclose(np.asarray(lhs), np.asarray(rhs), atol=1e-15)


@pytest.mark.parametrize(
    ("next_state", "prob", "match"),
    [
        (np.zeros((3, 2, 2), int), np.full((3, 2, 2), 0.6), "sum to one"),
        (
            np.zeros((3, 2, 2), int),
            np.stack([np.full((3, 2), 1.5), np.full((3, 2), -0.5)], -1),
            "non-negative",
        ),
        (
            np.full((3, 2, 2), 3),
            np.full((3, 2, 2), 0.5),
            r"next_state indices must lie in \[0, 2\]",
        ),
        (np.full((3, 2, 2), -1), np.full((3, 2, 2), 0.5), "next_state indices"),
        (np.zeros((3, 2, 2), int), np.full((3, 2, 3), 1 / 3), "prob must have the shape"),
        (np.zeros((3, 2), int), np.full((3, 2), 1.0), r"next_state must have shape \[n_states"),
        (np.zeros((3, 2, 2)), np.full((3, 2, 2), 0.5), "integer indices"),
        (np.zeros((3, 2, 2), int), np.full((3, 2, 2), np.nan), "finite"),
    ],
)
def test_invalid_kernels_are_rejected(next_state, prob, match):
    with pytest.raises(ValueError, match=match):
        GenericKernel.create(next_state, prob)


def test_bad_policy_shape_is_rejected():
    kernel = GenericKernel.create(np.zeros((3, 2, 1), int), np.ones((3, 2, 1)))
    with pytest.raises(ValueError, match="policy must be action probabilities"):
        forward(kernel, jnp.ones(3) / 3, jnp.ones((3, 2, 1)))


@st.composite
def grids_and_points(draw):
    """Uniform, shifted-geometric and irregular grids; points around, between and on them."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.sampled_from([3, 17, 200]))
    kind = draw(st.sampled_from(["uniform", "geometric", "irregular"]))
    low = float(draw(st.sampled_from([0.0, -2.0, 1e-3])))
    if kind == "uniform":
        grid = np.linspace(low, low + rng.uniform(1.0, 100.0), n)
    elif kind == "geometric":
        shift = rng.uniform(0.01, 5.0) - low
        grid = geometric_grid(low, low + rng.uniform(5.0, 500.0), n, shift=max(shift, 1e-3 - low))
    else:
        grid = low + np.cumsum(rng.exponential(1.0, n) * rng.choice([0.01, 1.0, 30.0], n))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    grid = grid.astype(dtype)
    span = float(grid[-1] - grid[0])
    on = grid[rng.integers(0, n, 40)]
    points = np.concatenate(
        [
            rng.uniform(grid[0] - 0.2 * span, grid[-1] + 0.2 * span, 400).astype(dtype),
            on,
            np.nextafter(on, dtype(np.inf)),
            np.nextafter(on, dtype(-np.inf)),
            np.array([-1e30, 1e30], dtype=dtype),
        ]
    )
    return grid, points.astype(dtype)


@given(grids_and_points())
def test_grid_interval_is_exact(case):
    grid, points = case
    if np.any(np.diff(grid) <= 0):  # float32 may merge points of a fine irregular grid
        return
    expected = np.clip(np.searchsorted(grid, points, side="right") - 1, 0, grid.size - 2)
    got = np.asarray(grid_interval(jnp.asarray(grid), jnp.asarray(points)))
    np.testing.assert_array_equal(got, expected)


def test_geometric_grids_get_logarithmic_buckets():
    """Household wealth grids: one table lookup and one comparison, from a small table."""
    grid = geometric_grid(0.0, 99.0, 200, shift=0.25)
    for dtype in (np.float32, np.float64):
        table = _search_table(grid.astype(dtype), dtype)
        assert table.kind == "log" and table.steps == 1 and table.start.size < 4096
    assert _search_table(np.linspace(0.0, 1.0, 50), np.float64).kind == "linear"


@given(
    n_out=st.integers(1, 20),
    n_in=st.integers(1, 20),
    m=st.integers(1, 7),
    transpose=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mix_rows_is_the_matrix_product(n_out, n_in, m, transpose, seed):
    """Square or not (the Krusell–Smith household's transition to (z', e') is [n_e, n_z n_e]),
    written out term by term or, for large chains, as a product."""
    from hank_mfg.core.kernel.lottery import mix_rows

    rng = np.random.default_rng(seed)
    P, rows = rng.random((n_out, n_in)), rng.normal(size=(n_in, m))
    out = np.asarray(mix_rows(jnp.asarray(P), jnp.asarray(rows), transpose=transpose))
    expected = (P @ rows).T if transpose else P @ rows
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
