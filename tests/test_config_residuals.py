"""scripts/config_residuals.py: per-configuration energy errors and refits of a finished run."""

import json

import numpy as np
import pytest
from _scripts import load_script
from test_cli import EXIT_OK, fit, small_data, tiny_config  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def residuals():
    return load_script("config_residuals")


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_data):  # noqa: F811
    folder = tmp_path_factory.mktemp("residuals")
    config = tiny_config(folder, small_data, solvers=["{name: omp, max_active: 12}",
                                                      "{name: asp, max_active: 12}"])
    assert fit(config, folder / "run") == EXIT_OK
    return folder / "run"


def test_residuals_reproduce_the_reported_test_energy_mae(residuals, run):
    data, system, checkpoints = residuals.load(run)
    assert system.cache_hit
    report = json.loads((run / "report.json").read_text())
    reported = {f"{s['label']}≤{s['budget']}": s["errors"]["test"]["all"]["E"]["mae"]
                for s in report["selection"]["selected"]}
    res = residuals.energy_residuals(system.test, [c for _, c in checkpoints])
    assert res.shape == (len(data.test), len(checkpoints))
    for j, (name, _) in enumerate(checkpoints):
        assert np.mean(np.abs(res[:, j])) == pytest.approx(reported[name], rel=1e-9)


def test_refits_on_train_reproduce_omp_and_train_val_is_least_squares(residuals, run):
    _, system, checkpoints = residuals.load(run)
    coef = next(c for name, c in checkpoints if name.startswith("omp"))
    fits = residuals.refits(system, coef)
    # OMP checkpoints are least-squares fits of their active functions on the training rows
    np.testing.assert_allclose(fits["train"], coef, rtol=1e-7, atol=1e-9 * np.abs(coef).max())
    active = np.flatnonzero(coef)
    assert np.array_equal(np.flatnonzero(fits["train+val"]), active)

    def rss(c):  # training + validation, weighted
        Av, yv = system.val.weighted()
        return system.train.rss(c) + float(np.sum((yv - Av @ c) ** 2))

    assert rss(fits["train+val"]) < rss(fits["train"])
    # the Bayesian refits use only the active functions and shrink: a larger training rss
    for name in ("blr", "ard"):
        assert set(np.flatnonzero(fits[name])) <= set(active)
        assert system.train.rss(fits[name]) >= system.train.rss(fits["train"]) * (1 - 1e-9)
    # ... and least squares: no perturbation of the active coefficients does better
    rng = np.random.default_rng(0)
    for _ in range(3):
        step = np.zeros_like(coef)
        step[active] = rng.normal(size=active.size) * 1e-3 * np.abs(coef[active]).max()
        assert rss(fits["train+val"] + step) > rss(fits["train+val"])


def test_command_line_tables_and_errors(residuals, run, tmp_path, capsys):
    assert residuals.main([str(run), "--refit"]) == 0
    out = capsys.readouterr().out
    assert "| **MAE** |" in out and "MAE share: surface" in out
    assert "| LS on train E / F | LS on train+val E / F | BLR on train E / F |" in out
    assert residuals.main([str(run), "--split", "val"]) == 0
    assert "val set of" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        residuals.main([str(tmp_path)])
    assert "not a finished acefit run: no config.yaml" in capsys.readouterr().err


def test_a_run_written_before_a_config_key_existed_still_loads(residuals, run, tmp_path):
    import shutil

    import yaml

    old = tmp_path / "old"
    shutil.copytree(run, old)
    cfg = yaml.safe_load((old / "config.yaml").read_text())
    del cfg["data"]["validation"]["stratify"]      # added after the first runs
    cfg["output"]["cache"] = str(run / "cache")
    (old / "config.yaml").write_text(yaml.safe_dump(cfg))
    _, system, checkpoints = residuals.load(old)
    assert system.cache_hit and checkpoints


@pytest.fixture(scope="module")
def ridge():
    return load_script("ridge_refit")


def test_ridge_candidates_solve_the_prior_weighted_normal_equations(ridge):
    rng = np.random.default_rng(3)
    R = np.triu(rng.normal(size=(9, 9))) + 3 * np.eye(9)
    y = rng.normal(size=9)
    gamma = 1.0 + rng.random(9)
    G, b, active = R.T @ R, R.T @ y, np.array([0, 2, 3, 7])
    Gs = G[np.ix_(active, active)]
    top = np.linalg.eigvalsh(Gs / np.outer(gamma[active], gamma[active]))[-1]
    for rho, x in ridge.ridge_candidates(G, b, gamma, active):
        lhs = (Gs + rho * top * np.diag(gamma[active] ** 2)) @ x
        np.testing.assert_allclose(lhs, b[active], rtol=1e-8, atol=1e-10)


def test_ridge_refit_baseline_is_the_runs_own_selection(ridge, run, capsys):
    """With every size kept, the unrefitted OMP choice is the run's selected checkpoint."""
    assert ridge.main([str(run), "--paths", "omp", "--every", "1", "--budgets", "10"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["omp"]
    report = json.loads((run / "report.json").read_text())
    chosen = next(s for s in report["selection"]["selected"]
                  if s["label"] == "omp" and s["budget"] == 10)
    assert out["base10"]["k"] == chosen["n_active"]
    assert out["base10"]["test_E"] == pytest.approx(chosen["errors"]["test"]["all"]["E"]["mae"],
                                                    rel=1e-9)
    assert out["ridge10"]["val_loss"] <= out["base10"]["val_loss"]
    assert out["ridge10"]["rho"] in ridge.RHOS
