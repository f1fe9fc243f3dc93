"""ASP: the Friedlander-Saunders BPDual active-set method with its homotopy.

The lasso path of

    min_c  ||y - A c||^2 / 2 + lam ||c||_1                                (P)

is traced from lam_max = ||A'y||_inf down to a stopping value (Torabi et al.,
Appendices B and C). In BPDual's variables the dual point is y_d = r / lam
(r = y - A c the residual) and the constraints are -1 <= A'y_d <= 1; a column is
*active* when its constraint is binding, |a_j'y_d| = 1. On a fixed active set S
with signs s the optimality conditions (Torabi eq. 5-6) are

    S x_S + lam y_d = y,    S'y_d = s,

so x_S(lam) = G_SS^{-1}(A_S'y - lam s) is linear in lam with direction
dx = G_SS^{-1} s per unit decrease of lam. A step decreases lam by the largest
alpha that keeps (x, y_d) optimal with the same S: it ends at a *breakpoint*
where either an inactive constraint becomes binding (the column is added) or an
active coefficient reaches zero (the column is dropped). One constraint is added
or dropped per step, and the Cholesky factor of G_SS is updated, never
refactorised. All work is on the Gram matrix G = A'A and A'y, computed once
(for a reduced problem G = R'R), so a step costs one product with G[:, S].

Each breakpoint is one :class:`~acefit.solvers.path.Step`; its ``active`` are
the columns with non-zero coefficients at that lam (a column that becomes
binding at a breakpoint enters the support just after it). ``lam`` is in the
convention of (P): scikit-learn's ``alpha`` of ``lars_path`` is ``lam / m``.
"""

from __future__ import annotations

import numpy as np

from acefit.solvers._cholesky import ActiveCholesky
from acefit.solvers._common import check_count, check_nonnegative, prepare
from acefit.solvers.path import Path

__all__ = ["asp"]


_ROUNDING = 1e-12  # a step shorter than this fraction of the current lam is rounding
_RESOLVE = 0.5  # exact active correlations further than this fraction of lam from lam


class _Rows:
    """A stack of length-n rows with amortised O(n) append and a contiguous view."""

    def __init__(self, n: int, capacity: int = 64):
        self._buf = np.empty((capacity, n))
        self._k = 0

    @property
    def rows(self) -> np.ndarray:
        return self._buf[: self._k]

    def append(self, row: np.ndarray) -> None:
        if self._k == len(self._buf):
            grown = np.empty((2 * len(self._buf), self._buf.shape[1]))
            grown[: self._k] = self._buf[: self._k]
            self._buf = grown
        self._buf[self._k] = row
        self._k += 1

    def delete(self, p: int) -> None:
        self._buf[p: self._k - 1] = self._buf[p + 1: self._k].copy()
        self._k -= 1


def asp(A, y=None, *, max_active: int | None = None, min_lambda: float | None = None,
        tol: float = 0.0, prior=None, validation=None, on_step=None,
        max_steps: int | None = None, dependence_tol: float = 1e-10,
        refresh: int = 25) -> Path:
    """Lasso path by the BPDual homotopy (Friedlander and Saunders).

    Parameters
    ----------
    A : ndarray (m, n) or LeastSquaresProblem
        Design matrix, or a dense or reduced problem (a reduced problem's (R, Q'y)
        is used as (A, y); the path is the same).
    y : ndarray (m,), optional
        Targets, with an array ``A``.
    max_active : int, optional
        Stop at the first breakpoint with this many non-zero coefficients.
    min_lambda : float, optional
        Stop at this lam: the last step is the lasso solution at exactly ``min_lambda``.
    tol : float, default 0
        Stop once the residual norm is at most ``tol * ||y||``.
    prior : array (n,), optional
        Positive weights gamma: the penalty becomes lam * sum_k gamma_k |c_k|
        (solved on columns A[:, k] / gamma_k and mapped back).
    validation : (A_val, y_val), optional
        Each step then carries the RMS validation residual.
    on_step : callable, optional
        Called with each step as it is finished.
    max_steps : int, optional
        Safety cap on the number of breakpoints (default 8 * n + 100).
    dependence_tol : float, default 1e-10
        A column whose squared distance to the span of the active columns is at
        most this fraction of its squared norm never enters (duplicated or
        dependent columns: the lasso solution is then not unique and one
        representative is kept).
    refresh : int, default 25
        Recompute the correlations A'r exactly every ``refresh`` steps
        (they are updated incrementally in between).

    Returns
    -------
    Path
        Steps at lam_max (all zero), then at each breakpoint. ``info`` holds
        ``event`` ("start", "add", "drop", "min_lambda", "zero_lambda") and the
        ``index`` of the column added or dropped.

    Notes
    -----
    Degenerate input: zero columns never enter; of duplicated (or dependent)
    columns one representative enters (see ``dependence_tol``); y = 0 (or A'y = 0)
    gives a single zero step with lam = 0; NaN/inf or mismatched shapes raise
    ValueError naming the array. At most rank(A) columns are active: an
    underdetermined path ends at lam = 0 with min(m, n) active columns.

    Tolerances are relative, so the path may span any number of decades of lam
    (a prior scaling easily gives more than 12). A step shorter than 1e-12 of the
    current lam does not count as a crossing for the column just dropped, and a
    breakpoint within 1e-12 of the current lam from 0 is lam = 0 (event
    ``"zero_lambda"``). lam stays resolvable while the correlations do: on the
    active set |a_j'r| = lam, and every ``refresh`` steps, when A'r is recomputed
    exactly, the path stops (that step's ``info["stop"] = "unresolved_lambda"``)
    if some active |a_j'r| is more than lam / 2 away from lam, i.e. rounding in
    the Gram quantities (whose condition is cond(A_S)^2) has swamped lam.
    """
    max_active = check_count(max_active, "max_active")
    min_lambda = check_nonnegative(min_lambda, "min_lambda")
    tol = check_nonnegative(tol, "tol", allow_none=False)
    max_steps = check_count(max_steps, "max_steps")
    refresh = check_count(refresh, "refresh", allow_none=False)
    setup = prepare(A, y, solver="asp", prior=prior, validation=validation, on_step=on_step,
                    params=dict(max_active=max_active, min_lambda=min_lambda, tol=tol))
    G = setup.gram()
    b = setup.aty()
    yty = setup.yty
    n = len(b)
    max_steps = max_steps or 8 * n + 100

    eligible = np.diag(G) > 0  # zero columns never enter
    corr = b.copy()  # A'r, r = y - A x
    score = np.where(eligible, np.abs(corr), 0.0)
    lam = float(score.max()) if n else 0.0
    if lam == 0.0:
        setup.step([], [], lam=0.0, rss=yty, info={"event": "zero_lambda", "index": -1})
        return setup.path
    if min_lambda is not None and lam <= min_lambda:
        setup.step([], [], lam=lam, rss=yty, info={"event": "start", "index": -1})
        return setup.path
    setup.step([], [], lam=lam, rss=yty, info={"event": "start", "index": -1})

    chol = ActiveCholesky(dependence_tol)
    S: list[int] = []
    sgn = np.zeros(0)
    GS = _Rows(n)  # rows G[S_i, :], contiguous, grown by doubling
    in_S = np.zeros(n, dtype=bool)
    y_norm = np.sqrt(yty)
    # Every tolerance is relative to the current lam, never to lam_max: with a prior
    # scaling the path legitimately spans more than 12 decades of lam.
    rank_limit = min(n, setup.scaled.A.shape[0])  # no more than rank(A) columns can be active

    def add(j: int) -> bool:
        nonlocal sgn
        if not chol.append(GS.rows[:, j], G[j, j]):
            eligible[j] = False
            return False
        S.append(j)
        in_S[j] = True
        sgn = np.append(sgn, np.sign(corr[j]))
        GS.append(G[j])
        return True

    def drop(p: int) -> None:
        nonlocal sgn
        j = S.pop(p)
        in_S[j] = False
        chol.delete(p)
        sgn = np.delete(sgn, p)
        GS.delete(p)

    add(int(np.argmax(score)))
    just_added, just_dropped = S[-1] if S else -1, -1
    x = np.zeros(len(S))
    for it in range(max_steps):
        if not S:  # everything dropped: the most correlated column re-enters
            score = np.where(eligible, np.abs(corr), 0.0)
            if not score.any() or not add(int(np.argmax(score))):
                break
            x = np.zeros(1)
        dx = chol.solve(sgn)
        a = dx @ GS.rows  # G[:, S] dx: rate of change of corr per unit decrease of lam

        # Breakpoints where an inactive constraint becomes binding.
        cand = eligible & ~in_S
        alpha_add, j_add = np.inf, -1
        if len(S) < rank_limit and cand.any():
            idx = np.flatnonzero(cand)
            c, ai = corr[idx], a[idx]
            with np.errstate(divide="ignore", invalid="ignore"):
                t1 = np.where(1.0 - ai > 1e-12, (lam - c) / (1.0 - ai), np.inf)
                t2 = np.where(1.0 + ai > 1e-12, (lam + c) / (1.0 + ai), np.inf)
            if just_dropped >= 0:
                # it sits on the bound it left: only a later crossing counts, and a
                # step shorter than rounding of the current lam is no crossing
                q = np.flatnonzero(idx == just_dropped)
                short = _ROUNDING * lam
                t1[q] = np.where(t1[q] <= short, np.inf, t1[q])
                t2[q] = np.where(t2[q] <= short, np.inf, t2[q])
            t = np.minimum(t1, t2)
            t[t < 0] = 0.0
            k = int(np.argmin(t))
            alpha_add, j_add = float(t[k]), int(idx[k])

        # Breakpoints where an active coefficient reaches zero.
        alpha_drop, p_drop = np.inf, -1
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(x * dx < 0, -x / dx, np.inf)
        if just_added in S:
            cross[S.index(just_added)] = np.inf
        if len(cross) and np.isfinite(cross.min()):
            p_drop = int(np.argmin(cross))
            alpha_drop = float(cross[p_drop])

        alpha = min(alpha_add, alpha_drop, lam)
        event = "add" if alpha == alpha_add else "drop" if alpha == alpha_drop else "zero_lambda"
        if lam - alpha <= _ROUNDING * lam:  # a breakpoint within rounding of 0 is lam = 0
            event = "zero_lambda"
        if min_lambda is not None and lam - alpha <= min_lambda:
            alpha, event = lam - min_lambda, "min_lambda"

        if event == "zero_lambda":
            alpha = lam
        lam -= alpha
        # Move along the segment rather than re-solving G_SS x = A_S'y - lam s: on an
        # ill-conditioned active set a fresh solve puts rounding noise of either sign
        # into a coefficient that has just left zero, and the noise would decide a drop.
        x = x + alpha * dx
        unresolved = False
        if (it + 1) % refresh == 0:
            corr = b - x @ GS.rows
            # on the active set |a_j'r| = lam: if the exact correlations miss it by
            # half of lam, rounding (cond(G_SS) = cond(A_S)^2) has swamped lam
            miss = np.abs(np.abs(corr[S]) - lam).max(initial=0.0)
            unresolved = lam > 0 and miss > _RESOLVE * lam
        else:
            corr -= alpha * a

        index = -1
        just_added = just_dropped = -1
        if event == "drop":
            index = S[p_drop]
            x = np.delete(x, p_drop)
            drop(p_drop)
            just_dropped = index
        # rss = y'y - 2 x'b_S + x'G_SS x, with G_SS x = b_S - corr_S
        rss = max(float(yty - x @ b[S] - x @ corr[S]), 0.0)
        if event == "add":
            index = j_add
        info = {"event": event, "index": index}
        if unresolved:
            info["stop"] = "unresolved_lambda"
        setup.step(list(S), x, lam=lam, rss=rss, info=info)

        done = event in ("min_lambda", "zero_lambda") or unresolved
        done |= max_active is not None and len(S) >= max_active
        done |= tol > 0 and np.sqrt(rss) <= tol * y_norm
        if done:
            break
        if event == "add":
            corr[j_add] = np.sign(corr[j_add]) * lam  # on the bound by construction
            if add(j_add):
                x = np.append(x, 0.0)
                just_added = j_add
    return setup.path
