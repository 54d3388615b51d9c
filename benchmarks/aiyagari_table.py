"""Aiyagari (1994, Table II): equilibrium interest rate and saving rate, timed per case.

For each of the 24 economies ``aiyagari_1994(rho, sigma, crra)`` with persistence
ρ ∈ {0, 0.3, 0.6, 0.9}, unconditional sd of log labour endowment σ ∈ {0.2, 0.4} and relative
risk aversion μ ∈ {1, 3, 5} (β = 0.96, α = 0.36, δ = 0.08, annual periods, zero borrowing
limit, 7-state Tauchen chain), the stationary equilibrium is solved by
:func:`hank_mfg.solvers.stationary.stationary_equilibrium` (EGM households, exact stationary
distribution, Brent on ``r``) and reported as

* the net interest rate ``r`` in percent per year;
* the saving rate ``δ K / Y`` in percent (gross investment over output in a steady state),

in the layout of Aiyagari's Table II (panel A: σ = 0.2, panel B: σ = 0.4; rows ρ, columns μ),
next to the published values. The published values are those of Aiyagari, S. R. (1994),
"Uninsured Idiosyncratic Risk and Aggregate Saving", QJE 109(3), 659–684, Table II, as
transcribed in the Econ-ARK replication github.com/econ-ark/Aiyagari1994QJE
(``AiyagariMarkovHARK.ipynb``, list ``aiyagari``).

Each case is timed from building the economy to the solved equilibrium, in one process after
an untimed warm-up case: one-off JIT compilation is left out, except what a case triggers
itself (e.g. a risk aversion not seen before, if the solver treats it as static).

Wealth grid check: in each equilibrium the mass of the stationary distribution on the top
wealth point, and the mass whose chosen next wealth lies above the top of the grid (the
quantity :meth:`BlockEconomy.check_path` warns about; it is placed on the top point), must
be ~0. Cases above :data:`GRID_TOL` are listed (on stderr with ``--json``).

Usage::

    python benchmarks/aiyagari_table.py               # tables
    python benchmarks/aiyagari_table.py --json        # a JSON list of records on stdout only
    python benchmarks/aiyagari_table.py --n-wealth 400 --wealth-max 400   # grid sensitivity
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:
    from hank_mfg.models import BlockEconomy
    from hank_mfg.solvers.stationary import StationaryEquilibrium

RHOS = (0.0, 0.3, 0.6, 0.9)
SIGMAS = (0.2, 0.4)
CRRAS = (1.0, 3.0, 5.0)

#: The game's horizon; it plays no part in the stationary equilibrium.
HORIZON = 1

#: A case whose top-point mass or mass above the grid exceeds this has too small a grid.
GRID_TOL = 1e-10

#: Wealth quantile reported as "how far up the grid the distribution reaches".
TAIL_QUANTILE = 1.0 - 1e-10

SOURCE = (
    "Aiyagari (1994, QJE 109(3), Table II), as transcribed in github.com/econ-ark/"
    "Aiyagari1994QJE (AiyagariMarkovHARK.ipynb)"
)

#: Published Table II: (rho, sigma, crra) -> (net return to capital %, saving rate %).
PUBLISHED: dict[tuple[float, float, float], tuple[float, float]] = {
    (0.0, 0.2, 1.0): (4.1666, 23.67),
    (0.0, 0.2, 3.0): (4.1456, 23.71),
    (0.0, 0.2, 5.0): (4.0858, 23.83),
    (0.3, 0.2, 1.0): (4.1365, 23.73),
    (0.3, 0.2, 3.0): (4.0432, 23.91),
    (0.3, 0.2, 5.0): (3.9054, 24.19),
    (0.6, 0.2, 1.0): (4.0912, 23.82),
    (0.6, 0.2, 3.0): (3.8767, 24.25),
    (0.6, 0.2, 5.0): (3.5857, 24.86),
    (0.9, 0.2, 1.0): (3.9305, 24.14),
    (0.9, 0.2, 3.0): (3.2903, 25.51),
    (0.9, 0.2, 5.0): (2.5260, 27.36),
    (0.0, 0.4, 1.0): (4.0649, 23.87),
    (0.0, 0.4, 3.0): (3.7816, 24.44),
    (0.0, 0.4, 5.0): (3.4177, 25.22),
    (0.3, 0.4, 1.0): (3.9554, 24.09),
    (0.3, 0.4, 3.0): (3.4188, 25.22),
    (0.3, 0.4, 5.0): (2.8032, 26.66),
    (0.6, 0.4, 1.0): (3.7567, 24.50),
    (0.6, 0.4, 3.0): (2.7835, 26.71),
    (0.6, 0.4, 5.0): (1.8070, 29.37),
    (0.9, 0.4, 1.0): (3.3054, 25.47),
    (0.9, 0.4, 3.0): (1.2894, 31.00),
    (0.9, 0.4, 5.0): (-0.3456, 37.63),
}


@dataclass
class Case:
    """One economy of the table: its equilibrium, timing, published values and grid check.

    Attributes:
        rho, sigma, crra: persistence, unconditional sd of log endowment, risk aversion μ.
        r_percent: equilibrium net interest rate, % per year.
        saving_rate_percent: ``δ K / Y``, %.
        seconds: wall time from building the economy to the solved equilibrium.
        aiyagari_r_percent, aiyagari_saving_rate_percent: Table II's values (``None`` if absent).
        top_mass: stationary mass on the top wealth point.
        mass_above_grid: mass whose chosen next wealth exceeds the top of the grid.
        wealth_tail: the ``1 − 1e-10`` quantile of wealth, in units of the good.
        wealth_max: the top of the wealth grid, in units of the good.
    """

    rho: float
    sigma: float
    crra: float
    r_percent: float
    saving_rate_percent: float
    seconds: float
    aiyagari_r_percent: float | None
    aiyagari_saving_rate_percent: float | None
    top_mass: float
    mass_above_grid: float
    wealth_tail: float
    wealth_max: float

    @property
    def grid_ok(self) -> bool:
        """Whether the distribution stays clear of the top of the wealth grid."""
        return self.top_mass <= GRID_TOL and self.mass_above_grid <= GRID_TOL


def grid_check(economy: BlockEconomy, eq: StationaryEquilibrium) -> tuple[float, float, float]:
    """``(top_mass, mass_above_grid, wealth_tail)`` of a stationary equilibrium.

    ``top_mass = Σ_e mu(a_max, e)``; ``mass_above_grid = Σ mu(a, e) 1{a'(a, e) > a_max}``, the
    per-period quantity that :meth:`BlockEconomy.check_path` checks along a path (here at
    the stationary distribution and prices); ``wealth_tail`` the ``1 − 1e-10`` quantile.
    """
    from hank_mfg.solvers.stationary import stationary_kernel

    hh = economy.household
    kernel = stationary_kernel(economy, eq.values)
    above = float(kernel.mass_above_grid(jnp.asarray(eq.distribution), jnp.asarray(eq.share)))
    wealth_mass = eq.distribution.reshape(hh.n_wealth, hh.n_income).sum(axis=1)
    cdf = np.cumsum(wealth_mass)
    tail = float(hh.wealth_grid[min(np.searchsorted(cdf, TAIL_QUANTILE), hh.n_wealth - 1)])
    return float(wealth_mass[-1]), above, tail


def solve_case(rho: float, sigma: float, crra: float, *, n_wealth: int, wealth_max: float) -> Case:
    """Solve and time one economy of the table (percentages per year)."""
    from hank_mfg.calibration import aiyagari_1994
    from hank_mfg.models import aiyagari
    from hank_mfg.solvers.stationary import stationary_equilibrium

    start = time.perf_counter()
    cal = aiyagari_1994(rho, sigma, crra, n_wealth=n_wealth, wealth_max=wealth_max)
    economy = aiyagari(cal, horizon=HORIZON)
    eq = stationary_equilibrium(economy)
    seconds = time.perf_counter() - start
    top_mass, above, tail = grid_check(economy, eq)
    published = PUBLISHED.get((rho, sigma, crra), (None, None))
    return Case(
        rho=rho,
        sigma=sigma,
        crra=crra,
        r_percent=100.0 * eq.r,
        saving_rate_percent=100.0 * eq.saving_rate,
        seconds=seconds,
        aiyagari_r_percent=published[0],
        aiyagari_saving_rate_percent=published[1],
        top_mass=top_mass,
        mass_above_grid=above,
        wealth_tail=tail,
        wealth_max=float(cal.household.wealth_max),
    )


def run_table(*, n_wealth: int, wealth_max: float, warmup: bool = True) -> list[Case]:
    """All 24 cases in Table II's order (σ, then ρ, then μ)."""
    if warmup:  # one-off compilation shared by all cases (eager ops, distribution, value)
        solve_case(RHOS[0], SIGMAS[0], CRRAS[0], n_wealth=n_wealth, wealth_max=wealth_max)
    return [
        solve_case(rho, sigma, crra, n_wealth=n_wealth, wealth_max=wealth_max)
        for sigma, rho, crra in itertools.product(SIGMAS, RHOS, CRRAS)
    ]


def _cell(value: float | None, rate: float | None, r_digits: int = 4) -> str:
    if value is None or rate is None:
        return "n/a"
    return f"{value:.{r_digits}f}/{rate:.2f}"


def format_tables(cases: list[Case], total_seconds: float) -> str:
    """Table II layout: per σ a block of rows ρ and columns μ, ours [published]; then times."""
    by_key = {(c.rho, c.sigma, c.crra): c for c in cases}
    width = 29
    lines = [
        "Aiyagari (1994) Table II: net return to capital r (%) / saving rate δK/Y (%),",
        "ours [published]. Published: " + SOURCE + ".",
    ]
    for panel, sigma in zip("AB", SIGMAS, strict=True):
        lines += [
            "",
            f"{panel}. σ = {sigma}",
            (f"{'':9}" + "".join(f"{'μ = ' + f'{m:g}':<{width}}" for m in CRRAS)).rstrip(),
        ]
        for rho in RHOS:
            cells = []
            for crra in CRRAS:
                c = by_key[(rho, sigma, crra)]
                ours = _cell(c.r_percent, c.saving_rate_percent)
                theirs = _cell(c.aiyagari_r_percent, c.aiyagari_saving_rate_percent)
                cells.append(f"{ours} [{theirs}]".ljust(width))
            lines.append(f"ρ = {rho:<5g}" + "".join(cells).rstrip())
    diffs = [
        (
            abs(c.r_percent - c.aiyagari_r_percent),
            abs(c.saving_rate_percent - c.aiyagari_saving_rate_percent),
        )
        for c in cases
        if c.aiyagari_r_percent is not None and c.aiyagari_saving_rate_percent is not None
    ]
    if diffs:
        dr, ds = np.array(diffs).T
        lines += [
            "",
            f"|ours − published|: r median {np.median(dr):.4f}, max {dr.max():.4f} pp; "
            f"saving rate median {np.median(ds):.2f}, max {ds.max():.2f} pp",
        ]
    lines += ["", "Seconds per case (build the economy + stationary_equilibrium)"]
    for panel, sigma in zip("AB", SIGMAS, strict=True):
        lines.append(f"{panel}. σ = {sigma}" + "".join(f"{'μ = ' + f'{m:g}':>10}" for m in CRRAS))
        for rho in RHOS:
            times = "".join(f"{by_key[(rho, sigma, m)].seconds:>10.2f}" for m in CRRAS)
            lines.append(f"ρ = {rho:<6g}" + times)
    lines += [
        "",
        f"Total: {sum(c.seconds for c in cases):.1f} s for {len(cases)} cases "
        f"({total_seconds:.1f} s wall including the warm-up case)",
    ]
    lines += ["", grid_report(cases)]
    return "\n".join(lines)


def grid_report(cases: list[Case]) -> str:
    """One line if the wealth grid is wide enough everywhere, else one line per failing case."""
    top = max(c.top_mass for c in cases)
    above = max(c.mass_above_grid for c in cases)
    reach = max(cases, key=lambda c: c.wealth_tail)
    head = (
        f"Wealth grid (top {cases[0].wealth_max:g}): max top-point mass {top:.2g}, max mass "
        f"choosing wealth above the grid {above:.2g}; the 1 − 1e-10 wealth quantile reaches "
        f"{reach.wealth_tail:.4g} (ρ = {reach.rho:g}, σ = {reach.sigma:g}, μ = {reach.crra:g})."
    )
    bad = [c for c in cases if not c.grid_ok]
    if not bad:
        return head + f" All {len(cases)} cases are clear of the top (tolerance {GRID_TOL:g})."
    lines = [head, f"Grid too small (tolerance {GRID_TOL:g}) in {len(bad)} case(s):"]
    lines += [
        f"  ρ = {c.rho:g}, σ = {c.sigma:g}, μ = {c.crra:g}: top-point mass {c.top_mass:.3g}, "
        f"above grid {c.mass_above_grid:.3g}"
        for c in bad
    ]
    return "\n".join(lines)


def record(case: Case) -> dict[str, float | None]:
    """The JSON record of a case."""
    keys = (
        "rho",
        "sigma",
        "crra",
        "r_percent",
        "saving_rate_percent",
        "seconds",
        "aiyagari_r_percent",
        "aiyagari_saving_rate_percent",
        "top_mass",
        "mass_above_grid",
    )
    data = asdict(case)
    out = {k: data[k] for k in keys}
    if case.aiyagari_r_percent is None:
        del out["aiyagari_r_percent"], out["aiyagari_saving_rate_percent"]
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="a JSON list of records on stdout")
    parser.add_argument("--n-wealth", type=int, default=200, help="wealth grid points (200)")
    parser.add_argument("--wealth-max", type=float, default=200.0, help="top of the grid (200)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first case")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Solve the 24 cases; print Table II (or JSON with ``--json``) and the total time."""
    args = parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        cases = run_table(
            n_wealth=args.n_wealth, wealth_max=args.wealth_max, warmup=not args.no_warmup
        )
    wall = time.perf_counter() - start
    if args.json:
        print(json.dumps([record(c) for c in cases]))
        total = sum(c.seconds for c in cases)
        print(
            f"aiyagari_table: total {total:.1f} s for {len(cases)} cases ({wall:.1f} s wall)",
            file=sys.stderr,
        )
        if not all(c.grid_ok for c in cases):
            print("aiyagari_table: " + grid_report(cases), file=sys.stderr)
        return 0
    print(format_tables(cases, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
