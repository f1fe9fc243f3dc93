"""acefit.selection: the rules that pick a checkpoint of a path."""

import numpy as np
import pytest

from acefit.checkpoints import read_path, write_path
from acefit.selection import best_step, select, select_index
from acefit.solvers.path import Path, Step


def _hand_path():
    # sizes        1     2     3     4     5     6
    # val_error  0.50  0.30  0.21  0.20  0.25  0.19
    sizes = [1, 2, 3, 4, 5, 6]
    vals = [0.50, 0.30, 0.21, 0.20, 0.25, 0.19]
    steps = []
    for k, v in zip(sizes, vals):
        coef = np.zeros(8)
        coef[:k] = 1.0
        steps.append(Step(active=np.arange(k), coef=coef, lam=1.0 / k, train_error=v / 2,
                          val_error=v))
    return Path("omp", {}, steps)


def test_selection_rules_on_a_known_path():
    p = _hand_path()
    assert select_index(p, "final") == 5
    assert select_index(p, "final", max_active=4) == 3
    assert select_index(p, "best_val") == 5
    assert select_index(p, "best_val", max_active=5) == 3
    assert select_index(p, "best_val", max_active=3) == 2
    assert select_index(p, "sparsest_within", factor=1.1) == 3            # 0.20 <= 0.209
    assert select_index(p, "sparsest_within", factor=1.15) == 2           # 0.21 <= 0.2185
    assert select_index(p, "sparsest_within", factor=1.6, max_active=5) == 1   # 0.30 <= 0.32
    assert select(p, "best_val", max_active=4) is p.steps[3]


def test_selection_ties_and_errors():
    p = _hand_path()
    p.steps[4].val_error = 0.19          # tie with step 5: fewer active wins
    assert select_index(p, "best_val") == 4
    with pytest.raises(ValueError, match="unknown selection rule"):
        select_index(p, "median")
    with pytest.raises(ValueError, match="at most 0 active"):
        select_index(p, "best_val", max_active=0)
    with pytest.raises(ValueError, match="factor"):
        select_index(p, "sparsest_within", factor=0.5)
    for s in p.steps:
        s.val_error = None
    with pytest.raises(ValueError, match="validation"):
        select_index(p, "best_val")
    assert select_index(p, "final") == 5


def test_selection_on_a_read_back_path(tmp_path):
    f = tmp_path / "sel.h5"
    write_path(f, _hand_path())
    assert select_index(read_path(f), "best_val", max_active=5) == 3


def test_best_step_is_the_rule_of_best_val():
    # NaN scores are never chosen; ties go to fewer active functions, then the earlier step
    scores = np.array([np.nan, 0.3, 0.2, 0.2, 0.2, 0.1])
    sizes = np.array([1, 2, 4, 3, 3, 9])
    assert best_step(scores, sizes) == 5
    assert best_step(scores, sizes, sizes <= 4) == 3
    assert best_step(scores, sizes, sizes <= 1) is None
    p = Path("omp", {}, [Step(active=np.arange(k), coef=np.r_[np.ones(k), np.zeros(9 - k)],
                              lam=1.0, train_error=0.0, val_error=None if np.isnan(v) else v)
                         for k, v in zip(sizes, scores)])
    assert select_index(p, "best_val", max_active=4) == 3


def test_the_best_checkpoint_of_any_size_when_no_budget_holds_it():
    """The fit's rule with no budget (``acefit compare``'s "any" rows) over every path:
    named when the selected checkpoints lack it, None when one of them is it."""
    from acefit.selection import best_outside, select_checkpoints

    big = _hand_path()                    # its best: 0.19 at 6 functions
    small = _hand_path()
    for step, v in zip(small.steps, (0.6, 0.4, 0.3, 0.22, 0.23, 0.24)):
        step.val_error = v
    paths = {"omp": big, "asp": small}
    errors = {label: [{"val_loss": s.val_error, "n_active": s.n_active} for s in p.steps]
              for label, p in paths.items()}

    def outside(budgets):
        cfg = {"selection": {"metric": "loss", "budgets": budgets}}
        return best_outside(select_checkpoints(paths, errors, cfg, True), paths, errors, cfg,
                            True)

    best = outside([4])
    assert (best["label"], best["step"], best["n_active"], best["budget"]) == ("omp", 5, 6, None)
    assert best["score"] == 0.19
    assert outside([4, 6]) is None and outside([]) is None
    # scored on training data: the best of any size is the largest checkpoint, no choice
    # to point to. With training losses, so that a best outside budget 4 exists to refuse
    trained = {label: [{**e, "train_loss": s.val_error} for e, s in zip(errors[label], p.steps)]
               for label, p in paths.items()}
    cfg = {"selection": {"metric": "loss", "budgets": [4]}}
    chosen = select_checkpoints(paths, trained, cfg, False)
    assert best_outside(chosen, paths, trained, cfg, True)["n_active"] == 6
    assert best_outside(chosen, paths, trained, cfg, False) is None


def test_the_paths_a_budget_holds_no_checkpoint_of():
    """A path whose every step is above a budget, or whose steps within it have no score,
    is named with its smallest checkpoint; the report says so, and that no potential was
    exported when no budget holds anything."""
    from acefit.report import unmet_budget_lines
    from acefit.selection import select_checkpoints, unmet_budgets

    small = _hand_path()                                  # sizes 1..6
    big = Path("blr", {}, [Step(active=np.arange(8), coef=np.ones(8), lam=1.0,
                                train_error=0.1, val_error=0.1)])
    unscored = _hand_path()
    paths = {"omp": small, "blr": big, "ard": unscored}
    errors = {label: [{"val_loss": None if label == "ard" and s.n_active <= 3 else s.val_error}
                      for s in p.steps] for label, p in paths.items()}
    cfg = {"selection": {"metric": "loss", "budgets": [3, 8]}}
    selected = select_checkpoints(paths, errors, cfg, True)
    unmet = unmet_budgets(selected, paths, [3, 8])
    assert unmet == [{"budget": 3, "label": "blr", "smallest": 8},
                     {"budget": 3, "label": "ard", "smallest": 1}]
    lines = unmet_budget_lines(unmet, True)
    assert lines == ["Budget ≤ 3: blr (smallest checkpoint: 8 functions) and ard (no score "
                     "of a checkpoint within it) have no checkpoint to select; the table "
                     "leaves them out.", ""]
    assert unmet_budgets(selected, paths, [8]) == [] and unmet_budget_lines([], True) == []
    lone = {"blr": big}
    unmet = unmet_budgets(select_checkpoints(lone, errors, cfg, True), lone, [3])
    lines = unmet_budget_lines(unmet, False)
    assert lines[0].startswith("Budget ≤ 3: blr (smallest checkpoint: 8 functions) has no ")
    assert lines[1].startswith("No potential was exported: no budget holds a checkpoint.")


def _entry(n_active, train_mae, val_mae, val_loss):
    def errors(mae):
        return None if mae is None else {"all": {"E": {"mae": mae}, "F": {"mae": mae}}}
    return {"n_active": n_active, "train": errors(train_mae), "val": errors(val_mae),
            "train_loss": train_mae, "val_loss": val_loss}


@pytest.mark.parametrize("entries, split, best", [
    # validation errors stored but no solver val_loss: the fit had a validation set
    ([_entry(2, 0.5, 0.1, None), _entry(4, 0.2, 0.3, None)], "val", 0),
    # a solver val_loss but no validation errors: no validation set to select on
    ([_entry(2, 0.5, None, 0.1), _entry(4, 0.2, None, 0.3)], "train", 1),
])
def test_runs_and_compare_read_the_selection_split_alike(entries, split, best):
    """One rule, the fit's (``has_val``: a validation set): ``acefit export --budget`` and
    ``acefit compare`` choose the same step, on the split :func:`selection_split` names,
    as ``select_checkpoints`` does."""
    from types import SimpleNamespace

    from acefit.compare import best_checkpoint
    from acefit.runs import _choose_step
    from acefit.selection import select_checkpoints, selection_split

    assert selection_split(entries) == split
    cfg = {"selection": {"metric": "energy_mae", "budgets": [4]}}
    sizes = np.array([e["n_active"] for e in entries])
    run = SimpleNamespace(directory="run", cfg=cfg, errors={"omp": entries},
                          paths={"omp": SimpleNamespace(sizes=sizes)})
    fit = select_checkpoints(run.paths, run.errors, cfg, has_val=split == "val")
    assert [s["step"] for s in fit] == [best]
    assert best_checkpoint(entries, 4, "energy_mae") == best
    assert _choose_step(run, "omp", None, None, 4) == best


def _sel(budget, label, step, n_active, score, best):
    return {"budget": budget, "label": label, "step": step, "n_active": n_active,
            "score": score, "best": best}


def test_headline_is_the_best_of_the_largest_budget():
    """The run's potential.h5/.yace is the best checkpoint of the largest budget; the best
    of a smaller budget (listed first) would be a smaller model, worse on validation."""
    from acefit.selection import headline

    sel = [_sel(10, "omp", 3, 10, 0.2, True),
           _sel(40, "asp", 7, 35, 0.3, False),
           _sel(40, "omp", 9, 38, 0.1, True),
           _sel(20, "omp", 5, 20, 0.15, True)]
    assert headline(sel) is sel[2]
    anysize = _sel(None, "asp", 12, 60, 0.05, True)       # None: any size, the largest
    assert headline(sel + [anysize]) is anysize
    assert headline([]) is None


@pytest.mark.parametrize("metric", ["energy_mae", "forces_mae", "energy_rmse", "forces_rmse"])
def test_score_reads_the_statistic_its_metric_names(metric):
    """``selection.metric: forces_mae`` scores by the force MAE, not the force RMSE or an
    energy error (each of the four numbers differs here)."""
    from acefit.selection import score

    entry = {"val": {"all": {"E": {"mae": 1.0, "rmse": 2.0}, "F": {"mae": 3.0, "rmse": 4.0}}},
             "train": {"all": {"E": {"mae": 5.0, "rmse": 6.0},
                               "F": {"mae": 7.0, "rmse": 8.0}}}}
    q = {"energy": "E", "forces": "F"}[metric.split("_")[0]]
    stat = metric.split("_")[1]
    assert score(entry, metric, "val") == entry["val"]["all"][q][stat]
    assert score(entry, metric, "train") == entry["train"]["all"][q][stat]


def test_a_tie_across_paths_goes_to_the_smaller_model():
    """Two paths whose best checkpoints score the same (``+ls`` paths reaching one
    support): the overall choice of the budget is the one of fewer functions, whichever
    path comes first."""
    from acefit.selection import select_checkpoints

    def path(n):
        return Path("omp", {}, [Step(active=np.arange(n), coef=np.r_[np.ones(n), np.zeros(8 - n)],
                                     lam=1.0, train_error=0.1, val_error=0.2)])

    paths = {"big": path(5), "small": path(2)}
    errors = {label: [{"val_loss": 0.2}] for label in paths}
    cfg = {"selection": {"metric": "loss", "budgets": [8]}}
    chosen = select_checkpoints(paths, errors, cfg, True)
    assert [(s["label"], s["best"]) for s in chosen] == [("big", False), ("small", True)]


def test_the_split_is_val_when_any_entry_has_validation_errors():
    """Entries of which some lack validation errors still select on validation."""
    from acefit.selection import selection_split

    val = {"all": {"E": {"mae": 1.0}}}
    assert selection_split([{"val": None}, {"val": val}]) == "val"
    assert selection_split([{"val": val}, {"val": None}]) == "val"
    assert selection_split([{"val": None}, {}]) == "train"


def test_sparsest_within_a_factor_of_one_is_the_best():
    """``factor=1``: the best step itself is within the factor (it was an IndexError with a
    strict comparison)."""
    p = _hand_path()
    assert select_index(p, "sparsest_within", factor=1.0) == select_index(p, "best_val") == 5
    assert select_index(p, "sparsest_within", factor=1.0, max_active=5) == 3
