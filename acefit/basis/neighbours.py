"""Validated neighbour lists from matscipy for any ASE Atoms.

Handles periodic, non-periodic and mixed boundary conditions with any cell:
cell vectors along non-periodic directions are irrelevant to the neighbours, so
they are replaced by long vectors orthogonal to the periodic ones (matscipy needs
an invertible cell); the atoms are translated into that box, and gaps between them
wider than the cutoff along those directions narrowed (matscipy bins the whole box).
Periodic vectors skewed beyond :data:`SKEW_LIMIT` are Minkowski-reduced (the same
lattice: matscipy's time grows steeply with the skew of the cell it is given), and atoms
are wrapped into the cell along them (matscipy lost the pairs of an atom 1e10 Å out,
silently, in 3.5 s). Pair vectors are unchanged by this, up to rounding.
"""

from __future__ import annotations

import numpy as np

__all__ = ["validate_atoms", "neighbour_pairs", "shortest_distance", "shortest_by_pair",
           "stress_volume", "no_stress_reason"]


def validate_atoms(atoms, what="atoms"):
    """Raise ValueError for non-finite positions/cell or a degenerate periodic cell."""
    pos = np.asarray(atoms.positions, dtype=float)
    if not np.all(np.isfinite(pos)):
        bad = np.nonzero(~np.all(np.isfinite(pos), axis=1))[0]
        raise ValueError(f"{what}: non-finite positions for atom indices {bad[:10].tolist()}")
    cell = np.asarray(atoms.cell.array, dtype=float)
    if not np.all(np.isfinite(cell)):
        raise ValueError(f"{what}: the cell has non-finite entries: {cell.tolist()}")
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if pbc.any():
        periodic = cell[pbc]
        if np.linalg.matrix_rank(periodic, tol=1e-8 * max(1.0, np.abs(cell).max())) < len(periodic):
            raise ValueError(f"{what}: zero-volume cell with periodic directions pbc="
                             f"{pbc.tolist()}: the periodic cell vectors {periodic.tolist()} "
                             "are zero or linearly dependent")


def check_distinct_positions(atoms, what="atoms", tol=1e-6):
    """Raise ValueError naming two atoms closer than ``tol`` Å (or an atom and a periodic
    image of another): a structure no potential can evaluate."""
    from itertools import product

    from scipy.spatial import cKDTree

    pos = np.asarray(atoms.positions, dtype=float)
    if len(pos) < 2:
        return
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = _search_cell(np.asarray(atoms.cell.array, dtype=float), pbc, pos, 0.0)
    frac = np.linalg.solve(cell.T, pos.T).T
    # wrapped into the cell along the periodic directions, once as is and, where an atom is
    # within tol of a face, shifted by half a cell: a pair the wrap splits is whole there
    wrapped = np.mod(frac[:, pbc], 1.0)
    gap = np.minimum(wrapped, 1.0 - wrapped) * np.linalg.norm(cell[pbc], axis=1)
    split = pbc.copy()
    split[pbc] = np.any(gap < tol, axis=0)
    for shift in product(*[(0.0, 0.5) if p else (0.0,) for p in split]):
        wrapped = frac.copy()
        wrapped[:, pbc] = np.mod(frac[:, pbc] + np.asarray(shift)[pbc], 1.0)
        pairs = cKDTree(wrapped @ cell).query_pairs(tol, output_type="ndarray")
        if len(pairs):
            i, j = sorted(int(k) for k in pairs[0])
            raise ValueError(f"{what}: atoms {i} and {j} sit on one point "
                             f"({pos[i].round(6).tolist()}"
                             + (", or on periodic images of each other" if pbc.any() else "")
                             + "); allowed: atoms at distinct positions")


def stress_volume(atoms):
    """Cell volume for the stress, or None when stress is undefined (no pbc / zero volume)."""
    if not np.any(atoms.pbc):
        return None
    volume = abs(float(np.linalg.det(atoms.cell.array)))
    return volume if volume > 1e-10 else None


def no_stress_reason(atoms) -> str | None:
    """Why ``atoms`` have no stress (:func:`stress_volume` None), in words; None when they
    have one.

    Parameters
    ----------
    atoms : ase.Atoms

    Returns
    -------
    str or None
        No periodic direction; or a cell without volume: its zero vectors named (a
        slab's or a wire's cell with no vector along a non-periodic direction) with the
        ``atoms.center`` axes that give them one, else the vectors that span no volume.
    """
    if stress_volume(atoms) is not None:
        return None
    pbc = np.asarray(atoms.pbc, bool).tolist()
    if not any(pbc):
        return (f"these atoms have no periodic direction (pbc {pbc}), so no volume to "
                "define a stress by")
    cell = atoms.cell.array
    zero = [i for i in range(3) if not np.any(cell[i])]
    if zero:
        which = " and ".join(f"cell[{i}]" for i in zero)
        axis = zero[0] if len(zero) == 1 else tuple(zero)
        return (f"the cell has no volume: {which} {'is' if len(zero) == 1 else 'are'} zero "
                f"(pbc {pbc}; give each non-periodic direction a cell vector, "
                f"e.g. atoms.center(vacuum=..., axis={axis}))")
    return (f"the cell has no volume: its vectors {np.round(cell, 6).tolist()} lie in one "
            f"plane (pbc {pbc})")


SKEW_LIMIT = 2.0
"""The skew (product of the periodic cell vectors' lengths over the volume they span; 1 for
orthogonal vectors) beyond which the search runs in the Minkowski-reduced cell. matscipy
took as long at 1.73 as at 1 (0.53 ms, 32 Cu atoms), 2.5x that at 3.0 and 20x at 14.2."""


def _reduced_cell(cell, pbc):
    """``cell`` with its periodic vectors Minkowski-reduced (``ase.geometry``) when they are
    skewed beyond :data:`SKEW_LIMIT`: the same lattice, so the same pairs and pair
    vectors, in a cell as close to orthogonal as the lattice allows. matscipy's search
    grows steeply with the skew of the cell it is given: four atoms in a cubic cell with
    tilts of 50 cell lengths took 6 s (20: 0.1 s) against 1 ms unskewed. A cell within the
    limit, or already reduced, is returned as it is, to the last bit (the reduction costs
    20 µs a call, and a reduced cell moves pair vectors by rounding)."""
    periodic = cell[pbc]
    if len(periodic) < 2:
        return cell
    span = np.sqrt(abs(np.linalg.det(periodic @ periodic.T)))
    if np.prod(np.linalg.norm(periodic, axis=1)) <= SKEW_LIMIT * span:
        return cell
    from ase.geometry import minkowski_reduce

    reduced, op = minkowski_reduce(cell, pbc)
    if np.array_equal(op, np.eye(3, dtype=op.dtype)):
        return cell
    return np.asarray(reduced, dtype=float)


def _complement(cell, pbc):
    """Orthonormal rows spanning the directions the periodic cell vectors do not."""
    periodic = cell[pbc]
    if not len(periodic):
        return np.eye(3)
    return np.linalg.svd(periodic)[2][len(periodic):]


def _close_gaps(positions, directions, cutoff):
    """``positions`` with every gap between atoms wider than ``cutoff`` + 1 Å along each of
    ``directions`` (orthonormal, and orthogonal to the periodic cell vectors) narrowed to
    that: the same pairs within ``cutoff``, with the same vectors, and a search box no
    larger than the atoms need (an atom 1e4 Å from a cluster made matscipy bin the space
    between, warn that the cell is large and take seconds)."""
    for u in directions:
        along = positions @ u
        order = np.argsort(along, kind="stable")
        excess = np.maximum(np.diff(along[order]) - (cutoff + 1.0), 0.0)
        if excess.any():        # else unchanged, to the last bit
            shift = np.empty(len(along))
            shift[order] = np.concatenate(([0.0], np.cumsum(excess)))
            positions = positions - np.outer(shift, u)
    return positions


def _search_cell(cell, pbc, positions, cutoff, complement=None):
    """Invertible cell: periodic vectors kept, non-periodic ones along ``complement``
    (:func:`_complement`, computed when not given) and long."""
    if complement is None:
        complement = _complement(cell, pbc)
    # the atoms' span across the periodic directions only: along them an atom may sit many
    # cells away (unwrapped MD), and a box that long binned nothing but empty space
    if not len(complement) or not len(positions):
        return cell.copy()
    extent = np.ptp(positions @ complement.T, axis=0).max()
    length = extent + 2.0 * cutoff + 1.0
    new = cell.copy()
    new[~pbc] = complement * length
    return new


def neighbour_pairs(atoms, cutoff):
    """All pairs (i, j, shift) with |r_j - r_i| < cutoff, sorted by i.

    Parameters
    ----------
    atoms : ase.Atoms
        Validated with :func:`validate_atoms`.
    cutoff : float

    Returns
    -------
    i, j : (P,) int64
    D : (P, 3) float
        r_ij = r_j - r_i (+ lattice shift).
    d : (P,) float
        |r_ij|.
    """
    from matscipy.neighbours import neighbour_list

    pos = np.asarray(atoms.positions, dtype=float)
    n = len(pos)
    if n == 0:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(0))
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = _reduced_cell(np.asarray(atoms.cell.array, dtype=float), pbc)
    complement = _complement(cell, pbc)
    pos = _close_gaps(pos, complement, cutoff)
    cell = _search_cell(cell, pbc, pos, cutoff, complement)
    # move atoms inside the box: along the non-periodic directions all together, along the
    # periodic ones each by whole cells (matscipy drops pairs of an atom 1e10 Å out, below)
    frac = pos @ np.linalg.inv(cell)
    shift = np.where(pbc, -np.floor(frac), 0.5 - frac.mean(axis=0))
    pos = (frac + shift) @ cell
    i, j, D, d = neighbour_list("ijDd", positions=pos, cell=cell, pbc=pbc,
                                cutoff=float(cutoff))
    if not np.all(i[1:] >= i[:-1]):     # matscipy lists them by i: no copies then
        order = np.argsort(i, kind="stable")
        i, j, D, d = i[order], j[order], D[order], d[order]
    return i.astype(np.int64), j.astype(np.int64), np.ascontiguousarray(D), d


def shortest_distance(atoms, cutoff) -> float:
    """The shortest interatomic distance of ``atoms`` below ``cutoff`` (inf when none): a
    search no wider than the question needs (its cost grows with ``cutoff`` cubed)."""
    d = neighbour_pairs(atoms, cutoff)[3]
    return float(d.min()) if len(d) else float("inf")


def shortest_by_pair(atoms, cutoff) -> dict:
    """The shortest interatomic distance of each element pair of ``atoms`` below
    ``cutoff``: ``{(za, zb): Å}`` with atomic numbers za <= zb (pairs none of whose atoms
    are that close left out)."""
    i, j, _, d = neighbour_pairs(atoms, cutoff)
    if not len(d):
        return {}
    z = np.asarray(atoms.numbers)
    code = np.minimum(z[i], z[j]) * 256 + np.maximum(z[i], z[j])   # atomic numbers < 256
    pairs, which = np.unique(code, return_inverse=True)
    low = np.full(len(pairs), np.inf)
    np.minimum.at(low, which, d)
    return {(int(c) // 256, int(c) % 256): float(m) for c, m in zip(pairs, low)}
