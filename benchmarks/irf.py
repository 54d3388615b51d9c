"""Impulse responses in the sequence space: ours against the Sequence-Space Jacobian toolkit's.

The case: SSJ's Krusell–Smith example (``examples/krusell_smith.py``) at its notebook
calibration — 7 Rouwenhorst income states (ρ 0.966, sd of log e 0.5), 500 wealth points on
[0, 200], eis 1, δ 0.025, α 0.11, r 0.01, Y = L = 1, β calibrated to clear the asset market —
with unknown ``K``, target ``asset_mkt`` and a TFP shock ``dZ_t = 0.01 Z 0.8^t``, T = 300.
Ours is the same model written as blocks (``krusell_smith_steady_state``'s household with the
Cobb–Douglas firm and SSJ's market clearing) at SSJ's calibrated β.

Keys (the first 40 periods of each path, absolute deviations from the steady state):

* ``irf_K``, ``irf_r``, ``irf_Y``, ``irf_C``: our linear IRFs; ``nonlinear_K``, ``nonlinear_r``:
  our nonlinear transition;
* ``max_rel_diff_linear`` / ``max_rel_diff_nonlinear``: max |ours − SSJ| ÷ max |SSJ| over the
  four (two) variables, against SSJ with its default steady-state tolerances and numerical
  derivatives; ``*_precise``: against SSJ with a tight steady state (backward 1e-13, forward
  1e-14) and two-sided differences with h = 1e-6, which shows how much of the difference is
  SSJ's numerical differentiation;
* ``jacobian_seconds`` / ``ssj_jacobian_seconds`` / ``ratio_ssj_jacobian``: the household
  Jacobian (A and C to r and w, T = 300) after compilation (best of several calls, ours and
  SSJ's called in turn); ``ge_jacobian_seconds`` / ``ssj_ge_jacobian_seconds``: the whole
  general-equilibrium Jacobian ``G`` (household Jacobian, composition, ``H_U⁻¹``);
* ``nonlinear_seconds`` / ``ssj_nonlinear_seconds`` / ``ratio_ssj_nonlinear``: the nonlinear
  transition, given the factored ``H_U`` to each;
* ``autodiff_vs_fake_news``: max |autodiff − fake news| of our household Jacobians;
* ``finite_difference_check``: max |(nonlinear(+ε) − nonlinear(−ε)) / 2ε − linear| ÷ max
  |linear| over K, r, Y, C for ε = 1e-4 of the shock.

Usage::

    python benchmarks/irf.py            # a table
    python benchmarks/irf.py --json     # one JSON object on stdout
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from bench_common import ssj_comparison_main
from household_jacobian import N_INCOME, N_WEALTH, interleaved, ours_at
from household_jacobian import ssj_krusell_smith as ssj_model

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.blocks import firm
from hank_mfg.models.model import Model
from hank_mfg.models.sequence_models import ks_market_clearing
from hank_mfg.solvers.jacobian import household_jacobian
from hank_mfg.solvers.sequence import ar1_shock, linearize, transition

T, SHOWN = 300, 40
LINEAR, NONLINEAR = ("K", "r", "Y", "C"), ("K", "r")


def rel(ours: dict[str, np.ndarray], ssj: Any, names: tuple[str, ...]) -> float:
    return max(
        float(np.max(np.abs(ours[k] - np.asarray(ssj[k])))) / float(np.max(np.abs(ssj[k])))
        for k in names
    )


def ours_case(beta: float) -> tuple[Model, Any]:
    household, ss = ours_at(beta)
    return Model(household, [firm, ks_market_clearing], name="krusell_smith"), ss


def run(reps: int) -> dict[str, Any]:
    res: dict[str, Any] = {"T": T, "n_wealth": N_WEALTH, "n_income": N_INCOME}
    ssj, ss_ssj = ssj_model(precise=False)
    beta = float(ss_ssj["beta"])
    model, ss = ours_case(beta)
    res["beta"], res["K_ss"], res["asset_mkt_ss"] = beta, ss["K"], ss["asset_mkt"]
    dZ = ar1_shock(0.01 * ss["Z"], 0.8, T)
    shock = {"Z": dZ}
    res["ssj_Z_diff"] = abs(ss["Z"] - float(ss_ssj["Z"]))

    # general-equilibrium Jacobian and the linear IRF
    def ours_ge() -> Any:
        return linearize(model, ss, ["K"], ["asset_mkt"], ["Z"], T)

    def ssj_ge() -> Any:
        return ssj.solve_jacobian(ss_ssj, ["K"], ["asset_mkt"], ["Z"], T=T)

    timed = interleaved({"ours": ours_ge, "ssj": ssj_ge}, reps)
    linear, G_ssj = timed["ours"]["result"], timed["ssj"]["result"]
    res["ge_jacobian_seconds"], res["ssj_ge_jacobian_seconds"] = (
        timed["ours"]["best"],
        timed["ssj"]["best"],
    )
    res["ge_jacobian_compile_seconds"] = timed["ours"]["first"] - timed["ours"]["best"]
    res["ratio_ssj_ge_jacobian"] = res["ssj_ge_jacobian_seconds"] / res["ge_jacobian_seconds"]
    irf = linear.irf(shock)
    irf_ssj = {k: np.asarray(G_ssj[k]["Z"]) @ dZ for k in LINEAR}
    for k in LINEAR:
        res[f"irf_{k}"] = irf[k][:SHOWN]
    res["max_rel_diff_linear"] = rel({k: irf[k] for k in LINEAR}, irf_ssj, LINEAR)

    # household Jacobians alone
    hh, block = ssj["hh"], model.household
    inputs, outputs = ["r", "w"], ["A", "C"]
    timed = interleaved(
        {
            "ours": lambda: household_jacobian(block, ss.values, ss, inputs, outputs, T),
            "ssj": lambda: hh.jacobian(ss_ssj, inputs=inputs, outputs=outputs, T=T),
        },
        reps,
    )
    res["jacobian_seconds"], res["ssj_jacobian_seconds"] = (
        timed["ours"]["best"],
        timed["ssj"]["best"],
    )
    res["ratio_ssj_jacobian"] = res["ssj_jacobian_seconds"] / res["jacobian_seconds"]
    fake = timed["ours"]["result"]
    auto = household_jacobian(block, ss.values, ss, inputs, outputs, T, method="autodiff")
    res["autodiff_vs_fake_news"] = max(
        float(np.max(np.abs(auto[o][i] - fake[o][i]))) for o in outputs for i in inputs
    )

    # the nonlinear transition, each given its factored H_U
    from sequence_jacobian.classes import FactoredJacobianDict

    H_U = ssj.jacobian(ss_ssj, ["K"], ["asset_mkt"], T=T)
    H_U_factored = FactoredJacobianDict(H_U, T)

    def ours_nonlinear() -> Any:
        return transition(model, ss, ["K"], ["asset_mkt"], shock, T=T, linear=linear)

    def ssj_nonlinear() -> Any:
        return ssj.solve_impulse_nonlinear(
            ss_ssj,
            ["K"],
            ["asset_mkt"],
            shock,
            H_U_factored=H_U_factored,
            verbose=False,
        )

    timed = interleaved({"ours": ours_nonlinear, "ssj": ssj_nonlinear}, max(1, reps // 2))
    path, path_ssj = timed["ours"]["result"], timed["ssj"]["result"]
    res["nonlinear_seconds"], res["ssj_nonlinear_seconds"] = (
        timed["ours"]["best"],
        timed["ssj"]["best"],
    )
    res["nonlinear_compile_seconds"] = timed["ours"]["first"] - timed["ours"]["best"]
    res["ratio_ssj_nonlinear"] = res["ssj_nonlinear_seconds"] / res["nonlinear_seconds"]
    res["nonlinear_iterations"] = path.iterations
    res["nonlinear_residuals"] = path.residuals
    nonlinear = {k: path.deviation(k) for k in LINEAR}
    for k in NONLINEAR:
        res[f"nonlinear_{k}"] = nonlinear[k][:SHOWN]
    res["max_rel_diff_nonlinear"] = rel(nonlinear, path_ssj, NONLINEAR)

    # linear against the nonlinear transition for a small shock (central difference)
    eps = 1e-4
    up, down = (
        transition(model, ss, ["K"], ["asset_mkt"], {"Z": s * eps * dZ}, T=T, linear=linear)
        for s in (1.0, -1.0)
    )
    res["finite_difference_check"] = max(
        float(np.max(np.abs((up.deviation(k) - down.deviation(k)) / (2 * eps) - irf[k])))
        / float(np.max(np.abs(irf[k])))
        for k in LINEAR
    )

    # SSJ with a tight steady state and precise derivatives, ours at its β
    ssj_p, ss_p = ssj_model(precise=True)
    model_p, ours_p = ours_case(float(ss_p["beta"]))
    linear_p = linearize(model_p, ours_p, ["K"], ["asset_mkt"], ["Z"], T)
    G_p = ssj_p.solve_jacobian(
        ss_p, ["K"], ["asset_mkt"], ["Z"], T=T, options={"hh": {"h": 1e-6, "twosided": True}}
    )
    irf_p = linear_p.irf(shock)
    res["max_rel_diff_linear_precise"] = rel(
        {k: irf_p[k] for k in LINEAR}, {k: np.asarray(G_p[k]["Z"]) @ dZ for k in LINEAR}, LINEAR
    )
    path_p = transition(model_p, ours_p, ["K"], ["asset_mkt"], shock, T=T, linear=linear_p)
    path_ssj_p = ssj_p.solve_impulse_nonlinear(ss_p, ["K"], ["asset_mkt"], shock, verbose=False)
    res["max_rel_diff_nonlinear_precise"] = rel(
        {k: path_p.deviation(k) for k in NONLINEAR}, path_ssj_p, NONLINEAR
    )
    return res


def main(argv: list[str] | None = None) -> int:
    return ssj_comparison_main(__doc__.splitlines()[0], run, argv, reps=6)


if __name__ == "__main__":
    sys.exit(main())
