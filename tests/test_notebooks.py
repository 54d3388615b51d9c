"""Every notebook runs top to bottom, with small settings in its parameters cell."""

from __future__ import annotations

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"

#: Small settings that replace each notebook's parameters cell.
SMALL = {
    "aiyagari_stationary": "n_wealth = 60\nrho, sigma, crra = 0.9, 0.2, 3.0\n"
    "risk_sigmas = [0.1, 0.4]\nrisk_rhos = [0.0, 0.9]",
    "krusell_smith_rspg": "n_wealth = 20\niterations = 20\neval_paths = 2\nout_file = 'ks_rspg.nc'",
    "seed_benchmarks": "iterations = 40\neval_every = 20",
    "define_your_model": "n_wealth = 40\nn_income = 3\niterations = 20",
    "policy_analysis": "n_wealth = 40\nn_income = 3\nT = 120",
    "hank_monetary_policy": "n_wealth = 30\nn_income = 2\nT = 60",
    "econometrics": "n_wealth = 40\nn_income = 3\nhouseholds = 2000\nperiods = 10\nT = 80\n"
    "T_obs = 120",
}


def test_every_notebook_is_covered():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs(name, tmp_path):
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "each notebook has one cell tagged 'parameters'"
    tagged[0].source = SMALL[name]
    client = nbclient.NotebookClient(
        book,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    errors = [
        out
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
