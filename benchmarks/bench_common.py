"""Helpers every benchmark script shares: quiet stdout for ``--json``, the environment line, and
the peak memory of a case run in a fresh interpreter."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


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


def json_default(obj: Any) -> Any:
    """``json.dumps`` fallback: NumPy scalars and arrays as plain values, anything else as text."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_info(**extra: Any) -> dict[str, Any]:
    """Versions and machine facts the timings depend on, then ``extra``."""
    import jax  # here, so that a memory case's launcher need not import JAX to read its memory

    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_used": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "jax_backend": jax.default_backend(),
        **extra,
    }


def ssj_krusell_smith_calibration(n_income: int, n_wealth: int, wealth_max: float) -> dict:
    """SSJ's Krusell–Smith example calibration (its notebook's) at the given grid sizes."""
    return {
        "eis": 1.0,
        "delta": 0.025,
        "alpha": 0.11,
        "rho": 0.966,
        "sigma": 0.5,
        "Y": 1.0,
        "L": 1.0,
        "nS": n_income,
        "nA": n_wealth,
        "amax": wealth_max,
        "r": 0.01,
    }


def ssj_comparison_main(
    description: str,
    run: Any,
    argv: Sequence[str] | None = None,
    reps: int = 4,
    counts: dict[str, tuple[int, str]] | None = None,
) -> int:
    """The command line of a script comparing hank_mfg with the Sequence-Space Jacobian
    toolkit: ``--json`` (one object on stdout) or a table; ``--reps`` timed calls and each
    further count in ``counts`` (name -> (default, help), e.g. ``autodiff_reps``), passed to
    ``run(reps, **counts)``; SSJ missing gives ``ssj_error`` instead of figures."""
    import argparse

    counts = counts or {}
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--reps", type=int, default=reps, help="timed calls of each")
    for name, (default, text) in counts.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default, help=text)
    args = parser.parse_args(argv)
    with stdout_to_stderr(args.json):
        res: dict[str, Any] = {"environment": environment_info()}
        try:
            import sequence_jacobian  # noqa: F401
        except ImportError as err:
            res["ssj_error"] = f"sequence-jacobian not installed ({err}); pip install -e .[bench]"
        else:
            res.update(run(args.reps, **{name: getattr(args, name) for name in counts}))
    if args.json:
        print(json.dumps(res, default=json_default))
        return 0
    for key, value in res.items():
        if key == "environment":
            continue
        if isinstance(value, np.ndarray):
            value = f"[{', '.join(f'{v:.6g}' for v in value[:4])}, ...]"
        print(f"{key:32s} {value}")
    return 0


# --- memory of one case, measured in a fresh interpreter ----------------------------------------
#
# ``resource.getrusage(...).ru_maxrss`` cannot measure a case run as a child process: Linux carries
# a process's peak across ``execve`` (and RUSAGE_CHILDREN takes the largest such figure), so a
# child started by a 1.5 GB benchmark process reports 1.5 GB whatever it does. The figures below
# are those of the child's own address space, which it gets new at ``execve``.

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def resident_memory_mb() -> dict[str, float]:
    """This process's resident memory now (``rss_mb``) and its peak so far (``peak_mb``), in MB.

    Read from ``/proc/self/status`` (``VmRSS``, ``VmHWM``; Linux only, ``OSError`` elsewhere).
    """
    fields = {}
    with open(_STATUS) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = float(value.split()[0]) / 1024.0  # kB -> MB
    if len(fields) != 2:
        raise OSError(f"{_STATUS} has no VmRSS/VmHWM lines: cannot measure resident memory")
    return {"rss_mb": fields["VmRSS"], "peak_mb": fields["VmHWM"]}


def start_memory_case() -> dict[str, Any]:
    """Mark the start of a case (after its imports): the baseline, and the peak reset to it.

    Returns ``rss_mb`` (resident memory now: the baseline), ``import_peak_mb`` (the peak so far)
    and ``peak_reset`` (whether the kernel's peak could be reset to the current resident size,
    Linux ≥ 4.0; when not, the case's peak below includes the imports' own peak).
    """
    before = resident_memory_mb()
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    return {"rss_mb": before["rss_mb"], "import_peak_mb": before["peak_mb"], "peak_reset": reset}


def finish_memory_case(start: dict[str, Any]) -> dict[str, Any]:
    """The case's memory (MB) since ``start`` (from ``start_memory_case``).

    ``peak_mb``: peak resident memory of the process during the case; ``baseline_mb``: resident
    memory after the imports, before the case; ``increment_mb``: ``peak_mb - baseline_mb``, the
    case's own memory; ``import_peak_mb`` and ``peak_reset`` as in ``start_memory_case``.
    """
    peak = resident_memory_mb()["peak_mb"]
    return {
        "peak_mb": peak,
        "baseline_mb": start["rss_mb"],
        "increment_mb": peak - start["rss_mb"],
        "import_peak_mb": start["import_peak_mb"],
        "peak_reset": start["peak_reset"],
    }


def run_fresh_python(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run ``python ARGS`` in a new interpreter; the last JSON object it printed on stdout.

    The child's memory starts small whatever this process holds (see ``start_memory_case``).
    A failed child (non-zero exit, no JSON line, time-out) gives ``{"error": ...}`` with the last
    line of its stderr instead. ``timeout_s``: wall seconds, or ``None`` for no limit.
    """
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0 seconds or None, got {timeout_s!r}")
    cmd = [sys.executable, *args]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, check=False, env=env, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return {"error": last}
    return json.loads(lines[-1])
