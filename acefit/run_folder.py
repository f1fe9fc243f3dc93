"""The run folder of ``acefit fit``: its files, its lock, and what a run does to the run
it resumes or replaces.

Run directory (``output.directory``)::

    run.json            status (running / interrupted / finished / invalid), config
                        hash, times, and which validation and test configurations
                        the run has (their hash)
    config.yaml         the validated config with every default filled
    basis_functions.json  (centre, order, factors (z, n, l), kind) of every basis column
    acefit.log          everything that happened, with times
    cache/              design-matrix cache (unless output.cache points elsewhere)
    paths.h5            every solver path, one HDF5 run per solver label
    paths.h5.steps/     the steps of a running (or killed) solver path, until it ends
    errors/<label>.json train / validation / test errors of every checkpoint
    potentials/         the selected potentials (.h5 for ACECalculator, .yace for LAMMPS
                        with its pair commands in .lammps)
    potential.h5        the overall choice (and potential.yace, potential.lammps)
    report.md, report.json
    previous-run/       with --force, the finished run being replaced, until its
                        replacement finishes (run.json's ``previous_run``)
    .acefit-trash-*     what a run is deleting (renamed first, so that no half-deleted
                        folder keeps its name); one left by an interrupted deletion
                        goes at the next fit

One process owns a folder at a time (:class:`RunLock`). A run resumes the folder's run
when its config hash (:func:`config_hash`) matches; a finished run is never overwritten
unless ``force=True``, and then only once the new run has passed its config, data and
basis checks (:func:`prepare_run_dir`, :func:`set_aside`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from acefit.atomic import flock, make_folder, read_json, write_error, write_json
from acefit.progress import get_logger

__all__ = ["RUN_FILES", "RunExistsError", "RunLock", "timestamp", "config_hash", "run_dir_of",
           "cache_dir_of", "prepare_run_dir", "mark_interrupted", "earlier_state", "set_aside",
           "to_trash", "delete_trash", "add_file_handler", "remove_file_handler"]

RUN_FILES = {"state": "run.json", "config": "config.yaml", "log": "acefit.log",
             "functions": "basis_functions.json",
             "paths": "paths.h5", "errors": "errors", "potentials": "potentials",
             "report_md": "report.md", "report_json": "report.json",
             "test_errors": "test_errors.json", "previous": "previous-run"}
# what --force sets aside of the run it replaces (acefit.log and cache/ stay: the log goes
# on, and the new run reads what it can from the cache), with acefit validate's report of
# its potential (validate.REPORT_FILES)
_FORCE_REPLACES = ("state", "config", "functions", "paths", "errors", "potentials",
                   "report_md", "report_json", "test_errors")
_TRASH = ".acefit-trash-"   # + a unique suffix: a folder being deleted (to_trash)


class RunExistsError(RuntimeError):
    """The output directory holds a finished (or different) run and --force was not given."""


def timestamp() -> str:
    """Now, in UTC, as ISO 8601 with milliseconds (the run's and report's stamps)."""
    # milliseconds: runs started side by side must be orderable by their stamps
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def config_hash(cfg: dict) -> str:
    """Hash of everything in the config that can change the results."""
    from acefit.cache import stable_hash

    return stable_hash(_results_part(cfg))


def _reads_as_labelled(reading) -> bool:
    from acefit.consistency import reads_as_labelled

    return reads_as_labelled(reading)


# Keys added after runs were stored: at these values a config means what it did without
# the key, so they stay out of the hash and such runs still resume. The next such key
# gets a line here: (section, key or None for the section itself, whether a value is one
# that changes nothing); a key of the solvers' list is looked up in each solver's entry.
_KEYS_ADDED_AT_DEFAULT = (
    ("repulsion", None, lambda v: v == {"kind": "none"}),
    ("data", "stress_reading", _reads_as_labelled),
    ("solvers", "loss", lambda v: v == "least_squares"),      # ista's
    ("solvers", "delta", lambda v: v is None),
)


def _results_part(cfg: dict) -> dict:
    """The part of ``cfg`` that can change the results (:func:`config_hash`'s)."""
    relevant = {k: v for k, v in cfg.items() if k not in ("output", "parallel", "config_file",
                                                         "name")}

    def without(entry, key, unchanged):
        return {k: v for k, v in entry.items() if not (k == key and unchanged(v))}

    for section, key, unchanged in _KEYS_ADDED_AT_DEFAULT:
        value = relevant.get(section)
        if key is None and section in relevant and unchanged(value):
            del relevant[section]
        elif key is not None and isinstance(value, list):
            relevant[section] = [without(entry, key, unchanged) for entry in value]
        elif key is not None and isinstance(value, dict):
            relevant[section] = without(value, key, unchanged)
    elements = relevant.get("basis", {}).get("elements")
    data = relevant.get("data", {})
    if isinstance(data.get("e0"), dict) and elements is not None:   # unused values change nothing
        relevant["data"] = {**data, "e0": {e: v for e, v in data["e0"].items() if e in elements}}
    return relevant


def run_dir_of(cfg: dict) -> Path:
    """The run's folder: ``output.directory``, else ``runs/<name>`` under the working
    directory."""
    directory = cfg["output"]["directory"]
    return Path(directory) if directory else Path.cwd() / "runs" / cfg["name"]


def cache_dir_of(cfg: dict, run_dir: Path) -> Path:
    """Where the run keeps its assembled systems: ``output.cache``, else ``RUN/cache``."""
    return Path(cfg["output"]["cache"]) if cfg["output"]["cache"] else Path(run_dir) / "cache"


_LOCK_NAME = ".acefit.lock"


class RunLock:
    """An exclusive lock on a run directory for the life of one ``acefit fit``.

    Two processes on one directory would both "resume" it and write the same path
    files. ``flock`` is released by the system when the process dies, so a killed run
    never leaves a stale lock (no locking where the file system has none).
    """

    def __init__(self, run_dir: Path):
        self.file = None
        self.created = not (run_dir / _LOCK_NAME).exists()
        make_folder(run_dir, "run directory")
        try:
            handle = open(run_dir / _LOCK_NAME, "a+")
        except OSError as exc:      # a read-only run directory: named, not the lock file
            raise write_error(exc, f"write in run directory {run_dir}") from None
        held = flock(handle, wait=False)
        if held is False:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise RunExistsError(f"{run_dir} is in use by another acefit process (PID "
                                 f"{holder}); wait for it to end, or set output.directory "
                                 f"to another folder")
        if held is None:
            handle.close()
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.file = handle

    def release(self, *, discard: bool = False) -> None:
        """Drop the lock; ``discard`` also removes a lock file this lock created."""
        if self.file is not None:
            if discard and self.created:
                Path(self.file.name).unlink(missing_ok=True)
            self.file.close()  # closing drops the flock
            self.file = None


def prepare_run_dir(run_dir: Path, cfg: dict, force: bool) -> tuple[bool, dict | None]:
    """Check the run directory; returns (resuming, the ``run.json`` of the run that
    ``force`` replaces or None). Nothing is removed here: the replaced run stays whole
    until the new run passes its checks (:func:`set_aside`)."""
    state_file = run_dir / RUN_FILES["state"]
    chash = config_hash(cfg)
    if state_file.exists():
        state = read_json(state_file)
        if force:
            return False, state
        if state.get("status") == "invalid":
            return False, None  # stopped by its config or data before any work: start afresh
        if state.get("status") == "finished":
            other = "" if state.get("config_hash") == chash else (
                " of a different configuration"
                + _differing_keys(run_dir / RUN_FILES["config"], cfg))
            raise RunExistsError(
                f"{run_dir} holds a finished run (finished {state.get('finished', '?')})"
                f"{other}; pass --force to replace it (its results are kept in "
                f"{RUN_FILES['previous']}/ until the new run finishes), or set "
                "output.directory to a new folder")
        if state.get("config_hash") != chash:
            raise RunExistsError(
                f"{run_dir} holds an unfinished run of a different configuration"
                f"{_differing_keys(run_dir / RUN_FILES['config'], cfg)}; pass --force to "
                "discard it, or set output.directory to a new folder")
        return True, None
    if run_dir.exists():
        theirs = sorted(p.name for p in run_dir.iterdir()
                        if p.name not in ("cache", _LOCK_NAME) and not p.name.startswith(_TRASH))
        written = set(RUN_FILES.values()) | {"paths.h5.steps"}
        clash = [n for n in theirs if n in written or n.startswith("potential.")]
        if clash:       # files acefit did not write: never replaced, --force or not
            raise RunExistsError(
                f"{run_dir} is not an acefit run directory (no run.json) and holds files a "
                f"run would write over: {_names(clash)}; move them away, or set "
                "output.directory to another folder (--force replaces only acefit's runs)")
        if theirs and not force:
            raise RunExistsError(
                f"{run_dir} exists and is not an acefit run directory (it holds "
                f"{_names(theirs)}); pass --force to write the run beside these files (none "
                "is replaced), or set output.directory to another folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    return False, None


def mark_interrupted(run_dir: Path, state: dict, exc: KeyboardInterrupt) -> None:
    """``run.json`` and the log of a run stopped by a Ctrl-C or a SIGTERM (a batch time
    limit): status ``interrupted``, with the signal; the same command resumes it."""
    from acefit.progress import Terminated

    name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
    get_logger().warning("%s (%s); run the same command again to resume",
                         "terminated" if name == "SIGTERM" else "interrupted", name,
                         extra={"file_only": True})     # the terminal gets acefit's own line
    with contextlib.suppress(OSError):  # the interruption is the one to report
        write_json(run_dir / RUN_FILES["state"],
                   {**state, "status": "interrupted", "signal": name, "stopped": timestamp()})


def earlier_state(run_dir: Path) -> dict:
    """The ``run.json`` in ``run_dir`` before this run writes its own, or {}."""
    path = run_dir / RUN_FILES["state"]
    return read_json(path) if path.exists() else {}


def _names(names: list, shown: int = 6) -> str:
    """``names`` for a message, at most ``shown`` of them and how many more."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def set_aside(run_dir: Path, old: dict) -> Path | None:
    """Make room for the run that replaces ``old`` (its ``run.json``), once that run has
    passed its checks: a finished run's files move to ``previous-run/`` (deleted when the
    new run finishes, so that a failed or interrupted replacement loses no potentials),
    an unfinished one's to a trash folder (:func:`to_trash`; the caller deletes it).
    Renames in one folder only: no copy or deletion, whatever the size, so that the
    caller can hold a Ctrl-C until they and the new ``run.json`` are done. Returns the
    ``previous-run`` folder that holds the last finished run, or None."""
    from acefit.validate import REPORT_FILES

    names = [RUN_FILES[k] for k in _FORCE_REPLACES] + ["paths.h5.steps"] \
        + sorted(p.name for p in run_dir.glob("potential.*")) + list(REPORT_FILES.values())
    present = [run_dir / n for n in names if (run_dir / n).exists()]
    previous = run_dir / RUN_FILES["previous"]
    if old.get("status") == "finished":
        if previous.exists():   # left by an older run: no run.json names it
            to_trash(run_dir, previous)
        previous.mkdir()
        folder = previous
    else:
        folder = to_trash(run_dir)
    for path in present:
        os.replace(path, folder / path.name)
    if folder == previous or old.get("previous_run") and previous.is_dir():
        # (an unfinished replacement of a finished run: that run is still the one to keep)
        return previous
    return None


def to_trash(run_dir: Path, path: Path | None = None) -> Path:
    """``path`` in ``run_dir`` renamed to a new trash name there (None: a new empty trash
    folder), which is returned. A rename is atomic: whatever stops the deletion that
    follows (:func:`delete_trash`), nothing half-deleted is left under a name that a run
    reads or that blocks a fit, and the next fit deletes the rest."""
    trash = run_dir / f"{_TRASH}{uuid.uuid4().hex[:12]}"
    if path is None:
        trash.mkdir()
    else:
        os.replace(path, trash)
    return trash


def delete_trash(run_dir: Path) -> None:
    """Delete what :func:`to_trash` set aside in ``run_dir``: this run's, and what an
    interrupted deletion left."""
    for trash in run_dir.glob(f"{_TRASH}*"):
        if trash.is_dir() and not trash.is_symlink():
            shutil.rmtree(trash, ignore_errors=True)
        else:
            trash.unlink(missing_ok=True)


def _differing_keys(run_config: Path, cfg: dict, shown: int = 4) -> str:
    """The keys that can change the results (:func:`config_hash`'s) in which ``cfg``
    differs from the run's ``config.yaml``, ``shown`` at most, each with both values when
    they are short: " (it differs in prior.p: 4.0 there, 3.0 here)"; "" when the run's
    config cannot be read."""
    import yaml

    from acefit.atomic import json_ready

    try:
        old = yaml.safe_load(run_config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ""
    if not isinstance(old, dict):
        return ""
    try:
        before, after = _leaves(_results_part(old)), _leaves(_results_part(json_ready(cfg)))
    except (AttributeError, TypeError):     # a damaged config.yaml: sections of other types
        return ""
    keys = [k for k in {**before, **after} if before.get(k, _ABSENT) != after.get(k, _ABSENT)]
    if not keys:
        return ""

    def value(leaves, key):
        text = "not set" if key not in leaves else repr(leaves[key])
        return text if len(text) <= 30 else None

    parts = []
    for key in keys[:shown]:
        there, here = value(before, key), value(after, key)
        parts.append(f"{key}: {there} there, {here} here" if there and here else key)
    more = f"; and {len(keys) - shown} more" if len(keys) > shown else ""
    return f" (it differs in {'; '.join(parts)}{more})"


_ABSENT = object()


def _leaves(value, path: str = "") -> dict:
    """The values of a nested config by key path (``prior.p``, ``solvers[0].max_active``): a
    list of mappings item by item, any other list whole."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_leaves(v, f"{path}[{i}]"))
        return out
    return {path: value}


def add_file_handler(path: Path):
    import logging

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                           "%Y-%m-%d %H:%M:%S"))
    handler._acefit_run = str(path)
    log = get_logger()
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)


def remove_file_handler(path: Path):
    log = get_logger()
    for handler in list(log.handlers):
        if getattr(handler, "_acefit_run", None) == str(path):
            log.removeHandler(handler)
            handler.close()
