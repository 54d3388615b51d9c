"""The README's python examples run end to end (solve, NetCDF, figures) with the package's
defaults: in a fresh interpreter, without this suite's float64 switch, at small settings."""

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SMALL_TRAINING = (
    "SPGConfig(iterations=2, n_samples=2, eval_every=2, eval_samples=1, hidden=(8,), "
    "embedding=4, rank=4)"
)
#: Per example, in README order: (README text, replacement) making it small. Each text must
#: occur, so that an edited README fails here rather than run at full size.
SMALL = [
    [
        (
            "LinearQuadratic(common_noise=True)",
            "LinearQuadratic(n_states=15, horizon=6, common_noise=True)",
        ),
        ("n_samples=8)", "n_samples=2)"),
        ("SPGConfig(iterations=200)", SMALL_TRAINING),
    ],
    [
        ("rouwenhorst(rho=0.95, sigma=0.15, n=5)", "rouwenhorst(rho=0.95, sigma=0.15, n=3)"),
        ("geometric_grid(0.0, 150.0, 150, shift=1.0)", "geometric_grid(0.0, 150.0, 30, shift=1.0)"),
        ("horizon=100,", "horizon=5,"),
        ("SPGConfig(iterations=200)", SMALL_TRAINING),
    ],
    [
        ("n=7)", "n=3)"),
        ("wealth_grid(200.0, 300)", "wealth_grid(200.0, 40)"),
    ],
]

RUNNER = textwrap.dedent(
    """
    import glob, json, sys
    import matplotlib.pyplot as plt
    exec(compile(sys.argv[1], "README example", "exec"), {"__name__": "readme"})
    import jax
    from hank_mfg import open_solution, plotting
    report = {"x64": bool(jax.config.jax_enable_x64), "figures": {}}
    for path in sorted(glob.glob("*.nc")):
        report["figures"][path] = sorted(plotting.standard_figures(open_solution(path)))
        plt.close("all")
    print("REPORT" + json.dumps(report))
    """
)
X64 = "import hank_mfg, jax; print(jax.config.jax_enable_x64)"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env.update(PYTHONPATH=str(ROOT), MPLBACKEND="Agg", JAX_PLATFORMS="cpu", **extra)
    return env


def _examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) == len(SMALL), "a README python example has no small settings here"
    small = []
    for code, changes in zip(blocks, SMALL, strict=True):
        for text, replacement in changes:
            assert text in code, f"README example no longer contains {text!r}"
            code = code.replace(text, replacement)
        small.append(code)
    return small


def fresh_interpreters(items, width):
    """Each README example in a fresh interpreter and its own folder, and the package imported
    under an explicit JAX_ENABLE_X64, at most ``width()`` interpreters at a time (they compile,
    mostly on one core each): what each printed."""
    jobs = {f"example{i}": code for i, code in enumerate(_examples())}
    jobs.update({f"x64={setting}": setting for setting in ("0", "1")})
    pending, running, results = list(jobs), {}, {}
    with tempfile.TemporaryDirectory(prefix="readme") as folder:

        def start(name):
            cwd = Path(folder, name)
            cwd.mkdir()
            if name.startswith("example"):
                cmd, env = [sys.executable, "-c", RUNNER, jobs[name]], _env()
            else:
                cmd, env = [sys.executable, "-c", X64], _env(JAX_ENABLE_X64=jobs[name])
            with open(cwd / "stdout", "w") as out, open(cwd / "stderr", "w") as err:
                proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
            return proc, time.monotonic()

        try:
            while pending or running:
                while pending and len(running) < width():
                    name = pending.pop(0)
                    running[name] = start(name)
                for name, (proc, started) in list(running.items()):
                    if proc.poll() is None and time.monotonic() - started < 300:
                        continue
                    del running[name]
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                        raise AssertionError(f"{name}: no answer in 300 s")
                    err = Path(folder, name, "stderr").read_text()
                    assert proc.returncode == 0, f"{name}: {err[-4000:]}"
                    results[name] = Path(folder, name, "stdout").read_text()
                time.sleep(0.1)
        finally:
            for proc, _ in running.values():
                proc.kill()
                proc.wait()
    return results


def test_readme_examples_solve_save_and_plot_with_the_defaults(fresh_runs):
    reports = [json.loads(fresh_runs[f"example{i}"].split("REPORT")[-1]) for i in range(len(SMALL))]
    assert all(r["x64"] for r in reports), "household economies need float64 by default"
    lq, household, blocks = (r["figures"] for r in reports)
    assert blocks == {}  # the steady-state example writes no results file
    assert set(lq) == {"lq.nc"} and "exploitability" in lq["lq.nc"]
    assert set(household) == {"my_economy.nc"}
    assert {"consumption_policy", "lorenz", "aggregates"} <= set(household["my_economy.nc"])


@pytest.mark.parametrize(("setting", "x64"), [("0", False), ("1", True)])
def test_an_explicit_jax_enable_x64_is_respected(fresh_runs, setting, x64):
    assert fresh_runs[f"x64={setting}"].split()[-1] == str(x64)


def test_the_readme_model_is_short():
    """The model itself (blocks, then the economy), before it is solved, fits in 20 lines."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    model_block = next(b for b in blocks if "BlockEconomy(" in b)
    model = model_block.split("from hank_mfg.solvers.rspg")[0]
    assert len(model.strip().splitlines()) < 20
