"""Standard figures from results Datasets (matplotlib; never from solver internals).

Each function takes a Dataset made by :func:`hank_mfg.results.to_xarray` (or read back with
:func:`hank_mfg.open_solution`) and returns a ``matplotlib.figure.Figure``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hank_mfg.results import lorenz_curve, wealth_marginal  # noqa: E402

__all__ = [
    "plot_distribution",
    "plot_distribution_over_time",
    "plot_exploitability",
    "plot_lorenz",
    "plot_policy",
    "plot_prices",
    "standard_figures",
]


def _label(da: xr.DataArray) -> str:
    """``long name [units]``, wrapped onto two lines when long (axis labels must fit)."""
    return textwrap.fill(f"{da.attrs.get('long_name', da.name)} [{da.attrs.get('units', '1')}]", 34)


def plot_policy(
    ds: xr.Dataset, variable: str = "consumption", period: int = 0, sample: int = 0
) -> Figure:
    """A household policy (``consumption``, ``savings`` or ``savings_share``) against wealth,
    one line per income state."""
    da = ds[variable].isel(period=period, sample=sample)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, e in enumerate(ds["income"].values):
        ax.plot(ds["wealth"].values, da.isel(income=i).values, label=f"y(e) = {e:.3g}")
    ax.set_xlabel(_label(ds["wealth"]))
    ax.set_ylabel(_label(da))
    ax.set_title(f"{ds.attrs.get('model', '')}: {variable} policy, period {period}")
    ax.legend(title="income state", fontsize="small")
    fig.tight_layout()
    return fig


def plot_distribution(ds: xr.Dataset, time: int = -1, sample: int = 0) -> Figure:
    """The distribution at one date: wealth marginal (households) or mass by state (toys)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    mu = ds["distribution"].isel(time=time, sample=sample)
    if "wealth" in ds.dims:
        for i, e in enumerate(ds["income"].values):
            ax.plot(ds["wealth"].values, mu.isel(income=i).values, label=f"y(e) = {e:.3g}")
        ax.set_xlabel(_label(ds["wealth"]))
        ax.set_xscale("symlog", linthresh=1.0)
        ax.legend(title="income state", fontsize="small")
    else:
        ax.bar(ds["state"].values, mu.values, width=1.0)
        ax.set_xlabel("individual state")
    ax.set_ylabel("population share [1]")
    t = int(ds["time"].values[time])
    ax.set_title(f"{ds.attrs.get('model', '')}: distribution at date {t}, path {sample}")
    fig.tight_layout()
    return fig


def plot_distribution_over_time(ds: xr.Dataset, sample: int = 0) -> Figure:
    """Heatmap of the distribution over dates (wealth marginal for households)."""
    mu = ds["distribution"].isel(sample=sample)
    if "wealth" in ds.dims:
        mu = mu.sum("income")
        y, ylabel = np.arange(ds.sizes["wealth"]), "wealth grid point"
    else:
        y, ylabel = ds["state"].values, "individual state"
    fig, ax = plt.subplots(figsize=(7, 4))
    mesh = ax.pcolormesh(ds["time"].values, y, mu.values.T, shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="population share [1]")
    if "z_bar" in ds:
        ax.plot(ds["time"].values, ds["z_bar"].isel(sample=sample).values, "w--", lw=1, label="bar")
        ax.axvline((ds.sizes["time"] - 1) // 2, color="w", lw=0.8, ls=":", label="T/2")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel("date [period]")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{ds.attrs.get('model', '')}: mean field over time, path {sample}")
    fig.tight_layout()
    return fig


def plot_prices(ds: xr.Dataset, variables: tuple[str, ...] = ("r", "w", "K")) -> Figure:
    """Aggregate paths: mean over common-noise paths with the 5–95% band."""
    present = [v for v in variables if v in ds]
    if not present:
        raise ValueError(f"none of {variables} in the dataset; it has {list(ds.data_vars)}")
    fig, axes = plt.subplots(1, len(present), figsize=(4 * len(present), 3.5), squeeze=False)
    t = ds["time"].values
    for ax, name in zip(axes[0], present, strict=True):
        da = ds[name]
        lo, hi = da.quantile(0.05, "sample").values, da.quantile(0.95, "sample").values
        ax.fill_between(t, lo, hi, alpha=0.3, label="5–95% of paths")
        ax.plot(t, da.mean("sample").values, label="mean")
        ax.set_xlabel("date [period]")
        ax.set_ylabel(_label(da))
        ax.legend(fontsize="small")
    fig.suptitle(f"{ds.attrs.get('model', '')}: aggregates ({ds.sizes['sample']} paths)")
    fig.tight_layout()
    return fig


def plot_exploitability(runs: Mapping[str, xr.Dataset], x: str = "seconds") -> Figure:
    """Exploitability during training for several solvers on one axis (log scale).

    ``runs`` maps a label to a Dataset with ``exploitability_history``; ``x`` is
    ``"seconds"`` or ``"iteration"``. A classical solution without history is a horizontal
    line at its exploitability.
    """
    if x not in ("seconds", "iteration"):
        raise ValueError(f"x must be 'seconds' or 'iteration', got {x!r}")
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, ds in runs.items():
        if "exploitability_history" in ds:
            xs = ds["seconds"].values if x == "seconds" else ds["iteration"].values
            ax.plot(
                xs,
                np.maximum(ds["exploitability_history"].values, 1e-12),
                marker="o",
                ms=3,
                label=label,
            )
        elif "exploitability" in ds:
            ax.axhline(max(float(ds["exploitability"]), 1e-12), ls="--", color="k", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("training wall time [s]" if x == "seconds" else "iteration")
    ax.set_ylabel("exploitability [utility]")
    ax.set_title("exploitability")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_lorenz(ds: xr.Dataset, time: int = -1, sample: int = 0) -> Figure:
    """Lorenz curve of wealth at one date, with the line of equality."""
    pop, held = lorenz_curve(*wealth_marginal(ds, time, sample))
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(pop, held, label="wealth")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="equality")
    ax.set_xlabel("population share, poorest first [1]")
    ax.set_ylabel("wealth share [1]")
    ax.set_title(f"{ds.attrs.get('model', '')}: Lorenz curve")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def standard_figures(ds: xr.Dataset) -> dict[str, Figure]:
    """Every figure that applies to the Dataset, by file stem."""
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
    if "exploitability_history" in ds:
        figs["exploitability"] = plot_exploitability({ds.attrs.get("solver", "run"): ds})
    return figs
