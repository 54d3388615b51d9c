"""Standard figures from results Datasets (matplotlib; never from solver internals).

Each plotting function takes Datasets made by :func:`hank_mfg.results.to_xarray` (or read back
with :func:`hank_mfg.open_solution`) and returns a ``matplotlib.figure.Figure``; the caller
closes it (``plt.close(fig)``), or lets :func:`save_figures` save and close it.

* :func:`plot_policy` — a household policy against wealth, zoomed to where the households are;
* :func:`plot_distribution`, :func:`plot_distribution_over_time` — the wealth distribution as
  a density (mass per unit of wealth), with the borrowing limit marked;
* :func:`plot_prices` — aggregate paths (rates in percent per period of the model);
* :func:`plot_lorenz` — the Lorenz curve of wealth with its Gini coefficient;
* :func:`plot_exploitability` — exploitability during training of several runs;
* :func:`plot_comparison` — RSPG against the Krusell-Smith algorithm on the same economy;
* :func:`plot_irf` — impulse responses or a transition (a sequence-space Dataset), one panel
  per variable, one line per shock;
* :func:`plot_group_responses` — responses by wealth group (bottom 10%, middle, top 10%);
* :func:`standard_figures` — every figure that applies to one Dataset;
* :func:`save_figures` — write figures as PNG files and close them.

Titles name the model and the solver in words (:func:`describe`).
"""

from __future__ import annotations

import itertools
import os
import textwrap
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator, ScalarFormatter  # noqa: E402

from hank_mfg.core.files import atomic_write  # noqa: E402
from hank_mfg.results import gini, lorenz_curve, wealth_marginal  # noqa: E402

__all__ = [
    "plot_group_responses",
    "plot_irf",
    "describe",
    "plot_comparison",
    "plot_distribution",
    "plot_distribution_over_time",
    "plot_exploitability",
    "plot_lorenz",
    "plot_policy",
    "plot_prices",
    "save_figures",
    "standard_figures",
    "wealth_density",
]

#: The Dataset's ``model`` attribute in words (others: underscores become spaces).
MODEL_NAMES = {
    "aiyagari": "Aiyagari (1994) economy",
    "quantecon_aiyagari": "Aiyagari economy (QuantEcon calibration)",
    "krusell_smith": "Krusell-Smith (1998) economy",
    "seed_macro": "heterogeneous-household game of the RSPG paper",
    "household_economy": "household economy",
    "linear_quadratic": "linear-quadratic game",
    "beach_bar": "beach-bar game",
}
#: The Dataset's ``solver`` attribute in words (others: as written).
SOLVER_NAMES = {
    "egm": "stationary equilibrium (EGM)",
    "krusell-smith": "Krusell-Smith algorithm",
    "spg": "SPG",
    "rspg": "RSPG",
    "ippo": "IPPO",
    "rippo": "recurrent IPPO",
    "momd": "D-MOMD",
}
#: The length of one model period, where the model's calibration fixes it.
PERIODS = {
    "aiyagari": "year",
    "quantecon_aiyagari": "year",
    "seed_macro": "year",
    "krusell_smith": "quarter",
}
#: Wealth percentile up to which policies and densities are drawn.
WEALTH_PERCENTILE = 99.5
#: A series whose range is below this fraction of its level is drawn as constant.
FLAT_TOLERANCE = 1e-8


def _model_words(ds: xr.Dataset) -> str:
    model = str(ds.attrs.get("model", ""))
    words = MODEL_NAMES.get(model, model.replace("_", " "))
    return words[:1].upper() + words[1:]


def _solver_words(ds: xr.Dataset) -> str:
    solver = str(ds.attrs.get("solver", ""))
    return SOLVER_NAMES.get(solver, solver)


def describe(ds: xr.Dataset) -> str:
    """Model and solver in words, e.g. ``"Krusell-Smith (1998) economy, RSPG"``."""
    return ", ".join(w for w in (_model_words(ds), _solver_words(ds)) if w)


def _period(ds: xr.Dataset) -> str:
    """``"quarter"``/``"year"`` where the model fixes its period, else ``"period"``."""
    return PERIODS.get(str(ds.attrs.get("model", "")), "period")


def _title(ds: xr.Dataset, what: str) -> str:
    return f"{describe(ds)}\n{what}"


def _path_words(ds: xr.Dataset, sample: int) -> str:
    """``", path 2"`` where there are several common-noise paths, else nothing."""
    if "sample" not in ds.dims or ds.sizes["sample"] == 1:
        return ""
    return f", path {int(ds['sample'].values[sample])}"


def _paths(n: int) -> str:
    return "one path" if n == 1 else f"{n} paths"


def _label(da: xr.DataArray) -> str:
    """``long name [units]``, wrapped onto two lines when long (axis labels must fit)."""
    return textwrap.fill(f"{da.attrs.get('long_name', da.name)} [{da.attrs.get('units', '1')}]", 34)


def _plain_axis(ax: Axes, values: np.ndarray) -> None:
    """Tick labels as numbers (no offset such as ``1e-15+3.8e-2``); a series constant to
    round-off is centred in a ±5% window around its level instead of filling the axis."""
    fmt = ScalarFormatter(useOffset=False)
    fmt.set_scientific(True)
    ax.yaxis.set_major_formatter(fmt)
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    level = max(abs(lo), abs(hi))
    if hi - lo <= FLAT_TOLERANCE * level or level == 0.0:
        mid = 0.5 * (lo + hi)
        half = 0.05 * abs(mid) if mid != 0.0 else 1.0
        ax.set_ylim(mid - half, mid + half)


def _date_axis(ax: Axes, ds: xr.Dataset) -> None:
    ax.set_xlabel(f"date [{_period(ds)}s]")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# --- the wealth distribution ---------------------------------------------------------------------


def _cell_edges(wealth: np.ndarray) -> np.ndarray:
    """Edges of the cell each grid point stands for: the borrowing limit, the midpoints
    between grid points, and the top of the grid."""
    a = np.asarray(wealth, float)
    return np.concatenate([a[:1], 0.5 * (a[1:] + a[:-1]), a[-1:]])


def wealth_density(wealth: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The wealth distribution as a density: cell edges ``[n + 1]`` (units of wealth) and the
    mass of each grid point divided by the width of its cell ``[n]`` (population share per
    unit of wealth), so that a grid finer at the bottom shows no spike there.

    ``mass`` may carry further axes after the wealth axis (e.g. income states).
    """
    a = np.asarray(wealth, float)
    if a.ndim != 1 or a.size < 2 or np.any(np.diff(a) <= 0):
        raise ValueError(f"wealth must be an increasing grid of >= 2 points, got {a!r}")
    m = np.asarray(mass, float)
    if m.shape[0] != a.size:
        raise ValueError(f"mass must have {a.size} rows (one per wealth point), got {m.shape}")
    edges = _cell_edges(a)
    width = np.diff(edges).reshape((-1,) + (1,) * (m.ndim - 1))
    return edges, m / width


def _wealth_percentile(wealth: np.ndarray, mass: np.ndarray, percent: float) -> float:
    """Wealth below which ``percent`` % of the population lies (mass spread over each cell),
    at least the third grid point so that a distribution at the limit still shows a range."""
    edges = _cell_edges(wealth)
    m = np.clip(np.asarray(mass, float), 0.0, None)
    cdf = np.concatenate([[0.0], np.cumsum(m)])
    if cdf[-1] <= 0:
        return float(wealth[-1])
    cdf /= cdf[-1]
    q = float(np.interp(percent / 100.0, cdf, edges))
    return max(q, float(wealth[min(2, len(wealth) - 1)]))


def _borrowing_limit(ds: xr.Dataset) -> float:
    """The borrowing limit: the bottom of the wealth grid (households hold ``a >= a[0]``)."""
    return float(ds["wealth"].values[0])


def _income_colours(n: int) -> list:
    """Ordered colours for ordered income states (dark = poor)."""
    return [plt.cm.viridis(x) for x in np.linspace(0.1, 0.85, n)]


def plot_policy(
    ds: xr.Dataset, variable: str = "consumption", period: int = 0, sample: int = 0
) -> Figure:
    """A household policy (``consumption``, ``savings`` or ``savings_share``) against wealth,
    one line per income state, for wealth up to the 99.5th percentile of the distribution at
    that date; the borrowing limit (and, for savings, the 45-degree line) marked."""
    if variable not in ds:
        raise ValueError(f"variable {variable!r} is not in the dataset; it has {list(ds)}")
    da = ds[variable].isel(period=period, sample=sample)
    date = int(ds["period"].values[period])
    wealth = ds["wealth"].values
    mass = ds["distribution"].isel(sample=sample).sel(time=date).sum("income").values
    top = _wealth_percentile(wealth, mass, WEALTH_PERCENTILE)
    shown = slice(0, int(np.searchsorted(wealth, top)) + 1)  # up to the first point past top
    a_min = _borrowing_limit(ds)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    colours = _income_colours(ds.sizes["income"])
    for i, e in enumerate(ds["income"].values):
        ax.plot(wealth[shown], da.isel(income=i).values[shown], color=colours[i], label=f"{e:.3g}")
    if variable == "savings":
        ax.plot([a_min, top], [a_min, top], "k--", lw=0.9, zorder=3, label="a' = a (45°)")
        ax.axhline(a_min, color="k", ls=":", lw=0.9, label="borrowing limit")
    else:
        ax.axvline(a_min, color="k", ls=":", lw=0.9, label="borrowing limit")
    if variable == "savings_share":
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(a_min - 0.02 * (top - a_min), top)
    ax.set_xlabel(
        f"{_label(ds['wealth'])}\n(households up to the {WEALTH_PERCENTILE:g}th percentile)"
    )
    ax.set_ylabel(_label(da))
    name = {"savings_share": "savings share"}.get(variable, variable)
    ax.set_title(_title(ds, f"{name} policy, date {date}{_path_words(ds, sample)}"))
    ax.legend(title="income y(e)", fontsize="small")
    fig.tight_layout()
    return fig


def plot_distribution(ds: xr.Dataset, time: int = -1, sample: int = 0) -> Figure:
    """The distribution at one date: for households the density of wealth (population share
    per unit of wealth; total and by income state) up to the 99.5th percentile, with the
    borrowing limit and the share of households there; for toy games the mass by state."""
    fig, ax = plt.subplots(figsize=(6, 4.2))
    mu = ds["distribution"].isel(time=time, sample=sample)
    date = int(ds["time"].values[time])
    if "wealth" in ds.dims:
        wealth = ds["wealth"].values
        by_income = mu.transpose("wealth", "income").values
        edges, density = wealth_density(wealth, by_income)
        total = density.sum(axis=1)
        ax.stairs(total, edges, fill=True, color="0.85", label="all households")
        ax.stairs(total, edges, color="0.3", lw=1.2)
        n_income = ds.sizes["income"]
        if 1 < n_income <= 5:
            colours = _income_colours(n_income)
            for i, e in enumerate(ds["income"].values):
                ax.stairs(density[:, i], edges, color=colours[i], lw=1.0, label=f"y(e) = {e:.3g}")
        a_min = _borrowing_limit(ds)
        at_limit = 100.0 * float(by_income[0].sum())
        ax.axvline(
            a_min, color="tab:red", ls=":", lw=1.4, label=f"borrowing limit ({at_limit:.3g}% there)"
        )
        top = _wealth_percentile(wealth, by_income.sum(axis=1), WEALTH_PERCENTILE)
        ax.set_xlim(a_min - 0.02 * (top - a_min), top)
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel(
            f"{_label(ds['wealth'])}\n(households up to the {WEALTH_PERCENTILE:g}th percentile)"
        )
        ax.set_ylabel("density [population share per unit of wealth]")
        ax.legend(fontsize="small")
        what = "wealth distribution"
    else:
        ax.bar(ds["state"].values, mu.values, width=1.0)
        ax.set_xlabel("individual state")
        ax.set_ylabel("population share [1]")
        what = "distribution"
    ax.set_title(_title(ds, f"{what}, date {date}{_path_words(ds, sample)}"))
    fig.tight_layout()
    return fig


def plot_distribution_over_time(ds: xr.Dataset, sample: int = 0) -> Figure:
    """Heatmap of the distribution over dates: for households the wealth density (population
    share per unit of wealth) up to the 99.5th percentile, with the borrowing limit."""
    mu = ds["distribution"].isel(sample=sample)
    t = ds["time"].values
    t_edges = np.concatenate([t - 0.5, t[-1:] + 0.5])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if "wealth" in ds.dims:
        wealth = ds["wealth"].values
        mass = mu.sum("income").transpose("time", "wealth").values
        edges, density = wealth_density(wealth, mass.T)
        mesh = ax.pcolormesh(t_edges, edges, density, cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="density [population share\nper unit of wealth]")
        a_min = _borrowing_limit(ds)
        top = max(_wealth_percentile(wealth, m, WEALTH_PERCENTILE) for m in mass)
        ax.axhline(a_min, color="w", ls="--", lw=1.5, label="borrowing limit")
        ax.set_ylim(a_min - 0.03 * (top - a_min), top)
        ax.set_ylabel(_label(ds["wealth"]))
        ax.legend(loc="upper right", fontsize="small", facecolor="0.6")
        what = "wealth distribution over time"
    else:
        y = ds["state"].values
        y_edges = np.concatenate([y - 0.5, y[-1:] + 0.5])
        mesh = ax.pcolormesh(t_edges, y_edges, mu.values.T, cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="population share [1]")
        if "z_bar" in ds:
            ax.plot(t, ds["z_bar"].isel(sample=sample).values, "w--", lw=1, label="bar")
            ax.axvline((ds.sizes["time"] - 1) // 2, color="w", lw=0.8, ls=":", label="T/2")
            ax.legend(loc="upper right", fontsize="small", facecolor="0.6")
        ax.set_ylabel("individual state")
        what = "mean field over time"
    _date_axis(ax, ds)
    ax.set_title(_title(ds, f"{what}{_path_words(ds, sample)}"))
    fig.tight_layout()
    return fig


def plot_lorenz(ds: xr.Dataset, time: int = -1, sample: int = 0) -> Figure:
    """Lorenz curve of wealth at one date, with its Gini coefficient and the line of equality."""
    wealth, mass = wealth_marginal(ds, time, sample)
    pop, held = lorenz_curve(wealth, mass)
    g = gini(wealth, mass)
    date = int(ds["time"].values[time])
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    ax.plot(pop, held, label="wealth")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="equality")
    ax.set_xlim(0, 1)
    ax.set_ylim(min(0.0, float(held.min())), 1)
    ax.set_xlabel("population share, poorest first [1]")
    ax.set_ylabel("wealth share [1]")
    ax.set_title(
        _title(ds, f"Lorenz curve of wealth, date {date}{_path_words(ds, sample)} (Gini {g:.3f})"),
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    return fig


# --- aggregates ----------------------------------------------------------------------------------


def plot_prices(ds: xr.Dataset, variables: tuple[str, ...] = ("r", "w", "K")) -> Figure:
    """Aggregate paths over dates. Rates (units ``1 per period``) in percent per model period
    (per quarter or per year where the model fixes it). With several common-noise paths, their
    mean and the band they span (5–95% from 20 paths on); with one path, that path."""
    present = [v for v in variables if v in ds]
    if not present:
        raise ValueError(f"none of {variables} in the dataset; it has {list(ds.data_vars)}")
    width = max(4.2 * len(present), 6.0)
    fig, axes = plt.subplots(1, len(present), figsize=(width, 3.8), squeeze=False)
    t = ds["time"].values
    n = ds.sizes["sample"]
    for ax, name in zip(axes[0], present, strict=True):
        da = ds[name].transpose("sample", "time")
        values = da.values.astype(float)
        ylabel = _label(da)
        if da.attrs.get("units") == "1 per period":
            values = 100.0 * values
            ylabel = textwrap.fill(f"{da.attrs.get('long_name', name)} [% per {_period(ds)}]", 34)
        mean = values.mean(axis=0)
        if n == 1:
            ax.plot(t, mean, marker="o", ms=3)
        else:
            lo_q, hi_q = (5.0, 95.0) if n >= 20 else (0.0, 100.0)
            lo, hi = np.percentile(values, lo_q, axis=0), np.percentile(values, hi_q, axis=0)
            scale = max(float(np.abs(values).max()), np.finfo(float).tiny)
            if float(np.max(hi - lo)) > FLAT_TOLERANCE * scale:
                band = "5–95% of the paths" if n >= 20 else "range of the paths"
                ax.fill_between(t, lo, hi, alpha=0.3, label=band)
                ax.plot(t, mean, marker="o", ms=3, label=f"mean of {_paths(n)}")
            else:
                ax.plot(t, mean, marker="o", ms=3, label=f"all {n} paths (identical)")
            ax.legend(fontsize="small")
        _plain_axis(ax, values)
        _date_axis(ax, ds)
        ax.set_ylabel(ylabel)
    paths = "" if n == 1 else f" ({_paths(n)} of the aggregate shock)"
    fig.suptitle(textwrap.fill(f"{describe(ds)}: aggregates{paths}", int(12 * width)))
    fig.tight_layout()
    return fig


# --- exploitability ------------------------------------------------------------------------------


def _exploitability_text(ds: xr.Dataset) -> str:
    """The final exploitability in utility, with its consumption equivalent where known."""
    text = f"{float(ds['exploitability']):.3g} utility"
    if "exploitability_consumption" in ds:
        text += f" = {float(ds['exploitability_consumption']):.3g}% of consumption"
    return text


def _log_floor(values: list[np.ndarray]) -> float | None:
    """A floor for a log axis if the positive values span a decade or more, else ``None``."""
    allv = np.concatenate([np.ravel(np.asarray(v, float)) for v in values])
    positive = allv[np.isfinite(allv) & (allv > 0)]
    if positive.size < 2 or positive.max() < 10.0 * positive.min():
        return None
    return float(positive.min()) / 10.0


def _exploitability_axes(
    ax: Axes, curves: list[np.ndarray], levels: list[np.ndarray], x: str
) -> float | None:
    floor = _log_floor(curves + levels)
    if floor is not None:
        ax.set_yscale("log")
    else:
        _plain_axis(ax, np.concatenate([np.ravel(v) for v in curves + levels]))
    ax.set_xlabel("training wall time [s]" if x == "seconds" else "training iteration")
    ax.set_ylabel("exploitability [utility]")
    return floor


def _drawn(values: np.ndarray, floor: float | None) -> np.ndarray:
    """Values as drawn: on a log axis, those <= 0 (exact to round-off) at the floor."""
    v = np.asarray(values, float)
    return v if floor is None else np.where(v > 0, v, floor)


def _check_x(x: str) -> None:
    if x not in ("seconds", "iteration"):
        raise ValueError(f"x must be 'seconds' or 'iteration', got {x!r}")


def plot_exploitability(runs: Mapping[str, xr.Dataset], x: str = "seconds") -> Figure:
    """Exploitability during training for several solvers on one axis (utility units; log
    scale where the values span a decade or more).

    ``runs`` maps a label to a Dataset with ``exploitability_history`` (a line against
    ``seconds`` or ``iteration``, per ``x``); a solution without history is a horizontal line
    at its ``exploitability``. Labels give the final exploitability and, where the Dataset
    has ``exploitability_consumption``, its consumption equivalent.
    """
    _check_x(x)
    curves = [ds["exploitability_history"].values for ds in runs.values() if _has_history(ds)]
    levels = [
        np.atleast_1d(ds["exploitability"].values)
        for ds in runs.values()
        if not _has_history(ds) and "exploitability" in ds
    ]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    floor = _exploitability_axes(ax, curves, levels, x)
    level_styles = itertools.cycle([("k", "--"), ("tab:red", "-."), ("tab:purple", ":")])
    for label, ds in runs.items():
        final = ""
        if "exploitability" in ds:
            final = f": final evaluation {_exploitability_text(ds)}"
            if floor is not None and float(ds["exploitability"]) <= 0:
                final += " (<= 0: drawn at the axis floor)"
        if _has_history(ds):
            xs = ds["seconds"].values if x == "seconds" else ds["iteration"].values
            y = _drawn(ds["exploitability_history"].values, floor)
            ax.plot(xs, y, marker="o", ms=3, label=f"{label}{final}")
        elif "exploitability" in ds:
            y = _drawn(np.atleast_1d(ds["exploitability"].values), floor)[0]
            colour, style = next(level_styles)
            ax.axhline(y, ls=style, color=colour, label=f"{label}{final}")
    models = {_model_words(ds) for ds in runs.values()}
    head = f"{models.pop()}\n" if len(models) == 1 else ""
    ax.set_title(f"{head}exploitability during training", fontsize="medium")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _has_history(ds: xr.Dataset) -> bool:
    return "exploitability_history" in ds and ds.sizes.get("iteration", 0) > 0


def plot_comparison(rspg: xr.Dataset, classical: xr.Dataset, x: str = "seconds") -> Figure:
    """RSPG's exploitability against training wall time (or iteration), with the Krusell-Smith
    algorithm's exploitability on the same paths as a horizontal level (utility units; log
    scale where the values span a decade or more).

    ``rspg`` needs ``exploitability_history`` and ``seconds`` (its training evaluations) and
    ``exploitability`` (its final evaluation, drawn as a star at the end of training);
    ``classical`` needs ``exploitability``. Both must solve the same model. Where a Dataset
    has ``exploitability_consumption``, the legend gives that consumption equivalent too.
    """
    _check_x(x)
    for name, var in (
        ("rspg", "exploitability_history"),
        ("rspg", "seconds"),
        ("rspg", "exploitability"),
        ("classical", "exploitability"),
    ):
        if var not in {"rspg": rspg, "classical": classical}[name]:
            raise ValueError(f"{name} has no variable {var!r}, which the comparison draws")
    if rspg.attrs.get("model") != classical.attrs.get("model"):
        raise ValueError(
            "rspg and classical must solve the same model, got "
            f"{rspg.attrs.get('model')!r} and {classical.attrs.get('model')!r}"
        )
    history = rspg["exploitability_history"].values
    final, level = float(rspg["exploitability"]), float(classical["exploitability"])
    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    floor = _exploitability_axes(ax, [history], [np.array([final, level])], x)
    xs = rspg["seconds"].values if x == "seconds" else rspg["iteration"].values
    learner = _solver_words(rspg) or "learned policy"
    ax.plot(xs, _drawn(history, floor), marker="o", ms=3, label=f"{learner} during training")
    ax.plot(
        xs[-1:],
        _drawn(np.array([final]), floor),
        marker="*",
        ms=12,
        ls="none",
        color="tab:blue",
        label=f"{learner}, final: {_exploitability_text(rspg)}",
    )
    solve = classical.attrs.get("solve_seconds")
    took = f" (solved in {float(solve):.3g} s)" if solve is not None else ""
    ax.axhline(
        _drawn(np.array([level]), floor)[0],
        ls="--",
        color="k",
        label=f"{_solver_words(classical) or 'classical solution'}: "
        f"{_exploitability_text(classical)}{took}",
    )
    ax.set_title(
        f"{_model_words(rspg)}\nexploitability, {learner} against the "
        f"{_solver_words(classical) or 'classical solution'}",
        fontsize="medium",
    )
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


# --- all figures of a Dataset --------------------------------------------------------------------


def _deviation_label(da: xr.DataArray) -> str:
    if da.attrs.get("deviation") == "percent":
        return "% deviation"
    units = da.attrs.get("units", "")
    return f"deviation ({units})" if units else "deviation"


def plot_irf(
    ds: xr.Dataset,
    variables: tuple[str, ...] = ("Y", "C", "K", "r"),
    periods: int | None = 60,
) -> Figure:
    """Impulse responses (``hank-mfg irf``) or a transition (``hank-mfg transition``): one
    panel per variable present in ``ds``, one line per shock, the first ``periods`` periods."""
    names = [v for v in variables if v in ds]
    if not names:
        raise ValueError(f"none of {variables} is in the Dataset (it has {list(ds.data_vars)})")
    columns = min(len(names), 2)
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.4 * rows), squeeze=False)
    T = ds.sizes["time"] if periods is None else min(periods, ds.sizes["time"])
    for ax, name in zip(axes.ravel(), names, strict=False):
        da = ds[name]
        for shock in ds["shock"].values:
            ax.plot(np.arange(T), da.sel(shock=shock).values[:T], label=str(shock))
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_title(da.attrs.get("long_name", name))
        ax.set_xlabel("periods")
        ax.set_ylabel(_deviation_label(da))
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    if ds.sizes["shock"] > 1:
        axes.ravel()[0].legend(title="shock")
    kind = "transition" if ds.attrs.get("hank_mfg_kind") == "transition" else "impulse responses"
    fig.suptitle(f"{ds.attrs.get('model', 'model')}: {kind} ({ds.attrs.get('solver', '')})")
    fig.tight_layout()
    return fig


def plot_group_responses(ds: xr.Dataset, periods: int | None = 60) -> Figure:
    """Responses by wealth group (:func:`hank_mfg.solvers.distributional.group_responses`):
    one panel per variable, one line per group."""
    names = list(ds.data_vars)
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 3.4), squeeze=False)
    T = ds.sizes["time"] if periods is None else min(periods, ds.sizes["time"])
    for ax, name in zip(axes.ravel(), names, strict=True):
        for group in ds["group"].values:
            ax.plot(np.arange(T), ds[name].sel(group=group).values[:T], label=str(group))
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_title(f"{name} by wealth group")
        ax.set_xlabel("periods")
        ax.set_ylabel(_deviation_label(ds[name]))
    axes.ravel()[0].legend()
    fig.tight_layout()
    return fig


def standard_figures(ds: xr.Dataset) -> dict[str, Figure]:
    """Every figure that applies to the Dataset, by file stem (the caller closes them)."""
    if ds.attrs.get("hank_mfg_kind") in ("irf", "transition"):
        return {str(ds.attrs["hank_mfg_kind"]): plot_irf(ds)}
    figs: dict[str, Figure] = {
        "distribution": plot_distribution(ds),
        "distribution_over_time": plot_distribution_over_time(ds),
    }
    if "consumption" in ds:
        figs["consumption_policy"] = plot_policy(ds, "consumption")
        figs["savings_policy"] = plot_policy(ds, "savings")
    if "wealth" in ds.dims:
        figs["lorenz"] = plot_lorenz(ds)
    if any(v in ds for v in ("r", "w", "K", "mean")):
        figs["aggregates"] = plot_prices(ds, ("r", "w", "K") if "r" in ds else ("mean",))
    if _has_history(ds):
        label = _solver_words(ds) or "run"
        figs["exploitability"] = plot_exploitability({label: ds})
    return figs


def save_figures(
    figures: Mapping[str, Figure], folder: str | os.PathLike, dpi: int = 120
) -> list[str]:
    """Write each figure to ``folder/<stem>.png`` (atomically) and close it; the paths written.

    Every figure is closed, also when a write fails.
    """
    if not isinstance(dpi, int) or isinstance(dpi, bool) or dpi < 1:
        raise ValueError(f"dpi must be a positive integer, got {dpi!r}")
    written: list[str] = []
    try:
        os.makedirs(folder, exist_ok=True)
        for stem, fig in figures.items():
            path = os.path.join(os.fspath(folder), f"{stem}.png")
            atomic_write(path, lambda tmp, fig=fig: fig.savefig(tmp, format="png", dpi=dpi))
            written.append(path)
    finally:
        for fig in figures.values():
            plt.close(fig)
    return written
