"""scripts/zuo_paired.py: paired setting comparison over seeded splits (no data needed)."""

import json
from pathlib import Path

from _scripts import load_script

zuo_paired = load_script("zuo_paired")


def _stats(e, f):
    return {"all": {"E": {"mae": e}, "F": {"mae": f}}}


def _step(n_active, val_loss, val_e, val_f, test_e=2.0, test_f=0.1):
    return {"n_active": n_active, "val_loss": val_loss,
            "val": _stats(val_e, val_f), "test": _stats(test_e, test_f)}


def _write_run(folder: Path, omp_steps):
    errors = folder / "mo" / "errors"
    errors.mkdir(parents=True)
    (errors / "omp.json").write_text(json.dumps({"steps": omp_steps}))


def test_budget_choice_loss_and_summed_relative_change(tmp_path, capsys):
    # base: the 400-function step has the best loss but is beyond the budget
    for seed, (e_new, f_new) in enumerate([(1.5, 0.11), (2.2, 0.095)]):
        _write_run(tmp_path / f"base{seed}", [_step(100, 0.30, 2.0, 0.10),
                                              _step(400, 0.10, 1.0, 0.05)])
        _write_run(tmp_path / f"new{seed}", [_step(200, 0.27, e_new, f_new, test_e=1.9)])
    zuo_paired.main([str(tmp_path / "base{seed}"), str(tmp_path / "new{seed}"),
                     "--seeds", "0", "1", "--budget", "300", "--loss", "--ef", "--label", "t"])
    row = capsys.readouterr().out.strip()
    # ASP and BLR have no runs: dashes; OMP: val E -0.5 / +0.2, val F +0.01 / -0.005,
    # loss -10 % in both, E+F: -25 % + 10 % = -15 % and +10 % - 5 % = +5 %
    assert row.startswith("| t (2 splits) | – | ") and row.endswith(" | – |")
    omp = row.split(" | ")[2]
    assert omp.startswith("-0.15 ± 0.35 / +0.0025 ± 0.0075 / -0.10 ± 0.00 / +0.0000")
    assert "/ -10.0 ± 0.0 %" in omp
    assert omp.endswith("E+F -5.0 ± 10.0 % (lower in 1 of 2)")
