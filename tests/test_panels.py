"""Simulated household panels: drawn from the model's kernel, reproducible, on disk."""

from __future__ import annotations

import dataclasses
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import hank_mfg  # noqa: F401  (float64)
from hank_mfg import panels as P
from hank_mfg.calibration import aiyagari_1994
from hank_mfg.core import constant_policy
from hank_mfg.models import aiyagari
from hank_mfg.models.sequence_models import fiscal_transfers
from hank_mfg.solvers.sequence import ar1_shock, transition
from hank_mfg.solvers.solution import Solution
from hank_mfg.solvers.steady_state import steady_state

N, T, SEED = 2000, 50, 7
#: sampling-error multiple every moment must fall within (a test at 5 standard errors fails
#: by chance with probability ~6e-7 per moment)
Z = 5.0


@pytest.fixture(scope="module")
def spec():
    return fiscal_transfers(n_income=3, n_wealth=40, wealth_max=50.0)


@pytest.fixture(scope="module")
def steady(spec):
    return steady_state(*spec.steady)


@pytest.fixture(scope="module")
def panel(steady):
    return P.simulate_panel(steady, N, T, SEED)


def _within(sample_mean, expected, sd, n, what):
    se = sd / np.sqrt(n)
    assert abs(sample_mean - expected) <= Z * se + 1e-12, (what, sample_mean, expected, se)


def _check_cross_section(ds, t, mu, grid):
    """Income shares, the mass at the borrowing limit and mean wealth at date ``t`` against the
    distribution ``mu`` [n_wealth, n_income], each within Z standard errors of N draws."""
    n = ds.sizes["household"]
    income = ds["income_index"].isel(time=t).values
    for e, p in enumerate(mu.sum(axis=0)):
        _within(np.mean(income == e), p, np.sqrt(p * (1 - p)), n, f"income {e} at {t}")
    p0 = mu[0].sum()
    at_limit = ds["wealth_index"].isel(time=t).values == 0
    _within(at_limit.mean(), p0, np.sqrt(p0 * (1 - p0)), n, f"at the limit at {t}")
    marginal = mu.sum(axis=1)
    mean = np.sum(marginal * grid)
    sd = np.sqrt(np.sum(marginal * (grid - mean) ** 2))
    _within(ds["wealth"].isel(time=t).values.mean(), mean, sd, n, f"mean wealth at {t}")


def test_cross_section_is_the_stationary_distribution(panel, steady):
    block = steady.model.household
    mu = steady.household.mu
    for t in (0, 1, T // 2, T - 1):
        _check_cross_section(panel, t, mu, block.wealth_grid)
    assert panel.sizes == {"household": N, "time": T}
    wealth = panel["wealth"].values
    assert np.all(np.isin(wealth, block.wealth_grid)), "wealth is always a grid point"
    np.testing.assert_array_equal(wealth, block.wealth_grid[panel["wealth_index"].values])


def test_cross_section_converges_to_mu_from_a_point_mass(steady):
    """From everyone at the borrowing limit in the middle income state: at each date the
    panel's cross-section is the exact pushforward's (to sampling error), and that approaches
    mu."""
    block = steady.model.household
    start = np.zeros((block.n_wealth, block.n_income))
    start[0, 1] = 1.0
    ds = P.simulate_panel(steady, N, T, SEED, initial=start)
    assert np.all(ds["wealth_index"].isel(time=0).values == 0)
    assert np.all(ds["income_index"].isel(time=0).values == 1)
    kernel = block.kernel()
    share = block.savings_share(jnp.asarray(steady.household.policy.savings))
    mu = jnp.asarray(start.ravel())
    distances = []
    for t in range(T):
        if t in (1, 5, T // 2, T - 1):
            _check_cross_section(ds, t, np.asarray(mu).reshape(start.shape), block.wealth_grid)
        distances.append(0.5 * float(np.abs(np.asarray(mu) - steady.household.mu.ravel()).sum()))
        mu = kernel.forward(mu, share)
    assert distances[0] > 0.9 and distances[-1] < 0.5 * distances[0]
    assert np.all(np.diff(distances[5:]) < 0), "the exact distribution approaches mu"


def test_variables_are_the_policy_at_each_households_state(panel, steady):
    block = steady.model.household
    p = steady.household.policy
    wi, ei = panel["wealth_index"].values, panel["income_index"].values
    np.testing.assert_array_equal(panel["consumption"].values, p.consumption[wi, ei])
    np.testing.assert_array_equal(panel["savings"].values, p.savings[wi, ei])
    np.testing.assert_array_equal(panel["hours"].values, p.hours[wi, ei])
    np.testing.assert_array_equal(panel["productivity"].values, block.productivity[ei])
    # the budget: c + a' = (1 + r) a + income, income = (1 - tau) w e + transfers
    r, w, tau = steady["r"], steady["w"], steady["tau"]
    cash = (1 + r) * panel["wealth"].values + panel["income"].values
    np.testing.assert_allclose(panel["consumption"] + panel["savings"], cash, atol=1e-12)
    e = panel["productivity"].values
    np.testing.assert_allclose(panel["labour_income"], (1 - tau) * w * e, rtol=1e-14)
    np.testing.assert_allclose(panel["transfers"], steady["transfers"], rtol=1e-14)
    assert panel["consumption"].attrs["units"] == "consumption good"
    assert "long_name" in panel["savings"].attrs
    assert panel.attrs["value_beta"] == steady["beta"] and panel.attrs["seed"] == SEED
    np.testing.assert_array_equal(panel["r"].values, r)


def test_the_lottery_and_the_income_chain(panel, steady):
    """Next wealth is the chosen savings on average (the lottery's mean), and income moves by
    Pi (transition frequencies within sampling error)."""
    grid = steady.model.household.wealth_grid
    savings = np.clip(panel["savings"].values[:, :-1], grid[0], grid[-1])
    gap = (panel["wealth"].values[:, 1:] - savings).ravel()
    _within(gap.mean(), 0.0, gap.std(), gap.size, "lottery mean")
    e0, e1 = panel["income_index"].values[:, :-1].ravel(), panel["income_index"].values[:, 1:]
    e1 = e1.ravel()
    Pi = steady.model.household.Pi
    for i in range(Pi.shape[0]):
        n_i = np.sum(e0 == i)
        for j in range(Pi.shape[1]):
            p = Pi[i, j]
            _within(np.mean(e1[e0 == i] == j), p, np.sqrt(p * (1 - p)), n_i, f"Pi[{i},{j}]")


def test_reproducible_and_identical_in_chunks(panel, steady, monkeypatch, tmp_path):
    again = P.simulate_panel(steady, N, T, SEED)
    xr.testing.assert_equal(panel, again)
    other = P.simulate_panel(steady, N, T, SEED + 1)
    assert not np.array_equal(other["wealth_index"].values, panel["wealth_index"].values)
    # a JAX key gives the panel of the same seed
    xr.testing.assert_equal(P.simulate_panel(steady, N, T, jax.random.key(SEED)), panel)
    # the first households of a smaller panel are the same households
    head = P.simulate_panel(steady, 300, T, SEED)
    xr.testing.assert_equal(head, panel.isel(household=slice(0, 300)))
    # compiled in pieces of 128 households: the same numbers
    monkeypatch.setattr(P, "_SIM_CHUNK", 128)
    xr.testing.assert_equal(P.simulate_panel(steady, N, T, SEED), panel)
    monkeypatch.undo()
    # written in chunks of 300 households (not a divisor of N), opened lazily
    path = P.write_panel(steady, tmp_path / "panel.nc", N, T, SEED, chunk_households=300)
    with P.open_panel(path) as lazy:
        assert not lazy["consumption"].variable._in_memory, "opened lazily"
        np.testing.assert_array_equal(
            lazy["consumption"][1234:1240].values, panel["consumption"][1234:1240].values
        )
        xr.testing.assert_equal(lazy.load(), panel)
        assert lazy["wealth"].encoding["chunksizes"] == (300, T)
        assert P._file_chunks(10**6, 200, 8) == (5242, 200), "HDF5 chunks of about 8 MB"
        assert lazy.attrs["chunk_households"] == 300
        for name in ("model", "source", "seed", "value_beta", "value_tau"):
            assert lazy.attrs[name] == panel.attrs[name]
        for name in panel.variables:
            assert lazy[name].attrs == panel[name].attrs, name
            assert lazy[name].dtype == panel[name].dtype, name


def test_netcdf_round_trip(panel, tmp_path):
    path = P.to_netcdf(panel, tmp_path / "panel.nc")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir()), "no temporary file left"
    with P.open_panel(path) as ds:
        xr.testing.assert_identical(ds.load(), panel)
    with pytest.raises(ValueError, match="not a panel"):
        P.to_netcdf(xr.Dataset(), tmp_path / "other.nc")
    with pytest.raises(ValueError, match="no panel"):
        P.open_panel(tmp_path / "missing.nc")


def test_zarr_store_or_a_clear_error(panel, steady, tmp_path):
    store = tmp_path / "panel.zarr"
    if importlib.util.find_spec("zarr") is None or importlib.util.find_spec("dask") is None:
        if importlib.util.find_spec("zarr") is None:
            with pytest.raises(ModuleNotFoundError, match="'zarr'.*NetCDF"):
                P.write_panel(steady, store, N, T, SEED, chunk_households=300)
            assert not store.exists()
        pytest.skip("zarr and dask are not both installed: the zarr store is not tested")
    P.write_panel(steady, store, N, T, SEED, chunk_households=300)
    lazy = P.open_panel(store)
    assert lazy["consumption"].chunks[0][0] == 300, "dask chunks of the store's households"
    xr.testing.assert_equal(lazy.load(), panel)
    # writing again replaces the store
    P.write_panel(steady, store, 500, T, SEED, chunk_households=200)
    xr.testing.assert_equal(P.open_panel(store).load(), panel.isel(household=slice(0, 500)))


def test_netcdf_opened_with_dask_chunks_or_a_clear_error(panel, steady, tmp_path):
    path = P.write_panel(steady, tmp_path / "panel.nc", 700, T, SEED, chunk_households=300)
    if importlib.util.find_spec("dask") is None:
        with pytest.raises(ModuleNotFoundError, match="'dask'"):
            P.open_panel(path, chunks={"household": 200})
        return
    with P.open_panel(path, chunks={"household": 300}) as lazy:
        assert lazy["consumption"].chunks[0] == (300, 300, 100)
        xr.testing.assert_equal(lazy.load(), panel.isel(household=slice(0, 700)))


def test_transition_panel_follows_the_path(spec, steady):
    horizon = 40
    path = transition(
        spec.model,
        steady,
        spec.unknowns,
        spec.targets,
        shocks={"Z": ar1_shock(0.02, 0.8, 40)},
        T=horizon,
    )
    from hank_mfg.solvers.distributional import household_path

    hh = household_path(spec.model, path, steady)
    source = P.transition_policy(spec.model, path, steady, household=hh)
    ds = P.simulate_panel(source, N, horizon, SEED)
    block = spec.model.household
    t_index = np.arange(horizon)[None, :]
    wi, ei = ds["wealth_index"].values, ds["income_index"].values
    np.testing.assert_array_equal(ds["consumption"].values, hh.consumption[t_index, wi, ei])
    np.testing.assert_array_equal(ds["r"].values, path["r"])
    for t in (0, 1, horizon // 2, horizon - 1):
        _check_cross_section(ds, t, hh.mu[t], block.wealth_grid)
    # the budget at each date's prices
    cash = (1 + path["r"][None, :]) * ds["wealth"].values + ds["income"].values
    np.testing.assert_allclose(ds["consumption"] + ds["savings"], cash, atol=1e-11)
    tau, w = steady["tau"], path["w"][None, :]
    np.testing.assert_allclose(ds["labour_income"], (1 - tau) * w * ds["productivity"], rtol=1e-13)
    np.testing.assert_allclose(ds["transfers"], np.broadcast_to(path["transfers"], wi.shape))
    with pytest.raises(ValueError, match="n_periods"):
        P.simulate_panel(source, N, horizon + 1, SEED)


def test_global_solution_panel_follows_the_mean_field(tmp_path):
    """A household game's policy along a sampled aggregate path: the cross-section is the
    exact mean field's at each date."""
    cal = aiyagari_1994(rho=0.9, sigma=0.2, crra=3.0, n_wealth=30, n_income=3, wealth_max=40.0)
    game = aiyagari(cal, horizon=8)
    solution = Solution(game, "constant", constant_policy, jnp.full(game.n_states, 0.4))
    source = P.solution_policy(solution, 3)
    ds = P.simulate_panel(source, N, 8, SEED)
    from hank_mfg.core import rollout

    path = rollout(game, constant_policy, solution.params, jax.random.key(3), 1)
    grid = game.household_grid()["wealth"]
    for t in (0, 3, 7):
        mu = np.asarray(path.agg.mu[0, t]).reshape(len(grid), -1)
        _check_cross_section(ds, t, mu, np.asarray(grid))
        agg = jax.tree_util.tree_map(lambda x, t=t: x[0, t], path.agg)
        c = np.asarray(game.household_policy(agg, solution.params)["consumption"])
        states = ds["wealth_index"].values[:, t] * mu.shape[1] + ds["income_index"].values[:, t]
        np.testing.assert_allclose(ds["consumption"].values[:, t], c[states], rtol=1e-14)
    assert ds.attrs["source"] == "solution:constant"


def test_memory_check_names_n_t_and_the_estimate(steady):
    with pytest.raises(
        ValueError, match=r"N=1000000 households x T=100000 periods.*GB.*write_panel"
    ):
        P.simulate_panel(steady, 10**6, 10**5, 0)
    need = P.panel_memory_bytes(steady, 100, 10)
    assert need == 100 * 10 * (8 * 8 + 2 + P._WORK_BYTES)
    with pytest.raises(ValueError, match="N=100 households x T=10"):
        P.simulate_panel(steady, 100, 10, 0, max_memory_bytes=need - 1)
    assert P.simulate_panel(steady, 100, 10, 0, max_memory_bytes=need).sizes["household"] == 100


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_households": 0}, "n_households"),
        ({"n_households": 2.5}, "n_households"),
        ({"n_households": True}, "n_households"),
        ({"n_periods": 0}, "n_periods"),
        ({"n_periods": -3}, "n_periods"),
        ({"key": -1}, "key"),
        ({"key": "seed"}, "key"),
        ({"initial": np.ones(7)}, "initial"),
        ({"initial": np.full(10, 999)}, "initial"),
    ],
)
def test_bad_inputs_name_the_parameter(steady, kwargs, match):
    args = {"n_households": 10, "n_periods": 5, "key": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        P.simulate_panel(steady, args.pop("n_households"), args.pop("n_periods"), **args)


def test_a_policy_of_the_wrong_shape_is_named(steady, tmp_path):
    p = steady.household.policy
    wrong = dataclasses.replace(p, consumption=p.consumption[:-1])
    bad = dataclasses.replace(steady, household=dataclasses.replace(steady.household, policy=wrong))
    with pytest.raises(ValueError, match="consumption must have shape"):
        P.simulate_panel(bad, 10, 5, 0)
    source = P.steady_state_policy(steady)
    with pytest.raises(ValueError, match="savings must have shape"):
        dataclasses.replace(source, variables={**source.variables, "savings": p.savings})
    with pytest.raises(ValueError, match="share must have shape"):
        dataclasses.replace(source, share=source.share[:, :-1])
    with pytest.raises(ValueError, match="source must be"):
        P.simulate_panel(p, 10, 5, 0)
    with pytest.raises(ValueError, match="chunk_households"):
        P.write_panel(steady, tmp_path / "x.nc", 10, 5, 0, chunk_households=0)
    with pytest.raises(ValueError, match="engine"):
        P.write_panel(steady, tmp_path / "x.nc", 10, 5, 0, engine="csv")
    assert not (tmp_path / "x.nc").exists()
