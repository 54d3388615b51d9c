"""hank_mfg: heterogeneous-agent macroeconomics as mean-field games, in JAX."""

# float64 by default: classical and steady-state work needs it, and float32 training of the
# household economies diverges (a NaN gradient of the wealth lottery in the first steps). An
# explicit JAX_ENABLE_X64=0 (or jax.config.update("jax_enable_x64", False) after this import)
# keeps float32. jax itself is not imported here.
import os as _os
import sys as _sys

if "jax" not in _sys.modules:
    _os.environ.setdefault("JAX_ENABLE_X64", "1")
elif "JAX_ENABLE_X64" not in _os.environ:
    _sys.modules["jax"].config.update("jax_enable_x64", True)

from hank_mfg import core, models, solvers
from hank_mfg.core import evaluate, rollout
from hank_mfg.results import open_solution

__version__ = "0.1.0"

__all__ = ["__version__", "core", "evaluate", "models", "open_solution", "rollout", "solvers"]
