"""An updatable QR factorisation of the active columns of a path solver.

For a design A (m x n), targets y and an active list S, :class:`ActiveQR` keeps

    A_S = Q R          Q (m x k) orthonormal columns, R (k x k) upper triangular
    P = A'Q            (n x k), so that A'(Q v) costs one product with P
    z = Q'y,  r = y - Q z   (the least-squares residual on S, kept explicitly)

Appending a column orthogonalises it against Q by Gram-Schmidt (its coefficients
Q'a are read off P's row, so one pass over Q), repeated once when that pass
cancels ("twice is enough"); deleting one restores R by
Givens rotations and rotates Q, P and z alike. Nothing is refactorised. Because
R comes from the columns themselves and not from the Gram matrix G_SS, solves
with R lose accuracy like cond(A_S), not cond(A_S)^2.

The new column of P, A'q, is first formed from the Gram matrix,
(G[j] - P h) / nu, which costs O(nk) but loses accuracy like 1/nu; every
``refresh`` appends, the columns formed that way are recomputed as A'Q[:, stale]
in one matrix product, so errors never build up over more than a block.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.linalg.blas import dtrmm, dtrsv


@njit(cache=True, nogil=True)
def _givens_sweep(H, p, Q, P, Z, stale):
    """Restore the upper-Hessenberg H (k x k-1, column p removed) to triangular.

    Each rotation of rows (i, i+1) of H is applied to columns (i, i+1) of Q and P,
    rows (i, i+1) of Z (z and any carried k-vectors, as columns), and spreads
    staleness; one compiled pass, no copies.
    """
    k = H.shape[0]
    for i in range(p, k - 1):
        a, b = H[i, i], H[i + 1, i]
        rho = np.hypot(a, b)
        if rho == 0.0:
            continue
        c, s = a / rho, b / rho
        for j in range(i, k - 1):
            t = H[i, j]
            H[i, j] = c * t + s * H[i + 1, j]
            H[i + 1, j] = -s * t + c * H[i + 1, j]
        H[i + 1, i] = 0.0
        for M in (Q, P):
            for r in range(M.shape[0]):
                t = M[r, i]
                M[r, i] = c * t + s * M[r, i + 1]
                M[r, i + 1] = -s * t + c * M[r, i + 1]
        for col in range(Z.shape[1]):
            t = Z[i, col]
            Z[i, col] = c * t + s * Z[i + 1, col]
            Z[i + 1, col] = -s * t + c * Z[i + 1, col]
        either = stale[i] or stale[i + 1]
        stale[i] = either
        stale[i + 1] = either


@njit(cache=True, nogil=True)
def is_upper_triangular(A):
    """True when every entry below the diagonal is zero (a scan, no copy)."""
    n, m = A.shape
    for i in range(n):
        for j in range(min(i, m)):
            if A[i, j] != 0.0:
                return False
    return True


class Columns:
    """A Fortran-ordered (rows, k) stack of columns grown by doubling."""

    def __init__(self, rows: int, capacity: int = 64):
        self.buf = np.empty((rows, max(capacity, 1)), order="F")
        self.k = 0

    @property
    def cols(self) -> np.ndarray:
        return self.buf[:, : self.k]

    def append(self, col: np.ndarray) -> None:
        if self.k == self.buf.shape[1]:
            grown = np.empty((self.buf.shape[0], 2 * self.k), order="F")
            grown[:, : self.k] = self.buf[:, : self.k]
            self.buf = grown
        self.buf[:, self.k] = col
        self.k += 1

    def pop(self) -> np.ndarray:
        self.k -= 1
        return self.buf[:, self.k].copy()


class ActiveQR:
    """A_S = Q R for the active columns S of A, with P = A'Q, z = Q'y and r = y - Qz.

    Parameters
    ----------
    A : ndarray (m, n)
        The design matrix (for a reduced problem its square factor).
    y : ndarray (m,)
        Targets.
    gram : ndarray (n, n)
        A'A, used to form each new column of P cheaply.
    dependence_tol : float
        A column whose squared distance to span(A_S) is at most this fraction of
        its squared norm is refused (the distance comes from the re-orthogonalised
        update, accurate to about eps times the column norm).
    refresh : int
        Recompute the Gram-formed columns of P exactly after this many appends.
    capacity : int
        Initial number of columns allocated (grown by doubling).
    """

    def __init__(self, A, y, gram, *, dependence_tol: float = 1e-10, refresh: int = 32,
                 capacity: int = 64):
        self.A, self.G = A, gram
        m, n = A.shape
        self.Q = Columns(m, capacity)
        self.P = Columns(n, capacity)
        self.R = np.zeros((0, 0), order="F")
        self.z = np.zeros(0)
        self.r = np.array(y, dtype=float)
        self.active: list[int] = []
        self.dependence_tol = float(dependence_tol)
        self.refresh = int(refresh)
        self._stale = np.zeros(0, dtype=bool)
        self._appended = 0
        self._upper = m == n and is_upper_triangular(A)

    def __len__(self) -> int:
        return len(self.active)

    @property
    def exact_products(self) -> bool:
        """True when every column of P is A'Q computed exactly (none Gram-formed)."""
        return not self._stale.any()

    def _orthogonalise(self, j: int):
        """(h, v, ||a||^2, ||v||^2) with a = A[:, j] = Q h + v and Q'v = 0."""
        a = np.array(self.A[:, j], dtype=float)
        Q = self.Q.cols
        a_norm2 = float(a @ a)
        h = self.P.cols[j].copy()  # a'Q, exact where P is: no pass over Q for it
        stale = np.flatnonzero(self._stale)
        if len(stale):
            h[stale] = Q[:, stale].T @ a
        v = a - Q @ h
        nu2 = float(v @ v)
        # h is exact (from P), so one pass leaves v orthogonal to Q up to ~eps ||a|| / nu:
        # repeat it ("twice is enough") only when that could exceed ~100 eps
        if nu2 < 1e-4 * a_norm2:
            h2 = Q.T @ v
            v -= Q @ h2
            h += h2
            nu2 = float(v @ v)
        return h, v, a_norm2, nu2

    def coordinates(self, j: int) -> np.ndarray:
        """Least-squares coefficients of column j on the active columns: R^{-1} Q'a_j."""
        return self.solve(self._orthogonalise(j)[0])

    def append(self, j: int) -> bool:
        """Add column j; False (nothing changes) if it lies numerically in span(A_S)."""
        h, v, a_norm2, nu2 = self._orthogonalise(j)
        if not nu2 > self.dependence_tol * a_norm2:
            return False
        nu = np.sqrt(nu2)
        q = v / nu
        k = len(self)
        self.P.append((self.G[j] - self.P.cols @ h) / nu)  # G is symmetric: row j, contiguous
        self.Q.append(q)
        R = np.zeros((k + 1, k + 1), order="F")
        R[:k, :k] = self.R
        R[:k, k] = h
        R[k, k] = nu
        self.R = R
        t = float(q @ self.r)
        self.z = np.append(self.z, t)
        self.r -= t * q
        self.active.append(j)
        self._stale = np.append(self._stale, True)
        self._appended += 1
        if self._appended % self.refresh == 0:
            self.refresh_products()
        return True

    def delete(self, p: int, carry=()) -> tuple[np.ndarray, np.ndarray]:
        """Remove the p-th active column; Givens rotations restore R to triangular.

        Parameters
        ----------
        p : int
            Position of the column in ``active``.
        carry : sequence of k-vectors, optional
            Coordinates in the basis Q (such as z) to rotate along with z.

        Returns
        -------
        (ndarray (n,), ndarray (len(carry),))
            The column of P that left (A' times the direction rotated out of the
            span) and each carried vector's coordinate along it; the first
            ``k - 1`` rotated coordinates of a carried vector u are those of
            Q Q'u in the new basis, so for any u held as P u the update is
            P u -> P u - column * coordinate, with no pass over P.
        """
        k = len(self)
        H = np.delete(self.R, p, axis=1)  # (k, k-1), upper Hessenberg from column p
        Z = np.column_stack([self.z, *carry])  # a copy, z and each carried vector as columns
        _givens_sweep(H, p, self.Q.cols, self.P.cols, Z, self._stale)
        self.R = np.asfortranarray(H[: k - 1])
        self.z = Z[:-1, 0].copy()
        # the last rotated direction left the span: its share of y returns to r
        self.r += Z[-1, 0] * self.Q.pop()
        out = self.P.pop()
        self._stale = self._stale[:-1]
        self.active.pop(p)
        return out, Z[-1, 1:].copy()

    def refresh_products(self) -> None:
        """Recompute the Gram-formed columns of P as A'Q exactly."""
        idx = np.flatnonzero(self._stale)
        if len(idx):
            Qs = np.asfortranarray(self.Q.buf[:, idx])
            if self._upper and self.A.flags.c_contiguous:  # a reduced R: half the flops
                # A' is then the Fortran-ordered lower triangle: no copy of A
                self.P.buf[:, idx] = dtrmm(1.0, self.A.T, Qs, lower=1, overwrite_b=1)
            elif self._upper and self.A.flags.f_contiguous:
                self.P.buf[:, idx] = dtrmm(1.0, self.A, Qs, lower=0, trans_a=1, overwrite_b=1)
            else:
                self.P.buf[:, idx] = self.A.T @ Qs
            self._stale[:] = False

    def solve(self, v: np.ndarray, *, trans: bool = False) -> np.ndarray:
        """R^{-1} v (or R^{-T} v)."""
        if not len(self):
            return np.zeros(0)
        return dtrsv(self.R, v, trans=1 if trans else 0)  # R is Fortran-ordered: no copy

    @property
    def coef(self) -> np.ndarray:
        """Least-squares coefficients on S: R x = z."""
        return self.solve(self.z)
