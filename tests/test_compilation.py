"""The persistent compilation cache of the command line."""

import os
import subprocess
import sys

from hank_mfg.core.compilation import CACHE_ENV, default_cache_dir


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "xla"))
    assert default_cache_dir() == str(tmp_path / "xla")
    for off in ("off", "OFF", "", "none"):
        monkeypatch.setenv(CACHE_ENV, off)
        assert default_cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == os.path.join(str(tmp_path), "hank_mfg", "xla")


_PROGRAM = """
import sys
import jax, jax.numpy as jnp
from hank_mfg.core.compilation import enable_compilation_cache
print(enable_compilation_cache(sys.argv[1] if len(sys.argv) > 1 else None))
print(float(jax.jit(lambda x: jnp.sin(x) * 2.0)(1.0)))
"""


def _run(*args, env=None):
    out = subprocess.run(
        [sys.executable, "-c", _PROGRAM, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu", **(env or {})},
    )
    return out.stdout.split()


def test_compiled_programs_are_written_and_reused(tmp_path):
    folder = tmp_path / "xla"
    used, value = _run(str(folder))
    assert used == str(folder) and abs(float(value) - 1.682941969615793) < 1e-12
    entries = set(os.listdir(folder))
    assert entries  # the jitted function was cached, however short its compilation
    assert _run(str(folder)) == [used, value]
    assert set(os.listdir(folder)) == entries  # the second run read, and added nothing


def test_an_unwritable_or_disabled_cache_never_stops_a_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert _run(str(blocker / "xla"))[0] == "None"
    assert _run(env={CACHE_ENV: "off"})[0] == "None"
