"""Results files on disk: interrupted writes, temporary files, modes, damaged and odd files.

These tests use a small Dataset laid out like a results file (no solver runs), so they are fast.
"""

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time

import netCDF4
import numpy as np
import pytest
import xarray as xr

from hank_mfg import results
from hank_mfg.core.files import is_partial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def minimal_dataset(n_states: int = 50, horizon: int = 8, n_samples: int = 2) -> xr.Dataset:
    """A Dataset with what a results file of a mean-field game (kind ``game``) must hold."""
    rng = np.random.default_rng(0)
    mu = rng.random((n_samples, horizon + 1, n_states))
    mu /= mu.sum(axis=-1, keepdims=True)

    def var(dims, data, units="1"):
        return xr.Variable(dims, data, {"units": units, "long_name": "test"})

    dims = ("sample", "time", "state")
    return xr.Dataset(
        {
            "distribution": var(dims, mu),
            "value": var(dims, rng.normal(size=mu.shape), "utility"),
            "exploitability": var((), 0.5, "utility"),
        },
        coords={
            "sample": var("sample", np.arange(n_samples)),
            "time": var("time", np.arange(horizon + 1), "period"),
            "state": var("state", np.arange(n_states)),
        },
        attrs={
            "hank_mfg_format": results.FORMAT_VERSION,
            "hank_mfg_kind": "game",
            "model": "test_game",
            "solver": "none",
            "settings": "{}",
            "seed": 0,
            "created": "2024-01-01T00:00:00+00:00",
        },
    )


@pytest.fixture(scope="module")
def small():
    return minimal_dataset()


# --- interrupted writes ----------------------------------------------------------------------

_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    import xarray as xr
    from hank_mfg import results
    from test_files import minimal_dataset

    ds = minimal_dataset(n_states=5000, horizon=40, n_samples=2)  # about 7 MB
    original = xr.Dataset.to_netcdf

    def slow(self, target, *args, **kwargs):
        original(self, target, *args, **kwargs)  # the temporary file is there, not yet renamed
        print("written", flush=True)
        time.sleep(60)

    xr.Dataset.to_netcdf = slow
    results.to_netcdf(ds, {target!r})
    """
)


def _start_slow_writer(target):
    script = _SLOW_WRITER.format(root=ROOT, tests=os.path.join(ROOT, "tests"), target=str(target))
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )


def _wait_until_written(proc, folder):
    line = proc.stdout.readline()
    assert line.strip() == b"written", proc.stderr.read().decode()
    (tmp,) = os.listdir(folder)  # the temporary file, beside the target
    return tmp


def test_interrupted_writers_leave_no_temporary_file(tmp_path, small):
    """SIGTERM during a write removes the temporary file; the temporary file of a writer killed
    outright (SIGKILL) is refused by open_solution and removed by the next write."""
    term, kill = tmp_path / "term", tmp_path / "kill"
    term.mkdir(), kill.mkdir()
    writers = {folder: _start_slow_writer(folder / "big.nc") for folder in (term, kill)}
    _wait_until_written(writers[term], term)
    left = _wait_until_written(writers[kill], kill)
    writers[term].send_signal(signal.SIGTERM)
    writers[kill].kill()
    assert writers[term].wait(timeout=60) == -signal.SIGTERM  # the signal still ends it
    assert os.listdir(term) == []
    writers[kill].wait(timeout=60)
    assert os.listdir(kill) == [left] and is_partial(left)
    with pytest.raises(ValueError, match="temporary file"):
        results.open_solution(kill / left)
    results.to_netcdf(small, kill / "big.nc")
    assert os.listdir(kill) == ["big.nc"]
    assert results.open_solution(kill / "big.nc").attrs["model"] == "test_game"


# --- modes -----------------------------------------------------------------------------------


def test_new_files_respect_the_umask_and_overwrites_keep_the_mode(tmp_path, small):
    target = tmp_path / "out.nc"
    old = os.umask(0o022)
    try:
        results.to_netcdf(small, target)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
        os.chmod(target, 0o640)
        results.to_netcdf(small, target)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    finally:
        os.umask(old)


# --- files open_solution must refuse ---------------------------------------------------------


def test_a_temporary_file_is_refused(tmp_path, small):
    target = tmp_path / "out.nc"
    results.to_netcdf(small, target)
    partial = tmp_path / f".out.nc.partial-{os.getpid()}-0123abcd"
    shutil.copy(target, partial)
    with pytest.raises(ValueError, match="temporary file of an unfinished write"):
        results.open_solution(partial)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.nc"
    os.mkfifo(fifo)
    done = threading.Event()

    def unblock():  # should a reader block on the FIFO, give it a writer after 10 s
        deadline = time.monotonic() + 10.0
        while not done.is_set():
            if time.monotonic() > deadline:
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                    return
                except OSError:
                    pass
            time.sleep(0.05)

    threading.Thread(target=unblock, daemon=True).start()
    start = time.monotonic()
    try:
        with pytest.raises(ValueError, match="not a regular file"):
            results.open_solution(fifo)
    finally:
        done.set()
    assert time.monotonic() - start < 5.0
    with pytest.raises(ValueError, match="not a regular file"):
        results.open_solution(tmp_path)  # a folder


# --- required contents and the checksum ------------------------------------------------------


def _write_unchecked(ds, path):
    """Write ``ds`` as a results file would be written, with a correct checksum, bypassing the
    checks of ``to_netcdf`` (a file made by other software, or by an older writer)."""
    ds = ds.assign_attrs({results.CHECKSUM_ATTR: results.data_checksum(ds)})
    ds.to_netcdf(path, engine="netcdf4")


@pytest.mark.parametrize("attr", ["model", "solver", "hank_mfg_kind"])
def test_a_file_without_a_required_attribute_is_refused(tmp_path, small, attr):
    path = tmp_path / "no_attr.nc"
    ds = small.copy()
    del ds.attrs[attr]
    _write_unchecked(ds, path)
    with pytest.raises(ValueError, match=f"missing {attr}"):
        results.open_solution(path)
    with pytest.raises(ValueError, match=f"missing {attr}"):
        results.to_netcdf(ds, tmp_path / "never.nc")
    assert not (tmp_path / "never.nc").exists()


def test_a_file_without_the_distribution_or_with_wrong_dims_is_refused(tmp_path, small):
    path = tmp_path / "no_mu.nc"
    _write_unchecked(small.drop_vars("distribution"), path)
    with pytest.raises(ValueError, match=r"missing distribution\['sample', 'time', 'state'\]"):
        results.open_solution(path)
    renamed = small.copy()
    renamed["value"] = renamed["value"].rename(state="agent").drop_vars("agent")
    _write_unchecked(renamed, path)
    with pytest.raises(ValueError, match="'value' has dims"):
        results.open_solution(path)


def test_a_file_of_another_format_is_refused(tmp_path, small):
    path = tmp_path / "old.nc"
    _write_unchecked(small.assign_attrs(hank_mfg_format="1"), path)
    with pytest.raises(ValueError, match="of format '1'"):
        results.open_solution(path)


def test_values_changed_after_writing_fail_the_checksum(tmp_path, small):
    path = tmp_path / "changed.nc"
    results.to_netcdf(small, path)
    assert results.open_solution(path).identical(
        small.assign_attrs({results.CHECKSUM_ATTR: results.data_checksum(small)})
    )
    with netCDF4.Dataset(path, "a") as nc:
        nc.variables["value"][0, 3, 7] = 1.0 + nc.variables["value"][0, 3, 7]
    with pytest.raises(ValueError, match="do not match the checksum") as err:
        results.open_solution(path)
    assert str(path) in str(err.value)


def test_4_kb_overwritten_in_the_middle_of_the_data_fail_the_checksum(tmp_path):
    ds = minimal_dataset(n_states=2000, horizon=8, n_samples=2)  # value: 288 KB of float64
    path = tmp_path / "damaged.nc"
    results.to_netcdf(ds, path)
    raw = bytearray(path.read_bytes())
    values = ds["value"].values.ravel()
    middle = values.size // 2
    offset = raw.find(values[middle : middle + 4].tobytes())
    assert offset > 0 and raw.count(values[middle : middle + 4].tobytes()) == 1
    raw[offset : offset + 4096] = np.random.default_rng(1).bytes(4096)
    path.write_bytes(bytes(raw))
    with xr.open_dataset(path, engine="netcdf4") as plain:  # plain xarray reads it silently
        assert int((plain["value"].values != ds["value"].values).sum()) > 500
    with pytest.raises(ValueError, match="do not match the checksum"):
        results.open_solution(path)
