"""The main job, ``hank-mfg demo --quick``: files, figures and the comparison table."""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from hank_mfg import plotting, results
from hank_mfg.cli import main
from hank_mfg.workflows import EXPLOITABILITY_MEANING

ROOT = Path(__file__).resolve().parents[1]


def _run(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def fresh_interpreters(items, width):
    """``hank-mfg demo --quick`` in a fresh interpreter, as a user runs it, writing into a new
    folder: its exit code, output, errors and the folder."""
    folder = Path(tempfile.mkdtemp(prefix="demo"))
    out, figures = folder / "ks.nc", folder / "figures"
    argv = ["demo", "--quick", "--quiet", "--out", str(out), "--figures", str(figures)]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "hank_mfg", *argv],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout, proc.stderr, folder


@pytest.fixture(scope="module")
def demo(fresh_runs):
    """One quick run of the demo shared by the tests below."""
    code, printed, errors, folder = fresh_runs
    try:
        assert code == 0, errors[-4000:]
        out, figures = folder / "ks.nc", folder / "figures"
        yield {
            "printed": printed,
            "out": out,
            "folder": folder,
            "figures": figures,
            "rspg": results.open_solution(out),
            "classical": results.open_solution(folder / "ks_classical.nc"),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _row(printed, label):
    """``(exploitability, % of consumption, mean K, seconds)`` of a policy's table row."""
    (line,) = [line for line in printed.splitlines() if line.startswith(f"{label:<24}")]
    return [float(x) for x in line[len(label) :].split()]


def test_the_table_gives_both_exploitabilities_as_utility_and_consumption(demo):
    printed = demo["printed"]
    assert "same paths: True" in printed and EXPLOITABILITY_MEANING in printed
    assert "% of consumption" in printed and "gap in mean capital" in printed
    for label, ds in (("Krusell-Smith algorithm", demo["classical"]), ("RSPG", demo["rspg"])):
        expl, lam, mean_K, seconds = _row(printed, label)
        np.testing.assert_allclose(expl, float(ds["exploitability"]), rtol=1e-3, atol=1e-12)
        np.testing.assert_allclose(
            lam, float(ds["exploitability_consumption"]), rtol=1e-2, atol=1e-12
        )
        assert ds["exploitability_consumption"].attrs["units"] == "percent of consumption"
        np.testing.assert_allclose(mean_K, float(ds["K"].mean()), rtol=1e-3)
        assert seconds > 0


def test_both_files_share_the_paths_and_the_figures_are_saved(demo):
    rspg, classical = demo["rspg"], demo["classical"]
    assert rspg.attrs["solver"] == "rspg" and classical.attrs["solver"] == "krusell-smith"
    assert np.array_equal(rspg["z"].values, classical["z"].values)
    names = {p.stem for p in demo["figures"].glob("*.png")}
    assert len(names) >= 4
    # the comparison figure is saved wherever the plotting module draws one
    assert ("comparison" in names) == hasattr(plotting, "plot_comparison")


def test_evaluate_prints_the_classical_diagnostics(demo):
    code, printed = _run(["evaluate", str(demo["folder"] / "ks_classical.nc")])
    assert code == 0
    assert "law of motion" in printed and "R^2" in printed and "Den Haan" in printed
    assert "% of consumption" in printed
    b = demo["classical"]["result_coefficients"].values
    assert f"b1 = {b[0, 1]:.6f}" in printed
    code, printed = _run(["evaluate", str(demo["out"])])
    assert code == 0 and "% of consumption" in printed and "law of motion" not in printed


def test_quick_settings_give_way_to_explicit_flags(tmp_path, capsys):
    out = tmp_path / "ks.nc"
    assert main(["demo", "--quick", "--iterations", "0", "--quiet", "--out", str(out)]) == 2
    assert "iterations must be an integer >= 1" in capsys.readouterr().err
    assert not out.exists()


def test_both_files_say_how_they_were_scored(demo):
    """Same common paths, the same evaluation seed and horizon, named dims and units."""
    ds, classical = demo["rspg"], demo["classical"]
    assert ds.attrs["solver"] == "rspg" and classical.attrs["solver"] == "krusell-smith"
    assert np.array_equal(ds["z"].values, classical["z"].values)
    for f in (ds, classical):
        settings = json.loads(f.attrs["settings"])
        assert settings["evaluation_samples"] == 8 == f.attrs["evaluation_paths"]
        assert settings["evaluation_horizon"] == f.attrs["evaluation_horizon"] == f.sizes["period"]
        assert settings["evaluation_seed"] == 10_000
        assert not [d for d in f.dims if re.search(r"_dim\d+$", str(d))]
    assert classical["result_coefficients"].dims == ("tfp_state", "coefficient")
    assert classical["result_K"].attrs["units"] == "consumption good"
    assert classical.attrs["param_employment_duration_z"].tolist() == [8.0, 8.0]
