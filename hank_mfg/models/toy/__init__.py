"""The RSPG paper's toy benchmark games."""

from hank_mfg.models.toy.beach_bar import BeachBar
from hank_mfg.models.toy.linear_quadratic import LinearQuadratic

__all__ = ["BeachBar", "LinearQuadratic"]
