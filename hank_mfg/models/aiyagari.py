"""The Aiyagari (1994) economy: uninsured idiosyncratic income risk, a Cobb–Douglas firm,
and optionally aggregate TFP noise."""

from __future__ import annotations

import dataclasses
from typing import Any

from hank_mfg.calibration import Calibration, LogAR1TFP, aiyagari_1994
from hank_mfg.models.household import Household, HouseholdEconomy
from hank_mfg.models.production import CobbDouglas, tfp_process

__all__ = ["aiyagari", "household_from_calibration"]


def household_from_calibration(cal: Calibration, *, c_min: float = 0.0) -> Household:
    """The household block of a calibration with a plain income process."""
    hh = cal.household
    if hh.income is None:
        raise ValueError(f"calibration {cal.name!r} has no household income process")
    return Household(
        beta=hh.beta,
        crra=hh.crra,
        wealth_grid=hh.wealth_grid,
        income=hh.income.grid,
        Pi=hh.income.Pi,
        c_min=c_min,
    )


def aiyagari(
    calibration: Calibration | None = None,
    *,
    tfp: LogAR1TFP | None = None,
    horizon: int = 100,
    shares: Any = None,
    terminal: Any = "none",
    initial_distributions: Any = None,
    observation: tuple[str, ...] = ("r", "w"),
) -> HouseholdEconomy:
    """An Aiyagari economy as a mean-field game.

    Args:
        calibration: default :func:`~hank_mfg.calibration.aiyagari_1994` ``()``; also e.g.
            :func:`~hank_mfg.calibration.quantecon_aiyagari`.
        tfp: a log-AR(1) TFP shock (common noise); ``None`` uses the calibration's (usually
            none: the stationary economy).
        horizon, shares, terminal, initial_distributions, observation: see
            :class:`~hank_mfg.models.household.HouseholdEconomy` (default: continuous savings
            share, zero terminal value, uniform initial distribution, observe ``(r, w)``).

    The game keeps the calibration it was built from as ``game.calibration`` (with ``tfp``
    in it when given), which results files record in full.
    """
    cal = aiyagari_1994() if calibration is None else calibration
    if tfp is not None:
        cal = dataclasses.replace(cal, tfp=tfp)
    firm = CobbDouglas(alpha=cal.firm.alpha, delta=cal.firm.delta, level=cal.firm.tfp_level)
    game = HouseholdEconomy(
        household_from_calibration(cal),
        firm,
        tfp=tfp_process(cal.tfp),
        horizon=horizon,
        shares=shares,
        terminal=terminal,
        initial_distributions=initial_distributions,
        observation=observation,
        labour_supply=cal.firm.labour_supply,
        name="aiyagari",
    )
    game.calibration = cal
    return game
