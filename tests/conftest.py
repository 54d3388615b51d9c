"""Test configuration: float64 everywhere (exactness checks), headless matplotlib, CPU; the work
of fresh interpreters started in the background."""

import concurrent.futures
import os
import queue
import threading

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# the command line's persistent compilation cache stays off in tests (tests/test_compilation.py
# turns it on in fresh interpreters)
os.environ.setdefault("HANK_MFG_COMPILATION_CACHE", "off")

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

jax.config.update("jax_enable_x64", True)

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# --- fresh interpreters in the background ------------------------------------------------------
# A test module whose work runs in other processes (the README examples, the notebooks' kernels)
# defines ``fresh_interpreters(items, width)`` and reads its result through the ``fresh_runs``
# fixture; ``width()`` is how many of its interpreters may run at once. Once the session's tests
# are collected, and when other tests were selected too, that work starts in one background
# thread, one module and one interpreter at a time: it takes the second core while this process
# compiles (mostly on one core), and is done, or nearly, when the module's tests come. While
# this process waits for it, every interpreter left starts at once.

_QUEUE: queue.SimpleQueue = queue.SimpleQueue()
_STARTED: dict[str, concurrent.futures.Future] = {}
_WAITING = threading.Event()  # set while this process waits for the background work


def _work_through_the_queue() -> None:
    """The background thread (a daemon: a session that stops early does not wait for it)."""
    while True:
        future, work, args = _QUEUE.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(work(*args))
            except BaseException as err:  # raised again where the result is read
                future.set_exception(err)


def _background_width() -> int:
    return 1_000 if _WAITING.is_set() else 1


def _selected(session, module) -> list:
    return [item for item in session.items if getattr(item, "module", None) is module]


def pytest_collection_finish(session):
    modules, others = {}, False
    for item in session.items:
        module = getattr(item, "module", None)
        if "fresh_runs" not in getattr(item, "fixturenames", ()):
            others = True
        elif hasattr(module, "fresh_interpreters"):
            modules.setdefault(module.__name__, module)
    if session.config.option.collectonly or not others:
        return  # nothing to overlap with: each module runs its interpreters at once
    if modules:
        threading.Thread(target=_work_through_the_queue, daemon=True).start()
    for name, module in modules.items():
        _STARTED[name] = concurrent.futures.Future()
        items = _selected(session, module)
        _QUEUE.put((_STARTED[name], module.fresh_interpreters, (items, _background_width)))


def pytest_sessionfinish(session):
    for future in _STARTED.values():
        future.cancel()  # those not started yet


@pytest.fixture(scope="module")
def fresh_runs(request):
    """The result of the module's ``fresh_interpreters``: from the background when it was
    started there, else run now, every interpreter at once."""
    future = _STARTED.pop(request.module.__name__, None)
    if future is None or future.cancelled():
        items = _selected(request.session, request.module)
        return request.module.fresh_interpreters(items, lambda: 1_000)
    _WAITING.set()
    try:
        return future.result()
    finally:
        _WAITING.clear()
