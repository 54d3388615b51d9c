"""Calibrations as frozen dataclasses, and the named presets of the literature.

A :class:`Calibration` bundles the household side (preferences, wealth grid, income process),
the firm (Cobb–Douglas ``Y = A z K^alpha L^(1 - alpha)``), the aggregate TFP shock ``z``, the
Krusell–Smith employment process where there is one, and the settings of a finite-horizon game.
Every dataclass validates itself on construction and raises ``ValueError`` naming the parameter
and its allowed range; ``dataclasses.replace`` re-validates. ``to_dict()`` flattens every
parameter into one ``{"household.beta": 0.96, …}`` dict (arrays as nested lists, absent
optional parts left out) for results files.

Units: one model period is a year (Aiyagari, QuantEcon, the seed's game) or a quarter
(Krusell–Smith); wealth is in units of the consumption good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np

from hank_mfg.calibration.employment import KrusellSmithEmployment, krusell_smith_employment
from hank_mfg.calibration.income import (
    PROB_TOL,
    IncomeProcess,
    check_grid,
    check_stochastic_matrix,
    innovation_sd,
    markov_income,
    stationary_distribution,
    tauchen,
)
from hank_mfg.core.checks import check_finite, check_horizon, check_in_range

__all__ = [
    "Calibration",
    "EmploymentIncome",
    "FirmCalibration",
    "GameSettings",
    "HouseholdCalibration",
    "LogAR1TFP",
    "MarkovTFP",
    "aiyagari_1994",
    "check_log_ar1",
    "check_markov_chain",
    "geometric_grid",
    "krusell_smith_1998",
    "midpoint_shares",
    "quantecon_aiyagari",
    "seed_macro",
]


# --- small validation and serialisation utilities -------------------------------------------------


def _check_count(name: str, value: Any, low: int = 2) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer in [{low}, inf), got {value!r}")
    return int(value)


def _positive(name: str, value: Any) -> float:
    return check_in_range(name, value, 0.0, math.inf, low_open=True, high_open=True)


def _flat_dict(obj: Any) -> dict[str, Any]:
    """Flatten a dataclass into ``{"field": value, "child.field": value}``; skip ``None``."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if v is None:
            continue
        if is_dataclass(v):
            out.update({f"{f.name}.{k}": x for k, x in v.to_dict().items()})
        elif isinstance(v, np.ndarray):
            out[f.name] = v.tolist()
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


# --- grids ----------------------------------------------------------------------------------------


def geometric_grid(low: float, high: float, n: int, shift: float = 0.0) -> np.ndarray:
    """``n`` points from ``low`` to ``high`` such that ``x + shift`` is geometrically spaced.

    ``x_i = (low + shift) ((high + shift) / (low + shift))^(i / (n - 1)) - shift``, so the
    points are dense near ``low`` when ``low + shift`` is small relative to ``high + shift``
    (the seed library's spacing for wealth and income). Requires ``low + shift > 0``.
    """
    low = check_finite("low", low)
    high = check_in_range("high", high, low, math.inf, low_open=True, high_open=True)
    n = _check_count("n", n)
    shift = check_in_range("shift", shift, 0.0 - low, math.inf, low_open=True, high_open=True)
    x = np.geomspace(low + shift, high + shift, n) - shift
    x[0], x[-1] = low, high
    return x


def midpoint_shares(n: int) -> np.ndarray:
    """Midpoints ``(k + 1/2) / n``, ``k = 0…n-1``, of ``n`` equal bins of [0, 1]."""
    n = _check_count("n", n, low=1)
    return (np.arange(n) + 0.5) / n


# --- households -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdCalibration:
    """Preferences, borrowing limit, wealth grid and labour-income process of households.

    Utility is CRRA, ``u(c) = c^(1 - crra) / (1 - crra)`` (``log c`` when ``crra == 1``),
    discounted by ``beta`` per period; households hold wealth ``a >= borrowing_limit``.

    Attributes:
        beta: discount factor, in (0, 1).
        crra: coefficient of relative risk aversion, in (0, inf).
        income: the labour-endowment process, or ``None`` when the Krusell–Smith employment
            process of the :class:`Calibration` drives labour income.
        borrowing_limit: lowest wealth ``a_min`` (0: no borrowing), finite.
        wealth_max: highest wealth on the grid, in (borrowing_limit, inf).
        n_wealth: number of wealth grid points, in [2, inf).
        wealth_grid_pivot: ``None`` for equally spaced points; ``p > 0`` for points with
            ``a - a_min + p`` geometrically spaced (dense near the limit; smaller is denser).
    """

    beta: float
    crra: float
    income: IncomeProcess | None
    borrowing_limit: float = 0.0
    wealth_max: float = 200.0
    n_wealth: int = 200
    wealth_grid_pivot: float | None = 1.0

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "beta", check_in_range("beta", self.beta, 0, 1, low_open=True, high_open=True))
        put(self, "crra", _positive("crra", self.crra))
        if self.income is not None and not isinstance(self.income, IncomeProcess):
            raise ValueError(f"income must be an IncomeProcess or None, got {self.income!r}")
        a_min = check_finite("borrowing_limit", self.borrowing_limit)
        put(self, "borrowing_limit", a_min)
        put(
            self,
            "wealth_max",
            check_in_range(
                "wealth_max", self.wealth_max, a_min, math.inf, low_open=True, high_open=True
            ),
        )
        put(self, "n_wealth", _check_count("n_wealth", self.n_wealth))
        if self.wealth_grid_pivot is not None:
            put(self, "wealth_grid_pivot", _positive("wealth_grid_pivot", self.wealth_grid_pivot))

    @property
    def wealth_grid(self) -> np.ndarray:
        """The wealth grid ``[n_wealth]`` from ``borrowing_limit`` to ``wealth_max``."""
        a_min, a_max, n = self.borrowing_limit, self.wealth_max, self.n_wealth
        if self.wealth_grid_pivot is None:
            return np.linspace(a_min, a_max, n)
        return geometric_grid(a_min, a_max, n, shift=self.wealth_grid_pivot - a_min)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, flattened (``income.grid`` …); ``income`` left out when ``None``."""
        return _flat_dict(self)


# --- firms and aggregate shocks -------------------------------------------------------------------


@dataclass(frozen=True)
class FirmCalibration:
    """A Cobb–Douglas firm, ``Y = A z K^alpha L^(1 - alpha)``, capital depreciating at ``delta``.

    Competitive prices: ``r = alpha A z (K / L)^(alpha - 1) - delta``,
    ``w = (1 - alpha) A z (K / L)^alpha``.

    Attributes:
        alpha: capital share, in (0, 1).
        delta: depreciation rate per period, in [0, 1].
        tfp_level: the constant ``A``, in (0, inf); the shock ``z`` multiplies it.
        labour_supply: a fixed aggregate labour ``N`` the firm hires (QuantEcon's lecture), in
            (0, inf); ``None``: ``L`` is aggregated from households.
    """

    alpha: float
    delta: float
    tfp_level: float = 1.0
    labour_supply: float | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "alpha", check_in_range("alpha", self.alpha, 0, 1, low_open=True, high_open=True))
        put(self, "delta", check_in_range("delta", self.delta, 0, 1))
        put(self, "tfp_level", _positive("tfp_level", self.tfp_level))
        if self.labour_supply is not None:
            put(self, "labour_supply", _positive("labour_supply", self.labour_supply))

    def to_dict(self) -> dict[str, Any]:
        """Every parameter; ``labour_supply`` left out when ``None``."""
        return _flat_dict(self)


def check_log_ar1(rho: Any, sigma: Any, log_tfp_initial: Any) -> tuple[float, float, float]:
    """The rule for a Gaussian log-AR(1) TFP process ``log z' = rho log z + sigma eps``.

    Returns ``(rho, sigma, log_tfp_initial)`` as floats; raises ``ValueError`` naming the
    parameter and its range: ``rho`` in (-1, 1) (stationary), ``sigma`` in [0, inf),
    ``log_tfp_initial`` finite. The rule of :class:`LogAR1TFP`.
    """
    return (
        check_in_range("rho", rho, -1, 1, low_open=True, high_open=True),
        check_in_range("sigma", sigma, 0.0, math.inf, high_open=True),
        check_finite("log_tfp_initial", log_tfp_initial),
    )


def check_markov_chain(levels: Any, Pi: Any) -> tuple[np.ndarray, np.ndarray]:
    """The rule for TFP on a finite Markov chain: ``levels [n_z]`` positive, finite and
    distinct (any order), ``Pi [n_z, n_z]`` a stochastic matrix (entries >= 0, rows sum to 1).

    Returns both as read-only float64 arrays; raises ``ValueError`` naming ``levels`` or ``Pi``.
    The rule of :class:`MarkovTFP`.
    """
    z = check_grid("levels", levels, positive=True, increasing=False)
    if np.unique(z).size != z.size:
        raise ValueError(f"levels must be distinct, got {z}")
    return z, check_stochastic_matrix("Pi", Pi, z.size)


@dataclass(frozen=True)
class LogAR1TFP:
    """Log TFP with Gaussian AR(1) dynamics, ``log z' = rho log z + sigma eps``, ``eps ~ N(0, 1)``.

    Attributes:
        rho: persistence, in (-1, 1).
        sigma: innovation standard deviation, in [0, inf) (0: no aggregate risk).
        log_tfp_initial: ``log z_0``, finite.
    """

    rho: float
    sigma: float
    log_tfp_initial: float = 0.0

    def __post_init__(self) -> None:
        rho, sigma, log_initial = check_log_ar1(self.rho, self.sigma, self.log_tfp_initial)
        put = object.__setattr__
        put(self, "rho", rho)
        put(self, "sigma", sigma)
        put(self, "log_tfp_initial", log_initial)

    @property
    def unconditional_sd(self) -> float:
        """Stationary standard deviation of log z, ``sigma / sqrt(1 - rho^2)``."""
        return self.sigma / math.sqrt(1.0 - self.rho**2)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, with ``kind = "log_ar1"``."""
        return {"kind": "log_ar1", **_flat_dict(self)}


@dataclass(frozen=True, eq=False)
class MarkovTFP:
    """TFP on a finite Markov chain.

    Attributes:
        levels: TFP levels ``z`` ``[n_z]`` (not logs), positive; their order is a labelling
            (Krusell–Smith lists the good state first), so it need not be increasing.
        Pi: transition matrix ``[n_z, n_z]``, ``Pi[i, j] = P(z' = levels[j] | z = levels[i])``.
    """

    levels: np.ndarray
    Pi: np.ndarray

    def __post_init__(self) -> None:
        levels, Pi = check_markov_chain(self.levels, self.Pi)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "Pi", Pi)

    @property
    def stationary(self) -> np.ndarray:
        """The stationary distribution of ``Pi``."""
        return stationary_distribution(self.Pi)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, with ``kind = "markov"``."""
        return {"kind": "markov", **_flat_dict(self)}


@dataclass(frozen=True)
class EmploymentIncome:
    """Labour income by employment status in the Krusell–Smith economy.

    An employed household supplies ``labour_endowment`` efficiency units and earns
    ``w * labour_endowment``; an unemployed one supplies none and receives a home-production
    income ``unemployment_income_share * w * labour_endowment``, which keeps consumption
    positive at zero wealth (it is not part of aggregate labour ``L = (1 - u_z) l``).

    Attributes:
        labour_endowment: ``l``, time endowment of the employed, in (0, inf) (KS: 0.3271).
        unemployment_income_share: home production relative to the wage bill, in [0, 1).
    """

    labour_endowment: float = 0.3271
    unemployment_income_share: float = 0.15

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "labour_endowment", _positive("labour_endowment", self.labour_endowment))
        share = check_in_range(
            "unemployment_income_share", self.unemployment_income_share, 0, 1, high_open=True
        )
        put(self, "unemployment_income_share", share)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter."""
        return _flat_dict(self)


# --- finite-horizon game --------------------------------------------------------------------------

INITIAL_DISTRIBUTIONS = ("uniform",)
TERMINAL_REWARDS = ("consume_wealth", "none")
OBSERVABLES = ("r", "w", "K", "L", "Y", "z")


@dataclass(frozen=True, eq=False)
class GameSettings:
    """Settings of a finite-horizon, discrete-action household game (the seed's macro game).

    Attributes:
        horizon: number of periods ``T``, a positive integer.
        consumption_shares: the discrete actions, shares of cash on hand consumed, strictly
            increasing in [0, 1].
        initial_distribution: ``"uniform"`` (mu_0 uniform over the wealth × income grid).
        terminal_reward: ``"consume_wealth"`` (the last period pays ``u`` of all cash on hand,
            whatever the action) or ``"none"``.
        observation: names of the aggregates every household observes, from
            ``("r", "w", "K", "L", "Y", "z")``.
    """

    horizon: int
    consumption_shares: np.ndarray
    initial_distribution: str = "uniform"
    terminal_reward: str = "consume_wealth"
    observation: tuple[str, ...] = ("r", "w")

    def __post_init__(self) -> None:
        object.__setattr__(self, "horizon", check_horizon(self.horizon))
        shares = check_grid("consumption_shares", self.consumption_shares)
        if shares[0] < 0 or shares[-1] > 1:
            raise ValueError(f"consumption_shares must lie in [0, 1], got {shares}")
        object.__setattr__(self, "consumption_shares", shares)
        if self.initial_distribution not in INITIAL_DISTRIBUTIONS:
            raise ValueError(
                f"initial_distribution must be one of {INITIAL_DISTRIBUTIONS}, "
                f"got {self.initial_distribution!r}"
            )
        if self.terminal_reward not in TERMINAL_REWARDS:
            raise ValueError(
                f"terminal_reward must be one of {TERMINAL_REWARDS}, got {self.terminal_reward!r}"
            )
        obs = tuple(self.observation)
        if not obs or any(o not in OBSERVABLES for o in obs) or len(set(obs)) != len(obs):
            raise ValueError(
                f"observation must be distinct names from {OBSERVABLES}, got {self.observation!r}"
            )
        object.__setattr__(self, "observation", obs)

    def to_dict(self) -> dict[str, Any]:
        """Every setting."""
        return _flat_dict(self)


# --- the whole calibration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """Everything a model needs beyond its equations.

    Attributes:
        name: a label such as ``"aiyagari_1994"``.
        household, firm: see :class:`HouseholdCalibration`, :class:`FirmCalibration`.
        tfp: the aggregate TFP shock, or ``None`` (no aggregate risk; ``z = 1``).
        employment: the Krusell–Smith employment process, or ``None``; when given, ``tfp`` must
            be ``None`` or the matching :class:`MarkovTFP`, and ``employment_income`` is needed.
        employment_income: labour income by employment status (with ``employment`` only).
        game: finite-horizon game settings, or ``None`` (an infinite-horizon economy).
    """

    name: str
    household: HouseholdCalibration
    firm: FirmCalibration
    tfp: LogAR1TFP | MarkovTFP | None = None
    employment: KrusellSmithEmployment | None = None
    employment_income: EmploymentIncome | None = None
    game: GameSettings | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        for name, value, kinds in (
            ("household", self.household, HouseholdCalibration),
            ("firm", self.firm, FirmCalibration),
            ("tfp", self.tfp, (LogAR1TFP, MarkovTFP, type(None))),
            ("employment", self.employment, (KrusellSmithEmployment, type(None))),
            ("employment_income", self.employment_income, (EmploymentIncome, type(None))),
            ("game", self.game, (GameSettings, type(None))),
        ):
            if not isinstance(value, kinds):
                raise ValueError(f"{name} has the wrong type: {type(value).__name__}")
        emp = self.employment
        if emp is None:
            if self.household.income is None:
                raise ValueError("household.income must be given unless employment is")
            if self.employment_income is not None:
                raise ValueError("employment_income needs an employment process")
            return
        if self.employment_income is None:
            raise ValueError("employment_income must be given with an employment process")
        if self.tfp is not None and not (
            isinstance(self.tfp, MarkovTFP)
            and self.tfp.levels.shape == emp.z_levels.shape
            and np.allclose(self.tfp.levels, emp.z_levels, rtol=0, atol=PROB_TOL)
            and np.allclose(self.tfp.Pi, emp.Pi_z, rtol=0, atol=PROB_TOL)
        ):
            raise ValueError(
                "tfp must be a MarkovTFP equal to employment.z_levels, employment.Pi_z"
            )

    @property
    def wealth_grid(self) -> np.ndarray:
        """The household wealth grid ``[n_wealth]``."""
        return self.household.wealth_grid

    def to_dict(self) -> dict[str, Any]:
        """Every parameter in one flat dict with dotted keys; absent optional parts left out."""
        return _flat_dict(self)


# --- presets --------------------------------------------------------------------------------------


def aiyagari_1994(
    rho: float = 0.6,
    sigma: float = 0.2,
    crra: float = 3.0,
    *,
    n_income: int = 7,
    wealth_max: float = 200.0,
    n_wealth: int = 200,
) -> Calibration:
    """Aiyagari (1994, QJE): beta = 0.96, alpha = 0.36, delta = 0.08, annual periods.

    Log labour endowment is an AR(1) with persistence ``rho`` and *unconditional* standard
    deviation ``sigma`` (Aiyagari's parametrisation; the innovation sd is
    ``sigma sqrt(1 - rho^2)``), discretised by Tauchen on ``n_income`` = 7 points spanning ±3
    unconditional sd, mean endowment 1. Zero borrowing limit. Wealth grid: 200 points on
    [0, 200] (about 150 mean labour incomes at the equilibrium wage), ``a + 1`` geometrically
    spaced: solving the stationary equilibrium by EGM for the most dispersed cases of
    Aiyagari's table (rho = 0.9, sigma = 0.4, crra in {3, 5}) puts the 1 - 1e-10 quantile of
    wealth near 110, well inside the grid.

    Args:
        rho: persistence, in (-1, 1) (0 allowed: i.i.d. income).
        sigma: unconditional sd of log labour endowment, in (0, inf).
        crra: relative risk aversion mu, in (0, inf) (Aiyagari: 1, 3, 5).
    """
    sigma = _positive("sigma", sigma)
    rho = check_in_range("rho", rho, -1, 1, low_open=True, high_open=True)
    income = tauchen(rho, innovation_sd(sigma, rho), n_income)
    household = HouseholdCalibration(
        beta=0.96,
        crra=crra,
        income=income,
        borrowing_limit=0.0,
        wealth_max=wealth_max,
        n_wealth=n_wealth,
        wealth_grid_pivot=1.0,
    )
    return Calibration(
        name="aiyagari_1994",
        household=household,
        firm=FirmCalibration(alpha=0.36, delta=0.08),
    )


def quantecon_aiyagari(
    *, crra: float = 1.0, wealth_max: float = 20.0, n_wealth: int = 200
) -> Calibration:
    """QuantEcon's lecture "The Aiyagari Model" (python.quantecon.org/aiyagari.html).

    The lecture's values, reproduced exactly by the defaults: households ``beta = 0.96``, log
    utility (crra = 1), income states ``z_vals = [0.1, 1.0]`` (levels kept, not rescaled) with
    ``Pi = [[0.9, 0.1], [0.1, 0.9]]``, asset grid ``np.linspace(a_min, a_max, a_size)`` with
    ``a_min = 1e-10``, ``a_max = 20``, ``a_size = 200``; firm ``A = 1``, ``N = 1`` (fixed labour
    supply, not the households' mean endowment 0.55), ``alpha = 0.33``, ``delta = 0.05``.

    Args:
        crra: relative risk aversion, in (0, inf); wealth_max: ``a_max``; n_wealth: ``a_size``.
    """
    income = markov_income([0.1, 1.0], [[0.9, 0.1], [0.1, 0.9]])
    household = HouseholdCalibration(
        beta=0.96,
        crra=crra,
        income=income,
        borrowing_limit=1e-10,
        wealth_max=wealth_max,
        n_wealth=n_wealth,
        wealth_grid_pivot=None,
    )
    firm = FirmCalibration(alpha=0.33, delta=0.05, tfp_level=1.0, labour_supply=1.0)
    return Calibration(name="quantecon_aiyagari", household=household, firm=firm)


def krusell_smith_1998(*, wealth_max: float = 350.0, n_wealth: int = 100) -> Calibration:
    """Krusell and Smith (1998, JPE), quarterly: beta = 0.99, log utility, alpha = 0.36,
    delta = 0.025.

    TFP ``z ∈ {1.01, 0.99}`` with unemployment 4% / 10% via :func:`krusell_smith_employment`
    (aggregate states last 8 quarters on average, unemployment spells 1.5 / 2.5 quarters).
    The employed supply ``l = 0.3271``; the unemployed receive home production
    ``0.15 w l`` (``EmploymentIncome.unemployment_income_share``). Zero borrowing limit;
    wealth grid of 100 points on [0, 350] (aggregate capital is about 12), ``a + 1``
    geometrically spaced.
    """
    emp = krusell_smith_employment()
    household = HouseholdCalibration(
        beta=0.99,
        crra=1.0,
        income=None,
        borrowing_limit=0.0,
        wealth_max=wealth_max,
        n_wealth=n_wealth,
        wealth_grid_pivot=1.0,
    )
    return Calibration(
        name="krusell_smith_1998",
        household=household,
        firm=FirmCalibration(alpha=0.36, delta=0.025),
        tfp=MarkovTFP(levels=emp.z_levels, Pi=emp.Pi_z),
        employment=emp,
        employment_income=EmploymentIncome(labour_endowment=0.3271, unemployment_income_share=0.15),
    )


def _seed_income_matrix(n: int, p_move: float) -> np.ndarray:
    """One grid step down or up with probability ``p_move`` each; a move off the grid stays."""
    Pi = np.zeros((n, n))
    for i in range(n):
        Pi[i, i] += 1.0 - 2.0 * p_move
        Pi[i, max(i - 1, 0)] += p_move
        Pi[i, min(i + 1, n - 1)] += p_move
    return Pi


def seed_macro(*, wealth_max: float = 99.0, n_wealth: int = 200, horizon: int = 128) -> Calibration:
    """The macroeconomics game of the RSPG paper (library MFAX, ``pushforward/endogenous``).

    Households on 200 wealth × 5 income points choose, each period, which of 20 shares of
    cash on hand ``m = (1 + r) a + w e`` to consume (the midpoints 0.025, 0.075, …, 0.975 of 20
    equal bins of [0, 1]): ``c = share · m``, ``a' = (1 - share) m`` (a linear lottery onto the
    wealth grid). CRRA 2, discount 0.95 (the library's training and evaluation setting),
    horizon 128 with the last period paying ``u(m)``, mu_0 uniform, shared observation
    ``(r, w)``. Grids: wealth on [0, 99] with ``a + 0.25`` geometric, income levels on
    [0.1, 2.0] with ``e + 0.25`` geometric (kept as levels, mean 0.8416 under the uniform
    stationary distribution). Income moves one grid step down / up with probability 0.1 each;
    a move off the grid stays put (edge states stay with probability 0.9). Firm: alpha = 0.36,
    no depreciation, ``r = alpha z (L/K)^(1 - alpha)``, ``w = (1 - alpha) z (K/L)^alpha`` with
    ``K, L`` the means of wealth and income under mu. Log TFP: AR(1), rho = 0.9, innovation
    sd 0.03, ``log z_0 = 0``.

    Args:
        wealth_max, n_wealth: top and size of the wealth grid; horizon: periods of the game.
    """
    income_grid = geometric_grid(0.1, 2.0, 5, shift=0.25)
    income = markov_income(income_grid, _seed_income_matrix(5, 0.1))
    household = HouseholdCalibration(
        beta=0.95,
        crra=2.0,
        income=income,
        borrowing_limit=0.0,
        wealth_max=wealth_max,
        n_wealth=n_wealth,
        wealth_grid_pivot=0.25,
    )
    game = GameSettings(
        horizon=horizon,
        consumption_shares=midpoint_shares(20),
        initial_distribution="uniform",
        terminal_reward="consume_wealth",
        observation=("r", "w"),
    )
    return Calibration(
        name="seed_macro",
        household=household,
        firm=FirmCalibration(alpha=0.36, delta=0.0),
        tfp=LogAR1TFP(rho=0.9, sigma=0.03, log_tfp_initial=0.0),
        game=game,
    )
