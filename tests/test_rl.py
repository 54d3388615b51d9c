"""Model-free baselines (IPPO, RIPPO, Deep Munchausen OMD) on the sample-based update."""

from __future__ import annotations

import numpy as np
import pytest

from hank_mfg import results
from hank_mfg.calibration import aiyagari_1994
from hank_mfg.models import LinearQuadratic, aiyagari
from hank_mfg.solvers.rl import MOMDConfig, PPOConfig, ippo, momd, rippo


@pytest.fixture(scope="module")
def game():
    return LinearQuadratic(n_states=31, horizon=8)


SMALL_PPO = PPOConfig(iterations=30, n_agents=256, n_samples=2, eval_every=15, eval_samples=2)
SMALL_MOMD = MOMDConfig(iterations=20, n_agents=256, n_samples=2, eval_every=10, eval_samples=2)


@pytest.fixture(scope="module")
def solved(game):
    """Each solver's run at its small settings, made once and shared by the tests below."""
    runs = {}

    def run(solve, config):
        if solve not in runs:
            runs[solve] = solve(game, config)
        return runs[solve]

    return run


@pytest.mark.parametrize(
    "solve, config",
    [(ippo, SMALL_PPO), (rippo, SMALL_PPO), (momd, SMALL_MOMD)],
    ids=["ippo", "rippo", "momd"],
)
def test_rl_solver_lowers_exploitability(solved, solve, config, tmp_path):
    sol = solved(solve, config)
    hist = sol.history["exploitability"]
    print(f"\n{sol.solver}: exploitability {hist[0]:.2f} -> {hist[-1]:.2f}")
    assert np.all(np.isfinite(hist)) and np.all(hist >= -1e-6)
    assert hist[-1] < 0.5 * hist[0]
    assert list(sol.history["iteration"]) == [0, config.eval_every, config.iterations]
    # the same results file as every other solver
    path = tmp_path / f"{sol.solver}.nc"
    sol.to_netcdf(path)
    ds = results.open_solution(path)
    assert ds.attrs["solver"] == sol.solver
    np.testing.assert_allclose(ds["exploitability_history"].values, hist)


def test_rl_solver_is_deterministic(game, solved):
    a, b = solved(ippo, SMALL_PPO), ippo(game, SMALL_PPO)
    np.testing.assert_array_equal(a.history["exploitability"], b.history["exploitability"])
    np.testing.assert_array_equal(a.history["loss"], b.history["loss"])
    # every recorded loss is a number, the iteration-0 one (before any update) included
    assert np.all(np.isfinite(a.history["loss"]))


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: PPOConfig(clip=1.5), "clip"),
        (lambda: PPOConfig(n_agents=0), "n_agents"),
        (lambda: PPOConfig(gae_lambda=-0.1), "gae_lambda"),
        (lambda: MOMDConfig(tau=0.0), "tau"),
        (lambda: MOMDConfig(alpha=2.0), "alpha"),
        (lambda: MOMDConfig(log_clip=0.5), "log_clip"),
    ],
)
def test_bad_settings_are_refused(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_continuous_choice_is_refused():
    cal = aiyagari_1994(n_wealth=10, n_income=2, wealth_max=20.0)
    with pytest.raises(ValueError, match="discrete action set"):
        ippo(aiyagari(cal, horizon=3), SMALL_PPO)
