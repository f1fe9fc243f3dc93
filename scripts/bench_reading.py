"""Time reading labelled and unlabelled frames, plain and compressed (docs/benchmarks.md).

Writes ``--frames`` rattled 32-atom Cu cells with random labels as extended XYZ and as a
LAMMPS text dump, each plain and gzipped, into a temporary folder, then times acefit's
readers (``read_configurations`` for the labelled file, ``read_structures`` for the
dump, as ``acefit query`` reads a pool) against ASE's ``ase.io.read`` of the same file,
side by side in one run::

    python scripts/bench_reading.py --frames 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path

import ase.io
import numpy as np
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from acefit.data import read_configurations, read_structures


def write_files(folder: Path, n_frames: int) -> dict:
    """{name: path} of the four files."""
    rng = np.random.default_rng(0)
    base = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    frames = []
    for k in range(n_frames):
        atoms = base.copy()
        atoms.rattle(0.05, seed=k)
        atoms.calc = SinglePointCalculator(atoms, energy=float(rng.normal()),
                                           forces=rng.normal(size=(len(atoms), 3)),
                                           stress=rng.normal(size=6))
        frames.append(atoms)
    files = {"extxyz": folder / "frames.xyz", "dump": folder / "frames.dump"}
    ase.io.write(files["extxyz"], frames, format="extxyz")
    with open(files["dump"], "w") as dump:      # ASE writes no LAMMPS dumps
        for k, atoms in enumerate(frames):
            lengths = atoms.cell.lengths()
            dump.write(f"ITEM: TIMESTEP\n{k}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n"
                       "ITEM: BOX BOUNDS pp pp pp\n"
                       + "".join(f"0.0 {x:.6f}\n" for x in lengths)
                       + "ITEM: ATOMS id type x y z\n"
                       + "".join(f"{i + 1} 1 {x:.6f} {y:.6f} {z:.6f}\n"
                                 for i, (x, y, z) in enumerate(atoms.positions)))
    for name in list(files):
        packed = files[name].with_name(files[name].name + ".gz")
        with open(files[name], "rb") as src, gzip.open(packed, "wb") as dst:
            shutil.copyfileobj(src, dst)
        files[name + ".gz"] = packed
    return files


def best(fn, repeat: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = len(fn())
        times.append(time.perf_counter() - t)
    return min(times), n


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), args.frames)
        print(f"{args.frames} frames of 32 atoms; seconds, acefit best of {args.repeat}, "
              "ase.io.read once\n")
        print("| file | MB | acefit | ase.io.read | ase / acefit |")
        print("|---|---:|---:|---:|---:|")
        for name, path in files.items():
            dump = name.startswith("dump")
            ours, n = best((lambda: read_structures(path, species=["Cu"])) if dump else
                           (lambda: read_configurations([path])), args.repeat)
            options = {"format": "lammps-dump-text", "specorder": ["Cu"]} if dump else {}
            theirs, m = best(lambda: ase.io.read(path, ":", **options), 1)
            assert n == m == args.frames
            size = path.stat().st_size / 2**20
            print(f"| {name} | {size:.1f} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f} |")


if __name__ == "__main__":
    main()
