"""Calibration: income processes, the Krusell–Smith employment process, presets, validation."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from hank_mfg.calibration import (
    Calibration,
    EmploymentIncome,
    FirmCalibration,
    GameSettings,
    HouseholdCalibration,
    IncomeProcess,
    KrusellSmithEmployment,
    LogAR1TFP,
    MarkovTFP,
    aiyagari_1994,
    geometric_grid,
    innovation_sd,
    krusell_smith_1998,
    krusell_smith_employment,
    markov_income,
    midpoint_shares,
    quantecon_aiyagari,
    rouwenhorst,
    seed_macro,
    stationary_distribution,
    tauchen,
)

TOL = 1e-10
NAN = float("nan")
G, B = 0, 1  # good, bad aggregate state
U, E = 0, 1  # unemployed, employed


def log_moments(p: IncomeProcess) -> tuple[float, float]:
    """Stationary standard deviation and first autocorrelation of log e."""
    y = np.log(p.grid)
    pi = p.stationary
    d = y - pi @ y
    var = pi @ d**2
    autocov = np.sum(pi[:, None] * p.Pi * np.outer(d, d))
    return math.sqrt(var), autocov / var


# --- income processes ---------------------------------------------------------------------------

AR1_CASES = [(0.0, 0.2, 7), (0.6, 0.16, 7), (0.9, 0.17, 7), (-0.5, 0.1, 5), (0.95, 0.05, 2)]


@pytest.mark.parametrize("method", [tauchen, rouwenhorst])
@pytest.mark.parametrize(("rho", "sigma", "n"), AR1_CASES)
def test_discretised_ar1_is_a_normalised_markov_chain(method, rho, sigma, n):
    p = method(rho, sigma, n)
    assert p.grid.shape == (n,) and p.Pi.shape == (n, n) and p.stationary.shape == (n,)
    assert p.grid.dtype == np.float64
    assert np.all(np.diff(p.grid) > 0) and np.all(p.grid > 0)
    np.testing.assert_allclose(p.Pi.sum(axis=1), 1.0, rtol=0, atol=TOL)
    assert np.all(p.Pi >= 0)
    assert abs(p.stationary @ p.grid - 1.0) < 1e-12
    assert abs(p.mean - 1.0) < 1e-12
    np.testing.assert_allclose(p.stationary @ p.Pi, p.stationary, rtol=0, atol=TOL)
    assert abs(p.stationary.sum() - 1.0) < TOL


def test_arrays_are_read_only():
    p = tauchen(0.6, 0.1, 5)
    with pytest.raises(ValueError):
        p.grid[0] = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.grid = np.ones(5)


@pytest.mark.parametrize(("rho", "sigma_u"), [(0.9, 0.4), (0.6, 0.2), (0.0, 0.2), (-0.5, 0.3)])
def test_rouwenhorst_matches_ar1_moments_exactly(rho, sigma_u):
    sd, autocorr = log_moments(rouwenhorst(rho, innovation_sd(sigma_u, rho), 7))
    assert abs(sd - sigma_u) < TOL
    assert abs(autocorr - rho) < TOL


@pytest.mark.parametrize(("rho", "sigma_u", "n"), [(0.0, 0.2, 9), (0.5, 0.3, 11), (-0.5, 0.2, 9)])
def test_tauchen_and_rouwenhorst_agree_roughly(rho, sigma_u, n):
    sigma = innovation_sd(sigma_u, rho)
    sd_t, ac_t = log_moments(tauchen(rho, sigma, n))
    sd_r, ac_r = log_moments(rouwenhorst(rho, sigma, n))
    assert abs(sd_t / sd_r - 1) < 0.08
    assert abs(ac_t - ac_r) < 0.02


def test_tauchen_grid_spans_n_std_unconditional_sd():
    p = tauchen(0.9, 0.1, 7, n_std=2.5)
    span = np.log(p.grid[-1] / p.grid[0])
    assert abs(span - 2 * 2.5 * 0.1 / math.sqrt(1 - 0.81)) < 1e-12


def test_innovation_sd():
    assert abs(innovation_sd(0.4, 0.9) - 0.4 * math.sqrt(0.19)) < 1e-15
    assert innovation_sd(0.2, 0.0) == 0.2


def test_markov_income_keeps_levels_unless_normalised():
    grid, Pi = [0.1, 1.0], [[0.9, 0.1], [0.2, 0.8]]
    p = markov_income(grid, Pi)
    np.testing.assert_array_equal(p.grid, grid)
    np.testing.assert_allclose(p.stationary, [2 / 3, 1 / 3], rtol=0, atol=1e-14)
    q = markov_income(grid, Pi, normalize=True)
    assert abs(q.mean - 1.0) < 1e-14
    np.testing.assert_allclose(q.grid / p.grid, 1 / p.mean, rtol=1e-14)


def test_stationary_distribution_needs_one_recurrent_class():
    # a transient third state is fine; two absorbing states are not
    P = [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]
    np.testing.assert_allclose(stationary_distribution(P), [0.5, 0.5, 0.0], atol=1e-15)
    with pytest.raises(ValueError, match="unique stationary distribution"):
        markov_income([1.0, 2.0], np.eye(2))


@pytest.mark.parametrize("method", [tauchen, rouwenhorst])
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"rho": 1.0}, "rho"),
        ({"rho": -1.0}, "rho"),
        ({"rho": 1.3}, "rho"),
        ({"rho": NAN}, "rho"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -0.1}, "sigma"),
        ({"sigma": NAN}, "sigma"),
        ({"n": 1}, "n"),
        ({"n": 2.5}, "n"),
        ({"n": True}, "n"),
    ],
)
def test_ar1_discretisation_rejects_bad_parameters(method, kwargs, name):
    args = {"rho": 0.5, "sigma": 0.1, "n": 5, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name} must"):
        method(**args)


def test_ar1_messages_give_the_allowed_range():
    with pytest.raises(ValueError, match=r"rho must lie in \(-1, 1\)"):
        tauchen(1.0, 0.1, 5)
    with pytest.raises(ValueError, match=r"sigma must lie in \(0, inf\)"):
        rouwenhorst(0.5, 0.0, 5)
    with pytest.raises(ValueError, match=r"n must be an integer in \[2, inf\)"):
        tauchen(0.5, 0.1, 1)
    with pytest.raises(ValueError, match="n_std"):
        tauchen(0.5, 0.1, 5, n_std=0.0)
    with pytest.raises(ValueError, match="unconditional_sd"):
        innovation_sd(-0.1, 0.5)


GOOD_PI = np.array([[0.9, 0.1], [0.5, 0.5]])
GOOD_STATIONARY = np.array([5 / 6, 1 / 6])


@pytest.mark.parametrize(
    ("grid", "Pi", "stationary", "name"),
    [
        ([0.5, 1.5], [[0.9, 0.2], [0.5, 0.5]], GOOD_STATIONARY, "Pi"),  # row sum 1.1
        ([0.5, 1.5], [[1.1, -0.1], [0.5, 0.5]], GOOD_STATIONARY, "Pi"),  # negative entry
        ([0.5, 1.5], [[NAN, 0.1], [0.5, 0.5]], GOOD_STATIONARY, "Pi"),
        ([0.5, 1.5], np.eye(3), GOOD_STATIONARY, "Pi"),  # shape mismatch
        ([0.5, 1.5], [0.5, 0.5], GOOD_STATIONARY, "Pi"),  # not a matrix
        ([0.5, NAN], GOOD_PI, GOOD_STATIONARY, "grid"),
        ([0.0, 1.5], GOOD_PI, GOOD_STATIONARY, "grid"),  # non-positive
        ([-1.0, 1.5], GOOD_PI, GOOD_STATIONARY, "grid"),
        ([1.5, 0.5], GOOD_PI, GOOD_STATIONARY, "grid"),  # decreasing
        ([1.0, 1.0], GOOD_PI, GOOD_STATIONARY, "grid"),  # not strictly increasing
        ([1.0], [[1.0]], [1.0], "grid"),  # too short
        ([0.5, 1.5], GOOD_PI, [0.5, 0.5], "stationary"),  # not stationary
        ([0.5, 1.5], GOOD_PI, [5 / 6, 1 / 6, 0.0], "stationary"),
        ([0.5, 1.5], GOOD_PI, [NAN, 0.5], "stationary"),
    ],
)
def test_income_process_validates(grid, Pi, stationary, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        IncomeProcess(grid=grid, Pi=Pi, stationary=stationary)


def test_income_process_accepts_consistent_input():
    p = IncomeProcess(grid=[0.5, 1.5], Pi=GOOD_PI, stationary=GOOD_STATIONARY)
    assert p.n == 2 and abs(p.mean - (0.5 * 5 / 6 + 1.5 / 6)) < 1e-15
    assert json.loads(json.dumps(p.to_dict()))["Pi"] == GOOD_PI.tolist()


# --- Krusell–Smith employment -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ks() -> KrusellSmithEmployment:
    return krusell_smith_employment()


def test_ks_shapes_and_levels(ks):
    np.testing.assert_array_equal(ks.z_levels, [1.01, 0.99])
    np.testing.assert_array_equal(ks.unemployment, [0.04, 0.10])
    assert ks.Pi_z.shape == (2, 2) and ks.Pi_joint.shape == (4, 4)
    assert ks.Pi_e.shape == (2, 2, 2, 2)


def test_ks_rows_sum_to_one(ks):
    np.testing.assert_allclose(ks.Pi_joint.sum(axis=1), 1.0, rtol=0, atol=TOL)
    np.testing.assert_allclose(ks.Pi_z.sum(axis=1), 1.0, rtol=0, atol=TOL)
    np.testing.assert_allclose(ks.Pi_e.sum(axis=3), 1.0, rtol=0, atol=TOL)
    assert np.all(ks.Pi_joint >= 0)


def test_ks_reproduces_unemployment_for_every_transition(ks):
    u = ks.unemployment
    for z in (G, B):
        # the cross-section at z, pushed through the joint chain, conditioned on z'
        mass = np.zeros(4)
        mass[2 * z + U], mass[2 * z + E] = u[z], 1 - u[z]
        nxt = (mass @ ks.Pi_joint).reshape(2, 2)
        for zp in (G, B):
            assert abs(nxt[zp, U] / nxt[zp].sum() - u[zp]) < TOL
            via_pi_e = u[z] * ks.Pi_e[z, zp, U, U] + (1 - u[z]) * ks.Pi_e[z, zp, E, U]
            assert abs(via_pi_e - u[zp]) < TOL


def test_ks_expected_durations(ks):
    assert abs(1 / (1 - ks.Pi_z[G, G]) - 8.0) < TOL
    assert abs(1 / (1 - ks.Pi_z[B, B]) - 8.0) < TOL
    assert abs(1 / (1 - ks.Pi_e[G, G, U, U]) - 1.5) < TOL
    assert abs(1 / (1 - ks.Pi_e[B, B, U, U]) - 2.5) < TOL


def test_ks_ratio_conditions(ks):
    assert abs(ks.Pi_e[G, B, U, U] - 1.25 * ks.Pi_e[B, B, U, U]) < TOL
    assert abs(ks.Pi_e[B, G, U, U] - 0.75 * ks.Pi_e[G, G, U, U]) < TOL


def test_ks_marginal_over_employment_is_pi_z(ks):
    blocks = ks.Pi_joint.reshape(2, 2, 2, 2)  # [z, e, z', e']
    for e in (U, E):
        np.testing.assert_allclose(blocks[:, e].sum(axis=-1), ks.Pi_z, rtol=0, atol=TOL)


def test_ks_matrix_matches_the_published_values(ks):
    published = [
        [0.291667, 0.583333, 0.093750, 0.031250],
        [0.024306, 0.850694, 0.009115, 0.115885],
        [0.031250, 0.093750, 0.525000, 0.350000],
        [0.002083, 0.122917, 0.038889, 0.836111],
    ]
    np.testing.assert_allclose(ks.Pi_joint, published, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"unemployment_good": 0.0}, "unemployment_good"),
        ({"unemployment_good": NAN}, "unemployment_good"),
        ({"unemployment_bad": 1.0}, "unemployment_bad"),
        ({"duration_z": 1.0}, "duration_z"),
        ({"duration_z": 0.5}, "duration_z"),
        ({"duration_unemp_good": 0.9}, "duration_unemp_good"),
        ({"duration_unemp_bad": 6.0}, "duration_unemp_bad"),  # 1.25 pi(u'|u,b,b) > 1
        ({"unemployment_good": 0.01, "unemployment_bad": 0.5}, "unemployment_good"),
        ({"z_bad": -0.99}, "z_bad"),
    ],
)
def test_ks_rejects_bad_targets(kwargs, name):
    with pytest.raises(ValueError, match=name):
        krusell_smith_employment(**kwargs)


def test_ks_dataclass_validates(ks):
    P = ks.Pi_joint.copy()
    P[0, :2] = [0.3, 0.575]  # still stochastic, but unemployment no longer moves exactly
    with pytest.raises(ValueError, match="Pi_joint"):
        dataclasses.replace(ks, Pi_joint=P)
    with pytest.raises(ValueError, match="unemployment"):
        dataclasses.replace(ks, unemployment=[0.04, 1.2])
    with pytest.raises(ValueError, match="Pi_z"):
        dataclasses.replace(ks, Pi_z=[[0.8, 0.2], [0.125, 0.875]])


# --- presets ------------------------------------------------------------------------------------


def test_aiyagari_1994_defaults():
    c = aiyagari_1994()
    h, f = c.household, c.firm
    assert (h.beta, h.crra, h.borrowing_limit) == (0.96, 3.0, 0.0)
    assert (f.alpha, f.delta, f.tfp_level, f.labour_supply) == (0.36, 0.08, 1.0, None)
    assert c.tfp is None and c.employment is None and c.game is None
    assert h.income.n == 7 and abs(h.income.mean - 1) < 1e-12
    # sigma is Aiyagari's unconditional sd: Tauchen's grid spans ±3 of them in log e
    assert abs(np.log(h.income.grid[-1] / h.income.grid[0]) - 6 * 0.2) < 1e-12
    a = c.wealth_grid
    assert a.shape == (h.n_wealth,) and a[0] == 0.0 and a[-1] == h.wealth_max >= 100
    assert np.all(np.diff(a) > 0) and np.all(np.diff(a, 2) > 0)  # denser near the limit


@pytest.mark.parametrize(("rho", "sigma", "crra"), [(0.0, 0.2, 1.0), (0.9, 0.4, 5.0)])
def test_aiyagari_1994_variants(rho, sigma, crra):
    c = aiyagari_1994(rho=rho, sigma=sigma, crra=crra)
    assert c.household.crra == crra
    assert abs(np.log(c.household.income.grid[-1] / c.household.income.grid[0]) - 6 * sigma) < 1e-9
    _, autocorr = log_moments(c.household.income)
    assert abs(autocorr - rho) < 0.02
    assert c.household.wealth_max >= 150


def test_quantecon_aiyagari_reproduces_the_lecture():
    c = quantecon_aiyagari()
    h, f = c.household, c.firm
    assert (h.beta, h.crra) == (0.96, 1.0)
    np.testing.assert_array_equal(h.income.grid, [0.1, 1.0])
    np.testing.assert_array_equal(h.income.Pi, [[0.9, 0.1], [0.1, 0.9]])
    np.testing.assert_array_equal(c.wealth_grid, np.linspace(1e-10, 20, 200))
    assert (f.tfp_level, f.labour_supply, f.alpha, f.delta) == (1.0, 1.0, 0.33, 0.05)


def test_krusell_smith_1998_preset():
    c = krusell_smith_1998()
    h, f = c.household, c.firm
    assert (h.beta, h.crra, h.borrowing_limit, h.income) == (0.99, 1.0, 0.0, None)
    assert (f.alpha, f.delta) == (0.36, 0.025)
    assert c.employment_income == EmploymentIncome(0.3271, 0.15)
    assert isinstance(c.tfp, MarkovTFP)
    np.testing.assert_array_equal(c.tfp.levels, [1.01, 0.99])
    np.testing.assert_array_equal(c.tfp.Pi, c.employment.Pi_z)
    np.testing.assert_allclose(c.tfp.stationary, [0.5, 0.5], atol=1e-14)
    a = c.wealth_grid
    assert 50 <= a.size <= 200 and a[0] == 0.0 and 300 <= a[-1] <= 400


def test_seed_macro_preset_matches_the_seed_library():
    c = seed_macro()
    h, f, g = c.household, c.firm, c.game
    # grids: np.geomspace(low + 0.25, high + 0.25, n) - 0.25, as in MFAX
    np.testing.assert_allclose(
        c.wealth_grid, np.clip(np.geomspace(0.25, 99.25, 200) - 0.25, 0, None), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        h.income.grid, np.geomspace(0.35, 2.25, 5) - 0.25, rtol=0, atol=1e-12
    )
    assert h.income.grid[0] == 0.1 and h.income.grid[-1] == 2.0
    expected_Pi = 0.8 * np.eye(5) + 0.1 * (np.eye(5, k=1) + np.eye(5, k=-1))
    expected_Pi[0, 0] = expected_Pi[-1, -1] = 0.9
    np.testing.assert_allclose(h.income.Pi, expected_Pi, rtol=0, atol=1e-15)
    np.testing.assert_allclose(h.income.stationary, 0.2, rtol=0, atol=1e-12)
    assert (h.beta, h.crra, h.borrowing_limit) == (0.95, 2.0, 0.0)
    assert (f.alpha, f.delta, f.tfp_level) == (0.36, 0.0, 1.0)
    assert c.tfp == LogAR1TFP(rho=0.9, sigma=0.03, log_tfp_initial=0.0)
    assert g.horizon == 128 and g.observation == ("r", "w")
    assert (g.initial_distribution, g.terminal_reward) == ("uniform", "consume_wealth")
    np.testing.assert_allclose(g.consumption_shares, np.arange(0.025, 1, 0.05), atol=1e-15)


@pytest.mark.parametrize(
    "preset", [aiyagari_1994, quantecon_aiyagari, krusell_smith_1998, seed_macro]
)
def test_to_dict_is_flat_and_serialisable(preset):
    c = preset()
    d = c.to_dict()
    assert d["name"] == c.name and d["household.beta"] == c.household.beta
    assert d["firm.alpha"] == c.firm.alpha
    for key, value in d.items():
        assert isinstance(key, str)
        assert isinstance(value, str | int | float | list), key
    assert json.loads(json.dumps(d)) == d


def test_geometric_grid_and_midpoints():
    x = geometric_grid(0.0, 10.0, 6, shift=1.0)
    np.testing.assert_allclose(np.diff(np.log(x + 1.0)), np.log(11) / 5, rtol=1e-12)
    assert x[0] == 0.0 and x[-1] == 10.0
    np.testing.assert_allclose(midpoint_shares(4), [0.125, 0.375, 0.625, 0.875], atol=1e-15)
    with pytest.raises(ValueError, match="shift"):
        geometric_grid(0.0, 10.0, 5, shift=0.0)


# --- invalid calibrations -----------------------------------------------------------------------


def household(**kw):
    base = {"beta": 0.96, "crra": 2.0, "income": tauchen(0.6, 0.1, 3)}
    return HouseholdCalibration(**{**base, **kw})


def firm(**kw):
    return FirmCalibration(**{"alpha": 0.36, "delta": 0.08, **kw})


def game(**kw):
    return GameSettings(**{"horizon": 10, "consumption_shares": midpoint_shares(4), **kw})


INVALID = [
    ("beta", lambda: household(beta=1.0)),
    ("beta", lambda: household(beta=1.01)),
    ("beta", lambda: household(beta=0.0)),
    ("beta", lambda: household(beta=-0.5)),
    ("beta", lambda: household(beta=NAN)),
    ("crra", lambda: household(crra=0.0)),
    ("crra", lambda: household(crra=-1.0)),
    ("crra", lambda: household(crra=NAN)),
    ("borrowing_limit", lambda: household(borrowing_limit=NAN)),
    ("wealth_max", lambda: household(borrowing_limit=0.0, wealth_max=0.0)),
    ("wealth_max", lambda: household(borrowing_limit=5.0, wealth_max=1.0)),
    ("wealth_max", lambda: household(wealth_max=NAN)),
    ("n_wealth", lambda: household(n_wealth=1)),
    ("n_wealth", lambda: household(n_wealth=0)),
    ("n_wealth", lambda: household(n_wealth=10.5)),
    ("wealth_grid_pivot", lambda: household(wealth_grid_pivot=0.0)),
    ("wealth_grid_pivot", lambda: household(wealth_grid_pivot=NAN)),
    ("income", lambda: household(income=[1.0, 2.0])),
    ("grid", lambda: household(income=markov_income([1.0, 0.5], GOOD_PI))),
    ("grid", lambda: household(income=markov_income([1.0], [[1.0]]))),
    ("grid", lambda: household(income=markov_income([NAN, 1.0], GOOD_PI))),
    ("alpha", lambda: firm(alpha=0.0)),
    ("alpha", lambda: firm(alpha=1.0)),
    ("alpha", lambda: firm(alpha=NAN)),
    ("delta", lambda: firm(delta=-0.01)),
    ("delta", lambda: firm(delta=1.01)),
    ("delta", lambda: firm(delta=NAN)),
    ("tfp_level", lambda: firm(tfp_level=0.0)),
    ("labour_supply", lambda: firm(labour_supply=-1.0)),
    ("rho", lambda: LogAR1TFP(rho=1.0, sigma=0.03)),
    ("sigma", lambda: LogAR1TFP(rho=0.9, sigma=-0.03)),
    ("sigma", lambda: LogAR1TFP(rho=0.9, sigma=NAN)),
    ("log_tfp_initial", lambda: LogAR1TFP(rho=0.9, sigma=0.03, log_tfp_initial=NAN)),
    ("levels", lambda: MarkovTFP(levels=[1.01, -0.99], Pi=GOOD_PI)),
    ("levels", lambda: MarkovTFP(levels=[1.0, 1.0], Pi=GOOD_PI)),
    ("levels", lambda: MarkovTFP(levels=[1.0, NAN], Pi=GOOD_PI)),
    ("Pi", lambda: MarkovTFP(levels=[1.01, 0.99], Pi=[[0.5, 0.6], [0.5, 0.5]])),
    ("labour_endowment", lambda: EmploymentIncome(labour_endowment=0.0)),
    ("unemployment_income_share", lambda: EmploymentIncome(unemployment_income_share=1.0)),
    ("unemployment_income_share", lambda: EmploymentIncome(unemployment_income_share=-0.1)),
    ("unemployment_income_share", lambda: EmploymentIncome(unemployment_income_share=NAN)),
    ("horizon", lambda: game(horizon=0)),
    ("consumption_shares", lambda: game(consumption_shares=[0.5, 0.25])),
    ("consumption_shares", lambda: game(consumption_shares=[0.5])),
    ("consumption_shares", lambda: game(consumption_shares=[0.5, 1.5])),
    ("consumption_shares", lambda: game(consumption_shares=[NAN, 0.5])),
    ("initial_distribution", lambda: game(initial_distribution="dirac")),
    ("terminal_reward", lambda: game(terminal_reward="bequest")),
    ("observation", lambda: game(observation=("r", "mu"))),
    ("name", lambda: Calibration(name="", household=household(), firm=firm())),
    (
        "household.income",
        lambda: Calibration(name="x", household=household(income=None), firm=firm()),
    ),
    (
        "employment_income",
        lambda: dataclasses.replace(krusell_smith_1998(), employment_income=None),
    ),
    (
        "tfp",
        lambda: dataclasses.replace(
            krusell_smith_1998(), tfp=MarkovTFP(levels=[1.02, 0.98], Pi=[[0.5, 0.5], [0.5, 0.5]])
        ),
    ),
    ("tfp", lambda: dataclasses.replace(krusell_smith_1998(), tfp=LogAR1TFP(0.9, 0.01))),
    ("beta", lambda: dataclasses.replace(seed_macro().household, beta=1.0)),
    ("delta", lambda: dataclasses.replace(krusell_smith_1998().firm, delta=2.0)),
    ("rho", lambda: aiyagari_1994(rho=1.0)),
    ("sigma", lambda: aiyagari_1994(sigma=0.0)),
    ("crra", lambda: aiyagari_1994(crra=-3.0)),
]


@pytest.mark.parametrize(
    ("name", "build"), INVALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(INVALID)]
)
def test_invalid_calibration_raises_naming_the_parameter(name, build):
    with pytest.raises(ValueError) as info:
        build()
    assert name in str(info.value)


def test_range_is_in_the_message():
    with pytest.raises(ValueError, match=r"beta must lie in \(0, 1\)"):
        household(beta=1.0)
    with pytest.raises(ValueError, match=r"delta must lie in \[0, 1\]"):
        firm(delta=1.5)
    with pytest.raises(ValueError, match=r"n_wealth must be an integer in \[2, inf\)"):
        household(n_wealth=1)
