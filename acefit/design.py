"""Weighted least-squares rows for labelled configurations.

For one configuration with N atoms, volume V, reference energies E0 and basis
values B (``basis.evaluate(atoms)``), the rows are (see docs/fitting.md):

- energy (1 row):     a = B.energy,              y = E − Σ_i E0[z_i],  w = w_E / √N
- forces (3N rows):   a = B.forces[i, α],        y = F_iα,             w = w_F · f_i
- virial (6 rows):    a = −V · B.stress[s],      y = −V · σ_s,         w = w_V / √N

with s over Voigt xx yy zz yz xz xy, σ the reference stress (ASE sign), f_i
the optional per-atom force weights (1 by default) and (w_E, w_F, w_V) the
weights of the configuration's ``config_type``. With a core repulsion
(``ReferenceEnergies.repulsion``), its energy, forces and stress are subtracted
from E, F and σ as well. A :class:`DesignBlock` keeps the
rows unweighted together with their weights and metadata, so that errors can
always be reported unweighted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from ase.data import chemical_symbols

from acefit.data import check_elements
from acefit.elements import atomic_number

DEFAULT_WEIGHTS = {"E": 30.0, "F": 1.0, "V": 1.0}
ROW_KINDS = ("E", "F", "V")


# ---------------------------------------------------------------- weights

def resolve_weights(weights=None) -> dict:
    """Validate and complete a weight table.

    Parameters
    ----------
    weights : dict or None
        ``{config_type: {"E": wE, "F": wF, "V": wV}}``; the entry ``"default"``
        applies to config types not listed, and missing E/F/V entries fall back
        to the default (E 30, F 1, V 1 unless ``"default"`` overrides them).

    Returns
    -------
    dict
        ``{config_type: {"E": float, "F": float, "V": float}}`` with a
        ``"default"`` entry, sorted by key (it enters cache keys).
    """
    weights = dict(weights or {})
    default = dict(DEFAULT_WEIGHTS)
    default.update(_weight_entry("default", weights.pop("default", {})))
    table = {"default": default}
    for config_type, entry in weights.items():
        table[str(config_type)] = {**default, **_weight_entry(config_type, entry)}
    return dict(sorted(table.items()))


def weights_for(table: dict, config_type: str) -> dict:
    """The {E, F, V} weights of one config type (the default when unlisted)."""
    return table.get(config_type, table["default"])


def _weight_entry(config_type, entry):
    if not isinstance(entry, dict):
        raise ValueError(f"weights[{config_type!r}] must be a dict with keys E, F, V; got {entry!r}")
    out = {}
    for key, value in entry.items():
        if key not in ROW_KINDS:
            raise ValueError(f"weights[{config_type!r}] has unknown key {key!r}; allowed: E, F, V")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"weights[{config_type!r}][{key!r}] must be a number, got {value!r}") from None
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"weights[{config_type!r}][{key!r}] must be finite and >= 0, got {value}")
        out[key] = value
    return out


# ---------------------------------------------------------------- reference energies

@dataclass(frozen=True)
class ReferenceEnergies:
    """The fixed part of the model: E0 per element (eV), and an optional core repulsion.

    Both are subtracted from the labels before the fit and added back by the potential.

    Attributes
    ----------
    values : dict
        ``{atomic number: E0}``.
    method : str
        ``"given"`` or ``"least-squares"`` (fitted to the training energies, with the
        repulsion's energies subtracted first).
    repulsion : acefit.repulsion.ZBL or None
        Core repulsion, or None.
    """

    values: dict
    method: str
    repulsion: object = None

    def total(self, numbers) -> float:
        """Σ_i E0[z_i] for a configuration with atomic numbers ``numbers``."""
        zs, counts = np.unique(np.asarray(numbers, dtype=int), return_counts=True)
        missing = [int(z) for z in zs if int(z) not in self.values]
        if missing:
            raise ValueError(f"no reference energy E0 for element(s) "
                             f"{', '.join(chemical_symbols[z] for z in missing)}")
        return float(sum(self.values[int(z)] * c for z, c in zip(zs, counts)))

    def repulsion_labels(self, atoms):
        """The core repulsion's (energy, forces, stress) of ``atoms``, or None without one."""
        if self.repulsion is None:
            return None
        energy, _, forces, stress = self.repulsion.energy_forces_stress(atoms)
        return energy, forces, stress

    def as_symbols(self) -> dict:
        """``{symbol: E0}``, e.g. for reports and potential files."""
        return {chemical_symbols[z]: v for z, v in sorted(self.values.items())}


def reference_energies(e0, configs, elements, repulsion=None) -> ReferenceEnergies:
    """E0 given per element, or estimated by least squares from training energies.

    Parameters
    ----------
    e0 : dict or None or "auto" or "fit"
        ``{element (symbol or atomic number): E0 in eV}`` for every element of
        ``elements`` (others ignored: one table for many fits); ``None``, ``"auto"`` or
        ``"fit"`` (the config's word, ``data.e0: fit``) fits E0 by least squares:
        min Σ_c (E_c − E_rep,c − Σ_z N_{c,z} E0_z)² over the configurations with an
        energy (E_rep the core repulsion's energy, if any).
    configs : list of LabelledConfig
        Training configurations (used only for the estimate).
    elements : iterable of str or int
        The basis elements.
    repulsion : acefit.repulsion.ZBL, optional
        Core repulsion under the fitted model.

    Returns
    -------
    ReferenceEnergies
        E0 of each element of ``elements`` (no other), ``method`` ``"given"`` or
        ``"least-squares"``, and ``repulsion``.

    Raises
    ------
    ValueError
        ``e0`` of another type, a value that is not finite, an element of ``elements``
        missing from it, or (fitted) no configuration with an energy.
    """
    zs = sorted(atomic_number(e) for e in elements)
    if e0 is None or (isinstance(e0, str) and e0 in ("auto", "fit")):
        return fit_reference_energies(configs, zs, repulsion)
    if not isinstance(e0, dict):
        zero = {chemical_symbols[z]: 0.0 for z in zs}
        raise ValueError(f"e0: found {e0!r}; allowed: a dict {{element: E0 in eV}} with a "
                         f"value for every basis element ({zero} for zero reference "
                         "energies, the config's data.e0: zero), or None, 'fit' or 'auto' "
                         "(fitted by least squares)")
    values = {}
    for key, value in e0.items():
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"E0[{key!r}] must be finite, got {value}")
        values[atomic_number(key)] = value
    missing = [chemical_symbols[z] for z in zs if z not in values]
    if missing:
        raise ValueError(f"E0 is missing element(s) {', '.join(missing)} of the basis")
    return ReferenceEnergies(values={z: values[z] for z in zs}, method="given",
                             repulsion=repulsion)


def fit_reference_energies(configs, elements, repulsion=None) -> ReferenceEnergies:
    """Least-squares E0 per element from total energies and compositions.

    The minimum-norm solution is used when compositions are collinear (e.g. all
    configurations share one stoichiometry); the split between elements is then
    arbitrary but Σ E0 is still the best constant per composition.
    """
    zs = sorted(atomic_number(e) for e in elements)
    rows, energies = [], []
    for cfg in configs:
        if cfg.energy is None:
            continue
        counts = np.bincount(cfg.atoms.numbers, minlength=max(zs) + 1)
        rows.append([counts[z] for z in zs])
        core = 0.0 if repulsion is None else repulsion.energy_forces_stress(cfg.atoms)[0]
        energies.append(cfg.energy - core)
    if not rows:
        raise ValueError("cannot estimate E0: no training configuration has an energy")
    sol, *_ = np.linalg.lstsq(np.array(rows, dtype=float), np.array(energies), rcond=None)
    return ReferenceEnergies(values={z: float(v) for z, v in zip(zs, sol)}, method="least-squares",
                             repulsion=repulsion)


# ---------------------------------------------------------------- rows

@dataclass
class DesignBlock:
    """Unweighted rows of the design matrix with their weights and metadata.

    Attributes
    ----------
    A : ndarray, shape (k, n)
        Rows, unweighted (energy rows in eV, force rows in eV/Å, virial rows in eV).
    y : ndarray, shape (k,)
        Targets, unweighted: E − ΣE0, F, or virial −V·σ.
    w : ndarray, shape (k,)
        Row weights (the diagonal of W).
    config : ndarray of int
        Index of the configuration in the list given to :func:`design_block`.
    kind : ndarray of str
        ``"E"``, ``"F"`` or ``"V"``.
    atom : ndarray of int
        Atom index of force rows (−1 otherwise).
    component : ndarray of int
        0–2 (x y z) for forces, 0–5 (Voigt) for virials, −1 for energies.
    n_atoms : ndarray of int
        Atoms in the row's configuration.
    volume : ndarray of float
        Cell volume of the row's configuration (Å³, NaN without a cell).
    config_type : ndarray of str
        The row's configuration group.
    """

    A: np.ndarray
    y: np.ndarray
    w: np.ndarray
    config: np.ndarray
    kind: np.ndarray
    atom: np.ndarray
    component: np.ndarray
    n_atoms: np.ndarray
    volume: np.ndarray
    config_type: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.A.shape[1])

    def weighted(self, order="C"):
        """(W A, W y): the rows as the solvers see them; ``order`` is W A's memory layout."""
        return np.multiply(self.A, self.w[:, None], order=order), self.y * self.w

    def select(self, mask) -> "DesignBlock":
        """Rows where ``mask`` is true (or rows ``mask`` if integer indices)."""
        return DesignBlock(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @classmethod
    def concatenate(cls, blocks) -> "DesignBlock":
        blocks = list(blocks)
        if not blocks:
            raise ValueError("no blocks to concatenate")
        return cls(**{f.name: np.concatenate([getattr(b, f.name) for b in blocks])
                      for f in fields(cls)})

    def to_arrays(self) -> dict:
        """Plain arrays (strings as bytes) for HDF5."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["kind"] = out["kind"].astype("S1")
        out["config_type"] = np.char.encode(out["config_type"].astype(str), "utf-8")
        return out

    @classmethod
    def from_arrays(cls, arrays) -> "DesignBlock":
        data = {f.name: np.asarray(arrays[f.name]) for f in fields(cls)}
        data["kind"] = data["kind"].astype("U1")
        data["config_type"] = np.char.decode(data["config_type"], "utf-8")
        return cls(**data)


def row_count(cfg) -> int:
    """The dense rows of ``cfg``, whatever their weights: one for an energy, 3N for forces
    and six for a stress, for the labels it has (the rows of :func:`row_weights`)."""
    return ((cfg.energy is not None) + 3 * cfg.n_atoms * (cfg.forces is not None)
            + 6 * (cfg.stress is not None))


def row_counts(configs, weights) -> tuple[dict, dict]:
    """Rows of ``configs`` per kind: all of them, and those with a nonzero weight."""
    every, weighted = dict.fromkeys(ROW_KINDS, 0), dict.fromkeys(ROW_KINDS, 0)
    for cfg in configs:
        for kind, w in row_weights(cfg, weights).items():
            every[kind] += len(w)
            weighted[kind] += int(np.count_nonzero(w))
    return every, weighted


def row_weights(cfg, weights: dict) -> dict:
    """The weight of every row of ``cfg``, by kind, for the labels it has: ``E`` one row,
    w_E / sqrt(N); ``F`` 3N rows, w_F (times the frame's per-atom force weights); ``V`` six
    rows, w_V / sqrt(N). ``weights``: a table from :func:`resolve_weights`."""
    n_atoms = cfg.n_atoms
    w = weights_for(weights, cfg.config_type)
    out = {}
    if cfg.energy is not None:
        out["E"] = np.array([w["E"] / np.sqrt(n_atoms)])
    if cfg.forces is not None:
        per_atom = np.ones(n_atoms) if cfg.force_weights is None else cfg.force_weights
        out["F"] = np.repeat(w["F"] * per_atom, 3)
    if cfg.stress is not None:
        out["V"] = np.full(6, w["V"] / np.sqrt(n_atoms))
    return out


def config_rows(values, cfg, weights: dict, e0: ReferenceEnergies, config_index: int = 0) -> DesignBlock:
    """The rows of one configuration from its basis values.

    Parameters
    ----------
    values : object with ``.energy`` (n,), ``.forces`` (N, 3, n), ``.stress`` (6, n)
        ``basis.evaluate(cfg.atoms)``.
    cfg : LabelledConfig
    weights : dict
        A table from :func:`resolve_weights`.
    e0 : ReferenceEnergies
    config_index : int
        Stored in the rows' ``config`` metadata.
    """
    n_atoms = cfg.n_atoms
    w = row_weights(cfg, weights)
    energy = np.asarray(values.energy, dtype=float)
    n = energy.shape[0]
    parts = []  # (A, y, w, kind, atom, component)
    core = e0.repulsion_labels(cfg.atoms)
    if cfg.energy is not None:
        y = cfg.energy - e0.total(cfg.atoms.numbers) - (core[0] if core else 0.0)
        parts.append((energy[None, :], np.array([y]), w["E"], "E", np.array([-1]),
                      np.array([-1])))
    if cfg.forces is not None:
        forces = np.asarray(values.forces, dtype=float).reshape(3 * n_atoms, n)
        labels = cfg.forces if core is None else cfg.forces - core[1]
        parts.append((forces, labels.reshape(-1), w["F"], "F",
                      np.repeat(np.arange(n_atoms), 3), np.tile(np.arange(3), n_atoms)))
    if cfg.stress is not None:
        stress = np.asarray(values.stress, dtype=float)
        if not np.all(np.isfinite(stress)):
            raise ValueError(f"{cfg.where}: the basis gives no stress for this cell "
                             f"(pbc={cfg.atoms.pbc.tolist()}) but the frame has a stress label")
        vol = cfg.volume
        labels = cfg.stress if core is None else cfg.stress - core[2]
        parts.append((-vol * stress, -vol * labels, w["V"], "V", np.full(6, -1), np.arange(6)))
    k = sum(len(p[1]) for p in parts)
    A = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, n))
    _check_finite_rows(A, cfg)
    return DesignBlock(
        A=A,
        y=np.concatenate([p[1] for p in parts]) if parts else np.zeros(0),
        w=np.concatenate([p[2] for p in parts]) if parts else np.zeros(0),
        config=np.full(k, config_index, dtype=np.int64),
        kind=np.concatenate([np.full(len(p[1]), p[3]) for p in parts]).astype("U1")
        if parts else np.zeros(0, "U1"),
        atom=np.concatenate([p[4] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64),
        component=np.concatenate([p[5] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64),
        n_atoms=np.full(k, n_atoms, dtype=np.int64),
        volume=np.full(k, cfg.volume),
        config_type=np.full(k, cfg.config_type).astype(str),
    )


def design_block(basis, configs, weights, e0, first_index: int = 0) -> DesignBlock:
    """Dense rows of several configurations (validation and test sets, small blocks).

    Parameters
    ----------
    basis : ACEBasis
    configs : list of LabelledConfig
    weights : dict or None
        Weight table (validated with :func:`resolve_weights`; None: its defaults).
    e0 : ReferenceEnergies
        The training set's (:func:`reference_energies`): validation and test sets use
        the training E0.
    first_index : int
        ``config`` metadata of the first configuration.

    Returns
    -------
    DesignBlock
        The configurations' rows, in order.

    Raises
    ------
    ValueError
        ``e0`` is not a :class:`ReferenceEnergies`, ``configs`` is empty, or a
        configuration has an element the basis lacks or a label it cannot fit.
    """
    if not isinstance(e0, ReferenceEnergies):
        raise ValueError("design_block needs the ReferenceEnergies of the training set as e0")
    table = resolve_weights(weights)
    configs = list(configs)
    check_elements(configs, basis.elements)
    blocks = [config_rows(basis.evaluate(cfg.atoms), cfg, table, e0, first_index + i)
              for i, cfg in enumerate(configs)]
    if not blocks:
        raise ValueError("no configurations to assemble")
    return DesignBlock.concatenate(blocks)


def _check_finite_rows(A, cfg):
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{cfg.where}: the basis values contain NaN or inf")
