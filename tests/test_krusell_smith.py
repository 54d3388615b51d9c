"""The Krusell–Smith algorithm: convergence, accuracy, and its policy under the core evaluation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.calibration import aiyagari_1994, krusell_smith_1998
from hank_mfg.core import evaluate, rollout
from hank_mfg.models import aiyagari, krusell_smith
from hank_mfg.solvers.krusell_smith import (
    aggregate_labour_by_state,
    den_haan_errors,
    fit_law_of_motion,
    next_capital,
    simulate_capital,
    solve_krusell_smith,
)

KEY = jax.random.PRNGKey(11)
# a coarse wealth grid lets a little mass reach its top point by the lottery's diffusion
pytestmark = pytest.mark.filterwarnings("ignore:.*above the top.*:RuntimeWarning")

SMALL = dict(n_periods=700, burn_in=200, tol=1e-4, seed=3, evaluation_samples=0)


@pytest.fixture(scope="module")
def solution():
    economy = krusell_smith(krusell_smith_1998(n_wealth=40), horizon=40)
    return solve_krusell_smith(economy, **SMALL)


def test_algorithm_converges_to_an_accurate_law_of_motion(solution):
    res = solution.results
    b, r2 = res["coefficients"], res["r2"]
    print(f"\ncoefficients {b.tolist()}, R2 {r2.tolist()}, iterations {res['iterations']}")
    print(
        f"Den Haan max {res['den_haan_max_percent']:.4f}%, mean {res['den_haan_mean_percent']:.4f}%"
    )
    assert solution.solver == "krusell-smith"
    assert res["converged"] and res["coefficient_change"] < SMALL["tol"]
    assert b.shape == (2, 2) and np.all(r2 > 0.999)
    assert np.all((b[:, 1] > 0.8) & (b[:, 1] < 1.0))
    # capital near Krusell and Smith's (about 11.5-12), higher in good times
    assert 10.5 < res["K_mean"] < 13.0
    K = np.exp(b[:, 0] / (1.0 - b[:, 1]))  # fixed point of each state's law of motion
    assert K[0] > K[1]
    assert 0.0 <= res["den_haan_mean_percent"] <= res["den_haan_max_percent"] < 1.0
    assert res["periods_outside_capital_grid"] == 0.0
    assert set(solution.history) >= {"iteration", "coefficient_change", "seconds"}


def test_policy_rolls_out_with_mass_one_and_reproduces_the_simulation(solution):
    game = solution.game
    path = rollout(game, solution.policy, solution.params, KEY, 2)
    mass = np.asarray(path.mu.sum(axis=-1))
    np.testing.assert_allclose(mass, 1.0, atol=1e-12)
    shares = np.asarray(path.actions)
    assert shares.shape == (2, game.horizon, game.n_states)
    assert np.all((shares >= 0) & (shares <= 1))
    # the policy recovers (K, z) from the observed prices: the core's rollout is the
    # algorithm's own simulation along the same TFP path
    for b in range(2):
        z = np.asarray(path.agg.z[b])
        K, _ = simulate_capital(game, solution.params, game.initial_distributions[0], z)
        np.testing.assert_allclose(K, np.asarray(path.agg.aux["K"][b]), rtol=1e-12)


def test_policy_observing_capital_and_tfp_agrees_with_prices(solution):
    game = solution.game
    agg = game.reset(KEY)
    by_prices = solution.policy.apply(solution.params, (), game.observe(agg))[1]
    params_KZ = solution.params.replace(observation=("K", "Z"))
    obs_KZ = jnp.stack([agg.aux["K"], agg.aux["Z"]])
    by_capital = solution.policy.apply(params_KZ, (), obs_KZ)[1]
    np.testing.assert_allclose(np.asarray(by_capital), np.asarray(by_prices), atol=1e-10)


def test_exploitability_is_small(solution):
    ev = evaluate(solution.game, solution.policy, solution.params, KEY, 2)
    expl = float(ev.exploitability.value)
    mean_value = float(np.mean(ev.exploitability.policy_return))
    print(
        f"\nexploitability {expl:.3e}, mean value {mean_value:.4f}, "
        f"ratio {expl / abs(mean_value):.2e}"
    )
    assert np.isfinite(expl) and np.all(np.isfinite(np.asarray(ev.value)))
    assert expl > -1e-8
    assert expl < 1e-2 * abs(mean_value)


def test_regression_and_den_haan_on_an_exact_law_of_motion():
    rng = np.random.default_rng(0)
    b = np.array([[0.09, 0.963], [0.08, 0.965]])
    z = rng.integers(0, 2, 400)
    logK = np.empty(400)
    logK[0] = np.log(11.0)
    for t in range(399):
        logK[t + 1] = b[z[t], 0] + b[z[t], 1] * logK[t]
    coefficients, r2 = fit_law_of_motion(np.exp(logK), z, burn_in=50)
    np.testing.assert_allclose(coefficients, b, atol=1e-10)
    np.testing.assert_allclose(r2, 1.0, atol=1e-10)
    dh_max, dh_mean, forecast = den_haan_errors(np.exp(logK), z, b, burn_in=50)
    assert dh_max < 1e-10 and dh_mean < 1e-10
    np.testing.assert_allclose(forecast, np.exp(logK[50:]), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(next_capital(b, 11.0)), np.exp(b[:, 0] + b[:, 1] * np.log(11.0))
    )


def test_aggregate_labour_follows_unemployment():
    cal = krusell_smith_1998(n_wealth=40)
    L = aggregate_labour_by_state(krusell_smith(cal, horizon=5))
    ell = cal.employment_income.labour_endowment
    np.testing.assert_allclose(L, ell * (1.0 - cal.employment.unemployment), rtol=1e-12)


@pytest.mark.parametrize(
    "make, kwargs, match",
    [
        (lambda: aiyagari(aiyagari_1994(n_wealth=40), horizon=5), {}, "Markov TFP"),
        (
            lambda: krusell_smith(krusell_smith_1998(n_wealth=40), horizon=5, observation=("L",)),
            {},
            "observation",
        ),
        (
            lambda: krusell_smith(krusell_smith_1998(n_wealth=40), horizon=5),
            {"damping": 0.0},
            "damping",
        ),
        (
            lambda: krusell_smith(krusell_smith_1998(n_wealth=40), horizon=5),
            {"n_periods": 100, "burn_in": 100},
            "n_periods",
        ),
        (
            lambda: krusell_smith(krusell_smith_1998(n_wealth=40), horizon=5),
            {"capital_bounds": (12.0, 10.0)},
            "capital_bounds",
        ),
    ],
)
def test_bad_inputs_raise(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve_krusell_smith(make(), **kwargs)


@pytest.mark.slow
def test_full_size_krusell_smith_matches_the_paper():
    economy = krusell_smith(krusell_smith_1998(), horizon=200)
    sol = solve_krusell_smith(economy, evaluation_samples=2)
    res = sol.results
    print(f"\ncoefficients {res['coefficients'].tolist()}, R2 {res['r2'].tolist()}")
    print(
        f"Den Haan max {res['den_haan_max_percent']:.4f}%, mean "
        f"{res['den_haan_mean_percent']:.4f}%, K {res['K_mean']:.4f}, "
        f"exploitability {sol.exploitability:.3e}, {res['iterations']} iterations, "
        f"{res['seconds']:.1f} s"
    )
    assert res["converged"] and res["coefficient_change"] < 1e-6
    assert np.all(res["r2"] > 0.9999)
    # Krusell and Smith (1998): log K' = 0.095 + 0.962 log K (good), 0.085 + 0.965 log K (bad)
    np.testing.assert_allclose(res["coefficients"][:, 1], [0.962, 0.965], atol=0.01)
    assert 11.0 < res["K_mean"] < 12.5
    assert res["den_haan_max_percent"] < 0.5
    assert (
        0.0
        < sol.exploitability
        < 1e-2 * abs(float(np.mean(sol.evaluation.exploitability.policy_return)))
    )
