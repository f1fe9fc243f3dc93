"""The text of `acefit fit --plan` for the cases a small fit does not reach."""

from acefit.plan import plan_text


def _plan(train_rows_bytes, limit, remote=False):
    rows = {"E": 10, "F": 300, "V": 60}
    return {"run": "big", "configs": {"train": 10, "val": 2, "test": 3},
            "atoms": {"train": 100, "val": 20, "test": 30},
            "basis": {"n_functions": 5000, "composition": "nu=1: 20"},
            "rows": {"train": rows, "train_all": rows, "val": rows, "test": rows},
            "bytes": {"reduced_system": 8 * 5000**2,
                      "train_rows": train_rows_bytes, "val_rows": 3 * 2**20,
                      "test_rows": 512},
            "train_rows_limit_bytes": limit, "remote_workers": remote}


def test_rows_over_the_limit_or_on_remote_workers_are_not_kept():
    text = plan_text(_plan(5 * 2**30, 4 * 2**30))
    assert "5.00 GiB on disk (over output.train_rows_gib: not kept" in text
    assert "more with zero weight" not in text          # every row has a weight
    assert "reduced system R: 5000 x 5000, 190.73 MiB" in text
    assert "3.00 MiB and 0.5 KiB" in text
    remote = plan_text(_plan(2**20, 4 * 2**30, remote=True))
    assert "(not kept with remote workers" in remote
    assert "(kept: within output.train_rows_gib" in plan_text(_plan(2**20, 4 * 2**30))
