"""A persistent cache of XLA compilations, so that a second run of the same job starts warm.

JAX compiles every jitted function on first use; on a laptop CPU the main job spends about
twenty seconds compiling. With the cache on, compiled programs are written to a folder and
read back by later runs of the same code on the same machine (JAX's own persistent
compilation cache; entries are keyed by the program, JAX version and device).
"""

from __future__ import annotations

import os

__all__ = ["CACHE_ENV", "default_cache_dir", "enable_compilation_cache"]

#: Environment variable naming the cache folder; ``off`` (or an empty value) disables it.
CACHE_ENV = "HANK_MFG_COMPILATION_CACHE"


def default_cache_dir() -> str | None:
    """The cache folder: ``$HANK_MFG_COMPILATION_CACHE`` if set (None when it is ``off`` or
    empty), else ``$XDG_CACHE_HOME/hank_mfg/xla`` (``~/.cache/hank_mfg/xla``)."""
    if CACHE_ENV in os.environ:
        value = os.environ[CACHE_ENV].strip()
        return None if value.lower() in ("", "off", "none", "0") else value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hank_mfg", "xla")


def enable_compilation_cache(path: str | None = None) -> str | None:
    """Turn JAX's persistent compilation cache on in folder ``path`` (default
    :func:`default_cache_dir`); every compilation is cached, however short.

    Returns the folder used, or None (cache left off) when the default is ``off`` or the folder
    cannot be created or written — the cache only saves time, so it never stops a run.
    """
    import jax

    folder = default_cache_dir() if path is None else path
    if folder is None:
        return None
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return folder
