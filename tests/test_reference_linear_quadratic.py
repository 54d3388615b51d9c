"""The linear-quadratic game against an independent dense-matrix NumPy reference.

The reference below is written from the game's specification only (dense kernels
``P_t[s, a, s']`` per period, the forward recursion ``mu_{t+1} = A_tᵀ mu_t`` and the backward
recursions for the policy value and the best response); hank_mfg is used only through its
public API. Every quantity is compared in float64 to 1e-10.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from hank_mfg.core import (
    best_response,
    constant_policy,
    evaluate,
    exploitability,
    policy_value,
    rollout,
    time_varying_policy,
)
from hank_mfg.models import LinearQuadratic

TOL = 1e-10

N_STATES = 99
MOVES = np.arange(-3, 4)
N_ACTIONS = MOVES.size
HORIZON = 30
KAPPA = 0.5
C_ACTION = 0.5
Q = 0.1
C_TERMINAL = 1.0
SIGMA = 1.0
RHO = 0.5


# --- dense NumPy reference ------------------------------------------------------------------------
def noise_atoms() -> tuple[np.ndarray, np.ndarray]:
    """Idiosyncratic atoms ξ ∈ {-3, …, 3} with probabilities ∝ exp(-ξ²/2)."""
    xi = np.arange(-3, 4, dtype=np.float64)
    w = np.exp(-(xi**2) / 2.0)
    return xi, w / w.sum()


def common_shock(z: int, t: int) -> float:
    """ε_t = -10 z for t < 8, +10 z for t > 20, 0 otherwise."""
    if t < 8:
        return -10.0 * z
    if t > 20:
        return 10.0 * z
    return 0.0


_KERNEL_CACHE: dict[float, np.ndarray] = {}


def dense_kernel(eps: float) -> np.ndarray:
    """P[s, a, s'] for common shock ε (it depends on the period only through ε)."""
    if eps not in _KERNEL_CACHE:
        xi, prob = noise_atoms()
        P = np.zeros((N_STATES, N_ACTIONS, N_STATES))
        for s in range(N_STATES):
            for i, a in enumerate(MOVES):
                for x, p in zip(xi, prob, strict=True):
                    raw = s + a + SIGMA * RHO * eps + SIGMA * np.sqrt(1.0 - RHO**2) * x
                    target = int(np.clip(np.round(raw), 0, N_STATES - 1))
                    P[s, i, target] += p
        _KERNEL_CACHE[eps] = P
    return _KERNEL_CACHE[eps]


def kernels(z: int, horizon: int = HORIZON) -> list[np.ndarray]:
    return [dense_kernel(common_shock(z, t)) for t in range(horizon)]


def state_kernel(P: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """A[s, s'] = Σ_a π(a|s) P(s'|s, a)."""
    return np.einsum("sa,sat->st", pi, P)


def mean_position(mu: np.ndarray) -> float:
    return float(mu @ np.arange(N_STATES, dtype=np.float64))


def roll_mu(mu0: np.ndarray, Ps: list[np.ndarray], pis: np.ndarray) -> np.ndarray:
    """μ_0 … μ_T, shape [T + 1, S]."""
    mus = [mu0]
    for P, pi in zip(Ps, pis, strict=True):
        mus.append(state_kernel(P, pi).T @ mus[-1])
    return np.stack(mus)


def reward_table(t: int, mbar_next: float, horizon: int = HORIZON) -> np.ndarray:
    """r_t(s, a), shape [S, A]."""
    s = np.arange(N_STATES, dtype=np.float64)[:, None]
    a = MOVES.astype(np.float64)[None, :]
    gap = mbar_next - s
    if t == horizon - 1:
        return np.broadcast_to(-(C_TERMINAL / 2.0) * gap**2, (N_STATES, N_ACTIONS)).copy()
    return -C_ACTION * a**2 + Q * a * gap - (KAPPA / 2.0) * gap**2


def rewards(mus: np.ndarray) -> list[np.ndarray]:
    horizon = mus.shape[0] - 1
    return [reward_table(t, mean_position(mus[t + 1]), horizon) for t in range(horizon)]


def ref_policy_value(
    Ps: list[np.ndarray], rs: list[np.ndarray], pis: np.ndarray, gamma: float
) -> np.ndarray:
    """V_t = r_π,t + γ A_t V_{t+1}, V_T = 0; shape [T + 1, S]."""
    horizon = len(Ps)
    V = np.zeros((horizon + 1, N_STATES))
    for t in reversed(range(horizon)):
        r_pi = np.sum(pis[t] * rs[t], axis=1)
        V[t] = r_pi + gamma * state_kernel(Ps[t], pis[t]) @ V[t + 1]
    return V


def ref_best_response(
    Ps: list[np.ndarray], rs: list[np.ndarray], gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """V*_t(s) = max_a [r_t(s, a) + γ Σ_s' P_t(s'|s, a) V*_{t+1}(s')]; values and Q-tables."""
    horizon = len(Ps)
    V = np.zeros((horizon + 1, N_STATES))
    Qs = np.zeros((horizon, N_STATES, N_ACTIONS))
    for t in reversed(range(horizon)):
        Qs[t] = rs[t] + gamma * np.einsum("sat,t->sa", Ps[t], V[t + 1])
        V[t] = Qs[t].max(axis=1)
    return V, Qs


def reference(mu0: np.ndarray, z: int, pis: np.ndarray, gamma: float) -> dict[str, np.ndarray]:
    """Everything on one common-noise path: μ, V_π, V*, Q*, exploitability gain."""
    Ps = kernels(z, pis.shape[0])
    mus = roll_mu(mu0, Ps, pis)
    rs = rewards(mus)
    V = ref_policy_value(Ps, rs, pis, gamma)
    V_br, Qs = ref_best_response(Ps, rs, gamma)
    return {
        "mu": mus,
        "value": V,
        "br_value": V_br,
        "q": Qs,
        "gain": float(mu0 @ (V_br[0] - V[0])),
    }


def one_hot(actions: np.ndarray) -> np.ndarray:
    """Integer action indices [..., S] → probability tables [..., S, A]."""
    return np.eye(N_ACTIONS)[actions]


# --- policies and games ---------------------------------------------------------------------------
def uniform_tables() -> np.ndarray:
    return np.full((HORIZON, N_STATES, N_ACTIONS), 1.0 / N_ACTIONS)


def random_fixed_table(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(N_ACTIONS), size=N_STATES)


def random_tv_tables(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(N_ACTIONS), size=(HORIZON, N_STATES))


def nonuniform_mu0(seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.gamma(2.0, size=N_STATES) * np.exp(-((np.arange(N_STATES) - 30.0) ** 2) / 400.0)
    return w / w.sum()


POLICIES = {
    "uniform": (constant_policy, lambda: uniform_tables()[0], uniform_tables),
    "fixed": (
        constant_policy,
        random_fixed_table,
        lambda: np.broadcast_to(random_fixed_table(), (HORIZON, N_STATES, N_ACTIONS)),
    ),
    "time_varying": (time_varying_policy, random_tv_tables, random_tv_tables),
}

GAMES = {
    "plain": dict(common_noise=False),
    "common": dict(common_noise=True),
    "mu0_discount": dict(common_noise=True, initial_distributions=nonuniform_mu0(), discount=0.9),
}


@pytest.fixture(scope="module")
def games() -> dict[str, LinearQuadratic]:
    return {name: LinearQuadratic(**kwargs) for name, kwargs in GAMES.items()}


def _z_per_sample(path) -> np.ndarray:
    z = np.asarray(path.agg.z)
    assert z.shape[:2] == (path.n_samples, HORIZON + 1)
    # z is drawn once at reset and kept for the whole episode
    np.testing.assert_array_equal(z, np.broadcast_to(z[:, :1], z.shape))
    return z[:, 0].astype(int)


def _hank_results(game, policy, params, key) -> dict[str, np.ndarray]:
    """hank_mfg's quantities for one (game, policy), as NumPy arrays.

    Calls are written so that jit caches are shared (``rollout`` positionally as ``evaluate``
    calls it, ``policy_value`` with actions positionally as ``exploitability`` calls it).
    """
    path = rollout(game, policy, params, key, 8)
    br = best_response(game, path)
    expl = exploitability(game, path)
    expl_br = exploitability(game, path, br.actions)
    res = dict(
        z=_z_per_sample(path),
        mu=path.agg.mu,
        obs=path.obs,
        value=policy_value(game, path),
        br_value=br.value,
        br_actions=br.actions,
        expl_value=expl.value,
        expl_per_sample=expl.per_sample,
        br_follow_value=policy_value(game, path, br.actions),
        br_expl_value=expl_br.value,
    )
    return {k: np.asarray(v) for k, v in res.items()}


@pytest.fixture(scope="module")
def cases(games):
    """For every (game, policy): hank_mfg's results and the reference's, per sample."""
    out = {}
    for gname, game in games.items():
        gamma = GAMES[gname].get("discount", 0.99)
        for pname, (policy, params_fn, tables_fn) in POLICIES.items():
            params = jax.numpy.asarray(params_fn())
            hank = _hank_results(game, policy, params, jax.random.PRNGKey(7))
            mu0s = hank["mu"][:, 0]
            tables = tables_fn()
            refs = [reference(mu0s[b], int(hank["z"][b]), tables, gamma) for b in range(8)]
            out[gname, pname] = dict(
                game=game, policy=policy, params=params, gamma=gamma, hank=hank, refs=refs
            )
    return out


CASE_IDS = [(g, p) for g in GAMES for p in POLICIES]


def _stack(refs, key):
    return np.stack([r[key] for r in refs])


# --- tests ----------------------------------------------------------------------------------------
def test_reference_kernel_rows_are_distributions():
    for z in (-1, 0, 1):
        for P in kernels(z):
            np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-14)


def test_common_noise_paths_cover_both_signs(cases):
    for gname in ("common", "mu0_discount"):
        for pname in POLICIES:
            assert set(cases[gname, pname]["hank"]["z"].tolist()) == {-1, 1}
    for pname in POLICIES:
        assert set(cases["plain", pname]["hank"]["z"].tolist()) == {0}


def test_initial_distribution(cases):
    for (gname, _), case in cases.items():
        mu0 = case["hank"]["mu"][:, 0]
        expected = GAMES[gname].get("initial_distributions")
        if expected is None:
            expected = np.full(N_STATES, 1.0 / N_STATES)
        np.testing.assert_allclose(mu0, np.broadcast_to(expected, mu0.shape), rtol=0, atol=1e-15)


def test_shapes(cases):
    hank = cases["common", "time_varying"]["hank"]
    assert hank["mu"].shape == (8, HORIZON + 1, N_STATES)
    assert hank["obs"].shape == (8, HORIZON + 1, 1)
    assert hank["value"].shape == (8, HORIZON + 1, N_STATES)
    assert hank["br_value"].shape == (8, HORIZON + 1, N_STATES)
    assert hank["br_actions"].shape == (8, HORIZON, N_STATES)
    assert np.issubdtype(hank["br_actions"].dtype, np.integer)
    assert hank["expl_per_sample"].shape == (8,)
    assert hank["expl_value"].shape == ()


@pytest.mark.parametrize("case_id", CASE_IDS, ids=lambda c: "-".join(c))
def test_mu_path(cases, case_id):
    case = cases[case_id]
    np.testing.assert_allclose(case["hank"]["mu"], _stack(case["refs"], "mu"), rtol=0, atol=TOL)


@pytest.mark.parametrize("case_id", CASE_IDS, ids=lambda c: "-".join(c))
def test_shared_observation_is_mean(cases, case_id):
    case = cases[case_id]
    mbar = _stack(case["refs"], "mu") @ np.arange(N_STATES, dtype=np.float64)
    np.testing.assert_allclose(case["hank"]["obs"][..., 0], mbar, rtol=0, atol=TOL)


@pytest.mark.parametrize("case_id", CASE_IDS, ids=lambda c: "-".join(c))
def test_policy_value(cases, case_id):
    case = cases[case_id]
    ref = _stack(case["refs"], "value")
    np.testing.assert_allclose(case["hank"]["value"], ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("case_id", CASE_IDS, ids=lambda c: "-".join(c))
def test_best_response_value(cases, case_id):
    case = cases[case_id]
    ref = _stack(case["refs"], "br_value")
    np.testing.assert_allclose(case["hank"]["br_value"], ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("case_id", CASE_IDS, ids=lambda c: "-".join(c))
def test_best_response_actions_maximise_reference_q(cases, case_id):
    case = cases[case_id]
    Qs = _stack(case["refs"], "q")
    chosen = np.take_along_axis(Qs, case["hank"]["br_actions"][..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(chosen, Qs.max(axis=-1), rtol=0, atol=TOL)


@pytest.mark.parametrize("case_id", CASE_IDS, ids=lambda c: "-".join(c))
def test_exploitability(cases, case_id):
    case, hank = cases[case_id], cases[case_id]["hank"]
    gains = np.array([r["gain"] for r in case["refs"]])
    np.testing.assert_allclose(hank["expl_per_sample"], gains, rtol=0, atol=TOL)
    np.testing.assert_allclose(hank["expl_value"], gains.mean(), rtol=0, atol=TOL)
    assert hank["expl_value"] > 0.0


@pytest.mark.parametrize("case_id", CASE_IDS, ids=lambda c: "-".join(c))
def test_best_response_policy_value_matches(cases, case_id):
    case, hank = cases[case_id], cases[case_id]["hank"]
    np.testing.assert_allclose(hank["br_follow_value"], hank["br_value"], rtol=0, atol=TOL)
    assert abs(float(hank["br_expl_value"])) < 1e-9
    # and the reference agrees: following the BR tables on the same path gives V*
    for b, ref in enumerate(case["refs"]):
        Ps = kernels(int(hank["z"][b]))
        rs = rewards(ref["mu"])
        V = ref_policy_value(Ps, rs, one_hot(hank["br_actions"][b]), case["gamma"])
        np.testing.assert_allclose(V, ref["br_value"], rtol=0, atol=TOL)


@pytest.mark.parametrize("gname", list(GAMES))
def test_evaluate_matches_reference(cases, gname):
    case = cases[gname, "time_varying"]
    ev = evaluate(case["game"], case["policy"], case["params"], jax.random.PRNGKey(7), 8)
    refs = case["refs"]
    np.testing.assert_allclose(np.asarray(ev.path.agg.mu), _stack(refs, "mu"), atol=TOL, rtol=0)
    np.testing.assert_allclose(np.asarray(ev.value), _stack(refs, "value"), atol=TOL, rtol=0)
    np.testing.assert_allclose(
        np.asarray(ev.best_response.value), _stack(refs, "br_value"), atol=TOL, rtol=0
    )
    gains = np.array([r["gain"] for r in refs])
    np.testing.assert_allclose(np.asarray(ev.exploitability.per_sample), gains, atol=TOL, rtol=0)
    np.testing.assert_allclose(float(ev.exploitability.value), gains.mean(), atol=TOL, rtol=0)
