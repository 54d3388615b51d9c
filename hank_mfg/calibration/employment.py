"""The Krusell–Smith (1998) aggregate-shock and employment process.

Aggregate TFP ``z`` takes two values (good ``g`` first, then bad ``b``); each household is
unemployed (``u``, e = 0) or employed (``e``, e = 1). The pair ``(z, e)`` is a joint Markov
chain,

    P(z', e' | z, e) = Pi_z[z, z'] · pi(e' | e, z, z'),

calibrated to the standard targets: an expected duration of ``duration_z`` quarters for each
aggregate state, expected unemployment spells of ``duration_unemp_good`` / ``duration_unemp_bad``
quarters in good / bad times, the KS (1998) conditions

    pi(u' | u, g → b) = 1.25 pi(u' | u, b → b),    pi(u' | u, b → g) = 0.75 pi(u' | u, g → g),

and unemployment that moves exactly from ``u_z`` to ``u_z'`` (no aggregate uncertainty in
employment given z):

    u_z pi(u' | u, z, z') + (1 - u_z) pi(u' | e, z, z') = u_z'.

An expected duration ``d`` of a state corresponds to a staying probability ``1 - 1/d``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hank_mfg.calibration.income import PROB_TOL, check_stochastic_matrix, frozen_array
from hank_mfg.core.checks import check_in_range

__all__ = ["KrusellSmithEmployment", "krusell_smith_employment"]

# Indices: z = 0 good, 1 bad; e = 0 unemployed, 1 employed; joint index 2 z + e.
GOOD, BAD = 0, 1
UNEMPLOYED, EMPLOYED = 0, 1


@dataclass(frozen=True, eq=False)
class KrusellSmithEmployment:
    """The joint Markov chain of aggregate TFP and individual employment.

    Attributes:
        z_levels: TFP levels ``[2]``, good state first (KS: 1.01, 0.99).
        Pi_z: aggregate transition matrix ``[2, 2]``, ``Pi_z[z, z'] = P(z' | z)``.
        unemployment: unemployment rate in each aggregate state ``[2]`` (KS: 0.04, 0.10).
        Pi_joint: transition matrix ``[4, 4]`` over ``(z, e)`` ordered (good, unemployed),
            (good, employed), (bad, unemployed), (bad, employed).

    Validated on construction: stochastic matrices, ``Pi_joint`` summed over ``e'`` equals
    ``Pi_z`` for every current ``(z, e)``, and unemployment moves exactly from ``u_z`` to
    ``u_z'``.
    """

    z_levels: np.ndarray
    Pi_z: np.ndarray
    unemployment: np.ndarray
    Pi_joint: np.ndarray

    def __post_init__(self) -> None:
        z = np.asarray(self.z_levels, dtype=np.float64)
        if z.shape != (2,) or not np.all(np.isfinite(z)) or np.any(z <= 0):
            raise ValueError(f"z_levels must be 2 positive finite TFP levels, got {z}")
        Pi_z = check_stochastic_matrix("Pi_z", self.Pi_z, 2)
        if np.any(Pi_z <= 0):
            raise ValueError(f"Pi_z must have entries in (0, 1), got {Pi_z.tolist()}")
        u = np.asarray(self.unemployment, dtype=np.float64)
        if u.shape != (2,) or not np.all(np.isfinite(u)) or np.any((u <= 0) | (u >= 1)):
            raise ValueError(f"unemployment must be 2 rates in (0, 1), got {u}")
        P = check_stochastic_matrix("Pi_joint", self.Pi_joint, 4)
        blocks = P.reshape(2, 2, 2, 2)  # [z, e, z', e']
        if np.max(np.abs(blocks.sum(axis=3) - Pi_z[:, None, :])) > PROB_TOL:
            raise ValueError("Pi_joint summed over e' must equal Pi_z for every (z, e)")
        pi_e = blocks.transpose(0, 2, 1, 3) / Pi_z[:, :, None, None]  # [z, z', e, e']
        u_next = u[:, None] * pi_e[:, :, 0, 0] + (1 - u[:, None]) * pi_e[:, :, 1, 0]
        if np.max(np.abs(u_next - u[None, :])) > PROB_TOL:
            raise ValueError(
                "Pi_joint must move unemployment from u_z to u_z' exactly for every (z, z')"
            )
        object.__setattr__(self, "z_levels", frozen_array(z))
        object.__setattr__(self, "Pi_z", Pi_z)
        object.__setattr__(self, "unemployment", frozen_array(u))
        object.__setattr__(self, "Pi_joint", P)

    @property
    def Pi_e(self) -> np.ndarray:
        """``Pi_e[z, z', e, e'] = pi(e' | e, z, z')``, shape ``[2, 2, 2, 2]``; e = 0 unemployed."""
        blocks = self.Pi_joint.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3)
        return blocks / self.Pi_z[:, :, None, None]

    @property
    def employment(self) -> np.ndarray:
        """Employment rate ``1 - u_z`` in each aggregate state ``[2]``."""
        return 1.0 - self.unemployment

    def to_dict(self) -> dict[str, Any]:
        """Every parameter as plain Python values (arrays as nested lists)."""
        return {
            "z_levels": self.z_levels.tolist(),
            "Pi_z": self.Pi_z.tolist(),
            "unemployment": self.unemployment.tolist(),
            "Pi_joint": self.Pi_joint.tolist(),
        }


def krusell_smith_employment(
    unemployment_good: float = 0.04,
    unemployment_bad: float = 0.10,
    duration_z: float = 8.0,
    duration_unemp_good: float = 1.5,
    duration_unemp_bad: float = 2.5,
    z_good: float = 1.01,
    z_bad: float = 0.99,
) -> KrusellSmithEmployment:
    """The Krusell–Smith (1998) process from its calibration targets (durations in quarters).

    Args:
        unemployment_good, unemployment_bad: unemployment rates ``u_g``, ``u_b`` in (0, 1).
        duration_z: expected duration of either aggregate state, in (1, inf):
            ``P(z' = z | z) = 1 - 1 / duration_z``.
        duration_unemp_good: expected unemployment spell when good times continue, in [1, inf):
            ``pi(u' | u, g, g) = 1 - 1 / duration_unemp_good``.
        duration_unemp_bad: the same when bad times continue, in [1, 5] so that
            ``pi(u' | u, g, b) = 1.25 pi(u' | u, b, b) <= 1``.
        z_good, z_bad: TFP levels, positive.

    Raises:
        ValueError: naming the offending parameter, also when the targets imply a job-finding
            or job-loss probability outside [0, 1].
    """
    u = np.array(
        [
            check_in_range(
                "unemployment_good", unemployment_good, 0, 1, low_open=True, high_open=True
            ),
            check_in_range(
                "unemployment_bad", unemployment_bad, 0, 1, low_open=True, high_open=True
            ),
        ]
    )
    d_z = check_in_range("duration_z", duration_z, 1.0, math.inf, low_open=True, high_open=True)
    d_ug = check_in_range("duration_unemp_good", duration_unemp_good, 1.0, math.inf, high_open=True)
    d_ub = check_in_range("duration_unemp_bad", duration_unemp_bad, 1.0, 5.0)
    z = np.array(
        [
            check_in_range("z_good", z_good, 0.0, math.inf, low_open=True, high_open=True),
            check_in_range("z_bad", z_bad, 0.0, math.inf, low_open=True, high_open=True),
        ]
    )

    stay = 1.0 - 1.0 / d_z
    Pi_z = np.array([[stay, 1.0 - stay], [1.0 - stay, stay]])

    # pi(u' | u, z, z'): persistence of unemployment.
    uu = np.empty((2, 2))
    uu[GOOD, GOOD] = 1.0 - 1.0 / d_ug
    uu[BAD, BAD] = 1.0 - 1.0 / d_ub
    uu[GOOD, BAD] = 1.25 * uu[BAD, BAD]
    uu[BAD, GOOD] = 0.75 * uu[GOOD, GOOD]
    # pi(u' | e, z, z') from u_z pi(u'|u) + (1 - u_z) pi(u'|e) = u_z'.
    eu = (u[None, :] - u[:, None] * uu) / (1.0 - u[:, None])
    if np.any(eu < 0) or np.any(eu > 1):
        raise ValueError(
            "unemployment_good, unemployment_bad and the durations imply a job-loss probability "
            f"pi(u' | e, z, z') outside [0, 1]: {eu.tolist()}"
        )

    pi_e = np.empty((2, 2, 2, 2))  # [z, z', e, e']
    pi_e[:, :, UNEMPLOYED, UNEMPLOYED] = uu
    pi_e[:, :, UNEMPLOYED, EMPLOYED] = 1.0 - uu
    pi_e[:, :, EMPLOYED, UNEMPLOYED] = eu
    pi_e[:, :, EMPLOYED, EMPLOYED] = 1.0 - eu
    Pi_joint = (Pi_z[:, :, None, None] * pi_e).transpose(0, 2, 1, 3).reshape(4, 4)
    return KrusellSmithEmployment(z_levels=z, Pi_z=Pi_z, unemployment=u, Pi_joint=Pi_joint)
