"""The sequence-space commands: ``hank-mfg irf`` and ``hank-mfg transition``."""

from __future__ import annotations

import numpy as np
import pytest

import hank_mfg  # noqa: F401  (float64)
from hank_mfg.cli import main
from hank_mfg.cli_sequence import SEQUENCE_MODEL_NAMES
from hank_mfg.models.sequence_models import SEQUENCE_MODELS
from hank_mfg.results import open_solution

SMALL = ["--set", "n_wealth=30", "--set", "n_income=2", "--set", "wealth_max=60", "--horizon", "80"]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_the_command_line_names_every_built_in_sequence_model():
    assert set(SEQUENCE_MODEL_NAMES) == set(SEQUENCE_MODELS)


def test_irf_writes_labelled_impulse_responses(tmp_path, capsys):
    out = tmp_path / "irf.nc"
    argv = ["irf", "krusell_smith_ssj", "--shock", "Z=1%,0.8", "--shock", "beta=-1e-4,0.7"]
    assert main([*argv, *SMALL, "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    ds = open_solution(out)
    assert ds.attrs["hank_mfg_kind"] == "irf" and list(ds["shock"].values) == ["Z", "beta", "all"]
    assert ds["K"].dims == ("shock", "time") and ds.sizes["time"] == 80
    assert ds["r"].attrs["units"] == "1 per period" and ds["r"].attrs["deviation"] == "absolute"
    Z = ds.attrs["value_Z"]
    np.testing.assert_allclose(ds["shock_path"].sel(shock="Z").values[:2], [0.01 * Z, 0.008 * Z])
    assert ds["K"].sel(shock="Z").values[10] > 0 > ds["K"].sel(shock="beta").values[10]
    np.testing.assert_allclose(
        ds["K"].sel(shock="all"), ds["K"].sel(shock="Z") + ds["K"].sel(shock="beta"), atol=1e-14
    )


def test_transition_writes_the_reform_and_its_welfare(tmp_path, capsys):
    out = tmp_path / "reform.nc"
    argv = ["transition", "fiscal_transfers", "--set", "tau=0.3", *SMALL, "--out", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "Newton step 0" in err and "welfare (consumption equivalent)" in err
    ds = open_solution(out)
    assert ds.attrs["hank_mfg_kind"] == "transition" and ds.attrs["value_tau"] == 0.3
    assert ds.attrs["initial_tau"] == 0.25
    assert ds["welfare"].sel(group="bottom 10%") > ds["welfare"].sel(group="top 10%")
    # 80 quarters: most of the way to the new steady state
    assert abs(float(ds["K"].values[0, -1])) < 1e-2 * abs(
        ds.attrs["initial_K"] - ds.attrs["value_K"]
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["irf", "aiyagari", "--shock", "Z=0.01,0.8"], "unknown sequence-space model 'aiyagari'"),
        (["irf", "krusell_smith_ssj", "--shock", "Z=0.01"], "--shock takes NAME=SIZE,RHO"),
        (["irf", "krusell_smith_ssj", "--shock", "Z=0.01,1.0"], "RHO must be in \\(-1, 1\\)"),
        (["irf", "krusell_smith_ssj", "--shock", "Z=nan,0.5"], "the size must be finite"),
        (
            ["irf", "krusell_smith_ssj", "--shock", "G=0.01,0.5"],
            "model 'krusell_smith_ssj' has no shock 'G'",
        ),
        (["irf", "krusell_smith_ssj"], "give at least one --shock"),
        (["irf", "krusell_smith_ssj", "--shock", "Z=1,0.5", "--horizon", "1"], "--horizon must be"),
        (
            ["irf", "fiscal_transfers", "--shock", "Z=1,0.5", "--set", "tau=0.3"],
            "use 'hank-mfg transition'",
        ),
        (
            ["transition", "fiscal_transfers", "--set", "tax=0.3"],
            "--set tax: not a setting or an input",
        ),
        (["transition", "fiscal_transfers", "--set", "n_wealth=5"], "n_wealth must be >= 10"),
        (["transition", "fiscal_transfers"], "give a reform"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, capsys, argv, message):
    out = tmp_path / "x.nc"
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("hank-mfg: error:")
    import re

    assert re.search(message, line), line
    assert not out.exists()
