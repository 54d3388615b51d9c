"""Recurrent structural policy gradient (RSPG): the SPG loop with a GRU over the shared
observations ``o_0 … o_t`` (its hidden state is the same for every agent, so the mean-field
update stays exact)."""

from __future__ import annotations

import dataclasses
from typing import Any

from hank_mfg.core.game import MeanFieldGame
from hank_mfg.solvers.solution import Solution
from hank_mfg.solvers.spg import SPGConfig, train

__all__ = ["rspg"]


def rspg(game: MeanFieldGame, config: SPGConfig | None = None, **kwargs: Any) -> Solution:
    """Train a history-aware policy π(a | s, o_0…o_t) by RSPG (see :func:`~hank_mfg.solvers.
    spg.train` for the loop, its arguments and guarantees)."""
    config = SPGConfig() if config is None else config
    return train(game, dataclasses.replace(config, recurrent=True), solver_name="rspg", **kwargs)
