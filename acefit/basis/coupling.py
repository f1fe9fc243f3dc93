"""O(3)-invariant coupling coefficients for products of real spherical harmonics.

An ACE basis function of correlation order ν couples ν one-particle densities
``A_t[m] = Σ_j R_t(r_ij) Y_{l_t m}(r̂_ij)`` (real spherical harmonics in the
sphericart convention, ``m = -l..l``) into rotation- and reflection-invariant
polynomials::

    B_q = Σ_i C[q, i] Π_t A_t[M[i, t]]

:func:`coupling_coefficients` returns ``(C, M)`` for given degrees ``ls`` and a
pattern of identical factors. Construction:

1. complex Clebsch–Gordan coefficients as eigenvectors of J² in each block of
   fixed M (backward stable for any l), signs by the Condon–Shortley rule;
2. the unitary complex→real transform of the sphericart convention gives real
   intertwiners ``G^{l1 l2 L}`` (a global phase is removed; the imaginary
   remainder is asserted to vanish);
3. invariants: ν=1 ``l=0``; ν=2 ``δ``; ν=3 ``G^{l1 l2 l3}``; ν=4
   ``Σ_μ G^{l1 l2 L}[.., μ] G^{l3 l4 L}[.., μ]`` for every admissible intermediate L;
4. symmetrisation over permutations of identical factors, then a rank-revealing
   reduction (classical Gram–Schmidt with re-orthogonalisation in the order of
   increasing L, dropping candidates whose residual norm is below ``RANK_RTOL``,
   the candidates having unit norm before symmetrisation; cross-checked against
   the SVD rank at the same tolerance);
5. the symmetric tensors are stored once per canonical m-tuple (see
   :func:`coupling_coefficients`).

Results are cached (``functools.lru_cache``) on ``(ls, canonical identity pattern)``.

Cold build time (fresh process, 2-core machine), calling coupling_coefficients once
for every (ls, identity pattern) of a one-element basis with Σ(n + 1.5 l) ≤ D, n ≥ 1,
Σl even: order 3, D = 25 (≈5300 functions, 176 keys) 0.14 s; order 4, D = 12 (70 keys)
0.05 s; order 4, D = 20 (251 keys) 0.15 s. Single worst cases: (16, 16, 16) 0.05 s,
(8, 8, 8, 8) with distinct factors 0.5 s.

Tolerances, measured over ν = 3 (l ≤ 16) and ν = 4 (l ≤ 6) with several identity
patterns: kept Gram–Schmidt residuals ≥ 0.084, dropped ones ≤ 2.3e-14 (``RANK_RTOL``
= 1e-8 sits in the gap); genuine coefficients ≥ 4.4e-6 of their row maximum, rounding
noise ≤ 2.7e-15 (``DROP_RTOL`` = 1e-12). Invariance error at l = 16: ~1e-14 relative.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Hashable, Sequence

import numpy as np

__all__ = [
    "coupling_coefficients",
    "count_invariants",
    "evaluate_coupling",
    "clebsch_gordan",
    "real_clebsch_gordan",
    "MAX_ORDER",
    "RANK_RTOL",
    "DROP_RTOL",
]

MAX_ORDER = 4
#: residual norm below which a symmetrised candidate (unit norm before symmetrisation)
#: counts as dependent
RANK_RTOL = 1e-8
#: coefficients smaller than this fraction of the row maximum are rounding noise, set to 0
DROP_RTOL = 1e-12
_REAL_ATOL = 1e-12


# --------------------------------------------------------------------------- CG
@lru_cache(maxsize=None)
def clebsch_gordan(l1: int, l2: int, L: int) -> np.ndarray:
    """Complex-basis Clebsch–Gordan coefficients ``<l1 m1 l2 m2 | L M>``.

    Condon–Shortley convention (``<l1 l1 l2 L-l1 | L L> > 0``).

    Returns
    -------
    ndarray, shape (2l1+1, 2l2+1, 2L+1)
        Indexed by ``m1 + l1, m2 + l2, M + L``; zero unless ``M = m1 + m2``.
        Read-only (cached).
    """
    if not (abs(l1 - l2) <= L <= l1 + l2):
        raise ValueError(f"no coupling of l1={l1}, l2={l2} to L={L} (triangle rule)")
    return _clebsch_gordan_all(l1, l2)[L - abs(l1 - l2)]


@lru_cache(maxsize=None)
def _clebsch_gordan_all(l1: int, l2: int) -> tuple[np.ndarray, ...]:
    """CG tables for every L in |l1-l2|..l1+l2.

    In each block of fixed M = m1 + m2, the coefficients of all L are the
    eigenvectors of J² (a symmetric tridiagonal matrix with eigenvalues L(L+1)):
    backward stable for any l, unlike lowering from |L L>, which drifts into
    higher-L states at large l. The sign of each |L M> is fixed by the
    Condon–Shortley rule at M = L and by ``<L M-1| J- |L M> > 0`` below.
    """
    n1, n2, lmax = 2 * l1 + 1, 2 * l2 + 1, l1 + l2
    lmin = abs(l1 - l2)
    out = tuple(np.zeros((n1, n2, 2 * L + 1)) for L in range(lmin, lmax + 1))
    prev_m1 = prev_vec = None
    for M in range(lmax, -lmax - 1, -1):
        m1 = np.arange(max(-l1, M - l2), min(l1, M + l2) + 1)
        m2 = M - m1
        k = len(m1)
        # J² = J1² + J2² + 2 J1z J2z + J1+ J2- + J1- J2+ in the basis |m1, M-m1>
        off = _raise(l1, m1[:-1]) * _lower(l2, m2[:-1])
        j2 = np.diag(l1 * (l1 + 1.0) + l2 * (l2 + 1.0) + 2.0 * m1 * m2)
        j2 += np.diag(off, 1) + np.diag(off, -1)
        eig, vec = np.linalg.eigh(j2)
        Ls = np.arange(lmax - k + 1, lmax + 1)  # ascending, like eig
        if np.max(np.abs(eig - Ls * (Ls + 1.0))) > 1e-8 * (lmax + 1) ** 2:
            raise AssertionError(f"CG ({l1}, {l2}), M={M}: J² spectrum {eig} is not L(L+1)")
        if prev_vec is None:
            vec = np.abs(vec)
        else:
            # J- applied to the block-(M+1) states, expressed in the block-M basis
            low = np.zeros((k, prev_vec.shape[1]))
            i1 = prev_m1 - 1 - m1[0]  # J1-: m1 -> m1 - 1
            ok = (i1 >= 0) & (i1 < k)
            low[i1[ok]] += _lower(l1, prev_m1[ok])[:, None] * prev_vec[ok]
            i2 = prev_m1 - m1[0]  # J2-: m2 -> m2 - 1
            ok = (i2 >= 0) & (i2 < k)
            low[i2[ok]] += _lower(l2, M + 1 - prev_m1[ok])[:, None] * prev_vec[ok]
            nc = min(k, prev_vec.shape[1])
            vec[:, k - nc :] *= np.sign(np.sum(vec[:, k - nc :] * low[:, low.shape[1] - nc :], axis=0))
            if k > nc:  # new highest-weight state L = M: entry at m1 = l1 positive
                vec[:, 0] *= np.sign(vec[-1, 0])
        for j, L in enumerate(Ls):
            out[L - lmin][m1 + l1, m2 + l2, M + L] = vec[:, j]
        prev_m1, prev_vec = m1, vec
    for t in out:
        t.flags.writeable = False
    return out


def _raise(l, m):
    """Matrix element of J+ from m to m+1."""
    return np.sqrt((l - m) * (l + m + 1.0))


def _lower(l, m):
    """Matrix element of J- from m to m-1."""
    return np.sqrt((l + m) * (l - m + 1.0))


def _to_real(t: np.ndarray, axis: int, l: int, conj: bool) -> np.ndarray:
    """Change one axis of ``t`` from complex to real (sphericart) harmonics.

    Real harmonics: ``Y^R_μ = Σ_m U_{μm} Y_m`` with (Condon–Shortley complex Y)
    ``μ<0: (i/√2)(Y_μ - (-1)^μ Y_{-μ})``, ``μ=0: Y_0``, ``μ>0: (1/√2)(Y_{-μ} + (-1)^μ Y_μ)``.
    ``conj=False`` applies ``U`` to the axis (a covariant index, ``T^R = U T``);
    ``conj=True`` applies ``U^* `` (``T^R_μ = Σ_m T_m conj(U_{μm})``), the
    transform of a coefficient contracted with ``Y_m``.
    """
    mu = np.arange(-l, l + 1)
    sign = (-1.0) ** np.abs(mu)
    s2 = 1.0 / math.sqrt(2.0)
    # U_{μ, μ} and U_{μ, -μ}
    diag = np.where(mu < 0, 1j * s2, np.where(mu > 0, sign * s2, 1.0)).astype(complex)
    anti = np.where(mu < 0, -1j * s2 * sign, np.where(mu > 0, s2, 0.0)).astype(complex)
    if conj:
        diag, anti = diag.conj(), anti.conj()
    t = np.moveaxis(t, axis, -1)
    out = t * diag + t[..., ::-1] * anti
    return np.moveaxis(out, -1, axis)


@lru_cache(maxsize=None)
def real_clebsch_gordan(l1: int, l2: int, L: int) -> np.ndarray:
    """Real intertwiner ``G`` from real harmonics of degrees l1 ⊗ l2 to degree L.

    ``T_μ = Σ G[μ1, μ2, μ] Y_{l1 μ1}(a) Y_{l2 μ2}(b)`` transforms like ``Y_{L μ}``
    under rotations (real sphericart harmonics). ``G`` is an isometry
    (``Σ_{μ1 μ2} G[.., μ] G[.., μ'] = δ_{μμ'}``), real, defined up to a global
    sign, which is fixed by making the first entry above 1e-6 of the maximum positive.

    Returns
    -------
    ndarray, shape (2l1+1, 2l2+1, 2L+1), read-only (cached)
    """
    g = clebsch_gordan(l1, l2, L).astype(complex)
    g = _to_real(g, 0, l1, conj=True)
    g = _to_real(g, 1, l2, conj=True)
    g = _to_real(g, 2, L, conj=False)
    g = _remove_phase(g, f"real CG ({l1}, {l2}, {L})")
    g.flags.writeable = False
    return g


def _remove_phase(t: np.ndarray, what: str) -> np.ndarray:
    """Divide a complex tensor that is a phase times a real one by that phase."""
    flat = t.ravel()
    big = flat[np.argmax(np.abs(flat))]
    real = t / (big / abs(big))
    bad = np.max(np.abs(real.imag))
    if bad > _REAL_ATOL * abs(big):
        raise AssertionError(f"{what}: not real up to a phase (|Im| = {bad:.3e})")
    return _fix_sign(np.ascontiguousarray(real.real))


def _fix_sign(t: np.ndarray) -> np.ndarray:
    flat = t.ravel()
    first = flat[np.flatnonzero(np.abs(flat) > 1e-6 * np.max(np.abs(flat)))[0]]
    return t if first > 0 else -t


# ------------------------------------------------------------------ invariants
@lru_cache(maxsize=None)
def _invariant_candidates(ls: tuple[int, ...]) -> np.ndarray:
    """Unsymmetrised O(3) invariants, shape (k, 2l1+1, ..., 2lν+1), unit norm.

    Empty (k = 0) if Σl is odd (not reflection invariant) or no coupling exists.
    For ν = 4 one candidate per intermediate L, in increasing L.
    """
    dims = tuple(2 * l + 1 for l in ls)
    nu = len(ls)
    cands: list[np.ndarray] = []
    if sum(ls) % 2 == 0:
        if nu == 1:
            if ls[0] == 0:
                cands.append(np.ones(1))
        elif nu == 2:
            if ls[0] == ls[1]:
                cands.append(np.eye(dims[0]))
        elif nu == 3:
            l1, l2, l3 = ls
            if abs(l1 - l2) <= l3 <= l1 + l2:
                cands.append(real_clebsch_gordan(l1, l2, l3))
        else:
            l1, l2, l3, l4 = ls
            for L in range(max(abs(l1 - l2), abs(l3 - l4)), min(l1 + l2, l3 + l4) + 1):
                g12 = real_clebsch_gordan(l1, l2, L)
                g34 = real_clebsch_gordan(l3, l4, L)
                cands.append(np.tensordot(g12, g34, axes=([2], [2])))
    out = np.zeros((len(cands),) + dims)
    for k, c in enumerate(cands):
        out[k] = c / np.linalg.norm(c)
    out.flags.writeable = False
    return out


def _groups(pattern: tuple[int, ...]) -> list[list[int]]:
    """Positions of each identity group, in order of first appearance."""
    return [[t for t, p in enumerate(pattern) if p == g] for g in range(max(pattern) + 1)]


def _symmetry_perms(pattern: tuple[int, ...]) -> list[tuple[int, ...]]:
    """All axis permutations that only exchange identical factors."""
    groups = _groups(pattern)
    perms = []
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        perm = list(range(len(pattern)))
        for g, p in zip(groups, choice):
            for src, dst in zip(g, p):
                perm[src] = dst
        perms.append(tuple(perm))
    return perms


def _rank_reduce(vecs: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the row span, by Gram–Schmidt in the given order.

    ``vecs`` are symmetrised unit-norm candidates; symmetrisation can shrink a
    candidate to rounding noise, so the tolerance is absolute (relative to the
    candidates' norm before symmetrisation, 1).
    """
    basis: list[np.ndarray] = []
    for v in vecs:
        w = v.copy()
        for _ in range(2):  # twice is enough (re-orthogonalisation)
            for b in basis:
                w -= (b @ w) * b
        if np.linalg.norm(w) > RANK_RTOL:
            basis.append(_fix_sign(w / np.linalg.norm(w)))
    out = np.array(basis).reshape(len(basis), vecs.shape[1])
    s = np.linalg.svd(vecs, compute_uv=False)
    svd_rank = int(np.sum(s > RANK_RTOL))
    if svd_rank != len(out):
        raise AssertionError(f"rank mismatch: Gram–Schmidt {len(out)} vs SVD {svd_rank} (s = {s})")
    return out


@lru_cache(maxsize=None)
def _coupling(ls: tuple[int, ...], pattern: tuple[int, ...]):
    nu = len(ls)
    cands = _invariant_candidates(ls)
    empty = (np.zeros((0, 0)), np.zeros((0, nu), dtype=np.int64))
    if len(cands) == 0:
        return _freeze(*empty)
    dims = cands.shape[1:]
    perms = _symmetry_perms(pattern)
    # symmetrise: average over exchanges of identical factors (axis 0 is the candidate)
    sym = sum(np.transpose(cands, (0,) + tuple(p + 1 for p in perm)) for perm in perms)
    sym = sym.reshape(len(cands), -1) / len(perms)
    rows = _rank_reduce(sym)
    if len(rows) == 0:
        return _freeze(*empty)
    # store each canonical m-tuple once, with the summed weight of its orbit
    idx = np.indices(dims).reshape(nu, -1).T  # all tuples, lexicographic
    canonical = np.ones(len(idx), dtype=bool)
    orbit = np.ones(len(idx), dtype=np.int64)
    for g in _groups(pattern):
        sub = idx[:, g]
        canonical &= np.all(sub[:, 1:] >= sub[:, :-1], axis=1)
        orbit *= _multinomial(sub)
    coef = rows[:, canonical] * orbit[canonical]
    tuples = idx[canonical]
    scale = np.max(np.abs(coef), axis=1, keepdims=True)
    coef[np.abs(coef) <= DROP_RTOL * scale] = 0.0
    keep = np.any(coef != 0.0, axis=0)
    C = np.ascontiguousarray(coef[:, keep])
    M = np.ascontiguousarray(tuples[keep] - np.asarray(ls), dtype=np.int64)
    return _freeze(C, M)


def _multinomial(sub: np.ndarray) -> np.ndarray:
    """Number of distinct orderings of each row of ``sub``."""
    k = sub.shape[1]
    out = np.full(len(sub), math.factorial(k), dtype=np.int64)
    srt = np.sort(sub, axis=1)
    # run lengths of equal values in each sorted row
    for v in np.unique(srt):
        cnt = np.sum(srt == v, axis=1)
        out //= np.array([math.factorial(c) for c in range(k + 1)])[cnt]
    return out


def _freeze(C: np.ndarray, M: np.ndarray):
    C.flags.writeable = False
    M.flags.writeable = False
    return C, M


# ------------------------------------------------------------------ public API
def _validate(ls, identical) -> tuple[tuple[int, ...], tuple[int, ...]]:
    try:
        ls_t = tuple(ls)
        ident_t = tuple(identical)
    except TypeError:
        raise ValueError(
            f"ls and identical must be sequences, got ls={ls!r}, identical={identical!r}"
        ) from None
    nu = len(ls_t)
    if not 1 <= nu <= MAX_ORDER:
        raise ValueError(f"correlation order len(ls)={nu} not supported: allowed 1..{MAX_ORDER} (ls={ls_t})")
    for l in ls_t:
        if isinstance(l, bool) or not isinstance(l, (int, np.integer)) or l < 0:
            raise ValueError(f"angular degrees must be non-negative integers, got ls={ls_t}")
    ls_t = tuple(int(l) for l in ls_t)
    if len(ident_t) != nu:
        raise ValueError(
            f"identical must have one label per factor: len(identical)={len(ident_t)} "
            f"!= len(ls)={nu} (ls={ls_t}, identical={ident_t})"
        )
    labels: dict[Hashable, int] = {}
    pattern = []
    for t, lab in enumerate(ident_t):
        try:
            pattern.append(labels.setdefault(lab, len(labels)))
        except TypeError:
            raise ValueError(f"identity labels must be hashable, got {lab!r}") from None
    first_l: dict[int, int] = {}
    for t, g in enumerate(pattern):
        if first_l.setdefault(g, ls_t[t]) != ls_t[t]:
            raise ValueError(
                f"factors marked identical must have the same l: ls={ls_t}, identical={ident_t}"
            )
    return ls_t, tuple(pattern)


def coupling_coefficients(
    ls: Sequence[int], identical: Sequence[Hashable]
) -> tuple[np.ndarray, np.ndarray]:
    """Invariant coupling coefficients for a product of ν real-harmonic densities.

    Parameters
    ----------
    ls : sequence of int, length ν = 1..4
        Angular degrees ``l_t`` of the factors (callers sort them non-decreasingly
        together with ``identical``; any order works, M's columns follow it).
    identical : sequence of hashable, length ν
        Identity labels: factors with equal labels are the same one-particle
        function (same species, n and l) and must have equal l.

    Returns
    -------
    C : ndarray of float, shape (n_q, n_terms)
        Row q defines the invariant ``B_q = Σ_i C[q, i] Π_t A_t[M[i, t]]``, where
        ``A_t[m] = Σ_j R_t(r_j) Y_{l_t m}(r̂_j)`` with sphericart's normalised real
        harmonics (flat index ``l² + l + m``).
    M : ndarray of int64, shape (n_terms, ν)
        m-values (``-l_t..l_t``) of each term.

    Notes
    -----
    * Each ``B_q`` is invariant under rotations and reflections (O(3)); for odd
      Σl, or when no invariant exists, ``C`` has shape (0, 0) and ``M`` (0, ν).
    * Rows span exactly the invariants of the product symmetrised over
      exchanges of identical factors, and are linearly independent.
    * Term representation: the coefficient tensor ``T_q[m_1..m_ν]`` is symmetric
      under exchange of identical factors, so each orbit of m-tuples is stored
      once, as its canonical member (m non-decreasing along the positions of
      each identity group), with ``C[q, i] = T_q[M[i]] × (orbit size)``. Terms are
      in lexicographic order of (m_1 + l_1, ..., m_ν + l_ν); coefficients below
      ``DROP_RTOL`` times the row maximum (rounding noise) are dropped.
    * Normalisation: the full symmetric tensors ``T_q`` are orthonormal in the
      Frobenius inner product. For ν = 4 they are obtained by Gram–Schmidt of the
      symmetrised intermediate-L couplings in increasing L; the sign makes the
      first significant entry of ``T_q`` positive.
    * Deterministic, and cached on ``(ls, canonical identity pattern)``; the
      returned arrays are read-only.

    Raises
    ------
    ValueError
        For ν outside 1..4, negative or non-integer l, mismatched lengths, or
        identical factors with different l.
    """
    ls_t, pattern = _validate(ls, identical)
    return _coupling(ls_t, pattern)


def count_invariants(ls: Sequence[int], identical: Sequence[Hashable]) -> int:
    """Number of linearly independent invariants (rows of ``coupling_coefficients``)."""
    return coupling_coefficients(ls, identical)[0].shape[0]


def evaluate_coupling(C: np.ndarray, M: np.ndarray, ls: Sequence[int], factors) -> np.ndarray:
    """Evaluate coupled functions from per-factor densities (reference, for tests).

    Parameters
    ----------
    C, M : arrays from :func:`coupling_coefficients`
    ls : sequence of int
        Degrees used to build ``C, M``.
    factors : sequence of ν arrays, shape (..., 2 l_t + 1)
        ``A_t`` for each factor (identical factors must receive the same array).

    Returns
    -------
    ndarray, shape (..., n_q)
    """
    ls = tuple(ls)
    if len(factors) != len(ls) or M.shape[1:] != (len(ls),):
        raise ValueError(f"need {len(ls)} factor arrays and M of shape (n_terms, {len(ls)})")
    prod = 1.0
    for t, (l, a) in enumerate(zip(ls, factors)):
        a = np.asarray(a)
        if a.shape[-1] != 2 * l + 1:
            raise ValueError(f"factor {t}: last axis must be 2l+1 = {2 * l + 1}, got {a.shape}")
        prod = prod * a[..., M[:, t] + l]
    return prod @ C.T if C.shape[0] else np.zeros(np.shape(prod)[:-1] + (0,))
