"""Reading labelled configurations, validation and splits (acefit.data)."""

import bz2
import gzip
import lzma
import os
import re
from pathlib import Path

import ase.io
import numpy as np
import pytest
from _toy_basis import emt_configs
from _zuo_data import ABSENT, ZUO
from ase import Atoms
from ase.build import bulk

from acefit.data import (LabelledConfig, MissingKeyError, check_elements, check_labels,
                         configurations_from_atoms, label_candidates, load_configurations,
                         read_configurations, read_structures, split)


@pytest.fixture
def frames():
    return emt_configs(6)


@pytest.fixture
def xyz(tmp_path, frames):
    path = tmp_path / "train.xyz"
    ase.io.write(path, frames, format="extxyz")
    return path


def _custom_frames(frames):
    """Frames with labels only in info/arrays under REF_* keys, virial instead of stress."""
    out = []
    for atoms in frames:
        a = atoms.copy()
        a.calc = None
        a.info["REF_energy"] = atoms.get_potential_energy()
        a.arrays["REF_forces"] = atoms.get_forces().copy()
        a.info["REF_virial"] = -atoms.get_stress(voigt=False) * atoms.get_volume()
        out.append(a)
    return out


def test_extxyz_labels_from_calculator(xyz, frames):
    configs = load_configurations(xyz)
    assert len(configs) == len(frames)
    for i, (cfg, atoms) in enumerate(zip(configs, frames)):
        assert isinstance(cfg, LabelledConfig)
        assert cfg.source == str(xyz) and cfg.index == i
        assert cfg.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-8)
        np.testing.assert_allclose(cfg.forces, atoms.get_forces(), atol=1e-8)
        np.testing.assert_allclose(cfg.stress, atoms.get_stress(), atol=1e-10)
        assert cfg.config_type == atoms.info["config_type"]
        assert cfg.atoms.calc is None


def test_custom_keys_and_virial(tmp_path, frames):
    path = tmp_path / "ref.xyz"
    ase.io.write(path, _custom_frames(frames), format="extxyz")
    configs = load_configurations(path, energy_key="REF_energy", forces_key="REF_forces",
                                  virial_key="REF_virial")
    for cfg, atoms in zip(configs, frames):
        assert cfg.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-8)
        np.testing.assert_allclose(cfg.forces, atoms.get_forces(), atol=1e-8)
        # virial = -stress * volume  <=>  stress = -virial / volume
        np.testing.assert_allclose(cfg.stress, atoms.get_stress(), atol=1e-9)


def test_frames_in_memory_are_read_as_the_same_frames_from_a_file(xyz, frames):
    """ase.Atoms in memory (a SinglePointCalculator, or info/arrays keys) are a documented
    way in, with the file's labels; named by frame "in memory", or by the name given."""
    read = load_configurations(xyz)
    held = configurations_from_atoms(frames)
    for a, b in zip(read, held, strict=True):       # the file keeps 8 decimals
        assert (a.config_type, a.index) == (b.config_type, b.index)
        assert b.energy == pytest.approx(a.energy, abs=1e-8)
        np.testing.assert_allclose(b.forces, a.forces, atol=1e-8)
        np.testing.assert_allclose(b.stress, a.stress, atol=1e-10)
        assert b.atoms.calc is None and b.source == ""
    assert held[3].where == "frame 3 (in memory)"
    assert frames[3].calc is not None                   # the caller's frames are not changed
    named = configurations_from_atoms(frames, name="emt")
    assert [c.where for c in named[:2]] == ["emt, frame 0", "emt, frame 1"]
    assert len(configurations_from_atoms(frames[0])) == 1     # one Atoms is one frame
    custom = configurations_from_atoms(_custom_frames(frames), energy_key="REF_energy",
                                       forces_key="REF_forces", virial_key="REF_virial")
    for a, b in zip(read, custom, strict=True):
        assert b.energy == pytest.approx(a.energy, abs=1e-10)
        np.testing.assert_allclose(b.stress, a.stress, atol=1e-10)


def test_frames_in_memory_with_results_of_another_structure_are_refused():
    """Session 34 review: a frame moved after its calculator ran gave the old energy and
    forces as labels (a rattled fcc cell: -0.023 eV and zero forces, not +0.748 eV)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from acefit.data import configurations_from_atoms

    atoms = bulk("Cu", cubic=True)
    atoms.calc = EMT()
    atoms.get_potential_energy()
    atoms.rattle(0.1, seed=1)
    with pytest.raises(ValueError, match="emt, frame 0: its calculator's results belong to "
                                         "another structure \\(the frame's positions "
                                         "changed since\\)"):
        configurations_from_atoms([atoms], name="emt")
    atoms.get_forces()      # computed again: its own
    assert configurations_from_atoms([atoms])[0].energy == pytest.approx(0.7479, abs=1e-4)


def test_frames_in_memory_are_checked_frame_by_frame_as_a_files(frames):
    """A NaN energy or forces of the wrong shape are named by frame index, exactly as in
    a file; what is not frames is named with the function that reads it."""
    frames[2].calc.results["energy"] = np.nan
    with pytest.raises(ValueError, match=r"^frame 2 \(in memory\): label 'energy' contains NaN"):
        configurations_from_atoms(frames)
    frames[2].calc.results["energy"] = 0.0
    frames[4].calc.results["forces"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"^emt, frame 4: forces 'forces' must have shape "
                                         r"\(4, 3\), got \(3, 3\)"):
        configurations_from_atoms(frames, name="emt")
    with pytest.raises(TypeError, match=r"frame 1 \(in memory\): an int; allowed: ase\.Atoms"):
        configurations_from_atoms([frames[0], 7])
    with pytest.raises(TypeError, match=r"got a str; a file: load_configurations"):
        configurations_from_atoms("train.xyz")
    with pytest.raises(ValueError, match="no configurations in the frames given"):
        configurations_from_atoms([])
    with pytest.raises(MissingKeyError, match="energy_key: key 'REF_energy' is in no frame; "
                                              "keys there: frames in memory: calculator"):
        configurations_from_atoms(frames, energy_key="REF_energy", require=["energy"])
    for path in (None, frames):     # was numpy's "expected str, bytes or os.PathLike"
        with pytest.raises(TypeError, match=r"path must be a file's path .* frames in memory "
                                            r"\(ase\.Atoms\): acefit\.data\."
                                            r"configurations_from_atoms\(frames\)"):
            load_configurations(path)


def test_hand_built_configurations_are_checked_as_frames_are(frames):
    """LabelledConfig objects built by hand: what the readers refuse, named by the
    configuration's place in its set (and its file and frame when it has a source)."""
    good = configurations_from_atoms(frames)
    check_labels(good)
    atoms = good[0].atoms
    cases = [
        (LabelledConfig(atoms, energy=np.nan), ValueError,
         r"^training configuration 6 \(in memory\): label 'energy' contains NaN or inf"),
        (LabelledConfig(atoms, forces=np.zeros((3, 3))), ValueError,
         r"forces 'forces' must have shape \(4, 3\), got \(3, 3\)"),
        (LabelledConfig(atoms, energy=1.0, stress=np.zeros((3, 3))), ValueError,
         r"stress 'stress' must have shape \(6,\)"),
        (LabelledConfig(atoms, energy=1.0, force_weights=-np.ones(4)), ValueError,
         r"force weights 'force_weights' must be >= 0"),
        (LabelledConfig(atoms), ValueError, r"no label \(energy, forces and stress are None\)"),
        (LabelledConfig(atoms, energy=1.0, config_type=1), ValueError,
         r"config_type 1 is an int; allowed: a str \(the group's name, '1'\)"),
        (LabelledConfig(atoms, energy=1e13, source="x.xyz", index=4), ValueError,
         r"^training configuration 6 \(x\.xyz, frame 4\): label 'energy' has a value of "
         r"magnitude"),
        (frames[0], TypeError, r"^training configuration 6: an Atoms; allowed: "
                               r"acefit\.data\.LabelledConfig \(frames in memory: "
                               r"configurations_from_atoms"),
    ]
    for bad, error, message in cases:
        with pytest.raises(error, match=message):
            check_labels(good + [bad])
    with pytest.raises(ValueError, match=r"^test configuration 0 \(in memory\)"):
        check_labels([LabelledConfig(atoms, energy=np.inf)], "test")


def test_missing_label_per_frame(tmp_path, frames):
    frames = _custom_frames(frames)
    del frames[1].info["REF_virial"]
    del frames[2].arrays["REF_forces"]
    path = tmp_path / "partial.xyz"
    ase.io.write(path, frames, format="extxyz")
    configs = load_configurations(path, energy_key="REF_energy", forces_key="REF_forces",
                                  virial_key="REF_virial")
    assert configs[1].stress is None and configs[1].forces is not None
    assert configs[2].forces is None and configs[2].stress is not None
    assert configs[0].stress is not None


def test_index_selection_keeps_frame_numbers(xyz):
    configs = load_configurations(xyz, index="2:5")
    assert [c.index for c in configs] == [2, 3, 4]
    assert load_configurations(xyz, index=3)[0].index == 3


def test_frames_selected_from_the_end_are_named_from_the_end(tmp_path, frames):
    """Found by review: index=-1 named its frame "frame -1", and index="-2:" numbered its
    frames 0 and 1 (their places in the selection) rather than 4 and 5 of the file."""
    frames[4].calc.results["energy"] = frames[5].calc.results["energy"] = float("nan")
    path = tmp_path / "nan.xyz"
    ase.io.write(path, frames, format="extxyz")
    for index, where in ((-1, "the last frame"), ("-2", "the 2nd frame from the end"),
                         ("-2:", "the 2nd frame from the end"), (slice(-1, None), "the last "
                                                                "frame")):
        with pytest.raises(ValueError, match=re.escape(f"{path}, {where}: label 'energy'")):
            load_configurations(path, index=index)
    configs = load_configurations(path, index="-4:-2")
    assert [c.index for c in configs] == [-4, -3]
    assert configs[1].where == f"{path}, the 3rd frame from the end"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))        # the last frame loses an atom
    for index in (-1, "-3:"):
        with pytest.raises(ValueError, match=re.escape(f"{path}, the last frame: the file "
                                                       "ends after 3 of the frame's 4")):
            load_configurations(path, index=index)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="data file .*nope.xyz does not exist"):
        load_configurations(tmp_path / "nope.xyz")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.xyz"
    path.write_text("")
    with pytest.raises(ValueError, match="empty.xyz"):
        load_configurations(path)


def test_nan_label_names_file_and_frame(tmp_path, frames):
    frames = _custom_frames(frames)
    frames[3].info["REF_energy"] = float("nan")
    path = tmp_path / "nan.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"nan\.xyz, frame 3.*REF_energy.*NaN"):
        load_configurations(path, energy_key="REF_energy", forces_key="REF_forces")


def test_inf_force_names_frame(tmp_path, frames):
    frames = _custom_frames(frames)
    frames[2].arrays["REF_forces"][1, 2] = np.inf
    path = tmp_path / "inf.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"inf\.xyz, frame 2.*REF_forces"):
        load_configurations(path, energy_key="REF_energy", forces_key="REF_forces")


def test_nan_position_names_file_and_frame(tmp_path, frames):
    """Caught where the file and frame are known, not later in the neighbour search."""
    frames = _custom_frames(frames)
    frames[1].positions[2, 0] = np.nan
    path = tmp_path / "nanpos.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"nanpos\.xyz, frame 1: non-finite positions for "
                                         r"atom indices \[2\]"):
        load_configurations(path, energy_key="REF_energy", forces_key="REF_forces")


def test_atoms_on_one_point_name_file_and_frame(tmp_path, frames):
    """Caught at reading, so that the run stops before the assembly (found in session 25:
    the basis said only "atoms: two atoms coincide", during the assembly)."""
    frames = _custom_frames(frames)
    frames[2].positions[3] = frames[2].positions[1] + frames[2].cell[0]   # a periodic image
    path = tmp_path / "overlap.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"overlap\.xyz, frame 2: atoms 1 and 3 sit on one "
                                         r"point .*allowed: atoms at distinct positions"):
        load_configurations(path, energy_key="REF_energy", forces_key="REF_forces")


def test_forces_shape_mismatch(tmp_path, frames):
    frames = _custom_frames(frames)
    for a in frames:
        a.info["FLAT_forces"] = a.arrays["REF_forces"].ravel()  # (3N,) instead of (N, 3)
    path = tmp_path / "shape.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"shape\.xyz, frame 0.*FLAT_forces.*shape \(4, 3\)"):
        load_configurations(path, energy_key="REF_energy", forces_key="FLAT_forces")


def test_frame_without_any_label(tmp_path, frames):
    frames = _custom_frames(frames)
    del frames[5].info["REF_energy"]
    del frames[5].arrays["REF_forces"]
    del frames[5].info["REF_virial"]
    path = tmp_path / "nolabel.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"nolabel\.xyz, frame 5: no label"):
        load_configurations(path, energy_key="REF_energy", forces_key="REF_forces",
                            virial_key="REF_virial")


def test_a_frame_without_labels_names_the_keys_it_has_and_the_options(tmp_path, frames):
    """Found by the session 31 walk-through: `acefit evaluate` on REF_* data said only
    "no label found (looked for ['energy', 'forces', 'stress'] ...)"."""
    custom = _custom_frames(frames)
    for atoms in custom:
        atoms.info["step"] = 7                          # a count: never a label
        atoms.info["dft_energy_note"] = "text"          # named like one, not a number
        atoms.arrays["momenta"] = np.zeros((len(atoms), 3))        # ASE's, never a label
        atoms.info["committee_energy_sd"] = 0.01        # acefit query's score: a spread
        atoms.arrays["forces_std"] = np.zeros((len(atoms), 3))     # a committee's spread
    path = tmp_path / "ref.xyz"
    ase.io.write(path, custom, format="extxyz")
    with pytest.raises(ValueError) as err:
        load_configurations(path)
    assert str(err.value) == (
        f"{path}, frame 0: no label found (looked for energy 'energy', forces 'forces', "
        "stress 'stress' in calculator results, info and arrays); keys of this frame that "
        "look like labels: energy: REF_energy; forces: REF_forces; virial: REF_virial; "
        "allowed: energy_key='REF_energy', forces_key='REF_forces', "
        "virial_key='REF_virial'")
    # named as the caller's options are, in their own syntax (a config's data.keys,
    # evaluate's --energy-key: not "--energy-key = 'REF_energy'", walk-through 2)
    with pytest.raises(ValueError, match=r"allowed: data\.keys\.energy: REF_energy, "
                                         r"data\.keys\.forces: REF_forces, "):
        read_configurations([path], option=lambda label: f"data.keys.{label}")
    with pytest.raises(ValueError, match=r"allowed: --energy-key REF_energy, --forces-key "
                                         r"REF_forces, --virial-key REF_virial$"):
        read_configurations([path], option=lambda label: f"--{label}-key")
    bare = tmp_path / "bare.xyz"
    ase.io.write(bare, [bulk("Cu", "fcc", a=3.6)], format="extxyz")
    with pytest.raises(ValueError, match=r"bare\.xyz, frame 0: no label found .*; no key of "
                                         r"this frame holds numbers of a label's shape "
                                         r"\(calculator results: \(none\); info: \(none\); "
                                         r"arrays: \(none\)\)"):
        load_configurations(bare)


def test_a_frame_without_labels_is_not_told_to_read_its_md_step_as_an_energy(tmp_path):
    """An MD frame (a pool file given as data) has a step, a time and velocities, of an
    energy's and the forces' shapes: they were offered as "allowed: energy_key = 'step',
    forces_key = 'velocities_x'"."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.info.update(step=10, time=5.0)
    atoms.arrays["velocities_x"] = np.zeros((len(atoms), 3))
    path = tmp_path / "md.xyz"
    ase.io.write(path, atoms, format="extxyz")
    with pytest.raises(ValueError) as err:
        load_configurations(path)
    assert str(err.value).endswith(
        "keys of this frame of a label's shape, none named like a label (a frame of MD or "
        "of a pool holds none): energy: time; forces: velocities_x; allowed: frames "
        "with an energy, forces or a stress, their keys named with energy_key, forces_key")
    # beside a key named for its label, only that one is offered
    atoms.info["REF_energy"] = -3.0
    ase.io.write(path, atoms, format="extxyz")
    with pytest.raises(ValueError, match=r"energy: REF_energy, time; forces: "
                                         r"velocities_x; allowed: energy_key='REF_energy'$"):
        load_configurations(path)


def test_a_count_is_never_offered_as_a_label(tmp_path):
    """Found by review (session 37): acefit evaluate on acefit query's output listed its
    integer pool_frame as an energy key ("energy: pool_frame"). A key of integers, or named
    as a count or an index, is no label: the frame is said to hold none."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.info.update(pool_frame=29, n_scf=12, committee_energy_sd=0.3, md_step=4.0,
                      frame_index=2.0)
    atoms.arrays["tags_xyz"] = np.zeros((len(atoms), 3), dtype=int)
    path = tmp_path / "picked.xyz"
    ase.io.write(path, atoms, format="extxyz")
    frames = ase.io.read(path, ":")
    for named in (True, False):
        assert label_candidates(frames, named=named) == {
            "energy": [], "forces": [], "stress": [], "virial": []}
    with pytest.raises(ValueError, match=r"picked\.xyz, frame 0: no label found .*; no key "
                                         r"of this frame holds numbers of a label's shape"):
        load_configurations(path)
    atoms.info["energy_total"] = -3.5       # a float beside them is offered
    ase.io.write(path, atoms, format="extxyz")
    assert label_candidates(ase.io.read(path, ":"), named=False)["energy"] == ["energy_total"]


def test_a_key_named_for_a_label_is_offered_whatever_numbers_it_holds(tmp_path):
    """Found by the review of the rule above: it read the first frame alone and words of
    the name, so `acefit init` dropped REF_stress when the first frame's stress was integer
    zeros (extxyz reads "0 0 0 0 0 0" as integers), REF_energy when a hand-written first
    frame said REF_energy=1, and an energy_step key, without a word."""
    frames = []
    for i in range(3):
        atoms = bulk("Cu", "fcc", a=3.6 + 0.01 * i, cubic=True)
        atoms.info.update(REF_energy=1 if i == 0 else -3.5 + i, energy_step=-3.0 + i,
                          REF_stress=np.zeros(6, dtype=int) if i == 0 else np.full(6, 0.1),
                          n_scf=10 + i)
        frames.append(atoms)
    path = tmp_path / "hand.xyz"
    ase.io.write(path, frames, format="extxyz")
    read = ase.io.read(path, ":")
    assert np.asarray(read[0].info["REF_energy"]).dtype.kind == "i"
    assert np.asarray(read[0].info["REF_stress"]).dtype.kind == "i"
    found = label_candidates(read)
    assert found["energy"] == ["REF_energy", "energy_step"]
    assert found["stress"] == ["REF_stress"]
    assert "n_scf" not in label_candidates(read, named=False)["energy"]


def test_labels_no_frame_has_and_the_keys_that_look_like_them(tmp_path):
    """The library under the fit's refusal of a label its files hold under another key:
    which labels no configuration has (a stress only among periodic ones), and the keys of
    each file that look like one, best first, a virial offered for a stress."""
    from dataclasses import replace

    from acefit.data import absent_labels, missing_labels, offered_keys, read_configurations

    files = []
    for k, (info, arrays) in enumerate([({"energy": -3.0, "dft_energy": -3.0,
                                          "virial": np.eye(3)},
                                         {"dft_forces": np.zeros((4, 3))}),
                                        ({"energy": -3.1, "ref_energy": -3.1},
                                         {"forces_dft": np.zeros((4, 3))})]):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.info.update(info)
        for key, value in arrays.items():
            atoms.new_array(key, value)
        files.append(tmp_path / f"f{k}.xyz")
        ase.io.write(files[-1], atoms, format="extxyz")
    found = {}
    configs = read_configurations(files, {}, found=found)
    keys = {"energy": "energy", "forces": "forces", "stress": "stress", "virial": None}
    assert absent_labels(configs, keys) == ["forces", "stress"]
    assert missing_labels([replace(configs[0], energy=None), configs[1]]) == [
        ("energy", f"1 of 2 configurations have no energy ({files[0]}, frame 0)", "")]
    assert offered_keys(found, "forces", keys) == [("forces", "dft_forces", [str(files[0])]),
                                                   ("forces", "forces_dft", [str(files[1])])]
    assert offered_keys(found, "stress", keys) == [("virial", "virial", [str(files[0])])]
    # the key read is not offered again; every one is, when the label's key is null
    assert offered_keys(found, "energy", keys) == [("energy", "dft_energy", [str(files[0])]),
                                                   ("energy", "ref_energy", [str(files[1])])]
    assert [k for _, k, _ in offered_keys(found, "energy", {**keys, "energy": None})] == \
        ["energy", "dft_energy", "ref_energy"]
    assert absent_labels(configs, {**keys, "forces": None, "stress": None}) == []
    # no periodic configuration: no stress expected of them
    for c in configs:
        c.atoms.pbc = False
    assert absent_labels(configs, keys) == ["forces"]


def test_element_not_in_basis(xyz):
    configs = load_configurations(xyz)
    check_elements(configs, ["Cu", "Au"])
    with pytest.raises(ValueError, match=r"frame 1: element\(s\) Au not in the basis"):
        check_elements(configs, ["Cu"])
    check_elements(configs, [29, 79])


def test_split_random_fraction_is_seeded(xyz):
    configs = load_configurations(xyz)
    train, val = split(configs, val_fraction=0.34, seed=3)
    assert len(val) == 2 and len(train) == 4
    again = split(configs, val_fraction=0.34, seed=3)[1]
    assert [c.index for c in val] == [c.index for c in again]
    assert {c.index for c in train} | {c.index for c in val} == set(range(6))
    other = [tuple(c.index for c in split(configs, val_fraction=0.34, seed=s)[1]) for s in range(8)]
    assert len(set(other)) > 1


def test_stratified_split_draws_each_config_type_in_proportion(tmp_path):
    frames = emt_configs(40)
    sizes = {"bulk": 24, "surface": 9, "vacancy": 7}
    types = [t for t, k in sizes.items() for _ in range(k)]
    for a, t in zip(frames, types):
        a.info["config_type"] = t
    path = tmp_path / "typed.xyz"
    ase.io.write(path, frames, format="extxyz")
    configs = load_configurations(path)
    for seed in range(5):
        train, val = split(configs, val_fraction=0.1, seed=seed, stratify=True)
        counts = {t: sum(c.config_type == t for c in val) for t in sizes}
        # quotas 2.4, 0.9, 0.7 -> 2 + 1 + 1 by largest remainder: every group is represented
        assert counts == {"bulk": 2, "surface": 1, "vacancy": 1}
        assert len(train) + len(val) == 40 and not {c.index for c in train} & {c.index for c in val}
    picks = {tuple(c.index for c in split(configs, val_fraction=0.1, seed=s, stratify=True)[1])
             for s in range(6)}
    assert len(picks) > 1
    assert [c.index for c in split(configs, val_fraction=0.1, seed=2, stratify=True)[1]] == \
        [c.index for c in split(configs, val_fraction=0.1, seed=2, stratify=True)[1]]
    # without stratification a seed can leave the small groups out
    missed = [s for s in range(20) if {c.config_type for c in
                                        split(configs, val_fraction=0.1, seed=s)[1]} != set(sizes)]
    assert missed


def test_split_by_key(tmp_path, frames):
    for i, a in enumerate(frames):
        a.info["is_val"] = i in (1, 4)
    path = tmp_path / "k.xyz"
    ase.io.write(path, frames, format="extxyz")
    train, val = split(load_configurations(path), val_key="is_val")
    assert [c.index for c in val] == [1, 4]
    assert [c.index for c in train] == [0, 2, 3, 5]
    with pytest.raises(ValueError, match="exactly one"):
        split(load_configurations(path), val_key="is_val", val_fraction=0.1)
    with pytest.raises(ValueError, match=r"data.validation.key: no training configuration has "
                                         r"info\['is_validation'\]"):
        split(load_configurations(path), val_key="is_validation")


def test_keys_set_on_purpose_must_match_something(xyz):
    # the quickstart-like frames carry energy/forces/stress as calculator results
    with pytest.raises(ValueError, match=r"forces_key: key 'force' is in no frame.*"
                                         r"calculator results: energy, forces, stress"):
        load_configurations(xyz, forces_key="force", require=["forces"])
    assert load_configurations(xyz, forces_key="force")[0].forces is None  # not required
    load_configurations(xyz, require=["energy", "forces", "config_type"])


def test_a_label_that_is_not_a_number_names_its_frame(tmp_path, frames):
    for i, a in enumerate(frames):
        a.calc = None
        a.info["REF_energy"] = "n/a" if i == 2 else -1.0 * i
    path = tmp_path / "bad.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"bad.xyz, frame 2: energy 'REF_energy' is not a "
                                         r"number or array of numbers: 'n/a'"):
        load_configurations(path, energy_key="REF_energy", forces_key=None, stress_key=None)


@pytest.mark.zuo
@pytest.mark.skipif(not (ZUO / "Mo" / "test.xyz").is_file(), reason=ABSENT)
def test_reads_zuo_mo_test_split():
    configs = load_configurations(ZUO / "Mo" / "test.xyz")
    assert len(configs) == 23 and sum(c.n_atoms for c in configs) == 1189
    assert all(c.energy is not None and c.forces is not None and c.stress is not None
               for c in configs)
    assert {c.config_type for c in configs} <= {"Elastic", "Surface", "Vacancy", "AIMD-NVT"}


def test_required_keys_are_checked_over_all_training_files(tmp_path, frames):
    """A training set split over files, one holding only energies (isolated atoms): an
    explicit forces key must be in some file, not in each (found by review)."""
    from ase import Atoms

    bulk_frames = []
    for a in frames:
        b = a.copy()
        b.info["REF_energy"] = a.get_potential_energy()
        b.arrays["REF_forces"] = a.get_forces()
        bulk_frames.append(b)
    ase.io.write(tmp_path / "bulk.xyz", bulk_frames, format="extxyz")
    iso = Atoms("Cu", positions=[[0, 0, 0]], cell=[10, 10, 10], pbc=True)
    iso.info["REF_energy"] = -0.1
    ase.io.write(tmp_path / "iso.xyz", [iso], format="extxyz")
    keys = {"energy": "REF_energy", "forces": "REF_forces", "stress": None, "virial": None,
            "config_type": "config_type", "force_weight": None}
    files = [tmp_path / "bulk.xyz", tmp_path / "iso.xyz"]
    configs = read_configurations(files, keys, require={"energy", "forces"})
    assert len(configs) == len(frames) + 1 and configs[-1].forces is None
    with pytest.raises(ValueError, match=r"data.keys.forces: key 'REF_forces' is in no "
                                         r"frame; "
                                         r"keys there: .*iso.xyz"):
        read_configurations(files[1:], keys, require={"forces"},
                            option=lambda label: f"data.keys.{label}")
    with pytest.raises(ValueError, match="unknown label 'force'; allowed: energy, forces"):
        read_configurations(files, {"force": "REF_forces"})


def test_repeated_structures_are_found_within_and_across_sets(frames, caplog):
    """Found by fuzzing (session 25): a training frame copied into the validation split
    was fitted and then scored as held out, without a word."""
    import logging
    from types import SimpleNamespace

    from acefit.data import repeated_structures
    from acefit.data_checks import warn_repeated_structures

    def configs(atoms_list, name):
        return [LabelledConfig(a, energy=0.0, source=name, index=i)
                for i, a in enumerate(atoms_list)]

    train = configs(frames[:4] + [frames[1].copy()], "train.xyz")
    moved = frames[2].copy()
    moved.positions[0, 0] += 1e-3          # another structure
    val = configs([frames[3].copy(), moved], "val.xyz")
    test = configs([frames[3].copy()], "test.xyz")
    assert repeated_structures(train) == [(4, 1)]
    assert repeated_structures(val) == []
    with caplog.at_level(logging.WARNING, logger="acefit"):
        warn_repeated_structures(SimpleNamespace(train=train, val=val, test=test))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("1 training configuration repeats an earlier one (first: "
                                  "train.xyz, frame 4 = train.xyz, frame 1); each copy")
    assert messages[1].startswith("1 validation configuration is also in the training "
                                  "data (first: val.xyz, frame 0 = train.xyz, frame 3): its "
                                  "error measures the fit")
    assert messages[2].startswith("1 test configuration is also in the training data")
    assert len(messages) == 3


def test_one_file_as_training_and_test_data_is_named_so(frames, caplog):
    """Found in review: frames of one file have the same ``where`` in both sets."""
    import logging
    from types import SimpleNamespace

    from acefit.data_checks import warn_repeated_structures

    same = [LabelledConfig(a, energy=0.0, source="all.xyz", index=i) for i, a in
            enumerate(frames)]
    with caplog.at_level(logging.WARNING, logger="acefit"):
        warn_repeated_structures(SimpleNamespace(train=same[:3], val=[], test=same))
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith("3 test configurations are also in the "
                              "training data (first: all.xyz, frame 0 = all.xyz, frame 0)")


def _huge_energy(frame):
    frame.info["REF_energy"] = 1e300        # finite, and its square overflows


def _dummy_atom(frame):
    frame.numbers[2] = 0                    # ASE's X (found by fuzzing: init named its tmp file)


def _far_atom(frame):
    frame.positions[2] = [1e12, 0.0, 0.0]   # found by fuzzing: the assembly crawled


def _long_cell(frame):
    frame.cell[2] = [0.0, 0.0, 1e9]         # its rank test called it a zero-volume cell


@pytest.mark.parametrize("spoil, message", [
    (_huge_energy, r"label 'REF_energy' has a value of magnitude 1e\+300; allowed: magnitudes "
                   r"up to"),
    (_dummy_atom, r"atoms \[2\] are ASE's dummy element X; allowed: chemical elements"),
    (_far_atom, r"atom 2 is at \[1000000000000\.0, 0\.0, 0\.0\] Å; allowed: coordinates of "
                r"magnitude up to 1e\+06 Å"),
    (_long_cell, r"periodic cell vectors \[\[.*\], \[0\.0, 0\.0, 1000000000\.0\]\] Å; "
                 r"allowed: components of magnitude up to 1e\+06 Å"),
])
def test_frames_found_by_fuzzing_name_file_and_frame(tmp_path, frames, spoil, message):
    frames = _custom_frames(frames)
    spoil(frames[1])
    path = tmp_path / "bad.xyz"
    ase.io.write(path, frames, format="extxyz")
    with pytest.raises(ValueError, match=r"bad\.xyz, frame 1: " + message):
        load_configurations(path, energy_key="REF_energy", forces_key="REF_forces")


def test_a_virial_over_a_tiny_cell_is_checked_as_the_stress_it_gives(tmp_path):
    """A virial within the label limit over a cell of under 1 Å³ is a stress beyond it
    (1e11 eV over 0.001 Å³: 1e14 eV/Å³): checked after the conversion, named by file,
    frame and key, where the reader let it through to the assembly's check."""
    def frame(edge):
        atoms = Atoms("Cu", cell=np.eye(3) * edge, pbc=True)
        atoms.info.update(REF_energy=1.0, REF_virial=np.eye(3) * 1e11)
        return atoms

    path = tmp_path / "tiny.xyz"
    ase.io.write(path, [frame(100.0), frame(0.1)], format="extxyz")
    with pytest.raises(ValueError, match=r"tiny\.xyz, frame 1: the stress \(−virial / volume, "
                                         r"0\.001 Å³\) of label 'REF_virial' has a value of "
                                         r"magnitude 1e\+14; allowed: magnitudes up to 1e\+12"):
        load_configurations(path, energy_key="REF_energy", virial_key="REF_virial")
    (big,) = load_configurations(path, index="0", energy_key="REF_energy",
                                 virial_key="REF_virial")
    np.testing.assert_allclose(big.stress, [-1e5] * 3 + [0.0] * 3)


@pytest.mark.parametrize("key", ["REF_stress", "REF_virial"])
def test_an_asymmetric_3x3_stress_or_virial_is_refused(tmp_path, key):
    """A transposed or mis-parsed 3×3 tensor has no one Voigt form: reading its upper
    triangle would give shear labels of the wrong value (2 eV/Å³ for a yz of 0 here)."""
    atoms = Atoms("Cu", cell=np.eye(3) * 3.0, pbc=True)
    atoms.info.update(REF_energy=1.0, **{key: np.array([[1.0, 2.0, 3.0],
                                                         [0.0, 1.0, 0.0],
                                                         [0.0, 0.0, 1.0]])})
    path = tmp_path / "asym.xyz"
    ase.io.write(path, [atoms], format="extxyz")
    kind = key.split("_")[1]
    with pytest.raises(ValueError, match=rf"asym\.xyz, frame 0: '{key}' is not symmetric"):
        load_configurations(path, energy_key="REF_energy", **{f"{kind}_key": key})
    atoms.info[key] = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 0.0], [3.0, 0.0, 1.0]])
    ase.io.write(path, [atoms], format="extxyz")
    (cfg,) = load_configurations(path, energy_key="REF_energy", **{f"{kind}_key": key})
    sign = -1.0 / 27.0 if kind == "virial" else 1.0
    np.testing.assert_allclose(cfg.stress, sign * np.array([1.0, 1.0, 1.0, 0.0, 3.0, 2.0]))


def test_a_left_handed_cell_has_the_volume_of_its_right_handed_twin(tmp_path):
    """A cell whose vectors are listed in left-handed order (det < 0) is the same crystal:
    its volume is |det|, its stress label is read, and a virial label converts with
    −W/|V| (a signed volume refused the frame as one "without volume")."""
    from ase.calculators.emt import EMT

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.set_cell(atoms.cell.array[[1, 0, 2]], scale_atoms=False)
    atoms.rattle(0.05, seed=1)
    atoms.calc = EMT()
    stress = atoms.get_stress()
    det = float(np.linalg.det(atoms.cell.array))
    assert det == pytest.approx(-3.6 ** 3)
    (cfg,) = configurations_from_atoms(atoms)
    assert cfg.volume == pytest.approx(-det)
    np.testing.assert_allclose(cfg.stress, stress, atol=1e-12)
    held = atoms.copy()
    held.info.update(REF_energy=1.0, REF_virial=-atoms.get_stress(voigt=False) * -det)
    (virial,) = configurations_from_atoms(held, energy_key="REF_energy", virial_key="REF_virial")
    np.testing.assert_allclose(virial.stress, stress, atol=1e-12)


def test_a_small_validation_fraction_still_draws_one_configuration(xyz):
    """5 % of 6 configurations rounds to none: the split keeps at least one for validation
    (with none, the fit selected the largest checkpoint by its training error)."""
    configs = load_configurations(xyz)
    train, val = split(configs, val_fraction=0.05, seed=0)
    assert (len(train), len(val)) == (5, 1)
    train, val = split(configs, val_fraction=0.05, seed=0, stratify=True)
    assert len(val) >= 1 and len(train) + len(val) == 6


@pytest.mark.parametrize("name, content, message", [
    ("data.bin", bytes(range(256)), r"ASE does not know its format .*allowed: a file "
                                    r"ase\.io\.read reads"),
    ("empty.xyz", b"", r"the file is empty"),
    ("garbage.xyz", bytes([0x81, 0xC3, 0x28]) * 100, r"not text in the format its name says "
                                                     r"\(byte 0x81 at position 0\)"),
])
def test_files_ase_cannot_read_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(name) + ".*" + message):
        load_configurations(path)


def test_a_truncated_file_names_the_frame_it_ends_in(xyz):
    """Found by fuzzing: ASE's 'Frame has 3 atoms, expected 4' named the file only."""
    lines = xyz.read_text().splitlines(keepends=True)
    xyz.write_text("".join(lines[:-1]))         # the last frame (5, of 4 atoms) loses an atom
    with pytest.raises(ValueError, match=re.escape(f"{xyz}, frame 5: the file ends after 3 of "
                                                   "the frame's 4 atom lines: it looks "
                                                   "truncated; allowed: complete frames")):
        load_configurations(xyz)
    for every in (2, 3, 5):     # frame 5 unread at 2 and 3 was dropped unseen
        with pytest.raises(ValueError, match=re.escape(f"{xyz}, frame 5: the file ends")):
            read_structures(xyz, every=every)
    xyz.write_text("".join(lines[:-5]))         # found by review: cut after frame 5's count
    with pytest.raises(ValueError, match=re.escape(f"{xyz}, frame 5: the file ends inside the "
                                                   "frame: it looks truncated")):
        load_configurations(xyz)
    with pytest.raises(ValueError, match=re.escape(f"{xyz}, frame 5: the file ends inside")):
        read_structures(xyz, every=2)
    lines[9] = lines[9].replace(lines[9].split()[1], "1.2.3", 1)   # frame 1, atom 1
    xyz.write_text("".join(lines))
    with pytest.raises(ValueError, match=re.escape(f"cannot read configurations from {xyz}, "
                                                   "frame 1: could not convert string")):
        load_configurations(xyz)


def test_an_error_before_any_frame_is_read_names_the_frame_or_line(xyz):
    """ASE's extended XYZ reader scans every frame's count line before it reads frame 0,
    so an error in frame 0, or in any frame's count line, named the file only."""
    lines = xyz.read_text().splitlines(keepends=True)
    bad = list(lines)
    bad[1] = bad[1].rstrip("\n") + ' stress="1 2 3 4 5 6"\n'     # frame 0's comment line
    xyz.write_text("".join(bad))
    with pytest.raises(ValueError, match=re.escape(f"cannot read configurations from {xyz}, "
                                                   "frame 0: Got info item stress")):
        load_configurations(xyz)
    bad = list(lines)
    bad.insert(8, bad[7])     # frame 1 (lines 7-12, 4 atoms) gets a 5th atom line
    xyz.write_text("".join(bad))
    with pytest.raises(ValueError, match=re.escape(
            f"cannot read configurations from {xyz}, line 13, the first line of frame 2 "
            f"(after frame 1's 4 atoms): {bad[12].strip()[:60]!r} where its atom count "
            "should be: ase.io.extxyz: Expected xyz header")):
        load_configurations(xyz)
    packed = xyz.with_suffix(".xyz.gz")
    packed.write_bytes(gzip.compress(xyz.read_bytes()))
    with pytest.raises(ValueError, match=re.escape(f"{packed}, line 13, the first line of "
                                                   "frame 2 (after frame 1's 4 atoms)")):
        read_structures(packed)


def test_a_half_written_atom_line_is_not_counted(xyz):
    """ASE counts the last line read, without its line end, as an atom line: a file
    ending after 2 of frame 5's 4 atom lines and part of the 3rd was said to end after 3."""
    lines = xyz.read_text().splitlines(keepends=True)
    for cut, ends in ((lines[-2][:10], "after 2 of the frame's 4 atom lines, inside the 3rd"),
                      (lines[-2][:-1], "after 2 of the frame's 4 atom lines, inside the 3rd"),
                      ("", "after 2 of the frame's 4 atom lines: it")):
        xyz.write_text("".join(lines[:-2]) + cut)
        with pytest.raises(ValueError, match=re.escape(f"{xyz}, frame 5: the file ends {ends}")):
            load_configurations(xyz)


def test_a_utf8_byte_order_mark_is_read_past(tmp_path, xyz):
    """Found by fuzzing: a file saved by a Windows editor, with the mark before its first
    line, was refused with ASE's "Expected xyz header but got: ... '\\ufeff4'"."""
    marked = tmp_path / "marked.xyz"
    marked.write_bytes(b"\xef\xbb\xbf" + xyz.read_bytes())
    plain, read = load_configurations(xyz), load_configurations(marked)
    assert len(read) == len(plain) == 6
    for a, b in zip(plain, read):
        assert (a.atoms.numbers == b.atoms.numbers).all() and a.config_type == b.config_type
        for x, y in ((a.atoms.positions, b.atoms.positions), (a.atoms.cell, b.atoms.cell),
                     (a.energy, b.energy), (a.forces, b.forces), (a.stress, b.stress)):
            assert np.array_equal(x, y)
    assert len(read_structures(marked, every=2)) == 3


def test_a_cif_file_with_a_utf8_byte_order_mark_is_read(tmp_path):
    """Found by review: ASE opens CIF files as bytes, so the mark stayed and ASE's CIF
    parser stopped at it with an AssertionError without a message."""
    plain, marked = tmp_path / "plain.cif", tmp_path / "marked.cif"
    ase.io.write(plain, bulk("Cu", "fcc", a=3.61, cubic=True), format="cif")
    text = "# fcc Cu, a = 3.61 Å\n" + plain.read_text()
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (a,), (b,) = read_structures(plain), read_structures(marked)
    assert (a.numbers == b.numbers).all() and np.array_equal(a.cell, b.cell)
    assert np.allclose(a.positions, b.positions)


@pytest.mark.parametrize("opener", ["gzip", "bz2", "lzma"])
def test_a_compressed_file_is_read_as_the_plain_one(tmp_path, xyz, opener, monkeypatch):
    """ASE's readers seek back in a compressed stream, which decompresses from the start
    each time (2000 frames of .xyz.gz took 52 s against 1 s plain): acefit hands them a
    decompressed copy, which goes when the file is read; a mark before the first line goes
    too, and a frame cut off at the end is named as in the plain file."""
    import importlib
    import tempfile

    module = importlib.import_module(opener)
    suffix = {"gzip": ".gz", "bz2": ".bz2", "lzma": ".xz"}[opener]
    packed = tmp_path / f"frames.xyz{suffix}"
    with module.open(packed, "wb") as handle:
        handle.write(b"\xef\xbb\xbf" + xyz.read_bytes())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    plain, read = load_configurations(xyz), load_configurations(packed)
    assert len(read) == len(plain) == 6
    for a, b in zip(plain, read):
        assert np.array_equal(a.atoms.positions, b.atoms.positions) and a.energy == b.energy
        assert np.array_equal(a.forces, b.forces) and b.where == f"{packed}, frame {b.index}"
    assert len(read_structures(packed, every=4)) == 2
    cut = tmp_path / f"cut.xyz{suffix}"
    with module.open(cut, "wb") as handle:
        handle.write(xyz.read_bytes()[:-200])
    with pytest.raises(ValueError, match=rf"{re.escape(str(cut))}, frame 5: the file ends"):
        load_configurations(cut)
    assert list((tmp_path / "tmp").iterdir()) == []          # no copy left behind


def _dump_text(frames=3000) -> bytes:
    """A LAMMPS text dump of two Cu atoms a frame, their elements named."""
    frame = ("ITEM: TIMESTEP\n{}\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n"
             "0 3.6\n0 3.6\n0 3.6\nITEM: ATOMS id element x y z\n1 Cu 0 0 0\n2 Cu 1.8 1.8 0\n")
    return "".join(frame.format(k) for k in range(frames)).encode()


def _bad_crc(data: bytes) -> bytes:
    """``data`` gzipped, the checksum in its trailer wrong (a bit flipped in a copy)."""
    packed = bytearray(gzip.compress(data))
    packed[-8] ^= 0xFF
    return bytes(packed)


TRUNCATED = "its compressed data end before their end marker: the file looks truncated"


@pytest.mark.parametrize("name, pack, message", [
    ("cut.xyz.gz", lambda text: gzip.compress(text)[:-300], TRUNCATED + "; allowed: a "
     "complete gzip file (`gzip -t {path}` checks one), or the file uncompressed"),
    ("cut.xyz.bz2", lambda text: bz2.compress(text)[:-300], TRUNCATED + "; allowed: a "
     "complete bzip2 file (`bzip2 -t {path}` checks one)"),
    ("cut.xyz.xz", lambda text: lzma.compress(text)[:-300], TRUNCATED + "; allowed: a "
     "complete xz file (`xz -t {path}` checks one)"),
    ("plain.xyz.gz", lambda text: text, "its data are not valid gzip data (Not a gzipped "
     "file (b'4\\n')); allowed: a complete gzip file"),
    ("md.lammpstrj.gz", lambda text: _bad_crc(_dump_text()), "its data are not valid gzip "
     "data (CRC check failed"),
], ids=["gz cut", "bz2 cut", "xz cut", "not gzip", "dump bad checksum"])
def test_a_compressed_file_that_does_not_decompress_is_named(tmp_path, xyz, name, pack,
                                                              message, monkeypatch):
    """Found by review: a cut or damaged .gz, .bz2, .xz stopped with the decompressor's
    words ('Compressed file ended before the end-of-stream marker was reached'); a LAMMPS
    dump.gz with a wrong checksum with 'acefit: error: CRC check failed 0x... != 0x...',
    naming no file. Each names the file, what is wrong and the check to run."""
    import tempfile

    path = tmp_path / name
    path.write_bytes(pack(xyz.read_bytes()))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    expected = re.escape(f"cannot decompress {path}: " + message.format(path=path))
    with pytest.raises(ValueError, match=expected):
        load_configurations(path)
    with pytest.raises(ValueError, match=expected):
        read_structures(path, name="pool file", every=2)
    assert list((tmp_path / "tmp").iterdir()) == []          # no copy left behind


def test_a_temporary_folder_without_room_for_the_decompressed_copy_is_named(
        tmp_path, xyz, monkeypatch):
    """Found by review: a full temporary folder stopped the read with 'cannot read
    configurations from frames.xyz.gz: [Errno 28] No space left on device', which blames
    the data file and names no folder; the half-written copy goes."""
    import errno
    import shutil
    import tempfile

    packed = tmp_path / "frames.xyz.gz"
    packed.write_bytes(gzip.compress(xyz.read_bytes()))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def full(source, target, length=0):
        target.write(source.read(100))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfileobj", full)
    with pytest.raises(ValueError, match=re.escape(
            f"cannot decompress {packed} into a temporary file in {scratch}: No space left on "
            f"device; allowed: TMPDIR set to a folder with room for the decompressed data, or "
            f"{packed} decompressed beforehand")):
        load_configurations(packed)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("content, said", [
    (b"", "the file is empty"), (lzma.compress(b""), "the file is empty once decompressed"),
], ids=["no bytes", "xz of nothing"])
def test_an_empty_compressed_file_is_named_empty(tmp_path, content, said):
    """Found by review: an empty .xz said 'Compressed file ended before the end-of-stream
    marker was reached', an xz file of nothing that ASE does not know its format."""
    path = tmp_path / "frames.xyz.xz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"no configurations in {path}: {said}") + "$"):
        load_configurations(path)


def _link_loop(path):
    path.symlink_to(path)           # a link to itself
    return path


def _fifo(path):
    os.mkfifo(path)                 # reading it would wait for a writer for ever
    return path


def _folder(path):
    path.mkdir()
    return path


@pytest.mark.parametrize("make, what", [
    (_link_loop, "is a loop of symbolic links"), (_fifo, "is a named pipe (FIFO)"),
    (_folder, "is a folder"), (lambda path: Path(os.devnull), "is a device"),
])
def test_paths_that_are_no_data_files_are_named(tmp_path, make, what):
    """Found by fuzzing: each was 'not found', or the system's 'Symlink loop from ...'."""
    path = make(tmp_path / "data.xyz")
    with pytest.raises(FileNotFoundError, match=re.escape(f"data file {path} {what}; "
                                                          "allowed: a regular file")):
        load_configurations(path)
    with pytest.raises(FileNotFoundError, match=re.escape(f"pool file {path} {what}")):
        read_structures(path, name="pool file")


def test_commands_with_an_output_name_a_loop_of_links_as_data(tmp_path, capsys):
    """init and evaluate compare their output with the data files first; a loop of links
    reached Python's 'Symlink loop from ...' there (found by review, session 26)."""
    from acefit.cli import main
    from acefit.commands import EXIT_CONFIG

    loop = _link_loop(tmp_path / "data.xyz")
    assert main(["init", str(loop), "-o", str(tmp_path / "x.yaml")]) == EXIT_CONFIG
    assert f"data file {loop} is a loop of symbolic links" in capsys.readouterr().err


def test_a_reader_error_without_a_message_is_named(tmp_path, frames, monkeypatch):
    """Found by review: ASE's database readers raised a bare AssertionError for a slice with
    a step, and the message ended in ': ' with nothing after it. acefit reads databases
    itself now (any step), so a reader that raises one stands in."""
    from acefit.readers import read_frames

    path = tmp_path / "frames.json"
    ase.io.write(path, frames, format="json")
    assert len(read_frames(path, "::2")) == len(frames[::2])

    def bare(*args, **kwargs):
        raise AssertionError
        yield

    monkeypatch.setattr(ase.io, "iread", bare)
    traj = tmp_path / "frames.traj"
    ase.io.write(traj, frames)
    with pytest.raises(ValueError, match=re.escape(
            f"cannot read configurations from {traj}: AssertionError in ASE's reader, "
            "without a message")):
        read_frames(traj, "::2")


# config_type=<as written>: ASE's reading, the group's name, whether the name differs
_XYZ_CONFIG_TYPES = [
    ("bulk", "bulk", False), ("1", "1", False), ("-1", "-1", False),
    ("1.5", "1.5", False), ("1e3", "1000.0", True), ('"1e3"', "1000.0", True),
    ("1.0e+3", "1000.0", True), ("nan", "nan", False),
    ("T", "True", True), ('"T"', "True", True), ("F", "False", True),
    ("true", "True", True), ("False", "False", False), ('"1 2"', "[1 2]", True),
    ("t", "t", False), ("yes", "yes", False), ("0x10", "0x10", False), ("010", "10", True),
]


def _one_frame(config_type):
    return (f"1\nconfig_type={config_type} energy=-1.0 pbc=\"F F F\" "
            "Properties=species:S:1:pos:R:3\nH 0 0 0\n")


@pytest.mark.parametrize("written, name, renamed", _XYZ_CONFIG_TYPES)
def test_config_types_ase_reads_as_numbers_or_booleans_are_named_as_read(
        tmp_path, caplog, written, name, renamed):
    """ASE's extended XYZ reader reads config_type=1e3 as 1000.0 and T as True, quoted or
    not: the group is '1000.0' or 'True'. Reading says nothing (most such names are as
    written, 1.5 or False); a config key written 1e3 or T that therefore matches no group is
    told the group's name (:func:`ase_group_hints`, in the fit's unmatched-key warnings)."""
    from acefit.data import ase_group_hints

    path = tmp_path / "t.xyz"
    path.write_text(_one_frame("bulk") + _one_frame(written) * 3)
    with caplog.at_level("WARNING", logger="acefit"):
        configs = load_configurations(path)
    assert [c.config_type for c in configs] == ["bulk"] + [name] * 3
    assert caplog.text == ""
    key = written.strip('"')
    hint = ase_group_hints([key], {"bulk", name})
    if renamed:
        assert hint.startswith(f"; config_type={key} of an extended XYZ file is the group "
                               f"'{name}' (ASE reads it as the ")
        assert hint.endswith("): key it so")
    else:
        assert hint == ""
    assert ase_group_hints([key], {"bulk"}) == ""       # only a group the data has


@pytest.mark.parametrize("written, name, _", _XYZ_CONFIG_TYPES)
def test_extxyz_reading_is_the_readers(tmp_path, written, name, _):
    """:func:`extxyz_reading` (which the config's keys are checked with) reads a value as
    the frames' reader does."""
    from acefit.data import extxyz_group, extxyz_reading

    text = written[1:-1] if written.startswith('"') else written
    assert extxyz_group(text) == name
    assert extxyz_reading('a "b" c\\d') == 'a "b" c\\d'       # escaped for ASE's reader
