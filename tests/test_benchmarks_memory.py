"""Memory of a benchmark case, measured in a fresh interpreter (``benchmarks/bench_common.py``).

The children import NumPy only, so each runs in well under a second.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    """Import ``benchmarks/<name>.py`` as a module (the benchmarks folder is not a package)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_common = _load("bench_common")


def _allocating_child(megabytes: int) -> list[str]:
    """``python`` arguments of a case that holds a touched array of ``megabytes`` MB."""
    code = (
        f"import sys; sys.path.insert(0, {str(BENCH)!r})\n"
        "import json, numpy as np\n"
        "from bench_common import finish_memory_case, start_memory_case\n"
        "mem = start_memory_case()\n"
        f"a = np.ones({megabytes} * 2**20 // 8)\n"
        "print(json.dumps(finish_memory_case(mem)))\n"
    )
    return ["-c", code]


@pytest.fixture(scope="module")
def cases() -> dict[int, dict]:
    return {mb: bench_common.run_fresh_python(_allocating_child(mb)) for mb in (20, 200)}


def test_peak_grows_with_the_child_allocation(cases):
    small, large = cases[20], cases[200]
    assert "error" not in small and "error" not in large
    # the 180 MB more that the larger case holds show in its peak and in its own increment
    assert 160 < large["peak_mb"] - small["peak_mb"] < 220
    assert 190 < large["increment_mb"] < 240
    assert 15 < small["increment_mb"] < 60
    assert large["peak_mb"] == pytest.approx(large["baseline_mb"] + large["increment_mb"])
    # the same imports: the same baseline, whatever the case then does
    assert abs(large["baseline_mb"] - small["baseline_mb"]) < 20


def test_child_peak_excludes_the_parent_memory():
    # ru_maxrss would report at least this process's peak: Linux keeps it across execve
    held = np.ones(300 * 2**20 // 8)
    parent_rss = bench_common.resident_memory_mb()["rss_mb"]
    child = bench_common.run_fresh_python(_allocating_child(20))
    assert parent_rss > 300
    assert child["peak_mb"] < child["baseline_mb"] + 60
    assert child["peak_mb"] < parent_rss - 250
    del held


def test_failed_child_and_bad_timeout():
    failed = bench_common.run_fresh_python(["-c", "raise SystemExit('no case here')"])
    assert failed == {"error": "no case here"}
    silent = bench_common.run_fresh_python(["-c", "print('not json')"])
    assert "error" in silent
    with pytest.raises(ValueError, match="timeout_s"):
        bench_common.run_fresh_python(["-c", "pass"], timeout_s=0)


def test_remat_saving_from_two_cases():
    rspg = _load("rspg")
    full = {"peak_mb": 900.0, "baseline_mb": 300.0, "increment_mb": 600.0}
    remat = {"peak_mb": 450.0, "baseline_mb": 300.0, "increment_mb": 150.0}
    saving = rspg.remat_saving(full, remat)
    assert saving["saving_mb"] == pytest.approx(450.0)
    assert saving["peak_ratio"] == pytest.approx(0.5)
    assert saving["increment_ratio"] == pytest.approx(0.25)
    missing = {"saving_mb": None, "peak_ratio": None, "increment_ratio": None}
    assert rspg.remat_saving(None, remat) == missing
    assert rspg.remat_saving({"error": "killed"}, remat) == missing
