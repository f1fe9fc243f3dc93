"""ACEBasis: spec + radial + couplings compiled into flat tables; evaluation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from ase.data import chemical_symbols

from . import kernels
from .angular import real_sph_harm
from .coupling import coupling_coefficients
from .neighbours import neighbour_pairs, stress_volume, validate_atoms
from .radial import RadialBasis, polynomials
from .spec import BasisFunction, BasisSpec, enumerate_multisets, parse_elements

__all__ = ["ACEBasis", "BasisValues"]

_FORMAT = "acefit.ACEBasis/1"
_DEFAULT_DEGREES = (20, 16, 12, 10)
# sites per chunk are chosen so that one chunk holds about this many pairs
_PAIRS_PER_CHUNK = 20000
_SQRT_4PI = float(np.sqrt(4.0 * np.pi))


@dataclass
class BasisValues:
    """Per-function rows of one configuration (column k: the model with coefficients e_k).

    Attributes
    ----------
    energy : (n,) float
        sum_i B_k(i), eV per unit coefficient.
    forces : (n_atoms, 3, n) float
        -d/dr_a sum_i B_k(i), eV/Å.
    stress : (6, n) float
        (1/V) dE/d(strain) in ASE's sign and Voigt order (xx yy zz yz xz xy), eV/Å³;
        NaN when the configuration has no periodic direction or zero volume.
    site_values : (n_atoms, n) float
        B_k(i).
    """

    energy: np.ndarray
    forces: np.ndarray
    stress: np.ndarray
    site_values: np.ndarray


class ACEBasis:
    """Linear ACE basis: many-body invariants plus a pair basis, for any elements.

    Site energy of atom i: E_i = sum_k c_k B_k(i).  B_k is zero unless atom i has
    the function's centre species.  Many-body functions (kind ``"ace"``) are

        B(i) = sum_m C_m prod_t A_{z_t n_t l_t m_t}(i),
        A_{z n l m}(i) = sum_{j: Z_j = z, r_ij < rcut} R_n(r_ij) Y_lm(r_ij / r_ij),

    for every admissible multiset of factors (z, n, l) (see :mod:`acefit.basis.spec`:
    sum_t (n_t + wL l_t) <= D_nu, sum l even) and every independent O(3)-invariant
    coupling C (:func:`acefit.basis.coupling.coupling_coefficients`).  Pair functions
    (kind ``"pair"``) are B(i) = sum_{j: Z_j = z} R^pair_n(r_ij), n = 1..pair_degree,
    for every (centre, neighbour) species pair, with the repulsive envelope of
    Torabi et al. (2025) App. A (see :mod:`acefit.basis.radial`).

    With ``one_body=True`` each species also gets the nu = 0 function B(i) = 1 on
    its sites (kind ``"onebody"``): a per-atom energy that the solvers select and
    fit with the rest, on top of the reference energies E0 subtracted before the
    fit (no force or stress; its prior weight is 1, see :mod:`acefit.prior`).

    Sizes (one element, order 3, wL = 1.5, many-body functions only):
    totaldegree [20, 16, 12] -> 299 (nu=1: 20, nu=2: 147, nu=3: 132);
    [25, 21, 17] -> 1016; 25 -> 5292 (ACEpotentials.jl: about 300 / 1000 / 5000).
    The pair basis adds ``pair_degree`` functions per unordered species pair, i.e.
    pair_degree * K (K + 1) / 2 for K elements (default pair_degree = int(D_1):
    +20 / +25 / +25 for the three one-element bases above).  ``len(basis)``
    counts both.  An order-1 function (pair or many-body) of a pair of two species is
    made for the lighter centre only: its mirror image, centred on the other species,
    sums the same bonds and gives the same column on any data.

    Parameters
    ----------
    elements : sequence of str or int
        Species of the basis.
    order : int
        Maximal correlation order nu, 1..4.
    totaldegree : float or sequence of float, optional
        D_nu per order (scalar: the same for all); default the first ``order`` of
        (20, 16, 12, 10).
    wL : float
        Weight of l in the total degree.
    maxl, maxn : int, optional
        Caps on l and n.
    pair_degree : int, optional
        Pair functions per species pair (default int(D_1); 0 disables).
    rcut : float or dict
        Cutoff in Å, scalar or per unordered element pair
        ``{("Cu", "Au"): 5.0, "default": 5.5}``.
    r0 : float, dict or None
        Bond length per pair (default: reference nearest-neighbour distance, see
        :func:`acefit.basis.radial.default_r0`).
    rin : float or dict
        Inner radius of the x-map (default 0).
    transform : {"agnesi", "polynomial"}
        Distance transform (``"polynomial"`` is exportable to ML-PACE .yace).
    p, q, a : transform parameters (see :class:`acefit.basis.radial.RadialBasis`).
    envelope : {"y", "x"}, optional
        Many-body envelope (default "x").
    pair_envelope : {"repulsive", "y", "x"}
        Envelope of the pair functions (default the repulsive one of App. A).
    pure2b : bool
        Remove the two-body part from every many-body function of order nu >= 2
        (ACE1x's "pure2b"): the terms of the neighbour sums in which all nu
        neighbours are the same atom j,

            B_pure(i) = B(i) - sum_j B({r_ij}),

        where B({r_ij}) is the function on the environment of j alone, a pair
        function c prod_t R_{n_t}(r_ij) (c: the invariant coupling at one
        direction).  The nu-correlations then start at genuine (nu + 1)-body terms
        and two-body physics is left to the pair basis.  It is evaluated exactly
        through the diagonal radial channels of :class:`RadialBasis`.
    one_body : bool
        Add one one-body function per species (listed first for its centre).
    radial_orthonormal : bool
        Orthonormalise each radial family over x in [-1, 1], as ACE1/ACE1x's
        ``transformed_jacobi`` (see :class:`acefit.basis.radial.RadialBasis`): the same
        span, other functions for the sparse solvers and the prior. Not with ``pure2b``;
        exported to ``.yace`` by the spline dialect only (not ``recurrence``).
    mirrored : bool
        Also make the mirror image of every order-1 function of two species (acefit
        0.1's basis, kept so that runs fitted then can be exported; see above).
    """

    def __init__(self, elements, order=3, totaldegree=None, wL=1.5, maxl=None, maxn=None,
                 pair_degree=None, rcut=5.0, r0=None, rin=0.0, transform="agnesi", p=2,
                 q=4, a=None, envelope=None, pair_envelope="repulsive", pure2b=False,
                 one_body=False, radial_orthonormal=False, mirrored=False):
        if totaldegree is None:
            if not isinstance(order, Integral) or not 1 <= order <= 4:
                raise ValueError(f"order must be an integer in 1..4, got {order!r}")
            totaldegree = _DEFAULT_DEGREES[:order]
        spec = BasisSpec.create(elements, order, totaldegree, wL, maxl, maxn, pair_degree)
        functions = _enumerate(spec, one_body, mirrored)
        nmax = max((n for f in functions if f.kind == "ace" for _, n, _ in f.factors),
                   default=0)
        radial = RadialBasis(spec.elements, nmax, spec.pair_degree, rcut=rcut, r0=r0,
                             rin=rin, transform=transform, p=p, q=q, a=a,
                             envelope=envelope, pair_envelope=pair_envelope,
                             diagonal=_diagonal_channels(functions) if pure2b else None,
                             orthonormal=radial_orthonormal)
        self._setup(spec, radial, functions, pure2b)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def _create(cls, spec, radial, functions, pure2b):
        self = cls.__new__(cls)
        self._setup(spec, radial, functions, pure2b)
        return self

    def _setup(self, spec, radial, functions, pure2b):
        self.spec = spec
        self.radial = radial
        self.functions = list(functions)
        self.pure2b = bool(pure2b)
        self.numbers = spec.elements
        self.elements = tuple(chemical_symbols[z] for z in spec.elements)
        self._tables = _compile(self.functions, spec.elements, radial, self.pure2b)

    @property
    def rcut(self):
        """Largest cutoff over all element pairs (Å)."""
        return self.radial.max_cutoff

    def __len__(self):
        return len(self.functions)

    def __repr__(self):
        return (f"ACEBasis(elements={list(self.elements)}, order={self.spec.order}, "
                f"n={len(self)}, rcut={self.rcut})")

    def counts(self):
        """Sizes ``{(centre symbol, label): count}``, label ``BasisFunction.label``."""
        c = Counter()
        for f in self.functions:
            c[(chemical_symbols[f.centre], f.label)] += 1
        return dict(sorted(c.items()))

    def describe(self):
        """Human-readable size table by centre species and order."""
        counts = self.counts()
        labels = sorted({lab for _, lab in counts},
                        key=lambda s: (s != "one-body", s != "pair", s))
        lines = [f"ACEBasis: {len(self)} functions, elements {list(self.elements)}, "
                 f"order {self.spec.order}, totaldegree {list(self.spec.degrees)}, "
                 f"wL {self.spec.wL}, transform {self.radial.transform}, "
                 + ("pure2b, " if self.pure2b else "") +
                 f"rcut {self.rcut:g} Å",
                 "centre  " + "".join(f"{lab:>8}" for lab in labels) + f"{'total':>8}"]
        for sym in self.elements:
            row = [counts.get((sym, lab), 0) for lab in labels]
            lines.append(f"{sym:<8}" + "".join(f"{v:>8}" for v in row) + f"{sum(row):>8}")
        return "\n".join(lines)

    def subset(self, idx):
        """A basis of only the functions ``idx`` (in that order), evaluating only them."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean subset mask must have length {len(self)}")
            idx = np.nonzero(idx)[0]
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer) and len(idx):
            raise ValueError("subset index must be a 1-d array of integers or a mask")
        idx = idx.astype(np.int64)
        if len(idx) and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"subset index out of range for a basis of {len(self)}")
        functions = [self.functions[i] for i in idx]
        d = self.radial.to_dict()
        d["nmax"] = max((n for f in functions if f.kind == "ace" for _, n, _ in f.factors),
                        default=0)
        d["npair"] = max((f.factors[0][1] for f in functions if f.kind == "pair"),
                         default=0)
        d["diagonal"] = list(_diagonal_channels(functions).items()) if self.pure2b else []
        radial = RadialBasis.from_dict(self.spec.elements, d)
        return ACEBasis._create(self.spec, radial, functions, self.pure2b)

    def to_dict(self):
        """Plain (JSON/YAML-able) description; :meth:`from_dict` rebuilds it exactly."""
        s = self.spec
        d = {"format": _FORMAT,
             "elements": list(s.elements),
             "spec": {"order": s.order, "degrees": list(s.degrees), "wL": s.wL,
                      "maxl": s.maxl, "maxn": s.maxn, "pair_degree": s.pair_degree},
             "radial": self.radial.to_dict(),
             "functions": [f.to_list() for f in self.functions]}
        if self.pure2b:  # absent otherwise: older files and cache keys stay valid
            d["pure2b"] = True
        return d

    @classmethod
    def from_dict(cls, d):
        """Rebuild a basis from :meth:`to_dict` output; ValueError if malformed."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise ValueError(f"not an ACEBasis dict (expected format {_FORMAT!r})")
        try:
            elements = parse_elements(d["elements"])
            sd = d["spec"]
            spec = BasisSpec(elements, int(sd["order"]),
                             tuple(float(x) for x in sd["degrees"]), float(sd["wL"]),
                             sd["maxl"], sd["maxn"], int(sd["pair_degree"]))
            radial = RadialBasis.from_dict(elements, d["radial"])
            functions = [BasisFunction.from_list(item) for item in d["functions"]]
            pure2b = d.get("pure2b", False)
        except (KeyError, TypeError) as err:
            raise ValueError(f"malformed ACEBasis dict: {err!r}") from None
        if not isinstance(pure2b, bool):
            raise ValueError(f"malformed ACEBasis dict: pure2b must be true or false, "
                             f"got {pure2b!r}")
        _check_functions(functions, elements, radial)
        if pure2b:
            need = _diagonal_channels(functions)
            if any(radial.diagonal.get(nu, 0) < m for nu, m in need.items()):
                raise ValueError(f"malformed ACEBasis dict: pure2b needs diagonal radial "
                                 f"channels {need}, the radial basis has {radial.diagonal}")
        return cls._create(spec, radial, functions, pure2b)

    # -- evaluation -------------------------------------------------------------------
    def _prepare(self, atoms):
        """Validated atoms -> species indices, site pointers and neighbour pairs (sorted by
        centre, then neighbour species): ``(site_sp, site_ptr, j, D, d, zj)``.

        The pair arrays are all that is kept of the whole cell (48 bytes a pair, about 2
        kiB an atom of fcc Cu at 5.5 Å); each is replaced in turn, not all at once, since
        at 10^5 atoms and more the copies set the peak memory of an evaluation."""
        validate_atoms(atoms)
        numbers = np.asarray(atoms.numbers)
        lookup = {z: k for k, z in enumerate(self.numbers)}
        unknown = sorted(set(numbers.tolist()) - set(lookup))
        if unknown:
            raise ValueError(f"atoms contain element(s) {[chemical_symbols[z] for z in unknown]}"
                             f" not in the basis elements {list(self.elements)}")
        site_sp = np.array([lookup[z] for z in numbers.tolist()], dtype=np.int64)
        i, j, D, d = neighbour_pairs(atoms, self.rcut)
        zj = site_sp[j]
        # pairs within the pair's cutoff, sorted by centre then neighbour species: the
        # stable order of i * n_species + zj (lexsort((zj, i)), without its copies)
        key = i * len(self.numbers) + zj
        inside = d < self.radial.rcut[site_sp[i], zj]
        keep = None if inside.all() else np.flatnonzero(inside)
        del inside
        if keep is not None:
            key, i = key[keep], i[keep]
        order = None if np.all(key[1:] >= key[:-1]) else np.argsort(key, kind="stable")
        del key
        site_ptr = np.searchsorted(i, np.arange(len(atoms) + 1)).astype(np.int64)
        del i
        if keep is not None:
            order = keep if order is None else keep[order]
        if order is not None:
            j, zj, d = j[order], zj[order], d[order]
            D = D[order]
        del order, keep
        if len(d) and d.min() <= 1e-8:
            raise ValueError("atoms: two atoms (or an atom and its periodic image) coincide")
        return site_sp, site_ptr, j, np.ascontiguousarray(D), d, zj

    def _chunks(self, site_ptr):
        """Site ranges [i0, i1) holding about _PAIRS_PER_CHUNK pairs each."""
        n = len(site_ptr) - 1
        i0 = 0
        while i0 < n:
            i1 = int(np.searchsorted(site_ptr, site_ptr[i0] + _PAIRS_PER_CHUNK, "right")) - 1
            i1 = min(max(i1, i0 + 1), n)
            yield i0, i1
            i0 = i1

    def _pair_data(self, prep, i0, i1, gradients):
        site_sp, site_ptr, j, D, d, zj = prep
        lo, hi = site_ptr[i0], site_ptr[i1]
        sl = slice(lo, hi)
        zi = np.repeat(site_sp[i0:i1], np.diff(site_ptr[i0:i1 + 1]))
        R, dR = self.radial.evaluate(d[sl], zi, zj[sl])
        if gradients:
            Y, dY = real_sph_harm(D[sl], self._tables["lmax"], gradients=True)
        else:
            Y, dY = real_sph_harm(D[sl], self._tables["lmax"], gradients=False), None
        ptr = site_ptr[i0:i1 + 1] - lo
        return (ptr, np.ascontiguousarray(j[sl]), np.ascontiguousarray(zj[sl]),
                np.ascontiguousarray(D[sl]), np.ascontiguousarray(d[sl]),
                np.ascontiguousarray(R), np.ascontiguousarray(dR), np.ascontiguousarray(Y),
                None if dY is None else np.ascontiguousarray(dY))

    def site_values(self, atoms):
        """B_k(i), shape (n_atoms, n)."""
        prep = self._prepare(atoms)
        t = self._tables
        out = np.zeros((len(atoms), len(self)))
        for i0, i1 in self._chunks(prep[1]):
            ptr, _, zj, _, _, R, _, Y, _ = self._pair_data(prep, i0, i1, gradients=False)
            kernels.site_values_kernel(i0, i1, prep[0], ptr, zj, R, Y, t["v_rad"], t["v_lm"],
                                       t["sp_v_ptr"], t["centre_ptr"], t["centre_k"],
                                       t["term_order"], t["term_ptr"], t["term_coef"],
                                       t["term_v"], out)
        return out

    def evaluate(self, atoms):
        """Energy, force and stress rows of every basis function (see :class:`BasisValues`).

        Column k is what an ASE calculator of the model with coefficients e_k returns:
        forces = -dE/dr, stress = (1/V) dE/d(strain) (ASE sign, Voigt xx yy zz yz xz
        xy, eV/Å³), NaN when no direction is periodic or the cell volume is zero
        (e.g. pbc = [True, True, False] with a zero third cell vector).

        Raises
        ------
        ValueError
            Unknown element, non-finite positions or cell, a degenerate periodic
            cell (zero-volume cell with pbc), or coinciding atoms.
        """
        prep = self._prepare(atoms)
        t = self._tables
        n, n_atoms = len(self), len(atoms)
        values = np.zeros((n_atoms, n))
        forces_t = np.zeros((n, n_atoms, 3))
        virial_t = np.zeros((n, 6))
        max_neigh = int(np.diff(prep[1]).max()) if n_atoms else 0
        for i0, i1 in self._chunks(prep[1]):
            ptr, j, zj, D, d, R, dR, Y, dY = self._pair_data(prep, i0, i1, gradients=True)
            kernels.design_kernel(i0, i1, prep[0], ptr, j, zj, D, d, R, dR, Y, dY,
                                  t["v_rad"], t["v_lm"], t["sp_v_ptr"], t["centre_ptr"],
                                  t["centre_k"], t["term_order"], t["term_ptr"],
                                  t["term_coef"], t["term_v"], t["term_dpos"], t["d_ptr"],
                                  t["d_col"], t["d_sptr"], max_neigh, values, forces_t,
                                  virial_t)
        forces = np.ascontiguousarray(forces_t.transpose(1, 2, 0))
        volume = stress_volume(atoms)
        stress = virial_t.T / volume if volume is not None else np.full((6, n), np.nan)
        return BasisValues(values.sum(axis=0), forces, stress, values)

    def energy_forces_stress(self, atoms, coef, *, site_sum=None):
        """Contracted model: E, per-atom energies, forces (n_atoms, 3), stress (6,).

        Stress is NaN when the configuration has no periodic direction or zero volume.

        Parameters
        ----------
        atoms : ase.Atoms
        coef : array_like, shape (len(basis),)
        site_sum : ndarray (len(basis),), optional
            Output: gains sum_i B_k(i) for every function with a nonzero ``coef``, found
            on the way (other entries untouched), so that ``d @ site_sum`` is the energy
            of coefficients ``d`` on those functions, e.g. a committee's (at no extra cost,
            where :meth:`site_values` is a second pass).
        """
        coef = self._check_coef(coef, "coef", (len(self),))
        if site_sum is None:
            site_sum = np.empty(0)
        elif (not isinstance(site_sum, np.ndarray) or site_sum.shape != (len(self),)
              or site_sum.dtype != np.float64):
            raise ValueError(f"site_sum must be a float64 array of shape ({len(self)},), "
                             f"got {getattr(site_sum, 'dtype', type(site_sum).__name__)} of "
                             f"shape {np.shape(site_sum)}")
        prep = self._prepare(atoms)
        t = self._tables
        n_atoms = len(atoms)
        energies = np.zeros(n_atoms)
        forces = np.zeros((n_atoms, 3))
        virial = np.zeros(6)
        for i0, i1 in self._chunks(prep[1]):
            ptr, j, zj, D, d, R, dR, Y, dY = self._pair_data(prep, i0, i1, gradients=True)
            kernels.contracted_kernel(i0, i1, prep[0], ptr, j, zj, D, d, R, dR, Y, dY,
                                      t["v_rad"], t["v_lm"], t["sp_v_ptr"],
                                      t["centre_ptr"], t["centre_k"], t["term_order"],
                                      t["term_ptr"], t["term_coef"], t["term_v"], coef,
                                      energies, forces, virial, site_sum)
        volume = stress_volume(atoms)
        stress = virial / volume if volume is not None else np.full(6, np.nan)
        return float(energies.sum()), energies, forces, stress

    def energy_forces_stress_many(self, atoms, coefs):
        """K contracted models at once: energies (K,), forces (K, n_atoms, 3) and
        stresses (K, 6), e.g. a committee's members or their differences to a model.

        As K calls of :meth:`energy_forces_stress` (to rounding), without design rows:
        the neighbour list, the radial and angular tables and each function's value and
        derivative are computed once for all K; memory is O(K x atoms), not
        O(atoms x functions) as :meth:`evaluate` is.

        Parameters
        ----------
        atoms : ase.Atoms
        coefs : array_like, shape (K, len(basis))
            One coefficient vector a row.

        Returns
        -------
        energy : ndarray, shape (K,)
        forces : ndarray, shape (K, n_atoms, 3)
        stress : ndarray, shape (K, 6)
            NaN when the configuration has no periodic direction or zero volume.
        """
        coefs = self._check_coef(coefs, "coefs", (None, len(self)))
        prep = self._prepare(atoms)
        t = self._tables
        n_models = len(coefs)
        energy = np.zeros(n_models)
        forces = np.zeros((n_models, len(atoms), 3))
        virial = np.zeros((n_models, 6))
        coef_t = np.ascontiguousarray(coefs.T)
        for i0, i1 in self._chunks(prep[1]):
            ptr, j, zj, D, d, R, dR, Y, dY = self._pair_data(prep, i0, i1, gradients=True)
            kernels.multi_contracted_kernel(i0, i1, prep[0], ptr, j, zj, D, d, R, dR, Y, dY,
                                            t["v_rad"], t["v_lm"], t["sp_v_ptr"],
                                            t["centre_ptr"], t["centre_k"],
                                            t["term_order"], t["term_ptr"], t["term_coef"],
                                            t["term_v"], t["term_dpos"], t["d_ptr"],
                                            t["d_col"], coef_t, energy, forces, virial)
        volume = stress_volume(atoms)
        stress = virial / volume if volume is not None else np.full((n_models, 6), np.nan)
        return energy, forces, stress

    @staticmethod
    def _check_coef(coef, name, shape):
        """``coef`` as a contiguous float array of ``shape`` (None: any length), finite."""
        coef = np.ascontiguousarray(coef, dtype=float)
        if coef.ndim != len(shape) or any(want is not None and got != want
                                          for got, want in zip(coef.shape, shape)):
            want = ", ".join("K" if w is None else str(w) for w in shape)
            raise ValueError(f"{name} must have shape ({want}{',' * (len(shape) == 1)}), "
                             f"got {coef.shape}")
        if not np.all(np.isfinite(coef)):
            raise ValueError(f"{name} contains non-finite values")
        return coef


# ---------------------------------------------------------------------------------------
def _enumerate(spec, one_body=False, mirrored=False):
    """BasisFunction list: per centre species, the one-body function (if asked for),
    pair functions, then ACE by order.

    An order-1 function sums R_n(r_ij) over the neighbours of one species, and the radial
    functions are those of the unordered pair, so the function of centre a with
    neighbours b and that of centre b with neighbours a sum the same bonds: on energies,
    forces and virials they are one column. Only the one with the lighter centre is
    made (``mirrored``: both, as acefit 0.1 did)."""
    multisets = enumerate_multisets(spec)
    ace = []
    for nu in range(1, spec.order + 1):
        for factors in multisets[nu]:
            C, _ = coupling_coefficients(*_coupling_key(factors))
            ace.extend((nu, factors, q) for q in range(C.shape[0]))
    functions = []
    for zc in spec.elements:
        if one_body:
            functions.append(BasisFunction(zc, 0, (), "onebody"))
        for z in spec.elements:
            if mirrored or z >= zc:
                functions.extend(BasisFunction(zc, 1, ((z, n, 0),), "pair")
                                 for n in range(1, spec.pair_degree + 1))
        functions.extend(BasisFunction(zc, nu, factors, "ace", q) for nu, factors, q in ace
                         if mirrored or nu > 1 or factors[0][0] >= zc)
    return functions


def _check_functions(functions, elements, radial):
    """ValueError unless every function is consistent with the elements and radial basis."""
    for k, f in enumerate(functions):
        species = {f.centre} | {z for z, _, _ in f.factors}
        problem = None
        if not species <= set(elements):
            problem = f"species {sorted(species - set(elements))} not in {list(elements)}"
        elif f.kind == "onebody":
            if f.order != 0 or f.factors or f.coupling != 0:
                problem = "a one-body function has order 0, no factors and coupling 0"
        elif f.kind not in ("pair", "ace") or f.order != len(f.factors) or not f.factors:
            problem = ("kind must be 'onebody' (order 0, no factors), or 'pair' or 'ace' "
                       "with order = number of factors")
        elif f.kind == "pair" and not (f.order == 1 and f.factors[0][2] == 0
                                       and 1 <= f.factors[0][1] <= radial.npair):
            problem = f"pair functions need one factor (z, n, 0) with 1 <= n <= {radial.npair}"
        elif f.kind == "ace":
            if any(not 1 <= n <= radial.nmax or l < 0 for _, n, l in f.factors):
                problem = f"factors need 1 <= n <= {radial.nmax} and l >= 0"
            elif list(f.factors) != sorted(f.factors, key=lambda x: (x[2], x[0], x[1])):
                problem = "factors must be sorted by (l, z, n)"
            elif not 0 <= f.coupling < coupling_coefficients(*_coupling_key(f.factors))[0].shape[0]:
                problem = "no such invariant coupling for these factors"
        if problem:
            raise ValueError(f"basis function {k} {f}: {problem}")


def _coupling_key(factors):
    """(ls, identical) for coupling_coefficients; factors are sorted by (l, z, n)."""
    labels = {}
    identical = tuple(labels.setdefault(f, len(labels)) for f in factors)
    return tuple(f[2] for f in factors), identical


def _has_two_body_part(f):
    """A many-body function of order >= 2 whose factors share one neighbour species."""
    return f.kind == "ace" and f.order >= 2 and len({z for z, _, _ in f.factors}) == 1


def _two_body_degree(f):
    """D = sum_t (n_t - 1): the Legendre degree of f's two-body part, E^nu P_0..P_D."""
    return sum(n - 1 for _, n, _ in f.factors)


def _diagonal_channels(functions):
    """{nu: M}: diagonal radial channels a pure2b basis of these functions needs."""
    need = {}
    for f in functions:
        if _has_two_body_part(f):
            need[f.order] = max(need.get(f.order, 0), _two_body_degree(f) + 1)
    return dict(sorted(need.items()))


def _two_body_parts(functions, radial, index):
    """{k: (species index, channel columns, coefficients)}: the two-body part of each
    many-body function k of a pure2b basis, as a combination of diagonal channels.

    On the environment of one neighbour at r (all factors share its species) a
    function is c prod_t R_{n_t}(r) = c E^nu prod_t P_{n_t - 1}(x) = c sum_m a_m Q^nu_m(r):
    c is the coupling at one direction (rotation invariant, so any direction: z) and
    a_m the Legendre linearisation coefficients. One Gauss rule with D + 1 nodes, D
    the largest sum_t (n_t - 1), integrates every product P_m prod_t P_{n_t - 1}
    exactly, so the nodes, the polynomials there and Y_lm(z) are computed once.
    """
    parts = [(k, f) for k, f in enumerate(functions) if _has_two_body_part(f)]
    if not parts:
        return {}
    degrees = {k: _two_body_degree(f) for k, f in parts}
    x, w = np.polynomial.legendre.leggauss(max(degrees.values()) + 1)
    P, _ = polynomials(x, radial.A, radial.B, radial.C)
    lmax = max(l for _, f in parts for _, _, l in f.factors)
    Yz = real_sph_harm(np.array([[0.0, 0.0, 1.0]]), lmax, gradients=False)[0]
    out = {}
    for k, f in parts:
        C, M = coupling_coefficients(*_coupling_key(f.factors))
        ls = np.array([l for _, _, l in f.factors])
        c = float(C[f.coupling] @ np.prod(Yz[ls * ls + ls + M], axis=1))
        degree = degrees[k]
        product = np.prod([P[:, n - 1] for _, n, _ in f.factors], axis=0)
        a = c * ((w * product) @ P[:, : degree + 1])
        keep = np.nonzero(np.abs(a) > 1e-14 * max(np.abs(a).max(initial=0.0), 1e-300))[0]
        if len(keep):
            cols = np.array([radial.diagonal_column(f.order, m) for m in keep], dtype=np.int64)
            out[k] = (index[f.factors[0][0]], cols, a[keep])
    return out


def _compile(functions, elements, radial, pure2b=False):
    """Flat tables of the kernels (see :mod:`acefit.basis.kernels`).

    One-particle functions v are keyed (species index, kind, n, l, m): kind 0 a
    many-body R_n Y_lm, kind 1 a pair R^pair_n, kind 2 a diagonal channel (n is its
    radial column; l = m = 0).
    """
    index = {z: k for k, z in enumerate(elements)}
    nel = len(elements)
    nmax = radial.nmax
    # the two-body part of each pure2b function: (species, channel columns, coefficients)
    diagonal = _two_body_parts(functions, radial, index) if pure2b else {}
    keys = set()
    lmax = 0
    for f in functions:
        for z, n, l in f.factors:
            if f.kind == "pair":
                keys.add((index[z], 1, n, 0, 0))
            else:
                lmax = max(lmax, l)
                keys.update((index[z], 0, n, l, m) for m in range(-l, l + 1))
    for sp, cols, _ in diagonal.values():
        keys.update((sp, 2, int(col), 0, 0) for col in cols)
    keys = sorted(keys)
    v_of = {key: v for v, key in enumerate(keys)}
    v_sp = np.array([k[0] for k in keys], dtype=np.int64)
    v_rad = np.array([k[2] if k[1] == 2 else (nmax + k[2] - 1) if k[1] else (k[2] - 1)
                      for k in keys], dtype=np.int64)
    v_lm = np.array([k[3] * k[3] + k[3] + k[4] for k in keys], dtype=np.int64)
    sp_v_ptr = np.searchsorted(v_sp, np.arange(nel + 1)).astype(np.int64)

    n = len(functions)
    k_centre = np.zeros(n, dtype=np.int64)
    term_coef, term_v, term_ptr, term_order = [], [], [0], []
    d_col, d_ptr, term_dpos = [], [0], []
    for k, f in enumerate(functions):
        k_centre[k] = index[f.centre]
        if f.kind == "onebody":
            # one term with no factors: the empty product is 1, no derivative
            coefs = np.ones(1)
            vs = np.zeros((1, 0), dtype=np.int64)
        elif f.kind == "pair":
            z, nn, _ = f.factors[0]
            coefs = np.array([_SQRT_4PI])
            vs = np.array([[v_of[(index[z], 1, nn, 0, 0)]]], dtype=np.int64)
        else:
            C, M = coupling_coefficients(*_coupling_key(f.factors))
            coefs = C[f.coupling]
            nz = coefs != 0.0
            coefs = coefs[nz]
            base = np.array([v_of[(index[z], 0, nn, l, -l)] for z, nn, l in f.factors],
                            dtype=np.int64)
            ls = np.array([l for _, _, l in f.factors], dtype=np.int64)
            # one-particle indices of fixed (z, n, l) are contiguous in m
            vs = base[None, :] + ls[None, :] + M[nz].astype(np.int64)
        groups = [(coefs, vs)]
        if k in diagonal:
            # minus the two-body part; A_v of a channel carries Y_00 = 1/sqrt(4 pi)
            sp, cols, a = diagonal[k]
            groups.append((-_SQRT_4PI * a, np.array([[v_of[(sp, 2, int(c), 0, 0)]]
                                                     for c in cols], dtype=np.int64)))
        cols = np.unique(np.concatenate([g.ravel() for _, g in groups]))
        for coefs, vs in groups:
            nu = vs.shape[1]
            padded_v = np.zeros((len(coefs), 4), dtype=np.int64)
            padded_v[:, :nu] = vs
            padded_pos = np.zeros((len(coefs), 4), dtype=np.int64)
            padded_pos[:, :nu] = np.searchsorted(cols, vs) + d_ptr[-1]
            term_coef.append(coefs)
            term_v.append(padded_v)
            term_dpos.append(padded_pos)
            term_order.append(np.full(len(coefs), nu, dtype=np.int64))
        term_ptr.append(term_ptr[-1] + sum(len(c) for c, _ in groups))
        d_col.append(cols)
        d_ptr.append(d_ptr[-1] + len(cols))
    cat = lambda xs, shape, dt: (np.concatenate(xs).astype(dt) if xs  # noqa: E731
                                 else np.zeros(shape, dtype=dt))
    d_col = cat(d_col, (0,), np.int64)
    d_ptr = np.array(d_ptr, dtype=np.int64)
    # per function, the D entries of each neighbour species (columns sorted by species)
    d_sptr = np.zeros((n, nel + 1), dtype=np.int64)
    col_sp = v_sp[d_col] if len(d_col) else np.zeros(0, dtype=np.int64)
    for k in range(n):
        lo, hi = d_ptr[k], d_ptr[k + 1]
        d_sptr[k] = lo + np.searchsorted(col_sp[lo:hi], np.arange(nel + 1))
    order = np.argsort(k_centre, kind="stable")
    return {
        "lmax": int(lmax),
        "v_rad": v_rad, "v_lm": v_lm, "sp_v_ptr": sp_v_ptr,
        "centre_ptr": np.searchsorted(k_centre[order], np.arange(nel + 1)).astype(np.int64),
        "centre_k": order.astype(np.int64),
        "term_order": cat(term_order, (0,), np.int64),
        "term_ptr": np.array(term_ptr, dtype=np.int64),
        "term_coef": cat(term_coef, (0,), np.float64),
        "term_v": np.ascontiguousarray(cat(term_v, (0, 4), np.int64)),
        "term_dpos": np.ascontiguousarray(cat(term_dpos, (0, 4), np.int64)),
        "d_ptr": d_ptr, "d_col": d_col, "d_sptr": d_sptr,
    }
