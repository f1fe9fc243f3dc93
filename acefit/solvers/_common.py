"""What every solver does at its boundary: validate, scale by the prior, book errors.

A solver calls :func:`prepare` once with the caller's arguments and gets a
:class:`Setup`. It then works on ``setup.scaled`` (the problem in the variables
d = Gamma c, i.e. columns A[:, k] / gamma_k) and hands each finished model to
``setup.step(...)``, which maps the coefficients back to the caller's variables
c = d / gamma, fills the training and validation errors, and streams the step to
the ``on_step`` callback.

Conventions shared by all solvers
---------------------------------
* ``train_error = sqrt(rss / m)`` where rss is the residual sum of squares of the
  *original* problem (a reduced problem adds its constant ``offset``) and m its
  number of data rows.
* ``val_error = sqrt(mean((y_val - A_val c)^2))`` in the caller's variables.
* A prior is a vector of positive gamma_k; an l1 (or l2) penalty on d = Gamma c is
  a weighted penalty sum_k gamma_k |c_k| on the caller's coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.linalg
from scipy.linalg.lapack import dtrcon

from acefit.lsq import LeastSquaresProblem, as_problem
from acefit.solvers._qr import is_upper_triangular
from acefit.solvers.path import Path, Step

__all__ = ["Setup", "EntryOrder", "prepare", "validate_prior", "validate_validation",
           "check_count", "check_nonnegative", "rss_from_gram", "spanned_reach"]

_CHOLESKY_MAX_COND = 1e3  # reduce through the Gram matrix only while eps cond^2 <= ~1e-10


# The active columns S span every column that could enter once each |a_j'r_S| (r_S: the
# least-squares residual on S) is at most this fraction of ||a_j|| ||y||: rounding (y in
# the span of S, or the numerical rank reached). Measured: at most 3e-15 at the rank of
# duplicated or dependent columns; 8e-13 for a column 1e-9 off the span (which still
# enters asp's path, by a swap); the quickstart's asp path stays above 1.3e-11.
_SPANNED = 1e-13


def spanned_reach(G: np.ndarray, y_norm: float) -> np.ndarray:
    """The largest |a_j'r| that is rounding, ``_SPANNED`` ||a_j|| ||y||, per column (from
    the Gram matrix ``G`` and ||y||): asp's and omp's test that no column can enter."""
    return _SPANNED * y_norm * np.sqrt(np.diag(G))


def validate_prior(prior, n_features: int) -> np.ndarray | None:
    """Return the prior scale as a float vector of n_features positive numbers, or None."""
    if prior is None:
        return None
    gamma = np.asarray(prior, dtype=float)
    if gamma.shape != (n_features,):
        raise ValueError(
            f"prior must be a vector of {n_features} positive numbers (one per column), "
            f"got shape {gamma.shape}")
    bad = ~np.isfinite(gamma) | (gamma <= 0)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"prior must be finite and > 0 for every column; prior[{k}] = {gamma[k]}")
    return gamma


def validate_validation(validation, n_features: int):
    """Return ``(A_val, y_val)`` as checked float arrays, or None."""
    if validation is None:
        return None
    try:
        A_val, y_val = validation
    except (TypeError, ValueError):
        block = hasattr(validation, "weighted")     # an assembled system's DesignBlock
        raise ValueError(f"validation must be a pair (A_val, y_val), got "
                         f"{type(validation).__name__}; allowed: rows weighted as the "
                         "training rows are" + (", the block's .weighted()" if block else "")
                         ) from None
    # column-major: every step gathers the active columns (6x faster than from rows)
    A_val = np.asfortranarray(A_val, dtype=float)
    y_val = np.asarray(y_val, dtype=float)
    if A_val.ndim != 2 or A_val.shape[1] != n_features:
        raise ValueError(
            f"validation A_val must be 2-d with {n_features} columns, got shape {A_val.shape}")
    if y_val.shape != (A_val.shape[0],):
        raise ValueError(
            f"validation y_val must have shape ({A_val.shape[0]},), got {y_val.shape}")
    if A_val.shape[0] == 0:
        raise ValueError("validation set has no rows")
    for arr, name in ((A_val, "validation A_val"), (y_val, "validation y_val")):
        if not np.all(np.isfinite(arr)):
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(
                f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)})")
    return A_val, y_val


def check_count(value, name: str, *, minimum: int = 1, allow_none: bool = True):
    """An integer option >= minimum (or None when allowed)."""
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required")
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonnegative(value, name: str, *, allow_none: bool = True, positive: bool = False):
    """A finite float option >= 0 (> 0 with ``positive``), or None when allowed."""
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"{name} is required")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, got {value!r}")
    return v


def triangular_gram(R: np.ndarray, block: int = 512) -> np.ndarray:
    """R'R of an upper-triangular R, exactly symmetric, in about a third of the flops.

    Block row I of R'R needs only the first rows of R down to the end of block I (the
    rest of R[:, I] is zero): n^3/3 flops in GEMMs against n^3 for a symmetric rank-k
    update of the whole R. On the reduced Zuo Mo factor (n = 5317): 1.3-1.8 s against
    2.9-3.6 s for ``R.T @ R``, one BLAS thread.
    """
    n = R.shape[0]
    G = np.empty((n, n))
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        G[i0:i1, i0:] = R[:i1, i0:i1].T @ R[:i1, i0:]
        G[i0:, i0:i1] = G[i0:i1, i0:].T
    return G


def rss_from_gram(yty: float, aty_s: np.ndarray, x_s: np.ndarray, gx_s: np.ndarray) -> float:
    """||y - A_S x||^2 = y'y - 2 x'A_S'y + x'G_SS x, given gx_s = G_SS x (clipped at 0)."""
    return max(float(yty - 2.0 * (x_s @ aty_s) + x_s @ gx_s), 0.0)


class EntryOrder:
    """Support of successive coefficient vectors, listed in order of first entry."""

    def __init__(self, n_features: int):
        self._order: list[int] = []
        self._seen = np.zeros(n_features, dtype=bool)

    def support(self, coef: np.ndarray) -> np.ndarray:
        nz = coef != 0
        self._order.extend(int(j) for j in np.flatnonzero(nz & ~self._seen))
        self._seen |= nz
        return np.array([j for j in self._order if nz[j]], dtype=np.intp)


@dataclass
class Setup:
    """A validated problem in solver variables, and the book-keeping of its path.

    Attributes
    ----------
    problem : LeastSquaresProblem
        The caller's problem (dense or reduced), validated.
    scaled : LeastSquaresProblem
        The problem in the solver's variables d = gamma * c (``problem`` itself
        when there is no prior).
    scale : ndarray or None
        The prior gamma, or None.
    validation : tuple (A_val, y_val) or None
        Validation data in the caller's variables.
    path : Path
        The path being built; ``step`` appends to it.
    on_step : callable or None
        Called with each finished step, in order.
    """

    problem: LeastSquaresProblem
    scaled: LeastSquaresProblem
    scale: np.ndarray | None
    validation: tuple | None
    path: Path
    on_step: Callable[[Step], None] | None = None
    _gram: np.ndarray | None = field(default=None, repr=False)
    _aty: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_features(self) -> int:
        return self.problem.n_features

    @property
    def m(self) -> int:
        return self.problem.m

    @property
    def yty(self) -> float:
        return self.scaled.yty

    def gram(self) -> np.ndarray:
        """A'A of the scaled problem, computed once (R'R for a reduced problem)."""
        if self._gram is None:
            A = self.scaled.A
            square = A.shape[0] == A.shape[1]
            self._gram = triangular_gram(A) if square and is_upper_triangular(A) else A.T @ A
        return self._gram

    def aty(self) -> np.ndarray:
        """A'y of the scaled problem, computed once."""
        if self._aty is None:
            self._aty = self.scaled.A.T @ self.scaled.y
        return self._aty

    def square_form(self, householder: bool = True):
        """The scaled problem as a square one with the same least squares: (A, y, offset).

        ``||y - A d||^2 + offset`` equals the scaled problem's residual sum of squares
        for every d. A reduced (or not tall) problem is returned as it is. A tall
        dense one is reduced to (R, Q'y) so that path solvers work on n-vectors, not
        m-vectors: from the Gram matrix they need anyway (R = chol(A'A), one O(n^3)
        step) when the 1-norm condition estimate of R is at most 1e3, so that the
        squared conditioning of that route costs at most ~1e-10 relative; otherwise
        by Householder QR of [A | y], which is accurate at any conditioning but
        costs about one dense solve. With ``householder=False`` such a problem is
        returned as it is instead: OMP's path to 1000 of 5317 columns on 10 077 real
        ACE rows took 20 s on the tall rows against 33 s with the QR first, while
        ASP, whose drops sweep Q too, took 58 s against 53 s.
        """
        p = self.scaled
        m, n = p.A.shape
        if p.reduced or m <= n:
            return p.A, p.y, p.offset
        try:
            R = scipy.linalg.cholesky(self.gram(), lower=False, check_finite=False)
            rcond, info = dtrcon(R, norm="1", uplo="U", diag="N")
            accurate = info == 0 and rcond * _CHOLESKY_MAX_COND >= 1.0
        except np.linalg.LinAlgError:
            accurate = False
        if accurate:
            qty = scipy.linalg.solve_triangular(R, self.aty(), trans="T", check_finite=False)
            r = p.y - p.A @ scipy.linalg.solve_triangular(R, qty, check_finite=False)
            return R, qty, float(r @ r)
        if not householder:
            return p.A, p.y, p.offset
        R_aug = np.linalg.qr(np.column_stack([p.A, p.y]), mode="r")
        return np.ascontiguousarray(R_aug[:n, :n]), R_aug[:n, n].copy(), float(R_aug[n, n] ** 2)

    def unscale(self, d: np.ndarray) -> np.ndarray:
        """Map coefficients from solver variables d to the caller's c = d / gamma."""
        d = np.asarray(d, dtype=float)
        return d if self.scale is None else d / self.scale

    def train_error(self, rss: float) -> float:
        return float(np.sqrt(max(rss, 0.0) / self.m))

    def val_error(self, coef: np.ndarray, active: np.ndarray | None = None) -> float | None:
        """RMS validation residual of caller-variable coefficients (None without validation)."""
        if self.validation is None:
            return None
        A_val, y_val = self.validation
        if active is None:
            pred = A_val @ coef
        else:
            pred = A_val[:, active] @ coef[active] if len(active) else np.zeros_like(y_val)
        r = y_val - pred
        return float(np.sqrt(r @ r / len(r)))

    def step(self, active, values, *, lam: float = float("nan"), rss: float | None = None,
             info: dict | None = None, scaled: bool = True) -> Step:
        """Finish one model: build the full coefficient vector, errors, append and stream.

        Parameters
        ----------
        active : sequence of int
            Active columns, in the order the solver added them.
        values : array, shape (len(active),)
            Their coefficients, in solver variables d (``scaled=True``) or in the
            caller's variables (``scaled=False``).
        lam : float
            The regularisation value of the step (NaN where none applies).
        rss : float, optional
            Residual sum of squares of the original problem if the solver already
            knows it (e.g. from Gram updates); computed from the problem otherwise.
        info : dict, optional
            Solver-specific scalars.
        scaled : bool, default True
            Whether ``values`` are in solver variables d (divided by the prior scale γ
            of their columns here) or already in the caller's variables.

        Returns
        -------
        Step
            The step appended to the path (and passed to ``on_step``).
        """
        active = np.asarray(active, dtype=np.intp).reshape(-1)
        coef = self.coef_vector(active, values, scaled=scaled)
        if rss is None:
            rss = self.rss(coef, active)
        step = Step(active=active.copy(), coef=coef, lam=float(lam),
                    train_error=self.train_error(rss),
                    val_error=self.val_error(coef, active),
                    info=dict(info or {}))
        self.path.append(step, self.on_step)
        return step

    def coef_vector(self, active, values, *, scaled: bool = True) -> np.ndarray:
        """The full coefficient vector, in the caller's variables, of ``values`` on the
        columns ``active`` (solver variables d where ``scaled``, as :meth:`step` takes them)."""
        active = np.asarray(active, dtype=np.intp).reshape(-1)
        values = np.asarray(values, dtype=float).reshape(-1)
        if values.shape != active.shape:
            raise ValueError(f"{len(values)} coefficient values for {len(active)} active columns")
        coef = np.zeros(self.n_features)
        if scaled and self.scale is not None:
            values = values / self.scale[active]
        coef[active] = values
        return coef

    def rss(self, coef, active) -> float:
        """Residual sum of squares of the original problem at the caller-variable ``coef``,
        non-zero on ``active`` only."""
        p = self.problem
        if len(active) == 0:
            return p.yty
        r = p.y - p.A[:, active] @ coef[active]
        return float(r @ r) + p.offset


def prepare(A, y=None, *, solver: str, params: dict | None = None, prior=None,
            validation=None, on_step=None) -> Setup:
    """Validate a solver's inputs once and return its :class:`Setup`.

    Parameters
    ----------
    A : ndarray (m, n) or LeastSquaresProblem
        Dense design matrix, or a dense/reduced problem.
    y : ndarray (m,), optional
        Targets (only with an array ``A``).
    solver : str
        Name recorded in the returned path.
    params : dict, optional
        Solver parameters recorded in the path (scalars only).
    prior : array (n,), optional
        Positive diagonal prior gamma; the solver works on columns A[:, k] / gamma_k.
    validation : (A_val, y_val), optional
        Validation rows weighted as the training rows are (``system.val.weighted()`` of
        an assembled system, see :mod:`acefit.solvers`); each step then carries
        ``val_error``.
    on_step : callable, optional
        ``on_step(step)`` is called as each step is finished.

    Raises
    ------
    ValueError
        On a wrong shape, NaN/inf anywhere, an empty problem, a non-positive prior
        or a mismatched validation set.
    """
    problem = as_problem(A, y)
    if problem.A.ndim != 2 or problem.A.shape[1] == 0 or problem.A.shape[0] == 0:
        raise ValueError(f"the problem has no rows or no columns (A has shape {problem.A.shape})")
    if on_step is not None and not callable(on_step):
        raise ValueError(f"on_step must be callable, got {type(on_step).__name__}")
    n = problem.n_features
    gamma = validate_prior(prior, n)
    val = validate_validation(validation, n)
    scaled = problem if gamma is None else problem.scale_columns(gamma)
    record = dict(params or {})
    record["prior"] = gamma is not None
    record["reduced"] = bool(problem.reduced)
    return Setup(problem=problem, scaled=scaled, scale=gamma, validation=val,
                 path=Path(solver=solver, params=record), on_step=on_step)
