"""Constructors refuse bad input with a ValueError naming the parameter and its range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hank_mfg.calibration import LogAR1TFP, MarkovTFP
from hank_mfg.models import BeachBar, LinearQuadratic, LogAR1Process, MarkovProcess, tfp_process
from hank_mfg.solvers.rl import PPOConfig
from hank_mfg.solvers.spg import SPGConfig

GOOD_PI = [[0.9, 0.1], [0.2, 0.8]]

# rho outside (-1, 1): unit roots, explosive roots, NaN and inf
bad_rho = st.one_of(
    st.floats(min_value=1.0, allow_nan=False),
    st.floats(max_value=-1.0, allow_nan=False),
    st.just(math.nan),
)
bad_sigma = st.one_of(
    st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)


@given(rho=bad_rho)
def test_log_ar1_tfp_refuses_a_bad_rho(rho):
    with pytest.raises(ValueError, match=r"^rho must"):
        LogAR1TFP(rho=rho, sigma=0.01)


@given(sigma=bad_sigma)
def test_log_ar1_tfp_refuses_a_bad_sigma(sigma):
    with pytest.raises(ValueError, match=r"^sigma must"):
        LogAR1TFP(rho=0.9, sigma=sigma)


@given(rho=st.floats(-0.999, 0.999), sigma=st.floats(0.0, 10.0))
def test_log_ar1_process_has_the_calibrations_parameters(rho, sigma):
    spec = LogAR1TFP(rho=rho, sigma=sigma)
    process = LogAR1Process(spec)
    assert (process.rho, process.sigma, process.spec) == (rho, sigma, spec)


def test_log_ar1_tfp_range_is_in_the_message():
    with pytest.raises(ValueError, match=r"rho must lie in \(-1, 1\), got 1.0"):
        LogAR1TFP(rho=1.0, sigma=0.01)
    with pytest.raises(ValueError, match=r"sigma must lie in \[0, inf\)"):
        LogAR1TFP(rho=0.9, sigma=-0.01)
    with pytest.raises(ValueError, match="log_tfp_initial must be a finite number"):
        LogAR1TFP(rho=0.9, sigma=0.01, log_tfp_initial=math.inf)


def test_processes_take_only_their_calibration():
    """One schema: a process's parameters are its calibration object's, validated there."""
    with pytest.raises(ValueError, match="spec must be a LogAR1TFP"):
        LogAR1Process(MarkovTFP(levels=[1.01, 0.99], Pi=GOOD_PI))
    with pytest.raises(ValueError, match="spec must be a MarkovTFP"):
        MarkovProcess(LogAR1TFP(rho=0.9, sigma=0.01))


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("Pi", lambda: MarkovTFP(levels=[1.01, 0.99], Pi=[[0.5, 0.6], [0.5, 0.5]])),
        ("Pi", lambda: MarkovTFP(levels=[1.01, 0.99], Pi=[[1.5, -0.5], [0.5, 0.5]])),
        ("Pi", lambda: MarkovTFP(levels=[1.01, 0.99], Pi=[[np.nan, 1.0], [0.5, 0.5]])),
        ("Pi", lambda: MarkovTFP(levels=[1.01, 0.99, 1.0], Pi=GOOD_PI)),
        ("levels", lambda: MarkovTFP(levels=[1.01, -0.99], Pi=GOOD_PI)),
        ("levels", lambda: MarkovTFP(levels=[1.01, 0.0], Pi=GOOD_PI)),
        ("levels", lambda: MarkovTFP(levels=[1.01, np.inf], Pi=GOOD_PI)),
        ("levels", lambda: MarkovTFP(levels=[1.0, 1.0], Pi=GOOD_PI)),
        ("levels", lambda: MarkovTFP(levels=[[1.01, 0.99]], Pi=GOOD_PI)),
        ("initial_index", lambda: MarkovProcess(MarkovTFP([1.01, 0.99], GOOD_PI), 2)),
        ("initial_index", lambda: MarkovProcess(MarkovTFP([1.01, 0.99], GOOD_PI), -1)),
        ("initial_index", lambda: MarkovProcess(MarkovTFP([1.01, 0.99], GOOD_PI), 0.5)),
        ("initial_index", lambda: MarkovProcess(MarkovTFP([1.01, 0.99], GOOD_PI), True)),
    ],
)
def test_markov_tfp_and_process_refuse_bad_input(name, build):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        build()


@given(
    rows=st.lists(st.lists(st.floats(-1.0, 2.0), min_size=3, max_size=3), min_size=3, max_size=3),
    normalise=st.booleans(),
)
def test_markov_tfp_accepts_exactly_stochastic_matrices(rows, normalise):
    levels = [0.9, 1.0, 1.1]
    if normalise:  # often a valid chain, sometimes still negative entries or a zero row
        rows = [[x / sum(row) if sum(row) else x for x in row] for row in rows]
    P = np.asarray(rows)
    stochastic = bool(np.all(P >= 0) and np.allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-10))
    try:
        spec = MarkovTFP(levels=levels, Pi=rows)
    except ValueError:
        assert not stochastic
    else:
        process = MarkovProcess(spec)
        np.testing.assert_array_equal(process.Pi, P)
        np.testing.assert_array_equal(process.levels, levels)


def test_tfp_process_keeps_the_calibration():
    spec = LogAR1TFP(rho=0.9, sigma=0.02, log_tfp_initial=0.1)
    ar = tfp_process(spec)
    assert (ar.rho, ar.sigma, ar.spec) == (0.9, 0.02, spec)
    assert float(ar.initial()) == 0.1
    chain = tfp_process(MarkovTFP(levels=[1.01, 0.99], Pi=GOOD_PI))
    np.testing.assert_array_equal(chain.Pi, GOOD_PI)
    with pytest.raises(ValueError, match="noise must be True or False"):
        tfp_process(LogAR1TFP(rho=0.9, sigma=0.02), noise="false")


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("common_noise", lambda v: LinearQuadratic(n_states=5, horizon=2, common_noise=v)),
        ("common_noise", lambda v: BeachBar(n_states=7, horizon=2, common_noise=v)),
        ("recurrent", lambda v: SPGConfig(recurrent=v)),
        ("normalise_observations", lambda v: SPGConfig(normalise_observations=v)),
        ("clock", lambda v: SPGConfig(clock=v)),
        ("recurrent", lambda v: PPOConfig(recurrent=v)),
    ],
)
@pytest.mark.parametrize("value", ["false", "True", 0, 1, None])
def test_booleans_must_be_booleans(name, build, value):
    if name == "clock" and value is None:
        SPGConfig(clock=None)  # None: follow ``recurrent``
        return
    with pytest.raises(ValueError, match=rf"^{name} must be (None, )?True or False"):
        build(value)


def test_boolean_flags_are_kept():
    assert LinearQuadratic(n_states=5, horizon=2, common_noise=False).common_noise is False
    assert LinearQuadratic(n_states=5, horizon=2, common_noise=np.bool_(True)).common_noise is True


def test_linear_quadratic_refuses_non_numbers():
    with pytest.raises(ValueError, match="sigma must be a finite number"):
        LinearQuadratic(sigma="one")
    with pytest.raises(ValueError, match=r"rho must lie in \[0, 1\]"):
        LinearQuadratic(rho=-0.1)
