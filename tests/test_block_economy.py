"""A block model as a mean-field game: the same numbers as the built-in household economy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hank_mfg.solvers.egm  # noqa: F401  (the built-in economy's best response)
from hank_mfg.calibration import aiyagari_1994
from hank_mfg.calibration.presets import LogAR1TFP
from hank_mfg.core import constant_policy, evaluate
from hank_mfg.models import aiyagari
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.blocks import firm
from hank_mfg.models.household_block import HouseholdBlock, crra
from hank_mfg.models.model import Model
from hank_mfg.solvers.spg import SPGConfig, spg


@pytest.fixture(scope="module")
def economies():
    """The built-in Aiyagari economy with TFP noise, and the same model written as blocks."""
    old = aiyagari(aiyagari_1994(n_wealth=30), tfp=LogAR1TFP(rho=0.9, sigma=0.02), horizon=10)
    hh = old.household
    block = HouseholdBlock(crra(), lambda e, w: w * e, hh.wealth_grid, hh.income, hh.Pi)
    values = {"beta": hh.beta, "eis": 1 / hh.crra, "alpha": old.firm.alpha}
    values["delta"] = old.firm.delta
    new = BlockEconomy(Model(block, [firm], name="aiyagari"), values, tfp=old.tfp, horizon=10)
    return old, new


def test_paths_and_exploitability_equal_the_built_in_economy(economies):
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


def test_spg_trains_the_block_model_as_the_built_in_one(economies):
    old, new = economies
    config = SPGConfig(iterations=3, n_samples=2, eval_every=3, eval_samples=2, seed=1)
    loss_old = np.asarray(spg(old, config).history["loss"])
    loss_new = np.asarray(spg(new, config).history["loss"])
    assert np.all(np.isfinite(loss_new))
    np.testing.assert_allclose(loss_new, loss_old, rtol=1e-9)


def test_a_household_with_hours_is_refused():
    from hank_mfg.models import block_models

    spec = block_models.aiyagari_labor(n_income=2, n_wealth=10)
    with pytest.raises(ValueError, match="with hours is not a mean-field game"):
        BlockEconomy(spec.model, spec.calibration)
