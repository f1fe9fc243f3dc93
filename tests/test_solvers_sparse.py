"""Sparse path solvers: ASP, OMP, LARS-LASSO, CD lasso, ISTA/FISTA."""

import sys

import numpy as np
import pytest
from _problems import correlated_problem, random_problem
from sklearn.linear_model import lars_path, orthogonal_mp

from acefit.design import DesignBlock
from acefit.lsq import LeastSquaresProblem
from acefit.solvers import asp, cd_lasso, ista, lars_lasso, omp

SOLVERS = {
    "asp": asp,
    "omp": omp,
    "lars_lasso": lars_lasso,
    "cd_lasso": lambda *a, **k: cd_lasso(*a, n_lams=60, **k),
    "ista": lambda *a, **k: ista(*a, n_lams=60, **k),
}
L1_SOLVERS = ["asp", "lars_lasso", "cd_lasso", "ista"]


def kkt_violation(A, y, coef, lam, weights=None):
    """Max violation of the weighted-lasso optimality conditions, relative to lam."""
    w = np.ones(A.shape[1]) if weights is None else weights
    g = A.T @ (y - A @ coef)
    on = coef != 0
    v_on = np.abs(g[on] - lam * w[on] * np.sign(coef[on])).max(initial=0.0)
    v_off = np.maximum(np.abs(g[~on]) - lam * w[~on], 0).max(initial=0.0)
    return max(v_on, v_off) / lam


# --- agreement with references ------------------------------------------------------

def test_asp_and_lars_lasso_agree_with_sklearn_lars_path():
    A, y, _ = random_problem()
    m = A.shape[0]
    alphas, _, coefs = lars_path(A, y, method="lasso")
    p_asp, p_lars = asp(A, y), lars_lasso(A, y)
    events = [s.info["event"] for s in p_asp]
    assert "drop" in events, "this problem is chosen so that the path drops a column"
    assert len(p_asp) == len(p_lars) == len(alphas)
    for k, (s_asp, s_lars) in enumerate(zip(p_asp, p_lars)):
        np.testing.assert_allclose(s_asp.coef, coefs[:, k], atol=1e-8, rtol=0)
        np.testing.assert_allclose(s_lars.coef, coefs[:, k], atol=1e-8, rtol=0)
        assert s_asp.lam == pytest.approx(m * alphas[k], abs=1e-8)
        assert s_lars.lam == pytest.approx(m * alphas[k], abs=1e-8)
        assert set(s_asp.active) == set(np.flatnonzero(coefs[:, k]))
        assert s_asp.info["event"] == s_lars.info["event"] or k == len(alphas) - 1
        assert s_asp.info["index"] == s_lars.info["index"] or k == len(alphas) - 1
    # every step is a lasso solution at its own lam
    for s in p_asp.steps[1:-1]:
        assert kkt_violation(A, y, s.coef, s.lam) < 1e-8


@pytest.mark.parametrize("case", ["underdetermined", "correlated"])
def test_asp_matches_sklearn_on_hard_paths(case):
    if case == "underdetermined":
        rng = np.random.default_rng(5)
        A, y = rng.standard_normal((40, 100)), rng.standard_normal(40)
    else:
        A, y = correlated_problem()
    alphas, _, coefs = lars_path(A, y, method="lasso")
    path = asp(A, y)
    # scikit-learn stops once every column is active; ASP takes the last step to lam = 0
    assert len(alphas) <= len(path) <= len(alphas) + 1
    assert sum(s.info["event"] == "drop" for s in path) >= 2
    for k in range(len(alphas)):
        np.testing.assert_allclose(path.steps[k].coef, coefs[:, k], atol=1e-9, rtol=0)
    assert path.steps[-1].lam == 0.0 and path.steps[-1].n_active == min(A.shape)


def test_lars_lasso_marks_critical_values():
    A, y = correlated_problem()
    path = lars_lasso(A, y)
    sizes = path.sizes
    critical = [k for k, s in enumerate(path) if s.info["critical"]]
    assert len(critical) < len(path)  # the drops make some knots non-critical
    assert np.all(np.diff(sizes[critical]) > 0)
    for k in critical:  # below a critical value the support is always larger
        assert np.all(sizes[k + 1:] > sizes[k])
    # the whole path, to lam = 0 with every column active, as asp (scikit-learn's absolute
    # floor, lam <= 1.2e-7 rows, ended it at 149 of 150 columns, "degenerate")
    assert path.steps[-1].lam == 0 and path.steps[-1].info["critical"]
    assert path.steps[-1].n_active == A.shape[1] and "stop" not in path.steps[-1].info
    for k in set(range(len(path) - 1)) - set(critical):
        assert np.any(sizes[k + 1:] <= sizes[k]) or any(
            np.count_nonzero(path.steps[j].coef + path.steps[j + 1].coef) <= sizes[k]
            for j in range(k, len(path) - 1))


@pytest.mark.parametrize("refresh", [1, 3, 100])
def test_active_qr_updates_match_refactorisation(refresh):
    from acefit.solvers._qr import ActiveQR

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 12)) * np.logspace(0, -6, 12)
    y = rng.standard_normal(30)
    qr = ActiveQR(X, y, X.T @ X, refresh=refresh, capacity=2)
    for j in [3, 7, 0, 11, 5, 9, 2]:
        assert qr.append(j)
    for p in [2, 0, 3, 3]:
        qr.delete(p)
        S = qr.active
        Q = qr.Q.cols
        np.testing.assert_allclose(Q.T @ Q, np.eye(len(S)), atol=1e-14)
        np.testing.assert_allclose(Q @ qr.R, X[:, S], atol=1e-14)
        assert np.allclose(qr.R, np.triu(qr.R))
        np.testing.assert_allclose(qr.P.cols, X.T @ Q, atol=1e-13)
        np.testing.assert_allclose(qr.z, Q.T @ y, atol=1e-14)
        np.testing.assert_allclose(qr.r, y - Q @ qr.z, atol=1e-14)
        ref, *_ = np.linalg.lstsq(X[:, S], y, rcond=None)
        np.testing.assert_allclose(qr.coef, ref, rtol=1e-8)
    assert not qr.append(qr.active[0])  # an active column is dependent
    np.testing.assert_allclose(qr.coordinates(qr.active[1]), np.eye(len(qr))[1], atol=1e-10)


def test_active_qr_delete_carries_coordinates_and_the_product_update():
    """A carried u (coordinates in Q) comes back as the coordinates of Q Q'u in the
    new basis, and P u - column * along is the new P times them: ASP's O(n) update."""
    from acefit.solvers._qr import ActiveQR

    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 15))
    qr = ActiveQR(X, rng.standard_normal(40), X.T @ X, refresh=1)
    for j in [4, 1, 9, 13, 6, 0]:
        assert qr.append(j)
    for p in [1, 0, 3]:
        u = rng.standard_normal(len(qr))
        Qu, Pu = qr.Q.cols @ u, qr.P.cols @ u
        column, (along,) = qr.delete(p, carry=(u,))
        Q = qr.Q.cols
        kept = np.linalg.lstsq(Q, Qu, rcond=None)[0]  # the part of Qu left in the span
        np.testing.assert_allclose(Pu - column * along, qr.P.cols @ kept, atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(Qu - Q @ kept), abs(along), atol=1e-12)


def test_omp_agrees_with_sklearn_orthogonal_mp():
    A, y, _ = random_problem(m=80, n=50, k=8)
    ref = orthogonal_mp(A, y, n_nonzero_coefs=25, return_path=True)
    path = omp(A, y, max_active=25)
    assert path.sizes.tolist() == list(range(26))
    for k in range(25):
        np.testing.assert_allclose(path.steps[k + 1].coef, ref[:, k], atol=1e-10, rtol=0)


def ill_conditioned_problem(m=200, n=100, seed=1):
    """Near-dependent column pairs (1e-3 apart) at scales decaying over 4 decades."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((m, n // 2))
    A = np.hstack([B, B + 1e-3 * rng.standard_normal(B.shape)]) * np.logspace(0, -4, n)
    y = 1e3 * A[:, :40] @ rng.standard_normal(40) + 1e-3 * rng.standard_normal(m)
    return A[:150], y[:150], (A[150:], y[150:])


@pytest.mark.parametrize("reduced", [False, True])
def test_omp_errors_stay_exact_on_an_ill_conditioned_problem(reduced):
    # The Gram-Cholesky OMP reported training errors here that rose along the path
    # and were 0.7% off the true residual (rss by cancellation, cond squared).
    A, y, val = ill_conditioned_problem()
    problem = LeastSquaresProblem.from_dense(A, y, reduce=reduced)
    path = omp(problem, validation=val)
    assert len(path) == A.shape[1] + 1  # every column enters: none is truly dependent
    train = np.array([s.train_error for s in path.steps])
    assert np.all(np.diff(train) <= 1e-12 * train[0])
    true = np.array([np.sqrt(np.mean((y - A @ s.coef) ** 2)) for s in path.steps])
    # a reduced problem's rss carries its offset ||y||^2 - ||Q'y||^2, itself a difference
    # (here rss is 1e-13 of ||y||^2), so it is exact only to about eps ||y||^2 / rss
    np.testing.assert_allclose(train, true, rtol=1e-2 if reduced else 1e-8)
    assert np.all(np.isfinite([s.val_error for s in path.steps]))


def resolvable_kkt_violation(A, y, coef, lam):
    """Max lasso-KKT violation beyond what rounding of A'(y - Ac) can resolve, over lam."""
    g = A.T @ (y - A @ coef)
    noise = 1e3 * np.finfo(float).eps * (np.abs(A).T @ (np.abs(y) + np.abs(A) @ np.abs(coef)))
    on = coef != 0
    v = np.where(on, np.abs(g - lam * np.sign(coef)), np.maximum(np.abs(g) - lam, 0.0))
    return float(np.max(np.maximum(v - noise, 0.0))) / lam


def test_asp_spans_many_decades_of_lambda():
    # columns scaled over 10 decades, as a smoothness prior scales them: lam runs from
    # lam_max to below 1e-15 lam_max, and rounding tolerances tied to lam_max ended the
    # path early (at 1e-12 lam_max, 44 of 60 active)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((120, 60)) * np.logspace(0, -10, 60)
    y = A @ rng.standard_normal(60) + 1e-3 * rng.standard_normal(120)
    path = asp(A, y, max_active=55)
    assert len(path.steps[-1].active) == 55
    assert path.lams[-1] < 1e-13 * path.lams[0]
    assert all(s.info["event"] in ("start", "add", "drop") for s in path)
    for s in path.steps[1:]:
        assert resolvable_kkt_violation(A, y, s.coef, s.lam) < 1e-6
    ref_alphas, _, ref_coefs = lars_path(A, y, method="lasso", max_iter=30)
    assert len(ref_alphas) >= 15  # sklearn stops early where alpha is no longer controlled
    for k in range(1, len(ref_alphas)):  # and agrees where its own path is reliable
        np.testing.assert_allclose(path.steps[k].lam, ref_alphas[k] * len(y), rtol=1e-8)
        np.testing.assert_allclose(path.steps[k].coef, ref_coefs[:, k], rtol=1e-6,
                                   atol=1e-9 * np.abs(ref_coefs[:, k]).max())


@pytest.mark.parametrize("seed", range(3))
def test_asp_swaps_in_a_column_that_lies_in_the_active_span(seed):
    # a_40 is a combination of a_0, a_1, a_2 (to 1e-9) and carries most of y: the
    # lasso path needs it while they are active. A Cholesky update has to refuse it
    # for good, and its correlation then ran past lam; a swap keeps the path exact.
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((100, 40))
    dependent = A[:, :3] @ np.array([0.9, 0.8, -0.7]) + 1e-9 * rng.standard_normal(100)
    A = np.column_stack([A, dependent])
    y = A[:, [40, 5, 6, 7]] @ np.array([3.0, 1.0, -1.0, 0.5]) + 0.05 * rng.standard_normal(100)
    path = asp(A, y)
    swaps = [s for s in path if s.info["event"] == "swap"]
    group = {0, 1, 2, 40}  # any three of them span the fourth
    assert swaps and all({s.info["index"], s.info["dropped"]} <= group for s in swaps)
    assert any(40 in s.active for s in path)
    assert not any(group <= set(s.active) for s in path)
    for s in path.steps[1:]:
        if s.lam > 0:
            assert resolvable_kkt_violation(A, y, s.coef, s.lam) < 1e-6
    assert path.steps[-1].n_active == 40  # the full-rank least-squares fit


def test_asp_stops_where_rounding_swamps_lambda():
    # near-dependent pairs over 10 decades: below ~1e-16 lam_max the Gram correlations
    # no longer resolve lam; the path must stop there, flagged, not at a fixed ratio
    rng = np.random.default_rng(0)
    B = rng.standard_normal((120, 40))
    A = np.hstack([B, B + 1e-3 * rng.standard_normal(B.shape)]) * np.logspace(0, -10, 80)
    y = A @ rng.standard_normal(80) + 1e-3 * rng.standard_normal(120)
    path = asp(A, y)
    last = path.steps[-1]
    assert last.info.get("stop") == "unresolved_lambda" and last.lam > 0
    assert not any("stop" in s.info for s in path.steps[:-1])
    assert last.lam < 1e-14 * path.lams[0]
    assert np.all(np.diff(path.lams) <= 0)


@pytest.mark.parametrize("case", ["duplicates", "low_rank"])
def test_asp_ends_at_lambda_zero_once_the_active_set_spans_the_columns(case):
    # Once the active set spans every column (the rank of duplicated or dependent columns),
    # no column can bind before lam = 0; ASP went on to breakpoints made of rounding, at
    # ~1e-16 lam_max, and ended "unresolved_lambda" there
    rng = np.random.default_rng(6 if case == "duplicates" else 50)
    B = rng.standard_normal((20 if case == "duplicates" else 10, 8))
    if case == "duplicates":   # a prior makes each pair parallel, of different lengths
        A, prior = np.column_stack([B, B]), np.linspace(1, 5, 16)
        y = B[:, :2] @ [1.0, -2.0] + 0.01 * rng.standard_normal(20)
    else:
        A, prior = B @ rng.standard_normal((8, 16)), None
        y = B @ rng.standard_normal(8)
    path = asp(A, y, prior=prior)
    last = path.steps[-1]
    assert last.info == {"event": "zero_lambda", "index": -1} and last.lam == 0
    assert last.n_active == np.linalg.matrix_rank(A) == 8
    assert np.all(path.lams[1:-1] > 1e-12 * path.lams[0])
    rms = np.sqrt(np.mean((y - A @ np.linalg.lstsq(A, y, rcond=None)[0]) ** 2))
    assert last.train_error == pytest.approx(rms, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("max_active", [12, None])
def test_omp_says_why_it_ends_short_of_max_active(max_active):
    # Walk-through 5 (session 34), L2: the quickstart's OMP asked for 5000 functions ended
    # at 641 of 676 (the numerical rank) with no stop reason. Without max_active, the end
    # of the columns that can enter is the path's documented end, not an early one.
    rng = np.random.default_rng(3)
    B = rng.standard_normal((30, 8))
    A = B @ rng.standard_normal((8, 16))
    y = rng.standard_normal(30)
    path = omp(A, y, max_active=max_active)
    assert path.steps[-1].n_active == np.linalg.matrix_rank(A) == 8
    assert path.steps[-1].info.get("stop") == ("spanned" if max_active else None)
    assert all("stop" not in s.info for s in path.steps[:-1])
    assert "stop" not in omp(A, y, max_active=5).steps[-1].info   # reached: not early


@pytest.mark.parametrize("reduced", [False, True])
def test_omp_stops_once_the_fit_is_exact(reduced):
    # y = 3 a_2 is fitted at step 1; OMP went on choosing columns by correlations of
    # 1e-14 (rounding), with coefficients of 4e-16, and said nothing
    rng = np.random.default_rng(7)
    B = rng.standard_normal((40, 12))
    problem = LeastSquaresProblem.from_dense(B, 3.0 * B[:, 2], reduce=reduced)
    for prior in (None, np.linspace(0.5, 3.0, 12)):
        path = omp(problem, max_active=5, prior=prior)
        assert len(path) == 2 and list(path.steps[-1].active) == [2]
        assert path.steps[-1].info["stop"] == "spanned"
        assert path.steps[-1].coef[2] == pytest.approx(3.0, rel=1e-14)
    assert len(omp(problem)) == 2   # without max_active the path ends there too


def test_path_gives_its_errors_per_step_and_select_picks_from_them():
    # session 34 Python walk-through, D12: only sizes and lams were arrays
    from acefit.selection import select

    A, y, _ = random_problem()
    rng = np.random.default_rng(0)
    val = (rng.standard_normal((15, A.shape[1])), rng.standard_normal(15))
    path = omp(A, y, max_active=8, validation=val)
    np.testing.assert_array_equal(path.val_errors, [s.val_error for s in path.steps])
    np.testing.assert_array_equal(path.train_errors, [s.train_error for s in path.steps])
    k = int(np.argmin(np.where(path.sizes <= 5, path.val_errors, np.inf)))
    assert select(path, "best_val", max_active=5) is path.steps[k]
    assert np.isnan(omp(A, y, max_active=3).val_errors).all()


def test_cd_and_ista_at_lambda_match_the_lasso_path():
    A, y, _ = random_problem()
    knots = asp(A, y).lams
    lam = 0.6 * knots[8] + 0.4 * knots[9]  # between two knots
    exact = asp(A, y, min_lambda=lam).steps[-1]
    assert exact.lam == pytest.approx(lam) and exact.info["event"] == "min_lambda"
    assert lars_lasso(A, y, min_lambda=lam).steps[-1].lam == pytest.approx(lam)
    np.testing.assert_allclose(lars_lasso(A, y, min_lambda=lam).steps[-1].coef, exact.coef,
                               atol=1e-8)
    cd = cd_lasso(A, y, lam=lam)
    assert len(cd) == 1 and cd.steps[0].lam == lam
    assert 0 <= cd.steps[0].info["gap"] < 1e-8 * (y @ y)
    np.testing.assert_allclose(cd.steps[0].coef, exact.coef, atol=1e-7)
    for accelerate in (True, False):
        fista = ista(A, y, lam=lam, accelerate=accelerate).steps[0]
        assert fista.info["converged"]
        np.testing.assert_allclose(fista.coef, exact.coef, atol=1e-6)
    # the CD path (warm starts) passes through the same solution
    cd_path = cd_lasso(A, y, lams=[knots[0], knots[3], lam])
    np.testing.assert_allclose(cd_path.steps[-1].coef, exact.coef, atol=1e-7)


# --- recovery, reduced form, prior --------------------------------------------------------

@pytest.mark.parametrize("name", list(SOLVERS))
def test_recovers_planted_sparse_vector(name):
    A, y, x = random_problem(m=200, n=60, k=5, noise=0.01, seed=3)
    path = SOLVERS[name](A, y)
    truth = set(np.flatnonzero(x))
    hits = [s for s in path if set(s.active) == truth]
    assert hits, f"{name} never has the planted support {sorted(truth)}"
    # the planted support is found in the sparse part of the path: no false column first
    first = next(s for s in path if s.n_active == len(truth))
    assert set(first.active) == truth


@pytest.mark.parametrize("name", list(SOLVERS))
def test_reduced_problem_gives_the_same_path(name):
    A, y, _ = random_problem(m=70, n=30, seed=5)
    dense = SOLVERS[name](A, y, max_active=20)
    reduced = SOLVERS[name](LeastSquaresProblem.from_dense(A, y, reduce=True), max_active=20)
    assert dense.sizes.tolist() == reduced.sizes.tolist()
    for a, b in zip(dense, reduced):
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-6 if name == "ista" else 1e-9)
        assert a.train_error == pytest.approx(b.train_error, rel=1e-6, abs=1e-9)
        assert list(a.active) == list(b.active)


@pytest.mark.parametrize("name", L1_SOLVERS)
def test_prior_is_a_weighted_l1_penalty(name):
    A, y, _ = random_problem(seed=7)
    gamma = np.random.default_rng(1).uniform(0.5, 2.0, A.shape[1])
    path = SOLVERS[name](A, y, prior=gamma, max_active=12)
    tol = 1e-5 if name == "ista" else 1e-6
    checked = 0
    for s in path.steps[1:]:
        # optimality of min ||y - Ac||^2/2 + lam sum_k gamma_k |c_k| in the caller's variables
        assert kkt_violation(A, y, s.coef, s.lam, gamma) < tol
        checked += 1
    assert checked >= 5
    if name == "asp":  # and the same as solving on A / gamma and mapping back
        scaled = asp(A / gamma, y, max_active=12)
        for a, b in zip(path, scaled):
            np.testing.assert_allclose(a.coef, b.coef / gamma, atol=1e-10)


def test_omp_prior_changes_selection_but_not_the_fit():
    A, y, _ = random_problem(seed=7)
    gamma = np.random.default_rng(1).uniform(0.5, 2.0, A.shape[1])
    path = omp(A, y, prior=gamma, max_active=10)
    reference = omp(A / gamma, y, max_active=10)
    for s, r in zip(path, reference):
        assert list(s.active) == list(r.active)
        if s.n_active:
            c, *_ = np.linalg.lstsq(A[:, s.active], y, rcond=None)
            np.testing.assert_allclose(s.coef[s.active], c, atol=1e-10)


# --- Huber ----------------------------------------------------------------------------

def test_huber_ista_resists_corrupted_labels():
    rng = np.random.default_rng(11)
    m, n = 200, 30
    A = rng.standard_normal((m, n))
    x = np.zeros(n)
    x[[2, 7, 11, 19]] = [2.0, -1.5, 1.0, 3.0]
    y = A @ x + 0.05 * rng.standard_normal(m)
    y[:10] += rng.choice([-1, 1], 10) * 30.0  # 5 % grossly wrong labels
    err = {}
    for loss, delta in (("least_squares", None), ("huber", 0.2)):
        path = ista(A, y, loss=loss, delta=delta, n_lams=30)
        err[loss] = min(np.linalg.norm(s.coef - x) for s in path)
    assert err["huber"] < 0.1
    assert err["huber"] < 0.1 * err["least_squares"]


def test_huber_needs_dense_problem():
    A, y, _ = random_problem()
    with pytest.raises(ValueError, match="Huber"):
        ista(LeastSquaresProblem.from_dense(A, y, reduce=True), loss="huber", delta=1.0)
    with pytest.raises(ValueError, match="loss"):
        ista(A, y, loss="absolute")
    # delta, the Huber threshold: needed with Huber, refused without it (as in the config)
    with pytest.raises(ValueError, match="delta with loss='huber' is required"):
        ista(A, y, loss="huber")
    with pytest.raises(ValueError, match="delta with loss='huber' must be a finite number > 0"):
        ista(A, y, loss="huber", delta=0.0)
    with pytest.raises(ValueError, match="allowed: loss='huber', or delta=None"):
        ista(A, y, delta=1.0)


def test_ista_ls_debias_refits_active_set():
    A, y, _ = random_problem()
    path = ista(A, y, n_lams=15, debias="ls")
    for s in path.steps[1:]:
        c, *_ = np.linalg.lstsq(A[:, s.active], y, rcond=None)
        np.testing.assert_allclose(s.coef[s.active], c, atol=1e-9)
        assert s.train_error <= s.info["l1_train_error"] + 1e-12


# --- callbacks, validation, stopping rules ---------------------------------------------

@pytest.mark.parametrize("name", list(SOLVERS))
def test_on_step_in_order_and_validation_errors(name):
    A, y, x = random_problem(m=90, seed=2)
    A_val, y_val = A[60:], y[60:]
    seen = []
    path = SOLVERS[name](A[:60], y[:60], validation=(A_val, y_val), on_step=seen.append,
                         max_active=10)
    assert len(seen) == len(path) > 2
    assert all(a is b for a, b in zip(seen, path.steps))
    for s in path:
        r_val = y_val - A_val @ s.coef
        assert s.val_error == pytest.approx(np.sqrt(np.mean(r_val ** 2)), rel=1e-10)
        r = y[:60] - A[:60] @ s.coef
        assert s.train_error == pytest.approx(np.sqrt(np.mean(r ** 2)), rel=1e-6, abs=1e-10)
        assert np.all(s.coef[np.setdiff1d(np.arange(A.shape[1]), s.active)] == 0)
    assert path.sizes.max() <= 10 and path.sizes[-1] == 10
    assert np.all(np.diff(path.lams[np.isfinite(path.lams)]) <= 0)


@pytest.mark.parametrize("name", ["asp", "omp", "lars_lasso"])
def test_tol_stops_at_relative_residual(name):
    A, y, _ = random_problem(m=100, n=40, noise=0.01)
    path = SOLVERS[name](A, y, tol=0.05)
    last = path.steps[-1]
    assert last.train_error * np.sqrt(100) <= 0.05 * np.linalg.norm(y) + 1e-12
    assert all(s.train_error * 10 > 0.05 * np.linalg.norm(y) for s in path.steps[:-1])


def test_asp_min_lambda_above_lambda_max_gives_zero_step():
    A, y, _ = random_problem()
    path = asp(A, y, min_lambda=1e9)
    assert len(path) == 1 and path.steps[0].n_active == 0
    # the solution at exactly min_lambda, as documented and as lars gives (it said lam_max)
    assert path.steps[0].lam == 1e9 == lars_lasso(A, y, min_lambda=1e9).steps[-1].lam



@pytest.mark.parametrize("name", ["lars_lasso", "cd_lasso", "ista"])
@pytest.mark.parametrize("above", [2.0, 1e9])
def test_min_lambda_above_lambda_max_gives_asp_zero_step(name, above):
    """Every l1 path agrees with asp where min_lambda >= lam_max: one all-zero step at
    min_lambda (cd and ista gave an empty path, no model at all; a fit then crashed)."""
    A, y, _ = random_problem()
    min_lambda = above * float(np.abs(A.T @ y).max())
    reference = asp(A, y, min_lambda=min_lambda).steps
    path = SOLVERS[name](A, y, min_lambda=min_lambda)
    assert len(path) == len(reference) == 1
    step = path.steps[0]
    assert step.n_active == 0 and not step.coef.any() and step.lam == min_lambda
    assert step.train_error == reference[0].train_error
    assert "stop" not in step.info
    if name != "lars_lasso":    # the zero model is the exact solution there
        assert step.info["n_iter"] == 0 and step.info["converged"]
        # short of max_active, the path says why: it stopped at its lam floor
        capped = SOLVERS[name](A, y, min_lambda=min_lambda, max_active=5)
        assert len(capped) == 1 and capped.steps[0].info["stop"] == "lambda_floor"

# --- degenerate input ------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SOLVERS))
def test_zero_column_never_enters(name):
    A, y, _ = random_problem(m=50, n=20)
    A[:, 3] = 0.0
    path = SOLVERS[name](A, y)
    assert all(3 not in s.active for s in path)
    assert path.sizes.max() >= 15


@pytest.mark.parametrize("name", ["asp", "omp", "lars_lasso"])
def test_duplicated_column_enters_once(name):
    A, y, _ = random_problem(m=50, n=20, seed=4)
    j = int(np.argmax(np.abs(A.T @ y)))  # duplicate the first column to enter
    A = np.column_stack([A, A[:, j]])
    path = SOLVERS[name](A, y)
    for s in path:
        assert not (j in s.active and 20 in s.active)
    assert len(path) > 10
    final = path.steps[-1]
    assert final.n_active == 20  # the full rank-20 least-squares fit is reached
    # the kept representative gives the same fit as the problem without the duplicate
    ref = SOLVERS[name](A[:, :20], y)
    assert final.train_error == pytest.approx(ref.steps[-1].train_error, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("solve", [cd_lasso, ista])
def test_duplicated_column_shares_weight_in_cd_and_ista(solve):
    # The lasso solution is then not unique: CD and ISTA may split the weight between
    # the copies; the sum, the fit and the objective are those of the problem without.
    A, y, _ = random_problem(m=50, n=20, seed=4)
    j = int(np.argmax(np.abs(A.T @ y)))
    lam = 0.3 * np.abs(A.T @ y).max()
    ref = asp(A, y, min_lambda=lam).steps[-1]
    s = solve(np.column_stack([A, A[:, j]]), y, lam=lam).steps[0]
    merged = s.coef[:20].copy()
    merged[j] += s.coef[20]
    np.testing.assert_allclose(merged, ref.coef, atol=1e-7)
    assert np.sign(s.coef[20]) in (0, np.sign(ref.coef[j]))
    assert s.train_error == pytest.approx(ref.train_error, rel=1e-7)


@pytest.mark.parametrize("name", list(SOLVERS))
def test_zero_targets_give_single_zero_step(name):
    A, _, _ = random_problem()
    path = SOLVERS[name](A, np.zeros(A.shape[0]))
    assert len(path) == 1
    s = path.steps[0]
    assert s.n_active == 0 and np.all(s.coef == 0) and s.train_error == 0.0
    assert s.lam == 0.0 or (name == "omp" and np.isnan(s.lam))


@pytest.mark.parametrize("name", list(SOLVERS))
def test_bad_input_raises_clear_errors(name):
    A, y, _ = random_problem()
    solve = SOLVERS[name]
    bad = A.copy()
    bad[4, 7] = np.nan
    with pytest.raises(ValueError, match=r"A contains NaN.*\(4, 7\)"):
        solve(bad, y)
    bad_y = y.copy()
    bad_y[2] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        solve(A, bad_y)
    with pytest.raises(ValueError, match="y must be a vector"):
        solve(A, y[:-1])
    with pytest.raises(ValueError, match="prior"):
        solve(A, y, prior=-np.ones(A.shape[1]))
    with pytest.raises(ValueError, match="prior"):
        solve(A, y, prior=np.ones(3))
    with pytest.raises(ValueError, match="validation A_val"):
        solve(A, y, validation=(A[:, :5], y))
    # an assembled system's DesignBlock, not its weighted rows (Python walk-through)
    block = DesignBlock(A=A, y=y, w=np.ones(len(y)), config=np.zeros(len(y), int),
                        kind=np.full(len(y), "F"), atom=np.zeros(len(y), int),
                        component=np.zeros(len(y), int), n_atoms=np.ones(len(y), int),
                        volume=np.ones(len(y)), config_type=np.full(len(y), "default"))
    with pytest.raises(ValueError, match=r"got DesignBlock; allowed: rows weighted as the "
                                         r"training rows are, the block's \.weighted\(\)"):
        solve(A, y, validation=block)
    with pytest.raises(ValueError, match="max_active"):
        solve(A, y, max_active=0)


def test_asp_path_through_the_rank_deficient_quickstart_system():
    """Regression: the quickstart's reduced system is numerically rank-deficient; with a
    stale direction P w after a refresh of P, ASP cycled through the same few columns at
    one lam until max_steps (10 550 breakpoints, 16 active). It must get past 100 active
    and end by a recognised stop, not by exhausting its steps."""
    from pathlib import Path as FsPath

    from acefit.assembly import assemble
    from acefit.config import load_config
    from acefit.data_checks import basis_elements
    from acefit.fit_settings import e0_setting, prior_scale, weight_table
    from acefit.pipeline import build_basis, load_data

    cfg = load_config(FsPath(__file__).resolve().parents[1] / "configs" / "quickstart.yaml")
    # the quickstart's basis before session 14: polynomial radials and no pair basis, whose
    # system is numerically rank-deficient (cond ~1e17)
    cfg["basis"].update(transform="polynomial", pair_degree=0)
    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    system = assemble(basis, data.train, weights=weight_table(cfg), n_workers=1,
                      e0=e0_setting(cfg, basis_elements(basis)))
    gamma = prior_scale(cfg, basis)
    path = asp(system.train, prior=gamma, max_active=300)
    last = path.steps[-1]
    assert last.n_active >= 100
    assert len(path) < 8 * len(basis)
    assert last.info.get("stop") == "unresolved_lambda" or last.n_active == 300
    # a lasso path through its ties (several columns binding at one lam, dependent ones
    # entering by swaps): the solution reached at each new lam satisfies the optimality
    # conditions to rounding, up to 20 active functions (the earlier tie handling broke
    # them from 9 on: a column entered at a tie left at once on a rounding-level
    # coefficient of the wrong sign, and its correlation then ran past lam)
    A = system.train.A / gamma
    checked = 0
    for before, step in zip(path.steps, path.steps[1:]):
        if not 0 < step.lam < before.lam or step.n_active > 20:
            continue
        d = step.coef * gamma
        corr = A.T @ (system.train.y - A @ d) / step.lam
        on = d != 0
        assert np.all(np.abs(corr[~on]) <= 1 + 1e-6)
        np.testing.assert_allclose(corr[on], np.sign(d[on]), atol=1e-6)
        checked += 1
    assert checked >= 30


def test_asp_drop_steps_store_the_solution_on_the_smaller_set():
    """At a drop on an ill-conditioned active set the coefficient that leaves is not zero
    to rounding; each step's coefficients must be the solution on its own active set, so
    that its train_error (and validation error) are those of its coefficients."""
    x = np.linspace(-1, 1, 200)
    y = np.sin(3 * x) + 0.01 * np.random.default_rng(11).standard_normal(200)
    A = np.vander(x, 25, increasing=True)        # cond 5.6e8
    path = asp(A, y)
    drops = 0
    for step in path.steps:
        rms = np.sqrt(np.mean((y - A @ step.coef) ** 2))
        assert step.train_error == pytest.approx(rms, rel=1e-3)
        drops += step.info["event"] == "drop"
    assert drops >= 5


def test_lars_support_leaves_out_the_column_leaving_at_a_knot():
    # at knot 20 column 11 leaves; scikit-learn stores its coefficient there as 8.6e-20,
    # not 0: the knot counted 20 functions and was event "end", the next one "drop"
    rng = np.random.default_rng(7)
    A, y = rng.standard_normal((60, 20)), rng.standard_normal(60)
    lars, homotopy = lars_lasso(A, y), asp(A, y)
    assert [s.info["event"] for s in lars] == [s.info["event"] for s in homotopy]
    assert [s.info["index"] for s in lars] == [s.info["index"] for s in homotopy]
    assert lars.sizes.tolist() == homotopy.sizes.tolist()
    assert lars.steps[20].info["event"] == "drop" and 11 not in lars.steps[20].active
    # the knot after the last one kept says so too
    last = lars_lasso(A, y, max_iter=20).steps[-1]
    assert len(lars_lasso(A, y, max_iter=20)) == 21
    assert last.info["event"] == "drop" and last.n_active == 19 and last.coef[11] == 0


def test_lars_keeps_the_longest_of_parallel_columns():
    # a_4 = 3 a_2: the lasso uses a_4 (the same fit for a third of the l1 cost)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 6))
    A[:, 4] = 3 * A[:, 2]
    y = A[:, 2] + 0.1 * rng.standard_normal(30)
    lars, homotopy = lars_lasso(A, y), asp(A, y)
    assert lars.lams[0] == pytest.approx(np.abs(A.T @ y).max(), rel=1e-12)
    assert 4 in lars.steps[1].active and 2 not in lars.steps[-1].active
    for step in lars.steps:     # the same path as the homotopy, at its knots
        d = homotopy.steps[int(np.argmin(np.abs(homotopy.lams - step.lam)))]
        if d.lam == pytest.approx(step.lam, rel=1e-9):
            np.testing.assert_allclose(step.coef, d.coef, atol=1e-9)
    # one row: every column is parallel; the largest one carries the fit
    one = lars_lasso(np.array([[0.5, -2.0, 1.0]]), np.array([2.0]))
    assert list(one.steps[-1].active) == [1]


def test_lars_says_when_it_ends_early():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((40, 10))
    c = np.zeros(10)
    c[rng.choice(10, 5, replace=False)] = rng.standard_normal(5)
    y = A @ c + 0.1 * rng.standard_normal(40)
    A *= np.logspace(-8, 8, 10)          # 16 decades of column scale: scikit-learn gives up
    last = lars_lasso(A, y, max_active=10).steps[-1]
    # its Cholesky pivot test (absolute, 1e-7) sets the shortest column aside; its path
    # then ends at lam = 0 with that column inactive, which is no zero of the lasso path:
    # the path ends before the first knot that breaks the lasso optimality conditions
    assert last.n_active < 10 and last.info["stop"] == "kkt_failed"
    assert asp(A, y).sizes.max() == 10
    full = lars_lasso(*random_problem()[:2])
    assert full.steps[-1].lam == 0 and "stop" not in full.steps[-1].info
    capped = lars_lasso(*random_problem()[:2], max_active=3)
    assert capped.steps[-1].n_active == 3 and "stop" not in capped.steps[-1].info


def test_lars_ends_where_scikit_learn_loses_the_lasso_path():
    # a_6 = (a_0 + a_1) / 2: scikit-learn's LARS gave knots 3.46, 1.74, 0.18 where the
    # lasso path has 3.18, 1.53, 0.917, 0.882, with no warning, missing the optimality
    # conditions by up to 8 lam, every knot marked critical
    rng = np.random.default_rng(28)
    B = rng.standard_normal((20, 6))
    A = np.column_stack([B, 0.5 * (B[:, 0] + B[:, 1])])
    y = rng.standard_normal(20)
    lars, homotopy = lars_lasso(A, y), asp(A, y)
    for step in lars.steps:
        assert kkt_violation(A, y, step.coef, step.lam) < 1e-9
    assert len(lars) == 2 and lars.steps[-1].info["stop"] == "kkt_failed"
    np.testing.assert_allclose(lars.lams, homotopy.lams[:2], rtol=1e-12)
    assert not lars.steps[-1].info["critical"]
    # the pipeline names what happened, and the solver that follows the path
    from acefit.solver_runs import stop_text
    assert "asp solves the same path exactly" in stop_text("kkt_failed", 0, 2)


@pytest.mark.parametrize("factor", [1e-6, 2.0 ** -30])
def test_lars_path_is_the_same_for_scaled_targets(factor):
    # scikit-learn's LARS ends at lam <= 1.2e-7 rows, whatever lam_max: y / 1e6 stopped
    # at 6 of 40 columns (and the prior-scaled quickstart at 213 of the 300 asked for)
    A, y, _ = random_problem()
    ref, path = lars_lasso(A, y), lars_lasso(A, factor * y)
    assert len(path) == len(ref) and path.steps[-1].info == ref.steps[-1].info
    assert path.steps[-1].lam == 0 and path.steps[-1].n_active == A.shape[1]
    for s, r in zip(path, ref):
        assert list(s.active) == list(r.active) and s.info == r.info
        np.testing.assert_allclose(s.coef, factor * r.coef, rtol=1e-9, atol=1e-12 * factor)
        assert s.lam == pytest.approx(factor * r.lam, rel=1e-9, abs=1e-14 * factor)


def test_lars_ends_at_lambda_zero_once_the_fit_is_exact():
    # more columns than rows: at 30 active columns y is fitted exactly and what scikit-learn
    # computes below is rounding (it went on adding columns); an exact rank-deficient fit
    rng = np.random.default_rng(1)
    A, y = rng.standard_normal((30, 80)), rng.standard_normal(30)
    B = rng.standard_normal((50, 20))
    B[:, 5] = B[:, 2] + B[:, 3]
    for A, y, rank in ((A, y, 30), (B, B[:, 8:16] @ rng.standard_normal(8), 8)):
        path = lars_lasso(A, y)
        last = path.steps[-1]
        assert last.lam == 0 and last.info["event"] == "zero_lambda" and "stop" not in last.info
        assert last.n_active == rank and path.sizes.max() == rank
        ref = asp(A, y).steps[-1]
        assert last.train_error == pytest.approx(ref.train_error, rel=1e-6, abs=1e-9 * np.sqrt(y @ y))


@pytest.mark.parametrize("noise", [0.3, 1e-5])
def test_a_long_column_orthogonal_to_the_data_changes_no_path(noise):
    # a_40 (norm 1e8) is orthogonal to y and to every other column: its correlation is 0,
    # computed to ~eps 1e8 ||y||, and it must never enter. Neither may its norm set the
    # scale at which the other columns' knots count as zero
    rng = np.random.default_rng(3)
    A = rng.standard_normal((60, 40))
    y = A[:, :5] @ np.ones(5) + noise * rng.standard_normal(60)
    h = rng.standard_normal(60)
    Ay = np.column_stack([A, y])
    h -= Ay @ np.linalg.lstsq(Ay, h, rcond=None)[0]
    long = np.column_stack([A, 1e8 * h / np.linalg.norm(h)])
    for solve in (lars_lasso, asp):
        ref, path = solve(A, y), solve(long, y)
        assert len(path) == len(ref) and path.sizes.max() == 40
        assert path.steps[-1].lam == 0 and path.steps[-1].info["event"] == "zero_lambda"
        assert "stop" not in path.steps[-1].info
        np.testing.assert_allclose(path.lams, ref.lams, rtol=1e-9, atol=1e-12 * ref.lams[0])


@pytest.mark.parametrize("name", list(SOLVERS))
def test_a_problem_built_directly_is_checked_too(name):
    A, y, _ = random_problem()
    bad = A.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"A contains NaN or inf.*\(3, 1\)"):
        SOLVERS[name](LeastSquaresProblem(A=bad, y=y, m=len(y)))
    with pytest.raises(ValueError, match="one entry per row"):
        SOLVERS[name](LeastSquaresProblem(A=A, y=y[:-1], m=len(y)))


# --- convergence flags and the lambda grid (solver audit S, findings 1, 3, 4) -------------

@pytest.mark.parametrize("solve", [cd_lasso, ista])
def test_cd_and_ista_steps_say_whether_they_converged(solve):
    A, y = correlated_problem()
    capped = solve(A, y, n_lams=10, max_iter=1)
    flags = [s.info["converged"] for s in capped.steps]
    assert flags[0] and not all(flags)  # lam_max needs no iteration; the rest one is too few
    assert all(s.info["converged"] for s in solve(A, y, n_lams=10).steps)


@pytest.mark.parametrize("solve", [cd_lasso, ista])
def test_default_grid_goes_on_below_lam_ratio_until_max_active(solve):
    A, y, _ = random_problem()
    short = solve(A, y, n_lams=5, lam_ratio=0.5)  # no max_active: the grid as asked
    assert len(short) == 5 and short.lams[-1] == pytest.approx(0.5 * short.lams[0])
    target = max(s.n_active for s in short.steps) + 5
    path = solve(A, y, n_lams=5, lam_ratio=0.5, max_active=target)
    assert path.steps[-1].n_active >= target and "stop" not in path.steps[-1].info
    ratios = path.lams[1:] / path.lams[:-1]
    np.testing.assert_allclose(ratios[1:], 0.5 ** 0.25)  # the same ratio on below the grid
    # more than the columns can give: the active set stops growing, and the path says so
    n = A.shape[1]
    full = solve(A, y, n_lams=5, lam_ratio=0.5, max_active=n + 1)
    assert full.steps[-1].info["stop"] == "no_growth"
    assert not any("stop" in s.info for s in full.steps[:-1])
    floor = solve(A, y, n_lams=5, lam_ratio=0.5, max_active=n + 1, min_lambda=1e-3 * full.lams[0])
    assert floor.steps[-1].info["stop"] == "lambda_floor"
    assert floor.lams[-1] == pytest.approx(1e-3 * full.lams[0])
    given = solve(A, y, lams=short.lams[:3], max_active=target)
    assert len(given) == 3 and given.steps[-1].info["stop"] == "grid_end"


def test_fista_gradient_from_the_gram_rows_of_a_sparse_iterate():
    """The squared loss's gradient for a sparse c uses only c's rows of G (finding 4: the
    same iterates, 2.7 times faster on the quickstart)."""
    from acefit.solvers._common import prepare
    from acefit.solvers.ista import _Loss

    A, y, _ = random_problem()
    f = _Loss(prepare(A, y, solver="ista"), "least_squares", None)
    c = np.zeros(A.shape[1])
    c[[3, 17]] = [1.5, -2.0]
    calls = []
    f.G = np.asarray(f.G).view(_RowCounter)
    f.G.calls = calls
    np.testing.assert_allclose(f.grad(c), A.T @ (A @ c - y), rtol=1e-12, atol=1e-12)
    assert calls == [2]  # two rows read, not the whole Gram matrix


class _RowCounter(np.ndarray):
    def __getitem__(self, key):
        self.calls.append(len(key))
        return np.asarray(self)[key]


# --- exact completion of steps that CD/FISTA cannot converge (session 33, task B) ---------

def _ill_conditioned(m=120, n=40, seed=3):
    """Singular values from 1 down to 1e-5 (condition 1e5): CD and FISTA crawl at small lam."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (U * np.geomspace(1.0, 1e-5, n)) @ V.T
    x = rng.standard_normal(n)
    return A, A @ x + 1e-4 * rng.standard_normal(m)


def test_exact_lasso_is_the_lasso_solution_from_any_start():
    from acefit.solvers.lasso import exact_lasso

    A, y = correlated_problem()
    G, b = A.T @ A, A.T @ y
    exact = asp(A, y, max_active=30)
    rng = np.random.default_rng(0)
    for s in exact.steps[5::5]:
        for start in (np.zeros(A.shape[1]), exact.steps[1].coef,
                      s.coef + 0.01 * rng.standard_normal(A.shape[1])):
            found = exact_lasso(G, b, start, s.lam, max_moves=300)
            assert kkt_violation(A, y, found, s.lam) < 1e-7
            np.testing.assert_allclose(found, s.coef, atol=1e-7)
    # a start on a set of dependent columns: the solve fails, None
    twin = np.column_stack([A[:, :5], A[:, :1]])
    start = np.array([1.0, 0, 0, 0, 0, 1.0])
    assert exact_lasso(twin.T @ twin, twin.T @ y, start, 1e-3) is None


@pytest.mark.parametrize("solve", [cd_lasso, ista])
def test_steps_that_cannot_converge_are_solved_exactly(solve):
    """On an ill-conditioned problem CD and FISTA reach max_iter at small lam: such a step
    is solved on its active set instead (info["exact"]), the lasso solution that asp
    finds, and the steps after it start with that solve."""
    A, y = _ill_conditioned()
    path = solve(A, y, n_lams=30, lam_ratio=1e-6, max_iter=500)
    exact = [s for s in path.steps if s.info.get("exact")]
    assert len(exact) > 5 and all(s.info["converged"] for s in path.steps)
    first = next(k for k, s in enumerate(path.steps) if s.info.get("exact"))
    assert all(s.info.get("exact") or s.info["n_iter"] > 0 for s in path.steps[first:])
    assert all(s.info["n_iter"] == 0 for s in path.steps[first + 1:] if s.info.get("exact"))
    for s in exact:
        reference = asp(A, y, min_lambda=s.lam).steps[-1]
        assert reference.lam == pytest.approx(s.lam)
        np.testing.assert_allclose(s.coef, reference.coef, atol=1e-6 * np.abs(reference.coef).max())
    # without the exact solve: many steps sweep to max_iter and stay unconverged
    from acefit.solvers import lasso

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lasso, "exact_lasso", lambda *a, **k: None)
        patch.setattr(sys.modules["acefit.solvers.ista"], "exact_lasso", lambda *a, **k: None)
        plain = solve(A, y, n_lams=30, lam_ratio=1e-6, max_iter=500)
    assert sum(not s.info["converged"] for s in plain.steps) >= 10


@pytest.mark.parametrize("solve", [cd_lasso, ista])
def test_paths_converged_within_the_first_iterations_are_as_before(solve):
    """The exact solve fires only on a step not converged within CHUNK_SHARE of max_iter:
    a path without one is, bit for bit, the path of one uninterrupted call per step
    (CHUNK_SHARE 1), with a prior and validation too."""
    from acefit.solvers import lasso

    A, y, _ = random_problem()
    gamma = np.linspace(0.5, 2.0, A.shape[1])
    kwargs = dict(n_lams=25, max_active=20, prior=gamma, validation=(A[:10], y[:10]))
    path = solve(A, y, **kwargs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lasso, "CHUNK_SHARE", 1.0)
        patch.setattr(sys.modules["acefit.solvers.ista"], "CHUNK_SHARE", 1.0)
        before = solve(A, y, **kwargs)
    assert not any(s.info.get("exact") for s in path.steps)
    assert len(path) == len(before)
    for a, b in zip(path.steps, before.steps, strict=True):
        assert np.array_equal(a.coef, b.coef) and a.lam == b.lam and a.info == b.info


def test_huber_paths_take_their_own_exact_solve():
    """FISTA leaves these steps unconverged; exact_huber_lasso finishes them."""
    A, y = _ill_conditioned()
    path = ista(A, y, loss="huber", delta=1e-3, n_lams=10, lam_ratio=1e-4, max_iter=200)
    assert any(s.info.get("exact") for s in path.steps)
    assert all(s.info["converged"] for s in path.steps)
