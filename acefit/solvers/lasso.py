"""LARS-LASSO (knots of the lasso path) and coordinate-descent lasso (a grid of lam).

Both wrap scikit-learn on the precomputed Gram matrix G = A'A and A'y (for a
reduced problem G = R'R), behind the common solver interface.

Scaling convention. Ours is

    min_c  ||y - A c||^2 / 2 + lam ||c||_1,

scikit-learn's is (1 / 2 n_samples) ||y - A c||^2 + alpha ||c||_1, so
lam = n_samples * alpha. We pass n_samples = the row count of the system we hand
over and convert back, so ``Step.lam`` is always in our convention (the same
lam as :func:`acefit.solvers.asp`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from acefit.solvers._common import (EntryOrder, check_count, check_nonnegative, prepare,
                                    rss_from_gram)
from acefit.solvers.path import Path

__all__ = ["lars_lasso", "cd_lasso", "lambda_max", "lambda_grid", "resolve_grid", "lasso_gap",
           "GridWalk", "exact_lasso", "enter_violator", "first_solution"]

# Lowest lam, as a fraction of lam_max, that an extended default grid goes to, and the
# factor in lam over which its active set must grow (or lam_ratio, if smaller).
FLOOR_RATIO = 1e-12
GROWTH_SPAN = 1e-3


def lambda_max(aty: np.ndarray) -> float:
    """Smallest lam with the zero solution: ||A'y||_inf (Flaschel, Appendix A)."""
    return float(np.abs(aty).max()) if aty.size else 0.0


def lambda_grid(lam_max: float, n_lams: int, lam_ratio: float, min_lambda: float | None = None):
    """Geometric grid from lam_max down to lam_max * lam_ratio, cut at min_lambda.

    A ``min_lambda`` above lam_max gives the one value ``min_lambda``, where the zero
    model is the solution: as :func:`acefit.solvers.asp`'s path, one all-zero step at
    ``min_lambda``, never an empty grid (an empty path is no model to select).
    """
    if min_lambda is not None and min_lambda > lam_max:
        return np.array([float(min_lambda)])
    grid = lam_max * np.geomspace(1.0, lam_ratio, n_lams)
    if min_lambda is not None:
        grid = grid[grid >= min_lambda]
        if min_lambda < lam_max and (grid.size == 0 or grid[-1] > min_lambda):
            grid = np.append(grid, min_lambda)
    return grid


def resolve_grid(lam_max: float, *, lam=None, lams=None, n_lams: int = 100,
                 lam_ratio: float = 1e-4, min_lambda: float | None = None) -> np.ndarray:
    """The decreasing lam values of a pathwise solver: one ``lam``, the given ``lams``,
    or the geometric grid below ``lam_max``."""
    if lam is not None:
        return np.array([check_nonnegative(lam, "lam", allow_none=False)])
    if lams is not None:
        grid = np.sort(np.asarray(lams, dtype=float).reshape(-1))[::-1]
        if grid.size == 0 or not np.all(np.isfinite(grid)) or grid[-1] < 0:
            raise ValueError("lams must be a non-empty sequence of finite numbers >= 0")
        return grid
    if lam_max <= 0:
        return np.array([0.0])
    return lambda_grid(lam_max, n_lams, lam_ratio, min_lambda)

class GridWalk:
    """The lam values of a pathwise grid solver (cd, ista), extended to reach ``max_active``.

    Start at :attr:`lam`; after each step call :meth:`next` with its active count. The
    grid is :func:`resolve_grid`'s. When it is the default grid and ``max_active`` is set
    but not reached at its end, it goes on geometrically with the same ratio per step
    until ``max_active`` is reached, or the largest active count has not grown while lam
    fell by a factor ``min(lam_ratio, GROWTH_SPAN)`` (three decades), or lam reaches
    ``min_lambda`` (default ``FLOOR_RATIO * lam_max``). A path that ends short of ``max_active`` says
    why in :attr:`stop` ("grid_end", "no_growth" or "lambda_floor"), set by the
    :meth:`next` that returns None, so the last step can carry it.
    """

    def __init__(self, lam_max: float, *, lam=None, lams=None, n_lams: int = 100,
                 lam_ratio: float = 1e-4, min_lambda: float | None = None,
                 max_active: int | None = None):
        self.grid = resolve_grid(lam_max, lam=lam, lams=lams, n_lams=n_lams,
                                 lam_ratio=lam_ratio, min_lambda=min_lambda)
        self.extend = lam is None and lams is None and max_active is not None and lam_max > 0
        self.floor = min_lambda if min_lambda is not None else FLOOR_RATIO * lam_max
        self.max_active = max_active
        self.factor = lam_ratio ** (1.0 / (n_lams - 1)) if n_lams > 1 else lam_ratio
        self.patience = int(np.ceil(np.log(min(lam_ratio, GROWTH_SPAN)) / np.log(self.factor)))
        self.lam = float(self.grid[0])
        self.stop = None
        self._k, self._best, self._since = 0, -1, 0

    def next(self, n_active: int, done: bool = False) -> float | None:
        """The lam after a step with ``n_active`` functions; None ends the path
        (``done``: the caller's own stopping rule was met)."""
        if n_active > self._best:
            self._best, self._since = n_active, 0
        else:
            self._since += 1
        reached = self.max_active is not None and n_active >= self.max_active
        self._k += 1
        if done or reached:
            return None
        if self._k < self.grid.size:
            self.lam = float(self.grid[self._k])
            return self.lam
        if self.max_active is None or self.lam <= 0:
            return None
        if not self.extend:
            self.stop = "grid_end"
        elif self.lam <= self.floor * (1 + 1e-12):
            self.stop = "lambda_floor"
        elif self._since >= self.patience:
            self.stop = "no_growth"
        else:
            self.lam = max(self.lam * self.factor, self.floor)
            return self.lam
        return None


# Iterations (CD sweeps, FISTA steps) a λ step runs before an unconverged one is solved
# exactly on an active set (exact_lasso), as a share of max_iter.
CHUNK_SHARE = 0.1


def enter_violator(grad: np.ndarray, signs: np.ndarray, lam: float) -> bool:
    """The entering move of a feature-sign search: the zero coefficient (``signs`` 0)
    whose ``grad`` (A_j'r, or A_j'psi(r)) exceeds ``lam`` most gets the sign of its
    ``grad`` in ``signs`` (in place); False where none exceeds it (the KKT conditions
    of the zero coefficients hold)."""
    violation = np.where(signs == 0, np.abs(grad), 0.0)
    j = int(np.argmax(violation))
    if violation[j] <= lam:
        return False
    signs[j] = np.sign(grad[j])
    return True


def exact_lasso(G: np.ndarray, aty: np.ndarray, x: np.ndarray, lam: float,
                max_moves: int | None = None) -> np.ndarray | None:
    """The lasso solution at ``lam`` by feature-sign search (Lee et al., NIPS 2007) from
    ``x``, or None when it fails: an active Gram matrix that Cholesky finds not positive
    definite (a nearly singular one is solved, and the KKT check decides), or more
    than ``max_moves`` solves (default 2 |support| + 20).

    Each move solves the KKT equations on the active set S with signs s,
    G_SS c = A_S'y - lam s, and goes from x towards c as far as the objective falls,
    dropping a coefficient whose sign changes on the way; once a solve keeps every sign,
    the zero coefficient that violates |A_j'r| <= lam most enters with the sign of A_j'r.
    It ends where none does: the KKT conditions hold, to the rounding of the solves.
    From a nearby solution (the previous λ's, a CD iterate) it takes a few moves of
    O(|S|^3). An iterative solver's stopping test may never be met where its tolerance
    is below that rounding: on the prior-scaled quickstart the exact homotopy (asp) has
    a duality gap above 1e-10 ||y||^2 (cd's default) at 471 of its 588 knots below
    1e-6 lam_max.
    """
    x = np.array(x, dtype=float)
    signs = np.sign(x)
    max_moves = 2 * int(np.count_nonzero(x)) + 20 if max_moves is None else max_moves
    optimal = not signs.any()    # the nonzero coefficients solve their KKT equations
    for _ in range(max_moves):
        if optimal:
            on = np.flatnonzero(x)
            if not enter_violator(aty - G[:, on] @ x[on], signs, lam):
                return x
        S = np.flatnonzero(signs)
        G_SS = G[np.ix_(S, S)]
        try:
            factor = scipy.linalg.cho_factor(G_SS, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        target = scipy.linalg.cho_solve(factor, aty[S] - lam * signs[S], check_finite=False)
        if not np.all(np.isfinite(target)):
            return None
        start, step = x[S], target - x[S]
        # the objective on the segment start + t step: a quadratic in t plus lam |.|_1
        g_start, g_step = G_SS @ start, G_SS @ step
        quad = (0.5 * start @ g_start - aty[S] @ start, step @ g_start - aty[S] @ step,
                0.5 * step @ g_step)
        with np.errstate(divide="ignore", invalid="ignore"):
            crossings = -start / step
        best = None
        for t in sorted(set(crossings[(crossings > 0) & (crossings < 1)].tolist()) | {1.0}):
            value = quad[0] + t * (quad[1] + t * quad[2]) + \
                lam * float(np.abs(start + t * step).sum())
            if best is None or value < best[0]:
                best = (value, t)
        t = best[1]
        x[S] = np.where(crossings == t, 0.0, start + t * step)  # a crossing lands on 0
        optimal = t == 1.0 and np.array_equal(np.sign(x[S]), signs[S])
        signs = np.sign(x)
    return None


def lasso_gap(G: np.ndarray, aty: np.ndarray, yty: float, coef: np.ndarray, lam: float) -> float:
    """Duality gap of min ||y - A c||^2 / 2 + lam ||c||_1 at ``coef``, from the Gram matrix.

    The dual point is the residual r scaled into the feasible set ||A'theta||_inf <= lam;
    the gap bounds the distance of the objective from its minimum.
    """
    grad = aty - G @ coef  # A'r
    rss = max(float(yty - 2 * coef @ aty + coef @ (G @ coef)), 0.0)
    yr = float(yty - coef @ aty)  # y'r
    top = float(np.abs(grad).max()) if grad.size else 0.0
    s = 1.0 if top <= lam else lam / top
    primal = 0.5 * rss + lam * float(np.abs(coef).sum())
    dual = 0.5 * yty - 0.5 * (yty - 2 * s * yr + s * s * rss)
    return max(primal - dual, 0.0)


def _critical(coefs: np.ndarray, lams: np.ndarray) -> np.ndarray:
    """Which knots are critical values (Flaschel, Problem 2).

    Knot k with support size c is critical when the support is larger than c for
    every smaller lam: at all later knots and on every open interval between knots
    (where the support is that of the mean of the two end points, the path being
    linear and sign-consistent there). Only the computed part of the path is
    considered; its last knot is marked critical only at lam = 0.
    """
    sizes = (coefs != 0).sum(axis=0)
    between = (((coefs[:, :-1] + coefs[:, 1:]) / 2) != 0).sum(axis=0)
    out = np.zeros(len(sizes), dtype=bool)
    later = np.inf  # min support size over everything below knot k
    for k in range(len(sizes) - 1, -1, -1):
        if k == len(sizes) - 1:
            out[k] = lams[k] == 0  # otherwise what lies below is not computed
            later = sizes[k]
        else:
            later = min(later, between[k])
            out[k] = later > sizes[k]
            later = min(later, sizes[k])
    return out


def _distinct_columns(G: np.ndarray, cos_tol: float = 1e-10) -> np.ndarray:
    """Indices of the non-zero columns that represent their parallel groups (from the
    Gram matrix): of parallel columns the longest (ties: the first), which the lasso
    prefers, as it gives the same fit for the smallest l1 norm."""
    d = np.sqrt(np.diag(G))
    nonzero = d > 0
    inv = np.where(nonzero, 1.0 / np.where(nonzero, d, 1.0), 0.0)
    parallel = np.abs(G * inv[:, None] * inv[None, :]) > 1.0 - cos_tol
    np.fill_diagonal(parallel, False)
    idx = np.arange(len(d))
    longer = (d[:, None] > d[None, :]) | ((d[:, None] == d[None, :]) & (idx[:, None] < idx[None, :]))
    beaten = (parallel & longer).any(axis=0)  # column j has a longer (or earlier) twin
    return np.flatnonzero(nonzero & ~beaten)


# A LARS knot is lam = 0 when lam is at most this fraction of ||y|| times the norm of
# a column that enters or leaves there, whose correlation it is: rounding. Measured:
# 2e-17..8e-14 where random problems are fitted exactly or reach their rank; the
# prior-scaled quickstart's knots 1.8e-10 and up.
_LARS_ZERO = 1e-12


# A coefficient that reaches zero at a knot is rounding there: measured at most 1.9e-16
# times its value at the knot before (76 such knots of scikit-learn's paths on the
# quickstart and 64 random problems), where the 686 coefficients that are zero only
# at the next knot keep at least 1.1e-3 of it.
_LEAVING = 1e-12


def _zero_knot(coefs: np.ndarray, lams: np.ndarray, scales: np.ndarray, reach: float):
    """The first knot past the start whose lam is zero to rounding, or None.

    lam at knot k is the correlation |a_j'r| of the column j that enters (or leaves)
    between knots k and k + 1. Once y lies in the span of the active columns (an exact
    fit, or the rank reached) that correlation is rounding, about eps ||a_j|| ||y||:
    the knot is zero when lam <= ``_LARS_ZERO * ||y|| * ||a_j||``. The scale is each
    column's own norm, not lam_max, since on columns of very different norms the path
    goes on far below eps lam_max. ``scales`` are ||a_j|| ||y||; a knot where the
    support does not change is not tested, and the last knot is compared with ``reach``.
    """
    order = np.argsort(-scales, kind="stable")  # longest first: the first change is the longest
    nz = (coefs != 0)[order]
    changes = nz[:, :-1] != nz[:, 1:]  # booleans, not a float copy of the path
    moving = np.where(changes.any(axis=0), scales[order][changes.argmax(axis=0)], 0.0)
    zero = np.flatnonzero(lams[1:] <= np.append(_LARS_ZERO * moving[1:], reach))
    return int(zero[0]) + 1 if zero.size else None


def _leaving(coefs: np.ndarray) -> np.ndarray:
    """Which coefficients of a scikit-learn LARS path leave the support at each knot.

    A column leaves at the knot where its coefficient reaches zero, x_k = x_{k-1} +
    gamma d with gamma = -x_{k-1} / d; scikit-learn stores that x_k as computed,
    rounding (1e-17..1e-20 on the quickstart) or 0, and leaves the column out from
    the next knot on. So a coefficient that is zero at knot k + 1 and at knot k at
    most ``_LEAVING`` times its value at k - 1 left at k, where it is zero in exact
    arithmetic. (Without the second test it may be one that leaves at k + 1, stored
    there as 0.) False at the first and last knots."""
    out = np.zeros(coefs.shape, dtype=bool)
    here, before = coefs[:, 1:-1], coefs[:, :-2]
    out[:, 1:-1] = ((here != 0) & (coefs[:, 2:] == 0)
                    & (np.abs(here) <= _LEAVING * np.abs(before)))
    return out


# The lasso optimality (KKT) conditions at a LARS knot, g = A'r: |g_j| <= lam off the
# support, g_j = lam sign(x_j) on it, each to within _KKT_LAM lam + _KKT_SCALE ||a_j|| ||y||.
# ||a_j|| ||y|| is the scale of the rounding of g_j (it bounds ||a_j|| ||A dx|| for an
# error dx of the coefficients); a tolerance relative to lam alone cannot tell rounding
# from a lost path: on the prior-scaled quickstart to 300 functions the correct knots
# miss by up to 1.2e-3 lam (at lam = 3e-9 lam_max; 5.5e-7 lam above 1e-6 lam_max) but
# at most 6.7e-10 ||a_j|| ||y||, on 64 random paths by at most 6.6e-12 ||a_j|| ||y||;
# on 300 degenerate designs (duplicated, scaled and dependent columns) and 400 with
# one column the mean of two others, the knots where scikit-learn's LARS lost the path
# miss by 3e-4 lam to 57 lam, at least 2.4e-5 ||a_j|| ||y||, the others by at most
# 5.5e-15 ||a_j|| ||y||.
_KKT_LAM = 1e-6
_KKT_SCALE = 1e-7


def _kkt_failure(G: np.ndarray, aty: np.ndarray, coefs: np.ndarray, lams: np.ndarray,
                 scales: np.ndarray) -> int | None:
    """The first knot whose coefficients (a column of ``coefs``) are not the lasso
    solution at its lam, or None: its correlations g = A'y - G x break the KKT
    conditions by more than ``_KKT_LAM`` lam + ``_KKT_SCALE`` ``scales``
    (||a_j|| ||y||). Knot 0, zero at lam_max, is the solution there."""
    grad = aty[:, None] - G @ coefs[:, 1:]
    signs = np.sign(coefs[:, 1:])
    lams = lams[1:]
    miss = np.where(signs != 0, np.abs(grad - lams * signs), np.abs(grad) - lams)
    failing = (miss > _KKT_LAM * lams + _KKT_SCALE * scales[:, None]).any(axis=0)
    return int(np.argmax(failing)) + 1 if failing.any() else None


def _alpha_scale(floor: float, rows: int) -> float:
    """The power of two to multiply A'y by, so that scikit-learn's floor on lam lies
    at most ``floor`` above ``min_lambda``.

    scikit-learn ends its path at alpha <= alpha_min + float32 eps, alpha = lam / rows:
    an absolute floor, lam <= 1.2e-7 rows (9e-9 lam_max on the prior-scaled
    quickstart: 213 active functions where the path goes on past 300). Every other
    step of its LARS is homogeneous in A'y, so A'y times 2^k gives the same knots and
    coefficients times 2^k, bit for bit, and the floor over 2^k.
    """
    eps32 = float(np.finfo(np.float32).eps)
    return float(2.0 ** np.clip(np.ceil(np.log2(rows * eps32 / floor)), -900, 900))


def first_solution(solve, starts):
    """The first ``solve(start)`` over ``starts`` that is not None (an exact solve from
    several warm starts: cd_lasso's and ista's steps), else None."""
    for start in starts:
        solution = solve(start)
        if solution is not None:
            return solution
    return None


def _cd_at(sweep, G, b, yty, x, lam, max_iter, tol, info, exact_first):
    """One λ step of cd_lasso from ``x``: (coefficients, sweeps, gap, converged).

    ``sweep(x, lam, k)`` runs up to k CD sweeps, which stop at scikit-learn's duality-gap
    test (``tol``, absolute). A step not converged within ``CHUNK_SHARE`` of ``max_iter``
    sweeps is solved by :func:`exact_lasso` from the previous λ's solution or from the CD
    iterate (``info["exact"]``), else swept on to ``max_iter``; with ``exact_first`` (a
    step before was solved so) the exact solve comes first. A step converged within
    those first sweeps is the single scikit-learn call it was before.
    """
    def exact(*starts):
        solution = first_solution(lambda start: exact_lasso(G, b, start, lam), starts)
        if solution is None:
            return None, None
        info["exact"] = True
        return solution, lasso_gap(G, b, yty, solution, lam)

    if exact_first:
        solution, gap = exact(x)
        if solution is not None:
            return solution, 0, gap, True
    chunk = max(1, int(CHUNK_SHARE * max_iter))
    first, n = sweep(x, lam, min(chunk, max_iter))
    gap = lasso_gap(G, b, yty, first, lam)
    if n < chunk or n == max_iter or gap <= tol:
        return first, n, gap, n < max_iter or gap <= tol
    solution, gap = exact(first) if exact_first else exact(x, first)    # x was tried
    if solution is not None:
        return solution, n, gap, True
    swept, more = sweep(first, lam, max_iter - n)
    return swept, n + more, lasso_gap(G, b, yty, swept, lam), more < max_iter - n


@dataclass
class _Knots:
    """The knots of a LARS path as kept: coefficients (n, K) and lams (K,) in our
    convention, and how the computed path ended: ``at_floor`` (it reached alpha_min, or
    came within scikit-learn's floor of it), ``zero`` (the knot set to lam = 0, or None),
    ``failed`` (the first knot that broke the KKT conditions, cut off, or None) and
    ``asked`` (the number of knots requested of scikit-learn)."""

    coefs: np.ndarray
    lams: np.ndarray
    at_floor: bool
    zero: int | None
    failed: int | None
    asked: int

    @property
    def finished(self) -> bool:
        """The path ended by itself, not for want of knots asked for."""
        return (len(self.lams) <= self.asked or self.at_floor or self.zero is not None
                or self.failed is not None)


def _sklearn_knots(Gk, bk, keep, n, rows, scale, alpha_min, max_iter):
    """scikit-learn's LARS-lasso knots on the kept columns, back in all n columns and in
    our convention: (coefs (n, K), lams, leaving (n, K+1), at_floor). One knot more is
    computed than kept: its support says which coefficients leave at the last knot kept
    (the knots before are the same, bit for bit)."""
    from sklearn.exceptions import ConvergenceWarning  # deferred: scikit-learn imports slowly
    from sklearn.linear_model import lars_path_gram

    with warnings.catch_warnings():  # the KKT test finds what its warnings name
        warnings.simplefilter("ignore", ConvergenceWarning)
        alphas, _, coefs_kept = lars_path_gram(
            bk * scale, Gk, n_samples=rows, max_iter=max_iter + 1, method="lasso",
            alpha_min=alpha_min)
    leaving = np.zeros((n, coefs_kept.shape[1]), dtype=bool)
    leaving[keep] = _leaving(coefs_kept)
    alphas, coefs_kept = alphas[: max_iter + 1], coefs_kept[:, : max_iter + 1]
    coefs = np.zeros((n, coefs_kept.shape[1]))
    coefs[keep] = coefs_kept
    coefs /= scale  # exact: a power of two
    lams = alphas * rows / scale
    # scikit-learn's own test: the path reached alpha_min (or came within its floor)
    at_floor = alphas[-1] <= alpha_min + np.finfo(np.float32).eps
    return coefs, lams, leaving, at_floor


def _trim_knots(coefs, lams, leaving, at_floor, G, b, scales, reach, asked) -> _Knots:
    """The computed knots up to the lam = 0 knot (what follows is rounding) and before
    the first that breaks the KKT conditions (scikit-learn lost the path there: what
    follows is no lasso path), leaving coefficients set to 0."""
    zero = _zero_knot(coefs, lams, scales, reach)
    if zero is not None:
        coefs, lams, at_floor = coefs[:, : zero + 1], lams[: zero + 1], False
    coefs[leaving[:, : coefs.shape[1]]] = 0.0
    # the zero knot is tested at the lam computed for it, whose rounding it is
    failed = _kkt_failure(G, b, coefs, lams, scales)
    if failed is not None:
        coefs, lams, zero, at_floor = coefs[:, :failed], lams[:failed], None, False
    if zero is not None:
        lams[zero] = 0.0
    return _Knots(coefs, lams, at_floor, zero, failed, asked)


def _lars_knots(G, b, y_norm, rows, *, min_lambda, max_active, max_iter) -> _Knots:
    """The lasso path's knots by scikit-learn's LARS, on the non-zero, non-parallel
    columns (its Gram route mishandles the others), with ``max_iter`` knots asked for,
    doubled while drops used them up short of ``max_active`` (up to 8 n)."""
    n = len(b)
    keep = _distinct_columns(G)
    Gk, bk = G[np.ix_(keep, keep)], b[keep]
    scales = np.sqrt(np.diag(G)) * y_norm  # ||a_j|| ||y||, the scale of a_j'r
    # scikit-learn's floor at the smallest knot zero (_zero_knot ends the path there)
    reach = _LARS_ZERO * scales[keep].min()
    scale = _alpha_scale(reach, rows)
    alpha_min = (min_lambda or 0.0) / rows * scale
    while True:
        knots = _trim_knots(*_sklearn_knots(Gk, bk, keep, n, rows, scale, alpha_min, max_iter),
                            G, b, scales, reach, max_iter)
        sizes = (knots.coefs != 0).sum(axis=0)
        if max_active is None or sizes.max() >= max_active or knots.finished \
                or max_iter >= 8 * n:
            return knots
        max_iter *= 2  # drops used up the knots: ask for more


def _knot_event(coefs: np.ndarray, lams: np.ndarray, k: int, before: np.ndarray,
                min_lambda: float | None) -> tuple[str, int]:
    """What happens at knot k, as in asp: (event, column) -- a column leaves ("drop"),
    or one enters just below ("add"), else "start", "zero_lambda", "min_lambda" or
    "end" (column -1). ``before`` is the support at knot k - 1."""
    if k == 0:
        return "start", -1
    nz = coefs[:, k] != 0
    dropped = np.flatnonzero(before & ~nz)
    if dropped.size:
        return "drop", int(dropped[0])
    entering = np.flatnonzero((coefs[:, k + 1] != 0) & ~nz) if k < coefs.shape[1] - 1 else []
    if len(entering):
        return "add", int(entering[0])
    if lams[k] == 0:
        return "zero_lambda", -1
    if min_lambda is not None and np.isclose(lams[k], min_lambda):
        return "min_lambda", -1
    return "end", -1


def _lars_stop(knots: _Knots, k: int) -> str | None:
    """Why the path ended at its last knot k, short of a requested end (or None)."""
    if knots.failed is not None:
        return "kkt_failed"
    lams = knots.lams
    if knots.at_floor or lams[k] == 0:
        return None
    # lam rising at the last knot is scikit-learn's test that rounding swamps lam
    return "unresolved_lambda" if k and lams[k] > lams[k - 1] else "degenerate"


def lars_lasso(A, y=None, *, max_active: int | None = None, min_lambda: float | None = None,
               tol: float = 0.0, prior=None, validation=None, on_step=None,
               max_iter: int | None = None) -> Path:
    """The lasso path at its knots by LARS with the lasso modification (Flaschel §3.2).

    ``info["event"]``/``info["index"]`` follow :func:`acefit.solvers.asp` ("add": the
    column entering just below this knot, "drop": the column leaving at it, whose
    coefficient is 0 there, not scikit-learn's rounding of it).

    Wraps :func:`sklearn.linear_model.lars_path_gram` (``method="lasso"``), on
    the non-zero columns with duplicates (parallel columns) removed: those never
    enter. Each knot, where a column enters or leaves the support, is one step; its
    ``lam`` is the knot value in our convention, ``info["critical"]`` marks the
    critical values of Flaschel's Problem 2 (the smallest lam at which the support
    has that size: below it the support is always larger). Every knot is checked
    against the lasso optimality (KKT) conditions, and the path ends before the
    first that fails them: scikit-learn's LARS can lose the path, silently, where a
    column is an exact combination of others (misses of 3e-4 lam to 57 lam measured
    on such designs); :func:`acefit.solvers.asp` solves the same path exactly.

    Parameters
    ----------
    A, y
        Dense (A, y) or a LeastSquaresProblem (dense or reduced).
    max_active : int, optional
        Stop at the first knot with this many non-zero coefficients.
    min_lambda : float, optional
        Stop at this lam (the last step is the solution at exactly ``min_lambda``).
    tol : float, default 0
        Stop at the first knot with residual norm at most ``tol * ||y||``.
    prior, validation, on_step
        As for every solver (see :func:`acefit.solvers.asp`). Steps are streamed to
        ``on_step`` after scikit-learn has computed the path.
    max_iter : int, optional
        Number of knots to compute; default ``max_active`` plus room for drops,
        or the number of columns.

    Returns
    -------
    Path
        Step 0 is the zero model at lam_max.

    Notes
    -----
    Degenerate input: zero columns never enter, nor do parallel columns but the
    longest of each group; y = 0 (or A'y = 0) gives a single zero step with lam = 0;
    NaN/inf or mismatched shapes raise ValueError naming the array.

    The path ends at lam = 0 (event ``"zero_lambda"``) at the first knot whose lam
    is at most 1e-12 ||y|| times the norm of the column entering or leaving there,
    whose correlation lam is: rounding (y in the span of the active columns), not at
    scikit-learn's absolute floor (lam = 1.2e-7 times the row count, which stopped
    the prior-scaled quickstart at 9e-9 lam_max with 213 active functions); the path
    is the same for y and for y times any scale. A path that ends short of that
    says why on its last step: ``info["stop"] = "kkt_failed"`` where the knot after
    it breaks the lasso optimality conditions (|a_j'r| <= lam off the support,
    a_j'r = lam sign(c_j) on it, to ``_KKT_LAM`` lam + ``_KKT_SCALE`` ||a_j|| ||y||:
    scikit-learn lost the path there, with or without its warning that it set a
    column aside as degenerate, a Cholesky pivot below 1e-7);
    ``"unresolved_lambda"`` where scikit-learn ended the path because lam rose at
    its last knot (its correlations, updated in place, no longer resolve lam: its
    "early stopping"); ``"degenerate"`` where it ended the path above lam = 0 for
    no reason it gives (met on no problem tried). A path that reaches
    ``max_active``, ``tol`` or ``min_lambda`` has none.
    """
    max_active = check_count(max_active, "max_active")
    min_lambda = check_nonnegative(min_lambda, "min_lambda")
    tol = check_nonnegative(tol, "tol", allow_none=False)
    max_iter = check_count(max_iter, "max_iter")
    setup = prepare(A, y, solver="lars_lasso", prior=prior, validation=validation,
                    on_step=on_step, params=dict(max_active=max_active,
                                                 min_lambda=min_lambda, tol=tol))
    G, b, yty = setup.gram(), setup.aty(), setup.yty
    n = len(b)
    if lambda_max(b) == 0.0:
        setup.step([], [], lam=0.0, rss=yty, info={"event": "zero_lambda", "index": -1})
        return setup.path
    if max_iter is None:
        max_iter = 8 * n + 100 if max_active is None else int(1.2 * max_active) + 10
    y_norm = np.sqrt(yty)
    knots = _lars_knots(G, b, y_norm, setup.scaled.A.shape[0], min_lambda=min_lambda,
                        max_active=max_active, max_iter=max_iter)
    coefs, lams = knots.coefs, knots.lams
    critical = _critical(coefs, lams)
    entry = EntryOrder(n)
    last = len(lams) - 1
    before = np.zeros(n, dtype=bool)
    for k in range(len(lams)):
        x = coefs[:, k]
        active = entry.support(x)
        xs = x[active]
        rss = rss_from_gram(yty, b[active], xs, G[np.ix_(active, active)] @ xs)
        event, index = _knot_event(coefs, lams, k, before, min_lambda)
        # a requested end: size, residual, min_lambda
        done = ((max_active is not None and len(active) >= max_active)
                or (tol > 0 and np.sqrt(rss) <= tol * y_norm)
                or (min_lambda is not None and lams[k] <= min_lambda * (1 + 1e-12)))
        info = {"event": event, "index": index, "critical": bool(critical[k])}
        if k == last and not done and len(lams) <= knots.asked \
                and (stop := _lars_stop(knots, k)):
            # scikit-learn ended the path by itself, saying so at most by a warning
            info["stop"] = stop
        setup.step(active, xs, lam=float(lams[k]), rss=rss, info=info)
        before = x != 0
        if done or k == last:
            break
    return setup.path


def cd_lasso(A, y=None, *, lam: float | None = None, lams=None, n_lams: int = 100,
             lam_ratio: float = 1e-3, max_active: int | None = None,
             min_lambda: float | None = None, tol: float = 0.0, cd_tol: float = 1e-10,
             max_iter: int = 10000, prior=None, validation=None, on_step=None) -> Path:
    """Coordinate-descent lasso at one lam, or pathwise with warm starts (Flaschel §3.1).

    Wraps :func:`sklearn.linear_model.enet_path` (``l1_ratio=1``) on the
    precomputed Gram matrix, one lam at a time so each step is streamed as it
    finishes and the path can stop early.

    Parameters
    ----------
    A, y
        Dense (A, y) or a LeastSquaresProblem (dense or reduced).
    lam : float, optional
        Solve at this single lam (a one-step path).
    lams : array, optional
        Solve at these lam values (sorted decreasing), warm-starting each from the last.
    n_lams, lam_ratio : int, float
        Otherwise a geometric grid of ``n_lams`` values from lam_max = ||A'y||_inf
        down to ``lam_ratio * lam_max`` (cut at ``min_lambda``), extended below it
        to reach ``max_active`` (:class:`GridWalk`).
    max_active : int, optional
        Stop at the first grid point with at least this many non-zero coefficients.
    min_lambda : float, optional
        Lower end of the default grid and of its extension; above lam_max, the path is
        one all-zero step at ``min_lambda`` (as :func:`acefit.solvers.asp`'s).
    tol : float, default 0
        Stop once the residual norm is at most ``tol * ||y||``.
    cd_tol, max_iter : float, int
        scikit-learn's duality-gap tolerance and sweep limit. The tolerance is relative
        to the squared norm of the right-hand side scikit-learn is given: ||y||^2 of a
        dense problem, ||Q'y||^2 of a reduced one (at most ||y||^2: smaller by the part
        of y outside the range of A).
    prior, validation, on_step
        As for every solver.

    Returns
    -------
    Path
        One step per lam; ``info["n_iter"]`` is the number of CD sweeps and
        ``info["gap"]`` the duality gap of the result (:func:`lasso_gap`, our convention),
        ``info["converged"]`` False where the sweeps reached ``max_iter`` before the gap
        reached ``cd_tol``. ``info["exact"]``: the step was solved on an active set
        (:func:`exact_lasso`): a step not converged within ``CHUNK_SHARE`` of
        ``max_iter`` sweeps is, and once one was, the steps after it try that first
        (CD after it where it fails). Its gap may exceed ``cd_tol`` where that is below
        the rounding of the problem (as for :func:`acefit.solvers.asp`); it counts as
        converged. A path that ends short of ``max_active`` has ``info["stop"]`` on its
        last step (:class:`GridWalk`).

    Notes
    -----
    Degenerate input: zero columns stay at zero; with duplicated columns the lasso
    solution is not unique and CD may split the weight between the copies (their
    sum, the fit and the objective are unique); y = 0 gives a single zero step with
    lam = 0 (unless ``lam``/``lams`` are given); NaN/inf raise ValueError.
    """
    from sklearn.exceptions import ConvergenceWarning  # deferred: scikit-learn imports slowly
    from sklearn.linear_model import enet_path

    max_active = check_count(max_active, "max_active")
    min_lambda = check_nonnegative(min_lambda, "min_lambda")
    tol = check_nonnegative(tol, "tol", allow_none=False)
    check_count(n_lams, "n_lams", allow_none=False)
    check_count(max_iter, "max_iter", allow_none=False)
    check_nonnegative(cd_tol, "cd_tol", allow_none=False, positive=True)
    if not 0 < lam_ratio < 1:
        raise ValueError(f"lam_ratio must be in (0, 1), got {lam_ratio!r}")
    setup = prepare(A, y, solver="cd_lasso", prior=prior, validation=validation,
                    on_step=on_step, params=dict(max_active=max_active, tol=tol))
    G, b, yty = setup.gram(), setup.aty(), setup.yty
    lmax = lambda_max(b)
    walk = GridWalk(lmax, lam=lam, lams=lams, n_lams=n_lams, lam_ratio=lam_ratio,
                    min_lambda=min_lambda, max_active=max_active)

    X = setup.scaled.A  # only its shape is used on the Gram route
    yv = np.ascontiguousarray(setup.scaled.y)
    rows = X.shape[0]
    Gc = np.ascontiguousarray(G)
    coef = np.zeros(len(b))
    y_norm = np.sqrt(yty)
    entry = EntryOrder(len(b))
    lam_k = walk.lam
    Xy = np.ascontiguousarray(b)
    exact_first = False

    def sweep(x0, lam, sweeps):
        """scikit-learn's CD from ``x0``: (coefficients, sweeps run)."""
        with warnings.catch_warnings():  # an unconverged step says so in its info
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, coefs, _, iters = enet_path(
                X, yv, l1_ratio=1.0, alphas=[lam / rows], precompute=Gc, Xy=Xy,
                coef_init=x0, check_input=False, return_n_iter=True, tol=cd_tol,
                max_iter=sweeps)
        return coefs[:, 0].copy(), int(iters[0])

    while lam_k is not None:
        info = {}
        if lam_k >= lmax:
            coef[:] = 0.0
            n_iter, gap, converged = 0, 0.0, True  # zero is optimal
        else:
            coef, n_iter, gap, converged = _cd_at(sweep, G, b, yty, coef, float(lam_k),
                                                  max_iter, cd_tol * float(yv @ yv), info,
                                                  exact_first)
            exact_first = exact_first or info.get("exact", False)
        active = entry.support(coef)
        xs = coef[active]
        rss = rss_from_gram(yty, b[active], xs, G[np.ix_(active, active)] @ xs)
        info = {"n_iter": n_iter, "gap": gap, "converged": converged, **info}
        lam_now, lam_k = lam_k, walk.next(len(active), tol > 0 and np.sqrt(rss) <= tol * y_norm)
        if walk.stop:
            info["stop"] = walk.stop
        setup.step(active, xs, lam=float(lam_now), rss=rss, info=info)
    return setup.path
