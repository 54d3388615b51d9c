"""hank_mfg: heterogeneous-agent macroeconomics as mean-field games, in JAX."""

from hank_mfg import core, models, solvers
from hank_mfg.core import evaluate, rollout
from hank_mfg.results import open_solution

__version__ = "0.1.0"

__all__ = ["__version__", "core", "evaluate", "models", "open_solution", "rollout", "solvers"]
