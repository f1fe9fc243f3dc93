"""Atomic file writes: a file is either its old self or complete, never half-written.
(And :func:`write_json` / :func:`json_text` / :func:`read_json`: strict JSON out, a damaged file named;
:func:`write_error`: a folder acefit cannot write in named, not its temporary file;
:func:`write_figure` in the format its suffix names, :func:`write_extxyz` to .xyz only.)

Every file acefit writes (potentials, checkpoints, caches, reports, exports) goes
through :func:`atomic_path`: the content is written to a temporary file in the
same folder, flushed to disk, given the usual permissions (the umask, not
mkstemp's 0600), and renamed over the target only when the writer finished
without an exception.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePath


@contextmanager
def atomic_path(path):
    """Yield a temporary path to write; on success it replaces ``path``.

    Examples
    --------
    >>> with atomic_path("model.h5") as tmp:          # doctest: +SKIP
    ...     with h5py.File(tmp, "w") as f:
    ...         f["x"] = 1
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder; allowed: a file path")
    folder = path.parent if str(path.parent) else Path(".")
    make_folder(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:      # else named by the temporary file's random name
        raise write_error(exc, f"write {path}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        _fsync(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def make_folder(path, what: str = "folder") -> Path:
    """``path`` as a folder, made with its parents if missing; a clear error when it is
    an existing file, a loop of links, ... (:func:`acefit.readers.folder_problem`)."""
    from acefit.readers import folder_problem

    path = Path(path)
    problem = folder_problem(path)
    if problem is not None:
        raise NotADirectoryError(f"{what} {path} {problem}; allowed: a folder, or a path "
                                 "that does not exist yet")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, f"make {what} {path}") from None
    return path


def write_error(exc: OSError, action: str) -> OSError:
    """``exc``, raised as acefit made or wrote something, as an error of its type that
    says ``action`` ("write runs/x/report.md"), not the temporary or lock file the system
    named, and what is allowed when the folder is read-only or not the user's."""
    denied = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    return type(exc)(f"cannot {action}: {exc.strerror or exc}"
                     + ("; allowed: a folder you can write in" if denied else ""))


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def figure_suffixes() -> list[str]:
    """The file suffixes a figure can be written as: the formats matplotlib's Agg canvas
    writes (``.pgf`` only where the TeX system it runs is installed)."""
    import shutil

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    kinds = FigureCanvasAgg.get_supported_filetypes()
    if shutil.which(matplotlib.rcParams["pgf.texsystem"]) is None:
        kinds.pop("pgf", None)      # else refused only after the figure is drawn
    return sorted(f".{k}" for k in kinds)


def check_figure_path(path) -> str:
    """The matplotlib format of a figure file ``path``, from its suffix; a ValueError naming
    the path and the allowed suffixes when it has none or one of no format (the command
    line checks before any figure is computed)."""
    suffix = Path(path).suffix.lower()      # matplotlib reads .PDF as pdf
    allowed = figure_suffixes()
    if suffix not in allowed:
        found = (f"suffix {Path(path).suffix} is no figure format matplotlib writes" if suffix
                 else "no suffix to name the figure format")
        raise ValueError(f"{path}: {found}; allowed: a file name ending in "
                         + ", ".join(allowed))
    return suffix[1:]


def write_figure(fig, path, dpi: int) -> Path:
    """Write a matplotlib figure atomically, in the format its suffix names
    (:func:`check_figure_path`; ``dpi`` matters for raster formats), and release it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        fmt = check_figure_path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=fmt)
    finally:
        plt.close(fig)
    return path


EXTXYZ_SUFFIXES = (".xyz", ".extxyz")


def check_extxyz_path(path) -> Path:
    """``path`` as a file to write extended XYZ to; a ValueError when its suffix is not
    .xyz or .extxyz. The frames acefit writes carry per-atom arrays and info keys
    (predictions, scores, where a frame came from) that only extended XYZ keeps (ASE's
    .traj keeps the info but no other per-atom array), and a file named .traj, .cif, ...
    should hold that format."""
    suffix = Path(path).suffix
    if suffix.lower() not in EXTXYZ_SUFFIXES:
        found = f"suffix {suffix} names another format" if suffix else \
            "no suffix to name its format"
        raise ValueError(f"{path}: {found}; the file is extended XYZ, the one format that "
                         "keeps its per-atom arrays and info keys; allowed: a file name "
                         "ending in .xyz or .extxyz")
    return Path(path)


def write_extxyz(path, frames) -> Path:
    """Write ``frames`` (ASE Atoms) as extended XYZ atomically (:func:`check_extxyz_path`)."""
    import ase.io

    path = check_extxyz_path(path)
    with atomic_path(path) as tmp:
        ase.io.write(tmp, frames, format="extxyz")
    return path


def json_ready(obj):
    """``obj`` with only JSON types: numpy arrays and scalars become lists and Python
    numbers, paths strings, and NaN or infinite floats None (strict JSON has no NaN,
    and other readers, such as jq or JavaScript, reject it)."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "tolist"):
        return json_ready(obj.tolist())        # numpy array or scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_text(obj, indent: int | None = 1) -> str:
    """``obj`` (made :func:`json_ready`) as strict JSON text."""
    return json.dumps(json_ready(obj), indent=indent, allow_nan=False) + "\n"


def write_json(path, obj, indent: int | None = 1) -> Path:
    """Write :func:`json_text` of ``obj`` to ``path`` atomically."""
    return write_text(path, json_text(obj, indent))


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a number",
               float: "a number", bool: "a boolean", type(None): "null"}


def read_json(path, keys=()) -> dict:
    """The JSON object of a file acefit wrote, with at least ``keys``; a damaged one
    (edited by hand, disk trouble, another tool's file) is a ValueError that names it,
    not a TypeError or KeyError where its content is used."""
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path} holds {_JSON_TYPES[type(content)]}; allowed: the JSON "
                         "object acefit writes")
    missing = [key for key in keys if key not in content]
    if missing:
        raise ValueError(f"{path} has no {', '.join(map(repr, missing))}; allowed: the JSON "
                         "object acefit writes")
    return content


def flock(handle, *, wait: bool):
    """Take an exclusive ``fcntl.flock`` on an open file: True when held, False when
    another process holds it (only with ``wait=False``), None when the file system or
    platform has no such locks (no fcntl; ENOLCK/ENOTSUP on some network mounts), so
    that the caller goes on without."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        return None
    return True


def _fsync(name) -> None:
    with open(name, "rb") as f:
        os.fsync(f.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
