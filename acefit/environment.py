"""What a run ran on: the processor, the numerical libraries and the BLAS kernel.

Every solver is deterministic, so one machine reproduces a run bit for bit. Another
BLAS kernel rounds differently, and a path that decides by comparing nearly equal
numbers can then take another turn: the Zuo Si ARD path gave other checkpoints under
OpenBLAS' Haswell and SkylakeX kernels on one processor, while ASP and OMP gave the
same (``docs/zuo_tuning.md``, "the BLAS kernel decides the Si ARD baseline"). The
report records what is needed to tell.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["environment", "environment_line"]

_PACKAGES = ("numpy", "scipy", "numba", "scikit-learn", "sphericart", "ase")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _blas() -> list[dict]:
    """The BLAS libraries numpy and scipy loaded, as threadpoolctl sees them, numpy's first
    (threadpoolctl lists them in the order the process loaded them, which varies)."""
    import numpy  # noqa: F401  (loads its BLAS)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "num_threads")
    found = [(_blas_owner(lib.get("filepath", "")), lib.get("filepath") or "", lib)
             for lib in threadpool_info() if lib.get("user_api") == "blas"]
    found.sort(key=lambda f: (f[0] or "~", f[1]))      # a system library (None) last
    return [{"used_by": owner, **{k: lib.get(k) for k in keys}} for owner, _, lib in found]


def _blas_owner(filepath: str) -> str | None:
    """The package whose wheel ships a BLAS library (numpy and scipy each bring their own
    OpenBLAS, ``numpy.libs/``, ``scipy.libs/``), or None for a system library."""
    folder = Path(filepath).parent.name
    return next((p for p in ("numpy", "scipy") if folder.startswith(p)), None)


def environment() -> dict:
    """The processor, core count, Python, library versions and BLAS of this process.

    ``blas`` lists each loaded BLAS with the package that brought it (``used_by``: numpy,
    scipy, or None for a system library), its version, the kernel it chose
    (``architecture``, which ``OPENBLAS_CORETYPE`` overrides) and its thread count.
    """
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "system": platform.system(),
            "python": sys.version.split()[0],
            "packages": {p: _version(p) for p in _PACKAGES},
            "blas": _blas()}


def _owner_text(blas: dict) -> str:
    return f"{blas['used_by']}'s " if blas.get("used_by") else ""


def environment_line(env: dict) -> str:
    """One line for a report: processor, cores, BLAS kernels and the numerical libraries."""
    blas = ", ".join(f"{_owner_text(b)}{b['internal_api']} {b['version']} "
                     f"({b['architecture']} kernel, "
                     f"{b['num_threads']} thread{'s' if b['num_threads'] != 1 else ''})"
                     for b in env.get("blas", [])) or "unknown BLAS"
    packages = ", ".join(f"{p} {v}" for p, v in env.get("packages", {}).items() if v)
    return (f"{env.get('cpu')} ({env.get('cores')} cores), {blas}; Python "
            f"{env.get('python')}, {packages}")
