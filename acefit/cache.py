"""Content hashes and an atomic HDF5 cache of assembled systems.

A cache entry is one HDF5 file named by the hash of everything that determines
its contents. It is written to a temporary file in the same directory, marked
complete as the very last write, then moved into place with ``os.replace``; a
reader accepts only a file whose completion marker and key match. An
interrupted writer therefore leaves at most a stray temporary file, never an
entry that loads; the next run that uses the folder deletes it
(:func:`remove_stale_temporaries`), an interrupted assembly those of its own stopped
workers at once (:func:`remove_temporaries`).

Reading an entry marks it used (its modification time is set to now), so that
:func:`prune` can bound the folder's size by deleting the least recently used
entries first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from acefit.atomic import atomic_path, flock

FORMAT_VERSION = 3  # 2: reduced R stored with diag(R) >= 0; 3: m counts weighted rows only
_COMPLETE = "acefit_complete"
_CHECKSUM = "acefit_checksum"  # of the arrays of a saved entry
# entries are <prefix>-<32 hex>[-<part>].h5; a writer's temporary is .<entry name>.<random>.tmp
_ENTRY = re.compile(r"[a-z]+-([0-9a-f]{32})(-\d+)?\.h5")
_TEMPORARY = re.compile(r"\.[a-z]+-([0-9a-f]{32})(-\d+)?\.h5\..+\.tmp")
_LOCK = re.compile(r"\.lock-([0-9a-f]{32})")
STALE_TEMPORARY_S = 3600.0  # a live writer keeps its temporary file fresher than this


def stable_hash(obj) -> str:
    """SHA-256 (hex) of a JSON-like object of dicts, lists, numbers, strings and arrays.

    Dict keys are sorted, floats are hashed exactly (``repr``), arrays by dtype,
    shape and bytes, so equal inputs give equal hashes across processes and runs.
    """
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def configs_hash(configs, labels: bool = True) -> str:
    """Hash of labelled configurations: structure, labels, weights, config types; with
    ``labels`` False, of their structures alone (atomic numbers, positions, cell, pbc)."""
    h = hashlib.sha256()
    for cfg in configs:
        a = cfg.atoms
        for arr in (a.numbers, a.positions, np.asarray(a.cell), a.pbc):
            _feed(h, np.ascontiguousarray(arr))
        if not labels:
            continue
        for label in (cfg.energy, cfg.forces, cfg.stress, cfg.force_weights):
            _feed(h, None if label is None else np.atleast_1d(np.asarray(label, dtype=float)))
        _feed(h, cfg.config_type)
    return h.hexdigest()


def cache_path(cache_dir, key: str, prefix: str = "design", part: int | None = None) -> Path:
    """``<prefix>-<key[:32]>.h5``, or with ``part`` one file of an entry written in
    several parts, ``<prefix>-<key[:32]>-<part:06d>.h5`` (the names :func:`prune` knows)."""
    suffix = "" if part is None else f"-{int(part):06d}"
    return Path(cache_dir) / f"{prefix}-{key[:32]}{suffix}.h5"


def part_paths(cache_dir, key: str, prefix: str) -> list[Path]:
    """The existing part files (:func:`cache_path` with ``part``) of one entry, sorted."""
    return sorted(Path(cache_dir).glob(f"{prefix}-{key[:32]}-*.h5"))


def _checksum(arrays: dict) -> str:
    return stable_hash({name: np.asarray(value) for name, value in arrays.items()})


def save(path, key: str, arrays: dict, attrs: dict | None = None) -> Path:
    """Write ``arrays`` (and scalar ``attrs``) atomically to ``path``, tagged with ``key``
    and with a checksum of the arrays, which :func:`load` verifies."""
    path = Path(path)
    with _entry(path, key, {**(attrs or {}), _CHECKSUM: _checksum(arrays)}) as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=value)
    return path


def load(path, key: str):
    """``(arrays, attrs)`` of a complete entry written with ``key``, else None (also when
    its arrays no longer match their checksum: damaged on disk)."""
    f = open_entry(path, key)
    if f is None:
        return None
    try:
        with f:
            attrs = dict(f.attrs)
            arrays = {name: f[name][()] for name in f.keys()}
    except (OSError, KeyError, ValueError):
        return None  # truncated or foreign file: treat as a miss
    attrs.pop(_COMPLETE, None)
    expected = attrs.pop(_CHECKSUM, None)
    if expected is not None and expected != _checksum(arrays):
        logging.getLogger(__name__).warning(
            "cache entry %s is damaged (its data no longer match their checksum); "
            "computing it again", path)
        return None
    return arrays, attrs


@contextmanager
def appending(path, key: str, attrs: dict | None = None):
    """Write an entry block by block: yields ``append(arrays)``, which grows every
    dataset along its first axis (``str`` arrays as UTF-8 strings of any length).

    Like :func:`save`, the entry is complete, and moved to ``path``, only when the
    ``with`` block ends without an exception.
    """
    import h5py

    with _entry(path, key, attrs) as f:
        def append(arrays: dict) -> None:
            for name, value in arrays.items():
                value = np.asarray(value)
                text = value.dtype.kind == "U"
                if text:
                    value = value.astype(object)
                if name not in f:
                    f.create_dataset(name, data=value, maxshape=(None,) + value.shape[1:],
                                     chunks=True, dtype=h5py.string_dtype() if text else None)
                    continue
                ds = f[name]
                start = ds.shape[0]
                ds.resize(start + value.shape[0], axis=0)
                ds[start:] = value

        yield append


@contextmanager
def entry_lock(cache_dir, key: str):
    """Hold the exclusive lock of one entry while it is looked up and, on a miss, made:
    a second run that wants it waits, then reads it, instead of computing it too. The
    system frees the lock of a killed process. (No locking without a cache, or where
    the file system has no locks.)"""
    if cache_dir is None:
        yield
        return
    folder = Path(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / f".lock-{key[:32]}", "a+")
    except OSError:
        yield  # an unusable cache folder: the writes will say so
        return
    with handle:
        if flock(handle, wait=False) is False:
            logging.getLogger(__name__).info(
                "another run is assembling the same system in %s; waiting for it", folder)
            flock(handle, wait=True)
        yield


def open_entry(path, key: str):
    """The open (read-only) h5py file of a complete entry written with ``key``, else None."""
    import h5py

    path = Path(path)
    if not path.is_file():
        return None
    try:
        f = h5py.File(path, "r")
    except OSError:
        return None
    attrs = f.attrs
    if not attrs.get(_COMPLETE, False) or attrs.get("key") != key \
            or attrs.get("format_version") != FORMAT_VERSION:
        f.close()
        return None
    try:
        os.utime(path)  # used now: the last entry prune deletes
    except OSError:
        pass
    return f


def prune(cache_dir, max_bytes: float, *, keep_since: float) -> tuple[list[Path], int]:
    """Delete least recently used entries until ``cache_dir`` holds at most ``max_bytes``.

    Entries written or read since ``keep_since`` (a ``time.time()``, e.g. the start of
    the run that calls this) are never deleted, nor are files that are not cache
    entries. Temporary files that no writer touched for ``STALE_TEMPORARY_S`` (left
    by killed writers) go first. Afterwards the lock files (:func:`entry_lock`) of keys
    without an entry go too, when made before ``keep_since`` and held by no one.

    Returns
    -------
    removed : list of Path
    remaining : int
        Bytes the folder's entries and temporaries hold afterwards.
    """
    folder = Path(cache_dir)
    if not folder.is_dir():
        return [], 0
    now = time.time()
    candidates, total = [], 0
    for path in folder.iterdir():
        entry = _ENTRY.fullmatch(path.name)
        temporary = _TEMPORARY.fullmatch(path.name)
        if not (entry or temporary):
            continue
        try:
            st = path.stat()
        except OSError:
            continue  # removed meanwhile
        total += st.st_size
        if temporary and now - st.st_mtime > STALE_TEMPORARY_S:
            candidates.append((0, st.st_mtime, path, st.st_size))   # strays first
        elif entry and st.st_mtime < keep_since:
            candidates.append((1, st.st_mtime, path, st.st_size))
    removed = []
    for _, _, path, size in sorted(candidates):
        if total <= max_bytes:
            break
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
        total -= size
    _remove_orphan_locks(folder, keep_since)
    return removed, total


def remove_stale_temporaries(cache_dir) -> tuple[list[Path], int]:
    """Delete the temporary files that killed writers left in ``cache_dir`` (a ``kill -9``
    in an assembly leaves the kept training rows' part files: up to a GiB each), whatever
    the folder's size, never one a live writer is writing.

    The assembled problem and its kept training rows are written under their entry's
    lock (:func:`entry_lock`): while this function holds that lock, no writer of the key
    is alive, so all its temporaries go. Those of a key without a usable lock go once no
    writer has touched them for ``STALE_TEMPORARY_S``.

    Returns
    -------
    removed : list of Path
    freed : int
        Their bytes.
    """
    folder = Path(cache_dir)
    if not folder.is_dir():
        return [], 0
    keys = {m.group(1) for p in folder.iterdir() if (m := _TEMPORARY.fullmatch(p.name))}
    removed, freed = [], 0
    for key in sorted(keys):
        with contextlib.ExitStack() as stack:
            held = None
            lock = folder / f".lock-{key}"
            if lock.exists():
                with contextlib.suppress(OSError):
                    held = flock(stack.enter_context(open(lock, "a+")), wait=False)
            if held is False:
                continue        # a run is assembling this key: its temporaries are live
            # listed again under the lock: no writer started meanwhile
            gone, size = _remove_temporaries(folder, key, None if held else STALE_TEMPORARY_S)
            removed += gone
            freed += size
    return removed, freed


def remove_temporaries(cache_dir, key: str) -> tuple[list[Path], int]:
    """Delete every temporary file of ``key`` (a full key, as :func:`cache_path`'s) in
    ``cache_dir``: those of the writers of an interrupted assembly, once they are
    stopped. Only for the holder of the key's lock (:func:`entry_lock`), under which no
    other writer of the key is alive. Returns the files removed and their bytes."""
    folder = Path(cache_dir)
    return _remove_temporaries(folder, key[:32], None) if folder.is_dir() else ([], 0)


def _remove_temporaries(folder: Path, key: str, older_than: float | None):
    """The temporaries of ``key`` in ``folder`` deleted (those untouched for ``older_than``
    seconds only, unless None), as ``(paths, bytes)``."""
    removed, freed, now = [], 0, time.time()
    for path in folder.glob(f".*-{key}*.tmp"):
        try:
            st = path.stat()
            if not _TEMPORARY.fullmatch(path.name) \
                    or older_than is not None and now - st.st_mtime <= older_than:
                continue
            path.unlink()
        except OSError:
            continue    # gone meanwhile
        removed.append(path)
        freed += st.st_size
    return removed, freed


def _remove_orphan_locks(folder: Path, keep_since: float) -> None:
    """Delete ``.lock-<key>`` files whose key has no entry left (one per system ever
    assembled, they would pile up in a shared cache). Each is deleted while this process
    holds it, so no run is assembling that key; one that opened it just before waits on
    the deleted file and then assembles the key again: work repeated, nothing damaged."""
    names = [p.name for p in folder.iterdir()]
    live = {m.group(1) for n in names if (m := _ENTRY.fullmatch(n))}
    for name in names:
        m = _LOCK.fullmatch(name)
        if not m or m.group(1) in live:
            continue
        path = folder / name
        try:
            if path.stat().st_mtime >= keep_since:
                continue
            with open(path, "a+") as handle:
                if flock(handle, wait=False) is not False:
                    path.unlink()
        except OSError:
            continue


@contextmanager
def _entry(path, key: str, attrs: dict | None):
    """The open HDF5 file of a new entry: tagged first, marked complete last, then moved
    into place (an exception inside leaves nothing that loads)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["key"] = key
        f.attrs["format_version"] = FORMAT_VERSION
        for name, value in (attrs or {}).items():
            f.attrs[name] = value
        yield f
        f.flush()
        f.attrs[_COMPLETE] = True  # last write: a file without it never loads


def _feed(h, obj):
    if obj is None:
        h.update(b"N;")
    elif isinstance(obj, (bool, np.bool_)):
        h.update(b"b" + (b"1" if obj else b"0") + b";")
    elif isinstance(obj, (int, np.integer)):
        h.update(b"i" + str(int(obj)).encode() + b";")
    elif isinstance(obj, (float, np.floating)):
        h.update(b"f" + repr(float(obj)).encode() + b";")
    elif isinstance(obj, str):
        data = obj.encode("utf-8")
        h.update(b"s" + str(len(data)).encode() + b":" + data)
    elif isinstance(obj, bytes):
        h.update(b"y" + str(len(obj)).encode() + b":" + obj)
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        if arr.dtype == object:
            _feed(h, arr.tolist())
            return
        h.update(b"a" + str(arr.dtype.str).encode() + str(arr.shape).encode() + b":")
        h.update(arr.tobytes())
    elif isinstance(obj, dict):
        items = sorted(((str(k), v) for k, v in obj.items()), key=lambda kv: kv[0])
        h.update(b"d" + str(len(items)).encode() + b"{")
        for k, v in items:
            _feed(h, k)
            _feed(h, v)
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"l" + str(len(obj)).encode() + b"[")
        for v in obj:
            _feed(h, v)
        h.update(b"]")
    else:
        # dataclasses / namedtuples / other records: their JSON form if any
        if hasattr(obj, "_asdict"):
            _feed(h, obj._asdict())
        elif hasattr(obj, "__dataclass_fields__"):
            _feed(h, {k: getattr(obj, k) for k in obj.__dataclass_fields__})
        else:
            _feed(h, json.dumps(obj, sort_keys=True, default=repr))
