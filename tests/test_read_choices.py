"""What the readers keep of a file, and which of its labels they take: an ASE database's
key_value_pairs and data, ASE's `file@index` names, `energy` against `free_energy`."""

import logging

import ase.db
import ase.io
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from acefit.cli import main
from acefit.commands import EXIT_CONFIG, EXIT_OK
from acefit.config import ConfigError, load_config
from acefit.pipeline import load_data
from acefit.readers import iter_frames, read_frames
from acefit.starter import write_starter_config


def _cells(n=8, smear=0.0):
    """Rattled, strained EMT Cu cells of 4 atoms, alternately groups 'md' and 'strain';
    with ``smear``, a ``free_energy`` ``smear`` eV/atom below the ``energy``, as a smeared
    DFT run gives."""
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.set_cell(atoms.cell * (1 + 0.01 * k), scale_atoms=True)
        atoms.rattle(0.05, seed=k)
        atoms.calc = EMT()
        energy = atoms.get_potential_energy()
        atoms.calc = SinglePointCalculator(
            atoms, energy=energy, free_energy=energy - smear * len(atoms),
            forces=atoms.get_forces(), stress=atoms.get_stress())
        atoms.info["config_type"] = "md" if k % 2 else "strain"
        frames.append(atoms)
    return frames


def _database(path, frames):
    """``frames`` in an ASE database: config_type and the row's number as key_value_pairs,
    forces again under ``dft_forces`` and a Voigt stress under ``dft_stress`` in its data."""
    with ase.db.connect(path, append=False) as db:
        for k, atoms in enumerate(frames):
            db.write(atoms, config_type=atoms.info["config_type"], row=k,
                     data={"dft_forces": atoms.get_forces(), "dft_stress": atoms.get_stress(),
                           "note": "text"})
    return path


def test_a_database_keeps_its_key_value_pairs_and_data(tmp_path):
    frames = _cells()
    db = _database(tmp_path / "cu.db", frames)
    read = read_frames(db)
    # found by the session 31 walk-through: ASE's reader left them out, and every frame
    # was the group 'default'
    assert [a.info["config_type"] for a in read] == [a.info["config_type"] for a in frames]
    assert np.allclose(read[3].arrays["dft_forces"], frames[3].get_forces())
    assert np.allclose(read[3].info["dft_stress"], frames[3].get_stress())
    assert read[3].info["note"] == "text"
    assert read[3].get_potential_energy() == pytest.approx(frames[3].get_potential_energy())
    # ASE's reader takes slices of step 1 only (an AssertionError without a message)
    assert [a.info["row"] for a in read_frames(db, "::3")] == [0, 3, 6]
    assert [a.info["row"] for a in read_frames(db, "-2:")] == [6, 7]
    assert [a.info["row"] for a in read_frames(db, "::-3")] == [7, 4, 1]
    assert [a.info["row"] for a in iter_frames(db, 5)] == [5]


def test_a_key_value_pair_comes_before_a_data_entry_of_its_name(tmp_path):
    """A row with ``energy_ref`` both as a key_value_pair (1.0) and in its data (2.0):
    the documented precedence labels the frame with the key_value_pair's 1 eV."""
    from acefit.data import load_configurations

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    with ase.db.connect(tmp_path / "both.db") as db:
        db.write(atoms, energy_ref=1.0, data={"energy_ref": 2.0})
    assert read_frames(tmp_path / "both.db")[0].info["energy_ref"] == 1.0
    (cfg,) = load_configurations(tmp_path / "both.db", energy_key="energy_ref",
                                 forces_key=None, stress_key=None)
    assert cfg.energy == 1.0


def test_six_values_in_the_data_of_a_six_atom_frame_are_kept_both_ways(tmp_path):
    atoms = bulk("Cu", "fcc", a=3.6, orthorhombic=True).repeat((1, 1, 3))[:6]
    atoms.calc = EMT()
    atoms.get_potential_energy()
    with ase.db.connect(tmp_path / "six.db") as db:
        db.write(atoms, data={"virial": np.arange(6.0)})
    read = read_frames(tmp_path / "six.db")[0]
    assert np.array_equal(read.info["virial"], np.arange(6.0))
    assert np.array_equal(read.arrays["virial"], np.arange(6.0))


def test_a_database_is_grouped_by_its_config_type_in_init_and_in_the_fit(tmp_path, capsys):
    db = _database(tmp_path / "cu.db", _cells(n=12))
    config = tmp_path / "cu.yaml"
    assert main(["init", str(db), "-o", str(config), "--functions", "40",
                 "--order", "2"]) == EXIT_OK
    assert "config_type groups: 2" in capsys.readouterr().out
    text = config.read_text()
    assert '"md":     {E: 30.0' in text and '"strain": {E: 30.0' in text
    data = load_data(load_config(config))
    groups = {c.config_type for c in (*data.train, *data.val)}
    assert groups == {"md", "strain"}


def test_ase_file_at_index_names_say_that_acefit_reads_whole_files(tmp_path, capsys):
    train = tmp_path / "train.xyz"
    ase.io.write(train, _cells(n=3))
    assert main(["init", f"{train}@:2", "-o", str(tmp_path / "a.yaml")]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"data file {train}@:2 does not exist; {train} exists, but acefit reads whole " \
           "files, not ASE's file@index selection (@:2)" in err
    assert f"`ase convert -n :2 {train} subset.xyz`" in err
    db = _database(tmp_path / "cu.db", _cells(n=3))
    with pytest.raises(FileNotFoundError, match=r"pool file \S*cu.db@config_type=md does not "
                       r"exist; \S*cu.db exists, .*, which keeps the rows' key_value_pairs"):
        next(iter_frames(f"{db}@config_type=md", name="pool file"))
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  train: cu.db@config_type=md\nsolvers: [{name: qr}]\n")
    with pytest.raises(ConfigError, match=r"cu.db exists, but acefit reads whole files, .*"
                       r"`ase db \S*cu.db config_type=md --insert-into subset.db`"):
        load_config(config)
    # a file whose name has an '@' is read whole (ASE cut the name there: 'no file x')
    named = tmp_path / "x@1.xyz"
    ase.io.write(named, _cells(n=2))
    assert len(read_frames(named)) == 2


def test_init_takes_free_energy_where_it_differs_from_energy_and_says_why(tmp_path, capsys):
    train = tmp_path / "smeared.traj"
    ase.io.write(train, _cells(n=12, smear=0.002))
    config = tmp_path / "s.yaml"
    assert main(["init", str(train), "-o", str(config), "--functions", "40",
                 "--order", "2"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "energies read from 'free_energy'; the frames also carry 'energy', which differs " \
           "from it in 12 of the 12 configurations with both, by up to 2 meV/atom" in out
    assert "free_energy, not energy: the forces and stresses are its derivatives" in out
    text = config.read_text()
    assert "keys: {energy: \"free_energy\"}" in text
    assert "  # free_energy, not energy: the forces and stresses are its derivatives" in text
    assert load_config(config)["data"]["keys"]["energy"] == "free_energy"
    # equal energies (extended XYZ of EMT, most converters): nothing said, energy read
    plain = tmp_path / "plain.xyz"
    ase.io.write(plain, _cells(n=12))
    facts = write_starter_config(tmp_path / "p.yaml", [plain], functions=40, order=2)
    assert facts["energy_choice"] is None and facts["keys"]["energy"] == "energy"
    # a file without free_energy beside one with: energy is kept, and the config says why
    mixed = tmp_path / "mixed.yaml"
    no_free = tmp_path / "no_free.xyz"
    frames = _cells(n=4)
    for atoms in frames:
        del atoms.calc.results["free_energy"]
    ase.io.write(no_free, frames)
    facts = write_starter_config(mixed, [train, no_free], functions=40, order=2)
    assert facts["keys"]["energy"] == "energy"
    assert "energy kept: 4 frames with an energy have no free_energy" in mixed.read_text()


def test_the_fit_says_which_energy_it_read_when_the_two_differ(tmp_path, caplog):
    train = tmp_path / "smeared.traj"
    ase.io.write(train, _cells(n=12, smear=0.002))
    config = tmp_path / "s.yaml"
    solvers = "solvers: [{name: qr}]\n"
    config.write_text(f"data:\n  train: {train.name}\n{solvers}")
    with caplog.at_level(logging.INFO, logger="acefit"):
        load_data(load_config(config))
    warned = [r for r in caplog.records if "the frames also carry" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert "energies read from 'energy'; the frames also carry 'free_energy'" in \
        warned[0].getMessage()
    assert "data.keys.energy: free_energy fits the energy they belong to" in \
        warned[0].getMessage()
    caplog.clear()
    config.write_text(f"data:\n  train: {train.name}\n  keys: {{energy: free_energy}}\n"
                      + solvers)
    with caplog.at_level(logging.INFO, logger="acefit"):
        data = load_data(load_config(config))
    noted = [r for r in caplog.records if "the frames also carry" in r.getMessage()]
    assert len(noted) == 1 and noted[0].levelno == logging.INFO
    frames = ase.io.read(train, ":")
    assert {c.energy for c in data.train} <= {a.calc.results["free_energy"] for a in frames}
