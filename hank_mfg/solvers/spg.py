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
import hashlib
import json
import os
import time
import types
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

from hank_mfg.core.checks import NonFiniteError, check_bool, check_settings
from hank_mfg.core.evaluation import Evaluation, evaluate, structural_gradient
from hank_mfg.core.files import atomic_write
from hank_mfg.core.game import MeanFieldGame
from hank_mfg.core.rollout import Policy, rollout
from hank_mfg.solvers.policies import PolicyNetwork, observation_scale, policy_network
from hank_mfg.solvers.solution import Solution

Array = jax.Array

__all__ = [
    "Progress",
    "SPGConfig",
    "TrainingDiverged",
    "game_fingerprint",
    "observation_normalisation",
    "run_identity",
    "spg",
    "train",
]


class TrainingDiverged(RuntimeError):
    """Raised when the loss, the parameters or an evaluation of the policy stop being finite."""


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
    """``(params, key) -> (loss, ∂loss/∂params)`` for the SPG loss ``−mean_b Σ_s mu_0(s) v_0(s)``
    over ``B`` paths drawn from the key (the mean field held fixed).

    The exact structural gradient (:func:`~hank_mfg.core.evaluation.structural_gradient`),
    with ``config.remat_chunk`` periods per rematerialised block.
    """

    def loss_and_grad(params: Any, key: Array) -> tuple[Array, Any]:
        keys = _sample_keys(key, config.n_samples, mesh)
        value, grads = structural_gradient(game, net.policy, params, keys, config.remat_chunk)
        return -value, jax.tree_util.tree_map(jnp.negative, grads)

    return loss_and_grad


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


def _feed(h: Any, obj: Any, seen: set[int], depth: int) -> None:
    """Hash ``obj``'s parameters into ``h``: scalars and arrays by value, functions by name,
    containers and objects (blocks) by their items and public attributes, recursively."""
    if obj is None or isinstance(obj, bool | int | float | complex | str | np.generic):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, np.ndarray | jax.Array):
        a = np.asarray(obj)
        h.update(f"array:{a.dtype.str}:{a.shape};".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    elif isinstance(obj, types.FunctionType | types.BuiltinFunctionType | types.MethodType | type):
        h.update(f"callable:{getattr(obj, '__module__', '')}.{obj.__qualname__};".encode())
    elif id(obj) in seen or depth > 8:
        h.update(f"ref:{type(obj).__qualname__};".encode())
    elif isinstance(obj, list | tuple):
        h.update(f"{type(obj).__name__}[{len(obj)}];".encode())
        for item in obj:
            _feed(h, item, seen | {id(obj)}, depth + 1)
    elif isinstance(obj, dict):
        h.update(f"dict[{len(obj)}];".encode())
        for k in sorted(obj, key=str):
            h.update(f"{k}=".encode())
            _feed(h, obj[k], seen | {id(obj)}, depth + 1)
    else:
        cls = type(obj)
        h.update(f"object:{cls.__module__}.{cls.__qualname__}{{".encode())
        if dataclasses.is_dataclass(obj):
            attrs = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        else:
            attrs = dict(getattr(obj, "__dict__", {}))
        for k in sorted(attrs):
            value = attrs[k]
            if k.startswith("_"):
                # private attributes: only the arrays they hold (derived data such as terminal
                # values or a prebuilt kernel); private flags and caches are state, not
                # parameters
                value = [x for x in jax.tree_util.tree_leaves(value) if hasattr(x, "shape")]
                if not value:
                    continue
            h.update(f"{k}=".encode())
            _feed(h, value, seen | {id(obj)}, depth + 1)
        h.update(b"};")


def game_fingerprint(game: MeanFieldGame) -> str:
    """A sha256 (hex) of the game's class and parameters: its scalar and array attributes and
    those of its blocks (household, firm, TFP process…), recursively; functions by name.

    Two games built with the same arguments have the same fingerprint; changing any parameter
    (a reward weight, a grid point, ``rho``) changes it.
    """
    h = hashlib.sha256()
    _feed(h, game, set(), 0)
    return h.hexdigest()


def run_identity(
    game: MeanFieldGame, solver: str, settings: dict[str, Any], seed: int
) -> dict[str, Any]:
    """What identifies a training run, as stored in its checkpoints: the game (name, class and
    :func:`game_fingerprint`), the solver, every setting but ``checkpoint_dir``, the seed and
    the package version. Plain JSON values."""
    import hank_mfg  # the top-level package (imported lazily: it imports the solvers)

    config = {k: v for k, v in settings.items() if k != "checkpoint_dir"}
    identity = {
        "solver": solver,
        "game": str(getattr(game, "name", type(game).__name__)),
        "game_class": f"{type(game).__module__}.{type(game).__qualname__}",
        "game_fingerprint": game_fingerprint(game),
        "config": config,
        "seed": seed,
        "version": hank_mfg.__version__,
    }
    return json.loads(json.dumps(identity))  # tuples as lists, as they come back from disk


def _identity_mismatch(path: str, stored: dict[str, Any], current: dict[str, Any]) -> str | None:
    """The message refusing a checkpoint of another run; ``None`` if it is this run's."""
    theirs, ours = [], []
    for key in ("solver", "game", "game_class"):
        if stored.get(key) != current[key]:
            theirs.append(f"{key}={stored.get(key)!r}")
            ours.append(f"{key}={current[key]!r}")
    if stored.get("game_fingerprint") != current["game_fingerprint"] and not theirs:
        theirs.append(f"other game parameters (sha256 {str(stored.get('game_fingerprint'))[:12]})")
        ours.append(f"sha256 {current['game_fingerprint'][:12]}")
    stored_config = stored.get("config", {})
    for key in sorted(set(stored_config) | set(current["config"])):
        a, b = stored_config.get(key, "<unset>"), current["config"].get(key, "<unset>")
        if a != b:
            theirs.append(f"{key}={a!r}")
            ours.append(f"{key}={b!r}" if key in current["config"] else f"no {key}")
    for key in ("seed", "version"):
        if stored.get(key) != current[key] and key not in stored_config:
            theirs.append(f"{key}={stored.get(key)!r}")
            ours.append(f"{key}={current[key]!r}")
    if not theirs:
        return None
    return (
        f"checkpoint {path} was written by a run with {', '.join(theirs)}; this run has "
        f"{', '.join(ours)}; delete it or choose another checkpoint_dir"
    )


def _save(path: str, state: TrainState, history: dict[str, list], meta: dict[str, Any]) -> None:
    """Write a checkpoint atomically (:func:`~hank_mfg.core.files.atomic_write`)."""
    payload = {
        "state": flax.serialization.to_state_dict(jax.device_get(state)),
        "history": {k: np.asarray(v, dtype=np.float64) for k, v in history.items()},
        "meta": meta,
    }
    data = flax.serialization.msgpack_serialize(payload)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)


def _unreadable(path: str, why: str) -> ValueError:
    return ValueError(
        f"checkpoint {path} {why}; delete it or choose another checkpoint_dir to start afresh"
    )


def _read_checkpoint(path: str, identity: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's contents, after checking it is whole and was written by this run.

    Raises ``ValueError`` naming the file if it is empty, truncated, corrupted or not a
    checkpoint, or if it comes from another run (saying which settings differ).
    """
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise _unreadable(path, "is empty")
    try:
        payload = flax.serialization.msgpack_restore(data)
    except Exception as err:  # msgpack raises ValueError, ExtraData, TypeError… on bad bytes
        raise _unreadable(path, f"is truncated or corrupted ({type(err).__name__}: {err})") from err
    if not (isinstance(payload, dict) and {"state", "history", "meta"} <= set(payload)):
        raise _unreadable(path, "is not a training checkpoint (no state, history and meta)")
    meta = payload["meta"]
    if not isinstance(meta, dict) or not isinstance(meta.get("run"), str):
        raise _unreadable(path, "holds no run identity (written by an older version)")
    try:
        stored = json.loads(meta["run"])
    except ValueError as err:
        raise _unreadable(path, f"has a corrupted run identity ({err})") from err
    message = _identity_mismatch(path, stored, identity)
    if message is not None:
        raise ValueError(message)
    return payload


def _restore(
    path: str, payload: dict[str, Any], template: TrainState
) -> tuple[TrainState, dict[str, list], list[float]]:
    """The training state, history and per-iteration losses of a checkpoint read by
    :func:`_read_checkpoint` (``ValueError`` naming the file if they do not fit the run)."""
    try:
        state = flax.serialization.from_state_dict(template, payload["state"])
        shapes = [np.shape(x) for x in jax.tree_util.tree_leaves(template)]
        if [np.shape(x) for x in jax.tree_util.tree_leaves(state)] != shapes:
            raise ValueError("parameter shapes differ")
        history = {k: list(np.asarray(v)) for k, v in payload["history"].items()}
        if set(history) != set(new_history()):
            raise ValueError(f"history columns {sorted(history)}")
        losses = list(np.asarray(payload["meta"].get("losses", []), dtype=np.float64))
    except Exception as err:
        raise _unreadable(path, f"is corrupted ({type(err).__name__}: {err})") from err
    return state, history, losses


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
            result is identical to an uninterrupted run. The checkpoint must come from the
            same run (:func:`run_identity`: game and its parameters, solver, every setting but
            ``checkpoint_dir``, seed, package version); ``resume=False`` overwrites it.
        solver_name: label for the Solution (default ``"rspg"``/``"spg"``).

    Returns:
        A :class:`~hank_mfg.solvers.solution.Solution` with the trained parameters, the
        evaluation history (exploitability against iterations and training seconds) and the
        final evaluation.

    Raises:
        ValueError: the checkpoint to resume from is empty, truncated, corrupted or was
            written by another run (the message names the file and what differs); checked
            before any work.
        TrainingDiverged: NaN/inf in the loss, the parameters or an evaluation (naming the
            iteration); the last good checkpoint stays on disk.
    """
    config = SPGConfig() if config is None else config
    name = solver_name or ("rspg" if config.recurrent else "spg")
    settings = config.to_dict()
    ckpt = (
        None
        if config.checkpoint_dir is None
        else os.path.join(config.checkpoint_dir, f"{name}.ckpt")
    )
    payload = None
    if ckpt is not None and resume and os.path.exists(ckpt):
        payload = _read_checkpoint(ckpt, run_identity(game, name, settings, config.seed))
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
    if payload is not None:
        state, history, losses_all = _restore(ckpt, payload, state)
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
        settings=settings,
        seed=config.seed,
        callback=callback,
        history=history,
        losses=losses_all,
        checkpoint=ckpt,
    )


def new_history() -> dict[str, list]:
    """An empty training history: the columns every solver records at each evaluation."""
    return {name: [] for name in ("iteration", "seconds", "exploitability", "loss", "eval_seconds")}


def initial_loss(ev: Evaluation) -> float:
    """The SPG loss ``−mean_b Σ_s mu_0(s) v_0(s)`` of an evaluation (its common-noise paths)."""
    mu0, v0 = ev.path.agg.mu[:, 0], ev.value[:, 0]
    return -float(jnp.mean(jnp.sum(mu0 * v0, axis=-1)))


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
    (core evaluation on ``eval_samples`` common-noise paths from ``eval_key``), ``loss``
    (the chunk's last training loss; at iteration 0, before any step, :func:`initial_loss`:
    minus the mean initial value of the evaluation's paths), ``eval_seconds``. With
    ``checkpoint``, the state, history and :func:`run_identity` are written there (atomically)
    after each evaluation. ``callback(Progress)`` returning ``True`` stops training.

    A state is good when its parameters and its evaluation are finite: only good states are
    recorded, checkpointed and passed to ``callback``.

    Raises:
        TrainingDiverged: the losses or ``finite_of(state)`` became NaN/inf, or the evaluation
            is not finite (its exploitability is NaN/inf, or it raised
            :class:`~hank_mfg.core.checks.NonFiniteError`), naming the iteration; the last
            good checkpoint stays on disk.
    """
    history = new_history() if history is None else history
    losses = [] if losses is None else losses
    elapsed = float(history["seconds"][-1]) if history["seconds"] else 0.0
    identity = run_identity(game, name, settings, seed) if checkpoint is not None else None
    last_good = int(history["iteration"][-1]) if history["iteration"] and checkpoint else None
    last_ev: Evaluation | None = None

    def kept() -> str:
        if last_good is None:
            return ""
        return f"; the last good checkpoint {checkpoint} (iteration {last_good}) is kept"

    def not_finite(what: str) -> TrainingDiverged:
        return TrainingDiverged(
            f"{name} diverged at iteration {done}: {what} (lower learning_rate or "
            f"max_grad_norm){kept()}"
        )

    def evaluate_now() -> tuple[float, float, Evaluation]:
        start = time.perf_counter()
        try:
            ev = evaluate(game, policy, params_of(state), eval_key, eval_samples)
        except NonFiniteError as err:
            raise not_finite(f"the evaluation of the policy is not finite ({err})") from err
        expl = float(ev.exploitability.value)
        if not np.isfinite(expl):
            raise not_finite(f"the evaluation of the policy is not finite (exploitability {expl})")
        return expl, time.perf_counter() - start, ev

    def record(loss: float | None) -> float:
        nonlocal last_ev, last_good
        expl, eval_s, ev = evaluate_now()
        _record(
            history,
            iteration=done,
            seconds=elapsed,
            exploitability=expl,
            loss=initial_loss(ev) if loss is None else loss,
            eval_seconds=eval_s,
        )
        last_ev = ev
        if checkpoint is not None:
            meta: dict[str, Any] = {"solver": name, "run": json.dumps(identity, sort_keys=True)}
            if losses:
                meta["losses"] = np.asarray(losses)
            _save(checkpoint, state, history, meta)
            last_good = done
        return expl

    if not history["iteration"]:
        record(None)
    while done < iterations:
        n = min(eval_every, iterations - done)
        start = time.perf_counter()
        new_state, chunk_losses = run_chunk(state, done, n)
        chunk_losses = np.asarray(chunk_losses)
        elapsed += time.perf_counter() - start
        check_chunk(name, done, chunk_losses, finite_of(new_state), kept())
        state, done = new_state, done + n
        losses.extend(float(x) for x in chunk_losses)
        expl = record(float(chunk_losses[-1]))
        if callback is not None:
            progress = Progress(done, iterations, float(chunk_losses[-1]), expl, elapsed)
            if callback(progress) is True:
                break

    # the last recorded evaluation is of this state, on the same paths
    final = last_ev if last_ev is not None else evaluate_now()[2]
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
