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

# --- package namespace, loaded lazily (PEP 562) ---------------------------------------------------
# ``import hank_mfg`` imports no submodule (and so not JAX): ``hank_mfg.core``,
# ``hank_mfg.open_solution`` … are imported on first use. The command line relies on this to
# answer ``--help`` and bad arguments at once.

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Submodules reachable as attributes of the package.
_SUBMODULES = frozenset(
    {
        "calibration",
        "cli",
        "core",
        "models",
        "panels",
        "plotting",
        "results",
        "solvers",
        "workflows",
    }
)
#: Names re-exported from a submodule: name -> module.
_REEXPORTS = {
    "evaluate": "hank_mfg.core",
    "rollout": "hank_mfg.core",
    "open_solution": "hank_mfg.results",
}

__all__ = ["__version__", "core", "evaluate", "models", "open_solution", "rollout", "solvers"]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports on demand
    from hank_mfg import core, models, solvers
    from hank_mfg.core import evaluate, rollout
    from hank_mfg.results import open_solution


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"hank_mfg.{name}")
    if name in _REEXPORTS:
        value = getattr(importlib.import_module(_REEXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'hank_mfg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_REEXPORTS))
