"""Every notebook runs top to bottom, with small settings in its parameters cell."""

from __future__ import annotations

import asyncio
import pathlib
import tempfile

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"

#: Small settings that replace each notebook's parameters cell.
SMALL = {
    "aiyagari_stationary": "n_wealth = 60\nrho, sigma, crra = 0.9, 0.2, 3.0\n"
    "risk_sigmas = [0.1, 0.4]\nrisk_rhos = [0.0, 0.9]",
    "krusell_smith_rspg": "n_wealth = 20\niterations = 20\neval_paths = 2\nout_file = 'ks_rspg.nc'",
    "seed_benchmarks": "iterations = 20\neval_every = 10",
    "define_your_model": "n_wealth = 40\nn_income = 3\niterations = 20",
    "policy_analysis": "n_wealth = 40\nn_income = 3\nT = 120",
    "hank_monetary_policy": "n_wealth = 30\nn_income = 2\nT = 60",
    "econometrics": "n_wealth = 40\nn_income = 3\nhouseholds = 2000\nperiods = 10\nT = 80\n"
    "T_obs = 120",
}


def test_every_notebook_is_covered():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == set(SMALL)


def fresh_interpreters(items, width):
    """Execute the selected notebooks, each in its own kernel and folder, at most ``width()``
    kernels at a time: per notebook, the executed notebook, its cells tagged 'parameters' and
    the exception its execution raised (``None`` if none)."""
    selected = {item.callspec.params["name"] for item in items if "name" in item.fixturenames}
    books, pending = {}, []
    for name in sorted(selected):
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        books[name] = (book, tagged)
        if len(tagged) == 1:
            tagged[0].source = SMALL[name]
            pending.append(name)
    raised = {}
    with tempfile.TemporaryDirectory(prefix="notebooks") as folder:

        async def execute(name):
            path = pathlib.Path(folder, name)
            path.mkdir()
            client = nbclient.NotebookClient(
                books[name][0],
                timeout=600,
                kernel_name="python3",
                resources={"metadata": {"path": str(path)}},
            )
            await client.async_execute()

        async def execute_all():
            running = {}
            while pending or running:
                while pending and len(running) < width():
                    name = pending.pop(0)
                    running[asyncio.ensure_future(execute(name))] = name
                done, _ = await asyncio.wait(
                    running, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    name = running.pop(task)
                    if task.exception() is not None:
                        raised[name] = task.exception()

        asyncio.run(execute_all())
    return {name: (book, tagged, raised.get(name)) for name, (book, tagged) in books.items()}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs(name, fresh_runs):
    book, tagged, error = fresh_runs[name]
    assert len(tagged) == 1, "each notebook has one cell tagged 'parameters'"
    if error is not None:
        raise error  # CellExecutionError on any failing cell
    errors = [
        out
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
