"""Atomic file writes: a recognisable temporary file beside the target, then one rename.

Every file the package writes (results, checkpoints) goes through :func:`atomic_write`:

* the data are written to ``.<name>.partial-<pid>-<random>`` in the target's folder, flushed
  and fsync'ed, then renamed over the target (``os.replace``), so a reader sees the old file or
  the new one, never half of one;
* the new file gets the mode an ordinary ``open()`` would give it under the process's umask,
  or the mode of the file it replaces;
* if the write fails, or the process receives SIGTERM/SIGINT while writing, the temporary file
  is removed before the error (or the signal's default action) goes on;
* a temporary file left by a process that was killed outright (SIGKILL, power loss) is removed
  by the next write to the same target, once its process is gone; :func:`is_partial` lets
  readers refuse such files.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator

__all__ = ["atomic_write", "is_partial", "partial_prefix", "remove_stale_partials"]

_MARK = ".partial-"
_live: set[str] = set()


def partial_prefix(path: str | os.PathLike) -> str:
    """The name prefix of temporary files for ``path`` (``.<name>.partial-``)."""
    return f".{os.path.basename(os.fspath(path))}{_MARK}"


def is_partial(path: str | os.PathLike) -> bool:
    """Whether ``path`` is one of :func:`atomic_write`'s temporary files."""
    name = os.path.basename(os.fspath(path))
    return name.startswith(".") and _MARK in name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(path: str | os.PathLike) -> list[str]:
    """Remove temporary files for ``path`` whose writing process is gone; return their paths."""
    path = os.path.abspath(os.fspath(path))
    folder, prefix = os.path.dirname(path), partial_prefix(path)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(prefix):
            continue
        pid_text = name[len(prefix) :].split("-", 1)[0]
        full = os.path.join(folder, name)
        if full in _live:  # being written by this process now
            continue
        pid = int(pid_text) if pid_text.isdigit() else None
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue  # another process is writing it
        with contextlib.suppress(OSError):
            os.unlink(full)
            removed.append(full)
    return removed


def _new_file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def _cleanup_on_signals(tmp: str) -> Iterator[None]:
    """Remove ``tmp`` if SIGTERM or SIGINT arrives, then let the signal act as before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _live.discard(tmp)
        old = previous[signum]
        signal.signal(signum, old)
        if callable(old):
            old(signum, frame)
        else:
            os.kill(os.getpid(), signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write ``path`` atomically: ``write(tmp_path)`` fills a temporary file, then it is renamed.

    Raises whatever ``write`` raises (the temporary file removed, the target untouched).
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    remove_stale_partials(path)
    tmp = os.path.join(folder, f"{partial_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}")
    mode = _new_file_mode(path)
    _live.add(tmp)
    try:
        with _cleanup_on_signals(tmp):
            write(tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _live.discard(tmp)
