"""Dense least-squares solvers: Tikhonov QR, rank-revealing QR and truncated SVD.

All three take ``(A, y)`` or a :class:`~acefit.lsq.LeastSquaresProblem` (dense or
reduced), an optional diagonal prior Gamma (columns scaled by 1/gamma_k, the
coefficients mapped back), optional validation data and an ``on_step`` callback,
and return a :class:`~acefit.solvers.path.Path`. A scalar regularisation value
gives one step; a sequence gives one step per value from a single factorisation.

Regularisation, and how the three relate
----------------------------------------
``qr(lam)``
    minimises ||y - A c||^2 + lam ||Gamma c||^2 through a QR factorisation of the
    stacked matrix [A Gamma^-1; sqrt(lam) I]. A singular value sigma of the scaled
    matrix is damped by the filter factor sigma^2 / (sigma^2 + lam), which is 1/2
    at sigma = sqrt(lam).
``tsvd(rtol)``
    keeps the singular directions with sigma_i > rtol * sigma_1 (filter factor 1
    or 0) and returns the minimum-norm solution on them.
``rrqr(rtol)``
    column-pivoted QR; columns are kept while |R_kk| >= rtol * |R_00|, and the
    result is the least-squares fit on the kept (pivot) columns, the "basic
    solution", which is exactly zero on the others. ``rrqr(lam=...)`` ties the
    truncation to a Tikhonov lam as in the paper's Table I: the threshold becomes
    |R_kk| >= sqrt(lam), i.e. ``rtol = sqrt(lam) / |R_00|``, dropping the
    directions that Tikhonov would damp by more than one half (|R_kk| estimates the
    k-th singular value).

Sketching (``rrqr``)
    For a tall dense problem with no reduced form, the pivot order and the rank
    are chosen on a random sketch S A (k x n with k = ``sketch_size``, default
    4 n): a Gaussian S, or a sparse CountSketch (one random +-1 per data row,
    O(nnz(A)) to apply). The coefficients are then the exact least-squares fit of
    the full (A, y) on the chosen columns, so the sketch only affects which
    columns are kept.

Degenerate inputs
    NaN/inf anywhere raises ValueError. ``qr`` with ``lam = 0`` on a rank-deficient
    (scaled) matrix, or one with fewer rows than columns, gives the minimum-norm
    least-squares fit (the limit lam -> 0+ of its Tikhonov solution; singular values
    at most eps max(shape) s_1 count as zero, as in ``lstsq``), ``info["rank"] < n``
    and ``info["min_norm"]``, and logs a warning naming the first dependent column;
    with ``lam > 0`` it is always well posed. ``rrqr`` never keeps a zero column and
    keeps one of two duplicated columns; ``qr`` (lam > 0) and ``tsvd`` give an
    exactly-zero column an exactly-zero coefficient (never active) and split a
    duplicated column's weight equally. ``y = 0`` gives zero coefficients.

Memory: a tall dense problem (m >= 2 n) is first reduced by one QR without
forming Q (:func:`compact`), so no m x n factor besides A is ever held.

A step's ``active`` is the set of columns with a nonzero coefficient (all of them
for ``qr`` and ``tsvd`` in general, the kept pivots for ``rrqr``).
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import scipy.linalg
import scipy.sparse

from acefit.lsq import LeastSquaresProblem
from acefit.solvers._common import prepare
from acefit.solvers.path import Path

__all__ = ["qr", "rrqr", "tsvd"]


def _values(x, name: str, *, positive: bool = False) -> np.ndarray:
    """A scalar or a non-empty sequence of finite numbers >= 0 (> 0 with positive), as 1-d."""
    arr = np.asarray(x, dtype=float).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty sequence of numbers")
    bad = ~np.isfinite(arr) | (arr <= 0 if positive else arr < 0)
    if np.any(bad):
        raise ValueError(
            f"{name} must be finite and {'>' if positive else '>='} 0, got {arr[bad][0]!r}")
    return arr


def compact(problem: LeastSquaresProblem) -> LeastSquaresProblem:
    """The reduced form of a tall dense problem (m >= 2 n), else the problem itself."""
    if problem.A.shape[0] < 2 * problem.n_features:
        return problem
    return problem.reduce()


def zero_columns(problem) -> np.ndarray:
    """Mask of the exactly-zero columns of a problem's matrix."""
    return ~np.any(problem.A != 0, axis=0)


def _finish(setup, d, *, lam, info, zero=None):
    """Append a step for solver-variable coefficients d (active = nonzeros).

    Columns in the mask ``zero`` (exactly zero in A) get exactly zero coefficients:
    their exact minimum-norm or posterior-mean value, which rounding would blur.
    """
    if zero is not None and zero.any():
        d = np.where(zero, 0.0, d)
    active = np.flatnonzero(d)
    return setup.step(active, d[active], lam=lam, info=info)


def qr(A, y=None, *, lam: float | Sequence[float] = 0.0, prior=None, validation=None,
       on_step=None) -> Path:
    """Tikhonov least squares min ||y - A c||^2 + lam ||Gamma c||^2 by QR.

    Parameters
    ----------
    A : ndarray (m, n) or LeastSquaresProblem
        Design matrix, or a dense/reduced problem.
    y : ndarray (m,), optional
        Targets, with an array ``A``.
    lam : float or sequence of float
        Tikhonov parameter(s) >= 0; one step per value.
    prior : array (n,), optional
        Diagonal Gamma (positive); with it the penalty is lam ||Gamma c||^2.
    validation : (A_val, y_val), optional
        Validation rows weighted as the training rows are (``system.val.weighted()`` of
        an assembled system, see :mod:`acefit.solvers`); the steps then carry their RMS
        residual.
    on_step : callable, optional

    Returns
    -------
    Path
        ``solver="qr"``; ``step.lam`` is lam; ``step.info`` has ``{"rank": n}``. For
        lam = 0 on a rank-deficient matrix (or fewer rows than columns) the step is the
        minimum-norm least-squares fit, with the numerical ``rank`` and ``min_norm``
        True in ``info`` (a warning is logged; lam > 0, ``rrqr`` or ``tsvd`` choose
        the truncation deliberately).
    """
    lams = _values(lam, "lam")
    setup = prepare(A, y, solver="qr", params={"lam": _param(lams)}, prior=prior,
                    validation=validation, on_step=on_step)
    P = compact(setup.scaled)
    n = P.n_features
    zero = zero_columns(P)
    for lam_k in lams:
        if lam_k > 0:
            stacked = np.vstack([P.A, np.sqrt(lam_k) * np.eye(n)])
            rhs = np.concatenate([P.y, np.zeros(n)])
        elif P.A.shape[0] < n:
            _min_norm(setup, P, zero, reason=f"{P.A.shape[0]} rows < {n} columns")
            continue
        else:
            stacked, rhs = P.A, P.y
        Q, R = scipy.linalg.qr(stacked, mode="economic")
        # |R_kk| is column k's distance to the span of the columns before it: compared
        # with the column's own norm, so that column scales (a prior spans many
        # decades) do not read as rank deficiency
        norms = np.linalg.norm(stacked, axis=0)
        tiny = np.abs(np.diag(R)) <= n * np.finfo(float).eps * norms
        if np.any(tiny):  # only at lam = 0: the lam > 0 rows make every column independent
            k = int(np.flatnonzero(tiny)[0])
            what = "is zero" if norms[k] == 0 else "lies in the span of the columns before it"
            _min_norm(setup, P, zero, reason=f"column {k} {what}")
            continue
        d = scipy.linalg.solve_triangular(R, Q.T @ rhs)
        _finish(setup, d, lam=lam_k, info={"rank": n}, zero=zero)
    return setup.path


def _min_norm(setup, P, zero, *, reason: str) -> None:
    """qr's lam = 0 step on a rank-deficient matrix: the minimum-norm least-squares fit
    (minimum ||Gamma c||), the limit of the Tikhonov solution as lam -> 0+. Singular
    values at most eps max(shape) s_1 count as zero, as in ``lstsq``."""
    (d, rank), = _truncated_svd_fits(P, [np.finfo(float).eps * max(P.A.shape)])
    logging.getLogger(__name__).warning(
        "qr with lam = 0: the matrix is rank deficient (%s; numerical rank %d of %d): "
        "the minimum-norm least-squares fit (lam -> 0); a lam > 0, rrqr or tsvd "
        "controls the truncation", reason, rank, P.n_features)
    _finish(setup, d, lam=0.0, info={"rank": rank, "min_norm": True}, zero=zero)


def tsvd(A, y=None, *, rtol: float | Sequence[float] = 1e-6, prior=None, validation=None,
         on_step=None) -> Path:
    """Truncated-SVD least squares: keep singular values sigma_i > rtol * sigma_1.

    The solution is the minimum-norm least-squares fit on the kept singular
    directions, x = V_k Sigma_k^-1 U_k^T y (of the prior-scaled matrix).

    Parameters
    ----------
    A, y : as for :func:`qr`
    rtol : float or sequence of float
        Relative truncation threshold(s) in [0, 1]; one step per value, all from
        one SVD. 0 keeps every nonzero singular value.
    prior, validation, on_step : as for :func:`qr`

    Returns
    -------
    Path
        ``solver="tsvd"``; ``step.lam`` is NaN; ``step.info`` has ``rtol`` and
        ``rank`` (number of singular values kept).
    """
    rtols = _values(rtol, "rtol")
    if np.any(rtols > 1):
        raise ValueError(f"rtol must be in [0, 1], got {rtols.max()!r}")
    setup = prepare(A, y, solver="tsvd", params={"rtol": _param(rtols)}, prior=prior,
                    validation=validation, on_step=on_step)
    P = compact(setup.scaled)
    zero = zero_columns(P)
    for r, (d, rank) in zip(rtols, _truncated_svd_fits(P, rtols)):
        _finish(setup, d, lam=float("nan"), info={"rtol": float(r), "rank": rank}, zero=zero)
    return setup.path


def _truncated_svd_fits(P, rtols):
    """The minimum-norm least-squares fits of the problem ``P`` on the singular directions
    with sigma_i > rtol * sigma_1, one ``(d, rank)`` per value of ``rtols``, from one SVD."""
    U, s, Vt = scipy.linalg.svd(P.A, full_matrices=False, lapack_driver="gesdd")
    uty = U.T @ P.y
    s1 = s[0] if s.size else 0.0
    for r in rtols:
        keep = s > max(r * s1, 0.0)
        yield Vt[keep].T @ (uty[keep] / s[keep]), int(keep.sum())


def rrqr(A, y=None, *, rtol: float | Sequence[float] | None = None,
         lam: float | Sequence[float] | None = None, sketch: str | None = "auto",
         sketch_size: int | None = None, seed: int | None = 0, prior=None, validation=None,
         on_step=None) -> Path:
    """Rank-revealing (column-pivoted) QR least squares, optionally on a sketch.

    Columns are taken in pivot order while |R_kk| >= rtol * |R_00| (or, with
    ``lam``, while |R_kk| >= sqrt(lam)); the coefficients are the least-squares fit
    on those columns and zero elsewhere.

    Parameters
    ----------
    A, y : as for :func:`qr`
    rtol : float or sequence of float, optional
        Relative threshold(s) in [0, 1]. Default 1e-6 when neither rtol nor lam is
        given. Exactly one of rtol and lam may be given.
    lam : float or sequence of float, optional
        Tikhonov-equivalent threshold(s) > 0: |R_kk| >= sqrt(lam) (see module notes).
    sketch : {"auto", "gaussian", "sparse", None}
        Random sketch used to choose pivots and rank. "auto" uses the sparse
        CountSketch for a dense problem with m >= 4 * sketch_size rows, and no
        sketch otherwise (never for a reduced problem, which is already n x n).
    sketch_size : int, optional
        Rows of the sketch; default 4 n (capped at m).
    seed : int or None
        Seed of the sketch.
    prior, validation, on_step : as for :func:`qr`

    Returns
    -------
    Path
        ``solver="rrqr"``; ``step.lam`` is lam (NaN with rtol); ``step.info`` has
        ``rtol`` (effective), ``rank`` and ``sketch``.
    """
    if rtol is not None and lam is not None:
        raise ValueError("give rtol or lam to rrqr, not both")
    if lam is not None:
        thresholds = _values(lam, "lam", positive=True)
    else:
        thresholds = _values(1e-6 if rtol is None else rtol, "rtol")
        if np.any(thresholds > 1):
            raise ValueError(f"rtol must be in [0, 1], got {thresholds.max()!r}")
    if sketch not in ("auto", "gaussian", "sparse", None):
        raise ValueError(f"sketch must be 'auto', 'gaussian', 'sparse' or None, got {sketch!r}")
    params = {"rtol" if lam is None else "lam": _param(thresholds), "sketch": str(sketch),
              "seed": seed if seed is None else int(seed)}
    setup = prepare(A, y, solver="rrqr", params=params, prior=prior, validation=validation,
                    on_step=on_step)
    P = setup.scaled
    m_rows, n = P.A.shape
    k_sketch = min(m_rows, 4 * n if sketch_size is None else int(sketch_size))
    if sketch_size is not None and k_sketch < n:
        raise ValueError(f"sketch_size must be >= the number of columns {n}, got {sketch_size}")
    kind = sketch
    if sketch == "auto":
        kind = "sparse" if (not P.reduced and m_rows >= 4 * k_sketch) else None
    elif sketch == "sparse" and not P.reduced and m_rows < 4 * k_sketch:
        # hashing m rows into about m buckets collides: the sketch loses rank silently
        raise ValueError(f"sketch='sparse' needs at least 4 rows per sketch row: {m_rows} "
                         f"rows for {k_sketch} sketch rows; use sketch='gaussian', None, "
                         f"or a sketch_size of at most {m_rows // 4}")
    if P.reduced:
        kind = None

    if kind is None:
        qty, R, piv = scipy.linalg.qr_multiply(P.A, P.y[None, :], mode="right", pivoting=True)
        qty = qty[0]
        diag = np.abs(np.diag(R))
    else:
        SA = _sketch(P.A, k_sketch, kind, seed)
        Rs, piv = scipy.linalg.qr(SA, mode="r", pivoting=True)
        diag = np.abs(np.diag(Rs))
        R = qty = None
    r00 = diag[0] if diag.size else 0.0
    for t in thresholds:
        cut = np.sqrt(t) if lam is not None else t * r00
        rank = _leading_count(diag, cut)
        sel = piv[:rank]
        if rank == 0:
            values = np.zeros(0)
        elif kind is None:
            values = scipy.linalg.solve_triangular(R[:rank, :rank], qty[:rank])
        else:
            qty_sel, Rsel = scipy.linalg.qr_multiply(P.A[:, sel], P.y[None, :], mode="right")
            values = scipy.linalg.solve_triangular(Rsel, qty_sel[0])
        d = np.zeros(n)
        d[sel] = values
        rtol_eff = cut / r00 if r00 > 0 else float("nan")
        info = {"rtol": float(rtol_eff), "rank": int(rank), "sketch": kind}
        _finish(setup, d, lam=float(t) if lam is not None else float("nan"), info=info)
    return setup.path


def _leading_count(diag: np.ndarray, cut: float) -> int:
    """Number of leading pivots with |R_kk| >= cut (and > 0)."""
    ok = (diag >= cut) & (diag > 0)
    return int(np.argmin(ok)) if not ok.all() else int(ok.size)


def _sketch(A: np.ndarray, k: int, kind: str, seed) -> np.ndarray:
    """S A for a k x m Gaussian or CountSketch S."""
    rng = np.random.default_rng(seed)
    m = A.shape[0]
    if kind == "gaussian":
        return rng.standard_normal((k, m)) @ A / np.sqrt(k)
    rows = rng.integers(0, k, size=m)
    signs = rng.choice([-1.0, 1.0], size=m)
    S = scipy.sparse.csr_matrix((signs, (rows, np.arange(m))), shape=(k, m))
    return np.asarray(S @ A)


def _param(values: np.ndarray):
    """A recorded parameter: a float, or a list of floats for a sweep."""
    return float(values[0]) if values.size == 1 else [float(v) for v in values]
