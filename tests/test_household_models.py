"""Household economies: lottery vs generic kernel, prices, bad calibrations, grid overflow."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hank_mfg.calibration import (
    LogAR1TFP,
    aiyagari_1994,
    krusell_smith_1998,
    quantecon_aiyagari,
)
from hank_mfg.calibration import seed_macro as seed_macro_calibration
from hank_mfg.core import LotteryKernel, constant_policy, rollout
from hank_mfg.models import (
    BlockEconomy,
    HouseholdBlock,
    Model,
    aiyagari,
    crra,
    krusell_smith,
    seed_macro,
)
from hank_mfg.models.aiyagari import firm, wage_income

KEY = jax.random.PRNGKey(3)
SMALL = dict(n_wealth=40)


def _models():
    return {
        "aiyagari": aiyagari(aiyagari_1994(**SMALL), horizon=5),
        "aiyagari_tfp": aiyagari(aiyagari_1994(**SMALL), tfp=LogAR1TFP(0.9, 0.02), horizon=5),
        "aiyagari_discrete": aiyagari(
            aiyagari_1994(**SMALL), horizon=5, shares=np.linspace(0, 1, 11)
        ),
        "quantecon": aiyagari(quantecon_aiyagari(), horizon=5),
        "krusell_smith": krusell_smith(krusell_smith_1998(n_wealth=40), horizon=5),
        "seed_macro": seed_macro(horizon=5),
    }


MODELS = _models()


def _random_policy(game, rng):
    if game.shares is None:
        return jnp.asarray(rng.uniform(0.0, 1.0, game.n_states))
    return jnp.asarray(rng.dirichlet(np.ones(game.n_actions), game.n_states))


@pytest.mark.parametrize("name", list(MODELS))
def test_lottery_and_generic_kernels_agree(name):
    game = MODELS[name]
    rng = np.random.default_rng(0)
    path = rollout(game, constant_policy, game.uniform_policy(), KEY, 2)
    for t in (0, 3):
        agg = jax.tree_util.tree_map(lambda x, t=t: x[1, t], path.agg)
        z_next = jax.tree_util.tree_map(lambda x, t=t: x[1, t + 1], path.agg.z)
        lottery = game.lottery_kernel(agg, z_next)
        policy = _random_policy(game, rng)
        generic = lottery.to_generic(policy if game.shares is None else None)
        generic.check()
        gen_policy = jnp.zeros(game.n_states, jnp.int32) if game.shares is None else policy
        mu = jnp.asarray(rng.dirichlet(np.ones(game.n_states)))
        v = jnp.asarray(rng.normal(size=game.n_states))
        np.testing.assert_allclose(
            np.asarray(lottery.forward(mu, policy)),
            np.asarray(generic.forward(mu, gen_policy)),
            rtol=0,
            atol=1e-12,
        )
        # forward iteration's path: the lottery as a sparse matrix, then one scatter
        np.testing.assert_allclose(
            np.asarray(lottery.push(mu, *lottery.savings_transitions(policy))),
            np.asarray(generic.forward(mu, gen_policy)),
            rtol=0,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            np.asarray(lottery.expect(v, policy)),
            np.asarray(generic.expect(v, gen_policy)),
            rtol=0,
            atol=1e-12,
        )
        if game.shares is not None:
            np.testing.assert_allclose(
                np.asarray(lottery.action_values(v)),
                np.asarray(generic.action_values(v)),
                rtol=0,
                atol=1e-12,
            )


def test_seed_macro_generic_game_matches_lottery_game():
    lottery_game = seed_macro(horizon=6)
    generic_game = seed_macro(horizon=6)
    generic_game.kernel_kind = "generic"
    rng = np.random.default_rng(1)
    table = _random_policy(lottery_game, rng)
    a = rollout(lottery_game, constant_policy, table, KEY, 2)
    b = rollout(generic_game, constant_policy, table, KEY, 2)
    np.testing.assert_allclose(np.asarray(a.mu), np.asarray(b.mu), rtol=0, atol=1e-12)


@st.composite
def lottery_cases(draw):
    n_a = draw(st.sampled_from([2, 9]))
    n_e = draw(st.sampled_from([1, 3, 20]))  # 20: past the unrolled income transition
    discrete = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    grid = np.cumsum(rng.uniform(0.05, 2.0, n_a)) - 0.5
    low = np.full((n_a, n_e), grid[0]) + rng.uniform(-0.2, 0.2, (n_a, n_e))
    high = low + rng.uniform(0.0, 1.3 * (grid[-1] - grid[0]), (n_a, n_e))
    Pi = rng.dirichlet(np.ones(n_e), n_e)
    shares = np.sort(rng.uniform(0, 1, 4)) if discrete else None
    kernel = LotteryKernel(
        jnp.asarray(grid),
        jnp.asarray(low),
        jnp.asarray(high),
        jnp.asarray(Pi),
        None if shares is None else jnp.asarray(shares),
    )
    n = n_a * n_e
    if discrete:
        policy = jnp.asarray(rng.dirichlet(np.ones(4), n))
    else:
        policy = jnp.asarray(rng.uniform(0, 1, n))
    mu = jnp.asarray(rng.dirichlet(np.ones(n)))
    v = jnp.asarray(rng.normal(size=n) * 5)
    return kernel, policy, mu, v


forward = jax.jit(lambda k, mu, p: k.forward(mu, p))
expect = jax.jit(lambda k, v, p: k.expect(v, p))


@jax.jit
def generic_forward(kernel, mu, policy):
    """The same step through the kernel's generic form (next states and probabilities)."""
    if kernel.shares is not None:
        return kernel.to_generic().forward(mu, policy)
    return kernel.to_generic(policy).forward(mu, jnp.zeros(kernel.n_states, jnp.int32))


@settings(max_examples=20)
@given(lottery_cases())
def test_lottery_kernel_properties(case):
    kernel, policy, mu, v = case
    mu_next = forward(kernel, mu, policy)
    assert abs(float(mu_next.sum()) - 1.0) < 1e-12
    assert float(mu_next.min()) >= 0.0
    lhs = float(jnp.dot(mu_next, v))
    rhs = float(jnp.dot(mu, expect(kernel, v, policy)))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))
    np.testing.assert_allclose(
        np.asarray(mu_next), np.asarray(generic_forward(kernel, mu, policy)), rtol=0, atol=1e-12
    )


def test_lottery_is_differentiable_in_the_share():
    game = MODELS["aiyagari"]
    agg = game.reset(KEY)
    kernel = game.lottery_kernel(agg, agg.z)
    v = jnp.asarray(game.household.wealth_grid).repeat(game.household.n_income)

    def mean_next_wealth(x):
        return jnp.dot(kernel.forward(agg.mu, x), v)

    x = jnp.full(game.n_states, 0.3)
    grad = jax.grad(mean_next_wealth)(x)
    # d E[a'] / d x(s) = mu(s) (high - low) inside the grid (linear lottery is exact for means)
    expected = agg.mu * (kernel.high - kernel.low).ravel()
    inside = np.asarray(kernel.next_wealth(x)).ravel() < game.household.wealth_grid[-1]
    np.testing.assert_allclose(np.asarray(grad)[inside], np.asarray(expected)[inside], rtol=1e-10)


def test_prices_match_a_hand_computation():
    cal = aiyagari_1994(**SMALL)
    game = aiyagari(cal, horizon=3)
    rng = np.random.default_rng(5)
    mu = rng.dirichlet(np.ones(game.n_states))
    agg = game.make_agg(jnp.asarray(mu), game.tfp.initial(), 0)
    a = cal.household.wealth_grid
    e = cal.household.income.grid
    grid_mu = mu.reshape(a.size, e.size)
    K, L = (grid_mu.sum(1) * a).sum(), (grid_mu.sum(0) * e).sum()
    alpha, delta = 0.36, 0.08
    r = alpha * (K / L) ** (alpha - 1) - delta
    w = (1 - alpha) * (K / L) ** alpha
    assert float(agg.aux["K"]) == pytest.approx(K, rel=1e-13)
    assert float(agg.aux["L"]) == pytest.approx(L, rel=1e-13)
    assert float(agg.aux["r"]) == pytest.approx(r, rel=1e-12)
    assert float(agg.aux["w"]) == pytest.approx(w, rel=1e-12)
    assert float(agg.aux["Y"]) == pytest.approx(K**alpha * L ** (1 - alpha), rel=1e-12)
    np.testing.assert_allclose(np.asarray(game.observe(agg)), [r, w], rtol=1e-12)


def test_krusell_smith_prices_and_unemployment_follow_z():
    cal = krusell_smith_1998(n_wealth=40)
    game = krusell_smith(cal, horizon=40)
    path = rollout(game, constant_policy, jnp.full(game.n_states, 0.9), KEY, 3)
    z = np.asarray(path.agg.z)
    mu = np.asarray(path.mu).reshape(3, 41, 40, 2)
    unemployment = mu[..., 0].sum(-1)
    np.testing.assert_allclose(unemployment, cal.employment.unemployment[z], atol=1e-12)
    ell = cal.employment_income.labour_endowment
    np.testing.assert_allclose(np.asarray(path.agg.aux["L"]), ell * (1 - unemployment), atol=1e-12)
    np.testing.assert_allclose(np.asarray(path.agg.aux["Z"]), cal.employment.z_levels[z])
    K, L, Z = (np.asarray(path.agg.aux[k]) for k in "KLZ")
    np.testing.assert_allclose(
        np.asarray(path.agg.aux["r"]), 0.36 * Z * (K / L) ** (0.36 - 1) - 0.025, rtol=1e-12
    )


def test_seed_macro_has_the_papers_settings():
    game = seed_macro()
    cal = seed_macro_calibration()
    assert (game.household.n_wealth, game.household.n_income) == (200, 5)
    assert game.n_actions == 20 and game.horizon == 128 and game.discount == 0.95
    np.testing.assert_allclose(1 - np.asarray(game.shares), (np.arange(20) + 0.5) / 20)
    assert game.household.wealth_grid[0] == 0 and game.household.wealth_grid[-1] == pytest.approx(
        99
    )
    assert game.observation == ("r", "w")
    agg = game.reset(KEY)
    np.testing.assert_allclose(np.asarray(agg.mu), 1 / 1000)
    # last period pays u(m) for every action; earlier ones u(share · m)
    m = np.asarray(game.cash_on_hand(agg)).ravel()
    last = agg.replace(t=jnp.asarray(game.horizon - 1, jnp.int32))
    np.testing.assert_allclose(np.asarray(game.reward(last, last)), (-1 / m)[:, None].repeat(20, 1))
    share = (np.arange(20) + 0.5) / 20
    np.testing.assert_allclose(np.asarray(game.reward(agg, agg)), -1 / (m[:, None] * share))
    assert cal.tfp.rho == 0.9 and cal.tfp.sigma == 0.03


def test_wealth_above_the_grid_is_reported():
    game = aiyagari(aiyagari_1994(n_wealth=20, wealth_max=5.0), horizon=3)
    path = rollout(game, constant_policy, jnp.full(game.n_states, 1.0), KEY, 1)
    with pytest.warns(RuntimeWarning, match="above the top of the grid"):
        worst = game.check_path(path)
    assert worst > 0.01


def _household(**overrides):
    base = dict(
        wealth_grid=np.linspace(0, 10, 5),
        productivity=np.array([0.5, 1.5]),
        Pi=np.array([[0.9, 0.1], [0.1, 0.9]]),
    )
    base.update(overrides)
    return HouseholdBlock(crra(), wage_income, **base)


def _economy(household=None, parameters=None, **settings):
    values = {"beta": 0.96, "eis": 0.5, "alpha": 0.36, "delta": 0.08, "A": 1.0}
    values.update(parameters or {})
    model = Model(_household() if household is None else household, [firm])
    return BlockEconomy(model, values, **settings)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (dict(wealth_grid=np.array([0.0, 2.0, 1.0])), "wealth_grid"),
        (dict(wealth_grid=np.array([0.0])), "wealth_grid"),
        (dict(wealth_grid=np.array([0.0, np.nan, 3.0])), "wealth_grid"),
        (dict(productivity=np.array([0.5, np.nan])), "productivity must be"),
        (dict(productivity=np.array([-0.5, 1.0])), "productivity must be"),
        (dict(Pi=np.array([[0.9, 0.2], [0.1, 0.9]])), "Pi"),
        (dict(Pi=np.eye(3)), "Pi"),
    ],
)
def test_bad_household_blocks_raise(overrides, match):
    with pytest.raises(ValueError, match=match):
        _household(**overrides)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: _economy(parameters={"beta": 1.2}), "discount"),
        (lambda: _economy(parameters={"eis": -0.5}), "preferences must be"),
        (
            lambda: _economy(_household(wealth_grid=np.linspace(-8, 10, 8))),
            "below the natural borrowing limit",
        ),
        (
            lambda: _economy(_household(wealth_grid=np.linspace(-20, 10, 8))),
            "aggregate K under the initial distribution must be > 0",
        ),
        (lambda: _economy(horizon=0), "horizon must be a positive integer"),
        (lambda: _economy(shares=[0.5, 1.5]), "shares must be"),
        (lambda: _economy(terminal="bequest"), "terminal must be"),
        (lambda: _economy(terminal=np.ones(3)), "terminal values must be"),
        (lambda: _economy(observation=("K", "q")), "observation 'q' is not an aggregate"),
        (lambda: _economy(initial_distributions=np.ones(10)), "initial_distributions"),
        (
            lambda: aiyagari(dataclasses.replace(aiyagari_1994(**SMALL), name="")),
            "name must be",
        ),
    ],
)
def test_bad_economies_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@settings(max_examples=12, deadline=None)
@given(  # few shapes (each compiles once), many draws of the points
    n=st.sampled_from([2, 3, 17, 40]),
    m=st.sampled_from([1, 7]),
    n_x=st.sampled_from([1, 30]),
    seed=st.integers(0, 2**16),
)
def test_column_interpolation_is_numpys_with_linear_extrapolation(n, m, n_x, seed):
    """The EGM step's interpolation onto the wealth grid: per column, linear between the
    endogenous points and extended linearly past both ends, like ``np.interp`` inside."""
    from hank_mfg.models.household_block import _interp_columns

    rng = np.random.default_rng(seed)
    xp = np.sort(rng.normal(size=(n, m)) * 3, axis=0) + np.arange(n)[:, None] * 1e-3
    fp = rng.normal(size=(n, m))
    x = np.sort(rng.normal(size=n_x) * 4)
    out = np.asarray(_interp_columns(jnp.asarray(x), jnp.asarray(xp), jnp.asarray(fp)))
    for k in range(m):
        i = np.clip(np.searchsorted(xp[:, k], x, side="right") - 1, 0, n - 2)
        slope = (fp[i + 1, k] - fp[i, k]) / (xp[i + 1, k] - xp[i, k])
        expected = fp[i, k] + slope * (x - xp[i, k])
        np.testing.assert_allclose(out[:, k], expected, rtol=1e-12, atol=1e-12)
        inside = (x >= xp[0, k]) & (x <= xp[-1, k])
        np.testing.assert_allclose(
            out[inside, k], np.interp(x[inside], xp[:, k], fp[:, k]), rtol=1e-12, atol=1e-12
        )
