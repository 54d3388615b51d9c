"""Command line: ``hank-mfg …``.

``hank-mfg demo`` rolls out and evaluates policies on the linear-quadratic game and prints
their exploitability (the built-in default job).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from hank_mfg.core import constant_policy, evaluate, memoryless
    from hank_mfg.models import LinearQuadratic

    game = LinearQuadratic(common_noise=args.common_noise)

    def toward_mean(strength, obs):
        """Move towards the observed population mean; ``strength`` is the weight on doing so."""
        gap = obs[0] - jnp.arange(game.n_states)
        move = jnp.clip(jnp.round(gap), -3, 3).astype(jnp.int32) + 3
        greedy = jax.nn.one_hot(move, game.n_actions)
        return strength * greedy + (1.0 - strength) / game.n_actions

    policies = {
        "uniform": (constant_policy, game.uniform_policy()),
        "toward-mean (0.9)": (memoryless(toward_mean), jnp.asarray(0.9)),
    }
    key = jax.random.PRNGKey(args.seed)
    print(
        f"linear-quadratic game: {game.n_states} states, {game.n_actions} actions, "
        f"horizon {game.horizon}, discount {game.discount}, common noise "
        f"{'on' if game.common_noise else 'off'}, {args.samples} common-noise samples"
    )
    print(f"{'policy':<20}{'value':>14}{'best response':>16}{'exploitability':>16}{'seconds':>10}")
    for name, (policy, params) in policies.items():
        start = time.perf_counter()
        ev = evaluate(game, policy, params, key, args.samples)
        expl = ev.exploitability
        value = float(expl.value.block_until_ready())
        seconds = time.perf_counter() - start
        print(
            f"{name:<20}{float(expl.policy_return.mean()):>14.4f}"
            f"{float(expl.best_response_return.mean()):>16.4f}{value:>16.6f}{seconds:>10.2f}"
        )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hank-mfg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="evaluate policies on the linear-quadratic game")
    demo.add_argument("--common-noise", action="store_true", help="turn on the common shock")
    demo.add_argument("--samples", type=int, default=8, help="common-noise samples (>= 1)")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hank-mfg``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "samples", 1) < 1:
        parser.error(f"--samples must be an integer >= 1, got {args.samples}")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
