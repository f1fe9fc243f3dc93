"""scripts/tsvd_crossfit.py: the TSVD truncation rules scored on held-out validation halves."""

import json

import numpy as np
import pytest
from _scripts import load_script
from test_cli import EXIT_OK, fit, small_data, tiny_config  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def crossfit():
    return load_script("tsvd_crossfit")


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_data):  # noqa: F811
    folder = tmp_path_factory.mktemp("crossfit")
    solvers = ["{name: asp, max_active: 12, debias: tsvd, debias_every: 4}",
               "{name: asp, label: asp_rank, max_active: 12, debias: tsvd, debias_every: 4, "
               "tsvd_truncation: rank}"]
    assert fit(tiny_config(folder, small_data, solvers=solvers), folder / "run") == EXIT_OK
    return folder / "run"


def test_all_validation_configs_reproduce_the_pipeline_refits(crossfit, run):
    """Chosen on every validation configuration, each rule's best truncation has the
    validation error of the pipeline's refit under that rule."""
    from acefit.checkpoints import read_paths

    _, system, gamma = crossfit.load_with_prior(run)
    Av, yv = system.val.weighted(order="F")
    _, row_config = np.unique(system.val.config, return_inverse=True)
    onehot = np.eye(row_config.max() + 1)[row_config]
    paths = read_paths(run / "paths.h5")
    for thresholds, ranked in zip(paths["asp"].steps[1:], paths["asp_rank"].steps[1:],
                                  strict=True):
        sse, cands = crossfit.step_sse(system.train, np.sort(thresholds.active), gamma,
                                       Av, yv, onehot)
        total = sse.sum(axis=0)
        assert np.sqrt(total.min() / yv.size) == pytest.approx(ranked.val_error, rel=1e-8)
        assert np.sqrt(total[cands].min() / yv.size) == pytest.approx(thresholds.val_error,
                                                                      rel=1e-8)


def test_choice_and_held_out_scores(crossfit):
    # two steps, three configurations, ranks 1..3; step 1 has 8 functions
    a = np.array([[4.0, 1.0, 3.0], [4.0, 1.0, 3.0], [4.0, 9.0, 3.0]])
    b = np.array([[2.0, 2.0, 0.5], [2.0, 2.0, 0.5], [2.0, 2.0, 9.0]])
    steps = [{"k": 4, "sse": a, "thresholds": np.array([0, 2])},
             {"k": 8, "sse": b, "thresholds": np.array([0, 1])}]
    assert crossfit.choose(steps, "rank", [0, 1], 10) == (1, 2)         # 1.0 beats 2.0
    assert crossfit.choose(steps, "thresholds", [0, 1], 10) == (1, 0)   # ties: lower rank
    assert crossfit.choose(steps, "rank", [0, 1], 5) == (0, 1)          # budget: step 0 only
    assert crossfit.choose(steps, "ls", [0, 1], 10) == (1, 2)           # full rank only: 1 < 6
    assert crossfit.choose(steps, "ls", [2], 10) == (0, 2)              # 3 < 9
    held = crossfit.crossfit(steps, np.array([10.0, 10.0, 10.0]), [10], halvings=3)
    assert set(held[10]) == {"thresholds", "rank", "ls"}
    assert all(v.shape == (6,) and np.all(v > 0) for v in held[10].values())


def test_main_prints_both_rules(crossfit, run, capsys):
    assert crossfit.main([str(run), "--paths", "asp", "--every", "4", "--budgets", "8,12",
                          "--halvings", "3"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["asp"]) == {"8", "12"}
    assert {"thresholds", "rank", "ls", "rank_diff_pct", "ls_diff_pct"} <= set(report["asp"]["12"])
