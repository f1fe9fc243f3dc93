"""ista's Huber loss from the config: keys checked at the boundary, the path run on the
dense weighted training rows (the reduced system mixes the rows), end to end."""

import json

import numpy as np
import pytest
from test_cli import EXIT_CONFIG, EXIT_OK, QUICKSTART, fit, tiny_config

from acefit.config import load_config

ISTA = "{name: ista, max_active: 6, n_lams: 10, prior: false"


@pytest.fixture(scope="module")
def outlier_data(tmp_path_factory):
    """A quarter of the quickstart training set, one of whose energies is 20 eV off."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    folder = tmp_path_factory.mktemp("outlier")
    frames = ase.io.read(QUICKSTART / "train.xyz", ":")[::4]
    bad = frames[3]
    results = dict(bad.calc.results)
    results["energy"] += 20.0
    bad.calc = SinglePointCalculator(bad, **results)
    ase.io.write(folder / "train.xyz", frames)
    ase.io.write(folder / "test.xyz", ase.io.read(QUICKSTART / "test.xyz", ":")[::3])
    return folder


def _paths(tmp_path, data, solvers, extra=""):
    from acefit.checkpoints import read_paths

    config = tiny_config(tmp_path, data, solvers=solvers, extra=extra)
    assert fit(config, tmp_path / "run") == EXIT_OK
    return read_paths(tmp_path / "run" / "paths.h5", require_complete=True)


def test_a_huber_path_resists_an_outlier_and_is_least_squares_for_a_huge_delta(tmp_path,
                                                                               outlier_data):
    paths = _paths(tmp_path, outlier_data, [
        f"{ISTA}}}",
        f"{ISTA}, label: huber, loss: huber, delta: 0.5}}",
        f"{ISTA}, label: huge, loss: huber, delta: 1.0e+12}}"])
    ls, huber, huge = paths["ista"], paths["huber"], paths["huge"]
    assert huber.params["acefit"]["config"]["loss"] == "huber"
    # delta beyond every residual: the Huber loss is least squares, on the same λ grid
    assert len(huge) == len(ls)
    compared = 0
    for a, b in zip(ls.steps, huge.steps, strict=True):
        assert a.lam == pytest.approx(b.lam, rel=1e-9)
        if a.info["converged"] and b.info["converged"]:   # least squares' may be exact
            compared += 1
            assert b.info["objective"] == pytest.approx(a.info["objective"], rel=1e-6)
            if not a.info.get("exact"):
                np.testing.assert_allclose(b.coef, a.coef, rtol=1e-5,
                                           atol=1e-7 * np.abs(a.coef).max())
    assert compared >= len(ls) // 2
    # a small delta: the outlier's pull is capped, so the path differs, and its λ_max too
    assert huber.steps[0].lam < 0.99 * ls.steps[0].lam
    assert not np.allclose(huber.steps[-1].coef, ls.steps[-1].coef, rtol=1e-2)
    log = (tmp_path / "run" / "acefit.log").read_text()
    assert log.count("dense training rows for the Huber loss") == 1     # read once, used twice


def test_huber_rows_evaluated_again_without_the_kept_rows(tmp_path, outlier_data):
    """Rows not kept in the cache (output.train_rows_gib 0, or a cache entry made
    without them) are evaluated again; the path is the same."""
    solver = [f"{ISTA}, loss: huber, delta: 0.5}}"]
    kept = _paths(tmp_path / "a", outlier_data, solver)["ista"]
    extra = "output: {train_rows_gib: 1.0e-9}\n"     # nothing kept, and too little for Huber
    config = tiny_config(tmp_path / "b", outlier_data, solvers=solver, extra=extra)
    assert fit(config, tmp_path / "b" / "run") == EXIT_CONFIG
    # a cache entry without the rows, then a run that would keep them: evaluated again
    config = tiny_config(tmp_path / "c", outlier_data, solvers=["{name: omp, max_active: 3}"],
                         extra="output: {train_rows_gib: 0.0}\n")
    assert fit(config, tmp_path / "c" / "run") == EXIT_OK
    config = tiny_config(tmp_path / "c", outlier_data, solvers=solver, name="huber.yaml")
    assert fit(config, tmp_path / "c" / "run", "--force") == EXIT_OK
    log = (tmp_path / "c" / "run" / "acefit.log").read_text()
    assert "dense training rows for the Huber loss" in log and "evaluated again in" in log
    from acefit.checkpoints import read_paths

    again = read_paths(tmp_path / "c" / "run" / "paths.h5", require_complete=True)["ista"]
    assert [s.n_active for s in again.steps] == [s.n_active for s in kept.steps]
    for a, b in zip(kept.steps, again.steps, strict=True):
        np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver, key, words", [
    ("{name: ista, loss: huber}", "solvers[0].delta",
     "found null with solvers[0].loss: 'huber', which needs it; allowed: a number > 0"),
    ("{name: ista, delta: 0.5}", "solvers[0].delta",
     "found 0.5 (number) with solvers[0].loss: 'least_squares', which ignores it; "
     "allowed: solvers[0].loss: 'huber', or leave `delta` out"),
    ("{name: ista, loss: huber, delta: 0}", "solvers[0].delta", "allowed: "),
    ("{name: ista, loss: absolute}", "solvers[0].loss", "'least_squares', 'huber'"),
    ("{name: cd, loss: huber, delta: 1}", "solvers[0]", "loss"),
])
def test_huber_keys_are_checked_at_the_boundary(tmp_path, outlier_data, solver, key, words):
    from acefit.config import ConfigError

    config = tiny_config(tmp_path, outlier_data, solvers=[solver])
    with pytest.raises(ConfigError) as err:
        load_config(config)
    text = str(err.value)
    assert key in text and words in text, text


def test_huber_rows_beyond_train_rows_gib_stop_the_fit_before_assembly(tmp_path, outlier_data,
                                                                       capsys):
    config = tiny_config(tmp_path, outlier_data, extra="output: {train_rows_gib: 1.0e-6}\n",
                         solvers=[f"{ISTA}, loss: huber, delta: 0.5}}"])
    assert fit(config, tmp_path / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "solvers[0].loss" in err and "found 'huber', which fits the" in err
    assert "above output.train_rows_gib = 1e-06; allowed: output.train_rows_gib of at least" \
        in err
    state = json.loads((tmp_path / "run" / "run.json").read_text())
    assert state["status"] == "invalid" and not (tmp_path / "run" / "cache").exists()


def _ill_conditioned_huber_problem(seed=1, m=200, n=40, condition=1e4):
    """Rows of condition ``condition``, a sparse model, small noise and ten outliers."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = U @ np.diag(np.geomspace(1.0, 1.0 / condition, n)) @ V.T
    truth = np.zeros(n)
    truth[:8] = 10.0 * rng.standard_normal(8)
    y = A @ truth + 0.01 * rng.standard_normal(m)
    y[:10] += 1.0
    return A, y


def _huber_kkt_violation(A, y, coef, lam, delta):
    """The largest violation of the Huber-lasso optimality conditions, relative to lam:
    A_j'psi(r) = lam sign(c_j) where c_j != 0, |A_j'psi(r)| <= lam where c_j = 0."""
    g = A.T @ np.clip(y - A @ coef, -delta, delta)
    on = coef != 0
    return max(float(np.abs(g[on] - lam * np.sign(coef[on])).max(initial=0.0)),
               float(np.maximum(np.abs(g[~on]) - lam, 0.0).max(initial=0.0))) / lam


def test_an_unconverged_huber_step_is_solved_exactly_and_matches_a_long_fista_run():
    """FISTA crawls on ill-conditioned rows; a step it has not solved within a tenth of
    max_iter is finished by the active-set Newton method (exact_huber_lasso), to the
    minimiser a long FISTA run reaches, and to the optimality conditions."""
    from acefit.solvers import ista

    A, y = _ill_conditioned_huber_problem()
    delta = 0.02
    reference = ista(A, y, loss="huber", delta=delta, n_lams=30, max_iter=200_000,
                     kkt_tol=1e-12)
    assert all(s.info["converged"] and "exact" not in s.info for s in reference.steps)
    fast = ista(A, y, loss="huber", delta=delta, n_lams=30, max_iter=300)
    assert len(fast) == len(reference)
    assert all(s.info["converged"] for s in fast.steps)
    assert sum(bool(s.info.get("exact")) for s in fast.steps) >= len(fast) // 2
    for a, b in zip(reference.steps, fast.steps, strict=True):
        assert b.lam == a.lam
        assert b.info["objective"] == pytest.approx(a.info["objective"], rel=1e-9)
        np.testing.assert_allclose(b.coef, a.coef, atol=1e-7 * np.abs(a.coef).max(initial=1))
        assert _huber_kkt_violation(A, y, b.coef, b.lam, delta) < 1e-8


def test_exact_huber_lasso_from_zero_and_its_line_search():
    """From a cold start too; the exact line minimum of a convex piecewise quadratic."""
    from acefit.solvers.ista import _line_minimum, exact_huber_lasso

    A, y = _ill_conditioned_huber_problem(seed=2, condition=1e3)
    delta = 0.05
    lam = 0.02 * float(np.abs(A.T @ np.clip(y, -delta, delta)).max())
    coef = exact_huber_lasso(A, y, np.zeros(A.shape[1]), lam, delta, tol=1e-12 * lam,
                             max_moves=500)
    assert coef is not None and np.count_nonzero(coef) > 3
    assert _huber_kkt_violation(A, y, coef, lam, delta) < 1e-9
    rng = np.random.default_rng(3)
    for _ in range(5):
        r = rng.standard_normal(50)
        d = r * rng.uniform(0.2, 3) + 0.3 * rng.standard_normal(50)
        x, p = np.array([0.0, 0.1, -0.2]), rng.standard_normal(3)
        ts = np.linspace(0, 1, 100_001)
        rt = r[None, :] - ts[:, None] * d[None, :]
        a = np.abs(rt)
        phi = np.where(a <= 0.3, 0.5 * rt * rt, 0.3 * (a - 0.15)).sum(axis=1) + \
            0.5 * np.abs(x[None, :] + ts[:, None] * p[None, :]).sum(axis=1)
        assert _line_minimum(r, d, x, p, 0.5, 0.3) == pytest.approx(ts[np.argmin(phi)], abs=2e-5)
