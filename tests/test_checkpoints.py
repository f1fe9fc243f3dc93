"""HDF5 path files: round trip for every solver, interrupted runs, errors, selection rules."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path as FsPath

import h5py
import numpy as np
import pytest

from acefit import solvers
from acefit.checkpoints import (CheckpointError, CheckpointWriter, list_runs, read_path,
                                read_paths, write_path)
from acefit.lsq import LeastSquaresProblem
from acefit.solvers.apriori import apriori_path, ard_sweep
from acefit.solvers.debias import debias_path
from acefit.solvers.path import Path, Step


def _data(seed=0, m=80, n=15):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    c = np.zeros(n)
    c[[1, 4, 9]] = [2.0, -1.5, 1.0]
    y = A @ c + 0.05 * rng.standard_normal(m)
    A_val = rng.standard_normal((20, n))
    return A, y, (A_val, A_val @ c)


def _all_paths():
    A, y, val = _data()
    red = LeastSquaresProblem.from_dense(A, y, reduce=True)
    costs = np.arange(A.shape[1])[::-1].astype(float)
    paths = {
        "asp": solvers.asp(A, y, max_active=5, validation=val),
        "omp": solvers.omp(A, y, max_active=5, validation=val),
        "lars_lasso": solvers.lars_lasso(A, y, max_active=5),
        "cd_lasso": solvers.cd_lasso(A, y, n_lams=6, validation=val),
        "ista": solvers.ista(A, y, n_lams=4),
        "qr": solvers.qr(A, y, lam=[0.0, 1.0], validation=val),
        "rrqr": solvers.rrqr(red, rtol=[1e-6, 0.5]),
        "tsvd": solvers.tsvd(A, y, rtol=0.1),
        "blr": solvers.blr(red, committee=3, seed=0, validation=val),
        "ard": solvers.ard(A, y),
        "blr_apriori": apriori_path(red, costs=costs, sizes=3, validation=val),
        "ard_sweep": ard_sweep(A, y, targets=[2, 3]),
    }
    paths["asp+tsvd"] = debias_path(paths["asp"], red, "tsvd", rtol=1e-8)
    return paths, A.shape[1]


def _same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, (list, tuple)):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same_value, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_value(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def _assert_same_path(got, want):
    assert got.solver == want.solver
    assert _same_value(want.params, got.params)
    assert len(got) == len(want)
    for g, w in zip(got.steps, want.steps):
        np.testing.assert_array_equal(g.active, w.active)
        np.testing.assert_array_equal(g.coef, w.coef)
        assert g.coef.shape == w.coef.shape
        assert _same_value(float(w.lam), g.lam)
        assert g.train_error == w.train_error and g.val_error == w.val_error
        assert _same_value(w.info, g.info), (w.info, g.info)


def test_round_trip_of_every_solver(tmp_path):
    paths, n = _all_paths()
    f = tmp_path / "paths.h5"
    for name, path in paths.items():
        assert len(path) > 0, name
        write_path(f, path, run=name)
    runs = list_runs(f)
    assert set(runs) == set(paths)
    assert all(r["complete"] and r["n_features"] == n for r in runs.values())
    back = read_paths(f, require_complete=True)
    for name, path in paths.items():
        _assert_same_path(back[name], path)
        assert back[name].complete and back[name].run == name
    _assert_same_path(read_path(f, "blr"), paths["blr"])


def test_writer_as_on_step_streams_each_step(tmp_path):
    A, y, val = _data()
    f = tmp_path / "omp.h5"
    seen = []
    with CheckpointWriter(f, "omp", {"max_active": 4}) as ckpt:
        def on_step(step):
            ckpt(step)
            partial = read_path(f)          # readable between steps, flagged incomplete
            seen.append((len(partial), partial.complete))
        path = solvers.omp(A, y, max_active=4, validation=val, on_step=on_step)
    assert seen == [(k, False) for k in range(1, len(path) + 1)]
    done = read_path(f, require_complete=True)
    assert done.complete and len(done) == len(path)
    np.testing.assert_array_equal(done.steps[-1].coef, path.steps[-1].coef)


def test_exception_inside_writer_leaves_run_incomplete(tmp_path):
    f = tmp_path / "x.h5"
    step = Step(active=np.array([2]), coef=np.array([0, 0, 1.5]), lam=0.1, train_error=1.0)
    with pytest.raises(RuntimeError):
        with CheckpointWriter(f, "asp") as ckpt:
            ckpt(step)
            raise RuntimeError("solver crashed")
    path = read_path(f)
    assert not path.complete and len(path) == 1
    with pytest.raises(CheckpointError, match="incomplete"):
        read_path(f, require_complete=True)


def test_killed_process_keeps_finished_steps(tmp_path):
    f = tmp_path / "killed.h5"
    script = textwrap.dedent(f"""
        import sys, time
        import numpy as np
        from acefit.checkpoints import CheckpointWriter
        from acefit.solvers.path import Step
        w = CheckpointWriter({str(f)!r}, "omp", {{"max_active": 100}}, n_features=10)
        for k in range(100):
            coef = np.zeros(10); coef[: k % 10 + 1] = 1.0
            w(Step(active=np.arange(k % 10 + 1), coef=coef, lam=float(k),
                   train_error=1.0 / (k + 1)))
            print(k, flush=True)
            if k == 2:
                time.sleep(60)      # killed here, mid-path
        w.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(3):
            assert proc.stdout.readline().strip() != ""
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    path = read_path(f)
    assert not path.complete and len(path) == 3
    assert [s.lam for s in path] == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(path.steps[2].coef, [1, 1, 1] + [0] * 7)
    assert not list_runs(f)["omp"]["complete"]
    with pytest.raises(CheckpointError, match="incomplete"):
        read_path(f, require_complete=True)


@pytest.mark.parametrize("delay_ms", [0, 1, 3, 7, 15])
def test_kill_at_any_moment_leaves_every_finished_step_readable(tmp_path, delay_ms):
    # steps are written back to back (no safe point to be killed at); a kill lands
    # mid-write at some delay, and everything written before it must still load
    f = tmp_path / "paths.h5"
    script = textwrap.dedent(f"""
        import numpy as np
        from acefit.checkpoints import CheckpointWriter, write_path
        from acefit.solvers.path import Path, Step
        n = 20000
        done = Path(solver="omp", steps=[Step(active=np.array([0]), coef=np.eye(1, n)[0])])
        write_path({str(f)!r}, done, run="finished")
        w = CheckpointWriter({str(f)!r}, "asp", {{}}, n_features=n)
        for k in range(100000):
            active = np.arange(k % 500 + 1)
            coef = np.zeros(n); coef[active] = k + 1.0
            w(Step(active=active, coef=coef, lam=float(k), info={{"v": np.full(50, k)}}))
            print(k, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(5):
            assert proc.stdout.readline().strip() != ""
        time.sleep(delay_ms / 1000)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    path = read_path(f, "asp")
    assert not path.complete and len(path) >= 5
    assert list_runs(f)["asp"]["n_steps"] == len(path)
    for k, step in enumerate(path.steps):
        assert step.lam == k and step.n_active == k % 500 + 1
        assert np.all(step.coef[step.active] == k + 1.0) and np.all(step.info["v"] == k)
    assert read_path(f, "finished", require_complete=True).steps[0].coef[0] == 1.0
    # the same run started again: the killed run's steps are cleared, then folded away
    with CheckpointWriter(f, "asp", n_features=3, overwrite=True) as w:
        w(Step(active=np.array([1]), coef=np.array([0, 2.0, 0])))
    again = read_path(f, "asp", require_complete=True)
    assert len(again) == 1 and again.steps[0].coef[1] == 2.0
    assert not (tmp_path / "paths.h5.steps").exists()


def test_the_path_file_is_never_opened_for_writing_in_place(tmp_path, monkeypatch):
    # HDF5 is not crash-safe: a process killed while it holds a file open for writing
    # can leave it unreadable, so the writer only writes copies and renames them
    import acefit.checkpoints as ckpt_module

    f = tmp_path / "paths.h5"
    write_path(f, Path(solver="omp", steps=[Step(active=np.array([0]),
                                                 coef=np.array([1.0, 0.0]))]))
    opened = []
    real = ckpt_module.h5py.File

    def recording(name, mode="r", *args, **kwargs):
        opened.append((FsPath(name).resolve(), mode))
        return real(name, mode, *args, **kwargs)

    monkeypatch.setattr(ckpt_module.h5py, "File", recording)
    with CheckpointWriter(f, "asp", n_features=2) as w:
        for k in range(3):
            w(Step(active=np.array([1]), coef=np.array([0.0, k + 1.0])))
            assert len(read_path(f, "asp")) == k + 1
    assert read_path(f, "asp", require_complete=True).steps[-1].coef[1] == 3.0
    writes = [(name, mode) for name, mode in opened if mode != "r"]
    assert writes and all(name != f.resolve() for name, _ in writes)


def test_nan_and_inf_come_back_from_saved_and_folded_steps(tmp_path):
    """lam NaN (no λ applies) and NaN or inf in params and info come back as they were,
    from a running path's saved ``.npz`` steps and from the HDF5 file they are folded
    into: why these files keep Python's JSON and not acefit.atomic.json_ready's strict
    JSON, which writes None for them."""
    f = tmp_path / "p.h5"
    nan, inf = float("nan"), float("inf")
    info = {"gap": nan, "bound": -inf, "nested": [1.0, nan]}
    w = CheckpointWriter(f, "qr", {"rtol": nan}, n_features=3)
    w(Step(active=np.array([1]), coef=np.array([0.0, 2.0, 0.0]), lam=nan, info=info))
    for folded in (False, True):
        if folded:
            w.close()
        got = read_path(f)
        assert got.complete is folded and len(got) == 1
        assert _same_value({"rtol": nan}, got.params)
        assert math.isnan(got.steps[0].lam) and _same_value(info, got.steps[0].info)


def test_half_written_step_is_ignored(tmp_path):
    f = tmp_path / "half.h5"
    w = CheckpointWriter(f, "omp", n_features=3)
    w(Step(active=np.array([0]), coef=np.array([1.0, 0, 0])))
    with h5py.File(f, "a") as h:           # a step group the counter never reached
        h["runs/omp/steps"].create_group("000001").create_dataset("active", data=[1])
    assert len(read_path(f)) == 1
    w(Step(active=np.array([1]), coef=np.array([0, 2.0, 0])))   # overwrites the debris
    w.close()
    assert len(read_path(f, require_complete=True)) == 2


def _resave(change):
    """Rewrite a saved step file with ``change(arrays)`` applied."""
    def damage(file):
        arrays = dict(np.load(file, allow_pickle=False))
        change(arrays)
        with open(file, "wb") as fh:
            np.savez(fh, **arrays)
    return damage


def _meta(change):
    def arrays(z):
        meta = json.loads(str(z["meta"][()]))
        change(meta)
        z["meta"] = np.array(json.dumps(meta))
    return _resave(arrays)


@pytest.mark.parametrize("damage", [
    lambda file: file.write_bytes(b""),                        # emptied: EOFError
    lambda file: file.write_bytes(file.read_bytes()[:100]),    # cut short
    _meta(lambda m: m.pop("n_features")),
    _meta(lambda m: m.pop("info")),
    _resave(lambda z: z.__setitem__("meta", np.array("[1]"))),
    _resave(lambda z: z.__setitem__("coef", np.ones(7))),
    _resave(lambda z: z.__setitem__("active", np.array([10**6]))),
], ids=["empty", "cut", "no-n_features", "no-info", "meta-array", "coef-length",
        "active-beyond-width"])
def test_a_saved_step_that_does_not_read_ends_the_saved_steps(tmp_path, damage):
    """Found by fuzzing: an emptied step file of a killed run (a power loss, a full disk)
    was 'No data left in file' (EOFError) to acefit export and compare and stopped
    every resume of the fit; steps whose arrays do not make a step named no step."""
    f = tmp_path / "paths.h5"
    w = CheckpointWriter(f, "omp", n_features=4)
    for k in range(4):                      # never closed: the steps of a killed run
        w(Step(active=np.array([k]), coef=np.eye(4)[k], lam=float(k)))
    damage(tmp_path / "paths.h5.steps" / "omp" / "000002.npz")
    path = read_path(f)
    assert not path.complete and [s.lam for s in path] == [0.0, 1.0]
    assert list_runs(f)["omp"]["n_steps"] == 2


def test_a_resume_reads_each_saved_step_of_the_interrupted_paths_once(tmp_path, monkeypatch):
    """The stored paths of a resumed fit are read in one pass: listing the runs first
    loaded an interrupted run's saved steps a second time (1000 steps of 5317 functions:
    0.54 s, then 0.27 s). Runs not asked for are not read."""
    import acefit.checkpoints as checkpoints
    from acefit.solver_runs import stored_paths

    f = tmp_path / "paths.h5"
    eye = np.eye(4)
    write_path(f, Path(solver="omp", params={"a": 1},
                       steps=[Step(active=np.array([k]), coef=eye[k], lam=1.0) for k in range(2)]))
    for run in ("asp", "old"):
        w = CheckpointWriter(f, "asp", n_features=4, run=run)
        for k in range(3):                  # never closed: the steps of a killed run
            w(Step(active=np.array([k]), coef=eye[k], lam=float(k)))
    loaded = []
    real = checkpoints._saved_record

    def counted(file):
        if file.is_file():
            loaded.append(file.relative_to(tmp_path).as_posix())
        return real(file)

    monkeypatch.setattr(checkpoints, "_saved_record", counted)
    built = []
    real_step = checkpoints._step_of
    monkeypatch.setattr(checkpoints, "_step_of", lambda *a: built.append(1) or real_step(*a))
    stored = stored_paths(f, ["omp", "asp"])
    assert sorted(loaded) == [f"paths.h5.steps/asp/{k:06d}.npz" for k in range(3)]
    assert len(built) == 2 + 3      # each step made once: omp's stored, asp's saved
    assert set(stored) == {"omp", "asp"} and not stored["asp"].complete
    for label in stored:
        _assert_same_path(stored[label], read_path(f, label))
    assert set(read_paths(f, ["old"])) == {"old"} and set(read_paths(f)) == {"omp", "asp", "old"}
    with pytest.raises(TypeError, match=r"not the string .old.; allowed: e.g. \[.old.\]"):
        read_paths(f, "old")      # a string would select the runs named by its substrings


def test_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(CheckpointError, match="nope.h5.*does not exist"):
        read_path(missing)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all" * 20)
    with pytest.raises(CheckpointError, match="garbage.h5.*cannot be opened"):
        read_path(garbage)
    good = tmp_path / "good.h5"
    write_path(good, Path("omp", {}, [Step(np.array([0]), np.array([1.0, 0.0]))]))
    data = good.read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.h5"):
        read_path(truncated)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h:
        h["x"] = 1
    with pytest.raises(CheckpointError, match="other.h5.*not an acefit path file"):
        read_path(other)
    with pytest.raises(CheckpointError, match="no run 'asp'"):
        read_path(good, "asp")
    with pytest.raises(CheckpointError, match="already has a run 'omp'"):
        CheckpointWriter(good, "omp")
    with h5py.File(good, "a") as h:          # damaged: a counted step lost its data
        del h["runs/omp/steps/000000/coef"]
    with pytest.raises(CheckpointError, match="good.h5, run 'omp': step 0 is damaged"):
        read_path(good)


def test_a_run_without_its_solver_or_a_step_of_bad_indices_names_file_run_and_step(tmp_path):
    """Found by fuzzing: a run group without its solver attribute was a KeyError naming
    nothing (acefit export and compare), and a step's active columns beyond the path's
    width named no step."""
    good = tmp_path / "paths.h5"
    write_path(good, Path("omp", {}, [Step(np.array([0]), np.array([1.0, 0.0]))] * 2))
    with h5py.File(good, "a") as h:
        del h["runs/omp/steps/000001/active"]
        h["runs/omp/steps/000001/active"] = np.array([7])
    with pytest.raises(CheckpointError, match="paths.h5, run 'omp': step 1 is damaged: "
                                              "index 7 is out of bounds"):
        read_path(good)
    with h5py.File(good, "a") as h:
        del h["runs/omp"].attrs["solver"]
    with pytest.raises(CheckpointError, match="paths.h5, run 'omp' is damaged: .*'solver'"):
        read_paths(good)


def test_writer_rejects_steps_that_break_the_contract(tmp_path):
    f = tmp_path / "w.h5"
    w = CheckpointWriter(f, "x", n_features=3)
    with pytest.raises(ValueError, match="nonzero outside the active set"):
        w(Step(active=np.array([0]), coef=np.array([1.0, 0.5, 0.0])))
    with pytest.raises(ValueError, match="shape"):
        w(Step(active=np.array([0]), coef=np.array([1.0, 0.0])))
    with pytest.raises(ValueError, match="JSON|serialis"):
        w(Step(active=np.array([0]), coef=np.array([1.0, 0, 0]), info={"f": object()}))
    with pytest.raises(ValueError, match="run name"):
        CheckpointWriter(f, "a/b")


# ------------------------------------------------------------------ selection rules

def test_writer_waits_for_a_reader_holding_the_file(tmp_path):
    f = tmp_path / "busy.h5"
    w = CheckpointWriter(f, "omp", n_features=2)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import h5py, time; h = h5py.File({str(f)!r}, 'r'); "
         "print('open', flush=True); time.sleep(0.5); h.close()"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        w(Step(active=np.array([1]), coef=np.array([0.0, 2.0])))
    finally:
        holder.wait()
    w.close()
    assert len(read_path(f, require_complete=True)) == 1
