"""scripts/core_switch_scan.py: the switch it measures changes nothing from each pair's
outer distance on, leaves the pair functions (or nothing fitted) closer than the switch,
and the scan prints one row per crystal and setting."""

import numpy as np
import pytest
from _models import balanced, cu_au_configurations
from _scripts import load_script
from ase import Atoms
from ase.io import write

from acefit import ACEBasis, ACECalculator, Potential

scan = load_script("core_switch_scan")
OUTER = {("Cu", "Cu"): 2.0, ("Cu", "Au"): 2.1, ("Au", "Au"): 2.2}


@pytest.fixture(scope="module")
def potential():
    basis = ACEBasis(["Cu", "Au"], order=3, totaldegree=[7, 6, 5], pair_degree=4, rcut=4.5)
    c = 0.1 * np.random.default_rng(0).normal(size=len(basis))
    pot = balanced(Potential(basis, c), cu_au_configurations(True)[0])
    return Potential(basis, pot.coefficients, e0={"Cu": -0.5, "Au": -1.5}, prune=False,
                     repulsion={"kind": "zbl", "inner": 0.8, "outer": 1.6})


def _energy(pot, atoms):
    return ACECalculator(pot).get_potential_energy(atoms.copy())


@pytest.mark.parametrize("everything", [False, True])
def test_the_switch_is_free_beyond_outer_and_leaves_the_pair_part_closer_in(potential,
                                                                           everything):
    switched = scan.with_switch(potential, OUTER, 0.4, everything)
    for atoms in cu_au_configurations(True):          # nearest neighbours from 2.2 Å
        assert _energy(switched, atoms) == _energy(potential, atoms)
    cluster = Atoms("CuAuCu", positions=[[0, 0, 0], [0.9, 0.8, 0.3], [0.2, 1.1, -0.6]])
    kept = np.array([f.kind == "pair" and not everything for f in potential.basis.functions])
    left = Potential(potential.basis, np.where(kept, potential.coefficients, 0.0),
                     e0=potential.e0, prune=False, repulsion=potential.repulsion.to_dict())
    assert _energy(switched, cluster) == pytest.approx(_energy(left, cluster), rel=1e-12)
    assert abs(_energy(left, cluster) - _energy(potential, cluster)) > 0.01   # what it removed


def test_the_scan_prints_each_crystal_for_each_setting(potential, tmp_path, capsys):
    train = cu_au_configurations(True)
    for atoms in train:
        atoms.info.pop("adsorbate_info", None)     # the slab's, which extxyz cannot write
        atoms.info["energy"] = 0.0
    write(tmp_path / "train.xyz", train)
    potential.save(tmp_path / "p.h5")
    scan.main([str(tmp_path / "p.h5"), str(tmp_path / "train.xyz"), "--margins", "0.05",
               "--widths", "0.3", "0.5"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("shortest training distances: ")
    rows = [line for line in out if " fcc " in line]
    assert [r.split()[0] for r in rows] == ["as", "as", "margin", "margin", "margin", "margin"]
    assert [r[25:27] for r in rows] == ["Cu", "Au"] * 3
    # a compression row, or the reason there is none (this random potential has no crystal)
    assert all(("holds" in r) != ("no energy minimum within" in r) for r in rows)
    assert sum("dimers: Cu-Cu" in line for line in out) == 3
