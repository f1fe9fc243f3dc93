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
or dropped per step.

Numerics. As BPDual does, the active columns are kept as A_S = Q R, updated by
one Gram-Schmidt column (add) or Givens rotations (drop), never refactorised
(:class:`~acefit.solvers._qr.ActiveQR`). With z = Q'y and w = R^{-T} s, the
solution on S is x = R^{-1}(z - lam w), its residual is r = (y - Qz) + lam Q w,
and every correlation is A'r = A'y - P(z - lam w) with P = A'Q kept alongside.
A tall dense problem is first brought to square form (R, Q'y) (see
:meth:`~acefit.solvers._common.Setup.square_form`), so Q has n rows, not m.
Between exact recomputations (two passes over P, n x |S|, every 8 steps) a step
moves A'r along its segment and updates P w in O(n) per add or drop, and lam is
resolved to about
eps cond(A_S), where a Cholesky factor of the Gram matrix G_SS (the previous
implementation) resolved it only to eps cond(A_S)^2: on the real Zuo Si design
that left the path inexact past ~200 active functions and stopped it at 889.

A column that must enter but lies numerically in span(A_S) (sin^2 of its angle
to the span at most ``dependence_tol``) is *swapped* in: at the same lam the fit
is kept and an active column whose coefficient reaches zero along the null
direction leaves (event ``"swap"``). Refusing it for good, as a Cholesky update
must, let its correlation later exceed lam.

Each breakpoint is one :class:`~acefit.solvers.path.Step`; its ``active`` are
the columns with non-zero coefficients at that lam (a column that becomes
binding at a breakpoint enters the support just after it). ``lam`` is in the
convention of (P): scikit-learn's ``alpha`` of ``lars_path`` is ``lam / m``.
"""

from __future__ import annotations

import numpy as np

from acefit.solvers._common import check_count, check_nonnegative, prepare, spanned_reach
from acefit.solvers._qr import ActiveQR
from acefit.solvers.path import Path

__all__ = ["asp"]


_ROUNDING = 1e-12  # a breakpoint this close (relative to lam) to lam = 0 is lam = 0
_RESOLVE = 0.5  # active correlations further than this fraction of lam from lam
_EXACT_EVERY = 8  # steps between exact recomputations of the correlations A'r


class _ActiveSet:
    """The homotopy's state between breakpoints: the active set and the point on its segment.

    ``qr`` factors A_S = Q R (its ``active`` is S, in the order of the factorisation),
    ``sgn`` are the signs s of the binding constraints, ``w = R^{-T} s`` and ``a = P w``
    (P = A'Q) the rate of change of the correlations per unit decrease of lam; ``lam``,
    ``corr = A'r`` and ``x`` (the coefficients on S) are the current point, ``eligible``
    the columns that may still enter (zero columns never do, nor a dependent column
    that found nothing to swap with).

    w and a follow every change of S: an append extends w by one entry (R' is lower
    triangular) and a by one column of P times it; a delete rotates w with Q and takes
    off the part along the direction that left. Both cost O(n), not a pass over P; a is
    recomputed exactly every few steps (:meth:`recompute_correlations`).
    """

    def __init__(self, qr: ActiveQR, corr: np.ndarray, lam: float, eligible: np.ndarray):
        n = len(corr)
        self.qr = qr
        self.sgn = np.zeros(0)
        self.in_S = np.zeros(n, dtype=bool)
        self.w = np.zeros(0)
        self.a = np.zeros(n)
        self.corr = corr
        self.lam = lam
        self.x = np.zeros(0)
        self.eligible = eligible

    @property
    def S(self) -> list[int]:
        return self.qr.active

    def add(self, j: int, sign: float) -> bool:
        """Append column j with sign ``sign``; False (nothing changes) if it is dependent."""
        qr = self.qr
        if not qr.append(j):
            return False
        self.in_S[j] = True
        self.sgn = np.append(self.sgn, sign)
        self.w = qr.solve(self.sgn, trans=True)
        if qr.exact_products:  # P was just recomputed: a from the new P
            self.a[:] = qr.P.cols @ self.w
        else:
            self.a += qr.P.cols[:, -1] * self.w[-1]
        return True

    def drop(self, p: int) -> None:
        """Remove the p-th active column."""
        self.in_S[self.S[p]] = False
        column, (along,) = self.qr.delete(p, carry=(self.w,))
        self.a -= column * along
        self.sgn = np.delete(self.sgn, p)
        self.w = self.qr.solve(self.sgn, trans=True)
        if not self.S:
            self.a[:] = 0.0

    def leave(self, p: int, left: dict) -> int:
        """Drop the p-th active column at a breakpoint, noting in ``left`` the bound it
        left; returns the column. x becomes the solution on the smaller set, not x
        without entry p: on an ill-conditioned set x_p is far from zero at the computed
        breakpoint, and the rest with it."""
        j = self.S[p]
        left[j] = self.sgn[p]
        self.drop(p)
        self.x = self.solution()
        return j

    def swap_in(self, j: int, sign: float):
        """Enter column j that lies numerically in span(A_S), at the same lam.

        With a_j sign = A_S v, moving x -> x - t v, x_j = t sign keeps the fit, and
        the l1 norm too (on the bound, 1 = s'v): the first coefficient to reach
        zero leaves instead, a simplex-like ratio test. Returns (x, the column
        that left, its sign), or None when none can leave.
        """
        x = self.x
        v = sign * self.qr.coordinates(j)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(x * v > 0, x / v, np.inf)
        if not len(t) or not np.isfinite(t.min()):
            return None
        p = int(np.argmin(t))
        moved = x - t[p] * v
        out, out_sign = self.S[p], self.sgn[p]
        self.drop(p)
        if self.add(j, sign):
            return np.append(np.delete(moved, p), t[p] * sign), out, out_sign
        self.add(out, out_sign)  # j is dependent on the rest too: undo (out moves to the end)
        return None

    def enter(self, j: int, sign: float):
        """Add j at a breakpoint: (x, column that left or -1, its sign), or None."""
        if self.add(j, sign):
            return np.append(self.x, 0.0), -1, 0.0
        return self.swap_in(j, sign) if self.S else None

    def enter_most_correlated(self) -> int:
        """Start a segment from the empty set: the most correlated eligible column enters
        (x = 0 on it). Its index, or -1 when none can."""
        score = np.where(self.eligible, np.abs(self.corr), 0.0)
        j = int(np.argmax(score))
        if not score[j] > 0.0 or not self.add(j, np.sign(self.corr[j])):
            return -1
        self.x = np.zeros(1)
        return j

    def recompute_correlations(self, b: np.ndarray) -> float:
        """a and corr = A'r = b - P(z - lam w) recomputed exactly from P; returns the miss
        max |(|a_j'r| - lam)| / lam over S, which measures how well lam is resolved."""
        P = self.qr.P.cols
        self.a = P @ self.w
        self.corr = b - P @ (self.qr.z - self.lam * self.w)
        return np.abs(np.abs(self.corr[self.S]) - self.lam).max(initial=0.0) / self.lam

    def solution(self) -> np.ndarray:
        """The coefficients on S at the current lam, x = R^{-1}(z - lam w)."""
        return self.qr.solve(self.qr.z - self.lam * self.w)

    def rss(self, offset: float) -> float:
        """||r||^2 = ||y - Qz||^2 + lam^2 ||w||^2 (the two parts are orthogonal), plus
        ``offset``."""
        qr, lam, w = self.qr, self.lam, self.w
        return float(qr.r @ qr.r + lam * lam * (w @ w)) + offset

    def move(self, alpha: float) -> None:
        """Decrease lam by alpha along the segment (corr is continuous at breakpoints)."""
        self.lam -= alpha
        self.corr -= alpha * self.a
        self.x = self.solution()

    def candidates(self, rank_limit: int, reach: np.ndarray) -> np.ndarray:
        """The eligible inactive columns, which may bind on this segment; none once S has
        ``rank_limit`` columns, or once S spans every eligible column: each
        corr - lam a = A'r_S is then within ``reach`` (rounding, as with duplicates: the
        numerical rank is reached) and an add there would be a breakpoint made of it."""
        cand = self.eligible & ~self.in_S
        if len(self.S) >= rank_limit or not cand.any():
            return np.zeros(0, dtype=np.intp)
        e = self.eligible
        if np.all(np.abs(self.corr - self.lam * self.a)[e] <= reach[e]):
            return np.zeros(0, dtype=np.intp)
        return np.flatnonzero(cand)

    def position(self, j: int) -> int:
        """Position of column j in S, or -1 (j = -1 or not active)."""
        return self.S.index(j) if j >= 0 and self.in_S[j] else -1


def _step_to_binding(corr: np.ndarray, a: np.ndarray, lam: float, idx: np.ndarray,
                     left: dict) -> tuple[float, int]:
    """alpha^z: the decrease of lam at which the first inactive constraint of the columns
    ``idx`` binds, |a_j'r| = lam, and that column.

    Along the segment a_j'r = c_j - alpha a_j and the bound is lam - alpha. A column of
    ``left`` (column -> sign of the bound it left at this lam) sits on that bound and,
    c being linear in alpha, cannot meet it again on the next segment: only the
    opposite bound counts (its coefficient may change sign at once). All of them, not
    only the latest: at a tie of several dependent pairs, each re-entering by a swap as
    soon as another left cycled at one lam.
    """
    c, ai = corr[idx], a[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(1.0 - ai > 1e-12, (lam - c) / (1.0 - ai), np.inf)
        t2 = np.where(1.0 + ai > 1e-12, (lam + c) / (1.0 + ai), np.inf)
    for col, sign in left.items():
        q = idx == col
        if sign > 0:
            t1[q] = np.inf
        else:
            t2[q] = np.inf
    t = np.minimum(t1, t2)
    t[t < 0] = 0.0
    k = int(np.argmin(t))
    return float(t[k]), int(idx[k])


def _step_to_zero(x: np.ndarray, dx: np.ndarray, sgn: np.ndarray,
                  fresh: int) -> tuple[float, int]:
    """alpha^x: the decrease of lam at which the first active coefficient reaches zero,
    and its position in S ((inf, -1) when none does).

    A coefficient moving towards the wrong side of zero (sgn dx < 0) leaves there, or at
    once when it sits at or past zero. That is a column entered at a tie, whose
    coefficient is zero up to rounding; the sign of that rounding must not decide (a
    column entered at the same lam before it would otherwise leave at once and its
    correlation then run past lam unchecked: seen on the quickstart design). The
    column at position ``fresh`` (-1: none) was just added: it starts at zero, moving
    away from it.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.where(sgn * dx < 0, np.maximum(-x / dx, 0.0), np.inf)
    if fresh >= 0:
        cross[fresh] = np.inf
    if len(cross) and np.isfinite(cross.min()):
        p = int(np.argmin(cross))
        return float(cross[p]), p
    return np.inf, -1


def _breakpoint(alpha_add: float, alpha_drop: float, lam: float,
                min_lambda: float | None) -> tuple[float, str]:
    """The step alpha = min(alpha^z, alpha^x, lam), cut at ``min_lambda``, and its event:
    "add", "drop", "zero_lambda" (a breakpoint within rounding of lam = 0 is lam = 0)
    or "min_lambda"."""
    alpha = min(alpha_add, alpha_drop, lam)
    event = "add" if alpha == alpha_add else "drop" if alpha == alpha_drop else "zero_lambda"
    if lam - alpha <= _ROUNDING * lam:
        event = "zero_lambda"
    if min_lambda is not None and lam - alpha <= min_lambda:
        alpha, event = lam - min_lambda, "min_lambda"
    if event == "zero_lambda":
        alpha = lam
    return alpha, event


def _enter(h: _ActiveSet, j: int, left: dict, setup, rss: float) -> int:
    """Column j binds at the breakpoint just recorded: it enters S, by a swap where it is
    dependent (a step of its own, event "swap"; the column that left goes to ``left``),
    or is refused for good where nothing can trade places with it. Returns j where it
    entered at zero (the ratio test must not drop it at once), else -1."""
    entered = h.enter(j, np.sign(h.corr[j]))
    if entered is None:
        h.eligible[j] = False  # dependent, with nothing to trade
        # a failed swap may have reordered (or, if the column that left could not
        # return, shrunk) the active set: x from the factorisation, in its order
        h.x = h.solution()
        return -1
    h.x, out, out_sign = entered
    if out < 0:
        return j
    # a swap: the same fit on another support, at the same lam; the column swapped in
    # starts at a coefficient of its own, which the ratio test must watch
    left[out] = out_sign
    setup.step(list(h.S), h.x, lam=h.lam, rss=rss,
               info={"event": "swap", "index": j, "dropped": out})
    return -1


def _finished(event: str, stop: str | None, n_active: int, rss: float, *,
              max_active: int | None, tol: float, y_norm: float) -> bool:
    """Does the path end at this breakpoint: lam reached its end (``min_lambda`` or 0),
    rounding stopped it, or it reached ``max_active`` or the residual ``tol * ||y||``."""
    return (event in ("min_lambda", "zero_lambda") or stop is not None
            or (max_active is not None and n_active >= max_active)
            or (tol > 0 and bool(np.sqrt(rss) <= tol * y_norm)))


def _stop_reason(unresolved: bool, stalled: int, n: int) -> str | None:
    """Why the path must end where rounding, not a request, ends it (or None)."""
    if unresolved:
        return "unresolved_lambda"
    if stalled > n:
        return "stalled"
    return None


def asp(A, y=None, *, max_active: int | None = None, min_lambda: float | None = None,
        tol: float = 0.0, prior=None, validation=None, on_step=None,
        max_steps: int | None = None, dependence_tol: float = 1e-14,
        refresh: int = 32) -> Path:
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
        Validation rows weighted as the training rows are (``system.val.weighted()`` of
        an assembled system, see :mod:`acefit.solvers`); each step then carries their
        RMS residual.
    on_step : callable, optional
        Called with each step as it is finished.
    max_steps : int, optional
        Safety cap on the number of breakpoints (default 8 * n + 100).
    dependence_tol : float, default 1e-14
        A column whose squared distance to the span of the active columns is at
        most this fraction of its squared norm is dependent: it enters by a swap,
        never beside the columns it depends on. (The distance comes from the
        re-orthogonalised QR update and is meaningful far below 1e-14; on the Zuo
        Si design 1e-10 sent near-dependent pair functions into swaps that could
        not be made exactly, and their correlations then exceeded lam.)
    refresh : int, default 32
        The new column of P = A'Q is formed from the Gram matrix at each add, and
        recomputed exactly as A'q every ``refresh`` adds.

    Returns
    -------
    Path
        Steps at lam_max (all zero; the one step, at ``min_lambda``, when that is
        larger), then at each breakpoint. ``info`` holds
        ``event`` ("start", "add", "drop", "swap", "min_lambda", "zero_lambda") and
        the ``index`` of the column added, dropped or swapped in (a swap also
        names the column that ``dropped``).

    Notes
    -----
    Degenerate input: zero columns never enter; of duplicated (or dependent)
    columns one representative is active at a time; y = 0 (or A'y = 0) gives a
    single zero step with lam = 0; NaN/inf or mismatched shapes raise ValueError
    naming the array. At most rank(A) columns are active: an underdetermined path
    ends at lam = 0 with min(m, n) active columns, and so does a path whose active
    columns span every column (duplicated or dependent columns: the numerical rank
    reached, each |a_j'r| of the least-squares residual r on them at most 1e-13
    ||a_j|| ||y||), where no column can bind before lam = 0.

    Tolerances are relative, so the path may span any number of decades of lam
    (a prior scaling easily gives more than 12). A breakpoint within 1e-12 of the
    current lam from 0 is lam = 0 (event ``"zero_lambda"``). Ties, several
    columns binding at one lam: a column whose coefficient moves towards the wrong
    side of zero leaves when it reaches zero, or at once when it sits at zero (a
    column entered at the tie); a column that left at the current lam (dropped or
    swapped out) sits on the bound it left, and only its crossing of the opposite
    bound counts on the next segment. A drop step stores the solution on the
    smaller set (at an ill-conditioned breakpoint the leaving coefficient is not
    zero to rounding). lam stays resolvable while the correlations
    do: on the active set |a_j'r| = lam exactly, and their computed miss measures
    the rounding; the path stops (that step's ``info["stop"] =
    "unresolved_lambda"``) once some active |a_j'r| is more than lam / 2 away from
    lam, i.e. rounding has swamped lam. It also stops (``"stalled"``) after more
    than n consecutive breakpoints at one lam: ties that rounding decides could
    otherwise cycle for good. (Runs at one lam do occur on rank-deficient designs:
    the quickstart's full path, n = 676 under its prior, 2072 steps to 644 active
    columns, ends in one of 10 breakpoints at lam 1.7e-9, dependent columns dropping,
    entering and swapping.)
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
    A, y_sq, offset = setup.square_form()  # n-vectors, whatever m is
    n = len(b)
    max_steps = max_steps or 8 * n + 100

    eligible = np.diag(G) > 0  # zero columns never enter
    lam = float(np.where(eligible, np.abs(b), 0.0).max()) if n else 0.0
    if lam == 0.0:
        setup.step([], [], lam=0.0, rss=yty, info={"event": "zero_lambda", "index": -1})
        return setup.path
    if min_lambda is not None and lam <= min_lambda:  # zero is the solution at min_lambda
        setup.step([], [], lam=min_lambda, rss=yty, info={"event": "start", "index": -1})
        return setup.path
    setup.step([], [], lam=lam, rss=yty, info={"event": "start", "index": -1})

    qr = ActiveQR(A, y_sq, G, dependence_tol=dependence_tol, refresh=refresh,
                  capacity=min(max_active or 64, n))
    h = _ActiveSet(qr, b.copy(), lam, eligible)  # corr = A'r, r = y - A x
    S = h.S
    y_norm = np.sqrt(yty)
    # Every tolerance is relative to the current lam, never to lam_max: with a prior
    # scaling the path legitimately spans more than 12 decades of lam.
    rank_limit = min(n, setup.m)  # no more than rank(A) columns can be active
    reach = spanned_reach(G, y_norm)  # rounding of each a_j'r_S

    just_added = -1
    left = {}  # columns that left at the current lam -> the sign of the bound each left
    stalled = 0  # consecutive breakpoints at one lam
    for it in range(max_steps):
        if not S:  # at the start, or everything dropped
            just_added = h.enter_most_correlated()
            if just_added < 0:
                break
        # lam Q w is the part of the residual in span(A_S); corr moves by -alpha a per
        # step and is recomputed exactly, with a, every few steps
        dx = qr.solve(h.w)
        exact = it % _EXACT_EVERY == 0
        if exact:
            miss = h.recompute_correlations(b)

        # the breakpoint: an inactive constraint binds (alpha^z) or an active
        # coefficient reaches zero (alpha^x), whichever comes first
        alpha_add, j_add = np.inf, -1
        candidates = h.candidates(rank_limit, reach)
        if candidates.size:
            alpha_add, j_add = _step_to_binding(h.corr, h.a, h.lam, candidates, left)
        alpha_drop, p_drop = _step_to_zero(h.x, dx, h.sgn, h.position(just_added))
        alpha, event = _breakpoint(alpha_add, alpha_drop, h.lam, min_lambda)
        h.move(alpha)
        # at a breakpoint the solution on S and on S after the add or drop coincide
        rss = h.rss(offset)
        unresolved = exact and h.lam > 0 and miss > _RESOLVE
        stalled = stalled + 1 if alpha == 0.0 else 0

        if alpha > 0:
            left.clear()
        index = j_add if event == "add" else -1
        if event == "drop":
            index = h.leave(p_drop, left)
            rss = h.rss(offset)
        stop = _stop_reason(unresolved, stalled, n)
        info = {"event": event, "index": index, **({"stop": stop} if stop else {})}
        setup.step(list(S), h.x, lam=h.lam, rss=rss, info=info)

        if _finished(event, stop, len(S), rss, max_active=max_active, tol=tol, y_norm=y_norm):
            break
        just_added = _enter(h, j_add, left, setup, rss) if event == "add" else -1
    return setup.path
