"""A-priori nested basis paths and the ARD sparsity sweep."""

import numpy as np
import pytest

from acefit.checkpoints import CheckpointWriter, read_path
from acefit.lsq import LeastSquaresProblem
from acefit.solvers import blr, qr, rrqr, tsvd
from acefit.solvers.apriori import (NestedProblem, apriori_order, apriori_path, ard_sweep,
                                    nested_sizes, subbasis_levels)

DIRECT = {"blr": (blr, {}), "qr": (qr, {"lam": 0.05}), "rrqr": (rrqr, {"rtol": 0.05}),
          "tsvd": (tsvd, {"rtol": 0.05})}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    m, n = 150, 24
    A = rng.standard_normal((m, n)) @ np.diag(np.linspace(1.0, 0.2, n))
    c = rng.standard_normal(n) * np.exp(-np.arange(n) / 6)
    y = A @ c + 0.02 * rng.standard_normal(m)
    costs = rng.integers(0, 8, n).astype(float)        # many ties: broken by index
    A_val = rng.standard_normal((25, n))
    return A, y, costs, (A_val, A_val @ c)


def test_order_is_by_cost_then_index():
    np.testing.assert_array_equal(apriori_order([2.0, 1.0, 2.0, 0.5, 1.0]), [3, 1, 4, 0, 2])
    with pytest.raises(ValueError, match="finite"):
        apriori_order([1.0, np.nan])


def test_sizes():
    np.testing.assert_array_equal(nested_sizes(100, 4), [25, 50, 75, 100])
    np.testing.assert_array_equal(nested_sizes(10, 20), np.arange(1, 11))
    np.testing.assert_array_equal(nested_sizes(10, [7, 3, 3]), [3, 7])
    for bad in ([0, 3], [11], [], [2.5], 0):
        with pytest.raises(ValueError, match="sizes"):
            nested_sizes(10, bad)


@pytest.mark.parametrize("reduced", [False, True])
def test_leading_blocks_are_the_sub_problems(data, reduced):
    A, y, costs, _ = data
    problem = LeastSquaresProblem.from_dense(A, y, reduce=reduced)
    order = apriori_order(costs)
    nested = NestedProblem(problem, order)
    rng = np.random.default_rng(0)
    for k in (1, 7, 24):
        sub = nested.leading(k)
        assert sub.reduced and sub.m == A.shape[0] and sub.A.shape == (k, k)
        for _ in range(3):
            c = rng.standard_normal(k)
            r = y - A[:, order[:k]] @ c
            assert sub.rss(c) == pytest.approx(r @ r, rel=1e-10)


@pytest.mark.parametrize("solver", sorted(DIRECT))
@pytest.mark.parametrize("reduced", [False, True])
def test_nested_fits_equal_direct_fits_on_the_sub_matrix(data, solver, reduced):
    A, y, costs, val = data
    f, kw = DIRECT[solver]
    problem = LeastSquaresProblem.from_dense(A, y, reduce=reduced)
    gamma = 1.0 + costs
    seen = []
    path = apriori_path(problem, costs=costs, sizes=[3, 10, 24], solver=solver, prior=gamma,
                        validation=val, on_step=seen.append, **kw)
    assert path.solver == f"{solver}_apriori" and len(seen) == 3
    order = apriori_order(costs)
    for step, k in zip(path.steps, [3, 10, 24]):
        cols = order[:k]
        direct = f(A[:, cols], y, prior=gamma[cols], sketch=None, **kw) if solver == "rrqr" \
            else f(A[:, cols], y, prior=gamma[cols], **kw)
        d = direct.steps[0]
        assert step.info["size"] == k
        np.testing.assert_allclose(step.coef[cols], d.coef, rtol=1e-7, atol=1e-11)
        assert np.all(step.coef[order[k:]] == 0) and set(step.active) <= set(cols)
        assert step.train_error == pytest.approx(d.train_error, rel=1e-9)
        r = val[1] - val[0] @ step.coef
        assert step.val_error == pytest.approx(np.sqrt(np.mean(r ** 2)), rel=1e-10)
    if solver == "blr":      # the evidence is that of the m-row sub-problem
        d = blr(A[:, order[:10]], y, prior=gamma[order[:10]]).steps[0]
        assert path.steps[1].info["log_evidence"] == pytest.approx(d.info["log_evidence"],
                                                                   rel=1e-8)


def test_underdetermined_dense_problem_uses_column_slices(data):
    A, y, costs, _ = data
    A, y = A[:15], y[:15]
    path = apriori_path(A, y, costs=costs, sizes=[5, 24], solver="blr")
    order = apriori_order(costs)
    d = blr(A[:, order[:24]], y).steps[0]
    np.testing.assert_allclose(path.steps[1].coef[order], d.coef, rtol=1e-8, atol=1e-12)


def test_apriori_path_checkpoints(tmp_path, data):
    A, y, costs, val = data
    f = tmp_path / "curve.h5"
    with CheckpointWriter(f, "blr_apriori") as ckpt:
        path = apriori_path(A, y, costs=costs, sizes=4, validation=val, on_step=ckpt)
    back = read_path(f, require_complete=True)
    assert back.complete and [s.info["size"] for s in back] == [6, 12, 18, 24]
    for a, b in zip(back, path):
        np.testing.assert_array_equal(a.coef, b.coef)
        assert a.val_error == b.val_error


def _sizes_to_fit(val_errors, patience):
    """How many sizes a path with ``patience`` fits, given each size's best val error."""
    best, worse = np.inf, 0
    for i, e in enumerate(val_errors):
        best, worse = (e, 0) if e < best else (best, worse + 1)
        if worse >= patience:
            return i + 1
    return len(val_errors)


def _overfitted(seed):
    """Few noisy rows: least squares on more columns than the 4 true ones over-fits.
    Returns A, y, the noise-free validation data and the column count."""
    rng = np.random.default_rng(seed)
    m, n = 40, 30
    A = rng.standard_normal((m, n))
    c = np.zeros(n)
    c[:4] = [2.0, -1.0, 0.5, 1.5]
    y = A @ c + 0.8 * rng.standard_normal(m)
    A_val = rng.standard_normal((200, n))
    return A, y, (A_val, A_val @ c), n


@pytest.mark.parametrize("solver, kwargs", [("qr", {"lam": [0.0, 1e-3]}), ("blr", {})])
@pytest.mark.parametrize("patience", [1, 2, 3])
def test_patience_stops_when_the_validation_error_stops_falling(solver, kwargs, patience):
    A, y, val, n = _overfitted(3)
    common = dict(costs=np.arange(n, dtype=float), sizes=[2, 4, 8, 12, 16, 20, 24, 28, 30],
                  solver=solver, validation=val, **kwargs)
    full = apriori_path(A, y, **common)
    sizes = common["sizes"]
    per_size = [min(s.val_error for s in full if s.info["size"] == k) for k in sizes]
    n_fit = _sizes_to_fit(per_size, patience)
    assert n_fit < len(sizes)  # the data make the path stop early
    stopped = apriori_path(A, y, patience=patience, **common)
    assert len(stopped) == sum(s.info["size"] <= sizes[n_fit - 1] for s in full)
    for a, b in zip(stopped, full):
        np.testing.assert_array_equal(a.coef, b.coef)
    assert stopped.steps[-1].info["stop"] == "patience"
    assert all("stop" not in s.info for s in stopped.steps[:-1])
    assert stopped.params["patience"] == patience


def test_patience_on_given_subbases():
    A, y, val, n = _overfitted(4)
    subbases = [np.arange(n) < k for k in (4, 10, 20, 25, 30)]
    common = dict(subbases=subbases, solver="qr", validation=val, lam=0.0)
    full = apriori_path(A, y, **common)
    n_fit = _sizes_to_fit([s.val_error for s in full], 1)
    assert n_fit < len(subbases)
    stopped = apriori_path(A, y, patience=1, **common)
    assert [s.info["subbasis"] for s in stopped] == list(range(n_fit))
    assert stopped.steps[-1].info["stop"] == "patience"


def test_patience_beyond_the_sizes_fits_them_all(data):
    A, y, costs, val = data
    path = apriori_path(A, y, costs=costs, sizes=4, validation=val, patience=4)
    assert [s.info["size"] for s in path] == [6, 12, 18, 24]
    assert "stop" not in path.steps[-1].info


def test_apriori_errors(data):
    A, y, costs, val = data
    with pytest.raises(ValueError, match="solver"):
        apriori_path(A, y, costs=costs, solver="omp")
    with pytest.raises(ValueError, match="costs"):
        apriori_path(A, y, costs=costs[:-1])
    with pytest.raises(ValueError, match="exactly one"):
        apriori_path(A, y, solver="qr")
    with pytest.raises(ValueError, match="exactly one"):
        apriori_path(A, y, costs=costs, subbases=[costs < 3], solver="qr")
    with pytest.raises(ValueError, match="patience needs a validation set"):
        apriori_path(A, y, costs=costs, patience=2)
    with pytest.raises(ValueError, match="patience"):
        apriori_path(A, y, costs=costs, validation=val, patience=0)


@pytest.mark.parametrize("reduced", [False, True])
def test_subbases_are_fitted_on_exactly_their_columns(data, reduced):
    A, y, costs, val = data
    n = A.shape[1]
    rng = np.random.default_rng(5)
    first = np.zeros(n, bool)
    first[rng.choice(n, 6, replace=False)] = True          # not a prefix of any cost order
    second = first.copy()
    second[rng.choice(np.flatnonzero(~first), 9, replace=False)] = True
    problem = LeastSquaresProblem.from_dense(A, y, reduce=reduced)
    gamma = 1.0 + costs
    rtols = [1e-1, 1e-3]
    path = apriori_path(problem, subbases=[first, second], solver="rrqr", rtol=rtols,
                        prior=gamma, validation=val)
    # one step per sub-basis and rtol, in that order
    assert [(s.info["subbasis"], s.info["size"]) for s in path.steps] == \
        [(0, 6), (0, 6), (1, 15), (1, 15)]
    assert path.params["rtol"] == rtols
    for step, (mask, rtol) in zip(path.steps, [(m, r) for m in (first, second) for r in rtols]):
        cols = np.flatnonzero(mask)
        d = rrqr(A[:, cols], y, rtol=rtol, prior=gamma[cols], sketch=None).steps[0]
        np.testing.assert_allclose(step.coef[cols], d.coef, rtol=1e-7, atol=1e-11)
        assert np.all(step.coef[~mask] == 0)
        assert step.val_error is not None


def test_subbasis_levels():
    a = np.array([True, False, False, True])
    b = np.array([True, True, False, True])
    costs, sizes = subbasis_levels([a, b], 4)
    np.testing.assert_array_equal(costs, [0, 1, 2, 0])
    np.testing.assert_array_equal(sizes, [2, 3])
    with pytest.raises(ValueError, match="strictly contain"):
        subbasis_levels([b, a], 4)
    with pytest.raises(ValueError, match="strictly contain"):
        subbasis_levels([a, a], 4)
    with pytest.raises(ValueError, match="at least one column"):
        subbasis_levels([np.zeros(4, bool)], 4)
    with pytest.raises(ValueError, match="boolean mask"):
        subbasis_levels([np.array([1, 0, 0, 1])], 4)


def test_ard_sweep_hits_sizes_or_reports_the_nearest():
    rng = np.random.default_rng(3)
    m, n = 200, 40
    A = rng.standard_normal((m, n))
    c = rng.standard_normal(n) * np.exp(-np.arange(n) / 8)
    y = A @ c + 0.05 * rng.standard_normal(m)
    targets = [3, 10, 20, 40]
    seen = []
    path = ard_sweep(A, y, targets=targets, on_step=seen.append)
    assert path.solver == "ard_sweep" and len(seen) == len(targets)
    for step, t in zip(path.steps, targets):
        assert step.info["target"] == t
        assert step.info["hit"] == (abs(step.n_active - t) <= 0.05 * t)
    assert all(s.info["hit"] for s in path.steps[:3])
    # a size ARD never reaches: the nearest fit is reported, flagged as a miss
    far = ard_sweep(A, y, targets=[40], max_fits=3, rel_tol=0.0)
    s = far.steps[0]
    assert s.info["target"] == 40 and s.info["n_fits"] <= 3 + 1
    assert s.info["hit"] == (s.n_active == 40)
    for bad in ([0, 5], [n + 1]):
        with pytest.raises(ValueError, match="targets"):
            ard_sweep(A, y, targets=bad)
