"""Aggregate blocks: outputs read from the source, lags and leads, firm, government, markets,
and systems of blocks in dependency order."""

import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hank_mfg  # noqa: F401  (float64 on)
from hank_mfg.models.blocks import (
    SimpleBlock,
    Variable,
    asset_market,
    block_graph_order,
    block_outputs,
    cobb_douglas,
    evaluate_blocks,
    external_inputs,
    firm,
    firm_from_production,
    goods_market,
    government,
    labour_market,
    simple_block,
)

STEADY = {"K": 3.2, "L": 0.9, "Z": 1.1, "alpha": 0.36, "delta": 0.025}


@simple_block
def lags_and_leads(x):
    y = x(-1) + 2 * x(+1)
    return y


def test_outputs_and_inputs_read_from_the_function():
    @simple_block
    def prices(K, L, Z):
        k = K / L
        r = Z * k
        w = Z / k
        return r, w

    assert isinstance(prices, SimpleBlock)
    assert prices.name == "prices"
    assert prices.inputs == ("K", "L", "Z")
    assert prices.outputs == ("r", "w")
    assert lags_and_leads.outputs == ("y",)
    assert firm.inputs == ("K", "L", "Z", "alpha", "delta")
    assert firm.outputs == ("r", "w", "Y")
    assert government.outputs == ("tau", "tax_revenue", "deficit")

    @simple_block(name="renamed")
    def inner(x):
        def plus_one(z):
            return z + 1  # a nested function's return is not the block's

        y = plus_one(x())
        return y

    assert inner.name == "renamed" and inner.outputs == ("y",)
    np.testing.assert_allclose(inner(x=2.0), 3.0)

    # a function without readable source names its outputs
    doubled = simple_block(lambda x: 2 * x(-1), name="doubled", outputs=("y",))
    assert doubled.inputs == ("x",) and doubled.outputs == ("y",)
    np.testing.assert_allclose(doubled.paths({"x": jnp.ones(3)}, {"x": 0.0})["y"], [0, 2, 2])


def test_a_return_that_is_not_plain_names_is_refused_naming_the_block():
    with pytest.raises(ValueError, match=r"block 'bad'.*return name1, name2"):

        @simple_block
        def bad(x):
            return x + 1

    with pytest.raises(ValueError, match=r"block 'pair'.*return name1, name2"):

        @simple_block(name="pair")
        def other(x):
            y = x + 1
            return y, x * 2


def test_missing_input_names_block_and_variable():
    with pytest.raises(ValueError, match="block 'firm' needs input 'Z', which nothing provides"):
        firm.steady_state({k: v for k, v in STEADY.items() if k != "Z"})
    with pytest.raises(ValueError, match="block 'firm' needs input 'alpha'"):
        firm.paths({"K": jnp.ones(3)}, {"K": 1.0, "L": 1.0, "Z": 1.0, "delta": 0.1})


def _closed_form(K_lag, L, Z, alpha, delta):
    r = alpha * Z * (K_lag / L) ** (alpha - 1) - delta
    w = (1 - alpha) * Z * (K_lag / L) ** alpha
    Y = Z * K_lag**alpha * L ** (1 - alpha)
    return r, w, Y


def test_cobb_douglas_firm_matches_the_closed_form_at_the_steady_state_and_along_a_path():
    s = STEADY
    out = firm.steady_state(s)
    for name, expected in zip(
        ("r", "w", "Y"), _closed_form(s["K"], s["L"], s["Z"], s["alpha"], s["delta"]), strict=True
    ):
        np.testing.assert_allclose(out[name], expected, rtol=1e-12, atol=1e-12)

    rng = np.random.default_rng(0)
    T = 12
    K = s["K"] * (1 + 0.1 * rng.standard_normal(T))
    L = s["L"] * (1 + 0.05 * rng.standard_normal(T))
    Z = s["Z"] * np.exp(0.02 * rng.standard_normal(T))
    out = firm.paths({"K": jnp.asarray(K), "L": jnp.asarray(L), "Z": jnp.asarray(Z)}, s)
    K_lag = np.concatenate([[s["K"]], K[:-1]])  # period 0 uses the steady-state capital
    expected = _closed_form(K_lag, L, Z, s["alpha"], s["delta"])
    for name, value in zip(("r", "w", "Y"), expected, strict=True):
        assert out[name].shape == (T,)
        np.testing.assert_allclose(out[name], value, rtol=1e-12, atol=1e-12)
    # the ready block is the generic one applied to the ready production function
    again = firm_from_production(cobb_douglas).paths({"K": jnp.asarray(K)}, s)
    np.testing.assert_allclose(
        again["r"], _closed_form(K_lag, s["L"], s["Z"], s["alpha"], s["delta"])[0], rtol=1e-12
    )


def test_ces_firm_marginal_products_match_finite_differences():
    def ces(K, L, Z, alpha, sigma):
        rho = (sigma - 1) / sigma
        return Z * (alpha * K**rho + (1 - alpha) * L**rho) ** (1 / rho)

    block = firm_from_production(ces, name="ces_firm", capital="Kp", depreciation="d")
    assert block.inputs == ("Kp", "L", "Z", "alpha", "sigma", "d")
    assert block.outputs == ("r", "w", "Y")
    values = {"Kp": 2.5, "L": 1.3, "Z": 0.9, "alpha": 0.4, "sigma": 0.6, "d": 0.05}
    out = block.steady_state(values)
    F = lambda K, L: ces(K, L, values["Z"], values["alpha"], values["sigma"])  # noqa: E731
    h = 1e-6
    K, L = values["Kp"], values["L"]
    F_K = (F(K + h, L) - F(K - h, L)) / (2 * h)
    F_L = (F(K, L + h) - F(K, L - h)) / (2 * h)
    np.testing.assert_allclose(out["r"], F_K - values["d"], rtol=1e-8)
    np.testing.assert_allclose(out["w"], F_L, rtol=1e-8)
    np.testing.assert_allclose(out["Y"], F(K, L), rtol=1e-12)
    # constant returns to scale: Y = F_K K + F_L L
    np.testing.assert_allclose(out["Y"], (out["r"] + values["d"]) * K + out["w"] * L, rtol=1e-12)


def test_lags_and_leads_fill_the_ends_with_the_steady_state_and_give_banded_jacobians():
    T = 6
    x = jnp.arange(1.0, T + 1)
    y = lags_and_leads.paths({"x": x}, {"x": 10.0})["y"]
    lag = np.concatenate([[10.0], np.asarray(x[:-1])])
    lead = np.concatenate([np.asarray(x[1:]), [10.0]])
    np.testing.assert_allclose(y, lag + 2 * lead, rtol=0, atol=0)
    # at the steady state a lag or lead is the value itself
    np.testing.assert_allclose(lags_and_leads.steady_state({"x": 10.0})["y"], 30.0)

    path_y = jax.jit(lambda p: lags_and_leads.paths({"x": p}, {"x": 10.0})["y"])
    np.testing.assert_allclose(path_y(x), y)
    J = jax.jacfwd(path_y)(x)
    expected = np.eye(T, k=-1) + 2 * np.eye(T, k=1)
    np.testing.assert_array_equal(np.asarray(J), expected)


def test_variable_arithmetic_and_jnp_functions_take_the_array():
    @simple_block
    def mixed(a, b):
        c = -a + 2 / b - b**2 + 3**a * (a - 1) + abs(a) // 1 + a % 1
        d = jnp.log(a()) + jnp.exp(b(-1)) + jnp.maximum(a(), b()) + jnp.asarray(a)
        e = jnp.where(a > b, a(), b()) + (a >= b) + (a == a) + np.ones(2) * a + jnp.ones(2) / b
        return c, d, e

    a, b = jnp.array([1.5, 0.5]), jnp.array([0.7, 2.0])
    c, d, e = mixed(a=a, b=b)
    for value in (c, d, e):
        assert isinstance(value, jax.Array)
    np.testing.assert_allclose(c, -a + 2 / b - b**2 + 3**a * (a - 1) + abs(a) // 1 + a % 1)
    np.testing.assert_allclose(d, jnp.log(a) + jnp.exp(b) + jnp.maximum(a, b) + a)
    np.testing.assert_allclose(e, jnp.where(a > b, a, b) + (a >= b) + 1.0 + a + 1 / b)

    @simple_block
    def forgets(a):
        c = jnp.log(a)
        return c

    with pytest.raises(TypeError, match=r"block 'forgets'.*jnp.log\(K\(\)\)"):
        forgets.steady_state({"a": 2.0})

    v = Variable("x", jnp.arange(3.0), 9.0, is_path=True)
    np.testing.assert_array_equal(v(-2), [9.0, 9.0, 0.0])
    np.testing.assert_array_equal(v(5), [9.0, 9.0, 9.0])
    with pytest.raises(TypeError, match="whole number"):
        v(0.5)


@given(
    st.integers(min_value=1, max_value=8).flatmap(
        lambda T: st.lists(
            st.tuples(
                st.floats(0.0, 2.0),  # B
                st.floats(-0.02, 0.08),  # r
                st.floats(0.0, 0.5),  # G
                st.floats(-0.2, 0.2),  # transfers
                st.floats(0.5, 2.0),  # w
                st.floats(0.5, 1.5),  # N
            ),
            min_size=T,
            max_size=T,
        )
    )
)
def test_government_budget_holds_along_any_path(rows):
    B, r, G, transfers, w, N = (jnp.asarray(column) for column in zip(*rows, strict=True))
    steady = {"B": 1.0, "r": 0.01, "G": 0.2, "transfers": 0.05, "w": 1.0, "N": 1.0}
    out = government.paths({"B": B, "r": r, "G": G, "transfers": transfers, "w": w, "N": N}, steady)
    B_lag = jnp.concatenate([jnp.array([steady["B"]]), B[:-1]])
    residual = out["tax_revenue"] + B - (1 + r) * B_lag - G - transfers
    np.testing.assert_allclose(residual, 0.0, atol=1e-12)
    np.testing.assert_allclose(out["tau"] * w * N, out["tax_revenue"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["deficit"], B - B_lag, atol=1e-12)


def test_government_at_the_steady_state_pays_interest_spending_and_transfers():
    s = {"B": 1.5, "r": 0.01, "G": 0.2, "transfers": 0.05, "w": 0.9, "N": 1.1}
    out = government.steady_state(s)
    np.testing.assert_allclose(out["tax_revenue"], s["r"] * s["B"] + s["G"] + s["transfers"])
    np.testing.assert_allclose(out["tau"], out["tax_revenue"] / (s["w"] * s["N"]))
    np.testing.assert_allclose(out["deficit"], 0.0, atol=1e-15)


def test_markets_clear_for_a_consistent_allocation_and_signs():
    s = dict(STEADY, G=0.2)
    Y = firm.steady_state(s)["Y"]
    C = Y - s["delta"] * s["K"] - s["G"]
    assert abs(goods_market.steady_state(dict(s, Y=Y, C=C))["goods_mkt"]) < 1e-14
    # along a path: consumption takes what output, investment and spending leave
    T = 5
    K = s["K"] * (1 + 0.02 * jnp.arange(T))
    K_lag = jnp.concatenate([jnp.array([s["K"]]), K[:-1]])
    Y_path = 1.4 + 0.01 * jnp.arange(T)
    C_path = Y_path - (K - (1 - s["delta"]) * K_lag) - s["G"]
    out = goods_market.paths({"K": K, "Y": Y_path, "C": C_path}, dict(s, Y=Y, C=C))
    np.testing.assert_allclose(out["goods_mkt"], 0.0, atol=1e-13)
    # asset market: positive when households save more than capital and debt absorb
    assert asset_market.steady_state({"A": 5.0, "K": 3.0, "B": 1.0})["asset_mkt"] == 1.0
    assert asset_market.steady_state({"A": 3.0, "K": 3.0, "B": 1.0})["asset_mkt"] == -1.0
    assert labour_market(N=1.0, L=0.75) == 0.25


def _economy():
    @simple_block
    def households(r, w, N, tau, beta):
        C = w * N * (1 - tau) + r * 1.0
        A = C / (1 - beta)
        return C, A

    return [firm, government, households, asset_market, labour_market, goods_market]


CALIBRATION = dict(STEADY, B=1.0, G=0.2, transfers=0.0, N=0.9, beta=0.96)


def test_evaluate_blocks_in_any_order_gives_the_same_values():
    blocks = _economy()
    reference = evaluate_blocks(blocks, CALIBRATION)
    produced = block_outputs(blocks)
    assert produced["tau"] is government and produced["goods_mkt"] is goods_market
    assert set(external_inputs(blocks)) == set(CALIBRATION)
    for name in ("r", "w", "Y", "tau", "C", "A", "asset_mkt", "labour_mkt", "goods_mkt"):
        assert name in reference
    np.testing.assert_allclose(reference["labour_mkt"], 0.0)
    rng = random.Random(3)
    for _ in range(5):
        shuffled = blocks[:]
        rng.shuffle(shuffled)
        order = [block.name for block in block_graph_order(shuffled)]
        assert order.index("firm") < order.index("government") < order.index("households")
        again = evaluate_blocks(shuffled, CALIBRATION)
        assert again.keys() == reference.keys()
        for name in reference:
            np.testing.assert_allclose(again[name], reference[name], rtol=1e-15)

    # along a path: paths of a few inputs, the rest constant, lags filled from the steady state
    T = 4
    K = CALIBRATION["K"] * (1 + 0.01 * jnp.arange(T))
    path = evaluate_blocks(blocks, {"K": K}, steady_state=CALIBRATION, paths=True)
    assert path["Z"].shape == (T,) and path["goods_mkt"].shape == (T,)
    direct = firm.paths({"K": K}, CALIBRATION)
    np.testing.assert_allclose(path["r"], direct["r"], rtol=1e-15)
    # a constant path reproduces the steady state
    flat = evaluate_blocks(
        blocks, {"K": jnp.full(T, CALIBRATION["K"])}, steady_state=CALIBRATION, paths=True
    )
    for name in ("r", "tau", "A", "goods_mkt"):
        np.testing.assert_allclose(flat[name], jnp.full(T, reference[name]), rtol=1e-13, atol=1e-14)
    # differentiable end to end
    J = jax.jacfwd(
        lambda k: evaluate_blocks(blocks, {"K": k}, steady_state=reference, paths=True)["goods_mkt"]
    )(K)
    assert J.shape == (T, T) and np.all(np.isfinite(J))
    np.testing.assert_allclose(np.triu(np.asarray(J), 1), 0.0, atol=1e-15)  # no leads of K


def test_evaluate_blocks_errors_name_blocks_and_variables():
    blocks = _economy()
    missing = {k: v for k, v in CALIBRATION.items() if k != "beta"}
    with pytest.raises(ValueError, match=r"block 'households' needs input 'beta'.*values give: B"):
        evaluate_blocks(blocks, missing)

    @simple_block
    def rival(K, L):
        w = K + L
        return w

    with pytest.raises(ValueError, match=r"blocks 'firm' and 'rival' both produce 'w'"):
        evaluate_blocks([firm, rival], CALIBRATION)

    @simple_block
    def first(b):
        a = b + 1
        return a

    @simple_block
    def second(a):
        b = a * 2
        return b

    with pytest.raises(ValueError, match=r"cycle .*'first'.*'second'|cycle .*'second'.*'first'"):
        evaluate_blocks([first, second], {})
    with pytest.raises(ValueError, match="cycle"):
        block_graph_order([second, first])
    with pytest.raises(ValueError, match="'r' is given in values but block 'firm' produces it"):
        evaluate_blocks([firm], dict(STEADY, r=0.1))


def test_outputs_of_a_function_without_source_are_read_from_its_bytecode():
    """Code given to ``exec`` (no source file) still names its outputs."""
    namespace: dict = {}
    source = "def firm(K, L):\n    r = K / L\n    w = L / K\n    return r, w\n"
    exec(compile(source, "<no file>", "exec"), namespace)  # noqa: S102
    block = simple_block(namespace["firm"])
    assert block.outputs == ("r", "w")
    out = block.steady_state({"K": 2.0, "L": 1.0})
    assert float(out["r"]) == 2.0 and float(out["w"]) == 0.5
