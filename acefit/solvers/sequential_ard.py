"""ARD by sequential evidence maximisation: a path of sparse Bayesian models.

Tipping & Faul (2003), "Fast marginal likelihood maximisation for sparse Bayesian
models". The model is that of :func:`~acefit.solvers.bayes.ard`: y = A c + noise
of precision beta, and c_k ~ N(0, 1 / alpha_k), with alpha_k = inf for a function
outside the model. Instead of updating every precision at once and pruning those
that pass a threshold (a dense k x k inverse per iteration, k the number of kept
functions: seconds per iteration at k ~ 5000, and a threshold that keeps many
functions needs many iterations), it starts from
the empty model and changes one precision per step, the change that raises the
log evidence most: add a function, re-estimate a precision, or delete a function.
Each step costs O(n k) on the Gram matrix (n columns); the evidence never falls.

For column i, with the posterior of the current model (Sigma, mu over its k
functions), S_i = beta a_i'a_i - beta^2 a_i'A_S Sigma A_S'a_i and Q_i = beta a_i'y -
beta^2 a_i'A_S Sigma A_S'y; for a function in the model s_i = alpha_i S_i / (alpha_i -
S_i), q_i = alpha_i Q_i / (alpha_i - S_i), else s_i = S_i, q_i = Q_i. The evidence as
a function of alpha_i alone is maximal at alpha_i = s_i^2 / (q_i^2 - s_i) when q_i^2 >
s_i and at alpha_i = inf (out of the model) otherwise. At convergence every
precision sits at that maximum, and beta at its fixed point: a local maximum of
the ARD evidence, reached without a pruning threshold.

Checkpoints. Every addition or deletion is a step of the returned path (the
posterior mean of the model at that moment), so a path to ``max_active`` gives
models of every size, as OMP's does; the last step is the converged model.
The evidence is invariant to a rescaling of the columns (the precisions absorb
it), so a smoothness prior changes neither the model nor its order of entry.

Numerics. Sigma, mu, S and Q are updated by the rank-one formulas of the paper
(appendix) from the Gram matrix G = A'A computed once, and with them E = beta
G[:, S] Sigma (n x k). Every ``refresh`` moves (every k / 4 while that is fewer),
and whenever no move would raise the evidence, beta is re-estimated, beta = (m -
sum_k gamma_k) / rss with gamma_k = 1 - alpha_k Sigma_kk, and Sigma, mu, E, S and Q
are recomputed from a Cholesky factor. The same recompute follows any move after
which mu leaves a relative residual above 1e-9 (or ten times that of the last
recompute) in (diag(alpha) + beta G_SS) mu = beta b_S. A column whose part
outside the model's span is at most ``dependence_tol`` of it (squared norms) is not
added: with 1e-10 instead of 1e-6, such additions on the Zuo Mo design (5317
functions, k ~ 900) left steps whose training error was 1.5-2.3 times that of the
next step. S_i <= ``dependence_tol`` beta a_i'a_i, checked for every column at once,
implies it, but S_i also counts the precisions: a copy of an active function j has
S_i / (beta a_i'a_i) ~ alpha_j / (beta a_j'a_j), and entered (so did an 11th function
on 10 rows). So the addition chosen is checked itself, on a Cholesky factor of G_SS
kept beside Sigma (O(k^2) per addition): no model has more functions than its
columns' rank. On the quickstart's system (676 functions) this refused 17 columns
(20 without its prior) with 1e-9 to 1e-6 of them outside the span, whose S_i / (beta
a_i'a_i) was 1.0-2.3e-6, from a model of 130 functions on.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dger as _dger

from acefit.solvers._common import check_count, check_nonnegative, prepare, rss_from_gram
from acefit.solvers.bayes import initial_beta
from acefit.solvers.path import Path

__all__ = ["ard_path"]

_DRIFT_TOL = 1e-9
# rss at most this fraction of y'y: y lies in the model's span (to the rounding of the
# rss from the Gram matrix), the noise precision has no finite fixed point
_EXACT_FIT = 1e-12


class _Posterior:
    """The posterior of the current model and the S, Q of every column, kept current."""

    def __init__(self, G: np.ndarray, b: np.ndarray, beta: float, capacity: int):
        self.G, self.b, self.beta = G, b, beta
        self.g_diag = np.diag(G).copy()
        n = len(b)
        self.active: list[int] = []
        self.alpha = np.empty(0)
        self.Sigma = np.empty((0, 0))
        self.G_SS = np.empty((0, 0))  # G over the model, kept beside Sigma: no gather per move
        self._L = np.empty((max(capacity, 1),) * 2)  # Cholesky factor of G_SS, model order
        self._outside = (-1, None, 0.0)  # the last column outside() measured
        self.mu = np.empty(0)
        self._E = np.empty((n, max(capacity, 1)), order="F")
        self.S = beta * self.g_diag
        self.Q = beta * b

    @property
    def E(self) -> np.ndarray:
        return self._E[:, :len(self.active)]

    def sq(self):
        """s and q of every column (the S and Q with the column's own precision left out)."""
        s, q = self.S.copy(), self.Q.copy()
        if self.active:
            idx = np.asarray(self.active)
            denom = self.alpha - self.S[idx]
            s[idx] = self.alpha * self.S[idx] / denom
            q[idx] = self.alpha * self.Q[idx] / denom
        return s, q

    def outside(self, i: int) -> float:
        """The part of column i outside the model's span, ||a_i - P a_i||^2 / ||a_i||^2
        (from the Cholesky factor of G_SS; 0 for a zero column)."""
        k, g_ii = len(self.active), self.g_diag[i]
        if g_ii <= 0.0:
            return 0.0
        l = scipy.linalg.solve_triangular(self._L[:k, :k], self.G[self.active, i], lower=True,
                                          check_finite=False) if k else np.empty(0)
        r = (g_ii - l @ l) / g_ii
        self._outside = (i, l, r)
        return r

    def _extend_factor(self, i: int) -> None:
        """Column i's row of the Cholesky factor of G_SS, appended."""
        k = len(self.active)
        if k == self._L.shape[0]:
            L = np.empty((2 * k, 2 * k))
            L[:k, :k] = self._L[:k, :k]
            self._L = L
        if self._outside[0] != i:
            self.outside(i)
        _, l, r = self._outside
        self._L[k, :k] = l
        self._L[:k, k] = 0.0
        self._L[k, k] = np.sqrt(max(r, 0.0) * self.g_diag[i])
        self._outside = (-1, None, 0.0)

    def add(self, i: int, alpha_i: float) -> None:
        k = len(self.active)
        self._extend_factor(i)
        if k == self._E.shape[1]:
            E = np.empty((self._E.shape[0], 2 * k), order="F")
            E[:, :k] = self._E
            self._E = E
        g_si = self.G[np.asarray(self.active, dtype=np.intp), i]
        sigma_ii = 1.0 / (alpha_i + self.S[i])
        mu_i = sigma_ii * self.Q[i]
        u = self.E[i].copy()
        e = self.beta * self.G[:, i]
        if k:
            e = e - self.E @ (self.beta * g_si)
        Sigma = np.empty((k + 1, k + 1))
        Sigma[:k, :k] = self.Sigma + sigma_ii * np.outer(u, u)
        Sigma[:k, k] = Sigma[k, :k] = -sigma_ii * u
        Sigma[k, k] = sigma_ii
        self.Sigma = Sigma
        G_SS = np.empty((k + 1, k + 1))
        G_SS[:k, :k] = self.G_SS
        G_SS[:k, k] = G_SS[k, :k] = g_si
        G_SS[k, k] = self.g_diag[i]
        self.G_SS = G_SS
        self.mu = np.append(self.mu - mu_i * u, mu_i)
        if k:
            self._rank_one(-sigma_ii, e, u)
        self._E[:, k] = sigma_ii * e
        self.S -= sigma_ii * e * e
        self.Q -= mu_i * e
        self.active.append(i)
        self.alpha = np.append(self.alpha, alpha_i)

    def _rank_one(self, scale: float, x: np.ndarray, y: np.ndarray) -> None:
        """E += scale x y' in place (BLAS dger on the Fortran-ordered block: no n x k temporary)."""
        k = len(y)
        self._E[:, :k] = _dger(scale, x, y, a=self._E[:, :k], overwrite_a=True)

    def reestimate(self, p: int, alpha_new: float) -> None:
        """Set the precision of the model's p-th function (inf: delete it)."""
        col = self.Sigma[:, p].copy()
        e = self.E[:, p].copy()
        kappa = 1.0 / (col[p] + (0.0 if np.isinf(alpha_new) else 1.0 / (alpha_new - self.alpha[p])))
        mu_p = self.mu[p]
        self.Sigma -= kappa * np.outer(col, col)
        self.mu -= kappa * mu_p * col
        self._rank_one(-kappa, e, col)
        self.S += kappa * e * e
        self.Q += kappa * mu_p * e
        if np.isinf(alpha_new):
            self._drop(p)
        else:
            self.alpha[p] = alpha_new

    def _drop(self, p: int) -> None:
        k = len(self.active)
        keep = np.r_[0:p, p + 1:k]
        self.Sigma = self.Sigma[np.ix_(keep, keep)]
        self.G_SS = self.G_SS[np.ix_(keep, keep)]
        self.mu = self.mu[keep]
        self.alpha = self.alpha[keep]
        self._E[:, p:k - 1] = self._E[:, p + 1:k]
        _drop_cholesky(self._L, p, k)
        self._outside = (-1, None, 0.0)
        del self.active[p]

    def recompute(self, beta: float) -> None:
        """Sigma, mu, E, S, Q from scratch at noise precision beta."""
        self.beta = beta
        self.S = beta * self.g_diag
        self.Q = beta * self.b
        if not self.active:
            return
        idx = np.asarray(self.active, dtype=np.intp)
        G_s = self.G[:, idx]
        self.G_SS = G_s[idx]
        M = beta * self.G_SS
        M[np.diag_indices_from(M)] += self.alpha
        try:
            c = scipy.linalg.cho_factor(M, lower=True, check_finite=False)
            Sigma = scipy.linalg.cho_solve(c, np.eye(len(idx)), check_finite=False)
        except np.linalg.LinAlgError:
            Sigma = scipy.linalg.pinvh(M)
        self.Sigma = 0.5 * (Sigma + Sigma.T)
        self.mu = beta * (self.Sigma @ self.b[idx])
        E = beta * (G_s @ self.Sigma)
        self._E[:, :len(idx)] = E
        self.S -= beta * np.einsum("ij,ij->i", E, G_s)
        self.Q -= beta * (G_s @ self.mu)

    def drift(self) -> float:
        """Relative residual of the posterior mean in (diag(alpha) + beta G_SS) mu = beta b_S."""
        if not self.active:
            return 0.0
        idx = np.asarray(self.active, dtype=np.intp)
        rhs = self.beta * self.b[idx]
        r = self.beta * (self.G_SS @ self.mu) + self.alpha * self.mu - rhs
        return float(np.linalg.norm(r) / max(np.linalg.norm(rhs), np.finfo(float).tiny))

    def finite(self) -> bool:
        """Whether beta and the posterior mean are finite (beta -> inf breaks them)."""
        return bool(np.isfinite(self.beta) and np.all(np.isfinite(self.mu)))

    def noise_update(self, yty: float, m: int) -> float:
        """The fixed point of beta for the current precisions."""
        gamma = 1.0 - self.alpha * np.diag(self.Sigma)
        return max(m - float(gamma.sum()), 1.0) / max(self.rss(yty), np.finfo(float).tiny)

    def rss(self, yty: float) -> float:
        if not self.active:
            return yty
        idx = np.asarray(self.active, dtype=np.intp)
        return rss_from_gram(yty, self.b[idx], self.mu, self.G_SS @ self.mu)


def _drop_cholesky(L: np.ndarray, p: int, k: int) -> None:
    """Row and column p out of the k x k lower Cholesky factor L[:k, :k], in place: the
    rows below move up, and their block takes the rank-one update by its lost column,
    L33 L33' + l32 l32' (rotations: stable, O((k - p)^2))."""
    x = L[p + 1:k, p].copy()
    L[p:k - 1, :p] = L[p + 1:k, :p]
    T = L[p + 1:k, p + 1:k].copy()
    for j in range(len(x)):
        r = np.hypot(T[j, j], x[j])
        c, s = r / T[j, j], x[j] / T[j, j]
        T[j, j] = r
        T[j + 1:, j] = (T[j + 1:, j] + s * x[j + 1:]) / c
        x[j + 1:] = c * x[j + 1:] - s * T[j + 1:, j]
    L[p:k - 1, p:k - 1] = T


def _gains(post: _Posterior, can_add: bool, dependence_tol: float, tol: float):
    """Log-evidence gain of the best move for every column, and the new precision.

    A re-estimate that changes log alpha by at most ``tol`` counts as no move."""
    s, q = post.sq()
    theta = q * q - s
    n = len(s)
    gain = np.full(n, -np.inf)
    alpha_new = np.full(n, np.inf)
    positive = theta > 0
    alpha_new[positive] = s[positive] ** 2 / theta[positive]
    inside = np.zeros(n, dtype=bool)
    inside[post.active] = True
    S, Q = post.S, post.Q
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if can_add:
            add = ~inside & positive & (S > dependence_tol * post.beta * post.g_diag)
            gain[add] = (Q[add] ** 2 - S[add]) / S[add] + np.log(S[add] / Q[add] ** 2)
        idx = np.asarray(post.active, dtype=np.intp)
        if len(idx):
            a_old = post.alpha
            S_a, Q_a = S[idx], Q[idx]
            re = positive[idx]
            delta = 1.0 / alpha_new[idx] - 1.0 / a_old
            g_re = Q_a ** 2 / (S_a + 1.0 / delta) - np.log1p(S_a * delta)
            g_re[np.abs(np.log(alpha_new[idx] / a_old)) <= tol] = -np.inf
            g_del = Q_a ** 2 / (S_a - a_old) - np.log1p(-S_a / a_old)
            g = np.where(re, g_re, g_del if len(idx) > 1 else -np.inf)  # keep one function
            gain[idx] = np.where(np.isfinite(g), g, -np.inf)
    return 0.5 * gain, alpha_new


def _best_move(gain: np.ndarray, post: _Posterior, dependent: np.ndarray, tol: float) -> int:
    """The column of the largest gain whose move is allowed: an addition only of a column
    with more than ``tol`` of it outside the model's span. Those found inside are marked
    in ``dependent`` (and their gains set to -inf)."""
    gain[dependent] = -np.inf
    while True:
        j = int(np.argmax(gain))
        if not gain[j] > 0.0 or j in post.active or post.outside(j) > tol:
            return j
        dependent[j] = True
        gain[j] = -np.inf


class _Recorder:
    """Each model of the path as a step of ``setup``'s path, the last one kept: a path
    whose posterior broke ends on a copy of it."""

    def __init__(self, setup, post: _Posterior, yty: float):
        self.setup, self.post, self.yty = setup, post, yty
        self.last = {}

    def record(self, event: str, index: int, it: int, final: bool = False) -> None:
        """The current model as a step (``final``: the path's last, with the precisions
        and, unless converged, ``stop``)."""
        post = self.post
        info = {"event": event, "index": int(index), "beta": float(post.beta), "n_iter": it}
        if final:
            info["precisions"] = post.alpha.copy()
            if event != "converged":
                info["stop"] = event
        last = self.last
        last.update(active=list(post.active), coef=post.mu.copy(), rss=post.rss(self.yty),
                    info=info)
        self.setup.step(last["active"], last["coef"], rss=last["rss"], info=info)

    def end_on_last(self, event: str, it: int) -> None:
        """End the path on a copy of the last recorded model (unless it is the empty one)."""
        last = self.last
        if last["active"]:
            info = dict(last["info"], event=event, index=-1, n_iter=it, stop=event)
            self.setup.step(last["active"], last["coef"], rss=last["rss"], info=info)


def _renew_noise(post: _Posterior, yty: float, m: int, tol: float) -> bool | None:
    """Re-estimate beta and recompute the posterior from scratch. True where beta changed
    by at most ``tol`` of itself; None, with nothing recomputed, where y lies in the
    model's span (beta = (m - gamma) / rss would grow without bound, to inf/NaN)."""
    beta_old = post.beta
    if post.active and post.rss(yty) <= _EXACT_FIT * yty:
        return None
    beta_new = post.noise_update(yty, m) if post.active else beta_old
    post.recompute(beta_new)
    return abs(beta_new - beta_old) <= tol * beta_old


def _move(post: _Posterior, j: int, alpha_j: float, dependent: np.ndarray) -> str | None:
    """Set column j's precision to ``alpha_j``: "add" (j enters), "delete" (alpha_j =
    inf: j leaves, and the span shrinks, so no column is ``dependent`` any more) or None
    (a re-estimate)."""
    if j not in post.active:
        post.add(j, alpha_j)
        return "add"
    post.reestimate(post.active.index(j), alpha_j)
    if not np.isinf(alpha_j):
        return None
    dependent[:] = False
    return "delete"


def ard_path(A, y=None, *, max_active: int | None = None, prior=None, validation=None,
             on_step=None, beta_init: float | None = None, max_iter: int | None = None,
             tol: float = 1e-3, refresh: int = 50, dependence_tol: float = 1e-6) -> Path:
    """ARD fitted one precision at a time (Tipping & Faul): a path of growing models.

    Parameters
    ----------
    A : ndarray (m, n) or LeastSquaresProblem
        Design matrix, or a dense or reduced problem.
    y : ndarray (m,), optional
        Targets, with an array ``A``.
    max_active : int, optional
        No function is added to a model of this size (it may still be re-estimated
        or deleted); default: no limit.
    prior : array (n,), optional
        Positive gamma. The ARD evidence is invariant to column scales, so the prior
        leaves the fit unchanged; it is accepted for a uniform interface.
    validation : (A_val, y_val), optional
        Validation rows weighted as the training rows are (``system.val.weighted()`` of
        an assembled system, see :mod:`acefit.solvers`); each step then carries their
        RMS residual.
    on_step : callable, optional
        Called with each step as it is finished.
    beta_init : float, optional
        Starting noise precision (default m / ||y||^2).
    max_iter : int, optional
        Number of moves allowed (default 20 n).
    tol : float, default 1e-3
        Converged when no function would enter or leave, no precision would change by
        more than this in log alpha, and a re-estimate of beta changes it by at most
        this fraction (the rule of Tipping's SparseBayes).
    refresh : int, default 50
        Re-estimate beta and recompute the posterior from scratch every this many moves
        (every k / 4 moves while the model has fewer than 4 ``refresh`` functions).
    dependence_tol : float, default 1e-6
        A column with at most this fraction of it (squared norms) outside the span of
        the model's columns is not added, so no model has more functions than their
        rank.

    Returns
    -------
    Path
        ``solver="ard_path"``. Step 0 is the zero model; then one step per addition or
        deletion, and the converged model last. ``lam`` is NaN; ``info`` has the
        ``event`` ("add", "delete", "converged", or a stop below), the column ``index``,
        ``beta``, the ``precisions`` of the active functions (solver variables) and the
        move count ``n_iter``. A last step that is not converged says why in
        ``info["stop"]`` (as the other paths do): "max_iter" (the move limit);
        "exact_fit" (the rss fell to 1e-12 y'y, noise-free data or more functions than
        rows: beta would grow without bound, to inf and NaN); "noise_precision_diverged"
        (beta or the mean became non-finite all the same: the path ends on a copy of its
        last finite step). No step has non-finite coefficients.

    Notes
    -----
    y = 0, or no column with q_i^2 > s_i at the starting beta, gives only the zero
    step. NaN/inf or mismatched shapes raise ValueError naming the array.
    """
    max_active = check_count(max_active, "max_active")
    tol = check_nonnegative(tol, "tol", allow_none=False)
    refresh = check_count(refresh, "refresh", allow_none=False)
    dependence_tol = check_nonnegative(dependence_tol, "dependence_tol", allow_none=False)
    max_iter = check_count(max_iter, "max_iter")
    params = dict(max_active=max_active, tol=tol, refresh=refresh, max_iter=max_iter)
    setup = prepare(A, y, solver="ard_path", prior=prior, validation=validation,
                    on_step=on_step, params=params)
    G, b = setup.gram(), setup.aty()
    n, m, yty = len(b), setup.m, setup.yty
    beta = initial_beta(setup.scaled, beta_init)
    limit = n if max_active is None else min(max_active, n)
    max_iter = 20 * n if max_iter is None else max_iter
    post = _Posterior(G, b, beta, capacity=min(limit, 64))

    rec = _Recorder(setup, post, yty)
    rec.record("start", -1, 0)
    if yty == 0.0 or not np.any(b):
        return setup.path
    it, since_refresh, event = 0, 0, "max_iter"
    drift_floor, beta_only = 0.0, 0
    dependent = np.zeros(n, dtype=bool)  # in the model's span: no addition while it grows
    while it < max_iter and beta_only < max_iter:  # beta_only: noise updates with no move
        if not post.finite():
            event = "noise_precision_diverged"
            break
        gain, alpha_new = _gains(post, len(post.active) < limit, dependence_tol, tol)
        j = _best_move(gain, post, dependent, dependence_tol)
        stalled = not gain[j] > 0.0
        # a small model gets beta every k / 4 moves: the recompute, O(n k^2), costs ~ a move then
        if stalled or since_refresh >= min(refresh, max(1, len(post.active) // 4)):
            settled = _renew_noise(post, yty, m, tol)
            if settled is None:
                event = "exact_fit"
                break
            drift_floor, since_refresh = post.drift(), 0
            if stalled and settled:
                event = "converged"
                break
            beta_only += stalled
            continue  # the gains at the new beta
        it += 1
        since_refresh += 1
        moved = _move(post, j, alpha_new[j], dependent)
        # a move next to a near-dependence can spoil the updated posterior: start afresh
        if post.drift() > max(_DRIFT_TOL, 10.0 * drift_floor):
            post.recompute(post.beta)
            drift_floor = post.drift()
        if moved and post.finite():  # else the check above ends the path
            rec.record(moved, j, it)
    if not post.finite():
        event = "noise_precision_diverged"
    if event == "noise_precision_diverged":  # the posterior broke: end on the last finite model
        rec.end_on_last(event, it)
    elif post.active:
        rec.record(event, -1, it, final=True)
    return setup.path
