"""Model-agnostic mean-field machinery: kernels, games, rollouts, exact evaluation."""

from hank_mfg.core.evaluation import (
    BestResponse,
    Evaluation,
    Exploitability,
    best_response,
    evaluate,
    exploitability,
    policy_value,
)
from hank_mfg.core.game import AggState, Box, Discrete, MeanFieldGame
from hank_mfg.core.kernel import (
    GenericKernel,
    Kernel,
    LotteryKernel,
    action_values,
    expect,
    forward,
)
from hank_mfg.core.rollout import (
    MeanFieldPath,
    Policy,
    constant_policy,
    memoryless,
    policy_actions,
    rollout,
    rollout_keys,
    time_varying_policy,
)

__all__ = [
    "AggState",
    "BestResponse",
    "Box",
    "Discrete",
    "Evaluation",
    "Exploitability",
    "GenericKernel",
    "Kernel",
    "LotteryKernel",
    "MeanFieldGame",
    "MeanFieldPath",
    "Policy",
    "action_values",
    "best_response",
    "constant_policy",
    "evaluate",
    "expect",
    "exploitability",
    "forward",
    "memoryless",
    "policy_actions",
    "policy_value",
    "rollout",
    "rollout_keys",
    "time_varying_policy",
]
