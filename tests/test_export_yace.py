"""Export to ML-PACE .yace, recurrence dialect: python-ace 0.4 (the C++ of LAMMPS
pair_style pace before its 2023 spline change) must reproduce acefit's energies,
per-atom energies, forces and stress. The spline dialect: test_export_yace_spline.py."""

import numpy as np
import pytest
from _models import balanced, cu_au_configurations

from acefit import ACEBasis, ACECalculator, Potential
from acefit.export import export_yace
from acefit.export.yace import ships_values, yace_dict

pyace = pytest.importorskip("pyace", reason="python-ace (pyace) is not installed; "
                            "`pip install --pre python-ace` to run the export checks")


def _potential(elements, envelope="x", pair_envelope="x", order=3, seed=0, pair_degree=4,
               **kw):
    degrees = {3: [8, 7, 6], 4: [7, 6, 5, 5]}[order]
    basis = ACEBasis(elements, order=order, totaldegree=degrees, transform="polynomial",
                     envelope=envelope, pair_envelope=pair_envelope, pair_degree=pair_degree,
                     **kw)
    rng = np.random.default_rng(seed)
    c = 0.1 * rng.normal(size=len(basis))
    c[rng.random(len(basis)) < 0.3] = 0.0  # sparse: only active functions are written
    e0 = {el: -0.5 - k for k, el in enumerate(elements)}
    # every correlation order contributes visibly at the tolerances below
    return balanced(Potential(basis, c, e0=e0), cu_au_configurations(len(elements) == 2)[0])


def _compare(pot, path, configs):
    export_yace(pot, path, radial="recurrence")
    ours, theirs = ACECalculator(pot), pyace.PyACECalculator(str(path))
    for atoms in configs:
        a1, a2 = atoms.copy(), atoms.copy()
        a1.calc, a2.calc = ours, theirs
        e1, e2 = a1.get_potential_energy(), a2.get_potential_energy()
        assert abs(e1 - e2) <= 1e-8 * abs(e1)
        np.testing.assert_allclose(a2.get_potential_energies(), a1.get_potential_energies(),
                                   rtol=1e-8, atol=1e-10)
        f1 = a1.get_forces()
        np.testing.assert_allclose(a2.get_forces(), f1, rtol=0, atol=1e-8 * np.abs(f1).max())
        if atoms.pbc.all():
            s1 = a1.get_stress()
            np.testing.assert_allclose(a2.get_stress(), s1, rtol=0,
                                       atol=1e-8 * np.abs(s1).max())


def test_one_element(tmp_path):
    _compare(_potential(["Cu"]), tmp_path / "cu.yace", cu_au_configurations(False))
    # its units, as a YAML comment that python-ace (ML-PACE's reader) just read past
    assert (tmp_path / "cu.yace").read_text().startswith(
        "# acefit: Units: eV and Å; the LAMMPS input needs `units metal`")


def test_export_from_potential_file(tmp_path):
    pot = _potential(["Cu"], seed=5)
    export_yace(pot.save(tmp_path / "m.h5"), tmp_path / "from_file.yace", radial="recurrence")
    export_yace(pot, tmp_path / "direct.yace", radial="recurrence")
    assert (tmp_path / "from_file.yace").read_text() == (tmp_path / "direct.yace").read_text()


@pytest.mark.parametrize("envelope, pair_envelope, order", [("x", "x", 3), ("y", "x", 4),
                                                            ("x", "y", 3)])
def test_two_elements(tmp_path, envelope, pair_envelope, order):
    rcut = {("Cu", "Cu"): 4.4, ("Cu", "Au"): 4.7, ("Au", "Au"): 5.0}
    pot = _potential(["Cu", "Au"], envelope, pair_envelope, order=order, rcut=rcut, p=3)
    _compare(pot, tmp_path / "cuau.yace", cu_au_configurations(True))


def test_pair_functions_of_higher_degree_than_the_many_body_basis(tmp_path):
    # "y" pair envelope with pair_degree > nmax: the bond recurrence is extended
    pot = _potential(["Cu"], envelope="x", pair_envelope="y", pair_degree=12)
    assert pot.basis.radial.npair + 2 > pot.basis.radial.nmax
    _compare(pot, tmp_path / "pairs.yace", cu_au_configurations(False)[:2])


def test_radial_recurrence_is_acefits(tmp_path):
    pot = _potential(["Cu", "Au"], envelope="y", rcut=4.6)
    d = yace_dict(pot, "recurrence")
    rad = pot.basis.radial
    r = np.linspace(0.3, 5.0, 200)
    for (a, b), params in d["bonds"].items():
        P = ships_values(r, params)[:, 2: 2 + rad.nmax]  # "y" envelope: two leading steps
        R = rad.evaluate(r, np.full(len(r), a), np.full(len(r), b))[0][:, : rad.nmax]
        np.testing.assert_allclose(P, R, rtol=1e-12, atol=1e-12 * np.abs(R).max())


@pytest.mark.parametrize("kw, reason", [
    ({"transform": "agnesi"}, "transform is 'agnesi'"),
    ({"transform": "polynomial", "pair_envelope": "repulsive"}, "repulsive envelope"),
    ({"transform": "polynomial", "p": 2.5, "pair_degree": 0}, "not an integer"),
    ({"transform": "polynomial", "rin": 0.5, "pair_degree": 0}, "rin > 0"),
    ({"transform": "polynomial", "pair_degree": 0, "pure2b": True}, "basis is pure2b"),
    ({"transform": "polynomial", "pair_degree": 0, "radial_orthonormal": True},
     "orthonormalised"),
])
def test_refuses_inexpressible_models(tmp_path, kw, reason):
    basis = ACEBasis(["Cu"], order=2, totaldegree=[5, 4], **kw)
    pot = Potential(basis, np.ones(len(basis)))
    with pytest.raises(ValueError, match=reason) as info:
        export_yace(pot, tmp_path / "x.yace", radial="recurrence")
    # the advice names config keys that exist (it said `radial: {transform: polynomial}`)
    assert "basis.transform: polynomial with an integer basis.transform_p" in str(info.value)
    assert "radial: {" not in str(info.value)
    assert not (tmp_path / "x.yace").exists()


def test_repulsive_pair_exports_when_pair_coefficients_are_zero(tmp_path):
    basis = ACEBasis(["Cu"], order=2, totaldegree=[6, 5], transform="polynomial",
                     pair_envelope="repulsive")
    c = np.array([0.0 if f.kind == "pair" else 0.1 for f in basis.functions])
    _compare(Potential(basis, c), tmp_path / "nopair.yace", cu_au_configurations(False)[:1])


def test_suffix_required(tmp_path):
    with pytest.raises(ValueError, match=r"\.yace"):
        export_yace(_potential(["Cu"]), tmp_path / "model.yaml")


def test_one_body_functions_become_part_of_e0(tmp_path):
    pot = _potential(["Cu", "Au"], one_body=True, seed=3)
    k = [i for i, f in enumerate(pot.basis.functions) if f.kind == "onebody"]
    assert len(k) == 2
    coef = pot.coefficients.copy()
    coef[k] = [0.375, -2.25]
    pot = Potential(pot.basis, coef, e0=pot.e0)
    d = yace_dict(pot, "recurrence")
    assert d["E0"] == [pot.e0["Cu"] + 0.375, pot.e0["Au"] - 2.25]
    _compare(pot, tmp_path / "onebody.yace", cu_au_configurations(True))
