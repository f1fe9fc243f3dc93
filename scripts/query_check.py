"""Does query by committee find the configurations a potential gets most wrong?

Scores labelled configurations the way ``acefit query`` scores a pool (the committee's
largest atomic force SD, and its energy SD per atom), and compares the ranking with the
errors the labels show: the rank correlation, how many of the k most uncertain are among
the k worst, and the mean error of the k chosen against that of all.

    python scripts/query_check.py runs/quickstart/potential.h5 --data datasets/quickstart/test.xyz
"""

from __future__ import annotations

import argparse

import numpy as np


def ranking_table(potential, frames, ks=(3, 5, 10)) -> str:
    from scipy.stats import spearmanr

    from acefit.query import query

    result = query(potential, frames, progress=False)
    force_error, energy_error = [], []
    for atoms in frames:
        energy, _, forces, _ = potential.energy_forces_stress(atoms)
        force_error.append(np.linalg.norm(forces - atoms.get_forces(), axis=1).max())
        energy_error.append(1e3 * abs(energy - atoms.get_potential_energy()) / len(atoms))
    lines = ["| score | error | Spearman | " + " | ".join(
        f"top {k}: in worst {k} (random) | mean error top {k} / all" for k in ks) + " |",
        "|---|---|---:|" + "---:|---:|" * len(ks)]
    for score, error, what, unit in (
            (result.force_sd, np.array(force_error), "largest atomic force SD",
             "largest atomic force error (eV/Å)"),
            (result.energy_sd, np.array(energy_error), "energy SD per atom",
             "energy error (meV/atom)")):
        cells = [f"{spearmanr(score, error).statistic:.2f}"]
        for k in ks:
            top, worst = np.argsort(-score)[:k], np.argsort(-error)[:k]
            cells += [f"{len(set(top) & set(worst))} ({k * k / len(frames):.1f})",
                      f"{error[top].mean():.4g} / {error.mean():.4g}"]
        lines.append(f"| {what} | {unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import ase.io

    from acefit.potential import Potential

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("potential", help="potential file (.h5) with a committee")
    p.add_argument("--data", required=True, help="labelled configurations (energy, forces)")
    args = p.parse_args(argv)
    frames = ase.io.read(args.data, ":")
    print(f"{len(frames)} configurations of {args.data}, scored by {args.potential}:\n")
    print(ranking_table(Potential.load(args.potential), frames))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
