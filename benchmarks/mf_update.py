"""Time one mean-field update: hank_mfg against OpenSpiel and MFGLib.

Section "toy": the linear-quadratic game at its defaults (99 states, moves -3…3, 7 noise atoms,
horizon 30, no common noise). One update is the forward step of the distribution ``mu`` under a
fixed uniform policy over the 7 actions. Timed, in one run:

* hank_mfg, one call: ``jax.jit(game.step)`` compiled ahead of time (kernel build + forward +
  aggregates), and the bare ``forward(kernel, mu, policy)`` with a prebuilt kernel;
* hank_mfg, inside a loop: the jitted 30-step ``rollout`` (``lax.scan``) divided by 30;
* OpenSpiel's Python ``mean_field_lin_quad`` game: ``DistributionPolicy`` under
  ``UniformRandomPolicy``, whole horizon divided by the horizon (no single-step call);
* MFGLib's ``Environment.linear_quadratic``: ``mean_field_from_policy`` under
  ``Policy.uniform``, whole horizon divided by the horizon (no single-step call).

Section "macro": the household models, in two parts.

* ``seed_macro()`` (200 wealth × 5 income, 20 discrete savings shares), uniform policy: one
  jitted ``game.step`` (kernel build + forward + aggregates) and the bare ``forward`` with a
  prebuilt kernel (the lottery's placement of each share kept, as the generic kernel keeps its
  next states), with the lottery kernel (default) and with the generic kernel (the same
  transitions as next-state indices and probabilities, ``kernel="generic"``).
* Aiyagari (1994), ``rho = 0.9, sigma = 0.2, crra = 3`` on 500 wealth × 7 income points, in
  float64, continuous savings share fixed at the EGM stationary policy at ``r = MACRO_R``,
  against the Sequence-Space Jacobian toolkit's ``hh_sim.hh`` HetBlock (policy lottery, then
  the income Markov matrix) on the same wealth grid, next-wealth values and ``Pi``. The
  headline (``aiyagari_500x7_s``, ``ssj_500x7_s``, ``ratio_ssj``) is one distribution update
  inside each library's own forward iteration -- our ``forward_iteration``, SSJ's
  ``HetBlock.forward_steady_state`` -- each building its lottery once and checking
  convergence every 10 updates, timed over 1000 updates. Also timed: our ``lax.scan`` of
  forwards against SSJ's bare update with its lottery prebuilt, and one jitted call of our
  ``forward`` (lottery placed in the call) against SSJ's update with its lottery rebuilt. The
  two next distributions are compared.

Every figure is the median over repetitions after warm-up; figures set against each other in
the macro section are timed interleaved (blocks of calls of each in turn), so that a slow spell
of a shared machine hits all of them alike. A reference library that cannot be imported gets null
results (the reason goes to stderr). Usage::

    python benchmarks/mf_update.py            # table
    python benchmarks/mf_update.py --json     # one JSON object on stdout, nothing else

Each section is a ``bench_*`` function returning a :class:`Section`, registered in
:data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:
    from hank_mfg.models.toy.linear_quadratic import LinearQuadratic

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(Path(__file__).resolve().parent) not in sys.path:  # sibling helper module
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import environment_info, json_default, stdout_to_stderr  # noqa: E402


# --- options and timing ------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    """Command-line settings shared by all sections."""

    repeats: int = 2000
    scan_repeats: int = 300
    warmup: int = 200
    ref_repeats: int = 3
    ref_warmup: int = 1
    skip_references: bool = False


@dataclass(frozen=True)
class Timing:
    """Wall-clock statistics of repeated calls, in seconds."""

    median_s: float
    min_s: float
    repeats: int


def time_call(fn: Callable[[], Any], *, repeats: int, warmup: int) -> Timing:
    """Call ``fn`` ``warmup`` times, then time ``repeats`` calls one by one."""
    return time_interleaved({"call": fn}, repeats=repeats, warmup=warmup)["call"]


def time_interleaved(
    fns: dict[str, Callable[[], Any]], *, repeats: int, warmup: int, block: int = 1
) -> dict[str, Timing]:
    """Time several calls against each other: ``warmup`` calls of each, then rounds of
    ``block`` consecutive timed calls of each in turn (after one untimed call that warms the
    caches the others used), ``repeats`` timed calls of each in all. A slow spell of a shared
    machine then hits all of them alike, while short calls still run back to back as in a loop.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[int]] = {name: [] for name in fns}
    while len(samples[next(iter(fns))]) < repeats:
        for name, fn in fns.items():
            if block > 1:
                fn()
            for _ in range(min(block, repeats - len(samples[name]))):
                start = time.perf_counter_ns()
                fn()
                samples[name].append(time.perf_counter_ns() - start)
    return {
        name: Timing(statistics.median(t) * 1e-9, min(t) * 1e-9, repeats)
        for name, t in samples.items()
    }


#: Consecutive calls of one function per round of :func:`time_interleaved` for short calls.
BLOCK = 100


def fmt_time(seconds: float | None) -> str:
    """Human-readable duration (ns, µs, ms or s)."""
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_ratio(ratio: float | None) -> str:
    """A ratio for the table: whole numbers from 10 up, two significant digits below."""
    if ratio is None:
        return ""
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def warn(message: str) -> None:
    """Report a problem on stderr (stdout may carry the JSON)."""
    print(f"mf_update: {message}", file=sys.stderr)


# --- report structure --------------------------------------------------------------------------
@dataclass
class Row:
    """One line of a section's table: what was timed and the per-update time it gives."""

    library: str
    what: str
    median_s: float | None
    min_s: float | None = None
    repeats: int | None = None
    per_update_s: float | None = None
    ratio: float | None = None


@dataclass
class Section:
    """A titled table, notes printed under it, and its entries of the JSON object."""

    title: str
    rows: list[Row | str] = field(default_factory=list)  # a str is a sub-heading
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """The section as plain text."""
        header = ("library", "what is timed", "median", "min", "reps", "per update", "ref/ours")
        cells = [header]
        for r in self.rows:
            if isinstance(r, str):
                continue
            cells.append(
                (
                    r.library,
                    r.what,
                    fmt_time(r.median_s),
                    fmt_time(r.min_s),
                    "" if r.repeats is None else str(r.repeats),
                    fmt_time(r.per_update_s),
                    _fmt_ratio(r.ratio),
                )
            )
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        right = {2, 3, 4, 5, 6}

        def line(row: tuple[str, ...]) -> str:
            return "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )

        rule = "-" * len(line(header))
        body, table_rows = [], iter(cells[1:])
        for r in self.rows:
            body.append(r if isinstance(r, str) else line(next(table_rows)))
        out = [self.title, rule, line(header), rule, *body, rule]
        return "\n".join(out + self.notes)


# --- section: toy linear-quadratic game ----------------------------------------------------------
def _import_hank_mfg() -> None:
    """Make ``hank_mfg`` importable when the script runs from a source checkout."""
    try:
        import hank_mfg  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))


def bench_hank_lq(game: LinearQuadratic, opts: Options) -> dict[str, Any]:
    """Time hank_mfg's update on ``game``: one compiled call, bare forward, and scan step."""
    from hank_mfg.core import constant_policy, forward, rollout

    key = jax.random.PRNGKey(0)
    agg = game.reset(key)
    policy = game.uniform_policy()
    kernel = game.kernel(agg, game.next_noise(key, agg))

    start = time.perf_counter()
    step = jax.jit(game.step).lower(key, agg, policy).compile()
    compile_s = time.perf_counter() - start
    bare = jax.jit(forward).lower(kernel, agg.mu, policy).compile()
    # Same inputs and outputs as the step, almost no work: the per-call floor of the runtime.
    floor = (
        jax.jit(lambda k, a, p: jax.tree_util.tree_map(lambda x: x + 1, a), keep_unused=True)
        .lower(key, agg, policy)
        .compile()
    )
    path_fn = rollout.lower(game, constant_policy, policy, key, n_samples=1).compile()
    jitted_step = jax.jit(game.step)

    def run(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        return lambda: jax.block_until_ready(fn(*args))

    n, w = opts.repeats, opts.warmup
    t_step = time_call(run(step, key, agg, policy), repeats=n, warmup=w)
    t_jit = time_call(run(jitted_step, key, agg, policy), repeats=n, warmup=w)
    t_bare = time_call(run(bare, kernel, agg.mu, policy), repeats=n, warmup=w)
    t_floor = time_call(run(floor, key, agg, policy), repeats=n, warmup=w)
    t_scan = time_call(run(path_fn, policy, key), repeats=opts.scan_repeats, warmup=max(1, w // 10))
    mu_path = np.asarray(path_fn(policy, key).mu[0])
    return {
        "step": t_step,
        "step_jit": t_jit,
        "forward": t_bare,
        "floor": t_floor,
        "scan": t_scan,
        "compile_s": compile_s,
        "mu_path": mu_path,
        "multiply_adds": int(kernel.next_state.size),
        "dtype": str(agg.mu.dtype),
    }


def openspiel_lq_params(game: LinearQuadratic) -> dict[str, Any]:
    """OpenSpiel ``mean_field_lin_quad`` parameters closest to ``game``."""
    return {
        "size": game.n_states,
        "horizon": game.horizon,
        "n_actions_per_side": (game.n_actions - 1) // 2,
        "dt": 1.0,
        "volatility": 1.0,
        "mean_revert": 0.0,
        "cross_q": game.q,
        "kappa": game.kappa,
        "terminal_cost": game.c_terminal,
    }


def bench_openspiel_lq(game: LinearQuadratic, opts: Options) -> dict[str, Any] | None:
    """Whole-horizon distribution of the uniform policy in OpenSpiel's Python LQ game."""
    try:
        import pyspiel
        from open_spiel.python import policy as policy_lib
        from open_spiel.python.mfg.algorithms.distribution import DistributionPolicy
        from open_spiel.python.mfg.games import linear_quadratic  # noqa: F401  (registers)
    except Exception as exc:  # any import failure means "not available"
        warn(f"OpenSpiel not available ({exc!r}); its results are null")
        return None
    params = openspiel_lq_params(game)
    os_game = pyspiel.load_game("mean_field_lin_quad", params)
    uniform = policy_lib.UniformRandomPolicy(os_game)
    timing = time_call(
        lambda: DistributionPolicy(os_game, uniform),
        repeats=opts.ref_repeats,
        warmup=opts.ref_warmup,
    )
    return {
        "timing": timing,
        "horizon": params["horizon"],
        "settings": params,
        "version": package_version("open-spiel"),
    }


def mfglib_lq_params(game: LinearQuadratic) -> dict[str, Any]:
    """MFGLib ``Environment.linear_quadratic`` arguments closest to ``game``.

    With ``sigma = delta = 1`` and ``k = 0`` MFGLib moves by ``round(a + ε)``, ``ε`` on the
    atoms -3…3 with normalised standard-normal weights, clipped at the edges: for the defaults
    (σ√(1-ρ²) = 0.87, which rounds each atom to itself) this is exactly our kernel.
    """
    return {
        "T": game.horizon,
        "el": (game.n_states - 1) // 2,
        "m": (game.n_actions - 1) // 2,
        "sigma": 1.0,
        "delta": 1.0,
        "k": 0.0,
        "q": game.q,
        "kappa": game.kappa,
        "c_term": game.c_terminal,
    }


def bench_mfglib_lq(game: LinearQuadratic, opts: Options) -> dict[str, Any] | None:
    """Whole-horizon mean field of the uniform policy in MFGLib's LQ environment."""
    try:
        import torch
        from mfglib.env import Environment
        from mfglib.policy import Policy
        from mfglib.utils import mean_field_from_policy
    except Exception as exc:  # any import failure means "not available"
        warn(f"MFGLib not available ({exc!r}); its results are null")
        return None
    params = mfglib_lq_params(game)
    env = Environment.linear_quadratic(**params)
    pi = Policy.uniform().build(env)
    timing = time_call(
        lambda: mean_field_from_policy(pi, env=env),
        repeats=opts.ref_repeats,
        warmup=opts.ref_warmup,
    )
    with torch.no_grad():
        mu_path = mean_field_from_policy(pi, env=env).sum(dim=-1).double().numpy()
    return {
        "timing": timing,
        "horizon": params["T"],
        "settings": {**params, "S": env.S, "A": env.A},
        "version": package_version("mfglib"),
        "torch_version": package_version("torch"),
        "torch_threads": torch.get_num_threads(),
        "mu_path": mu_path,
    }


def _ref_row(
    name: str, what: str, ref: dict[str, Any] | None, ours_s: float, *, skipped: bool
) -> Row:
    """A reference library's row; its per-update time is the whole horizon ÷ the horizon."""
    if ref is None:
        return Row(name, f"{what} ({'skipped' if skipped else 'not available'})", None)
    t: Timing = ref["timing"]
    per_update = t.median_s / ref["horizon"]
    return Row(name, what, t.median_s, t.min_s, t.repeats, per_update, per_update / ours_s)


def bench_toy(opts: Options) -> Section:
    """The linear-quadratic game at its defaults, against OpenSpiel and MFGLib."""
    _import_hank_mfg()
    from hank_mfg.models.toy.linear_quadratic import LinearQuadratic

    game = LinearQuadratic()
    T = game.horizon
    ours = bench_hank_lq(game, opts)
    skip = opts.skip_references
    if skip:
        warn("reference libraries skipped (--skip-references); their results are null")
    osp = None if skip else bench_openspiel_lq(game, opts)
    mfg = None if skip else bench_mfglib_lq(game, opts)

    step_s = ours["step"].median_s
    scan_s = ours["scan"].median_s / T
    n_mad = ours["multiply_adds"]
    per_update = {"openspiel": None, "mfglib": None}
    for name, ref in (("openspiel", osp), ("mfglib", mfg)):
        if ref is not None:
            per_update[name] = ref["timing"].median_s / ref["horizon"]

    def ratio(ref_s: float | None, ours_s: float) -> float | None:
        return None if ref_s is None else ref_s / ours_s

    diff_mfglib = None
    if mfg is not None:
        diff_mfglib = float(np.max(np.abs(mfg["mu_path"] - ours["mu_path"])))

    section = Section(
        title=(
            f"Mean-field update, linear-quadratic game ({game.n_states} states, "
            f"{game.n_actions} actions, {game.noise_atoms.shape[0]} noise atoms, horizon {T}, "
            f"no common noise), uniform policy"
        )
    )
    rows = section.rows
    for label, what, t in (
        ("hank_mfg", "jit(game.step), AOT executable, one call", ours["step"]),
        ("hank_mfg", "jax.jit(game.step), plain jit dispatch, one call", ours["step_jit"]),
        ("hank_mfg", "jit(forward), prebuilt kernel, one call", ours["forward"]),
        ("hank_mfg", "same signature as step, no work (call floor)", ours["floor"]),
    ):
        rows.append(Row(label, what, t.median_s, t.min_s, t.repeats, t.median_s))
    rows.append(
        Row(
            "hank_mfg",
            f"jit(rollout), lax.scan of {T} steps, ÷ {T}",
            ours["scan"].median_s,
            ours["scan"].min_s,
            ours["scan"].repeats,
            scan_s,
        )
    )
    rows.append(
        _ref_row("OpenSpiel", f"DistributionPolicy, whole horizon ÷ {T}", osp, step_s, skipped=skip)
    )
    rows.append(
        _ref_row(
            "MFGLib", f"mean_field_from_policy, whole horizon ÷ {T}", mfg, step_s, skipped=skip
        )
    )

    notes = section.notes
    notes.append("ref/ours = reference time per update ÷ hank_mfg one-call time (first row).")
    for name in ("openspiel", "mfglib"):
        if per_update[name] is not None:
            notes.append(
                f"  {name}: {per_update[name] / scan_s:,.0f}x against the scan step instead."
            )
    notes.append(
        f"Arithmetic per update: {game.n_states} × {game.n_actions} × "
        f"{game.noise_atoms.shape[0]} = {n_mad:,} multiply-adds; scan step = "
        f"{scan_s / n_mad * 1e9:.2f} ns per multiply-add, one call = "
        f"{step_s / n_mad * 1e9:.2f} ns per multiply-add."
    )
    notes.append(
        f"hank_mfg: dtype {ours['dtype']}, compile of the step {fmt_time(ours['compile_s'])}."
    )
    if osp is not None:
        notes.append(
            f"OpenSpiel {osp['version']}: mean_field_lin_quad {osp['settings']}; "
            "positions wrap around (torus), noise = 7 binned-normal outcomes."
        )
    if mfg is not None:
        notes.append(
            f"MFGLib {mfg['version']} (torch {mfg['torch_version']}, "
            f"{mfg['torch_threads']} threads): Environment.linear_quadratic{mfg['settings']}; "
            f"max |mu_t(MFGLib) - mu_t(hank_mfg)| over all dates = {diff_mfglib:.1e}."
        )

    section.results = {
        "hank_mfg_s": step_s,
        "hank_mfg_scan_step_s": scan_s,
        "openspiel_s": per_update["openspiel"],
        "mfglib_s": per_update["mfglib"],
        "ratio_openspiel": ratio(per_update["openspiel"], step_s),
        "ratio_mfglib": ratio(per_update["mfglib"], step_s),
        "ratio_openspiel_scan": ratio(per_update["openspiel"], scan_s),
        "ratio_mfglib_scan": ratio(per_update["mfglib"], scan_s),
        "hank_mfg_min_s": ours["step"].min_s,
        "hank_mfg_jit_s": ours["step_jit"].median_s,
        "hank_mfg_forward_only_s": ours["forward"].median_s,
        "hank_mfg_call_floor_s": ours["floor"].median_s,
        "hank_mfg_scan_total_s": ours["scan"].median_s,
        "hank_mfg_compile_s": ours["compile_s"],
        "hank_mfg_dtype": ours["dtype"],
        "multiply_adds_per_update": n_mad,
        "ns_per_multiply_add_scan": scan_s / n_mad * 1e9,
        "ns_per_multiply_add_call": step_s / n_mad * 1e9,
        "openspiel_horizon_s": None if osp is None else osp["timing"].median_s,
        "mfglib_horizon_s": None if mfg is None else mfg["timing"].median_s,
        "mfglib_max_abs_diff_mu": diff_mfglib,
        "reference_repeats": None if skip else opts.ref_repeats,
        "toy_settings": {
            "hank_mfg": {
                "n_states": game.n_states,
                "actions": [int(a) for a in np.asarray(game.moves)],
                "noise_atoms": int(game.noise_atoms.shape[0]),
                "horizon": T,
                "common_noise": game.common_noise,
            },
            "openspiel": None if osp is None else osp["settings"],
            "mfglib": None if mfg is None else mfg["settings"],
        },
        "versions_toy": {
            "open-spiel": None if osp is None else osp["version"],
            "mfglib": None if mfg is None else mfg["version"],
            "torch": None if mfg is None else mfg["torch_version"],
        },
    }
    return section


# --- section: macro models -----------------------------------------------------------------------
#: Net interest rate at which the Aiyagari household's savings policy is fixed (EGM, stationary).
MACRO_R = 0.03

#: Steps of the jitted ``lax.scan`` of forward updates in the Aiyagari part.
MACRO_SCAN_STEPS = 100
#: Updates per timed forward iteration (ours and SSJ's), Aiyagari part.
MACRO_ITERATION_UPDATES = 1000
#: Timed forward iterations per library (each is ``MACRO_ITERATION_UPDATES`` updates).
MACRO_ITERATION_REPEATS = 30


def _timed_calls(
    fns: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]], opts: Options
) -> dict[str, Timing]:
    """Time compiled ``fn(*args)`` calls against each other, one at a time (waiting for each
    result; :func:`time_interleaved`)."""

    def run(fn: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[], Any]:
        return lambda: jax.block_until_ready(fn(*args))

    calls = {name: run(fn, args) for name, (fn, args) in fns.items()}
    return time_interleaved(calls, repeats=opts.repeats, warmup=opts.warmup, block=BLOCK)


def bench_seed_macro(opts: Options) -> dict[str, Any]:
    """``seed_macro()`` under the uniform policy: lottery kernel against the generic kernel."""
    from hank_mfg.core import forward
    from hank_mfg.core.kernel import kernel_cache, with_cache
    from hank_mfg.models.seed_macro import seed_macro

    lottery = seed_macro()
    # The same blocks and settings, with the transitions as a GenericKernel.
    generic = lottery.with_settings(kernel="generic", name="seed_macro_generic")
    key = jax.random.PRNGKey(0)
    agg = lottery.reset(key)
    policy = lottery.uniform_policy()
    z_next = lottery.next_noise(key, agg)
    out: dict[str, Any] = {"dtype": str(agg.mu.dtype)}
    fns = {}
    for name, game in (("lottery", lottery), ("generic", generic)):
        # prebuilt: everything of the period the policy does not change is computed (the
        # lottery's placement of each share, as the generic kernel holds its next states)
        kernel = with_cache(game.kernel(agg, z_next), kernel_cache(game.kernel(agg, z_next)))
        start = time.perf_counter()
        step = jax.jit(game.step).lower(key, agg, policy).compile()
        out[f"{name}_compile_s"] = time.perf_counter() - start
        bare = jax.jit(forward).lower(kernel, agg.mu, policy).compile()
        fns[f"{name}_step"] = (step, (key, agg, policy))
        fns[f"{name}_forward"] = (bare, (kernel, agg.mu, policy))
        out[f"{name}_mu"] = np.asarray(step(key, agg, policy).mu, dtype=np.float64)
        out[f"{name}_entries"] = int(
            kernel.next_state.size if name == "generic" else 2 * kernel.n_states * kernel.n_actions
        )
    out.update(_timed_calls(fns, opts))
    out["max_abs_diff_mu"] = float(np.max(np.abs(out["lottery_mu"] - out["generic_mu"])))
    out["n_wealth"] = lottery.household.n_wealth
    out["n_income"] = lottery.household.n_income
    out["n_actions"] = lottery.n_actions
    return out


def bench_hank_aiyagari(opts: Options) -> dict[str, Any]:
    """Our forward updates of the Aiyagari 500 × 7 household under its EGM policy, float64."""
    from hank_mfg.calibration import aiyagari_1994
    from hank_mfg.core import forward
    from hank_mfg.models import aiyagari
    from hank_mfg.solvers.egm import stationary_egm
    from hank_mfg.solvers.stationary import (
        CHECK_EVERY,
        aggregate_labour,
        forward_iteration,
        prices_at_rate,
        stationary_kernel,
    )

    game = aiyagari(aiyagari_1994(rho=0.9, sigma=0.2, crra=3.0, n_wealth=500))
    household = game.household
    w = prices_at_rate(game, MACRO_R, aggregate_labour(game)).values["w"]
    values = {**game.parameters, "r": MACRO_R, "w": w}
    egm, iterations, change = stationary_egm(household, values)
    cash = household.cash_on_hand(jnp.ones((household.n_wealth, household.n_income)), values)
    share = game.share_given_cash(cash, egm.savings)
    kernel = stationary_kernel(game, values)
    mu = game.reset(jax.random.PRNGKey(0)).mu
    n = MACRO_SCAN_STEPS

    def iterate(kernel: Any, mu: Any, share: Any) -> Any:
        def body(m: Any, _: Any) -> tuple[Any, None]:
            return forward(kernel, m, share), None

        return jax.lax.scan(body, mu, None, length=n)[0]

    def iteration() -> Any:  # tol < 0: exactly MACRO_ITERATION_UPDATES updates
        return forward_iteration(kernel, share, mu, -1.0, MACRO_ITERATION_UPDATES)

    bare = jax.jit(forward).lower(kernel, mu, share).compile()
    scan = jax.jit(iterate).lower(kernel, mu, share).compile()
    updates = int(iteration()[1])  # compiles it
    return {
        "calls": {  # timed in bench_macro, interleaved with SSJ's
            "forward": lambda: jax.block_until_ready(bare(kernel, mu, share)),
            "scan": lambda: jax.block_until_ready(scan(kernel, mu, share)),
            "iteration": lambda: jax.block_until_ready(iteration()),
        },
        "scan_steps": n,
        "iteration_updates": updates,
        "check_every": CHECK_EVERY,
        "dtype": str(mu.dtype),
        "wealth_grid": np.asarray(household.wealth_grid),
        "Pi": np.asarray(household.Pi),
        "next_wealth": np.asarray(kernel.next_wealth(share))[..., 0],  # [n_wealth, n_income]
        "mu": np.asarray(mu),
        "mu_next": np.asarray(bare(kernel, mu, share)),
        "mu_iterated": np.asarray(iteration()[0]),
        "mass_above_grid": float(kernel.mass_above_grid(mu, share)),
        "egm_iterations": int(iterations),
        "egm_change": float(change),
        "r": MACRO_R,
        "w": float(w),
        "n_wealth": household.n_wealth,
        "n_income": household.n_income,
    }


def bench_ssj_aiyagari(ours: dict[str, Any], opts: Options) -> dict[str, Any] | None:
    """The Sequence-Space Jacobian toolkit's forward updates on the same grid, policy and ``Pi``.

    Its standard-incomplete-markets HetBlock ``hh_sim.hh`` builds the laws of motion of
    ``HetBlock.forward_steady_state``: the policy lottery of next wealth ``a`` on ``a_grid``
    (``lottery_1d``, binary search, numba) and the income Markov matrix. One update applies the
    lottery, then ``Pi`` -- the order of our kernel. Timed: its forward iteration itself
    (``forward_steady_state`` with ``tol < 0``, which runs ``maxit`` updates and then raises),
    divided by the updates; one update with the lottery prebuilt (the iteration's body); and
    one update with the lottery rebuilt from next wealth (as ours is from the savings share).
    """
    try:
        from sequence_jacobian.hetblocks.hh_sim import hh
    except Exception as exc:  # any import failure means "not available"
        warn(f"sequence-jacobian not available ({exc!r}); its results are null")
        return None
    n_a, n_e = ours["n_wealth"], ours["n_income"]
    grid = np.ascontiguousarray(ours["wealth_grid"], dtype=np.float64)
    a_next = np.ascontiguousarray(ours["next_wealth"].T)  # SSJ: income first, [n_e, n_a]
    D = np.ascontiguousarray(ours["mu"].reshape(n_a, n_e).T)
    steady_state = {"a": a_next, "a_grid": grid, "Pi": ours["Pi"], "Dbeg": D}
    exog = hh.make_exog_law_of_motion(steady_state)
    endog = hh.make_endog_law_of_motion(steady_state)

    def step() -> Any:
        return exog.forward(endog.forward(D))

    def step_with_lottery() -> Any:
        return exog.forward(hh.make_endog_law_of_motion(steady_state).forward(D))

    def iteration() -> None:
        try:
            hh.forward_steady_state(steady_state, tol=-1.0, maxit=MACRO_ITERATION_UPDATES)
        except ValueError:  # "No convergence after maxit forward iterations": expected
            pass

    D_next = step()
    return {
        "calls": {"step": step, "step_with_lottery": step_with_lottery, "iteration": iteration},
        "iteration_updates": MACRO_ITERATION_UPDATES,
        "max_abs_diff_mu": float(np.max(np.abs(D_next.T.ravel() - ours["mu_next"]))),
        "version": package_version("sequence-jacobian"),
        "numba_version": package_version("numba"),
    }


def bench_macro(opts: Options) -> Section:
    """seed_macro: lottery against generic kernel; Aiyagari 500 × 7: hank_mfg against SSJ."""
    _import_hank_mfg()
    seed = bench_seed_macro(opts)
    with jax.enable_x64(True):
        aiy = bench_hank_aiyagari(opts)
    skip = opts.skip_references
    if skip:
        warn("sequence-jacobian skipped (--skip-references); its results are null")
    ssj = None if skip else bench_ssj_aiyagari(aiy, opts)
    # each comparison timed interleaved: ours and SSJ's calls alternate
    ssj_calls = {} if ssj is None else {f"ssj_{k}": f for k, f in ssj["calls"].items()}
    single = {k: aiy["calls"][k] for k in ("forward", "scan")}
    single.update({k: f for k, f in ssj_calls.items() if k != "ssj_iteration"})
    iterations = {"iteration": aiy["calls"]["iteration"]}
    if ssj is not None:
        iterations["ssj_iteration"] = ssj_calls["ssj_iteration"]
    with jax.enable_x64(True):  # as the calls were built
        timed = time_interleaved(
            single, repeats=opts.scan_repeats, warmup=max(1, opts.warmup // 10), block=BLOCK
        )
        timed.update(time_interleaved(iterations, repeats=MACRO_ITERATION_REPEATS, warmup=2))
    aiy.update({k: timed[k] for k in ("forward", "scan", "iteration")})
    if ssj is not None:
        ssj.update({k: timed[f"ssj_{k}"] for k in ("step", "step_with_lottery", "iteration")})

    lot_s = seed["lottery_step"].median_s
    gen_s = seed["generic_step"].median_s
    lot_fwd_s = seed["lottery_forward"].median_s
    gen_fwd_s = seed["generic_forward"].median_s
    # one update in each library's own forward iteration (lottery built once per iteration)
    ours_s = aiy["iteration"].median_s / aiy["iteration_updates"]
    ssj_s = None if ssj is None else ssj["iteration"].median_s / ssj["iteration_updates"]
    one_call_s = aiy["forward"].median_s
    scan_s = aiy["scan"].median_s / aiy["scan_steps"]
    ssj_step_s = None if ssj is None else ssj["step"].median_s
    ssj_lottery_s = None if ssj is None else ssj["step_with_lottery"].median_s

    def ratio(ref_s: float | None, ours_s: float) -> float | None:
        return None if ref_s is None else ref_s / ours_s

    def row(label: str, what: str, t: Timing, ratio: float | None = None) -> Row:
        return Row(label, what, t.median_s, t.min_s, t.repeats, t.median_s, ratio)

    n_a, n_e, n_c = seed["n_wealth"], seed["n_income"], seed["n_actions"]
    section = Section(
        title=(
            "Mean-field update, household models: seed_macro (lottery vs generic kernel) and "
            "Aiyagari 500 × 7 (hank_mfg vs Sequence-Space Jacobian)"
        )
    )
    rows = section.rows
    rows.append(
        f"seed_macro(): {n_a} wealth × {n_e} income, {n_c} savings shares, uniform policy, "
        f"{seed['dtype']}; ref/ours = generic ÷ lottery"
    )
    rows.append(row("hank_mfg", "lottery kernel: jit(game.step), one call", seed["lottery_step"]))
    rows.append(
        row(
            "hank_mfg",
            "generic kernel: jit(game.step), one call",
            seed["generic_step"],
            gen_s / lot_s,
        )
    )
    rows.append(
        row("hank_mfg", "lottery kernel: jit(forward), prebuilt kernel", seed["lottery_forward"])
    )
    rows.append(
        row(
            "hank_mfg",
            "generic kernel: jit(forward), prebuilt kernel",
            seed["generic_forward"],
            gen_fwd_s / lot_fwd_s,
        )
    )
    rows.append(
        f"Aiyagari (1994) rho=0.9 sigma=0.2 crra=3: {aiy['n_wealth']} wealth × "
        f"{aiy['n_income']} income, EGM savings share at r = {aiy['r']:g}, {aiy['dtype']}; "
        "ref/ours = SSJ ÷ hank_mfg, like for like"
    )
    n_it = aiy["iteration_updates"]
    rows.append(
        Row(
            "hank_mfg",
            f"forward_iteration, {n_it} updates (lottery placed once) ÷ {n_it}",
            aiy["iteration"].median_s,
            aiy["iteration"].min_s,
            aiy["iteration"].repeats,
            ours_s,
        )
    )
    if ssj is not None:
        rows.append(
            Row(
                "SSJ",
                f"forward_steady_state, {ssj['iteration_updates']} updates ÷ "
                f"{ssj['iteration_updates']}",
                ssj["iteration"].median_s,
                ssj["iteration"].min_s,
                ssj["iteration"].repeats,
                ssj_s,
                ratio(ssj_s, ours_s),
            )
        )
    rows.append(
        Row(
            "hank_mfg",
            f"jit(lax.scan of {aiy['scan_steps']} forwards) ÷ {aiy['scan_steps']}",
            aiy["scan"].median_s,
            aiy["scan"].min_s,
            aiy["scan"].repeats,
            scan_s,
        )
    )
    if ssj is not None:
        rows.append(
            row(
                "SSJ",
                "one update: lottery.forward, Markov.forward (lottery prebuilt)",
                ssj["step"],
                ssj_step_s / scan_s,
            )
        )
    rows.append(row("hank_mfg", "jit(forward(kernel, mu, share)), one call", aiy["forward"]))
    if ssj is None:
        what = "HetBlock hh_sim.hh forward iteration"
        rows.append(Row("SSJ", f"{what} ({'skipped' if skip else 'not available'})", None))
    else:
        rows.append(
            row(
                "SSJ",
                "one update, lottery rebuilt from a' (as one call of ours)",
                ssj["step_with_lottery"],
                ssj_lottery_s / one_call_s,
            )
        )

    notes = section.notes
    notes.append(
        f"seed_macro: lottery {seed['lottery_entries']:,} scatter entries per update "
        f"(2 per state and share) + {n_a} × {n_e} × {n_e} income moves; generic "
        f"{seed['generic_entries']:,} entries (2·{n_e} per state and share). The generic step "
        "builds its kernel from the lottery's (to_generic), so it pays the lottery's search "
        "too."
    )
    notes.append(
        f"seed_macro: max |mu'(generic) - mu'(lottery)| = {seed['max_abs_diff_mu']:.1e}; "
        f"compile of the step: lottery {fmt_time(seed['lottery_compile_s'])}, generic "
        f"{fmt_time(seed['generic_compile_s'])}."
    )
    notes.append(
        f"Aiyagari: policy from stationary_egm at r = {aiy['r']:g}, w = {aiy['w']:.6f} "
        f"({aiy['egm_iterations']} iterations, last change {aiy['egm_change']:.1e}); next "
        f"wealth up to {aiy['next_wealth'].max():.4g} on a grid to {aiy['wealth_grid'][-1]:g} "
        f"(mass above the grid {aiy['mass_above_grid']:.1e}); mu = uniform."
    )
    if ssj is not None:
        notes.append(
            f"SSJ {ssj['version']} (numba {ssj['numba_version']}): same wealth grid, "
            f"next-wealth values and Pi; max |mu'(SSJ) - mu'(hank_mfg)| = "
            f"{ssj['max_abs_diff_mu']:.1e} (float64)."
        )
        notes.append(
            f"Forward iterations: both check convergence every {aiy['check_every']} updates "
            "(tol < 0 here: never met, so each runs its fixed number of updates); max "
            f"|mu(SSJ) - mu(hank_mfg)| after one update {ssj['max_abs_diff_mu']:.1e}."
        )

    section.results = {
        "seed_macro_generic_s": gen_s,
        "seed_macro_lottery_s": lot_s,
        "ratio_lottery_vs_generic": gen_s / lot_s,
        "seed_macro_generic_min_s": seed["generic_step"].min_s,
        "seed_macro_lottery_min_s": seed["lottery_step"].min_s,
        "seed_macro_generic_forward_s": gen_fwd_s,
        "seed_macro_lottery_forward_s": lot_fwd_s,
        "ratio_forward_lottery_vs_generic": gen_fwd_s / lot_fwd_s,
        "seed_macro_max_abs_diff_mu": seed["max_abs_diff_mu"],
        "seed_macro_dtype": seed["dtype"],
        "seed_macro_compile_s": {
            "lottery": seed["lottery_compile_s"],
            "generic": seed["generic_compile_s"],
        },
        "seed_macro_scatter_entries": {
            "lottery": seed["lottery_entries"],
            "generic": seed["generic_entries"],
        },
        "aiyagari_500x7_s": ours_s,
        "ssj_500x7_s": ssj_s,
        "ratio_ssj": ratio(ssj_s, ours_s),
        "aiyagari_500x7_min_s": aiy["iteration"].min_s / aiy["iteration_updates"],
        "ssj_500x7_min_s": (
            None if ssj is None else ssj["iteration"].min_s / ssj["iteration_updates"]
        ),
        "aiyagari_500x7_scan_step_s": scan_s,
        "ssj_500x7_step_s": ssj_step_s,
        "ratio_ssj_scan": ratio(ssj_step_s, scan_s),
        "aiyagari_500x7_one_call_s": one_call_s,
        "ssj_500x7_with_lottery_s": ssj_lottery_s,
        "ratio_ssj_with_lottery": ratio(ssj_lottery_s, one_call_s),
        "aiyagari_500x7_max_abs_diff_ssj": None if ssj is None else ssj["max_abs_diff_mu"],
        "aiyagari_500x7_dtype": aiy["dtype"],
        "aiyagari_500x7_policy": {
            "r": aiy["r"],
            "w": aiy["w"],
            "egm_iterations": aiy["egm_iterations"],
            "max_next_wealth": float(aiy["next_wealth"].max()),
            "wealth_max": float(aiy["wealth_grid"][-1]),
            "mass_above_grid": aiy["mass_above_grid"],
        },
        "versions_macro": {
            "sequence-jacobian": None if ssj is None else ssj["version"],
            "numba": None if ssj is None else ssj["numba_version"],
        },
    }
    return section


#: Sections run in order; each adds its entries to the one JSON object.
SECTIONS: dict[str, Callable[[Options], Section]] = {"toy": bench_toy, "macro": bench_macro}


# --- driver ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--repeats", type=int, default=Options.repeats, help="one-call timings")
    parser.add_argument("--scan-repeats", type=int, default=Options.scan_repeats)
    parser.add_argument("--warmup", type=int, default=Options.warmup)
    parser.add_argument("--ref-repeats", type=int, default=Options.ref_repeats)
    parser.add_argument("--ref-warmup", type=int, default=Options.ref_warmup)
    parser.add_argument("--skip-references", action="store_true", help="time hank_mfg only")
    parser.add_argument("--x64", action="store_true", help="run hank_mfg in float64")
    parser.add_argument(
        "--async-dispatch",
        action="store_true",
        help="keep JAX's asynchronous CPU dispatch (default: synchronous, lower latency)",
    )
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin the whole process to this one CPU core"
    )
    args = parser.parse_args(argv)
    for name in ("repeats", "scan_repeats", "ref_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections; print their tables, or one JSON object with ``--json``."""
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    # Both must be set before JAX creates its CPU client.
    jax.config.update("jax_enable_x64", bool(args.x64))
    jax.config.update("jax_cpu_enable_async_dispatch", bool(args.async_dispatch))
    opts = Options(
        repeats=args.repeats,
        scan_repeats=args.scan_repeats,
        warmup=args.warmup,
        ref_repeats=args.ref_repeats,
        ref_warmup=args.ref_warmup,
        skip_references=args.skip_references,
    )
    with stdout_to_stderr(args.json):
        sections = [SECTIONS[name](opts) for name in args.sections]
        env = environment_info(
            jax_cpu_async_dispatch=bool(args.async_dispatch), jax_enable_x64=bool(args.x64)
        )
    results: dict[str, Any] = {}
    for section in sections:
        results.update(section.results)
    results["environment"] = env
    if args.json:
        print(json.dumps(results, default=json_default))
        return 0
    for section in sections:
        print(section.render())
        print()
    print("Environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
