"""Calibration: income processes (QuantEcon Tauchen / Rouwenhorst), the Krusell–Smith
employment process, calibration dataclasses and the named presets.

Plain NumPy (float64) functions returning frozen dataclasses; models read them, nothing here
depends on JAX.
"""

from hank_mfg.calibration.employment import KrusellSmithEmployment, krusell_smith_employment
from hank_mfg.calibration.income import (
    IncomeProcess,
    check_grid,
    check_stochastic_matrix,
    innovation_sd,
    markov_income,
    rouwenhorst,
    stationary_distribution,
    tauchen,
)
from hank_mfg.calibration.presets import (
    Calibration,
    EmploymentIncome,
    FirmCalibration,
    GameSettings,
    HouseholdCalibration,
    LogAR1TFP,
    MarkovTFP,
    aiyagari_1994,
    check_log_ar1,
    check_markov_chain,
    geometric_grid,
    krusell_smith_1998,
    midpoint_shares,
    quantecon_aiyagari,
    seed_macro,
)

__all__ = [
    "Calibration",
    "EmploymentIncome",
    "FirmCalibration",
    "GameSettings",
    "HouseholdCalibration",
    "IncomeProcess",
    "KrusellSmithEmployment",
    "LogAR1TFP",
    "MarkovTFP",
    "aiyagari_1994",
    "check_grid",
    "check_log_ar1",
    "check_markov_chain",
    "check_stochastic_matrix",
    "geometric_grid",
    "innovation_sd",
    "krusell_smith_1998",
    "krusell_smith_employment",
    "markov_income",
    "midpoint_shares",
    "quantecon_aiyagari",
    "rouwenhorst",
    "seed_macro",
    "stationary_distribution",
    "tauchen",
]
