"""``acefit export`` (acefit.runs): any checkpoint of a finished run as a potential file."""

import json
import shutil

import numpy as np
import pytest
import yaml
from test_cli import (  # noqa: F401  (small_data: a fixture)
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_EXISTS,
    EXIT_OK,
    fit,
    main,
    small_data,
    tiny_config,
)

from acefit.calculator import ACECalculator
from acefit.potential import Potential
from acefit.runs import checkpoint_potential, open_run

# Files of a run that `acefit export` reads (a copy without the cache is a whole run to it).
_RUN_FILES = ("config.yaml", "run.json", "paths.h5", "basis_functions.json", "errors",
              "report.json", "potentials")


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_data):  # noqa: F811
    """A finished tiny run (ASP, OMP and an a-priori BLR path of sizes 4 and 12; budget
    10) whose basis LAMMPS can represent, exported as .h5 and .yace."""
    folder = tmp_path_factory.mktemp("export")
    config = tiny_config(folder, small_data, solvers=["{name: asp, max_active: 20}",
                                                      "{name: omp, max_active: 20}",
                                                      "{name: blr, sizes: [4, 12]}"],
                         extra="export: {formats: [acefit, yace]}\n")
    config.write_text(config.read_text().replace(
        "  rcut: 4.5\n", "  rcut: 4.5\n  transform: polynomial\n  pair_degree: 0\n"))
    assert fit(config, folder / "run") == EXIT_OK
    return folder / "run"


def _copy(run, target, drop=()):
    target.mkdir()
    for name in _RUN_FILES:
        if name in drop:
            continue
        (shutil.copytree if (run / name).is_dir() else shutil.copy2)(run / name, target / name)
    return target


def export(*args):
    return main(["export", *map(str, args), "-q", "--no-progress"])


def _report(run):
    return json.loads((run / "report.json").read_text())


def _steps(run, label):
    return json.loads((run / "errors" / f"{label}.json").read_text())["steps"]


def _test_frames(small_data):  # noqa: F811
    from ase.io import read

    return read(small_data / "test.xyz", ":")


@pytest.mark.parametrize("label", ["asp", "omp"])
def test_budget_reproduces_the_fits_selected_potential(run, small_data, tmp_path, label,  # noqa: F811
                                                       capsys):
    selected = next(s for s in _report(run)["selection"]["selected"] if s["label"] == label)
    assert export(run, "--path", label, "--budget", 10, "-o", tmp_path / "mine") == EXIT_OK
    out = capsys.readouterr().out
    assert f"path {label}, step {selected['step']}: {selected['n_active']} active" in out
    test = selected["errors"]["test"]["all"]["E"]     # with the SE over the configurations
    assert f"test {test['mae']:.3f} ± {test['mae_se']:.3f}" in out
    assert f"wrote {tmp_path / 'mine.h5'}" in out and f"wrote {tmp_path / 'mine.yace'}" in out
    assert f"wrote {tmp_path / 'mine.lammps'}" in out
    assert "pair_coeff * * mine.yace Cu Au" in (tmp_path / "mine.lammps").read_text()
    cores = [v["repulsive_core"] for v in selected["dimers"].values()]   # the fit's verdicts
    assert len(cores) == 3 and ("  dimers (0.5-3 Å): " + (
        "every pair has a repulsive core" if all(cores) else "NO repulsive core for")) in out
    ours, theirs = Potential.load(tmp_path / "mine.h5"), Potential.load(
        run / "potentials" / f"{label}_t10.h5")
    assert np.array_equal(ours.coefficients, theirs.coefficients)
    assert ours.e0 == theirs.e0
    mine_meta, fit_meta = dict(ours.metadata), dict(theirs.metadata)
    provenance = mine_meta.pop("provenance")
    assert provenance.pop("exported_from") == str(run.resolve())
    for meta in (provenance, fit_meta["provenance"]):
        meta.pop("created")
    assert provenance == fit_meta.pop("provenance")
    mine_meta.pop("provenance", None)
    assert mine_meta == fit_meta
    atoms = _test_frames(small_data)[0]
    a, b = atoms.copy(), atoms.copy()
    a.calc, b.calc = ACECalculator(ours), ACECalculator(theirs)
    assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), rel=1e-12,
                                                     abs=1e-12)
    np.testing.assert_allclose(a.get_forces(), b.get_forces(), rtol=1e-12, atol=1e-12)


def test_a_negative_step_counts_from_the_end(run):
    from acefit.checkpoints import read_paths
    from acefit.runs import checkpoint_potential

    n_steps = len(read_paths(run / "paths.h5")["omp"].steps)
    last, info = checkpoint_potential(run, "omp", step=-1)
    direct, _ = checkpoint_potential(run, "omp", step=n_steps - 1)
    assert info["step"] == n_steps - 1 > 0
    np.testing.assert_array_equal(last.coefficients, direct.coefficients)
    assert export(run, "--path", "omp", "--step", -1) == EXIT_OK
    assert (run / "potentials" / f"omp_step{info['step']}.h5").is_file()


def test_the_printed_errors_include_the_stress_where_the_fit_has_stress_rows(run, tmp_path,
                                                                            capsys):
    """Walk-through 2 (session 31): export printed E and F MAE, not the S of report.md."""
    entry = _steps(run, "omp")[8]
    assert entry["val"]["all"]["S"]["n"] > 0
    assert export(run, "--path", "omp", "--step", 8, "-o", tmp_path / "s") == EXIT_OK
    out = capsys.readouterr().out
    stress = {split: entry[split]["all"]["S"] for split in ("train", "val", "test")}
    assert "  S MAE (GPa): " + ", ".join(
        f"{split} {s['mae']:.3f}" + (f" ± {s['mae_se']:.3f}" if "mae_se" in s else "")
        for split, s in stress.items()) in out
    # a fit without stress rows: no S line (not one of dashes)
    copy = _copy(run, tmp_path / "unstressed")
    errors = json.loads((copy / "errors" / "omp.json").read_text())
    for step in errors["steps"]:
        for split in ("train", "val", "test"):
            step[split]["all"]["S"] = {"mae": None, "rmse": None, "n": 0}
    (copy / "errors" / "omp.json").write_text(json.dumps(errors))
    assert export(copy, "--path", "omp", "--step", 8, "-o", tmp_path / "u") == EXIT_OK
    out = capsys.readouterr().out
    assert "  F MAE (eV/Å): " in out and "S MAE" not in out


def test_a_step_not_selected_reproduces_its_test_errors_through_ase(run, small_data):  # noqa: F811
    chosen = {(s["label"], s["step"]) for s in _report(run)["selection"]["selected"]}
    step = 15
    assert ("omp", step) not in chosen
    assert export(run, "--path", "omp", "--step", step) == EXIT_OK
    written = run / "potentials" / f"omp_step{step}.h5"
    assert written.is_file() and written.with_suffix(".yace").is_file()
    calc = ACECalculator(written)
    e_err, f_err = [], []
    for atoms in _test_frames(small_data):
        mine = atoms.copy()
        mine.calc = calc
        e_err.append(abs(mine.get_potential_energy() - atoms.get_potential_energy())
                     / len(atoms) * 1e3)
        f_err.append(np.abs(mine.get_forces() - atoms.get_forces()).ravel())
    reported = _steps(run, "omp")[step]["test"]["all"]
    assert np.mean(e_err) == pytest.approx(reported["E"]["mae"], rel=1e-8)
    assert np.mean(np.concatenate(f_err)) == pytest.approx(reported["F"]["mae"], rel=1e-8)
    assert Potential.load(written).metadata["step"] == step


def test_active_picks_the_best_validation_step_of_that_size(run, capsys):
    entries = _steps(run, "asp")
    sizes = [e["n_active"] for e in entries]
    repeated = [n for n in set(sizes) if sizes.count(n) > 1]
    assert repeated, "the ASP path has no size with several steps to choose from"
    opened = open_run(run)
    for n in sorted(set(sizes)):
        # brute force: smallest validation loss (selection.metric: loss), then earliest
        expected = min((e["val_loss"], i) for i, e in enumerate(entries)
                       if e["n_active"] == n)[1]
        potential, info = checkpoint_potential(run, "asp", active=n, run=opened)
        assert (info["step"], info["n_active"], len(potential)) == (expected, n, n)
        assert info["entry"] == entries[expected]
    n = max(repeated, key=sizes.count)
    assert export(run, "--path", "asp", "--active", n, "-o", run.parent / "asp_n") == EXIT_OK
    expected = min((e["val_loss"], i) for i, e in enumerate(entries) if e["n_active"] == n)[1]
    assert f"step {expected}: {n} active functions" in capsys.readouterr().out


def test_formats_and_the_yace_file(run, small_data, tmp_path):  # noqa: F811
    assert export(run, "--path", "omp", "--step", 8, "-o", tmp_path / "only",
                  "--format", "acefit") == EXIT_OK
    assert (tmp_path / "only.h5").is_file() and not (tmp_path / "only.yace").exists()
    pyace = pytest.importorskip("pyace", reason="python-ace (pyace) is not installed; "
                                "`pip install --pre python-ace` to check the .yace export")
    assert export(run, "--path", "omp", "--step", 8, "-o", tmp_path / "both",
                  "--yace-radial", "recurrence") == EXIT_OK
    atoms = _test_frames(small_data)[1]
    a, b = atoms.copy(), atoms.copy()
    a.calc = ACECalculator(tmp_path / "both.h5")
    b.calc = pyace.PyACECalculator(str(tmp_path / "both.yace"))
    assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), rel=1e-10)
    np.testing.assert_allclose(a.get_forces(), b.get_forces(), rtol=1e-9, atol=1e-10)


def test_dots_in_a_name_are_kept(run, tmp_path, capsys):
    """`-o cu_v1.5` wrote cu_v1.h5, and a fit's solver labels omp.a and omp.b both wrote
    potentials/omp.h5, each replacing the other (found in session 26)."""
    assert export(run, "--path", "omp", "--step", 8, "-o", tmp_path / "cu_v1.5",
                  "--format", "acefit") == EXIT_OK
    assert f"wrote {tmp_path / 'cu_v1.5.h5'}\n" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["cu_v1.5.h5"]
    from acefit.export.formats import format_path

    assert format_path(tmp_path / "omp.a_t10", "yace") == tmp_path / "omp.a_t10.yace"
    # a format's suffix on the stem is replaced: -o pot.h5 writes pot.h5 and pot.yace
    assert [format_path("pot.h5", f).name for f in ("acefit", "yace")] == ["pot.h5", "pot.yace"]
    assert format_path("pot.yace", "acefit").name == "pot.h5"
    # found by review: pot.H5 gave pot.H5.h5, and pot. gave pot..h5
    assert [format_path("pot.H5", f).name for f in ("acefit", "yace")] == ["pot.h5", "pot.yace"]
    assert format_path("pot.", "acefit").name == "pot.h5"


def test_the_default_path_is_the_headline_potentials(run, capsys):
    head = next(s for s in _report(run)["selection"]["selected"]
                if s["best"] and "potential.h5" in s["files"]["acefit"])
    others = ", ".join(sorted({"asp", "blr", "omp"} - {head["label"]}))
    assert export(run, "--budget", 10, "-o", run.parent / "head") == EXIT_OK
    out = capsys.readouterr().out
    assert f"path {head['label']}: that of the run's potential.h5 (--path for {others})" in out
    assert f"step {head['step']}:" in out
    assert Potential.load(run.parent / "head.h5").metadata["label"] == head["label"]
    # found by fuzzing (session 25): --budget 0 wrote a potential without functions
    with pytest.raises(SystemExit) as exit_:
        export(run, "--budget", 0)
    assert exit_.value.code == EXIT_CONFIG
    assert "--budget: found '0'; allowed: an integer >= 1" in capsys.readouterr().err


def test_select_checkpoints_from_the_files_is_the_fits_selection(run):
    from acefit.selection import select_checkpoints

    opened = open_run(run)
    mine = select_checkpoints(opened.paths, opened.errors, opened.cfg, has_val=True)
    def chosen(selected):
        return sorted((s["budget"], s["label"], s["step"], s["best"]) for s in selected)

    assert chosen(mine) == chosen(_report(run)["selection"]["selected"])


def test_an_interrupted_run_computes_e0_again(run, tmp_path, capsys):
    copy = _copy(run, tmp_path / "interrupted", drop=("report.json",))
    assert export(copy, "--step", 3) == EXIT_CONFIG       # two paths, no headline
    err = capsys.readouterr().err
    assert f"{copy} has 3 solver paths and no headline potential; choose one (--path): " \
           "asp, blr, omp" in err
    potential, info = checkpoint_potential(copy, "omp", step=3)
    assert info["e0_source"].startswith("computed again")
    fitted = _report(run)["e0"]["values"]
    assert potential.e0.keys() == fitted.keys()
    for element, value in fitted.items():
        assert potential.e0[element] == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert export(copy, "--path", "omp", "--step", 3) == EXIT_OK
    assert "E0 computed again" in capsys.readouterr().out
    # and so is which separated atoms no free atom pins, as the fit's potentials record it
    separated = {"e0": "fit", "elements": ["Cu", "Au"]}
    assert _report(run)["e0"]["separated_atoms"] == separated
    assert potential.metadata["separated_atoms"] == separated
    assert checkpoint_potential(run, "omp", step=3)[0].metadata["separated_atoms"] == separated


@pytest.mark.parametrize("key, before, after, message", [
    ("totaldegree", [6, 4], [7, 4], "basis_functions.json (49 functions against 46"),
    ("rcut", 4.5, 5.0, "that of potentials/asp_t10.h5 (it differs in: radial)"),
])
def test_the_basis_check_fires_when_the_config_changed(run, tmp_path, capsys, key, before,
                                                       after, message):
    copy = _copy(run, tmp_path / "edited")
    config = copy / "config.yaml"
    cfg = yaml.safe_load(config.read_text())
    assert cfg["basis"][key] == before
    cfg["basis"][key] = after
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert export(copy, "--path", "omp", "--step", 3) == EXIT_ERROR
    err = capsys.readouterr().err
    assert f"acefit: error: {copy}: the basis built from config.yaml does not match " \
           f"{message}" in err
    assert "changed since the fit, so its checkpoints cannot be exported" in err
    assert not (copy / "potentials" / "omp_step3.h5").exists()


def test_a_damaged_exported_potential_does_not_block_the_export(run, tmp_path, capsys):
    """Found by fuzzing (session 29): export checks the rebuilt basis against the first
    potential file the fit exported, and a damaged one stopped the export of every
    checkpoint; the check now passes it over, with a warning, for the next."""
    copy = _copy(run, tmp_path / "damaged")
    first = copy / "potentials" / "asp_t10.h5"
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    assert export(copy, "--path", "omp", "--step", 3) == EXIT_OK
    err = capsys.readouterr().err
    assert f"{first}" in err and "passed over in the check of the rebuilt basis" in err
    # ... and the check still fires against the next file
    config = copy / "config.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg["basis"]["rcut"] = 5.0
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert export(copy, "--path", "omp", "--step", 4) == EXIT_ERROR
    assert "does not match that of potentials/" in capsys.readouterr().err


# The command line after `acefit export` -> its one error line; each exits with status 2.
BAD_INPUT = {
    "{tmp}/absent --step 1": "run directory {tmp}/absent does not exist",
    "{tmp} --step 1": "{tmp} is not an acefit run directory (no config.yaml, paths.h5, "
                      "basis_functions.json)",
    "{run} --path lasso --step 1": "{run}: no solver path 'lasso' with evaluated errors; "
                                   "available: asp, blr, omp",
    "{run} --path omp --step 21": "{run}: path 'omp' has steps 0 to 20 (or -21 to -1 from its "
                                  "end); found step 21",
    "{run} --path omp --step -22": "{run}: path 'omp' has steps 0 to 20 (or -21 to -1 from its "
                                   "end); found step -22",
    "{run} --path omp --active 25": "{run}: path 'omp' has no step with 25 active functions; "
                                    "nearest sizes: below 20 (from step 20), none above",
    "{run} --path blr --active 8": "{run}: path 'blr' has no step with 8 active functions; "
                                   "nearest sizes: below 4 (from step 0), above 12 (from step 1)",
    "{run} --path omp --budget -1": "--budget: found '-1'; allowed: an integer >= 1",
    "{run} --path blr --budget 3": "{run}: path 'blr': budget 3 is below its smallest step "
                                   "(4 active functions)",
    "{run} --path omp": "error: one of the arguments --step --active --budget is required",
    "{run} --step 1 --budget 10": "error: argument --budget: not allowed with argument --step",
    "{run} --step 1 --format lammps": "error: argument --format: invalid choice: 'lammps'",
}


@pytest.mark.parametrize("args", list(BAD_INPUT))
def test_bad_input_gives_one_clear_line(run, tmp_path, capsys, args):
    fill = {"tmp": tmp_path, "run": run}
    try:
        status = export(*args.format(**fill).split())
    except SystemExit as exc:   # argparse: the usage and one error line
        status = exc.code
    assert status == EXIT_CONFIG
    err = capsys.readouterr().err
    assert BAD_INPUT[args].format(**fill) in err
    assert "Traceback" not in err



def test_a_format_that_cannot_be_written_is_an_error(run, tmp_path, capsys, monkeypatch):
    import acefit.export.yace

    def refuse(potential, path, **options):
        raise ValueError("not representable")

    monkeypatch.setattr(acefit.export.yace, "export_yace", refuse)
    assert export(run, "--path", "omp", "--step", 2, "-o", tmp_path / "p") == EXIT_ERROR
    captured = capsys.readouterr()
    assert f"wrote {tmp_path / 'p.h5'}" in captured.out and (tmp_path / "p.h5").is_file()
    assert "cannot write p.yace: ValueError: not representable" in captured.err
    assert "acefit: error: yace not written (see the warning above)" in captured.err


def test_a_foreign_lammps_file_is_refused_before_anything_is_written(run, tmp_path, capsys):
    """`-o` into a folder holding a LAMMPS input of the user's named like the potential:
    the .h5 was written, then the .yace refused with a warning, exit 1 (session 35). Now
    refused before any file, as fit and init refuse a file in the way (exit 3)."""
    (tmp_path / "Cu.lammps").write_text("units metal\nread_data cu.data\n")
    assert export(run, "--path", "omp", "--step", 2, "-o", tmp_path / "Cu") == EXIT_EXISTS
    captured = capsys.readouterr()
    assert (f"acefit: {tmp_path / 'Cu.lammps'} exists and acefit did not write it (the pair "
            "commands of Cu.yace go there); nothing was written; move it away, or give "
            "another output name (acefit export -o)") in captured.err
    assert "wrote" not in captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["Cu.lammps"]
    assert (tmp_path / "Cu.lammps").read_text().startswith("units metal")
    # the .h5 alone has no pair commands: written beside it
    assert export(run, "--path", "omp", "--step", 2, "-o", tmp_path / "Cu",
                  "--format", "acefit") == EXIT_OK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Cu.h5", "Cu.lammps"]


def test_a_run_of_the_mirrored_basis_is_still_exported(small_data, tmp_path, monkeypatch):  # noqa: F811
    """acefit 0.1 made both orientations of every order-1 function of two species; a run
    fitted then is exported with that basis, which its basis_functions.json names."""
    import acefit.pipeline

    build = acefit.pipeline.build_basis
    monkeypatch.setattr(acefit.pipeline, "build_basis",
                        lambda cfg, train=(), mirrored=False: build(cfg, train, mirrored=True))
    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 12}"])
    assert fit(config, tmp_path / "old") == EXIT_OK
    monkeypatch.undo()
    old = open_run(tmp_path / "old")
    assert len(old.functions) == len(build(old.cfg)) + 6 + 6   # Au-Cu pair and nu = 1, n <= 6
    assert export(tmp_path / "old", "--path", "omp", "--budget", 10, "-o",
                  tmp_path / "again") == EXIT_OK
    again = Potential.load(tmp_path / "again.h5")
    selected = Potential.load(tmp_path / "old" / "potentials" / "omp_t10.h5")
    assert len(again.basis) == len(selected.basis)
    np.testing.assert_array_equal(again.coefficients, selected.coefficients)
    # an interrupted 0.1 run, resumed by this version, is fitted again on today's basis
    state = json.loads((tmp_path / "old" / "run.json").read_text())
    (tmp_path / "old" / "run.json").write_text(json.dumps({**state, "status": "running"}))
    assert fit(config, tmp_path / "old") == EXIT_OK
    resumed = open_run(tmp_path / "old")
    assert len(resumed.functions) == len(build(resumed.cfg))
    assert Potential.load(tmp_path / "old" / "potential.h5").metadata["n_basis_full"] == \
        len(resumed.functions)
