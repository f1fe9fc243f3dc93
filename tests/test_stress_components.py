"""scripts/stress_components.py: a potential's stresses against labels read in each
convention, per config_type."""

import numpy as np
from _scripts import load_script
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from acefit import ACEBasis, ACECalculator, Potential

script = load_script("stress_components")


def test_the_reading_the_potential_follows_is_named(tmp_path, capsys):
    basis = ACEBasis(["Cu"], order=2, totaldegree=[6, 5], rcut=4.5)
    pot = Potential(basis, 0.1 * np.random.default_rng(0).normal(size=len(basis)))
    rng = np.random.default_rng(1)
    frames = []
    for k in range(8):                      # the potential's own labels, half of them swapped
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
        shear = rng.uniform(-0.03, 0.03, (3, 3))
        atoms.set_cell(atoms.cell.array @ (np.eye(3) + shear + shear.T), scale_atoms=True)
        atoms.rattle(0.02, seed=k)
        atoms.calc = ACECalculator(pot)
        stress = atoms.get_stress()
        if k % 2:
            stress[[3, 4]] = stress[[4, 3]]
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(),
                                           forces=atoms.get_forces(), stress=stress)
        atoms.info["config_type"] = "swapped" if k % 2 else "right"
        frames.append(atoms)
    data = tmp_path / "data.xyz"
    write(data, frames, format="extxyz")
    pot_file = tmp_path / "pot.h5"
    pot.save(pot_file)
    script.main([str(pot_file), str(data)])
    lines = capsys.readouterr().out.splitlines()
    header = [cell.strip() for cell in lines[0].split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.split("|")]
        rows[cells[1]] = dict(zip(header, cells))
    assert set(rows) == {"right", "swapped"}
    assert rows["right"]["lowest"] == "as_labelled"
    assert rows["swapped"]["lowest"] == "swap_yz_xz"
    assert float(rows["right"]["MAE as_labelled (GPa)"]) < 1e-9
    assert float(rows["swapped"]["MAE swap_yz_xz (GPa)"]) < 1e-9
    assert float(rows["swapped"]["r(pred yz, label xz)"]) > 0.99
