"""The likelihood of the linearised model: ours against the Sequence-Space Jacobian toolkit's
``estimation`` module, on SSJ's Krusell–Smith example.

The case: SSJ's Krusell–Smith model (500 × 7, β calibrated, r = 1%, Y = 1), T = 300 for the
Jacobians; a TFP shock AR(1) with ρ = 0.9, σ = 0.01; observables Y, C and K with measurement
error of standard deviation 1e-3 each; 50 periods of data simulated from the model's MA
representation at a fixed seed.

Keys:

* ``loglik`` / ``ssj_loglik``: each library's whole pipeline (its own Jacobians, moments and
  likelihood, without the constant ``−½ n log 2π`` as SSJ's); ``loglik_rel_diff``. SSJ
  differentiates its household numerically (1e-5 relative accuracy), so the two pipelines
  differ by about that; ``loglik_same_moments_rel_diff`` feeds SSJ's own MA representation to
  our likelihood, which isolates the likelihood code (target 1e-8);
  ``loglik_rel_diff_precise``: against SSJ with precise derivatives (h = 1e-6, two-sided);
* ``loglik_seconds`` / ``ssj_loglik_seconds``: one evaluation of the likelihood given the
  Jacobians (moments, covariance, Cholesky), after compilation;
* ``estimate``, ``truth``, ``standard_errors``: maximum likelihood of (ρ, σ) from 400 periods of
  simulated output, started away from the truth;
* ``panel_seconds``, ``panel_peak_mb``, ``panel_seconds_per_household_period``: a household
  panel of N = 10⁶ households × T = 200 periods (``--panel-households``, ``--panel-periods``;
  0 households skips it) drawn from ``aiyagari_fiscal``'s steady state and written to zarr in
  household chunks, then its statistics at every date computed from the store in dask chunks
  (``panel_statistics_seconds``, ``panel_statistics_peak_mb``) — ``benchmarks/panels.py`` run
  in a fresh interpreter, so that its peak memory is its own (``panel`` holds its output).

Usage::

    python benchmarks/econometrics.py            # a table
    python benchmarks/econometrics.py --json     # one JSON object on stdout
    python benchmarks/econometrics.py --json --panel-households 20000   # a quick panel
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from bench_common import run_fresh_python, ssj_comparison_main
from irf import ours_case, ssj_model

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.solvers.estimation import (
    LinearLikelihood,
    autocovariances,
    full_covariance,
    gaussian_log_likelihood,
    simulate_aggregates,
)
from hank_mfg.solvers.sequence import linearize

T, T_OBS, SEED = 300, 50, 0
OBSERVABLES = ("Y", "C", "K")
RHO, SIGMA, MEASUREMENT = 0.9, 0.01, 1e-3


def ssj_ma(G: Any, rho: float) -> np.ndarray:
    """SSJ's MA representation ``[T, n_obs, 1]`` of an AR(1) TFP innovation."""
    path = rho ** np.arange(T)
    return np.stack([np.asarray(G[o]["Z"]) @ path for o in OBSERVABLES], axis=1)[:, :, None]


def best(fn: Any, reps: int) -> tuple[Any, float]:
    out = fn()
    seconds = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        seconds = min(seconds, time.perf_counter() - t0)
    return out, seconds


def panel_case(households: int, periods: int) -> dict[str, Any]:
    """``benchmarks/panels.py`` (zarr, with statistics) in a fresh interpreter: its figures."""
    if households <= 0:
        return {}
    script = str(Path(__file__).resolve().parent / "panels.py")
    args = [script, "--json", "--engine", "zarr", "--statistics"]
    out = run_fresh_python(
        [*args, "--households", str(households), "--periods", str(periods)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    if "error" in out:
        return {"panel_error": out["error"]}
    return {
        "panel_households": households,
        "panel_periods": periods,
        "panel_seconds": out["panel_seconds"],
        "panel_peak_mb": out["panel_peak_mb"],
        "panel_seconds_per_household_period": out["seconds_per_household_period"],
        "panel_statistics_seconds": out["statistics_seconds"],
        "panel_statistics_peak_mb": out["statistics_peak_mb"],
        "panel": {k: v for k, v in out.items() if k != "environment"},
    }


def run(reps: int, panel_households: int = 10**6, panel_periods: int = 200) -> dict[str, Any]:
    from sequence_jacobian import estimation

    res: dict[str, Any] = {"T": T, "T_obs": T_OBS, "seed": SEED, "observables": OBSERVABLES}
    ssj, ss_ssj = ssj_model(precise=False)
    model, ss = ours_case(float(ss_ssj["beta"]))
    linear = linearize(model, ss, ["K"], ["asset_mkt"], ["Z"], T)
    like = LinearLikelihood(linear, ["Z"], OBSERVABLES)
    sd = np.full(len(OBSERVABLES), MEASUREMENT)
    noise = np.random.default_rng(SEED + 1).standard_normal((T_OBS, len(OBSERVABLES)))
    data = simulate_aggregates(like.ma([RHO]), [SIGMA], T_OBS, seed=SEED) + MEASUREMENT * noise

    res["loglik"] = like(data, [RHO], [SIGMA], sd, constant=False)
    G = ssj.solve_jacobian(ss_ssj, ["K"], ["asset_mkt"], ["Z"], T=T)
    M_ssj = ssj_ma(G, RHO)

    def ssj_loglik(M: np.ndarray) -> float:
        Sigma = estimation.all_covariances(M, np.array([SIGMA]))
        return float(estimation.log_likelihood(data, Sigma, sd))

    res["ssj_loglik"], res["ssj_loglik_seconds"] = best(lambda: ssj_loglik(M_ssj), reps)
    res["loglik_rel_diff"] = abs(res["loglik"] - res["ssj_loglik"]) / abs(res["ssj_loglik"])

    @jax.jit
    def ours_from_ma(M: jax.Array) -> jax.Array:
        V = full_covariance(autocovariances(M, jnp.array([SIGMA])), jnp.asarray(sd), T_OBS)
        return gaussian_log_likelihood(jnp.asarray(data).ravel(), V, constant=False)

    same = float(ours_from_ma(jnp.asarray(M_ssj)))
    res["loglik_same_moments"] = same
    res["loglik_same_moments_rel_diff"] = abs(same - res["ssj_loglik"]) / abs(res["ssj_loglik"])
    M_ours = jnp.asarray(like.ma([RHO]))
    _, res["loglik_seconds"] = best(lambda: float(ours_from_ma(M_ours)), reps)
    res["ratio_ssj_loglik"] = res["ssj_loglik_seconds"] / res["loglik_seconds"]

    G_p = ssj.solve_jacobian(
        ss_ssj, ["K"], ["asset_mkt"], ["Z"], T=T, options={"hh": {"h": 1e-6, "twosided": True}}
    )
    precise = ssj_loglik(ssj_ma(G_p, RHO))
    res["ssj_loglik_precise"] = precise
    res["loglik_rel_diff_precise"] = abs(res["loglik"] - precise) / abs(precise)

    # maximum likelihood of the shock process from simulated output
    one = LinearLikelihood(linear, ["Z"], ["Y"])
    sample = simulate_aggregates(one.ma([RHO]), [SIGMA], 400, seed=SEED + 7)
    t0 = time.perf_counter()
    fit = one.estimate(sample, {"rho_Z": 0.7, "sigma_Z": 0.02})
    res["estimate_seconds"] = time.perf_counter() - t0
    res["estimate"] = dict(zip(fit.names, fit.estimate.tolist(), strict=True))
    res["standard_errors"] = dict(zip(fit.names, fit.standard_errors.tolist(), strict=True))
    res["truth"] = {"rho_Z": RHO, "sigma_Z": SIGMA}
    res["estimate_within_2se"] = all(
        abs(res["estimate"][k] - v) < 2 * res["standard_errors"][k] for k, v in res["truth"].items()
    )
    res.update(panel_case(panel_households, panel_periods))
    return res


def main(argv: list[str] | None = None) -> int:
    counts = {
        "panel_households": (10**6, "households of the panel case (0 skips it)"),
        "panel_periods": (200, "periods of the panel case"),
    }
    return ssj_comparison_main(__doc__.splitlines()[0], run, argv, reps=5, counts=counts)


if __name__ == "__main__":
    sys.exit(main())
