"""Generalised impulse responses of the global solutions against the sequence space's linear IRF.

Economy: Aiyagari (1994), annual — beta 0.96, crra 3, alpha 0.36, delta 0.08, log income
AR(1) with rho 0.6 and unconditional sd 0.2 on 3 Tauchen states — on 60 wealth points on
[0, 100], with aggregate log TFP ``log Z' = 0.9 log Z + 0.02 ε`` as common noise
(``aiyagari(aiyagari_1994(n_income=3, n_wealth=60, wealth_max=100), tfp=LogAR1TFP(0.9,
0.02))``), float64. The game starts at the stationary distribution of the economy without
aggregate risk (``Z = 1``), pays the stationary value as terminal value after 40 years, and
shows every household ``(K, Z)``.

Policies (each rolled out by the game's exact kernel, :func:`hank_mfg.solvers.girf.girf`):

* ``rspg``: RSPG (GRU over ``(K, Z)``, factorised head, continuous savings share) trained on
  the game: 6,000 iterations of 16 common-noise paths, learning rate 1e-2 annealed to 1e-4;
* ``krusell_smith``: the Krusell–Smith algorithm, which only runs on a finite TFP chain, run on
  the 7-state Rouwenhorst chain of the TFP process (income independent of TFP; 7 capital nodes
  on [0.7, 1.3] K̄, 2,000 simulated years, the first 200 discarded), its savings policy
  interpolated linearly in ``log Z`` between the chain's levels inside the log-AR(1) game;
* ``first_order`` (reference): the economy's policy linearised around the stationary
  equilibrium (stationary shares plus their sequence-space response to TFP innovations);
* ``stationary_shares`` (reference): the stationary savings shares held fixed, which ignore
  the prices households expect (not an equilibrium of the economy with aggregate risk).

The linear IRF is the sequence space's (:func:`hank_mfg.solvers.sequence.linearize` of the
household, the firm and ``asset_mkt = A − K``; unknown K, T = 200) to ``dZ_t = Z σ ρ^t``,
shifted to the game's timing (the game's K_t is wealth at the start of year t, the sequence
space's K_{t−1}). GIRFs: 128 common-noise paths from the same starting point, the shock at
date 0, 30 years.

Keys:

* ``girf_vs_linear_peak_rel``: for a one-sd shock, ``peak(GIRF_K) / peak(linear K) − 1``
  (each path's largest absolute value) — the larger in absolute value of RSPG's and the
  Krusell–Smith algorithm's; ``girf_vs_linear_peak_rel_<policy>`` per policy; target
  ``|·| <= 0.1``;
* ``girf_asymmetry``: RSPG's ``peak(GIRF_K(+5 sd)) / −peak(GIRF_K(−5 sd))`` (the largest
  response to +5 sd over minus the most negative to −5 sd; 1 for a linear economy);
  ``girf_asymmetry_<policy>`` per policy;
* ``moments_sd_ratio``, ``moments_max_abs_z``: each policy's aggregate series on 1,000
  common-noise paths from the stationary state (:func:`hank_mfg.solvers.global_series.
  global_series`): the sd of K, Y, C, r at date 30 over the linear model's (computed from
  its impulse responses, no simulation), and the largest ``|simulated − linear| / sampling
  sd`` of their covariances at lags 0, 1, 4 (:func:`~hank_mfg.solvers.global_series.
  compare_moments`);
* ``paths``: the first 31 dates of the linear IRF and of each policy's GIRF of K (and C) for
  ±1 and ±5 sd, with standard errors; ``settings``; ``seconds`` per part and in all.

Run time on a 2-core CPU: 2.6 minutes measured (RSPG's training with its compilation 2.1 of
them; the Krusell–Smith algorithm 9 s, the stationary equilibrium and the linear IRF 6 s,
every GIRF well under a second once compiled); 4.3 minutes when other jobs shared the cores.

Usage::

    python benchmarks/girf.py            # a table
    python benchmarks/girf.py --json     # one JSON object on stdout
    python benchmarks/girf.py --help     # sizes, iterations, samples, seeds
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]


def _import_hank_mfg() -> None:
    """Make ``hank_mfg`` and the sibling benchmark modules importable from a checkout."""
    try:
        import hank_mfg  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)


_import_hank_mfg()

import jax.numpy as jnp  # noqa: E402
from bench_common import environment_info, json_default, stdout_to_stderr  # noqa: E402

import hank_mfg  # noqa: E402, F401  (float64)
from hank_mfg.calibration import LogAR1TFP, aiyagari_1994  # noqa: E402
from hank_mfg.core.rollout import constant_policy  # noqa: E402
from hank_mfg.models.aiyagari import aiyagari  # noqa: E402
from hank_mfg.solvers.girf import (  # noqa: E402
    GIRF,
    first_order_policy,
    girf,
    krusell_smith_ar1_policy,
    linear_irf,
    peak,
)
from hank_mfg.solvers.global_series import compare_moments, global_series  # noqa: E402
from hank_mfg.solvers.rspg import rspg  # noqa: E402
from hank_mfg.solvers.spg import SPGConfig  # noqa: E402
from hank_mfg.solvers.stationary import stationary_equilibrium  # noqa: E402

#: Target on |peak(GIRF_K) / peak(linear K) − 1| for a one-sd shock.
TARGET_PEAK_REL = 0.10
#: Shocks in standard deviations.
SMALL, LARGE = 1.0, 5.0
#: Dates of each path in the JSON output.
SHOWN = 31


@dataclasses.dataclass(frozen=True)
class Settings:
    """The benchmark's sizes (defaults: the documented run).

    Attributes:
        n_wealth, n_income, wealth_max: the household grid.
        tfp_rho, tfp_sigma: log TFP AR(1) persistence and innovation sd (annual).
        game_horizon: years of the game (training and rollouts); girf_horizon: years after
            the shock; girf_samples: common-noise paths of each GIRF; girf_seed: their seed;
            moment_samples: common-noise paths of the aggregate series whose moments are
            compared with the linear model's.
        sequence_T: the sequence space's horizon.
        iterations, rspg_samples, learning_rate, final_lr_fraction, hidden, rank, embedding,
        eval_every, seed: RSPG's training (``SPGConfig``).
        ks_states, ks_capital_nodes, ks_capital_band, ks_periods, ks_burn_in: the
            Krusell–Smith algorithm on the Rouwenhorst chain (capital nodes on
            ``[1 − band, 1 + band] K̄``).
    """

    n_wealth: int = 60
    n_income: int = 3
    wealth_max: float = 100.0
    tfp_rho: float = 0.9
    tfp_sigma: float = 0.02
    game_horizon: int = 40
    girf_horizon: int = 30
    girf_samples: int = 128
    girf_seed: int = 0
    moment_samples: int = 1000
    sequence_T: int = 200
    iterations: int = 6000
    rspg_samples: int = 16
    learning_rate: float = 1e-2
    final_lr_fraction: float = 0.01
    hidden: tuple[int, ...] = (64, 64)
    rank: int = 32
    embedding: int = 16
    eval_every: int = 1500
    seed: int = 0
    ks_states: int = 7
    ks_capital_nodes: int = 7
    ks_capital_band: float = 0.3
    ks_periods: int = 2000
    ks_burn_in: int = 200

    def rspg_config(self) -> SPGConfig:
        return SPGConfig(
            iterations=self.iterations,
            n_samples=self.rspg_samples,
            learning_rate=self.learning_rate,
            final_lr_fraction=self.final_lr_fraction,
            hidden=self.hidden,
            rank=self.rank,
            embedding=self.embedding,
            recurrent=True,
            eval_every=self.eval_every,
            eval_samples=4,
            seed=self.seed,
        )


def _peak_rel(g: GIRF, lin: Any, name: str = "K") -> float:
    return peak(g[name])[1] / peak(lin[name])[1] - 1.0


def _asymmetry(up: GIRF, down: GIRF, name: str = "K") -> float:
    """``max_t up_t / −min_t down_t``: the largest response to the positive shock over minus
    the most negative response to the negative one."""
    return float(np.max(up[name]) / -np.min(down[name]))


def _shown(x: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(x)[:SHOWN]]


def policy_girfs(game: Any, policy: Any, params: Any, lin: Any, s: Settings) -> dict[str, Any]:
    """GIRFs for ±1 and ±5 sd and their figures against the linear IRF."""
    t0 = time.perf_counter()
    out: dict[str, GIRF] = {}
    for size in (SMALL, -SMALL, LARGE, -LARGE):
        out[f"{size:+g}"] = girf(
            game,
            policy,
            params,
            shock_sd=size,
            horizon=s.girf_horizon,
            n_samples=s.girf_samples,
            seed=s.girf_seed,
        )
    up, down = out[f"{SMALL:+g}"], out[f"{-SMALL:+g}"]
    big_up, big_down = out[f"{LARGE:+g}"], out[f"{-LARGE:+g}"]
    t_peak, v_peak = peak(up["K"])
    return {
        "peak_rel": _peak_rel(up, lin),
        "peak_rel_C": _peak_rel(up, lin, "C"),
        "peak_rel_minus_one_sd": peak(down["K"])[1] / -peak(lin["K"])[1] - 1.0,
        "peak_K": v_peak,
        "peak_date_K": t_peak,
        "peak_K_standard_error": float(up.standard_errors["K"][t_peak]),
        "max_abs_diff_K_over_peak": float(
            np.max(np.abs(up["K"] - lin["K"])) / abs(peak(lin["K"])[1])
        ),
        "asymmetry": _asymmetry(big_up, big_down),
        "asymmetry_C": _asymmetry(big_up, big_down, "C"),
        "paths": {
            key: {
                "K": _shown(g["K"]),
                "K_se": _shown(g.standard_errors["K"]),
                "C": _shown(g["C"]),
            }
            for key, g in out.items()
        },
        "baseline_K": _shown(up.baseline["K"]),
        "girf_seconds": time.perf_counter() - t0,
    }


#: Variables and lags of the moment comparison (at date ``girf_horizon``).
MOMENT_NAMES, MOMENT_LAGS = ("K", "Y", "C", "r"), (0, 1, 4)


def policy_moments(game: Any, policy: Any, params: Any, lin: Any, s: Settings) -> dict[str, Any]:
    """The policy's aggregate series under sampled shocks (``moment_samples`` paths from the
    stationary state): covariances at date ``girf_horizon`` against the linear model's."""
    t0 = time.perf_counter()
    series = global_series(
        game, policy, params, periods=s.girf_horizon, n_samples=s.moment_samples, seed=1
    )
    m = compare_moments(series, lin, s.girf_horizon, MOMENT_LAGS, MOMENT_NAMES)
    variance = {n: m.sel(variable=n, other=n, lag=0) for n in MOMENT_NAMES}
    return {
        "sd_ratio": {n: float(np.sqrt(v["simulated"] / v["linear"])) for n, v in variance.items()},
        "sd_linear": {n: float(np.sqrt(v["linear"])) for n, v in variance.items()},
        "max_abs_z": float(np.nanmax(np.abs(m["z"].values))),
        "z_variances": {n: float(v["z"]) for n, v in variance.items()},
        "moments_seconds": time.perf_counter() - t0,
    }


def run(s: Settings, *, verbose: bool = False) -> dict[str, Any]:
    start = time.perf_counter()
    seconds: dict[str, float] = {}
    cal = aiyagari_1994(n_income=s.n_income, n_wealth=s.n_wealth, wealth_max=s.wealth_max)
    tfp = LogAR1TFP(rho=s.tfp_rho, sigma=s.tfp_sigma)
    economy = aiyagari(cal, tfp=tfp, horizon=s.game_horizon, observation=("K", "Z"))
    t0 = time.perf_counter()
    eq = stationary_equilibrium(economy)
    game = economy.with_settings(
        initial_distributions=eq.distribution,
        terminal=eq.value,
        terminal_marginal=eq.marginal_value,
    )
    seconds["stationary_equilibrium"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    lin = linear_irf(game, shock_sd=SMALL, horizon=s.girf_horizon, T=s.sequence_T, equilibrium=eq)
    seconds["linear_irf"] = time.perf_counter() - t0

    results: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    fo_policy, fo_params = first_order_policy(game, equilibrium=eq, linear=lin.linear)
    seconds["first_order_policy"] = time.perf_counter() - t0
    results["first_order"] = policy_girfs(game, fo_policy, fo_params, lin, s)

    results["stationary_shares"] = policy_girfs(
        game, constant_policy, jnp.asarray(eq.share), lin, s
    )

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*above the top.*", category=RuntimeWarning)
        ks_policy, ks_params, ks = krusell_smith_ar1_policy(
            game,
            n_tfp_states=s.ks_states,
            equilibrium=eq,
            n_capital=s.ks_capital_nodes,
            capital_bounds=((1 - s.ks_capital_band) * eq.K, (1 + s.ks_capital_band) * eq.K),
            n_periods=s.ks_periods,
            burn_in=s.ks_burn_in,
        )
    seconds["krusell_smith"] = time.perf_counter() - t0
    results["krusell_smith"] = policy_girfs(game, ks_policy, ks_params, lin, s)
    results["krusell_smith"].update(
        {
            "coefficients": np.asarray(ks.results["coefficients"]).tolist(),
            "r2_min": float(np.min(ks.results["r2"])),
            "den_haan_max_percent": float(ks.results["den_haan_max_percent"]),
            "converged": bool(ks.results["converged"]),
            "periods_outside_capital_grid": float(ks.results["periods_outside_capital_grid"]),
        }
    )

    def progress(p: Any) -> None:
        if verbose:
            print(
                f"rspg {p.iteration:5d}/{p.iterations}: loss {p.loss:.6f}, exploitability "
                f"{p.exploitability:.3e} ({p.seconds:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*above the top.*", category=RuntimeWarning)
        sol = rspg(game, s.rspg_config(), callback=progress)
    seconds["rspg_training"] = time.perf_counter() - t0
    results["rspg"] = policy_girfs(game, sol.policy, sol.params, lin, s)
    results["rspg"]["exploitability"] = sol.exploitability
    results["rspg"]["exploitability_history"] = sol.history["exploitability"].tolist()

    for name, (pol, par) in {
        "first_order": (fo_policy, fo_params),
        "krusell_smith": (ks_policy, ks_params),
        "rspg": (sol.policy, sol.params),
    }.items():
        results[name]["moments"] = policy_moments(game, pol, par, lin, s)

    solvers = ("rspg", "krusell_smith")
    headline = max((results[k]["peak_rel"] for k in solvers), key=abs)
    out: dict[str, Any] = {
        "girf_vs_linear_peak_rel": headline,
        **{f"girf_vs_linear_peak_rel_{k}": results[k]["peak_rel"] for k in results},
        "girf_asymmetry": results["rspg"]["asymmetry"],
        **{f"girf_asymmetry_{k}": results[k]["asymmetry"] for k in results},
        "moments_max_abs_z": {
            k: results[k]["moments"]["max_abs_z"] for k in (*solvers, "first_order")
        },
        "moments_sd_ratio": {
            k: results[k]["moments"]["sd_ratio"] for k in (*solvers, "first_order")
        },
        "target_peak_rel": TARGET_PEAK_REL,
        "targets_met": {k: bool(abs(results[k]["peak_rel"]) <= TARGET_PEAK_REL) for k in solvers},
        "linear": {
            "peak_K": peak(lin["K"])[1],
            "peak_date_K": peak(lin["K"])[0],
            "peak_C": peak(lin["C"])[1],
            "K": _shown(lin["K"]),
            "C": _shown(lin["C"]),
            "steady_K": float(lin.steady["K"]),
            "steady_r": float(lin.steady["r"]),
        },
        "policies": results,
        "settings": {
            **dataclasses.asdict(s),
            "shock_sd": [SMALL, -SMALL, LARGE, -LARGE],
            "shock_date": 0,
            "observation": list(game.observation),
            "start": "stationary distribution, log Z_0 = 0, stationary value as terminal value",
        },
    }
    seconds["total"] = time.perf_counter() - start
    out["seconds"] = seconds
    return out


def render(out: dict[str, Any]) -> str:
    s, lin = out["settings"], out["linear"]
    lines = [
        f"Aiyagari economy {s['n_wealth']}x{s['n_income']}, log TFP AR(1) rho {s['tfp_rho']}, "
        f"sigma {s['tfp_sigma']}; GIRFs of K over {s['girf_horizon']} years, "
        f"{s['girf_samples']} paths; RSPG {s['iterations']} iterations x {s['rspg_samples']}",
        f"linear IRF (sequence space, game timing): peak dK {lin['peak_K']:.5f} at t = "
        f"{lin['peak_date_K']}",
        f"{'policy':<18}{'peak dK':>10}{'date':>6}{'se':>10}{'rel. to linear':>16}"
        f"{'asym +-5sd':>12}",
    ]
    for name, r in out["policies"].items():
        lines.append(
            f"{name:<18}{r['peak_K']:>10.5f}{r['peak_date_K']:>6d}"
            f"{r['peak_K_standard_error']:>10.2e}{r['peak_rel']:>+16.4f}{r['asymmetry']:>12.4f}"
        )
    lines.append(
        f"girf_vs_linear_peak_rel {out['girf_vs_linear_peak_rel']:+.4f} (target |.| <= "
        f"{out['target_peak_rel']}): "
        + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in out["targets_met"].items())
    )
    lines.append(
        f"aggregate series ({s['moment_samples']} paths, date {s['girf_horizon']}): sd over the "
        "linear model's sd, max |z| of the covariances"
    )
    for name, ratios in out["moments_sd_ratio"].items():
        lines.append(
            f"  {name:<16}"
            + "".join(f"{k} {v:.4f}  " for k, v in ratios.items())
            + f"max |z| {out['moments_max_abs_z'][name]:.2f}"
        )
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in out["seconds"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    d = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--n-wealth", type=int, default=d.n_wealth)
    parser.add_argument("--iterations", type=int, default=d.iterations, help="RSPG iterations")
    parser.add_argument("--rspg-samples", type=int, default=d.rspg_samples, help="paths/step")
    parser.add_argument("--girf-samples", type=int, default=d.girf_samples)
    parser.add_argument("--seed", type=int, default=d.seed, help="RSPG seed")
    parser.add_argument("--girf-seed", type=int, default=d.girf_seed)
    parser.add_argument("--verbose", action="store_true", help="training progress (stderr)")
    args = parser.parse_args(argv)
    settings = dataclasses.replace(
        d,
        n_wealth=args.n_wealth,
        iterations=args.iterations,
        rspg_samples=args.rspg_samples,
        girf_samples=args.girf_samples,
        seed=args.seed,
        girf_seed=args.girf_seed,
        eval_every=max(1, min(d.eval_every, args.iterations)),
    )
    with stdout_to_stderr(args.json):
        out = run(settings, verbose=args.verbose)
        out["environment"] = environment_info()
    if args.json:
        print(json.dumps(out, default=json_default))
    else:
        print(render(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
