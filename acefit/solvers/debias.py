"""De-biasing of path steps: refit the coefficients on a step's active set.

An l1 path shrinks the coefficients of its active functions towards zero. Two
refits remove that bias while keeping the selected functions:

* :func:`refit_ls`: the unregularised least-squares fit on the active columns
  (Flaschel et al., "solve the unregularised problem considering only the active
  features"). Rank-deficient active sets get the minimum-norm solution.
* :func:`tsvd_refit`: truncated SVD of the active columns A_S = U S V^T, keeping
  sigma_i > rtol * sigma_1, and x_S = V_k S_k^-1 U_k^T y (Torabi et al.,
  Appendix F). The threshold is either given, or chosen among candidates by the
  validation error.

Both work on a reduced problem: ``problem.columns(active)`` is the exact reduced
form of the sub-problem. :func:`debias_path` applies either to every step of a
path and returns a new path (``solver = "<solver>+ls"`` or ``"<solver>+tsvd"``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from acefit.lsq import LeastSquaresProblem
from acefit.solvers._common import prepare, validate_prior, validate_validation
from acefit.solvers._qr import ActiveQR
from acefit.solvers.path import Path, Step

__all__ = ["refit_ls", "tsvd_refit", "tsvd_terms", "debias_path", "Debiaser",
           "DEFAULT_RTOLS"]

#: Candidate thresholds tried by :func:`tsvd_refit` when choosing by validation.
DEFAULT_RTOLS = tuple(float(10.0 ** -k) for k in range(12, 0, -1)) + (0.0,)


def _check(problem, active) -> np.ndarray:
    if not isinstance(problem, LeastSquaresProblem):
        raise ValueError(
            f"problem must be a LeastSquaresProblem, got {type(problem).__name__}; "
            "wrap arrays with LeastSquaresProblem.from_dense(A, y)")
    active = np.asarray(active, dtype=np.intp).reshape(-1)
    n = problem.n_features
    if active.size and (active.min() < 0 or active.max() >= n):
        raise ValueError(f"active indices must lie in [0, {n}), got {active.min()}..{active.max()}")
    if np.unique(active).size != active.size:
        raise ValueError("active indices must be distinct")
    return active


def refit_ls(problem: LeastSquaresProblem, active) -> tuple[np.ndarray, dict]:
    """Unregularised least squares on the active columns.

    Parameters
    ----------
    problem : LeastSquaresProblem
        Dense or reduced.
    active : sequence of int
        Column indices.

    Returns
    -------
    coef : ndarray (n_features,)
        Zero off ``active``.
    info : dict
        ``{"rank": numerical rank of A_S}``.
    """
    active = _check(problem, active)
    coef = np.zeros(problem.n_features)
    if active.size == 0:
        return coef, {"rank": 0}
    sub = problem.columns(active)
    x, _, rank, _ = scipy.linalg.lstsq(sub.A, sub.y, lapack_driver="gelsd")
    coef[active] = x
    return coef, {"rank": int(rank)}


def tsvd_refit(problem: LeastSquaresProblem, active, *, rtol: float | None = None,
               validation=None, rtols=DEFAULT_RTOLS, prior=None) -> tuple[np.ndarray, dict]:
    """Truncated-SVD refit on the active columns (Torabi et al., Appendix F).

    Parameters
    ----------
    problem : LeastSquaresProblem
        Dense or reduced.
    active : sequence of int
    rtol : float, optional
        Keep singular values sigma_i > rtol * sigma_1. Mutually exclusive with
        ``validation``. Without either, rtol = 1e-6.
    validation : (A_val, y_val), optional
        Choose the truncation by the smallest validation RMS error (ties: the
        lower rank).
    rtols : sequence of float, or "rank"
        Candidates for the validation choice: thresholds in [0, 1], or ``"rank"``
        for every truncation rank 1 ... |S| (as ACEfit's post-ASP TSVD); the
        reported ``rtol`` is then sigma_rank / sigma_1.
    prior : array (n,), optional
        Diagonal Gamma: the SVD is taken of the scaled columns A_S Gamma_S^-1.

    Returns
    -------
    coef : ndarray (n_features,)
    info : dict
        ``rtol`` (used), ``rank`` (singular values kept), ``selected_by``
        ("rtol" or "validation").
    """
    active = _check(problem, active)
    n = problem.n_features
    if rtol is not None and validation is not None:
        raise ValueError("give tsvd_refit an rtol or a validation set, not both")
    gamma = validate_prior(prior, n)
    val = validate_validation(validation, n)
    every_rank = val is not None and isinstance(rtols, str)
    if every_rank and rtols != "rank":
        raise ValueError(f"rtols must be a sequence of thresholds or 'rank', got {rtols!r}")
    cands = np.asarray([1e-6 if rtol is None else rtol] if val is None
                       else [0.0] if every_rank else rtols, dtype=float)
    if cands.ndim != 1 or cands.size == 0 or np.any(~np.isfinite(cands)) \
            or np.any((cands < 0) | (cands > 1)):
        raise ValueError(f"rtol values must lie in [0, 1], got {cands}")
    coef = np.zeros(n)
    if active.size == 0:
        return coef, {"rtol": float(cands[0]), "rank": 0,
                      "selected_by": "rtol" if val is None else "validation"}
    scale = None if gamma is None else gamma[active]
    s, Vt, uty = _scaled_svd(problem, active, scale)
    A_val = None if val is None else val[0][:, active]
    if every_rank:
        terms = _rank_terms(s, Vt, uty, scale)
        rank = _best_rank(terms, A_val, val[1])
        coef[active] = terms[:, :rank].sum(axis=1)  # the rank-k refit (tsvd_terms)
        return coef, {"rtol": float(s[rank - 1] / s[0]) if rank else 0.0, "rank": rank,
                      "selected_by": "validation"}
    best = None
    for r in sorted(cands, reverse=True):
        keep = s > r * s[0]
        x = Vt[keep].T @ (uty[keep] / s[keep])
        if scale is not None:
            x = x / scale
        if val is None:
            best = (0.0, r, int(keep.sum()), x)
            break
        res = val[1] - A_val @ x
        err = float(np.sqrt(res @ res / res.size))
        if best is None or err < best[0]:
            best = (err, r, int(keep.sum()), x)
    _, r, rank, x = best
    coef[active] = x
    return coef, {"rtol": float(r), "rank": rank,
                  "selected_by": "rtol" if val is None else "validation"}


def tsvd_terms(problem: LeastSquaresProblem, active, prior=None):
    """The TSVD refits of every rank on ``active``, as partial sums (see :func:`tsvd_refit`).

    Returns
    -------
    s : ndarray
        The nonzero singular values of the (prior-scaled) active columns, decreasing.
    terms : ndarray (len(active), len(s))
        Column j is V_j u_j^T y / s_j in the unscaled coefficients of ``active``; the
        rank-k refit is the sum of the first k columns.
    """
    active = _check(problem, active)
    gamma = validate_prior(prior, problem.n_features)
    scale = None if gamma is None else gamma[active]
    s, Vt, uty = _scaled_svd(problem, active, scale)
    return s[s > 0], _rank_terms(s, Vt, uty, scale)


def _scaled_svd(problem, active, scale):
    """(s, V^T, U^T y) of the sub-problem's columns A_S, divided by ``scale`` if given."""
    sub = problem.columns(active)
    As = sub.A if scale is None else sub.A / scale
    U, s, Vt = scipy.linalg.svd(As, full_matrices=False, lapack_driver="gesdd")
    return s, Vt, U.T @ sub.y


def _rank_terms(s, Vt, uty, scale):
    keep = s > 0
    terms = Vt[keep].T * (uty[keep] / s[keep])
    return terms if scale is None else terms / scale[:, None]


def _best_rank(terms, A_val, y_val, chunk=4096) -> int:
    """The truncation rank k whose validation RMS error is smallest (first on ties).

    The rank-k coefficients are the partial sums of the ``terms`` (:func:`tsvd_terms`),
    so the validation predictions of every k are the cumulative sums of those terms'
    predictions, taken over row blocks to bound memory.
    """
    if terms.shape[1] == 0:
        return 0
    sq = np.zeros(terms.shape[1])
    for start in range(0, A_val.shape[0], chunk):
        pred = np.cumsum(A_val[start:start + chunk] @ terms, axis=1)
        sq += ((y_val[start:start + chunk, None] - pred) ** 2).sum(axis=0)
    return int(np.argmin(sq)) + 1


class _IncrementalLS:
    """Least-squares coefficients on a sequence of active sets, updated column by column.

    Consecutive steps of a path differ by a few columns, so one :class:`ActiveQR`
    of the (scaled) square form follows them with Givens deletions and appends:
    O(n k) per changed column instead of a new O(n k^2) factorisation per step.
    A column that is numerically in the span of the others is refused and keeps
    coefficient 0 (a basic, not minimum-norm, solution); it is offered again at
    every later step while it stays active.
    """

    def __init__(self, setup):
        A, y, self.offset = setup.square_form()
        self.qr = ActiveQR(A, y, setup.gram())

    def __call__(self, active) -> tuple[np.ndarray, float]:
        """(coefficients in the scaled variables, in ``active``'s order; rss)."""
        wanted = set(int(j) for j in active)
        for p in reversed([p for p, j in enumerate(self.qr.active) if j not in wanted]):
            self.qr.delete(p)
        have = set(self.qr.active)
        for j in active:
            if int(j) not in have:
                self.qr.append(int(j))
        position = {int(j): i for i, j in enumerate(active)}
        values = np.zeros(len(active))
        values[[position[j] for j in self.qr.active]] = self.qr.coef
        return values, float(self.qr.r @ self.qr.r) + self.offset


class Debiaser:
    """Refits path steps one at a time, in path order (see :func:`debias_path`).

    ``debiaser(step)`` returns the refitted step and appends it to ``debiaser.path``.
    With method "ls", consecutive calls reuse one QR of the active columns.

    Parameters
    ----------
    problem : LeastSquaresProblem
        The training problem the steps were computed from (dense or reduced).
    method : {"ls", "tsvd"}
        As for :func:`debias_path`.
    path_solver : str
        The solver of the steps' path: the new path's solver is
        ``path_solver + "+" + method``.
    params : dict, optional
        The steps' path's parameters; the new path's are these plus ``debias`` (and,
        for "tsvd", ``debias_rtol`` and, choosing among every rank,
        ``debias_truncation``).
    rtol : float, optional
        TSVD threshold (default 1e-6 unless chosen by validation).
    validation : (A_val, y_val), optional
        Gives each new step its ``val_error``.
    rtols : sequence of float, or "rank"
        Candidates of the validation choice of the threshold (:func:`tsvd_refit`).
    select_rtol_by_validation : bool, default False
        Choose each step's TSVD threshold among ``rtols`` by the validation error;
        needs method "tsvd", ``validation`` and no ``rtol``.
    prior : array (n,), optional
        Gamma for the TSVD scaling and the QR's dependence test.
    on_step : callable, optional
        Called with each new step as it is made.

    Raises
    ------
    ValueError
        For an unknown method, a problem that is no :class:`LeastSquaresProblem`, or
        ``select_rtol_by_validation`` without what it needs.
    """

    def __init__(self, problem: LeastSquaresProblem, method: str = "ls", *,
                 path_solver: str = "path", params: dict | None = None,
                 rtol: float | None = None, validation=None, rtols=DEFAULT_RTOLS,
                 select_rtol_by_validation: bool = False, prior=None, on_step=None):
        if method not in ("ls", "tsvd"):
            raise ValueError(f"method must be 'ls' or 'tsvd', got {method!r}")
        if not isinstance(problem, LeastSquaresProblem):
            raise ValueError(
                f"problem must be a LeastSquaresProblem, got {type(problem).__name__}")
        if select_rtol_by_validation and (method != "tsvd" or validation is None
                                          or rtol is not None):
            raise ValueError(
                "select_rtol_by_validation needs method='tsvd', a validation set and no rtol")
        params = dict(params or {})
        params["debias"] = method
        if method == "tsvd":
            params["debias_rtol"] = "validation" if select_rtol_by_validation else (
                1e-6 if rtol is None else float(rtol))
            if select_rtol_by_validation and isinstance(rtols, str):
                params["debias_truncation"] = rtols
        self.problem, self.method, self.prior = problem, method, prior
        self.rtol, self.rtols, self.by_validation = rtol, rtols, select_rtol_by_validation
        self.setup = prepare(problem, solver=f"{path_solver}+{method}", params=params,
                             prior=prior, validation=validation, on_step=on_step)
        self._ls = _IncrementalLS(self.setup) if method == "ls" else None

    @property
    def path(self) -> Path:
        return self.setup.path

    def __call__(self, step) -> Step:
        n = self.problem.n_features
        if np.shape(step.coef) != (n,):
            raise ValueError(f"a step with {np.size(step.coef)} coefficients; the problem has "
                             f"{n} columns")
        active = np.asarray(step.active, dtype=np.intp)
        info = dict(step.info)
        info.update({"debias": self.method, "biased_train_error": step.train_error,
                     "biased_val_error": step.val_error})
        if self.method == "ls":
            values, rss = self._ls(active)
            info["rank"] = len(self._ls.qr)
            return self.setup.step(active, values, lam=step.lam, rss=rss, info=info)
        coef, extra = tsvd_refit(
            self.problem, active, prior=self.prior, rtols=self.rtols,
            rtol=None if self.by_validation else self.rtol,
            validation=self.setup.validation if self.by_validation else None)
        info.update(extra)
        return self.setup.step(active, coef[active], lam=step.lam, info=info, scaled=False)


def debias_path(path: Path, problem: LeastSquaresProblem, method: str = "ls", *,
                rtol: float | None = None, validation=None, rtols=DEFAULT_RTOLS,
                select_rtol_by_validation: bool = False, prior=None, on_step=None) -> Path:
    """Refit every step of a path on its active set.

    Parameters
    ----------
    path : Path
        Steps whose ``active`` sets are kept (their order too).
    problem : LeastSquaresProblem
        The training problem the path was computed from (dense or reduced).
    method : {"ls", "tsvd"}
        Least squares on the active columns (as :func:`refit_ls`, but updated from
        step to step; a numerically dependent column gets 0 instead of a share of
        the minimum-norm solution), or :func:`tsvd_refit`.
    rtol : float, optional
        TSVD threshold (default 1e-6 unless chosen by validation).
    validation : (A_val, y_val), optional
        Gives each new step its ``val_error``; with ``select_rtol_by_validation``
        (method "tsvd") it also chooses rtol per step among ``rtols``, in which
        case the reported validation error is the one minimised.
    rtols : sequence of float, or "rank"
        The candidates of the validation choice, as :func:`tsvd_refit` takes them:
        thresholds in [0, 1] (default :data:`DEFAULT_RTOLS`), or ``"rank"`` for every
        truncation rank. Read only with ``select_rtol_by_validation``.
    select_rtol_by_validation : bool, default False
        Choose the TSVD threshold of each step among ``rtols`` by the validation
        error; needs method "tsvd", ``validation`` and no ``rtol``.
    prior : array (n,), optional
        Gamma for the TSVD scaling and for the QR's dependence test (the "ls"
        coefficients do not depend on it otherwise).
    on_step : callable, optional
        Called with each new step as it is made (the checkpoint writer).

    Returns
    -------
    Path
        ``solver = path.solver + "+" + method``; ``params`` are the original ones
        plus ``debias``; each step keeps ``active`` and ``lam`` and its info gains
        ``debias``, ``rank``, the TSVD ``rtol`` and ``biased_train_error`` /
        ``biased_val_error`` (the errors before the refit).
    """
    debiaser = Debiaser(problem, method, path_solver=path.solver, params=path.params,
                        rtol=rtol, validation=validation, rtols=rtols,
                        select_rtol_by_validation=select_rtol_by_validation, prior=prior,
                        on_step=on_step)
    for i, step in enumerate(path.steps):
        try:
            debiaser(step)
        except ValueError as exc:
            raise ValueError(f"step {i} of path '{path.solver}': {exc}") from None
    return debiaser.path
