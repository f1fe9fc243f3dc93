"""scripts/huber_refit.py: Huber refits of a finished run's selected checkpoints."""

import dataclasses

import numpy as np
import pytest
from _scripts import load_script
from test_cli import fitted_run, small_data  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def huber():
    return load_script("huber_refit")


def _contaminated(seed=0, m=400, n=6):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x_true = rng.standard_normal(n)
    y = A @ x_true + 0.01 * rng.standard_normal(m)
    bad = rng.choice(m, 20, replace=False)
    y[bad] += rng.choice([-1, 1], 20) * 5.0          # gross outliers
    return A, y, x_true


def test_huber_fit_is_the_minimiser_and_resists_outliers(huber):
    A, y, x_true = _contaminated()
    x_ls = np.linalg.lstsq(A, y, rcond=None)[0]
    delta = huber.huber_scales(y - A @ x_ls, np.full(len(y), "F"), 1.345)
    x, iterations = huber.huber_fit(A, y, delta)
    assert 1 < iterations < 100
    r = y - A @ x
    # stationarity: A' psi(r) = 0 with psi the clipped residual
    grad = A.T @ np.clip(r, -delta, delta)
    assert np.abs(grad).max() < 1e-6 * np.abs(A.T @ y).max()
    loss = huber.huber_loss(r, delta)
    assert loss < huber.huber_loss(y - A @ x_ls, delta)
    rng = np.random.default_rng(1)
    for _ in range(5):
        step = 1e-3 * rng.standard_normal(x.size)
        assert huber.huber_loss(y - A @ (x + step), delta) > loss
    assert np.linalg.norm(x - x_true) < 0.2 * np.linalg.norm(x_ls - x_true)


def test_dependent_columns_give_the_minimum_norm_fit(huber):
    """ASP active sets can be numerically dependent (the normal equations were singular
    on the Zuo Mo set of 620 functions)."""
    A, y, _ = _contaminated(seed=2)
    A2 = np.hstack([A, A[:, :1]])                     # a duplicated column
    delta = np.full(len(y), 0.05)
    x, _ = huber.huber_fit(A, y, delta)
    x2, _ = huber.huber_fit(A2, y, delta)
    assert x2[0] == pytest.approx(x2[-1]) and x2[0] + x2[-1] == pytest.approx(x[0])
    np.testing.assert_allclose(x2[1:-1], x[1:], rtol=1e-8)


def test_scales_are_per_row_kind(huber):
    r = np.concatenate([np.linspace(-1, 1, 101), 100 * np.linspace(-1, 1, 101)])
    kind = np.array(["E"] * 101 + ["F"] * 101)
    delta = huber.huber_scales(r, kind, 2.0)
    assert np.allclose(delta[:101], 2 * 1.4826 * 0.5) and np.allclose(delta[101:], 100 * delta[0])


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_data):  # noqa: F811
    return fitted_run(tmp_path_factory, small_data, ["{name: omp, max_active: 12}"])


def test_refits_of_a_run(huber, run, capsys):
    _, _, _, system, checkpoints = huber._load_run(run)
    A, y, kind, configs = huber.training_rows(system)
    assert configs.shape == y.shape and configs.min() >= 0
    assert A.shape == (system.train.m, system.train.n_features) and set(kind) <= {"E", "F", "V"}
    _, coef = checkpoints[0]
    fits = huber.refit_rows(A, y, kind, coef, [2.0])
    # OMP checkpoints are least-squares fits: the rows give the same as the reduced system
    np.testing.assert_allclose(fits["ls"], coef, rtol=1e-7, atol=1e-9 * np.abs(coef).max())
    assert np.array_equal(np.flatnonzero(fits[2.0]), np.flatnonzero(coef))
    assert not np.allclose(fits[2.0], coef)
    assert huber.main([str(run), "--k", "2", "--crossfit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("| omp≤") == 4 and "Huber k=2" in out and "held out (3 halvings)" in out


def test_crossfit_scores_the_choice_on_the_other_half(huber, run):
    from acefit.metrics import configuration_errors, errors

    _, _, _, system, checkpoints = huber._load_run(run)
    block, (_, coef) = system.val, checkpoints[0]
    # the per-configuration errors crossfit scores with
    per_config = configuration_errors(block, (block.A @ coef)[:, None])
    has_E = per_config.counts["E"] > 0
    stats = errors(block, coef)["all"]
    assert per_config.sums["E"][has_E, 0].mean() == pytest.approx(stats["E"]["mae"], rel=1e-10)
    assert per_config.sums["F"][:, 0].sum() / per_config.counts["F"].sum() == pytest.approx(
        stats["F"]["mae"], rel=1e-10)
    # a copy of the baseline changes nothing; a model twice as wrong on every row is
    # never chosen; the validation set's own least-squares fit is chosen and better
    assert huber.crossfit(block, [coef, coef.copy()], 5) == 0.0
    step = 1e-2 * np.random.default_rng(0).standard_normal(coef.size)
    exact = dataclasses.replace(block, y=block.A @ coef)
    assert huber.crossfit(exact, [coef + step, coef + 2 * step], 5) == 0.0
    best = np.linalg.lstsq(block.A, block.y, rcond=None)[0]
    assert huber.crossfit(block, [coef, best], 5) < -10.0
