"""Economic models and the seed's toy games, each compiled to a MeanFieldGame."""

from hank_mfg.models.aiyagari import aiyagari
from hank_mfg.models.block_economy import BlockEconomy
from hank_mfg.models.household_block import HouseholdBlock, crra, crra_labor, preferences
from hank_mfg.models.krusell_smith import krusell_smith
from hank_mfg.models.model import Model
from hank_mfg.models.production import (
    ConstantTFP,
    LogAR1Process,
    MarkovProcess,
    tfp_process,
)
from hank_mfg.models.seed_macro import seed_macro
from hank_mfg.models.toy import BeachBar, LinearQuadratic

__all__ = [
    "BeachBar",
    "BlockEconomy",
    "ConstantTFP",
    "HouseholdBlock",
    "LinearQuadratic",
    "LogAR1Process",
    "MarkovProcess",
    "Model",
    "aiyagari",
    "crra",
    "crra_labor",
    "krusell_smith",
    "preferences",
    "seed_macro",
    "tfp_process",
]
