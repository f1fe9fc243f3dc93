"""OMP: orthogonal matching pursuit with an incrementally updated Cholesky factor.

Torabi et al., Appendix D. Starting from c = 0 and r = y, each step selects the
column most correlated with the residual, i = argmax_j |a_j'r| (columns are not
normalised: as in the paper and in scikit-learn's ``orthogonal_mp_gram``; a prior
Gamma rescales them), and refits least squares on the selected columns. The
work is on the Gram matrix G = A'A and A'y, computed once (G = R'R for a reduced
problem): selecting costs one product with G[:, S], refitting two triangular
solves with the Cholesky factor of G_SS, which grows by one column per step.
"""

from __future__ import annotations

import numpy as np

from acefit.solvers._cholesky import ActiveCholesky
from acefit.solvers._common import check_count, check_nonnegative, prepare
from acefit.solvers.path import Path

__all__ = ["omp"]


def omp(A, y=None, *, max_active: int | None = None, tol: float = 0.0, prior=None,
        validation=None, on_step=None, dependence_tol: float = 1e-10) -> Path:
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
        Each step then carries the RMS validation residual.
    on_step : callable, optional
        Called with each step as it is finished.
    dependence_tol : float, default 1e-10
        A column whose squared distance to the span of the selected ones is at most
        this fraction of its squared norm is skipped for good (duplicates, zero columns).

    Returns
    -------
    Path
        Step k has k selected columns and their least-squares coefficients; ``lam``
        is NaN (OMP has no regularisation parameter) and ``info`` holds the
        ``index`` of the selected column and the correlation ``corr`` = |a_i'r| at
        which it was selected. Step 0 is the zero model.

    Notes
    -----
    Degenerate input: zero columns never enter; of duplicated (or dependent)
    columns only the first selected enters, the others are skipped for good; y = 0
    (or A'y = 0) gives a single zero step; NaN/inf or mismatched shapes raise
    ValueError naming the array.
    """
    max_active = check_count(max_active, "max_active")
    tol = check_nonnegative(tol, "tol", allow_none=False)
    setup = prepare(A, y, solver="omp", prior=prior, validation=validation, on_step=on_step,
                    params=dict(max_active=max_active, tol=tol))
    G = setup.gram()
    b = setup.aty()
    yty = setup.yty
    n = len(b)
    limit = min(n, setup.scaled.A.shape[0]) if max_active is None else min(max_active, n)

    eligible = np.diag(G) > 0
    chol = ActiveCholesky(dependence_tol)
    S: list[int] = []
    GS = np.empty((limit, n))  # rows G[S_i, :]
    corr = b.copy()
    x = np.zeros(0)
    rss = yty
    setup.step([], [], lam=float("nan"), rss=rss, info={"event": "start", "index": -1})
    y_norm = np.sqrt(yty)
    while len(S) < limit:
        if tol > 0 and np.sqrt(rss) <= tol * y_norm:
            break
        score = np.where(eligible, np.abs(corr), -1.0)
        j = int(np.argmax(score))
        if score[j] <= 0.0:
            break  # the residual is orthogonal to every column that could enter
        k = len(S)
        if not chol.append(GS[:k, j], G[j, j]):
            eligible[j] = False
            continue
        S.append(j)
        eligible[j] = False
        GS[k] = G[j]
        x = chol.solve(b[S])
        corr = b - x @ GS[: k + 1]
        # rss = y'y - 2 x'b_S + x'G_SS x and G_SS x = b_S at the least-squares fit
        rss = max(yty - float(x @ b[S]), 0.0)
        setup.step(list(S), x, rss=rss,
                   info={"event": "add", "index": j, "corr": float(score[j])})
    return setup.path
