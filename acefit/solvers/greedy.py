"""OMP: orthogonal matching pursuit on an updated QR factorisation of the active columns.

Torabi et al., Appendix D. Starting from c = 0 and r = y, each step selects the
column most correlated with the residual, i = argmax_j |a_j'r| (columns are not
normalised: as in the paper and in scikit-learn's ``orthogonal_mp_gram``; a prior
Gamma rescales them), and refits least squares on the selected columns.

Numerics. The active columns are kept as A_S = Q_S R_S (thin Q_S, orthonormal
columns by Gram-Schmidt, re-orthogonalised once when the first pass cancels:
"twice is enough"; :class:`~acefit.solvers._qr.ActiveQR`, shared with ASP), and
the residual r = y - Q_S Q_S'y is kept explicitly and updated by one projection
per step. So the coefficients solve R_S x = Q_S'y, whose error grows with
cond(A_S), not with cond(A_S)^2 as a Cholesky factor of the Gram matrix G_SS
would; and the residual sum of squares is ||r||^2, never a cancelling
difference of Gram quantities, so it is non-increasing along the path. For a
reduced problem A is the square factor R and y is Q'y, and a tall dense problem
is first brought to that form when the Gram matrix gives it accurately
(:meth:`~acefit.solvers._common.Setup.square_form`); an ill-conditioned one is
used as it is (Q then has m rows), since its Householder reduction would cost
more than the path.
Selection needs A'r: it is updated with A'q_k = (G[:, j] - (A'Q_S) h) / nu,
from the Gram matrix G = A'A computed once; every ``refresh`` steps those
columns of A'Q_S are recomputed exactly, and A'r = A'y - (A'Q_S) Q_S'y with them.
"""

from __future__ import annotations

import numpy as np

from acefit.solvers._common import check_count, check_nonnegative, prepare, spanned_reach
from acefit.solvers._qr import ActiveQR
from acefit.solvers.path import Path

__all__ = ["omp"]


def omp(A, y=None, *, max_active: int | None = None, tol: float = 0.0, prior=None,
        validation=None, on_step=None, dependence_tol: float = 1e-10,
        refresh: int = 50) -> Path:
    """Orthogonal matching pursuit path.

    Parameters
    ----------
    A : ndarray (m, n) or LeastSquaresProblem
        Design matrix, or a dense or reduced problem.
    y : ndarray (m,), optional
        Targets, with an array ``A``.
    max_active : int, optional
        Number of columns to select (default: until no column can enter).
    tol : float, default 0
        Stop once the residual norm is at most ``tol * ||y||``.
    prior : array (n,), optional
        Positive gamma: selection and fit use columns A[:, k] / gamma_k (coefficients
        are mapped back, so the least-squares fits are unchanged; the prior only
        changes which column is picked).
    validation : (A_val, y_val), optional
        Validation rows weighted as the training rows are (``system.val.weighted()`` of
        an assembled system, see :mod:`acefit.solvers`); each step then carries their
        RMS residual.
    on_step : callable, optional
        Called with each step as it is finished.
    dependence_tol : float, default 1e-10
        A candidate whose squared distance to the span of the selected columns is
        at most this fraction of its squared norm (sin^2 of its angle to that span)
        is skipped for good: duplicates, zero columns, and columns too close to the
        span for their coefficient to be determined. The distance comes from the
        re-orthogonalised QR update, accurate to about machine precision times the
        column norm, so the test is meaningful down to ~1e-28; it is not a squared
        (Gram) quantity.
    refresh : int, default 50
        Every ``refresh`` steps recompute A'q exactly for the columns selected since
        the last time, and the correlations A'r with them (in between they are
        updated from the Gram matrix).

    Returns
    -------
    Path
        Step k has k selected columns and their least-squares coefficients; ``lam``
        is NaN (OMP has no regularisation parameter) and ``info`` holds the
        ``index`` of the selected column and the correlation ``corr`` = |a_i'r| at
        which it was selected. Step 0 is the zero model. A path that ends short of
        ``max_active`` because no column can enter (each one left is, to
        ``dependence_tol``, in the span of the selected ones, or orthogonal to the
        residual to rounding, |a_j'r| <= 1e-13 ||a_j|| ||y|| as in
        :func:`acefit.solvers.asp`: the system's numerical rank, or an exact fit) has
        ``info["stop"] = "spanned"`` on its last step.

    Notes
    -----
    Degenerate input: zero columns never enter; of duplicated (or dependent)
    columns only the first selected enters, the others are skipped for good; y = 0
    (or A'y = 0) gives a single zero step; NaN/inf or mismatched shapes raise
    ValueError naming the array. The training residual sum of squares is
    non-increasing along the path (up to rounding of order eps * ||y||^2).
    """
    max_active = check_count(max_active, "max_active")
    tol = check_nonnegative(tol, "tol", allow_none=False)
    dependence_tol = check_nonnegative(dependence_tol, "dependence_tol", allow_none=False)
    refresh = check_count(refresh, "refresh", allow_none=False)
    setup = prepare(A, y, solver="omp", prior=prior, validation=validation, on_step=on_step,
                    params=dict(max_active=max_active, tol=tol))
    G = setup.gram()
    b = setup.aty()
    # a Householder reduction costs more than the passes over m-vectors it saves here
    A, y_sq, offset = setup.square_form(householder=False)
    n = len(b)
    limit = min(n, setup.m) if max_active is None else min(max_active, n)

    eligible = np.diag(G) > 0
    qr = ActiveQR(A, y_sq, G, dependence_tol=dependence_tol, refresh=refresh,
                  capacity=min(limit, 64))
    corr = b.copy()
    rss = setup.yty
    # each step is handed on once the next column has entered, or the path has ended:
    # the last one then says why it ended short of max_active
    pending = dict(active=[], values=[], rss=rss, info={"event": "start", "index": -1})
    y_norm = np.sqrt(rss)
    # |a_j'r| up to this is rounding: after an exact fit the path went on choosing by it
    reach = spanned_reach(G, y_norm)
    stop = None
    while len(qr) < limit:
        if tol > 0 and np.sqrt(rss) <= tol * y_norm:
            break
        magnitude = np.abs(corr)
        if not np.any(magnitude[eligible] > reach[eligible]):
            stop = "spanned"   # the residual is orthogonal to every column that could enter
            break
        score = np.where(eligible, magnitude, -1.0)
        j = int(np.argmax(score))
        eligible[j] = False
        if not qr.append(j):
            continue
        if qr.exact_products:  # P was just recomputed exactly: so is A'r
            corr = b - qr.P.cols @ qr.z
        else:
            corr -= qr.z[-1] * qr.P.cols[:, -1]
        rss = float(qr.r @ qr.r) + offset
        setup.step(lam=float("nan"), **pending)
        pending = dict(active=list(qr.active), values=qr.coef, rss=rss,
                       info={"event": "add", "index": j, "corr": float(score[j])})
    if stop and max_active is not None:    # short of what was asked
        pending["info"]["stop"] = stop
    setup.step(lam=float("nan"), **pending)
    return setup.path
