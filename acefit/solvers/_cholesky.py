"""An updatable Cholesky factor of the Gram matrix of a growing/shrinking active set.

R is upper triangular with R'R = G[S, S]. Appending a column costs O(k^2) (one
triangular solve), deleting one costs O(k^2) (Givens rotations on the now
upper-Hessenberg factor); neither refactorises. R is kept Fortran-contiguous and
exactly k x k so LAPACK's triangular solves never copy it.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular


class ActiveCholesky:
    """R'R = G_SS for the active columns S, updated one column at a time."""

    def __init__(self, dependence_tol: float = 1e-10):
        self.R = np.zeros((0, 0), order="F")
        self.dependence_tol = float(dependence_tol)

    def __len__(self) -> int:
        return self.R.shape[0]

    def append(self, g_s: np.ndarray, g_jj: float) -> bool:
        """Add a column with G[S, j] = g_s and G[j, j] = g_jj.

        Returns False (and leaves R unchanged) when the column is numerically in
        the span of the active columns: its squared distance to that span is at
        most ``dependence_tol * g_jj``.
        """
        k = len(self)
        w = solve_triangular(self.R, g_s, trans="T", check_finite=False) if k else np.zeros(0)
        d2 = float(g_jj - w @ w)
        if not d2 > self.dependence_tol * g_jj:
            return False
        R = np.zeros((k + 1, k + 1), order="F")
        R[:k, :k] = self.R
        R[:k, k] = w
        R[k, k] = np.sqrt(d2)
        self.R = R
        return True

    def delete(self, p: int) -> None:
        """Remove the p-th active column and restore triangularity by Givens rotations."""
        k = len(self)
        H = np.delete(self.R, p, axis=1)  # (k, k-1), upper Hessenberg from column p
        for i in range(p, k - 1):
            a, b = H[i, i], H[i + 1, i]
            r = np.hypot(a, b)
            if r == 0.0:
                continue
            c, s = a / r, b / r
            top = H[i, i:].copy()
            H[i, i:] = c * top + s * H[i + 1, i:]
            H[i + 1, i:] = -s * top + c * H[i + 1, i:]
            H[i + 1, i] = 0.0
        self.R = np.asfortranarray(H[: k - 1])

    def solve(self, v: np.ndarray) -> np.ndarray:
        """G_SS^{-1} v by two triangular solves."""
        if len(self) == 0:
            return np.zeros(0)
        w = solve_triangular(self.R, v, trans="T", check_finite=False)
        return solve_triangular(self.R, w, check_finite=False)
