"""Real spherical harmonics and their gradients (sphericart).

Convention: sphericart's orthonormal real harmonics, flat index ``l*l + l + m``
(m = -l..l), evaluated on the direction of the input vectors; gradients are with
respect to the (unnormalised) input vectors.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["real_sph_harm", "n_lm"]


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
