"""Export to LAMMPS ML-PACE ``.yace`` (``pair_style pace``).

The format and every formula used here are in ``docs/yace_format.md``. Two dialects of
the ``ACE.jl`` radial block exist, and each ML-PACE release reads one of them:

``radial="spline"`` (default; ML-PACE since 2023, i.e. current LAMMPS)
    every radial function is a cubic Hermite spline on ``nbins`` equal bins of
    [0, rcut], stored as nodal values and derivatives. Any acefit radial basis is
    written (Agnesi or polynomial transform, rin > 0, repulsive pair envelope,
    orthonormal radials); only the radial functions the active coefficients use are
    tabulated, and ``nbins`` is doubled until the spline reproduces each of them to
    ``spline_rtol`` (relative to its largest value) on [``spline_rmin``, rcut].
``radial="recurrence"`` (python-ace 0.4 and ML-PACE before the spline change)
    per ordered species pair ``t = ((1 + r0)/(1 + r))^p``, ``P_0 = A_0 (t - xl)^2``,
    ``P_k = (A_k t + B_k) P_{k-1} + C_k P_{k-2}``: exact for acefit's polynomial
    transform (rin = 0, integer p), whose Legendre recurrence in x = alpha t + beta is
    a recurrence in t; a left envelope root (x - x_l)^p_l (the "y" envelope) becomes
    p_l leading recurrence steps and pair functions are re-expanded in the same P_k.

Angular parts: acefit's real-harmonic couplings are rewritten in complex harmonics
sqrt(4 pi) Y_lm (python-ace/ML-PACE convention). Rank-1 functions (pair functions
and nu = 1) are site sums of one radial function. ``pure2b`` bases are refused in
both dialects: their functions subtract pair terms that ML-PACE's products lack.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from acefit.atomic import write_text

__all__ = ["RADIAL_DIALECTS", "SPLINE_RTOL_MIN", "check_exportable", "export_yace",
           "yace_dict"]

_SQRT_4PI = float(np.sqrt(4.0 * np.pi))
_IMAG_RTOL = 1e-10   # imaginary parts of complex ctildes, relative to the largest
_FIT_RTOL = 1e-10    # rank-1 re-expansion residual, relative
_SELF_CHECK_RTOL = 1e-11
_EMBEDDING = {"ndensity": 1, "FS_parameters": [1.0, 1.0],
              "npoti": "FinnisSinclairShiftedScaled",
              "rho_core_cutoff": 100000.0, "drho_core_cutoff": 250.0}
_HOW = ("models exportable with recurrence radials have basis.transform: polynomial with "
        "an integer basis.transform_p, basis.rin: 0, basis.pair_envelope 'x' or 'y' (or no "
        "pair function in the model), basis.radial_orthonormal: false and basis.pure2b: "
        "false; the spline radials (export.yace_radial: spline, `acefit export "
        "--yace-radial spline`, the default) hold any basis but pure2b")


RADIAL_DIALECTS = ("spline", "recurrence")
SPLINE_RTOL_MIN = 1e-9
"""The smallest ``spline_rtol`` :func:`export_yace` takes. Below some 1e-10 rounding
outgrows the spline's error: the derivative of a Hermite spline on bins of width h loses
about eps/h, so doubling the bins makes it worse. Measured on the quickstart potential
(22 radial functions, ``spline_rmin`` 0.5 Å), the largest relative error of a bond falls
from 3.4e-5 at 250 bins to 1.1e-10 at 16000-32000 and rises again to 1.0e-9 at 256000;
on the Zuo Mo and Si potentials the floor is 2.9e-10 and 3.1e-10 (at 19200 and 18880
bins), on the quickstart with ``spline_rmin`` 0.1 Å 3.9e-10. A smaller request doubled the
bins to ``max_bins`` (about 10 s a potential) and failed."""


def check_exportable(basis, radial="spline"):
    """Raise ValueError (with the reason and the settings that would work) if the
    basis cannot be written as ``.yace`` in the ``radial`` dialect."""
    if radial not in RADIAL_DIALECTS:
        raise ValueError(f"yace radial dialect {radial!r} is unknown; allowed: "
                         + ", ".join(RADIAL_DIALECTS))
    problems = []
    if basis.pure2b:
        problems.append("the basis is pure2b: its many-body functions subtract pair terms "
                        "in E(x)^nu P_m(x), which ML-PACE's B-functions do not contain")
    if radial == "recurrence":
        problems += _recurrence_problems(basis)
    if problems:
        how = _HOW if radial == "recurrence" else "exportable models have basis.pure2b: false"
        raise ValueError(f"cannot export this potential to .yace ({radial} radials): "
                         + "; ".join(problems) + ". " + how)


def _recurrence_problems(basis):
    rad = basis.radial
    problems = []
    if rad.transform != "polynomial":
        problems.append(f"the radial transform is {rad.transform!r}; the recurrence "
                        "dialect holds polynomials in ((1+r0)/(1+r))^p only (the spline "
                        "dialect, the default, holds any radial basis)")
    if float(rad.p) != int(rad.p):
        problems.append(f"p = {rad.p} is not an integer (ML-PACE reads p as an integer)")
    if np.any(rad.rin != 0.0):
        problems.append("rin > 0 clamps x below rin, which no polynomial reproduces")
    has_pair = any(f.kind == "pair" for f in basis.functions)
    if has_pair and rad.pair_envelope == "repulsive":
        problems.append("the pair functions use the repulsive envelope (r/r0)^-1 - ... of "
                        "Torabi et al. App. A, which has a pole at r = 0 and is not a "
                        "polynomial in t = ((1+r0)/(1+r))^p (finite at r = 0); ML-PACE's "
                        "pair and rank-1 functions are such polynomials")
    if rad.orthonormal:
        problems.append("the radial functions are orthonormalised (radial_orthonormal), "
                        "not the Legendre recurrence this writer maps to ML-PACE")
    return problems


# ---------------------------------------------------------------------------- radial
def _bond_parameters(rad, a, b, n_total):
    """ACE.jl.base parameters for species pair (a, b) and the index shift s such that
    P_{s + n - 1} equals acefit's many-body R_n exactly."""
    p = int(rad.p)
    r0 = float(rad.r0[a, b])
    rcut = float(rad.rcut[a, b])
    y_in = (1.0 + r0) ** p            # t at r = rin = 0
    y_cut = ((1.0 + r0) / (1.0 + rcut)) ** p
    alpha = 2.0 / (y_cut - y_in)      # x = alpha t + beta
    beta = -1.0 - alpha * y_in
    x_l, p_l, _, p_r, scale = rad.envelope_parameters(rad.envelope)
    x_l, scale = float(np.ravel(x_l)[a * len(rad.elements) + b]), \
        float(np.ravel(scale)[a * len(rad.elements) + b])
    assert p_r == 2
    t_l = (x_l - beta) / alpha
    A, B, C = [np.zeros(n_total) for _ in range(3)]
    LA, LB, LC = _recurrence(rad, n_total)
    A[0] = scale * alpha ** (p_l + 2) * LA[0]
    for k in range(1, p_l + 1):       # multiply by (t - t_l) p_l times
        A[k], B[k] = 1.0, -t_l
    for k in range(1, n_total - p_l):
        A[p_l + k] = LA[k] * alpha
        B[p_l + k] = LA[k] * beta + LB[k]
        C[p_l + k] = LC[k] if k >= 2 else 0.0
    params = {"radbasename": "ACE.jl.base", "rcut": rcut, "r0": r0, "p": p,
              "xl": y_cut, "xr": y_in + 1.0, "pl": 2, "pr": 0, "maxn": int(n_total),
              "recursion_coefficients": {"A": A.tolist(), "B": B.tolist(), "C": C.tolist()}}
    return params, p_l


def _recurrence(rad, n):
    """acefit's recurrence coefficients, extended to length >= n (pair functions of a
    different envelope need a few more polynomial degrees than the basis stores)."""
    from acefit.basis.radial import legendre_recurrence

    if len(rad.A) >= n:
        return rad.A, rad.B, rad.C
    ext = legendre_recurrence(n)
    m = len(rad.A)
    if not all(np.array_equal(e[:m], r) for e, r in zip(ext, (rad.A, rad.B, rad.C))):
        raise ValueError("the radial basis does not use acefit's Legendre recurrence; "
                         "cannot extend it for the .yace pair functions")
    return ext


def ships_values(r, params):
    """Values (len(r), maxn) of an ACE.jl.base radial basis (reference implementation
    of ML-PACE's recurrence, used for checks)."""
    r = np.asarray(r, dtype=float)
    rc = params["recursion_coefficients"]
    A, B, C = (np.asarray(rc[k]) for k in "ABC")
    t = ((1.0 + params["r0"]) / (1.0 + r)) ** params["p"]
    f = np.where(t < params["xl"], 0.0, (t - params["xl"]) ** params["pl"])
    P = np.zeros((len(r), params["maxn"]))
    P[:, 0] = A[0] * f
    if params["maxn"] > 1:
        P[:, 1] = (A[1] * t + B[1]) * P[:, 0]
    for k in range(2, params["maxn"]):
        P[:, k] = (A[k] * t + B[k]) * P[:, k - 1] + C[k] * P[:, k - 2]
    return P


def _sample_r(params, n):
    """n distances in (0, rcut) at Chebyshev nodes of x."""
    p, r0, rcut = params["p"], params["r0"], params["rcut"]
    x = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    y_in, y_cut = (1.0 + r0) ** p, ((1.0 + r0) / (1.0 + rcut)) ** p
    t = y_in + (x + 1.0) * (y_cut - y_in) / 2.0
    return (1.0 + r0) / t ** (1.0 / p) - 1.0


# --------------------------------------------------------------------------- angular
@cache
def _real_to_complex(l):
    """U with Yreal_{l mu} = sum_m U[mu + l, m + l] Y_lm (orthonormal complex harmonics,
    Condon-Shortley phase), fitted on random directions and checked unitary."""
    from scipy.special import sph_harm_y

    from acefit.basis.angular import real_sph_harm

    rng = np.random.default_rng(12345)
    xyz = rng.normal(size=(8 * (2 * l + 1) + 16, 3))
    r = np.linalg.norm(xyz, axis=1)
    theta, phi = np.arccos(xyz[:, 2] / r), np.arctan2(xyz[:, 1], xyz[:, 0])
    Yc = np.stack([sph_harm_y(l, m, theta, phi) for m in range(-l, l + 1)], axis=1)
    Yr = real_sph_harm(xyz, l, gradients=False)[:, l * l: (l + 1) ** 2]
    Ut, *_ = np.linalg.lstsq(Yc, Yr.astype(complex), rcond=None)
    U = Ut.T
    U.real[np.abs(U.real) < 1e-13] = 0.0
    U.imag[np.abs(U.imag) < 1e-13] = 0.0
    if not (np.allclose(U @ U.conj().T, np.eye(2 * l + 1), atol=1e-11)
            and np.allclose(Yc @ U.T, Yr, atol=1e-11)):
        raise AssertionError(f"real-to-complex harmonic transform for l={l} not unitary")
    return U


def _canonical(ms, groups):
    """Sort m within runs of identical factors (products are symmetric there)."""
    ms = list(ms)
    for lo, hi in groups:
        ms[lo:hi] = sorted(ms[lo:hi])
    return tuple(ms)


def _identical_runs(factors):
    runs, lo = [], 0
    for t in range(1, len(factors) + 1):
        if t == len(factors) or factors[t] != factors[lo]:
            runs.append((lo, t))
            lo = t
    return runs


def _complex_terms(factors, coupling_rows, weights):
    """{canonical m-tuple: complex coefficient} of sum_q w_q B_q in Yhat = sqrt(4pi) Y."""
    from acefit.basis.coupling import coupling_coefficients

    ls = tuple(l for _, _, l in factors)
    labels = {}
    identical = tuple(labels.setdefault(f, len(labels)) for f in factors)
    C, M = coupling_coefficients(ls, identical)
    coef = np.zeros(C.shape[1])
    for q, w in zip(coupling_rows, weights):
        coef += w * C[q]
    Us = [_real_to_complex(l) for l in ls]
    runs = _identical_runs(factors)
    nu = len(ls)
    out = defaultdict(complex)
    norm = _SQRT_4PI ** (-nu)
    for c, mreal in zip(coef, M):
        if c == 0.0:
            continue
        # each real harmonic is a combination of complex m = +-mu
        options = []
        for t in range(nu):
            row = Us[t][mreal[t] + ls[t]]
            nz = np.flatnonzero(row)
            options.append([(int(k) - ls[t], row[k]) for k in nz])
        for combo in _product(options):
            ms = tuple(m for m, _ in combo)
            if sum(ms) != 0:
                continue  # such terms cancel in an invariant (checked below via Im)
            val = c * norm
            for _, u in combo:
                val *= u
            out[_canonical(ms, runs)] += val
    return out


def _product(options):
    if not options:
        yield ()
        return
    for head in options[0]:
        for tail in _product(options[1:]):
            yield (head,) + tail


def _merge_conjugates(terms, runs):
    """Real ctildes, one of each (m, -m) pair: Re prod A_{-m} = Re prod A_m."""
    scale = max((abs(v) for v in terms.values()), default=0.0)
    out = {}
    for ms, v in terms.items():
        if abs(v.imag) > _IMAG_RTOL * max(scale, 1e-300):
            raise AssertionError(f"complex ctilde {v} for m={ms}: coupling not real")
        neg = _canonical(tuple(-m for m in ms), runs)
        key = max(ms, neg)
        out[key] = out.get(key, 0.0) + v.real
    return {k: v for k, v in out.items() if v != 0.0}


# ---------------------------------------------------------------------------- build
class _RadialLayout(NamedTuple):
    """Where acefit's radial functions sit in the written bonds: many-body R_n is the
    bond's function ``many_body(n)`` (0-based); pair function n of the pair (a, b) is
    ``sum_k w_k g_k`` for ``(k, w_k)`` in ``pair(a, b, n)``."""

    bonds: dict
    many_body: Callable[[int], int]
    pair: Callable[[int, int, int], list]


def _recurrence_layout(basis):
    rad = basis.radial
    nel = len(rad.elements)
    # pair functions need degree p_l(pair) + npair - 1 in t, i.e. maxn >= p_l + npair
    _, p_l, *_ = rad.envelope_parameters(rad.envelope)
    n_total = max(1, p_l + rad.nmax)
    if any(f.kind == "pair" for f in basis.functions):
        _, p_l_pair, *_ = rad.envelope_parameters(rad.pair_envelope)
        n_total = max(n_total, p_l_pair + rad.npair)
    bonds, shift = {}, 0
    for a in range(nel):
        for b in range(nel):
            bonds[(a, b)], shift = _bond_parameters(rad, a, b, n_total)
    _self_check(rad, bonds, shift)

    def pair(a, b, n):
        T = _pair_expansion(rad, bonds, a, b, n)
        return [(int(k), float(T[k])) for k in np.flatnonzero(T)]

    return _RadialLayout(bonds, lambda n: shift + n - 1, pair)


def _spline_layout(basis, columns, rtol, rmin):
    """Splines of the radial channels ``columns`` (acefit's columns of
    ``RadialBasis.evaluate``, in the order they are written)."""
    rad = basis.radial
    nel = len(rad.elements)
    index = {c: k for k, c in enumerate(columns)}
    bonds = {(a, b): spline_bond(rad, a, b, columns, rtol, rmin)
             for a in range(nel) for b in range(nel)}
    return _RadialLayout(bonds, lambda n: index[n - 1],
                         lambda a, b, n: [(index[rad.pair_column(n)], 1.0)])


def spline_bond(rad, a, b, columns, rtol=1e-6, rmin=0.5, max_bins=2 ** 18):
    """The spline-dialect bond of the ordered species pair (a, b).

    Parameters
    ----------
    rad : acefit.basis.radial.RadialBasis
    a, b : int
        Element indices of centre and neighbour.
    columns : sequence of int
        Channels of ``rad.evaluate`` to tabulate, as spline functions 0, 1, ...
    rtol : float
        Required accuracy of every spline and of its derivative on [rmin, rcut],
        relative to the largest absolute value of the function (of its derivative)
        there, checked at the nodes and at 3 points in every bin.
    rmin : float
        Shortest distance (Å) at which the accuracy is required. ML-PACE refuses
        distances below one bin; between that and ``rmin`` the spline interpolates the
        same function, unchecked.
    max_bins : int
        ValueError beyond this many bins.

    Returns
    -------
    dict
        ``radbasename``, ``rcut``, ``nradial``, ``nbins``, ``splinenodalvals`` and
        ``splinenodalderivs`` (``{k: [nbins + 1 floats]}``), as ML-PACE reads them.
    """
    rcut = float(rad.rcut[a, b])
    columns = list(columns)
    nbins = max(16, int(np.ceil(rcut / 0.02)))
    while True:
        # nodes r = q h, q = 0..nbins; node 0 is never read (ML-PACE refuses bin 0)
        r = np.arange(nbins + 1) * (rcut / nbins)
        vals, ders = _radial(rad, a, b, r[1:], columns)
        vals, ders = (np.vstack([np.zeros((1, len(columns))), v]) for v in (vals, ders))
        err, scale = _spline_error(rad, a, b, columns, rcut / nbins, vals, ders,
                                   min(rmin, rcut / 2))
        if np.all(err <= rtol * scale):
            break
        if 2 * nbins > max_bins:
            worst = int(np.argmax(err / np.maximum(scale, 1e-300)))
            raise ValueError(f"the spline of radial channel {columns[worst]} of pair ({a}, "
                             f"{b}) misses rtol = {rtol:g} with {nbins} bins (relative error "
                             f"{err[worst] / max(scale[worst], 1e-300):.2g}); raise "
                             "spline_rtol or spline_rmin")
        nbins *= 2
    return {"radbasename": "ACE.jl.base", "rcut": rcut, "nradial": len(columns),
            "nbins": int(nbins),
            "splinenodalvals": {k: vals[:, k].tolist() for k in range(len(columns))},
            "splinenodalderivs": {k: ders[:, k].tolist() for k in range(len(columns))}}


def _radial(rad, a, b, r, columns):
    R, dR = rad.evaluate(r, np.full(len(r), a), np.full(len(r), b))
    return R[:, columns], dR[:, columns]


def hermite(nodes_v, nodes_d, h, x):
    """ML-PACE's cubic Hermite spline at bin coordinates x = r / h (0 < x < nbins):
    values and r-derivatives, (len(x), n_functions)."""
    nl = np.floor(x).astype(int)
    w = (x - nl)[:, None]
    f0, f1 = nodes_v[nl], nodes_v[nl + 1]
    d0, d1 = nodes_d[nl] * h, nodes_d[nl + 1] * h
    c2 = 3.0 * (f1 - f0) - d1 - 2.0 * d0
    c3 = -2.0 * (f1 - f0) + d1 + d0
    value = f0 + w * (d0 + w * (c2 + w * c3))
    deriv = (d0 + w * (2.0 * c2 + 3.0 * w * c3)) / h
    return value, deriv


def _spline_error(rad, a, b, columns, h, vals, ders, rmin):
    """Largest spline error per function on [rmin, rcut], values and derivatives (the
    forces) each relative to their own scale, and the function's scale; ``vals`` and
    ``ders`` are the nodal values at r = q h, q = 0..nbins."""
    nbins = len(vals) - 1
    first = max(1, int(np.floor(rmin / h)))
    x = (np.arange(first, nbins)[:, None] + np.array([0.25, 0.5, 0.75])).ravel()
    exact, d_exact = _radial(rad, a, b, x * h, columns)
    spline, d_spline = hermite(vals, ders, h, x)
    scale = np.maximum(np.abs(exact).max(axis=0), np.abs(vals[first:]).max(axis=0))
    d_scale = np.maximum(np.abs(d_exact).max(axis=0), np.abs(ders[first:]).max(axis=0))
    d_err = np.abs(d_spline - d_exact).max(axis=0) * scale / np.maximum(d_scale, 1e-300)
    return np.maximum(np.abs(spline - exact).max(axis=0), d_err), scale


def _used_columns(basis, coef):
    """acefit's radial channels that functions with nonzero coefficients use."""
    rad = basis.radial
    used = set()
    for f, c in zip(basis.functions, coef):
        if c == 0.0 or f.kind == "onebody":
            continue
        if f.kind == "pair":
            used.add(rad.pair_column(f.factors[0][1]))
        else:
            used.update(n - 1 for _, n, _ in f.factors)
    return sorted(used) or [0]


def yace_dict(potential, radial="spline", spline_rtol=1e-6, spline_rmin=0.5):
    """The ``.yace`` content of a potential as a plain dict (see docs/yace_format.md);
    ``radial``, ``spline_rtol`` and ``spline_rmin`` as in :func:`export_yace`."""
    basis = potential.basis
    check_exportable(basis, radial)
    if radial == "spline" and not spline_rtol >= SPLINE_RTOL_MIN:
        raise ValueError(f"spline_rtol: found {spline_rtol:g}; allowed: a number >= "
                         f"{SPLINE_RTOL_MIN:g} (below it rounding, not the bins, bounds the "
                         "spline's error)")
    elements = list(basis.elements)
    numbers = list(basis.numbers)
    index = {z: k for k, z in enumerate(numbers)}
    nel = len(elements)
    coef = np.asarray(potential.coefficients, dtype=float)
    if not np.any(coef):
        raise ValueError("the potential has no active function (an empty checkpoint, e.g. "
                         "the start of a path): nothing for ML-PACE but the one-body "
                         "energies; export a checkpoint with active functions")
    if radial == "spline":
        layout = _spline_layout(basis, _used_columns(basis, coef), spline_rtol, spline_rmin)
    else:
        layout = _recurrence_layout(basis)

    functions = {a: [] for a in range(nel)}
    rank1 = defaultdict(lambda: defaultdict(float))      # (centre, neighbour) -> {k: ctilde}
    groups = defaultdict(lambda: ([], []))                # (centre, factors) -> (q, w)
    one_body = np.zeros(nel)                              # per-atom energy, part of E0
    for f, c in zip(basis.functions, coef):
        a = index[f.centre]
        if f.kind == "onebody":
            one_body[a] += c
        elif c == 0.0:
            continue
        elif f.kind == "pair":
            z, n, _ = f.factors[0]
            for k, w in layout.pair(a, index[z], n):
                rank1[(a, index[z])][k] += c * w
        elif f.order == 1:
            z, n, _ = f.factors[0]
            from acefit.basis.coupling import coupling_coefficients

            C, _ = coupling_coefficients((0,), (0,))
            rank1[(a, index[z])][layout.many_body(n)] += c * C[f.coupling, 0] / _SQRT_4PI
        else:
            q, w = groups[(a, f.factors)]
            q.append(f.coupling)
            w.append(c)

    lmax = 0
    for (a, b), ctildes in sorted(rank1.items()):
        for k, ct in sorted(ctildes.items()):
            if ct != 0.0:
                functions[a].append({"mu0": a, "rank": 1, "ndensity": 1, "num_ms_combs": 1,
                                     "mus": [b], "ns": [k + 1], "ls": [0],
                                     "ms_combs": [0], "ctildes": [float(ct)]})
    for (a, factors), (qs, ws) in groups.items():
        runs = _identical_runs(factors)
        terms = _merge_conjugates(_complex_terms(factors, qs, ws), runs)
        if not terms:
            continue
        ms_sorted = sorted(terms)
        lmax = max(lmax, max(l for _, _, l in factors))
        functions[a].append({
            "mu0": a, "rank": len(factors), "ndensity": 1, "num_ms_combs": len(ms_sorted),
            "mus": [index[z] for z, _, _ in factors],
            "ns": [layout.many_body(n) + 1 for _, n, _ in factors],
            "ls": [l for _, _, l in factors],
            "ms_combs": [m for ms in ms_sorted for m in ms],
            "ctildes": [float(terms[ms]) for ms in ms_sorted]})
    e0 = [float(potential.e0.get(el, 0.0) + one_body[a]) for a, el in enumerate(elements)]
    return {"elements": elements, "E0": e0, "lmax": int(lmax),
            "embeddings": {a: dict(_EMBEDDING) for a in range(nel)},
            "bonds": layout.bonds, "functions": functions}


def _pair_expansion(rad, bonds, a, b, n):
    """Coefficients of acefit's pair function n on the bond's P_k (exact re-expansion:
    both are the same polynomial space times (t - t_cut)^2)."""
    params = bonds[(a, b)]
    m = params["maxn"]
    r = _sample_r(params, m)
    P = ships_values(r, params)
    R, _ = rad.evaluate(r, np.full(m, a), np.full(m, b))
    column = rad.pair_column(n)
    g = R[:, column]
    T = np.linalg.solve(P, g)
    r_chk = _sample_r(params, 3 * m + 7)
    R_chk, _ = rad.evaluate(r_chk, np.full(len(r_chk), a), np.full(len(r_chk), b))
    err = np.abs(ships_values(r_chk, params) @ T - R_chk[:, column]).max()
    if err > _FIT_RTOL * max(np.abs(R_chk[:, column]).max(), 1e-300):
        raise AssertionError(f"pair function {n} of pair ({a}, {b}) is not reproduced "
                             f"(max error {err:.3g})")
    return T


def _self_check(rad, bonds, shift):
    """The written recurrences reproduce acefit's many-body radial functions."""
    if rad.nmax == 0:
        return
    for (a, b), params in bonds.items():
        r = np.linspace(0.05, params["rcut"] * 1.05, 97)
        P = ships_values(r, params)[:, shift: shift + rad.nmax]
        R, _ = rad.evaluate(r, np.full(len(r), a), np.full(len(r), b))
        R = R[:, : rad.nmax]
        if not np.allclose(P, R, rtol=_SELF_CHECK_RTOL, atol=_SELF_CHECK_RTOL * np.abs(R).max()):
            raise AssertionError(f"yace radial basis of pair ({a}, {b}) differs from acefit's "
                                 f"by {np.abs(P - R).max():.3g}")


# ---------------------------------------------------------------------------- write
def _fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to yace")


def _key(k):
    return _fmt(list(k)) if isinstance(k, tuple) else _fmt(k)


def yace_text(d):
    """YAML text in the layout ML-PACE's reader (yaml-cpp) expects."""
    lines = [f"elements: {_fmt(d['elements'])}", f"E0: {_fmt(d['E0'])}",
             f"lmax: {d['lmax']}", "embeddings:"]
    lines += [f"  {a}: {_fmt(e)}" for a, e in d["embeddings"].items()]
    lines.append("bonds:")
    lines += [f"  {_key(k)}: {_fmt(v)}" for k, v in d["bonds"].items()]
    lines.append("functions:")
    for a, funcs in d["functions"].items():
        if not funcs:
            lines.append(f"  {a}: []")
            continue
        lines.append(f"  {a}:")
        lines += [f"    - {_fmt(f)}" for f in funcs]
    return "\n".join(lines) + "\n"


def export_yace(potential, path, radial="spline", spline_rtol=1e-6, spline_rmin=0.5):
    """Write ``potential`` as an ML-PACE ``.yace`` file (LAMMPS ``pair_style pace``), and
    its LAMMPS pair commands beside it (:func:`acefit.export.lammps.write_pair_commands`,
    ``<stem>.lammps``): with a core repulsion the ``.yace`` holds the fitted part only, and
    those commands add the repulsion (``pair_style hybrid/overlay pace zbl``).

    Parameters
    ----------
    potential : acefit.Potential or path-like of a potential file
    path : path-like
        Output file; should end in ``.yace`` (python-ace and LAMMPS dispatch on it).
    radial : {"spline", "recurrence"}
        Dialect of the radial functions. ``spline`` (cubic Hermite tables) is what
        ML-PACE has read since 2023 (current LAMMPS) and holds any acefit radial
        basis; ``recurrence`` is what python-ace 0.4 and older ML-PACE read, exact but
        for polynomial-transform bases only.
    spline_rtol, spline_rmin : float
        Spline accuracy relative to each radial function's largest value, required on
        [spline_rmin (Å), rcut]; the number of bins is doubled until it holds.

    Returns
    -------
    pathlib.Path
        The ``.yace`` file.

    Raises
    ------
    ValueError
        If the model cannot be written in the chosen dialect (the message says why and
        which settings are exportable), the spline accuracy cannot be reached, or
        ``path`` does not end in ``.yace``.
    """
    from acefit.export.lammps import UNITS_NOTE, pair_commands_path, write_pair_commands
    from acefit.potential import Potential

    if not hasattr(potential, "basis"):
        potential = Potential.load(potential)
    path = Path(path)
    if path.suffix != ".yace":
        raise ValueError(f"yace output {str(path)!r} must end in '.yace' (LAMMPS and "
                         "python-ace recognise the format by it)")
    d = yace_dict(potential, radial, spline_rtol=spline_rtol, spline_rmin=spline_rmin)
    # YAML comments: ML-PACE and python-ace skip them (yaml-cpp)
    head = f"# acefit: {UNITS_NOTE}\n"
    repulsion = getattr(potential, "repulsion", None)
    if repulsion is not None:
        head += (f"# acefit: this file holds the fitted part only; the model also has a "
                 f"{repulsion.kind.upper()} core repulsion ({repulsion.to_dict()}).\n"
                 f"# Run it with the pair commands of {pair_commands_path(path).name} "
                 "(pair_style hybrid/overlay pace zbl).\n")
    write_pair_commands(potential, path)    # with a core repulsion, the .yace is half the model
    return write_text(path, head + yace_text(d))
