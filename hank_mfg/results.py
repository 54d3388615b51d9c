"""Solutions as self-describing ``xarray.Dataset`` objects, NetCDF files, and statistics.

``to_xarray(solution)`` gives one Dataset per solution, whatever the solver:

* dims ``sample`` (common-noise path), ``time`` (dates 0…T), ``period`` (0…T-1, when actions
  are taken), ``wealth`` and ``income`` for household economies (``state`` and ``action`` for
  the toy games), ``iteration`` for training histories;
* variables, as they apply: ``distribution``, ``savings_share``, ``consumption``, ``savings``,
  ``value``, ``exploitability_by_state``, ``r``, ``w``, ``K``, ``L``, ``Y``, ``z``,
  ``exploitability``, ``exploitability_history``, ``seconds``, and solver results;
  household economies add ``exploitability_consumption`` (``_per_sample``, ``_by_state``):
  exploitability as a consumption equivalent, in percent of consumption;
* CF-style ``units`` and ``long_name`` on every variable and coordinate;
* ``attrs``: model, every calibration scalar, solver, settings (JSON), seed, package versions,
  creation time, and ``hank_mfg_format`` (what :func:`open_solution` checks).

``to_netcdf`` writes atomically (a temporary file in the same folder, then a rename), so an
interrupted write leaves no file and never truncates an existing one.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from importlib import metadata
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "FORMAT_VERSION",
    "aggregate_saving_rate",
    "gini",
    "lorenz_curve",
    "marginal_propensity_to_consume",
    "open_solution",
    "to_netcdf",
    "to_xarray",
    "top_wealth_share",
    "wealth_marginal",
]

FORMAT_VERSION = "1"

_UNITS = {
    "distribution": ("1", "population share in the state"),
    "savings_share": ("1", "share of what can be saved that is saved"),
    "consumption": ("consumption good per period", "consumption"),
    "savings": ("consumption good", "next-period wealth chosen"),
    "value": ("utility", "value of the policy (discounted expected utility)"),
    "best_response_value": ("utility", "value of the best response to the path"),
    "exploitability_by_state": ("utility", "gain of the best response by initial state"),
    "exploitability": ("utility", "mean gain of a best-responding agent, mass-weighted"),
    "exploitability_per_sample": ("utility", "exploitability on each common-noise path"),
    "exploitability_consumption": (
        "percent of consumption",
        "exploitability as a consumption equivalent: permanent percentage of consumption a "
        "household would give up rather than deviate to its best response, mean over the "
        "initial distribution and the common-noise paths",
    ),
    "exploitability_consumption_per_sample": (
        "percent of consumption",
        "exploitability as a consumption equivalent on each common-noise path",
    ),
    "exploitability_consumption_by_state": (
        "percent of consumption",
        "exploitability as a consumption equivalent by initial state",
    ),
    "r": ("1 per period", "net interest rate"),
    "w": ("consumption good per efficiency unit", "wage"),
    "K": ("consumption good", "aggregate capital (household wealth)"),
    "L": ("efficiency units", "aggregate labour"),
    "Y": ("consumption good per period", "output"),
    "Z": ("1", "total factor productivity"),
    "z": ("1", "common-noise state"),
    "mean": ("state index", "mean of the distribution"),
    "policy": ("1", "action probabilities"),
    "exploitability_history": ("utility", "exploitability during training"),
    "seconds": ("s", "training wall time"),
    "loss": ("utility", "training loss (minus the mean initial value)"),
    "eval_seconds": ("s", "wall time of each evaluation"),
    "coefficient_change": ("1", "largest change of the law-of-motion coefficients"),
    "egm_iterations": ("1", "household (EGM) iterations"),
    "income_transition": ("1", "income transition probabilities"),
}


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("hank-mfg", "jax", "flax", "optax", "numpy", "xarray", "netCDF4", "quantecon"):
        try:
            out[f"version_{pkg.replace('-', '_').lower()}"] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _attr_value(value: Any) -> Any:
    """A NetCDF-safe attribute value (str, int, float, or 1-d numeric array)."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | float | str | np.integer | np.floating):
        return value
    if value is None:
        return "None"
    arr = np.asarray(value)
    if arr.dtype.kind in "if" and arr.ndim == 1:
        return arr
    return json.dumps(value, default=lambda o: np.asarray(o).tolist())


def _calibration_attrs(game: Any) -> dict[str, Any]:
    """Every scalar setting of the game (and its blocks) as ``param_*`` attributes."""
    attrs: dict[str, Any] = {}
    blocks = {"": game}
    for name in ("household", "firm", "tfp"):
        if hasattr(game, name):
            blocks[name + "_"] = getattr(game, name)
    for prefix, obj in blocks.items():
        for key, value in sorted(vars(obj).items()):
            if key.startswith("_"):
                continue
            if isinstance(value, bool | int | float | str | np.integer | np.floating):
                attrs[f"param_{prefix}{key}"] = _attr_value(value)
    for key in ("name", "horizon", "discount", "n_states"):
        attrs[f"param_{key}"] = _attr_value(getattr(game, key))
    return attrs


def _var(data: Any, dims: tuple[str, ...], name: str) -> xr.Variable:
    units, long_name = _UNITS.get(name, ("1", name.replace("_", " ")))
    return xr.Variable(dims, np.asarray(data), attrs={"units": units, "long_name": long_name})


def to_xarray(solution: Any) -> xr.Dataset:
    """The solution as an ``xarray.Dataset`` (see the module docstring for its layout)."""
    game = solution.game
    is_household = hasattr(game, "household")
    data: dict[str, xr.Variable] = {}
    coords: dict[str, xr.Variable] = {}
    if is_household:
        hh = game.household
        n_a, n_e = hh.n_wealth, hh.n_income
        state_dims: tuple[str, ...] = ("wealth", "income")
        coords["wealth"] = xr.Variable(
            "wealth", hh.wealth_grid, {"units": "consumption good", "long_name": "wealth"}
        )
        coords["income"] = xr.Variable(
            "income", hh.income, {"units": "wage units", "long_name": "income state y(e)"}
        )
        state_shape: tuple[int, ...] = (n_a, n_e)
        if not hh.Pi_is_aggregate:
            data["income_transition"] = _var(hh.Pi, ("income", "income_next"), "income_transition")
    else:
        state_dims = ("state",)
        state_shape = (game.n_states,)
        coords["state"] = xr.Variable(
            "state", np.arange(game.n_states), {"units": "1", "long_name": "individual state"}
        )
    ev = solution.evaluation
    if ev is not None:
        path = ev.path
        B, T1 = path.mu.shape[:2]
        coords["sample"] = xr.Variable(
            "sample", np.arange(B), {"units": "1", "long_name": "common-noise path"}
        )
        coords["time"] = xr.Variable(
            "time", np.arange(T1), {"units": "period", "long_name": "date"}
        )
        coords["period"] = xr.Variable(
            "period", np.arange(T1 - 1), {"units": "period", "long_name": "period of the action"}
        )
        sdims = ("sample", "time", *state_dims)
        data["distribution"] = _var(
            np.asarray(path.mu).reshape(B, T1, *state_shape), sdims, "distribution"
        )
        data["value"] = _var(np.asarray(ev.value).reshape(B, T1, *state_shape), sdims, "value")
        data["best_response_value"] = _var(
            np.asarray(ev.best_response.value).reshape(B, T1, *state_shape),
            sdims,
            "best_response_value",
        )
        expl = ev.exploitability
        data["exploitability"] = _var(float(expl.value), (), "exploitability")
        data["exploitability_per_sample"] = _var(
            expl.per_sample, ("sample",), "exploitability_per_sample"
        )
        data["exploitability_by_state"] = _var(
            np.asarray(expl.by_state).reshape(state_shape), state_dims, "exploitability_by_state"
        )
        lam = np.asarray(expl.consumption_equivalent_per_sample)
        if not np.all(np.isnan(lam)):  # NaN: the game has no consumption good
            data["exploitability_consumption"] = _var(
                float(expl.consumption_equivalent), (), "exploitability_consumption"
            )
            data["exploitability_consumption_per_sample"] = _var(
                lam, ("sample",), "exploitability_consumption_per_sample"
            )
            data["exploitability_consumption_by_state"] = _var(
                np.asarray(expl.consumption_equivalent_by_state).reshape(state_shape),
                state_dims,
                "exploitability_consumption_by_state",
            )
        for name in ("r", "w", "K", "L", "Y", "Z", "mean"):
            if isinstance(path.agg.aux, dict) and name in path.agg.aux:
                data[name] = _var(path.agg.aux[name], ("sample", "time"), name)
        z_leaves = {
            k: v
            for k, v in (
                path.agg.z.items() if isinstance(path.agg.z, dict) else [("z", path.agg.z)]
            )
        }
        for k, v in z_leaves.items():
            data[k if k == "z" else f"z_{k}"] = _var(v, ("sample", "time"), "z")
        pdims = ("sample", "period", *state_dims)
        actions = np.asarray(path.actions)
        if is_household:
            share = actions if game.shares is None else actions @ np.asarray(game.shares)
            share = share.reshape(B, T1 - 1, *state_shape)
            data["savings_share"] = _var(share, pdims, "savings_share")
            r = np.asarray(path.agg.aux["r"])[:, :-1, None, None]
            w = np.asarray(path.agg.aux["w"])[:, :-1, None, None]
            m = (1 + r) * hh.wealth_grid[None, None, :, None] + w * hh.income[None, None, None, :]
            low = hh.borrowing_limit
            savings = low + share * (m - hh.c_min - low)
            data["savings"] = _var(savings, pdims, "savings")
            data["consumption"] = _var(m - savings, pdims, "consumption")
        elif actions.ndim == 4:
            coords["action"] = xr.Variable(
                "action", np.arange(actions.shape[-1]), {"units": "1", "long_name": "action index"}
            )
            data["policy"] = _var(actions, (*pdims, "action"), "policy")
    hist = solution.history or {}
    if len(hist.get("iteration", [])):
        coords["iteration"] = xr.Variable(
            "iteration",
            np.asarray(hist["iteration"], dtype=np.int64),
            {"units": "1", "long_name": "training iteration"},
        )
        n_hist = len(hist["iteration"])
        for key, values in hist.items():
            if key == "iteration" or np.shape(values) != (n_hist,):
                continue
            name = "exploitability_history" if key == "exploitability" else key
            if name in data:  # never shadow a result variable of the same name
                name = f"{name}_history"
            data[name] = _var(values, ("iteration",), name)
    attrs: dict[str, Any] = {
        "hank_mfg_format": FORMAT_VERSION,
        "title": f"{game.name} solved by {solution.solver}",
        "model": game.name,
        "solver": solution.solver,
        "settings": json.dumps(solution.settings, default=lambda o: np.asarray(o).tolist()),
        "seed": -1 if solution.seed is None else int(solution.seed),
        "solve_seconds": float(solution.seconds),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "Conventions": "CF-1.8",
        **_calibration_attrs(game),
        **_versions(),
    }
    n_states = int(np.prod(state_shape))
    for key, value in (solution.results or {}).items():
        arr = np.asarray(value) if not isinstance(value, dict | str) else None
        if arr is not None and arr.dtype.kind in "if" and arr.ndim == 0:
            attrs[f"result_{key}"] = float(arr)
        elif arr is not None and arr.dtype.kind in "if":
            if arr.size == n_states:  # a quantity on the individual state grid
                arr, dims = arr.reshape(state_shape), state_dims
            else:
                dims = tuple(f"result_{key}_dim{i}" for i in range(arr.ndim))
            data[f"result_{key}"] = xr.Variable(
                dims, arr, {"units": "model units", "long_name": f"solver result: {key}"}
            )
        else:
            attrs[f"result_{key}"] = _attr_value(value)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def to_netcdf(dataset: xr.Dataset, path: str | os.PathLike) -> None:
    """Write ``dataset`` to ``path`` atomically with the netcdf4 engine."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".nc")
    os.close(fd)
    try:
        dataset.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def open_solution(path: str | os.PathLike) -> xr.Dataset:
    """Read a results file written by hank_mfg (loaded into memory).

    Raises:
        ValueError: the file is missing, unreadable, corrupt, or not a hank_mfg results file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"no results file at {path!r}")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
    except Exception as err:  # netCDF4/HDF5 raise several kinds for damaged files
        raise ValueError(f"{path!r} is not a readable NetCDF file ({err})") from err
    if ds.attrs.get("hank_mfg_format") != FORMAT_VERSION:
        raise ValueError(
            f"{path!r} is not a hank_mfg results file (no hank_mfg_format={FORMAT_VERSION!r} "
            "attribute)"
        )
    return ds


# --- statistics on a Dataset ---------------------------------------------------------------------


def wealth_marginal(
    ds: xr.Dataset, time: int = -1, sample: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Wealth grid (model units) and the population's mass at each point, at one date."""
    mu = ds["distribution"].isel(time=time, sample=sample).sum("income").values
    return ds["wealth"].values, mu


def lorenz_curve(wealth: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of wealth: cumulative population share and wealth share (both from 0).

    ``wealth`` is sorted ascending with ``mass`` its distribution (sums to one).
    """
    order = np.argsort(wealth)
    a, m = np.asarray(wealth, float)[order], np.asarray(mass, float)[order]
    pop = np.concatenate([[0.0], np.cumsum(m)])
    held = np.concatenate([[0.0], np.cumsum(m * a)])
    return pop / pop[-1], held / held[-1]


def gini(wealth: np.ndarray, mass: np.ndarray) -> float:
    """Gini coefficient of wealth: one minus twice the area under the Lorenz curve."""
    pop, held = lorenz_curve(wealth, mass)
    area = np.sum(np.diff(pop) * (held[1:] + held[:-1]) / 2.0)
    return float(1.0 - 2.0 * area)


def top_wealth_share(wealth: np.ndarray, mass: np.ndarray, top: float) -> float:
    """Share of wealth held by the richest ``top`` fraction of the population (e.g. 0.1)."""
    if not 0 < top <= 1:
        raise ValueError(f"top must lie in (0, 1], got {top!r}")
    pop, held = lorenz_curve(wealth, mass)
    return float(1.0 - np.interp(1.0 - top, pop, held))


def marginal_propensity_to_consume(
    ds: xr.Dataset, period: int = 0, sample: int = 0
) -> xr.DataArray:
    """MPC out of cash on hand by wealth and income: ``∂c/∂m`` by finite differences in wealth.

    ``∂c/∂a = (1 + r) ∂c/∂m``, so the MPC is the slope of consumption in wealth over ``1 + r``.
    """
    c = ds["consumption"].isel(period=period, sample=sample)
    r = float(ds["r"].isel(time=period, sample=sample))
    slope = np.gradient(c.values, ds["wealth"].values, axis=0) / (1.0 + r)
    out = xr.DataArray(slope, coords=c.coords, dims=c.dims, name="mpc")
    out.attrs = {"units": "1", "long_name": "marginal propensity to consume out of cash on hand"}
    return out


def aggregate_saving_rate(ds: xr.Dataset, sample: int = 0) -> xr.DataArray:
    """Net saving rate per period: ``(K_{t+1} − K_t) / Y_t`` (plus ``δ K_t / Y_t`` for gross)."""
    K = ds["K"].isel(sample=sample).values
    Y = ds["Y"].isel(sample=sample).values
    rate = (K[1:] - K[:-1]) / Y[:-1]
    return xr.DataArray(
        rate,
        dims=("period",),
        name="net_saving_rate",
        attrs={"units": "1", "long_name": "net saving rate"},
    )
