"""Structural policy gradient (SPG) and its recurrent form (RSPG): one training loop.

Each iteration samples ``B`` common-noise paths, rolls the mean field forward with the current
policy (the population taken as given: the path is held fixed, as in a Nash equilibrium),
computes the exact expected return of the stand-in agent by the backward recursion
``v_t = r_π,t + γ A_π,t v_{t+1}`` through the kernel, and ascends

    J(θ) = mean_b Σ_s mu_0(s) v_0(s)

with optax Adam (global-norm clipping, learning rate annealed from ``learning_rate`` to
``final_lr_fraction × learning_rate``). The gradient is exact and equals ``jax.grad`` through
the recursion; it is computed by :func:`~hank_mfg.core.evaluation.structural_gradient` (one
rollout that records the policy's pull-back, one backward recursion that yields each period's
table cotangent ``γ^t mu_t ∂q_t/∂π_t``, one pull-back), without storing or differentiating the
recursion. SPG and RSPG differ only in the policy's aggregate embedding (memoryless vs GRU over
the shared observations).

Training is chunked: ``eval_every`` iterations run inside one ``lax.scan`` under ``jit``;
between chunks the policy is evaluated exactly (exploitability through the core evaluation),
a progress callback is called and a checkpoint is written. The ``B`` samples are sharded over
all local devices (a ``Mesh`` over the sample axis). NaN/inf in the loss or the parameters
stops training with :class:`TrainingDiverged`, keeping the last good checkpoint.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from hank_mfg.core.checks import check_bool, check_settings
from hank_mfg.core.evaluation import evaluate, policy_value, structural_gradient
from hank_mfg.core.game import MeanFieldGame
from hank_mfg.core.rollout import Policy, rollout, rollout_keys
from hank_mfg.solvers.policies import PolicyNetwork, observation_scale, policy_network
from hank_mfg.solvers.solution import Solution

Array = jax.Array

__all__ = [
    "Progress",
    "SPGConfig",
    "TrainingDiverged",
    "observation_normalisation",
    "spg",
    "train",
]


class TrainingDiverged(RuntimeError):
    """Raised when the loss or the parameters stop being finite."""


@dataclass(frozen=True)
class SPGConfig:
    """Settings of (R)SPG training; the defaults work on every built-in model.

    Attributes:
        iterations: gradient steps (>= 1).
        n_samples: common-noise paths per step ``B`` (>= 1; a multiple of the device count).
        learning_rate: Adam's initial step size (> 0).
        final_lr_fraction: the rate is annealed (cosine) to this fraction, in (0, 1].
        max_grad_norm: global-norm gradient clipping (> 0).
        hidden: widths of the hidden layers of the head's state network (factorised head) or
            of the per-state MLP head (``rank=None``).
        embedding: width of the aggregate embedding / GRU state.
        rank: width of the state basis of the factorised head (per period and state the head
            costs ``rank × n_actions`` multiply-adds); ``None``: per-state MLP head.
        recurrent: GRU over the shared observations (RSPG) or memoryless (SPG).
        clock: the recurrent encoder also sees the period index (a function of the length of
            the observation history); ``None``: as ``recurrent``.
        eval_every: iterations per jitted chunk, and between exact evaluations (>= 1).
        eval_samples: common-noise paths of each evaluation (>= 1).
        seed: random seed (initialisation, sampled paths, evaluation paths).
        checkpoint_dir: folder for checkpoints (``None``: none written).
        remat_chunk: periods per rematerialised block (``None``: off): the gradient keeps the
            state at block boundaries only and re-runs each block, so peak memory grows like
            ``T / remat_chunk + remat_chunk`` instead of ``T`` (for one more rollout).
        normalise_observations: estimate observation location/scale from a rollout of the
            initial policy.
    """

    iterations: int = 200
    n_samples: int = 8
    learning_rate: float = 3e-3
    final_lr_fraction: float = 0.1
    max_grad_norm: float = 1.0
    hidden: tuple[int, ...] = (64, 64)
    embedding: int = 32
    rank: int | None = 32
    recurrent: bool = False
    clock: bool | None = None
    eval_every: int = 20
    eval_samples: int = 8
    seed: int = 0
    checkpoint_dir: str | None = None
    remat_chunk: int | None = None
    normalise_observations: bool = True

    def __post_init__(self) -> None:
        check_settings(
            self,
            ("iterations", "n_samples", "eval_every", "eval_samples", "embedding"),
            (
                ("learning_rate", self.learning_rate > 0, "be > 0"),
                ("final_lr_fraction", 0 < self.final_lr_fraction <= 1, "lie in (0, 1]"),
                ("max_grad_norm", self.max_grad_norm > 0, "be > 0"),
            ),
        )
        if self.rank is not None and (
            isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 1
        ):
            raise ValueError(f"rank must be None or an integer >= 1, got {self.rank!r}")
        if self.remat_chunk is not None and self.remat_chunk < 1:
            raise ValueError(f"remat_chunk must be None or >= 1, got {self.remat_chunk!r}")
        check_bool("recurrent", self.recurrent)
        check_bool("normalise_observations", self.normalise_observations)
        if self.clock is not None and not isinstance(self.clock, bool | np.bool_):
            raise ValueError(f"clock must be None, True or False, got {self.clock!r}")

    def network(self, game: MeanFieldGame) -> PolicyNetwork:
        """The policy network these settings describe, for ``game``."""
        return policy_network(
            game,
            hidden=self.hidden,
            embedding=self.embedding,
            recurrent=self.recurrent,
            rank=self.rank,
            clock=self.clock,
        )

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain values."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class Progress:
    """What the progress callback receives after each chunk (units: iterations, seconds)."""

    iteration: int
    iterations: int
    loss: float
    exploitability: float | None
    seconds: float


@struct.dataclass
class TrainState:
    """Parameters, optimiser state and the iteration counter (a pytree)."""

    params: Any
    opt_state: Any
    iteration: Array


def observation_normalisation(
    game: MeanFieldGame, net: PolicyNetwork, params: Any, key: Array, n_samples: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Location and scale of the shared observations along rollouts of a policy
    (:func:`~hank_mfg.solvers.policies.observation_scale`)."""
    return observation_scale(rollout(game, net.policy, params, key, n_samples).obs)


def _optimizer(config: SPGConfig) -> optax.GradientTransformation:
    schedule = optax.cosine_decay_schedule(
        config.learning_rate, max(config.iterations, 1), alpha=config.final_lr_fraction
    )
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(schedule))


def _sample_keys(key: Array, n_samples: int, mesh: Mesh | None) -> Array:
    keys = jax.random.split(key, n_samples)
    if mesh is not None:
        keys = jax.lax.with_sharding_constraint(keys, NamedSharding(mesh, P("sample")))
    return keys


def make_loss_and_grad(
    game: MeanFieldGame, net: PolicyNetwork, config: SPGConfig, mesh: Mesh | None = None
) -> Callable[[Any, Array], tuple[Array, Any]]:
    """``(params, key) -> (loss, ∂loss/∂params)`` for the SPG loss of :func:`make_loss`.

    The exact structural gradient (:func:`~hank_mfg.core.evaluation.structural_gradient`),
    with ``config.remat_chunk`` periods per rematerialised block.
    """

    def loss_and_grad(params: Any, key: Array) -> tuple[Array, Any]:
        keys = _sample_keys(key, config.n_samples, mesh)
        value, grads = structural_gradient(game, net.policy, params, keys, config.remat_chunk)
        return -value, jax.tree_util.tree_map(jnp.negative, grads)

    return loss_and_grad


def make_loss(
    game: MeanFieldGame, net: PolicyNetwork, config: SPGConfig, mesh: Mesh | None = None
) -> Callable[[Any, Array], Array]:
    """The SPG loss ``−mean_b Σ_s mu_0(s) v_0(s)`` for a key (``B`` paths drawn from it).

    The mean-field path is held fixed (``stop_gradient``); ``jax.grad`` of the loss gives the
    structural gradient of :func:`make_loss_and_grad` (a custom derivative, reverse mode only).
    """
    loss_and_grad = make_loss_and_grad(game, net, config, mesh)

    def value(params: Any, key: Array) -> Array:
        keys = _sample_keys(key, config.n_samples, mesh)
        path = jax.lax.stop_gradient(
            rollout_keys(game, net.policy, jax.lax.stop_gradient(params), keys)
        )
        values = policy_value(game, path)
        return -jnp.mean(jnp.sum(path.agg.mu[:, 0] * values[:, 0], axis=-1))

    @jax.custom_vjp
    def loss(params: Any, key: Array) -> Array:
        return value(params, key)

    def loss_fwd(params: Any, key: Array) -> tuple[Array, Any]:
        return loss_and_grad(params, key)

    def loss_bwd(grads: Any, ct: Array) -> tuple[Any, None]:
        return jax.tree_util.tree_map(lambda g: ct * g, grads), None

    loss.defvjp(loss_fwd, loss_bwd)
    return loss


def _static_settings(config: SPGConfig) -> SPGConfig:
    """The settings that shape the compiled training step (seed and paths do not)."""
    return dataclasses.replace(config, seed=0, checkpoint_dir=None, eval_samples=1)


@functools.lru_cache(maxsize=32)
def _trainer(
    game: MeanFieldGame, net: PolicyNetwork, config: SPGConfig
) -> tuple[optax.GradientTransformation, Callable[..., tuple[Any, Array]]]:
    """The optimiser and the jitted chunk of training steps, cached across runs."""
    mesh = _sample_mesh(config.n_samples)
    optimizer = _optimizer(config)
    loss_and_grad = make_loss_and_grad(game, net, config, mesh)

    @partial(jax.jit, static_argnames=("n",))
    def run_chunk(state: TrainState, key: Array, n: int) -> tuple[TrainState, Array]:
        def step(state: TrainState, _: Any) -> tuple[TrainState, Array]:
            loss, grads = loss_and_grad(state.params, jax.random.fold_in(key, state.iteration))
            updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
            params = optax.apply_updates(state.params, updates)
            return TrainState(params, opt_state, state.iteration + 1), loss

        return jax.lax.scan(step, state, None, length=n)

    return optimizer, run_chunk


def _sample_mesh(n_samples: int) -> Mesh | None:
    devices = jax.local_devices()
    if len(devices) == 1:
        return None
    if n_samples % len(devices):
        raise ValueError(
            f"n_samples ({n_samples}) must be a multiple of the number of devices "
            f"({len(devices)}) to shard the common-noise samples"
        )
    return Mesh(np.array(devices), ("sample",))


def _save(path: str, state: TrainState, history: dict[str, list], meta: dict[str, Any]) -> None:
    """Write a checkpoint atomically (temporary file in the same folder, then rename)."""
    payload = {
        "state": flax.serialization.to_state_dict(jax.device_get(state)),
        "history": {k: np.asarray(v, dtype=np.float64) for k, v in history.items()},
        "meta": meta,
    }
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".ckpt")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(flax.serialization.msgpack_serialize(payload))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load(path: str, template: TrainState) -> tuple[TrainState, dict[str, list], dict]:
    with open(path, "rb") as f:
        payload = flax.serialization.msgpack_restore(f.read())
    state = flax.serialization.from_state_dict(template, payload["state"])
    history = {k: list(np.asarray(v)) for k, v in payload["history"].items()}
    return state, history, payload.get("meta", {})


def _record(history: dict[str, list], **values: float) -> None:
    for name, value in values.items():
        history[name].append(value)


def _all_finite(tree: Any) -> bool:
    return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(tree))


def check_chunk(name: str, done: int, losses: np.ndarray, tree: Any, where: str = "") -> None:
    """Raise :class:`TrainingDiverged` if a chunk's losses or ``tree`` hold NaN/inf, naming the
    first bad iteration (counting from ``done + 1``); ``where`` ends the message."""
    losses_ok = bool(np.all(np.isfinite(losses)))
    if losses_ok and _all_finite(tree):
        return
    bad = len(losses) - 1 if losses_ok else int(np.argmax(~np.isfinite(losses)))
    raise TrainingDiverged(
        f"{name} diverged at iteration {done + bad + 1}: the loss or the parameters "
        f"became NaN/inf (lower learning_rate or max_grad_norm){where}"
    )


def train(
    game: MeanFieldGame,
    config: SPGConfig | None = None,
    *,
    callback: Callable[[Progress], None] | None = None,
    resume: bool = True,
    solver_name: str | None = None,
) -> Solution:
    """Train a (recurrent) structural policy gradient policy on ``game``.

    Args:
        game: any :class:`~hank_mfg.core.game.MeanFieldGame`.
        config: :class:`SPGConfig` (default settings if ``None``).
        callback: called with :class:`Progress` after each chunk of iterations; returning
            ``True`` stops training there (e.g. at a wall-clock budget).
        resume: continue from ``config.checkpoint_dir``'s checkpoint when there is one; the
            result is identical to an uninterrupted run.
        solver_name: label for the Solution (default ``"rspg"``/``"spg"``).

    Returns:
        A :class:`~hank_mfg.solvers.solution.Solution` with the trained parameters, the
        evaluation history (exploitability against iterations and training seconds) and the
        final evaluation.

    Raises:
        TrainingDiverged: NaN/inf in the loss or the parameters (naming the iteration); the
            last good checkpoint stays on disk.
    """
    config = SPGConfig() if config is None else config
    name = solver_name or ("rspg" if config.recurrent else "spg")
    key = jax.random.PRNGKey(config.seed)
    k_init, k_norm, k_train, k_eval = jax.random.split(key, 4)
    net = config.network(game)
    params = net.init(k_init)
    if config.normalise_observations:
        loc, scale = observation_normalisation(game, net, params, k_norm)
        params = net.init(k_init, loc, scale)
    optimizer, run_chunk = _trainer(game, net, _static_settings(config))
    state = TrainState(params, optimizer.init(params), jnp.asarray(0, dtype=jnp.int32))
    history = new_history()
    losses_all: list[float] = []
    ckpt = (
        None
        if config.checkpoint_dir is None
        else os.path.join(config.checkpoint_dir, f"{name}.ckpt")
    )
    if ckpt is not None and resume and os.path.exists(ckpt):
        state, history, meta = _load(ckpt, state)
        losses_all = list(np.asarray(meta.get("losses", []), dtype=np.float64))
    return training_loop(
        game,
        name=name,
        policy=net.policy,
        state=state,
        params_of=lambda s: s.params,
        finite_of=lambda s: s.params,
        run_chunk=lambda s, done, n: run_chunk(s, k_train, n),  # keyed by s.iteration inside
        done=int(state.iteration),
        iterations=config.iterations,
        eval_every=config.eval_every,
        eval_samples=config.eval_samples,
        eval_key=k_eval,
        settings=config.to_dict(),
        seed=config.seed,
        callback=callback,
        history=history,
        losses=losses_all,
        checkpoint=ckpt,
    )


def new_history() -> dict[str, list]:
    """An empty training history: the columns every solver records at each evaluation."""
    return {name: [] for name in ("iteration", "seconds", "exploitability", "loss", "eval_seconds")}


def training_loop(
    game: MeanFieldGame,
    *,
    name: str,
    policy: Policy,
    state: Any,
    params_of: Callable[[Any], Any],
    finite_of: Callable[[Any], Any],
    run_chunk: Callable[[Any, int, int], tuple[Any, Array]],
    done: int,
    iterations: int,
    eval_every: int,
    eval_samples: int,
    eval_key: Array,
    settings: dict[str, Any],
    seed: int,
    callback: Callable[[Progress], Any] | None = None,
    history: dict[str, list] | None = None,
    losses: list[float] | None = None,
    checkpoint: str | None = None,
) -> Solution:
    """Train in chunks with an exact evaluation after each: the loop every learning solver runs.

    ``run_chunk(state, done, n)`` runs iterations ``done + 1 … done + n`` and returns the new
    state and their losses; ``done`` is where training starts (after a resumed checkpoint,
    whose ``history`` and ``losses`` are passed on). History: ``iteration``, ``seconds``
    (training wall time, evaluations excluded, compilation included), ``exploitability``
    (core evaluation on ``eval_samples`` common-noise paths from ``eval_key``), ``loss``,
    ``eval_seconds``. With ``checkpoint``, the state and history are written there (atomically)
    after each evaluation. ``callback(Progress)`` returning ``True`` stops training.

    Raises:
        TrainingDiverged: the losses or ``finite_of(state)`` became NaN/inf (naming the
            iteration); the last good checkpoint stays on disk.
    """
    history = new_history() if history is None else history
    losses = [] if losses is None else losses
    elapsed = float(history["seconds"][-1]) if history["seconds"] else 0.0

    def evaluate_now() -> tuple[float, float, Any]:
        start = time.perf_counter()
        ev = evaluate(game, policy, params_of(state), eval_key, eval_samples)
        return float(ev.exploitability.value), time.perf_counter() - start, ev

    def record(loss: float) -> float:
        expl, eval_s, _ = evaluate_now()
        _record(
            history,
            iteration=done,
            seconds=elapsed,
            exploitability=expl,
            loss=loss,
            eval_seconds=eval_s,
        )
        if checkpoint is not None:
            meta = {"solver": name, "losses": np.asarray(losses)} if losses else {"solver": name}
            _save(checkpoint, state, history, meta)
        return expl

    if not history["iteration"]:
        record(float("nan"))
    where = f"; the last good checkpoint is {checkpoint}" if checkpoint else ""
    while done < iterations:
        n = min(eval_every, iterations - done)
        start = time.perf_counter()
        new_state, chunk_losses = run_chunk(state, done, n)
        chunk_losses = np.asarray(chunk_losses)
        elapsed += time.perf_counter() - start
        check_chunk(name, done, chunk_losses, finite_of(new_state), where)
        state, done = new_state, done + n
        losses.extend(float(x) for x in chunk_losses)
        expl = record(float(chunk_losses[-1]))
        if callback is not None:
            progress = Progress(done, iterations, float(chunk_losses[-1]), expl, elapsed)
            if callback(progress) is True:
                break

    _, _, final = evaluate_now()
    return Solution(
        game=game,
        solver=name,
        policy=policy,
        params=params_of(state),
        settings={**settings, "devices": len(jax.local_devices())},
        evaluation=final,
        results={"loss_by_iteration": np.asarray(losses, dtype=np.float64)},
        history={k: np.asarray(v, dtype=np.float64) for k, v in history.items()},
        seconds=elapsed,
        seed=seed,
    )


def spg(game: MeanFieldGame, config: SPGConfig | None = None, **kwargs: Any) -> Solution:
    """Memoryless structural policy gradient: policy π(a | s, o_t)."""
    config = SPGConfig() if config is None else config
    return train(game, dataclasses.replace(config, recurrent=False), solver_name="spg", **kwargs)
