"""Test-only fixtures for the data/design/assembly tests.

``PairBasis`` implements the basis contract of docs/architecture.md with a few
smooth pair functions φ_k(r) = (1 − r/rc)^(k+1) per element pair, with exact
forces and stress, so the assembly logic can be tested independently of the
ACE descriptor. ``emt_configs`` makes small labelled Cu / CuAu cells with EMT.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import atomic_numbers
from ase.neighborlist import neighbor_list

BasisFunction = namedtuple("BasisFunction", "centre order factors kind")


@dataclass
class Values:
    energy: np.ndarray
    forces: np.ndarray
    stress: np.ndarray


class PairBasis:
    """Pair functions φ_k(|r_ij|), k = 1..K, one set per unordered element pair."""

    def __init__(self, elements=("Cu", "Au"), K=3, rc=4.0):
        self.elements = list(elements)
        self.K = int(K)
        self.rc = float(rc)
        zs = sorted(atomic_numbers[e] for e in self.elements)
        self._pairs = {p: i for i, p in enumerate(combinations_with_replacement(zs, 2))}
        self.functions = [BasisFunction(centre=a, order=1, factors=((b, k, 0),), kind="pair")
                          for (a, b) in self._pairs for k in range(1, self.K + 1)]

    def __len__(self):
        return len(self._pairs) * self.K

    def to_dict(self):
        return {"kind": "toy-pair", "elements": self.elements, "K": self.K, "rc": self.rc}

    def evaluate(self, atoms):
        n, nat = len(self), len(atoms)
        i, j, d, D = neighbor_list("ijdD", atoms, self.rc)
        z = atoms.numbers
        pair = np.array([self._pairs[tuple(sorted((z[a], z[b])))] for a, b in zip(i, j)], dtype=int)
        energy = np.zeros(n)
        forces = np.zeros((nat, 3, n))
        virial = np.zeros((3, 3, n))
        x = 1.0 - d / self.rc
        for k in range(1, self.K + 1):
            col = pair * self.K + (k - 1)
            phi = x ** (k + 1)
            dphi = -(k + 1) / self.rc * x ** k
            np.add.at(energy, col, 0.5 * phi)
            g = (dphi / d)[:, None] * D  # F_i += φ'(r) D_ij / r
            for a in range(3):
                np.add.at(forces[:, a, :], (i, col), g[:, a])
                for b in range(3):
                    np.add.at(virial[a, b], col, 0.5 * g[:, a] * D[:, b])
        if atoms.cell.rank == 3 and np.all(atoms.pbc):
            vol = atoms.get_volume()
            voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
            stress = np.array([virial[a, b] for a, b in voigt]) / vol
        else:
            stress = np.full((6, n), np.nan)
        return Values(energy=energy, forces=forces, stress=stress)


def emt_configs(n_configs=8, seed=0):
    """Small rattled and strained Cu and CuAu cells labelled by EMT (list of Atoms)."""
    rng = np.random.default_rng(seed)
    frames = []
    for c in range(n_configs):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        if c % 2 == 1:
            atoms.symbols[[1, 2]] = "Au"
        if c % 4 == 3:
            atoms = atoms.repeat((2, 1, 1))
        strain = np.eye(3) + 0.02 * rng.standard_normal((3, 3))
        atoms.set_cell(atoms.cell @ strain, scale_atoms=True)
        atoms.positions += 0.08 * rng.standard_normal(atoms.positions.shape)
        atoms.calc = EMT()
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
        atoms.info["config_type"] = "alloy" if c % 2 == 1 else "pure"
        frames.append(atoms)
    return frames
