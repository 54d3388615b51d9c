"""The one-asset HANK economy (the Sequence-Space Jacobian toolkit's ``hank`` example), in
the paper's symbols.

Households (:func:`~hank_mfg.models.block_models.hank_income`) choose consumption and hours
with ``u = c^(1−1/eis)/(1−1/eis) − vphi n^(1+1/frisch)/(1+1/frisch)``, face income risk
``e`` and receive labour income ``w e n`` plus dividends less taxes by skill incidence
``(Div − Tax) e``; they save in government bonds paying the real rate ``r``.

Aggregate blocks, per quarter (rates are fractions per quarter, ``pi`` the inflation rate):

* :data:`firm` — labour ``L = Y / Z``; dividends net of Rotemberg price-adjustment costs,
  ``Div = Y − w L − μ/(μ−1)/(2κ) log(1 + π)² Y``;
* :data:`nkpc` — the New Keynesian Phillips curve as a residual with a lead,
  ``κ (w/Z − 1/μ) + Y(+1)/Y log(1 + π(+1))/(1 + r(+1)) − log(1 + π)``;
* :data:`taylor_rule` — the nominal rate ``i = max(rstar + φ π, i_floor)`` (the zero lower
  bound at ``i_floor = 0``; ``-inf`` by default: no bound), and :data:`fisher` — the ex-post
  real rate ``r = (1 + i(-1)) / (1 + π) − 1``;
* :data:`fiscal` — taxes that pay the interest on constant debt and spending,
  ``Tax = r B + G``;
* :data:`market_clearing` — bonds ``A − B``, labour ``NE − L``, goods
  ``Y − C − G − μ/(μ−1)/(2κ) log(1 + π)² Y``.

The steady state (:func:`hank`'s ``steady``) calibrates β and ``vphi`` so that bonds clear at
``B`` and effective hours ``NE = 1`` (SSJ's calibration); the dynamic unknowns are ``w``, ``Y``
and ``pi`` with targets the bond market, the goods market and the Phillips curve.
"""

from __future__ import annotations

from math import inf
from typing import Any

import jax.numpy as jnp

from hank_mfg.models.block_models import (
    ModelSpec,
    bond_market,
    hank_firm_steady_state,
    one_asset_hank,
)
from hank_mfg.models.blocks import simple_block
from hank_mfg.models.model import Model
from hank_mfg.models.sequence_models import SequenceSpec

__all__ = [
    "HANK_SSJ",
    "fiscal",
    "firm",
    "fisher",
    "hank",
    "market_clearing",
    "nkpc",
    "taylor_rule",
]

#: SSJ's notebook calibration (quarterly): preferences, debt, markup, price stickiness, the
#: Taylor coefficient, the steady-state real rate, the income process and the grid.
HANK_SSJ: dict[str, Any] = {
    "eis": 0.5,
    "frisch": 0.5,
    "B": 5.6,
    "mu": 1.2,
    "kappa": 0.1,
    "phi": 1.5,
    "r": 0.005,
    "rho_e": 0.966,
    "sigma_e": 0.5,
    "n_income": 7,
    "n_wealth": 500,
    "wealth_max": 150.0,
}


def _adjustment_cost(pi: Any, Y: Any, mu: Any, kappa: Any) -> Any:
    """Rotemberg's price-adjustment cost ``μ/(μ−1)/(2κ) log(1 + π)² Y`` (units of output)."""
    return mu / (mu - 1) / (2 * kappa) * jnp.log(1 + pi()) ** 2 * Y


@simple_block
def firm(Y, w, Z, pi, mu, kappa):
    """Labour ``L = Y / Z`` and dividends net of the price-adjustment cost."""
    L = Y / Z
    Div = Y - w * L - _adjustment_cost(pi, Y, mu, kappa)
    return L, Div


@simple_block
def nkpc(pi, w, Z, Y, r, mu, kappa):
    """The Phillips curve's residual: real marginal cost ``w/Z`` against ``1/μ``, and next
    quarter's inflation discounted at ``1 + r(+1)`` and weighted by output growth."""
    nkpc_res = (
        kappa * (w / Z - 1 / mu) + Y(+1) / Y * jnp.log(1 + pi(+1)) / (1 + r(+1)) - jnp.log(1 + pi())
    )
    return nkpc_res


@simple_block
def taylor_rule(pi, rstar, phi, i_floor):
    """The nominal rate ``i = max(rstar + φ π, i_floor)`` (per quarter)."""
    i = jnp.maximum(rstar + phi * pi, i_floor())
    return i


@simple_block
def fisher(i, pi):
    """The ex-post real rate on bonds held from last quarter: ``(1 + i(-1)) / (1 + π) − 1``."""
    r = (1 + i(-1)) / (1 + pi) - 1
    return r


@simple_block
def fiscal(r, B, G):
    """Taxes paying the interest on constant debt ``B`` and government spending ``G``."""
    Tax = r * B + G
    return Tax


@simple_block
def market_clearing(A, NE, C, L, Y, B, G, pi, mu, kappa):
    """Residuals of the bond, labour and goods markets (positive: excess supply)."""
    asset_mkt = A - B
    labor_mkt = NE - L
    goods_mkt = Y - C - G - _adjustment_cost(pi, Y, mu, kappa)
    return asset_mkt, labor_mkt, goods_mkt


def hank(
    *,
    n_income: int = 7,
    n_wealth: int = 500,
    wealth_max: float = 150.0,
    zero_lower_bound: bool = False,
) -> SequenceSpec:
    """The one-asset HANK model at SSJ's calibration (:data:`HANK_SSJ`): the steady state (β
    and vphi for ``A = B`` and ``NE = 1``), the dynamic model (unknowns ``w``, ``Y``, ``pi``;
    targets the bond and goods markets and the Phillips curve) and its shocks (``rstar``
    monetary, ``Z`` TFP, ``G`` spending, ``beta`` demand). With ``zero_lower_bound`` the
    nominal rate is bounded at 0 (``i_floor = 0``; otherwise ``-inf``, no bound)."""
    base = one_asset_hank(n_income=n_income, n_wealth=n_wealth, wealth_max=wealth_max)
    calibration = dict(base.calibration)
    calibration.update({"kappa": HANK_SSJ["kappa"], "phi": HANK_SSJ["phi"], "pi": 0.0, "G": 0.0})
    calibration.update({"rstar": calibration["r"], "i_floor": 0.0 if zero_lower_bound else -inf})
    household = base.model.household
    steady_blocks = [hank_firm_steady_state, fiscal, bond_market]
    steady = ModelSpec(
        Model(household, steady_blocks, name="hank"), calibration, base.unknowns, base.targets
    )
    blocks = [firm, nkpc, taylor_rule, fisher, fiscal, market_clearing]
    name = "hank_zlb" if zero_lower_bound else "hank"
    model = Model(household, blocks, name=name)
    return SequenceSpec(
        steady,
        model,
        ("w", "Y", "pi"),
        ("asset_mkt", "goods_mkt", "nkpc_res"),
        ("rstar", "Z", "G", "beta"),
        {},
    )
