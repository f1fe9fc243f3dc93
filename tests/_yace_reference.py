"""Independent plain-numpy reference evaluator of ML-PACE ``.yace`` potential files.

Evaluates the file format LAMMPS ``pair_style pace`` and python-ace read, as documented
in ``docs/yace_format.md``, without using acefit's exporter or basis code: the radial
bases (recurrence dialect ``ACE.jl.base`` and the cubic Hermite spline dialect of
current ML-PACE), the complex atomic base ``A_{i, mu n l m}``, C-tilde products and a
linear embedding. Forces and stress are analytic (chain rule through the radial
functions and the spherical harmonics).

Only what acefit writes is supported: ``ndensity: 1`` with the linear embedding
(``FinnisSinclairShiftedScaled``, ``FS_parameters: [1, 1]``), no ``polypairpot`` and no
``reppot`` block; anything else raises NotImplementedError.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse
import yaml
from ase.calculators.calculator import (
    Calculator,
    PropertyNotImplementedError,
    all_changes,
)
from ase.neighborlist import neighbor_list
from scipy.special import sph_harm_y

__all__ = ["YaceReference", "harmonics", "load", "radial_basis"]


# ----------------------------------------------------------------------------- file
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that accepts flow-sequence mapping keys (``[0, 1]: ...``) as tuples."""

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)
        out = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list):
                key = tuple(key)
            out[key] = self.construct_object(value_node, deep=deep)
        return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                        _Loader.construct_mapping)


def load(path):
    """Read a ``.yace`` file.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        The file's content; ``bonds`` keyed by ``(mu_i, mu_j)`` tuples, ``functions``
        and ``embeddings`` keyed by int species index.
    """
    with open(path) as fh:
        return _normalise(yaml.load(fh, Loader=_Loader))


def _normalise(d):
    d = dict(d)
    d["bonds"] = {tuple(int(x) for x in k): v for k, v in d["bonds"].items()}
    d["functions"] = {int(k): list(v or []) for k, v in d.get("functions", {}).items()}
    d["embeddings"] = {int(k): v for k, v in d.get("embeddings", {}).items()}
    return d


def _check_supported(d):
    for block in ("polypairpot", "reppot"):
        if block in d:
            raise NotImplementedError(f"the {block!r} block is not supported")
    nel = len(d["elements"])
    for mu in range(nel):
        emb = d["embeddings"].get(mu)
        if emb is None:
            raise ValueError(f"no embedding for species {mu}")
        linear = (int(emb.get("ndensity", 0)) == 1
                  and emb.get("npoti") == "FinnisSinclairShiftedScaled"
                  and [float(x) for x in emb.get("FS_parameters", [])] == [1.0, 1.0])
        if not linear:
            raise NotImplementedError(f"embedding of species {mu} is not linear "
                                      f"(ndensity 1, FinnisSinclairShiftedScaled, "
                                      f"FS_parameters [1, 1]): {emb}")
        for a in range(nel):
            if (mu, a) not in d["bonds"]:
                raise ValueError(f"no bond for the species pair ({mu}, {a})")
    for mu, funcs in d["functions"].items():
        for f in funcs:
            if int(f.get("ndensity", 1)) != 1:
                raise NotImplementedError("functions with ndensity != 1")


# --------------------------------------------------------------------------- radial
def _n_radial(params):
    if "splinenodalvals" in params:
        return int(params["nradial"])
    return int(params["maxn"])


def radial_basis(r, params):
    """Radial functions of one bond and their r-derivatives.

    Parameters
    ----------
    r : array_like, shape (n,)
        Distances.
    params : dict
        A ``bonds`` entry, recurrence dialect (``recursion_coefficients``) or spline
        dialect (``splinenodalvals``).

    Returns
    -------
    g, dg : ndarray, shape (n, nfunctions)
        g[:, k] is the function ``ns = k + 1``; both are zero at r >= rcut.

    Raises
    ------
    ValueError
        Spline dialect: a distance below one spline bin (r < rcut / nbins).
    """
    r = np.asarray(r, dtype=float)
    if not str(params.get("radbasename", "")).startswith("ACE.jl"):
        raise NotImplementedError(f"radial basis {params.get('radbasename')!r}")
    if "splinenodalvals" in params:
        return _spline(r, params)
    if "recursion_coefficients" in params:
        return _recurrence(r, params)
    raise NotImplementedError(f"unknown radial dialect with keys {sorted(params)}")


def _recurrence(r, params):
    rc = params["recursion_coefficients"]
    A, B, C = (np.asarray(rc[k], dtype=float) for k in "ABC")
    p, r0 = int(params["p"]), float(params["r0"])
    xl, xr, pl, pr = (float(params["xl"]), float(params["xr"]), int(params["pl"]),
                      int(params["pr"]))
    maxn = int(params["maxn"])
    t = ((1.0 + r0) / (1.0 + r)) ** p
    dt_dr = -p * t / (1.0 + r)
    # f = (t - xl)^pl (t - xr)^pr and df/dt, zero outside [xl, xr] where pl, pr > 0
    f = (t - xl) ** pl * (t - xr) ** pr
    df = np.zeros_like(t)
    if pl > 0:
        df += pl * (t - xl) ** (pl - 1) * (t - xr) ** pr
    if pr > 0:
        df += pr * (t - xl) ** pl * (t - xr) ** (pr - 1)
    off = ((t < xl) & (pl > 0)) | ((t > xr) & (pr > 0))
    f[off], df[off] = 0.0, 0.0
    P, dP = np.zeros((len(r), maxn)), np.zeros((len(r), maxn))   # dP: d/dt
    P[:, 0], dP[:, 0] = A[0] * f, A[0] * df
    if maxn > 1:
        P[:, 1] = (A[1] * t + B[1]) * P[:, 0]
        dP[:, 1] = A[1] * P[:, 0] + (A[1] * t + B[1]) * dP[:, 0]
    for k in range(2, maxn):
        P[:, k] = (A[k] * t + B[k]) * P[:, k - 1] + C[k] * P[:, k - 2]
        dP[:, k] = (A[k] * P[:, k - 1] + (A[k] * t + B[k]) * dP[:, k - 1]
                    + C[k] * dP[:, k - 2])
    outside = r >= float(params["rcut"])
    P[outside], dP[outside] = 0.0, 0.0
    return P, dP * dt_dr[:, None]


def _spline(r, params):
    nradial, nbins, rcut = int(params["nradial"]), int(params["nbins"]), float(params["rcut"])
    vals, ders = ({int(k): v for k, v in params[key].items()}
                  for key in ("splinenodalvals", "splinenodalderivs"))
    vals = np.array([vals[k] for k in range(nradial)], dtype=float)
    ders = np.array([ders[k] for k in range(nradial)], dtype=float)
    if vals.shape != (nradial, nbins + 1) or ders.shape != vals.shape:
        raise ValueError(f"spline tables must be {nradial} x {nbins + 1}")
    h = rcut / nbins
    x = r * nbins / rcut
    nl = np.floor(x).astype(int)
    if np.any(nl <= 0):
        raise ValueError(f"distance below one spline bin: r = {r[nl <= 0].min():.6g} "
                         f"< rcut / nbins = {h:.6g}")
    inside = nl < nbins
    q, w = nl[inside], (x - nl)[inside, None]
    f0, f1 = vals[:, q].T, vals[:, q + 1].T
    d0, d1 = ders[:, q].T * h, ders[:, q + 1].T * h
    c2 = 3.0 * (f1 - f0) - d1 - 2.0 * d0
    c3 = -2.0 * (f1 - f0) + d1 + d0
    g, dg = np.zeros((len(r), nradial)), np.zeros((len(r), nradial))
    g[inside] = f0 + w * (d0 + w * (c2 + w * c3))
    dg[inside] = (d0 + w * (2.0 * c2 + 3.0 * w * c3)) / h
    return g, dg


# -------------------------------------------------------------------------- angular
def _lm(l, m):
    return l * l + l + m


def harmonics(vectors, lmax):
    """Yhat_lm = sqrt(4 pi) Y_lm(r / |r|) and their gradients in r.

    Complex orthonormal harmonics with the Condon-Shortley phase; column l^2 + l + m.
    Gradients use the ladder relations of the regular solid harmonics
    R_lm = r^l sqrt(4 pi / (2l + 1)) Y_lm (no singularity at the poles).

    Parameters
    ----------
    vectors : ndarray, shape (n, 3)
    lmax : int

    Returns
    -------
    Y : ndarray, shape (n, (lmax + 1)^2), complex
    dY : ndarray, shape (n, (lmax + 1)^2, 3), complex
    """
    v = np.asarray(vectors, dtype=float)
    r = np.linalg.norm(v, axis=1)
    theta = np.arctan2(np.hypot(v[:, 0], v[:, 1]), v[:, 2])   # accurate near the poles
    phi = np.arctan2(v[:, 1], v[:, 0])
    ls = np.array([l for l in range(lmax + 1) for _ in range(2 * l + 1)])
    ms = np.array([m for l in range(lmax + 1) for m in range(-l, l + 1)])
    # Racah-normalised C_lm = R_lm / r^l
    Cr = np.sqrt(4.0 * np.pi / (2 * ls + 1)) * sph_harm_y(ls, ms, theta[:, None], phi[:, None])

    def c(l, m):
        return Cr[:, _lm(l, m)] if 0 <= l and abs(m) <= l else 0.0

    dC = np.zeros((len(v), len(ls), 3), dtype=complex)   # r * grad C_lm
    rhat = v / r[:, None]
    for l in range(1, lmax + 1):
        for m in range(-l, l + 1):
            dz = np.sqrt((l + m) * (l - m)) * c(l - 1, m)
            dminus = -np.sqrt((l + m) * (l + m - 1)) * c(l - 1, m - 1)   # d_x - i d_y
            dplus = np.sqrt((l - m) * (l - m - 1)) * c(l - 1, m + 1)     # d_x + i d_y
            k = _lm(l, m)
            dC[:, k, 0] = 0.5 * (dplus + dminus)
            dC[:, k, 1] = -0.5j * (dplus - dminus)
            dC[:, k, 2] = dz
            dC[:, k, :] -= l * Cr[:, k, None] * rhat
    norm = np.sqrt(2 * ls + 1)
    return norm * Cr, norm[:, None] * dC / r[:, None, None]


# ------------------------------------------------------------------------ evaluator
class YaceReference(Calculator):
    """ASE calculator evaluating a ``.yace`` potential in plain numpy.

    Parameters
    ----------
    potential : path-like or dict
        A ``.yace`` file or its content (as returned by :func:`load`).
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator`.

    Notes
    -----
    ``stress`` (ASE convention: eV/A^3, Voigt xx yy zz yz xz xy) is available for
    fully periodic cells only.
    """

    implemented_properties: ClassVar[list[str]] = ["energy", "free_energy", "energies",
                                                   "forces", "stress"]

    def __init__(self, potential, **kwargs):
        super().__init__(**kwargs)
        d = _normalise(potential) if isinstance(potential, dict) else load(potential)
        _check_supported(d)
        self.data = d
        self.elements = list(d["elements"])
        nel = len(self.elements)
        self.E0 = np.asarray(d["E0"], dtype=float)
        self.rcut = np.array([[float(d["bonds"][(a, b)]["rcut"]) for b in range(nel)]
                              for a in range(nel)])
        self.nmax = max(_n_radial(p) for p in d["bonds"].values())
        ls = [int(l) for funcs in d["functions"].values() for f in funcs for l in f["ls"]]
        self.lmax = max(ls + [int(d.get("lmax", 0))])
        self.nlm = (self.lmax + 1) ** 2
        self._compile()

    def _compile(self):
        """Group all m-combinations by rank: flat A index per factor, ctilde, species."""
        d, nel = self.data, len(self.elements)
        self.ncol = nel * self.nmax * self.nlm   # columns of A: (mu, n, lm)
        groups = {}
        for mu0, funcs in d["functions"].items():
            for f in funcs:
                rank = int(f["rank"])
                if int(f["mu0"]) != mu0:
                    raise ValueError(f"function listed under species {mu0} has mu0 {f['mu0']}")
                nc = int(f["num_ms_combs"])
                ms = np.asarray(f["ms_combs"], dtype=int).reshape(nc, rank)
                ct = np.asarray(f["ctildes"], dtype=float)
                if ct.shape != (nc,):
                    raise ValueError(f"{len(ct)} ctildes for {nc} m-combinations")
                cols = np.empty((nc, rank), dtype=int)
                for t in range(rank):
                    mu, n, l = int(f["mus"][t]), int(f["ns"][t]), int(f["ls"][t])
                    if not 1 <= n <= _n_radial(d["bonds"][(mu0, mu)]):
                        raise ValueError(f"radial index ns = {n} outside bond ({mu0}, {mu})")
                    if np.any(np.abs(ms[:, t]) > l) or (rank == 1 and l != 0):
                        raise ValueError(f"invalid (l, m) in function {f}")
                    cols[:, t] = (mu * self.nmax + n - 1) * self.nlm + l * l + l + ms[:, t]
                g = groups.setdefault(rank, ([], [], []))
                g[0].append(cols)
                g[1].append(ct)
                g[2].append(np.full(nc, mu0))
        self._groups = []
        for rank, (cols, ct, spec) in sorted(groups.items()):
            cols, ct, spec = np.concatenate(cols), np.concatenate(ct), np.concatenate(spec)
            for mu in range(nel):
                sel = spec == mu
                if not sel.any():
                    continue
                c = cols[sel]
                # scatter matrices (ncombs x ncol) for the adjoint of factor t
                scatter = [scipy.sparse.csr_matrix(
                    (np.ones(len(c)), (np.arange(len(c)), c[:, t])),
                    shape=(len(c), self.ncol)) for t in range(rank)]
                self._groups.append((mu, c, ct[sel], scatter))

    # ------------------------------------------------------------------ ASE
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energies, forces, virial = self.evaluate(self.atoms)
        self.results = {"energies": energies, "energy": float(energies.sum()),
                        "free_energy": float(energies.sum()), "forces": forces}
        if self.atoms.pbc.all():
            v = -virial / self.atoms.get_volume()   # = (1/V) dE/d(strain)
            self.results["stress"] = v[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        elif "stress" in properties:
            raise PropertyNotImplementedError("stress needs a fully periodic cell")

    def species(self, atoms):
        """Species index (position in ``elements``) of every atom."""
        index = {s: k for k, s in enumerate(self.elements)}
        try:
            return np.array([index[s] for s in atoms.get_chemical_symbols()], dtype=int)
        except KeyError as err:
            raise ValueError(f"element {err.args[0]} is not in the potential "
                             f"({self.elements})") from None

    def evaluate(self, atoms):
        """Per-atom energies, forces and virial -sum_pairs D (x) dE/dD of ``atoms``.

        Returns
        -------
        energies : ndarray, shape (natoms,)
        forces : ndarray, shape (natoms, 3)
        virial : ndarray, shape (3, 3)
        """
        nat, nel = len(atoms), len(self.elements)
        spec = self.species(atoms)
        i, j, dist, D = neighbor_list("ijdD", atoms, float(self.rcut.max()))
        keep = dist < self.rcut[spec[i], spec[j]]
        i, j, dist, D = i[keep], j[keep], dist[keep], D[keep]
        npair = len(i)

        # radial functions per pair (bond of the ordered species pair), padded to nmax
        G, dG = np.zeros((npair, self.nmax)), np.zeros((npair, self.nmax))
        for (a, b), params in self.data["bonds"].items():
            sel = (spec[i] == a) & (spec[j] == b)
            if sel.any():
                g, dg = radial_basis(dist[sel], params)
                G[sel, : g.shape[1]], dG[sel, : g.shape[1]] = g, dg
        Y, dY = harmonics(D, self.lmax) if npair else (
            np.zeros((0, self.nlm), complex), np.zeros((0, self.nlm, 3), complex))

        # atomic base A[i, (mu, n, lm)] = sum_j g_n(r_ij) Yhat_lm(rhat_ij) over mu_j = mu
        rows = i * nel + spec[j]
        to_rows = scipy.sparse.csr_matrix((np.ones(npair), (rows, np.arange(npair))),
                                          shape=(nat * nel, npair))
        phi = (G[:, :, None] * Y[:, None, :]).reshape(npair, self.nmax * self.nlm)
        A = np.asarray(to_rows @ phi).reshape(nat, self.ncol)

        # rho_i and the adjoint W = d rho / d A (delta rho = Re sum W delta A)
        rho = np.zeros(nat)
        W = np.zeros((nat, self.ncol), dtype=complex)
        for mu, cols, ct, scatter in self._groups:
            at = np.flatnonzero(spec == mu)
            if not len(at):
                continue
            F = A[at][:, cols]                            # (natoms, ncombs, rank)
            rho[at] += np.prod(F, axis=2).real @ ct
            rank = cols.shape[1]
            for t in range(rank):
                others = np.prod(F[:, :, [s for s in range(rank) if s != t]], axis=2)
                W[at] += (scatter[t].T @ (others * ct).T).T
        energies = self.E0[spec] + rho

        # dE/dD per pair: Re sum_{n, lm} W (g'(r) Yhat rhat + g grad Yhat)
        Wp = W.reshape(nat * nel, self.nmax, self.nlm)[rows]
        WG = np.einsum("pnk,pn->pk", Wp, G)
        WdG = np.einsum("pnk,pn->pk", Wp, dG)
        dE_dD = (np.einsum("pk,pk->p", WdG, Y).real[:, None] * D / dist[:, None]
                 + np.einsum("pk,pkx->px", WG, dY).real)
        forces = np.zeros((nat, 3))
        np.add.at(forces, i, dE_dD)      # D = x_j - x_i + shift
        np.add.at(forces, j, -dE_dD)
        virial = -D.T @ dE_dD
        virial = 0.5 * (virial + virial.T)
        return energies, forces, virial
