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


@lru_cache(maxsize=16)
def _calculator(lmax):
    import sphericart

    return sphericart.SphericalHarmonics(lmax)


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
    calc = _calculator(int(lmax))
    if len(xyz) == 0:
        Y = np.zeros((0, n_lm(lmax)))
        return (Y, np.zeros((0, 3, n_lm(lmax)))) if gradients else Y
    if gradients:
        return calc.compute_with_gradients(xyz)
    return calc.compute(xyz)
