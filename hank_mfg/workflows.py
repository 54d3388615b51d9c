"""End-to-end jobs built from the solvers: Krusell–Smith by its classical algorithm and by RSPG.

:func:`krusell_smith_comparison` is the package's main job (``hank-mfg demo``) and the core of
the ``krusell_smith_rspg`` notebook: solve the Krusell–Smith (1998) economy by the
Krusell–Smith algorithm, train RSPG on the same game (the classical value as terminal value,
so that a finite horizon stands in for the infinite one), and score both policies by the same
evaluation on the same common TFP paths.
"""

from __future__ import annotations

import dataclasses
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

__all__ = ["KrusellSmithComparison", "check_comparison_settings", "krusell_smith_comparison"]


@dataclass
class KrusellSmithComparison:
    """The classical and the RSPG solution, both evaluated on the same TFP paths.

    Attributes:
        classical: the Krusell–Smith algorithm's :class:`Solution` (its ``evaluation`` on the
            common paths).
        rspg: RSPG's :class:`Solution` (its ``evaluation`` on the same paths).
        same_paths: whether both evaluations saw identical TFP paths (checked).
        seconds: wall time of each part (``classical``, ``rspg``, ``evaluation``).
    """

    classical: Solution
    rspg: Solution
    same_paths: bool
    seconds: dict[str, float]

    def summary(self) -> dict[str, float]:
        """Exploitability (utility units) and mean capital (units of the good) of both."""
        out: dict[str, float] = {}
        for name, sol in (("classical", self.classical), ("rspg", self.rspg)):
            ev = sol.evaluation
            out[f"{name}_exploitability"] = float(ev.exploitability.value)
            out[f"{name}_mean_K"] = float(np.mean(np.asarray(ev.path.agg.aux["K"])))
        out["mean_K_gap_percent"] = 100.0 * abs(out["rspg_mean_K"] / out["classical_mean_K"] - 1.0)
        return out

    def render(self) -> str:
        """A small table for the terminal or a notebook."""
        s = self.summary()
        ev = self.classical.evaluation
        n_paths = int(np.shape(ev.path.agg.mu)[0])
        return "\n".join(
            [
                f"Krusell-Smith economy, {n_paths} common TFP paths "
                f"(same paths: {self.same_paths})",
                f"{'policy':<22}{'exploitability':>16}{'mean K':>10}{'seconds':>10}",
                f"{'Krusell-Smith algorithm':<22}{s['classical_exploitability']:>16.4e}"
                f"{s['classical_mean_K']:>10.4f}{self.seconds['classical']:>10.1f}",
                f"{'RSPG':<22}{s['rspg_exploitability']:>16.4e}"
                f"{s['rspg_mean_K']:>10.4f}{self.seconds['rspg']:>10.1f}",
                f"gap in mean capital: {s['mean_K_gap_percent']:.3f}%",
            ]
        )


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
    n_wealth: int = 60,
    horizon: int = 40,
    iterations: int = 600,
    n_samples: int = 8,
    eval_paths: int = 16,
    seed: int = 0,
    ks_periods: int = 1500,
    learning_rate: float = 1e-2,
    callback: Callable[[Any], Any] | None = None,
) -> KrusellSmithComparison:
    """Solve Krusell–Smith (1998) classically and by RSPG; evaluate both on common paths.

    Defaults are small (about a minute on a laptop CPU); the full validation is
    ``benchmarks/validate_krusell_smith.py``.

    Args:
        n_wealth: wealth grid points (>= 10).
        horizon: quarters of the game (>= 2).
        iterations: RSPG gradient steps (>= 1); n_samples: TFP paths per step (>= 1).
        eval_paths: common TFP paths of the comparison (>= 1).
        seed: RSPG's seed; ks_periods: quarters simulated by the Krusell–Smith algorithm.
        learning_rate: RSPG's Adam step size (annealed to 1% of it).
        callback: RSPG progress callback (see :func:`hank_mfg.solvers.spg.train`).
    """
    from hank_mfg.calibration import krusell_smith_1998
    from hank_mfg.models import krusell_smith
    from hank_mfg.solvers.krusell_smith import solve_krusell_smith
    from hank_mfg.solvers.spg import SPGConfig, train

    check_comparison_settings(
        n_wealth=n_wealth,
        horizon=horizon,
        iterations=iterations,
        n_samples=n_samples,
        eval_paths=eval_paths,
        ks_periods=ks_periods,
        learning_rate=learning_rate,
    )
    config = SPGConfig(
        iterations=iterations,
        n_samples=n_samples,
        learning_rate=learning_rate,
        final_lr_fraction=0.01,
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
    )
