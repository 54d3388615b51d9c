"""Built-in models for the sequence space: the steady state that calibrates them and their
dynamics, each written as blocks that read like the paper's equations.

A :class:`SequenceSpec` holds the calibration (a :class:`~hank_mfg.models.block_models.ModelSpec`
whose steady state fixes β, TFP … from targets), the dynamic model (its blocks map paths), the
unknowns and targets of its general equilibrium, the inputs that may be shocked, and the
unknowns of a new steady state after a reform (at the old β and TFP).

* ``krusell_smith_ssj`` — the Sequence-Space Jacobian toolkit's Krusell–Smith example: log
  utility, income ``w e``, a Cobb–Douglas firm with last period's capital, unknown ``K``,
  target the asset market.
* ``fiscal_transfers`` — Aiyagari with a government: a flat labour tax ``tau`` on ``w e``, debt
  ``B``, spending ``G`` and a lump-sum transfer that balances the budget each period
  (``transfers = tau w L + B − (1 + r) B(-1) − G``); households hold capital and debt. A
  higher ``tau`` is "a more generous transfer financed by the labour tax".
* ``hank``, ``hank_zlb`` — the one-asset HANK economy (:mod:`hank_mfg.models.hank`), without
  and with the zero lower bound on the nominal rate.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from hank_mfg.models.block_models import (
    ModelSpec,
    after_tax_income,
    asset_market_with_debt,
    firm_steady_state,
    krusell_smith_steady_state,
    productivity_process,
    wealth_grid,
)
from hank_mfg.models.blocks import firm, simple_block
from hank_mfg.models.household_block import HouseholdBlock, crra
from hank_mfg.models.model import Model

__all__ = [
    "SEQUENCE_MODELS",
    "SequenceSpec",
    "fiscal_transfers",
    "krusell_smith_ssj",
    "ks_market_clearing",
    "sequence_model",
]


class SequenceSpec(NamedTuple):
    """A model for the sequence space (see the module's docstring).

    Attributes:
        steady: the calibration's model, calibration, unknowns and targets.
        model: the dynamic model; unknowns, targets: its general equilibrium.
        shocks: inputs that may be shocked (``exogenous`` of the linearisation).
        reform_unknowns: unknowns of a new steady state of ``model`` after a permanent change,
            each as a bracket relative to its old value, with the targets ``targets``.
    """

    steady: ModelSpec
    model: Model
    unknowns: tuple[str, ...]
    targets: tuple[str, ...]
    shocks: tuple[str, ...]
    reform_unknowns: dict[str, tuple[float, float]]


@simple_block
def ks_market_clearing(K, A, Y, C, delta):
    """SSJ's Krusell–Smith market clearing: assets ``A − K``; goods ``Y − C − I`` with
    investment ``I = K − (1 − δ) K(-1)``."""
    asset_mkt = A - K
    I = K - (1 - delta) * K(-1)
    goods_mkt = Y - C - I
    return asset_mkt, goods_mkt, I


def krusell_smith_ssj(
    *, n_income: int = 7, n_wealth: int = 500, wealth_max: float = 200.0
) -> SequenceSpec:
    """SSJ's Krusell–Smith example (its notebook calibration at the defaults): β such that
    ``r = 1%`` and ``Y = 1``; then TFP shocks with capital the unknown."""
    steady = krusell_smith_steady_state(n_income=n_income, n_wealth=n_wealth, wealth_max=wealth_max)
    model = Model(steady.model.household, [firm, ks_market_clearing], name="krusell_smith_ssj")
    return SequenceSpec(steady, model, ("K",), ("asset_mkt",), ("Z", "beta"), {"K": (0.5, 1.5)})


@simple_block
def transfer_steady_state(tau, w, L, r, B, G):
    """The transfer the labour tax pays for at constant debt: ``tau w L − r B − G``."""
    transfers = tau * w * L - r * B - G
    return transfers


@simple_block
def transfer_budget(tau, w, L, r, B, G):
    """The transfer balancing the budget each period: labour-tax revenue ``tau w L`` plus new
    debt ``B`` less the repayment ``(1 + r) B(-1)`` of last period's and spending ``G``."""
    transfers = tau * w * L + B - (1 + r) * B(-1) - G
    return transfers


def fiscal_transfers(
    *, n_income: int = 7, n_wealth: int = 500, wealth_max: float = 200.0
) -> SequenceSpec:
    """Aiyagari with a labour tax ``tau`` (0.25) financing a lump-sum transfer, debt ``B = 1``
    and spending ``G = 0.1`` (quarterly, ``Y = 1``); β such that ``r = 1%``; then shocks to
    TFP, β, ``G`` or ``tau``, and reforms of ``tau``, ``B`` or ``G``."""
    e, Pi = productivity_process(n=n_income)
    household = HouseholdBlock(crra(), after_tax_income, wealth_grid(wealth_max, n_wealth), e, Pi)
    blocks = [firm_steady_state, transfer_steady_state, asset_market_with_debt]
    calibration: dict[str, Any] = {"eis": 1.0, "delta": 0.025, "alpha": 0.11, "Y": 1.0, "L": 1.0}
    calibration.update({"r": 0.01, "tau": 0.25, "B": 1.0, "G": 0.1})
    steady = ModelSpec(
        Model(household, blocks, name="fiscal_transfers"),
        calibration,
        {"beta": (0.95, 0.99)},
        {"asset_mkt": 0.0},
    )
    model = Model(
        household, [firm, transfer_budget, asset_market_with_debt], name="fiscal_transfers"
    )
    return SequenceSpec(
        steady, model, ("K",), ("asset_mkt",), ("Z", "beta", "G", "tau"), {"K": (0.5, 1.5)}
    )


def _hank(**settings: Any) -> SequenceSpec:
    from hank_mfg.models.hank import hank  # hank.py builds on this module

    return hank(**settings)


def _hank_zlb(**settings: Any) -> SequenceSpec:
    from hank_mfg.models.hank import hank

    return hank(zero_lower_bound=True, **settings)


#: name -> the function building it (keyword arguments: grid sizes).
SEQUENCE_MODELS = {
    "krusell_smith_ssj": krusell_smith_ssj,
    "fiscal_transfers": fiscal_transfers,
    "hank": _hank,
    "hank_zlb": _hank_zlb,
}


def sequence_model(name: str, **settings: Any) -> SequenceSpec:
    """The built-in sequence-space model ``name`` at ``settings`` (``n_income``, ``n_wealth``,
    ``wealth_max``)."""
    if name not in SEQUENCE_MODELS:
        raise ValueError(
            f"unknown sequence-space model {name!r}; allowed: {', '.join(SEQUENCE_MODELS)}"
        )
    return SEQUENCE_MODELS[name](**settings)
