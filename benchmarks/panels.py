"""Time and memory of writing a simulated household panel to disk in household chunks.

The economy is Aiyagari with a government (``aiyagari_fiscal``: labour tax, transfers, debt)
at its steady state, on the package's default grid (500 wealth × 7 income points) unless
``--n-wealth`` / ``--n-income`` say otherwise. The steady state is solved first (not timed);
then :func:`hank_mfg.panels.write_panel` draws ``N`` households over ``T`` periods from the
model's kernel and writes them to NetCDF (or zarr) one chunk of households at a time.

Reported: ``panel_seconds`` (wall time of ``write_panel``, compilation included),
``panel_peak_mb`` (peak resident memory of the process while writing, MB; the steady state's
own peak is excluded where Linux lets the peak be reset), ``panel_increment_mb`` (that peak less
the resident memory before writing), ``seconds_per_household_period``, the file's size and the
chunk size. With ``--statistics`` the file is then opened lazily in dask chunks and the
cross-sectional mean and sd of consumption and mean wealth are computed at every date over all
households (``statistics_seconds``, ``statistics_peak_mb``: memory bounded by the chunks, not
the panel). Usage::

    python benchmarks/panels.py --json                    # N = 10^6, T = 200
    python benchmarks/panels.py --engine zarr --statistics --json
    python benchmarks/panels.py --households 20000 --json # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # bench_common.py beside this script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    environment_info,
    finish_memory_case,
    json_default,
    start_memory_case,
    stdout_to_stderr,
)


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    return os.path.getsize(path)


def _statistics(panels: Any, path: str, chunk: int) -> dict[str, Any]:
    """Statistics of the whole panel from its file opened lazily in dask chunks of ``chunk``
    households: the cross-sectional mean and sd of consumption and the mean wealth at each
    date (reductions over households, one chunk in memory per worker); their seconds and the
    process's peak resident memory while computing them."""
    import dask

    mem = start_memory_case()
    t0 = time.perf_counter()
    with panels.open_panel(path, chunks={"household": chunk}) as ds:
        c, a = ds["consumption"], ds["wealth"]
        mean_c, sd_c, mean_a = dask.compute(
            c.mean("household").data, c.std("household").data, a.mean("household").data
        )
    seconds = time.perf_counter() - t0
    memory = finish_memory_case(mem)
    return {
        "statistics_seconds": seconds,
        "statistics_peak_mb": memory["peak_mb"],
        "statistics_increment_mb": memory["increment_mb"],
        "mean_consumption_by_period_first": [float(v) for v in mean_c[:5]],
        "mean_consumption_last": float(mean_c[-1]),
        "sd_consumption_last": float(sd_c[-1]),
        "mean_wealth_last": float(mean_a[-1]),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10**6, help="N (default 10^6)")
    parser.add_argument("--periods", type=int, default=200, help="T (default 200)")
    parser.add_argument("--chunk", type=int, default=None, help="households per chunk")
    parser.add_argument("--n-wealth", type=int, default=500)
    parser.add_argument("--n-income", type=int, default=7)
    parser.add_argument("--engine", choices=("netcdf", "zarr"), default="netcdf")
    parser.add_argument("--float32", action="store_true", help="real variables in float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", default=None, help="folder of the file (default: a temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the file")
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="then compute statistics of the whole panel from the file in dask chunks",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    with stdout_to_stderr(args.json):
        import numpy as np

        import hank_mfg  # noqa: F401  (float64)
        from hank_mfg import panels
        from hank_mfg.models.block_models import aiyagari_fiscal
        from hank_mfg.solvers.steady_state import steady_state

        t0 = time.perf_counter()
        ss = steady_state(*aiyagari_fiscal(n_income=args.n_income, n_wealth=args.n_wealth))
        steady_seconds = time.perf_counter() - t0
        source = panels.steady_state_policy(ss)
        dtype = np.float32 if args.float32 else np.float64
        chunk = args.chunk or panels.default_chunk_households(source, args.periods, dtype)
        folder = tempfile.mkdtemp(prefix="panel-bench-", dir=args.dir)
        name = "panel.zarr" if args.engine == "zarr" else "panel.nc"
        path = os.path.join(folder, name)
        in_memory = panels.panel_memory_bytes(source, args.households, args.periods, dtype)
        try:
            mem = start_memory_case()
            t0 = time.perf_counter()
            panels.write_panel(
                source,
                path,
                args.households,
                args.periods,
                args.seed,
                chunk_households=chunk,
                engine=args.engine,
                dtype=dtype,
            )
            seconds = time.perf_counter() - t0
            memory = finish_memory_case(mem)
            size = _size(path)
            with panels.open_panel(path) as ds:  # a first chunk read back, lazily
                head = ds["consumption"].isel(household=slice(0, min(chunk, 1000))).values
                mean_c_first = float(np.mean(head))
            statistics = _statistics(panels, path, chunk) if args.statistics else {}
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
        hp = args.households * args.periods
        out = {
            "benchmark": "panels",
            "model": ss.model.name,
            "grid": [args.n_wealth, args.n_income],
            "households": args.households,
            "periods": args.periods,
            "chunk_households": chunk,
            "engine": args.engine,
            "dtype": np.dtype(dtype).name,
            "steady_state_seconds": steady_seconds,
            "panel_seconds": seconds,
            "seconds_per_household_period": seconds / hp,
            "panel_peak_mb": memory["peak_mb"],
            "panel_increment_mb": memory["increment_mb"],
            "baseline_mb": memory["baseline_mb"],
            "peak_reset": memory["peak_reset"],
            "in_memory_estimate_mb": in_memory / 1e6,
            "file_mb": size / 1e6,
            "file_kept": path if args.keep else None,
            "mean_consumption_first_households": mean_c_first,
            "steady_state_C": ss["C"],
            **statistics,
            "environment": environment_info(),
        }
    if args.json:
        print(json.dumps(out, default=json_default))
    else:
        for key, value in out.items():
            print(f"{key:36s} {value}")
    return out


if __name__ == "__main__":
    main()
