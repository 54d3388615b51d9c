"""Evaluation refuses NaN/inf: a non-finite aggregate, distribution or value raises
NonFiniteError naming the variable, the common-noise path and the date."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.calibration import LogAR1TFP, aiyagari_1994
from hank_mfg.core import constant_policy, evaluate, rollout
from hank_mfg.core.checks import NonFiniteError
from hank_mfg.models import LinearQuadratic, aiyagari

KEY = jax.random.PRNGKey(0)


@pytest.fixture(scope="module")
def economy():
    return aiyagari(aiyagari_1994(n_wealth=20, n_income=3), horizon=4)


def test_no_capital_makes_the_interest_rate_infinite(economy):
    """Saving nothing puts everyone on the borrowing limit 0: K = 0 at date 1, so the
    marginal product of capital r is infinite there (and the distribution NaN after it)."""
    with pytest.raises(NonFiniteError, match=r"^r is inf on path 0 at date 1; .*K=0,") as err:
        evaluate(economy, constant_policy, jnp.zeros(economy.n_states), KEY, 2)
    assert isinstance(err.value, ValueError)


def test_overflowing_tfp_is_named_with_its_path_and_date(economy):
    """log TFP with a huge innovation: Z = exp(z) overflows; the error names the first date
    and, at it, the first path where it does (output and prices overflow with it)."""
    game = economy.with_settings(tfp=LogAR1TFP(rho=0.9, sigma=1e4), horizon=4)
    policy = game.uniform_policy()
    Z = np.asarray(rollout(game, constant_policy, policy, KEY, 3).agg.aux["Z"])
    date = int(np.flatnonzero(~np.isfinite(Z).all(axis=0))[0])
    sample = int(np.flatnonzero(~np.isfinite(Z[:, date]))[0])
    match = rf"^(Y|Z|r|w) is inf on path {sample} at date {date}; .*Z=inf"
    with pytest.raises(NonFiniteError, match=match):
        evaluate(game, constant_policy, policy, KEY, 3)


class NaNAtDate(LinearQuadratic):
    """Rewards turn NaN in period ``bad`` (the path itself stays finite)."""

    bad = 3

    def policy_reward(self, agg, next_agg, policy):
        r = super().policy_reward(agg, next_agg, policy)
        return jnp.where(agg.t == self.bad, jnp.nan, r)


def test_non_finite_values_name_the_date_they_start_from():
    """Values run backwards: NaN from period 3 spreads to dates 3, 2, 1, 0; the message names
    date 3, where it started."""
    game = NaNAtDate(n_states=9, horizon=6)
    with pytest.raises(NonFiniteError, match=r"^value is nan on path 0 at date 3 \(values"):
        evaluate(game, constant_policy, game.uniform_policy(), KEY, 2)
