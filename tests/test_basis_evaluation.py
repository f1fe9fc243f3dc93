"""ACEBasis evaluation: symmetry, derivatives, cutoff, independence, I/O, bad input."""

import json

import numpy as np
import pytest
import yaml
from ase import Atoms
from ase.build import bulk
from scipy.spatial.transform import Rotation

from acefit.basis import ACEBasis, BasisFunction


@pytest.fixture(scope="module")
def mo_basis():
    return ACEBasis(["Mo"], order=3, totaldegree=[8, 7, 6], rcut=5.0, pair_degree=3)


@pytest.fixture(scope="module")
def cuau_basis():
    return ACEBasis(["Cu", "Au"], order=3, totaldegree=[6, 6, 5], rcut={"default": 4.8,
                    ("Cu", "Cu"): 4.5}, pair_degree=2)


@pytest.fixture(scope="module")
def cuau_pure2b():
    return ACEBasis(["Cu", "Au"], order=4, totaldegree=[6, 6, 5, 5], rcut={"default": 4.8,
                    ("Cu", "Cu"): 4.5}, pair_degree=2, envelope="x", pure2b=True)


def _basis(which, mo_basis, cuau_basis, cuau_pure2b):
    return {"mo": mo_basis, "cuau": cuau_basis, "cuau_pure2b": cuau_pure2b}[which]


def _mo(seed=0, rep=(1, 1, 2)):
    atoms = bulk("Mo", "bcc", 3.15, cubic=True).repeat(rep)
    atoms.rattle(0.15, seed=seed)
    return atoms


def _cuau(seed=0):
    atoms = bulk("Cu", "fcc", 3.8, cubic=True)
    atoms.symbols[[1, 2]] = "Au"
    atoms = atoms.repeat((1, 1, 2))
    atoms.rattle(0.12, seed=seed)
    return atoms


def _cluster(symbols, seed):
    rng = np.random.default_rng(seed)
    atoms = Atoms(symbols)
    atoms.positions = rng.uniform(-2.5, 2.5, (len(atoms), 3))
    return atoms


def _close(a, b, rel=1e-10):
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-300)
    np.testing.assert_allclose(a, b, rtol=0, atol=rel * scale)


@pytest.mark.parametrize("which", ["mo", "cuau", "cuau_pure2b"])
def test_invariance_rotation_reflection_translation_permutation(which, mo_basis, cuau_basis,
                                                                cuau_pure2b):
    basis = _basis(which, mo_basis, cuau_basis, cuau_pure2b)
    atoms = _mo() if which == "mo" else _cuau()
    ref = basis.evaluate(atoms)
    rng = np.random.default_rng(1)
    for reflect in (False, True):
        Q = Rotation.random(random_state=2).as_matrix()
        if reflect:
            Q = Q @ np.diag([1.0, 1.0, -1.0])
        moved = atoms.copy()
        moved.set_cell(atoms.cell.array @ Q.T, scale_atoms=False)
        moved.positions = atoms.positions @ Q.T + rng.normal(size=3) * 3
        out = basis.evaluate(moved)
        _close(out.site_values, ref.site_values)
        _close(out.energy, ref.energy)
        _close(out.forces, np.einsum("ab,nbk->nak", Q, ref.forces))
        # stress is a rank-2 tensor: compare rotated full tensors
        def full(s):
            v = s.T
            return np.stack([[v[:, 0], v[:, 5], v[:, 4]], [v[:, 5], v[:, 1], v[:, 3]],
                             [v[:, 4], v[:, 3], v[:, 2]]])
        _close(full(out.stress), np.einsum("ab,bck,dc->adk", Q, full(ref.stress), Q))
    perm = rng.permutation(len(atoms))
    out = basis.evaluate(atoms[perm])
    _close(out.site_values, ref.site_values[perm])
    _close(out.forces, ref.forces[perm])
    _close(out.stress, ref.stress)


def _energy(basis, atoms):
    return basis.site_values(atoms).sum(axis=0)


@pytest.mark.parametrize("which", ["mo", "cuau", "cuau_pure2b"])
def test_forces_and_stress_match_finite_differences(which, mo_basis, cuau_basis, cuau_pure2b):
    basis = _basis(which, mo_basis, cuau_basis, cuau_pure2b)
    atoms = _mo(3, (1, 1, 1)) if which == "mo" else _cuau(3)
    out = basis.evaluate(atoms)
    h = 1e-5
    scale = np.abs(out.forces).max()
    for i, c in [(0, 0), (1, 1), (len(atoms) - 1, 2)]:
        ap, am = atoms.copy(), atoms.copy()
        ap.positions[i, c] += h
        am.positions[i, c] -= h
        fd = -(_energy(basis, ap) - _energy(basis, am)) / (2 * h)
        np.testing.assert_allclose(out.forces[i, c], fd, atol=1e-7 * scale)
    volume = atoms.get_volume()
    pairs = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    sscale = np.abs(out.stress).max()
    for k, (a, b) in enumerate(pairs):
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h / (1 if a == b else 2)
        ap, am = atoms.copy(), atoms.copy()
        ap.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
        am.set_cell(atoms.cell.array @ (np.eye(3) - eps), scale_atoms=True)
        fd = (_energy(basis, ap) - _energy(basis, am)) / (2 * h * volume)
        np.testing.assert_allclose(out.stress[k], fd, atol=1e-7 * sscale)


def test_pure2b_removes_exactly_the_one_neighbour_terms(cuau_pure2b):
    """B_pure(i) = B(i) - sum_j B({r_ij}), checked against the plain basis evaluated
    on every one-neighbour environment separately."""
    from matscipy.neighbours import neighbour_list

    d = cuau_pure2b.to_dict()
    del d["pure2b"]
    d["radial"].pop("diagonal")
    plain = ACEBasis.from_dict(d)
    assert not plain.pure2b and plain.functions == cuau_pure2b.functions
    atoms = _cuau(5)
    i, j, D = neighbour_list("ijD", atoms, cuau_pure2b.rcut)
    one_neighbour = np.zeros((len(atoms), len(plain)))
    for a, b, v in zip(i, j, D):
        dimer = Atoms(numbers=[atoms.numbers[a], atoms.numbers[b]], positions=[[0, 0, 0], v])
        one_neighbour[a] += plain.site_values(dimer)[0]
    expected = plain.site_values(atoms)
    many = np.array([f.kind == "ace" and f.order >= 2 for f in plain.functions])
    expected[:, many] -= one_neighbour[:, many]
    _close(cuau_pure2b.site_values(atoms), expected, rel=1e-12)
    # a lone pair: every many-body function of order >= 2 vanishes, the rest are unchanged
    dimer = Atoms("CuAu", positions=[[0, 0, 0], [0.4, 1.2, 1.9]])
    pure, ref = cuau_pure2b.site_values(dimer), plain.site_values(dimer)
    assert np.abs(pure[:, many]).max() < 1e-14 * np.abs(ref[:, many]).max()
    np.testing.assert_array_equal(pure[:, ~many], ref[:, ~many])


def test_pure2b_round_trip_subset_and_contraction(cuau_pure2b):
    atoms = _cuau(6)
    d = json.loads(json.dumps(cuau_pure2b.to_dict()))
    again = ACEBasis.from_dict(d)
    assert again.pure2b and again.to_dict() == cuau_pure2b.to_dict()
    full = cuau_pure2b.evaluate(atoms)
    np.testing.assert_array_equal(again.evaluate(atoms).forces, full.forces)
    idx = np.array([len(cuau_pure2b) - 1, 3, 40, 120])
    part = cuau_pure2b.subset(idx).evaluate(atoms)
    _close(part.forces, full.forces[:, :, idx], rel=1e-13)
    coef = np.random.default_rng(1).normal(size=len(cuau_pure2b))
    E, _, F, S = cuau_pure2b.energy_forces_stress(atoms, coef)
    np.testing.assert_allclose(E, full.energy @ coef, rtol=1e-12)
    _close(F, full.forces @ coef, rel=1e-11)
    _close(S, full.stress @ coef, rel=1e-11)
    d["radial"]["diagonal"] = [[2, 1]]
    with pytest.raises(ValueError, match="pure2b needs diagonal radial channels"):
        ACEBasis.from_dict(d)
    d["pure2b"] = "yes"
    with pytest.raises(ValueError, match="pure2b must be true or false"):
        ACEBasis.from_dict(d)


def test_forces_of_order_four_and_polynomial_transform():
    basis = ACEBasis(["Si"], order=4, totaldegree=[4, 4, 4, 9], maxl=2, rcut=4.5,
                     transform="polynomial", pair_envelope="x", pair_degree=2)
    assert max(f.order for f in basis.functions) == 4
    atoms = _cluster("Si7", seed=4)
    out = basis.evaluate(atoms)
    h = 1e-5
    for i, c in [(0, 1), (5, 2)]:
        ap, am = atoms.copy(), atoms.copy()
        ap.positions[i, c] += h
        am.positions[i, c] -= h
        fd = -(_energy(basis, ap) - _energy(basis, am)) / (2 * h)
        np.testing.assert_allclose(out.forces[i, c], fd, atol=1e-7 * np.abs(out.forces).max())
    assert np.isnan(out.stress).all()     # no periodic direction


def test_values_and_forces_vanish_smoothly_at_cutoff(mo_basis):
    rc = mo_basis.rcut
    scale = np.abs(mo_basis.evaluate(Atoms("Mo2", positions=[[0, 0, 0], [2.7, 0, 0]]))
                   .forces).max()
    prev = None
    for eps in (1e-2, 1e-3, 1e-4):
        dimer = Atoms("Mo3", positions=[[0, 0, 0], [rc - eps, 0, 0], [0, rc - eps, 0]])
        out = mo_basis.evaluate(dimer)
        f = np.abs(out.forces).max()
        assert f < 200 * eps * scale
        if prev is not None:
            assert f < prev / 5          # forces -> 0 linearly, values quadratically
        prev = f
    # beyond the cutoff: exactly the isolated-atom values
    far = mo_basis.evaluate(Atoms("Mo2", positions=[[0, 0, 0], [rc + 1e-9, 0, 0]]))
    assert not far.forces.any() and not far.site_values.any()


@pytest.mark.parametrize("pair_degree", [0, 4])
def test_linear_independence_over_random_environments(pair_degree):
    basis = ACEBasis(["Mo"], order=3, totaldegree=[7, 6, 6], rcut=5.0,
                     pair_degree=pair_degree)
    rows = [basis.site_values(_cluster("Mo12", seed))[0] for seed in range(6 * len(basis))]
    rows = np.array(rows)
    rows /= np.linalg.norm(rows, axis=0)
    s = np.linalg.svd(rows, compute_uv=False)
    assert s[-1] / s[0] > 1e-8, (len(basis), s[-1] / s[0])


def test_two_elements_centre_and_neighbour_species(cuau_basis):
    atoms = _cuau()
    vals = cuau_basis.site_values(atoms)
    out = cuau_basis.evaluate(atoms)
    np.testing.assert_array_equal(out.site_values, vals)
    np.testing.assert_array_equal(out.energy, vals.sum(axis=0))
    centres = np.array([f.centre for f in cuau_basis.functions])
    for i, z in enumerate(atoms.numbers):
        assert not vals[i, centres != z].any()
        assert vals[i, centres == z].any()
    # swapping species changes the values (neighbour species resolved)
    swapped = atoms.copy()
    swapped.numbers = np.where(atoms.numbers == 29, 79, 29)
    assert not np.allclose(np.sort(cuau_basis.site_values(swapped).sum(0)),
                           np.sort(vals.sum(0)))


def test_isolated_atom_and_atom_without_neighbours(mo_basis):
    single = Atoms("Mo", positions=[[0, 0, 0]])
    out = mo_basis.evaluate(single)
    assert out.site_values.shape == (1, len(mo_basis))
    assert not out.site_values.any() and not out.forces.any() and np.isnan(out.stress).all()
    # a far atom next to a dimer: its row is zero, the dimer's rows are unchanged
    dimer = Atoms("Mo2", positions=[[0, 0, 0], [2.5, 0.3, 0]])
    trio = Atoms("Mo3", positions=[[0, 0, 0], [2.5, 0.3, 0], [40, 0, 0]])
    a, b = mo_basis.evaluate(dimer), mo_basis.evaluate(trio)
    np.testing.assert_array_equal(b.site_values[2], 0)
    np.testing.assert_allclose(b.site_values[:2], a.site_values, atol=1e-14)
    np.testing.assert_allclose(b.forces[:2], a.forces, atol=1e-14)
    # periodic single atom in a large box: stress defined and zero
    box = Atoms("Mo", cell=[20, 20, 20], pbc=True)
    np.testing.assert_array_equal(mo_basis.evaluate(box).stress, 0.0)
    empty = mo_basis.evaluate(Atoms())
    assert empty.energy.shape == (len(mo_basis),) and not empty.energy.any()


def test_mixed_pbc_and_degenerate_nonperiodic_cell(mo_basis):
    slab = bulk("Mo", "bcc", 3.15, cubic=True).repeat((2, 2, 1))
    slab.rattle(0.05, seed=5)
    slab.pbc = [True, True, False]
    with_vac = slab.copy()
    with_vac.cell[2] = [0, 0, 30.0]
    flat = slab.copy()
    flat.cell[2] = [0, 0, 0]
    a, b = mo_basis.evaluate(with_vac), mo_basis.evaluate(flat)
    np.testing.assert_allclose(a.site_values, b.site_values, atol=1e-13)
    np.testing.assert_allclose(a.forces, b.forces, atol=1e-12)
    assert np.isfinite(a.stress).all() and np.isnan(b.stress).all()


def test_contracted_evaluation_equals_contracted_rows(cuau_basis):
    atoms = _cuau(7)
    coef = np.random.default_rng(0).normal(size=len(cuau_basis))
    coef[::3] = 0.0
    out = cuau_basis.evaluate(atoms)
    E, energies, F, S = cuau_basis.energy_forces_stress(atoms, coef)
    np.testing.assert_allclose(E, out.energy @ coef, rtol=1e-12)
    np.testing.assert_allclose(energies, out.site_values @ coef, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F, out.forces @ coef, atol=1e-11 * np.abs(F).max())
    np.testing.assert_allclose(S, out.stress @ coef, atol=1e-11 * np.abs(S).max())
    with pytest.raises(ValueError, match="coef must have shape"):
        cuau_basis.energy_forces_stress(atoms, coef[:-1])


def test_contracted_evaluation_sums_the_site_values_of_its_functions(cuau_basis, monkeypatch):
    """site_sum gains sum_i B_k(i) for every k with c_k != 0 (the energy of any other
    coefficients on them), leaves the rest alone, and leaves the model as it was; also
    with the sites in chunks."""
    import acefit.basis.ace as ace

    atoms = _cuau(7)
    coef = np.random.default_rng(1).normal(size=len(cuau_basis))
    coef[::3] = 0.0
    plain = cuau_basis.energy_forces_stress(atoms, coef)
    sums = np.full(len(cuau_basis), 5.0)
    got = cuau_basis.energy_forces_stress(atoms, coef, site_sum=sums)
    for a, b in zip(plain, got):
        np.testing.assert_array_equal(a, b)
    expected = 5.0 + cuau_basis.site_values(atoms).sum(axis=0)
    _close(sums[coef != 0], expected[coef != 0], 1e-13)
    assert np.all(sums[coef == 0] == 5.0)
    monkeypatch.setattr(ace, "_PAIRS_PER_CHUNK", 7)
    chunked = np.zeros(len(cuau_basis))
    cuau_basis.energy_forces_stress(atoms, coef, site_sum=chunked)
    _close(chunked, np.where(coef != 0, sums - 5.0, 0.0), 1e-13)
    for bad in (np.zeros(len(cuau_basis) - 1), np.zeros(len(cuau_basis), dtype=np.float32),
                list(sums)):
        with pytest.raises(ValueError, match="site_sum must be a float64 array of shape"):
            cuau_basis.energy_forces_stress(atoms, coef, site_sum=bad)


@pytest.mark.parametrize("which", ["mo", "cuau", "cuau_pure2b"])
def test_many_models_at_once_equal_the_design_rows_and_one_model_each(
        which, mo_basis, cuau_basis, cuau_pure2b, monkeypatch):
    """energy_forces_stress_many: K models contracted at once are the design rows times
    each coefficient vector, and each model's own contracted evaluation, also when the
    sites come in chunks of a few pairs; no periodic cell, NaN stresses."""
    import acefit.basis.ace as ace

    basis = _basis(which, mo_basis, cuau_basis, cuau_pure2b)
    atoms = _mo(3) if which == "mo" else _cuau(3)
    coefs = np.random.default_rng(4).normal(size=(3, len(basis)))
    coefs[1, ::2] = 0.0
    rows = basis.evaluate(atoms)
    energy, forces, stress = basis.energy_forces_stress_many(atoms, coefs)
    assert forces.shape == (3, len(atoms), 3) and stress.shape == (3, 6)
    _close(energy, coefs @ rows.energy, 1e-12)
    _close(forces, np.einsum("iak,mk->mia", rows.forces, coefs), 1e-12)
    _close(stress, coefs @ rows.stress.T, 1e-12)
    for m in range(3):
        e, _, f, st = basis.energy_forces_stress(atoms, coefs[m])
        _close(energy[m], e, 1e-12)
        _close(forces[m], f, 1e-12)
        _close(stress[m], st, 1e-12)
    monkeypatch.setattr(ace, "_PAIRS_PER_CHUNK", 7)
    chunked = basis.energy_forces_stress_many(atoms, coefs)
    for a, b in zip((energy, forces, stress), chunked):
        _close(a, b, 1e-13)
    cluster = atoms.copy()
    cluster.pbc = False
    _, forces, stress = basis.energy_forces_stress_many(cluster, coefs[:2])
    assert np.isfinite(forces).all() and np.isnan(stress).all() and stress.shape == (2, 6)
    with pytest.raises(ValueError, match=r"coefs must have shape \(K, " + str(len(basis))):
        basis.energy_forces_stress_many(atoms, coefs[:, :-1])
    with pytest.raises(ValueError, match="coefs contains non-finite"):
        basis.energy_forces_stress_many(atoms, np.full((2, len(basis)), np.nan))


def test_subset_equals_column_selection(cuau_basis):
    atoms = _cuau(2)
    idx = np.array([len(cuau_basis) - 1, 3, 0, 17, 40])
    sub = cuau_basis.subset(idx)
    assert len(sub) == 5 and sub.functions == [cuau_basis.functions[i] for i in idx]
    full, part = cuau_basis.evaluate(atoms), sub.evaluate(atoms)
    np.testing.assert_allclose(part.site_values, full.site_values[:, idx], atol=1e-14)
    np.testing.assert_allclose(part.forces, full.forces[:, :, idx], atol=1e-13)
    np.testing.assert_allclose(part.stress, full.stress[:, idx], atol=1e-13)
    # genuinely smaller: fewer product terms and one-particle functions
    assert sub._tables["term_coef"].size < cuau_basis._tables["term_coef"].size / 5
    assert sub._tables["v_rad"].size < cuau_basis._tables["v_rad"].size
    mask = np.zeros(len(cuau_basis), bool)
    mask[[2, 5]] = True
    assert cuau_basis.subset(mask).functions == [cuau_basis.functions[2],
                                                 cuau_basis.functions[5]]


def test_orthonormal_radials_span_the_same_basis_and_stay_consistent():
    """Orthonormalised radial families are triangular combinations of the plain ones,
    so the total-degree basis spans the same space: the same full least-squares fit.
    Forces are checked against finite differences; .yace export takes them as splines
    and refuses them as recurrences."""
    from acefit.export.yace import check_exportable

    kw = {"order": 3, "totaldegree": [7, 6, 5], "rcut": 5.0, "pair_degree": 3,
          "envelope": "x"}
    plain, orth = ACEBasis(["Mo"], **kw), ACEBasis(["Mo"], radial_orthonormal=True, **kw)
    assert orth.radial.orthonormal and orth.functions == plain.functions
    structures = [_mo(s, (1, 1, 1)) for s in range(12)]

    def rows(b):
        outs = [b.evaluate(a) for a in structures]
        return np.vstack([np.vstack([o.energy[None], o.forces.reshape(-1, len(b))])
                          for o in outs])

    A0, A1 = rows(plain), rows(orth)
    T, *_ = np.linalg.lstsq(A0, A1, rcond=None)
    _close(A0 @ T, A1, rel=1e-8)
    assert not np.allclose(A0, A1)
    atoms = _mo(5, (1, 1, 1))
    out = orth.evaluate(atoms)
    h, scale = 1e-5, np.abs(out.forces).max()
    ap, am = atoms.copy(), atoms.copy()
    ap.positions[1, 2] += h
    am.positions[1, 2] -= h
    fd = -(_energy(orth, ap) - _energy(orth, am)) / (2 * h)
    np.testing.assert_allclose(out.forces[1, 2], fd, atol=1e-7 * scale)
    again = ACEBasis.from_dict(json.loads(json.dumps(orth.to_dict())))
    np.testing.assert_array_equal(again.evaluate(atoms).forces, out.forces)
    poly = ACEBasis(["Mo"], order=2, totaldegree=[6, 5], rcut=5.0, pair_degree=0,
                    transform="polynomial", radial_orthonormal=True)
    with pytest.raises(ValueError, match="orthonormalised"):
        check_exportable(poly, "recurrence")
    check_exportable(poly, "spline")


def test_to_dict_round_trip(cuau_basis):
    d = cuau_basis.to_dict()
    text = json.dumps(d)
    again = ACEBasis.from_dict(json.loads(text))
    assert again.to_dict() == d
    assert again.functions == cuau_basis.functions
    again_yaml = ACEBasis.from_dict(yaml.safe_load(yaml.safe_dump(d)))
    assert again_yaml.to_dict() == d
    atoms = _cuau(4)
    np.testing.assert_array_equal(again.evaluate(atoms).forces,
                                  cuau_basis.evaluate(atoms).forces)
    sub = cuau_basis.subset([1, 30, 31])
    assert ACEBasis.from_dict(json.loads(json.dumps(sub.to_dict()))).functions == sub.functions
    assert isinstance(again.functions[0], BasisFunction)
    with pytest.raises(ValueError, match="not an ACEBasis"):
        ACEBasis.from_dict({"format": "other"})
    broken = json.loads(text)
    del broken["radial"]
    with pytest.raises(ValueError, match="malformed"):
        ACEBasis.from_dict(broken)
    broken = json.loads(text)
    broken["functions"][-1][4] = 7
    with pytest.raises(ValueError, match="no such invariant coupling"):
        ACEBasis.from_dict(broken)


def test_bad_atoms_raise_value_error_naming_the_problem(mo_basis):
    with pytest.raises(ValueError, match=r"\['Cu'\] not in the basis"):
        mo_basis.evaluate(Atoms("MoCu", positions=[[0, 0, 0], [2, 0, 0]]))
    bad = Atoms("Mo2", positions=[[0, 0, 0], [np.nan, 0, 0]])
    with pytest.raises(ValueError, match="non-finite positions"):
        mo_basis.site_values(bad)
    flat = Atoms("Mo", cell=[[3, 0, 0], [0, 3, 0], [0, 0, 0]], pbc=True)
    with pytest.raises(ValueError, match="zero-volume cell"):
        mo_basis.evaluate(flat)
    with pytest.raises(ValueError, match="zero-volume cell"):
        mo_basis.energy_forces_stress(flat, np.ones(len(mo_basis)))
    with pytest.raises(ValueError, match="coincide"):
        mo_basis.evaluate(Atoms("Mo2", positions=[[0, 0, 0], [0, 0, 0]]))


def test_small_periodic_cell_counts_all_images(mo_basis):
    # one-atom bcc primitive cell vs the 2-atom cubic cell: same per-atom values
    prim = bulk("Mo", "bcc", 3.15)
    cubic = bulk("Mo", "bcc", 3.15, cubic=True)
    np.testing.assert_allclose(mo_basis.site_values(prim)[0],
                               mo_basis.site_values(cubic)[1], atol=1e-11)
    np.testing.assert_allclose(mo_basis.evaluate(prim).stress[:, :],
                               mo_basis.evaluate(cubic).stress, atol=1e-11)


def test_one_body_functions_count_the_atoms_of_their_species():
    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 5], rcut=4.5, pair_degree=2,
                     one_body=True)
    plain = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 5], rcut=4.5, pair_degree=2)
    k = [i for i, f in enumerate(basis.functions) if f.kind == "onebody"]
    # one per species, first among its centre's functions; the rest is the plain basis
    assert [basis.functions[i].centre for i in k] == [29, 79] and len(basis) == len(plain) + 2
    assert [f for f in basis.functions if f.kind != "onebody"] == plain.functions
    assert basis.counts()[("Cu", "one-body")] == 1 and "one-body" in basis.describe()
    rest = [i for i in range(len(basis)) if i not in k]
    trio = Atoms("CuAuCu", positions=[[0, 0, 0], [2.5, 0.3, 0], [40, 0, 0]])  # one far atom
    for atoms in (_cuau(3), trio, Atoms("Au", cell=[9, 9, 9], pbc=True)):
        out, ref = basis.evaluate(atoms), plain.evaluate(atoms)
        is_cu = atoms.numbers == 29
        np.testing.assert_array_equal(out.site_values[:, k], np.c_[is_cu, ~is_cu])
        np.testing.assert_array_equal(out.energy[k], [is_cu.sum(), (~is_cu).sum()])
        assert not out.forces[:, :, k].any()
        assert not np.nan_to_num(out.stress[:, k]).any()
        np.testing.assert_allclose(out.site_values[:, rest], ref.site_values, atol=1e-14)
        np.testing.assert_allclose(out.forces[:, :, rest], ref.forces, atol=1e-13)
    # the contracted model: a per-atom energy shift, forces and stress untouched
    atoms = _cuau(5)
    coef = np.random.default_rng(1).normal(size=len(basis))
    shifted = coef.copy()
    shifted[k] += [0.25, -1.5]
    E, e, F, S = basis.energy_forces_stress(atoms, coef)
    E2, e2, F2, S2 = basis.energy_forces_stress(atoms, shifted)
    is_cu = atoms.numbers == 29
    np.testing.assert_allclose(e2 - e, np.where(is_cu, 0.25, -1.5), atol=1e-12)
    np.testing.assert_allclose(E2 - E, 0.25 * is_cu.sum() - 1.5 * (~is_cu).sum(), atol=1e-11)
    np.testing.assert_array_equal(F2, F)
    np.testing.assert_array_equal(S2, S)
    # I/O and subsets keep them
    again = ACEBasis.from_dict(json.loads(json.dumps(basis.to_dict())))
    assert again.functions == basis.functions
    sub = basis.subset([k[1], 5])
    np.testing.assert_array_equal(sub.evaluate(atoms).site_values[:, 0], ~is_cu)
    only = basis.subset(k)          # no radial functions left at all
    E, e, F, S = only.energy_forces_stress(atoms, np.array([0.25, -1.5]))
    np.testing.assert_array_equal(e, np.where(is_cu, 0.25, -1.5))
    assert not F.any() and not S.any()
    broken = basis.to_dict()
    broken["functions"][0][2] = [[29, 1, 0]]
    with pytest.raises(ValueError, match="one-body function has order 0"):
        ACEBasis.from_dict(broken)


def test_harmonics_calculator_is_not_reused_with_more_openmp_threads():
    """sphericart sizes per-thread buffers by omp_get_max_threads() when a calculator
    is built: one built under a thread limit (ACECalculator's default) must not be
    reused with more threads (heap corruption for lmax > 6, its hard-coded range)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from acefit.basis.angular import _calculator, _omp_threads, real_sph_harm

    xyz = np.random.default_rng(0).normal(size=(5, 3))
    outside = real_sph_harm(xyz, 7, gradients=False)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert _omp_threads() in (0, 1)
        inside = real_sph_harm(xyz, 7, gradients=False)
    np.testing.assert_array_equal(inside, outside)
    if _omp_threads() > 1:
        assert _calculator(7, 1) is not _calculator(7, _omp_threads())


def test_calculator_then_harmonics_with_more_threads_runs_clean(tmp_path):
    """The crash this guards against: an lmax-7 model evaluated by ACECalculator (one
    OpenMP thread), then harmonics of lmax 7 with all threads, as the .yace export
    does. Before the fix this aborted or segfaulted at the next free on 2 cores."""
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from ase.build import bulk\n"
        "from acefit import ACEBasis, ACECalculator, Potential\n"
        "from acefit.basis.angular import real_sph_harm\n"
        "b = ACEBasis(['Mo'], order=2, totaldegree=[4, 23], pair_degree=0, rcut=4.5)\n"
        "assert max(l for f in b.functions for _, _, l in f.factors) == 7\n"
        "atoms = bulk('Mo', 'bcc', a=3.16, cubic=True).repeat(2)\n"
        "atoms.rattle(0.1, seed=1)\n"
        "atoms.calc = ACECalculator(Potential(b, np.full(len(b), 0.01)))\n"
        "atoms.get_forces()\n"
        "for n in (2, 1, 3, 136, 2):\n"
        "    real_sph_harm(np.random.default_rng(n).normal(size=(n, 3)), 7, gradients=False)\n"
        "import gc; gc.collect()\n"
        "print('clean')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "clean", done.stderr[-2000:]


@pytest.mark.parametrize("orthonormal", [False, True])
def test_smaller_total_degree_columns_equal_the_smaller_basis(orthonormal):
    # an a-priori `totaldegrees` path fits the assembled columns of the sub-basis: they
    # must be the columns of the basis built with those degrees (radials do not depend
    # on the largest n)
    from acefit.basis.spec import within_totaldegree

    kw = dict(rcut=4.8, envelope="x", radial_orthonormal=orthonormal)
    big = ACEBasis(["Cu", "Au"], order=3, totaldegree=[7, 6, 5], **kw)
    small = ACEBasis(["Cu", "Au"], order=2, totaldegree=[5, 4], **kw)
    keep = np.flatnonzero(within_totaldegree(big.functions, [5, 4], wL=big.spec.wL))
    position = {f: i for i, f in enumerate(small.functions)}
    cols = np.array([position[big.functions[k]] for k in keep])
    assert sorted(cols) == list(range(len(small)))
    atoms = _cuau(4)
    full, part = big.evaluate(atoms), small.evaluate(atoms)
    np.testing.assert_allclose(full.site_values[:, keep], part.site_values[:, cols],
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(full.forces[:, :, keep], part.forces[:, :, cols], atol=1e-12)
    np.testing.assert_allclose(full.stress[:, keep], part.stress[:, cols], atol=1e-12)


@pytest.mark.parametrize("options", [{}, {"radial_orthonormal": True},
                                     {"order": 4, "totaldegree": [6, 6, 5, 5], "envelope": "x",
                                      "pure2b": True}])
def test_mirrored_order_one_functions_are_the_same_column(options):
    """Why a basis makes each order-1 function of two species once: its mirror image,
    centred on the other species, has the same energy, force and stress rows on any data.
    The basis then has no two equal columns, where the mirrored one had one per pair."""
    kw = {"order": 3, "totaldegree": [6, 6, 5], "rcut": {"default": 4.8, ("Cu", "Cu"): 4.5},
          "pair_degree": 2, **options}
    mirrored = ACEBasis(["Cu", "Au"], mirrored=True, **kw)
    basis = ACEBasis(["Cu", "Au"], **kw)
    index = {f: k for k, f in enumerate(mirrored.functions)}
    extra = [f for f in mirrored.functions if f not in basis.functions]
    assert len(extra) == 2 + 6        # Au-centred with Cu neighbours: pair n <= 2, nu = 1 n <= 6

    def rows(b, atoms):
        v = b.evaluate(atoms)
        return np.vstack([v.energy, v.forces.reshape(-1, len(b)), v.stress])

    for atoms in (_cuau(3), _cluster("CuAuAuCuAu", 4)):
        atoms_rows = np.nan_to_num(rows(mirrored, atoms))
        for f in extra:
            twin = BasisFunction(f.factors[0][0], 1, ((f.centre, f.factors[0][1], 0),), f.kind)
            a, b = atoms_rows[:, index[f]], atoms_rows[:, index[twin]]
            assert np.abs(a).max() > 0
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(a).max())
    both = np.vstack([np.nan_to_num(rows(basis, _cuau(s))) for s in range(3)])
    scale = np.abs(both).max(axis=0)
    for k in range(len(basis)):
        same = np.all(np.isclose(both, both[:, [k]], rtol=1e-12, atol=1e-12 * scale[k]), axis=0)
        assert same.sum() == 1, [basis.functions[j] for j in np.flatnonzero(same)]


def test_pairs_sorted_by_centre_and_species_and_chunks_change_no_bit(cuau_pure2b, monkeypatch):
    """The pair tables of an evaluation (filtered to each species pair's cutoff, ordered
    by centre and then neighbour species, each array replaced in turn to bound the peak
    memory) are the reference lexsort's, and a chunk of a few pairs gives every value of
    one chunk to the last bit."""
    import acefit.basis.ace as ace
    from acefit.basis.neighbours import neighbour_pairs

    atoms = bulk("Cu", "fcc", 3.7, cubic=True).repeat((2, 2, 2))
    atoms.numbers[np.random.default_rng(0).random(len(atoms)) < 0.4] = 79
    atoms.rattle(0.1, seed=1)
    site_sp, site_ptr, j, D, d, zj = cuau_pure2b._prepare(atoms)
    i0, j0, D0, d0 = neighbour_pairs(atoms, cuau_pure2b.rcut)
    sp = np.where(atoms.numbers == 29, 0, 1)
    keep = np.nonzero(d0 < cuau_pure2b.radial.rcut[sp[i0], sp[j0]])[0]
    assert 0 < len(keep) < len(d0)          # the Cu-Cu cutoff leaves pairs out
    keep = keep[np.lexsort((sp[j0][keep], i0[keep]))]
    assert np.array_equal(site_ptr, np.searchsorted(i0[keep], np.arange(len(atoms) + 1)))
    for got, want in ((j, j0[keep]), (D, D0[keep]), (d, d0[keep]), (zj, sp[j0][keep])):
        assert np.array_equal(got, want)
    coef = np.random.default_rng(2).normal(size=len(cuau_pure2b))
    whole = (cuau_pure2b.energy_forces_stress(atoms, coef), cuau_pure2b.evaluate(atoms),
             cuau_pure2b.site_values(atoms))
    monkeypatch.setattr(ace, "_PAIRS_PER_CHUNK", 7)
    chunked = (cuau_pure2b.energy_forces_stress(atoms, coef), cuau_pure2b.evaluate(atoms),
               cuau_pure2b.site_values(atoms))
    for a, b in zip(whole[0][1:], chunked[0][1:]):
        assert np.array_equal(a, b)
    for name in ("energy", "forces", "stress", "site_values"):
        assert np.array_equal(getattr(whole[1], name), getattr(chunked[1], name))
    assert np.array_equal(whole[2], chunked[2])
