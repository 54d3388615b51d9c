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

Every figure is the median over repetitions after warm-up. A reference library that cannot be
imported gets null results (the reason goes to stderr). Usage::

    python benchmarks/mf_update.py            # table
    python benchmarks/mf_update.py --json     # one JSON object on stdout, nothing else

Further sections (e.g. the macro models) add a ``bench_*`` function returning a
:class:`Section` and register it in :data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

if TYPE_CHECKING:
    from hank_mfg.models.toy.linear_quadratic import LinearQuadratic

REPO_ROOT = Path(__file__).resolve().parents[1]


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
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return Timing(statistics.median(samples) * 1e-9, min(samples) * 1e-9, repeats)


def fmt_time(seconds: float | None) -> str:
    """Human-readable duration (ns, µs, ms or s)."""
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


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
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """The section as plain text."""
        header = ("library", "what is timed", "median", "min", "reps", "per update", "ref/ours")
        cells = [header]
        for r in self.rows:
            cells.append(
                (
                    r.library,
                    r.what,
                    fmt_time(r.median_s),
                    fmt_time(r.min_s),
                    "" if r.repeats is None else str(r.repeats),
                    fmt_time(r.per_update_s),
                    "" if r.ratio is None else f"{r.ratio:,.0f}x",
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
        out = [self.title, rule, line(header), rule, *(line(c) for c in cells[1:]), rule]
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


#: Sections run in order; each adds its entries to the one JSON object.
SECTIONS: dict[str, Callable[[Options], Section]] = {"toy": bench_toy}


# --- driver ------------------------------------------------------------------------------------
@contextlib.contextmanager
def stdout_to_stderr(active: bool) -> Iterator[None]:
    """While active, send everything written to stdout (also by C code) to stderr."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def environment_info(args: argparse.Namespace) -> dict[str, Any]:
    """Versions and runtime settings that the timings depend on."""
    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": package_version("jaxlib"),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_used": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "jax_backend": jax.default_backend(),
        "jax_cpu_async_dispatch": bool(args.async_dispatch),
        "jax_enable_x64": bool(args.x64),
    }


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
        env = environment_info(args)
    results: dict[str, Any] = {}
    for section in sections:
        results.update(section.results)
    results["environment"] = env
    if args.json:
        print(json.dumps(results, default=_json_default))
        return 0
    for section in sections:
        print(section.render())
        print()
    print("Environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    return 0


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


if __name__ == "__main__":
    sys.exit(main())
