"""End-to-end jobs built from the solvers: Krusell–Smith by its classical algorithm and by RSPG.

:func:`krusell_smith_comparison` is the package's main job (``hank-mfg demo``) and the core of
the ``krusell_smith_rspg`` notebook: solve the Krusell–Smith (1998) economy by the
Krusell–Smith algorithm, train RSPG on the same game (the classical value as terminal value,
so that a finite horizon stands in for the infinite one), and score both policies by the same
evaluation on the same common TFP paths.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from hank_mfg.core.checks import check_in_range
from hank_mfg.core.evaluation import evaluate
from hank_mfg.solvers.solution import Solution

__all__ = [
    "EXPLOITABILITY_MEANING",
    "QUICK",
    "KrusellSmithComparison",
    "check_comparison_settings",
    "demo_settings",
    "krusell_smith_comparison",
]


#: What exploitability means, in one line (printed under the comparison table).
EXPLOITABILITY_MEANING = (
    "exploitability: what one household gains, in discounted utility, by deviating to its best "
    "response on each path (the others keep the policy); 0 at an equilibrium. As consumption: "
    "the permanent % of consumption it would give up rather than deviate."
)


@dataclass
class KrusellSmithComparison:
    """The classical and the RSPG solution, both evaluated on the same TFP paths.

    Attributes:
        classical: the Krusell–Smith algorithm's :class:`Solution` (its ``evaluation`` on the
            common paths).
        rspg: RSPG's :class:`Solution` (its ``evaluation`` on the same paths).
        same_paths: whether both evaluations saw identical TFP paths (checked).
        seconds: wall time of each part (``classical``: the algorithm; ``rspg``: training,
            its progress evaluations excluded; ``evaluation``: both final evaluations), each
            including its compilation.
        settings: the settings of the run (see :func:`krusell_smith_comparison`).
    """

    classical: Solution
    rspg: Solution
    same_paths: bool
    seconds: dict[str, float]
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """Exploitability (utility), as a consumption equivalent (percent of consumption), mean
        capital (units of the good) of both, their gap in mean capital (percent) and seconds."""
        out: dict[str, float] = {}
        for name, sol in (("classical", self.classical), ("rspg", self.rspg)):
            ev = sol.evaluation
            out[f"{name}_exploitability"] = float(ev.exploitability.value)
            out[f"{name}_exploitability_consumption"] = float(
                ev.exploitability.consumption_equivalent
            )
            out[f"{name}_mean_K"] = float(np.mean(np.asarray(ev.path.agg.aux["K"])))
            out[f"{name}_seconds"] = float(self.seconds[name])
        out["mean_K_gap_percent"] = 100.0 * abs(out["rspg_mean_K"] / out["classical_mean_K"] - 1.0)
        return out

    def render(self) -> str:
        """A small table for the terminal or a notebook."""
        s = self.summary()
        ev = self.classical.evaluation
        n_paths = int(np.shape(ev.path.agg.mu)[0])
        rows = [
            f"Krusell-Smith economy, {n_paths} common TFP paths of {self.classical.game.horizon} "
            f"quarters (same paths: {self.same_paths})",
            f"{'policy':<24}{'exploitability':>15}{'% of consumption':>18}{'mean K':>9}"
            f"{'seconds':>9}",
        ]
        for label, name in (("Krusell-Smith algorithm", "classical"), ("RSPG", "rspg")):
            rows.append(
                f"{label:<24}{s[f'{name}_exploitability']:>15.3e}"
                f"{s[f'{name}_exploitability_consumption']:>18.2e}{s[f'{name}_mean_K']:>9.4f}"
                f"{s[f'{name}_seconds']:>9.1f}"
            )
        c, r = s["classical_exploitability"], s["rspg_exploitability"]
        if r <= c:
            verdict = "RSPG is less exploitable" + (f" ({c / r:.1f}x)" if r > 0 else "")
        else:
            verdict = "the Krusell-Smith algorithm is less exploitable" + (
                f" ({r / c:.1f}x)" if c > 0 else ""
            )
        rows += [
            f"{verdict}; gap in mean capital: {s['mean_K_gap_percent']:.3f}%",
            EXPLOITABILITY_MEANING,
        ]
        if min(s["classical_exploitability"], s["rspg_exploitability"]) < 0:
            rows.append(
                "below zero: the policy does better than the endogenous-grid best response, "
                "which is exact only up to the wealth grid's interpolation"
            )
        if self.settings:
            rows.append(_recipe(self.settings))
        return "\n".join(rows)


def _recipe(settings: dict[str, Any]) -> str:
    """One line saying how RSPG was trained."""
    lr = settings["learning_rate"]
    return (
        f"RSPG: {settings['iterations']} Adam steps on {settings['n_samples']} sampled TFP paths "
        f"each, learning rate {lr:g} cosine-annealed to {lr * FINAL_LR_FRACTION:g}, from a "
        f"uniform initial policy; {settings['n_wealth']} wealth points"
    )


#: RSPG's learning rate is annealed (cosine) to this fraction of its initial value.
FINAL_LR_FRACTION = 0.01

#: Settings of ``hank-mfg demo --quick``: a smoke run (on a 2-core CPU about 12 s with a warm
#: compilation cache, 27 s cold). RSPG is far from converged; its exploitability says nothing
#: about the method.
QUICK = {
    "n_wealth": 20,
    "horizon": 10,
    "iterations": 40,
    "n_samples": 2,
    "eval_paths": 8,  # as many as the training's own evaluations: one compilation serves both
    "ks_periods": 400,
}


def demo_settings(quick: bool = False) -> dict[str, Any]:
    """The main job's settings: :func:`krusell_smith_comparison`'s defaults, or with ``quick``
    those of :data:`QUICK` over them (everything but ``seed`` and ``callback``)."""
    params = inspect.signature(krusell_smith_comparison).parameters
    settings = {k: p.default for k, p in params.items() if k not in ("seed", "callback")}
    return {**settings, **(QUICK if quick else {})}


#: Smallest allowed value of each integer setting of :func:`krusell_smith_comparison`.
_LOWEST = {
    "n_wealth": 10,
    "horizon": 2,
    "iterations": 1,
    "n_samples": 1,
    "eval_paths": 1,
    "ks_periods": 200,
}


def check_comparison_settings(**settings: Any) -> None:
    """Raise ``ValueError`` naming the first bad setting of :func:`krusell_smith_comparison`
    (integers at least their :data:`_LOWEST` value; ``learning_rate`` in (0, 1])."""
    for name, value in settings.items():
        if name == "learning_rate":
            check_in_range("learning_rate", value, 0.0, 1.0, low_open=True)
            continue
        low = _LOWEST[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def krusell_smith_comparison(
    *,
    n_wealth: int = 100,
    horizon: int = 40,
    iterations: int = 1600,
    n_samples: int = 4,
    eval_paths: int = 16,
    seed: int = 0,
    ks_periods: int = 1500,
    learning_rate: float = 1e-2,
    callback: Callable[[Any], Any] | None = None,
) -> KrusellSmithComparison:
    """Solve Krusell–Smith (1998) classically and by RSPG; evaluate both on common paths.

    The defaults take about a minute on one laptop CPU core, and with them RSPG's policy is
    less exploitable than the Krusell–Smith algorithm's on the common paths (seeds 0–2). RSPG
    starts from a uniform policy (savings share ½ everywhere): it is not warm-started from the
    classical solution, whose game (the simulated distribution as the initial one, the
    classical value at mean capital as terminal value) it shares. The full validation is
    ``benchmarks/validate_krusell_smith.py``; :data:`QUICK` holds the settings of a smoke run.

    Args:
        n_wealth: wealth grid points (>= 10).
        horizon: quarters of the game (>= 2).
        iterations: RSPG gradient steps (>= 1); n_samples: TFP paths per step (>= 1).
        eval_paths: common TFP paths of the comparison (>= 1).
        seed: RSPG's seed; ks_periods: quarters simulated by the Krusell–Smith algorithm.
        learning_rate: RSPG's Adam step size, annealed (cosine) to :data:`FINAL_LR_FRACTION`
            of it.
        callback: RSPG progress callback (see :func:`hank_mfg.solvers.spg.train`).
    """
    from hank_mfg.calibration import krusell_smith_1998
    from hank_mfg.models import krusell_smith
    from hank_mfg.solvers.krusell_smith import solve_krusell_smith
    from hank_mfg.solvers.spg import SPGConfig, train

    settings = {
        "n_wealth": n_wealth,
        "horizon": horizon,
        "iterations": iterations,
        "n_samples": n_samples,
        "eval_paths": eval_paths,
        "ks_periods": ks_periods,
        "learning_rate": learning_rate,
    }
    check_comparison_settings(**settings)
    config = SPGConfig(
        iterations=iterations,
        n_samples=n_samples,
        learning_rate=learning_rate,
        final_lr_fraction=FINAL_LR_FRACTION,
        embedding=16,
        recurrent=True,
        eval_every=max(1, iterations // 10),
        eval_samples=min(eval_paths, 8),
        seed=seed,
    )
    seconds: dict[str, float] = {}
    economy = krusell_smith(krusell_smith_1998(n_wealth=n_wealth), horizon=horizon)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # coarse grids let a little mass reach the top point through the lottery's diffusion
        warnings.filterwarnings("ignore", message=".*above the top.*", category=RuntimeWarning)
        classical = solve_krusell_smith(
            economy,
            n_periods=ks_periods,
            burn_in=min(500, ks_periods // 4),
            seed=0,
            evaluation_samples=0,
        )
        seconds["classical"] = time.perf_counter() - start
        game = classical.game
        start = time.perf_counter()
        learned = train(game, config, callback=callback, solver_name="rspg")
        seconds["rspg"] = time.perf_counter() - start
        start = time.perf_counter()
        key = jax.random.PRNGKey(10_000 + seed)
        ev_classical = evaluate(game, classical.policy, classical.params, key, eval_paths)
        ev_rspg = evaluate(game, learned.policy, learned.params, key, eval_paths)
        seconds["evaluation"] = time.perf_counter() - start
    same = bool(np.array_equal(np.asarray(ev_classical.path.agg.z), np.asarray(ev_rspg.path.agg.z)))
    # how both were scored, for their results files (the solver's own evaluation was skipped)
    scored = {
        "evaluation_samples": eval_paths,
        "evaluation_seed": 10_000 + seed,
        "evaluation_horizon": game.horizon,
    }
    return KrusellSmithComparison(
        classical=dataclasses.replace(
            classical, evaluation=ev_classical, settings={**classical.settings, **scored}
        ),
        rspg=dataclasses.replace(
            learned, evaluation=ev_rspg, settings={**learned.settings, **scored}
        ),
        same_paths=same,
        seconds=seconds,
        settings={**settings, "seed": seed},
    )
