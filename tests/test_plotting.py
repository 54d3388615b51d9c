"""Figures an economist would show: words in titles, rates in percent, wealth densities,
zoomed policies, constant series drawn flat, the Gini, honest bands, the RSPG comparison.

The Datasets are built here with to_xarray's layout (dims, variable names, units), so that
the figures are checked against numbers known by construction and the tests take no solve;
the figures of real solutions are drawn by tests/test_results.py (and, at the demo's size,
by the slow test at the end).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from hank_mfg import plotting, results  # noqa: E402
from hank_mfg.results import _UNITS  # noqa: E402

T = 4  # periods; dates 0..T


def _var(name: str, dims: tuple[str, ...], data) -> xr.Variable:
    units, long_name = _UNITS.get(name, ("1", name))
    return xr.Variable(dims, np.asarray(data, float), {"units": units, "long_name": long_name})


def _geometric_grid(n: int, top: float) -> np.ndarray:
    """From 0 (the borrowing limit) to ``top``, finer at the bottom."""
    return (np.geomspace(1.0, top + 1.0, n) - 1.0).round(12)


def household_dataset(
    model: str = "aiyagari",
    solver: str = "egm",
    n_samples: int = 1,
    r_paths: np.ndarray | None = None,
    n_income: int = 3,
    **extra: float,
) -> xr.Dataset:
    """A household economy's Dataset: on a geometric grid, an exponential density of wealth
    (mean 5) plus 2% of households at the borrowing limit; r constant to round-off unless
    ``r_paths [n_samples, T + 1]`` is given; ``extra`` scalars become variables."""
    wealth = _geometric_grid(40, 200.0)
    edges = np.concatenate([wealth[:1], 0.5 * (wealth[1:] + wealth[:-1]), wealth[-1:]])
    mass = np.exp(-wealth / 5.0) * np.diff(edges)
    mass = 0.98 * mass / mass.sum()
    mass[0] += 0.02
    income = np.linspace(0.5, 1.5, n_income)
    shares = np.linspace(1.0, 2.0, n_income) / np.linspace(1.0, 2.0, n_income).sum()
    mu = np.broadcast_to(mass[:, None] * shares[None, :], (n_samples, T + 1, 40, n_income))
    if r_paths is None:  # stationary: r constant up to round-off that grows along the path
        r_paths = np.broadcast_to(0.038 + 1e-16 * np.arange(T + 1), (n_samples, T + 1))
    r_paths = np.asarray(r_paths, float)
    w_paths = 1.2 + 0.0 * r_paths
    K_paths = 5.7 - 1e-14 * np.arange(T + 1) + 0.0 * r_paths
    m = (1 + r_paths[:, :-1, None, None]) * wealth[None, None, :, None] + w_paths[
        :, :-1, None, None
    ] * income[None, None, None, :]
    savings = np.maximum(0.0, 0.9 * m - 1.0)
    data = {
        "distribution": _var("distribution", ("sample", "time", "wealth", "income"), mu),
        "savings": _var("savings", ("sample", "period", "wealth", "income"), savings),
        "consumption": _var("consumption", ("sample", "period", "wealth", "income"), m - savings),
        "savings_share": _var(
            "savings_share", ("sample", "period", "wealth", "income"), savings / m
        ),
        "r": _var("r", ("sample", "time"), r_paths),
        "w": _var("w", ("sample", "time"), w_paths),
        "K": _var("K", ("sample", "time"), K_paths),
    }
    for key, value in extra.items():
        data[key] = _var(key, (), value)
    coords = {
        "wealth": xr.Variable(
            "wealth", wealth, {"units": "consumption good", "long_name": "wealth"}
        ),
        "income": xr.Variable("income", income, {"units": "wage units", "long_name": "income"}),
        "sample": np.arange(n_samples),
        "time": np.arange(T + 1),
        "period": np.arange(T),
    }
    return xr.Dataset(data, coords=coords, attrs={"model": model, "solver": solver})


def with_history(ds: xr.Dataset, seconds, history) -> xr.Dataset:
    out = ds.copy()
    out = out.assign_coords(iteration=np.arange(len(seconds)))
    out["seconds"] = _var("seconds", ("iteration",), seconds)
    out["exploitability_history"] = _var("exploitability_history", ("iteration",), history)
    return out


@pytest.fixture(scope="module")
def egm():
    return household_dataset(exploitability=-1.8e-15)


@pytest.fixture(scope="module")
def ks_rspg():
    rng = np.random.default_rng(0)
    r = 0.011 + 0.001 * rng.standard_normal((3, T + 1))
    ds = household_dataset("krusell_smith", "rspg", n_samples=3, r_paths=r, n_income=2)
    ds["exploitability"] = _var("exploitability", (), 1.33)
    return with_history(ds, [0.0, 2.0, 4.0, 6.0, 8.0], [9.0, 7.3, 2.4, 1.3, 1.39])


@pytest.fixture(scope="module")
def ks_classical():
    ds = household_dataset("krusell_smith", "krusell-smith", n_samples=3, n_income=2)
    ds["exploitability"] = _var("exploitability", (), 1.3e-3)
    ds.attrs["solve_seconds"] = 5.2
    # its own history has seconds but no exploitability
    return ds.assign_coords(iteration=np.arange(3)).assign(
        seconds=_var("seconds", ("iteration",), [1.0, 2.0, 3.0])
    )


@pytest.fixture(scope="module")
def toy():
    n = 9
    mu = np.full((2, T + 1, n), 1.0 / n)
    data = {
        "distribution": _var("distribution", ("sample", "time", "state"), mu),
        "mean": _var("mean", ("sample", "time"), np.full((2, T + 1), 4.0)),
        "z_bar": _var("z", ("sample", "time"), np.full((2, T + 1), 4.0)),
    }
    coords = {"state": np.arange(n), "sample": [0, 1], "time": np.arange(T + 1)}
    ds = xr.Dataset(data, coords=coords, attrs={"model": "beach_bar", "solver": "spg"})
    return with_history(ds, [0.0, 1.0, 2.0], [3.0, 2.0, 1.5]).assign(
        exploitability=_var("exploitability", (), 1.5)
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig) -> str:
    """Every string drawn on the figure: titles, labels, legends, tick labels."""
    fig.canvas.draw()
    parts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(parts)


def _legend(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


# --- words ---------------------------------------------------------------------------------------


def test_titles_name_model_and_solver_in_words(egm, ks_rspg, ks_classical, toy):
    assert plotting.describe(ks_rspg) == "Krusell-Smith (1998) economy, RSPG"
    assert (
        plotting.describe(ks_classical) == "Krusell-Smith (1998) economy, Krusell-Smith algorithm"
    )
    assert plotting.describe(egm).startswith("Aiyagari (1994) economy")
    odd = egm.assign_attrs(model="my_new_model", solver="my-solver")
    assert plotting.describe(odd) == "My new model, my-solver"  # fallback: readable, not lost
    for ds in (egm, ks_rspg, toy):
        for stem, fig in plotting.standard_figures(ds).items():
            text = _texts(fig)
            assert plotting.describe(ds).split(",")[0] in text, stem
            assert ds.attrs["model"] not in text.replace(" ", ""), stem  # no raw attr name
            plt.close(fig)


def test_rates_in_percent_per_model_period(egm, ks_rspg):
    fig = plotting.plot_prices(ks_rspg, ("r",))
    ax = fig.axes[0]
    mean_line = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == T + 1][0]
    np.testing.assert_allclose(mean_line.get_ydata(), 100 * ks_rspg["r"].mean("sample").values)
    assert "% per quarter" in ax.get_ylabel() and "[1 per period]" not in ax.get_ylabel()
    assert "date [quarters]" in ax.get_xlabel()
    assert "% per year" in plotting.plot_prices(egm, ("r",)).axes[0].get_ylabel()
    unknown = plotting.plot_prices(egm.assign_attrs(model="my_model"), ("r",)).axes[0]
    assert "% per period" in unknown.get_ylabel() and "date [periods]" in unknown.get_xlabel()


# --- constant series, paths, bands ---------------------------------------------------------------


def test_a_constant_series_is_drawn_flat(egm):
    fig = plotting.plot_prices(egm)
    fig.canvas.draw()
    for ax, name in zip(fig.axes, ("r", "w", "K"), strict=True):
        level = float(egm[name].mean()) * (100 if name == "r" else 1)
        assert ax.yaxis.get_major_formatter().get_offset() == "", name  # no "1e-15+3.8e-2"
        lo, hi = ax.get_ylim()
        assert lo < level < hi and hi - lo >= 0.05 * level, name  # round-off does not fill it


def test_no_count_for_one_path_and_no_empty_bands(egm, ks_rspg, ks_classical):
    one = plotting.plot_prices(egm)
    assert "1 paths" not in _texts(one) and "paths" not in one._suptitle.get_text()
    assert not any(isinstance(c, PolyCollection) for ax in one.axes for c in ax.collections)
    several = plotting.plot_prices(ks_rspg, ("r",))
    ax = several.axes[0]
    assert any(isinstance(c, PolyCollection) for c in ax.collections)
    assert _legend(ax) == ["range of the paths", "mean of 3 paths"]
    same = plotting.plot_prices(ks_classical, ("K",))  # three identical paths: nothing to span
    assert not any(isinstance(c, PolyCollection) for c in same.axes[0].collections)
    assert _legend(same.axes[0]) == ["all 3 paths (identical)"]


# --- the wealth distribution ---------------------------------------------------------------------


def test_wealth_density_divides_by_cell_width():
    wealth = np.array([0.0, 1.0, 3.0, 7.0])
    edges, density = plotting.wealth_density(wealth, np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(edges, [0.0, 0.5, 2.0, 5.0, 7.0])
    np.testing.assert_allclose(density, [0.1 / 0.5, 0.2 / 1.5, 0.3 / 3.0, 0.4 / 2.0])
    with pytest.raises(ValueError, match="wealth must be an increasing grid"):
        plotting.wealth_density(np.array([0.0, 0.0, 1.0]), np.ones(3))
    with pytest.raises(ValueError, match="mass must have 4 rows"):
        plotting.wealth_density(wealth, np.ones(3))


def test_distribution_is_a_density_in_wealth_with_the_borrowing_limit(egm):
    wealth = egm["wealth"].values
    mass = egm["distribution"].isel(sample=0, time=-1).sum("income").values
    assert np.any(np.diff(mass[1:]) > 0)  # the geometric grid makes raw mass rise first
    fig = plotting.plot_distribution(egm)
    ax = fig.axes[0]
    total = [p for p in ax.patches if isinstance(p, StepPatch)][0]
    values, edges = total.get_data().values, total.get_data().edges
    np.testing.assert_allclose(values, plotting.wealth_density(wealth, mass)[1])
    np.testing.assert_allclose(edges[[0, -1]], wealth[[0, -1]])  # in wealth, not grid index
    assert np.all(np.diff(values[1:]) < 0)  # the exponential density: no spike at the bottom
    assert ax.get_xscale() == "linear" and "wealth" in ax.get_xlabel()
    limit = [ln for ln in ax.get_lines() if "borrowing limit" in ln.get_label()]
    assert limit and np.all(np.asarray(limit[0].get_xdata()) == wealth[0])
    assert "2% there" in limit[0].get_label()  # the 2% at the limit, by construction
    top = ax.get_xlim()[1]
    assert top < wealth[-1] / 4 and mass[wealth > top].sum() <= 0.005


def test_mean_field_heatmap_in_wealth_density(egm):
    fig = plotting.plot_distribution_over_time(egm)
    ax = fig.axes[0]
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)][0]
    wealth = egm["wealth"].values
    corners = mesh.get_coordinates()  # [n_wealth + 1, n_time + 1, 2]
    np.testing.assert_allclose(corners[:, 0, 1], plotting.wealth_density(wealth, wealth)[0])
    mass = egm["distribution"].isel(sample=0).sum("income").values  # [time, wealth]
    np.testing.assert_allclose(
        np.asarray(mesh.get_array()).reshape(len(wealth), T + 1),
        plotting.wealth_density(wealth, mass.T)[1],
    )
    assert "wealth" in ax.get_ylabel() and "grid point" not in ax.get_ylabel()
    assert any(
        np.all(np.asarray(ln.get_ydata()) == wealth[0]) for ln in ax.get_lines()
    )  # borrowing limit
    lo, hi = ax.get_ylim()
    assert lo < wealth[0] and hi < wealth[-1] / 4


# --- policies ------------------------------------------------------------------------------------


def test_policies_zoom_to_the_households_and_show_the_constraint(egm):
    wealth = egm["wealth"].values
    mass = egm["distribution"].isel(sample=0, time=0).sum("income").values
    fig = plotting.plot_policy(egm, "savings")
    ax = fig.axes[0]
    top = ax.get_xlim()[1]
    assert top < wealth[-1] / 4 and mass[wealth > top].sum() <= 0.005
    diagonal = [ln for ln in ax.get_lines() if "45" in ln.get_label()]
    assert diagonal and np.allclose(diagonal[0].get_xdata(), diagonal[0].get_ydata())
    assert diagonal[0].get_xdata()[-1] >= top
    limit = [ln for ln in ax.get_lines() if ln.get_label() == "borrowing limit"][0]
    assert np.all(np.asarray(limit.get_ydata()) == wealth[0])  # a' >= a_min: a horizontal line
    shown = [ln for ln in ax.get_lines() if ln.get_label() == "0.5"][0]
    assert shown.get_xdata()[-1] >= top and shown.get_xdata()[-2] < top  # lines reach the edge
    assert ax.get_ylim()[1] < wealth[-1] / 2  # y follows the shown range, not the grid's top
    cons = plotting.plot_policy(egm, "consumption").axes[0]
    limit = [ln for ln in cons.get_lines() if ln.get_label() == "borrowing limit"][0]
    assert np.all(np.asarray(limit.get_xdata()) == wealth[0])
    with pytest.raises(ValueError, match="variable 'leisure'"):
        plotting.plot_policy(egm, "leisure")


# --- Lorenz --------------------------------------------------------------------------------------


def test_lorenz_states_gini_and_date(egm):
    g = results.gini(*results.wealth_marginal(egm, -1, 0))
    assert 0.3 < g < 0.8
    fig = plotting.plot_lorenz(egm)
    title = fig.axes[0].get_title()
    assert f"Gini {g:.3f}" in title and f"date {T}" in title


# --- exploitability ------------------------------------------------------------------------------


def test_comparison_draws_rspg_against_the_krusell_smith_level(ks_rspg, ks_classical):
    fig = plotting.plot_comparison(ks_rspg, ks_classical)
    ax = fig.axes[0]
    curve = [ln for ln in ax.get_lines() if "during training" in ln.get_label()][0]
    np.testing.assert_allclose(curve.get_xdata(), ks_rspg["seconds"].values)
    np.testing.assert_allclose(curve.get_ydata(), ks_rspg["exploitability_history"].values)
    level = [ln for ln in ax.get_lines() if ln.get_label().startswith("Krusell-Smith algorithm")]
    assert level and np.all(np.asarray(level[0].get_ydata()) == 1.3e-3)
    assert np.all(np.asarray(level[0].get_xdata()) == [0, 1])  # axhline: across the whole axis
    assert "0.0013 utility" in level[0].get_label() and "5.2 s" in level[0].get_label()
    final = [ln for ln in ax.get_lines() if "final" in ln.get_label()][0]
    assert final.get_xdata()[0] == 8.0 and final.get_ydata()[0] == 1.33
    assert ax.get_yscale() == "log"  # 1.3e-3 .. 9: four decades
    assert "training wall time [s]" in ax.get_xlabel()
    assert "Krusell-Smith (1998) economy" in ax.get_title() and "RSPG" in ax.get_title()
    close = ks_classical.assign(exploitability=_var("exploitability", (), 2.0))
    assert plotting.plot_comparison(ks_rspg, close).axes[0].get_yscale() == "linear"
    by_iteration = plotting.plot_comparison(ks_rspg, ks_classical, x="iteration").axes[0]
    assert by_iteration.get_xlabel() == "training iteration"


def test_comparison_rejects_what_it_cannot_draw(ks_rspg, ks_classical, egm):
    with pytest.raises(ValueError, match="rspg has no variable 'exploitability_history'"):
        plotting.plot_comparison(ks_classical, ks_classical)
    with pytest.raises(ValueError, match="classical has no variable 'exploitability'"):
        plotting.plot_comparison(ks_rspg, ks_rspg.drop_vars("exploitability").drop_vars("r"))
    with pytest.raises(ValueError, match="same model"):
        plotting.plot_comparison(ks_rspg, egm)
    with pytest.raises(ValueError, match="x must be 'seconds' or 'iteration'"):
        plotting.plot_comparison(ks_rspg, ks_classical, x="wall")
    assert "plot_comparison" in plotting.__all__ and "plot_comparison" in plotting.__doc__


def test_consumption_equivalent_beside_utility(ks_rspg, ks_classical):
    rspg = ks_rspg.assign(exploitability_consumption=_var("exploitability_consumption", (), 2.5))
    classical = ks_classical.assign(
        exploitability_consumption=_var("exploitability_consumption", (), 0.004)
    )
    labels = _legend(plotting.plot_comparison(rspg, classical).axes[0])
    assert any("1.33 utility = 2.5% of consumption" in t for t in labels)
    assert any("0.0013 utility = 0.004% of consumption" in t for t in labels)
    labels = _legend(plotting.standard_figures(rspg)["exploitability"].axes[0])
    assert any("2.5% of consumption" in t for t in labels)
    labels = _legend(plotting.plot_comparison(ks_rspg, ks_classical).axes[0])  # absent: fine
    assert labels and not any("consumption" in t for t in labels)


def test_exploitability_of_several_runs(ks_rspg, ks_classical, egm):
    fig = plotting.plot_exploitability({"RSPG": ks_rspg, "KS": ks_classical, "EGM": egm})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    levels = [ln for ln in ax.get_lines() if ln.get_label().startswith(("KS", "EGM"))]
    assert len({(ln.get_color(), ln.get_linestyle()) for ln in levels}) == 2  # told apart
    egm_line = [ln for ln in levels if ln.get_label().startswith("EGM")][0]
    assert egm_line.get_ydata()[0] > 0 and "axis floor" in egm_line.get_label()
    many = plotting.plot_exploitability({f"KS {i}": ks_classical for i in range(20)})
    assert len(many.axes[0].get_lines()) == 20  # line styles repeat rather than run out
    flat = plotting.plot_exploitability({"a": with_history(egm, [0, 1], [1.0, 1.0])})
    assert flat.axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError, match="x must be"):
        plotting.plot_exploitability({"RSPG": ks_rspg}, x="epoch")


# --- every figure, saving and closing ------------------------------------------------------------


def test_standard_figures_of_a_toy_game(toy):
    figs = plotting.standard_figures(toy)
    assert set(figs) == {"distribution", "distribution_over_time", "aggregates", "exploitability"}
    heat = figs["distribution_over_time"].axes[0]
    assert heat.get_ylabel() == "individual state" and "Beach-bar game, SPG" in heat.get_title()
    one_panel = figs["aggregates"]  # its title fits on the figure
    one_panel.canvas.draw()
    box = one_panel._suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= one_panel.bbox.width


def test_save_figures_writes_and_closes(egm, tmp_path):
    figs = plotting.standard_figures(egm)
    paths = plotting.save_figures(figs, tmp_path / "figs", dpi=50)
    assert sorted(p.rsplit("/", 1)[1] for p in paths) == sorted(f"{s}.png" for s in figs)
    assert all((tmp_path / "figs" / f"{s}.png").stat().st_size > 1000 for s in figs)
    assert not any(plt.fignum_exists(f.number) for f in figs.values())
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    more = plotting.standard_figures(egm)
    with pytest.raises(OSError):
        plotting.save_figures(more, blocked)
    assert not any(plt.fignum_exists(f.number) for f in more.values())  # closed all the same
    with pytest.raises(ValueError, match="dpi must be a positive integer"):
        plotting.save_figures({}, tmp_path, dpi=0)


@pytest.mark.slow
def test_demo_figures_of_real_solutions(tmp_path):
    from hank_mfg.workflows import krusell_smith_comparison

    result = krusell_smith_comparison(
        n_wealth=12, horizon=4, iterations=4, eval_paths=2, ks_periods=200
    )
    rspg, classical = result.rspg.to_xarray(), result.classical.to_xarray()
    figs = {"comparison": plotting.plot_comparison(rspg, classical)}
    figs |= {f"rspg_{k}": f for k, f in plotting.standard_figures(rspg).items()}
    figs |= {f"classical_{k}": f for k, f in plotting.standard_figures(classical).items()}
    assert len(plotting.save_figures(figs, tmp_path)) == len(figs)
    assert plt.get_fignums() == []


def test_sequence_space_figures():
    """IRF panels (one line per shock) and group panels from labelled Datasets."""
    import xarray as xr

    from hank_mfg.plotting import plot_group_responses, plot_irf, standard_figures
    from hank_mfg.solvers.sequence import ImpulseResponse

    t = np.arange(30)
    responses = {s: {"K": a * 0.9**t, "r": -a * 0.8**t} for s, a in (("Z", 1.0), ("G", 0.5))}
    paths, steady = {"Z": 0.9**t, "G": 0.8**t}, {"K": 2.0, "r": 0.01}
    irf = ImpulseResponse("toy", responses, paths, steady, 30, "linear")
    ds = irf.to_xarray(percent=["K"])
    fig = plot_irf(ds, ("K", "r", "Y"))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2 and len(panels[0].lines) == 3  # two shocks and the zero line
    assert panels[0].get_ylabel() == "% deviation"
    plt.close(fig)
    ds.attrs["hank_mfg_kind"] = "irf"
    figs = standard_figures(ds)
    assert list(figs) == ["irf"]
    plt.close(figs["irf"])
    with pytest.raises(ValueError, match="none of"):
        plot_irf(ds, ("C",))
    groups = xr.Dataset(
        {"consumption": (("group", "time"), np.ones((3, 30)), {"deviation": "percent"})},
        coords={"group": ["bottom 10%", "middle 80%", "top 10%"], "time": t},
    )
    fig = plot_group_responses(groups)
    assert len(fig.axes[0].lines) == 4
    plt.close(fig)
