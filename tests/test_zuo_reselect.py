"""scripts/zuo_reselect.py: ACEfit's checkpoint storage rule and re-selection (no data)."""

import json

from _scripts import load_script

zuo_reselect = load_script("zuo_reselect")


def test_stored_indices_follow_acefits_rule():
    # q = 1001 steps, nstore 100: every 10.01 steps, 1-based round(1 + k * 10.01)
    kept = zuo_reselect.stored_indices(1001, 100)
    assert kept[:4] == [0, 10, 20, 30] and kept[-1] == 1000 and len(kept) == 101
    assert zuo_reselect.stored_indices(7, 100) == list(range(7))
    # q = 250: every 2.5, 1-based 1, 3.5 -> 4, 6, 8.5 -> 9, ...
    assert zuo_reselect.stored_indices(250, 100)[:5] == [0, 3, 5, 8, 10]


def _step(n, loss, e):
    stats = {"all": {"E": {"mae": e}, "F": {"mae": 0.1}}}
    return {"n_active": n, "val_loss": loss, "test": stats, "val": stats}


def test_reselection_among_stored_checkpoints(tmp_path, capsys):
    # 21 steps of 0..20 functions, nstore 10 keeps 0, 2, 4, 6, 8, 11, 13, ...: the
    # lowest loss is at 12, which it does not keep, the next lowest at 11
    steps = [_step(n, 1.0 - 0.01 * n, 3.0) for n in range(21)]
    steps[12] = _step(12, 0.1, 9.0)
    steps[11] = _step(11, 0.2, 2.0)
    errors = tmp_path / "mo" / "errors"
    errors.mkdir(parents=True)
    (errors / "omp.json").write_text(json.dumps({"steps": steps}))
    zuo_reselect.main([str(tmp_path), "--nstore", "10", "--budgets", "15"])
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row == "| Mo | omp | 15 | 12 / 9.000 / 0.1000 | 11 / 2.000 / 0.1000 |"
