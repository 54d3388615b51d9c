"""Economic models and the seed's toy games, each compiled to a MeanFieldGame."""

from hank_mfg.models.toy import BeachBar, LinearQuadratic

__all__ = ["BeachBar", "LinearQuadratic"]
