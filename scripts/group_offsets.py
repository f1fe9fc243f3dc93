"""Are the energies of two config_types on one scale? A measurement.

Two frames of the same atoms a small step apart (cells within 5 %, RMS displacement at most
``--max-rms`` Å) are joined by the straight path in cell and scaled positions, and the
trapezoid of their forces' and stresses' work estimates E_b − E_a
(:func:`acefit.consistency.end_derivatives`). Its miss has two parts: the trapezoid's own
error (the energy's curvature along the step) and any inconsistency of the labels, such
as an energy offset between groups computed with other DFT settings. A fitted potential's
energies, forces and stresses agree exactly, so its miss on the same pairs is the
trapezoid's error alone (for its energy surface); the difference, per pair of groups, is
what the labels add. Printed per pair of groups: pairs, and the mean ± SD and median of
that difference in meV/atom (E of the later group in alphabetical order minus the earlier):

    python scripts/group_offsets.py runs/zuo/mo/potentials/omp_t1000.h5 \\
        ../shared/datasets/zuo2020/Mo/train.xyz

docs/zuo_tuning.md, session 26: on Zuo Mo, AIMD-NVT → Elastic 0.99 ± 1.02 meV/atom, within
the fit's own energy error; no offset.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from acefit.consistency import MAX_STRAIN, end_derivatives


def _with_predictions(configs, potential):
    """``configs`` relabelled with ``potential``'s energy, forces and stress."""
    from dataclasses import replace

    from acefit.calculator import ACECalculator

    calc = ACECalculator(potential)
    out = []
    for c in configs:
        atoms = c.atoms.copy()
        atoms.calc = calc
        out.append(replace(c, energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                           stress=atoms.get_stress()))
    return out


def label_misses(configs, predicted, max_rms: float = 0.15) -> dict:
    """{(group, group): [difference per pair, meV/atom]} for the near pairs of periodic
    ``configs`` with energy, forces and stress; ``predicted``: the same configurations
    labelled by a potential."""
    def miss(a, b):
        return (b.energy - a.energy - 0.5 * sum(end_derivatives(a, b))) / a.n_atoms * 1e3

    usable = [k for k, c in enumerate(configs) if c.atoms.pbc.all() and c.energy is not None
              and c.forces is not None and c.stress is not None]
    out = {}
    for i, j in itertools.combinations(usable, 2):
        a, b = configs[i], configs[j]
        if len(a.atoms) != len(b.atoms) or (a.atoms.numbers != b.atoms.numbers).any():
            continue
        strain = np.abs(np.linalg.solve(a.atoms.cell.array, b.atoms.cell.array) - np.eye(3))
        ds = b.atoms.get_scaled_positions() - a.atoms.get_scaled_positions()
        ds -= np.round(ds)
        rms = np.sqrt(np.mean(np.sum((ds @ a.atoms.cell.array) ** 2, axis=1)))
        if strain.max() > MAX_STRAIN or rms > max_rms:
            continue
        if a.config_type > b.config_type:
            i, j = j, i
        key = tuple(sorted((a.config_type, b.config_type)))
        out.setdefault(key, []).append(miss(configs[i], configs[j])
                                       - miss(predicted[i], predicted[j]))
    return out


def main(argv=None) -> None:
    from acefit.data import read_configurations
    from acefit.potential import Potential

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("potential", help="a potential file (.h5) fitted to these data")
    p.add_argument("data", nargs="+", help="labelled configurations")
    p.add_argument("--max-rms", type=float, default=0.15,
                   help="largest RMS displacement of a pair, Å (default 0.15)")
    args = p.parse_args(argv)
    configs = read_configurations(args.data)
    differences = label_misses(configs, _with_predictions(configs,
                                                          Potential.load(args.potential)),
                               args.max_rms)
    print("| groups | pairs | labels' miss less the potential's, meV/atom: mean ± SD | "
          "median |\n|---|---:|---|---:|")
    for (g, h), d in sorted(differences.items()):
        print(f"| {g} → {h} | {len(d)} | {np.mean(d):.2f} ± {np.std(d):.2f} | "
              f"{np.median(d):.2f} |")


if __name__ == "__main__":
    main()
