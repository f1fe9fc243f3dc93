"""How a potential behaves closer than its data: dimer curves and compressed crystals.

    python scripts/short_range.py runs/quickstart/potential.h5 [--crystal Cu fcc 3.61]

Prints, for every pair of the potential's elements, the dimer energy E(r) − E(∞) at
distances from 0.5 Å to 2.5 Å, and, with ``--crystal``, the energy per atom of that
crystal (one-atom primitive cell) with its lattice constant scaled by 0.55 ... 1.0,
relative to the unscaled one. A potential that holds atoms apart shows large positive
numbers towards the left of both tables.
"""

from __future__ import annotations

import argparse
import itertools
import sys

import numpy as np
from ase import Atoms
from ase.build import bulk

from acefit import ACECalculator

DISTANCES = (0.5, 0.8, 1.0, 1.2, 1.5, 1.8, 2.0, 2.2, 2.5)
SCALES = (0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0)


def dimer_curve(calc, a, b, distances=DISTANCES):
    """E(r) − E(∞) of an isolated a-b dimer (eV)."""
    def energy(r):
        atoms = Atoms([a, b], positions=[[0, 0, 0], [0, 0, r]])
        atoms.calc = calc
        return atoms.get_potential_energy()

    far = energy(4.0 * calc.potential.cutoff)
    return np.array([energy(r) - far for r in distances])


def compression_curve(calc, symbol, structure, a, scales=SCALES):
    """Energy per atom of the compressed crystal, relative to the unscaled one (eV)."""
    def energy(s):
        atoms = bulk(symbol, structure, a=a * s)
        atoms.calc = calc
        return atoms.get_potential_energy() / len(atoms)

    ref = energy(1.0)
    return np.array([energy(s) - ref for s in scales])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("potential", help="acefit potential file (.h5)")
    ap.add_argument("--crystal", nargs=3, metavar=("SYMBOL", "STRUCTURE", "A"),
                    help="e.g. Cu fcc 3.61 (ase.build.bulk)")
    args = ap.parse_args(argv)
    calc = ACECalculator(args.potential)
    print(calc.potential)
    print("dimer E(r) - E(inf), eV; r in Å: " + " ".join(f"{r:>8g}" for r in DISTANCES))
    for a, b in itertools.combinations_with_replacement(calc.potential.elements, 2):
        curve = dimer_curve(calc, a, b)
        print(f"{a + '-' + b:>8}  " + " ".join(f"{e:8.2f}" for e in curve))
    if args.crystal:
        symbol, structure, a = args.crystal
        curve = compression_curve(calc, symbol, structure, float(a))
        print(f"{symbol} {structure} E(s a) - E(a), eV/atom; s: "
              + " ".join(f"{s:>8g}" for s in SCALES))
        print(" " * 10 + " ".join(f"{e:8.2f}" for e in curve))
    return 0


if __name__ == "__main__":
    sys.exit(main())
