"""What the fit and init say about the data before fitting (session 31, a user's
walk-through): stresses missing from periodic frames only, a validation set too small to
select on, config_type keys that match no group, slabs left out of the stress check."""

import logging
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from acefit.cli import main
from acefit.commands import EXIT_CONFIG, EXIT_OK
from acefit.data import LabelledConfig, split


def _labelled(atoms, config_type, stress=True):
    """``atoms`` with EMT's energy and forces (and stress) as a single-point result."""
    atoms.calc = EMT()
    results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}
    if stress:
        results["stress"] = atoms.get_stress()
    atoms.calc = SinglePointCalculator(atoms, **results)
    atoms.info.pop("adsorbate_info", None)      # fcc111's, which extended XYZ cannot write
    atoms.info["config_type"] = config_type
    return atoms


def _frames(n_bulk=12, n_cluster=2, n_surface=3, bulk_type="bulk"):
    """Clusters and an isolated atom first (no stress), then periodic Cu cells with
    stresses, slabs (pbc T T F) with stresses, and last a periodic cell without one."""
    rng = np.random.default_rng(0)
    frames = []
    for k in range(n_cluster):
        cluster = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
        cluster.pbc, cluster.cell = False, [0, 0, 0]
        cluster.rattle(0.05, seed=k)
        frames.append(_labelled(cluster, "cluster", stress=False))
    frames.append(_labelled(Atoms("Cu", positions=[[0, 0, 0]]), "isolated_atom",
                            stress=False))
    for k in range(n_bulk):
        cell = bulk("Cu", "fcc", a=3.6 * (1 + rng.uniform(-0.02, 0.02)), cubic=True)
        cell = cell.repeat((2, 1, 1))
        cell.rattle(0.05, seed=10 + k)
        frames.append(_labelled(cell, bulk_type))
    for k in range(n_surface):
        slab = fcc111("Cu", (2, 2, 3), a=3.6, vacuum=5.0)
        slab.rattle(0.05, seed=20 + k)
        frames.append(_labelled(slab, "surface"))
    last = bulk("Cu", "fcc", a=3.62, cubic=True).repeat((2, 1, 1))
    last.rattle(0.05, seed=99)
    frames.append(_labelled(last, bulk_type, stress=False))
    return frames


def _config(tmp_path, frames, *, validation="{fraction: 0.0}", test_frames=None, extra=""):
    tmp_path.mkdir(parents=True, exist_ok=True)
    train = tmp_path / "train.xyz"
    ase.io.write(train, frames, format="extxyz")
    test = ""
    if test_frames:
        ase.io.write(tmp_path / "test.xyz", test_frames, format="extxyz")
        test = f"  test: {tmp_path / 'test.xyz'}\n"
    config = tmp_path / "run.yaml"
    config.write_text(f"data:\n  train: {train}\n{test}  validation: {validation}\n{extra}"
                      "basis: {elements: [Cu], order: 2, totaldegree: 6, rcut: 4.5}\n"
                      "solvers: [{name: omp, max_active: 10}]\n"
                      "selection: {budgets: [5]}\nparallel: {workers: 1}\n"
                      f"output: {{directory: {tmp_path / 'run'}}}\n")
    return config, train


def _read_again(folder, config, caplog, n_train, said):
    """The data of ``config``'s run read again, as a finished run's are (acefit export):
    ``n_train`` training configurations, and ``said`` logged at debug level only."""
    from acefit.config import load_config
    from acefit.runs import RunFiles

    run = RunFiles(directory=folder, cfg=load_config(config), paths={}, errors={},
                   functions=[], elements=["Cu"], report=None)
    with caplog.at_level(logging.DEBUG, logger="acefit"):
        assert len(run.data().train) == n_train
    records = [r for r in caplog.records if said in r.getMessage()]
    assert records and all(r.levelno == logging.DEBUG for r in records)


def test_missing_stresses_are_counted_among_the_periodic_frames(tmp_path, capsys, caplog):
    """The walk-through's warning counted clusters and isolated atoms as frames without a
    stress, and named three of them, hiding the two periodic frames that lacked one."""
    frames = _frames()
    config, train = _config(tmp_path, frames)
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    err = capsys.readouterr().err
    assert (f"training data: 1 of 13 periodic configurations have no stress ({train}, frame "
            f"{len(frames) - 1}): they add no stress rows (3 more, not periodic in all three "
            "directions, are not counted: a stress is expected only of those that are)") in err
    # a finished run's data read again (acefit export) say it to the log only: the fit
    # said it once
    _read_again(tmp_path, config, caplog, len(frames), "have no stress")
    # init names them too, beside its count of stresses
    assert main(["init", str(train), "-o", str(tmp_path / "init.yaml"), "--functions",
                 "20", "--order", "2"]) == EXIT_OK
    out = capsys.readouterr().out
    assert (f"{len(frames) - 4} with stress (1 periodic in all three directions without one: "
            f"{train}, frame {len(frames) - 1})") in out


def test_slabs_are_named_among_the_groups_whose_stresses_are_not_tested(tmp_path, capsys):
    """``check_stresses`` keeps frames periodic in all three directions only, and init's
    "not tested" list left the slabs' group out without a word."""
    from acefit.consistency import check_stresses
    from acefit.data import read_configurations

    frames = _frames()
    config, train = _config(tmp_path, frames)
    checks = {c.config_type: c for c in check_stresses(read_configurations([train]))}
    assert sorted(checks) == ["bulk", "surface"]
    assert not checks["surface"].periodic and checks["surface"].verdict == "untested"
    assert checks["bulk"].periodic
    assert checks["surface"].describe() == ("surface: stresses not tested (frames not "
                                            "periodic in all three directions, such as slabs)")
    assert main(["init", str(train), "-o", str(tmp_path / "init.yaml"), "--functions",
                 "20", "--order", "2"]) == EXIT_OK
    assert ("not tested (frames not periodic in all three directions, such as slabs): "
            "surface") in capsys.readouterr().out


def _configs(sizes: dict, single=()):
    """In-memory configurations: ``sizes`` per config_type, one-atom crystal cells (an
    isolated atom each of ``single``)."""
    atoms = bulk("Cu", "fcc", a=3.6)
    return [LabelledConfig(atoms=Atoms("Cu") if t in single else atoms, energy=0.0,
                           config_type=t, index=k)
            for t, n in sizes.items() for k in range(n)]


def test_a_validation_set_too_small_to_select_on_is_named_with_a_split_that_is_not():
    from acefit.data import (SMALL_VALIDATION, missing_groups, stratified_quotas,
                             validation_coverage)

    configs = _configs({"bulk": 40, "md": 9, "rare": 4, "isolated_atom": 2},
                       single={"isolated_atom"})
    setting = {"fraction": 0.1, "seed": 0, "stratify": False, "file": None, "key": None}
    train, val = split(configs, val_fraction=0.1, seed=0)
    assert len(val) == 6 and missing_groups(train, val) == ["rare"]
    assert validation_coverage(train, val, setting) == (
        "the validation set, which selects the checkpoints, has only 6 of the 55 "
        "configurations and none of the config_type(s) 'rare'; data.validation.stratify: "
        "true and data.validation.fraction: 0.2 would hold 11 configurations, with 'rare' (a "
        "larger fraction trains on fewer)")
    # what it suggests does what it says; isolated atoms (E0 references) are not asked for
    train, val = split(configs, val_fraction=0.2, seed=0, stratify=True)
    assert len(val) >= SMALL_VALIDATION and missing_groups(train, val) == []
    assert stratified_quotas({"bulk": 40, "md": 9, "rare": 4, "isolated_atom": 2}, 0.2) == \
        {"bulk": 8, "isolated_atom": 0, "md": 2, "rare": 1}
    assert validation_coverage(train, val, dict(setting, fraction=0.2, stratify=True)) is None
    # stratified already: only the fraction is left to suggest
    train, val = split(configs, val_fraction=0.1, seed=0, stratify=True)
    assert "; data.validation.fraction: 0.2 would hold 11" in validation_coverage(
        train, val, dict(setting, stratify=True))
    # a validation file or key is the user's to extend
    assert validation_coverage(train, val[:3], dict(setting, file=["val.xyz"])).endswith(
        "add configurations of every group to data.validation.file, at least 10 in all")
    assert validation_coverage(train, [], setting) is None          # no validation set


def test_the_suggested_fraction_is_the_smallest_from_the_configured_one_in_steps_of_5pc():
    """Found by a walk-through: at fraction 0.05 the advice skipped 0.10 (its grid began
    at 0.15) and suggested 0.15 (22 configurations of the quickstart) where a stratified
    0.10 holds 15 and every group, as docs/fitting.md ("Splits") promises."""
    from acefit.data import missing_groups, validation_coverage

    configs = _configs({"bulk": 80, "md": 40, "rare": 5})
    setting = {"fraction": 0.05, "seed": 0, "stratify": False, "file": None, "key": None}
    train, val = split(configs, val_fraction=0.05, seed=0)
    assert len(val) < 10
    assert validation_coverage(train, val, setting) == (
        "the validation set, which selects the checkpoints, has only 6 of the 125 "
        "configurations; data.validation.stratify: true and data.validation.fraction: 0.1 "
        "would hold 13 configurations (a larger fraction trains on fewer)")
    train, val = split(configs, val_fraction=0.1, seed=0, stratify=True)
    assert len(val) == 13 and missing_groups(train, val) == []


def test_a_stratified_split_holds_every_group_it_can():
    """Found by a review: init wrote stratify: true because a random 10 % of 53
    configurations missed a group, and the stratified 10 % (5 configurations, 6 groups)
    missed another, which the fit then warned about. Every group of two or more (but
    isolated atoms) gets one; the rest is the random split's count, as before."""
    from acefit.data import missing_groups, stratified_quotas

    sizes = {"bulk": 20, "md": 12, "vacancy": 6, "surface": 6, "cluster": 6, "rare": 2,
             "single": 1, "isolated_atom": 2}
    configs = _configs(sizes, single={"isolated_atom"})
    for seed in range(5):
        train, val = split(configs, val_fraction=0.1, seed=seed, stratify=True)
        assert missing_groups(train, val) == []
        assert {c.config_type for c in val} == set(sizes) - {"single", "isolated_atom"}
        assert len(val) == 7         # round(0.1 * 55) = 6, and one of 'rare'
    quotas = {"bulk": 2, "cluster": 1, "isolated_atom": 0, "md": 1, "rare": 0, "single": 0,
              "surface": 1, "vacancy": 1}       # largest remainders of 6
    assert stratified_quotas(sizes, 0.1) == quotas
    assert stratified_quotas(sizes, 0.1, ["rare", "bulk"]) == dict(quotas, rare=1)


def test_the_fit_and_its_report_name_a_small_validation_set(tmp_path, capsys):
    config, _ = _config(tmp_path, _frames(), validation="{fraction: 0.2, seed: 0}")
    assert main(["fit", str(config), "--no-progress"]) == EXIT_OK
    err = capsys.readouterr().err
    assert "the validation set, which selects the checkpoints, has only 4 of the 19 " \
           "configurations" in err
    report = (tmp_path / "run" / "report.md").read_text()
    assert "- **note**: the validation set, which selects the checkpoints, has only 4 of " \
           "the 19 configurations" in report


def test_init_stratifies_the_split_when_a_random_one_misses_a_group(tmp_path, capsys):
    frames = _frames(n_bulk=12, n_cluster=0, n_surface=3)
    config, train = _config(tmp_path, frames)
    from acefit.config import load_config
    from acefit.data import missing_groups, read_configurations

    # the seeded random 10 % of these frames misses the three slabs
    assert missing_groups(*split(read_configurations([train]), val_fraction=0.1, seed=0)) == \
        ["surface"]
    written = tmp_path / "init.yaml"
    assert main(["init", str(train), "-o", str(written), "--functions", "20", "--order",
                 "2"]) == EXIT_OK
    assert "validation split stratified by config_type: a random 10 % would hold none of " \
           "surface" in capsys.readouterr().out
    text = written.read_text()
    assert '  # stratified: a random 10 % would hold none of "surface"\n' in text
    assert load_config(written)["data"]["validation"]["stratify"] is True
    # one group: nothing to stratify
    _, alone = _config(tmp_path / "alone", _frames(n_cluster=0, n_surface=0)[1:])
    assert main(["init", str(alone), "-o", str(tmp_path / "alone.yaml"), "--functions", "20",
                 "--order", "2"]) == EXIT_OK
    assert "stratify" not in (tmp_path / "alone.yaml").read_text()


def test_config_type_keys_that_match_no_group_stop_the_fit_before_assembly(tmp_path, capsys):
    """A misspelt weight was a warning, and the run went on (exit 0): it is a config
    error, named by its line; a weight of groups of the held-out data only stays a
    warning, which says what it weighs."""
    frames = _frames()
    held = _frames(n_bulk=2, n_cluster=0, n_surface=0, bulk_type="held")[1:]
    config, _ = _config(tmp_path, frames, test_frames=held, extra=(
        "  weights: {config_type: {'1e3': {E: 10}, held: {E: 10}}}\n"
        "  stress_reading: {config_type: {surfce: kbar}}\n"))
    assert main(["fit", str(config), "--plan"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    lines = config.read_text().splitlines()
    line = next(k for k, text in enumerate(lines, 1) if "surfce" in text)
    assert (f"{config}:{line}: data.stress_reading.config_type.surfce: found the config_type "
            "'surfce' (did you mean 'surface'?), which no configuration of the training, "
            "validation or test data has; allowed: 'bulk', 'cluster', 'held', "
            "'isolated_atom', 'surface'") in err
    assert "data.weights.config_type.1e3: found the config_type '1e3'" in err
    # ASE reads config_type=1e3 as the group '1000.0': the error says so
    for atoms in frames[3:6]:
        atoms.info["config_type"] = 1000.0
    config, _ = _config(tmp_path, frames, test_frames=held, extra=(
        "  weights: {config_type: {'1e3': {E: 10}, held: {E: 10}}}\n"))
    assert main(["fit", str(config), "--plan"]) == EXIT_CONFIG
    assert "config_type=1e3 of an extended XYZ file is the group '1000.0'" in \
        capsys.readouterr().err
    config.write_text(config.read_text().replace("'1e3'", "'1000.0'"))
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    assert ("data.weights.config_type: ['held'] match no training configuration (of the "
            "test data only, where no weight enters, they are unused)") in capsys.readouterr().err
    # of the validation data only, a weight weighs the loss that selects
    ase.io.write(tmp_path / "val.xyz", held, format="extxyz")
    config.write_text(config.read_text().replace(
        "validation: {fraction: 0.0}", f"validation: {{file: {tmp_path / 'val.xyz'}}}"))
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    assert ("data.weights.config_type: ['held'] match no training configuration (they weigh "
            "only the validation loss that selects the checkpoints)") in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)         # init writes relative paths; runs/ stays here
    yield Path(tmp_path)


def test_a_validation_set_no_split_can_enlarge_is_not_given_a_setting_that_changes_nothing():
    """Nine configurations of one group: the advice was "data.validation.stratify: true
    would hold 1 configurations" (stratifying one group changes nothing), and, stratified
    already, that the groups were too small, where the data are."""
    from acefit.data import validation_coverage

    configs = _configs({"bulk": 9})
    train, val = split(configs, val_fraction=0.1, seed=0)
    for stratify in (False, True):
        setting = {"fraction": 0.1, "seed": 0, "stratify": stratify, "file": None, "key": None}
        assert validation_coverage(train, val, setting) == (
            "the validation set, which selects the checkpoints, has only 1 of the 9 "
            "configurations; a split of at most 0.3 of these 9 configurations holds fewer "
            "than 10: a validation file (data.validation.file) of at least 10 configurations "
            "covering every group, or more training data")
    # a setting that holds a missing group is named, and that it is still too few
    configs = _configs({"bulk": 5, "rare": 2})
    train, val = split(configs, val_fraction=0.1, seed=0)
    setting = {"fraction": 0.1, "seed": 0, "stratify": False, "file": None, "key": None}
    assert validation_coverage(train, val, setting).endswith(
        "data.validation.stratify: true would hold 2 configurations, with 'rare'; still fewer "
        "than 10: a validation file (data.validation.file) of at least 10 configurations "
        "covering every group, or more training data")


def _moved(frames, label, key):
    """``frames`` with their ``label`` moved from the calculator's results to ``key``
    (of ``atoms.arrays`` for forces, of ``atoms.info`` otherwise); a stress moved to
    "virial" becomes the virial −σV (3x3, as extended XYZ writes one)."""
    for atoms in frames:
        value = atoms.calc.results.pop(label, None)
        if value is None:
            continue
        if label == "forces":
            atoms.new_array(key, value)
        elif key == "virial":
            from ase.stress import voigt_6_to_full_3x3_stress

            atoms.info[key] = -voigt_6_to_full_3x3_stress(value) * atoms.get_volume()
        else:
            atoms.info[key] = value
    return frames


@pytest.mark.parametrize("label, key, keys_line, like, allowed", [
    ("forces", "dft_forces", "", "forces", "data.keys.forces: dft_forces"),
    ("forces", "dft_forces", "  keys: {forces: forces}\n", "forces",
     "data.keys.forces: dft_forces"),
    ("energy", "dft_energy", "", "an energy", "data.keys.energy: dft_energy"),
    ("stress", "virial", "", "a virial", "data.keys.virial: virial")])
def test_a_label_in_no_training_frame_that_a_key_looks_like_is_refused(
        tmp_path, capsys, caplog, label, key, keys_line, like, allowed):
    """Session 38's audit: forces under dft_forces, with the default data.keys (no line,
    or one that sets the default), fitted energies and stresses only, without a word
    (--plan: E/F/V 145/0/870); a key set to other than its default was refused already."""
    frames = _moved(_frames(n_cluster=0)[1:], label, key)
    config, train = _config(tmp_path, frames, extra=keys_line)
    assert main(["fit", str(config), "--plan"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert (f"data.keys.{label}: no training configuration has {label} under {label!r}, so "
            f"the fit would have no {label} rows, but the files carry {key!r} in {train}, "
            f"which looks like {like}; allowed: {allowed}, or data.keys.{label}: null for a "
            f"fit without {label}") in err
    # named at the config's line of data.keys, if it has one
    assert f"{config}{':4' if keys_line else ''}: data.keys.{label}: " in err
    # either setting offered is taken
    setting = allowed.replace(": ", "=")
    assert main(["fit", str(config), "--plan", "--set", setting]) == EXIT_OK
    assert main(["fit", str(config), "--plan", "--set", f"data.keys.{label}=null",
                 "--set", "data.e0=zero"]) == EXIT_OK
    assert "no training configuration" not in capsys.readouterr().err
    # a finished run's data read again (acefit export) are not refused: to the log only
    _read_again(tmp_path, config, caplog, len(frames), "no training configuration")


def test_a_label_in_no_training_frame_and_under_no_other_key_is_warned_of(tmp_path, capsys):
    """A fit without stresses (or forces) is one to make on purpose: said, not refused."""
    frames = _frames(n_cluster=0)[1:]
    for atoms in frames:
        atoms.calc.results.pop("stress", None)
    config, _ = _config(tmp_path, frames)
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert ("training data: no configuration has stress under 'stress', and no key of the "
            "files looks like stress: the fit has no stress rows (data.keys.stress names "
            "another key)") in err
    assert "(E/F/V 16/420/0)" in out
    # not when the key is null (chosen), nor for frames of which none is periodic
    assert main(["fit", str(config), "--plan", "--set", "data.keys.stress=null"]) == EXIT_OK
    clusters = _frames(n_bulk=0, n_cluster=3, n_surface=0)[:-1]   # the periodic one left out
    config, _ = _config(tmp_path / "clusters", clusters)
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    assert "no stress rows" not in capsys.readouterr().err


def test_labels_test_frames_lack_are_warned_of_as_training_frames_are(tmp_path, capsys):
    """Session 38's audit: a test frame without forces passed without a word, where a
    training frame gets a warning; and test files with the forces under another key than
    the training files' were scored without forces, silently."""
    frames = _frames(n_cluster=0)[1:]
    held = _frames(n_bulk=3, n_cluster=0, n_surface=0, bulk_type="held")[1:]
    held[0].calc.results.pop("forces")
    config, _ = _config(tmp_path, frames, test_frames=held)
    test = tmp_path / "test.xyz"
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    assert (f"test data: 1 of 4 configurations have no forces ({test}, frame 0): they add "
            "nothing to the test errors of forces") in capsys.readouterr().err
    config, _ = _config(tmp_path, frames, test_frames=_moved(held, "forces", "dft_forces"))
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    assert ("test data: no configuration has forces under 'forces'; its files carry "
            f"'dft_forces' in {test}, which looks like forces, but data.keys names one key "
            "for every file: they add nothing to the test errors of forces") \
        in capsys.readouterr().err
    # a validation file's: they weigh the loss that selects
    ase.io.write(tmp_path / "val.xyz", held, format="extxyz")
    config.write_text(config.read_text().replace(
        "validation: {fraction: 0.0}", f"validation: {{file: {tmp_path / 'val.xyz'}}}"))
    assert main(["fit", str(config), "--plan"]) == EXIT_OK
    assert ("validation data: no configuration has forces under 'forces'; its files carry "
            f"'dft_forces' in {tmp_path / 'val.xyz'}, which looks like forces, but data.keys "
            "names one key for every file: they add no forces rows to the validation loss") \
        in capsys.readouterr().err


def test_e0_fit_without_a_training_energy_names_a_key_that_looks_like_one(tmp_path, capsys):
    """Session 38's audit: data.e0: fit without an energy said nothing of the dft_energy
    every frame had."""
    frames = _moved(_frames(n_cluster=0)[1:], "energy", "dft_energy")
    config, train = _config(tmp_path, frames, extra="  keys: {energy: null}\n")
    assert main(["fit", str(config), "--plan"]) == EXIT_CONFIG
    assert ("data.e0: found 'fit', but no training configuration has an energy "
            "(data.keys.energy is null) to fit E0 to, and the files carry 'dft_energy' in "
            f"{train}, which looks like an energy; allowed: zero, a mapping {{element: eV}} "
            "with a value for each element of the basis (Cu), or data.keys.energy: "
            "dft_energy") in capsys.readouterr().err
