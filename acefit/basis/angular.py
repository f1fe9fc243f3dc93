"""Real spherical harmonics and their gradients (sphericart).

Convention: sphericart's orthonormal real harmonics, flat index ``l*l + l + m``
(m = -l..l), evaluated on the direction of the input vectors; gradients are with
respect to the (unnormalised) input vectors.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import lru_cache

import numpy as np

__all__ = ["real_sph_harm", "n_lm", "thread_limit", "EVALUATION_THREADS"]

EVALUATION_THREADS = 1
"""OpenMP threads inside one evaluation of a model (sphericart's; the numba kernels are
serial): the calculator's default, and what ``acefit evaluate`` and ``acefit query`` use, so
that evaluate's ms/atom is what MD costs. One thread avoids OpenMP's start-up and spinning,
which on small cells and busy machines cost more than they gain (docs/benchmarks.md)."""


def n_lm(lmax):
    """Number of (l, m) for l = 0..lmax."""
    return (lmax + 1) ** 2


@lru_cache(maxsize=32)
def _calculator(lmax, threads):
    """A sphericart calculator for ``lmax``, used only while OpenMP allows ``threads``
    threads: sphericart sizes its per-thread buffers by omp_get_max_threads() when the
    calculator is built, so one built under a thread limit (ACECalculator's default
    num_threads=1, assembly workers) overruns them when used with more threads."""
    import sphericart

    return sphericart.SphericalHarmonics(lmax)


@lru_cache(maxsize=1)
def _omp_max_threads_function():
    """``omp_get_max_threads`` of the OpenMP runtime sphericart runs on, or None
    (no OpenMP runtime found, or threadpoolctl missing)."""
    import ctypes

    import sphericart

    sphericart.SphericalHarmonics(1).compute(np.ones((1, 3)))  # loads its OpenMP runtime
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    paths = [i["filepath"] for i in threadpool_info() if i["user_api"] == "openmp"]
    paths.sort(key=lambda path: "sphericart" not in path)
    if not paths:
        return None
    function = ctypes.CDLL(paths[0]).omp_get_max_threads
    function.restype = ctypes.c_int
    return function


@lru_cache(maxsize=1)
def _openmp_controller():
    """threadpoolctl's controller of the OpenMP runtimes loaded once sphericart's is, or
    None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    real_sph_harm(np.ones((1, 3)), 1)  # loads sphericart's OpenMP runtime
    return ThreadpoolController().select(user_api="openmp")


def thread_limit(num_threads=EVALUATION_THREADS):
    """Context in which OpenMP runs at most ``num_threads`` threads: wrap model evaluations
    in it (:data:`EVALUATION_THREADS`). ``None`` leaves the process setting alone; a no-op
    without threadpoolctl."""
    controller = None if num_threads is None else _openmp_controller()
    if controller is None:
        return nullcontext()
    return controller.limit(limits=num_threads)


def _omp_threads():
    function = _omp_max_threads_function()
    return 0 if function is None else int(function())


def real_sph_harm(xyz, lmax, gradients=True):
    """Real spherical harmonics Y_lm(xyz/|xyz|) for l <= lmax.

    Parameters
    ----------
    xyz : (P, 3) float
        Non-zero vectors.
    lmax : int
    gradients : bool

    Returns
    -------
    Y : (P, (lmax+1)**2)
    dY : (P, 3, (lmax+1)**2), only when ``gradients``
    """
    xyz = np.ascontiguousarray(xyz, dtype=np.float64)
    calc = _calculator(int(lmax), _omp_threads())
    if len(xyz) == 0:
        Y = np.zeros((0, n_lm(lmax)))
        return (Y, np.zeros((0, 3, n_lm(lmax)))) if gradients else Y
    if gradients:
        return calc.compute_with_gradients(xyz)
    return calc.compute(xyz)
