"""Solvers: classical (EGM, stationary equilibrium, Krusell–Smith) and learning-based."""

from hank_mfg.solvers import egm

__all__ = ["egm"]
