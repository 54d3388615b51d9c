"""Command line: ``hank-mfg {list, solve, evaluate, plot, demo}``.

    hank-mfg list
    hank-mfg solve MODEL --solver S [--preset NAME] [--set key=value ...] [--iterations N]
                   [--seed S] --out FILE.nc [--quiet]
    hank-mfg evaluate FILE.nc
    hank-mfg plot FILE.nc --out DIR
    hank-mfg demo            # main job: Krusell–Smith, classical and RSPG -> ks.nc

Bad input (unknown model, preset, solver, key or value) prints one line saying what is allowed
and exits with code 2 before any work starts; no output file is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["main"]

MODELS = ("linear_quadratic", "beach_bar", "aiyagari", "krusell_smith", "seed_macro")
PRESETS = {
    "aiyagari": ("aiyagari_1994", "quantecon_aiyagari"),
    "krusell_smith": ("krusell_smith_1998",),
    "seed_macro": ("seed_macro",),
    "linear_quadratic": (),
    "beach_bar": (),
}
SOLVERS = ("egm", "krusell-smith", "spg", "rspg", "ippo", "rippo", "momd")
SOLVERS_FOR = {
    "egm": ("aiyagari",),
    "krusell-smith": ("krusell_smith",),
    "spg": MODELS,
    "rspg": MODELS,
    # model-free baselines need a discrete action set
    "ippo": ("linear_quadratic", "beach_bar", "seed_macro"),
    "rippo": ("linear_quadratic", "beach_bar", "seed_macro"),
    "momd": ("linear_quadratic", "beach_bar", "seed_macro"),
}
#: Model settings accepted by ``--set`` (others are solver settings, see SPGConfig).
MODEL_KEYS = {
    "linear_quadratic": ("horizon", "discount", "common_noise", "n_states", "sigma", "rho"),
    "beach_bar": ("horizon", "discount", "common_noise", "n_states", "close_prob"),
    "aiyagari": ("horizon", "n_wealth", "wealth_max", "rho", "sigma", "crra"),
    "krusell_smith": ("horizon", "n_wealth", "wealth_max"),
    "seed_macro": ("horizon",),
}


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def _parse_sets(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--set takes key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


class ProgressBar:
    """A one-line text progress bar on stderr (silent when ``quiet``)."""

    def __init__(self, total: int, label: str, quiet: bool = False) -> None:
        self.total, self.label, self.quiet = max(total, 1), label, quiet
        self.start = time.perf_counter()

    def update(self, done: int, note: str = "") -> None:
        if self.quiet:
            return
        frac = min(done / self.total, 1.0)
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{self.total} {elapsed:6.1f}s {note}")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.quiet:
            sys.stderr.write("\n")


def _build_model(model: str, preset: str | None, settings: dict[str, Any]) -> Any:
    from hank_mfg import calibration as cal_mod
    from hank_mfg import models

    kwargs = {k: v for k, v in settings.items() if k in MODEL_KEYS[model]}
    if model == "linear_quadratic":
        return models.LinearQuadratic(**kwargs)
    if model == "beach_bar":
        return models.BeachBar(**kwargs)
    horizon = kwargs.pop("horizon", None)
    name = preset or PRESETS[model][0]
    if model == "aiyagari":
        factory = getattr(cal_mod, name)
        args = {k: kwargs.pop(k) for k in ("rho", "sigma", "crra") if k in kwargs}
        cal = factory(**args, **kwargs) if name == "aiyagari_1994" else factory()
        return models.aiyagari(cal, **({} if horizon is None else {"horizon": horizon}))
    if model == "krusell_smith":
        cal = cal_mod.krusell_smith_1998(**kwargs)
        return models.krusell_smith(cal, **({} if horizon is None else {"horizon": horizon}))
    return models.seed_macro(horizon=horizon)


def _config_class(solver: str) -> Any:
    """The settings class of a learning solver (``None`` for the classical ones)."""
    if solver in ("spg", "rspg"):
        from hank_mfg.solvers.spg import SPGConfig

        return SPGConfig
    if solver in ("ippo", "rippo"):
        from hank_mfg.solvers.rl import PPOConfig

        return PPOConfig
    if solver == "momd":
        from hank_mfg.solvers.rl import MOMDConfig

        return MOMDConfig
    return None


def _check_request(args: argparse.Namespace) -> dict[str, Any]:
    """Validate model, preset, solver and --set keys before any work; return the settings."""

    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}; allowed: {', '.join(MODELS)}")
    if args.preset is not None and args.preset not in PRESETS[args.model]:
        allowed = ", ".join(PRESETS[args.model]) or "none"
        raise UsageError(f"unknown preset {args.preset!r} for {args.model}; allowed: {allowed}")
    if args.solver not in SOLVERS_FOR:
        raise UsageError(
            f"solver {args.solver!r} is not available in this version; available: "
            f"{', '.join(SOLVERS_FOR)}"
        )
    if args.model not in SOLVERS_FOR[args.solver]:
        raise UsageError(
            f"solver {args.solver!r} does not apply to {args.model}; it solves: "
            f"{', '.join(SOLVERS_FOR[args.solver])}"
        )
    settings = _parse_sets(args.set)
    allowed = set(MODEL_KEYS[args.model])
    config_class = _config_class(args.solver)
    if config_class is not None:
        allowed |= {f.name for f in dataclasses.fields(config_class)} - {"checkpoint_dir"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise UsageError(
            f"unknown setting {unknown[0]!r} for {args.model} with {args.solver}; allowed: "
            f"{', '.join(sorted(allowed))}"
        )
    if args.iterations is not None and args.iterations < 1:
        raise UsageError(f"--iterations must be an integer >= 1, got {args.iterations}")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise UsageError(f"--out folder {out_dir!r} does not exist")
    return settings


def _solve(args: argparse.Namespace) -> int:
    settings = _check_request(args)
    import jax

    if args.solver in ("egm", "krusell-smith"):
        jax.config.update("jax_enable_x64", True)  # classical solvers run in float64
    try:
        game = _build_model(args.model, args.preset, settings)
    except (ValueError, TypeError) as err:
        raise UsageError(str(err).splitlines()[0]) from err
    bar = ProgressBar(args.iterations or 1, f"{args.solver} on {args.model}", args.quiet)
    if args.solver == "egm":
        from hank_mfg.solvers.stationary import solve_stationary

        bar.update(0, "equilibrium search")
        solution = solve_stationary(game)
        bar.update(bar.total, f"r* = {solution.results['r']:.6f}")
    elif args.solver == "krusell-smith":
        from hank_mfg.solvers.krusell_smith import solve_krusell_smith

        bar.update(0, "law-of-motion iterations")
        solution = solve_krusell_smith(game)
        bar.update(bar.total, "converged")
    else:
        config_class = _config_class(args.solver)
        keys = {f.name for f in dataclasses.fields(config_class)}
        cfg_args = {k: v for k, v in settings.items() if k in keys}
        if "hidden" in cfg_args:  # --set hidden=64 or hidden=64,64
            hidden = cfg_args["hidden"]
            cfg_args["hidden"] = (
                (hidden,)
                if isinstance(hidden, int)
                else tuple(int(h) for h in str(hidden).split(","))
            )
        if args.iterations is not None:
            cfg_args["iterations"] = args.iterations
        cfg_args["seed"] = args.seed
        if "recurrent" in keys:
            cfg_args["recurrent"] = args.solver in ("rspg", "rippo")
        try:
            config = config_class(**cfg_args)
        except (ValueError, TypeError) as err:
            raise UsageError(str(err)) from err
        bar.total = config.iterations

        def progress(p: Any) -> None:
            bar.update(p.iteration, f"exploitability {p.exploitability:.4g}")

        solution = _learn(game, args.solver, config, progress)
    bar.close()
    solution.to_netcdf(args.out)
    if not args.quiet:
        print(f"{args.solver} on {args.model}: exploitability {solution.exploitability:.6g}")
        print(f"wrote {args.out}")
    return 0


def _learn(game: Any, solver: str, config: Any, progress: Callable[[Any], None]) -> Any:
    if solver in ("spg", "rspg"):
        from hank_mfg.solvers.spg import train

        return train(game, config, callback=progress, solver_name=solver)
    from hank_mfg.solvers import rl

    return getattr(rl, solver)(game, config, callback=progress)


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from hank_mfg.results import open_solution

    try:
        ds = open_solution(args.file)
    except ValueError as err:
        raise UsageError(str(err)) from err
    print(f"{ds.attrs['model']} solved by {ds.attrs['solver']}")
    if "exploitability" in ds:
        print(
            f"  exploitability      {float(ds['exploitability']):.6g} (utility; mean gain from "
            f"deviating, {ds.sizes.get('sample', 0)} paths)"
        )
    if "exploitability_consumption" in ds:
        print(
            f"    as consumption    {float(ds['exploitability_consumption']):.4g}% of consumption "
            "(permanent cut that costs as much)"
        )
    for name in ("r", "w", "K", "Y"):
        if name in ds:
            da = ds[name]
            print(f"  mean {name:<3} over paths {float(da.mean()):.6g} [{da.attrs.get('units')}]")
    attrs = ds.attrs
    for key in ("result_r", "result_K", "result_residual"):
        if key in attrs:
            print(f"  {key[7:]:<19} {attrs[key]:.6g}")
    if "result_coefficients" in ds:  # the Krusell–Smith algorithm's diagnostics
        b = np.asarray(ds["result_coefficients"].values)
        r2 = np.asarray(ds["result_r2"].values) if "result_r2" in ds else np.full(len(b), np.nan)
        print("  law of motion       log K' = b0(z) + b1(z) log K")
        for i, (row, r2_i) in enumerate(zip(b, r2, strict=True)):
            print(f"    z = {i}             b0 = {row[0]:.6f}  b1 = {row[1]:.6f}  R^2 = {r2_i:.8f}")
    if "result_den_haan_max_percent" in attrs:
        print(
            f"  Den Haan error      max {attrs['result_den_haan_max_percent']:.4f}%, mean "
            f"{attrs['result_den_haan_mean_percent']:.4f}% of K (dynamic forecast)"
        )
    if "result_converged" in attrs:
        state = "converged" if int(attrs["result_converged"]) else "NOT converged"
        change = attrs.get("result_coefficient_change", np.nan)
        print(
            f"  fixed point         {state} after {int(attrs.get('result_iterations', 0))} "
            f"iterations (last coefficient change {change:.3g})"
        )
    return 0


def _plot(args: argparse.Namespace) -> int:
    from hank_mfg.results import open_solution

    try:
        ds = open_solution(args.file)
    except ValueError as err:
        raise UsageError(str(err)) from err
    import matplotlib.pyplot as plt

    from hank_mfg.plotting import standard_figures

    os.makedirs(args.out, exist_ok=True)
    for stem, fig in standard_figures(ds).items():
        path = os.path.join(args.out, f"{stem}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        print(path)
    return 0


def _list(args: argparse.Namespace) -> int:
    print("models:  " + ", ".join(MODELS))
    for model in MODELS:
        presets = ", ".join(PRESETS[model]) or "-"
        print(f"  {model:<17} presets: {presets}; --set keys: {', '.join(MODEL_KEYS[model])}")
    print("solvers: " + ", ".join(SOLVERS))
    for solver, models_ in SOLVERS_FOR.items():
        print(f"  {solver:<14} solves: {', '.join(models_)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The main job: Krusell–Smith by its classical algorithm and by RSPG, side by side."""
    from hank_mfg.workflows import QUICK, check_comparison_settings, krusell_smith_comparison

    settings = dict(QUICK) if args.quick else {}
    for name in ("iterations", "n_wealth", "eval_paths"):  # explicit flags win over --quick
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    try:
        check_comparison_settings(**settings)
    except ValueError as err:
        raise UsageError(str(err)) from err
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise UsageError(f"--out folder {out_dir!r} does not exist")
    import jax

    jax.config.update("jax_enable_x64", True)
    import inspect

    import matplotlib.pyplot as plt

    from hank_mfg.plotting import standard_figures

    iterations = settings.get(
        "iterations", inspect.signature(krusell_smith_comparison).parameters["iterations"].default
    )
    bar = ProgressBar(iterations, "RSPG on krusell_smith", args.quiet)
    if not args.quiet:
        print("Krusell-Smith (1998): classical algorithm, then RSPG on the same game ...")

    def progress(p: Any) -> None:
        bar.update(p.iteration, f"exploitability {p.exploitability:.4g}")

    def comparison_figure(rspg_ds: Any, classical_ds: Any) -> Any:
        """Exploitability against seconds: RSPG's curve, the classical level (if drawn)."""
        try:
            from hank_mfg.plotting import plot_comparison
        except ImportError:  # a version without the figure
            return None
        return plot_comparison(rspg_ds, classical_ds)

    result = krusell_smith_comparison(**settings, seed=args.seed, callback=progress)
    bar.close()
    result.rspg.to_netcdf(args.out)
    stem, ext = os.path.splitext(args.out)
    classical_path = f"{stem}_classical{ext or '.nc'}"
    result.classical.to_netcdf(classical_path)
    os.makedirs(args.figures, exist_ok=True)
    rspg_ds, classical_ds = result.rspg.to_xarray(), result.classical.to_xarray()
    figures = dict(standard_figures(rspg_ds))
    comparison = comparison_figure(rspg_ds, classical_ds)
    if comparison is not None:
        figures["comparison"] = comparison
    written = []
    for name, fig in figures.items():
        path = os.path.join(args.figures, f"{name}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    if args.quick:
        print("--quick: a smoke run at small settings; RSPG is far from trained here")
    print(result.render())
    print(f"wrote {args.out} (RSPG) and {classical_path} (Krusell-Smith algorithm)")
    print(f"figures: {args.figures}/ ({len(written)} PNG files)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hank-mfg", description="hank_mfg command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="models, presets and solvers").set_defaults(run=_list)
    solve = sub.add_parser("solve", help="solve a model and write a NetCDF results file")
    solve.add_argument("model")
    solve.add_argument("--solver", required=True)
    solve.add_argument("--preset", default=None)
    solve.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    solve.add_argument("--iterations", type=int, default=None)
    solve.add_argument("--seed", type=int, default=0)
    solve.add_argument("--out", required=True, metavar="FILE.nc")
    solve.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    solve.set_defaults(run=_solve)
    ev = sub.add_parser("evaluate", help="print exploitability and aggregates of a results file")
    ev.add_argument("file")
    ev.set_defaults(run=_evaluate)
    plot = sub.add_parser("plot", help="write the standard figures of a results file")
    plot.add_argument("file")
    plot.add_argument("--out", required=True, metavar="DIR")
    plot.set_defaults(run=_plot)
    demo = sub.add_parser(
        "demo", help="main job: Krusell-Smith by its classical algorithm and by RSPG"
    )
    demo.add_argument("--out", default="ks.nc", metavar="FILE.nc", help="RSPG results file")
    demo.add_argument("--figures", default="figures", metavar="DIR", help="figure folder")
    demo.add_argument(
        "--iterations", type=int, default=None, help="RSPG iterations (>= 1; default 1600)"
    )
    demo.add_argument(
        "--n-wealth", type=int, default=None, help="wealth grid points (>= 10; default 100)"
    )
    demo.add_argument(
        "--eval-paths", type=int, default=None, help="common TFP paths (>= 1; default 16)"
    )
    demo.add_argument(
        "--quick", action="store_true", help="smoke run of about ten seconds (small settings)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hank-mfg``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except UsageError as err:
        print(f"hank-mfg: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
