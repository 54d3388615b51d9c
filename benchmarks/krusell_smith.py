"""Run the Krusell–Smith (1998) algorithm at full settings and report its accuracy and time.

Model: ``hank_mfg.models.krusell_smith(krusell_smith_1998())`` (100 wealth points on [0, 350],
employed / unemployed, TFP good / bad), float64. Algorithm (``solve_krusell_smith`` defaults):
7 capital nodes on ±20% around the representative-agent steady state, EGM households to a
sup-norm change of 1e-9 in savings, a 3,000-period seeded TFP path simulated with the lottery
kernel (no sampled households), the first 500 periods discarded, OLS per TFP state, damping 0.3,
stop when the coefficients move by less than 1e-6.

Reported: the law of motion ``log K' = b0(z) + b1(z) log K``, R² per state, Den Haan (2010)
errors (the law of motion's dynamic forecast along the simulated TFP path against the simulated
capital; max and mean, percent), iterations, mean capital, and wall time (JIT compilation
included; the machine's other load makes it noisy). With ``--evaluate N`` the policy is also
scored by the core's exploitability on ``N`` common-noise paths of the model's horizon.

Usage::

    python benchmarks/krusell_smith.py            # table
    python benchmarks/krusell_smith.py --json     # one JSON object on stdout, nothing else
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jax
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(Path(__file__).resolve().parent) not in sys.path:  # sibling helper module
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import environment_info, json_default, stdout_to_stderr  # noqa: E402


def _import_hank_mfg() -> None:
    """Make ``hank_mfg`` importable when the script runs from a source checkout."""
    try:
        import hank_mfg  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Solve the model and collect the figures of the report (plain JSON-able values)."""
    _import_hank_mfg()
    from hank_mfg.calibration import krusell_smith_1998
    from hank_mfg.models import krusell_smith
    from hank_mfg.solvers.krusell_smith import solve_krusell_smith

    economy = krusell_smith(krusell_smith_1998(), horizon=args.horizon)
    sol = solve_krusell_smith(
        economy,
        n_periods=args.periods,
        burn_in=args.burn_in,
        seed=args.seed,
        tol=args.tol,
        evaluation_samples=args.evaluate,
        verbose=args.verbose,
    )
    res = sol.results
    out: dict[str, Any] = {
        "coefficients": np.asarray(res["coefficients"]).tolist(),
        "r2": np.asarray(res["r2"]).tolist(),
        "den_haan_max_percent": res["den_haan_max_percent"],
        "den_haan_mean_percent": res["den_haan_mean_percent"],
        "seconds": res["seconds"],
        "iterations": res["iterations"],
        "converged": res["converged"],
        "coefficient_change": res["coefficient_change"],
        "mean_K": res["K_mean"],
        "std_log_K": res["K_std_log"],
        "K_representative_agent": res["K_representative_agent"],
        "capital_grid": np.asarray(res["capital_grid"]).tolist(),
        "egm_iterations_total": int(np.sum(sol.history["egm_iterations"])),
        "settings": sol.settings,
    }
    if sol.evaluation is not None:
        ex = sol.evaluation.exploitability
        out["exploitability"] = float(ex.value)
        out["mean_policy_value"] = float(np.mean(ex.policy_return))
        out["evaluation_seconds"] = res["evaluation_seconds"]
    return out


def render(out: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    b, r2 = np.asarray(out["coefficients"]), out["r2"]
    rule = "-" * 62
    lines = [
        "Krusell-Smith (1998), krusell_smith_1998(): log K' = b0(z) + b1(z) log K",
        rule,
        f"{'state':<8}{'b0':>14}{'b1':>14}{'R^2':>16}",
        rule,
    ]
    for name, row, r in zip(("good", "bad"), b, r2, strict=True):
        lines.append(f"{name:<8}{row[0]:>14.6f}{row[1]:>14.6f}{r:>16.10f}")
    lines += [
        rule,
        f"Den Haan error, max / mean (%)   {out['den_haan_max_percent']:.4f} / "
        f"{out['den_haan_mean_percent']:.4f}",
        f"mean K, std log K                {out['mean_K']:.4f}, {out['std_log_K']:.4f}"
        f"   (representative agent {out['K_representative_agent']:.4f})",
        f"iterations, converged            {out['iterations']}, {out['converged']}"
        f"   (last change {out['coefficient_change']:.2e}, EGM steps "
        f"{out['egm_iterations_total']})",
        f"wall time (s)                    {out['seconds']:.1f}",
    ]
    if "exploitability" in out:
        lines.append(
            f"exploitability (mean value)      {out['exploitability']:.3e} "
            f"({out['mean_policy_value']:.4f}), {out['evaluation_seconds']:.1f} s"
        )
    lines.append("Krusell and Smith (1998): 0.095 + 0.962 log K (good), 0.085 + 0.965 log K (bad)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--periods", type=int, default=3000, help="simulated periods")
    parser.add_argument("--burn-in", type=int, default=500, help="periods discarded")
    parser.add_argument("--seed", type=int, default=0, help="seed of the TFP path")
    parser.add_argument("--tol", type=float, default=1e-6, help="coefficient tolerance")
    parser.add_argument("--horizon", type=int, default=200, help="evaluation horizon")
    parser.add_argument(
        "--evaluate", type=int, default=0, help="common-noise paths for exploitability (0: none)"
    )
    parser.add_argument("--verbose", action="store_true", help="one line per iteration (stderr)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Solve, then print the table or one JSON object with ``--json``."""
    args = parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    with stdout_to_stderr(args.json):
        out = run(args)
        out["environment"] = environment_info()
    if args.json:
        print(json.dumps(out, default=json_default))
        return 0
    print(render(out))
    print("Environment: " + ", ".join(f"{k}={v}" for k, v in out["environment"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
