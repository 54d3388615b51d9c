"""The macroeconomics game of the RSPG paper: 200 wealth × 5 income households choosing one of
20 consumption shares, prices from a Cobb–Douglas firm without depreciation, log-AR(1) TFP.

The economy is :func:`~hank_mfg.models.aiyagari.aiyagari_model`'s (budget
``c + a' = (1 + r) a + w e``, ``Y = A Z K^α L^(1−α)``); the game is the seed's: action ``k``
consumes the share ``(k + ½)/20`` of cash on hand, and the last period consumes all of it.
"""

from __future__ import annotations

import dataclasses

from hank_mfg.calibration import Calibration
from hank_mfg.calibration import seed_macro as seed_macro_calibration
from hank_mfg.models.aiyagari import aiyagari_model, calibration_parameters
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.production import tfp_process

__all__ = ["seed_macro"]


def seed_macro(
    calibration: Calibration | None = None, *, horizon: int | None = None
) -> BlockEconomy:
    """The seed's macro economy (defaults of :func:`hank_mfg.calibration.seed_macro`).

    Action ``k`` consumes the share ``(k + ½)/20`` of cash on hand (savings share
    ``1 − (k + ½)/20``); the last period consumes everything; mu_0 uniform; observation
    ``(r, w)``; discount 0.95; horizon 128. The game keeps the calibration (with ``horizon``
    in it when given) as ``game.calibration``.
    """
    cal = seed_macro_calibration() if calibration is None else calibration
    if cal.game is None:
        raise ValueError(f"calibration {cal.name!r} has no game settings (horizon, actions)")
    if horizon is not None:
        cal = dataclasses.replace(cal, game=dataclasses.replace(cal.game, horizon=horizon))
    settings = cal.game
    return BlockEconomy(
        aiyagari_model(cal),
        calibration_parameters(cal),
        calibration=cal,
        tfp=tfp_process(cal.tfp),
        horizon=settings.horizon,
        shares=1.0 - settings.consumption_shares,
        terminal="consume_wealth" if settings.terminal_reward == "consume_wealth" else "none",
        observation=tuple("Z" if o == "z" else o for o in settings.observation),
        name="seed_macro",
    )
