"""Test configuration: float64 everywhere (exactness checks), headless matplotlib, CPU."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# the command line's persistent compilation cache stays off in tests (tests/test_compilation.py
# turns it on in fresh interpreters)
os.environ.setdefault("HANK_MFG_COMPILATION_CACHE", "off")

import jax  # noqa: E402
from hypothesis import settings  # noqa: E402

jax.config.update("jax_enable_x64", True)

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
