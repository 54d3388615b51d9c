"""Moments and likelihood of the linearised model; maximum likelihood of the shock process."""

from __future__ import annotations

import numpy as np
import pytest

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.sequence_models import krusell_smith_ssj
from hank_mfg.solvers.estimation import (
    LinearLikelihood,
    autocovariances,
    full_covariance,
    simulate_aggregates,
)
from hank_mfg.solvers.sequence import linearize
from hank_mfg.solvers.steady_state import steady_state

T = 120


@pytest.fixture(scope="module")
def ks():
    spec = krusell_smith_ssj(n_income=3, n_wealth=50, wealth_max=100.0)
    ss = steady_state(*spec.steady)
    return linearize(spec.model, ss, spec.unknowns, spec.targets, ["Z", "beta"], T)


def test_autocovariances_equal_direct_sums(ks):
    like = LinearLikelihood(ks, ["Z", "beta"], ["Y", "C", "K"])
    rho, sigma = [0.9, 0.7], [0.01, 0.001]
    Sigma = like.moments(rho, sigma)
    M = like.ma(rho)
    for lag in (0, 1, 7):
        direct = np.einsum("joz,z,jpz->op", M[: T - lag], np.square(sigma), M[lag:])
        np.testing.assert_allclose(Sigma[lag], direct, rtol=1e-10, atol=1e-16)
    # the full covariance is symmetric, positive definite and block Toeplitz
    V = np.asarray(full_covariance(Sigma, np.zeros(3), 10))
    np.testing.assert_allclose(V, V.T, atol=1e-18)
    assert np.linalg.eigvalsh(V).min() > 0
    np.testing.assert_allclose(V[3:6, 9:12], Sigma[2], atol=0)  # block (1, 3): lag 2
    np.testing.assert_allclose(V[9:12, 3:6], Sigma[2].T, atol=0)


def test_simulated_moments_match_analytic_within_sampling_error(ks):
    like = LinearLikelihood(ks, ["Z"], ["Y", "K"])
    rho, sigma = [0.8], [0.01]
    Sigma = like.moments(rho, sigma)
    n = 20_000
    Y = simulate_aggregates(like.ma(rho), sigma, n, seed=3)
    for o in range(2):
        # the sample variance's standard error, from the analytic autocorrelations
        acf = Sigma[:, o, o] / Sigma[0, o, o]
        se = Sigma[0, o, o] * np.sqrt(2 * (1 + 2 * np.sum(acf[1:] ** 2)) / n)
        assert abs(np.var(Y[:, o]) - Sigma[0, o, o]) < 4 * se
        first = np.mean(Y[1:, o] * Y[:-1, o])
        assert abs(first - Sigma[1, o, o]) < 4 * se


def test_likelihood_matches_a_dense_gaussian_density(ks):
    from scipy.stats import multivariate_normal

    like = LinearLikelihood(ks, ["Z"], ["Y", "C"])
    rho, sigma, sd = [0.85], [0.01], [0.001, 0.002]
    Y = simulate_aggregates(like.ma(rho), sigma, 30, seed=0)
    V = np.asarray(full_covariance(like.moments(rho, sigma), np.asarray(sd), 30))
    expected = multivariate_normal(np.zeros(60), V).logpdf(Y.ravel())
    assert like(Y, rho, sigma, sd) == pytest.approx(expected, rel=1e-10)
    constant = 0.5 * 60 * np.log(2 * np.pi)
    assert like(Y, rho, sigma, sd, constant=False) == pytest.approx(expected + constant, rel=1e-10)


def test_maximum_likelihood_recovers_the_shock_process(ks):
    like = LinearLikelihood(ks, ["Z"], ["Y"])
    truth = {"rho_Z": 0.9, "sigma_Z": 0.01}
    Y = simulate_aggregates(like.ma([truth["rho_Z"]]), [truth["sigma_Z"]], 200, seed=11)
    fit = like.estimate(Y, {"rho_Z": 0.7, "sigma_Z": 0.02})
    assert fit.converged
    for name, (value, se) in fit.as_dict().items():
        assert 0 < se < 0.1 * abs(value)
        assert abs(value - truth[name]) < 3 * se, (name, value, se)
    # the estimate is a maximum: nudging either parameter lowers the likelihood
    best = like(Y, [fit.estimate[0]], [fit.estimate[1]])
    assert best == pytest.approx(fit.log_likelihood, rel=1e-10)
    assert like(Y, [fit.estimate[0] + 0.01], [fit.estimate[1]]) < best
    assert like(Y, [fit.estimate[0]], [fit.estimate[1] * 1.05]) < best


def test_bad_input_is_named(ks):
    like = LinearLikelihood(ks, ["Z"], ["Y", "C"])
    Y = np.zeros((20, 2))
    with pytest.raises(ValueError, match="rho must be in \\(-1, 1\\)"):
        like(Y, [1.0], [0.01])
    with pytest.raises(ValueError, match="sigma must be > 0"):
        like(Y, [0.5], [0.0])
    with pytest.raises(ValueError, match=r"data must have shape \(T_obs >= 2, 2\)"):
        like(np.zeros((20, 3)), [0.5], [0.01])
    Y[4, 1] = np.nan
    with pytest.raises(ValueError, match="not finite at period 4 of observable 'C'"):
        like(Y, [0.5], [0.01])
    with pytest.raises(ValueError, match="measurement_sd must be 2 finite values"):
        like(np.zeros((20, 2)), [0.5], [0.01], [-1.0, 0.0])
    with pytest.raises(ValueError, match="is not one of the linearisation's exogenous"):
        LinearLikelihood(ks, ["G"], ["Y"])
    with pytest.raises(ValueError, match="T_obs"):
        simulate_aggregates(like.ma([0.5]), [0.01], 0)
    assert np.all(np.isfinite(autocovariances(like.ma([0.5]), np.array([0.01]))))
