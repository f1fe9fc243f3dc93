"""Export to ML-PACE .yace, spline dialect (current LAMMPS): the splines are acefit's
radial functions, and the file, evaluated by the independent reference evaluator of
tests/_yace_reference.py, reproduces ACECalculator for every kind of radial basis."""

import numpy as np
import pytest
from _models import balanced, cu_au_configurations
from _yace_reference import YaceReference, load

from acefit import ACEBasis, ACECalculator, Potential
from acefit.export import export_yace
from acefit.export.yace import hermite, spline_bond, yace_dict


def _potential(elements=("Mo",), seed=0, sparsity=0.3, **kw):
    kw = {"order": 3, "totaldegree": [8, 7, 6], "pair_degree": 5, "rcut": 5.0, **kw}
    basis = ACEBasis(list(elements), **kw)
    rng = np.random.default_rng(seed)
    c = 0.1 * rng.normal(size=len(basis))
    c[rng.random(len(basis)) < sparsity] = 0.0
    pot = Potential(basis, c, e0={el: -0.5 - k for k, el in enumerate(elements)})
    return balanced(pot, _configs(len(elements) == 2)[0])


def _configs(two_elements=False):
    """The Cu/Au test configurations with Mo for Cu and W for Au."""
    out = cu_au_configurations(two_elements)
    for atoms in out:
        atoms.numbers = np.where(atoms.numbers == 29, 42, 74)
    return out


def _compare(pot, path, configs, rtol=1e-8, spline_rtol=1e-9):
    export_yace(pot, path, radial="spline", spline_rtol=spline_rtol)
    ours, ref = ACECalculator(pot), YaceReference(path)
    for atoms in configs:
        a1, a2 = atoms.copy(), atoms.copy()
        a1.calc, a2.calc = ours, ref
        e1 = a1.get_potential_energies()
        np.testing.assert_allclose(a2.get_potential_energies(), e1, rtol=0,
                                   atol=rtol * np.abs(e1).max())
        f1 = a1.get_forces()
        np.testing.assert_allclose(a2.get_forces(), f1, rtol=0, atol=rtol * np.abs(f1).max())
        if atoms.pbc.all():
            s1 = a1.get_stress()
            np.testing.assert_allclose(a2.get_stress(), s1, rtol=0,
                                       atol=rtol * np.abs(s1).max())


@pytest.mark.parametrize("kw", [
    {},                                                     # Agnesi, x envelope, repulsive pairs
    {"envelope": "y"},                                      # the envelope of Torabi et al.
    {"rin": 0.8},                                           # distances clamped below rin
    {"radial_orthonormal": True, "envelope": "y"},
    {"transform": "polynomial", "pair_envelope": "x", "p": 3},
])
def test_any_radial_basis_reproduces_acefit(tmp_path, kw):
    _compare(_potential(**kw), tmp_path / "m.yace", _configs())


def test_default_accuracy(tmp_path):
    # spline_rtol 1e-6 bounds each radial function's and derivative's error; the
    # energies and forces of a whole model stay within a few times that
    _compare(_potential(seed=4), tmp_path / "d.yace", _configs(), rtol=5e-6,
             spline_rtol=1e-6)


def test_two_elements_with_per_pair_cutoffs(tmp_path):
    rcut = {("Mo", "Mo"): 4.8, ("Mo", "W"): 5.2, ("W", "W"): 5.0}
    pot = _potential(("Mo", "W"), order=4, totaldegree=[7, 6, 5, 5], rcut=rcut, seed=2)
    _compare(pot, tmp_path / "mow.yace", _configs(True))


def test_splines_hold_acefits_radials_to_the_requested_accuracy():
    pot = _potential()
    rad = pot.basis.radial
    columns = [0, 3, rad.nmax + 1]
    for rtol in (1e-6, 1e-10):
        bond = spline_bond(rad, 0, 0, columns, rtol=rtol, rmin=1.0)
        nbins, rcut = bond["nbins"], bond["rcut"]
        vals = np.array([bond["splinenodalvals"][k] for k in range(3)]).T
        ders = np.array([bond["splinenodalderivs"][k] for k in range(3)]).T
        r_nodes = np.arange(1, nbins + 1) * rcut / nbins
        R, dR = rad.evaluate(r_nodes, np.zeros(nbins, int), np.zeros(nbins, int))
        # the same evaluation up to round-off (batches of another length)
        np.testing.assert_allclose(vals[1:], R[:, columns], rtol=0,
                                   atol=1e-13 * np.abs(R[:, columns]).max())
        np.testing.assert_allclose(ders[1:], dR[:, columns], rtol=0,
                                   atol=1e-13 * np.abs(dR[:, columns]).max())
        r = np.random.default_rng(1).uniform(1.0, rcut * 0.999, 4000)
        value, deriv = hermite(vals, ders, rcut / nbins, r * nbins / rcut)
        R, dR = rad.evaluate(r, np.zeros(len(r), int), np.zeros(len(r), int))
        scale = np.abs(R[:, columns]).max(axis=0)
        assert np.all(np.abs(value - R[:, columns]).max(axis=0) <= 1.01 * rtol * scale)
        d_scale = np.abs(dR[:, columns]).max(axis=0)
        assert np.all(np.abs(deriv - dR[:, columns]).max(axis=0) <= 1.01 * rtol * d_scale)
        if rtol == 1e-6:
            coarse = nbins
    assert nbins > coarse   # a tighter rtol needs more bins


def test_only_the_active_radial_channels_are_written():
    basis = ACEBasis(["Mo"], order=2, totaldegree=[8, 7], pair_degree=5, rcut=5.0)
    c = np.zeros(len(basis))
    keep = [i for i, f in enumerate(basis.functions)
            if (f.kind == "pair" and f.factors[0][1] == 2)
            or (f.kind != "pair" and f.order == 2 and {n for _, n, _ in f.factors} == {1, 4})]
    c[keep] = 0.1
    d = yace_dict(Potential(basis, c), "spline")
    bond = d["bonds"][(0, 0)]
    assert bond["nradial"] == 3     # R_1, R_4 and pair function 2
    ns = sorted({n for f in d["functions"][0] for n in f["ns"]})
    assert ns == [1, 2, 3]


def test_written_file_is_what_ml_pace_reads(tmp_path):
    path = tmp_path / "m.yace"
    export_yace(_potential(), path, radial="spline")
    d = load(path)
    for bond in d["bonds"].values():
        assert set(bond) == {"radbasename", "rcut", "nradial", "nbins", "splinenodalvals",
                             "splinenodalderivs"}
        assert bond["radbasename"].startswith("ACE.jl")
        assert sorted(bond["splinenodalvals"]) == list(range(bond["nradial"]))
        assert all(len(v) == bond["nbins"] + 1 for v in bond["splinenodalvals"].values())
    assert isinstance(d["lmax"], int) and d["lmax"] > 0


def test_refusals(tmp_path):
    pure = ACEBasis(["Mo"], order=2, totaldegree=[5, 4], pure2b=True, pair_degree=0)
    with pytest.raises(ValueError, match="pure2b"):
        export_yace(Potential(pure, np.ones(len(pure))), tmp_path / "p.yace")
    rad = _potential().basis.radial
    with pytest.raises(ValueError, match="misses rtol = 1e-20 with .* bins"):
        spline_bond(rad, 0, 0, [0, 5], rtol=1e-20, max_bins=2 ** 10)
    with pytest.raises(ValueError, match="dialect 'table' is unknown; allowed: spline, "
                                         "recurrence"):
        export_yace(_potential(), tmp_path / "t.yace", radial="table")
    plain = ACEBasis(["Mo"], order=2, totaldegree=[5, 4], transform="polynomial",
                     pair_degree=0)
    for radial in ("spline", "recurrence"):
        with pytest.raises(ValueError, match="no active function"):
            export_yace(Potential(plain, np.zeros(len(plain))), tmp_path / "e.yace",
                        radial=radial)
    assert not list(tmp_path.iterdir())


def test_a_tolerance_below_the_rounding_floor_is_refused_before_any_bin(tmp_path):
    """Found by review (session 38): spline_rtol 1e-15 doubled the bins to max_bins (about
    10 s for the quickstart's potential) and failed; it is refused at once, as
    export.spline_rtol is in a config."""
    import time

    pot = _potential()
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"spline_rtol: found 1e-15; allowed: a number >= "
                                         r"1e-09"):
        export_yace(pot, tmp_path / "m.yace", spline_rtol=1e-15)
    assert time.perf_counter() - start < 1.0 and not (tmp_path / "m.yace").exists()
