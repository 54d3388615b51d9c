"""The result every solver returns: a policy the core can roll out, with what the solver knows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hank_mfg.core.evaluation import Evaluation
from hank_mfg.core.game import MeanFieldGame
from hank_mfg.core.rollout import Policy

__all__ = ["Solution"]


@dataclass
class Solution:
    """A solved (or trained) policy for a game, with its evaluation and solver details.

    Attributes:
        game: the game it solves.
        solver: the solver's name, e.g. ``"egm"``, ``"krusell-smith"``, ``"rspg"``.
        policy, params: the policy as the core rolls it out (``rollout(game, policy, params)``).
        settings: the solver's settings (plain values).
        evaluation: the policy's mean-field path(s), values, best response and exploitability
            on evaluation samples (``None`` until evaluated).
        results: solver-specific figures in model units (equilibrium ``r``, ``w``, ``K``,
            residuals, iterations, policies on the grid, law-of-motion coefficients …).
        history: training history arrays (``iteration``, ``seconds``, ``exploitability``).
        seconds: wall time of the solve.
        seed: the random seed, where one was used.
    """

    game: MeanFieldGame
    solver: str
    policy: Policy
    params: Any
    settings: dict[str, Any] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    results: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    seed: int | None = None

    def to_xarray(self) -> Any:
        """The solution as a self-describing ``xarray.Dataset`` (see :mod:`hank_mfg.results`)."""
        from hank_mfg.results import to_xarray  # results reads solutions, not the reverse

        return to_xarray(self)

    def to_netcdf(self, path: Any) -> None:
        """Write :meth:`to_xarray` to a NetCDF file atomically (temporary file, then rename)."""
        from hank_mfg.results import to_netcdf

        to_netcdf(self.to_xarray(), path)

    @property
    def exploitability(self) -> float | None:
        """Mean exploitability on the evaluation samples (game's reward units), if evaluated."""
        if self.evaluation is None:
            return None
        return float(self.evaluation.exploitability.value)
