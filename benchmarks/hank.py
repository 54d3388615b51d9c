"""The one-asset HANK economy: ours against the Sequence-Space Jacobian toolkit's ``hank`` example.

At SSJ's notebook settings (``hank_ssj``: eis 0.5, frisch 0.5, B 5.6, μ 1.2, κ 0.1, φ 1.5,
r* 0.005, ρ_e 0.966, σ_e 0.5, 7 income states, 500 wealth points on [0, 150]), T = 300:

* ``hank_beta``, ``hank_vphi`` (ours) and ``ssj_beta``, ``ssj_vphi``: the calibrated steady
  state (β and vphi such that bonds clear at B and effective hours are 1);
* ``irf_Y``, ``irf_pi``, ``irf_r``, ``irf_C``: our linear responses to a monetary shock
  (r* −25 bp, persistence 0.61), first 40 quarters, absolute deviations;
  ``max_rel_diff_linear`` / ``max_rel_diff_nonlinear``: max |ours − SSJ| ÷ max |SSJ| over the
  four (the nonlinear transition to the same shock), SSJ at its defaults;
  ``*_precise``: against SSJ with two-sided numerical derivatives (h = 1e-6) and a tight
  steady state (backward 1e-13, forward 1e-14), ours at SSJ's β and vphi — how much of the
  difference is SSJ's numerical differentiation and tolerances;
* ``ratio_ssj_jacobian`` (SSJ seconds ÷ ours, the general-equilibrium Jacobian ``G`` to r*
  and Z after compilation) and ``ratio_ssj_nonlinear`` (the nonlinear transition, each given
  its factored ``H_U``);
* ``channels_sum_error``: the consumption response to the monetary shock split into the
  direct (r) and indirect (w, Div, Tax) channels, largest |sum − total|;
* the zero lower bound: a discount-factor shock (β +0.006, persistence 0.85) with the nominal
  rate floored at 0: ``zlb_periods`` (quarters at the bound), ``zlb_residual`` (the nonlinear
  path's largest target error), ``zlb_iterations``, and the output drop on impact with and
  without the bound (``zlb_dY0``, ``no_zlb_dY0``).

Usage::

    python benchmarks/hank.py            # a table
    python benchmarks/hank.py --json     # one JSON object on stdout
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np
from bench_common import ssj_comparison_main
from household_jacobian import interleaved

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.hank import HANK_SSJ, hank
from hank_mfg.solvers.sequence import ar1_shock, linearize, transition
from hank_mfg.solvers.steady_state import steady_state

T, SHOWN = 300, 40
NAMES = ("Y", "pi", "r", "C")


def ssj_case(precise: bool) -> tuple[Any, Any]:
    """SSJ's dynamic one-asset HANK model and its calibrated steady state at our sizes."""
    from sequence_jacobian.examples import hank as ssj_hank

    model_ss, _, model, _, _, _ = ssj_hank.dag()
    cal = {
        "r": HANK_SSJ["r"],
        "rstar": HANK_SSJ["r"],
        "eis": HANK_SSJ["eis"],
        "frisch": HANK_SSJ["frisch"],
        "B": HANK_SSJ["B"],
        "mu": HANK_SSJ["mu"],
        "rho_s": HANK_SSJ["rho_e"],
        "sigma_s": HANK_SSJ["sigma_e"],
        "kappa": HANK_SSJ["kappa"],
        "phi": HANK_SSJ["phi"],
        "Y": 1.0,
        "Z": 1.0,
        "pi": 0.0,
        "nS": HANK_SSJ["n_income"],
        "amax": HANK_SSJ["wealth_max"],
        "nA": HANK_SSJ["n_wealth"],
    }
    options = {"hh": {"backward_tol": 1e-13, "forward_tol": 1e-14}} if precise else {}
    cali = model_ss.solve_steady_state(
        cal,
        {"beta": 0.986, "vphi": 0.8},
        {"asset_mkt": 0.0, "NE": 1.0},
        solver="broyden_custom",
        options=options,
        ttol=1e-12 if precise else 1e-9,
    )
    return model, model.steady_state(cali, options=options)


def rel(ours: dict[str, np.ndarray], ssj: Any) -> float:
    return max(
        float(np.max(np.abs(ours[k] - np.asarray(ssj[k])))) / float(np.max(np.abs(ssj[k])))
        for k in NAMES
    )


def run(reps: int) -> dict[str, Any]:
    res: dict[str, Any] = {"T": T, **{f"setting_{k}": v for k, v in HANK_SSJ.items()}}
    spec = hank()
    ss = steady_state(*spec.steady)
    res["hank_beta"], res["hank_vphi"] = ss["beta"], ss["vphi"]
    model_ssj, ss_ssj = ssj_case(precise=False)
    res["ssj_beta"], res["ssj_vphi"] = float(ss_ssj["beta"]), float(ss_ssj["vphi"])
    unknowns, targets = list(spec.unknowns), list(spec.targets)
    shock = {"rstar": ar1_shock(-0.0025, 0.61, T)}

    timed = interleaved(
        {
            "ours": lambda: linearize(spec.model, ss, unknowns, targets, ["rstar", "Z"], T),
            "ssj": lambda: model_ssj.solve_jacobian(ss_ssj, unknowns, targets, ["rstar", "Z"], T=T),
        },
        reps,
    )
    linear, G_ssj = timed["ours"]["result"], timed["ssj"]["result"]
    res["jacobian_seconds"], res["ssj_jacobian_seconds"] = (
        timed["ours"]["best"],
        timed["ssj"]["best"],
    )
    res["jacobian_compile_seconds"] = timed["ours"]["first"] - timed["ours"]["best"]
    res["ratio_ssj_jacobian"] = res["ssj_jacobian_seconds"] / res["jacobian_seconds"]
    irf = linear.irf(shock)
    ssj_irf = {k: np.asarray(G_ssj[k]["rstar"]) @ shock["rstar"] for k in NAMES}
    for k in NAMES:
        res[f"irf_{k}"] = irf[k][:SHOWN]
    res["max_rel_diff_linear"] = rel({k: irf[k] for k in NAMES}, ssj_irf)
    channels = linear.channels(shock, "C")
    res["channels_C_impact"] = {k: float(v[0]) for k, v in channels.items()}
    res["channels_sum_error"] = float(np.max(np.abs(sum(channels.values()) - irf["C"])))

    from sequence_jacobian.classes import FactoredJacobianDict

    H_U = FactoredJacobianDict(model_ssj.jacobian(ss_ssj, unknowns, targets, T=T), T)
    timed = interleaved(
        {
            "ours": lambda: transition(
                spec.model, ss, unknowns, targets, shock, T=T, linear=linear
            ),
            "ssj": lambda: model_ssj.solve_impulse_nonlinear(
                ss_ssj, unknowns, targets, shock, H_U_factored=H_U, verbose=False
            ),
        },
        max(1, reps // 2),
    )
    path, path_ssj = timed["ours"]["result"], timed["ssj"]["result"]
    res["nonlinear_seconds"], res["ssj_nonlinear_seconds"] = (
        timed["ours"]["best"],
        timed["ssj"]["best"],
    )
    res["ratio_ssj_nonlinear"] = res["ssj_nonlinear_seconds"] / res["nonlinear_seconds"]
    res["nonlinear_iterations"] = path.iterations
    res["max_rel_diff_nonlinear"] = rel({k: path.deviation(k) for k in NAMES}, path_ssj)

    # SSJ precise, ours at its β and vphi
    model_p, ss_p = ssj_case(precise=True)
    produced = set(spec.steady.model.outputs)
    values = {k: v for k, v in ss.values.items() if k not in produced}
    values.update(beta=float(ss_p["beta"]), vphi=float(ss_p["vphi"]))
    ours_p = steady_state(spec.steady.model, values, {}, [])
    res["precise_asset_mkt"] = ours_p["asset_mkt"]
    linear_p = linearize(spec.model, ours_p, unknowns, targets, ["rstar"], T)
    G_p = model_p.solve_jacobian(
        ss_p, unknowns, targets, ["rstar"], T=T, options={"hh": {"h": 1e-6, "twosided": True}}
    )
    irf_p = linear_p.irf(shock)
    res["max_rel_diff_linear_precise"] = rel(
        {k: irf_p[k] for k in NAMES},
        {k: np.asarray(G_p[k]["rstar"]) @ shock["rstar"] for k in NAMES},
    )
    path_p = transition(spec.model, ours_p, unknowns, targets, shock, T=T, linear=linear_p)
    path_ssj_p = model_p.solve_impulse_nonlinear(ss_p, unknowns, targets, shock, verbose=False)
    res["max_rel_diff_nonlinear_precise"] = rel({k: path_p.deviation(k) for k in NAMES}, path_ssj_p)

    # the zero lower bound: the same economy with the nominal rate floored at 0
    bound_ss = dataclasses.replace(ss, values={**ss.values, "i_floor": 0.0})
    demand = {"beta": ar1_shock(0.006, 0.85, T)}
    bound = transition(
        spec.model, bound_ss, unknowns, targets, demand, T=T, linear=linear, update_blocks=True
    )
    free = transition(spec.model, ss, unknowns, targets, demand, T=T, linear=linear)
    res["zlb_periods"] = int(np.sum(bound["i"] <= 1e-10))
    res["zlb_residual"] = bound.residuals[-1]
    res["zlb_iterations"] = bound.iterations
    res["zlb_seconds"] = bound.seconds
    res["zlb_dY0"], res["no_zlb_dY0"] = (
        float(bound.deviation("Y")[0]),
        float(free.deviation("Y")[0]),
    )
    res["no_zlb_i0"] = float(free["i"][0])
    return res


def main(argv: list[str] | None = None) -> int:
    return ssj_comparison_main(__doc__.splitlines()[0], run, argv, reps=4)


if __name__ == "__main__":
    sys.exit(main())
