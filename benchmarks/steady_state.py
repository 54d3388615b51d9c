"""Steady states by unknowns and targets: ours against the Sequence-Space Jacobian toolkit's.

Two cases on SSJ's own settings (its ``examples/krusell_smith.py`` and ``examples/hank.py``
calibrations at 7 Rouwenhorst income states and 500 wealth points on SSJ's grid):

* Krusell–Smith steady state: eis 1, δ 0.025, α 0.11, ρ_e 0.966, σ_e 0.5, r 0.01, Y 1, L 1;
  unknown β (Brent), target the asset market.
* One-asset HANK: eis 0.5, frisch 0.5, B 5.6, μ 1.2, r 0.005, Y = Z = 1, [0, 150]; unknowns β and
  vphi, targets the asset market and effective hours NE = 1 (endogenous hours). Solved twice:
  hours interpolated between the endogenous grid points as SSJ does (the comparison), and
  hours from the intratemporal condition on the chord between them where the budget holds
  (``hours_rule="intratemporal"``, keys ``hank_intratemporal_*``), which makes that condition
  hold at every grid point and keeps the Euler equation as accurate.

Times are after compilation: each solve is run once to warm up (ours' first run is reported as
compile seconds), then ``REPEATS`` times, the fastest timed (both libraries alike: the
2-core machine's load moves single runs by tens of percent). Usage::

    python benchmarks/steady_state.py            # a table
    python benchmarks/steady_state.py --json     # one JSON object on stdout
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
from bench_common import (
    environment_info,
    json_default,
    ssj_krusell_smith_calibration,
    stdout_to_stderr,
)

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.blocks import simple_block
from hank_mfg.models.household_block import HouseholdBlock, crra, crra_labor
from hank_mfg.models.model import Model
from hank_mfg.solvers.steady_state import euler_errors, steady_state

N_INCOME, N_WEALTH = 7, 500
REPEATS = 3


def fastest(solve: Any) -> tuple[float, Any]:
    """The fastest of ``REPEATS`` runs of ``solve()`` (seconds) and its last result."""
    best, out = np.inf, None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = solve()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ssj_grid(amax: float, n: int) -> np.ndarray:
    """SSJ's ``agrid``: equidistant in log(a + 0.25)."""
    grid = np.geomspace(0.25, amax + 0.25, n) - 0.25
    grid[0] = 0.0
    return grid


def rouwenhorst_mean_one(rho: float, sigma: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Productivity (cross-sectional sd of log e = sigma, mean 1) and Pi, as SSJ's."""
    from hank_mfg.calibration.income import innovation_sd, rouwenhorst

    process = rouwenhorst(rho, innovation_sd(sigma, rho), n)
    e = np.asarray(process.grid)
    return e / float(np.sum(process.stationary * e)), np.asarray(process.Pi)


@simple_block
def firm_ss(r, Y, L, delta, alpha):
    """Capital and TFP that give output Y at the rate r (SSJ's ``firm_ss``)."""
    K = alpha * Y / (r + delta)
    Z = Y / K**alpha / L ** (1 - alpha)
    w = (1 - alpha) * Z * (K / L) ** alpha
    return K, Z, w


@simple_block
def ks_market(A, K):
    asset_mkt = A - K
    return asset_mkt


@simple_block
def hank_firm(Y, Z, mu):
    """At the steady state: hours L = Y/Z, the wage w = Z/μ, dividends Y − wL."""
    L = Y / Z
    w = Z / mu
    Div = Y - w * L
    return L, w, Div


@simple_block
def hank_fiscal(r, B):
    Tax = r * B
    return Tax


@simple_block
def hank_market(A, B):
    asset_mkt = A - B
    return asset_mkt


def ks_model() -> tuple[Model, dict[str, float]]:
    e, Pi = rouwenhorst_mean_one(0.966, 0.5, N_INCOME)
    household = HouseholdBlock(crra(), lambda e, w: w * e, ssj_grid(200, N_WEALTH), e, Pi)
    cal = {"eis": 1.0, "delta": 0.025, "alpha": 0.11, "Y": 1.0, "L": 1.0, "r": 0.01}
    return Model(household, [firm_ss, ks_market], name="krusell_smith_ss"), cal


def hank_income(e, n, w, Div, Tax):
    """Labour income plus dividends minus taxes, both by skill incidence (Σ π e = 1)."""
    return w * e * n + (Div - Tax) * e


def hank_model(hours_rule: str = "interpolate") -> tuple[Model, dict[str, float]]:
    e, Pi = rouwenhorst_mean_one(0.966, 0.5, N_INCOME)
    grid = ssj_grid(150, N_WEALTH)
    household = HouseholdBlock(crra_labor(), hank_income, grid, e, Pi, hours_rule=hours_rule)
    cal = {"eis": 0.5, "frisch": 0.5, "B": 5.6, "mu": 1.2, "r": 0.005, "Y": 1.0, "Z": 1.0}
    return Model(household, [hank_firm, hank_fiscal, hank_market], name="hank_ss"), cal


def ours() -> dict[str, Any]:
    out: dict[str, Any] = {}
    model, cal = ks_model()
    ks_unknowns = {"beta": (0.98 / 1.01, 0.999 / 1.01)}
    t0 = time.perf_counter()
    steady_state(model, cal, ks_unknowns, ["asset_mkt"])
    out["ks_compile_seconds"] = time.perf_counter() - t0
    out["ks_seconds"], ss = fastest(lambda: steady_state(model, cal, ks_unknowns, ["asset_mkt"]))
    out["ks_beta"], out["ks_K"] = ss["beta"], ss["K"]
    out["ks_euler"] = euler_errors(ss)

    model, cal = hank_model()
    unknowns, targets = {"beta": 0.986, "vphi": 0.8}, {"asset_mkt": 0.0, "NE": 1.0}
    t0 = time.perf_counter()
    steady_state(model, cal, unknowns, targets)
    out["hank_compile_seconds"] = time.perf_counter() - t0
    out["hank_seconds"], ss = fastest(lambda: steady_state(model, cal, unknowns, targets))
    out["hank_beta"], out["hank_vphi"], out["hank_C"] = ss["beta"], ss["vphi"], ss["C"]
    out["hank_evaluations"] = ss.evaluations
    out["hank_errors"] = euler_errors(ss)
    # hours from the intratemporal condition between the endogenous grid points
    model, cal = hank_model("intratemporal")
    steady_state(model, cal, unknowns, targets)
    out["hank_intratemporal_seconds"], ss = fastest(
        lambda: steady_state(model, cal, unknowns, targets)
    )
    out["hank_intratemporal_beta"], out["hank_intratemporal_vphi"] = ss["beta"], ss["vphi"]
    out["hank_intratemporal_errors"] = euler_errors(ss)
    return out


def ssj() -> dict[str, Any]:
    from sequence_jacobian.examples import hank, krusell_smith

    out: dict[str, Any] = {}
    ks_ss_model, _, _, _, _, _ = krusell_smith.dag()
    cal = ssj_krusell_smith_calibration(N_INCOME, N_WEALTH, 200.0)
    unknowns = {"beta": (0.98 / 1.01, 0.999 / 1.01)}
    t0 = time.perf_counter()
    ks_ss_model.solve_steady_state(cal, unknowns, {"asset_mkt": 0.0}, solver="brentq")
    out["ssj_ks_warm_seconds"] = time.perf_counter() - t0
    out["ssj_ks_seconds"], ss = fastest(
        lambda: ks_ss_model.solve_steady_state(cal, unknowns, {"asset_mkt": 0.0}, solver="brentq")
    )
    out["ssj_ks_beta"], out["ssj_ks_K"] = float(ss["beta"]), float(ss["K"])

    hank_ss_model, _, _, _, _, _ = hank.dag()
    cal = {
        "r": 0.005,
        "rstar": 0.005,
        "eis": 0.5,
        "frisch": 0.5,
        "B": 5.6,
        "mu": 1.2,
        "rho_s": 0.966,
        "sigma_s": 0.5,
        "kappa": 0.1,
        "phi": 1.5,
        "Y": 1.0,
        "Z": 1.0,
        "pi": 0.0,
        "nS": N_INCOME,
        "amax": 150,
        "nA": N_WEALTH,
    }
    unknowns, targets = {"beta": 0.986, "vphi": 0.8}, {"asset_mkt": 0.0, "NE": 1.0}
    t0 = time.perf_counter()
    hank_ss_model.solve_steady_state(cal, unknowns, targets, solver="hybr")
    out["ssj_hank_warm_seconds"] = time.perf_counter() - t0
    out["ssj_hank_seconds"], ss = fastest(
        lambda: hank_ss_model.solve_steady_state(cal, unknowns, targets, solver="hybr")
    )
    out["ssj_hank_beta"], out["ssj_hank_vphi"] = float(ss["beta"]), float(ss["vphi"])
    out["ssj_hank_C"] = float(ss["C"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    with stdout_to_stderr(args.json):
        res: dict[str, Any] = {"environment": environment_info()}
        res.update(ours())
        try:
            res.update(ssj())
        except ImportError as err:
            res["ssj_error"] = f"sequence-jacobian not installed ({err}); pip install -e .[bench]"
        if "ssj_ks_beta" in res:
            res["ratio_ssj_ks"] = res["ssj_ks_seconds"] / res["ks_seconds"]
            res["ratio_ssj_hank"] = res["ssj_hank_seconds"] / res["hank_seconds"]
            res["ks_beta_diff"] = res["ks_beta"] - res["ssj_ks_beta"]
            res["hank_beta_diff"] = res["hank_beta"] - res["ssj_hank_beta"]
            res["hank_vphi_diff"] = res["hank_vphi"] - res["ssj_hank_vphi"]
            res["hank_intratemporal_vphi_diff"] = (
                res["hank_intratemporal_vphi"] - res["ssj_hank_vphi"]
            )
    if args.json:
        print(json.dumps(res, default=json_default))
    else:
        for key, value in res.items():
            if key != "environment":
                print(f"{key:24s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
