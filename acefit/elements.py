"""Chemical elements as the user names them: symbols ('Mo') or atomic numbers (42)."""

from __future__ import annotations

from numbers import Integral

from ase.data import atomic_numbers, chemical_symbols

__all__ = ["atomic_number", "pair_name"]


def atomic_number(e) -> int:
    """The atomic number of a chemical symbol or atomic number; ValueError otherwise."""
    if isinstance(e, str):
        if e not in atomic_numbers:
            raise ValueError(f"unknown element symbol {e!r}")
        return atomic_numbers[e]
    if isinstance(e, Integral) and 0 < int(e) < len(chemical_symbols):
        return int(e)
    raise ValueError(f"unknown element {e!r}: give a symbol such as 'Mo' or an atomic number")


def pair_name(a, b) -> str:
    """The name of an element pair as the config keys it (``basis.rcut: {Cu-Au: ...}``)
    and the reports show it: "Cu-Au", the two symbols in the order given (an atomic
    number is named by its symbol)."""
    return "-".join(e if isinstance(e, str) else chemical_symbols[atomic_number(e)]
                    for e in (a, b))
