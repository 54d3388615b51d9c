"""RSPG training: speed, exploitability and memory on the seed's games, in one run.

Sections:

* ``seed_macro``: the seed's macro economy at its settings (200 wealth × 5 income, 20
  discrete consumption shares, horizon 128, B = 8 common-noise paths per step), RSPG with the
  default network (factorised head, hidden (64, 64), rank 32, GRU-32 encoder with clock),
  float32. Reported: compile seconds, seconds per training iteration after compilation, the
  exploitability of the initial policy and the exploitability reached after ``--budget``
  seconds of wall time (600: ten minutes; compilation and evaluations included), and a profile
  of one iteration (rollout alone, gradient, policy network alone). Exploitability is the
  seed library's: best response over the same 20 discrete actions, 8 evaluation paths.
  SPG (memoryless) is trained for a shorter budget for the comparison figure.
* ``beach_bar``: the beach bar with common noise (the bar closes at T/2 with probability ½):
  SPG and RSPG; the wall time for RSPG to reach ≤ 1% of the initial policy's exploitability;
  final exploitabilities of both; the mean distance to the bar over time on a path where it
  closes (anticipation: the crowd moves away before T/2).
* ``memory``: peak resident memory of compiling and running two training iterations on
  ``seed_macro``, and on a 2000-wealth × 7-income Aiyagari economy with log-AR(1) TFP noise,
  B = 64, T = 200, without and with rematerialisation (``remat_chunk``: √T periods per block).
  Each case runs in a fresh interpreter and reports its own peak (``VmHWM``), its baseline
  (resident memory after the imports) and the increment between them; the remat saving is
  the difference of the peaks and the ratios of peaks and of increments. (``ru_maxrss`` of a
  child would not do: Linux carries the parent's peak across ``execve``.)

Figures (``--figures DIR``, default ``benchmarks/figures``): exploitability against seconds for
SPG and RSPG on both games, and the beach-bar mean field over time (both TFP branches).

Reference (the seed's own JAX library at its defaults, measured on this 2-core machine kind):
about 18.5 s per iteration and 42 s to compile on ``seed_macro``; exploitability ≈ 88 at
initialisation, 5.2 after 20 iterations (6 min), 5.5 after 40 (12 min). Targets: ≤ 1.85 s per
iteration (10×), and after ten minutes an exploitability below 5.2.

Usage::

    python benchmarks/rspg.py                 # table (about 25 minutes)
    python benchmarks/rspg.py --json          # one JSON object on stdout, nothing else
    python benchmarks/rspg.py --quick         # small budgets, to check the script
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
if str(Path(__file__).resolve().parent) not in sys.path:  # sibling helper module
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    finish_memory_case,
    run_fresh_python,
    start_memory_case,
    stdout_to_stderr,
)

from hank_mfg.core.evaluation import structural_gradient  # noqa: E402
from hank_mfg.core.rollout import rollout_keys  # noqa: E402
from hank_mfg.solvers.spg import SPGConfig, train  # noqa: E402

#: The seed library's figures on this machine kind (see the module docstring).
SEED_REFERENCE = {
    "seed_macro_iter_s": 18.5,
    "seed_macro_compile_s": 42.0,
    "seed_macro_exploitability_init": 88.0,
    "seed_macro_exploitability_6min": 5.2,
    "seed_macro_exploitability_12min": 5.5,
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timed_training(game: Any, config: SPGConfig, budget_s: float) -> dict[str, Any]:
    """Train until ``config.iterations`` or ``budget_s`` seconds of wall time.

    Returns the per-chunk wall marks (compilation and evaluations included), the history and
    the solution. Seconds per iteration: the median of the chunks after the first, divided by
    the chunk length; compile seconds: the first chunk less one chunk's steady time.
    """
    start = time.perf_counter()
    marks: list[tuple[int, float, float]] = []  # (iteration, training seconds, wall seconds)

    def callback(progress: Any) -> bool:
        wall = time.perf_counter() - start
        marks.append((progress.iteration, progress.seconds, wall))
        log(
            f"  {progress.iteration:5d} it  expl {progress.exploitability:.4g}  "
            f"train {progress.seconds:6.1f} s  wall {wall:6.1f} s"
        )
        return wall >= budget_s

    solution = train(game, config, callback=callback)
    train_s = [m[1] for m in marks]
    chunks = np.diff([0.0, *train_s])
    n = config.eval_every
    iter_s = float(np.median(chunks[1:]) / n) if len(chunks) > 1 else float(chunks[0] / n)
    compile_s = float(max(chunks[0] - iter_s * n, 0.0))
    history = solution.history
    walls = [0.0, *[m[2] for m in marks]]
    return {
        "solution": solution,
        "iter_s": iter_s,
        "compile_s": compile_s,
        "iterations": int(history["iteration"][-1]),
        "wall_s": walls[-1],
        "exploitability": [float(x) for x in history["exploitability"]],
        "train_seconds": [float(x) for x in history["seconds"]],
        "wall_seconds": walls[: len(history["exploitability"])],
        "iteration": [int(x) for x in history["iteration"]],
    }


def _best(times: list[float]) -> float:
    return float(np.median(times))


def profile_iteration(game: Any, config: SPGConfig, repeats: int = 3) -> dict[str, float]:
    """Seconds of the parts of one training iteration (B paths): rollout alone, the full
    structural gradient (rollout with kernels kept, backward pass), and the policy network's
    tables alone over the same periods (encoder + head)."""
    net = config.network(game)
    params = net.init(jax.random.PRNGKey(0))
    keys = jax.random.split(jax.random.PRNGKey(1), config.n_samples)
    roll = jax.jit(lambda p, k: rollout_keys(game, net.policy, p, k).agg.mu[:, -1])
    grad = jax.jit(lambda p, k: structural_gradient(game, net.policy, p, k, config.remat_chunk))
    path = rollout_keys(game, net.policy, params, keys)
    obs = path.obs[:, :-1]  # [B, T, n_obs]

    def tables(p: Any, o: Any) -> Any:
        def one(o_path: Any) -> Any:
            ready = net.policy.prepared(p)

            def step(carry: Any, o_t: Any) -> tuple[Any, Any]:
                carry, table = net.policy.apply(ready, carry, o_t)
                return carry, jnp.sum(table)

            return jax.lax.scan(step, net.policy.init(p), o_path)[1]

        return jax.vmap(one)(o)

    policy_only = jax.jit(tables)
    out: dict[str, float] = {}
    for name, fn, args in (
        ("rollout_s", roll, (params, keys)),
        ("gradient_s", grad, (params, keys)),
        ("policy_tables_s", policy_only, (params, obs)),
    ):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        first_call = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times.append(time.perf_counter() - t0)
        out[name] = _best(times)
        out[name.replace("_s", "_compile_s")] = max(first_call - out[name], 0.0)
    return out


def bench_seed_macro(args: argparse.Namespace) -> dict[str, Any]:
    from hank_mfg.models.seed_macro import seed_macro

    game = seed_macro()
    rspg_config = SPGConfig(
        recurrent=True,
        n_samples=8,
        iterations=100_000,
        eval_every=args.eval_every,
        eval_samples=8,
        seed=args.seed,
    )
    log(f"seed_macro: RSPG for {args.budget:.0f} s")
    rspg = _timed_training(game, rspg_config, args.budget)
    log(f"seed_macro: SPG for {args.spg_budget:.0f} s")
    spg = _timed_training(
        game, SPGConfig(**{**vars(rspg_config), "recurrent": False}), args.spg_budget
    )
    log("seed_macro: profile of one iteration")
    prof = profile_iteration(game, rspg_config)
    return {"game": game, "rspg": rspg, "spg": spg, "profile": prof}


def _first_time_below(history: dict[str, Any], fraction: float) -> tuple[float | None, int | None]:
    target = fraction * history["exploitability"][0]
    for expl, wall, it in zip(
        history["exploitability"], history["wall_seconds"], history["iteration"], strict=True
    ):
        if expl <= target:
            return wall, it
    return None, None


def beach_bar_anticipation(game: Any, solution: Any) -> dict[str, Any]:
    """Mean |cell − bar| of the learned mean field over time, on both TFP branches."""
    from hank_mfg.core.rollout import rollout

    path = rollout(game, solution.policy, solution.params, jax.random.PRNGKey(7), 32)
    mu = np.asarray(path.agg.mu, dtype=np.float64)  # [B, T+1, S]
    is_open = np.asarray(path.agg.z["open"], dtype=np.float64)  # [B, T+1]
    bar = np.asarray(path.agg.z["bar"])[:, 0]
    cells = np.arange(mu.shape[-1])
    dist = np.abs(cells[None, :] - bar[:, None])  # [B, S]
    mean_dist = np.einsum("bts,bs->bt", mu, dist)
    adjacent = np.einsum("bts,bs->bt", mu, (dist == 1).astype(float))
    closed = is_open[:, -1] < 0.5
    half = game.horizon // 2
    out: dict[str, Any] = {"horizon": game.horizon, "closes_at": half}
    for name, sel in (("closing", closed), ("open", ~closed)):
        if not sel.any():
            continue
        d = mean_dist[sel].mean(axis=0)
        out[name] = {
            "mean_distance": d.tolist(),
            "mass_next_to_bar": adjacent[sel].mean(axis=0).tolist(),
            "mu": mu[sel][0].tolist(),
            "bar": int(bar[sel][0]),
        }
    d = np.asarray(out.get("closing", out.get("open"))["mean_distance"])
    t_min = int(np.argmin(d[:half]))
    out["distance_min_before_half"] = float(d[t_min])
    out["distance_min_t"] = t_min
    out["distance_at_half"] = float(d[half])
    # anticipation: after getting closest, the crowd widens its distance by at least one
    # cell before T/2
    out["moves_away_before_half"] = bool(d[half] >= d[t_min] + 1.0)
    return out


def bench_beach_bar(args: argparse.Namespace) -> dict[str, Any]:
    from hank_mfg.models.toy.beach_bar import BeachBar

    def config_for(recurrent: bool) -> SPGConfig:
        return SPGConfig(
            recurrent=recurrent,
            n_samples=8,
            iterations=args.beach_iterations,
            eval_every=10,
            eval_samples=8,
            seed=args.seed,
        )

    game = BeachBar(common_noise=True)
    out: dict[str, Any] = {}
    for name, recurrent in (("spg", False), ("rspg", True)):
        config = config_for(recurrent)
        log(f"beach_bar: {name.upper()} for {args.beach_budget:.0f} s")
        out[name] = _timed_training(game, config, args.beach_budget)
        wall, it = _first_time_below(out[name], 0.01)
        out[name]["time_to_1pct_s"] = wall
        out[name]["iterations_to_1pct"] = it
    # Time to 1%: also on the beach bar without the closing shock. With the shock, the
    # yardstick's best response is clairvoyant (it knows on each path whether the bar
    # closes), so even the equilibrium keeps an exploitability of a few percent of the
    # initial policy's.
    plain = BeachBar(common_noise=False)
    config = config_for(recurrent=True)
    log(f"beach_bar without the closing shock: RSPG for {args.beach_budget:.0f} s")
    out["no_closing"] = _timed_training(plain, config, args.beach_budget)
    wall, it = _first_time_below(out["no_closing"], 0.01)
    out["no_closing"]["time_to_1pct_s"] = wall
    out["no_closing"]["iterations_to_1pct"] = it
    out["anticipation"] = beach_bar_anticipation(game, out["rspg"]["solution"])
    out["spg_anticipation"] = beach_bar_anticipation(game, out["spg"]["solution"])
    out["game"] = game
    return out


# --- memory (each case in a fresh interpreter) ---------------------------------------------------

MEMORY_CASES = ("seed_macro", "aiyagari_2000x7")


def memory_child(which: str, remat: bool) -> None:
    """Compile and run two training iterations; print the case's memory (MB) as one JSON line.

    Runs in a fresh interpreter (``--memory-child``). The baseline is taken after the imports and
    the start of JAX's CPU runtime, before the game is built; the peak is this process's own
    (``VmHWM``), reset to the baseline at the start of the case.
    """
    if which not in MEMORY_CASES:
        raise ValueError(f"which must be one of {MEMORY_CASES}, got {which!r}")
    if which == "seed_macro":
        from hank_mfg.models.seed_macro import seed_macro
    else:
        # household economies with CRRA utility train in float64 (utility near the borrowing
        # limit overflows float32)
        jax.config.update("jax_enable_x64", True)
        from hank_mfg.calibration import LogAR1TFP, aiyagari_1994
        from hank_mfg.models import aiyagari
    jax.devices()  # the runtime's fixed cost belongs to the baseline, not to the case
    mem = start_memory_case()
    if which == "seed_macro":
        game, n_samples = seed_macro(), 8
    else:
        cal = aiyagari_1994(rho=0.9, sigma=0.2, crra=3.0, n_wealth=2000)
        game = aiyagari(cal, tfp=LogAR1TFP(rho=0.9, sigma=0.01), horizon=200)
        n_samples = 64
    chunk = max(1, round(math.sqrt(game.horizon))) if remat else None
    config = SPGConfig(
        recurrent=True,
        n_samples=n_samples,
        iterations=2,
        eval_every=2,
        eval_samples=1,
        remat_chunk=chunk,
        normalise_observations=False,
    )
    start = time.perf_counter()
    train(game, config)
    seconds = time.perf_counter() - start
    print(json.dumps({**finish_memory_case(mem), "seconds": seconds, "remat": chunk}))


def remat_saving(full: dict[str, Any] | None, remat: dict[str, Any] | None) -> dict[str, Any]:
    """What rematerialisation saves, from two cases' memory (``memory_child`` lines), in MB.

    ``saving_mb``: full peak minus remat peak; ``peak_ratio``: remat peak / full peak;
    ``increment_ratio``: remat increment / full increment (the cases' own memory, baseline
    excluded). ``None`` each where a case is missing or failed.
    """
    if not full or not remat or "peak_mb" not in full or "peak_mb" not in remat:
        return {"saving_mb": None, "peak_ratio": None, "increment_ratio": None}
    return {
        "saving_mb": full["peak_mb"] - remat["peak_mb"],
        "peak_ratio": remat["peak_mb"] / full["peak_mb"],
        "increment_ratio": (
            remat["increment_mb"] / full["increment_mb"] if full["increment_mb"] > 0 else None
        ),
    }


def bench_memory(args: argparse.Namespace) -> dict[str, Any]:
    """Each case's memory, measured in its own fresh interpreter (see ``memory_child``)."""
    out: dict[str, Any] = {}
    cases = [("seed_macro", False), ("seed_macro", True), ("aiyagari_2000x7", True)]
    if not args.skip_no_remat_aiyagari:
        cases.append(("aiyagari_2000x7", False))
    for which, remat in cases:
        label = f"{which}_{'remat' if remat else 'full'}"
        log(f"memory: {label}")
        out[label] = run_fresh_python(
            [__file__, "--memory-child", which, *(["--remat"] if remat else [])]
        )
    return out


# --- report -------------------------------------------------------------------------------------


def save_figures(seed: dict | None, beach: dict | None, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for title, section, fname in (
        ("seed_macro (200 × 5, 20 actions, B = 8)", seed, "rspg_seed_macro_exploitability.png"),
        ("beach bar with common noise", beach, "rspg_beach_bar_exploitability.png"),
    ):
        if section is None:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for name in ("spg", "rspg"):
            h = section[name]
            ax.plot(h["wall_seconds"], h["exploitability"], marker="o", ms=3, label=name.upper())
        if section is seed:
            ax.axhline(5.2, color="grey", ls="--", lw=1, label="seed library after 6 min")
        ax.set_yscale("log")
        ax.set_xlabel("wall time (s, compilation and evaluation included)")
        ax.set_ylabel("exploitability (utility units)")
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / fname, dpi=120)
        plt.close(fig)
        written.append(str(folder / fname))
    if beach is not None:
        ant = beach["anticipation"]
        branches = [b for b in ("closing", "open") if b in ant]
        fig, axes = plt.subplots(1, len(branches) + 1, figsize=(5 * (len(branches) + 1), 4))
        for ax, branch in zip(axes, branches, strict=False):
            mu = np.asarray(ant[branch]["mu"])
            im = ax.imshow(mu.T, aspect="auto", origin="lower", cmap="viridis")
            ax.axhline(ant[branch]["bar"], color="white", ls=":", lw=1)
            ax.axvline(ant["closes_at"], color="red", ls="--", lw=1)
            ax.set_xlabel("period t")
            ax.set_ylabel("beach cell")
            ax.set_title(
                f"RSPG mean field, bar {'closes' if branch == 'closing' else 'stays open'}"
            )
            fig.colorbar(im, ax=ax, label="mass")
        ax = axes[-1]
        for label, a in (("RSPG", ant), ("SPG", beach["spg_anticipation"])):
            if "closing" in a:
                ax.plot(a["closing"]["mean_distance"], label=f"{label}, bar closes")
        ax.axvline(ant["closes_at"], color="red", ls="--", lw=1, label="T/2")
        ax.set_xlabel("period t")
        ax.set_ylabel("mean |cell − bar| (cells)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "rspg_beach_bar_mean_field.png", dpi=120)
        plt.close(fig)
        written.append(str(folder / "rspg_beach_bar_mean_field.png"))
    return written


def summary(seed: dict | None, beach: dict | None, memory: dict | None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference_seed_library": SEED_REFERENCE}
    if seed is not None:
        r, s = seed["rspg"], seed["spg"]
        out.update(
            seed_macro_iter_s=r["iter_s"],
            seed_macro_compile_s=r["compile_s"],
            seed_macro_exploitability_init=r["exploitability"][0],
            seed_macro_exploitability_10min=r["exploitability"][-1],
            seed_macro_budget_s=r["wall_s"],
            seed_macro_iterations=r["iterations"],
            ratio_iter_vs_seed=SEED_REFERENCE["seed_macro_iter_s"] / r["iter_s"],
            seed_macro_spg_iter_s=s["iter_s"],
            seed_macro_spg_exploitability=s["exploitability"][-1],
            seed_macro_spg_budget_s=s["wall_s"],
            seed_macro_profile=seed["profile"],
            seed_macro_history={
                k: {"wall_s": h["wall_seconds"], "exploitability": h["exploitability"]}
                for k, h in (("rspg", r), ("spg", s))
            },
        )
    if beach is not None:
        ant = beach["anticipation"]
        out.update(
            beach_bar_time_to_1pct_s=beach["no_closing"]["time_to_1pct_s"],
            beach_bar_iterations_to_1pct=beach["no_closing"]["iterations_to_1pct"],
            beach_bar_exploitability_init_no_closing=beach["no_closing"]["exploitability"][0],
            beach_bar_rspg_exploitability_no_closing=beach["no_closing"]["exploitability"][-1],
            beach_bar_common_noise_time_to_1pct_s=beach["rspg"]["time_to_1pct_s"],
            beach_bar_common_noise_best_fraction=min(beach["rspg"]["exploitability"])
            / beach["rspg"]["exploitability"][0],
            beach_bar_spg_time_to_1pct_s=beach["spg"]["time_to_1pct_s"],
            beach_bar_rspg_exploitability=beach["rspg"]["exploitability"][-1],
            beach_bar_spg_exploitability=beach["spg"]["exploitability"][-1],
            beach_bar_exploitability_init=beach["rspg"]["exploitability"][0],
            beach_bar_rspg_below_spg=beach["rspg"]["exploitability"][-1]
            < beach["spg"]["exploitability"][-1],
            beach_bar_moves_away_before_half=ant["moves_away_before_half"],
            beach_bar_distance_min_before_half=ant["distance_min_before_half"],
            beach_bar_distance_min_t=ant["distance_min_t"],
            beach_bar_distance_at_half=ant["distance_at_half"],
            beach_bar_spg_moves_away_before_half=beach["spg_anticipation"][
                "moves_away_before_half"
            ],
        )
    if memory is not None:
        for game in MEMORY_CASES:
            full, remat = memory.get(f"{game}_full"), memory.get(f"{game}_remat")
            for suffix, case in (("", full), ("_remat", remat)):
                for key in ("peak_mb", "baseline_mb", "increment_mb"):
                    out[f"{game}{suffix}_{key}"] = (case or {}).get(key)
            for key, value in remat_saving(full, remat).items():
                out[f"{game}_remat_{key}"] = value
        out["memory_runs"] = memory
    return out


def render(res: dict[str, Any]) -> str:
    lines = ["RSPG training on the seed's games (this machine; wall times include evaluation)"]
    if "seed_macro_iter_s" in res:
        ref = SEED_REFERENCE
        p = res["seed_macro_profile"]
        lines += [
            "seed_macro (200 × 5, 20 actions, T = 128, B = 8), RSPG, default network:",
            f"  seconds per iteration {res['seed_macro_iter_s']:.3f} (seed library "
            f"{ref['seed_macro_iter_s']}: {res['ratio_iter_vs_seed']:.1f}x faster; target 10x)",
            f"  compile {res['seed_macro_compile_s']:.1f} s "
            f"(seed library {ref['seed_macro_compile_s']})",
            f"  exploitability {res['seed_macro_exploitability_init']:.2f} at initialisation -> "
            f"{res['seed_macro_exploitability_10min']:.4g} "
            f"after {res['seed_macro_budget_s']:.0f} s "
            f"({res['seed_macro_iterations']} iterations; seed library 5.2 after 6 min)",
            f"  SPG: {res['seed_macro_spg_iter_s']:.3f} s per iteration, exploitability "
            f"{res['seed_macro_spg_exploitability']:.4g} "
            f"after {res['seed_macro_spg_budget_s']:.0f} s",
            f"  one iteration's parts: rollout {p['rollout_s']:.3f} s, full gradient "
            f"{p['gradient_s']:.3f} s, policy tables alone {p['policy_tables_s']:.3f} s",
        ]
    if "beach_bar_rspg_exploitability" in res:
        t1 = res["beach_bar_time_to_1pct_s"]
        lines += [
            "beach bar with common noise (101 cells, T = 30):",
            f"  exploitability at initialisation {res['beach_bar_exploitability_init']:.4g}; "
            f"RSPG {res['beach_bar_rspg_exploitability']:.4g}, SPG "
            f"{res['beach_bar_spg_exploitability']:.4g} "
            f"(RSPG lower: {res['beach_bar_rspg_below_spg']})",
            "  RSPG with the closing shock: best exploitability "
            f"{100 * res['beach_bar_common_noise_best_fraction']:.1f}% of the initial one "
            "(the clairvoyant best response keeps a floor)",
            "  without the closing shock: RSPG from "
            f"{res['beach_bar_exploitability_init_no_closing']:.4g} to "
            f"{res['beach_bar_rspg_exploitability_no_closing']:.4g}; time to 1% of the "
            "initial exploitability: " + ("not reached" if t1 is None else f"{t1:.1f} s"),
            f"  anticipation (bar closes at T/2): mean distance to the bar is smallest at "
            f"t = {res['beach_bar_distance_min_t']} "
            f"({res['beach_bar_distance_min_before_half']:.2f}"
            f" cells), {res['beach_bar_distance_at_half']:.2f} at T/2; moves away before T/2: "
            f"{res['beach_bar_moves_away_before_half']} (SPG: "
            f"{res['beach_bar_spg_moves_away_before_half']})",
        ]
    if "memory_runs" in res:
        lines.append(
            "peak resident memory (compile + 2 iterations, each case in a fresh interpreter; "
            "baseline: after the imports):"
        )
        for k, v in res["memory_runs"].items():
            if "error" in v:
                lines.append(f"  {k}: failed ({v['error']})")
            else:
                lines.append(
                    f"  {k}: peak {v['peak_mb']:.0f} MB = baseline {v['baseline_mb']:.0f} + "
                    f"case {v['increment_mb']:.0f} ({v['seconds']:.0f} s, "
                    f"remat_chunk {v['remat']})"
                )
        for game in MEMORY_CASES:
            saving = res.get(f"{game}_remat_saving_mb")
            if saving is not None:
                inc = res[f"{game}_remat_increment_ratio"]
                lines.append(
                    f"  {game}: remat saves {saving:.0f} MB of peak "
                    f"(peak ratio {res[f'{game}_remat_peak_ratio']:.2f}"
                    + ("" if inc is None else f", case's own memory ratio {inc:.2f}")
                    + ")"
                )
    lines.append(
        f"Environment: python={platform.python_version()}, jax={jax.__version__}, "
        f"cpu_count={os.cpu_count()}, backend={jax.default_backend()}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object only")
    p.add_argument(
        "--sections",
        nargs="+",
        default=["seed_macro", "beach_bar", "memory"],
        choices=["seed_macro", "beach_bar", "memory"],
    )
    p.add_argument("--budget", type=float, default=600.0, help="seed_macro RSPG wall seconds")
    p.add_argument("--spg-budget", type=float, default=180.0, help="seed_macro SPG wall seconds")
    p.add_argument("--eval-every", type=int, default=5, help="seed_macro iterations per chunk")
    p.add_argument("--beach-budget", type=float, default=120.0, help="beach bar seconds each")
    p.add_argument("--beach-iterations", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figures", type=Path, default=REPO_ROOT / "benchmarks" / "figures")
    p.add_argument("--skip-no-remat-aiyagari", action="store_true")
    p.add_argument("--quick", action="store_true", help="tiny budgets (a check of the script)")
    p.add_argument("--memory-child", choices=list(MEMORY_CASES), help=argparse.SUPPRESS)
    p.add_argument("--remat", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.budget, args.spg_budget, args.beach_budget = 30.0, 15.0, 20.0
        args.beach_iterations = 100
        args.skip_no_remat_aiyagari = True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.remat)
        return 0
    seed = beach = memory = None
    with stdout_to_stderr(args.json):
        if "seed_macro" in args.sections:
            seed = bench_seed_macro(args)
        if "beach_bar" in args.sections:
            beach = bench_beach_bar(args)
        if "memory" in args.sections:
            memory = bench_memory(args)
        res = summary(seed, beach, memory)
        res["figures"] = save_figures(seed, beach, args.figures)
    if args.json:
        print(json.dumps(res, default=float))
    else:
        print(render(res))
        print("figures: " + ", ".join(res["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
