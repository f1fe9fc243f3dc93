"""ARD one precision at a time (Tipping & Faul): updates, optimality, path semantics."""

import numpy as np
import pytest
from _problems import random_problem

from acefit.lsq import LeastSquaresProblem
from acefit.solvers import ard, ard_path
from acefit.solvers.sequential_ard import _Posterior


def evidence_terms(A, y, active, alpha, beta):
    """From scratch: posterior mean, s, q of every column, and the log evidence."""
    G, b, m = A.T @ A, A.T @ y, len(y)
    M = beta * G[np.ix_(active, active)] + np.diag(alpha)
    Sigma = np.linalg.inv(M)
    mu = beta * Sigma @ b[active]
    S = beta * np.diag(G) - beta ** 2 * np.einsum("ij,jk,ik->i", G[:, active], Sigma, G[:, active])
    Q = beta * b - beta ** 2 * G[:, active] @ Sigma @ b[active]
    s, q = S.copy(), Q.copy()
    s[active] = alpha * S[active] / (alpha - S[active])
    q[active] = alpha * Q[active] / (alpha - S[active])
    r = y - A[:, active] @ mu
    logdet = np.linalg.slogdet(M)[1] - np.log(alpha).sum() - m * np.log(beta)
    log_ev = -0.5 * (m * np.log(2 * np.pi) + logdet + beta * (r @ r) + alpha @ mu ** 2)
    gamma = 1 - alpha * np.diag(Sigma)
    return mu, s, q, log_ev, (m - gamma.sum()) / (r @ r)


def test_rank_one_updates_agree_with_a_fresh_posterior():
    A, y, _ = random_problem(m=120, n=40, k=8, noise=0.01, seed=1)
    beta = 50.0
    post = _Posterior(A.T @ A, A.T @ y, beta, capacity=2)  # capacity grows
    rng = np.random.default_rng(0)
    for j in rng.choice(40, 12, replace=False):
        post.add(int(j), float(rng.uniform(0.1, 10)))
    post.reestimate(3, 0.37)
    post.reestimate(7, np.inf)  # delete
    post.reestimate(0, np.inf)
    post.add(int(np.setdiff1d(np.arange(40), post.active)[0]), 2.5)
    S, Q, mu, Sigma, E = post.S.copy(), post.Q.copy(), post.mu.copy(), post.Sigma.copy(), post.E.copy()
    G_SS, drift = post.G_SS.copy(), post.drift()
    post.recompute(beta)
    assert drift < 1e-12 and post.drift() < 1e-12
    np.testing.assert_array_equal(G_SS, post.G_SS)
    np.testing.assert_allclose(S, post.S, rtol=1e-10, atol=1e-8 * np.abs(post.S).max())
    np.testing.assert_allclose(Q, post.Q, rtol=1e-10, atol=1e-8 * np.abs(post.Q).max())
    np.testing.assert_allclose(mu, post.mu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Sigma, post.Sigma, atol=1e-12)
    np.testing.assert_allclose(E, post.E, atol=1e-10)
    assert len(post.active) == 11 and post.E.shape == (40, 11)
    L = post._L[:11, :11]   # the Cholesky factor of G_SS, through additions and deletions
    np.testing.assert_allclose(np.tril(L) @ np.tril(L).T, post.G_SS, rtol=1e-12,
                               atol=1e-12 * np.abs(post.G_SS).max())


def test_converged_model_is_a_maximum_of_the_evidence():
    A, y, x = random_problem(m=300, n=80, k=8, noise=0.01)
    last = ard_path(A, y).steps[-1]
    assert last.info["event"] == "converged"
    active, alpha, beta = last.active, last.info["precisions"], last.info["beta"]
    mu, s, q, log_ev, beta_fixed = evidence_terms(A, y, active, alpha, beta)
    np.testing.assert_allclose(last.coef[active], mu, rtol=1e-9, atol=1e-12)
    theta = q * q - s
    # every precision at its one-dimensional maximum s^2 / theta ...
    assert np.all(theta[active] > 0)
    np.testing.assert_allclose(alpha, s[active] ** 2 / theta[active], rtol=0.05)
    # ... every function outside would lower the evidence, and beta is at its fixed point
    outside = np.setdiff1d(np.arange(A.shape[1]), active)
    assert np.all(theta[outside] <= 1e-9 * s[outside])
    assert beta == pytest.approx(beta_fixed, rel=1e-5)
    # the planted functions are in, with the noise-level truth; the rest carry ~noise
    truth = np.flatnonzero(x)
    assert set(truth) <= set(active)
    np.testing.assert_allclose(last.coef[truth], x[truth], atol=3e-3)
    assert np.abs(np.delete(last.coef, truth)).max() < 3e-3
    assert beta == pytest.approx(1e4, rel=0.3)  # noise 0.01
    # no single-precision change raises the evidence any more
    for j in list(active[:3]) + list(outside[:3]):
        a2 = alpha.copy()
        if j in active:
            a2[list(active).index(j)] *= 1.5
            assert evidence_terms(A, y, active, a2, beta)[3] <= log_ev + 1e-6
        else:
            act2 = np.append(active, j)
            assert evidence_terms(A, y, act2, np.append(alpha, 1.0), beta)[3] <= log_ev


def test_the_evidence_matches_or_beats_the_fixed_point_ard():
    A, y, _ = random_problem(m=300, n=80, k=8, noise=0.01, seed=4)
    seq = ard_path(A, y).steps[-1]
    fixed = ard(A, y, threshold_lambda=1e12, max_iter=3000, tol=1e-10).steps[-1]
    ev_seq = evidence_terms(A, y, seq.active, seq.info["precisions"], seq.info["beta"])[3]
    ev_fixed = evidence_terms(A, y, fixed.active, fixed.info["precisions"], fixed.info["beta"])[3]
    assert ev_seq >= ev_fixed - 1e-3 * abs(ev_fixed)
    assert seq.n_active < fixed.n_active  # no threshold needed to prune


def test_path_steps_and_max_active():
    A, y, x = random_problem(m=300, n=60, k=10, noise=0.01, seed=2)
    A_val, y_val = A[250:], y[250:]
    seen = []
    path = ard_path(A[:250], y[:250], max_active=6, validation=(A_val, y_val),
                    on_step=seen.append)
    assert all(a is b for a, b in zip(seen, path.steps)) and len(seen) == len(path)
    assert path.steps[0].n_active == 0 and path.steps[0].info["event"] == "start"
    assert path.sizes.max() <= 6 and path.steps[-1].n_active == 6
    events = [s.info["event"] for s in path.steps]
    assert set(events[1:-1]) <= {"add", "delete"} and events[-1] == "converged"
    for s in path:
        assert s.val_error == pytest.approx(np.sqrt(np.mean((y_val - A_val @ s.coef) ** 2)),
                                            rel=1e-10)
        r = y[:250] - A[:250] @ s.coef
        assert s.train_error == pytest.approx(np.sqrt(np.mean(r ** 2)), rel=1e-6)
        assert np.all(np.delete(s.coef, s.active) == 0)
    short = ard_path(A, y, max_iter=4)
    assert short.steps[-1].info["event"] == short.steps[-1].info["stop"] == "max_iter"
    assert short.steps[-1].info["n_iter"] == 4 and "stop" not in path.steps[-1].info
    assert short.sizes[-1] <= 4
    # every step adds or removes one function
    assert np.all(np.abs(np.diff(path.sizes[:-1])) == 1)
    # the first functions to enter are planted ones
    assert set(path.steps[3].active) <= set(np.flatnonzero(x))


def test_prior_scaling_and_reduced_form_leave_the_path_unchanged():
    A, y, _ = random_problem(m=150, n=50, k=8, noise=0.01, seed=3)
    base = ard_path(A, y)
    scale = np.random.default_rng(1).uniform(0.01, 100.0, A.shape[1])
    scaled = ard_path(A * scale, y, prior=1 / scale)
    reduced = ard_path(LeastSquaresProblem.from_dense(A, y, reduce=True))
    for other in (scaled, reduced):
        assert other.sizes.tolist() == base.sizes.tolist()
        for a, b in zip(base, other):
            assert list(a.active) == list(b.active)
    for a, b in zip(base, scaled):
        np.testing.assert_allclose(b.coef * scale, a.coef, rtol=1e-6, atol=1e-10)
    for a, b in zip(base, reduced):
        np.testing.assert_allclose(b.coef, a.coef, rtol=1e-6, atol=1e-10)
        assert b.train_error == pytest.approx(a.train_error, rel=1e-6)


def test_degenerate_input():
    A, y, _ = random_problem(m=100, n=30, k=8, noise=0.01, seed=5)
    assert len(ard_path(A, np.zeros(100))) == 1
    A2 = A.copy()
    A2[:, 4] = 0.0
    j = int(np.argmax(np.abs(A.T @ y) / np.linalg.norm(A, axis=0)))
    A2 = np.column_stack([A2, A2[:, j]])  # a duplicate of the first function to enter
    last = ard_path(A2, y).steps[-1]
    assert 4 not in last.active
    # the evidence sees only the sum of the copies' prior variances: they may share the
    # weight, and the model is the one without the copy
    ref = ard_path(np.delete(A2, 30, axis=1), y).steps[-1]
    assert last.coef[j] + last.coef[30] == pytest.approx(ref.coef[j], rel=1e-3)
    assert last.train_error == pytest.approx(ref.train_error, rel=1e-3)
    with pytest.raises(ValueError, match=r"A contains NaN.*\(2, 3\)"):
        A3 = A.copy()
        A3[2, 3] = np.nan
        ard_path(A3, y)
    with pytest.raises(ValueError, match="max_active must be an integer >= 1"):
        ard_path(A, y, max_active=0)
    with pytest.raises(ValueError, match="beta_init must be a finite number > 0"):
        ard_path(A, y, beta_init=-1.0)


def test_no_column_in_the_model_span_enters():
    """S_i <= dependence_tol beta a_i'a_i let in columns inside the span: S_i counts the
    precisions too, and a copy 2 a_3 of an active column has S_i ~ alpha_3 / (beta a_3'a_3)
    of beta a_i'a_i. Columns 3 and 2 * col 3 were both active, and 10 x 30 paths held 11
    functions on 10 rows."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 8))
    A[:, 5] = 2 * A[:, 3]
    y = A @ rng.standard_normal(8) + 0.01 * rng.standard_normal(40)
    assert not any(3 in s.active and 5 in s.active for s in ard_path(A, y))
    for seed in (2, 5, 9, 12):
        rng = np.random.default_rng(seed)
        A, y = rng.standard_normal((10, 30)), rng.standard_normal(10)
        path = ard_path(A, y)
        assert path.sizes.max() == 10 and path.steps[-1].info["event"] == "exact_fit"
        for s in path.steps[1:]:
            assert np.linalg.matrix_rank(A[:, s.active]) == s.n_active


@pytest.mark.parametrize("shape", [(40, 20, 20, 0.0), (10, 30, 3, 0.05)])
def test_exact_fit_ends_the_path_on_a_finite_model(shape, monkeypatch):
    """Noise-free data or more functions than rows: rss -> 0 and beta -> inf. The path
    stops "exact_fit" before beta overflows; with that check off, at the first non-finite
    posterior, on the last finite model ("noise_precision_diverged"). Never a NaN step.
    (The 10 x 30 path diverged so once it had added an 11th function; with at most 10
    it now runs out of moves instead.)"""
    m, n, k, noise = shape
    A, y, _ = random_problem(m=m, n=n, k=k, noise=noise, seed=2)
    path = ard_path(A, y)
    last = path.steps[-1]
    assert last.info["event"] == last.info["stop"] == "exact_fit"
    assert all(np.all(np.isfinite(s.coef)) and np.isfinite(s.train_error) for s in path)
    assert last.train_error < 1e-4 * np.sqrt(np.mean(y ** 2))
    import acefit.solvers.sequential_ard as sequential_ard
    monkeypatch.setattr(sequential_ard, "_EXACT_FIT", -1.0)
    with np.errstate(all="ignore"):
        broken = ard_path(A, y)
    end = broken.steps[-1]
    assert all(np.all(np.isfinite(s.coef)) and np.isfinite(s.train_error) for s in broken)
    if n > m:
        assert end.info["stop"] == "max_iter" and broken.sizes.max() <= m
        return
    assert end.info["stop"] == "noise_precision_diverged"
    assert list(end.active) == list(broken.steps[-2].active)
    np.testing.assert_array_equal(end.coef, broken.steps[-2].coef)
