"""LAMMPS pair commands for an exported ``.yace``: the file a LAMMPS input ``include``s.

Without a core repulsion the model is ``pair_style pace`` alone. With one, the fitted
part and the repulsion run side by side, as the fit saw them:

    pair_style hybrid/overlay pace zbl INNER OUTER
    pair_coeff * * pace potential.yace Cu Au
    pair_coeff 1 1 zbl 29 29
    ...

LAMMPS' ``pair_style zbl`` is the very function of :mod:`acefit.repulsion`
(``scripts/check_zbl_lammps.py`` compares them).
"""

from __future__ import annotations

from pathlib import Path

from ase.data import atomic_numbers

from acefit.atomic import write_text

__all__ = ["pair_commands", "pair_commands_path", "check_pair_commands_path",
           "write_pair_commands", "UNITS_NOTE"]

_HEAD = "# LAMMPS pair commands for "     # how a file of ours begins

UNITS_NOTE = ("Units: eV and Å; the LAMMPS input needs `units metal` (current ML-PACE "
              "stops otherwise; an older one would read them in the input's units).")
"""The comment line of the ``.lammps`` and ``.yace`` files on their units."""


def pair_commands(potential, yace_file) -> str:
    """The ``pair_style``/``pair_coeff`` lines of ``potential`` exported as ``yace_file``.

    Atom types 1, 2, ... are the potential's elements in order; ``yace_file`` is written
    as given (LAMMPS resolves a relative path against its working directory).
    """
    elements = list(potential.elements)
    symbols = " ".join(elements)
    yace_file = str(yace_file)
    if any(c.isspace() for c in yace_file):
        yace_file = f'"{yace_file}"'  # LAMMPS takes a quoted word whole
    head = [f"{_HEAD}{Path(yace_file).name} (written by acefit); "
            "`include` this file after the box is defined.",
            f"# Atom types 1-{len(elements)} must be {symbols}, in this order; the .yace path "
            "is relative to where LAMMPS runs.",
            f"# {UNITS_NOTE}"]
    repulsion = potential.repulsion
    if repulsion is None:
        return "\n".join(head + ["pair_style pace", f"pair_coeff * * {yace_file} {symbols}"]) + "\n"
    if repulsion.kind != "zbl":
        raise ValueError(f"no LAMMPS pair style for core repulsion {repulsion.kind!r}")
    lines = head + [f"pair_style hybrid/overlay pace zbl {repulsion.inner:.10g} "
                    f"{repulsion.outer:.10g}",
                    f"pair_coeff * * pace {yace_file} {symbols}"]
    zs = [atomic_numbers[e] for e in elements]
    for a in range(len(zs)):
        for b in range(a, len(zs)):
            lines.append(f"pair_coeff {a + 1} {b + 1} zbl {zs[a]} {zs[b]}")
    return "\n".join(lines) + "\n"


def pair_commands_path(yace_path) -> Path:
    """Where :func:`write_pair_commands` puts the commands of ``yace_path``: ``<stem>.lammps``."""
    return Path(yace_path).with_suffix(".lammps")


def check_pair_commands_path(yace_path, advice="move it away, or export to another name"):
    """:func:`pair_commands_path` of ``yace_path``, unless a file there that acefit did not
    write (a LAMMPS input of the user's own, named like the potential) would be replaced:
    FileExistsError naming it, with ``advice`` (what the caller can do about it)."""
    yace_path = Path(yace_path)
    target = pair_commands_path(yace_path)
    if target.is_file():
        with open(target, encoding="utf-8", errors="replace") as f:
            ours = f.read(len(_HEAD)) == _HEAD
        if not ours:
            raise FileExistsError(
                f"{target} exists and acefit did not write it (the pair commands of "
                f"{yace_path.name} go there); {advice}")
    return target


def write_pair_commands(potential, yace_path) -> Path:
    """Write :func:`pair_commands` beside ``yace_path`` (:func:`pair_commands_path`).

    A file there that acefit did not write is never replaced
    (:func:`check_pair_commands_path`: FileExistsError)."""
    target = check_pair_commands_path(yace_path)
    return write_text(target, pair_commands(potential, Path(yace_path).name))
