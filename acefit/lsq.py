"""The linear least-squares problem every solver consumes.

A problem is min_c ||y - A c||^2, given either densely as (A, y) or in the
reduced form (R, Q^T y, ||y||^2, m) of a thin QR factorisation A = Q R. The two
are interchangeable: for any c,

    ||y - A c||^2 = ||Q^T y - R c||^2 + (||y||^2 - ||Q^T y||^2),

so a solver may treat the square system (R, Q^T y) as its "A, y" and add the
constant ``offset``. Only the row count ``m`` is lost in the reduction, and it
matters only for statistics such as the Bayesian evidence or a noise variance.

This module knows nothing about atoms: the weights are already in A and y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

# How far ||Q'y||^2 may exceed ||y||^2 by rounding, relative: measured at most 1.5e-15
# where y lies in the span of A (the Householder reduction of 300 problems up to
# 3000 x 300, row weights over 8 decades) and 5.8e-16 through the assembly's
# StreamingQR (60 problems folded in blocks and merged).
_YTY_RTOL = 1e-10


@dataclass(frozen=True)
class LeastSquaresProblem:
    """min_c ||y - A c||^2 in a form the solvers can use.

    Attributes
    ----------
    A : ndarray, shape (k, n)
        The design matrix, or the triangular factor R (k = n) of the reduced form.
    y : ndarray, shape (k,)
        The targets, or Q^T y.
    m : int
        Number of data rows of the original problem.
    offset : float
        ||y||^2 - ||Q^T y||^2 for a reduced problem (0 for a dense one), so that
        ``rss(c)`` is the residual sum of squares of the original problem.
    reduced : bool
        True when ``A`` is the triangular factor R.
    """

    A: np.ndarray
    y: np.ndarray
    m: int
    offset: float = 0.0
    reduced: bool = False

    @classmethod
    def from_dense(cls, A, y, *, reduce: bool = False) -> "LeastSquaresProblem":
        """A problem of its rows.

        Parameters
        ----------
        A : array_like, shape (m, n)
            The (weighted) design matrix.
        y : array_like, shape (m,)
            The (weighted) targets.
        reduce : bool
            Replace (A, y) by their QR reduction (R, Q^T y): the same least-squares
            problem in n rows.

        Raises
        ------
        ValueError
            For a shape that does not fit, or NaN/inf, naming the array.
        """
        A = np.asarray(A, dtype=float)
        y = np.asarray(y, dtype=float)
        if A.ndim != 2:
            raise ValueError(f"A must be a 2-d array, got shape {A.shape}")
        if y.ndim != 1 or y.shape[0] != A.shape[0]:
            raise ValueError(
                f"y must be a vector with A.shape[0] = {A.shape[0]} entries, got shape {y.shape}")
        _check_finite(A, "A")
        _check_finite(y, "y")
        problem = cls(A=A, y=y, m=A.shape[0])
        return problem.reduce() if reduce else problem

    @classmethod
    def from_reduced(cls, R, qty, yty: float, m: int) -> "LeastSquaresProblem":
        """A problem given by its QR reduction (what the assembly stores).

        Parameters
        ----------
        R : array_like, shape (n, n)
            The triangular factor of the weighted design matrix.
        qty : array_like, shape (n,)
            Q^T y.
        yty : float
            ||y||^2 of the weighted targets (the residual of the part of y outside Q's span
            is ``yty - ||Q^T y||^2``).
        m : int
            The number of rows reduced (>= n).

        Raises
        ------
        ValueError
            For a shape that does not fit, NaN/inf, or an impossible ``yty`` or ``m``.
        """
        R = np.asarray(R, dtype=float)
        qty = np.asarray(qty, dtype=float)
        if R.ndim != 2 or R.shape[0] != R.shape[1]:
            raise ValueError(f"R must be square, got shape {R.shape}")
        if qty.shape != (R.shape[0],):
            raise ValueError(f"Q^T y must have shape ({R.shape[0]},), got {qty.shape}")
        _check_finite(R, "R")
        _check_finite(qty, "Q^T y")
        if not np.isfinite(yty) or yty < 0:
            raise ValueError(f"||y||^2 must be finite and >= 0, got {yty}")
        if int(m) < R.shape[0]:
            raise ValueError(f"row count m = {m} is smaller than the number of columns {R.shape[0]}")
        qq = float(qty @ qty)
        if yty < qq * (1.0 - _YTY_RTOL):
            raise ValueError(f"||y||^2 = {yty:.17g} is smaller than ||Q^T y||^2 = {qq:.17g}: no "
                             f"rows give these (||y||^2 is at least ||Q^T y||^2, its part in "
                             f"the span of R; rounding allowed: {_YTY_RTOL:g} relative)")
        offset = max(float(yty) - qq, 0.0)
        return cls(A=R, y=qty, m=int(m), offset=offset, reduced=True)

    def reduce(self) -> "LeastSquaresProblem":
        """The reduced form of this problem (itself if already reduced)."""
        if self.reduced:
            return self
        m, n = self.A.shape
        if m < n:
            raise ValueError(f"cannot reduce an underdetermined problem ({m} rows < {n} columns)")
        # Householder QR applied to y on the fly: Q, as large as A, is never formed
        qty, R = scipy.linalg.qr_multiply(self.A, self.y[None, :], mode="right")
        return LeastSquaresProblem.from_reduced(R, qty[0], self.yty, self.m)

    @property
    def n_features(self) -> int:
        return self.A.shape[1]

    @property
    def yty(self) -> float:
        """||y||^2 of the original problem."""
        return float(self.y @ self.y) + self.offset

    def gram(self) -> np.ndarray:
        """A^T A."""
        return self.A.T @ self.A

    def aty(self) -> np.ndarray:
        """A^T y."""
        return self.A.T @ self.y

    def rss(self, coef) -> float:
        """Residual sum of squares ||y - A c||^2 of the original problem."""
        r = self.y - self.A @ coef
        return float(r @ r) + self.offset

    def scale_columns(self, scale) -> "LeastSquaresProblem":
        """The problem in variables d = scale * c, i.e. columns A[:, k] / scale[k].

        This is how a diagonal prior Gamma enters: a solver that penalises ||d||
        on the scaled problem penalises ||Gamma c|| on the original one, and the
        coefficients map back as c = d / scale.
        """
        scale = np.asarray(scale, dtype=float)
        if scale.shape != (self.n_features,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError(
                f"column scale must be {self.n_features} finite positive numbers")
        return LeastSquaresProblem(A=self.A / scale, y=self.y, m=self.m,
                                   offset=self.offset, reduced=self.reduced)

    def columns(self, idx) -> "LeastSquaresProblem":
        """The sub-problem on columns ``idx`` (for a reduced problem, re-triangularised)."""
        idx = np.asarray(idx, dtype=int)
        sub = self.A[:, idx]
        if not self.reduced:
            return LeastSquaresProblem(A=sub, y=self.y, m=self.m)
        # R[:, idx] is no longer triangular; one small QR restores the reduced form.
        # Factoring [R[:, idx] | Q^T y] gives both R_S and Q_S^T y without forming Q_S
        # (half the flops).
        k = len(idx)
        _, ext = scipy.linalg.qr(np.column_stack([sub, self.y]), mode="raw",
                                 overwrite_a=True, check_finite=False)
        return LeastSquaresProblem.from_reduced(ext[:k, :k].copy(), ext[:k, k].copy(),
                                                self.yty, self.m)


def as_problem(A, y=None) -> LeastSquaresProblem:
    """Accept a LeastSquaresProblem, or dense (A, y), at a solver's boundary."""
    if isinstance(A, LeastSquaresProblem):
        if y is not None:
            raise ValueError("pass either a LeastSquaresProblem or (A, y), not both")
        _check_problem(A)
        return A
    if y is None:
        raise ValueError("y is required when A is an array")
    return LeastSquaresProblem.from_dense(A, y)


def _check_problem(problem: LeastSquaresProblem) -> None:
    """What ``from_dense`` / ``from_reduced`` check, for a problem built directly."""
    A, y = np.asarray(problem.A), np.asarray(problem.y)
    name = "R" if problem.reduced else "A"
    if A.ndim != 2 or y.ndim != 1 or y.shape[0] != A.shape[0]:
        raise ValueError(f"the problem's {name} must be a matrix and its y a vector of one "
                         f"entry per row; got shapes {A.shape} and {y.shape}")
    _check_finite(A, name)
    _check_finite(y, "Q^T y" if problem.reduced else "y")


def _check_finite(x, name):
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)})")
