"""Results: Datasets, NetCDF round trips, atomic writes, statistics, figures, command line."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import jax
import numpy as np
import pytest
import xarray as xr

from hank_mfg import plotting, results
from hank_mfg.calibration import aiyagari_1994, krusell_smith_1998, krusell_smith_employment
from hank_mfg.cli import main
from hank_mfg.models import LinearQuadratic, aiyagari, krusell_smith
from hank_mfg.solvers.solution import Solution
from hank_mfg.solvers.spg import SPGConfig, spg
from hank_mfg.solvers.stationary import solve_stationary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def solutions():
    egm = solve_stationary(aiyagari(aiyagari_1994(n_wealth=40), horizon=4))
    cfg = SPGConfig(
        iterations=2, n_samples=2, hidden=(8,), embedding=4, eval_every=1, eval_samples=2
    )
    toy = spg(LinearQuadratic(n_states=15, horizon=5, common_noise=True), cfg)
    household = spg(aiyagari(aiyagari_1994(n_wealth=30), horizon=4), cfg)
    return {"egm": egm, "spg_toy": toy, "spg_household": household}


@pytest.mark.parametrize("name", ["egm", "spg_toy", "spg_household"])
def test_netcdf_round_trip_is_exact(solutions, name, tmp_path):
    sol = solutions[name]
    ds = sol.to_xarray()
    for var in ds.variables.values():
        assert "units" in var.attrs and "long_name" in var.attrs, var.name
    assert ds.attrs["solver"] == sol.solver
    assert ds.attrs["hank_mfg_format"] == results.FORMAT_VERSION
    unnamed = [d for d in ds.dims if re.search(r"_dim\d+$", str(d))]
    assert not unnamed, unnamed
    path = tmp_path / f"{name}.nc"
    sol.to_netcdf(path)  # the Dataset made anew: its time of creation (to the second) may differ
    back = results.open_solution(path)
    created = [datetime.fromisoformat(d.attrs["created"]) for d in (ds, back)]
    assert timedelta(0) <= created[1] - created[0] < timedelta(minutes=5)
    assert back.identical(ds.assign_attrs(created=back.attrs["created"]))
    if name != "spg_toy":
        assert set(back["distribution"].dims) == {"sample", "time", "wealth", "income"}
        assert "consumption" in back and "r" in back and "param_household_beta" in back.attrs
        assert back.attrs["param_household_income_rho"] == 0.6
        assert back.attrs["param_household_income_unconditional_sd"] == pytest.approx(0.2)
        assert back.attrs["calibration"] == "aiyagari_1994"
    else:
        assert set(back["distribution"].dims) == {"sample", "time", "state"}
    if name.startswith("spg"):
        assert "exploitability_history" in back and back.sizes["iteration"] == 3


def test_interrupted_write_leaves_no_file(solutions, tmp_path, monkeypatch):
    path = tmp_path / "out.nc"
    path.write_bytes(b"previous results")
    original = xr.Dataset.to_netcdf

    def broken(self, target, *args, **kwargs):
        original(self, target, *args, **kwargs)
        with open(target, "r+b") as f:
            f.truncate(100)
        raise KeyboardInterrupt("interrupted mid-write")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(KeyboardInterrupt):
        solutions["egm"].to_netcdf(path)
    assert path.read_bytes() == b"previous results"
    assert sorted(os.listdir(tmp_path)) == ["out.nc"]


def test_a_household_file_without_prices_is_refused(solutions, tmp_path):
    ds = solutions["egm"].to_xarray().drop_vars("r")
    with pytest.raises(ValueError, match=r"missing r\['sample', 'time'\]"):
        results.to_netcdf(ds, tmp_path / "never.nc")
    path = tmp_path / "no_r.nc"
    ds.assign_attrs({results.CHECKSUM_ATTR: results.data_checksum(ds)}).to_netcdf(path)
    with pytest.raises(ValueError, match=r"no_r.nc.*missing r\['sample', 'time'\]"):
        results.open_solution(path)


def _unsolved(game):
    """The Dataset of a game without a solution: its attributes and model arrays."""
    return Solution(game=game, solver="none", policy=None, params=None).to_xarray()


def test_krusell_smith_attributes_hold_the_whole_calibration():
    def ks(duration_z):
        emp = krusell_smith_employment(duration_z=duration_z)
        cal = dataclasses.replace(krusell_smith_1998(n_wealth=12), employment=emp, tfp=None)
        return _unsolved(krusell_smith(cal, horizon=3))

    eight, sixteen = ks(8.0), ks(16.0)
    differ = {
        k
        for k in eight.attrs
        if not np.array_equal(np.asarray(eight.attrs[k]), np.asarray(sixteen.attrs.get(k)))
    }
    assert {"param_employment_Pi_z", "param_employment_Pi_joint"} <= differ
    np.testing.assert_allclose(eight.attrs["param_employment_duration_z"], [8.0, 8.0])
    np.testing.assert_allclose(sixteen.attrs["param_employment_duration_z"], [16.0, 16.0])
    a = eight.attrs
    np.testing.assert_allclose(a["param_employment_z_levels"], [1.01, 0.99])
    np.testing.assert_allclose(a["param_employment_unemployment"], [0.04, 0.10])
    assert a["param_employment_duration_unemp_good"] == pytest.approx(1.5)
    assert a["param_employment_duration_unemp_bad"] == pytest.approx(2.5)
    assert np.asarray(json.loads(a["param_employment_Pi_joint"])).shape == (4, 4)
    assert a["param_employment_income_labour_endowment"] == 0.3271
    assert a["param_employment_income_unemployment_income_share"] == 0.15
    assert a["param_household_n_wealth"] == 12 and a["param_firm_delta"] == 0.025
    np.testing.assert_allclose(eight["tfp_levels"], [1.01, 0.99])
    assert eight["tfp_transition"].dims == ("tfp_state", "tfp_state_next")
    assert eight["income_transition"].dims == (
        "tfp_state",
        "tfp_state_next",
        "income",
        "income_next",
    )
    np.testing.assert_allclose(sixteen["tfp_transition"].values[0, 0], 1 - 1 / 16)


def test_aiyagari_attributes_hold_the_income_process():
    a = _unsolved(aiyagari(aiyagari_1994(rho=0.9, sigma=0.3, n_wealth=10), horizon=3)).attrs
    assert a["param_household_income_method"] == "tauchen"
    assert a["param_household_income_rho"] == 0.9
    assert a["param_household_income_unconditional_sd"] == pytest.approx(0.3, rel=1e-12)
    assert a["param_household_income_sigma"] == pytest.approx(0.3 * np.sqrt(1 - 0.81))
    assert len(a["param_household_income_grid"]) == 7
    assert np.asarray(json.loads(a["param_household_income_Pi"])).shape == (7, 7)


def test_a_custom_calibration_name_survives():
    mine = dataclasses.replace(aiyagari_1994(n_wealth=10), name="my_economy")
    a = _unsolved(aiyagari(mine, horizon=3)).attrs
    assert a["model"] == "aiyagari"
    assert a["calibration"] == a["param_name"] == "my_economy"
    ks = dataclasses.replace(krusell_smith_1998(n_wealth=12), name="my_ks")
    a = _unsolved(krusell_smith(ks, horizon=3)).attrs
    assert a["model"] == "krusell_smith"
    assert a["calibration"] == a["param_name"] == "my_ks"


def test_foreign_and_corrupt_files_are_rejected(tmp_path):
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(foreign, engine="netcdf4")
    with pytest.raises(ValueError, match="not a hank_mfg results file"):
        results.open_solution(foreign)
    corrupt = tmp_path / "corrupt.nc"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(ValueError, match="not a readable NetCDF file"):
        results.open_solution(corrupt)
    with pytest.raises(ValueError, match="no results file"):
        results.open_solution(tmp_path / "missing.nc")


def test_plain_xarray_and_netcdf4_read_our_files(solutions, tmp_path):
    path = tmp_path / "plain.nc"
    solutions["egm"].to_netcdf(path)
    script = textwrap.dedent(
        f"""
        import sys, xarray, netCDF4
        ds = xarray.open_dataset({str(path)!r})
        assert ds.attrs["solver"] == "egm" and "distribution" in ds
        nc = netCDF4.Dataset({str(path)!r})
        assert "distribution" in nc.variables
        assert not any(m.startswith("hank_mfg") for m in sys.modules)
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_statistics_match_hand_computations():
    wealth = np.array([0.0, 1.0, 2.0, 3.0])
    equal = np.array([0.0, 0.0, 1.0, 0.0])
    assert results.gini(wealth, equal) == pytest.approx(0.0, abs=1e-12)
    # two equal groups, one holding nothing: Gini 1/2, top 50% hold everything
    half = np.array([0.5, 0.0, 0.5, 0.0])
    assert results.gini(wealth, half) == pytest.approx(0.5)
    assert results.top_wealth_share(wealth, half, 0.5) == pytest.approx(1.0)
    # uniform on 0, 1, 2, 3: Lorenz points (k/4, cumulative wealth / 6)
    uniform = np.full(4, 0.25)
    pop, held = results.lorenz_curve(wealth, uniform)
    np.testing.assert_allclose(pop, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(held, [0, 0, 1 / 6, 3 / 6, 1.0])
    assert results.gini(wealth, uniform) == pytest.approx(
        1 - 2 * np.sum(0.25 * (held[1:] + held[:-1]) / 2)
    )
    assert results.top_wealth_share(wealth, uniform, 0.25) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="top must lie in"):
        results.top_wealth_share(wealth, uniform, 0.0)


def test_mpc_and_saving_rate(solutions):
    ds = solutions["egm"].to_xarray()
    mpc = results.marginal_propensity_to_consume(ds)
    assert mpc.dims == ("wealth", "income")
    assert float(mpc.isel(wealth=slice(5, None)).min()) > 0 and float(mpc.max()) < 1.2
    rate = results.aggregate_saving_rate(ds)
    np.testing.assert_allclose(rate.values, 0.0, atol=1e-6)  # stationary: no net saving


def test_every_figure_renders(solutions, tmp_path):
    datasets = {k: s.to_xarray() for k, s in solutions.items()}
    figs = {}
    for name, ds in datasets.items():
        for stem, fig in plotting.standard_figures(ds).items():
            figs[f"{name}_{stem}"] = fig
    figs["comparison"] = plotting.plot_exploitability(datasets, x="iteration")
    for path in plotting.save_figures(figs, tmp_path):  # saves, then closes every figure
        assert os.path.getsize(path) > 1000
    assert {"egm_lorenz", "egm_consumption_policy", "spg_toy_aggregates"} <= set(figs)


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "nosuch", "--solver", "egm"],
        ["solve", "aiyagari", "--solver", "egm", "--preset", "bad"],
        ["solve", "aiyagari", "--solver", "magic"],
        ["solve", "beach_bar", "--solver", "egm"],
        ["solve", "aiyagari", "--solver", "egm", "--set", "foo=1"],
        ["solve", "aiyagari", "--solver", "egm", "--set", "crra=-1"],
        ["solve", "aiyagari", "--solver", "spg", "--set", "learning_rate=-1"],
        ["solve", "aiyagari", "--solver", "spg", "--iterations", "0"],
        ["solve", "aiyagari", "--solver", "egm", "--set", "nokey"],
    ],
)
def test_cli_errors_exit_2_without_output(argv, tmp_path, capsys):
    out = tmp_path / "out.nc"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hank-mfg: error:")
    assert not out.exists()


#: The command-line solves inspected below: ``hank-mfg solve`` arguments, but ``--out``.
CLI_SOLVES = {
    "spg": ["solve", "linear_quadratic", "--solver", "spg", "--iterations", "1"]
    + ["--set", "n_states=15", "--set", "horizon=4", "--set", "hidden=8", "--set", "eval_every=1"]
    + ["--quiet"],
    "ippo": ["solve", "linear_quadratic", "--solver", "ippo", "--iterations", "2"]
    + ["--set", "n_states=11", "--set", "horizon=3", "--set", "n_agents=32"]
    + ["--set", "eval_every=2", "--set", "hidden=8", "--set", "embedding=4"]
    + ["--set", "rank=4", "--set", "n_samples=1", "--set", "eval_samples=1", "--quiet"],
}


def fresh_interpreters(items, width):
    """Each solve of :data:`CLI_SOLVES` in a fresh interpreter, as a user runs it, writing
    into a new folder: per solve, its exit code, errors and results file."""
    folder = Path(tempfile.mkdtemp(prefix="cli"))
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    solved = {}
    for name, argv in CLI_SOLVES.items():
        out = folder / f"{name}.nc"
        proc = subprocess.run(
            [sys.executable, "-m", "hank_mfg", *argv, "--out", str(out)],
            env={**os.environ, "PYTHONPATH": path},
            capture_output=True,
            text=True,
            timeout=600,
        )
        solved[name] = (proc.returncode, proc.stderr, out)
    return solved


@pytest.fixture(scope="module")
def cli_solves(fresh_runs):
    yield fresh_runs
    shutil.rmtree(next(iter(fresh_runs.values()))[2].parent, ignore_errors=True)


def test_cli_solve_evaluate_plot(cli_solves, tmp_path, capsys):
    code, errors, out = cli_solves["spg"]
    assert code == 0 and out.exists(), errors[-4000:]
    assert main(["evaluate", str(out)]) == 0
    assert "exploitability" in capsys.readouterr().out
    assert main(["plot", str(out), "--out", str(tmp_path / "figs")]) == 0
    assert len(list((tmp_path / "figs").glob("*.png"))) >= 3
    assert main(["evaluate", str(tmp_path / "missing.nc")]) == 2


def test_jax_is_float64_here():
    assert jax.config.jax_enable_x64


@pytest.mark.parametrize(
    "argv", [["--iterations", "0"], ["--n-wealth", "5"], ["--eval-paths", "0"]]
)
def test_cli_demo_errors_exit_2_without_output(argv, tmp_path, capsys):
    out = tmp_path / "ks.nc"
    assert main(["demo", *argv, "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hank-mfg: error:")
    assert not out.exists()


def test_cli_solves_with_a_model_free_baseline(cli_solves, tmp_path):
    code, errors, out = cli_solves["ippo"]
    assert code == 0, errors[-4000:]
    assert results.open_solution(out).attrs["solver"] == "ippo"
    bad = ["solve", "aiyagari", "--solver", "momd", "--out", str(tmp_path / "x.nc")]
    assert main(bad) == 2 and not (tmp_path / "x.nc").exists()
