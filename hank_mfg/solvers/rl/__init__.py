"""Model-free baselines on the sample-based mean-field update: IPPO, RIPPO, Deep Munchausen OMD."""

from hank_mfg.solvers.rl.common import TrainingDiverged
from hank_mfg.solvers.rl.ippo import PPOConfig, ippo, rippo
from hank_mfg.solvers.rl.momd import MOMDConfig, momd

__all__ = ["MOMDConfig", "PPOConfig", "TrainingDiverged", "ippo", "momd", "rippo"]
