"""Household Jacobians: ours (fake news, autodiff) against the Sequence-Space Jacobian toolkit's.

The case: SSJ's Krusell–Smith household (``examples/krusell_smith.py``: eis 1, 7 Rouwenhorst
income states with ρ 0.966 and cross-sectional sd of log e 0.5, 500 wealth points on
[0, 200], r 0.01, w from the firm at Y = L = 1) at SSJ's calibrated steady state (β by
Brent's method on the asset market). Ours is ``krusell_smith_steady_state``'s household at
SSJ's β. Jacobians of A and C to r and w, T = 300:

* ``ssj``: ``hh.jacobian(ss, inputs=['r', 'w'], outputs=['A', 'C'], T=300)``, SSJ's defaults
  (its backward step differentiated numerically, one-sided with h = 1e-4; w through the
  hetinput, two-sided);
* ``ssj_precise``: the same with SSJ's steady state solved to tight tolerances (backward 1e-13,
  forward 1e-14) and two-sided differences with h = 1e-6, which shows how much of the
  difference to ours is SSJ's numerical differentiation.

Reported: per (output, input) ``max |ours − SSJ| / max |SSJ|``; ``max |autodiff − fake news|``;
seconds after compilation of each (best and median of several calls; ours and SSJ's called in
turn, so that the load of a shared machine hits both alike), compile seconds (first call less
the best), and SSJ's seconds over ours. Usage::

    python benchmarks/household_jacobian.py            # a table
    python benchmarks/household_jacobian.py --json     # one JSON object on stdout
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_common import ssj_comparison_main, ssj_krusell_smith_calibration

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.models.block_models import krusell_smith_steady_state
from hank_mfg.solvers.jacobian import household_jacobian
from hank_mfg.solvers.steady_state import steady_state

T = 300
INPUTS, OUTPUTS = ("r", "w"), ("A", "C")
N_INCOME, N_WEALTH, WEALTH_MAX = 7, 500, 200.0


def best_of(fn: Callable[[], Any], reps: int) -> tuple[Any, float, float]:
    """``fn()``'s result, the first call's seconds and the best of ``reps`` further calls."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, first, best


def interleaved(fns: dict[str, Callable[[], Any]], reps: int) -> dict[str, dict[str, Any]]:
    """Each function's result, first call's seconds and best and median of ``reps`` further
    calls, the functions called in turn (a load that comes and goes hits each alike)."""
    out: dict[str, dict[str, Any]] = {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        result = fn()
        out[name] = {"result": result, "first": time.perf_counter() - t0, "times": []}
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[name]["times"].append(time.perf_counter() - t0)
    for entry in out.values():
        entry["best"], entry["median"] = min(entry["times"]), float(np.median(entry["times"]))
    return out


def ssj_krusell_smith(precise: bool) -> tuple[Any, Any]:
    """SSJ's dynamic Krusell–Smith model and its calibrated steady state at our grid sizes
    (``precise``: backward 1e-13, forward 1e-14)."""
    from sequence_jacobian.examples import krusell_smith

    model_ss, _, model, _, _, _ = krusell_smith.dag()
    cal = ssj_krusell_smith_calibration(N_INCOME, N_WEALTH, WEALTH_MAX)
    unknowns = {"beta": (0.98 / 1.01, 0.999 / 1.01)}
    options = {"hh": {"backward_tol": 1e-13, "forward_tol": 1e-14}} if precise else {}
    ss = model_ss.solve_steady_state(
        cal, unknowns, {"asset_mkt": 0.0}, solver="brentq", options=options
    )
    return model, ss


def ssj_case(precise: bool) -> tuple[Any, Any]:
    """SSJ's Krusell–Smith household block and steady state at our grid sizes."""
    model, ss = ssj_krusell_smith(precise)
    return model["hh"], ss


def ours_at(beta: float) -> tuple[Any, Any]:
    """Our Krusell–Smith household's steady state at the discount factor ``beta``."""
    spec = krusell_smith_steady_state(n_income=N_INCOME, n_wealth=N_WEALTH, wealth_max=WEALTH_MAX)
    ss = steady_state(spec.model, {**spec.calibration, "beta": beta}, {}, [])
    return spec.model.household, ss


def relative_diffs(ours: dict, ssj: Any) -> dict[str, float]:
    out = {}
    for o in OUTPUTS:
        for i in INPUTS:
            ref = np.asarray(ssj[o][i])
            out[f"{o}_{i}"] = float(np.max(np.abs(ours[o][i] - ref)) / np.max(np.abs(ref)))
    return out


def run(reps: int, autodiff_reps: int = 2) -> dict[str, Any]:
    res: dict[str, Any] = {"T": T, "n_wealth": N_WEALTH, "n_income": N_INCOME}
    hh_ssj, ss_ssj = ssj_case(precise=False)
    beta = float(ss_ssj["beta"])
    res["beta"] = beta
    block, ss = ours_at(beta)
    internals = ss_ssj.internals["hh"]
    res["grid_diff"] = float(np.max(np.abs(internals["a_grid"] - block.wealth_grid)))
    res["productivity_diff"] = float(np.max(np.abs(internals["e_grid"] - block.productivity)))
    res["Pi_diff"] = float(np.max(np.abs(internals["Pi"] - block.Pi)))
    res["steady_A_ours"], res["steady_A_ssj"] = ss["A"], float(ss_ssj["A"])
    res["steady_savings_diff"] = float(
        np.max(np.abs(internals["a"].T - ss.household.policy.savings))
    )

    def ours(method: str) -> Callable[[], dict]:
        return lambda: household_jacobian(block, ss.values, ss, INPUTS, OUTPUTS, T, method)

    def ssj_jacobian(hh: Any, steady: Any, **kw: Any) -> Callable[[], Any]:
        return lambda: hh.jacobian(steady, inputs=list(INPUTS), outputs=list(OUTPUTS), T=T, **kw)

    timed = interleaved({"fake_news": ours("fake_news"), "ssj": ssj_jacobian(hh_ssj, ss_ssj)}, reps)
    fake, J_ssj = timed["fake_news"]["result"], timed["ssj"]["result"]
    res["fake_news_seconds"] = timed["fake_news"]["best"]
    res["fake_news_median_seconds"] = timed["fake_news"]["median"]
    res["fake_news_compile_seconds"] = timed["fake_news"]["first"] - timed["fake_news"]["best"]
    res["ssj_seconds"], res["ssj_median_seconds"] = timed["ssj"]["best"], timed["ssj"]["median"]
    res["ssj_first_seconds"] = timed["ssj"]["first"]
    auto, first, best = best_of(ours("autodiff"), autodiff_reps)
    res["autodiff_seconds"], res["autodiff_compile_seconds"] = best, first - best
    res["autodiff_vs_fake_news"] = max(
        float(np.max(np.abs(auto[o][i] - fake[o][i]))) for o in OUTPUTS for i in INPUTS
    )
    res["max_abs_J"] = max(float(np.max(np.abs(fake[o][i]))) for o in OUTPUTS for i in INPUTS)
    res["diff_fake_news_vs_ssj"] = relative_diffs(fake, J_ssj)
    res["diff_autodiff_vs_ssj"] = relative_diffs(auto, J_ssj)
    res["ratio_ssj_over_fake_news"] = res["ssj_seconds"] / res["fake_news_seconds"]
    res["ratio_ssj_over_fake_news_median"] = (
        res["ssj_median_seconds"] / res["fake_news_median_seconds"]
    )
    res["ratio_ssj_over_autodiff"] = res["ssj_seconds"] / res["autodiff_seconds"]

    # SSJ with precise steady state and derivatives: ours at that steady state's β
    hh_p, ss_p = ssj_case(precise=True)
    block_p, ss_ours_p = ours_at(float(ss_p["beta"]))
    fake_p = household_jacobian(block_p, ss_ours_p.values, ss_ours_p, INPUTS, OUTPUTS, T)
    J_p, _, best = best_of(ssj_jacobian(hh_p, ss_p, twosided=True, h=1e-6), 1)
    res["ssj_precise_beta"] = float(ss_p["beta"])
    res["ssj_precise_seconds"] = best
    res["diff_fake_news_vs_ssj_precise"] = relative_diffs(fake_p, J_p)
    return res


def main(argv: list[str] | None = None) -> int:
    counts = {"autodiff_reps": (2, "timed autodiff calls")}
    return ssj_comparison_main(__doc__.splitlines()[0], run, argv, reps=10, counts=counts)


if __name__ == "__main__":
    sys.exit(main())
