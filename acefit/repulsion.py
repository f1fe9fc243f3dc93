"""Core repulsion: a fixed ZBL pair potential under the fitted model.

The data of a fit rarely hold atoms closer than ~0.7 of the nearest-neighbour
distance, so a linear ACE model is free to do anything there, including binding
two atoms on top of each other. The Ziegler-Biersack-Littmark (ZBL) screened
nuclear repulsion fixes the short range: it is subtracted from the labels before
the fit and added back at evaluation, so the fitted model learns the rest.

The pair energy is exactly that of LAMMPS' ``pair_style zbl inner outer``, which
ramps the energy, its slope and its curvature to zero between the two cutoffs,
so that ``pair_style hybrid/overlay pace zbl inner outer`` reproduces a fitted
potential in LAMMPS (``acefit.export.lammps``):

    E(r) = k Z_i Z_j / r · φ(r / a) + S(r),   a = 0.46850 Å / (Z_i^0.23 + Z_j^0.23)
    φ(x) = 0.18175 e^(−3.19980 x) + 0.50986 e^(−0.94229 x)
         + 0.28022 e^(−0.40290 x) + 0.02817 e^(−0.20162 x)
    S(r) = C                                  for r < inner,
           A/3 (r − inner)³ + B/4 (r − inner)⁴ + C  for inner ≤ r < outer,

with A, B, C the values that make E, E' and E'' vanish at ``outer``, and
k = e²/(4πε₀) = 14.399645 eV·Å (LAMMPS' value in metal units).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np

from acefit.basis.neighbours import neighbour_pairs, stress_volume, validate_atoms

__all__ = ["ZBL", "zbl_pair", "repulsion_from_dict", "COULOMB_EV_ANGSTROM"]

COULOMB_EV_ANGSTROM = 14.399645  # e²/(4πε₀) in eV·Å, as LAMMPS' metal units
_SCREEN_LENGTH = 0.46850  # 0.8854 Bohr radii, in Å
_SCREEN_EXPONENT = 0.23
_PHI_C = np.array([0.18175, 0.50986, 0.28022, 0.02817])
_PHI_D = np.array([3.19980, 0.94229, 0.40290, 0.20162])


def _screened_coulomb(r, zi, zj):
    """Unswitched ZBL energy and its first two derivatives in r."""
    r = np.asarray(r, dtype=float)
    a = _SCREEN_LENGTH / (zi ** _SCREEN_EXPONENT + zj ** _SCREEN_EXPONENT)
    k = COULOMB_EV_ANGSTROM * zi * zj
    decay = _PHI_D / a  # (4,)
    terms = _PHI_C * np.exp(-np.multiply.outer(r, decay))  # (..., 4)
    phi = terms.sum(-1)
    dphi = -(terms * decay).sum(-1)
    d2phi = (terms * decay ** 2).sum(-1)
    e = k * phi / r
    de = k * (dphi / r - phi / r ** 2)
    d2e = k * (d2phi / r - 2.0 * dphi / r ** 2 + 2.0 * phi / r ** 3)
    return e, de, d2e


def zbl_pair(r, zi, zj, inner, outer):
    """Switched ZBL pair energy and its derivative, as LAMMPS ``pair_style zbl``.

    Parameters
    ----------
    r : array_like
        Distances (Å), > 0.
    zi, zj : float
        Nuclear charges (atomic numbers).
    inner, outer : float
        Switching starts at ``inner`` and the energy is zero from ``outer`` on (Å).

    Returns
    -------
    energy, denergy_dr : ndarray
        eV and eV/Å, the shape of ``r``.
    """
    r = np.asarray(r, dtype=float)
    ec, dec, d2ec = _screened_coulomb(outer, zi, zj)
    width = outer - inner
    a = (-3.0 * dec + width * d2ec) / width ** 2
    b = (2.0 * dec - width * d2ec) / width ** 3
    c = -ec + 0.5 * width * dec - width ** 2 / 12.0 * d2ec
    e, de, _ = _screened_coulomb(r, zi, zj)
    t = np.clip(r - inner, 0.0, None)
    energy = e + a / 3.0 * t ** 3 + b / 4.0 * t ** 4 + c
    slope = de + a * t ** 2 + b * t ** 3
    beyond = r >= outer
    return np.where(beyond, 0.0, energy), np.where(beyond, 0.0, slope)


@dataclass(frozen=True)
class ZBL:
    """ZBL core repulsion between every pair of atoms, switched off from ``outer`` on.

    Parameters
    ----------
    inner, outer : float
        Switching distances in Å, 0 < inner < outer (LAMMPS ``pair_style zbl inner outer``).
    """

    inner: float
    outer: float

    kind = "zbl"

    def __post_init__(self):
        for name in ("inner", "outer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
                raise ValueError(f"ZBL {name} must be a finite number of Å, got {value!r}")
        if not 0.0 < self.inner < self.outer:
            raise ValueError(f"ZBL needs 0 < inner < outer, got inner={self.inner}, "
                             f"outer={self.outer}")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "inner": float(self.inner), "outer": float(self.outer)}

    def pair(self, r, zi, zj):
        """Pair energy and dE/dr at distances ``r`` (see :func:`zbl_pair`)."""
        return zbl_pair(r, zi, zj, self.inner, self.outer)

    def energy_forces_stress(self, atoms):
        """Energy, per-atom energies, forces and stress (ASE units and sign).

        Each pair's energy is split evenly between its atoms; stress is NaN when the
        cell has no volume, as for the basis.
        """
        validate_atoms(atoms)
        n = len(atoms)
        i, j, vec, dist = neighbour_pairs(atoms, self.outer)
        volume = stress_volume(atoms)
        if len(i) == 0:  # the usual case in MD: nobody inside the core
            stress = np.full(6, np.nan) if volume is None else np.zeros(6)
            return 0.0, np.zeros(n), np.zeros((n, 3)), stress
        numbers = np.asarray(atoms.numbers)
        energy_ij = np.zeros(len(i))
        slope_ij = np.zeros(len(i))
        zi, zj = numbers[i], numbers[j]
        for a, b in {(int(x), int(y)) for x, y in zip(zi, zj)}:
            sel = (zi == a) & (zj == b)
            energy_ij[sel], slope_ij[sel] = self.pair(dist[sel], a, b)
        energies = 0.5 * np.bincount(i, weights=energy_ij, minlength=n)
        # full neighbour list: each pair twice, so F_i = Σ_j E'(r_ij) r̂_ij
        along = (slope_ij / np.where(dist > 0, dist, 1.0))[:, None] * vec
        forces = np.zeros((n, 3))
        np.add.at(forces, i, along)
        if volume is None:
            stress = np.full(6, np.nan)
        else:
            virial = 0.5 * np.einsum("pa,pb->ab", along, vec) / volume
            stress = virial[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        return float(energies.sum()), energies, forces, stress


_KINDS = {"zbl": ZBL}


def repulsion_from_dict(spec):
    """A core repulsion from its ``to_dict()`` (or a config's ``repulsion`` section).

    ``None`` or ``{"kind": "none"}`` give None (no repulsion); a repulsion object is
    returned as it is.
    """
    if spec is None or isinstance(spec, tuple(_KINDS.values())):
        return spec
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ValueError(f"a core repulsion is a mapping with 'kind', got {spec!r}")
    kind = spec["kind"]
    if kind == "none":
        return None
    if kind not in _KINDS:
        raise ValueError(f"unknown core repulsion kind {kind!r}; allowed: none, "
                         + ", ".join(_KINDS))
    params = {k: v for k, v in spec.items() if k != "kind"}
    try:
        return _KINDS[kind](**params)
    except TypeError:
        raise ValueError(f"core repulsion {kind!r} takes the keys inner, outer; got "
                         f"{sorted(params)}") from None
