"""Solvers: classical (EGM, stationary equilibrium, Krusell–Smith) and learning-based.

Importing this package registers the households' exact (EGM) best response with the core
evaluation.
"""

from hank_mfg.solvers import egm

__all__ = ["egm"]
