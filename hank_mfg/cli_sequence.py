"""The sequence-space commands of ``hank-mfg``: ``irf`` and ``transition``.

``hank-mfg irf MODEL --shock Z=0.01,0.8 --horizon 300 --out irf.nc`` — linear impulse
responses of every aggregate to each shock (a size and a persistence: ``dX_t = size ρ^t``;
the size absolute in the input's units, or ``1%`` of its steady-state value).

``hank-mfg transition MODEL --set tau=0.3 --out reform.nc`` — the reform's new steady state (at
the old β and TFP), the nonlinear transition to it from the old distribution, and the welfare
of the reform by wealth group; ``--shock`` adds temporary shocks on top.

Both write one NetCDF file atomically (nothing on bad input: exit code 2; a solve that fails:
exit code 1).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

#: The built-in sequence-space models (:mod:`hank_mfg.models.sequence_models`), named here so
#: that ``--help`` and a wrong name answer before JAX is imported.
SEQUENCE_MODEL_NAMES = ("krusell_smith_ssj", "fiscal_transfers", "hank", "hank_zlb")
#: ``--set`` keys that size the grids, and their types.
GRID_SETTINGS = {"n_income": int, "n_wealth": int, "wealth_max": float}

__all__ = ["GRID_SETTINGS", "SEQUENCE_MODEL_NAMES", "add_commands", "parse_shock"]


def _usage(message: str) -> Exception:
    from hank_mfg.cli import UsageError

    return UsageError(message)


def parse_shock(text: str) -> tuple[str, float, bool, float]:
    """``NAME=SIZE,RHO`` -> (name, size, size is a percent of the steady state, ρ)."""
    if "=" not in text:
        raise _usage(f"--shock takes NAME=SIZE,RHO (e.g. Z=0.01,0.8 or Z=1%,0.8), got {text!r}")
    name, rest = (part.strip() for part in text.split("=", 1))
    parts = [p.strip() for p in rest.split(",")]
    if not name or len(parts) != 2:
        raise _usage(f"--shock takes NAME=SIZE,RHO (e.g. Z=0.01,0.8 or Z=1%,0.8), got {text!r}")
    size_text, rho_text = parts
    percent = size_text.endswith("%")
    try:
        size = float(size_text.rstrip("%"))
        rho = float(rho_text)
    except ValueError:
        raise _usage(f"--shock {name}: SIZE and RHO must be numbers, got {rest!r}") from None
    if not math.isfinite(size):
        raise _usage(f"--shock {name}: the size must be finite, got {size_text!r}")
    if not -1.0 < rho < 1.0:
        raise _usage(f"--shock {name}: the persistence RHO must be in (-1, 1), got {rho_text}")
    return name, size, percent, rho


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, float]]:
    """``--set`` split into grid settings and input changes (a reform)."""
    from hank_mfg.cli import parse_sets

    grid, changes = {}, {}
    for key, value in parse_sets(args.set).items():
        kind = GRID_SETTINGS.get(key, float)
        try:
            parsed = kind(value)
        except ValueError:
            raise _usage(f"--set {key}: expected a {kind.__name__}, got {value!r}") from None
        if not math.isfinite(parsed):
            raise _usage(f"--set {key}: must be finite, got {value!r}")
        (grid if key in GRID_SETTINGS else changes)[key] = parsed
    if grid.get("n_wealth", 10) < 10 or grid.get("n_income", 2) < 2:
        raise _usage("--set n_wealth must be >= 10 and n_income >= 2")
    if grid.get("wealth_max", 1.0) <= 0:
        raise _usage("--set wealth_max must be positive")
    return grid, changes


def _check_common(args: argparse.Namespace) -> None:
    from hank_mfg.cli import check_output_file

    if args.model not in SEQUENCE_MODEL_NAMES:
        raise _usage(
            f"unknown sequence-space model {args.model!r}; allowed: "
            f"{', '.join(SEQUENCE_MODEL_NAMES)}"
        )
    if args.horizon < 2:
        raise _usage(f"--horizon must be at least 2 periods, got {args.horizon}")
    check_output_file(args.out, "--out")


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _prepare(args: argparse.Namespace) -> tuple[Any, dict[str, float], list, dict[str, Any]]:
    """Checks, then the model: (spec, reform changes, parsed shocks, settings)."""
    _check_common(args)
    grid, changes = _settings(args)
    shocks = [parse_shock(s) for s in args.shock]
    names = [s[0] for s in shocks]
    if len(set(names)) != len(names):
        raise _usage(f"--shock names a variable twice: {', '.join(names)}")
    from hank_mfg.cli import start_compilation_cache
    from hank_mfg.models.sequence_models import sequence_model

    spec = sequence_model(args.model, **grid)
    for name in names:
        if name not in spec.shocks:
            raise _usage(
                f"--shock {name}: model {args.model!r} has no shock {name!r}; allowed: "
                f"{', '.join(spec.shocks)}"
            )
    if changes and not spec.reform_unknowns:
        raise _usage(
            f"--set {', '.join(changes)}: model {args.model!r} has no reform steady state "
            "built in (give temporary shocks with --shock)"
        )
    free = [k for k in spec.model.exogenous() if k not in spec.unknowns]
    for name in changes:
        if name not in free:
            raise _usage(
                f"--set {name}: not a setting or an input of model {args.model!r}; grid "
                f"settings: {', '.join(GRID_SETTINGS)}; inputs: {', '.join(free)}"
            )
    start_compilation_cache(args)
    settings = {"model": args.model, "horizon": args.horizon, **grid, **changes}
    settings["shocks"] = {n: {"size": s, "percent": p, "rho": r} for n, s, p, r in shocks}
    return spec, changes, shocks, settings


def _shock_paths(shocks: list, steady: Any, T: int) -> dict[str, Any]:
    import numpy as np

    out = {}
    for name, size, percent, rho in shocks:
        scale = size / 100.0 * steady[name] if percent else size
        out[name] = scale * rho ** np.arange(T, dtype=np.float64)
    return out


def _failures() -> tuple[type[BaseException], ...]:
    return (ValueError, RuntimeError, FloatingPointError)


def _irf(args: argparse.Namespace) -> int:
    from hank_mfg.cli import SolveFailed

    spec, changes, shocks, settings = _prepare(args)
    if changes:
        raise _usage(
            f"irf: --set takes only grid settings ({', '.join(GRID_SETTINGS)}); for a reform "
            f"of {', '.join(changes)} use 'hank-mfg transition'"
        )
    if not shocks:
        raise _usage("irf: give at least one --shock NAME=SIZE,RHO")
    from hank_mfg.results import label_sequence_dataset, to_netcdf
    from hank_mfg.solvers.sequence import linearize
    from hank_mfg.solvers.steady_state import steady_state

    try:
        t0 = time.perf_counter()
        steady = steady_state(*spec.steady)
        _say(args, f"steady state: {_describe(steady.unknowns)} ({time.perf_counter() - t0:.1f}s)")
        t0 = time.perf_counter()
        names = [s[0] for s in shocks]
        linear = linearize(spec.model, steady, spec.unknowns, spec.targets, names, args.horizon)
        _say(args, f"Jacobians, T={args.horizon}: {time.perf_counter() - t0:.1f}s")
        irf = linear.irf(_shock_paths(shocks, steady, args.horizon))
    except _failures() as err:
        raise SolveFailed(f"irf failed: {err}") from err
    ds = label_sequence_dataset(irf.to_xarray(), "irf", settings)
    to_netcdf(ds, args.out)
    peaks = ", ".join(f"{k} {abs(irf[k]).max():.3g}" for k in ("K", "Y", "C", "r") if k in ds)
    _say(args, f"wrote {args.out} (largest responses: {peaks})")
    return 0


def _describe(values: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v:.6g}" for k, v in values.items())


def _transition(args: argparse.Namespace) -> int:
    from hank_mfg.cli import SolveFailed

    spec, changes, shocks, settings = _prepare(args)
    if not changes and not shocks:
        raise _usage("transition: give a reform (--set NAME=VALUE) and/or --shock NAME=SIZE,RHO")
    import numpy as np
    import xarray as xr

    from hank_mfg.results import label_sequence_dataset, to_netcdf
    from hank_mfg.solvers.distributional import consumption_equivalent, household_path
    from hank_mfg.solvers.sequence import reform_steady_state, transition
    from hank_mfg.solvers.steady_state import steady_state

    try:
        t0 = time.perf_counter()
        old = steady_state(*spec.steady)
        _say(args, f"steady state: {_describe(old.unknowns)} ({time.perf_counter() - t0:.1f}s)")
        new = old
        if changes:
            t0 = time.perf_counter()
            bracket = {
                k: (lo * old[k], hi * old[k]) for k, (lo, hi) in spec.reform_unknowns.items()
            }
            new = reform_steady_state(spec.model, old, changes, bracket, spec.targets)
            moved = {k: new[k] for k in ("r", "K", *changes) if k in new.values}
            _say(args, f"new steady state: {_describe(moved)} ({time.perf_counter() - t0:.1f}s)")

        def progress(iteration: int, residual: float) -> None:
            _say(args, f"Newton step {iteration}: largest target error {residual:.3g}")

        path = transition(
            spec.model,
            new,
            spec.unknowns,
            spec.targets,
            _shock_paths(shocks, new, args.horizon),
            T=args.horizon,
            initial=old if changes else None,
            progress=progress,
        )
        hh = household_path(spec.model, path, new, old)
        welfare = consumption_equivalent(spec.model, old, hh)
    except _failures() as err:
        raise SolveFailed(f"transition failed: {err}") from err
    ds = path.to_xarray()
    groups = list(welfare["by_group"])
    ds["welfare"] = xr.DataArray(
        np.array([welfare["by_group"][g] for g in groups]),
        dims=("group",),
        coords={"group": groups},
        attrs={
            "units": "percent of consumption",
            "long_name": "consumption-equivalent welfare gain of the reform, transition "
            "included, mass-weighted mean by wealth group of the old steady state",
        },
    )
    ds.attrs["welfare_utilitarian"] = welfare["utilitarian"]
    ds.attrs["welfare_mean"] = welfare["mean"]
    to_netcdf(label_sequence_dataset(ds, "transition", settings), args.out)
    gains = ", ".join(f"{g} {welfare['by_group'][g]:+.3g}%" for g in groups)
    _say(
        args,
        f"welfare (consumption equivalent): {gains}; utilitarian {welfare['utilitarian']:+.3g}%",
    )
    _say(args, f"wrote {args.out}")
    return 0


def add_commands(sub: Any, add_cache_argument: Any) -> None:
    """Add ``irf`` and ``transition`` to the ``hank-mfg`` subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("model", metavar="MODEL", help=f"one of: {', '.join(SEQUENCE_MODEL_NAMES)}")
    common.add_argument(
        "--shock",
        action="append",
        default=[],
        metavar="NAME=SIZE,RHO",
        help="a shock dX_t = SIZE RHO^t on an input (SIZE absolute, or e.g. 1%% of its "
        "steady-state value; repeatable)",
    )
    common.add_argument("--horizon", type=int, default=300, metavar="T", help="periods (300)")
    common.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"a grid setting ({', '.join(GRID_SETTINGS)}) or, for transition, an input's "
        "new value (a reform); repeatable",
    )
    common.add_argument("--out", required=True, metavar="FILE.nc", help="NetCDF file to write")
    common.add_argument("--quiet", action="store_true", help="no progress lines")
    epilog = "Exit codes: 0 done, 1 the solve failed, 2 bad input (nothing is written)."
    irf = sub.add_parser(
        "irf",
        parents=[common],
        help="linear impulse responses in the sequence space (NetCDF)",
        description=__doc__.split("\n\n")[1],
        epilog=epilog,
    )
    add_cache_argument(irf)
    irf.set_defaults(run=_irf)
    reform = sub.add_parser(
        "transition",
        parents=[common],
        help="a reform's new steady state, the transition to it and its welfare (NetCDF)",
        description=__doc__.split("\n\n")[2],
        epilog=epilog,
    )
    add_cache_argument(reform)
    reform.set_defaults(run=_transition)
