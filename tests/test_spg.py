"""Structural policy gradients: learning, resume, divergence, devices, configuration."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.models import LinearQuadratic
from hank_mfg.solvers.rspg import rspg
from hank_mfg.solvers.spg import SPGConfig, TrainingDiverged, spg

SMALL = SPGConfig(
    iterations=6,
    n_samples=2,
    learning_rate=0.05,
    hidden=(16,),
    embedding=8,
    eval_every=3,
    eval_samples=2,
)


@pytest.fixture(scope="module")
def game():
    return LinearQuadratic(n_states=25, horizon=8, common_noise=True)


def test_spg_and_rspg_lower_exploitability(game):
    for solver in (spg, rspg):
        progress = []
        sol = solver(game, SMALL, callback=progress.append)
        hist = sol.history["exploitability"]
        print(f"{sol.solver}: exploitability {hist[0]:.4f} -> {hist[-1]:.4f}")
        assert hist[-1] < 0.8 * hist[0]
        assert [p.iteration for p in progress] == [3, 6]
        assert list(sol.history["iteration"]) == [0, 3, 6]
        assert np.all(np.diff(sol.history["seconds"]) > 0)
        assert sol.exploitability == pytest.approx(float(hist[-1]), rel=1e-6)
        assert sol.settings["recurrent"] == (solver is rspg)


def test_resume_gives_the_uninterrupted_result(game, tmp_path):
    full = spg(game, SMALL)
    cfg = dataclasses.replace(SMALL, checkpoint_dir=str(tmp_path))

    def interrupt(progress):
        raise KeyboardInterrupt  # the run stops after its first chunk (and checkpoint)

    with pytest.raises(KeyboardInterrupt):
        spg(game, cfg, callback=interrupt)
    resumed = spg(game, cfg)
    np.testing.assert_array_equal(
        resumed.results["loss_by_iteration"], full.results["loss_by_iteration"]
    )
    for a, b in zip(
        jax.tree_util.tree_leaves(resumed.params),
        jax.tree_util.tree_leaves(full.params),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(resumed.history["exploitability"], full.history["exploitability"])


class PoisonedLQ(LinearQuadratic):
    """Rewards turn NaN once the policy becomes confident (after some training)."""

    def policy_reward(self, agg, next_agg, policy):
        r = super().policy_reward(agg, next_agg, policy)
        return r + jnp.where(jnp.max(policy) > 0.3, jnp.nan, 0.0)


def test_divergence_stops_with_the_iteration_and_keeps_the_checkpoint(tmp_path):
    game = PoisonedLQ(n_states=25, horizon=8)
    cfg = dataclasses.replace(SMALL, iterations=30, learning_rate=0.3, checkpoint_dir=str(tmp_path))
    with pytest.raises(TrainingDiverged, match=r"diverged at iteration \d+") as err:
        spg(game, cfg)
    print(err.value)
    ckpt = tmp_path / "spg.ckpt"
    assert ckpt.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "spg.ckpt"] == []  # no temporaries
    iteration = int(str(err.value).split("iteration ")[1].split(":")[0])
    assert iteration > 1  # some chunks trained fine before


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("iterations", 0, "iterations must be an integer >= 1"),
        ("n_samples", -2, "n_samples must be an integer >= 1"),
        ("learning_rate", 0.0, "learning_rate must be > 0"),
        ("final_lr_fraction", 1.5, r"final_lr_fraction must lie in \(0, 1\]"),
        ("max_grad_norm", float("nan"), "max_grad_norm must be > 0"),
        ("hidden", (), "hidden must be a non-empty tuple"),
        ("remat_chunk", 0, "remat_chunk must be None or >= 1"),
    ],
)
def test_bad_settings_raise(field, value, match):
    with pytest.raises(ValueError, match=match):
        SPGConfig(**{field: value})


def test_rematerialised_value_is_the_same(game):
    from hank_mfg.core import constant_policy, policy_value, rollout

    path = rollout(game, constant_policy, game.uniform_policy(), jax.random.PRNGKey(0), 2)
    plain = policy_value(game, path)
    for chunk in (3, 5):
        np.testing.assert_allclose(
            np.asarray(policy_value(game, path, None, chunk)), np.asarray(plain), atol=1e-12
        )


_DEVICE_SCRIPT = textwrap.dedent(
    """
    import json, sys, jax
    jax.config.update("jax_enable_x64", True)
    from hank_mfg.models import LinearQuadratic
    from hank_mfg.solvers.spg import SPGConfig, spg
    game = LinearQuadratic(n_states=25, horizon=8, common_noise=True)
    settings = json.loads(sys.argv[1])
    cfg = SPGConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
    sol = spg(game, cfg)
    print(json.dumps({"devices": len(jax.local_devices()),
                      "loss": sol.results["loss_by_iteration"].tolist()}))
    """
)


def fresh_interpreters(items, width):
    """The module's SPG run on two host devices, one sample on each, in a fresh interpreter
    (the device count is fixed when JAX starts): its device count and losses."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    settings = json.dumps(dataclasses.asdict(SMALL))
    out = subprocess.run(
        [sys.executable, "-c", _DEVICE_SCRIPT, settings],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_host_devices_give_the_same_losses(game, fresh_runs):
    """The module's run on one device (this process) and on two (a fresh interpreter)."""
    assert len(jax.local_devices()) == 1
    one = spg(game, SMALL).results["loss_by_iteration"]
    assert fresh_runs["devices"] == 2
    # the sample mean is reduced across devices in another order: equal to rounding, amplified
    # slightly by Adam over the steps
    np.testing.assert_allclose(fresh_runs["loss"], one, rtol=1e-7)
