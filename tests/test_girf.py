"""Generalised impulse responses of global solutions against the sequence space's linear IRF."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.calibration import LogAR1TFP, aiyagari_1994
from hank_mfg.core.rollout import constant_policy, rollout
from hank_mfg.models.aiyagari import aiyagari
from hank_mfg.solvers.girf import (
    MIN_HORIZON,
    first_order_policy,
    girf,
    krusell_smith_ar1_policy,
    linear_irf,
    markov_economy,
    peak,
)
from hank_mfg.solvers.global_series import (
    compare_moments,
    global_series,
    linear_covariances,
    linear_series,
)
from hank_mfg.solvers.stationary import stationary_equilibrium

#: Innovation sd of log TFP in the small-shock economy: a one-sd shock is 1e-4 in log Z.
SIGMA = 1e-4
RHO = 0.8
HORIZON = 20
NAMES = ("K", "r", "w", "Y", "C")
#: Common-noise paths and variables of the moment comparisons.
MOMENT_SAMPLES = 400
MOMENT_NAMES = ("K", "Y", "C", "r")


@pytest.fixture(scope="module")
def economy():
    """A small Aiyagari economy (30 wealth x 2 income points) started at its stationary
    distribution with the stationary value as terminal value, its linear IRF (T = 80) and
    its first-order policy."""
    cal = aiyagari_1994(n_income=2, n_wealth=30, wealth_max=60.0)
    eco = aiyagari(
        cal, tfp=LogAR1TFP(rho=RHO, sigma=SIGMA), horizon=HORIZON, observation=("K", "Z")
    )
    eq = stationary_equilibrium(eco)
    game = eco.with_settings(
        initial_distributions=eq.distribution,
        terminal=eq.value,
        terminal_marginal=eq.marginal_value,
    )
    linear = linear_irf(game, shock_sd=1.0, horizon=HORIZON, equilibrium=eq, T=80)
    policy, params = first_order_policy(game, equilibrium=eq, linear=linear.linear)
    return game, eq, linear, policy, params


def test_zero_shock_gives_exactly_zero(economy):
    game, eq, _, policy, params = economy
    for pol, par in ((policy, params), (constant_policy, jnp.asarray(eq.share))):
        g = girf(game, pol, par, shock_sd=0.0, horizon=HORIZON, n_samples=4, seed=3)
        assert set(NAMES) <= set(g.variables)
        for name in g.variables:
            n = HORIZON if name == "C" else HORIZON + 1  # no consumption at the end
            assert np.array_equal(g[name][:n], np.zeros(n)), name
            assert np.array_equal(g.standard_errors[name][:n], np.zeros(n)), name


def test_small_shock_girf_of_the_first_order_policy_is_the_linear_irf(economy):
    """The first-order policy's GIRF for shocks of ±0.5 sd (±5e-5 in log Z), divided by the
    shock, against the sequence space's linear IRF per unit of log Z, date by date in the
    game's timing (K one period after the sequence space's). Tolerance 1e-3 of each
    variable's peak: what separates the two is of second order — the level response
    Z(e^{sσρ^t} − 1) against Z sσρ^t (relative sσ/2 = 2.5e-5), the state dependence of the
    response along the noisy paths (relative about the unconditional sd of log Z, 1.7e-4) —
    with the EGM's tolerance (1e-12) and the truncation at T = 80 (0.8^80 ≈ 2e-8) far below;
    a timing off by one period would miss by tens of percent."""
    game, _, linear, policy, params = economy
    per_unit = {name: linear[name] / linear.shock for name in (*NAMES, "Z")}
    up = girf(game, policy, params, shock_sd=0.5, horizon=HORIZON, n_samples=8, seed=0)
    down = girf(game, policy, params, shock_sd=-0.5, horizon=HORIZON, n_samples=8, seed=0)
    assert up.shock == pytest.approx(0.5 * SIGMA) and linear.shock == pytest.approx(SIGMA)
    # households do not choose at the game's terminal date: no consumption there
    assert np.isnan(up["C"][-1]) and np.all(np.isfinite(up["C"][:-1]))
    for name in NAMES:
        scale = np.max(np.abs(per_unit[name]))
        n = HORIZON if name == "C" else HORIZON + 1
        for g in (up, down):
            gap = np.max(np.abs(g[name][:n] / g.shock - per_unit[name][:n]))
            assert gap <= 1e-3 * scale, name
        assert peak(up[name])[0] == peak(linear[name])[0], name
    # capital is predetermined: nothing moves it at the shock's date
    assert up["K"][0] == 0.0 and linear["K"][0] == 0.0
    # a shock at a later date, each path from where its noise took it: the same response
    later = girf(game, policy, params, shock_sd=1.0, horizon=HORIZON - 5, n_samples=4, start=5)
    for name in NAMES:
        scale = np.max(np.abs(per_unit[name]))
        n = HORIZON - 5 if name == "C" else HORIZON - 4
        gap = np.max(np.abs(later[name][:n] / later.shock - per_unit[name][:n]))
        assert gap <= 1e-3 * scale, name
    # Z's own response is the shock: Z (e^{sσρ^t} - 1) on average over the paths
    np.testing.assert_allclose(up["Z"] / up.shock, per_unit["Z"], rtol=1e-3, atol=0)


def test_stationary_shares_alone_are_not_the_linear_response(economy):
    """The stationary savings shares held fixed ignore the prices households expect: their
    GIRF is far from the linear IRF (which the first-order policy reproduces), so the test
    above discriminates."""
    game, eq, linear, _, _ = economy
    g = girf(game, constant_policy, jnp.asarray(eq.share), shock_sd=1.0, horizon=HORIZON)
    gap = np.max(np.abs(g["K"] - linear["K"])) / np.max(np.abs(linear["K"]))
    assert gap > 0.2


def test_baseline_is_the_cores_rollout_and_results_are_seeded(economy):
    game, _, _, policy, params = economy
    g = girf(game, policy, params, shock_sd=2.0, horizon=HORIZON, n_samples=3, seed=7)
    path = rollout(game, policy, params, jax.random.PRNGKey(7), 3)
    np.testing.assert_array_equal(g.baseline["K"], np.asarray(path.agg.aux["K"]).mean(axis=0))
    again = girf(game, policy, params, shock_sd=2.0, horizon=HORIZON, n_samples=3, seed=7)
    for name in g.variables:
        np.testing.assert_array_equal(g[name], again[name])
        np.testing.assert_array_equal(g.standard_errors[name], again.standard_errors[name])
    other = girf(game, policy, params, shock_sd=2.0, horizon=HORIZON, n_samples=3, seed=8)
    assert not np.array_equal(g.baseline["Z"], other.baseline["Z"])
    one = girf(game, policy, params, shock_sd=2.0, horizon=MIN_HORIZON, n_samples=1)
    assert one["K"].shape == (MIN_HORIZON + 1,) and np.all(np.isnan(one.standard_errors["K"]))


def test_krusell_smith_policy_girf_is_close_to_the_linear_irf(economy):
    """The Krusell–Smith algorithm on the 3-level Rouwenhorst chain of log TFP (sd 0.01 here,
    so that capital moves enough for its regression), its policy interpolated in log Z inside
    the log-AR(1) game. Its GIRF of K for one sd against the linear IRF (which is linear in the
    shock: the fixture's times 0.01 / 1e-4). Tolerance 3% of the peak: the algorithm's
    approximations (a log-linear law of motion, 5 capital nodes, three TFP levels, 600
    simulated years) and the second-order terms of a 1% shock (about 0.5%) give 0.8% here."""
    game, eq, linear, _, _ = economy
    sigma = 0.01
    noisy = game.with_settings(tfp=LogAR1TFP(rho=RHO, sigma=sigma))
    policy, params, solution = krusell_smith_ar1_policy(
        noisy,
        n_tfp_states=3,
        equilibrium=eq,
        n_capital=5,
        capital_bounds=(0.9 * eq.K, 1.1 * eq.K),
        n_periods=600,
        burn_in=100,
    )
    assert solution.results["converged"] and min(solution.results["r2"]) > 0.9999
    g = girf(noisy, policy, params, shock_sd=1.0, horizon=HORIZON, n_samples=8)
    expected = linear["K"] * sigma / SIGMA
    assert np.max(np.abs(g["K"] - expected)) <= 0.03 * np.max(np.abs(expected))
    assert peak(g["K"])[0] == peak(expected)[0]
    # its aggregate series under sampled 1% shocks: second moments of the linear model,
    # within 4 sampling sd (the linear IRF is linear in sigma: the fixture's serves)
    series = global_series(noisy, policy, params, periods=HORIZON, n_samples=MOMENT_SAMPLES)
    moments = compare_moments(series, linear, HORIZON - 1, lags=(0, 2), variables=MOMENT_NAMES)
    assert np.max(np.abs(moments["z"].values)) <= 4.0


def test_global_series_are_the_linear_series_on_the_same_shocks(economy):
    """The first-order policy's aggregate series under sampled shocks of sd 1e-4 against the
    linear model's series on the innovations read back from TFP: path by path, they differ
    by second-order terms (about 1e-3 of each variable's sd here; a timing off by a period
    or a wrong response would be of the order of the sd itself)."""
    game, _, linear, policy, params = economy
    series = global_series(game, policy, params, periods=HORIZON, n_samples=MOMENT_SAMPLES)
    assert series.paths["K"].shape == (MOMENT_SAMPLES, HORIZON + 1)
    assert series.innovations.shape == (MOMENT_SAMPLES, HORIZON)
    # the innovations are the game's N(0, sigma^2) draws
    eps = series.innovations.ravel() / SIGMA
    assert abs(eps.mean()) < 4 / np.sqrt(eps.size) and abs(eps.std() - 1) < 4 / np.sqrt(eps.size)
    lin = linear_series(linear, series)
    assert set(MOMENT_NAMES) <= set(lin.variables) and lin.source == "linear"
    for name in MOMENT_NAMES:
        sd = lin[name][:, HORIZON - 1].std()
        gap = np.max(np.abs(series[name][:, :HORIZON] - lin[name][:, :HORIZON]))
        assert gap <= 1e-2 * sd, name
    ds = series.to_xarray()
    assert ds["K"].dims == ("sample", "time") and np.isnan(ds["epsilon"][0, 0])
    np.testing.assert_array_equal(ds["epsilon"].values[:, 1:], series.innovations)
    again = global_series(game, policy, params, periods=HORIZON, n_samples=MOMENT_SAMPLES)
    np.testing.assert_array_equal(again["K"], series["K"])


def test_simulated_moments_agree_with_the_linear_models_within_sampling_error(economy):
    """Covariances across 400 paths at date 19 (lags 0, 1, 3) against the linear model's,
    computed from its impulse responses without simulation: within 4 sampling sd of a
    covariance of 400 normal draws. The same with the innovations' sd doubled in the linear
    moments (variances 4 times larger) fails: the tolerance discriminates."""
    game, _, linear, policy, params = economy
    series = global_series(game, policy, params, periods=HORIZON, n_samples=MOMENT_SAMPLES, seed=1)
    date = HORIZON - 1
    moments = compare_moments(series, linear, date, lags=(0, 1, 3), variables=MOMENT_NAMES)
    assert moments["z"].dims == ("variable", "other", "lag")
    assert np.max(np.abs(moments["z"].values)) <= 4.0
    wrong = linear_covariances(linear, 2 * SIGMA, date, (0,), MOMENT_NAMES).values[..., 0]
    se = moments["standard_error"].sel(lag=0).values
    z_wrong = (moments["simulated"].sel(lag=0).values - wrong) / se
    assert np.min(np.abs(np.diag(z_wrong))) > 10
    # the linear series' moments are the analytic ones too, and tend to the stationary ones
    lin = compare_moments(linear_series(linear, series), linear, date, (0,), MOMENT_NAMES)
    assert np.max(np.abs(lin["z"].values)) <= 4.0
    stationary = linear_covariances(linear, SIGMA, None, (0,), ("r",)).item()
    at_date = linear_covariances(linear, SIGMA, linear.T - 1, (0,), ("r",)).item()
    assert at_date == pytest.approx(stationary, rel=1e-12)


def test_series_and_moments_reject_bad_input(economy):
    game, _, linear, policy, params = economy
    with pytest.raises(ValueError, match="periods"):
        global_series(game, policy, params, periods=HORIZON + 1)
    with pytest.raises(ValueError, match="n_samples"):
        global_series(game, policy, params, periods=HORIZON, n_samples=0)
    series = global_series(game, policy, params, periods=HORIZON, n_samples=4)
    with pytest.raises(ValueError, match="variables.*'X'"):
        series.covariances(HORIZON, (0,), ("K", "X"))
    with pytest.raises(ValueError, match="lags"):
        series.covariances(2, (0, 3))
    with pytest.raises(ValueError, match="date"):
        series.covariances(HORIZON + 1)
    with pytest.raises(ValueError, match="sigma"):
        linear_covariances(linear, 0.0, 5)
    with pytest.raises(ValueError, match="variables.*'X'"):
        linear_covariances(linear, SIGMA, 5, (0,), ("X",))


def test_markov_economy_is_the_rouwenhorst_chain_of_the_process(economy):
    game, _, _, _, _ = economy
    chain = markov_economy(game, 5)
    log_z = np.log(np.asarray(chain.tfp.levels))
    Pi = np.asarray(chain.tfp.Pi)
    np.testing.assert_allclose(log_z, -log_z[::-1], atol=1e-15)  # symmetric around log Z = 0
    assert chain.tfp.initial_index == 2 and log_z[2] == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(Pi @ log_z, RHO * log_z, atol=1e-15)  # E[log Z'] = ρ log Z
    var = Pi @ log_z**2 - (Pi @ log_z) ** 2
    np.testing.assert_allclose(var, SIGMA**2, rtol=1e-9)
    Pi_e = np.asarray(chain.income_transition_by_z)
    assert Pi_e.shape == (5, 5, 2, 2) and np.allclose(Pi_e, np.asarray(game.household.Pi))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, "1", None, True])
def test_shock_size_must_be_a_finite_number(economy, bad):
    game, _, _, policy, params = economy
    with pytest.raises(ValueError, match="shock_sd"):
        girf(game, policy, params, shock_sd=bad, horizon=HORIZON)
    with pytest.raises(ValueError, match="shock_sd"):
        linear_irf(game, shock_sd=bad, horizon=HORIZON)


def test_bad_samples_horizon_and_game(economy):
    game, eq, _, policy, params = economy
    for n in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_samples"):
            girf(game, policy, params, shock_sd=1.0, horizon=HORIZON, n_samples=n)
    for h in (MIN_HORIZON - 1, 0, HORIZON + 1, 3.0):
        with pytest.raises(ValueError, match="horizon"):
            girf(game, policy, params, shock_sd=1.0, horizon=h)
    with pytest.raises(ValueError, match="horizon"):
        girf(game, policy, params, shock_sd=1.0, horizon=HORIZON - 2, start=3)
    with pytest.raises(ValueError, match="start"):
        girf(game, policy, params, shock_sd=1.0, horizon=HORIZON, start=-1)
    with pytest.raises(ValueError, match="horizon"):
        linear_irf(game, shock_sd=1.0, horizon=1)
    with pytest.raises(ValueError, match="seed"):
        girf(game, policy, params, shock_sd=1.0, horizon=HORIZON, seed=-1)
    no_noise = game.with_settings(tfp=None)
    with pytest.raises(ValueError, match="game.*log-AR"):
        girf(no_noise, constant_policy, jnp.asarray(eq.share), shock_sd=1.0, horizon=HORIZON)
    with pytest.raises(ValueError, match="n_states"):
        markov_economy(game, 4)
