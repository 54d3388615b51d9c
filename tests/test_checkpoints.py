"""Training checkpoints: a run resumes only its own checkpoint, bad files are named, and only
good states (finite parameters and evaluation) are kept."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess

import flax.serialization
import jax.numpy as jnp
import numpy as np
import pytest

from hank_mfg.calibration import LogAR1TFP
from hank_mfg.core.checks import NonFiniteError
from hank_mfg.core.files import is_partial
from hank_mfg.models import BeachBar, LinearQuadratic, LogAR1Process
from hank_mfg.solvers import spg as spg_module
from hank_mfg.solvers.spg import SPGConfig, TrainingDiverged, spg, train

# a learning rate so small that no parameter moves: the final evaluation is the initial one
CFG = SPGConfig(
    iterations=2,
    n_samples=2,
    learning_rate=1e-200,
    hidden=(16,),
    embedding=8,
    eval_every=1,
    eval_samples=2,
)


def _lq(**kwargs):
    return LinearQuadratic(n_states=25, horizon=8, common_noise=True, **kwargs)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture(scope="module")
def game():
    return _lq()


@pytest.fixture(scope="module")
def written(game, tmp_path_factory):
    """A finished run with checkpoints; a stale temporary file of a killed writer beforehand."""
    folder = tmp_path_factory.mktemp("run")
    stale = folder / f".spg.ckpt.partial-{_dead_pid()}-0badf00d"
    stale.write_bytes(b"half a checkpoint")
    sol = spg(game, dataclasses.replace(CFG, checkpoint_dir=str(folder)))
    return folder, sol


def _copy(written, tmp_path):
    shutil.copy(written[0] / "spg.ckpt", tmp_path / "spg.ckpt")
    return tmp_path


@pytest.fixture
def no_work(monkeypatch):
    """Fail if training gets as far as building its compiled step."""

    def refuse(*args, **kwargs):
        raise AssertionError("the checkpoint should have been refused before any work")

    monkeypatch.setattr(spg_module, "_trainer", refuse)


def test_checkpoints_are_written_atomically_and_stale_temporaries_removed(written):
    folder, _ = written
    assert (folder / "spg.ckpt").exists()
    assert [p.name for p in folder.iterdir() if is_partial(p)] == []


def test_first_loss_is_the_initial_policy_loss(written):
    _, sol = written
    loss = sol.history["loss"]
    assert np.all(np.isfinite(loss))
    # the parameters never moved, so the final evaluation is the iteration-0 evaluation; the
    # loss is minus its mean initial value, -mean_b sum_s mu_0(s) v_0(s)
    ev = sol.evaluation
    mean_initial_value = float(jnp.mean(jnp.sum(ev.path.agg.mu[:, 0] * ev.value[:, 0], axis=-1)))
    assert loss[0] == pytest.approx(-mean_initial_value, rel=1e-12)
    assert sol.history["exploitability"][0] == pytest.approx(sol.exploitability, rel=1e-12)


def test_resume_of_the_same_run_is_accepted(written, game, tmp_path):
    folder = _copy(written, tmp_path)
    resumed = spg(game, dataclasses.replace(CFG, checkpoint_dir=str(folder)))
    np.testing.assert_array_equal(resumed.history["loss"], written[1].history["loss"])


@pytest.mark.parametrize(
    ("change", "theirs", "ours"),
    [
        ({"learning_rate": 0.003}, "learning_rate=1e-200", "learning_rate=0.003"),
        ({"iterations": 4}, "iterations=2", "iterations=4"),
        ({"seed": 1}, "seed=0", "seed=1"),
        ({"hidden": (32,)}, "hidden=[16]", "hidden=[32]"),
    ],
)
def test_resume_refuses_a_checkpoint_of_other_settings(
    written, game, tmp_path, no_work, change, theirs, ours
):
    folder = _copy(written, tmp_path)
    cfg = dataclasses.replace(CFG, checkpoint_dir=str(folder), **change)
    expected = (
        f"checkpoint {folder / 'spg.ckpt'} was written by a run with {theirs}; "
        f"this run has {ours}; delete it or choose another checkpoint_dir"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        spg(game, cfg)


@pytest.mark.parametrize(
    ("other", "match"),
    [
        (lambda: _lq(kappa=0.6), "other game parameters"),
        (lambda: BeachBar(n_states=25, horizon=8), "game='linear_quadratic'"),
    ],
)
def test_resume_refuses_a_checkpoint_of_another_game(written, tmp_path, no_work, other, match):
    folder = _copy(written, tmp_path)
    with pytest.raises(ValueError, match=match):
        spg(other(), dataclasses.replace(CFG, checkpoint_dir=str(folder)))


def test_resume_refuses_a_checkpoint_of_another_solver(written, game, tmp_path, no_work):
    folder = _copy(written, tmp_path)
    cfg = dataclasses.replace(CFG, checkpoint_dir=str(folder), recurrent=True)
    with pytest.raises(ValueError, match="recurrent=False; this run has recurrent=True"):
        train(game, cfg, solver_name="spg")


def test_resume_refuses_a_checkpoint_of_another_version(
    written, game, tmp_path, no_work, monkeypatch
):
    import hank_mfg

    folder = _copy(written, tmp_path)
    monkeypatch.setattr(hank_mfg, "__version__", "99.0.0")
    with pytest.raises(ValueError, match="this run has version='99.0.0'"):
        spg(game, dataclasses.replace(CFG, checkpoint_dir=str(folder)))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (lambda good: b"", "is empty"),
        (lambda good: good[: len(good) // 2], "is truncated or corrupted"),
        (lambda good: good[:-1], "is truncated or corrupted"),
        (lambda good: b"\x05", "is not a training checkpoint"),
        (lambda good: good + b"\x00", "is truncated or corrupted"),
        (
            lambda good: flax.serialization.msgpack_serialize(
                {"state": {}, "history": {}, "meta": {"solver": "spg"}}
            ),
            "holds no run identity",
        ),
    ],
    ids=["empty", "half", "one-byte-short", "not-a-checkpoint", "extra-byte", "no-identity"],
)
def test_a_bad_checkpoint_file_is_named(written, game, tmp_path, no_work, content, match):
    good = (written[0] / "spg.ckpt").read_bytes()
    path = tmp_path / "spg.ckpt"
    path.write_bytes(content(good))
    with pytest.raises(ValueError, match=re.escape(f"checkpoint {path} ") + match):
        spg(game, dataclasses.replace(CFG, checkpoint_dir=str(tmp_path)))


def test_game_fingerprint_follows_the_parameters():
    from hank_mfg.solvers.spg import game_fingerprint

    assert game_fingerprint(_lq()) == game_fingerprint(_lq())
    assert game_fingerprint(_lq()) != game_fingerprint(_lq(q=0.2))
    assert game_fingerprint(_lq()) != game_fingerprint(
        _lq(initial_distributions=np.r_[1.0, np.zeros(24)])
    )

    class Economy:  # a game's blocks are hashed too
        def __init__(self, rho):
            self.tfp = LogAR1Process(LogAR1TFP(rho=rho, sigma=0.01))

    assert game_fingerprint(Economy(0.9)) == game_fingerprint(Economy(0.9))
    assert game_fingerprint(Economy(0.9)) != game_fingerprint(Economy(0.8))


# --- only good states are kept ---------------------------------------------------------------


class PoisonedLQ(LinearQuadratic):
    """Rewards turn NaN once the policy becomes confident (after a few large steps)."""

    def policy_reward(self, agg, next_agg, policy):
        r = super().policy_reward(agg, next_agg, policy)
        return r + jnp.where(jnp.max(policy) > 0.3, jnp.nan, 0.0)


def failing_check(game, monkeypatch):
    """``game`` whose evaluation reports a NaN aggregate from the second evaluation on (the
    path check that :func:`~hank_mfg.core.evaluation.evaluate` runs)."""
    calls = []

    def check_path(path):
        calls.append(1)
        if len(calls) >= 2:
            raise NonFiniteError("mean is nan on path 0 at date 3")

    monkeypatch.setattr(game, "check_path", check_path, raising=False)  # undone after the test
    return game


def _stored_history(path):
    payload = flax.serialization.msgpack_restore(path.read_bytes())
    return {k: np.asarray(v) for k, v in payload["history"].items()}


@pytest.mark.parametrize(
    ("make_game", "learning_rate", "match"),
    [
        (
            lambda game, mp: PoisonedLQ(n_states=25, horizon=8),
            0.3,
            r"exploitability nan|value is nan",
        ),
        # the module's game (its compiled steps are reused), with a failing path check
        (failing_check, CFG.learning_rate, r"mean is nan on path 0 at date 3"),
    ],
    ids=["nan-exploitability", "non-finite-error"],
)
def test_a_non_finite_evaluation_stops_training_and_keeps_the_last_good_checkpoint(
    game, tmp_path, monkeypatch, make_game, learning_rate, match
):
    game = make_game(game, monkeypatch)
    cfg = dataclasses.replace(CFG, learning_rate=learning_rate, checkpoint_dir=str(tmp_path))
    seen = []
    with pytest.raises(TrainingDiverged, match=r"diverged at iteration \d+: the evaluation") as err:
        spg(game, cfg, callback=seen.append)
    message = str(err.value)
    assert re.search(match, message)
    bad = int(message.split("iteration ")[1].split(":")[0])
    ckpt = tmp_path / "spg.ckpt"
    assert f"the last good checkpoint {ckpt} (iteration {bad - 1}) is kept" in message
    # the callback saw only good states, and the checkpoint is the last of them
    assert [p.iteration for p in seen] == list(range(1, bad))
    assert all(np.isfinite(p.exploitability) for p in seen)
    history = _stored_history(ckpt)
    assert history["iteration"].tolist() == list(range(bad))
    assert np.all(np.isfinite(history["exploitability"])) and np.all(np.isfinite(history["loss"]))
    assert os.listdir(tmp_path) == ["spg.ckpt"]  # no temporary file left either
