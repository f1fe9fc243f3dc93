"""Neighbour pairs from matscipy agree with ASE's neighbour list for any cell and pbc."""

import itertools

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

from acefit.basis.neighbours import (check_distinct_positions, neighbour_pairs,
                                     stress_volume, validate_atoms)


def _canonical(i, j, D):
    keys = np.round(np.column_stack([i, j, D]), 8)
    return keys[np.lexsort(keys.T[::-1])]


@pytest.mark.parametrize("pbc", list(itertools.product([False, True], repeat=3)))
def test_pairs_match_ase_for_triclinic_cells(pbc):
    rng = np.random.default_rng(sum(pbc))
    cell = np.array([[4.0, 0.3, -0.2], [0.5, 3.6, 0.4], [-0.3, 0.6, 4.4]])
    atoms = Atoms("Cu5", positions=rng.uniform(0, 4, (5, 3)), cell=cell, pbc=pbc)
    i, j, D, d = neighbour_pairs(atoms, 5.0)
    assert np.all(np.diff(i) >= 0)
    np.testing.assert_allclose(d, np.linalg.norm(D, axis=1))
    ri, rj, rD = neighbor_list("ijD", atoms, 5.0)
    np.testing.assert_array_equal(_canonical(i, j, D), _canonical(ri, rj, rD))


def test_non_periodic_without_cell_and_far_atoms():
    atoms = Atoms("Cu3", positions=[[0, 0, 0], [2, 0, 0], [100, 50, -30]])
    i, j, D, _ = neighbour_pairs(atoms, 3.0)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (1, 0)]
    assert stress_volume(atoms) is None


@pytest.mark.parametrize("pbc, far", [
    ((False, False, False), [1e4, 0.0, 0.0]), ((False, False, False), [1e6, -1e6, 3e5]),
    ((True, True, False), [1.0, 2.0, 1e6]), ((True, False, False), [0.5, -1e5, 1e5]),
    # far along a periodic direction (found by review: the box across it grew that long)
    ((False, False, True), [0.0, 0.0, 1e5]), ((True, False, False), [1e5, 0.5, 0.5]),
])
def test_an_atom_far_from_the_others_is_searched_quietly(pbc, far):
    """Found by fuzzing: an atom 1e4 Å from a cluster made matscipy bin the space between,
    warn "Ratio of simulation cell size to cutoff is very large" and take 5 s."""
    import warnings

    rng = np.random.default_rng(1)
    near = Atoms("Cu6", positions=rng.uniform(0, 4, (6, 3)), cell=np.diag([4.0, 4.5, 5.0]),
                 pbc=pbc)
    atoms = near + Atoms("Au2", positions=[far, np.add(far, [0.0, 2.4, 0.0])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        i, j, D, d = neighbour_pairs(atoms, 5.0)
    ri, rj, rD = neighbor_list("ijD", atoms, 5.0)
    np.testing.assert_array_equal(_canonical(i, j, D), _canonical(ri, rj, rD))
    assert {(6, 7), (7, 6)} <= set(zip(i.tolist(), j.tolist()))     # the far pair too


def test_validation_messages():
    with pytest.raises(ValueError, match="non-finite positions for atom indices \\[1\\]"):
        validate_atoms(Atoms("Cu2", positions=[[0, 0, 0], [np.inf, 0, 0]]))
    with pytest.raises(ValueError, match="zero-volume cell"):
        validate_atoms(Atoms("Cu", cell=[[1, 0, 0], [2, 0, 0], [0, 0, 3]], pbc=True))
    with pytest.raises(ValueError, match="cell has non-finite"):
        validate_atoms(Atoms("Cu", cell=[[np.nan, 0, 0], [0, 1, 0], [0, 0, 1]]))
    # a periodic slab with no third vector is valid; its stress is undefined
    slab = Atoms("Cu", cell=[[2.5, 0, 0], [0, 2.5, 0], [0, 0, 0]], pbc=[True, True, False])
    validate_atoms(slab)
    assert stress_volume(slab) is None


def test_distinct_positions_across_periodic_images_only_where_periodic():
    cell = [[3.0, 0, 0], [0.5, 3.0, 0], [0, 0, 4.0]]
    # atom 1 is atom 0 moved by a cell vector, less a rounding error: one point
    atoms = Atoms("Cu3", cell=cell, pbc=True,
                  positions=[[0, 0, 0], [3.5 - 1e-12, 3.0, 0], [1.5, 1.5, 2.0]])
    with pytest.raises(ValueError, match=r"where: atoms 0 and 1 sit on one point .*periodic "
                                         r"images"):
        check_distinct_positions(atoms, "where")
    atoms.pbc = [False, True, True]     # not periodic along a: 3 Å apart
    check_distinct_positions(atoms)
    slab = Atoms("Cu2", cell=[[2.5, 0, 0], [0, 2.5, 0], [0, 0, 0]], pbc=[True, True, False],
                 positions=[[0, 0, 1], [2.5, 0, 1]])
    with pytest.raises(ValueError, match="atoms 0 and 1"):
        check_distinct_positions(slab)
    slab.positions[1, 2] += 1e-4        # 0.1 mÅ apart is allowed: the basis evaluates it
    check_distinct_positions(slab)
    with pytest.raises(ValueError, match="atoms 1 and 2 sit on one point \\(\\[1.0, 2.0, 3.0\\]\\); "):
        check_distinct_positions(Atoms("Cu3", positions=[[0, 0, 0], [1, 2, 3], [1, 2, 3]]))
    check_distinct_positions(Atoms("Cu"))


def test_close_atoms_are_found_across_grid_lines_and_cell_faces():
    """Found in review: rounding to a grid split a pair 5e-9 Å apart across a grid line."""
    from ase.build import bulk

    cases = [([1.0000005, 0.5, 0.5], [5e-9, 0, 0]),           # across a 1e-6 Å grid line
             ([0.0, 0.3, 0.3], [3.6 - 1e-9, 0, 0]),           # across a face: an image
             ([0.0, 0.0, 0.0], [3.6, 3.6, 3.6 - 2e-7])]       # across three faces
    for at, offset in cases:
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.positions[1] = at
        atoms.positions[0] = np.add(at, offset)
        with pytest.raises(ValueError, match="atoms 0 and 1 sit on one point"):
            check_distinct_positions(atoms)
        atoms.positions[0] = np.add(at, [0.01, 0, 0])          # 0.01 Å apart: allowed
        check_distinct_positions(atoms)


def test_the_search_box_spans_the_atoms_across_the_periodic_directions_only():
    """Found by review (session 26): an atom 1e5 Å along a periodic direction made the box
    1e5 Å wide across it too (3.8 s a search, and at 3e5 Å no memory for the bins)."""
    from acefit.basis.neighbours import _search_cell

    cell = np.diag([4.0, 4.5, 5.0])
    positions = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0.5, 0.5, 1e5]])
    box = _search_cell(cell, np.array([False, False, True]), positions, 5.0)
    assert np.allclose(box[2], cell[2])                          # the periodic vector kept
    assert np.linalg.norm(box[:2], axis=1).max() <= 2.0 + 2 * 5.0 + 1.0 + 1e-9


def test_a_strongly_skewed_cell_is_searched_as_its_reduced_lattice():
    """Found in session 29: matscipy's time grows steeply with the skew of the cell it is
    given; four atoms in a cubic cell with c tilted by 50 lengths along a and b took 6 s
    (1 ms unskewed), tilted by 200 over 10 minutes. The same lattice, reduced, gives the
    same pairs."""
    import time

    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.7, cubic=True)
    atoms.rattle(0.05, seed=3)
    want = _canonical(*neighbour_pairs(atoms, 4.2)[:3])
    a, b, c = atoms.cell[:]
    atoms.set_cell([a, b + 60 * a, c + 60 * (a + b)], scale_atoms=False)
    start = time.perf_counter()
    i, j, D, _ = neighbour_pairs(atoms, 4.2)
    assert time.perf_counter() - start < 1.0        # 10 s and more unreduced
    np.testing.assert_array_equal(_canonical(i, j, D), want)


def test_a_cell_skewed_within_the_limit_is_searched_as_given():
    """The reduction moves pair vectors by rounding and costs 20 µs a call, where matscipy
    is as fast as for an orthogonal cell: fcc primitive cells, tilts up to one length."""
    from ase.build import bulk

    from acefit.basis.neighbours import SKEW_LIMIT, _reduced_cell

    pbc = np.array([True, True, True])
    cubic = bulk("Cu", "fcc", a=3.7, cubic=True).cell.array
    for cell in (bulk("Cu", "fcc", a=3.7).cell.array, cubic + [[0, 0, 0], [0, 0, 0],
                                                              [3.7, 3.7, 0]]):
        assert _reduced_cell(cell, pbc) is cell
    tilted = cubic + [[0, 0, 0], [0, 0, 0], [7.4, 7.4, 0]]      # skew 3.0
    assert np.prod(np.linalg.norm(tilted, axis=1)) > SKEW_LIMIT * np.linalg.det(tilted)
    reduced = _reduced_cell(tilted, pbc)
    np.testing.assert_allclose(np.abs(np.linalg.det(reduced)), np.linalg.det(tilted))
    assert np.linalg.norm(reduced, axis=1).max() < np.linalg.norm(tilted, axis=1).max()
    slab = cubic + [[0, 0, 0], [37.0, 0, 0], [0, 0, 0]]          # skewed in its periodic plane
    assert _reduced_cell(slab, np.array([True, True, False])) is not slab
    assert _reduced_cell(slab, np.array([True, False, False])) is slab


def test_an_atom_far_out_along_a_periodic_direction_keeps_its_neighbours():
    """Found in session 29: an atom 1e10 Å out along a periodic direction (an unwrapped
    trajectory gone wrong) lost its pairs in matscipy, silently (72 of 168 pairs; 1.8 eV
    off for a 4-atom cell) and in 3.5 s; atoms are now wrapped into the cell first."""
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.rattle(0.05, seed=1)
    i0, _, _, d0 = neighbour_pairs(atoms, 5.0)
    for cells in (10**3, 2.7e9, -10**12):       # 3.6e3, 9.7e9 and -3.6e12 Å out
        far = atoms.copy()
        far.positions[0] += cells * far.cell[0]
        i, _, _, d = neighbour_pairs(far, 5.0)
        np.testing.assert_array_equal(np.bincount(i, minlength=4), np.bincount(i0))
        # the same distances, to the precision the far coordinate has
        precision = np.spacing(abs(far.positions[0, 0]))
        np.testing.assert_allclose(np.sort(d), np.sort(d0), rtol=0, atol=4 * precision)


def test_shortest_distance_counts_periodic_images_and_searches_no_further():
    from ase.build import bulk

    from acefit.basis.neighbours import shortest_distance

    one = bulk("Cu", "fcc", a=3.61)                 # one atom: its images are neighbours
    assert shortest_distance(one, 3.0) == pytest.approx(3.61 / np.sqrt(2))
    assert shortest_distance(one, 2.5) == np.inf    # none below the cutoff
    dimer = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 0.3]])    # no cell
    assert shortest_distance(dimer, 1.0) == pytest.approx(0.3)
