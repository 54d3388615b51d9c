"""Built-in models written as blocks: each reads like its paper's steady-state equations.

Each function returns a :class:`ModelSpec` — the model, its calibration and the unknowns and
targets of its steady state — so that ``steady_state(*aiyagari_labor())`` solves it
(:func:`hank_mfg.solvers.steady_state.steady_state`). Defaults are the Sequence-Space
Jacobian toolkit's example calibrations (quarterly; 7 Rouwenhorst income states with
cross-sectional sd of log productivity 0.5 and persistence 0.966; wealth grids dense near the
borrowing limit 0, SSJ's ``agrid``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hank_mfg.calibration.income import innovation_sd, rouwenhorst
from hank_mfg.calibration.presets import geometric_grid
from hank_mfg.models.blocks import simple_block
from hank_mfg.models.household_block import HouseholdBlock, crra, crra_labor
from hank_mfg.models.model import Model

__all__ = [
    "ModelSpec",
    "aiyagari_fiscal",
    "aiyagari_labor",
    "krusell_smith_steady_state",
    "one_asset_hank",
    "productivity_process",
    "wealth_grid",
]


class ModelSpec(NamedTuple):
    """A model with the calibration, unknowns and targets of its steady state."""

    model: Model
    calibration: dict[str, float]
    unknowns: dict[str, Any]
    targets: dict[str, float]


def wealth_grid(wealth_max: float, n_wealth: int) -> np.ndarray:
    """``n_wealth`` points on ``[0, wealth_max]``, equidistant in ``log(a + 0.25)`` (SSJ's)."""
    return geometric_grid(0.0, wealth_max, n_wealth, shift=0.25)


def productivity_process(
    rho: float = 0.966, sd: float = 0.5, n: int = 7
) -> tuple[np.ndarray, np.ndarray]:
    """Rouwenhorst productivity ``e`` (mean 1 under its stationary distribution; ``sd`` the
    cross-sectional sd of log e) and its Markov matrix ``Pi``."""
    process = rouwenhorst(rho, innovation_sd(sd, rho), n)
    e = np.asarray(process.grid)
    return e / float(np.sum(process.stationary * e)), np.asarray(process.Pi)


# --- blocks shared by the steady states ------------------------------------------------------


@simple_block
def firm_steady_state(r, Y, L, delta, alpha):
    """Capital and TFP giving output ``Y`` at the rate ``r``: ``r + δ = α Y / K``."""
    K = alpha * Y / (r + delta)
    Z = Y / K**alpha / L ** (1 - alpha)
    w = (1 - alpha) * Z * (K / L) ** alpha
    return K, Z, w


@simple_block
def capital_market(A, K):
    asset_mkt = A - K
    return asset_mkt


# --- Krusell-Smith (1998) steady state, SSJ's calibration ------------------------------------


def krusell_smith_steady_state(
    *, n_income: int = 7, n_wealth: int = 500, wealth_max: float = 200.0
) -> ModelSpec:
    """The Krusell–Smith economy's steady state: ``u = log c``, income ``w e``; β such that
    assets equal the capital that gives ``Y = 1`` at ``r = 1%``."""
    e, Pi = productivity_process(n=n_income)
    household = HouseholdBlock(crra(), lambda e, w: w * e, wealth_grid(wealth_max, n_wealth), e, Pi)
    model = Model(household, [firm_steady_state, capital_market], name="krusell_smith")
    cal = {"eis": 1.0, "delta": 0.025, "alpha": 0.11, "Y": 1.0, "L": 1.0, "r": 0.01}
    return ModelSpec(model, cal, {"beta": (0.98 / 1.01, 0.999 / 1.01)}, {"asset_mkt": 0.0})


# --- Aiyagari with endogenous hours ----------------------------------------------------------


@simple_block
def labour_steady_state(NE, L):
    labour_mkt = NE - L
    return labour_mkt


def aiyagari_labor(
    *, n_income: int = 7, n_wealth: int = 500, wealth_max: float = 200.0
) -> ModelSpec:
    """Aiyagari with hours: ``u = c^(1−1/eis)/(1−1/eis) − vphi n^(1+1/frisch)/(1+1/frisch)``,
    income ``w e n``; β and vphi such that assets equal capital and effective hours ``NE``
    equal the firm's labour ``L = 1``."""
    e, Pi = productivity_process(n=n_income)
    household = HouseholdBlock(
        crra_labor(), lambda e, n, w: w * e * n, wealth_grid(wealth_max, n_wealth), e, Pi
    )
    blocks = [firm_steady_state, capital_market, labour_steady_state]
    model = Model(household, blocks, name="aiyagari_labor")
    cal = {"eis": 0.5, "frisch": 0.5, "delta": 0.025, "alpha": 0.11, "Y": 1.0, "L": 1.0}
    cal["r"] = 0.01
    return ModelSpec(model, cal, {"beta": 0.98, "vphi": 0.8}, {"asset_mkt": 0.0, "labour_mkt": 0.0})


# --- Aiyagari with government debt, a labour tax and transfers -------------------------------


@simple_block
def fiscal_steady_state(r, B, G, transfers, w, L):
    """The labour tax that pays interest on constant debt, spending and transfers."""
    tau = (r * B + G + transfers) / (w * L)
    return tau


@simple_block
def asset_market_with_debt(A, K, B):
    asset_mkt = A - K - B
    return asset_mkt


def after_tax_income(e, w, tau, transfers):
    """Labour income after the tax, plus a lump-sum transfer (units of the good)."""
    return (1 - tau) * w * e + transfers


def aiyagari_fiscal(
    *, n_income: int = 7, n_wealth: int = 500, wealth_max: float = 200.0
) -> ModelSpec:
    """Aiyagari with a government: debt ``B`` (households hold ``A = K + B``), spending ``G``,
    transfers, a labour tax ``tau`` balancing the budget; β clears the asset market."""
    e, Pi = productivity_process(n=n_income)
    household = HouseholdBlock(crra(), after_tax_income, wealth_grid(wealth_max, n_wealth), e, Pi)
    blocks = [firm_steady_state, fiscal_steady_state, asset_market_with_debt]
    model = Model(household, blocks, name="aiyagari_fiscal")
    cal = {"eis": 1.0, "delta": 0.025, "alpha": 0.11, "Y": 1.0, "L": 1.0, "r": 0.01}
    cal.update({"B": 1.0, "G": 0.1, "transfers": 0.05})
    return ModelSpec(model, cal, {"beta": (0.95, 0.99)}, {"asset_mkt": 0.0})


# --- The one-asset HANK household and steady state (SSJ's hank example) ----------------------


def hank_income(e, n, w, Div, Tax):
    """Labour income ``w e n`` plus dividends minus taxes, both by skill incidence (shares ∝
    e, whose mean is 1)."""
    return w * e * n + (Div - Tax) * e


@simple_block
def hank_firm_steady_state(Y, Z, mu):
    """Hours ``L = Y/Z``, the wage at the markup ``w = Z/μ`` and dividends ``Y − w L``."""
    L = Y / Z
    w = Z / mu
    Div = Y - w * L
    return L, w, Div


@simple_block
def hank_fiscal_steady_state(r, B):
    Tax = r * B
    return Tax


@simple_block
def bond_market(A, B):
    asset_mkt = A - B
    return asset_mkt


def one_asset_hank(
    *,
    n_income: int = 7,
    n_wealth: int = 500,
    wealth_max: float = 150.0,
    hours_rule: str = "interpolate",
) -> ModelSpec:
    """The one-asset HANK steady state of SSJ's ``hank`` example: households choose hours
    (eis 0.5, frisch 0.5); β and vphi such that bonds ``A = B = 5.6`` and effective hours
    ``NE = 1``. ``hours_rule``: see :class:`HouseholdBlock`."""
    e, Pi = productivity_process(n=n_income)
    grid = wealth_grid(wealth_max, n_wealth)
    household = HouseholdBlock(crra_labor(), hank_income, grid, e, Pi, hours_rule=hours_rule)
    blocks = [hank_firm_steady_state, hank_fiscal_steady_state, bond_market]
    model = Model(household, blocks, name="one_asset_hank")
    cal = {"eis": 0.5, "frisch": 0.5, "B": 5.6, "mu": 1.2, "r": 0.005, "Y": 1.0, "Z": 1.0}
    return ModelSpec(model, cal, {"beta": 0.986, "vphi": 0.8}, {"asset_mkt": 0.0, "NE": 1.0})
