"""Calibration to equilibrium targets: β for an interest rate or a capital–output ratio."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from hank_mfg.calibration import aiyagari_1994
from hank_mfg.solvers import calibrate as targets_module
from hank_mfg.solvers.calibrate import (
    calibrate_beta,
    calibrate_household,
    target_interest_rate,
)

TARGET_TOL = 1e-8


@pytest.fixture(scope="module")
def small_aiyagari():
    """Aiyagari (1994) at rho = 0.6, sigma = 0.2, crra = 3 on a 60-point wealth grid."""
    return aiyagari_1994(n_wealth=60)


def test_calibrate_beta_hits_interest_rate(small_aiyagari):
    cal, eq = calibrate_beta(small_aiyagari, target_r=0.03, bounds=(0.95, 0.99))
    assert abs(eq.r - 0.03) < TARGET_TOL
    assert abs(eq.residual) < 1e-8 * eq.K  # capital market clears
    # only beta changed: up from 0.96 (whose rate is about 3.9 %), below 1 / (1 + r)
    same = dataclasses.replace(cal.household, beta=small_aiyagari.household.beta)
    assert same.to_dict() == small_aiyagari.household.to_dict()
    assert small_aiyagari.household.beta < cal.household.beta < 1.0 / 1.03


def test_calibrate_beta_hits_capital_output_ratio(small_aiyagari):
    # K/Y = 3 means r = alpha / 3 - delta = 4 % (Cobb-Douglas); bounds below 1/(1 + r)
    assert target_interest_rate(small_aiyagari, target_capital_output=3.0) == pytest.approx(0.04)
    cal, eq = calibrate_beta(small_aiyagari, target_capital_output=3.0, bounds=(0.94, 0.96))
    assert abs(eq.K / eq.Y - 3.0) < TARGET_TOL
    assert abs(eq.r - 0.04) < TARGET_TOL
    assert 0.94 < cal.household.beta < 0.96


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({}, "target_r"),
        ({"target_r": 0.03, "target_capital_output": 3.0}, "target_capital_output"),
        ({"target_r": -0.08}, "target_r"),  # r = -delta: infinite capital demand
        ({"target_r": 0.3}, "target_r"),  # above 1/beta_low - 1 = 0.25 for bounds (0.8, ...)
        ({"target_r": float("nan")}, "target_r"),
        ({"target_capital_output": 0.0}, "target_capital_output"),
        ({"target_capital_output": -3.0}, "target_capital_output"),
        ({"target_r": 0.03, "bounds": (0.97, 0.95)}, "bounds"),
        ({"target_r": 0.03, "bounds": (0.0, 0.99)}, "bounds[0] (beta)"),
        ({"target_r": 0.03, "bounds": (0.9, 1.2)}, "bounds[1] (beta)"),
        ({"target_r": 0.03, "bounds": 0.96}, "bounds"),
        ({"target_r": 0.03, "tol": 0.0}, "tol"),
    ],
)
def test_calibrate_beta_rejects_bad_inputs(small_aiyagari, kwargs, names):
    with pytest.raises(ValueError, match=re.escape(names)):
        calibrate_beta(small_aiyagari, **kwargs)


@pytest.mark.parametrize("parameter", ["gamma", "income", "n_wealth", ""])
def test_calibrate_household_rejects_unknown_parameter(small_aiyagari, parameter):
    with pytest.raises(ValueError, match="parameter"):
        calibrate_household(small_aiyagari, parameter, target_r=0.03, bounds=(1.0, 5.0))


def test_calibrate_household_rejects_economies_without_income_process():
    from hank_mfg.calibration import krusell_smith_1998

    with pytest.raises(ValueError, match="income"):
        calibrate_beta(krusell_smith_1998(), target_r=0.01)


def test_calibrate_beta_reports_unattainable_target(small_aiyagari):
    # at beta <= 0.9 households hold far too little wealth for a 3 % rate
    with pytest.raises(ValueError, match="no beta in bounds"):
        calibrate_beta(small_aiyagari, target_r=0.03, bounds=(0.85, 0.9))


@pytest.mark.slow
def test_calibrate_household_crra_hits_interest_rate(small_aiyagari):
    # risk aversion above 3 raises precautionary wealth and lowers the rate below 3.9 %
    cal, eq = calibrate_household(small_aiyagari, "crra", target_r=0.035, bounds=(1.0, 8.0))
    assert abs(eq.r - 0.035) < TARGET_TOL
    assert small_aiyagari.household.crra < cal.household.crra < 8.0
    assert cal.household.beta == small_aiyagari.household.beta


def test_the_calibration_package_imports_nothing_above_it():
    """Calibration is data: none of its modules imports models or solvers (at any level)."""
    folder = Path(targets_module.__file__).parents[1] / "calibration"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not name.startswith(("hank_mfg.models", "hank_mfg.solvers")), (path, name)
