"""The command line on what a new user and bad input hit: output paths checked before the work,
every setting applied or refused, requests too large for memory refused, help without JAX."""

import contextlib
import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import hank_mfg
from hank_mfg import cli
from hank_mfg.cli import main
from hank_mfg.core import checks
from hank_mfg.core.checks import NonFiniteError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# tiny learning runs: a few states, dates, paths and one iteration
LQ = ["solve", "linear_quadratic", "--solver", "spg", "--iterations", "1"]
LQ_TINY = ["--set", "n_states=12", "--set", "horizon=3", "--quiet"]
AIYAGARI = ["solve", "aiyagari", "--solver", "egm", "--set", "n_wealth=12", "--set", "horizon=2"]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


class Stop(Exception):
    """Raised by a stand-in solver: the request got as far as the solve."""


@pytest.fixture(scope="module")
def lq_run(tmp_path_factory):
    """One tiny SPG solve through the command line (the suite's only one): file and output."""
    out = tmp_path_factory.mktemp("cli") / "lq.nc"
    argv = [*LQ, "--out", str(out)]
    for setting in (
        "n_states=12",
        "horizon=3",
        "hidden=4",
        "embedding=4",
        "rank=4",
        "n_samples=2",
        "eval_samples=2",
        "eval_every=1",
        "seed=7",
    ):
        argv += ["--set", setting]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue()


# --- item 10: output paths are checked before the work ---


def test_solve_out_a_folder_is_refused_before_the_solve(tmp_path, capsys):
    assert main([*LQ, *LQ_TINY, "--out", str(tmp_path)]) == 2
    assert "is a folder" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/sys"), reason="needs a read-only /sys")
def test_solve_out_in_a_read_only_folder_is_refused(capsys):
    assert main([*LQ, *LQ_TINY, "--out", "/sys/lq.nc"]) == 2
    assert "not writable" in one_error_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind root")
def test_solve_out_in_a_folder_without_write_permission_is_refused(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main([*LQ, *LQ_TINY, "--out", str(folder / "lq.nc")]) == 2
        assert "not writable" in one_error_line(capsys)
    finally:
        folder.chmod(0o755)


def test_plot_out_an_existing_file_is_refused(lq_run, tmp_path, capsys):
    results, _ = lq_run
    target = tmp_path / "figures"
    target.write_text("not a folder")
    assert main(["plot", str(results), "--out", str(target)]) == 2
    assert "not a folder" in one_error_line(capsys)
    assert target.read_text() == "not a folder"


def test_plot_leaves_no_empty_folder_when_it_fails(lq_run, tmp_path, monkeypatch):
    from hank_mfg import plotting

    def broken(ds):
        raise Stop("no figures")

    monkeypatch.setattr(plotting, "standard_figures", broken)
    with pytest.raises(Stop):
        main(["plot", str(lq_run[0]), "--out", str(tmp_path / "new" / "figs")])
    assert not (tmp_path / "new").exists()


def test_plot_writes_the_figures(lq_run, tmp_path, capsys):
    assert main(["plot", str(lq_run[0]), "--out", str(tmp_path / "figs")]) == 0
    assert len(list((tmp_path / "figs").glob("*.png"))) >= 3


@pytest.mark.parametrize("which", ["figures", "out"])
def test_demo_output_paths_are_refused_before_the_work(which, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = tmp_path if which == "out" else tmp_path / "ks.nc"  # a folder as --out
    figures = blocker if which == "figures" else tmp_path / "figs"
    argv = ["demo", "--iterations", "2", "--n-wealth", "12", "--eval-paths", "1", "--quiet"]
    assert main([*argv, "--out", str(out), "--figures", str(figures)]) == 2
    one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


# --- item 11: every setting applied or refused ---


def test_quantecon_preset_takes_its_settings(monkeypatch, tmp_path):
    from hank_mfg.solvers import stationary

    seen = {}

    def stand_in(game, **kwargs):
        seen["game"] = game
        raise Stop

    monkeypatch.setattr(stationary, "solve_stationary", stand_in)
    argv = ["solve", "aiyagari", "--solver", "egm", "--preset", "quantecon_aiyagari"]
    with pytest.raises(Stop):
        main([*argv, "--set", "n_wealth=30", "--set", "crra=5", "--out", str(tmp_path / "q.nc")])
    hh = seen["game"].household
    assert np.size(hh.wealth_grid) == 30 and seen["game"].parameters["eis"] == 1 / 5.0
    assert float(np.max(hh.wealth_grid)) == pytest.approx(20.0)  # still QuantEcon's grid


def test_a_setting_a_preset_does_not_take_is_refused(tmp_path, capsys):
    argv = ["solve", "aiyagari", "--solver", "egm", "--preset", "quantecon_aiyagari"]
    assert main([*argv, "--set", "rho=0.5", "--out", str(tmp_path / "q.nc")]) == 2
    line = one_error_line(capsys)
    assert "'rho'" in line and "quantecon_aiyagari" in line and "n_wealth" in line


def test_seed_given_by_set_is_recorded_with_the_raw_settings(lq_run):
    ds = hank_mfg.open_solution(lq_run[0])
    assert int(ds.attrs["seed"]) == 7
    settings = json.loads(ds.attrs["settings"])
    assert settings["seed"] == 7 and settings["preset"] is None
    assert settings["set"]["n_states"] == "12" and settings["set"]["hidden"] == "4"


def test_the_preset_is_recorded(monkeypatch, tmp_path):
    from hank_mfg.solvers import stationary

    written = {}
    solved = SimpleNamespace(
        settings={"method": "egm"},
        results={"r": 0.01},
        evaluation=None,
        to_netcdf=lambda path: written.update(path=path, settings=solved.settings),
    )
    monkeypatch.setattr(stationary, "solve_stationary", lambda game, **kwargs: solved)
    argv = ["solve", "aiyagari", "--solver", "egm", "--preset", "quantecon_aiyagari"]
    out = str(tmp_path / "q.nc")
    assert main([*argv, "--set", "n_wealth=12", "--set", "horizon=2", "--out", out]) == 0
    assert written["settings"]["preset"] == "quantecon_aiyagari"
    assert written["settings"]["set"] == {"n_wealth": "12", "horizon": "2"}
    assert written["settings"]["method"] == "egm"


def test_seed_flag_and_set_must_agree(tmp_path, capsys):
    argv = [*LQ, *LQ_TINY, "--seed", "7", "--set", "seed=8", "--out", str(tmp_path / "a.nc")]
    assert main(argv) == 2
    assert "disagree" in one_error_line(capsys)
    assert not (tmp_path / "a.nc").exists()


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("learning_rate=abc", ("learning_rate", "a number")),
        ("hidden=abc", ("hidden", "integers")),
        ("rank=1.5", ("rank", "an integer or none")),
        ("normalise_observations=maybe", ("normalise_observations", "true or false")),
    ],
)
def test_bad_values_are_one_line_naming_the_setting(setting, words, tmp_path, capsys):
    assert main([*LQ, *LQ_TINY, "--set", setting, "--out", str(tmp_path / "a.nc")]) == 2
    line = one_error_line(capsys)
    assert line.startswith("hank-mfg: error:") and all(w in line for w in words)


@pytest.mark.parametrize(
    "error",
    [
        NonFiniteError("K is nan on path 0 at date 3"),
        "TrainingDiverged",
    ],
)
def test_a_failed_training_is_one_line_exit_1_and_no_file(error, monkeypatch, tmp_path, capsys):
    from hank_mfg.solvers import spg

    if error == "TrainingDiverged":
        error = spg.TrainingDiverged("loss is nan at iteration 1")

    def diverging(*args, **kwargs):
        raise error

    monkeypatch.setattr(spg, "train", diverging)
    out = tmp_path / "a.nc"
    assert main([*LQ, *LQ_TINY, "--out", str(out)]) == 1
    line = one_error_line(capsys)
    assert "failed" in line and type(error).__name__ in line and str(error) in line
    assert not out.exists()


def test_no_equilibrium_is_one_line_exit_1(monkeypatch, tmp_path, capsys):
    from hank_mfg.solvers import stationary

    def no_root(game, **kwargs):
        raise ValueError("no equilibrium interest rate in r_bounds (-0.08, 0.04)")

    monkeypatch.setattr(stationary, "solve_stationary", no_root)
    out = tmp_path / "a.nc"
    assert main([*AIYAGARI, "--quiet", "--out", str(out)]) == 1
    assert "no equilibrium" in one_error_line(capsys)
    assert not out.exists()


# --- item 12: size limit, special files ---


def test_check_memory():
    assert checks.check_memory(10, "x", available=10) == 10
    with pytest.raises(ValueError, match=r"x needs about 1,024\.0 GiB of memory, 1 MiB are"):
        checks.check_memory(2**40, "x", available=2**20)
    with pytest.raises(ValueError, match="nbytes"):
        checks.check_memory(-1, "x")
    assert checks.memory_available() is None or checks.memory_available() > 0


def test_memory_estimate_grows_with_every_dimension():
    base = cli.solve_memory_bytes(10, 2, 3, 4, learning=True)
    for bigger in ((20, 2, 3, 4), (10, 4, 3, 4), (10, 2, 6, 4), (10, 2, 3, 8)):
        assert cli.solve_memory_bytes(*bigger, learning=True) > base
    assert cli.solve_memory_bytes(10, 2, 3, 4, learning=False) < base


@pytest.mark.parametrize("setting", ["n_wealth=100000000", "n_income=10000000"])
def test_a_huge_grid_is_refused_before_allocating(setting, tmp_path, capsys):
    argv = ["solve", "aiyagari", "--solver", "egm", "--set", setting]
    assert main([*argv, "--out", str(tmp_path / "a.nc")]) == 2
    line = one_error_line(capsys)
    assert "needs about" in line and "GiB are available" in line


@pytest.mark.parametrize(
    "argv",
    [
        [*LQ, *LQ_TINY],
        [*AIYAGARI, "--quiet"],
        ["demo", "--iterations", "2", "--n-wealth", "12", "--eval-paths", "1", "--quiet"],
    ],
)
def test_requests_larger_than_the_memory_available_are_refused(argv, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(checks, "memory_available", lambda: 2**20)  # 1 MiB free
    out = tmp_path / "a.nc"
    assert main([*argv, "--out", str(out)]) == 2
    assert "needs about" in one_error_line(capsys)
    assert not out.exists()


def run_module(*args, timeout=120):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run(
        [sys.executable, "-m", "hank_mfg", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.parametrize("command", ["evaluate", "plot"])
def test_a_fifo_is_refused_not_opened(command, tmp_path):
    """In a subprocess: opening a FIFO would block the process."""
    fifo = tmp_path / "results.nc"
    os.mkfifo(fifo)
    extra = ["--out", str(tmp_path / "figs")] if command == "plot" else []
    done = run_module(command, str(fifo), *extra, timeout=60)
    assert done.returncode == 2
    assert "not a regular file" in done.stderr and len(done.stderr.strip().splitlines()) == 1


# --- item 17: help, import time, progress and summary ---


def test_solve_help_documents_every_option_and_setting(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["solve", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for name in (*cli.MODELS, *cli.SOLVERS, "quantecon_aiyagari"):
        assert name in text
    for setting in ("learning_rate=0.003", "hidden=64,64", "n_wealth=200", "n_agents=1024"):
        assert setting in text
    parser = cli._parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices)
    assert all(action.help for action in sub.choices["solve"]._actions)


def test_help_and_bad_arguments_answer_without_jax():
    """In a subprocess: ``python3 -m hank_mfg`` as a user runs it, and its sys.modules."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['hank_mfg', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('hank_mfg', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as stop:\n"
        "    print('exit', stop.code, 'jax' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    for argv, code in (
        (["solve", "--help"], 0),
        (["solve", "nosuch", "--solver", "spg", "--out", "x.nc"], 2),
        (["solve", "seed_macro", "--solver", "spg", "--set", "lr=1", "--out", "x.nc"], 2),
        (["solve", "seed_macro"], 2),  # argparse: --solver missing
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, env=env, cwd=ROOT
        )
        assert done.stdout.strip().splitlines()[-1] == f"exit {code} False", done.stderr


def test_package_attributes_load_lazily():
    assert callable(hank_mfg.open_solution) and callable(hank_mfg.evaluate)
    assert hank_mfg.core.rollout is hank_mfg.rollout
    assert hasattr(hank_mfg.models, "krusell_smith") and hasattr(hank_mfg.solvers, "spg")
    assert {"core", "models", "open_solution"} <= set(dir(hank_mfg))
    with pytest.raises(AttributeError):
        hank_mfg.nosuch  # noqa: B018


def test_progress_clock_starts_with_the_work(monkeypatch, capsys):
    now = [100.0]
    monkeypatch.setattr(cli.time, "perf_counter", lambda: now[0])
    bar = cli.ProgressBar(4, "spg")
    now[0] = 160.0  # model building and compilation
    bar.begin()
    now[0] = 162.5
    bar.update(1)
    assert "   2.5s" in capsys.readouterr().err


def test_summary_says_on_how_many_paths(lq_run):
    assert "(reward units; mean over 2 common-noise paths)" in lq_run[1]
