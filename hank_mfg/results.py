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
* the model's arrays: ``income_transition`` (dims ``income``, ``income_next``, with
  ``tfp_state``, ``tfp_state_next`` first when it depends on the TFP transition),
  ``tfp_levels`` and ``tfp_transition`` (dims ``tfp_state``, ``tfp_state_next``) for a Markov
  TFP chain; solver results as ``result_*`` variables with named dims and units;
* ``attrs``: model, calibration (its name), every parameter of the calibration the game was
  built from (``param_*``, nested parts flattened: ``param_employment_Pi_z``,
  ``param_household_income_rho``; vectors as arrays, matrices as JSON) and of the game's
  blocks, solver, settings (JSON), seed, how the solution was evaluated
  (``evaluation_paths``, ``evaluation_horizon``), package versions, creation time,
  ``hank_mfg_format``, ``hank_mfg_kind`` (``household`` or ``game``) and
  ``hank_mfg_checksum`` (SHA-256 of every variable's name, dims, dtype and values).

``to_netcdf`` refuses a Dataset that lacks what a results file must hold, then writes it
atomically (:func:`hank_mfg.core.files.atomic_write`: a recognisable temporary file beside the
target, removed on errors and on SIGTERM/SIGINT, then a rename), so an interrupted write
never leaves a half-written file under the target's name. :func:`open_solution` refuses
temporary files, non-regular files, files of another format, files that lack a required
attribute, variable or dimension, and files whose data no longer match their checksum.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import jax
import numpy as np
import xarray as xr

from hank_mfg.core.files import atomic_write, is_partial

__all__ = [
    "CHECKSUM_ATTR",
    "FORMAT_VERSION",
    "aggregate_saving_rate",
    "check_contents",
    "data_checksum",
    "gini",
    "label_sequence_dataset",
    "lorenz_curve",
    "marginal_propensity_to_consume",
    "open_solution",
    "to_netcdf",
    "to_xarray",
    "top_wealth_share",
    "wealth_marginal",
]

#: Version of the file layout; 2 added the checksum, the kind and the full calibration.
FORMAT_VERSION = "2"

#: Attribute holding :func:`data_checksum` of the file's variables.
CHECKSUM_ATTR = "hank_mfg_checksum"

#: Attributes every results file holds.
REQUIRED_ATTRS = (
    "hank_mfg_format",
    "hank_mfg_kind",
    "model",
    "solver",
    "settings",
    "seed",
    "created",
)

#: Variables (with their dims) every results file of a kind holds: ``household`` economies on
#: a wealth × income grid, other mean-field ``game``s on an index of individual states.
REQUIRED_VARIABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "household": {
        "wealth": ("wealth",),
        "income": ("income",),
        "sample": ("sample",),
        "time": ("time",),
        "period": ("period",),
        "distribution": ("sample", "time", "wealth", "income"),
        "value": ("sample", "time", "wealth", "income"),
        "exploitability": (),
        "r": ("sample", "time"),
        "w": ("sample", "time"),
        "K": ("sample", "time"),
        "consumption": ("sample", "period", "wealth", "income"),
        "savings": ("sample", "period", "wealth", "income"),
    },
    "game": {
        "state": ("state",),
        "sample": ("sample",),
        "time": ("time",),
        "distribution": ("sample", "time", "state"),
        "value": ("sample", "time", "state"),
        "exploitability": (),
    },
    # sequence-space paths: impulse responses (one entry per shock) and transitions
    "irf": {"time": ("time",), "shock": ("shock",), "shock_path": ("shock", "time")},
    "transition": {"time": ("time",), "shock": ("shock",)},
}

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


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | str | np.bool_ | np.integer | np.floating)


def _block_attrs(prefix: str, obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Scalars, vectors and names of one of the game's blocks as ``param_<prefix><field>``."""
    attrs: dict[str, Any] = {}
    for key, value in sorted(vars(obj).items()):
        if key.startswith("_") or key in skip:
            continue
        if _is_scalar(value):
            attrs[f"param_{prefix}{key}"] = _attr_value(value)
        elif isinstance(value, tuple | list) and value and all(isinstance(v, str) for v in value):
            attrs[f"param_{prefix}{key}"] = json.dumps(list(value))
        elif hasattr(value, "shape") and hasattr(value, "dtype") and np.ndim(value) == 1:
            arr = np.asarray(value)
            if arr.dtype.kind in "iuf":
                attrs[f"param_{prefix}{key}"] = arr
    return attrs


def _employment_durations(employment: Any) -> dict[str, Any]:
    """Expected durations (periods) implied by a Krusell–Smith employment process."""
    Pi_z = np.asarray(employment.Pi_z)
    Pi_e = np.asarray(employment.Pi_e)  # [z, z', e, e'], e = 0 unemployed
    return {
        "param_employment_duration_z": 1.0 / (1.0 - np.diag(Pi_z)),
        "param_employment_duration_unemp_good": float(1.0 / (1.0 - Pi_e[0, 0, 0, 0])),
        "param_employment_duration_unemp_bad": float(1.0 / (1.0 - Pi_e[1, 1, 0, 0])),
    }


def _calibration_attrs(game: Any) -> dict[str, Any]:
    """The game's settings and blocks, then every parameter of its calibration (``param_*``).

    A block model's parameters (``game.parameters``) are written as they are; the calibration
    (``game.calibration``, kept by the model builders) in full from its ``to_dict()``: dotted
    keys flattened with ``_``, vectors as arrays, matrices as JSON.
    """
    attrs: dict[str, Any] = _block_attrs("", game, skip=("name", "terminal_marginal"))
    skips = {"household": ("wealth_grid", "income", "Pi"), "tfp": ("Pi",)}
    for name in ("household", "tfp"):
        if hasattr(game, name):
            attrs.update(_block_attrs(name + "_", getattr(game, name), skips.get(name, ())))
    for key in ("horizon", "discount", "n_states"):
        attrs[f"param_{key}"] = _attr_value(getattr(game, key))
    attrs["param_name"] = game.name
    parameters = getattr(game, "parameters", None)
    if isinstance(parameters, Mapping):  # a block model's values
        for key, value in parameters.items():
            attrs["param_" + key] = _attr_value(value)
    cal = getattr(game, "calibration", None)
    if cal is not None and hasattr(cal, "to_dict"):
        for key, value in cal.to_dict().items():
            attrs["param_" + key.replace(".", "_")] = _attr_value(value)
        if getattr(cal, "employment", None) is not None:
            attrs.update(_employment_durations(cal.employment))
    return attrs


def _model_variables(game: Any) -> tuple[dict[str, xr.Variable], dict[str, xr.Variable]]:
    """The model's arrays that have no place in attrs: an income transition that depends on
    the TFP transition, and a Markov TFP chain's levels and transition matrix."""
    data: dict[str, xr.Variable] = {}
    coords: dict[str, xr.Variable] = {}
    tfp = getattr(game, "tfp", None)
    if tfp is not None and hasattr(tfp, "levels") and hasattr(tfp, "Pi"):
        levels = np.asarray(tfp.levels, dtype=np.float64)
        n_z = levels.size
        for dim, what in (("tfp_state", ""), ("tfp_state_next", "next ")):
            coords[dim] = xr.Variable(
                dim, np.arange(n_z), {"units": "1", "long_name": f"{what}TFP state index"}
            )
        data["tfp_levels"] = xr.Variable(
            "tfp_state", levels, {"units": "1", "long_name": "TFP level in each TFP state"}
        )
        data["tfp_transition"] = xr.Variable(
            ("tfp_state", "tfp_state_next"),
            np.asarray(tfp.Pi, dtype=np.float64),
            {"units": "1", "long_name": "TFP transition probabilities P(z' | z)"},
        )
    grid = game.household_grid()
    if grid is not None and np.ndim(grid["income_transition"]) == 4:
        data["income_transition"] = xr.Variable(
            ("tfp_state", "tfp_state_next", "income", "income_next"),
            np.asarray(grid["income_transition"], dtype=np.float64),
            {"units": "1", "long_name": "income transition probabilities P(e' | e, z, z')"},
        )
    return data, coords


def _var(data: Any, dims: tuple[str, ...], name: str) -> xr.Variable:
    units, long_name = _UNITS.get(name, ("1", name.replace("_", " ")))
    return xr.Variable(dims, np.asarray(data), attrs={"units": units, "long_name": long_name})


def to_xarray(solution: Any) -> xr.Dataset:
    """The solution as an ``xarray.Dataset`` (see the module docstring for its layout)."""
    game = solution.game
    grid = game.household_grid()
    is_household = grid is not None
    data: dict[str, xr.Variable] = {}
    coords: dict[str, xr.Variable] = {}
    if is_household:
        state_dims: tuple[str, ...] = ("wealth", "income")
        coords["wealth"] = xr.Variable(
            "wealth", grid["wealth"], {"units": "consumption good", "long_name": "wealth"}
        )
        coords["income"] = xr.Variable(
            "income",
            np.asarray(grid["income"]),
            {"units": grid["income_units"], "long_name": grid["income_label"]},
        )
        state_shape: tuple[int, ...] = (np.size(grid["wealth"]), np.size(grid["income"]))
        Pi = grid["income_transition"]
        if np.ndim(Pi) == 2:
            data["income_transition"] = _var(Pi, ("income", "income_next"), "income_transition")
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
            agg_now = jax.tree_util.tree_map(lambda x: x[:, :-1], path.agg)
            choices = jax.vmap(jax.vmap(game.household_policy))(agg_now, path.actions)
            for name in ("savings_share", "savings", "consumption"):
                values = np.asarray(choices[name]).reshape(B, T1 - 1, *state_shape)
                data[name] = _var(values, pdims, name)
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
    model_data, model_coords = _model_variables(game)
    data.update({k: v for k, v in model_data.items() if k not in data})
    coords.update(model_coords)
    cal = getattr(game, "calibration", None)
    attrs: dict[str, Any] = {
        "hank_mfg_format": FORMAT_VERSION,
        "hank_mfg_kind": "household" if is_household else "game",
        "title": f"{game.name} solved by {solution.solver}",
        "model": game.name,
        "calibration": getattr(cal, "name", "none"),
        "solver": solution.solver,
        "settings": json.dumps(solution.settings, default=lambda o: np.asarray(o).tolist()),
        "seed": -1 if solution.seed is None else int(solution.seed),
        "solve_seconds": float(solution.seconds),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "Conventions": "CF-1.8",
        **_calibration_attrs(game),
        **_versions(),
    }
    if ev is not None:
        attrs["evaluation_paths"] = int(B)
        attrs["evaluation_horizon"] = int(T1 - 1)
    for key, value in (solution.results or {}).items():
        variable = _result_variable(key, value, state_shape, state_dims)
        if variable is None:
            attrs[f"result_{key}"] = _result_attr(value)
        else:
            data[f"result_{key}"] = variable
            for dim in variable.dims:
                if dim in _RESULT_COORDS and dim not in coords:
                    coords[dim] = _result_coord(dim, variable.sizes[dim])
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    ds.attrs[CHECKSUM_ATTR] = data_checksum(ds)
    return ds


#: Solver results with their dims, units and meaning (keyed by the results' names).
_RESULTS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "coefficients": (
        ("tfp_state", "coefficient"),
        "1",
        "law of motion log K' = b0(z) + b1(z) log K (coefficient 0: b0, 1: b1)",
    ),
    "coefficients_estimated": (
        ("tfp_state", "coefficient"),
        "1",
        "last OLS estimate of the law of motion log K' = b0(z) + b1(z) log K",
    ),
    "r2": (("tfp_state",), "1", "R squared of the law of motion in each TFP state"),
    "capital_grid": (("capital",), "consumption good", "aggregate capital grid"),
    "savings": (
        ("tfp_state", "capital", "wealth", "income"),
        "consumption good",
        "next-period wealth chosen, by TFP state and aggregate capital",
    ),
    "consumption": (
        ("tfp_state", "capital", "wealth", "income"),
        "consumption good per period",
        "consumption, by TFP state and aggregate capital",
    ),
    "marginal_value": (
        ("tfp_state", "capital", "wealth", "income"),
        "utility per unit of the consumption good",
        "marginal value of wealth, by TFP state and aggregate capital",
    ),
    "value": (
        ("tfp_state", "capital", "wealth", "income"),
        "utility",
        "value of the policy, by TFP state and aggregate capital",
    ),
    "labour": (("tfp_state",), "efficiency units", "aggregate labour in each TFP state"),
    "K": (("simulation_date",), "consumption good", "simulated aggregate capital"),
    "z": (("simulation_date",), "1", "simulated TFP state index"),
    "K_forecast": (
        ("forecast_date",),
        "consumption good",
        "dynamic forecast of K by the law of motion from the end of the burn-in (Den Haan)",
    ),
    "loss_by_iteration": (
        ("training_step",),
        "utility",
        "training loss (minus the mean initial value) at every gradient step",
    ),
}

#: Result dims that get an index coordinate (units, long name).
_RESULT_COORDS = {
    "tfp_state": ("1", "TFP state index"),
    "coefficient": ("1", "coefficient of the law of motion (0: intercept b0, 1: slope b1)"),
    "capital": ("1", "aggregate capital grid point"),
    "simulation_date": ("period", "date of the simulation"),
    "forecast_date": ("period", "date of the forecast from the end of the burn-in"),
    "training_step": ("1", "gradient step"),
}


def _result_coord(dim: str, size: int) -> xr.Variable:
    units, long_name = _RESULT_COORDS[dim]
    return xr.Variable(dim, np.arange(size), {"units": units, "long_name": long_name})


def _result_variable(
    key: str, value: Any, state_shape: tuple[int, ...], state_dims: tuple[str, ...]
) -> xr.Variable | None:
    """A numeric result array as a variable with named dims, or ``None`` (an attribute)."""
    if isinstance(value, dict | str | bool):
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.ndim == 0:
        return None
    units, long_name = _UNITS.get(key, ("1", key.replace("_", " ")))
    if key in _RESULTS and len(_RESULTS[key][0]) == arr.ndim:
        dims, units, long_name = _RESULTS[key]
    elif arr.size == int(np.prod(state_shape)):  # a quantity on the individual state grid
        arr, dims = arr.reshape(state_shape), state_dims
    else:  # a result this module does not know: dims named after it
        dims = (key,) if arr.ndim == 1 else tuple(f"{key}_axis{i}" for i in range(arr.ndim))
    return xr.Variable(dims, arr, {"units": units, "long_name": f"solver result: {long_name}"})


def _result_attr(value: Any) -> Any:
    arr = np.asarray(value) if not isinstance(value, dict | str) else None
    if arr is not None and arr.dtype.kind in "iuf" and arr.ndim == 0:
        return float(arr)
    return _attr_value(value)


# --- writing and reading files -------------------------------------------------------------------


def data_checksum(dataset: xr.Dataset) -> str:
    """``"sha256:<hex>"`` over every variable (coordinates included), sorted by name: its
    name, dims, dtype, shape and values (NaNs made canonical, little-endian bytes)."""
    digest = hashlib.sha256()
    for name in sorted(str(n) for n in dataset.variables):
        values = np.asarray(dataset.variables[name].values)
        if values.dtype.kind in "iufcb":
            values = values.astype(values.dtype.newbyteorder("<"), copy=False)
            if values.dtype.kind in "fc":
                values = np.where(np.isnan(values), np.nan, values).astype(values.dtype)
            payload = np.ascontiguousarray(values).tobytes()
        else:
            payload = json.dumps(values.tolist(), default=str).encode()
        header = [name, list(dataset.variables[name].dims), values.dtype.str, list(values.shape)]
        digest.update(json.dumps(header).encode())
        digest.update(len(payload).to_bytes(8, "little"))
        digest.update(payload)
    return "sha256:" + digest.hexdigest()


def check_contents(dataset: xr.Dataset, where: str = "dataset") -> None:
    """Raise ``ValueError`` naming everything a results file must hold that ``dataset`` lacks:
    the attributes :data:`REQUIRED_ATTRS`, then the variables and their dims of its kind
    (:data:`REQUIRED_VARIABLES`)."""
    missing = [a for a in REQUIRED_ATTRS if a not in dataset.attrs]
    kind = dataset.attrs.get("hank_mfg_kind")
    if kind is not None and kind not in REQUIRED_VARIABLES:
        raise ValueError(
            f"{where}: hank_mfg_kind must be one of {sorted(REQUIRED_VARIABLES)}, got {kind!r}"
        )
    required = REQUIRED_VARIABLES.get(kind, {})
    missing += [f"{name}{list(dims)}" for name, dims in required.items() if name not in dataset]
    if missing:
        hint = ""
        if "distribution" not in dataset and kind in REQUIRED_VARIABLES:
            hint = "; a solution must be evaluated (hank_mfg.evaluate) before it is written"
        raise ValueError(
            f"{where} is not a complete hank_mfg results file of kind {kind!r}: missing "
            f"{', '.join(missing)}{hint}"
        )
    for name, dims in required.items():
        if tuple(dataset[name].dims) != dims:
            raise ValueError(
                f"{where}: variable {name!r} has dims {tuple(dataset[name].dims)}, expected {dims}"
            )


def label_sequence_dataset(
    dataset: xr.Dataset, kind: str, settings: Mapping[str, Any], seed: int = -1
) -> xr.Dataset:
    """A sequence-space Dataset (``ImpulseResponse.to_xarray()``, ``Transition.to_xarray()``)
    with what every results file holds: format, ``kind`` (``"irf"`` or ``"transition"``),
    the settings as JSON, seed, creation time and package versions."""
    if kind not in ("irf", "transition"):
        raise ValueError(f"kind must be 'irf' or 'transition', got {kind!r}")
    attrs = {
        "hank_mfg_format": FORMAT_VERSION,
        "hank_mfg_kind": kind,
        "settings": json.dumps(dict(settings), default=lambda o: np.asarray(o).tolist()),
        "seed": int(seed),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "Conventions": "CF-1.8",
        **_versions(),
    }
    for name in ("model", "solver"):
        if name not in dataset.attrs:
            raise ValueError(f"dataset: a {kind} Dataset must have the attribute {name!r}")
    dataset = dataset.copy()
    for name, (units, long_name) in _UNITS.items():  # units of the variables we know
        if name in dataset and dataset[name].attrs.get("deviation") == "absolute":
            dataset[name].attrs.update(units=units, long_name=f"response of {long_name}")
    return dataset.assign_attrs(attrs)


def to_netcdf(dataset: xr.Dataset, path: str | os.PathLike) -> None:
    """Write ``dataset`` to ``path`` atomically with the netcdf4 engine, with its checksum.

    Raises:
        ValueError: ``dataset`` lacks what :func:`open_solution` requires (see
            :func:`check_contents`); nothing is written.
    """
    check_contents(dataset)
    dataset = dataset.assign_attrs({CHECKSUM_ATTR: data_checksum(dataset)})
    atomic_write(path, lambda tmp: dataset.to_netcdf(tmp, engine="netcdf4", format="NETCDF4"))


def open_solution(path: str | os.PathLike) -> xr.Dataset:
    """Read a results file written by hank_mfg (loaded into memory), checking its contents.

    Raises:
        ValueError: the path is missing, a temporary file of an interrupted write, not a
            regular file (a folder, a FIFO…), unreadable, not a hank_mfg results file of this
            format, lacks a required attribute, variable or dimension, or its data do not match
            the checksum stored when it was written.
    """
    path = os.fspath(path)
    if not os.path.lexists(path):
        raise ValueError(f"no results file at {path!r}")
    if is_partial(path) or is_partial(os.path.realpath(path)):
        raise ValueError(f"{path!r} is a temporary file of an unfinished write, not a results file")
    try:
        mode = os.stat(path).st_mode  # never open a FIFO or device: reading one can block
    except OSError as err:
        raise ValueError(f"cannot read {path!r} ({err})") from err
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path!r} is not a regular file, so not a results file")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
    except Exception as err:  # netCDF4/HDF5 raise several kinds for damaged files
        raise ValueError(f"{path!r} is not a readable NetCDF file ({err})") from err
    version = ds.attrs.get("hank_mfg_format")
    if version is None:
        raise ValueError(f"{path!r} is not a hank_mfg results file (no hank_mfg_format attribute)")
    if str(version) != FORMAT_VERSION:
        raise ValueError(
            f"{path!r} is a hank_mfg results file of format {version!r}; this version reads "
            f"format {FORMAT_VERSION!r} (solve again to write it)"
        )
    check_contents(ds, repr(path))
    stored = ds.attrs.get(CHECKSUM_ATTR)
    if stored is None:
        raise ValueError(f"{path!r} has no {CHECKSUM_ATTR} attribute, so it cannot be verified")
    if stored != data_checksum(ds):
        raise ValueError(
            f"{path!r}: its data do not match the checksum stored when it was written "
            f"({CHECKSUM_ATTR}); the file is damaged or was changed after writing"
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
