"""The sequence space: general-equilibrium Jacobians, linear IRFs, nonlinear transitions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.block_models import krusell_smith_steady_state
from hank_mfg.models.blocks import firm, simple_block
from hank_mfg.models.model import Model
from hank_mfg.models.sequence_models import ks_market_clearing as mkt_clearing
from hank_mfg.solvers.sequence import (
    TransitionError,
    _Banded,
    _path_evaluator,
    ar1_shock,
    block_jacobian,
    linearize,
    transition,
)
from hank_mfg.solvers.steady_state import steady_state

T = 60


@pytest.fixture(scope="module")
def ks():
    spec = krusell_smith_steady_state(n_income=3, n_wealth=60, wealth_max=100.0)
    ss = steady_state(*spec)
    model = Model(spec.model.household, [firm, mkt_clearing], name="krusell_smith")
    linear = linearize(model, ss, ["K"], ["asset_mkt"], ["Z", "beta"], T)
    return model, ss, linear


def test_linear_irf_matches_nonlinear_transition_for_a_small_shock(ks):
    model, ss, linear = ks
    dZ = ar1_shock(0.01 * ss["Z"], 0.8, T)
    irf = linear.irf({"Z": dZ})
    eps = 1e-4
    up, down = (
        transition(model, ss, ["K"], ["asset_mkt"], {"Z": s * eps * dZ}, T=T, linear=linear)
        for s in (1.0, -1.0)
    )
    for name in ("K", "r", "w", "Y", "C"):
        central = (up.deviation(name) - down.deviation(name)) / (2 * eps)
        assert np.max(np.abs(central - irf[name])) <= 1e-6 * np.max(np.abs(irf[name])), name
    assert up.iterations <= 4 and up.residuals[-1] <= 1e-9
    # capital is predetermined: the firm's K(-1) at date 0 is the steady state's
    assert irf["r"][0] == pytest.approx(ss["alpha"] * dZ[0] * ss["K"] ** (ss["alpha"] - 1))
    # Walras' law: the goods market clears when the asset market does
    assert np.max(np.abs(irf["goods_mkt"])) < 1e-10


def test_general_equilibrium_jacobian_equals_autodiff_of_the_whole_model(ks):
    """G from the blocks' Jacobians (household by fake news) against jax.jacfwd of the
    nonlinear map (K, Z paths) -> asset market, an independent computation."""
    model, ss, linear = ks
    evaluate = _path_evaluator(
        model, linear.values, linear.values, ss.household.mu, ss.household.policy.marginal_value, T
    )

    def target(K, Z):
        return evaluate({"K": K, "Z": Z})["asset_mkt"]

    base = (jnp.full(T, ss["K"]), jnp.full(T, ss["Z"]))
    H_K, H_Z = (np.asarray(J) for J in jax.jacfwd(target, argnums=(0, 1))(*base))
    G_K = -np.linalg.solve(H_K, H_Z)
    assert np.max(np.abs(linear.H_U() - H_K)) < 1e-9 * np.max(np.abs(H_K))
    assert np.max(np.abs(linear.jacobian("K", "Z") - G_K)) < 1e-8 * np.max(np.abs(G_K))
    # a variable downstream of K: r = F_K(K(-1), Z) − δ
    dZ = ar1_shock(0.01, 0.8, T)
    dK = G_K @ dZ
    alpha, K, Z = ss["alpha"], ss["K"], ss["Z"]
    dr = (
        alpha * K ** (alpha - 1) * dZ
        + alpha * (alpha - 1) * Z * K ** (alpha - 2) * np.r_[0, dK[:-1]]
    )
    assert np.allclose(linear.irf({"Z": dZ})["r"], dr, rtol=0, atol=1e-12)


def test_several_shocks_at_once_add_up(ks):
    model, ss, linear = ks
    shocks = {"Z": ar1_shock(0.01, 0.8, T), "beta": ar1_shock(-1e-4, 0.8, T)}
    irf = linear.irf(shocks)
    assert set(irf.responses) == {"Z", "beta", "all"}
    for name in ("K", "C", "r"):
        summed = irf.responses["Z"][name] + irf.responses["beta"][name]
        np.testing.assert_allclose(irf.responses["all"][name], summed, rtol=0, atol=1e-14)
    # an impatience shock: households save less, so capital falls
    assert irf.responses["beta"]["K"][5] < 0 < irf.responses["beta"]["C"][0]


def test_irf_dataset_labels_deviations(ks):
    _, ss, linear = ks
    ds = linear.irf({"Z": ar1_shock(0.01, 0.8, T)}).to_xarray(percent=["K", "Y"])
    assert ds["K"].dims == ("shock", "time") and list(ds["shock"].values) == ["Z"]
    assert ds["K"].attrs["deviation"] == "percent" and ds["r"].attrs["deviation"] == "absolute"
    assert ds["K"].attrs["steady_state"] == pytest.approx(ss["K"])
    assert ds["shock_path"].sel(shock="Z").values[0] == pytest.approx(0.01)
    assert ds.attrs["value_beta"] == pytest.approx(ss["beta"])


# --- block Jacobians and their banded form ---------------------------------------------------


def test_block_jacobian_matches_finite_differences(ks):
    _, ss, linear = ks
    J = block_jacobian(mkt_clearing, linear.values, ["K", "A"], 8)
    # I = K - (1 - δ) K(-1): identity on the diagonal, −(1 − δ) just below it
    expected = np.eye(8) - (1 - ss["delta"]) * np.eye(8, k=-1)
    np.testing.assert_allclose(J["I"]["K"], expected, atol=1e-14)
    np.testing.assert_allclose(J["asset_mkt"]["A"], np.eye(8), atol=1e-14)
    steady = {k: linear.values[k] for k in firm.inputs}
    J = block_jacobian(firm, linear.values, ["K"], 8)["r"]["K"]
    h = 1e-6
    bump = np.zeros(8)
    bump[3] = h
    up = firm.paths({"K": steady["K"] + bump}, steady)["r"]
    down = firm.paths({"K": steady["K"] - bump}, steady)["r"]
    np.testing.assert_allclose(J[:, 3], (up - down) / (2 * h), atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(3, 12),
    st.lists(st.integers(-3, 3), min_size=1, max_size=4, unique=True),
    st.integers(0, 2**31 - 1),
)
def test_banded_products_equal_dense(T, shifts, seed):
    rng = np.random.default_rng(seed)
    shifts = [k for k in shifts if abs(k) < T] or [0]
    J = sum(np.diag(rng.normal(size=T - abs(k)), k) for k in shifts)
    banded = _Banded.from_dense(J)
    M = rng.normal(size=(T, T))
    np.testing.assert_allclose(banded @ M, J @ M, atol=1e-12)
    np.testing.assert_allclose(M @ banded, M @ J, atol=1e-12)
    np.testing.assert_allclose(banded.dense(), J, atol=0)


# --- bad input -------------------------------------------------------------------------------


def test_bad_shocks_are_named(ks):
    model, ss, linear = ks
    with pytest.raises(ValueError, match=r"shock 'Z' must have shape \(60,\)"):
        linear.irf({"Z": np.zeros(10)})
    bad = ar1_shock(0.01, 0.8, T)
    bad[4] = np.nan
    with pytest.raises(ValueError, match="shock 'Z' is not finite at date 4"):
        linear.irf({"Z": bad})
    with pytest.raises(ValueError, match="shock 'G' is not an exogenous input"):
        linear.irf({"G": np.zeros(T)})
    with pytest.raises(ValueError, match="shock 'tax' is not an input of model"):
        transition(model, ss, ["K"], ["asset_mkt"], {"tax": np.zeros(T)}, T=T, linear=linear)
    with pytest.warns(UserWarning, match="has not died out by T=60: its last value"):
        linear.irf({"Z": ar1_shock(0.01, 0.99, T)})
    with pytest.raises(ValueError, match=r"rho \(the shock's persistence\) must be in"):
        ar1_shock(0.01, 1.0, T)


def test_bad_roles_and_steady_states_are_named(ks):
    model, ss, linear = ks
    with pytest.raises(ValueError, match="unknown 'r' is an output of a block"):
        linearize(model, ss, ["r"], ["asset_mkt"], ["Z"], T)
    with pytest.raises(ValueError, match="target 'market' is produced by no block"):
        linearize(model, ss, ["K"], ["market"], ["Z"], T)
    with pytest.raises(ValueError, match="as many targets as unknowns"):
        linearize(model, ss, ["K", "L"], ["asset_mkt"], ["Z"], T)
    with pytest.raises(ValueError, match="at least 2"):
        linearize(model, ss, ["K"], ["asset_mkt"], ["Z"], 1)

    @simple_block
    def other_market(A, K):
        asset_mkt = A - 1.1 * K
        return asset_mkt

    other = Model(model.household, [firm, other_market])
    with pytest.raises(ValueError, match="block 'other_market' gives asset_mkt = -0.31"):
        linearize(other, ss, ["K"], ["asset_mkt"], ["Z"], T)

    @simple_block
    def excess_saving(A, K):
        excess = A - 1.1 * K
        return excess

    other = Model(model.household, [firm, excess_saving])
    with pytest.raises(ValueError, match="target 'excess' is -0.31.* at the steady state, not 0"):
        linearize(other, ss, ["K"], ["excess"], ["Z"], T)

    @simple_block
    def aside(Z):
        zero = 0 * Z
        return zero

    loose = Model(model.household, [firm, mkt_clearing, aside])
    with pytest.raises(ValueError, match="target 'zero' does not depend on any unknown"):
        linearize(loose, ss, ["K", "L"], ["asset_mkt", "zero"], ["Z"], T)

    @simple_block
    def twice(asset_mkt):
        double = 2 * asset_mkt
        return double

    again = Model(model.household, [firm, mkt_clearing, twice])
    with pytest.raises(ValueError, match="H_U, .* is singular"):
        linearize(again, ss, ["K", "L"], ["asset_mkt", "double"], ["Z"], T)


def test_newton_that_does_not_converge_names_the_target(ks):
    model, ss, linear = ks
    shock = {"Z": ar1_shock(0.05, 0.8, T)}
    with pytest.raises(TransitionError, match="target 'asset_mkt' is off by .* at date"):
        transition(model, ss, ["K"], ["asset_mkt"], shock, T=T, linear=linear, max_iter=1)
    assert issubclass(TransitionError, ValueError)
    seen = []
    transition(
        model,
        ss,
        ["K"],
        ["asset_mkt"],
        shock,
        T=T,
        linear=linear,
        progress=lambda i, r: seen.append(r),
    )
    assert seen[0] > seen[-1] and len(seen) >= 2
