"""ISTA/FISTA for a differentiable loss plus an l1 penalty, and pathwise ISTA.

Flaschel et al. §3.3-3.4. The problem is

    min_c  F(c) = sum_i rho(r_i) + lam ||c||_1,    r = y - A c,

with rho(r) = r^2 / 2 (``loss="least_squares"``: the lasso in the same lam convention
as :func:`acefit.solvers.asp`) or the Huber function rho(r) = r^2 / 2 for
|r| <= delta and delta (|r| - delta / 2) beyond (``loss="huber"``), which grows
only linearly in large residuals and so resists outliers in the labels.

A proximal-gradient step is c <- soft(c - grad f(c) / L, lam / L), with
grad f(c) = -A' psi(r), psi = rho', and L = ||A||_2^2 (a Lipschitz constant of
grad f for both losses). FISTA adds Nesterov momentum, restarted whenever it
points uphill (O'Donoghue and Candes). Iterations stop when the gradient
mapping L ||c+ - v||_inf, a bound on the violation of the optimality conditions,
is at most ``kkt_tol * lam_max``.

The pathwise version solves on a geometric grid from lam_max = ||A'psi(y)||_inf
(the smallest lam with solution 0) downwards, each lam warm-started from the
previous solution; optionally each step is de-biased by an unregularised
least-squares refit on its active set (Flaschel), see :mod:`acefit.solvers.debias`.
A lam that FISTA has not converged within a tenth of max_iter is solved exactly on an
active set, as in cd_lasso: on an ill-conditioned system, such as the prior-scaled ACE
basis, FISTA crawls at small lam. Least squares by feature-sign search on the Gram
matrix (:func:`acefit.solvers.lasso.exact_lasso`), Huber by the same search with Newton
moves on the rows (:func:`exact_huber_lasso`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from acefit.solvers import debias as _debias
from acefit.solvers._common import EntryOrder, check_count, check_nonnegative, prepare
from acefit.solvers.lasso import (CHUNK_SHARE, GridWalk, enter_violator, exact_lasso,
                                  first_solution)
from acefit.solvers.path import Path

__all__ = ["ista", "soft_threshold", "exact_huber_lasso"]

LOSSES = ("least_squares", "huber")


def soft_threshold(v: np.ndarray, t) -> np.ndarray:
    """sign(v) max(|v| - t, 0), the proximal map of t ||.||_1."""
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


class _Loss:
    """rho and its gradient in c for the chosen loss, using A or (least squares) G."""

    def __init__(self, setup, loss: str, delta: float):
        self.loss = loss
        self.delta = delta
        prob = setup.scaled
        self.A, self.y, self.offset = prob.A, prob.y, prob.offset
        # least squares: work on the Gram matrix when it is the smaller operator
        self.use_gram = loss == "least_squares" and prob.A.shape[0] >= prob.A.shape[1]
        if self.use_gram:
            self.G, self.b, self.yty = setup.gram(), setup.aty(), prob.yty

    def psi(self, r):
        return r if self.loss == "least_squares" else np.clip(r, -self.delta, self.delta)

    def value(self, c) -> float:
        if self.use_gram:
            return 0.5 * max(float(self.yty - 2 * c @ self.b + c @ (self.G @ c)), 0.0)
        r = self.y - self.A @ c
        if self.loss == "least_squares":
            return 0.5 * float(r @ r + self.offset)
        a = np.abs(r)
        return float(np.where(a <= self.delta, 0.5 * r * r, self.delta * (a - 0.5 * self.delta)).sum())

    def grad(self, c) -> np.ndarray:
        if self.use_gram:
            nz = np.flatnonzero(c)
            if 2 * nz.size < c.size:  # sparse iterates: only their rows of G (symmetric)
                return c[nz] @ self.G[nz] - self.b
            return self.G @ c - self.b
        return -(self.A.T @ self.psi(self.y - self.A @ c))

    def lipschitz(self, n_iter: int = 100, rtol: float = 1e-6) -> float:
        """||A||_2^2 by power iteration (padded by 1 % as a safe step bound)."""
        rng = np.random.default_rng(0)
        v = rng.standard_normal(self.A.shape[1])
        v /= np.linalg.norm(v)
        est = 0.0
        for _ in range(n_iter):
            w = self.G @ v if self.use_gram else self.A.T @ (self.A @ v)
            new = float(np.linalg.norm(w))
            if new == 0.0:
                return 0.0
            v = w / new
            if abs(new - est) <= rtol * new:
                est = new
                break
            est = new
        return 1.01 * est


def _fista(loss: _Loss, lam: float, x0: np.ndarray, L: float, *, accelerate: bool,
           max_iter: int, kkt_tol: float, exact=None,
           exact_at: int = 0) -> tuple[np.ndarray, int, float, bool]:
    """Minimise f + lam ||.||_1 from x0; returns (x, iterations, final gradient mapping,
    whether ``exact``, called with the iterate once ``exact_at`` iterations have not
    converged, gave the solution, which is then returned); the iterations are those of
    a run without ``exact`` until then, and after it where it gives None."""
    x = x0.copy()
    v = x.copy()
    t = 1.0
    mapping = np.inf
    for it in range(1, max_iter + 1):
        if it == exact_at + 1 and exact is not None:
            solution = exact(x)
            if solution is not None:
                return solution, it - 1, _mapping(loss, solution, lam, L), True
        x_new = soft_threshold(v - loss.grad(v) / L, lam / L)
        mapping = L * float(np.abs(x_new - v).max())
        if accelerate:
            if (v - x_new) @ (x_new - x) > 0:  # momentum points uphill: restart
                t = 1.0
                v_next = x_new
            else:
                t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                v_next = x_new + ((t - 1.0) / t_new) * (x_new - x)
                t = t_new
        else:
            v_next = x_new
        x = x_new
        v = v_next
        if mapping <= kkt_tol:
            return x, it, mapping, False
    return x, max_iter, mapping, False


def _mapping(loss: _Loss, x: np.ndarray, lam: float, L: float) -> float:
    """The gradient mapping L ||x+ - x||_inf of a proximal step from ``x``."""
    return L * float(np.abs(soft_threshold(x - loss.grad(x) / L, lam / L) - x).max())


def _exact_solver(loss: _Loss, lam: float, warm: np.ndarray | None, tol: float):
    """``solve(iterate)``: the solution at ``lam`` from the warm start ``warm`` (unless
    None) or from ``iterate``, or None: least squares by :func:`exact_lasso` on the Gram
    matrix, Huber by :func:`exact_huber_lasso` on the rows (``tol``: its stopping test);
    None for least squares on a wide problem (no Gram matrix), whose paths stay FISTA."""
    if loss.loss == "huber":
        def exact(start):
            return exact_huber_lasso(loss.A, loss.y, start, lam, loss.delta, tol)
    elif loss.use_gram:
        def exact(start):
            return exact_lasso(loss.G, loss.b, start, lam)
    else:
        return None

    def solve(iterate):
        return first_solution(exact, (iterate,) if warm is None else (warm, iterate))
    return solve


def _line_minimum(r: np.ndarray, d: np.ndarray, x: np.ndarray, p: np.ndarray, lam: float,
                  delta: float) -> float:
    """The t in [0, 1] minimising the Huber-lasso objective at x + t p, whose residuals
    are r - t d, exactly: along the segment it is convex and piecewise quadratic, its
    pieces bounded where a residual crosses +-delta or a coefficient crosses zero. The
    piece holding the minimum is found by bisection on the sign of the slope at its
    right end (O(m log m) in all), and the slope, linear on it, solved there."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cuts = np.concatenate([(r - delta) / d, (r + delta) / d, -x / p])
    cuts = np.unique(cuts[(cuts > 0) & (cuts < 1)])
    ends = np.concatenate([[0.0], cuts, [1.0]])

    def slope(k):
        """F' = a + b t on piece k, (ends[k], ends[k + 1])."""
        mid = 0.5 * (ends[k] + ends[k + 1])
        rm = r - mid * d
        inside = np.abs(rm) <= delta
        a = -float(r[inside] @ d[inside]) - delta * float(np.sign(rm[~inside]) @ d[~inside]) \
            + lam * float(np.sign(x + mid * p) @ p)
        return a, float(d[inside] @ d[inside])

    lo, hi = 0, len(ends) - 2      # the first piece whose right end has F' >= 0
    while lo < hi:
        k = (lo + hi) // 2
        a, b = slope(k)
        if a + b * ends[k + 1] >= 0:
            hi = k
        else:
            lo = k + 1
    a, b = slope(lo)
    if a + b * ends[lo + 1] < 0:
        return 1.0
    return float(np.clip(-a / b, ends[lo], ends[lo + 1])) if b > 0 else float(ends[lo])


def _cholesky(rows: np.ndarray):
    """The Cholesky factor of rows' rows (scipy's cho_factor), or None if singular."""
    try:
        return scipy.linalg.cho_factor(rows.T @ rows, check_finite=False)
    except np.linalg.LinAlgError:
        return None


def exact_huber_lasso(A: np.ndarray, y: np.ndarray, x: np.ndarray, lam: float,
                      delta: float, tol: float,
                      max_moves: int | None = None) -> np.ndarray | None:
    """The minimiser of sum_i huber_delta(y - A c)_i + lam ||c||_1 by an active-set
    Newton method from ``x`` (feature-sign search, :func:`acefit.solvers.lasso.exact_lasso`,
    with the Huber loss), or None when it fails: a singular Hessian on the support, a
    move that cannot lower the objective, or more than ``max_moves`` moves (default
    4 |support| + 40).

    The objective is piecewise quadratic: on the support S with signs s, and with the
    rows split into inliers I (|r_i| <= delta) and the rest, it is a quadratic whose
    Newton step p solves A_IS'A_IS p = A_S'psi(r) - lam s. Each move goes along p as far
    as the objective falls, exactly (:func:`_line_minimum`, crossing residual and sign
    changes, so the objective never rises), dropping a coefficient that lands on zero.
    The support is optimal once a full step keeps every sign and the split of the rows
    (the Newton step then solves its equations exactly), or once its equations hold to
    ``tol`` (A_j'psi(r) = lam s_j); then the zero coefficient that violates
    |A_j'psi(r)| <= lam most enters with the sign of A_j'psi(r), and the search ends
    where none does: the Huber-lasso's KKT conditions. An entering coefficient that the
    Newton step pulls against its sign moves alone first (a Newton step in it only),
    which lowers the objective. The split and the signs change finitely often (a finite
    Newton method for a piecewise quadratic, as Madsen and Nielsen's for Huber's
    M-estimator), so from the previous lam's solution it takes a few moves, each
    O(m |S|^2) for the Hessian. Where the inliers are too few for the support (a
    singular A_IS'A_IS: a small delta, a cold start), the move takes the Hessian of
    iteratively reweighted least squares instead (rows beyond delta weighted
    delta / |r_i|), which still descends.

    Chosen over iteratively reweighted least squares (rows beyond delta weighted
    delta / |r|, each reweighting a weighted lasso): that converges only linearly in the
    weights, a weighted Gram matrix at O(m n^2) each time, where the Newton moves end
    exactly once the split is right. Measured on the prior-scaled quickstart rows
    (7634 x 676, delta 0.1, max_active 300; ``scripts/bench_grid_paths.py --huber``):
    210 of 211 steps solved so, 18 s for the path to 301 functions, where FISTA had
    converged none of the first steps in 2000 iterations (10 s each); the KKT conditions
    hold to 8e-9 lam_max (FISTA's own test: kkt_tol 1e-8). On a random problem of
    condition 1e4 the steps match a FISTA run to kkt_tol 1e-12 (89 000 iterations)
    within 1e-9 of the largest coefficient (``tests/test_ista_huber.py``).
    """
    x = np.array(x, dtype=float)
    signs = np.sign(x)
    max_moves = 4 * int(np.count_nonzero(x)) + 40 if max_moves is None else max_moves
    r = y - A @ x
    optimal = not signs.any()
    for _ in range(max_moves):
        if optimal:
            if not enter_violator(A.T @ np.clip(r, -delta, delta), signs, lam):
                return x
        S = np.flatnonzero(signs)
        AS = A[:, S]
        inside = np.abs(r) <= delta
        gradient = lam * signs[S] - AS.T @ np.clip(r, -delta, delta)
        factor = _cholesky(AS[inside])
        if factor is None:      # fewer inliers than the support gives directions:
            # the reweighted rows of IRLS (delta / |r_i| beyond delta), a descent step
            factor = _cholesky(AS * np.sqrt(np.minimum(1.0, delta / np.abs(r)))[:, None])
            if factor is None:
                return None
        p = -scipy.linalg.cho_solve(factor, gradient, check_finite=False)
        if not np.all(np.isfinite(p)):
            return None
        t = _line_minimum(r, AS @ p, x[S], p, lam, delta)
        if t == 0.0:    # the entering coefficient pulled against its sign: move it alone
            entering = x[S] == 0
            AE = AS[:, entering]
            curvature = np.einsum("ij,ij->j", AE[inside], AE[inside])
            curvature = np.where(curvature > 0, curvature, np.einsum("ij,ij->j", AE, AE))
            p = np.zeros(S.size)
            p[entering] = -gradient[entering] / curvature
            t = _line_minimum(r, AS @ p, x[S], p, lam, delta)
            if t == 0.0:
                return None
        with np.errstate(divide="ignore", invalid="ignore"):
            crossings = -x[S] / p
        x[S] = np.where(crossings == t, 0.0, x[S] + t * p)
        r = y - AS @ x[S]
        on = x[S] != 0
        slack = lam * np.sign(x[S][on]) - (AS.T @ np.clip(r, -delta, delta))[on]
        optimal = (t == 1.0 and np.array_equal(np.sign(x[S]), signs[S])
                   and np.array_equal(np.abs(r) <= delta, inside)) or \
            float(np.abs(slack).max(initial=0.0)) <= tol
        signs = np.sign(x)
    return None


def _check_loss(loss: str, delta) -> float | None:
    """The Huber threshold ``delta`` checked against ``loss``: a positive number with
    "huber", None with least squares."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss == "huber":
        return check_nonnegative(delta, "delta with loss='huber'", allow_none=False,
                                 positive=True)
    if delta is not None:
        raise ValueError(f"delta = {delta!r} is the Huber threshold; allowed: loss='huber', "
                         "or delta=None")
    return delta


def _check_debias(debias):
    """The refit of each step: None, :func:`acefit.solvers.debias.refit_ls` for "ls", or
    the caller's callable."""
    if debias == "ls":
        return _debias.refit_ls
    if debias is not None and not callable(debias):
        raise ValueError(f"debias must be None, 'ls' or a callable, got {debias!r}")
    return debias


def _solve_at(f: _Loss, lam: float, x: np.ndarray, L: float, *, kkt_tol: float,
              exact_first: bool, accelerate: bool, max_iter: int):
    """One lam of the path from the warm start ``x``: (x, iterations, gradient mapping,
    solved exactly). FISTA, solved exactly on an active set once it has not converged
    within ``CHUNK_SHARE`` of ``max_iter`` iterations; with ``exact_first`` (a step
    before was solved so) the exact solve from ``x`` is tried first."""
    solve = _exact_solver(f, float(lam), x, kkt_tol)
    solution = solve(x) if exact_first and solve is not None else None
    if solution is not None:
        return solution, 0, _mapping(f, solution, lam, L), True
    if exact_first:     # the warm start was tried
        solve = _exact_solver(f, float(lam), None, kkt_tol)
    return _fista(f, float(lam), x, L, accelerate=accelerate, max_iter=max_iter,
                  kkt_tol=kkt_tol, exact=solve, exact_at=max(1, int(CHUNK_SHARE * max_iter)))


def _refit(setup, debias, x: np.ndarray, active: np.ndarray, info: dict):
    """The step's coefficients on ``active``: the l1 solution ``x`` (solver variables),
    or, with ``debias``, its refit on the active set (the caller's variables; ``info``
    gets the refit's scalars, its name and ``l1_train_error``, the error before it).
    Returns (coefficients, whether they are in solver variables)."""
    if debias is None:
        return x[active], True
    l1 = setup.problem.rss(setup.unscale(x))
    coef, extra = debias(setup.problem, active)
    info.update({k: v for k, v in extra.items() if np.isscalar(v)})
    info["debias"] = getattr(debias, "__name__", "callable")
    info["l1_train_error"] = setup.train_error(l1)
    return np.asarray(coef)[active], False


def ista(A, y=None, *, lam: float | None = None, lams=None, n_lams: int = 100,
         lam_ratio: float = 1e-3, loss: str = "least_squares", delta: float | None = None,
         accelerate: bool = True, max_active: int | None = None,
         min_lambda: float | None = None, tol: float = 0.0, kkt_tol: float = 1e-8,
         max_iter: int = 20000, debias=None, prior=None, validation=None,
         on_step=None) -> Path:
    """(F)ISTA at one lam, or pathwise ISTA on a grid with warm starts.

    Parameters
    ----------
    A, y
        Dense (A, y) or a LeastSquaresProblem. The Huber loss needs the dense form:
        the residuals of a reduced problem are not data residuals.
    lam : float, optional
        Solve at this single lam (a one-step path, started from zero).
    lams : array, optional
        Solve at these values, sorted decreasing, each warm-started from the last.
    n_lams, lam_ratio : int, float
        Otherwise a geometric grid of ``n_lams`` values from lam_max down to
        ``lam_ratio * lam_max`` (cut at ``min_lambda``), extended below it to reach
        ``max_active`` (:class:`acefit.solvers.lasso.GridWalk`).
    loss : {"least_squares", "huber"}
        The data term (see the module docstring).
    delta : float, optional
        Huber threshold, in the units of the (weighted) residuals: required with
        ``loss="huber"``, an error with least squares.
    accelerate : bool, default True
        FISTA momentum with adaptive restart; False gives plain ISTA.
    max_active : int, optional
        Stop at the first grid point with at least this many non-zero coefficients.
    min_lambda : float, optional
        Lower end of the default grid and of its extension; above lam_max, the path is
        one all-zero step at ``min_lambda`` (as :func:`acefit.solvers.asp`'s).
    tol : float, default 0
        Stop once the residual norm is at most ``tol * ||y||``.
    kkt_tol : float, default 1e-8
        Stop iterating when the gradient mapping is at most ``kkt_tol * lam_max``.
    max_iter : int
        Iteration limit per lam (``info["converged"]`` records whether it was reached).
    debias : None, "ls" or callable, optional
        Refit each step on its active set: "ls" is
        :func:`acefit.solvers.debias.refit_ls`; a callable is called as
        ``debias(problem, active)`` with the caller's (unscaled) problem and must
        return ``(coef (n,), info dict)``. The step then carries the refitted
        coefficients and their errors; ``info["l1_train_error"]`` keeps the error
        before the refit.
    prior, validation, on_step
        As for every solver (see :func:`acefit.solvers.asp`).

    Returns
    -------
    Path
        One step per lam. ``info``: ``n_iter``, ``converged`` (False: ``max_iter`` was
        reached first), ``objective`` (F at the l1 solution), ``loss``; ``exact`` where
        the step was solved on an active set (least squares on the Gram matrix,
        :func:`acefit.solvers.lasso.exact_lasso`; Huber on the rows,
        :func:`exact_huber_lasso`): a step not converged within
        ``CHUNK_SHARE`` of ``max_iter`` iterations is, and once one was, the steps after
        it try that first (FISTA after it where it fails); on the last step of a path
        that ends short of ``max_active``, ``stop`` (see ``GridWalk``).

    Notes
    -----
    Degenerate input: zero columns stay at zero; duplicated columns share their
    weight equally (the lasso solution is then not unique; the sum of the copies,
    the fit and the objective are); y = 0 gives a single zero step with lam = 0
    (unless ``lam``/``lams`` are given); NaN/inf raise ValueError.
    """
    delta = _check_loss(loss, delta)
    max_active = check_count(max_active, "max_active")
    min_lambda = check_nonnegative(min_lambda, "min_lambda")
    tol = check_nonnegative(tol, "tol", allow_none=False)
    kkt_tol = check_nonnegative(kkt_tol, "kkt_tol", allow_none=False, positive=True)
    check_count(n_lams, "n_lams", allow_none=False)
    check_count(max_iter, "max_iter", allow_none=False)
    if not 0 < lam_ratio < 1:
        raise ValueError(f"lam_ratio must be in (0, 1), got {lam_ratio!r}")
    debias = _check_debias(debias)
    setup = prepare(A, y, solver="ista", prior=prior, validation=validation, on_step=on_step,
                    params=dict(loss=loss, delta=delta, accelerate=bool(accelerate),
                                max_active=max_active, tol=tol,
                                debias=None if debias is None else getattr(debias, "__name__", "callable")))
    if loss == "huber" and setup.problem.reduced:
        raise ValueError("the Huber loss needs the dense problem (A, y): the residuals of a "
                         "reduced problem (R, Q'y) are not the data residuals")
    f = _Loss(setup, loss, delta)
    n = setup.n_features
    lmax = float(np.abs(f.grad(np.zeros(n))).max())
    walk = GridWalk(lmax, lam=lam, lams=lams, n_lams=n_lams, lam_ratio=lam_ratio,
                    min_lambda=min_lambda, max_active=max_active)

    L = f.lipschitz()
    scale = kkt_tol * (lmax if lmax > 0 else 1.0)
    x = np.zeros(n)
    entry = EntryOrder(n)
    y_norm = np.sqrt(setup.yty)
    lam_k = walk.lam
    exact_first = False     # a step before was solved exactly: try that first
    while lam_k is not None:
        if lam_k >= lmax or L == 0.0:
            x, n_iter, mapping, exact = np.zeros(n), 0, 0.0, False
        else:
            x, n_iter, mapping, exact = _solve_at(f, lam_k, x, L, kkt_tol=scale,
                                                  exact_first=exact_first,
                                                  accelerate=accelerate, max_iter=max_iter)
        exact_first = exact_first or exact
        active = entry.support(x)
        info = {"n_iter": n_iter, "converged": bool(exact or mapping <= scale), "loss": loss,
                "objective": f.value(x) + float(lam_k) * float(np.abs(x).sum())}
        if exact:
            info["exact"] = True
        coef, scaled = _refit(setup, debias, x, active, info)
        # the stopping rules need the step's error, the step its stop reason: peek first
        rss = setup.rss(setup.coef_vector(active, coef, scaled=scaled), active)
        lam_now, lam_k = lam_k, walk.next(len(active), tol > 0 and np.sqrt(rss) <= tol * y_norm)
        if walk.stop:
            info["stop"] = walk.stop
        setup.step(active, coef, lam=float(lam_now), rss=rss, info=info, scaled=scaled)
    return setup.path
