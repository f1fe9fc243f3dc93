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
    cfg = {"selection": {"metric": "loss", "budgets": [4]}}      # scored on training data
    assert best_outside(select_checkpoints(paths, errors, cfg, False), paths, errors, cfg,
                        False) is None


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
