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


def test_fewer_weighted_rows_than_functions_is_refused_before_the_assembly(tmp_path, capsys):
    """Found by fuzzing (session 25): the assembly refused it, after its work."""
    import ase.io
    from test_cli import QUICKSTART, tiny_config

    from acefit.cli import EXIT_CONFIG, main

    data = tmp_path / "data"
    data.mkdir()
    frames = ase.io.read(QUICKSTART / "train.xyz", ":2")
    ase.io.write(data / "train.xyz", frames)
    ase.io.write(data / "test.xyz", frames[:1])
    config = tiny_config(tmp_path, data, degrees="[12, 10]")
    for extra in (["--plan"], ["-o", str(tmp_path / "run"), "--no-progress"]):
        assert main(["fit", str(config), *extra]) == EXIT_CONFIG
        err = capsys.readouterr().err
        assert "basis: " in err and "but the training data give only" in err
        assert "allowed: a basis of at most" in err
    assert not (tmp_path / "run" / "cache").exists()


def test_the_plan_counts_the_rows_of_each_set_once(tmp_path, monkeypatch):
    """The training rows counted by the check of m >= n are the plan's (it counted them
    a second time)."""
    import ase.io
    from test_cli import QUICKSTART, tiny_config

    import acefit.plan
    from acefit.config import load_config

    data = tmp_path / "data"
    data.mkdir()
    for name in ("train.xyz", "test.xyz"):
        ase.io.write(data / name, ase.io.read(QUICKSTART / name, ":10"))
    cfg = load_config(tiny_config(tmp_path, data))
    real, counted = acefit.plan.row_counts, []

    def counting(configs, weights):
        counted.append(len(configs))
        return real(configs, weights)

    monkeypatch.setattr(acefit.plan, "row_counts", counting)
    p = acefit.plan.plan(cfg)
    assert counted == [p["configs"]["train"], p["configs"]["val"], p["configs"]["test"]]
    assert sum(p["rows"]["train"].values()) <= sum(p["rows"]["train_all"].values())
