"""Generate the quickstart data set: EMT-labelled Cu and CuAu configurations.

Writes ``datasets/quickstart/train.xyz`` and ``datasets/quickstart/test.xyz``
(extended XYZ, energy/forces/stress as ASE reads them, ``config_type`` in
``atoms.info``). Everything is seeded, so re-running reproduces the files
byte for byte on the same ASE/numpy versions.

The labels come from ASE's EMT potential, not from DFT: the data set exists
to exercise the whole pipeline in seconds, not to make a useful potential.

Usage::

    python scripts/make_quickstart_data.py [--out datasets/quickstart] [--seed 20260101]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.build import bulk, fcc111, fcc100
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.md.langevin import Langevin

A_CU = 3.61      # Å, fcc Cu (close to EMT's equilibrium)
A_CU3AU = 3.74   # Å, L1_2 Cu3Au
A_CUAU = 3.80    # Å, disordered fcc CuAu

TEMPERATURES_K = (300.0, 800.0, 1400.0)
TEST_FRACTION = 1 / 6


def cu3au_l12() -> Atoms:
    """The 4-atom cubic L1_2 Cu3Au cell (Au on the cube corners)."""
    return Atoms(
        "AuCu3",
        scaled_positions=[(0, 0, 0), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)],
        cell=[A_CU3AU] * 3, pbc=True)


def random_cuau(rng, repeat=(2, 2, 1)) -> Atoms:
    """A disordered fcc Cu(1-x)Au(x) cell, x = 0.5 (random decoration)."""
    atoms = bulk("Cu", "fcc", a=A_CUAU, cubic=True).repeat(repeat)
    symbols = np.array(["Cu"] * len(atoms))
    symbols[rng.permutation(len(atoms))[: len(atoms) // 2]] = "Au"
    atoms.set_chemical_symbols(symbols.tolist())
    return atoms


def labelled(atoms: Atoms, config_type: str) -> Atoms:
    """A copy of ``atoms`` carrying its EMT energy, forces, stress and config_type."""
    atoms = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions,
                  cell=atoms.cell, pbc=atoms.pbc)  # drops momenta and build-time info
    atoms.wrap()
    atoms.calc = EMT()
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=True)  # ASE sign: tensile positive, xx yy zz yz xz xy
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
    atoms.info["config_type"] = config_type
    return atoms


def md_snapshots(atoms: Atoms, temperature_k: float, n_snapshots: int, rng,
                 config_type: str = "md", every: int = 25, equilibrate: int = 50) -> list[Atoms]:
    """Langevin MD with EMT; snapshots every ``every`` steps after ``equilibrate``."""
    atoms = atoms.copy()
    atoms.calc = EMT()
    masses = atoms.get_masses()[:, None]
    momenta = rng.normal(size=(len(atoms), 3)) * np.sqrt(masses * units.kB * temperature_k)
    atoms.set_momenta(momenta - momenta.mean(axis=0))  # Maxwell-Boltzmann, no drift
    dyn = Langevin(atoms, timestep=4.0 * units.fs, temperature_K=temperature_k,
                   friction=0.02 / units.fs, fixcm=False, rng=rng)
    dyn.run(equilibrate)
    frames = []
    for _ in range(n_snapshots):
        dyn.run(every)
        frames.append(labelled(atoms, config_type))
    return frames


def strained(atoms: Atoms, rng, max_strain: float = 0.04, rattle: float = 0.03) -> Atoms:
    """``atoms`` under a random symmetric strain (|e_ij| <= max_strain), slightly rattled."""
    eps = rng.uniform(-max_strain, max_strain, size=(3, 3))
    eps = 0.5 * (eps + eps.T)
    atoms = atoms.copy()
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    return atoms


def make_frames(seed: int) -> list[Atoms]:
    rng = np.random.default_rng(seed)
    frames: list[Atoms] = []

    # Molecular dynamics of the perfect crystals at three temperatures.
    md_cells = [
        bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(2),  # 32 atoms
        cu3au_l12().repeat((2, 2, 1)),                     # 16 atoms
        random_cuau(rng),                                  # 16 atoms
    ]
    for cell in md_cells:
        for temperature in TEMPERATURES_K:
            frames += md_snapshots(cell, temperature, n_snapshots=9, rng=rng)

    # Homogeneous strain of small cells (4 to 8 atoms).
    strain_cells = [
        bulk("Cu", "fcc", a=A_CU, cubic=True),
        bulk("Cu", "fcc", a=A_CU).repeat((2, 2, 1)),
        cu3au_l12(),
        random_cuau(rng, repeat=(2, 1, 1)),
    ]
    for cell in strain_cells:
        for _ in range(12):
            frames.append(labelled(strained(cell, rng), "strain"))

    # Vacancies: one atom removed from a 27-site primitive supercell, then MD.
    for host in (bulk("Cu", "fcc", a=A_CU).repeat(3),
                 bulk("Au", "fcc", a=A_CU3AU).repeat(3)):
        if host[0].symbol == "Au":  # Cu-rich alloy host: 2/3 Cu, 1/3 Au at random
            symbols = np.where(rng.random(len(host)) < 2 / 3, "Cu", "Au")
            host.set_chemical_symbols(symbols.tolist())
        del host[int(rng.integers(len(host)))]
        for temperature in (300.0, 900.0):
            frames += md_snapshots(host, temperature, n_snapshots=5, rng=rng,
                                   config_type="vacancy")

    # Surfaces: slabs with vacuum, periodic in all three directions like DFT slabs.
    slabs = [fcc111("Cu", size=(2, 2, 4), a=A_CU, vacuum=6.0, periodic=True),
             fcc100("Cu", size=(2, 2, 4), a=A_CU, vacuum=6.0, periodic=True)]
    alloy = fcc111("Cu", size=(2, 2, 4), a=A_CU3AU, vacuum=6.0, periodic=True)
    alloy.set_chemical_symbols(np.where(rng.random(len(alloy)) < 0.25, "Au", "Cu").tolist())
    slabs.append(alloy)
    for slab in slabs:
        for temperature in (300.0, 900.0):
            frames += md_snapshots(slab, temperature, n_snapshots=5, rng=rng,
                                   config_type="surface", every=20)
    return frames


def split(frames: list[Atoms], seed: int) -> tuple[list[Atoms], list[Atoms]]:
    """A test set of about TEST_FRACTION of each config_type, chosen at random."""
    rng = np.random.default_rng(seed + 1)
    train, test = [], []
    for config_type in sorted({f.info["config_type"] for f in frames}):
        group = [f for f in frames if f.info["config_type"] == config_type]
        n_test = max(1, round(TEST_FRACTION * len(group)))
        chosen = set(rng.permutation(len(group))[:n_test].tolist())
        for i, frame in enumerate(group):
            (test if i in chosen else train).append(frame)
    return train, test


def write_atomically(path: Path, frames: list[Atoms]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp, frames, format="extxyz")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--out", type=Path, default=here / "datasets" / "quickstart")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)

    frames = make_frames(args.seed)
    train, test = split(frames, args.seed)
    write_atomically(args.out / "train.xyz", train)
    write_atomically(args.out / "test.xyz", test)
    for name, part in (("train", train), ("test", test)):
        kinds = {}
        for f in part:
            kinds[f.info["config_type"]] = kinds.get(f.info["config_type"], 0) + 1
        n_atoms = sum(len(f) for f in part)
        print(f"{name}: {len(part)} configurations, {n_atoms} atoms, "
              f"{dict(sorted(kinds.items()))} -> {args.out / (name + '.xyz')}")


if __name__ == "__main__":
    main()
