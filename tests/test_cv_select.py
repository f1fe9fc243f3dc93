"""scripts/cv_select.py: a run's OMP checkpoint chosen by K-fold cross-validation."""

import numpy as np
import pytest
from _scripts import load_script
from test_cli import fitted_run, small_data  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def cv():
    return load_script("cv_select")


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_data):  # noqa: F811
    return fitted_run(tmp_path_factory, small_data, ["{name: omp, max_active: 12}"])


def test_folds_hold_out_every_configuration_once(cv, run):
    cfg, _, _, system, _ = cv._load_run(run)
    A, y, _, configs = cv.training_rows(system)
    assert A.shape == (system.train.m, system.train.n_features)
    spec = next(s for s in cfg["solvers"] if s["name"] == "omp")
    sse, rows = cv.fold_curves(A, y, configs, folds=3, seed=0, spec=spec, gamma=None,
                               log=lambda *a, **k: None)
    assert rows == len(y)
    assert sorted(sse) == list(range(13))                  # sizes 0 … 12 in every fold
    assert sse[0] == pytest.approx(float(y @ y))           # the zero model leaves all of y
    assert all(sse[n] > 0 for n in sse) and sse[12] < 0.5 * sse[0]


def test_held_out_sse_and_the_reduced_problem(cv, run):
    from acefit.lsq import LeastSquaresProblem
    from acefit.solvers import omp

    _, _, _, system, _ = cv._load_run(run)
    A, y, _, _ = cv.training_rows(system)
    problem = LeastSquaresProblem.from_dense(A, y, reduce=True)     # what each fold uses
    # the reduction of the kept rows is the run's own training problem
    assert problem.yty == pytest.approx(system.train.yty)
    gram, ours = problem.gram(), system.train.gram()
    np.testing.assert_allclose(gram, ours, rtol=0, atol=1e-9 * np.abs(ours).max())
    np.testing.assert_allclose(problem.aty(), system.train.aty(), rtol=1e-9)
    path = omp(problem, max_active=5)
    sse = cv.held_out_sse(path, A[:40], y[:40])
    for step in path:
        r = y[:40] - A[:40] @ step.coef
        assert sse[step.n_active] == pytest.approx(float(r @ r))


def test_main_reproduces_the_runs_choice_and_prints_each_rule(cv, run, capsys):
    assert cv.main([str(run), "--folds", "3", "--budgets", "5,12"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err                    # "val (run)" is the run's choice
    rows = [line for line in captured.out.splitlines() if line.startswith("| ≤")]
    assert len(rows) == 6
    assert [r.split(" | ")[1] for r in rows[:3]] == ["val (run)", "3-fold", "3-fold + val"]
    assert all(int(r.split(" | ")[2]) <= 5 for r in rows[:3])
    with pytest.raises(SystemExit, match="no OMP path labelled 'asp'"):
        cv.main([str(run), "--label", "asp"])


def test_the_budgets_are_the_runs_own_by_default(cv, run, capsys):
    """Found by a walk-through: --budgets defaulted to Zuo's "300,1000", not the run's
    selection.budgets ([10] here), so every row was the best of sizes up to 12."""
    assert cv.main([str(run), "--folds", "2"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    rows = [line for line in captured.out.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 3 and all(r.startswith("| ≤ 10 | ") for r in rows)
    assert cv.choose({3: 1.0, 12: 0.5}, None) == 12 and cv.choose({3: 1.0, 12: 0.5}, 10) == 3
