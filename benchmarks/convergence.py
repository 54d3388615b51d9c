"""Exploitability against wall-clock time: RSPG, SPG, IPPO, RIPPO and M-OMD, equal budgets.

Games: the linear-quadratic game, the beach bar with common noise, and the seed's macro economy
(``seed_macro``: 200 wealth × 5 income, 20 actions, T = 128). Every solver gets the same
training budget in seconds (compilation included, exact evaluations excluded) on each game,
for ``--seeds`` seeds, with its default settings; exploitability is the core's exact
evaluation (8 common-noise paths, the same for every solver).

Reported per game and solver: the final exploitability (mean and per seed) and the seconds to
reach twice RSPG's final exploitability (mean over the seeds that reach it, with their count;
``null`` when none does). A figure like the seed's wall-clock panel (exploitability against
seconds, median over seeds with the min–max band) goes to ``--figures``.

Usage::

    python benchmarks/convergence.py            # table (about 40 minutes at the defaults)
    python benchmarks/convergence.py --json     # one JSON object on stdout, nothing else
    python benchmarks/convergence.py --quick    # small budgets, one seed (a check)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
if str(Path(__file__).resolve().parent) not in sys.path:  # sibling helper module
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import stdout_to_stderr  # noqa: E402

from hank_mfg.models import BeachBar, LinearQuadratic  # noqa: E402
from hank_mfg.models.seed_macro import seed_macro  # noqa: E402
from hank_mfg.solvers.rl import MOMDConfig, PPOConfig, ippo, momd, rippo  # noqa: E402
from hank_mfg.solvers.spg import SPGConfig, train  # noqa: E402

SOLVERS = ("rspg", "spg", "ippo", "rippo", "momd")
GAMES: dict[str, Callable[[], Any]] = {
    "linear_quadratic": LinearQuadratic,
    "beach_bar": lambda: BeachBar(common_noise=True),
    "seed_macro": seed_macro,
}
#: Iterations between evaluations, per game (about ten evaluations per run).
EVAL_EVERY = {
    "linear_quadratic": {"rspg": 20, "spg": 20, "ippo": 10, "rippo": 10, "momd": 5},
    "beach_bar": {"rspg": 20, "spg": 20, "ippo": 10, "rippo": 10, "momd": 5},
    "seed_macro": {"rspg": 5, "spg": 5, "ippo": 5, "rippo": 5, "momd": 2},
}
MANY = 1_000_000  # iterations: the budget stops every run


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_one(game: Any, game_name: str, solver: str, seed: int, budget: float) -> dict[str, Any]:
    """Train one solver for ``budget`` seconds of training time; its history."""
    every = EVAL_EVERY[game_name][solver]

    def stop(progress: Any) -> bool:
        return progress.seconds >= budget

    if solver in ("rspg", "spg"):
        config = SPGConfig(iterations=MANY, recurrent=solver == "rspg", eval_every=every, seed=seed)
        sol = train(game, config, callback=stop)
    elif solver in ("ippo", "rippo"):
        fn = ippo if solver == "ippo" else rippo
        sol = fn(game, PPOConfig(iterations=MANY, eval_every=every, seed=seed), callback=stop)
    else:
        sol = momd(game, MOMDConfig(iterations=MANY, eval_every=every, seed=seed), callback=stop)
    h = sol.history
    return {
        "seconds": [float(x) for x in h["seconds"]],
        "exploitability": [float(x) for x in h["exploitability"]],
        "iteration": [int(x) for x in h["iteration"]],
    }


def time_to_reach(run: dict[str, Any], target: float) -> float | None:
    for seconds, expl in zip(run["seconds"], run["exploitability"], strict=True):
        if expl <= target:
            return seconds
    return None


def summarise(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for game_name, by_solver in runs.items():
        finals = {s: [r["exploitability"][-1] for r in rs] for s, rs in by_solver.items()}
        rspg_final = float(np.mean(finals["rspg"])) if "rspg" in finals else None
        target = None if rspg_final is None else 2.0 * rspg_final
        game_out: dict[str, Any] = {"target_2x_rspg": target}
        for solver, rs in by_solver.items():
            times = [time_to_reach(r, target) for r in rs] if target is not None else []
            reached = [t for t in times if t is not None]
            game_out[solver] = {
                "final_exploitability": float(np.mean(finals[solver])),
                "final_exploitability_per_seed": finals[solver],
                "initial_exploitability": float(np.mean([r["exploitability"][0] for r in rs])),
                "seconds_to_2x_rspg_final": float(np.mean(reached)) if reached else None,
                "seeds_reaching_2x_rspg_final": len(reached),
                "iterations": [r["iteration"][-1] for r in rs],
            }
        out[game_name] = game_out
    return out


def save_figure(runs: dict[str, Any], folder: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 4), squeeze=False)
    for ax, (game_name, by_solver) in zip(axes[0], runs.items(), strict=True):
        for solver, rs in by_solver.items():
            end = min(r["seconds"][-1] for r in rs)
            grid = np.linspace(0.0, end, 60)
            # exploitability known at each evaluation; step-wise in between
            curves = []
            for r in rs:
                idx = np.searchsorted(r["seconds"], grid, side="right") - 1
                curves.append(np.maximum(np.asarray(r["exploitability"])[idx], 1e-9))
            curves = np.asarray(curves)
            (line,) = ax.plot(grid, np.median(curves, axis=0), label=solver.upper())
            ax.fill_between(
                grid, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.15
            )
        ax.set_yscale("log")
        ax.set_xlabel("training wall time (s, compilation included)")
        ax.set_ylabel("exploitability (reward units)")
        ax.set_title(game_name.replace("_", " "))
        ax.legend(fontsize="small")
    fig.tight_layout()
    path = folder / "convergence_wall_clock.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


def render(summary: dict[str, Any], budgets: dict[str, float], n_seeds: int) -> str:
    lines = [f"Exploitability after equal training budgets ({n_seeds} seeds; this machine)"]
    for game_name, g in summary.items():
        target = g["target_2x_rspg"]
        lines.append(
            f"{game_name} (budget {budgets[game_name]:.0f} s; target 2x RSPG final = {target:.4g})"
            if target is not None
            else game_name
        )
        lines.append(f"  {'solver':<7}{'initial':>12}{'final':>12}{'s to target':>13}{'runs':>6}")
        for solver in SOLVERS:
            if solver not in g:
                continue
            s = g[solver]
            t = s["seconds_to_2x_rspg_final"]
            lines.append(
                f"  {solver:<7}{s['initial_exploitability']:>12.4g}"
                f"{s['final_exploitability']:>12.4g}"
                f"{('—' if t is None else f'{t:.1f}'):>13}"
                f"{s['seeds_reaching_2x_rspg_final']:>4}/{n_seeds}"
            )
    lines.append(
        f"Environment: python={platform.python_version()}, jax={jax.__version__}, "
        f"cpu_count={os.cpu_count()}, backend={jax.default_backend()}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object only")
    p.add_argument("--games", nargs="+", default=list(GAMES), choices=list(GAMES))
    p.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=list(SOLVERS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=float, default=30.0, help="seconds per run (toy games)")
    p.add_argument("--macro-budget", type=float, default=60.0, help="seconds per run, seed_macro")
    p.add_argument("--figures", type=Path, default=REPO_ROOT / "benchmarks" / "figures")
    p.add_argument("--quick", action="store_true", help="5 s budgets, one seed")
    args = p.parse_args(argv)
    if args.quick:
        args.budget, args.macro_budget, args.seeds = 5.0, 10.0, 1
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    budgets = {g: (args.macro_budget if g == "seed_macro" else args.budget) for g in args.games}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    start = time.perf_counter()
    with stdout_to_stderr(args.json):
        for game_name in args.games:
            game = GAMES[game_name]()
            runs[game_name] = {s: [] for s in args.solvers}
            for seed in range(args.seeds):
                for solver in args.solvers:  # interleaved, so all see the same machine load
                    log(f"{game_name}: {solver} seed {seed} ({budgets[game_name]:.0f} s)")
                    run = run_one(game, game_name, solver, seed, budgets[game_name])
                    runs[game_name][solver].append(run)
                    log(
                        f"  exploitability {run['exploitability'][0]:.4g} -> "
                        f"{run['exploitability'][-1]:.4g}"
                    )
        summary = summarise(runs)
        figure = save_figure(runs, args.figures)
    result = {
        "summary": summary,
        "budgets_s": budgets,
        "seeds": args.seeds,
        "runs": runs,
        "figure": figure,
        "wall_s": time.perf_counter() - start,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(render(summary, budgets, args.seeds))
        print(f"figure: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
