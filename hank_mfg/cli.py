"""Command line: ``hank-mfg {list, solve, evaluate, plot, demo}``.

    hank-mfg list
    hank-mfg solve MODEL --solver S [--preset NAME] [--set key=value ...] [--iterations N]
                   [--seed S] --out FILE.nc [--quiet]
    hank-mfg evaluate FILE.nc
    hank-mfg plot FILE.nc --out DIR
    hank-mfg demo [--quick]  # main job: Krusell–Smith, classical and RSPG -> ks.nc

Bad input (unknown model, preset, solver, key or value, an output path that cannot be
written, a request too large for the memory available) prints one line saying what is allowed
and exits with code 2 before any work starts; a solve that fails prints one line saying what
failed and exits with code 1. In both cases no output file is written.

``solve`` and ``demo`` keep JAX's compiled programs in a persistent cache
(``--compilation-cache DIR``, default ``$HANK_MFG_COMPILATION_CACHE`` or
``~/.cache/hank_mfg/xla``; ``off`` disables it): the first run compiles (about twenty seconds
of the main job on a laptop CPU), later runs of the same settings start warm.

This module imports nothing heavy at module level: the ``--set`` keys and their defaults are
read from the source of the models, presets and solver settings (``ast``, no import), so that
``--help`` and bad arguments answer before JAX is loaded.
"""

from __future__ import annotations

import argparse
import ast
import functools
import math
import os
import stat
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Setting",
    "check_output_file",
    "main",
    "parse_sets",
    "solve_memory_bytes",
    "start_compilation_cache",
]

_PACKAGE = os.path.dirname(os.path.abspath(__file__))

#: model -> (source file, function or class whose keyword arguments are the model's settings)
MODEL_SOURCES = {
    "linear_quadratic": ("models/toy/linear_quadratic.py", "LinearQuadratic"),
    "beach_bar": ("models/toy/beach_bar.py", "BeachBar"),
    "aiyagari": ("models/aiyagari.py", "aiyagari"),
    "krusell_smith": ("models/krusell_smith.py", "krusell_smith"),
    "seed_macro": ("models/seed_macro.py", "seed_macro"),
}
MODELS = tuple(MODEL_SOURCES)
#: Calibration presets of each model (the first is the default), functions of
#: ``calibration/presets.py`` whose keyword arguments are the preset's settings.
PRESETS = {
    "aiyagari": ("aiyagari_1994", "quantecon_aiyagari"),
    "krusell_smith": ("krusell_smith_1998",),
    "seed_macro": ("seed_macro",),
    "linear_quadratic": (),
    "beach_bar": (),
}
HOUSEHOLD_MODELS = ("aiyagari", "krusell_smith", "seed_macro")
SOLVERS = ("egm", "krusell-smith", "spg", "rspg", "ippo", "rippo", "momd")
SOLVERS_FOR = {
    "egm": ("aiyagari",),
    "krusell-smith": ("krusell_smith",),
    "spg": MODELS,
    "rspg": MODELS,
    # model-free baselines need a discrete action set
    "ippo": ("linear_quadratic", "beach_bar", "seed_macro"),
    "rippo": ("linear_quadratic", "beach_bar", "seed_macro"),
    "momd": ("linear_quadratic", "beach_bar", "seed_macro"),
}
#: solver -> (source file, settings class or function); ``None``: the solver takes no settings.
SOLVER_SOURCES: dict[str, tuple[str, str] | None] = {
    "egm": None,
    "krusell-smith": ("solvers/krusell_smith.py", "KrusellSmithConfig"),
    "spg": ("solvers/spg.py", "SPGConfig"),
    "rspg": ("solvers/spg.py", "SPGConfig"),
    "ippo": ("solvers/rl/ippo.py", "PPOConfig"),
    "rippo": ("solvers/rl/ippo.py", "PPOConfig"),
    "momd": ("solvers/rl/momd.py", "MOMDConfig"),
}
#: Keyword arguments that are no ``--set`` key: fixed by the solver's name or not offered here.
_NOT_SETTINGS = frozenset({"recurrent", "verbose"})
#: Memory JAX and XLA need beyond the arrays of the estimate (runtime, compiled programs).
RUNTIME_BYTES = 2**28


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class SolveFailed(Exception):
    """The solve itself failed (no equilibrium, divergence, non-finite values): exit code 1."""


# --- settings, read from the source ---------------------------------------------------------------

_KINDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "tuple[int, ...]": "comma-separated integers such as 64,64",
}


@dataclass(frozen=True)
class Setting:
    """One ``--set`` key: its name, its type (annotation text, e.g. ``"int | None"``) and its
    default, as written in the source of the model, preset or solver that takes it."""

    name: str
    annotation: str
    default: Any

    @property
    def optional(self) -> bool:
        """Whether ``none`` is an allowed value."""
        return self.annotation.replace(" ", "").endswith("|None")

    @property
    def kind(self) -> str:
        """The annotation without ``| None``."""
        return self.annotation.split("|")[0].strip()

    def describe(self) -> str:
        """``name=default`` as one types it on the command line."""
        return f"{self.name}={_show(self.default)}"

    def parse(self, text: str) -> Any:
        """The value of ``--set name=text``; raises :class:`UsageError` naming the setting."""
        low = text.strip().lower()
        if self.optional and low == "none":
            return None
        try:
            if self.kind == "bool":
                if low not in ("true", "false"):
                    raise ValueError
                return low == "true"
            if self.kind == "int":
                return int(low)
            if self.kind == "float":
                value = float(low)
                if not math.isfinite(value):
                    raise ValueError
                return value
            if self.kind == "tuple[int, ...]":
                return tuple(int(part) for part in low.split(","))
        except ValueError:
            allowed = _KINDS[self.kind] + (" or none" if self.optional else "")
            raise UsageError(
                f"--set {self.name}={text}: {self.name} must be {allowed} "
                f"(default {_show(self.default)})"
            ) from None
        raise AssertionError(f"unsupported setting type {self.annotation!r}")  # pragma: no cover


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _setting(arg: ast.arg, default: ast.expr) -> Setting | None:
    try:
        value = ast.literal_eval(default)
    except ValueError:  # computed default such as tuple(range(-3, 4)): not a --set key
        return None
    annotation = ast.unparse(arg.annotation) if arg.annotation else type(value).__name__
    setting = Setting(arg.arg, annotation, value)
    if setting.kind not in _KINDS or (value is None and not setting.optional):
        return None
    return setting


@functools.cache
def settings_in_source(relpath: str, name: str) -> dict[str, Setting]:
    """The keyword settings of function or class ``name`` in ``hank_mfg/relpath``, in order.

    For a class, the arguments of its ``__init__`` or, for a dataclass, its fields. Only
    integer, real, boolean and integer-tuple settings with a literal default are kept (those
    a command line can give); read with ``ast``, without importing the module.
    """
    with open(os.path.join(_PACKAGE, relpath), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    pairs: list[tuple[ast.arg, ast.expr]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            init = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
            if init:
                node = init[0]
            else:
                pairs = [
                    (ast.arg(n.target.id, n.annotation), n.value)
                    for n in node.body
                    if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.value
                ]
                break
        if isinstance(node, ast.FunctionDef) and node.name in (name, "__init__"):
            a = node.args
            positional = a.posonlyargs + a.args
            pairs = list(
                zip(positional[len(positional) - len(a.defaults) :], a.defaults, strict=True)
            )
            pairs += [
                (arg, d)
                for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
                if d is not None
            ]
            break
    else:
        raise LookupError(f"{name} not found in {relpath}")
    found = (_setting(arg, default) for arg, default in pairs)
    return {s.name: s for s in found if s is not None and s.name not in _NOT_SETTINGS}


def model_settings(model: str, preset: str | None = None) -> dict[str, Setting]:
    """The model's own ``--set`` keys, less those its ``preset`` takes (the preset's win)."""
    own = settings_in_source(*MODEL_SOURCES[model])
    shadowed = preset_settings(preset) if preset else {}
    return {k: s for k, s in own.items() if k not in shadowed}


def preset_settings(preset: str) -> dict[str, Setting]:
    """The ``--set`` keys a calibration preset takes (its keyword overrides)."""
    return settings_in_source("calibration/presets.py", preset)


def solver_settings(solver: str) -> dict[str, Setting]:
    """The solver's ``--set`` keys (none for ``egm``)."""
    source = SOLVER_SOURCES[solver]
    return {} if source is None else settings_in_source(*source)


def _describe(settings: dict[str, Setting]) -> str:
    return " ".join(s.describe() for s in settings.values()) or "-"


def catalogue() -> str:
    """Models with their presets and ``--set`` keys, solvers with theirs (defaults shown)."""

    def entry(head: str, settings: dict[str, Setting], indent: str) -> str:
        return textwrap.fill(
            f"{indent}{head}: {_describe(settings)}",
            width=96,
            subsequent_indent=indent + "    ",
            break_on_hyphens=False,
        )

    lines = ["models (MODEL), their presets (--preset) and --set keys, with defaults:"]
    for model in MODELS:
        default_preset = (PRESETS[model] or (None,))[0]
        lines.append(entry(model, model_settings(model, default_preset), "  "))
        for preset in PRESETS[model]:
            first = " (default)" if preset == default_preset else ""
            lines.append(entry(f"--preset {preset}{first}", preset_settings(preset), "    "))
    lines.append("solvers (--solver), the models they solve, and their --set keys:")
    for solver in SOLVERS:
        head = f"{solver} (solves {', '.join(SOLVERS_FOR[solver])})"
        lines.append(entry(head, solver_settings(solver), "  "))
    return "\n".join(lines)


# --- the request ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """A checked ``solve`` request: typed settings split by who takes them."""

    model: str
    preset: str | None
    solver: str
    model_args: dict[str, Any]
    preset_args: dict[str, Any]
    solver_args: dict[str, Any]
    raw: dict[str, str]


def parse_sets(pairs: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` pairs as a dict of strings (a key given twice must agree)."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--set takes key=value, got {pair!r}")
        key, value = (part.strip() for part in pair.split("=", 1))
        if key in out and out[key] != value:
            raise UsageError(f"--set {key} given twice, as {out[key]!r} and {value!r}")
        out[key] = value
    return out


def _merge_flag(args: dict[str, Any], key: str, flag: str, value: Any) -> None:
    """Put a flag's value (``--seed``, ``--iterations``) into the settings; refuse a conflict."""
    if value is None:
        return
    if key in args and args[key] != value:
        raise UsageError(f"{flag} {value} and --set {key}={args[key]} disagree; give one")
    args[key] = value


def _check_request(args: argparse.Namespace) -> _Request:
    """Validate model, preset, solver, ``--set`` keys and values and the output path, before
    any work (and before JAX is imported)."""
    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}; allowed: {', '.join(MODELS)}")
    if args.preset is not None and args.preset not in PRESETS[args.model]:
        allowed = ", ".join(PRESETS[args.model]) or "none"
        raise UsageError(f"unknown preset {args.preset!r} for {args.model}; allowed: {allowed}")
    if args.solver not in SOLVERS_FOR:
        raise UsageError(
            f"solver {args.solver!r} is not available in this version; available: "
            f"{', '.join(SOLVERS_FOR)}"
        )
    if args.model not in SOLVERS_FOR[args.solver]:
        raise UsageError(
            f"solver {args.solver!r} does not apply to {args.model}; it solves: "
            f"{', '.join(SOLVERS_FOR[args.solver])}"
        )
    preset = args.preset or (PRESETS[args.model] or (None,))[0]
    groups = {
        "preset": preset_settings(preset) if preset else {},
        "model": model_settings(args.model, preset),
        "solver": solver_settings(args.solver),
    }
    raw = parse_sets(args.set)
    typed: dict[str, dict[str, Any]] = {group: {} for group in groups}
    for key, text in raw.items():
        group = next((g for g, known in groups.items() if key in known), None)
        if group is None:
            allowed = sorted(set().union(*groups.values()))
            where = f"{args.model}" + (f" (preset {preset})" if preset else "")
            raise UsageError(
                f"unknown setting {key!r} for {where} with {args.solver}; allowed: "
                f"{', '.join(allowed) or 'none'}"
            )
        typed[group][key] = groups[group][key].parse(text)
    solver_args = typed["solver"]
    if args.iterations is not None and args.iterations < 1:
        raise UsageError(f"--iterations must be an integer >= 1, got {args.iterations}")
    for key, flag, value in (
        ("seed", "--seed", args.seed),
        ("iterations", "--iterations", args.iterations),
    ):
        if value is None:
            continue
        if key not in groups["solver"]:
            raise UsageError(f"{flag} does not apply to {args.solver}, which takes no {key}")
        _merge_flag(solver_args, key, flag, value)
    check_output_file(args.out, "--out")
    return _Request(
        args.model, preset, args.solver, typed["model"], typed["preset"], solver_args, raw
    )


# --- paths ----------------------------------------------------------------------------------------


def _check_writable_folder(folder: str, flag: str) -> None:
    if not os.path.isdir(folder):
        raise UsageError(f"{flag} folder {folder!r} does not exist")
    try:  # a real write answers for read-only file systems and privileges alike
        fd, probe = tempfile.mkstemp(prefix=".hank-mfg-write-test-", dir=folder)
    except OSError as err:
        raise UsageError(f"{flag} folder {folder!r} is not writable ({err.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path: str, flag: str) -> None:
    """An output file: not a folder, not a special file, in an existing writable folder."""
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path!r} is a folder; give a file name such as out.nc")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise UsageError(f"{flag} {path!r} exists and is not a regular file")
    _check_writable_folder(os.path.dirname(os.path.abspath(path)), flag)


def _check_output_folder(path: str, flag: str) -> None:
    """An output folder: a folder or nothing yet, below a writable existing folder."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise UsageError(f"{flag} {path!r} exists and is not a folder")
    existing = os.path.abspath(path)
    while not os.path.isdir(existing):
        if os.path.lexists(existing):
            raise UsageError(f"{flag} {path!r}: {existing!r} is not a folder")
        existing = os.path.dirname(existing)
    _check_writable_folder(existing, flag)


def _check_input_file(path: str) -> None:
    """A results file to read: it exists and is a regular file (a FIFO would block)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UsageError(f"FILE {path!r} does not exist") from None
    except OSError as err:
        raise UsageError(f"FILE {path!r} cannot be read ({err.strerror})") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"FILE {path!r} is not a regular file (a results file is)")


# --- memory ---------------------------------------------------------------------------------------


def solve_memory_bytes(
    n_states: int, n_actions: int, horizon: int, n_samples: int, *, learning: bool
) -> int:
    """Estimated peak memory (bytes) of rolling out, evaluating and (``learning``) training a
    policy on a mean-field game.

    The arrays that dominate hold one float64 per individual state × action × date × path:
    the policy's choice probabilities, the kernel's weights, the value and best-response
    recursions and, when training, what the gradient keeps of each date. The estimate counts
    8 such arrays when training and 4 otherwise (measured on SPG: about 2.5), plus
    :data:`RUNTIME_BYTES` for JAX itself: generous, so that a refused request would not have
    fitted. ``n_actions``: 1 for a continuous choice; ``n_samples``: the most common-noise
    paths (or simulated agents per state) held at once.
    """
    arrays = 8 if learning else 4
    cells = n_states * max(n_actions, 1) * (horizon + 1) * max(n_samples, 1)
    return 8 * arrays * cells + RUNTIME_BYTES


def _request_memory(cal: Any, req: _Request, config: Any) -> tuple[int, str]:
    """Estimated bytes of a solve and the words for it (``cal``: the calibration or None)."""
    import inspect

    from hank_mfg import models

    if cal is None:  # a toy game: its size is in its own settings
        cls = getattr(models, MODEL_SOURCES[req.model][1])
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
        n_states = req.model_args.get("n_states", defaults["n_states"])
        n_actions = len(defaults["actions"])
        horizon = req.model_args.get("horizon", defaults["horizon"])
    else:
        hh = cal.household
        n_income = 2 if hh.income is None else int(len(hh.income.grid))  # employed, unemployed
        n_states = hh.n_wealth * n_income
        n_actions = 1 if cal.game is None else int(len(cal.game.consumption_shares))
        default = model_settings(req.model, req.preset).get("horizon")
        horizon = req.model_args.get("horizon", default.default if default else None)
        if horizon is None:
            horizon = cal.game.horizon
    if req.solver == "egm":
        samples, learning = 1, False
    elif req.solver == "krusell-smith":
        ks = {k: s.default for k, s in solver_settings(req.solver).items()}
        ks.update(req.solver_args)
        # the simulation keeps a distribution per simulated period
        samples = max(ks["evaluation_samples"], math.ceil(ks["n_periods"] / (horizon + 1)))
        learning = False
    else:
        samples, learning = max(config.n_samples, config.eval_samples), True
    nbytes = solve_memory_bytes(n_states, n_actions, horizon, samples, learning=learning)
    if req.solver in ("ippo", "rippo", "momd"):  # simulated agents, each with its actions
        agents = config.n_agents * config.n_samples
        nbytes = max(nbytes, solve_memory_bytes(agents, n_actions, horizon, 1, learning=True))
    what = (
        f"{req.solver} on {req.model} ({n_states} states x {n_actions} actions x "
        f"{horizon + 1} dates x {samples} paths)"
    )
    return nbytes, what


def _check_memory(nbytes: int, what: str) -> None:
    from hank_mfg.core.checks import check_memory

    try:
        check_memory(nbytes, what)
    except ValueError as err:
        raise UsageError(str(err)) from err


# --- progress -------------------------------------------------------------------------------------


class ProgressBar:
    """A one-line text progress bar on stderr (silent when ``quiet``).

    Its clock starts at :meth:`begin` (or at the first :meth:`update`), that is with the
    work, not when the bar is made.
    """

    def __init__(self, total: int, label: str, quiet: bool = False) -> None:
        self.total, self.label, self.quiet = max(total, 1), label, quiet
        self.start: float | None = None

    def begin(self) -> None:
        """Start the clock (seconds shown are counted from here)."""
        self.start = time.perf_counter()

    def update(self, done: int, note: str = "") -> None:
        if self.start is None:
            self.begin()
        if self.quiet:
            return
        frac = min(done / self.total, 1.0)
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{self.total} {elapsed:6.1f}s {note}")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.quiet:
            sys.stderr.write("\n")


# --- solve ----------------------------------------------------------------------------------------


def _calibration(req: _Request) -> Any:
    """The preset's calibration with its overrides (plain NumPy), or None for a toy game."""
    if req.preset is None:
        return None
    n_income = req.preset_args.get("n_income")
    if isinstance(n_income, int) and n_income > 0:  # the income chain is n_income x n_income
        nbytes = 8 * 8 * n_income**2 + RUNTIME_BYTES
        _check_memory(nbytes, f"preset {req.preset} ({n_income} income states)")
    from hank_mfg import calibration

    try:
        return getattr(calibration, req.preset)(**req.preset_args)
    except (ValueError, TypeError) as err:
        raise UsageError(f"preset {req.preset}: {str(err).splitlines()[0]}") from err


def _build_model(req: _Request, cal: Any) -> Any:
    from hank_mfg import models

    factory = getattr(models, MODEL_SOURCES[req.model][1])
    try:
        if cal is None:
            return factory(**req.model_args)
        return factory(cal, **req.model_args)
    except (ValueError, TypeError) as err:
        raise UsageError(f"{req.model}: {str(err).splitlines()[0]}") from err


def _config_class(solver: str) -> Any:
    """The settings class of a learning solver (``None`` for the classical ones)."""
    if solver in ("spg", "rspg"):
        from hank_mfg.solvers.spg import SPGConfig

        return SPGConfig
    if solver in ("ippo", "rippo"):
        from hank_mfg.solvers.rl import PPOConfig

        return PPOConfig
    if solver == "momd":
        from hank_mfg.solvers.rl import MOMDConfig

        return MOMDConfig
    return None


def _config(req: _Request) -> Any:
    config_class = _config_class(req.solver)
    if config_class is None:
        return None
    cfg_args = dict(req.solver_args)
    if req.solver in ("spg", "rspg", "ippo", "rippo"):  # the memoryless and recurrent pairs
        cfg_args["recurrent"] = req.solver in ("rspg", "rippo")
    try:
        return config_class(**cfg_args)
    except (ValueError, TypeError) as err:
        raise UsageError(f"{req.solver} settings: {str(err).splitlines()[0]}") from err


def _failure_types() -> tuple[type[BaseException], ...]:
    """What a failing solve raises: no equilibrium, divergence, NaN (NonFiniteError), XLA."""
    return (ValueError, RuntimeError, ArithmeticError, MemoryError)


def _solve(args: argparse.Namespace) -> int:
    req = _check_request(args)
    import jax

    if req.solver in ("egm", "krusell-smith"):
        jax.config.update("jax_enable_x64", True)  # classical solvers run in float64
    cal = _calibration(req)
    config = _config(req)
    _check_memory(*_request_memory(cal, req, config))
    start_compilation_cache(args)
    game = _build_model(req, cal)
    bar = ProgressBar(getattr(config, "iterations", 1), f"{req.solver} on {req.model}", args.quiet)
    try:
        solution = _run_solver(req, game, config, bar)
    except _failure_types() as err:
        bar.close()
        first = (str(err).splitlines() or [""])[0]
        raise SolveFailed(
            f"{req.solver} on {req.model} failed ({type(err).__name__}): {first}"
        ) from err
    bar.close()
    solution.settings = {**solution.settings, "preset": req.preset, "set": dict(req.raw)}
    solution.to_netcdf(args.out)
    if not args.quiet:
        print(f"{req.solver} on {req.model}: {_exploitability_line(solution, req.model)}")
        print(f"wrote {args.out}")
    return 0


def _run_solver(req: _Request, game: Any, config: Any, bar: ProgressBar) -> Any:
    bar.begin()
    if req.solver == "egm":
        from hank_mfg.solvers.stationary import solve_stationary

        bar.update(0, "equilibrium search")
        solution = solve_stationary(game)
        bar.update(bar.total, f"r* = {solution.results['r']:.6f}")
        return solution
    if req.solver == "krusell-smith":
        from hank_mfg.solvers.krusell_smith import solve_krusell_smith

        bar.update(0, "law-of-motion iterations")
        solution = solve_krusell_smith(game, **req.solver_args)
        bar.update(bar.total, "converged")
        return solution

    def progress(p: Any) -> None:
        bar.update(p.iteration, f"exploitability {p.exploitability:.4g}")

    return _learn(game, req.solver, config, progress)


def _exploitability_line(solution: Any, model: str) -> str:
    """``exploitability 1.2e-03 (utility; mean over 8 common-noise paths)``."""
    if solution.evaluation is None:
        return "not evaluated (exploitability unknown)"
    n_paths = len(solution.evaluation.exploitability.per_sample)
    units = "utility" if model in HOUSEHOLD_MODELS else "reward units"
    paths = "path" if n_paths == 1 else "paths"
    return (
        f"exploitability {solution.exploitability:.4g} "
        f"({units}; mean over {n_paths} common-noise {paths})"
    )


def _learn(game: Any, solver: str, config: Any, progress: Callable[[Any], None]) -> Any:
    if solver in ("spg", "rspg"):
        from hank_mfg.solvers.spg import train

        return train(game, config, callback=progress, solver_name=solver)
    from hank_mfg.solvers import rl

    return getattr(rl, solver)(game, config, callback=progress)


# --- evaluate, plot, list, demo -------------------------------------------------------------------


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from hank_mfg.results import open_solution

    _check_input_file(args.file)
    try:
        ds = open_solution(args.file)
    except ValueError as err:
        raise UsageError(str(err)) from err
    print(f"{ds.attrs['model']} solved by {ds.attrs['solver']}")
    if "exploitability" in ds:
        print(
            f"  exploitability      {float(ds['exploitability']):.6g} (utility; mean gain from "
            f"deviating, {ds.sizes.get('sample', 0)} paths)"
        )
    if "exploitability_consumption" in ds:
        print(
            f"    as consumption    {float(ds['exploitability_consumption']):.4g}% of consumption "
            "(permanent cut that costs as much)"
        )
    for name in ("r", "w", "K", "Y"):
        if name in ds:
            da = ds[name]
            print(f"  mean {name:<3} over paths {float(da.mean()):.6g} [{da.attrs.get('units')}]")
    attrs = ds.attrs
    for key in ("result_r", "result_K", "result_residual"):
        if key in attrs:
            print(f"  {key[7:]:<19} {attrs[key]:.6g}")
    if "result_coefficients" in ds:  # the Krusell–Smith algorithm's diagnostics
        b = np.asarray(ds["result_coefficients"].values)
        r2 = np.asarray(ds["result_r2"].values) if "result_r2" in ds else np.full(len(b), np.nan)
        print("  law of motion       log K' = b0(z) + b1(z) log K")
        for i, (row, r2_i) in enumerate(zip(b, r2, strict=True)):
            print(f"    z = {i}             b0 = {row[0]:.6f}  b1 = {row[1]:.6f}  R^2 = {r2_i:.8f}")
    if "result_den_haan_max_percent" in attrs:
        print(
            f"  Den Haan error      max {attrs['result_den_haan_max_percent']:.4f}%, mean "
            f"{attrs['result_den_haan_mean_percent']:.4f}% of K (dynamic forecast)"
        )
    if "result_converged" in attrs:
        state = "converged" if int(attrs["result_converged"]) else "NOT converged"
        change = attrs.get("result_coefficient_change", np.nan)
        print(
            f"  fixed point         {state} after {int(attrs.get('result_iterations', 0))} "
            f"iterations (last coefficient change {change:.3g})"
        )
    return 0


def _plot(args: argparse.Namespace) -> int:
    _check_input_file(args.file)
    _check_output_folder(args.out, "--out")
    from hank_mfg.results import open_solution

    try:
        ds = open_solution(args.file)
    except ValueError as err:
        raise UsageError(str(err)) from err
    import matplotlib.pyplot as plt

    from hank_mfg.plotting import standard_figures

    figures = standard_figures(ds)  # before the folder: a failure here leaves nothing behind
    created = not os.path.isdir(args.out)
    written: list[str] = []
    try:
        os.makedirs(args.out, exist_ok=True)
        for stem, fig in figures.items():
            path = os.path.join(args.out, f"{stem}.png")
            fig.savefig(path, dpi=120)
            written.append(path)
    except BaseException:
        for path in written:
            os.remove(path)
        if created:
            _remove_empty_folders(args.out)
        raise
    finally:
        for fig in figures.values():
            plt.close(fig)
    for path in written:
        print(path)
    return 0


def _remove_empty_folders(path: str) -> None:
    """Remove ``path`` and the parents it made empty (``os.makedirs`` in reverse)."""
    try:
        os.removedirs(path)
    except OSError:
        pass


def _list(args: argparse.Namespace) -> int:
    print(catalogue())
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The main job: Krusell–Smith by its classical algorithm and by RSPG, side by side."""
    from hank_mfg.workflows import (
        check_comparison_settings,
        demo_settings,
        krusell_smith_comparison,
    )

    settings = demo_settings(quick=args.quick)
    for name in ("iterations", "n_wealth", "eval_paths"):  # explicit flags win over --quick
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    try:
        check_comparison_settings(**settings)
    except ValueError as err:
        raise UsageError(str(err)) from err
    _check_demo_outputs(args)
    _check_memory(*_demo_memory(settings))
    import jax

    jax.config.update("jax_enable_x64", True)
    start_compilation_cache(args)
    import matplotlib.pyplot as plt

    from hank_mfg.plotting import plot_comparison, standard_figures

    iterations = settings["iterations"]
    bar = ProgressBar(iterations, "RSPG on krusell_smith", args.quiet)
    if not args.quiet:
        print("Krusell-Smith (1998): classical algorithm, then RSPG on the same game ...")

    def progress(p: Any) -> None:
        bar.update(p.iteration, f"exploitability {p.exploitability:.4g}")

    bar.begin()
    result = krusell_smith_comparison(**settings, seed=args.seed, callback=progress)
    bar.close()
    result.rspg.to_netcdf(args.out)
    stem, ext = os.path.splitext(args.out)
    classical_path = f"{stem}_classical{ext or '.nc'}"
    result.classical.to_netcdf(classical_path)
    os.makedirs(args.figures, exist_ok=True)
    rspg_ds, classical_ds = result.rspg.to_xarray(), result.classical.to_xarray()
    figures = dict(standard_figures(rspg_ds))
    figures["comparison"] = plot_comparison(rspg_ds, classical_ds)
    written = []
    for name, fig in figures.items():
        path = os.path.join(args.figures, f"{name}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    if args.quick:
        print("--quick: a smoke run at small settings; RSPG is far from trained here")
    print(result.render())
    print(f"wrote {args.out} (RSPG) and {classical_path} (Krusell-Smith algorithm)")
    print(f"figures: {args.figures}/ ({len(written)} PNG files)")
    return 0


def _check_demo_outputs(args: argparse.Namespace) -> None:
    """``demo`` writes ``--out``, its ``_classical`` sibling and the ``--figures`` folder."""
    check_output_file(args.out, "--out")
    stem, ext = os.path.splitext(args.out)
    check_output_file(f"{stem}_classical{ext or '.nc'}", "--out (classical results)")
    _check_output_folder(args.figures, "--figures")


def _demo_memory(settings: dict[str, Any]) -> tuple[int, str]:
    """Estimated bytes of the demo: RSPG training and the evaluation on the common paths."""
    n_states = 2 * settings["n_wealth"]  # wealth x (employed, unemployed)
    horizon = settings["horizon"]
    samples = max(settings["n_samples"], settings["eval_paths"])
    nbytes = solve_memory_bytes(n_states, 1, horizon, samples, learning=True)
    return nbytes, f"demo ({n_states} states x {horizon + 1} dates x {samples} paths)"


# --- parser ---------------------------------------------------------------------------------------


def _add_cache_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--compilation-cache",
        default=None,
        metavar="DIR",
        help="folder of compiled XLA programs reused by later runs ('off' to disable; default "
        "$HANK_MFG_COMPILATION_CACHE, else ~/.cache/hank_mfg/xla)",
    )


def start_compilation_cache(args: argparse.Namespace) -> None:
    """Turn JAX's persistent compilation cache on (after the input checks, before any work)."""
    from hank_mfg.core.compilation import enable_compilation_cache

    folder = args.compilation_cache
    if folder is not None and folder.strip().lower() in ("off", "none", ""):
        return
    enable_compilation_cache(folder)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hank-mfg", description="hank_mfg command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="models, presets, solvers and their --set keys").set_defaults(
        run=_list
    )
    solve = sub.add_parser(
        "solve",
        help="solve a model and write a NetCDF results file",
        description="Solve MODEL with --solver and write the solution to --out (NetCDF). "
        "Exit codes: 0 solved, 1 the solve failed, 2 bad input (nothing is written).",
        epilog=catalogue(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    solve.add_argument("model", metavar="MODEL", help=f"one of: {', '.join(MODELS)}")
    solve.add_argument("--solver", required=True, metavar="S", help=f"one of: {', '.join(SOLVERS)}")
    solve.add_argument(
        "--preset",
        default=None,
        metavar="NAME",
        help="calibration preset of a household model (default: its first, see below)",
    )
    solve.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model, preset or solver setting (repeatable; keys and defaults below); "
        "tuples as 64,64, booleans as true/false, none where allowed",
    )
    solve.add_argument(
        "--iterations",
        type=int,
        default=None,
        metavar="N",
        help="training iterations of a learning solver (>= 1; same as --set iterations=N)",
    )
    solve.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="S",
        help="random seed of a solver that draws (same as --set seed=S; default 0)",
    )
    solve.add_argument("--out", required=True, metavar="FILE.nc", help="results file to write")
    solve.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    _add_cache_argument(solve)
    solve.set_defaults(run=_solve)
    ev = sub.add_parser("evaluate", help="print exploitability and aggregates of a results file")
    ev.add_argument("file", metavar="FILE", help="a results file written by hank-mfg")
    ev.set_defaults(run=_evaluate)
    plot = sub.add_parser("plot", help="write the standard figures of a results file")
    plot.add_argument("file", metavar="FILE", help="a results file written by hank-mfg")
    plot.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG files")
    plot.set_defaults(run=_plot)
    demo = sub.add_parser(
        "demo", help="main job: Krusell-Smith by its classical algorithm and by RSPG"
    )
    demo.add_argument("--out", default="ks.nc", metavar="FILE.nc", help="RSPG results file")
    demo.add_argument("--figures", default="figures", metavar="DIR", help="figure folder")
    demo.add_argument(
        "--iterations", type=int, default=None, help="RSPG iterations (>= 1; default 1600)"
    )
    demo.add_argument(
        "--n-wealth", type=int, default=None, help="wealth grid points (>= 10; default 100)"
    )
    demo.add_argument(
        "--eval-paths", type=int, default=None, help="common TFP paths (>= 1; default 16)"
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="smoke run at small settings (about 12 s once compiled programs are cached)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_cache_argument(demo)
    demo.set_defaults(run=_demo)
    from hank_mfg.cli_sequence import add_commands

    add_commands(sub, _add_cache_argument)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hank-mfg``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except UsageError as err:
        print(f"hank-mfg: error: {err}", file=sys.stderr)
        return 2
    except SolveFailed as err:
        print(f"hank-mfg: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
