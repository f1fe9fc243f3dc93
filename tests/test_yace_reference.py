"""The plain-numpy .yace evaluator in ``_yace_reference`` against python-ace (recurrence
dialect, files from acefit's exporter) and against a direct computation (spline
dialect, hand-written file)."""


import numpy as np
import pytest
from _models import balanced, cu_au_configurations
from _yace_reference import YaceReference, harmonics, load, radial_basis
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list

from acefit import ACEBasis, Potential
from acefit.export import export_yace
from acefit.export.yace import yace_dict


@pytest.fixture(scope="module")
def pyace():
    return pytest.importorskip("pyace", reason="python-ace (pyace) is not installed")


# ------------------------------------------------------------ acefit models (as in
# tests/test_export_yace.py, copied so that this module imports without pyace)
def _model(elements, envelope="x", pair_envelope="x", order=3, degrees=None, seed=0, **kw):
    degrees = degrees or {3: [8, 7, 6], 4: [7, 6, 5, 5]}[order]
    basis = ACEBasis(elements, order=order, totaldegree=degrees, transform="polynomial",
                     envelope=envelope, pair_envelope=pair_envelope, pair_degree=4, **kw)
    rng = np.random.default_rng(seed)
    c = 0.1 * rng.normal(size=len(basis))
    c[rng.random(len(basis)) < 0.3] = 0.0
    pot = Potential(basis, c, e0={el: -0.5 - k for k, el in enumerate(elements)})
    return balanced(pot, cu_au_configurations(len(elements) == 2)[0])


def _export(pot, path):
    """Write the recurrence dialect (the one python-ace 0.4 reads)."""
    export_yace(pot, path, radial="recurrence")
    return path


def _results(calc, atoms):
    atoms = atoms.copy()
    atoms.calc = calc
    out = {"energy": atoms.get_potential_energy(),
           "energies": atoms.get_potential_energies(), "forces": atoms.get_forces()}
    if atoms.pbc.all():
        out["stress"] = atoms.get_stress()
    return out


def _assert_same(ref, theirs, e0):
    """Tolerances relative to the interaction part: E0 dominates the energy here."""
    rho = theirs["energies"] - e0
    scale = np.abs(rho).sum()
    assert scale > 1e-6
    assert abs(ref["energy"] - theirs["energy"]) <= 1e-10 * abs(theirs["energy"])
    assert abs((ref["energies"] - e0).sum() - rho.sum()) <= 1e-10 * scale
    np.testing.assert_allclose(ref["energies"] - e0, rho, rtol=0,
                               atol=1e-10 * np.abs(rho).max())
    f = theirs["forces"]
    np.testing.assert_allclose(ref["forces"], f, rtol=0, atol=1e-8 * np.abs(f).max())
    if "stress" in theirs:
        s = theirs["stress"]
        np.testing.assert_allclose(ref["stress"], s, rtol=0, atol=1e-8 * np.abs(s).max())


CUAU_RCUT = {("Cu", "Cu"): 4.4, ("Cu", "Au"): 4.7, ("Au", "Au"): 5.0}
HIGH_L4 = {"degrees": [8, 9, 8, 8], "wL": 1.0}     # rank 4 with l up to 2


@pytest.mark.parametrize("elements, envelope, pair_envelope, order, kw", [
    (["Cu"], "x", "x", 3, {}),
    (["Cu"], "y", "y", 4, {}),
    (["Cu", "Au"], "x", "x", 3, {"rcut": CUAU_RCUT, "p": 3}),
    (["Cu", "Au"], "y", "x", 4, {"rcut": CUAU_RCUT, "p": 3}),
    (["Cu", "Au"], "x", "y", 3, {"rcut": CUAU_RCUT}),
    (["Cu"], "x", "x", 3, {"degrees": [10, 11, 10], "wL": 1.0}),   # l up to 4
    (["Cu", "Au"], "y", "x", 4, {"rcut": CUAU_RCUT, "p": 3, **HIGH_L4}),
])
def test_matches_python_ace(tmp_path, pyace, elements, envelope, pair_envelope, order, kw):
    pot = _model(elements, envelope, pair_envelope, order=order, **kw)
    path = _export(pot, tmp_path / "m.yace")
    d = load(path)
    ranks = {f["rank"] for funcs in d["functions"].values() for f in funcs}
    assert ranks == set(range(1, order + 1))      # every rank is exercised
    assert max(max(f["ls"]) for funcs in d["functions"].values() for f in funcs) >= 1
    ref, theirs = YaceReference(path), pyace.PyACECalculator(str(path))
    for atoms in cu_au_configurations(len(elements) == 2):
        e0 = ref.E0[ref.species(atoms)]
        _assert_same(_results(ref, atoms), _results(theirs, atoms), e0)


def test_detects_a_changed_coefficient(tmp_path, pyace):
    """The comparison above is sensitive: a 1e-5 relative change of one C-tilde of a
    rank-4 function with l > 0 is caught."""
    pot = _model(["Cu", "Au"], "y", "x", order=4, rcut=CUAU_RCUT, p=3, **HIGH_L4)
    path = _export(pot, tmp_path / "m.yace")
    d = load(path)
    atoms = cu_au_configurations(True)[2]
    ref, theirs = YaceReference(d), _results(pyace.PyACECalculator(str(path)), atoms)
    e0 = ref.E0[ref.species(atoms)]
    _assert_same(_results(ref, atoms), theirs, e0)
    f = next(f for f in d["functions"][1] if f["rank"] == 4 and max(f["ls"]) > 0)
    f["ctildes"][-1] *= 1.0 + 1e-5
    with pytest.raises(AssertionError):
        _assert_same(_results(YaceReference(d), atoms), theirs, e0)


def test_exported_spline_dialect_matches_python_ace(pyace, tmp_path):
    """The exporter's spline dialect (python-ace 0.4 cannot read it), evaluated here,
    against python-ace on the recurrence dialect of the same model. In memory: at
    spline_rtol 1e-8 the spline file is tens of MB, slow for PyYAML."""
    pot = _model(["Cu", "Au"], "y", "x", order=4, rcut=CUAU_RCUT, p=3)
    spline = YaceReference(yace_dict(pot, radial="spline", spline_rtol=1e-8))
    assert all("splinenodalvals" in b for b in spline.data["bonds"].values())
    theirs = pyace.PyACECalculator(str(_export(pot, tmp_path / "r.yace")))
    for atoms in cu_au_configurations(True):
        ours, ref = _results(spline, atoms), _results(theirs, atoms)
        rho = ref["energies"] - spline.E0[spline.species(atoms)]
        assert abs(ours["energy"] - ref["energy"]) <= 1e-7 * np.abs(rho).sum()
        for key in ("forces", "stress"):
            if key in ref:
                np.testing.assert_allclose(ours[key], ref[key], rtol=0,
                                           atol=1e-7 * np.abs(ref[key]).max())


# ------------------------------------------------------------------ self-consistency
def _fd_forces_and_stress(atoms, energy, h=1e-5):
    atoms = atoms.copy()
    forces = np.zeros((len(atoms), 3))
    for a in range(len(atoms)):
        for x in range(3):
            e = []
            for s in (h, -h):
                b = atoms.copy()
                b.positions[a, x] += s
                e.append(energy(b))
            forces[a, x] = -(e[0] - e[1]) / (2 * h)
    stress = np.zeros((3, 3))
    for x in range(3):
        for y in range(3):
            e = []
            for s in (h, -h):
                b = atoms.copy()
                eps = np.eye(3)
                eps[x, y] += s
                b.set_cell(atoms.cell[:] @ eps.T, scale_atoms=True)
                e.append(energy(b))
            stress[x, y] = (e[0] - e[1]) / (2 * h) / atoms.get_volume()
    stress = 0.5 * (stress + stress.T)
    return forces, stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]


def test_harmonic_gradients_match_finite_differences():
    v = np.random.default_rng(1).normal(size=(6, 3))
    v[0] = [0.0, 0.0, 1.3]        # on the pole
    v[1] = [0.0, 0.0, -0.7]
    Y, dY = harmonics(v, 5)
    assert np.allclose(Y[:, 0], 1.0)
    # addition theorem: sum_m |Yhat_lm|^2 = 2l + 1
    for l in range(6):
        np.testing.assert_allclose((np.abs(Y[:, l * l:(l + 1) ** 2]) ** 2).sum(1), 2 * l + 1)
    h = 1e-6
    for x in range(3):
        e = np.zeros(3)
        e[x] = h
        fd = (harmonics(v + e, 5)[0] - harmonics(v - e, 5)[0]) / (2 * h)
        np.testing.assert_allclose(dY[:, :, x], fd, rtol=0, atol=1e-7)


def test_recurrence_forces_and_stress_are_derivatives(tmp_path):
    path = _export(_model(["Cu", "Au"], "y", "x", order=4, rcut=CUAU_RCUT, p=3),
                   tmp_path / "m.yace")
    ref = YaceReference(path)
    atoms = cu_au_configurations(True)[2]
    r = _results(ref, atoms)

    def energy(b):
        b.calc = ref
        return b.get_potential_energy()

    f, s = _fd_forces_and_stress(atoms, energy)
    np.testing.assert_allclose(r["forces"], f, rtol=0, atol=1e-6 * np.abs(f).max())
    np.testing.assert_allclose(r["stress"], s, rtol=0, atol=1e-6 * np.abs(s).max())


# --------------------------------------------------------------------- spline dialect
RCUT, NBINS = 4.0, 40


def _g(r):
    return (r - RCUT) ** 2 * (r + 1.0)


def _dg(r):
    return 2.0 * (r - RCUT) * (r + 1.0) + (r - RCUT) ** 2


def _spline_dict(c1=0.7, c2=-0.45, e0=-1.25):
    """One element, one cubic radial function; E_i = e0 + c1 S_i + 3 c2 |v_i|^2 with
    S_i = sum_j g(r_ij), v_i = sum_j g(r_ij) rhat_ij (sum_m |A_1m|^2 = 3 |v|^2, and
    A_{1,-m} = (-1)^m conj(A_1m), so ms (0, 0), (1, -1) with ctildes c2, -2 c2)."""
    q = np.arange(NBINS + 1) * RCUT / NBINS
    bond = {"radbasename": "ACE.jl.base", "rcut": RCUT, "nradial": 1, "nbins": NBINS,
            "splinenodalvals": {0: _g(q).tolist()},
            "splinenodalderivs": {0: _dg(q).tolist()}}
    funcs = [{"mu0": 0, "rank": 1, "ndensity": 1, "num_ms_combs": 1, "mus": [0],
              "ns": [1], "ls": [0], "ms_combs": [0], "ctildes": [c1]},
             {"mu0": 0, "rank": 2, "ndensity": 1, "num_ms_combs": 2, "mus": [0, 0],
              "ns": [1, 1], "ls": [1, 1], "ms_combs": [0, 0, 1, -1],
              "ctildes": [c2, -2.0 * c2]}]
    return {"elements": ["Cu"], "E0": [e0], "lmax": 1,
            "embeddings": {0: {"ndensity": 1, "FS_parameters": [1.0, 1.0],
                               "npoti": "FinnisSinclairShiftedScaled",
                               "rho_core_cutoff": 100000.0, "drho_core_cutoff": 250.0}},
            "bonds": {(0, 0): bond}, "functions": {0: funcs}}


def _direct_energies(atoms, c1=0.7, c2=-0.45, e0=-1.25):
    i, d, D = neighbor_list("idD", atoms, RCUT)
    S = np.bincount(i, _g(d), minlength=len(atoms))
    v = np.zeros((len(atoms), 3))
    np.add.at(v, i, _g(d)[:, None] * D / d[:, None])
    return e0 + c1 * S + 3.0 * c2 * (v ** 2).sum(1)


def _flow(v):
    """Minimal YAML flow writer (tuple keys as flow sequences, as in .yace files)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_flow(list(k) if isinstance(k, tuple) else k)}: {_flow(x)}"
                               for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return repr(v) if isinstance(v, float) else str(v)


def _spline_structures():
    fcc = bulk("Cu", "fcc", a=3.6, cubic=True)
    fcc.rattle(0.15, seed=3)
    tri = bulk("Cu", "fcc", a=3.5).repeat((2, 2, 2))
    tri.set_cell(tri.cell[:] + [[0, 0.25, 0], [0.15, 0, 0], [0, 0, 0.1]], scale_atoms=True)
    tri.rattle(0.1, seed=4)
    cluster = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
    cluster.pbc = False
    cluster.rattle(0.1, seed=5)
    return [fcc, tri, cluster]


def test_spline_radial_reproduces_a_cubic():
    params = _spline_dict()["bonds"][(0, 0)]
    r = np.linspace(RCUT / NBINS, RCUT - 1e-9, 997)
    g, dg = radial_basis(r, params)
    np.testing.assert_allclose(g[:, 0], _g(r), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dg[:, 0], _dg(r), rtol=0, atol=1e-11)
    g, dg = radial_basis([RCUT, RCUT + 0.3], params)
    assert not g.any() and not dg.any()
    with pytest.raises(ValueError, match="below one spline bin"):
        radial_basis([0.5, RCUT / NBINS * 0.999], params)


def test_spline_dialect_energy_forces_stress(tmp_path):
    path = tmp_path / "spline.yace"
    d = _spline_dict()
    path.write_text("\n".join(f"{k}: {_flow(v)}" for k, v in d.items()) + "\n")
    loaded = load(path)
    assert set(loaded["bonds"]) == {(0, 0)} and set(loaded["functions"]) == {0}
    calc = YaceReference(path)
    for atoms in _spline_structures():
        r = _results(calc, atoms)
        direct = _direct_energies(atoms)
        assert np.ptp(direct) > 1e-3          # the many-body term is not trivial
        np.testing.assert_allclose(r["energies"], direct, rtol=1e-12)
        assert abs(r["energy"] - direct.sum()) <= 1e-12 * abs(direct.sum())

        def energy(b):
            return _direct_energies(b).sum()

        f, s = _fd_forces_and_stress(atoms, energy)
        np.testing.assert_allclose(r["forces"], f, rtol=0, atol=1e-7 * np.abs(f).max())
        if atoms.pbc.all():
            np.testing.assert_allclose(r["stress"], s, rtol=0, atol=1e-7 * np.abs(s).max())


def test_spline_distance_below_one_bin_raises():
    atoms = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 0.09]])   # bin width 0.1
    atoms.calc = YaceReference(_spline_dict())
    with pytest.raises(ValueError, match="below one spline bin"):
        atoms.get_potential_energy()
    atoms.positions[1, 2] = 0.11
    assert np.isfinite(atoms.get_potential_energy())


def test_isolated_atom_has_energy_e0():
    atoms = Atoms("Cu", positions=[[0, 0, 0]], cell=[8, 8, 8], pbc=True)
    atoms.calc = YaceReference(_spline_dict(e0=-1.25))
    assert atoms.get_potential_energy() == -1.25
    assert not atoms.get_forces().any() and not atoms.get_stress().any()


def test_stress_needs_a_periodic_cell():
    from ase.calculators.calculator import PropertyNotImplementedError

    atoms = _spline_structures()[2]
    atoms.calc = YaceReference(_spline_dict())
    atoms.get_forces()
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


@pytest.mark.parametrize("change", [
    lambda d: d.update(polypairpot={}),
    lambda d: d.update(reppot={}),
    lambda d: d["embeddings"][0].update(FS_parameters=[1.0, 0.5]),
    lambda d: d["embeddings"][0].update(ndensity=2),
    lambda d: d["embeddings"][0].update(npoti="FinnisSinclair"),
])
def test_unsupported_content_is_refused(change):
    d = _spline_dict()
    change(d)
    with pytest.raises(NotImplementedError):
        YaceReference(d)
