"""The Krusell–Smith (1998) economy: two TFP states, unemployment risk tied to them."""

from __future__ import annotations

from typing import Any

import numpy as np

from hank_mfg.calibration import Calibration, krusell_smith_1998
from hank_mfg.models.household import Household, HouseholdEconomy
from hank_mfg.models.production import CobbDouglas, MarkovProcess

__all__ = ["krusell_smith", "krusell_smith_household"]


def krusell_smith_household(cal: Calibration, *, c_min: float = 0.0) -> Household:
    """The household block: income states (unemployed, employed), ``Pi(e' | e, z, z')``."""
    if cal.employment is None or cal.employment_income is None:
        raise ValueError(f"calibration {cal.name!r} has no Krusell–Smith employment process")
    ell = cal.employment_income.labour_endowment
    home = cal.employment_income.unemployment_income_share * ell
    return Household(
        beta=cal.household.beta,
        crra=cal.household.crra,
        wealth_grid=cal.household.wealth_grid,
        income=np.array([home, ell]),
        labour=np.array([0.0, ell]),
        Pi=cal.employment.Pi_e,
        c_min=c_min,
    )


def default_initial_distribution(cal: Calibration, wealth_max: float = 24.0) -> np.ndarray:
    """Wealth uniform over grid points up to ``wealth_max`` (about twice aggregate capital),
    employment at the good state's rate; ``[n_wealth · 2]`` (wealth-major)."""
    grid = cal.household.wealth_grid
    wealth = (grid <= wealth_max).astype(float)
    wealth /= wealth.sum()
    u = cal.employment.unemployment[0]
    return np.outer(wealth, [u, 1.0 - u]).ravel()


def krusell_smith(
    calibration: Calibration | None = None,
    *,
    horizon: int = 200,
    shares: Any = None,
    terminal: Any = "none",
    initial_distributions: Any = None,
    observation: tuple[str, ...] = ("r", "w"),
) -> HouseholdEconomy:
    """The Krusell–Smith economy as a mean-field game.

    TFP is a two-state chain (good ``Z = 1.01`` first, the state at ``t = 0``); employment
    moves by ``Pi(e' | e, z, z')``; the employed supply ``ℓ`` efficiency units, the unemployed
    none (they receive home production). Default initial distribution: see
    :func:`default_initial_distribution`. Other arguments as for
    :class:`~hank_mfg.models.household.HouseholdEconomy`. The game keeps the calibration as
    ``game.calibration`` (results files record it in full).
    """
    cal = krusell_smith_1998() if calibration is None else calibration
    household = krusell_smith_household(cal)
    if initial_distributions is None:
        initial_distributions = default_initial_distribution(cal)
    game = HouseholdEconomy(
        household,
        CobbDouglas(alpha=cal.firm.alpha, delta=cal.firm.delta, level=cal.firm.tfp_level),
        tfp=MarkovProcess(levels=cal.employment.z_levels, Pi=cal.employment.Pi_z),
        horizon=horizon,
        shares=shares,
        terminal=terminal,
        initial_distributions=initial_distributions,
        observation=observation,
        name="krusell_smith",
    )
    game.calibration = cal
    return game
