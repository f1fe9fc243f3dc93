"""A fitted potential: the active basis functions, their coefficients, E0 and metadata.

Only functions with nonzero coefficients are kept (``basis.subset``), so a sparse
model evaluates only its active functions. The site energy of atom i is

    E_i = E0[Z_i] + sum_k c_k B_k(i)  (+ half of atom i's core-repulsion pair energies)

Files: one HDF5 file with a JSON header and numeric datasets, described in
``docs/potential_format.md``. Writing is atomic (temporary file + ``os.replace``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import warnings
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from acefit.atomic import atomic_path
from acefit.metrics import QUANTITIES

__all__ = ["Potential", "PotentialFileError", "UnfittedElementWarning",
           "unfitted_element_notices", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "acefit-potential"
FORMAT_VERSION = 2  # 2: the header may hold a core repulsion; files without one stay version 1


class PotentialFileError(ValueError):
    """A potential file that cannot be read (truncated, wrong kind, newer version)."""


class UnfittedElementWarning(UserWarning):
    """A potential evaluated on atoms of an element its fit had no training data of
    (:attr:`Potential.unfitted_elements`): its functions of that element are zero."""


_UNFITTED_NOTICE = contextvars.ContextVar("unfitted_notice", default=None)


@contextlib.contextmanager
def unfitted_element_notices(report):
    """Within the block, a potential's notice of atoms of an element its fit had no data of
    is ``report(message)`` instead of an :class:`UnfittedElementWarning`.

    A library warns, and its user's warnings filters decide what is shown; a command must
    say it whatever they are (``acefit evaluate``, ``validate`` and ``query`` log it, even
    under ``PYTHONWARNINGS=ignore``), and a check that has said so already drops it
    (``report`` a function that does nothing). The innermost block decides.
    """
    token = _UNFITTED_NOTICE.set(report)
    try:
        yield
    finally:
        _UNFITTED_NOTICE.reset(token)


def _check_unfitted(unfitted, elements) -> list:
    """``unfitted`` as a list of symbols of ``elements``, in their order."""
    if isinstance(unfitted, str):       # list("Ag") would read two symbols, 'A' and 'g'
        raise ValueError(f"unfitted_elements: found the string {unfitted!r}; allowed: a list "
                         f"of symbols of the basis' elements {list(elements)}, e.g. "
                         f"[{unfitted!r}]")
    unfitted = list(unfitted or ())
    if any(not isinstance(e, str) for e in unfitted) or not set(unfitted) <= set(elements):
        raise ValueError(f"unfitted_elements: found {unfitted}; allowed: symbols of the "
                         f"basis' elements {list(elements)}")
    return [e for e in elements if e in unfitted]


def _symbol(key):
    if isinstance(key, str) and key in atomic_numbers:
        return key
    if isinstance(key, Integral) and 0 < int(key) < len(chemical_symbols):
        return chemical_symbols[int(key)]
    raise ValueError(f"E0 keys must be element symbols or atomic numbers, got {key!r}")


# Not atomic.json_ready: an ndarray comes back an ndarray of its dtype (_json_hook), and
# basis_hash hashes this text, so another encoder would change every stored basis hash.
def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, (tuple, set)):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a potential header")


def _json_hook(d):
    if "__ndarray__" in d:
        return np.asarray(d["__ndarray__"], dtype=d["dtype"])
    return d


def _sha256(arr):
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def _check_committee(committee, coef):
    """``committee`` as a (K, n) float array, K >= 2, finite, zero where ``coef`` is."""
    if committee is None:
        return None
    members = np.array(committee, dtype=float)
    if members.ndim != 2 or members.shape[1] != len(coef) or members.shape[0] < 2:
        raise ValueError(f"committee must have shape (K, {len(coef)}) with K >= 2 members, "
                         f"got {members.shape}")
    if not np.all(np.isfinite(members)):
        raise ValueError("committee contains NaN or inf")
    if np.any(members[:, coef == 0.0] != 0.0):
        raise ValueError("committee members use functions whose coefficient is zero; "
                         "allowed: members on the active functions only")
    return members


def _check_committee_scale(scale) -> dict:
    """Per quantity of :data:`acefit.metrics.QUANTITIES` (``"E", "F", "S"``): positive
    finite scales, 1 where not given."""
    scale = dict(scale or {})
    unknown = sorted(set(scale) - set(QUANTITIES))
    if unknown:
        raise ValueError(f"committee_scale: unknown quantities {unknown}; allowed: "
                         f"{list(QUANTITIES)}")
    for q, value in scale.items():
        if not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"committee_scale[{q!r}] must be a positive number, got {value!r}")
    return {q: float(scale.get(q, 1.0)) for q in QUANTITIES}


def basis_hash(basis_dict):
    """Stable hash of a basis description (``basis.to_dict()``)."""
    text = json.dumps(basis_dict, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


NO_COMMITTEE_HELP = ("a potential fitted with export.committee >= 2 (docs/config.md), "
                     "exported with `acefit export RUN ... --committee K`, or made in Python "
                     "with acefit.committee.posterior_committee (docs/fitting.md, Committees)")
"""Where a committee comes from, for the errors that need one."""


def _fixed_part(e0, repulsion):
    """``(E0 mapping, repulsion)`` of :class:`Potential`'s ``e0`` and ``repulsion``
    arguments: a ReferenceEnergies gives both (a ``repulsion`` given as well must be
    its own)."""
    from acefit.design import ReferenceEnergies

    if isinstance(e0, ReferenceEnergies):
        if repulsion is not None and repulsion != e0.repulsion:
            raise ValueError(f"repulsion: found {repulsion}, but e0, the fit's "
                             f"ReferenceEnergies, holds {e0.repulsion}; allowed: the same, "
                             "or None (taken from e0)")
        return e0.values, e0.repulsion
    if e0 is not None and not isinstance(e0, Mapping):
        raise ValueError(f"e0: found {type(e0).__name__}; allowed: a mapping of element "
                         "(symbol or atomic number) to energy (eV) (None or {element: 0.0} "
                         "for zero reference energies), or the fit's "
                         "acefit.design.ReferenceEnergies (AssembledSystem.e0)")
    return e0 or {}, repulsion


class Potential:
    """Linear ACE potential: basis + coefficients + E0 + metadata.

    Parameters
    ----------
    basis : acefit.ACEBasis
        Basis the coefficients refer to (the full basis of a fit, or an active subset).
    coefficients : array_like, shape (len(basis),)
        Coefficients; zeros are dropped together with their basis functions.
    e0 : dict or acefit.design.ReferenceEnergies, optional
        Reference (isolated-atom) energy per element of the basis, ``{"Cu": -0.1}`` or
        ``{29: -0.1}``; elements of the basis not listed get 0, others are left out. Or
        the fit's fixed part (``AssembledSystem.e0``): its E0 values, and its core
        repulsion unless ``repulsion`` is given (the potential then adds back all that the
        fit subtracted).
    metadata : dict, optional
        Free-form provenance, JSON-serialisable. Conventional keys: ``"provenance"``
        (data files, acefit version, date), ``"config_hash"``, ``"solver"``, ``"step"``
        (path step index), ``"n_active"``. Added here: ``"n_basis_full"`` and
        ``"active_indices"`` (positions of the kept functions in the given basis).
    prune : bool
        Drop zero coefficients (default True). ``False`` keeps the basis as given.
    repulsion : acefit.repulsion.ZBL or dict, optional
        Core repulsion added to the model (the one the fit subtracted from its labels),
        or its ``to_dict()``.
    committee : array_like, shape (K, len(basis)), optional
        K >= 2 coefficient vectors of the same functions (e.g. posterior draws,
        :func:`acefit.solvers.bayes.committee_deviations` added to ``coefficients``):
        the spread of their predictions is the model's uncertainty
        (:meth:`committee_predictions`). They may not use a function whose coefficient
        is zero. The model itself is ``coefficients``.
    committee_scale : dict, optional
        ``{"E": s_E, "F": s_F, "S": s_S}``: each member's difference to the model is
        scaled by s_q in its predictions of energies, forces and stresses (calibrated
        spreads, ``docs/fitting.md``); a quantity not given has 1.
    unfitted_elements : sequence of str, optional
        Elements of the basis that the fit had no training data of: their functions are
        zero, so atoms of them get E0 and the core repulsion only. Evaluating atoms of
        one warns (:class:`UnfittedElementWarning`, once per element and potential; within
        :func:`unfitted_element_notices`, its ``report`` is called instead).

    Attributes
    ----------
    basis, coefficients, e0, metadata, repulsion, committee (None without one),
    committee_scale, unfitted_elements
    """

    def __init__(self, basis, coefficients, e0=None, metadata=None, *, prune=True,
                 repulsion=None, committee=None, committee_scale=None,
                 unfitted_elements=None):
        from acefit.repulsion import repulsion_from_dict
        coef = np.asarray(coefficients, dtype=float)
        if coef.ndim != 1 or len(coef) != len(basis):
            raise ValueError(f"coefficients must have shape ({len(basis)},) to match the "
                             f"basis, got {coef.shape}")
        if not np.all(np.isfinite(coef)):
            raise ValueError("coefficients contain NaN or inf")
        committee = _check_committee(committee, coef)
        metadata = dict(metadata or {})
        if prune:
            active = np.flatnonzero(coef != 0.0)
            metadata.setdefault("n_basis_full", int(len(coef)))
            if "active_indices" in metadata:  # compose with an earlier subset
                prev = np.asarray(metadata["active_indices"], dtype=int)
                metadata["active_indices"] = prev[active].tolist()
            else:
                metadata["active_indices"] = active.tolist()
            if len(active) < len(coef):
                basis = basis.subset(active)
                coef = coef[active]
                committee = None if committee is None else committee[:, active]
        self.basis = basis
        self.coefficients = coef.copy()
        self.coefficients.setflags(write=False)
        self.committee = committee
        if committee is not None:
            committee.setflags(write=False)
        self.committee_scale = _check_committee_scale(committee_scale)
        e0, repulsion = _fixed_part(e0, repulsion_from_dict(repulsion))
        self.e0 = {}
        for key, value in e0.items():
            if not isinstance(value, Real) or not np.isfinite(value):
                raise ValueError(f"E0[{key!r}] must be a finite number, got {value!r}")
            symbol = _symbol(key)
            if symbol in basis.elements:    # one table for many potentials, as data.e0
                self.e0[symbol] = float(value)
        self.metadata = metadata
        self.repulsion = repulsion
        self.unfitted_elements = _check_unfitted(unfitted_elements, basis.elements)
        self._warned = set()

    @classmethod
    def from_step(cls, basis, step, e0=None, *, solver=None, step_index=None,
                  config_hash=None, provenance=None, metadata=None, repulsion=None):
        """Potential of one solver path step (``acefit.solvers.path.Step``).

        Records ``solver``, ``step`` (index on the path), ``lam``, ``n_active``,
        ``train_error``/``val_error``, ``config_hash`` and ``provenance`` in the metadata
        (those that are None are left out).

        Parameters
        ----------
        basis : acefit.ACEBasis
            The basis the path was fitted on.
        step : acefit.solvers.path.Step
            The step; its ``coef`` (full length, unscaled) become the coefficients.
        e0 : dict or acefit.design.ReferenceEnergies, optional
            ``{element: E0 in eV}``, or the fit's reference energies (E0 and core
            repulsion in one), as :class:`Potential` takes them.
        solver : str, optional
            The path's solver, for the metadata.
        step_index : int, optional
            The step's index on its path, for the metadata.
        config_hash, provenance : str, optional
            The fit's config hash and provenance, for the metadata.
        metadata : dict, optional
            Further metadata; the keys above replace any of the same name.
        repulsion : dict or acefit.repulsion.ZBL, optional
            Core repulsion, as :class:`Potential` takes it.

        Returns
        -------
        Potential
        """
        meta = dict(metadata or {})
        meta.update({"solver": solver, "step": step_index, "lam": float(step.lam),
                     "n_active": int(step.n_active), "train_error": step.train_error,
                     "val_error": step.val_error, "config_hash": config_hash,
                     "provenance": provenance})
        return cls(basis, step.coef, e0=e0, metadata={k: v for k, v in meta.items()
                                                       if v is not None}, repulsion=repulsion)

    # -- convenience ----------------------------------------------------------------
    def __len__(self):
        return len(self.coefficients)

    def __repr__(self):
        core = "" if self.repulsion is None else f", repulsion={self.repulsion}"
        return (f"Potential({len(self)} active functions, elements={self.elements}, "
                f"cutoff={self.cutoff:g} Å{core})")

    @property
    def elements(self):
        """Chemical symbols the basis covers."""
        return list(self.basis.elements)

    @property
    def cutoff(self):
        """Largest interaction cutoff (Å)."""
        return float(self.basis.rcut)

    def e0_array(self, numbers):
        """E0 of each atom for an array of atomic numbers."""
        table = np.zeros(max(np.max(numbers, initial=0), 1) + 1)
        for sym, value in self.e0.items():
            z = atomic_numbers[sym]
            if z < len(table):
                table[z] = value
        return table[np.asarray(numbers)]

    def energy_forces_stress(self, atoms, *, site_sum=None):
        """Energy, per-atom energies, forces and stress (ASE units and sign).

        Contracts the coefficients with the basis (no design rows), then adds E0 and
        the core repulsion; stress is NaN when the cell has no volume. ``site_sum``: see
        :meth:`acefit.ACEBasis.energy_forces_stress` (what :meth:`committee_spread` needs
        for the members' energies).
        """
        energy, energies, forces, stress = self.basis.energy_forces_stress(
            atoms, self.coefficients, site_sum=site_sum)
        e0 = self.e0_array(atoms.numbers)
        energy = float(energy) + float(e0.sum())
        energies = np.asarray(energies, dtype=float) + e0
        forces, stress = np.asarray(forces, dtype=float), np.asarray(stress, dtype=float)
        if self.repulsion is not None:
            core = self.repulsion.energy_forces_stress(atoms)
            energy += core[0]
            energies, forces, stress = energies + core[1], forces + core[2], stress + core[3]
        self._warn_unfitted(atoms)
        return energy, energies, forces, stress

    def _warn_unfitted(self, atoms) -> None:
        """Warn, once per element, of atoms of an element the fit had no data of
        (:func:`unfitted_element_notices` says to whom)."""
        if self._warned.issuperset(self.unfitted_elements):    # MD: nothing left to say
            return
        present = set(atoms.get_chemical_symbols())
        for element in self.unfitted_elements:
            if element in present and element not in self._warned:
                self._warned.add(element)
                message = (
                    f"atoms of {element}: the potential's fit had no training data of "
                    f"{element}, so nothing of {element} is fitted: these atoms get their E0 "
                    "and the core repulsion only (no forces but the repulsion's), and add "
                    "nothing to a committee's spread (a query underrates frames with them)")
                report = _UNFITTED_NOTICE.get()
                if report is None:
                    warnings.warn(message, UnfittedElementWarning, stacklevel=3)
                else:
                    report(message)

    def committee_spread(self, atoms, *, forces: bool = False, site_sum=None):
        """Each member's prediction less the model's: energy (K,) and, with ``forces``,
        forces (K, n_atoms, 3) and stress (K, 6); ``(energy, forces, stress)``, the last two
        None without ``forces``.

        A member differs from the model only in its coefficients, so this is the basis
        contracted with the difference, scaled by ``committee_scale`` per quantity: the
        energy needs only the site values summed over the atoms (``site_sum``, from the
        model's own :meth:`energy_forces_stress`, or one pass of the basis without it),
        forces and stress the K differences contracted at once
        (:meth:`acefit.ACEBasis.energy_forces_stress_many`: no design rows, memory
        O(K x atoms)). The model itself is not evaluated.

        Raises
        ------
        ValueError
            The potential has no committee.
        """
        self._warn_unfitted(atoms)
        if self.committee is None:
            raise ValueError(f"this potential has no committee; allowed: {NO_COMMITTEE_HELP}")
        deviations = self.committee - self.coefficients
        scale = self.committee_scale
        if not forces:
            if site_sum is None:
                site_sum = self.basis.site_values(atoms).sum(axis=0)
            return scale["E"] * (deviations @ site_sum), None, None
        energy, member_forces, stress = self.basis.energy_forces_stress_many(atoms, deviations)
        return scale["E"] * energy, scale["F"] * member_forces, scale["S"] * stress

    def committee_predictions(self, atoms, *, forces: bool = False, fit=None, site_sum=None):
        """Energy (K,) and, with ``forces``, forces (K, n_atoms, 3) and stress (K, 6) of
        each member: the model's prediction plus :meth:`committee_spread`. ``fit``: the
        model's :meth:`energy_forces_stress` of ``atoms``, when the caller has it, and
        ``site_sum`` the one it filled on the way (else the energies take a pass of their
        own). Returns ``(energy, forces, stress)``, the last two None without ``forces``."""
        if fit is None:
            site_sum = np.zeros(len(self.basis))
            fit = self.energy_forces_stress(atoms, site_sum=site_sum)
        energy, member_forces, member_stress = self.committee_spread(
            atoms, forces=forces, site_sum=site_sum)
        if not forces:
            return fit[0] + energy, None, None
        return fit[0] + energy, fit[2][None] + member_forces, fit[3][None] + member_stress

    # -- files ----------------------------------------------------------------------
    def header(self):
        """The JSON-serialisable header written to files."""
        basis_dict = self.basis.to_dict()
        header = {
            "format": FORMAT_NAME,
            "format_version": self._format_version(),
            "elements": self.elements,
            "cutoff": self.cutoff,
            "n_functions": len(self),
            "e0": self.e0,
            "metadata": self.metadata,
            "basis_hash": basis_hash(basis_dict),
            "basis": basis_dict,
        }
        if self.repulsion is not None:
            header["repulsion"] = self.repulsion.to_dict()
        if self.committee is not None:
            header["committee_scale"] = self.committee_scale
        if self.unfitted_elements:      # absent otherwise: files as before
            header["unfitted_elements"] = self.unfitted_elements
        return header

    def _format_version(self):
        # a reader older than the repulsion would drop it silently; version 2 stops it
        return 1 if self.repulsion is None else FORMAT_VERSION

    def save(self, path):
        """Write the potential to ``path`` (HDF5, see docs/potential_format.md), atomically
        (a temporary file, then a rename); returns ``path`` as a ``pathlib.Path``."""
        import h5py

        path = Path(path)
        header = self.header()
        text = json.dumps(header, default=_json_default, sort_keys=True)
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = header["format_version"]
            f.create_dataset("header", data=text)
            f.create_dataset("coefficients", data=np.asarray(self.coefficients))
            f.attrs["coefficients_sha256"] = _sha256(np.asarray(self.coefficients))
            f.attrs["header_sha256"] = hashlib.sha256(text.encode()).hexdigest()
            if self.committee is not None:
                f.create_dataset("committee", data=np.asarray(self.committee))
                f.attrs["committee_sha256"] = _sha256(np.asarray(self.committee))
        return path

    @classmethod
    def load(cls, path):
        """Read a potential written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist or is no regular file (a folder, a loop of links).
        PotentialFileError
            If the file is truncated or corrupt, is not an acefit potential, or was
            written by a newer format version.
        """
        import h5py

        from acefit.readers import check_file

        path = check_file(path, "potential file")
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise PotentialFileError(
                f"{str(path)!r} is not a readable acefit potential (HDF5) file: it is "
                f"truncated, corrupt or of another kind ({exc})") from None
        with f:
            fmt = f.attrs.get("format")
            if isinstance(fmt, bytes):
                fmt = fmt.decode()
            if fmt != FORMAT_NAME:
                raise PotentialFileError(f"{str(path)!r} is an HDF5 file but not an acefit "
                                         f"potential (format attribute {fmt!r})")
            version = f.attrs.get("format_version", -1)
            if not isinstance(version, (int, np.integer)):
                raise PotentialFileError(f"{str(path)!r}: format_version attribute {version!r}; "
                                         "allowed: an integer")
            version = int(version)
            if version > FORMAT_VERSION:
                raise PotentialFileError(
                    f"{str(path)!r} has potential format version {version}, newer than "
                    f"this acefit reads ({FORMAT_VERSION}); upgrade acefit")
            if version < 1:
                raise PotentialFileError(f"{str(path)!r}: invalid format_version {version}")
            try:
                text = _dataset(f, "header", path)
                coef = _dataset(f, "coefficients", path)
                want_c = f.attrs["coefficients_sha256"]
                want_h = f.attrs["header_sha256"]
                committee = None
                if "committee" in f or "committee_sha256" in f.attrs:
                    committee = _dataset(f, "committee", path)
                    if _sha256(committee) != f.attrs["committee_sha256"]:
                        raise PotentialFileError(f"{str(path)!r} is corrupt: committee "
                                                 "checksum mismatch")
            except (KeyError, OSError) as exc:
                raise PotentialFileError(f"{str(path)!r} is incomplete or corrupt: "
                                         f"{exc}") from None
        if hashlib.sha256(text.encode()).hexdigest() != want_h or _sha256(coef) != want_c:
            raise PotentialFileError(f"{str(path)!r} is corrupt: checksum mismatch")
        header = _header(text, path)
        from acefit.basis import ACEBasis

        try:
            basis = ACEBasis.from_dict(header["basis"])
        except Exception as exc:
            raise PotentialFileError(f"{str(path)!r}: cannot rebuild the basis: "
                                     f"{exc}") from exc
        if len(basis) != len(coef):
            raise PotentialFileError(f"{str(path)!r}: basis has {len(basis)} functions but "
                                     f"{len(coef)} coefficients are stored")
        repulsion = header.get("repulsion")
        if (repulsion is not None) != (version >= 2):  # written together, so edited by hand
            raise PotentialFileError(
                f"{str(path)!r}: format version {version} "
                f"{'without' if repulsion is None else 'with'} a core repulsion in its header; "
                "acefit writes version 2 exactly when there is one")
        try:
            potential = cls(basis, coef, e0=header["e0"], metadata=header["metadata"],
                            prune=False, repulsion=repulsion, committee=committee,
                            committee_scale=header.get("committee_scale"),
                            unfitted_elements=header.get("unfitted_elements"))
        except (TypeError, ValueError) as exc:
            raise PotentialFileError(f"{str(path)!r}: invalid header: {exc}") from exc
        return potential


# what save writes: (dimensions, numpy kinds, in words) per dataset
_DATASETS = {"header": (0, "SOU", "JSON text"),
             "coefficients": (1, "f", "a vector of floats"),
             "committee": (2, "f", "a (K, n) array of floats")}


def _dataset(f, name, path):
    """Dataset ``name`` of an open potential file as :meth:`Potential.save` wrote it (the
    header as text); a PotentialFileError naming the file when it is missing, or no
    dataset of the dimensions and kind written (an edited or foreign file would else
    fail deep in numpy or h5py)."""
    import h5py

    ndim, kinds, allowed = _DATASETS[name]
    item = f.get(name)
    if item is None:
        raise PotentialFileError(f"{str(path)!r} is incomplete: no {name!r} dataset")
    found = ("a group" if not isinstance(item, h5py.Dataset)
             else None if item.ndim == ndim and item.dtype.kind in kinds
             else f"a {item.ndim}-dimensional dataset of {item.dtype}")
    if found is not None:
        raise PotentialFileError(f"{str(path)!r}: {name!r} is {found}; allowed: {allowed}")
    value = item[()]
    if name == "header":
        return value.decode() if isinstance(value, bytes) else str(value)
    return np.asarray(value, dtype=float)


def _header(text, path) -> dict:
    """The JSON header of a potential file, its mappings checked (a PotentialFileError
    naming the file, not a KeyError or AttributeError later)."""
    try:
        header = json.loads(text, object_hook=_json_hook)
    except (ValueError, TypeError, KeyError) as exc:   # an ndarray of no known dtype
        raise PotentialFileError(f"{str(path)!r}: the header is not the JSON acefit "
                                 f"writes ({exc})") from None
    if not isinstance(header, dict):
        raise PotentialFileError(f"{str(path)!r}: the header is {type(header).__name__}; "
                                 "allowed: a JSON object")
    for key in ("basis", "e0", "metadata", "committee_scale"):
        required = key != "committee_scale"
        if (key in header or required) and not isinstance(header.get(key), dict):
            found = "missing" if key not in header else \
                f"{type(header[key]).__name__} {json.dumps(header[key])[:40]}"
            raise PotentialFileError(f"{str(path)!r}: header key {key!r} is {found}; "
                                     "allowed: a mapping")
    return header
