"""ACECalculator: ASE protocol, agreement with basis rows, finite differences."""

import ast
import re

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

from acefit import ACEBasis, ACECalculator, Potential


@pytest.fixture(scope="module")
def potential():
    basis = ACEBasis(["Cu", "Au"], order=3, totaldegree=[7, 6, 5], rcut=4.2)
    rng = np.random.default_rng(7)
    c = 0.05 * rng.normal(size=len(basis))
    c[rng.random(len(basis)) < 0.3] = 0.0
    return Potential(basis, c, e0={"Cu": -0.3, "Au": -0.7})


def _alloy(cell="cubic"):
    if cell == "cubic":
        a = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 1, 1))
    else:  # a skewed triclinic cell
        a = bulk("Cu", "fcc", a=3.7).repeat((2, 2, 2))
        a.set_cell(a.cell[:] + [[0, 0.2, 0], [0.1, 0, 0], [0, 0, 0.15]], scale_atoms=True)
    a.numbers[::3] = 79
    a.rattle(0.07, seed=11)
    return a


@pytest.mark.parametrize("cell", ["cubic", "triclinic"])
def test_matches_contracted_basis_rows(potential, cell):
    atoms = _alloy(cell)
    atoms.calc = ACECalculator(potential)
    rows = potential.basis.evaluate(atoms)
    c = potential.coefficients
    e0 = np.where(atoms.numbers == 29, -0.3, -0.7)
    assert atoms.get_potential_energy() == pytest.approx(rows.energy @ c + e0.sum(), rel=1e-12)
    assert atoms.get_potential_energy(force_consistent=True) == atoms.get_potential_energy()
    np.testing.assert_allclose(atoms.get_potential_energies(), rows.site_values @ c + e0,
                               rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), rows.forces @ c, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(atoms.get_stress(), rows.stress @ c, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("pbc", [(True, True, True), (True, True, False), (False, False, False)])
def test_finite_differences(potential, pbc):
    if pbc == (True, True, False):
        atoms = fcc111("Cu", (2, 2, 3), a=3.7, vacuum=4.0)
        atoms.numbers[::4] = 79
    elif pbc == (False, False, False):
        atoms = _alloy()
        atoms.center(vacuum=3.0)
    else:
        atoms = _alloy("triclinic")
    atoms.pbc = pbc
    atoms.rattle(0.05, seed=2)
    atoms.calc = ACECalculator(potential)
    f_num = calculate_numerical_forces(atoms, eps=1e-5)
    np.testing.assert_allclose(atoms.get_forces(), f_num, atol=2e-7)
    if any(pbc):  # slabs too: homogeneous strain of the whole cell, vacuum included
        s_num = calculate_numerical_stress(atoms, eps=1e-6)
        np.testing.assert_allclose(atoms.get_stress(), s_num, atol=2e-8)
    else:   # in words, where ASE's would be 'stress not present in this calculation'
        with pytest.raises(PropertyNotImplementedError, match="stress: these atoms have no "
                                                              "periodic direction"):
            atoms.get_stress()
        assert np.isfinite(atoms.get_potential_energy())


@pytest.mark.parametrize("case, says", [
    ("cluster", r"stress: these atoms have no periodic direction \(pbc \[False, False, False\]\)"),
    ("slab without cell[2]", r"stress: the cell has no volume: cell\[2\] is zero \(pbc "
                             r"\[True, True, False\]; give each non-periodic direction a cell "
                             r"vector, e\.g\. atoms\.center\(vacuum=\.\.\., axis=2\)\)"),
    ("slab without cell[0]", r"cell\[0\] is zero \(pbc \[False, True, True\]; .* axis=0\)\)"),
    ("wire", r"cell\[0\] and cell\[1\] are zero \(pbc \[False, False, True\]; "
             r".* axis=\(0, 1\)\)\)"),
    ("flat cell", r"stress: the cell has no volume: its vectors .* lie in one plane"),
], ids=["cluster", "slab", "x-slab", "wire", "flat"])
def test_no_stress_says_why(potential, case, says):
    """A slab periodic in x and y whose third cell vector is zero has periodic
    directions: the error names the zero vector, not a missing periodic direction, and the
    ``atoms.center`` it suggests gives the atoms a stress."""
    atoms = fcc111("Cu", (2, 2, 2), a=3.7)            # cell[2] = 0, pbc (T, T, F)
    if case == "cluster":
        atoms.pbc = False
    elif case == "flat cell":
        atoms.cell[2] = atoms.cell[0] + atoms.cell[1]
    elif case == "slab without cell[0]":            # the same slab, its normal along x
        atoms = Atoms(atoms.numbers, positions=atoms.positions[:, [2, 0, 1]],
                      cell=atoms.cell.array[[2, 0, 1]][:, [2, 0, 1]], pbc=[False, True, True])
    elif case == "wire":
        atoms = Atoms("Cu3", positions=[[0, 0, 0], [0, 0, 2.5], [0, 0, 5.0]],
                      cell=[[0, 0, 0], [0, 0, 0], [0, 0, 7.5]], pbc=[False, False, True])
    atoms.calc = ACECalculator(potential)
    assert np.isfinite(atoms.get_potential_energy())
    with pytest.raises(PropertyNotImplementedError, match=says) as refused:
        atoms.get_stress()
    suggested = re.search(r"axis=(\d|\(\d, \d\))", str(refused.value))
    if suggested:
        atoms.center(vacuum=5.0, axis=ast.literal_eval(suggested.group(1)))
        assert np.all(np.isfinite(atoms.get_stress()))


def test_energy_invariant_and_extensive(potential):
    atoms = _alloy()
    atoms.calc = ACECalculator(potential)
    e = atoms.get_potential_energy()
    big = atoms.repeat((1, 2, 2))
    big.calc = ACECalculator(potential)
    assert big.get_potential_energy() == pytest.approx(4 * e, rel=1e-11)
    rot = atoms.copy()
    rot.rotate(37, (1, 2, 3), rotate_cell=True)
    rot.calc = ACECalculator(potential)
    assert rot.get_potential_energy() == pytest.approx(e, rel=1e-11)


def test_from_path_and_errors(tmp_path, potential):
    path = potential.save(tmp_path / "m.h5")
    calc = ACECalculator(path)
    assert set(calc.implemented_properties) == {"energy", "free_energy", "forces", "stress",
                                                "energies"}
    atoms = _alloy()
    assert calc.get_potential_energy(atoms) == pytest.approx(
        ACECalculator(potential).get_potential_energy(atoms), rel=1e-14)
    with pytest.raises(ValueError, match=r"\['Ni'\]"):
        calc.get_potential_energy(Atoms("Ni2", positions=[[0, 0, 0], [2, 0, 0]]))
    for bad in (42, potential.basis):
        with pytest.raises(ValueError, match="acefit.Potential"):
            ACECalculator(bad)


def test_thread_setting_does_not_change_results(potential):
    atoms = _alloy()
    e = [ACECalculator(potential, num_threads=n).get_forces(atoms) for n in (1, 2, None)]
    np.testing.assert_allclose(e[0], e[1], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(e[0], e[2], rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="num_threads"):
        ACECalculator(potential, num_threads=0)


def test_used_calculator_pickles_and_deep_copies(potential):
    # multiprocessing, Dask and copy.deepcopy(atoms) pickle the calculator after use
    import copy
    import pickle

    atoms = _alloy()
    atoms.calc = ACECalculator(potential, num_threads=1)
    forces = atoms.get_forces()
    for clone in (pickle.loads(pickle.dumps(atoms)), copy.deepcopy(atoms)):
        assert clone.calc is not atoms.calc
        clone.calc.reset()
        np.testing.assert_array_equal(clone.get_forces(), forces)
        assert clone.calc.num_threads == 1


def test_cells_smaller_than_the_cutoff(potential):
    """A 1-atom fcc cell (2.5 Å vectors, rcut 4.2 Å: the atom sees its own images) is
    one n-th of its supercells in energy, with the same stress and no forces; so is a
    3-atom wire of period 2.5 Å. With the core repulsion on, self-image pairs inside it
    count as other pairs do."""
    from acefit.repulsion import ZBL

    squeezed = Potential(potential.basis, potential.coefficients, e0=potential.e0,
                         repulsion=ZBL(1.0, 2.0), prune=False)
    wire = Atoms("CuAuCu", positions=[[0, 0, 0], [1.3, 1.5, 0.2], [0.2, 2.6, 1.4]],
                 cell=[2.5, 8.0, 8.0], pbc=[True, False, False])
    for model, small in ((potential, bulk("Cu", "fcc", a=3.6)),
                         (squeezed, bulk("Cu", "fcc", a=2.6)),     # neighbours at 1.84 Å
                         (potential, wire)):
        small.calc = ACECalculator(model)
        reps = (2, 3, 1) if small.pbc.all() else (3, 1, 1)
        big = small.repeat(reps)
        big.calc = ACECalculator(model)
        n = len(big) // len(small)
        assert big.get_potential_energy() == pytest.approx(n * small.get_potential_energy(),
                                                           rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(big.get_stress(), small.get_stress(), rtol=0, atol=1e-14)
        np.testing.assert_allclose(big.get_forces(), np.tile(small.get_forces(), (n, 1)),
                                   rtol=0, atol=1e-13)
    strained = bulk("Cu", "fcc", a=3.6)
    strained.set_cell(strained.cell[:] @ (np.eye(3) + [[0.02, 0.01, 0], [0, -0.01, 0.03],
                                                       [0, 0, 0.01]]), scale_atoms=True)
    strained.calc = ACECalculator(potential)
    np.testing.assert_allclose(strained.get_stress(),
                               calculate_numerical_stress(strained, eps=1e-6), atol=2e-8)


def test_atoms_at_and_beyond_the_cutoff(potential):
    """Atoms farther apart than the cutoff feel nothing: the energy is the sum of E0,
    forces are zero; at the cutoff the pair term has gone to zero with its slope."""
    e0 = potential.e0["Cu"] + potential.e0["Au"]
    for r, pbc in ((10.0, False), (10.0, True), (4.2, False), (4.2 + 1e-12, False)):
        dimer = Atoms("CuAu", positions=[[0, 0, 0], [r, 0, 0]], cell=[20, 20, 20], pbc=pbc)
        dimer.calc = ACECalculator(potential)
        assert dimer.get_potential_energy() == e0
        np.testing.assert_array_equal(dimer.get_forces(), 0.0)
        np.testing.assert_array_equal(dimer.get_potential_energies(), [-0.3, -0.7])
    single = Atoms("Au", cell=[5, 5, 5], pbc=True)
    single.calc = ACECalculator(potential)
    assert single.get_potential_energy() == -0.7
    np.testing.assert_array_equal(single.get_stress(), 0.0)
    inside = Atoms("CuAu", positions=[[0, 0, 0], [4.2 - 1e-6, 0, 0]])
    inside.calc = ACECalculator(potential)
    assert abs(inside.get_potential_energy() - e0) < 1e-12
    assert np.abs(inside.get_forces()).max() < 1e-6


def test_a_reused_calculator_follows_every_change(potential):
    """One calculator on atoms whose positions, cell, pbc or elements change between
    calls recomputes each time: it gives what a fresh calculator gives."""
    atoms = _alloy()
    atoms.calc = calc = ACECalculator(potential)

    def fresh():
        return ACECalculator(potential).get_potential_energy(atoms.copy())

    first = atoms.get_potential_energy()
    changes = [lambda: atoms.positions.__setitem__((0, 0), atoms.positions[0, 0] + 0.1),
               lambda: atoms.set_cell(atoms.cell * 1.02),
               lambda: atoms.set_pbc([True, True, False]),
               lambda: atoms.numbers.__setitem__(1, 79 if atoms.numbers[1] == 29 else 29)]
    for change in changes:
        before = atoms.get_potential_energy()
        change()
        assert atoms.get_potential_energy() != before
        assert atoms.get_potential_energy() == fresh()
    assert calc.get_property("energies").sum() == pytest.approx(calc.get_property("energy"),
                                                                 rel=1e-14)
    assert atoms.get_potential_energy() != first
    atoms.positions[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite positions for atom indices \[2\]"):
        atoms.get_forces()


def test_evaluate_and_query_run_with_the_calculators_threads(potential, monkeypatch):
    """`acefit evaluate` (its timing and the committee's calibration) and `acefit query`
    evaluate the model with the OpenMP threads the calculator uses in MD, whatever the
    process allows: otherwise evaluate's ms/atom is not what MD costs."""
    from threadpoolctl import threadpool_limits

    from acefit.basis import angular
    from acefit.data import LabelledConfig
    from acefit.evaluate import evaluate
    from acefit.query import query

    if angular._omp_max_threads_function() is None:
        pytest.skip("no OpenMP runtime that threadpoolctl finds")
    rng = np.random.default_rng(3)
    committee = potential.coefficients + 0.01 * rng.normal(size=(4, len(potential.basis)))
    pot = Potential(potential.basis, potential.coefficients, e0=potential.e0,
                    committee=committee * (potential.coefficients != 0))
    seen = []

    def recording(method):
        def wrapped(*args, **kwargs):
            seen.append(angular._omp_threads())
            return method(*args, **kwargs)
        return wrapped

    for name in ("energy_forces_stress", "committee_spread"):
        monkeypatch.setattr(Potential, name, recording(getattr(Potential, name)))
    atoms = _alloy()
    config = LabelledConfig(atoms, energy=0.0, forces=np.zeros((len(atoms), 3)))
    with threadpool_limits(limits=2, user_api="openmp"):
        assert angular._omp_threads() == 2
        evaluate([pot], [config], resamples=10)
        query(pot, [atoms], n=1)
        assert angular._omp_threads() == 2            # the limit ends with them
    assert len(seen) >= 4 and set(seen) == {angular.EVALUATION_THREADS}
