"""Radial basis: transforms, envelopes, recurrence, derivatives, per-pair parameters."""

import re

import numpy as np
import pytest

from acefit.basis.radial import RadialBasis, default_r0, legendre_recurrence, polynomials
from acefit.elements import pair_name

CU, AU = 29, 79


def _fd(rb, r, zi, zj, h=1e-6):
    Rp, _ = rb.evaluate(r + h, zi, zj)
    Rm, _ = rb.evaluate(r - h, zi, zj)
    return (Rp - Rm) / (2 * h)


CASES = [dict(transform="agnesi"), dict(transform="polynomial"),
         dict(transform="agnesi", envelope="x", pair_envelope="y"),
         dict(transform="polynomial", p=3, envelope="y", pair_envelope="x", rin=0.8)]


@pytest.mark.parametrize("kw", CASES)
def test_derivatives_match_finite_differences(kw):
    rb = RadialBasis((CU,), nmax=8, npair=5, rcut=5.0, **kw)
    r = np.linspace(1.0, 4.95, 40)
    z = np.zeros(len(r), dtype=int)
    R, dR = rb.evaluate(r, z, z)
    assert R.shape == dR.shape == (40, 13)
    np.testing.assert_allclose(dR, _fd(rb, r, z, z), rtol=1e-6, atol=1e-6 * np.abs(dR).max())


@pytest.mark.parametrize("kw", CASES)
def test_zero_value_and_slope_at_cutoff(kw):
    rb = RadialBasis((CU,), nmax=8, npair=5, rcut=5.0, **kw)
    scale = np.abs(rb.evaluate(np.linspace(1, 4.9, 30), np.zeros(30, int),
                               np.zeros(30, int))[0]).max()
    for eps in (1e-3, 1e-4):
        R, dR = rb.evaluate(np.array([5.0 - eps]), [0], [0])
        assert np.abs(R).max() < 50 * eps**2 * scale
        assert np.abs(dR).max() < 50 * eps * scale
    R, dR = rb.evaluate(np.array([5.0, 5.3]), [0, 0], [0, 0])
    assert not R.any() and not dR.any()


def test_recurrence_is_orthonormal_legendre_and_stored():
    A, B, C = legendre_recurrence(12)
    x, w = np.polynomial.legendre.leggauss(30)
    P, dP = polynomials(x, A, B, C)
    np.testing.assert_allclose(P.T @ (w[:, None] * P), np.eye(12), atol=1e-12)
    ref = np.polynomial.legendre.legvander(x, 11) * np.sqrt(np.arange(12) + 0.5)
    np.testing.assert_allclose(P, ref, atol=1e-12)
    h = 1e-6
    np.testing.assert_allclose(dP, (polynomials(x + h, A, B, C)[0]
                                    - polynomials(x - h, A, B, C)[0]) / (2 * h), atol=1e-6)
    rb = RadialBasis((CU,), nmax=12, rcut=5.0)
    assert np.array_equal(rb.A, A) and np.array_equal(rb.B, B) and np.array_equal(rb.C, C)


def test_x_map_endpoints_and_agnesi_a_maximises_slope_at_r0():
    rb = RadialBasis((CU,), nmax=4, rcut=5.5, rin=0.0)
    r0 = rb.r0[0, 0]
    x, dx = rb.x_of_r(np.array([0.0, 5.5]), np.array([0, 0]))
    np.testing.assert_allclose(x, [-1.0, 1.0], atol=1e-12)
    slope = lambda a: abs(RadialBasis((CU,), 4, rcut=5.5, a=a).x_of_r(  # noqa: E731
        np.array([r0]), np.array([0]))[1][0])
    best = slope(rb.a[0, 0])
    for factor in (0.7, 0.9, 1.1, 1.4):
        assert slope(rb.a[0, 0] * factor) < best
    # monotone decreasing y: x increasing in r
    xs, _ = rb.x_of_r(np.linspace(0.1, 5.5, 200), np.zeros(200, int))
    assert np.all(np.diff(xs) > 0)


def test_polynomial_transform_formula():
    rb = RadialBasis((CU,), nmax=3, rcut=5.0, r0=2.5, p=2, transform="polynomial")
    r = np.array([0.0, 1.7, 5.0])
    t = ((1 + 2.5) / (1 + r)) ** 2
    x, _ = rb.x_of_r(r, np.zeros(3, int))
    np.testing.assert_allclose(x, -1 + 2 * (t - t[0]) / (t[2] - t[0]), atol=1e-14)


def test_repulsive_pair_envelope_matches_appendix_a():
    rb = RadialBasis((CU,), nmax=0, npair=1, rcut=5.0, r0=2.5)
    r = np.array([1.0, 2.5, 4.0])
    R, _ = rb.evaluate(r, np.zeros(3, int), np.zeros(3, int))
    f = (r / 2.5) ** -1 - (5 / 2.5) ** -1 + (5 / 2.5) ** -2 * (r / 2.5 - 5 / 2.5)
    np.testing.assert_allclose(R[:, 0], f * np.sqrt(0.5), rtol=1e-13)
    # repulsive: grows without bound as r -> 0
    assert rb.evaluate(np.array([0.1]), [0], [0])[0][0, 0] > 10 * R[0, 0]


def test_per_pair_parameters():
    rb = RadialBasis((CU, AU), nmax=3, rcut={("Cu", "Au"): 4.0, "default": 5.0},
                     r0={(CU, CU): 2.5, (AU, AU): 2.9, (CU, AU): 2.7})
    assert rb.rcut[0, 1] == rb.rcut[1, 0] == 4.0 and rb.rcut[0, 0] == 5.0
    assert rb.r0[1, 1] == 2.9 and rb.r0[0, 1] == 2.7
    assert rb.pair_values("r0") == {"Cu-Cu": 2.5, "Cu-Au": 2.7, "Au-Au": 2.9}
    assert pair_name(CU, "Au") == pair_name("Cu", np.int64(AU)) == "Cu-Au"    # the keys' form
    # the config's form, "Cu-Au", names the same pairs
    assert RadialBasis((CU, AU), nmax=3, rcut=5.0, r0={"Cu-Cu": 2.5, "Au-Au": 2.9,
                                                       "Au-Cu": 2.7}).r0.tolist() == rb.r0.tolist()
    R, _ = rb.evaluate(np.array([4.5, 4.5]), np.array([0, 0]), np.array([0, 1]))
    assert R[0].any() and not R[1].any()
    # round trip
    rb2 = RadialBasis.from_dict((CU, AU), rb.to_dict())
    r = np.linspace(1, 4.9, 7)
    z = np.array([0, 1, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(rb.evaluate(r, z, z[::-1])[0], rb2.evaluate(r, z, z[::-1])[0])


def test_default_r0_is_a_bond_length():
    assert 2.6 < default_r0(42, 42) < 2.8      # bcc Mo nearest neighbour 2.72 Å
    assert 2.5 < default_r0(29, 29) < 2.6      # fcc Cu 2.55 Å
    assert 0.5 < default_r0(1, 8) < 2.0


@pytest.mark.parametrize("kw, match", [
    (dict(rcut=-1.0), "rin < r0 < rcut"),
    (dict(rcut=5.0, r0=6.0), "rin < r0 < rcut"),
    (dict(transform="morse"), "transform"),
    (dict(envelope="z"), "envelope"),
    (dict(rcut={("Cu", "Ag"): 5.0}), "not in the basis"),
    (dict(rcut={"default": float("nan")}), "finite"),
    (dict(rcut="5"), "rcut"),
    (dict(rcut={"Cu-Cu": 5.0, ("Cu", "Cu"): 4.0}), "given twice"),
    (dict(rcut={"Cu-Cu-Cu": 5.0}), "element pairs like"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        RadialBasis((CU,), nmax=3, **kw)


def test_a_bad_distance_names_its_pair():
    """The error listed the three pair tables whole, numbered by position (found in
    session 28: only configs were checked pair by pair, with key names)."""
    with pytest.raises(ValueError, match=re.escape(
            "need 0 <= rin < r0 < rcut for every element pair (r0: each pair's "
            "reference-crystal distance); found Cu-Cu: rin 0, r0 2.553, rcut 2.5") + "$"):
        RadialBasis((CU, AU), nmax=3, rcut={"Cu-Cu": 2.5, "default": 5.0})
    with pytest.raises(ValueError, match=re.escape("element pair; found Cu-Au: rin 1, r0 0.9, "
                                                   "rcut 5")):
        RadialBasis((CU, AU), nmax=3, rcut=5.0, rin=1.0, r0={"Cu-Au": 0.9, "default": 3.0})


# -- orthonormal families (ACE1/ACE1x's transformed_jacobi) ----------------------------
ORTH = {"nmax": 10, "npair": 6, "rcut": {"default": 5.0, (CU, AU): 5.5}, "envelope": "x",
        "orthonormal": True}


def _mean_over_x(rb, a, b, n=400_001):
    """(1/2) int_{-1}^{1} R_i R_j dx by the trapezoid rule on a fine grid in r: an
    independent check of the Gauss rule the basis uses."""
    pt = rb.pair_type(a, b)
    r = np.linspace(rb.rin[a, b], rb.rcut[a, b], n)[1:-1]
    zi, zj = np.full(len(r), a), np.full(len(r), b)
    R, _ = rb.evaluate(r, zi, zj)
    x, _ = rb.x_of_r(r, np.full(len(r), pt))
    w = 0.5 * np.gradient(x)
    return (R * w[:, None]).T @ R


@pytest.mark.parametrize("pair_envelope", ["repulsive", "y"])
def test_orthonormal_families_are_orthonormal_per_pair(pair_envelope):
    rb = RadialBasis((CU, AU), pair_envelope=pair_envelope, **ORTH)
    for a, b in [(0, 0), (0, 1), (1, 1)]:
        G = _mean_over_x(rb, a, b)
        np.testing.assert_allclose(G[:10, :10], np.eye(10), atol=1e-6)
        np.testing.assert_allclose(G[10:, 10:], np.eye(6), atol=1e-6)


def test_orthonormal_families_keep_the_span_of_each_degree():
    kw = {**ORTH, "rcut": 5.0}
    plain = RadialBasis((CU,), **{**kw, "orthonormal": False})
    orth = RadialBasis((CU,), **kw)
    r = np.linspace(0.8, 4.99, 300)
    z = np.zeros(len(r), dtype=int)
    R0, _ = plain.evaluate(r, z, z)
    R1, dR1 = orth.evaluate(r, z, z)
    for fam in (slice(0, 10), slice(10, 16)):
        # each orthonormal function n is a combination of the plain ones up to n
        T, *_ = np.linalg.lstsq(R0[:, fam], R1[:, fam], rcond=None)
        np.testing.assert_allclose(R0[:, fam] @ T, R1[:, fam], atol=1e-9)
        np.testing.assert_allclose(np.tril(T, -1), 0.0, atol=1e-7 * np.abs(T).max())
    np.testing.assert_allclose(dR1, _fd(orth, r, z, z), rtol=1e-6,
                               atol=1e-6 * np.abs(dR1).max())


def test_orthonormal_round_trip_and_refusals():
    rb = RadialBasis((CU, AU), **ORTH)
    again = RadialBasis.from_dict((CU, AU), rb.to_dict())
    assert again.orthonormal and again.to_dict() == rb.to_dict()
    r = np.linspace(1.0, 5.2, 20)
    zi, zj = np.zeros(20, int), np.ones(20, int)
    np.testing.assert_array_equal(again.evaluate(r, zi, zj)[0], rb.evaluate(r, zi, zj)[0])
    assert "orthonormal" not in RadialBasis((CU,), nmax=4).to_dict()
    with pytest.raises(ValueError, match="pure2b"):
        RadialBasis((CU,), nmax=4, diagonal={2: 3}, orthonormal=True)


def test_pair_column_is_the_pair_function_in_evaluate():
    rb = RadialBasis((CU,), nmax=8, npair=5, rcut=5.0, pair_envelope="x", envelope="x")
    plain = RadialBasis((CU,), nmax=5, rcut=5.0, envelope="x")  # R_n is the "x" pair function n
    r = np.linspace(1.5, 4.9, 7)
    z = np.zeros(len(r), dtype=int)
    R, _ = rb.evaluate(r, z, z)
    P, _ = plain.evaluate(r, z, z)
    assert [rb.pair_column(n) for n in (1, 5)] == [8, 12]
    np.testing.assert_allclose(R[:, rb.pair_column(3)], P[:, 2], rtol=1e-13)
    with pytest.raises(ValueError, match="no pair function 6"):
        rb.pair_column(6)
