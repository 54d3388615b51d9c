"""A block model as a mean-field game: a model written by hand equals the built-in one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.calibration import aiyagari_1994
from hank_mfg.calibration.presets import LogAR1TFP
from hank_mfg.core import constant_policy, evaluate
from hank_mfg.core.evaluation import structural_gradient
from hank_mfg.models import aiyagari
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.blocks import firm
from hank_mfg.models.household_block import HouseholdBlock, crra
from hank_mfg.models.model import Model
from hank_mfg.solvers.spg import SPGConfig, spg


@pytest.fixture(scope="module")
def economies():
    """The built-in Aiyagari economy with TFP noise, and the same model written as blocks,
    both paying given terminal values (with their marginal, which the best response's
    backward EGM reads) after 10 periods."""
    base = aiyagari(aiyagari_1994(n_wealth=30), tfp=LogAR1TFP(rho=0.9, sigma=0.02), horizon=10)
    n = base.n_states
    values = jnp.linspace(-30.0, -10.0, n)
    marginal = jnp.linspace(2.0, 0.1, n)
    old = base.with_settings(terminal=values, terminal_marginal=marginal)
    hh = old.household
    block = HouseholdBlock(crra(), lambda e, w: w * e, hh.wealth_grid, hh.productivity, hh.Pi)
    p = old.parameters
    params = {"beta": p["beta"], "eis": p["eis"], "alpha": p["alpha"], "delta": p["delta"]}
    new = BlockEconomy(
        Model(block, [firm], name="aiyagari"),
        params,
        tfp=old.tfp,
        horizon=10,
        terminal=values,
        terminal_marginal=marginal,
    )
    return old, new


def test_paths_and_exploitability_equal_the_built_in_economy(economies):
    """Paths, values and the best response (from the given terminal values and marginal)."""
    old, new = economies
    policy = 0.3 + 0.4 * jnp.linspace(0.0, 1.0, old.n_states)
    key = jax.random.PRNGKey(3)
    ev_old = evaluate(old, constant_policy, policy, key, n_samples=3)
    ev_new = evaluate(new, constant_policy, policy, key, n_samples=3)
    np.testing.assert_allclose(ev_new.path.agg.mu, ev_old.path.agg.mu, atol=1e-14)
    for name in ("K", "r", "w", "Z"):
        np.testing.assert_allclose(ev_new.path.agg.aux[name], ev_old.path.agg.aux[name], rtol=1e-13)
    np.testing.assert_allclose(ev_new.value, ev_old.value, rtol=1e-12)
    np.testing.assert_allclose(ev_new.best_response.value, ev_old.best_response.value, rtol=1e-10)
    np.testing.assert_allclose(
        float(ev_new.exploitability.value), float(ev_old.exploitability.value), rtol=1e-10
    )
    assert float(ev_new.exploitability.value) > 0


@pytest.fixture(scope="module")
def trained(economies):
    """SPG on the built-in economy and on the block model, the same settings: the solutions
    that the tests of training and of results files below inspect."""
    old, new = economies
    config = SPGConfig(iterations=3, n_samples=2, eval_every=3, eval_samples=2, seed=1)
    return spg(old, config), spg(new, config)


def test_spg_trains_the_block_model_as_the_built_in_one(trained):
    sol_old, sol_new = trained
    loss_old = np.asarray(sol_old.history["loss"])
    loss_new = np.asarray(sol_new.history["loss"])
    assert np.all(np.isfinite(loss_new))
    np.testing.assert_allclose(loss_new, loss_old, rtol=1e-9)


def test_a_household_with_hours_is_refused():
    from hank_mfg.models import block_models

    spec = block_models.aiyagari_labor(n_income=2, n_wealth=10)
    with pytest.raises(ValueError, match="with hours is not a mean-field game"):
        BlockEconomy(spec.model, spec.calibration)


@pytest.fixture(scope="module")
def seed_games():
    """The seed's macro game and the same game written as blocks (discrete shares, the last
    period consuming cash on hand)."""
    from hank_mfg.models import seed_macro

    old = seed_macro(horizon=6)
    hh = old.household
    block = HouseholdBlock(crra(), lambda e, w: w * e, hh.wealth_grid, hh.productivity, hh.Pi)
    p = old.parameters
    values = {"beta": p["beta"], "eis": p["eis"], "alpha": p["alpha"], "delta": 0.0}
    new = BlockEconomy(
        Model(block, [firm], name="seed_macro"),
        values,
        tfp=old.tfp,
        horizon=6,
        shares=np.asarray(old.shares),
        terminal="consume_wealth",
        observation=old.observation,
    )
    return old, new


@pytest.mark.filterwarnings("ignore:seed_macro. up to")
def test_discrete_shares_and_consuming_wealth_equal_the_seed_game(seed_games):
    old, new = seed_games
    assert new.action_space == old.action_space
    policy = jnp.full((old.n_states, old.n_actions), 1.0 / old.n_actions)
    key = jax.random.PRNGKey(0)
    ev_old = evaluate(old, constant_policy, policy, key, n_samples=2)
    ev_new = evaluate(new, constant_policy, policy, key, n_samples=2)
    np.testing.assert_allclose(ev_new.path.agg.mu, ev_old.path.agg.mu, atol=1e-14)
    np.testing.assert_allclose(ev_new.value, ev_old.value, rtol=1e-12)
    np.testing.assert_allclose(ev_new.best_response.value, ev_old.best_response.value, rtol=1e-12)
    ce_old = old.consumption_equivalent(ev_old.value[:, 0], ev_old.best_response.value[:, 0])
    ce_new = new.consumption_equivalent(ev_new.value[:, 0], ev_new.best_response.value[:, 0])
    np.testing.assert_allclose(ce_new, ce_old, rtol=1e-9, atol=1e-12)


def test_markov_income_transition_equals_the_krusell_smith_game():
    from hank_mfg.calibration import krusell_smith_1998
    from hank_mfg.models import krusell_smith

    old = krusell_smith(krusell_smith_1998(n_wealth=30), horizon=8)
    hh = old.household
    ell, home = old.parameters["ell"], old.parameters["home"]

    def income(e, w, ell, home):
        """Wage income of the employed (``e = ℓ``), home production ``μ ℓ w`` otherwise."""
        return w * (e + (home / ell) * (ell - e))

    block = HouseholdBlock(crra(), income, hh.wealth_grid, hh.productivity, np.eye(2))
    p = old.parameters
    values = {"beta": p["beta"], "eis": p["eis"], "alpha": p["alpha"], "delta": p["delta"]}
    values.update({"ell": ell, "home": home})
    new = BlockEconomy(
        Model(block, [firm], name="krusell_smith"),
        values,
        tfp=old.tfp,
        horizon=8,
        income_transition=old.income_transition_by_z,
        initial_distributions=old.initial_distributions[0],
    )
    policy = 0.2 + 0.6 * jnp.linspace(0.0, 1.0, old.n_states)
    key = jax.random.PRNGKey(5)
    ev_old = evaluate(old, constant_policy, policy, key, n_samples=2)
    ev_new = evaluate(new, constant_policy, policy, key, n_samples=2)
    np.testing.assert_array_equal(ev_new.path.agg.z, ev_old.path.agg.z)
    np.testing.assert_allclose(ev_new.path.agg.mu, ev_old.path.agg.mu, atol=1e-14)
    for name in ("K", "r", "w"):
        np.testing.assert_allclose(ev_new.path.agg.aux[name], ev_old.path.agg.aux[name], rtol=1e-13)
    np.testing.assert_allclose(ev_new.value, ev_old.value, rtol=1e-12)
    np.testing.assert_allclose(ev_new.best_response.value, ev_old.best_response.value, rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shares": [0.5, 1.5]}, "shares must be"),
        ({"terminal": "all"}, "terminal must be"),
        ({"terminal": np.zeros(3)}, "terminal values must be"),
        ({"terminal_marginal": np.zeros(3)}, "terminal_marginal needs terminal values"),
        ({"income_transition": np.ones((2, 2, 3, 3)) / 3}, "needs a MarkovProcess"),
        ({"kernel": "generic"}, "needs discrete shares"),
    ],
)
def test_bad_game_settings_raise(economies, kwargs, match):
    _, new = economies
    with pytest.raises(ValueError, match=match):
        BlockEconomy(new.model, new.parameters, tfp=new.tfp, horizon=3, **kwargs)


@pytest.mark.filterwarnings("ignore:seed_macro. up to")
def test_structural_gradient_on_discrete_shares_is_the_seed_games(seed_games):
    """SPG's objective and its structural gradient (what each training step follows) for a
    policy table over the discrete shares: the same for the block model as for the seed game.
    (SPG training itself is compared on the continuous-share economy above.)"""
    old, new = seed_games
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((old.n_states, old.n_actions))
    table = jnp.asarray(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    keys = jax.random.split(jax.random.PRNGKey(0), 2)

    def objective(game):
        return jax.jit(lambda t: structural_gradient(game, constant_policy, t, keys))(table)

    (value_old, grad_old), (value_new, grad_new) = objective(old), objective(new)
    np.testing.assert_allclose(float(value_new), float(value_old), rtol=1e-12)
    np.testing.assert_allclose(grad_new, grad_old, rtol=1e-10, atol=1e-14)
    assert float(jnp.max(jnp.abs(grad_old))) > 0


def test_results_of_a_block_model_are_those_of_the_built_in_economy(economies, trained, tmp_path):
    from hank_mfg.results import open_solution, to_netcdf, to_xarray

    old, new = economies
    ds_old, ds_new = (to_xarray(sol) for sol in trained)
    for name in ("savings_share", "savings", "consumption", "distribution", "value"):
        np.testing.assert_allclose(ds_new[name], ds_old[name], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ds_new["income"], new.household.productivity)
    np.testing.assert_allclose(ds_old["income"], old.household.productivity)
    assert ds_new.attrs["param_beta"] == new.parameters["beta"]
    assert ds_old.attrs["param_household_beta"] == old.calibration.household.beta
    path = tmp_path / "block.nc"
    to_netcdf(ds_new, path)
    np.testing.assert_allclose(open_solution(path)["consumption"], ds_new["consumption"])
