"""Dense (QR, RRQR, TSVD), Bayesian (BLR, ARD) solvers and de-biasing."""

import numpy as np
import pytest
import scipy.linalg
from _problems import correlated_problem, random_problem
from scipy.stats import multivariate_normal
from sklearn.linear_model import ARDRegression, BayesianRidge

from acefit.lsq import LeastSquaresProblem
from acefit.solvers import ard, blr, omp, qr, rrqr, tsvd
from acefit.solvers.bayes import blr_posterior
from acefit.solvers.debias import debias_path, refit_ls, tsvd_refit, tsvd_terms

EPS = np.finfo(float).eps


def _problem(m=120, n=25, seed=0, noise=0.05, n_true=6):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    c = np.zeros(n)
    c[rng.choice(n, n_true, replace=False)] = 2 * rng.standard_normal(n_true)
    y = A @ c + noise * rng.standard_normal(m)
    return A, y, c


@pytest.fixture(scope="module")
def data():
    A, y, c = _problem()
    return A, y, c, LeastSquaresProblem.from_dense(A, y, reduce=True)


# solver name -> (function, kwargs) for the shared contract tests
SOLVERS = {
    "qr": (qr, {"lam": 0.3}),
    "rrqr": (rrqr, {"rtol": 1e-3, "sketch": None}),
    "tsvd": (tsvd, {"rtol": 1e-2}),
    "blr": (blr, {}),
    "ard": (ard, {}),
}


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_reduced_form_gives_the_full_answer(data, name):
    A, y, _, red = data
    f, kw = SOLVERS[name]
    full, reduced = f(A, y, **kw).steps[0], f(red, **kw).steps[0]
    np.testing.assert_allclose(reduced.coef, full.coef, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(np.sort(reduced.active), np.sort(full.active))
    assert reduced.train_error == pytest.approx(full.train_error, rel=1e-9)
    r = y - A @ full.coef
    assert full.train_error == pytest.approx(np.sqrt(r @ r / len(y)), rel=1e-12)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_prior_scales_columns_and_maps_back(data, name):
    A, y, _, _ = data
    f, kw = SOLVERS[name]
    if name == "ard":   # its cut is on c's precisions whatever the scale: none here
        kw = {**kw, "threshold_lambda": 1e300}
    gamma = np.linspace(0.5, 3.0, A.shape[1])
    with_prior = f(A, y, prior=gamma, **kw).steps[0]
    scaled = f(A / gamma, y, **kw).steps[0]
    np.testing.assert_allclose(with_prior.coef, scaled.coef / gamma, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_validation_error_and_callback(data, name):
    A, y, c, _ = data
    f, kw = SOLVERS[name]
    rng = np.random.default_rng(5)
    A_val = rng.standard_normal((30, A.shape[1]))
    y_val = A_val @ c
    seen = []
    step = f(A, y, validation=(A_val, y_val), on_step=seen.append, **kw).steps[0]
    assert seen == [step]
    r = y_val - A_val @ step.coef
    assert step.val_error == pytest.approx(np.sqrt(np.mean(r ** 2)), rel=1e-12)
    assert np.all(step.coef[np.setdiff1d(np.arange(A.shape[1]), step.active)] == 0)


def test_qr_matches_normal_equations_with_and_without_prior(data):
    A, y, _, _ = data
    n = A.shape[1]
    gamma = np.linspace(1.0, 4.0, n)
    path = qr(A, y, lam=[0.0, 0.5, 7.0], prior=gamma)
    assert [s.lam for s in path] == [0.0, 0.5, 7.0]
    for s in path:
        expect = np.linalg.solve(A.T @ A + s.lam * np.diag(gamma ** 2), A.T @ y)
        np.testing.assert_allclose(s.coef, expect, rtol=1e-10)


def test_qr_without_lam_on_rank_deficiency_gives_the_minimum_norm_fit(caplog):
    """lam = 0 (the documented default) on a singular matrix: the lam -> 0+ limit, the
    minimum-norm least-squares fit, with a warning; it raised (and stopped a whole fit)."""
    A, y, _ = _problem()
    A[:, 4] = A[:, 2]
    gamma = np.linspace(0.5, 3.0, A.shape[1])
    with caplog.at_level("WARNING", logger="acefit.solvers.dense"):
        path = qr(A, y, lam=[0.0, 1e-3], prior=gamma)
    assert "rank deficient (column 4 lies in the span" in caplog.text
    s = path.steps[0]
    assert s.info["min_norm"] and s.info["rank"] == A.shape[1] - 1
    expect = np.linalg.lstsq(A / gamma, y, rcond=None)[0] / gamma
    np.testing.assert_allclose(s.coef, expect, rtol=1e-8)
    assert "min_norm" not in path.steps[1].info
    # with lam > 0 the duplicated pair shares the weight equally
    s = qr(A, y, lam=1e-3).steps[0]
    assert s.coef[4] == pytest.approx(s.coef[2], rel=1e-8)


def test_qr_without_lam_takes_columns_of_any_scale():
    # full rank, column scales over 16 decades (as a steep prior gives): not rank deficient
    A, y, _ = _problem()
    scale = np.logspace(-8, 8, A.shape[1])
    s = qr(A * scale, y, lam=0.0).steps[0]
    np.testing.assert_allclose(s.coef * scale, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-7)
    t = qr(A, y, lam=0.0, prior=1.0 / scale).steps[0]
    np.testing.assert_allclose(t.coef, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-7)


def test_rrqr_truncates_dependent_columns():
    A, y, _ = _problem(n=20)
    A[:, 7] = A[:, 3] + 1e-12 * A[:, 1]      # numerically dependent
    A[:, 11] = 0.0                            # zero column
    path = rrqr(A, y, rtol=[1e-8, 0.0, 0.9], sketch=None)
    s = path.steps[0]
    assert s.info["rank"] == 18 and s.n_active == 18
    assert 11 not in s.active and not ({3, 7} <= set(s.active))
    # the kept columns are fitted exactly by least squares
    x = np.linalg.lstsq(A[:, s.active], y, rcond=None)[0]
    np.testing.assert_allclose(s.coef[s.active], x, rtol=1e-8)
    # rtol = 0 still drops the exact zero column; a large rtol keeps fewer
    assert 11 not in path.steps[1].active
    assert path.steps[2].info["rank"] < 18


def test_rrqr_rank_follows_the_pivoted_diagonal_and_lam_tie(data):
    A, y, _, _ = data
    _, R, _ = scipy.linalg.qr(A, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    for rtol in (1e-3, 0.2, 0.5):
        s = rrqr(A, y, rtol=rtol, sketch=None).steps[0]
        assert s.info["rank"] == int(np.sum(diag >= rtol * diag[0]))
    lam = (0.4 * diag[0]) ** 2
    by_lam = rrqr(A, y, lam=lam, sketch=None).steps[0]
    by_rtol = rrqr(A, y, rtol=0.4, sketch=None).steps[0]
    np.testing.assert_allclose(by_lam.coef, by_rtol.coef, rtol=1e-12)
    assert by_lam.lam == lam and by_lam.info["rtol"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="not both"):
        rrqr(A, y, rtol=0.1, lam=1.0)


@pytest.mark.parametrize("kind", ["gaussian", "sparse"])
def test_rrqr_sketch_on_a_tall_problem(kind):
    A, y, _ = _problem(m=800, n=30, seed=3)
    s = rrqr(A, y, rtol=1e-8, sketch=kind, seed=1).steps[0]
    assert s.info["sketch"] == kind and s.info["rank"] == 30
    np.testing.assert_allclose(s.coef, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-8)
    auto = rrqr(A, y, rtol=1e-8).steps[0]          # m >= 16 n: sketched by default
    assert auto.info["sketch"] == "sparse"
    red = LeastSquaresProblem.from_dense(A, y, reduce=True)
    assert rrqr(red, rtol=1e-8).steps[0].info["sketch"] is None


def test_tsvd_truncation(data):
    A, y, _, _ = data
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    path = tsvd(A, y, rtol=[0.0, 0.6])
    np.testing.assert_allclose(path.steps[0].coef, np.linalg.pinv(A) @ y, rtol=1e-9)
    keep = s > 0.6 * s[0]
    assert path.steps[1].info["rank"] == keep.sum() < len(s)
    expect = Vt[keep].T @ ((U[:, keep].T @ y) / s[keep])
    np.testing.assert_allclose(path.steps[1].coef, expect, rtol=1e-9)
    with pytest.raises(ValueError, match="rtol"):
        tsvd(A, y, rtol=1.5)


# ------------------------------------------------------------------ BLR

def test_blr_matches_sklearn_bayesian_ridge(data):
    A, y, _, red = data
    ref = BayesianRidge(fit_intercept=False, tol=1e-14, max_iter=10000).fit(A, y)
    for problem in ((A, y), (red,)):
        s = blr(*problem, tol=1e-14, max_iter=10000).steps[0]
        assert s.info["converged"]
        np.testing.assert_allclose(s.coef, ref.coef_, rtol=1e-7)
        assert s.info["alpha"] == pytest.approx(ref.lambda_, rel=1e-6)
        assert s.info["beta"] == pytest.approx(ref.alpha_, rel=1e-6)
        assert s.lam == pytest.approx(ref.lambda_ / ref.alpha_, rel=1e-6)
    post = blr_posterior(red, alpha=ref.lambda_, beta=ref.alpha_)
    np.testing.assert_allclose(post.cov(), ref.sigma_, rtol=1e-8, atol=1e-14)


def test_blr_underdetermined_matches_sklearn():
    A, y, _ = _problem(m=15, n=30, seed=2)
    ref = BayesianRidge(fit_intercept=False, tol=1e-14, max_iter=10000).fit(A, y)
    s = blr(A, y, tol=1e-14, max_iter=10000).steps[0]
    np.testing.assert_allclose(s.coef, ref.coef_, rtol=1e-6, atol=1e-10)
    post = blr_posterior(A, y, alpha=ref.lambda_, beta=ref.alpha_)
    np.testing.assert_allclose(post.cov(), ref.sigma_, rtol=1e-7, atol=1e-12)


def test_blr_evidence_uses_the_row_count(data):
    A, y, _, red = data
    s = blr(A, y).steps[0]
    alpha, beta = s.info["alpha"], s.info["beta"]
    cov = np.eye(len(y)) / beta + A @ A.T / alpha
    direct = multivariate_normal(np.zeros(len(y)), cov).logpdf(y)
    assert s.info["log_evidence"] == pytest.approx(direct, rel=1e-9)
    assert blr(red).steps[0].info["log_evidence"] == pytest.approx(direct, rel=1e-9)
    # the same R, Q^T y, ||y||^2 with a wrong m is a different model
    wrong = LeastSquaresProblem.from_reduced(red.A, red.y, red.yty, 2 * red.m)
    assert blr(wrong).steps[0].info["beta"] > 1.5 * beta


def test_blr_committee_samples_the_posterior(data):
    A, y, _, red = data
    s = blr(red, committee=4000, seed=7).steps[0]
    members = s.info["committee"]
    assert members.shape == (4000, A.shape[1])
    post = blr_posterior(red, alpha=s.info["alpha"], beta=s.info["beta"])
    np.testing.assert_allclose(post.mean, s.coef, rtol=1e-10)
    sd = post.std()
    assert np.all(np.abs(members.mean(0) - s.coef) < 5 * sd / np.sqrt(4000))
    np.testing.assert_allclose(members.std(0), sd, rtol=0.1)
    again = blr(red, committee=4000, seed=7).steps[0].info["committee"]
    np.testing.assert_array_equal(members, again)


# ------------------------------------------------------------------ ARD

def test_ard_matches_sklearn_and_is_sparse(data):
    A, y, c, red = data
    ref = ARDRegression(fit_intercept=False, tol=1e-14, max_iter=3000).fit(A, y)
    beta0 = 1.0 / (np.var(y) + EPS)          # scikit-learn's start
    for problem in ((A, y), (red,)):
        s = ard(*problem, beta_init=beta0, tol=1e-14, max_iter=3000).steps[0]
        np.testing.assert_allclose(s.coef, ref.coef_, rtol=1e-6, atol=1e-10)
        assert s.info["beta"] == pytest.approx(ref.alpha_, rel=1e-6)
        np.testing.assert_allclose(s.info["precisions"], ref.lambda_[s.active], rtol=1e-5)
    assert set(np.flatnonzero(c)) <= set(s.active) and s.n_active <= np.count_nonzero(c) + 2
    assert ard(A, y, threshold_lambda=1e-3).steps[0].n_active == 0
    assert "stop" not in s.info


def test_ard_says_when_it_ran_out_of_iterations(data):
    """An ARD or BLR fit out of iterations is a step with info["converged"] False, which
    the pipeline's log and report.md count as they count cd/ista's."""
    from acefit.solver_runs import unconverged_steps

    A, y, _, _ = data
    for fit in (ard, blr):
        assert unconverged_steps(fit(A, y, max_iter=2)) == 1
        assert unconverged_steps(fit(A, y)) == 0
    # all pruned: the fit ended, not ran out
    assert ard(A, y, threshold_lambda=1e-3, max_iter=2).steps[0].info["converged"]


def test_ard_threshold_prunes_the_same_with_a_prior():
    """threshold_lambda cuts the precisions of the caller's coefficients: with a prior it
    was a cut on those of d = Gamma c, which a gamma of ~15 makes ~200 times smaller, and
    22-29 of 40 functions were kept where 6 are without one."""
    for seed in (0, 1, 2):
        A, y, x = random_problem(m=120, n=40, k=6, noise=0.05, seed=seed)
        gamma = np.random.default_rng(seed).uniform(1.0, 30.0, 40)
        plain = ard(A, y).steps[0]
        scaled = ard(A, y, prior=gamma).steps[0]
        assert set(scaled.active) == set(plain.active) == set(np.flatnonzero(x))
        np.testing.assert_allclose(scaled.coef, plain.coef, atol=1e-9)


# ------------------------------------------------------------------ degenerate inputs

@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_nan_is_a_clear_error(data, name):
    A, y, _, _ = data
    f, kw = SOLVERS[name]
    bad = A.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        f(bad, y, **kw)
    with pytest.raises(ValueError, match="NaN"):
        f(A, y, validation=(A[:5], np.full(5, np.nan)), **kw)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_zero_target_gives_zero_coefficients(data, name):
    A, _, _, _ = data
    f, kw = SOLVERS[name]
    s = f(A, np.zeros(A.shape[0]), **kw).steps[0]
    assert np.all(s.coef == 0) and s.n_active == 0 and s.train_error == 0
    assert all(np.all(np.isfinite(v)) for v in s.info.values() if not isinstance(v, str)
               and v is not None)


@pytest.mark.parametrize("name", ["qr", "blr", "ard", "tsvd", "rrqr"])
def test_zero_and_duplicated_columns(name):
    A, y, _ = _problem(seed=4)
    A[:, 5] = 0.0
    A[:, 9] = A[:, 8]
    f, kw = SOLVERS[name]
    s = f(A, y, **kw).steps[0]
    assert s.coef[5] == 0 and 5 not in s.active
    if name in ("qr", "blr", "tsvd"):       # symmetric solutions split the weight
        assert s.coef[9] == pytest.approx(s.coef[8], rel=1e-6)
    if name == "rrqr":
        assert not ({8, 9} <= set(s.active))


def test_bad_options_are_clear_errors(data):
    A, y, _, _ = data
    with pytest.raises(ValueError, match="lam"):
        qr(A, y, lam=-1.0)
    with pytest.raises(ValueError, match="threshold_lambda"):
        ard(A, y, threshold_lambda=0)
    with pytest.raises(ValueError, match="hyperprior"):
        blr(A, y, hyperprior=(1, 2))
    with pytest.raises(ValueError, match="prior"):
        blr(A, y, prior=np.zeros(A.shape[1]))
    with pytest.raises(ValueError, match="sketch"):
        rrqr(A, y, sketch="fourier")
    # a CountSketch hashing about as many rows as it has would lose rank silently
    B = np.random.default_rng(2).standard_normal((60, 30))
    with pytest.raises(ValueError, match="4 rows per sketch row"):
        rrqr(B, B @ np.ones(30), rtol=1e-8, sketch="sparse")
    assert rrqr(B, B @ np.ones(30), rtol=1e-8, sketch="gaussian").steps[0].info["rank"] == 30


# ------------------------------------------------------------------ de-biasing

def test_refit_ls_dense_and_reduced(data):
    A, y, _, red = data
    active = [7, 2, 11]
    dense = LeastSquaresProblem.from_dense(A, y)
    c1, info = refit_ls(dense, active)
    c2, _ = refit_ls(red, active)
    np.testing.assert_allclose(c1[active], np.linalg.lstsq(A[:, active], y, rcond=None)[0],
                               rtol=1e-10)
    np.testing.assert_allclose(c2, c1, rtol=1e-9, atol=1e-13)
    assert info["rank"] == 3 and np.count_nonzero(c1) == 3
    assert np.all(refit_ls(dense, [])[0] == 0)
    with pytest.raises(ValueError, match="distinct"):
        refit_ls(dense, [1, 1])


def test_tsvd_refit_by_rtol_and_by_validation(data):
    A, y, c, red = data
    active = np.arange(12)
    As = A[:, active]
    U, s, Vt = np.linalg.svd(As, full_matrices=False)
    coef, info = tsvd_refit(red, active, rtol=0.4)
    keep = s > 0.4 * s[0]
    np.testing.assert_allclose(coef[active], Vt[keep].T @ ((U[:, keep].T @ y) / s[keep]),
                               rtol=1e-9)
    assert info["rank"] == keep.sum()
    rng = np.random.default_rng(9)
    A_val = rng.standard_normal((40, A.shape[1]))
    y_val = A_val @ c
    rtols = [0.9, 0.4, 0.05, 0.0]
    chosen, info = tsvd_refit(red, active, validation=(A_val, y_val), rtols=rtols)
    errs = [np.sqrt(np.mean((y_val - A_val @ tsvd_refit(red, active, rtol=r)[0]) ** 2))
            for r in rtols]
    assert info["rtol"] == rtols[int(np.argmin(errs))] and info["selected_by"] == "validation"
    with pytest.raises(ValueError, match="not both"):
        tsvd_refit(red, active, rtol=0.1, validation=(A_val, y_val))


def test_tsvd_refit_keeps_singular_values_above_1e_6_by_default():
    """Without an rtol or a validation set, ``tsvd_refit`` truncates at its documented
    1e-6 · σ₁: of singular values 1, 1e-4 and 1e-8 it keeps two (a threshold of 1e-3
    would drop the second direction and its part of the fit)."""
    rng = np.random.default_rng(3)
    U = np.linalg.qr(rng.standard_normal((30, 3)))[0]
    V = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    A = np.hstack([U @ np.diag([1.0, 1e-4, 1e-8]) @ V.T, rng.standard_normal((30, 2))])
    y = rng.standard_normal(30)
    for problem in (LeastSquaresProblem.from_dense(A, y),
                    LeastSquaresProblem.from_dense(A, y, reduce=True)):
        coef, info = tsvd_refit(problem, [0, 1, 2])
        assert (info["rank"], info["rtol"], info["selected_by"]) == (2, 1e-6, "rtol")
        assert np.all(coef[3:] == 0)


def test_tsvd_refit_over_every_rank_is_the_best_truncation(data):
    """rtols="rank": the validation error chooses among all ranks 1..|S| (on the
    prior-scaled columns), computed block by block; brute force agrees."""
    A, y, c, red = data
    active = np.arange(3, 15)
    rng = np.random.default_rng(4)
    gamma = rng.uniform(1.0, 20.0, A.shape[1])
    A_val = rng.standard_normal((5000, A.shape[1]))  # more rows than one block
    y_val = A_val @ (c + 0.3 * rng.standard_normal(c.size))
    U, s, Vt = np.linalg.svd(A[:, active] / gamma[active], full_matrices=False)
    fits = [Vt[:k].T @ ((U[:, :k].T @ y) / s[:k]) / gamma[active] for k in range(1, 13)]
    errs = [np.mean((y_val - A_val[:, active] @ x) ** 2) for x in fits]
    best = int(np.argmin(errs))
    assert 0 < best < 11  # an interior rank: the test can tell ranks apart
    coef, info = tsvd_refit(red, active, validation=(A_val, y_val), rtols="rank", prior=gamma)
    np.testing.assert_allclose(coef[active], fits[best], rtol=1e-8)
    assert info["rank"] == best + 1 and info["selected_by"] == "validation"
    assert info["rtol"] == pytest.approx(s[best] / s[0])
    s_terms, terms = tsvd_terms(red, active, prior=gamma)  # every rank as partial sums
    np.testing.assert_allclose(s_terms, s, rtol=1e-10)
    for k in (1, best + 1, 12):
        np.testing.assert_allclose(terms[:, :k].sum(axis=1), fits[k - 1], rtol=1e-8)
    thresholds, _ = tsvd_refit(red, active, validation=(A_val, y_val), prior=gamma)
    assert np.mean((y_val - A_val @ coef) ** 2) <= np.mean((y_val - A_val @ thresholds) ** 2)
    with pytest.raises(ValueError, match="'rank'"):
        tsvd_refit(red, active, validation=(A_val, y_val), rtols="ranks")


def test_debias_path_removes_shrinkage(data):
    from acefit.solvers import asp
    A, y, c, red = data
    path = asp(red, max_active=8)
    for method in ("ls", "tsvd"):
        out = debias_path(path, red, method, rtol=1e-10)
        assert out.solver == f"asp+{method}" and len(out) == len(path)
        for before, after in zip(path, out):
            np.testing.assert_array_equal(after.active, before.active)
            assert after.lam == before.lam
            assert after.train_error <= before.train_error * (1 + 1e-12)
            assert after.info["biased_train_error"] == before.train_error
    last = debias_path(path, red, "ls").steps[-1]
    direct = np.linalg.lstsq(A[:, last.active], y, rcond=None)[0]
    np.testing.assert_allclose(last.coef[last.active], direct, rtol=1e-9)


def test_ls_debias_follows_a_path_with_drops_exactly():
    from acefit.solvers import asp
    A, y = correlated_problem(n=60)  # the lasso path drops some columns
    gamma = np.linspace(1.0, 3.0, 60)
    for problem in (LeastSquaresProblem.from_dense(A, y),
                    LeastSquaresProblem.from_dense(A, y, reduce=True)):
        path = asp(problem, prior=gamma, max_active=40)
        assert sum(s.info.get("event") == "drop" for s in path) >= 2
        out = debias_path(path, problem, "ls", prior=gamma)
        for before, after in zip(path, out):
            np.testing.assert_array_equal(after.active, before.active)
            direct = refit_ls(problem, before.active)[0]
            np.testing.assert_allclose(after.coef, direct, rtol=1e-8,
                                       atol=1e-10 * np.abs(direct).max(initial=1.0))
            np.testing.assert_allclose(after.train_error, np.sqrt(np.mean(
                (y - A @ direct) ** 2)), rtol=1e-8)


def test_debias_path_on_omp_with_validation(data):
    A, y, c, _ = data
    rng = np.random.default_rng(2)
    A_val = rng.standard_normal((30, A.shape[1]))
    y_val = A_val @ c
    dense = LeastSquaresProblem.from_dense(A, y)
    path = omp(dense, max_active=6)
    out = debias_path(path, dense, "tsvd", validation=(A_val, y_val),
                      select_rtol_by_validation=True)
    assert all(s.val_error is not None and s.info["selected_by"] == "validation" for s in out)
    with pytest.raises(ValueError, match="method"):
        debias_path(path, dense, "ridge")


def test_underdetermined_dense_problems():
    A, y, _ = _problem(m=12, n=30, seed=6)
    s = qr(A, y, lam=0.1).steps[0]
    np.testing.assert_allclose(s.coef, np.linalg.solve(A.T @ A + 0.1 * np.eye(30), A.T @ y),
                               rtol=1e-9)
    np.testing.assert_allclose(tsvd(A, y, rtol=0.0).steps[0].coef, np.linalg.pinv(A) @ y,
                               rtol=1e-9)
    r = rrqr(A, y, rtol=1e-10).steps[0]
    assert r.info["rank"] == 12 and r.train_error < 1e-10
    wide = qr(A, y, lam=0.0).steps[0]  # the minimum-norm fit, as tsvd with rtol 0
    np.testing.assert_allclose(wide.coef, np.linalg.pinv(A) @ y, rtol=1e-9)
    assert wide.info["rank"] == 12


@pytest.mark.parametrize("n, block", [(1, 512), (7, 3), (50, 16), (64, 16)])
def test_triangular_gram_is_exactly_symmetric_and_equals_RtR(n, block):
    from acefit.solvers._common import triangular_gram

    R = np.triu(np.random.default_rng(n).standard_normal((n, n)))
    G = triangular_gram(R, block=block)
    np.testing.assert_allclose(G, R.T @ R, rtol=1e-13, atol=1e-13)
    assert np.array_equal(G, G.T)


def test_reduced_problem_uses_the_triangular_gram(monkeypatch):
    import acefit.solvers._common as common

    calls = []
    original = common.triangular_gram
    monkeypatch.setattr(common, "triangular_gram", lambda R: calls.append(R.shape) or original(R))
    rng = np.random.default_rng(3)
    A, y, gamma = rng.standard_normal((40, 12)), rng.standard_normal(40), np.linspace(1, 2, 12)
    reduced = common.prepare(LeastSquaresProblem.from_dense(A, y, reduce=True), solver="test",
                             prior=gamma)
    np.testing.assert_allclose(reduced.gram(), (A / gamma).T @ (A / gamma), rtol=1e-12, atol=1e-12)
    assert calls == [(12, 12)]
    common.prepare(A, y, solver="test").gram()  # a dense tall problem: the plain product
    assert calls == [(12, 12)]


@pytest.mark.parametrize("idx", [[3], [0, 7, 2, 24], list(range(25)), []])
def test_reduced_columns_equal_the_dense_subproblem(data, idx):
    A, y, _, reduced = data
    dense = LeastSquaresProblem.from_dense(A, y)
    sub_r, sub_d = reduced.columns(idx), dense.columns(idx)
    assert sub_r.reduced and sub_r.A.shape == (len(idx), len(idx))
    scale = np.abs(A.T @ A).max()
    np.testing.assert_allclose(sub_r.gram(), sub_d.gram(), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(sub_r.aty(), sub_d.aty(), rtol=0,
                               atol=1e-12 * np.abs(A.T @ y).max())
    assert sub_r.yty == pytest.approx(sub_d.yty, rel=1e-12)
    coef = np.random.default_rng(1).normal(size=len(idx))
    assert sub_r.rss(coef) == pytest.approx(sub_d.rss(coef), rel=1e-10)


def test_validation_rows_are_taken_column_major(data):
    from acefit.solvers._common import validate_validation

    A, y, _, _ = data
    A_val, _ = validate_validation((A[:30], y[:30]), A.shape[1])
    assert A_val.flags.f_contiguous and np.array_equal(A_val, A[:30])
    already = np.asfortranarray(A[:30])
    assert validate_validation((already, y[:30]), A.shape[1])[0] is already   # no copy


def test_blr_ignores_directions_below_rounding():
    """A polynomial-transform ACE basis of high degree is numerically rank-deficient
    (most singular values of the prior-scaled design are below rounding). The evidence
    fixed point used to fit the rounding noise of those directions, driving alpha / beta
    to ~1e-29 and the training error up by four orders of magnitude; they now get the
    prior mean and the fit stays as good as least squares."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from acefit.basis import ACEBasis
    from acefit.prior import algebraic_prior

    rng = np.random.default_rng(0)
    basis = ACEBasis(["Cu"], order=3, totaldegree=[25, 21, 17], rcut=5.0, pair_degree=25,
                     pair_envelope="x", transform="polynomial", envelope="x")
    rows, ys = [], []
    for i in range(40):
        atoms = bulk("Cu", "fcc", 3.6, cubic=True).repeat((2, 2, 2))
        atoms.rattle(0.1, seed=i)
        atoms.set_cell(atoms.cell * (1 + 0.03 * rng.standard_normal()), scale_atoms=True)
        atoms.calc = EMT()
        out = basis.evaluate(atoms)
        w = 30 / np.sqrt(len(atoms))
        rows += [w * out.energy[None], out.forces.reshape(-1, len(basis))]
        ys += [[w * atoms.get_potential_energy()], atoms.get_forces().ravel()]
    A, y = np.vstack(rows), np.concatenate(ys)
    gamma = algebraic_prior(basis, p=4)
    step = blr(A, y, prior=gamma).steps[0]
    lstsq_rms = np.sqrt(np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2))
    assert np.sqrt(np.mean((A @ step.coef - y) ** 2)) < 2 * lstsq_rms
    assert step.info["converged"] and step.info["null_directions"] > len(basis) // 2
    # the posterior rebuilt from the step's precisions has the same mean
    post = blr_posterior(A, y, alpha=step.info["alpha"], beta=step.info["beta"], prior=gamma)
    np.testing.assert_allclose(post.mean, step.coef, rtol=1e-8,
                               atol=1e-8 * np.abs(step.coef).max())


def test_blr_finds_the_evidence_optimum_whatever_the_scale():
    """scikit-learn's start alpha_0 = 1 is not scale-invariant: with a prior spanning six
    decades (or y a million times larger) it collapsed to c = 0 with converged = True,
    60 nats of evidence below the optimum (found by review)."""
    rng = np.random.default_rng(7)
    A = rng.standard_normal((40, 10))
    c = np.zeros(10)
    c[rng.choice(10, 5, replace=False)] = rng.standard_normal(5)
    y = A @ c + 0.1 * rng.standard_normal(40)
    gamma = np.logspace(0, 6, 10)
    for prior, target in ((gamma, y), (None, 1e5 * y)):
        fit = blr(A, target, prior=prior).steps[0]
        ref = blr(A, target, prior=prior, alpha_init=1e-12).steps[0]
        assert np.linalg.norm(target - A @ fit.coef) < 0.1 * np.linalg.norm(target)
        assert fit.info["log_evidence"] >= ref.info["log_evidence"] - 1e-6
    # where alpha_0 = 1 finds the optimum, the answer is the same as scikit-learn's
    plain = blr(A, y).steps[0]
    from sklearn.linear_model import BayesianRidge

    sk = BayesianRidge(fit_intercept=False, tol=1e-10, max_iter=1000).fit(A, y)
    np.testing.assert_allclose(plain.coef, sk.coef_, rtol=1e-6)
