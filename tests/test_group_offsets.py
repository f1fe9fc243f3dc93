"""scripts/group_offsets.py: an energy offset between two groups is measured, and a
potential's own labels show none."""

import numpy as np
from _scripts import load_script
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from acefit import ACEBasis, ACECalculator, Potential

script = load_script("group_offsets")


def test_an_offset_between_groups_is_found(tmp_path, capsys):
    basis = ACEBasis(["Cu"], order=2, totaldegree=[6, 5], rcut=4.5)
    pot = Potential(basis, 0.1 * np.random.default_rng(0).normal(size=len(basis)))
    frames = []
    for k in range(8):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
        atoms.rattle(0.01 * (k + 1), seed=k)
        atoms.calc = ACECalculator(pot)
        shifted = k % 2 == 1                              # 5 meV/atom above the others
        atoms.calc = SinglePointCalculator(
            atoms, energy=atoms.get_potential_energy() + (0.005 * len(atoms) if shifted else 0),
            forces=atoms.get_forces(), stress=atoms.get_stress())
        atoms.info["config_type"] = "hot" if shifted else "cold"
        frames.append(atoms)
    data, pot_file = tmp_path / "data.xyz", tmp_path / "pot.h5"
    write(data, frames, format="extxyz")
    pot.save(pot_file)
    script.main([str(pot_file), str(data)])
    rows = {line.split("|")[1].strip(): line.split("|")
            for line in capsys.readouterr().out.splitlines()[2:]}
    assert set(rows) == {"cold → cold", "cold → hot", "hot → hot"}
    assert float(rows["cold → hot"][4]) == 5.0                      # median, meV/atom
    assert rows["cold → cold"][3].strip() == "0.00 ± 0.00"
