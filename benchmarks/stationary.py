"""Time hank_mfg's stationary (Aiyagari) equilibrium against QuantEcon and the SSJ toolkit.

Two sections, in one run:

* ``lecture``: QuantEcon's lecture "The Aiyagari Model" (200 wealth × 2 income points, log
  utility, fixed labour supply; :func:`hank_mfg.calibration.quantecon_aiyagari`). hank_mfg's
  ``stationary_equilibrium`` (EGM households, exact stationary distribution, Brent on ``r``,
  value function included) against the lecture's own method: ``quantecon.markov.DiscreteDP``
  (next wealth on the grid, policy iteration) with Brent on ``r``
  (:func:`hank_mfg.solvers.discrete_dp.discrete_dp_equilibrium`, sparse state-action pairs —
  faster than the lecture's dense ``R``/``Q``).
* ``500x7``: Aiyagari (1994)'s case ``rho = 0.9, sigma = 0.2, crra = 3`` on 500 wealth × 7
  income points. hank_mfg against the Sequence-Space Jacobian toolkit (``sequence-jacobian``):
  its standard-incomplete-markets household block ``hetblocks.hh_sim.hh`` (EGM, Young's
  lottery) in a model with a firm and an asset-market-clearing block, solved for ``r`` by its
  ``solve_steady_state`` (Brent). Same wealth grid, income grid and ``Pi``, ``beta``, ``crra``,
  labour ``L``; same bracket for ``r`` and the same tolerances: policy change below 1e-12
  (SSJ ``backward_tol``), distribution change below 1e-14 (SSJ ``forward_tol``; hank_mfg
  solves the distribution exactly), Brent ``xtol`` 1e-13 (SSJ ``ttol``). SSJ at its default
  tolerances (1e-8, 1e-10) is reported too.

Every time is the median over rounds after a warm-up call (JIT and numba compilation
excluded); in each round the solvers of a section are called in turn, so that all see the same
load on a shared machine. hank_mfg's first call (compile included) is reported separately, and
so is one DiscreteDP household solve in the lecture's own dense ``R``/``Q`` formulation against
the sparse one used here. Usage::

    python benchmarks/stationary.py            # table
    python benchmarks/stationary.py --json     # one JSON object on stdout, nothing else
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from hank_mfg.calibration import aiyagari_1994, quantecon_aiyagari  # noqa: E402
from hank_mfg.models import BlockEconomy, aiyagari  # noqa: E402
from hank_mfg.solvers.discrete_dp import discrete_dp_equilibrium  # noqa: E402
from hank_mfg.solvers.stationary import aggregate_labour, stationary_equilibrium  # noqa: E402

#: Tolerances shared by both solvers in the 500×7 section (see the module docstring).
POLICY_TOL = 1e-12
DISTRIBUTION_TOL = 1e-14
R_XTOL = 1e-13


def warn(message: str) -> None:
    """Report on stderr (stdout may carry the JSON)."""
    print(f"stationary: {message}", file=sys.stderr)


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict[str, Any]]:
    """Time the calls in ``fns`` in turn, ``repeats`` rounds (after the caller's warm-up), so
    that all see the same load on a shared machine; median, minimum and the last result each."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    last: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            last[name] = fn()
            samples[name].append(time.perf_counter() - start)
    return {
        name: {"median": statistics.median(t), "min": min(t), "result": last[name]}
        for name, t in samples.items()
    }


def first_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call (compilation included when it is the first) and its result."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def version(name: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# --- section (a): QuantEcon's lecture -------------------------------------------------------------
def lecture_dense_ddp(economy: BlockEconomy, r: float, w: float) -> Any:
    """The household problem at ``(r, w)`` exactly as the lecture writes it: dense
    ``R[n, m]`` (``-inf`` where consumption would be <= 0) and ``Q[n, m, n]``."""
    import quantecon as qe

    hh, p = economy.household, economy.parameters
    if p["eis"] != 1.0:
        raise ValueError("the lecture's dense formulation here is for log utility")
    a, y, Pi = np.asarray(hh.wealth_grid), np.asarray(hh.productivity), np.asarray(hh.Pi)
    n_a, n_e = a.size, y.size
    c = ((1 + r) * a[:, None] + w * y[None, :]).reshape(-1, 1) - a[None, :]
    R = np.where(c > 0, np.log(np.where(c > 0, c, 1.0)), -np.inf)  # the lecture: log utility
    Q = np.zeros((n_a * n_e, n_a, n_a * n_e))
    for s in range(n_a * n_e):
        for j in range(n_a):
            Q[s, j, j * n_e : (j + 1) * n_e] = Pi[s % n_e]
    return qe.markov.DiscreteDP(R, Q, p["beta"])


def bench_lecture(repeats: int) -> dict[str, Any]:
    """hank_mfg against DiscreteDP + Brent on QuantEcon's lecture economy."""
    from hank_mfg.solvers.discrete_dp import household_ddp

    economy = aiyagari(quantecon_aiyagari(), horizon=1)
    compile_s, _ = first_call(lambda: stationary_equilibrium(economy))
    ddp_first_s, ddp = first_call(lambda: discrete_dp_equilibrium(economy))
    t = interleaved(
        {
            "ours": lambda: stationary_equilibrium(economy),
            "ddp": lambda: discrete_dp_equilibrium(economy),
        },
        repeats,
    )
    eq, ddp = t["ours"]["result"], t["ddp"]["result"]
    # one household solve at the DiscreteDP equilibrium: sparse pairs (ours) vs the lecture's
    # dense R, Q (its memory and time grow as n^2 m)
    sparse_s, _ = first_call(lambda: household_ddp(economy, ddp.values).solve("pi"))
    dense = lecture_dense_ddp(economy, ddp.r, ddp.w)
    dense_s, dense_res = first_call(lambda: dense.solve("pi"))
    same_policy = bool(np.array_equal(dense_res.sigma, ddp.savings_index.ravel()))
    return {
        "ours_lecture_s": t["ours"]["median"],
        "ours_lecture_min_s": t["ours"]["min"],
        "ours_lecture_first_call_s": compile_s,
        "quantecon_lecture_s": t["ddp"]["median"],
        "quantecon_lecture_min_s": t["ddp"]["min"],
        "quantecon_lecture_first_call_s": ddp_first_s,
        "ratio_quantecon": t["ddp"]["median"] / t["ours"]["median"],
        "r_ours_lecture": eq.r,
        "r_quantecon_lecture": ddp.r,
        "K_ours_lecture": eq.K,
        "K_quantecon_lecture": ddp.K,
        "residual_ours_lecture": eq.residual,
        "residual_quantecon_lecture": ddp.residual,
        "brent_iterations_ours_lecture": eq.iterations,
        "brent_iterations_quantecon_lecture": ddp.iterations,
        "quantecon_one_solve_sparse_s": sparse_s,
        "quantecon_one_solve_dense_s": dense_s,
        "quantecon_dense_same_policy": same_policy,
        "lecture_grid": [economy.household.n_wealth, economy.household.n_income],
    }


# --- section (b): 500 × 7 against the Sequence-Space Jacobian toolkit -----------------------------
def ssj_model(economy: BlockEconomy) -> tuple[Any, dict[str, Any]]:
    """The SSJ model (household block, firm, asset market) and its calibration for ``economy``.

    The household block is SSJ's own ``hetblocks.hh_sim.hh`` (``eis = 1 / crra``) with labour
    income ``y = w e`` on our income grid; the firm block gives ``K = K_d(r)`` and ``w(r)`` of
    the same Cobb–Douglas firm (unit TFP), so the target ``A − K = 0`` is our ``K_s − K_d``.
    """
    from sequence_jacobian import create_model, hetblocks, simple

    def income(w, e_grid):
        y = w * e_grid
        return y

    household = hetblocks.hh_sim.hh.add_hetinputs([income])

    @simple
    def firm(r, L, alpha, delta):
        K = L * (alpha / (r + delta)) ** (1 / (1 - alpha))
        w = (1 - alpha) * (alpha / (r + delta)) ** (alpha / (1 - alpha))
        return K, w

    @simple
    def asset_market(A, K):
        asset_mkt = A - K
        return asset_mkt

    hh, p = economy.household, economy.parameters
    if p["A"] != 1.0:
        raise ValueError("the SSJ firm block here assumes unit TFP")
    calibration = {
        "a_grid": np.asarray(hh.wealth_grid, dtype=np.float64),
        "e_grid": np.asarray(hh.productivity, dtype=np.float64),
        "Pi": np.asarray(hh.Pi, dtype=np.float64),
        "beta": p["beta"],
        "eis": p["eis"],
        "alpha": p["alpha"],
        "delta": p["delta"],
        "L": aggregate_labour(economy),
    }
    model = create_model([household, firm, asset_market], name="aiyagari")
    return model, {"calibration": calibration, "household_name": household.name}


def ssj_solve(
    model: Any, spec: dict[str, Any], bracket: tuple[float, float], tight: bool
) -> tuple[float, float]:
    """SSJ's steady state: Brent on ``r`` within ``bracket``; returns ``(r, A − K)``."""
    options = (
        {spec["household_name"]: {"backward_tol": POLICY_TOL, "forward_tol": DISTRIBUTION_TOL}}
        if tight
        else {}
    )
    ss = model.solve_steady_state(
        {**spec["calibration"], "r": 0.5 * sum(bracket)},
        {"r": bracket},
        {"asset_mkt": 0.0},
        solver="brentq",
        ttol=R_XTOL,
        options=options,
    )
    return float(ss["r"]), float(ss["asset_mkt"])


def bench_500x7(repeats: int, skip_ssj: bool) -> dict[str, Any]:
    """hank_mfg against SSJ on Aiyagari's rho = 0.9, sigma = 0.2, crra = 3 at 500 × 7."""
    economy = aiyagari(aiyagari_1994(0.9, 0.2, 3.0, n_wealth=500), horizon=1)
    r_max = 1.0 / economy.parameters["beta"] - 1.0
    bracket = (0.01, r_max - 1e-3)

    def ours() -> Any:
        return stationary_equilibrium(economy, r_bounds=bracket, xtol=R_XTOL)

    def ours_own_bracket() -> Any:
        return stationary_equilibrium(economy, xtol=R_XTOL)

    compile_s, _ = first_call(ours)
    out: dict[str, Any] = {
        "ours_500x7_first_call_s": compile_s,
        "bracket_500x7": list(bracket),
        "ssj_500x7_s": None,
        "ratio_ssj": None,
    }
    fns: dict[str, Callable[[], Any]] = {"ours": ours, "ours_own_bracket": ours_own_bracket}
    if skip_ssj:
        warn("sequence-jacobian skipped (--skip-ssj); its results are null")
    else:
        try:
            model, spec = ssj_model(economy)
        except ImportError as exc:
            warn(f"sequence-jacobian not available ({exc!r}); its results are null")
        else:
            out["ssj_500x7_first_call_s"], _ = first_call(
                lambda: ssj_solve(model, spec, bracket, tight=True)
            )
            fns["ssj"] = lambda: ssj_solve(model, spec, bracket, tight=True)
            fns["ssj_default"] = lambda: ssj_solve(model, spec, bracket, tight=False)
    t = interleaved(fns, repeats)
    eq, eq_own = t["ours"]["result"], t["ours_own_bracket"]["result"]
    ours_s = t["ours"]["median"]
    out.update(
        {
            "ours_500x7_s": ours_s,
            "ours_500x7_min_s": t["ours"]["min"],
            "ours_500x7_own_bracket_s": t["ours_own_bracket"]["median"],
            "r_ours_500x7": eq.r,
            "r_ours_500x7_own_bracket": eq_own.r,
            "residual_ours_500x7": eq.residual,
            "K_ours_500x7": eq.K,
            "brent_iterations_ours_500x7": eq.iterations,
        }
    )
    if "ssj" in t:
        r_ssj, res_ssj = t["ssj"]["result"]
        r_ssj_default, _ = t["ssj_default"]["result"]
        out.update(
            {
                "ssj_500x7_s": t["ssj"]["median"],
                "ssj_500x7_min_s": t["ssj"]["min"],
                "ratio_ssj": t["ssj"]["median"] / ours_s,
                "r_ssj_500x7": r_ssj,
                "residual_ssj_500x7": res_ssj,
                "r_gap_ours_ssj_500x7": abs(eq.r - r_ssj),
                "ssj_default_tol_500x7_s": t["ssj_default"]["median"],
                "ratio_ssj_default_tol": t["ssj_default"]["median"] / ours_s,
                "r_ssj_default_tol_500x7": r_ssj_default,
            }
        )
    return out


# --- report ---------------------------------------------------------------------------------------
def fmt(seconds: float | None) -> str:
    """Seconds as ms or s."""
    if seconds is None:
        return "n/a"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1.0 else f"{seconds:.3f} s"


def render(res: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    rows = [
        ("lecture 200×2", "hank_mfg stationary_equilibrium", res["ours_lecture_s"], 1.0),
        ("", "  first call (compile included)", res["ours_lecture_first_call_s"], None),
        (
            "",
            "QuantEcon DiscreteDP (PI) + Brent",
            res["quantecon_lecture_s"],
            res["ratio_quantecon"],
        ),
        ("500×7, crra 3", "hank_mfg, same bracket as SSJ", res["ours_500x7_s"], 1.0),
        ("", "  first call (compile included)", res["ours_500x7_first_call_s"], None),
        ("", "  own bracket search", res["ours_500x7_own_bracket_s"], None),
        ("", "SSJ solve_steady_state, same tol", res["ssj_500x7_s"], res["ratio_ssj"]),
        (
            "",
            "SSJ solve_steady_state, default tol",
            res.get("ssj_default_tol_500x7_s"),
            res.get("ratio_ssj_default_tol"),
        ),
    ]
    cells = [("economy", "solver", "median", "ref/ours")]
    cells += [(a, b, fmt(t), "" if q is None else f"{q:.1f}x") for a, b, t, q in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(4)) for c in cells]
    rule = "-" * max(len(x) for x in lines)
    notes = [
        f"r: lecture hank_mfg {res['r_ours_lecture']:.10f}, DiscreteDP "
        f"{res['r_quantecon_lecture']:.10f} (next wealth on the grid: a different model at "
        "grid resolution)",
        f"r: 500×7 hank_mfg {res['r_ours_500x7']:.13f}"
        + (
            f", SSJ {res['r_ssj_500x7']:.13f} (gap {res['r_gap_ours_ssj_500x7']:.1e}), SSJ "
            f"default tol {res['r_ssj_default_tol_500x7']:.13f}"
            if res.get("r_ssj_500x7") is not None
            else ""
        ),
        f"one DiscreteDP solve at that rate: sparse state-action pairs "
        f"{fmt(res['quantecon_one_solve_sparse_s'])}, the lecture's dense R, Q "
        f"{fmt(res['quantecon_one_solve_dense_s'])} (same policy: "
        f"{res['quantecon_dense_same_policy']})",
        f"median of {res['repeats']} rounds, solvers called in turn in each round; "
        f"jax {res['versions']['jax']}, quantecon {res['versions']['quantecon']}, "
        f"sequence-jacobian {res['versions']['sequence-jacobian']}; {res['machine']}",
    ]
    return "\n".join([rule, lines[0], rule, *lines[1:], rule, *notes])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (each solver)")
    parser.add_argument("--skip-ssj", action="store_true", help="leave out sequence-jacobian")
    args = parser.parse_args(argv)
    res: dict[str, Any] = {}
    # anything the libraries print goes to stderr, so that stdout carries only the report
    with contextlib.redirect_stdout(sys.stderr):
        res.update(bench_lecture(args.repeats))
        res.update(bench_500x7(args.repeats, args.skip_ssj))
    res.update(
        {
            "repeats": args.repeats,
            "versions": {
                name: version(name)
                for name in ("jax", "jaxlib", "numpy", "scipy", "quantecon", "sequence-jacobian")
            },
            "machine": f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, {jax.default_backend()}",
            "dtype": "float64",
        }
    )
    if args.json:
        print(json.dumps(res))
    else:
        print(render(res))
    return res


if __name__ == "__main__":
    main()
