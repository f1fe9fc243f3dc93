"""Would a core switch make fitted potentials safe under strong compression? A measurement.

A core switch multiplies radial functions by a smooth step, zero below ``outer - width``
and one from ``outer`` on (pacemaker's inner cutoff does this to the whole ACE). Placed
below the shortest distance of each element pair in the training data, it changes no
basis value the fit saw, so a fitted potential can be given one after the fact. This
script puts switches of several margins (``outer`` = the pair's shortest training
distance less the margin) and widths on one potential, on the many-body functions only
(the pair functions, with their repulsive envelope, and the core repulsion stay) or on
all fitted functions (``--all``: only the core repulsion is left closer in), and prints
the energy of each element's cubic crystal compressed to 55-95 % of its lattice constant
(:func:`acefit.validate.compression_check`) and the dimer verdicts, beside the potential
as fitted:

    python scripts/core_switch_scan.py runs/quickstart/potential.h5 \\
        datasets/quickstart/train.xyz --margins 0.05 0.1 --widths 0.3 0.5

The results are in docs/benchmarks.md ("Short range: a core switch, measured and
dropped"): a switch removed the collapse of some potentials and made others collapse, so
acefit does not offer one. The switch lives here, not in the library.
"""

from __future__ import annotations

import argparse

import numpy as np

from acefit.basis.radial import RadialBasis

SCALES = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


class SwitchedRadial(RadialBasis):
    """A :class:`RadialBasis` whose many-body (``everything``: all) channels are multiplied
    by S(r) = 6t^5 - 15t^4 + 10t^3, t = (r - outer + width) / width in [0, 1]; ``outer``
    is a table per element pair, set after construction (None: no switch)."""

    outer = None
    width = 0.3
    everything = False

    def evaluate(self, r, zi_index, zj_index):
        R, dR = super().evaluate(r, zi_index, zj_index)
        if self.outer is None:
            return R, dR
        r = np.asarray(r, dtype=float)
        t = np.clip((r - self.outer[zi_index, zj_index] + self.width) / self.width, 0.0, 1.0)
        S = t**3 * (10.0 - 15.0 * t + 6.0 * t**2)
        dS = 30.0 * t**2 * (1.0 - t) ** 2 / self.width
        cols = slice(0, self.nmax + self.npair if self.everything else self.nmax)
        dR[:, cols] = dR[:, cols] * S[:, None] + R[:, cols] * dS[:, None]
        R[:, cols] *= S[:, None]
        return R, dR


def with_switch(potential, outer, width, everything=False):
    """``potential`` with a core switch: ``outer`` as ``rcut`` ({("Cu", "Au"): Å, ...})."""
    from acefit.basis import ACEBasis
    from acefit.basis.radial import _pair_table
    from acefit.potential import Potential

    basis = potential.basis
    if basis.pure2b:
        raise ValueError("a pure2b basis's diagonal channels would need the switch too")
    radial = SwitchedRadial.from_dict(basis.radial.elements, basis.radial.to_dict())
    radial.outer = _pair_table(radial.elements, outer, "outer")
    radial.width, radial.everything = float(width), bool(everything)
    switched = ACEBasis._create(basis.spec, radial, basis.functions, basis.pure2b)
    return Potential(switched, potential.coefficients, e0=potential.e0, prune=False,
                     metadata=potential.metadata,
                     repulsion=None if potential.repulsion is None
                     else potential.repulsion.to_dict())


def short_range(potential, crystals):
    """(compression rows, dimer rows) of ``potential``; ``crystals``: (symbol, structure,
    a guess)."""
    from acefit.calculator import ACECalculator
    from acefit.validate import _lattice_constant, compression_check, dimer_checks

    calc = ACECalculator(potential)
    rows = []
    for symbol, structure, a_guess in crystals:
        try:
            a, _ = _lattice_constant(symbol, structure, a_guess, calc)
        except RuntimeError as exc:         # no minimum near the reference crystal
            rows.append({"element": symbol, "structure": structure, "error": str(exc)})
            continue
        rows.append(compression_check(calc, symbol, structure, a, scales=SCALES))
    return rows, dimer_checks(calc, potential.elements)


def main(argv=None):
    from ase.data import atomic_numbers, reference_states

    from acefit.data import read_configurations
    from acefit.potential import Potential
    from acefit.starter import survey
    from acefit.validate import CUBIC_STRUCTURES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("potential")
    ap.add_argument("train", nargs="+", help="the training files (shortest distances)")
    ap.add_argument("--margins", type=float, nargs="+", default=[0.05, 0.1])
    ap.add_argument("--widths", type=float, nargs="+", default=[0.3, 0.5])
    ap.add_argument("--all", action="store_true",
                    help="switch the pair functions too (only the core repulsion is left)")
    args = ap.parse_args(argv)

    potential = Potential.load(args.potential)
    shortest = survey(read_configurations(args.train)).shortest
    crystals = []
    for el in potential.elements:
        ref = reference_states[atomic_numbers[el]] or {}
        if ref.get("symmetry") in CUBIC_STRUCTURES:
            crystals.append((el, ref["symmetry"], ref["a"]))
    print("shortest training distances: " + ", ".join(f"{p} {d:.3f} Å"
                                                      for p, (d, _) in shortest.items()))
    print(f"switched: {'all fitted' if args.all else 'the many-body'} functions")
    print("E(s a) - E(a), eV/atom, at s = " + " ".join(f"{s:g}" for s in SCALES))
    settings = [("as fitted", None, None)] + [
        (f"margin {m:g} width {w:g}", m, w) for m in args.margins for w in args.widths]
    for label, margin, width in settings:
        pot = potential
        if margin is not None:
            outer = {tuple(p.split("-")): d - margin for p, (d, _) in shortest.items()}
            pot = with_switch(potential, outer, width, args.all)
        rows, dimers = short_range(pot, crystals)
        for row in rows:
            if "error" in row:
                print(f"{label:<24} {row['element']:>2} {row['structure']} {row['error']}")
                continue
            e = " ".join(f"{x:+8.2f}" for x in row["energies_eV_atom"])
            print(f"{label:<24} {row['element']:>2} {row['structure']} a={row['a_A']:.3f} "
                  f"{e}  holds {'yes' if row['holds'] else 'NO'}")
        print(f"{'':<24} dimers: " + ", ".join(
            f"{d['pair']} {'repulsive' if d['repulsive_core'] else 'NOT repulsive'} (lowest "
            f"{d['lowest_eV']:+.2f} eV at {d['lowest_at_A']:.2f} Å)" for d in dimers))


if __name__ == "__main__":
    main()
