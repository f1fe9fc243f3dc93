"""Solver paths in HDF5, written step by step (the rules that pick a step are in
:mod:`acefit.selection`).

File layout (``format = "acefit-path"``, ``format_version = 1`` on the root)::

    /runs/<run>/                   one group per solver run (default name: the solver)
        attrs: solver, params (JSON), n_features, n_steps, complete
        steps/000000/              one group per finished step
            active  int64 (k,)     active columns, in the solver's order
            coef    float64 (k,)   coefficients on ``active`` (zero elsewhere)
            arrays/<key>           ndarray values of step.info
            attrs: lam, train_error, val_error (absent when None),
                   info (JSON of the other info items), done

Crash safety. The HDF5 file is never written in place: every change is made to a
copy that is then renamed over it, so a reader sees the old file or the new one,
never a half-written one (HDF5 itself is not crash-safe: a process killed while it
holds the file open for writing can leave it unreadable). While a solver runs,
:class:`CheckpointWriter` saves each finished step at once as its own file,
``<file>.steps/<run>/000123.npz`` (written to a temporary name, then renamed), and
:meth:`CheckpointWriter.close` folds them into the HDF5 file and removes them. A
run is marked ``complete`` only by a close after a normal end (a ``with`` block that
raises folds its steps but leaves it incomplete). Readers add the saved steps of an
incomplete run to those in the file, up to the first missing or unreadable one, so a
killed run loads its finished steps with ``complete = False`` (or raises with
``require_complete=True``).

Round trip. ``read_path`` restores full-length coefficients (``n_features`` is
stored), ``lam``, the errors (None stays None) and ``info``; JSON turns tuples
into lists and numpy scalars into Python numbers, and keeps NaN and inf (Python's
JSON, not strict JSON); top-level ndarray values of ``info`` are stored as datasets
and come back as ndarrays.
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path as FsPath

import h5py
import numpy as np

from acefit.atomic import atomic_path
from acefit.solvers.path import Path, Step

__all__ = ["CheckpointError", "CheckpointPath", "CheckpointWriter", "write_path", "read_path",
           "read_paths", "list_runs"]

FORMAT = "acefit-path"
FORMAT_VERSION = 1
_LOCK_RETRIES, _LOCK_WAIT = 50, 0.1      # wait up to 5 s for another process's lock


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or not what was asked for."""


@dataclass
class CheckpointPath(Path):
    """A :class:`Path` read from a file: ``complete`` is False for an interrupted run."""

    complete: bool = True
    file: str = ""
    run: str = ""


# Not atomic.json_ready, the strict encoder of the files other tools read: a NaN or inf in
# params or info (and lam's NaN, where no λ applies, in a saved step's meta) must come
# back as itself, not as None, and these texts live inside HDF5 and .npz files only
# acefit reads.
def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _dumps(obj, what: str) -> str:
    try:
        return json.dumps(obj, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be stored in a checkpoint: {exc}") from None


def _check_run_name(run: str) -> str:
    if not isinstance(run, str) or not run or "/" in run or run in (".", ".."):
        raise ValueError(f"run name must be a non-empty string without '/', got {run!r}")
    return run


def _create_empty(file: FsPath) -> None:
    """Create an empty path file atomically."""
    with atomic_path(file) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.create_group("runs")


def _open(file: FsPath, mode: str) -> h5py.File:
    """Open an existing path file, with errors that name it."""
    if not file.exists():
        raise CheckpointError(f"checkpoint file {file} does not exist")
    for attempt in range(_LOCK_RETRIES + 1):
        try:
            f = h5py.File(file, mode)
            break
        except OSError as exc:
            # another process (a reader such as `acefit compare`) holds the file briefly
            if "lock file" in str(exc).lower() and attempt < _LOCK_RETRIES:
                time.sleep(_LOCK_WAIT)
                continue
            raise CheckpointError(f"checkpoint file {file} cannot be opened as HDF5 "
                                  f"(corrupt, truncated or locked?): {exc}") from None
    if f.attrs.get("format") != FORMAT or "runs" not in f:
        f.close()
        raise CheckpointError(f"{file} is an HDF5 file but not an acefit path file "
                              f"(missing format='{FORMAT}' or the 'runs' group)")
    version = int(f.attrs.get("format_version", -1))
    if version > FORMAT_VERSION:
        f.close()
        raise CheckpointError(f"{file} has path format version {version}; this acefit reads "
                              f"up to {FORMAT_VERSION}")
    return f


class CheckpointWriter:
    """Append the steps of one solver run to a path file as they finish.

    Use it as a solver's ``on_step`` callback::

        with CheckpointWriter("paths.h5", "omp", params) as ckpt:
            omp(problem, max_active=500, on_step=ckpt)

    Each step is saved at once as its own small file in the run's step folder
    (``paths.h5.steps/<run>/``, atomically); :meth:`close` folds them into the
    HDF5 file (a new copy renamed over it) and removes the folder. The HDF5 file
    itself is therefore only ever replaced whole, and a process killed at any
    moment leaves every finished step readable.

    Parameters
    ----------
    file : str or os.PathLike
        Path file; created if absent, otherwise a run is added to it.
    solver : str
        Solver name, stored with the run.
    params : dict, optional
        Solver parameters (JSON-serialisable).
    n_features : int, optional
        Length of the coefficient vectors; taken from the first step if omitted.
    run : str, optional
        Group name of the run (default: ``solver``).
    overwrite : bool
        Replace an existing run of the same name (otherwise that is an error).
    """

    def __init__(self, file, solver: str, params: dict | None = None, *,
                 n_features: int | None = None, run: str | None = None, overwrite: bool = False):
        self.file = FsPath(file)
        self.solver = str(solver)
        self.run = _check_run_name(self.solver if run is None else run)
        self.n_features = None if n_features is None else int(n_features)
        self.n_steps = 0
        self.closed = False
        params_json = _dumps(dict(params or {}), f"params of run '{self.run}'")
        if not self.file.exists():
            _create_empty(self.file)
        with _open(self.file, "r") as f:
            exists = self.run in f["runs"]
        if exists and not overwrite:
            raise CheckpointError(
                f"checkpoint file {self.file} already has a run '{self.run}'; "
                "choose another run name or pass overwrite=True")
        # steps of an earlier run of this name go first: they must never join the new one
        shutil.rmtree(_step_folder(self.file, self.run), ignore_errors=True)

        def add_run(f):
            runs = f["runs"]
            if self.run in runs:
                del runs[self.run]
            g = runs.create_group(self.run)
            g.attrs["solver"] = self.solver
            g.attrs["params"] = params_json
            g.attrs["n_steps"] = 0
            g.attrs["complete"] = False
            if self.n_features is not None:
                g.attrs["n_features"] = self.n_features
            g.create_group("steps")

        _replace(self.file, add_run)

    def __call__(self, step: Step) -> None:
        """Save one finished step (the ``on_step`` protocol)."""
        if self.closed:
            raise ValueError(f"checkpoint writer for run '{self.run}' in {self.file} is closed")
        where = f"step {self.n_steps} of run '{self.run}'"
        if self.n_features is None:
            self.n_features = np.asarray(step.coef).size
        record = _record(step, self.n_features, where)
        _save_record(_step_folder(self.file, self.run) / _step_name(self.n_steps, ".npz"),
                     record, self.n_features)
        self.n_steps += 1

    def close(self, complete: bool = True) -> None:
        """Fold the saved steps into the file; only ``complete=True`` marks the run as a
        completed path."""
        if self.closed:
            return
        self.closed = True
        folder = _step_folder(self.file, self.run)

        def fold(f):
            g = f["runs"][self.run]
            steps = g["steps"]
            first = int(g.attrs["n_steps"])
            records = _saved_records(folder, first)
            for i, (record, *_) in enumerate(records, start=first):
                _write_record(steps, _step_name(i), record)
            g.attrs["n_steps"] = first + len(records)
            if self.n_features is not None:
                g.attrs["n_features"] = self.n_features
            g.attrs["complete"] = bool(complete)

        _replace(self.file, fold)
        shutil.rmtree(folder, ignore_errors=True)
        _remove_if_empty(folder.parent)

    def __enter__(self) -> "CheckpointWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


def _step_folder(file: FsPath, run: str) -> FsPath:
    """Where the steps of a running (or killed) run wait to be folded into ``file``."""
    return file.with_name(file.name + ".steps") / run


def _step_name(i: int, suffix: str = "") -> str:
    return f"{i:06d}{suffix}"


def _remove_if_empty(folder: FsPath) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _replace(file: FsPath, change) -> None:
    """Apply ``change(h5 file)`` to a copy of ``file`` and rename the copy over it."""
    with atomic_path(file) as tmp:
        shutil.copyfile(file, tmp)
        with _open(tmp, "a") as f:
            change(f)


def _record(step: Step, n_features: int, where: str) -> dict:
    """A step as stored: active columns, their coefficients, ndarray info, the rest."""
    coef = np.asarray(step.coef, dtype=float)
    active = np.asarray(step.active, dtype=np.int64).reshape(-1)
    if coef.shape != (n_features,):
        raise ValueError(f"{where}: coef has shape {coef.shape}, expected ({n_features},)")
    if active.size and (active.min() < 0 or active.max() >= n_features
                        or np.unique(active).size != active.size):
        raise ValueError(f"{where}: active must be distinct indices in [0, {n_features})")
    off = np.ones(n_features, dtype=bool)
    off[active] = False
    if np.any(coef[off] != 0):
        raise ValueError(f"{where}: coef is nonzero outside the active set "
                         f"(e.g. column {int(np.flatnonzero(off & (coef != 0))[0])})")
    arrays = {k: v for k, v in step.info.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in step.info.items() if k not in arrays}
    return {"active": active, "coef": coef[active], "arrays": arrays, "lam": float(step.lam),
            "train_error": None if step.train_error is None else float(step.train_error),
            "val_error": None if step.val_error is None else float(step.val_error),
            "info": _dumps(plain, f"{where}: info")}


def _write_record(steps, name: str, record: dict) -> None:
    if name in steps:      # debris of a step interrupted half-way
        del steps[name]
    s = steps.create_group(name)
    s.create_dataset("active", data=record["active"])
    s.create_dataset("coef", data=record["coef"])
    if record["arrays"]:
        a = s.create_group("arrays")
        for k, v in record["arrays"].items():
            a.create_dataset(k, data=v)
    s.attrs["lam"] = record["lam"]
    for key in ("train_error", "val_error"):
        if record[key] is not None:
            s.attrs[key] = record[key]
    s.attrs["info"] = record["info"]
    s.attrs["done"] = True


def _read_record(s) -> dict:
    if not s.attrs.get("done", False):
        raise CheckpointError("is counted but was not finished")
    return {"active": s["active"][()], "coef": s["coef"][()],
            "arrays": {k: d[()] for k, d in s["arrays"].items()} if "arrays" in s else {},
            "lam": float(s.attrs["lam"]),
            "train_error": float(s.attrs["train_error"]) if "train_error" in s.attrs else None,
            "val_error": float(s.attrs["val_error"]) if "val_error" in s.attrs else None,
            "info": s.attrs["info"]}


def _save_record(file: FsPath, record: dict, n_features: int) -> None:
    scalars = {k: record[k] for k in ("lam", "train_error", "val_error", "info")}
    payload = {"active": record["active"], "coef": record["coef"],
               "meta": np.array(json.dumps({**scalars, "n_features": n_features}))}
    payload.update({f"array:{k}": v for k, v in record["arrays"].items()})
    with atomic_path(file) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **payload)


def _saved_records(folder: FsPath, first: int) -> list[tuple[dict, int, Step]]:
    """``(record, n_features, step)`` of the saved steps ``first``, ``first + 1``, ... up
    to the first one missing or unreadable."""
    out = []
    i = first
    while (saved := _saved_record(folder / _step_name(i, ".npz"))) is not None:
        out.append(saved)
        i += 1
    return out


def _saved_record(file: FsPath) -> tuple[dict, int, Step] | None:
    """``(record, n_features, step)`` of one saved step, or None when it is missing or
    does not read as a step: a file cut short or emptied by a power loss or a full disk
    (EOFError for an empty one), or one whose arrays do not make a step; the steps
    before it stand, and a resumed fit computes the path again."""
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"][()]))
            record = {"active": z["active"], "coef": z["coef"],
                      "arrays": {k.split(":", 1)[1]: z[k] for k in z.files
                                 if k.startswith("array:")}}
        n_features = int(meta.pop("n_features"))
        record.update(meta)
        step = _step_of(record, n_features)     # its arrays make a step of the path's width
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
            zipfile.BadZipFile):
        return None
    return record, n_features, step


def _step_of(record: dict, n_features: int) -> Step:
    active = np.asarray(record["active"], dtype=np.intp)
    coef = np.zeros(n_features)
    coef[active] = record["coef"]
    info = json.loads(record["info"])
    info.update(record["arrays"])
    return Step(active=active, coef=coef, lam=record["lam"], train_error=record["train_error"],
                val_error=record["val_error"], info=info)


def write_path(file, path: Path, *, run: str | None = None, n_features: int | None = None,
               overwrite: bool = False) -> str:
    """Write a finished path as a complete run.

    Parameters
    ----------
    file : str or os.PathLike
        The path file (HDF5), created when absent; its other runs are kept.
    path : Path
        The steps to write.
    run : str, optional
        Run name (default: ``path.solver``).
    n_features : int, optional
        The coefficient vectors' length; required for a path without steps (else read
        off its steps).
    overwrite : bool
        Replace a run of the same name (otherwise that is a :class:`CheckpointError`).

    Returns
    -------
    str
        The run name.
    """
    if n_features is None and not path.steps:
        raise ValueError("n_features is required to write a path without steps")
    writer = CheckpointWriter(file, path.solver, path.params, n_features=n_features, run=run,
                              overwrite=overwrite)
    with writer:
        for step in path.steps:
            writer(step)
    return writer.run


def list_runs(file) -> dict[str, dict]:
    """The runs in a path file: ``{run: {"solver", "n_steps", "complete", "n_features"}}``
    (a running or killed run counts its saved steps too)."""
    file = FsPath(file)
    with _open(file, "r") as f:
        out = {}
        for name, g in f["runs"].items():
            complete = bool(g.attrs.get("complete", False))
            n_steps = int(g.attrs.get("n_steps", 0))
            n = int(g.attrs["n_features"]) if "n_features" in g.attrs else None
            if not complete:
                saved = _saved_records(_step_folder(file, name), n_steps)
                n_steps += len(saved)
                if n is None and saved:
                    n = saved[0][1]
            out[name] = {"solver": str(g.attrs.get("solver", "")), "n_steps": n_steps,
                         "complete": complete, "n_features": n}
        return out


def read_path(file, run: str | None = None, *, require_complete: bool = False) -> CheckpointPath:
    """Read one run of a path file.

    Parameters
    ----------
    file : str or os.PathLike
    run : str, optional
        Run name; may be omitted when the file holds exactly one run.
    require_complete : bool
        Raise :class:`CheckpointError` for an interrupted run instead of returning
        its finished steps with ``complete = False``.

    Returns
    -------
    CheckpointPath
        The run's steps (those a running or killed run saved too), solver and params.

    Raises
    ------
    CheckpointError
        No such run, more than one run and none named, or a damaged run.
    """
    file = FsPath(file)
    with _open(file, "r") as f:
        runs = f["runs"]
        names = list(runs)
        if run is None:
            if len(names) != 1:
                raise CheckpointError(
                    f"checkpoint file {file} holds {len(names)} runs {names}; name one with run=")
            run = names[0]
        if run not in runs:
            raise CheckpointError(f"checkpoint file {file} has no run '{run}'; it has {names}")
        return _read_run(file, run, runs[run], require_complete)


def read_paths(file, runs=None, *, require_complete: bool = False) -> dict[str, CheckpointPath]:
    """Read the runs of a path file, each with its saved steps read once.

    Parameters
    ----------
    file : str or os.PathLike
    runs : collection of str, optional
        The run names to read (those the file holds); default: every run.
    require_complete : bool
        As for :func:`read_path`.

    Returns
    -------
    dict of str to CheckpointPath
        Keyed by run name, in the file's order.
    """
    if isinstance(runs, str):   # `name in runs` would match its substrings
        raise TypeError(f"runs must be a collection of run names, not the string {runs!r}; "
                        f"allowed: e.g. [{runs!r}], or read_path(file, {runs!r}) for one run")
    file = FsPath(file)
    with _open(file, "r") as f:
        return {name: _read_run(file, name, g, require_complete) for name, g in f["runs"].items()
                if runs is None or name in runs}


def _read_run(file, run, g, require_complete) -> CheckpointPath:
    where = f"checkpoint file {file}, run '{run}'"
    try:
        solver = str(g.attrs["solver"])
        complete = bool(g.attrs.get("complete", False))
        n_steps = int(g.attrs["n_steps"])
        saved = [] if complete else _saved_records(_step_folder(file, run), n_steps)
        if require_complete and not complete:
            raise CheckpointError(
                f"{where} is incomplete (interrupted after {n_steps + len(saved)} steps)")
        params = json.loads(g.attrs["params"])
        n = int(g.attrs["n_features"]) if "n_features" in g.attrs else \
            (saved[0][1] if saved else 0)
        steps = []
        for i in range(n_steps):
            try:
                steps.append(_step_of(_read_record(g["steps"][_step_name(i)]), n))
            except CheckpointError as exc:
                raise CheckpointError(f"{where}: step {i} {exc}") from None
            except (KeyError, OSError, ValueError, IndexError) as exc:
                raise CheckpointError(f"{where}: step {i} is damaged: {exc}") from None
        # each saved step was made a Step when read (to check it): made again only for
        # another width than the file's
        steps += [step if width == n else _step_of(record, n) for record, width, step in saved]
    except CheckpointError:
        raise
    except (KeyError, OSError, ValueError, IndexError) as exc:
        raise CheckpointError(f"{where} is damaged: {exc}") from None
    return CheckpointPath(solver=solver, params=params, steps=steps,
                          complete=complete, file=str(file), run=run)
