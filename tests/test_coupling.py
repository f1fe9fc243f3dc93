"""Tests for acefit.basis.coupling: O(3) invariance, counts, independence, symmetry."""

import itertools

import numpy as np
import pytest
import sphericart
from scipy.spatial.transform import Rotation

from acefit.basis import coupling
from acefit.basis.coupling import (
    clebsch_gordan,
    count_invariants,
    coupling_coefficients,
    evaluate_coupling,
)

LMAX = 6
_SH = sphericart.SphericalHarmonics(LMAX)

# (ls, identical): ν = 1..4, repeated and distinct factors
CASES = [
    ((0,), (0,)),
    ((1, 1), (0, 0)),
    ((3, 3), (0, 1)),
    ((0, 2, 2), (0, 1, 1)),
    ((1, 1, 2), (0, 0, 1)),
    ((1, 2, 3), (0, 1, 2)),
    ((2, 2, 2), (0, 0, 0)),
    ((2, 2, 4), (0, 1, 2)),
    ((3, 3, 4), (0, 0, 1)),
    ((1, 1, 1, 1), (0, 0, 0, 0)),
    ((1, 1, 1, 1), (0, 1, 2, 3)),
    ((1, 1, 2, 2), (0, 0, 1, 1)),
    ((2, 2, 2, 2), (0, 0, 1, 1)),
    ((2, 2, 2, 2), (0, 1, 2, 3)),
    ((1, 2, 2, 3), (0, 1, 1, 2)),
    ((3, 3, 3, 3), (0, 0, 0, 0)),
    ((2, 3, 3, 4), (0, 1, 2, 3)),
]


def _densities(xyz, ls, identical, seed):
    """A_t for each factor: Σ_j w_t(r_j) Y_{l_t}(r̂_j), one random radial weight per group."""
    rng = np.random.default_rng(seed)
    r = np.linalg.norm(xyz, axis=-1)
    Y = _SH.compute(xyz.reshape(-1, 3)).reshape(xyz.shape[:-1] + (-1,))
    weights = {g: rng.normal(size=4) for g in set(identical)}
    out = []
    for l, g in zip(ls, identical):
        w = np.polynomial.polynomial.polyval(r, weights[g])
        out.append(np.einsum("...j,...jm->...m", w, Y[..., l * l : (l + 1) ** 2]))
    return out


def _environments(n_env, n_neigh=7, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_env, n_neigh, 3))
    return x / np.linalg.norm(x, axis=-1, keepdims=True) * rng.uniform(0.8, 2.0, (n_env, n_neigh, 1))


def _groups(identical):
    return [[t for t, g in enumerate(identical) if g == lab] for lab in dict.fromkeys(identical)]


def _full_tensor(C, M, ls, identical):
    """Spread each canonical term over its orbit: the dense symmetric tensor T_q."""
    T = np.zeros((C.shape[0],) + tuple(2 * l + 1 for l in ls))
    groups = _groups(identical)
    for i, m in enumerate(M):
        images = set()
        for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
            img = list(m)
            for g, p in zip(groups, choice):
                for src, dst in zip(g, p):
                    img[dst] = m[src]
            images.add(tuple(img))
        for img in images:
            T[(slice(None),) + tuple(v + l for v, l in zip(img, ls))] = C[:, i] / len(images)
    return T


def _eval_full(T, factors):
    """Σ_μ T[μ_1..μ_ν] Π_t A_t[..., μ_t] for one dense tensor T."""
    letters = "abcd"[: T.ndim]
    spec = letters + "," + ",".join("z" + c for c in letters) + "->z"
    return np.einsum(spec, T, *factors)


def _wigner_real(l, R):
    """Real-harmonic rotation matrix D with Y(R x) = D Y(x), fitted from sphericart."""
    x = np.random.default_rng(1).normal(size=(40, 3))
    Y = _SH.compute(x)[:, l * l : (l + 1) ** 2]
    YR = _SH.compute(x @ R.T)[:, l * l : (l + 1) ** 2]
    return np.linalg.lstsq(Y, YR, rcond=None)[0].T


def _brute_force_count(ls, identical):
    """dim of O(3)-invariant tensors symmetric under exchange of identical factors."""
    if sum(ls) % 2:
        return 0  # inversion acts as (-1)^Σl
    dims = tuple(2 * l + 1 for l in ls)
    # orthonormal basis of the symmetric tensors: normalised orbit indicators
    tuples = np.indices(dims).reshape(len(ls), -1).T
    rep = tuples.copy()
    for g in _groups(identical):
        rep[:, g] = np.sort(tuples[:, g], axis=1)
    _, orbit = np.unique(rep, axis=0, return_inverse=True)
    S = np.zeros((len(tuples), orbit.max() + 1))
    S[np.arange(len(tuples)), orbit.ravel()] = 1.0
    S /= np.linalg.norm(S, axis=0)
    blocks = []
    for seed in (3, 4):  # two generic rotations generate a dense subgroup of SO(3)
        R = Rotation.random(random_state=seed).as_matrix()
        K = np.ones((1, 1))
        for l in ls:
            K = np.kron(K, _wigner_real(l, R))
        blocks.append(K @ S - S)
    s = np.linalg.svd(np.vstack(blocks), compute_uv=False)
    return int(np.sum(s < 1e-8))


def _random_orthogonal(seed, reflect):
    R = Rotation.random(random_state=seed).as_matrix()
    return R @ np.diag([1.0, 1.0, -1.0]) if reflect else R


@pytest.mark.parametrize("ls, identical", CASES)
def test_invariance_under_rotations_and_reflections(ls, identical):
    C, M = coupling_coefficients(ls, identical)
    assert C.shape[0] >= 1
    xyz = _environments(5)
    B = evaluate_coupling(C, M, ls, _densities(xyz, ls, identical, seed=11))
    scale = np.max(np.abs(B))
    assert scale > 1e-3
    for seed, reflect in [(0, False), (1, False), (2, True), (5, True)]:
        Q = _random_orthogonal(seed, reflect)
        Bq = evaluate_coupling(C, M, ls, _densities(xyz @ Q.T, ls, identical, seed=11))
        np.testing.assert_allclose(Bq, B, rtol=0, atol=1e-10 * scale)


def test_inversion_alone():
    ls, ident = (1, 2, 3), (0, 1, 2)
    C, M = coupling_coefficients(ls, ident)
    xyz = _environments(4)
    B = evaluate_coupling(C, M, ls, _densities(xyz, ls, ident, seed=2))
    Bi = evaluate_coupling(C, M, ls, _densities(-xyz, ls, ident, seed=2))
    np.testing.assert_allclose(Bi, B, atol=1e-12 * np.max(np.abs(B)))


def test_clebsch_gordan_matches_sympy():
    from sympy.physics.wigner import clebsch_gordan as sympy_cg

    for l1, l2, L in [(1, 1, 0), (1, 1, 1), (1, 2, 2), (2, 2, 3), (3, 2, 4), (4, 3, 3), (3, 3, 6)]:
        cg = clebsch_gordan(l1, l2, L)
        for m1, m2 in itertools.product(range(-l1, l1 + 1), range(-l2, l2 + 1)):
            if abs(m1 + m2) <= L:
                ref = float(sympy_cg(l1, l2, L, m1, m2, m1 + m2))
                assert abs(cg[m1 + l1, m2 + l2, m1 + m2 + L] - ref) < 1e-13


def test_clebsch_gordan_orthogonal_at_high_degree():
    # unitarity of the full l1 ⊗ l2 → ⊕L change of basis, at the largest degrees used
    l1, l2 = 16, 15
    U = np.concatenate(
        [clebsch_gordan(l1, l2, L).reshape(-1, 2 * L + 1) for L in range(1, 32)], axis=1
    )
    np.testing.assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-12)


def test_nu3_counts_triangle_and_parity():
    for ls in itertools.product(range(6), repeat=3):
        expected = int(abs(ls[0] - ls[1]) <= ls[2] <= ls[0] + ls[1] and sum(ls) % 2 == 0)
        assert count_invariants(ls, (0, 1, 2)) == expected, ls


def test_nu1_nu2():
    C, M = coupling_coefficients((0,), ("a",))
    assert C.shape == (1, 1) and M.tolist() == [[0]] and C[0, 0] == 1.0
    assert count_invariants((2,), (0,)) == 0
    for l in range(5):
        assert count_invariants((l, l), (0, 0)) == 1
        assert count_invariants((l, l), (0, 1)) == 1
        assert count_invariants((l, l + 2), (0, 1)) == 0


@pytest.mark.parametrize(
    "ls, identical",
    [
        ((1, 1, 2), (0, 0, 1)),
        ((2, 2, 2), (0, 0, 0)),
        ((3, 3, 2), (0, 0, 1)),
        ((3, 3, 4), (0, 0, 1)),
        ((2, 2, 1, 1), (0, 0, 1, 2)),
        ((3, 3, 0), (0, 0, 1)),
        ((1, 1, 1, 1), (0, 0, 0, 0)),
        ((1, 1, 1, 1), (0, 0, 1, 1)),
        ((1, 1, 1, 1), (0, 0, 0, 1)),
        ((1, 1, 1, 1), (0, 1, 2, 3)),
        ((1, 1, 2, 2), (0, 0, 1, 1)),
        ((1, 1, 2, 2), (0, 1, 2, 3)),
        ((2, 2, 2, 2), (0, 0, 0, 0)),
        ((2, 2, 2, 2), (0, 0, 0, 1)),
        ((2, 2, 2, 2), (0, 0, 1, 1)),
        ((2, 2, 2, 2), (0, 1, 2, 3)),
        ((1, 2, 2, 1), (0, 1, 1, 2)),  # identical factors need not be adjacent
    ],
)
def test_counts_and_span_match_brute_force(ls, identical):
    C, M = coupling_coefficients(ls, identical)
    n_ref = _brute_force_count(ls, identical)
    assert C.shape[0] == n_ref
    # the dense symmetric tensors are orthonormal (documented normalisation)
    assert n_ref >= 1
    T = _full_tensor(C, M, ls, identical).reshape(C.shape[0], -1)
    np.testing.assert_allclose(T @ T.T, np.eye(C.shape[0]), atol=1e-12)


def test_distinct_factors_span_all_intermediate_couplings():
    for ls in [(1, 1, 1, 1), (1, 2, 2, 3), (2, 2, 3, 3), (2, 3, 4, 5)]:
        n_L = len(range(max(ls[1] - ls[0], ls[3] - ls[2]), min(ls[0] + ls[1], ls[2] + ls[3]) + 1))
        assert count_invariants(ls, (0, 1, 2, 3)) == (n_L if sum(ls) % 2 == 0 else 0)


@pytest.mark.parametrize("ls, identical", [c for c in CASES if count_invariants(*c) > 1])
def test_linear_independence_over_environments(ls, identical):
    C, M = coupling_coefficients(ls, identical)
    xyz = _environments(60, seed=3)
    B = evaluate_coupling(C, M, ls, _densities(xyz, ls, identical, seed=5))
    s = np.linalg.svd(B / np.linalg.norm(B, axis=0), compute_uv=False)
    assert s[-1] > 1e-6 * s[0]


@pytest.mark.parametrize("ls, identical", [c for c in CASES if len(set(c[1])) < len(c[1])])
def test_permutation_symmetry(ls, identical):
    C, M = coupling_coefficients(ls, identical)
    T = _full_tensor(C, M, ls, identical)
    xyz = _environments(3, seed=9)
    # distinct data per position: values must not change when identical positions swap data
    factors = _densities(xyz, ls, tuple(range(len(ls))), seed=4)
    ref = np.stack([_eval_full(T[q], factors) for q in range(len(T))], axis=-1)
    for g in _groups(identical):
        for p in itertools.permutations(g):
            swapped = list(factors)
            for src, dst in zip(g, p):
                swapped[dst] = factors[src]
            val = np.stack([_eval_full(T[q], swapped) for q in range(len(T))], axis=-1)
            np.testing.assert_allclose(val, ref, atol=1e-12 * np.max(np.abs(ref)))
    # the canonical-term representation equals the dense symmetric tensor for identical data
    same = _densities(xyz, ls, identical, seed=4)
    dense = np.stack([_eval_full(T[q], same) for q in range(len(T))], axis=-1)
    np.testing.assert_allclose(evaluate_coupling(C, M, ls, same), dense, atol=1e-12 * np.max(np.abs(dense)))


def test_canonical_terms_are_unique_and_sorted_within_groups():
    ls, identical = (2, 2, 2, 2), (0, 0, 1, 1)
    C, M = coupling_coefficients(ls, identical)
    assert len({tuple(m) for m in M}) == len(M)
    assert np.all(M[:, 0] <= M[:, 1]) and np.all(M[:, 2] <= M[:, 3])
    assert np.all(np.abs(M) <= np.array(ls))
    # fewer terms than the unsymmetrised coupling of distinct factors
    assert M.shape[0] < coupling_coefficients(ls, (0, 1, 2, 3))[1].shape[0]


def test_odd_sum_is_empty():
    for ls, ident in [((1,), (0,)), ((1, 2), (0, 1)), ((1, 1, 1), (0, 1, 2)), ((1, 1, 2, 3), (0, 0, 1, 2))]:
        C, M = coupling_coefficients(ls, ident)
        assert C.shape == (0, 0) and M.shape == (0, len(ls))


def test_identity_labels_are_canonicalised():
    a = coupling_coefficients((1, 1, 2), ("x", "x", "y"))
    b = coupling_coefficients((1, 1, 2), (7, 7, 3))
    assert a[0] is b[0] and a[1] is b[1]


@pytest.mark.parametrize(
    "ls, identical, match",
    [
        ((-1, 1), (0, 1), "non-negative"),
        ((1.5, 1), (0, 1), "non-negative integers"),
        ((1, 1), (0,), "one label per factor"),
        ((1, 1, 1, 1, 2), (0, 1, 2, 3, 4), "allowed 1..4"),
        ((), (), "allowed 1..4"),
        ((1, 2), (0, 0), "same l"),
        (3, (0,), "sequences"),
    ],
)
def test_bad_input(ls, identical, match):
    with pytest.raises(ValueError, match=match):
        coupling_coefficients(ls, identical)


def test_deterministic_and_read_only():
    for ls, ident in [((2, 3, 3), (0, 1, 1)), ((2, 2, 3, 3), (0, 0, 1, 1))]:
        C1, M1 = coupling_coefficients(ls, ident)
        coupling._coupling.cache_clear()
        coupling._invariant_candidates.cache_clear()
        coupling.real_clebsch_gordan.cache_clear()
        coupling.clebsch_gordan.cache_clear()
        C2, M2 = coupling_coefficients(ls, ident)
        assert C1 is not C2
        assert C1.tobytes() == C2.tobytes() and M1.tobytes() == M2.tobytes()
        with pytest.raises(ValueError):
            C2[0, 0] = 1.0
