"""Learning curves for the dense and Bayesian solvers.

The sparse solvers choose their basis functions from the data and give an
error-versus-size curve as their path. The dense solvers need a path of their
own (Torabi et al., Figs. 1 and 4):

* :func:`apriori_path` fits BLR, QR (Tikhonov), RRQR or TSVD on nested sub-bases
  chosen a priori: the columns ordered by increasing smoothness cost gamma_k
  (ties broken by column index), equivalently increasing total degree and
  correlation order, and the first k columns for each requested size k; or
  given nested column sets (``subbases``, e.g. the bases of smaller total
  degrees, :func:`acefit.basis.spec.within_totaldegree`). With ``patience`` it
  stops once the validation error has stopped falling, before the largest (and,
  at O(k^3) a fit, dearest) sizes.
* :func:`ard_sweep` varies ARD's pruning threshold to reach target numbers of
  active functions.

Nested sub-problems without re-assembly
---------------------------------------
Rows of a reduced problem cannot be dropped, but columns can. Let P be the
permutation that puts the columns in a-priori order and take one QR
factorisation of the permuted matrix,

    R P = Q~ R~        (reduced problem, R is n x n), or
    A P = Q~ R~        (dense problem with m >= n rows, thin QR).

Because R~ is upper triangular, the first k permuted columns satisfy
(R P)[:, :k] = Q~[:, :k] R~[:k, :k], so for every c in R^k

    ||y - (A P)[:, :k] c||^2 = ||y~[:k] - R~[:k, :k] c||^2 + ||y~[k:]||^2 + offset,

with y~ = Q~^T (Q^T y) and ``offset`` the residual the original reduction
already dropped. That is, (R~[:k, :k], y~[:k], offset + ||y~[k:]||^2, m) is
exactly the reduced form of the sub-problem on the k leading columns, for every
k at once, from one O(n^3) factorisation (O(m n^2) for a dense problem). The row
count m is unchanged, so BLR's evidence is that of the sub-problem. A dense
problem with fewer rows than columns is fitted on its column slices instead.

Each size is one step of the returned path, in the same shape (and checkpoint
format) as a sparse path: ``active`` are the leading columns with a nonzero
coefficient, ``coef`` is full length, and ``info["size"]`` is k.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from acefit.lsq import LeastSquaresProblem, as_problem
from acefit.solvers._common import check_count, prepare, validate_prior
from acefit.solvers.bayes import ard, blr
from acefit.solvers.dense import qr, rrqr, tsvd
from acefit.solvers.path import Path

__all__ = ["apriori_order", "nested_sizes", "subbasis_levels", "NestedProblem", "apriori_path",
           "ard_sweep", "APRIORI_SOLVERS"]

APRIORI_SOLVERS = {"blr": blr, "qr": qr, "rrqr": rrqr, "tsvd": tsvd}


def apriori_order(costs) -> np.ndarray:
    """Column order by increasing cost gamma_k, ties by index (a stable argsort)."""
    costs = np.asarray(costs, dtype=float)
    if costs.ndim != 1 or costs.size == 0 or not np.all(np.isfinite(costs)):
        raise ValueError(f"costs must be a non-empty vector of finite numbers, got shape "
                         f"{costs.shape}")
    return np.argsort(costs, kind="stable")


def nested_sizes(n_features: int, sizes) -> np.ndarray:
    """Sizes of the nested sub-bases, increasing and distinct.

    Parameters
    ----------
    n_features : int
    sizes : int or sequence of int
        A count N gives N evenly spaced sizes ending at ``n_features``
        (round(linspace(n/N, n, N)), duplicates dropped); a sequence is used as
        given (each in [1, n_features]), sorted.
    """
    n = int(n_features)
    if np.ndim(sizes) == 0:
        count = check_count(sizes, "sizes", allow_none=False)
        return np.unique(np.maximum(np.round(np.linspace(n / count, n, count)), 1).astype(int))
    arr = np.asarray(sizes)
    if arr.size == 0 or arr.ndim != 1 or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ValueError(f"sizes must be an integer or a non-empty list of integers, got {sizes!r}")
    arr = arr.astype(int)
    if arr.min() < 1 or arr.max() > n:
        raise ValueError(f"sizes must lie in [1, {n}] (the number of columns), got "
                         f"{arr.min()}..{arr.max()}")
    return np.unique(arr)


def subbasis_levels(subbases, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Costs and sizes that make nested column sets the sub-bases of an a-priori path.

    Parameters
    ----------
    subbases : sequence of boolean arrays (n_features,)
        Column sets, each a strict superset of the one before.
    n_features : int

    Returns
    -------
    costs : ndarray (n_features,)
        The index of the first set holding each column (``len(subbases)`` for none).
    sizes : ndarray of int
        The sizes of the sets.
    """
    masks = [np.asarray(m) for m in subbases]
    if not masks:
        raise ValueError("subbases must hold at least one column set")
    costs = np.full(n_features, float(len(masks)))
    previous = np.zeros(n_features, dtype=bool)
    for i, mask in enumerate(masks):
        if mask.shape != (n_features,) or mask.dtype != bool:
            raise ValueError(f"subbases[{i}] must be a boolean mask of {n_features} columns, "
                             f"got {mask.dtype} of shape {mask.shape}")
        if np.any(previous & ~mask) or mask.sum() <= previous.sum():
            raise ValueError(f"subbases[{i}] ({int(mask.sum())} columns) must strictly contain "
                             f"subbases[{i - 1}] ({int(previous.sum())} columns)" if i else
                             "subbases[0] must hold at least one column")
        costs[mask & ~previous] = i
        previous = mask
    return costs, np.array([int(m.sum()) for m in masks])


class NestedProblem:
    """All leading-column sub-problems of a column-permuted problem (see module notes).

    Parameters
    ----------
    problem : LeastSquaresProblem
        Dense or reduced.
    order : array of int
        A permutation of the columns.
    """

    def __init__(self, problem: LeastSquaresProblem, order):
        order = np.asarray(order, dtype=np.intp)
        n = problem.n_features
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of the {n} columns")
        self.order = order
        self.m = problem.m
        self._dense = None
        if not problem.reduced and problem.A.shape[0] < n:
            self._dense = LeastSquaresProblem(A=problem.A[:, order], y=problem.y, m=problem.m)
            return
        qty, self._R = scipy.linalg.qr_multiply(problem.A[:, order], problem.y[None, :],
                                                mode="right")
        self._y = qty[0]
        # what the reduction drops: ||y||^2 - ||Q~^T y||^2 for a dense problem; nothing
        # more for a reduced one, whose Q~ is square
        self._offset = (problem.offset if problem.reduced
                        else max(problem.yty - float(self._y @ self._y), 0.0))
        # ||y~[k:]||^2 for every k, accumulated from the tail
        tail = np.concatenate([np.cumsum((self._y ** 2)[::-1])[::-1], [0.0]])
        self._tail = tail

    def leading(self, k: int) -> LeastSquaresProblem:
        """The problem on the first ``k`` columns of ``order`` (reduced unless m < n)."""
        k = int(k)
        if self._dense is not None:
            return LeastSquaresProblem(A=self._dense.A[:, :k], y=self._dense.y, m=self.m)
        return LeastSquaresProblem(A=self._R[:k, :k], y=self._y[:k], m=self.m,
                                   offset=self._offset + float(self._tail[k]), reduced=True)


def apriori_path(A, y=None, *, costs=None, sizes=10, subbases=None, solver: str = "blr",
                 prior=None, validation=None, on_step=None, patience: int | None = None,
                 **solver_kwargs) -> Path:
    """Fit a dense solver on nested a-priori sub-bases: one step per size and parameter.

    Parameters
    ----------
    A : ndarray (m, n) or LeastSquaresProblem
        The full (already assembled) problem, dense or reduced.
    y : ndarray (m,), optional
    costs : array (n,)
        Smoothness cost gamma_k of each column; columns enter by increasing cost.
    sizes : int or sequence of int
        See :func:`nested_sizes` (default: 10 evenly spaced sizes).
    subbases : sequence of boolean arrays (n,), optional
        Instead of ``costs`` and ``sizes``: nested column sets, fitted in turn (see
        :func:`subbasis_levels`); each step's ``info["subbasis"]`` is its set's index.
    solver : {"blr", "qr", "rrqr", "tsvd"}
    prior : array (n,), optional
        Diagonal Gamma passed (restricted to the sub-basis) to every fit.
    validation : (A_val, y_val), optional
        Full-width validation rows weighted as the training rows are
        (``system.val.weighted()`` of an assembled system, see :mod:`acefit.solvers`);
        each step gets its ``val_error``.
    on_step : callable, optional
        Called with each step as it is finished (e.g. a CheckpointWriter).
    patience : int, optional
        Stop once this many sizes in a row have not lowered the best validation error
        of the sizes before them (each size scored by its best step). Needs
        ``validation``. The sizes left out are the largest, and a dense fit costs
        O(k^3): for BLR they are most of the path's time. The last step then has
        ``info["stop"] = "patience"``.
    **solver_kwargs
        Passed to the solver (e.g. ``lam=1e-3`` for qr); a list of ``lam`` / ``rtol``
        values gives one step per value and size, for the validation set to choose.

    Returns
    -------
    Path
        ``solver = "<solver>_apriori"``; ``step.lam`` and ``step.info`` are those of
        the fit, plus ``info["size"]`` (k).
    """
    if solver not in APRIORI_SOLVERS:
        raise ValueError(f"solver must be one of {sorted(APRIORI_SOLVERS)}, got {solver!r}")
    problem = as_problem(A, y)
    n = problem.n_features
    if (costs is None) == (subbases is None):
        raise ValueError("give exactly one of costs (with sizes) and subbases")
    if subbases is not None:
        costs, sizes = subbasis_levels(subbases, n)
    costs = np.asarray(costs, dtype=float)
    if costs.shape != (n,):
        raise ValueError(f"costs must have one entry per column ({n}), got shape {costs.shape}")
    order = apriori_order(costs)
    ks = nested_sizes(n, sizes)
    gamma = validate_prior(prior, n)
    patience = check_count(patience, "patience")
    if patience is not None and validation is None:
        raise ValueError("patience needs a validation set: it stops the path when the "
                         "validation error stops falling")
    params = {"solver": solver, "sizes": [int(k) for k in ks]}
    if patience is not None:
        params["patience"] = patience
    params.update({k: np.asarray(v).tolist() if np.ndim(v) else v
                   for k, v in solver_kwargs.items()})
    setup = prepare(problem, solver=f"{solver}_apriori", params=params, validation=validation,
                    on_step=on_step)
    setup.path.params["prior"] = gamma is not None
    fit = APRIORI_SOLVERS[solver]
    nested = NestedProblem(problem, order)
    best, worse = np.inf, 0     # best validation error so far; sizes in a row not below it
    for i, k in enumerate(ks):
        sub = nested.leading(k)
        cols = order[:k]
        inner = fit(sub, prior=None if gamma is None else gamma[cols], **solver_kwargs)
        stop = False
        if patience is not None:
            error = min((_val_error(setup, cols, st) for st in inner.steps), default=np.inf)
            best, worse = (error, 0) if error < best else (best, worse + 1)
            stop = worse >= patience and i < len(ks) - 1
        for j, st in enumerate(inner.steps):
            info = dict(st.info)
            info["size"] = int(k)
            if subbases is not None:
                info["subbasis"] = i
            if stop and j == len(inner.steps) - 1:
                info["stop"] = "patience"
            setup.step(cols[st.active], st.coef[st.active], lam=st.lam, info=info,
                       rss=sub.rss(st.coef), scaled=False)
        if stop:
            break
    return setup.path


def _val_error(setup, cols, step) -> float:
    """Validation error of a sub-basis step (NaN counts as no improvement)."""
    coef = np.zeros(setup.n_features)
    coef[cols] = step.coef
    error = setup.val_error(coef, cols[step.active])
    return error if np.isfinite(error) else np.inf


def ard_sweep(A, y=None, *, targets, rel_tol: float = 0.05, max_fits: int = 12,
              threshold_init: float = 1e4, prior=None, validation=None, on_step=None,
              **ard_kwargs) -> Path:
    """ARD solutions with target numbers of active functions, by varying the pruning threshold.

    For each target t (in increasing order) the threshold_lambda of :func:`ard` is
    searched geometrically: a bracket is grown by factors of 100 from the fits
    made so far, then bisected in log(threshold), until a fit has
    |n_active - t| <= rel_tol * t or ``max_fits`` new fits were made for t. All
    fits are cached and shared between targets. The step kept for t is the fit
    nearest to t (ties: the smaller threshold).

    Parameters
    ----------
    A, y : problem, dense or reduced
    targets : sequence of int
        Wanted numbers of active functions (>= 1).
    rel_tol : float
        Relative tolerance on the size (0.05 = +-5%).
    max_fits : int
        Maximum new ARD fits per target.
    threshold_init : float
        First threshold tried.
    prior, validation, on_step : as for :func:`ard`
    **ard_kwargs
        Passed to :func:`ard` (max_iter, tol, hyperprior, beta_init).

    Returns
    -------
    Path
        ``solver = "ard_sweep"``, one step per target in increasing order; each
        step's info adds ``target``, ``hit`` (within tolerance), ``n_fits`` (new
        fits for this target) and ``threshold_lambda``.
    """
    problem = as_problem(A, y)
    tgt = np.asarray(targets)
    if tgt.ndim != 1 or tgt.size == 0 or not np.all(np.equal(np.mod(tgt, 1), 0)) or tgt.min() < 1:
        raise ValueError(f"targets must be a non-empty list of integers >= 1, got {targets!r}")
    tgt = np.unique(tgt.astype(int))
    if tgt.max() > problem.n_features:
        raise ValueError(f"targets must not exceed the number of columns {problem.n_features}, "
                         f"got {tgt.max()}")
    if not 0 <= float(rel_tol) < 1:
        raise ValueError(f"rel_tol must be in [0, 1), got {rel_tol!r}")
    max_fits = check_count(max_fits, "max_fits", allow_none=False)
    gamma = validate_prior(prior, problem.n_features)
    params = {"targets": [int(t) for t in tgt], "rel_tol": float(rel_tol), "max_fits": max_fits}
    params.update({k: v for k, v in ard_kwargs.items() if np.ndim(v) == 0})
    setup = prepare(problem, solver="ard_sweep", params=params, validation=validation,
                    on_step=on_step)
    setup.path.params["prior"] = gamma is not None
    fits: dict[float, object] = {}      # log10(threshold) -> Step

    def fit(logt):
        if logt not in fits:
            fits[logt] = ard(problem, threshold_lambda=10.0 ** logt, prior=gamma,
                             **ard_kwargs).steps[0]
        return fits[logt].n_active

    for t in tgt:
        tol = rel_tol * t
        n_before = len(fits)
        if not fits:
            fit(float(np.log10(threshold_init)))
        while len(fits) - n_before < max_fits:
            keys = sorted(fits)
            sizes = np.array([fits[k].n_active for k in keys])
            if np.any(np.abs(sizes - t) <= tol):
                break
            below = [k for k, s in zip(keys, sizes) if s < t]
            above = [k for k, s in zip(keys, sizes) if s > t]
            if not below:
                fit(min(keys) - 2.0)
            elif not above:
                fit(max(keys) + 2.0)
            else:
                # tightest bracket around t; sizes grow with the threshold
                hi = min(above)
                lo = max([k for k in below if k < hi] or below)
                mid = 0.5 * (lo + hi)
                if mid in fits or abs(hi - lo) < 1e-6:
                    break
                fit(mid)
        keys = sorted(fits)
        best = min(keys, key=lambda k: (abs(fits[k].n_active - t), k))
        st = fits[best]
        info = dict(st.info)
        info.update({"target": int(t), "hit": bool(abs(st.n_active - t) <= tol),
                     "n_fits": len(fits) - n_before, "threshold_lambda": float(10.0 ** best)})
        setup.step(st.active, st.coef[st.active], lam=st.lam, info=info, scaled=False)
    return setup.path
