"""Radial basis: distance transform -> x in [-1, 1] -> envelope(x) * P_n(x).

Every element pair (unordered) has its own r0 (bond length), rin and rcut.
Two distance transforms map r to an intermediate coordinate y:

``"agnesi"`` (default; Torabi et al. 2025, Appendix A, as implemented in
ACEpotentials.jl)::

    s = (r - rin) / (r0 - rin),   y = 1 / (1 + a s^q / (1 + s^(q - p)))

with q = 4, p = 2 and ``a`` chosen to maximise |dx/dr| at r = r0, which has the
closed form a = 2 (K - 1) / K with K = s_c^q / (1 + s_c^(q-p)), s_c = s(rcut)
(a small positive floor when K <= 1).  Note: the paper prints
y = (1 + a s^q) / (1 + s^(q-p)), which for q = 4, p = 2, a > 0 is not monotone
in r (it has a minimum at s^2 = sqrt(1 + 1/a) - 1) and so cannot resolve
distances on both sides of it; we implement the formula of the code the paper
cites, which is monotone (y = 1 at rin, y -> 0 as r -> infinity).

``"polynomial"`` (ACE1.jl / ML-PACE "ACE.jl.base" radial basis)::

    y = ((1 + r0) / (1 + r))^p,   p = 2 by default.

Both are mapped affinely to x = -1 + 2 (y - y(rin)) / (y(rcut) - y(rin)), so
x = -1 at r = rin and x = +1 at r = rcut (clamped to [-1, 1] below rin).

Many-body radial functions (index n = 1..nmax, independent of l as in
ACEpotentials.jl)::

    R_n(r) = E(x) P_{n-1}(x),   E(x) = s_E (x - x_l)^p_l (x - x_r)^p_r,  x_r = 1,

with two envelopes:

* ``"x"`` (the default; ML-PACE's ``(x - x_r)^pcut``): p_l = 0, p_r = 2;
* ``"y"`` (the paper's y^2 (y - y_cut)^2; the default for Agnesi before acefit 0.3): x_l
  is the x of y = 0 (r -> infinity), p_l = p_r = 2. It gave higher validation errors than
  ``"x"`` on every data set measured (docs/zuo_tuning.md, docs/benchmarks.md).

s_E normalises E(-1) = 1.  The envelope reaches zero with zero slope at rcut.

Pair radial functions (the pair basis; default ``pair_envelope="repulsive"``, the
modified Coulomb envelope of Appendix A)::

    R^pair_n(r) = f(r) P_{n-1}(x),
    f(r) = (r/r0)^-1 - (rcut/r0)^-1 + (rcut/r0)^-2 (r/r0 - rcut/r0),

which is repulsive as r -> 0 and vanishes with zero slope at rcut.  With
``pair_envelope="x"`` or ``"y"`` the pair functions use the many-body envelope E(x)
instead (polynomial in x: exportable to ML-PACE with the polynomial transform).

Diagonal channels (only for bases with ``pure2b``; ``diagonal={nu: M}``)::

    Q^nu_m(r) = E(x)^nu P_m(x),   m = 0..M-1,

span the products R_{n_1}(r) ... R_{n_nu}(r) of one neighbour with
sum_t (n_t - 1) < M: the two-body part that a pure2b basis removes from its
nu-correlations (see :class:`acefit.basis.ACEBasis`).

P_n are Legendre polynomials orthonormal on [-1, 1], computed by the explicit
three-term recurrence stored in ``A``, ``B``, ``C`` (ML-PACE convention)::

    P_0 = A[0],  P_1 = (A[1] x + B[1]) P_0,
    P_n = (A[n] x + B[n]) P_{n-1} + C[n] P_{n-2}.

Default r0: the nearest-neighbour distance of the element's reference crystal
(``ase.data.reference_states`` via ``ase.build.bulk``), averaged over the pair;
the sum of covalent radii when no reference crystal exists.
"""

from __future__ import annotations

from functools import lru_cache
from numbers import Real

import numpy as np
from ase.data import chemical_symbols, covalent_radii

from acefit.elements import pair_name

__all__ = ["RadialBasis", "legendre_recurrence", "default_r0"]

TRANSFORMS = ("agnesi", "polynomial")
ENVELOPES = ("y", "x")
DEFAULT_ENVELOPE = "x"      # the many-body envelope of a config or basis that names none


def legendre_recurrence(nmax):
    """Coefficients (A, B, C), length ``nmax``, of orthonormal Legendre P_0..P_{nmax-1}."""
    n = np.arange(nmax, dtype=float)
    # x P_n = a_{n+1} P_{n+1} + a_n P_{n-1} with a_n = n / sqrt(4 n^2 - 1)
    a = n / np.sqrt(np.abs(4.0 * n**2 - 1.0))
    A = np.zeros(nmax)
    B = np.zeros(nmax)
    C = np.zeros(nmax)
    if nmax:
        A[0] = np.sqrt(0.5)
    A[1:] = 1.0 / a[1:]
    C[2:] = -a[1:-1] / a[2:]
    return A, B, C


def polynomials(x, A, B, C):
    """Values and x-derivatives (len(x), len(A)) of the recurrence polynomials."""
    nmax = len(A)
    P = np.empty((len(x), nmax))
    dP = np.empty((len(x), nmax))
    if nmax == 0:
        return P, dP
    P[:, 0] = A[0]
    dP[:, 0] = 0.0
    if nmax > 1:
        P[:, 1] = (A[1] * x + B[1]) * P[:, 0]
        dP[:, 1] = A[1] * P[:, 0]
    for k in range(2, nmax):
        lin = A[k] * x + B[k]
        P[:, k] = lin * P[:, k - 1] + C[k] * P[:, k - 2]
        dP[:, k] = A[k] * P[:, k - 1] + lin * dP[:, k - 1] + C[k] * dP[:, k - 2]
    return P, dP


@lru_cache(maxsize=None)
def _nearest_neighbour_distance(z):
    from ase.build import bulk

    try:
        atoms = bulk(chemical_symbols[z])
    except Exception:  # no (usable) reference crystal for this element
        return None
    from matscipy.neighbours import neighbour_list

    d = neighbour_list("d", atoms, 6.0 * max(1.0, float(np.cbrt(atoms.get_volume()))))
    return float(d.min()) if len(d) else None


def default_r0(zi, zj):
    """Bond-length estimate for a pair: mean reference nearest-neighbour distance."""
    ri, rj = _nearest_neighbour_distance(zi), _nearest_neighbour_distance(zj)
    if ri is None or rj is None:
        return float(covalent_radii[zi] + covalent_radii[zj])
    return 0.5 * (ri + rj)


def _pair_table(elements, value, name, default=None):
    """(n_el, n_el) symmetric table from a scalar or a mapping from element pairs,
    ``(a, b)`` or ``"a-b"`` (``"Cu-Au"``, the config's form), and ``"default"``."""
    nel = len(elements)
    index = {z: k for k, z in enumerate(elements)}
    table = np.full((nel, nel), np.nan)
    if value is None:
        if default is None:
            raise ValueError(f"{name} is required")
        for a in range(nel):
            for b in range(nel):
                table[a, b] = default(elements[a], elements[b])
        return table
    if isinstance(value, Real):
        table[:] = float(value)
    elif isinstance(value, dict):
        from .spec import parse_elements

        fill = value.get("default")
        for key, v in value.items():
            if key == "default":
                continue
            pair = key.split("-") if isinstance(key, str) else key
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise ValueError(f"{name}: keys must be element pairs like ('Cu', 'Au') or "
                                 f"'Cu-Au', or 'default', got {key!r}")
            za, zb = (parse_elements([k])[0] for k in pair)
            if za not in index or zb not in index:
                raise ValueError(f"{name}: pair {key!r} names an element not in the basis "
                                 f"{[chemical_symbols[z] for z in elements]}")
            if not np.isnan(table[index[za], index[zb]]):
                raise ValueError(f"{name}: pair {key!r} is given twice (the order of a "
                                 "pair's elements does not matter)")
            table[index[za], index[zb]] = table[index[zb], index[za]] = float(v)
        missing = np.isnan(table)
        if missing.any():
            if fill is not None:
                table[missing] = float(fill)
            elif default is not None:
                for a, b in zip(*np.nonzero(missing)):
                    table[a, b] = default(elements[a], elements[b])
            else:
                a, b = next(zip(*np.nonzero(missing)))
                raise ValueError(f"{name}: no value for pair ({chemical_symbols[elements[a]]}, "
                                 f"{chemical_symbols[elements[b]]}); add it or a 'default'")
    else:
        raise ValueError(f"{name} must be a number or a dict of element pairs, got {value!r}")
    if not np.all(np.isfinite(table)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return table


def _table_to_list(elements, table):
    return [[elements[a], elements[b], float(table[a, b])]
            for a in range(len(elements)) for b in range(a, len(elements))]


def _table_from_list(items):
    return {(int(a), int(b)): float(v) for a, b, v in items}


class RadialBasis:
    """Many-body and pair radial functions for all element pairs.

    Parameters
    ----------
    elements : tuple of int
        Sorted atomic numbers.
    nmax : int
        Number of many-body radial functions R_1..R_nmax.
    npair : int
        Number of pair radial functions.
    rcut : float or dict
        Cutoff (Å), scalar or ``{(a, b): value, "default": value}``.
    r0 : float, dict or None
        Bond length per pair; None for :func:`default_r0`.
    rin : float or dict
        Inner radius (x = -1 there); default 0.
    transform : {"agnesi", "polynomial"}
    p, q, a : transform parameters; ``p`` defaults to 2, ``q`` to 4 (Agnesi only),
        ``a`` to the value maximising |dx/dr| at r0 per pair (Agnesi only).
    envelope : {"y", "x"} or None
        Many-body envelope (default "x").
    pair_envelope : {"repulsive", "y", "x"}
        Envelope of the pair functions (the repulsive one of App. A by default).
    diagonal : dict {int: int}, optional
        Diagonal channels: for each power nu >= 2, the number M of Q^nu_m.
    orthonormal : bool
        Replace each family (many-body R_1..R_nmax, pair R^pair_1..) by its Gram-Schmidt
        orthonormalisation, in order of n, in the mean over x in [-1, 1] of each element
        pair: the radial functions of ACE1/ACE1x's ``transformed_jacobi`` (orthonormal
        with their envelope on a uniform grid of the transformed coordinate). Same span
        for every n; changes which functions a sparse solver and the prior see.
    """

    def __init__(self, elements, nmax, npair=0, rcut=5.0, r0=None, rin=0.0,
                 transform="agnesi", p=2, q=4, a=None, envelope=None,
                 pair_envelope="repulsive", diagonal=None, orthonormal=False):
        self.elements = tuple(int(z) for z in elements)
        if transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
        envelope = envelope or DEFAULT_ENVELOPE
        if envelope not in ENVELOPES:
            raise ValueError(f"envelope must be one of {ENVELOPES}, got {envelope!r}")
        if pair_envelope not in ("repulsive",) + ENVELOPES:
            raise ValueError("pair_envelope must be one of "
                             f"{('repulsive',) + ENVELOPES}, got {pair_envelope!r}")
        if not (isinstance(p, Real) and p > 0):
            raise ValueError(f"p must be a positive number, got {p!r}")
        if transform == "agnesi" and not (isinstance(q, Real) and q > p):
            raise ValueError(f"q must be a number > p = {p}, got {q!r}")
        self.nmax, self.npair = int(nmax), int(npair)
        self.diagonal = {int(nu): int(m) for nu, m in sorted((diagonal or {}).items())}
        if any(nu < 2 or m < 0 for nu, m in self.diagonal.items()):
            raise ValueError(f"diagonal channels need powers >= 2 and counts >= 0, got "
                             f"{self.diagonal}")
        self.transform, self.envelope = transform, envelope
        self.pair_envelope = pair_envelope
        self.p, self.q = float(p), float(q)
        self.rcut = _pair_table(self.elements, rcut, "rcut")
        self.r0 = _pair_table(self.elements, r0, "r0", default=default_r0)
        self.rin = _pair_table(self.elements, rin, "rin")
        rin_, r0_, rcut_ = (self.pair_values(name) for name in ("rin", "r0", "rcut"))
        bad = [f"{pair}: rin {rin_[pair]:.4g}, r0 {r0_[pair]:.4g}, rcut {rcut_[pair]:.4g}"
               for pair in rcut_ if not 0 <= rin_[pair] < r0_[pair] < rcut_[pair]]
        if bad:
            origin = " (r0: each pair's reference-crystal distance)" if r0 is None else ""
            raise ValueError(f"need 0 <= rin < r0 < rcut for every element pair{origin}; "
                             "found " + "; ".join(bad))
        if transform == "agnesi":
            self.a = (self._default_a() if a is None
                      else _pair_table(self.elements, a, "a"))
            if np.any(self.a <= 0):
                raise ValueError(f"Agnesi a must be positive, got {self.a.tolist()}")
        else:
            self.a = None
        self.A, self.B, self.C = legendre_recurrence(
            max([self.nmax, self.npair, *self.diagonal.values()]))
        # y at rin / rcut and the envelope's left root, per pair
        self.y_in, _ = self._y(self.rin.ravel(), np.arange(self.rin.size))
        self.y_cut, _ = self._y(self.rcut.ravel(), np.arange(self.rin.size))
        self.y_in = self.y_in.reshape(self.rin.shape)
        self.y_cut = self.y_cut.reshape(self.rin.shape)
        # left root of the "y" envelope: the x of y = 0 (r -> infinity)
        self.x_zero = -1.0 - 2.0 * self.y_in / (self.y_cut - self.y_in)
        self.orthonormal = bool(orthonormal)
        if self.orthonormal and self.diagonal:
            raise ValueError("orthonormal radial functions cannot be combined with the "
                             "diagonal channels of a pure2b basis")
        self._orth = None  # evaluate() gives the plain families while these are built
        if self.orthonormal:
            self._orth = self._orthonormalisers()

    # -- transforms -------------------------------------------------------------------
    def _default_a(self):
        s_c = (self.rcut - self.rin) / (self.r0 - self.rin)
        K = s_c**self.q / (1.0 + s_c ** (self.q - self.p))
        return np.where(K > 1.0 + 1e-3, 2.0 * (K - 1.0) / np.maximum(K, 1e-300), 2e-3)

    def _y(self, r, pt):
        """y and dy/dr for distances ``r`` of flat pair types ``pt``."""
        r0 = self.r0.ravel()[pt]
        rin = self.rin.ravel()[pt]
        if self.transform == "agnesi":
            a = self.a.ravel()[pt]
            q, p = self.q, self.p
            inside = r > rin
            s = np.where(inside, (r - rin) / (r0 - rin), 1.0)
            den = 1.0 + s ** (q - p)
            g = a * s**q / den
            dg_ds = a * s ** (q - 1) * (q + p * s ** (q - p)) / den**2
            y = 1.0 / (1.0 + g)
            dy = -dg_ds / (1.0 + g) ** 2 / (r0 - rin)
            return np.where(inside, y, 1.0), np.where(inside, dy, 0.0)
        t = ((1.0 + r0) / (1.0 + r)) ** self.p
        return t, -self.p * t / (1.0 + r)

    def x_of_r(self, r, pt):
        """x in [-1, 1] and dx/dr for distances ``r`` of flat pair types ``pt``."""
        y, dy = self._y(r, pt)
        y_in, y_cut = self.y_in.ravel()[pt], self.y_cut.ravel()[pt]
        scale = 2.0 / (y_cut - y_in)
        x = -1.0 + scale * (y - y_in)
        below = x < -1.0
        return np.where(below, -1.0, x), np.where(below, 0.0, scale * dy)

    def envelope_parameters(self, which):
        """(x_l, p_l, x_r, p_r, scale) tables of envelope ``which`` ("y" or "x")."""
        if which == "y":
            x_l, p_l = self.x_zero, 2
        else:
            x_l, p_l = np.full(self.rin.shape, -1.0), 0
        scale = 1.0 / ((-1.0 - x_l) ** p_l * 2.0**2)
        return x_l, p_l, np.ones(self.rin.shape), 2, scale

    def _envelope(self, x, pt, which):
        """E(x) = scale (x - x_l)^p_l (x - 1)^2 and dE/dx."""
        x_l, p_l, _, _, scale = self.envelope_parameters(which)
        xl, scale = x_l.ravel()[pt], scale.ravel()[pt]
        left = (x - xl) ** p_l
        dleft = p_l * (x - xl) ** max(p_l - 1, 0)
        right, dright = (x - 1.0) ** 2, 2.0 * (x - 1.0)
        return scale * left * right, scale * (dleft * right + left * dright)

    def _repulsive(self, r, pt):
        """Torabi et al. App. A pair envelope and its r-derivative."""
        r0 = self.r0.ravel()[pt]
        rc = self.rcut.ravel()[pt]
        f = r0 / r - r0 / rc + (r0 / rc) ** 2 * (r - rc) / r0
        return f, -r0 / r**2 + r0 / rc**2

    # -- evaluation -------------------------------------------------------------------
    def pair_type(self, zi_index, zj_index):
        """Flat pair-type index from element indices."""
        return np.asarray(zi_index) * len(self.elements) + np.asarray(zj_index)

    @property
    def n_channels(self):
        """Columns of :meth:`evaluate`: many-body, pair, then diagonal channels."""
        return self.nmax + self.npair + sum(self.diagonal.values())

    def pair_column(self, n):
        """Column of pair function n (1-based) in :meth:`evaluate`'s output."""
        if not 1 <= n <= self.npair:
            raise ValueError(f"no pair function {n} (have {self.npair})")
        return self.nmax + n - 1

    def diagonal_column(self, nu, m):
        """Column of Q^nu_m in :meth:`evaluate`'s output."""
        if not 0 <= m < self.diagonal.get(nu, 0):
            raise ValueError(f"no diagonal channel Q^{nu}_{m} (have {self.diagonal})")
        return self.nmax + self.npair + sum(c for p, c in self.diagonal.items() if p < nu) + m

    def evaluate(self, r, zi_index, zj_index):
        """Radial values and r-derivatives for all pairs at once.

        Parameters
        ----------
        r : (P,) float
            Distances.
        zi_index, zj_index : (P,) int
            Element indices (positions in ``elements``) of centre and neighbour.

        Returns
        -------
        R, dR : (P, n_channels) float
            Columns 0..nmax-1 are the many-body R_1..R_nmax, then the pair functions,
            then the diagonal channels (:meth:`diagonal_column`).  Zero at and beyond
            the pair's rcut.
        """
        r = np.asarray(r, dtype=float)
        pt = self.pair_type(zi_index, zj_index)
        x, dx = self.x_of_r(r, pt)
        P, dP = polynomials(x, self.A, self.B, self.C)
        inside = r < self.rcut.ravel()[pt]
        out = np.zeros((len(r), self.n_channels))
        dout = np.zeros_like(out)
        if self.nmax or self.diagonal:
            env, denv = self._envelope(x, pt, self.envelope)
        if self.nmax:
            out[:, : self.nmax] = env[:, None] * P[:, : self.nmax]
            dout[:, : self.nmax] = (denv[:, None] * P[:, : self.nmax]
                                    + env[:, None] * dP[:, : self.nmax]) * dx[:, None]
        for nu, m in self.diagonal.items():
            if not m:
                continue
            sl = slice(self.diagonal_column(nu, 0), self.diagonal_column(nu, 0) + m)
            e, de = env**nu, nu * env ** (nu - 1) * denv
            out[:, sl] = e[:, None] * P[:, :m]
            dout[:, sl] = (de[:, None] * P[:, :m] + e[:, None] * dP[:, :m]) * dx[:, None]
        if self.npair:
            sl = slice(self.nmax, self.nmax + self.npair)
            if self.pair_envelope == "repulsive":
                f, df = self._repulsive(r, pt)
            else:
                f, df = self._envelope(x, pt, self.pair_envelope)
                df = df * dx
            out[:, sl] = f[:, None] * P[:, : self.npair]
            dout[:, sl] = df[:, None] * P[:, : self.npair] \
                + f[:, None] * dP[:, : self.npair] * dx[:, None]
        if self._orth is not None:
            self._apply_orthonormalisers(out, dout, pt)
        out[~inside] = 0.0
        dout[~inside] = 0.0
        return out, dout

    # -- orthonormal families -----------------------------------------------------------
    def _families(self):
        return [sl for sl in (slice(0, self.nmax), slice(self.nmax, self.nmax + self.npair))
                if sl.stop > sl.start]

    def _orthonormalisers(self, panels=400, order=8):
        """Per pair type and family, the lower-triangular T with T R orthonormal in
        (1/2) int_{-1}^{1} . dx, from a composite Gauss rule in r (x(r) is smooth in r;
        its inverse is not near rin)."""
        g, gw = np.polynomial.legendre.leggauss(order)
        n_types = self.rin.size
        out = []
        for pt in range(n_types):
            rin, rc = self.rin.ravel()[pt], self.rcut.ravel()[pt]
            edges = np.linspace(rin, rc, panels + 1)
            half = 0.5 * np.diff(edges)
            r = ((edges[:-1] + half)[:, None] + half[:, None] * g[None, :]).ravel()
            w = (half[:, None] * gw[None, :]).ravel()
            idx = np.full(len(r), pt)
            _, dx = self.x_of_r(r, idx)
            R, _ = self.evaluate(r, idx // len(self.elements), idx % len(self.elements))
            per_family = []
            for sl in self._families():
                F = R[:, sl]
                G = 0.5 * (F * (w * np.abs(dx))[:, None]).T @ F
                L = np.linalg.cholesky(G)
                per_family.append((sl, np.linalg.inv(L)))
            out.append(per_family)
        return out

    def _apply_orthonormalisers(self, out, dout, pt):
        for t in np.unique(pt):
            rows = pt == t
            for sl, T in self._orth[t]:
                out[rows, sl] = out[rows, sl] @ T.T
                dout[rows, sl] = dout[rows, sl] @ T.T

    @property
    def max_cutoff(self):
        return float(self.rcut.max())

    def pair_values(self, name: str) -> dict:
        """``"rcut"``, ``"r0"`` or ``"rin"`` per element pair, ``{"Cu-Au": value}`` (the
        config's form), pairs by atomic number."""
        table = getattr(self, name)
        return {pair_name(za, zb): float(table[a, b])
                for a, za in enumerate(self.elements)
                for b, zb in enumerate(self.elements) if b >= a}

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self):
        d = {"transform": self.transform, "envelope": self.envelope,
             "pair_envelope": self.pair_envelope, "p": self.p,
             "q": self.q, "nmax": self.nmax, "npair": self.npair,
             "rcut": _table_to_list(self.elements, self.rcut),
             "r0": _table_to_list(self.elements, self.r0),
             "rin": _table_to_list(self.elements, self.rin)}
        if self.a is not None:
            d["a"] = _table_to_list(self.elements, self.a)
        if self.diagonal:
            d["diagonal"] = [[nu, m] for nu, m in self.diagonal.items()]
        if self.orthonormal:
            d["orthonormal"] = True
        return d

    @classmethod
    def from_dict(cls, elements, d):
        get = lambda k: _table_from_list(d[k])  # noqa: E731
        return cls(elements, d["nmax"], d["npair"], rcut=get("rcut"), r0=get("r0"),
                   rin=get("rin"), transform=d["transform"], p=d["p"], q=d["q"],
                   a=get("a") if "a" in d else None, envelope=d["envelope"],
                   pair_envelope=d["pair_envelope"],
                   diagonal={int(nu): int(m) for nu, m in d.get("diagonal", [])},
                   orthonormal=bool(d.get("orthonormal", False)))
