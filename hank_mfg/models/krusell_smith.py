"""The Krusell–Smith (1998) economy: two TFP states, unemployment risk tied to them.

A household is employed (``e = ℓ``, supplying ``ℓ`` efficiency units) or unemployed (``e = 0``,
receiving home production worth ``home`` efficiency units at the wage); its budget is

    c + a' = (1 + r) a + w (e + home (1 − e/ℓ)),

and employment moves by ``Pi(e' | e, z, z')``, tied to the TFP chain ``z`` (good ``Z = 1.01``
first, the state at ``t = 0``; bad ``Z = 0.99``). The firm is Cobb–Douglas,
``Y = A Z K^α L^(1−α)``, ``r = ∂Y/∂K − δ``, ``w = ∂Y/∂L``, with ``K = Σ μ a``, ``L = Σ μ e``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hank_mfg.calibration import Calibration, MarkovTFP, krusell_smith_1998
from hank_mfg.calibration.income import stationary_distribution
from hank_mfg.models.aiyagari import calibration_parameters, firm
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.household_block import HouseholdBlock, crra
from hank_mfg.models.model import Model
from hank_mfg.models.production import MarkovProcess

__all__ = [
    "default_initial_distribution",
    "employment_income",
    "krusell_smith",
    "krusell_smith_model",
]


def employment_income(e: Any, w: Any, ell: Any, home: Any) -> Any:
    """Wage income ``w e`` of the employed (``e = ℓ``), home production ``w · home`` of the
    unemployed (``e = 0``)."""
    return w * (e + home * (1 - e / ell))


def krusell_smith_model(calibration: Calibration) -> Model:
    """The household block (log utility for σ = 1, income states unemployed and employed)
    and the Cobb–Douglas firm. The block's own ``Pi`` is employment's transition averaged
    over the TFP chain's stationary distribution; the game moves employment by
    ``Pi(e' | e, z, z')``."""
    employment = calibration.employment
    if employment is None or calibration.employment_income is None:
        raise ValueError(
            f"calibration {calibration.name!r} has no Krusell–Smith employment process"
        )
    ell = calibration.employment_income.labour_endowment
    Pi_z, Pi_e = np.asarray(employment.Pi_z), np.asarray(employment.Pi_e)
    average = np.einsum("z,zy,zyef->ef", stationary_distribution(Pi_z), Pi_z, Pi_e)
    household = HouseholdBlock(
        crra(),
        employment_income,
        calibration.household.wealth_grid,
        np.array([0.0, ell]),
        average / average.sum(axis=1, keepdims=True),
    )
    return Model(household, [firm], name="krusell_smith")


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
    terminal_marginal: Any = None,
    initial_distributions: Any = None,
    observation: tuple[str, ...] = ("r", "w"),
) -> BlockEconomy:
    """The Krusell–Smith economy as a mean-field game.

    Default initial distribution: see :func:`default_initial_distribution`. Other arguments
    as for :class:`~hank_mfg.models.block_economy.BlockEconomy`. The game keeps the
    calibration as ``game.calibration`` (results files record it in full).
    """
    cal = krusell_smith_1998() if calibration is None else calibration
    model = krusell_smith_model(cal)
    ell = cal.employment_income.labour_endowment
    parameters = calibration_parameters(cal)
    parameters.pop("L", None)  # labour is employment's, never a fixed supply
    parameters["ell"] = ell
    parameters["home"] = cal.employment_income.unemployment_income_share * ell
    if initial_distributions is None:
        initial_distributions = default_initial_distribution(cal)
    return BlockEconomy(
        model,
        parameters,
        calibration=cal,
        tfp=MarkovProcess(MarkovTFP(levels=cal.employment.z_levels, Pi=cal.employment.Pi_z)),
        income_transition=cal.employment.Pi_e,
        horizon=horizon,
        shares=shares,
        terminal=terminal,
        terminal_marginal=terminal_marginal,
        initial_distributions=initial_distributions,
        observation=observation,
        name="krusell_smith",
    )
