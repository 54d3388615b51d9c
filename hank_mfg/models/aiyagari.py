"""The Aiyagari (1994) economy: uninsured idiosyncratic income risk, a Cobb–Douglas firm,
and optionally aggregate TFP noise.

Households (wealth ``a`` on a grid whose first point is the borrowing limit, productivity
``e`` following a Markov chain) have CRRA utility and the budget

    c + a' = (1 + r) a + w e.

The firm rents capital and efficiency units of labour,

    Y = A Z K^α L^(1−α),    r = ∂Y/∂K − δ,    w = ∂Y/∂L,

with ``K = Σ μ a`` (households' wealth is the capital stock) and ``L = Σ μ e`` (or a fixed
labour supply, as in QuantEcon's lecture); ``Z`` is the TFP shock (1 without one).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hank_mfg.calibration import Calibration, LogAR1TFP, aiyagari_1994
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.blocks import firm_from_production
from hank_mfg.models.household_block import HouseholdBlock, crra
from hank_mfg.models.model import Model
from hank_mfg.models.production import tfp_process

__all__ = ["aiyagari", "aiyagari_model", "calibration_parameters", "production", "wage_income"]


def wage_income(e: Any, w: Any) -> Any:
    """Labour income of productivity ``e`` at the wage ``w`` per efficiency unit."""
    return w * e


def production(K: Any, L: Any, Z: Any, A: Any, alpha: Any) -> Any:
    """Output ``Y = A Z K^α L^(1−α)`` per period."""
    return A * Z * K**alpha * L ** (1 - alpha)


firm = firm_from_production(production)


def aiyagari_model(calibration: Calibration, *, income: Any = wage_income) -> Model:
    """The household block (CRRA, the budget ``c + a' = (1 + r) a + income(e, w)``) and the
    firm of a calibration with a plain income process."""
    hh = calibration.household
    if hh.income is None:
        raise ValueError(f"calibration {calibration.name!r} has no household income process")
    household = HouseholdBlock(crra(), income, hh.wealth_grid, hh.income.grid, hh.income.Pi)
    return Model(household, [firm], name="aiyagari")


def calibration_parameters(calibration: Calibration) -> dict[str, float]:
    """The model's parameters from a calibration: ``beta``, ``eis = 1/σ``, ``alpha``,
    ``delta``, ``A`` and, with a fixed labour supply, ``L``."""
    parameters = {
        "beta": calibration.household.beta,
        "eis": 1.0 / calibration.household.crra,
        "alpha": calibration.firm.alpha,
        "delta": calibration.firm.delta,
        "A": calibration.firm.tfp_level,
    }
    if calibration.firm.labour_supply is not None:
        parameters["L"] = calibration.firm.labour_supply
    return parameters


def aiyagari(
    calibration: Calibration | None = None,
    *,
    tfp: LogAR1TFP | None = None,
    horizon: int = 100,
    shares: Any = None,
    terminal: Any = "none",
    terminal_marginal: Any = None,
    initial_distributions: Any = None,
    observation: tuple[str, ...] = ("r", "w"),
) -> BlockEconomy:
    """An Aiyagari economy as a mean-field game.

    Args:
        calibration: default :func:`~hank_mfg.calibration.aiyagari_1994` ``()``; also e.g.
            :func:`~hank_mfg.calibration.quantecon_aiyagari`.
        tfp: a log-AR(1) TFP shock (common noise); ``None`` uses the calibration's (usually
            none: the stationary economy).
        horizon, shares, terminal, terminal_marginal, initial_distributions, observation: see
            :class:`~hank_mfg.models.block_economy.BlockEconomy` (default: continuous savings
            share, zero terminal value, uniform initial distribution, observe ``(r, w)``).

    The game keeps the calibration it was built from as ``game.calibration`` (with ``tfp``
    in it when given), which results files record in full.
    """
    cal = aiyagari_1994() if calibration is None else calibration
    if tfp is not None:
        cal = dataclasses.replace(cal, tfp=tfp)
    return BlockEconomy(
        aiyagari_model(cal),
        calibration_parameters(cal),
        calibration=cal,
        tfp=tfp_process(cal.tfp),
        horizon=horizon,
        shares=shares,
        terminal=terminal,
        terminal_marginal=terminal_marginal,
        initial_distributions=initial_distributions,
        observation=observation,
        name="aiyagari",
    )
