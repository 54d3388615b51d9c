"""Economic models and the seed's toy games, each compiled to a MeanFieldGame."""

from hank_mfg.models.aiyagari import aiyagari
from hank_mfg.models.household import Household, HouseholdEconomy, crra_utility
from hank_mfg.models.krusell_smith import krusell_smith
from hank_mfg.models.production import (
    CobbDouglas,
    ConstantTFP,
    LogAR1Process,
    MarkovProcess,
    tfp_process,
)
from hank_mfg.models.seed_macro import seed_macro
from hank_mfg.models.toy import BeachBar, LinearQuadratic

__all__ = [
    "BeachBar",
    "CobbDouglas",
    "ConstantTFP",
    "Household",
    "HouseholdEconomy",
    "LinearQuadratic",
    "LogAR1Process",
    "MarkovProcess",
    "aiyagari",
    "crra_utility",
    "krusell_smith",
    "seed_macro",
    "tfp_process",
]
