"""SPG and RSPG against the classical stationary equilibrium of the Aiyagari (1994) economy.

Model: ``aiyagari(aiyagari_1994(rho=0.9, sigma=0.2, crra=3.0))`` — annual periods, beta 0.96,
7 Tauchen income states, 200 wealth points on [0, 200] — without aggregate noise, float64.

1. Classical: the stationary equilibrium (``stationary_equilibrium``: Brent on ``r``, EGM
   households, the exact stationary distribution), giving ``r*``, the savings policy
   ``a'_EGM(a, e)``, the distribution ``mu*`` and the value ``V*`` with its marginal.
2. The training game: ``horizon`` periods starting from ``mu*`` with ``V*`` (and ``V*'``) as
   terminal value, so that a finite horizon stands in for the infinite one (as
   ``stationary_solution`` does). Its equilibrium is the classical one in every period.
3. SPG (memoryless network of the observed prices) and RSPG (GRU over the price history),
   continuous savings share, one path per step (no common noise), trained from scratch with
   the default factorised policy head; the learning rate is annealed to 1% of its start.

Reported for each learned policy, on its own deterministic rollout:

* ``rate_error_bp``: ``max_t |r_t − r*|`` over all dates ``t = 0…T`` (basis points);
* ``savings_error_percent``: ``Σ_s mu*(s) |a'_π,t(s) − a'_EGM(s)| / Σ_s mu*(s) a'_EGM(s)``
  (percent) at ``t = 0``, and its mean and maximum over ``t`` (``a'_π,t`` from the period's
  share and prices); ``savings_error_unconstrained_percent`` is the mass-weighted mean of the
  pointwise relative error ``|a'_π − a'_EGM| / a'_EGM`` over states where the EGM household
  saves at least 1% of mean wealth (``t = 0``);
* ``exploitability`` by the core evaluation (EGM best response along the path) and its
  ratio to ``|Σ_s mu*(s) V_π,0(s)|``, the mean value; ``exploitability_exact_lottery``
  against the exact best response under the model's lottery kernel
  (:func:`lottery_best_response`), which the EGM policy misses by a little (about 3e-5 here);
* training and total wall time (JIT compilation included; the machine's load makes it noisy).

Targets: rate error < 10 bp at every date, savings error < 1%, exploitability < 1e-3 of the
mean value. The classical policy is scored by the same yardstick as a check of the game.
Run time on a shared 2-core CPU: about 1.5 minutes (float64, JIT compilation included).

Usage::

    python benchmarks/validate_aiyagari.py            # table
    python benchmarks/validate_aiyagari.py --json     # one JSON object on stdout, nothing else
    python benchmarks/validate_aiyagari.py --help     # grid, horizon, iterations, …
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # classical solutions and validation in float64

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Targets of the validation (units in the names).
TARGETS = {
    "rate_error_bp": 10.0,
    "savings_error_percent": 1.0,
    "savings_error_mean_over_t_percent": 1.0,
    "relative_exploitability": 1e-3,
}


def _import_hank_mfg() -> None:
    """Make ``hank_mfg`` importable when the script runs from a source checkout."""
    try:
        import hank_mfg  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))


_import_hank_mfg()

if str(Path(__file__).resolve().parent) not in sys.path:  # sibling helper module
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import environment_info, json_default, stdout_to_stderr  # noqa: E402

from hank_mfg.calibration import aiyagari_1994  # noqa: E402
from hank_mfg.core import constant_policy, evaluate  # noqa: E402
from hank_mfg.core.game import AggState  # noqa: E402
from hank_mfg.core.rollout import MeanFieldPath  # noqa: E402
from hank_mfg.models import BlockEconomy, aiyagari  # noqa: E402
from hank_mfg.solvers.egm import C_FLOOR  # noqa: E402
from hank_mfg.solvers.spg import SPGConfig, train  # noqa: E402
from hank_mfg.solvers.stationary import (  # noqa: E402
    StationaryEquilibrium,
    stationary_equilibrium,
)


@dataclasses.dataclass(frozen=True)
class AiyagariValidation:
    """Settings of the validation (the defaults are the full version).

    Attributes:
        rho, sigma, crra: income persistence, unconditional sd of log income, risk aversion.
        n_wealth, n_income, wealth_max: the grid (points, points, units of the good).
        horizon: periods of the training game (years).
        iterations, learning_rate, final_lr_fraction, max_grad_norm, hidden, embedding,
        eval_every, seed: :class:`~hank_mfg.solvers.spg.SPGConfig` settings shared by SPG and
            RSPG (one path per step, no common noise).
        solvers: which of ``"spg"``, ``"rspg"`` to train.
    """

    rho: float = 0.9
    sigma: float = 0.2
    crra: float = 3.0
    n_wealth: int = 200
    n_income: int = 7
    wealth_max: float = 200.0
    horizon: int = 20
    iterations: int = 2000
    learning_rate: float = 1e-2
    final_lr_fraction: float = 0.01
    max_grad_norm: float = 1.0
    hidden: tuple[int, ...] = (64, 64)
    rank: int | None = 32
    embedding: int = 8
    eval_every: int = 500
    seed: int = 0
    solvers: tuple[str, ...] = ("spg", "rspg")

    def spg_config(self, recurrent: bool) -> SPGConfig:
        """The training settings of SPG (``recurrent=False``) or RSPG."""
        return SPGConfig(
            iterations=self.iterations,
            n_samples=1,
            learning_rate=self.learning_rate,
            final_lr_fraction=self.final_lr_fraction,
            max_grad_norm=self.max_grad_norm,
            hidden=self.hidden,
            rank=self.rank,
            embedding=self.embedding,
            recurrent=recurrent,
            eval_every=self.eval_every,
            eval_samples=1,
            seed=self.seed,
        )


def validation_game(economy: BlockEconomy, eq: StationaryEquilibrium, horizon: int) -> BlockEconomy:
    """The economy over ``horizon`` periods from ``mu*`` with ``V*`` as terminal value."""
    return economy.with_settings(
        horizon=horizon,
        terminal=eq.value,
        terminal_marginal=eq.marginal_value,
        initial_distributions=eq.distribution,
        name=f"{economy.name}_validation",
    )


def rate_error_bp(path: MeanFieldPath, r_star: float) -> float:
    """``max |r_t − r*|`` over samples and dates ``0…T``, in basis points."""
    return float(1e4 * np.max(np.abs(np.asarray(path.agg.aux["r"], dtype=np.float64) - r_star)))


def savings_errors(
    game: BlockEconomy, eq: StationaryEquilibrium, path: MeanFieldPath
) -> dict[str, float]:
    """Savings of the path's policy against the EGM policy, weighted by ``mu*`` (percent).

    ``a'_π,t = a_min + x_t (m_t − a_min)`` with ``x_t`` the policy's share and ``m_t`` the
    cash on hand at date ``t``'s prices (sample 0).
    """
    hh = game.household
    shape = (hh.n_wealth, hh.n_income)
    mu = eq.distribution.reshape(shape)
    shares = np.asarray(path.actions[0], dtype=np.float64)
    r = np.asarray(path.agg.aux["r"][0], dtype=np.float64)
    w = np.asarray(path.agg.aux["w"][0], dtype=np.float64)
    by_t = []
    for t in range(game.horizon):
        values = {**game.parameters, "r": r[t], "w": w[t]}
        m = hh.cash_on_hand(jnp.ones(shape), values)
        low, high = (np.asarray(b, dtype=np.float64) for b in game.bounds_given_cash(m))
        a_next = low + shares[t].reshape(shape) * (high - low)
        by_t.append((a_next, np.sum(mu * np.abs(a_next - eq.savings)) / np.sum(mu * eq.savings)))
    errors = np.array([e for _, e in by_t])
    free = eq.savings >= 0.01 * eq.K
    pointwise = np.abs(by_t[0][0] - eq.savings)[free] / eq.savings[free]
    return {
        "savings_error_percent": float(100 * errors[0]),
        "savings_error_mean_over_t_percent": float(100 * errors.mean()),
        "savings_error_max_over_t_percent": float(100 * errors.max()),
        "savings_error_unconstrained_percent": float(
            100 * np.sum(mu[free] * pointwise) / np.sum(mu[free])
        ),
    }


# --- exact best response under the lottery kernel ---------------------------------------------


def _lottery_period(
    game: BlockEconomy, v_next: jax.Array, agg: AggState, z_next: Any
) -> tuple[jax.Array, jax.Array]:
    """One backward step of the exact best response: value and share ``[n_states]`` each.

    Next wealth ``a'`` is placed on its two neighbouring grid points, so the continuation
    value ``EV(a', e) = Σ_e' Pi[e, e'] v_next(a', e')`` is linear on each grid segment
    ``[a_j, a_{j+1}]`` (flat above the top point). On a segment the objective
    ``u(m − a') + β EV(a')`` is strictly concave; its maximiser solves
    ``u'(m − a') = β slope_j`` (CRRA: ``c = (β slope_j)^(−eis)``), clipped to the segment and
    to the game's upper bound on savings (all cash on hand). The best segment gives the exact
    optimum over the continuous share.
    """
    hh = game.household
    beta, eis = game.parameters[hh.discount], game.parameters["eis"]
    grid = jnp.asarray(hh.wealth_grid, dtype=v_next.dtype)
    Pi = game.income_transition(agg.z, z_next).astype(v_next.dtype)
    ev = v_next.reshape(hh.n_wealth, hh.n_income) @ Pi.T  # [a', e]
    m = game.cash_on_hand(agg)  # [a, e]
    low, high = game.bounds_given_cash(m)
    slope = ((ev[1:] - ev[:-1]) / (grid[1:] - grid[:-1])[:, None]).T[None]  # [1, e, segment]
    lo = grid[:-1][None, None, :]
    hi = jnp.minimum(grid[1:][None, None, :], high[..., None])  # [a, e, segment]
    feasible = hi >= lo
    c_foc = jnp.where(slope > 0, (beta * jnp.maximum(slope, 1e-300)) ** (-eis), jnp.inf)
    a_next = jnp.where(feasible, jnp.clip(m[..., None] - c_foc, lo, hi), lo)
    c = jnp.maximum(m[..., None] - a_next, C_FLOOR)
    values = {**game.parameters, **agg.aux}
    objective = hh.utility(c, jnp.ones_like(c), values) + beta * (
        ev[:-1].T[None] + slope * (a_next - lo)
    )
    objective = jnp.where(feasible, objective, -jnp.inf)
    best = jnp.argmax(objective, axis=-1)
    a_best = jnp.take_along_axis(a_next, best[..., None], axis=-1)[..., 0]
    share = jnp.clip((a_best - low) / jnp.where(high > low, high - low, 1.0), 0.0, 1.0)
    return jnp.max(objective, axis=-1).ravel(), share.ravel()


def _lottery_path(game: BlockEconomy, agg: AggState) -> tuple[jax.Array, jax.Array]:
    now = jax.tree_util.tree_map(lambda x: x[:-1], agg)
    z_next = jax.tree_util.tree_map(lambda x: x[1:], agg.z)
    v_T = game.terminal_value(jax.tree_util.tree_map(lambda x: x[-1], agg))

    def period(v_next: jax.Array, inputs: Any) -> tuple[jax.Array, Any]:
        v, share = _lottery_period(game, v_next, *inputs)
        return v, (v, share)

    _, (values, shares) = jax.lax.scan(period, v_T, (now, z_next), reverse=True)
    return jnp.concatenate([values, v_T[None]], axis=0), shares


@partial(jax.jit, static_argnames=("game",))
def lottery_best_response(game: BlockEconomy, path: MeanFieldPath) -> tuple[jax.Array, jax.Array]:
    """Exact best response of a household to a path under the model's own lottery kernel.

    The core's household best response is the endogenous-grid method, whose policy is optimal
    for a continuation value interpolated in *marginal* value; under the lottery kernel the
    continuation value is piecewise linear in next wealth, and the optimum differs slightly
    (by about 1e-5 to 1e-3 of utility in the validations, more on coarse grids). This
    backward induction maximises exactly (see :func:`_lottery_period`), with a cost of
    ``O(n_wealth² n_income)`` per period.

    Returns the value ``[n_samples, horizon + 1, n_states]`` (units of utility) and the shares
    ``[n_samples, horizon, n_states]``. Games with ``terminal="consume_wealth"`` are not
    supported (only terminal values).
    """
    return jax.vmap(_lottery_path, in_axes=(None, 0))(game, path.agg)


def lottery_exploitability(game: BlockEconomy, ev: Any) -> float:
    """Exploitability against the exact lottery best response (mean over the paths)."""
    value, _ = lottery_best_response(game, ev.path)
    mu0 = ev.path.agg.mu[:, 0]
    return float(jnp.mean(jnp.sum(mu0 * (value[:, 0] - ev.value[:, 0]), axis=-1)))


def score(
    game: BlockEconomy, eq: StationaryEquilibrium, policy: Any, params: Any
) -> dict[str, Any]:
    """Rate error, savings errors and exploitability of a policy on the validation game."""
    ev = evaluate(game, policy, params, jax.random.PRNGKey(0), 1)
    expl = float(ev.exploitability.value)
    mean_value = float(np.mean(ev.exploitability.policy_return))
    r = np.asarray(ev.path.agg.aux["r"][0], dtype=np.float64)
    out = {
        "rate_error_bp": rate_error_bp(ev.path, eq.r),
        "rate_error_bp_by_t": (1e4 * (r - eq.r)).tolist(),
        **savings_errors(game, eq, ev.path),
        "exploitability": expl,
        "mean_value": mean_value,
        "relative_exploitability": expl / abs(mean_value),
        "exploitability_exact_lottery": lottery_exploitability(game, ev),
    }
    out["targets_met"] = {name: bool(out[name] < bound) for name, bound in TARGETS.items()}
    out["all_targets_met"] = all(out["targets_met"].values())
    return out


def run(settings: AiyagariValidation, *, verbose: bool = False) -> dict[str, Any]:
    """Solve the classical equilibrium, train the solvers, score them (plain JSON-able values)."""
    start = time.perf_counter()
    cal = aiyagari_1994(
        rho=settings.rho,
        sigma=settings.sigma,
        crra=settings.crra,
        n_wealth=settings.n_wealth,
        n_income=settings.n_income,
        wealth_max=settings.wealth_max,
    )
    economy = aiyagari(cal)
    eq = stationary_equilibrium(economy)
    game = validation_game(economy, eq, settings.horizon)
    classical = score(game, eq, constant_policy, np.asarray(eq.share))
    out: dict[str, Any] = {
        "settings": dataclasses.asdict(settings),
        "targets": TARGETS,
        "equilibrium": {
            "r": eq.r,
            "w": eq.w,
            "K": eq.K,
            "residual": eq.residual,
            "seconds": eq.seconds,
        },
        "classical": {
            k: classical[k]
            for k in (
                "rate_error_bp",
                "exploitability",
                "mean_value",
                "relative_exploitability",
                "exploitability_exact_lottery",
            )
        },
        "solvers": {},
    }
    for name in settings.solvers:
        if name not in ("spg", "rspg"):
            raise ValueError(f"solvers must be 'spg' or 'rspg', got {name!r}")

        def progress(p: Any, name: str = name) -> None:
            if verbose:
                print(
                    f"{name} {p.iteration:5d}/{p.iterations}: loss {p.loss:.6f}, exploitability "
                    f"{p.exploitability:.3e} ({p.seconds:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )

        t0 = time.perf_counter()
        sol = train(game, settings.spg_config(name == "rspg"), callback=progress)
        wall = time.perf_counter() - t0
        figures = score(game, eq, sol.policy, sol.params)
        figures["train_seconds"] = sol.seconds
        figures["wall_seconds"] = wall
        figures["history"] = {
            "iteration": sol.history["iteration"].tolist(),
            "exploitability": sol.history["exploitability"].tolist(),
        }
        out["solvers"][name] = figures
    out["all_targets_met"] = all(s["all_targets_met"] for s in out["solvers"].values())
    out["seconds"] = time.perf_counter() - start
    return out


def render(out: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    s, eq, cl = out["settings"], out["equilibrium"], out["classical"]
    rule = "-" * 86
    lines = [
        f"Aiyagari (1994), rho={s['rho']}, sigma={s['sigma']}, crra={s['crra']}: "
        f"{s['n_wealth']} x {s['n_income']} grid, horizon {s['horizon']}",
        f"classical: r* = {eq['r']:.6f}, w* = {eq['w']:.6f}, K* = {eq['K']:.5f} "
        f"({eq['seconds']:.1f} s); exploitability {cl['exploitability']:.1e} (EGM best "
        f"response), {cl['exploitability_exact_lottery']:.1e} (exact lottery best response)",
        f"training: {s['iterations']} iterations, lr {s['learning_rate']} -> "
        f"x{s['final_lr_fraction']}, hidden {tuple(s['hidden'])}, rank {s['rank']}, "
        f"embedding {s['embedding']}, one path per step",
        rule,
        f"{'solver':<7}{'max|r-r*|':>10}{'savings err':>12}{'mean/max':>14}"
        f"{'expl':>10}{'expl/|V|':>10}{'expl exact':>12}{'train s':>9}",
        f"{'':<7}{'(bp)':>10}{'t=0 (%)':>12}{'over t (%)':>14}{'(EGM BR)':>10}{'':>10}"
        f"{'(lottery)':>12}",
        rule,
    ]
    for name, f in out["solvers"].items():
        over_t = (
            f"{f['savings_error_mean_over_t_percent']:.3f}/"
            f"{f['savings_error_max_over_t_percent']:.3f}"
        )
        lines.append(
            f"{name:<7}{f['rate_error_bp']:>10.3f}{f['savings_error_percent']:>12.3f}"
            f"{over_t:>14}{f['exploitability']:>10.2e}{f['relative_exploitability']:>10.2e}"
            f"{f['exploitability_exact_lottery']:>12.2e}{f['train_seconds']:>9.0f}"
        )
    lines += [
        rule,
        "targets: max|r-r*| < 10 bp, savings error < 1%, exploitability < 1e-3 |mean value|",
    ]
    for name, f in out["solvers"].items():
        met = ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in f["targets_met"].items())
        lines.append(f"{name}: {met}")
    lines.append(f"total wall time (s): {out['seconds']:.0f}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = AiyagariValidation()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--n-wealth", type=int, default=d.n_wealth)
    parser.add_argument("--n-income", type=int, default=d.n_income)
    parser.add_argument("--wealth-max", type=float, default=d.wealth_max)
    parser.add_argument("--horizon", type=int, default=d.horizon, help="periods")
    parser.add_argument("--iterations", type=int, default=d.iterations)
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate)
    parser.add_argument("--final-lr-fraction", type=float, default=d.final_lr_fraction)
    parser.add_argument(
        "--rank", type=int, default=d.rank or 0, help="factorised head's rank (0: MLP head)"
    )
    parser.add_argument("--embedding", type=int, default=d.embedding)
    parser.add_argument(
        "--hidden", type=str, default=",".join(map(str, d.hidden)), help="e.g. 64,64"
    )
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--solvers", type=str, default=",".join(d.solvers), help="spg,rspg or one")
    parser.add_argument("--verbose", action="store_true", help="training progress (stderr)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the validation, then print the table or one JSON object with ``--json``."""
    args = parse_args(argv)
    settings = AiyagariValidation(
        n_wealth=args.n_wealth,
        n_income=args.n_income,
        wealth_max=args.wealth_max,
        horizon=args.horizon,
        iterations=args.iterations,
        learning_rate=args.learning_rate,
        final_lr_fraction=args.final_lr_fraction,
        embedding=args.embedding,
        rank=args.rank or None,
        hidden=tuple(int(h) for h in args.hidden.split(",")),
        seed=args.seed,
        solvers=tuple(args.solvers.split(",")),
    )
    with stdout_to_stderr(args.json):
        out = run(settings, verbose=args.verbose)
        out["environment"] = environment_info()
    if args.json:
        print(json.dumps(out, default=json_default))
        return 0
    print(render(out))
    print("Environment: " + ", ".join(f"{k}={v}" for k, v in out["environment"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
