"""Labelled configurations: labels read off the frames :mod:`acefit.readers` gives,
validation and train/validation splits.

A :class:`LabelledConfig` is one atomic configuration with whatever DFT labels it
carries (energy, forces, stress). Labels are read from any file ``ase.io.read``
understands, either from the calculator results ASE attaches (``energy``,
``forces``, ``stress`` in extended XYZ) or from ``atoms.info`` / ``atoms.arrays``
under custom keys (``REF_energy``, ``REF_forces``, ``REF_virial``, ...).

Stress is always stored in ASE's convention: eV/Å³, tensile positive, Voigt
order xx yy zz yz xz xy. A virial label W is converted as stress = -W / volume.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from acefit import readers
from acefit.readers import DataError, EmptyFileError
from acefit.basis.neighbours import check_distinct_positions, validate_atoms
from acefit.elements import atomic_number
from acefit.spelling import close_match

_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
DEFAULT_CONFIG_TYPE = "default"
LABEL_KEYS = {"energy": "energy", "forces": "forces", "stress": "stress", "virial": None,
              "config_type": "config_type", "force_weight": None}
"""Where each label is looked for unless told otherwise (None: not read)."""

LABEL_SHAPES = {
    # label: (where its key can be, the word a key named for it contains, its shapes)
    "energy": (("calculator results", "info"), "energy", ((),)),
    "forces": (("calculator results", "arrays"), "force", (("n", 3),)),
    "stress": (("calculator results", "info"), "stress", ((6,), (9,), (3, 3))),
    "virial": (("info",), "virial", ((6,), (9,), (3, 3))),
}
"""What a key that holds a label looks like ("n": the number of atoms)."""
_ASE_ARRAYS = {"numbers", "positions", "momenta"}      # never labels

ENERGY_KEYS = ("energy", "free_energy")
"""ASE's two energies of a DFT run with smeared occupations (VASP's OUTCAR and vasprun.xml
through ASE): ``energy`` is extrapolated to zero smearing (VASP's ``energy(sigma->0)``),
``free_energy`` is the electronic free energy (VASP's TOTEN, ``F=``), whose derivatives the
forces and stress are (ASE's ``get_potential_energy(force_consistent=True)``)."""
ENERGY_GAP = 1e-6
"""eV/atom: ``energy`` and ``free_energy`` further apart than this differ (1e-3 meV/atom,
far below a fit's errors)."""


def config_type_name(value) -> str:
    """The group name of a ``config_type`` value, as weights, stress readings and
    per-group errors key it.

    ASE reads ``config_type=1`` of an extended XYZ comment line as an integer (numpy's),
    and YAML an unquoted key ``1:`` as one too: both name the group ``"1"``. The config's
    keys (:mod:`acefit.config`) and the frames' values pass through this one function,
    so that the two agree for every scalar.

    Parameters
    ----------
    value : str, int, float or bool
        As ASE or YAML read it.

    Returns
    -------
    str
        ``str(value)``: ``"1"`` for 1 and numpy's int64 1, ``"1.5"`` for 1.5.
    """
    return str(value)


def extxyz_reading(text: str):
    """What ASE's extended XYZ reader makes of ``config_type=<text>`` in a frame's comment
    line: a number for ``1``, ``010`` (10), ``1e3`` or ``nan``, a boolean for ``T``, ``F``,
    ``true``, ``False``, ..., a list for ``1 2``, else the text. Quoted or not alike: ASE
    converts ``config_type="1e3"`` too.

    Parameters
    ----------
    text : str
        The value as written (quotes and backslashes in it are escaped for ASE's reader).

    Returns
    -------
    str, numpy number, bool, list or ndarray
        As ASE's reader puts it in ``atoms.info`` (:func:`config_type_name` names it).
    """
    from ase.io.extxyz import key_val_str_to_dict

    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return key_val_str_to_dict(f'config_type="{escaped}"')["config_type"]


def extxyz_group(text: str) -> str:
    """The group of the frames of ``config_type=<text>`` in an extended XYZ file: the
    :func:`config_type_name` of ASE's :func:`extxyz_reading` of it (``'1000.0'`` for
    ``1e3``, ``'True'`` for ``T``, ``text`` itself for most names)."""
    return config_type_name(extxyz_reading(text))


def reading_in_words(value) -> str:
    """A ``config_type`` as a reader gave it, in words: "the number 1000.0", "the boolean
    True", "the list [1 2]", "the integer 10", "the text '0x10'"."""
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, (bool, np.bool_)):
        return f"the boolean {bool(value)}"
    if isinstance(value, (int, np.integer)):
        return f"the integer {int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"the number {config_type_name(value)}"
    return f"the list {config_type_name(value)}"     # ASE's array of "1 2" or "T F"


def ase_group_hints(keys, groups) -> str:
    """For the config_type ``keys`` that name no group of the data, the group ASE's
    extended XYZ reader names each of them (``'1e3'`` is ``'1000.0'``: it reads
    ``config_type=1e3`` as a number), where that group is among ``groups``; "" when none
    is. Appended to the warnings about keys that match nothing."""
    hints = [f"; config_type={key} of an extended XYZ file is the group '{name}' (ASE "
             f"reads it as {reading_in_words(extxyz_reading(key))}): key it so"
             for key in keys
             for name in [extxyz_group(key)] if name != key and name in groups]
    return "".join(hints)


def unknown_group(key, groups) -> str:
    """Why the config_type key ``key`` (of weights or stress readings) is refused when no
    configuration of the training, validation or test data, whose groups are ``groups``,
    has it: the groups there are, the one ``key`` may be a misspelling of, and the group
    ASE makes of a key it reads as a number (:func:`ase_group_hints`)."""
    return (f"found the config_type {key!r}{close_match(key, sorted(groups))}, which no "
            "configuration of the training, validation or test data has; allowed: "
            f"{', '.join(map(repr, sorted(groups)))}" + ase_group_hints([key], groups))


def frame_where(source: str, index: int) -> str:
    """Frame ``index`` of ``source`` in messages: "train.xyz, frame 3" (a file, or the
    ``name`` of frames given in memory), or "frame 3 (in memory)" for ``source`` ""."""
    frame = readers.frame_name(index)
    return f"{source}, {frame}" if source else f"{frame} (in memory)"


@dataclass
class LabelledConfig:
    """One configuration and its reference labels.

    Attributes
    ----------
    atoms : ase.Atoms
        Positions, numbers, cell, pbc (no calculator attached).
    energy : float or None
        Total energy in eV.
    forces : ndarray, shape (n_atoms, 3), or None
        Forces in eV/Å.
    stress : ndarray, shape (6,), or None
        Stress in eV/Å³, ASE sign (tensile positive), Voigt xx yy zz yz xz xy.
    config_type : str
        Group name used for weights and per-group errors.
    force_weights : ndarray, shape (n_atoms,), or None
        Optional per-atom multipliers of the force weight.
    source : str
        File the configuration was read from, or the ``name`` given to
        :func:`configurations_from_atoms` ("" if built in memory without one).
    index : int
        Frame index in ``source`` (negative: counted from its end, -1 the last, for a
        frame read by a selection that counts from the end, e.g. ``index=-1``).
    info : dict
        The frame's ``atoms.info`` as read.

    Notes
    -----
    Built by hand, a configuration is not checked until it is assembled
    (:func:`check_labels`, which :func:`acefit.assembly.assemble` calls): the readers
    (:func:`load_configurations`, :func:`configurations_from_atoms`) check every frame as
    they read it.
    """

    atoms: Atoms
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    config_type: str = DEFAULT_CONFIG_TYPE
    force_weights: np.ndarray | None = None
    source: str = ""
    index: int = 0
    info: dict = field(default_factory=dict)

    @property
    def n_atoms(self) -> int:
        return len(self.atoms)

    @property
    def where(self) -> str:
        """Human-readable location for error messages: "train.xyz, frame 3", or
        "frame 3 (in memory)" without a source."""
        return frame_where(self.source, self.index)

    @property
    def volume(self) -> float:
        """Cell volume in Å³ (NaN when the cell is not three-dimensional)."""
        return _volume(self.atoms)

    @property
    def fully_periodic(self) -> bool:
        """Whether the cell is periodic in all three directions: only such a
        configuration is expected to carry a stress, and counted when it lacks one (a
        cluster, an isolated atom or a slab, pbc T T F, may carry one, from a calculation
        in a box, or not)."""
        return bool(self.atoms.pbc.all())


def load_configurations(path, energy_key=LABEL_KEYS["energy"],
                        forces_key=LABEL_KEYS["forces"], stress_key=LABEL_KEYS["stress"],
                        virial_key=LABEL_KEYS["virial"],
                        config_type_key=LABEL_KEYS["config_type"],
                        force_weight_key=LABEL_KEYS["force_weight"], index=":", require=(),
                        found=None, frames=None, option=None) -> list[LabelledConfig]:
    """Read labelled configurations from a file.

    Frames held in memory (``ase.Atoms``, not a file) are read by
    :func:`configurations_from_atoms`, with the same keys and checks.

    Parameters
    ----------
    path : str or Path
        Any file ``ase.io.read`` reads (extended XYZ, ASE trajectory, ...).
    energy_key, forces_key, stress_key : str or None
        Where the labels are: a key of the calculator results ASE attached, of
        ``atoms.info`` (energy, stress) or of ``atoms.arrays`` (forces). ``None``
        ignores that label.
    virial_key : str or None
        Read a virial (eV, 3x3, 9 or Voigt-6 values) instead of a stress; it is
        converted to stress = -virial / volume. When given, ``stress_key`` is ignored.
    config_type_key : str
        ``atoms.info`` key of the configuration group (``"default"`` when absent).
    force_weight_key : str or None
        ``atoms.arrays`` key of optional per-atom force weights.
    index : str or int or slice
        Frame selection, as for ``ase.io.read``.
    require : collection of str
        Labels (``"energy"``, ``"forces"``, ``"stress"``, ``"virial"``,
        ``"config_type"``, ``"force_weight"``) whose key must be found in at least one
        frame of the file: a key set on purpose that matches nothing is a typo, not
        a dataset without that label. (Over several files: see ``found``.)
    found : dict, optional
        Filled instead of checking ``require`` here: ``found["labels"]`` (a set) gains
        the labels whose key this file has, ``found["keys"]`` (a list) a line on the
        keys it has; :func:`check_required_keys` then checks all files together
        (:func:`read_configurations` does both).
    frames : list of ase.Atoms, optional
        The frames of the file ``path`` that ``index`` selects, read already
        (:func:`read_frames`): not read again.
    option : callable, optional
        The name of a label's key option in error messages (as for
        :func:`read_configurations`; default: this function's argument, ``forces_key``).

    Returns
    -------
    list of LabelledConfig
        Each named by its ``config_type`` (:func:`config_type_name`).

    Raises
    ------
    TypeError
        If ``path`` is not a path (None, or frames: :func:`configurations_from_atoms`).
    FileNotFoundError
        If ``path`` is not a regular file (:func:`check_file`).
    DataError
        On an unreadable or empty file, or a frame with no label (naming the keys of the
        frame that look like labels, and ``option`` of each), a NaN/inf label, or a label
        of the wrong shape; the message names file and frame.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_configurations: path must be a file's path (str or "
                        f"pathlib.Path), got {_type_name(path)}; frames in memory "
                        "(ase.Atoms): acefit.data.configurations_from_atoms(frames)")
    path = Path(path)
    frames = readers.read_frames(path, index) if frames is None else frames
    if len(frames) == 0:
        raise EmptyFileError(f"no configurations in {path} (index={index!r})")
    keys = {"energy": energy_key, "forces": forces_key, "stress": stress_key,
            "virial": virial_key, "config_type": config_type_key,
            "force_weight": force_weight_key}
    return _label_frames(frames, readers.frame_indices(index, len(frames)), str(path), keys,
                         require, found, option)


def configurations_from_atoms(frames, *, name=None, energy_key=LABEL_KEYS["energy"],
                              forces_key=LABEL_KEYS["forces"],
                              stress_key=LABEL_KEYS["stress"], virial_key=LABEL_KEYS["virial"],
                              config_type_key=LABEL_KEYS["config_type"],
                              force_weight_key=LABEL_KEYS["force_weight"],
                              require=()) -> list[LabelledConfig]:
    """Labelled configurations from frames held in memory, as :func:`load_configurations`
    reads them from a file: the same label keys and the same checks of every frame.

    Parameters
    ----------
    frames : ase.Atoms or sequence of ase.Atoms
        Labelled by a calculator (e.g. a ``SinglePointCalculator`` with ``energy``,
        ``forces``, ``stress``) or in ``atoms.info`` / ``atoms.arrays`` under the keys
        below. Not changed: each configuration holds a copy of the structure (no
        calculator) and of the labels.
    name : str, optional
        Names the frames in messages and in ``LabelledConfig.source``: "<name>, frame 3";
        without it "frame 3 (in memory)". Frame k is ``frames[k]``.
    energy_key, forces_key, stress_key, virial_key, config_type_key, force_weight_key
        As for :func:`load_configurations` (a ``SinglePointCalculator``'s results are
        found under the default keys).
    require : collection of str
        Labels whose key must be found in at least one frame (as for
        :func:`load_configurations`).

    Returns
    -------
    list of LabelledConfig
        One per frame, in order.

    Raises
    ------
    TypeError
        If ``frames`` is not a sequence of ``ase.Atoms`` (naming the first item that is
        not one).
    ValueError
        For no frames, a frame with no label, a NaN/inf label, a label of the wrong
        shape, or a structure no potential can evaluate (:func:`check_atoms`); the
        message names the frame.

    Examples
    --------
    >>> from ase.build import bulk
    >>> from ase.calculators.emt import EMT
    >>> from ase.calculators.singlepoint import SinglePointCalculator
    >>> atoms = bulk("Cu", cubic=True)
    >>> atoms.calc = EMT()
    >>> atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(),
    ...                                    forces=atoms.get_forces())
    >>> [c.n_atoms for c in configurations_from_atoms([atoms], name="emt")]
    [4]
    """
    if isinstance(frames, Atoms):
        frames = [frames]
    if isinstance(frames, (str, bytes, os.PathLike)) or not hasattr(frames, "__iter__"):
        raise TypeError(f"configurations_from_atoms: frames must be a sequence of ase.Atoms, "
                        f"got {_type_name(frames)}; a file: load_configurations(path)")
    frames = list(frames)
    for k, atoms in enumerate(frames):
        if not isinstance(atoms, Atoms):
            raise TypeError(f"{frame_where(name or '', k)}: {_type_name(atoms)}; allowed: "
                            "ase.Atoms")
        _check_current_results(atoms, frame_where(name or "", k))
    if not frames:
        raise DataError(f"no configurations in {name or 'the frames given'}; allowed: at "
                        "least one ase.Atoms")
    keys = {"energy": energy_key, "forces": forces_key, "stress": stress_key,
            "virial": virial_key, "config_type": config_type_key,
            "force_weight": force_weight_key}
    return _label_frames(frames, range(len(frames)), name or "", keys, require, None, None)


def _check_current_results(atoms, where) -> None:
    """Refuse a frame whose calculator's results belong to another structure (it moved
    after they were computed): a file's frames carry their own, but a live calculator's
    are read as they are, not computed again."""
    calc = atoms.calc
    if calc is None or not getattr(calc, "results", None) or getattr(calc, "atoms", None) is None:
        return
    changed = calc.check_state(atoms)
    if changed:
        raise DataError(f"{where}: its calculator's results belong to another structure (the "
                        f"frame's {', '.join(changed)} changed since); allowed: results of "
                        "the frame as it is: compute them again (atoms.get_potential_energy(), "
                        "get_forces()), or attach a SinglePointCalculator with them")


def _label_frames(frames, indices, source, keys, require, found, option):
    """Frames ``indices`` of ``source`` (a file, a name or "") labelled with ``keys``
    (label -> key), the keys of ``require`` checked unless ``found`` collects them (as in
    :func:`load_configurations`)."""
    if keys["virial"] is not None:
        keys = {**keys, "stress": None}
    present = _label_keys(frames)
    anywhere = set().union(*present.values())
    record = {} if found is None else found
    record.setdefault("labels", set()).update(
        label for label, key in keys.items() if key is not None and key in anywhere)
    record.setdefault("keys", []).append(f"{source or 'frames in memory'}: "
                                         f"{_describe_keys(present)}")
    if keys["energy"] in ENERGY_KEYS:
        record.setdefault("energy_gaps", []).append(energy_gap(frames, source, indices))
    record.setdefault("candidates", []).append((source, label_candidates(frames)))
    if found is None:
        check_required_keys(require, keys, record, option or _key_argument)
    return [_labelled(atoms, source, i, keys, option or _key_argument)
            for atoms, i in zip(frames, indices)]


def _type_name(value) -> str:
    """``value``'s type in a message: "None", "a list", "an ase.Atoms"."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def energy_gap(frames, source, indices) -> dict:
    """How the ``energy`` and ``free_energy`` (:data:`ENERGY_KEYS`) of ``frames``, frames
    ``indices`` of the file ``source``, compare.

    Returns
    -------
    dict
        ``energy``: frames with an ``energy``; ``both``: frames with both; ``differ``: of
        those, the frames whose two are more than :data:`ENERGY_GAP` per atom apart;
        ``largest``: (the largest difference in eV/atom, the frame's ``where``), or None
        when none differs.
    """
    gap = {"energy": 0, "both": 0, "differ": 0, "largest": None}
    for atoms, i in zip(frames, indices):
        values = [_label(atoms, key) for key in ENERGY_KEYS]
        gap["energy"] += values[0] is not None
        try:
            difference = abs(float(values[0]) - float(values[1])) / max(len(atoms), 1)
        except (TypeError, ValueError):     # one missing, or not a number (named when read)
            continue
        gap["both"] += 1
        if difference > ENERGY_GAP:
            gap["differ"] += 1
            if gap["largest"] is None or difference > gap["largest"][0]:
                gap["largest"] = (difference, frame_where(source, i))
    return gap


def energy_gap_note(gaps, key: str) -> str | None:
    """What the frames of :func:`energy_gap`'s ``gaps`` (one per file) hold beside the
    energy key ``key`` read ("energy" or "free_energy"): the other, where they differ, and
    by how much; None when they never differ."""
    differ = sum(g["differ"] for g in gaps)
    if not differ:
        return None
    both = sum(g["both"] for g in gaps)
    largest, where = max((g["largest"] for g in gaps if g["largest"]), key=lambda x: x[0])
    other = ENERGY_KEYS[1 - ENERGY_KEYS.index(key)]
    return (f"energies read from {key!r}; the frames also carry {other!r}, which differs from "
            f"it in {differ} of the {both} configurations with both, by up to "
            f"{1000 * largest:.3g} meV/atom ({where})")


def read_structures(path, *, name="structures file", every: int = 1, species=None,
                    **options) -> list:
    """The frames of :func:`iter_structures` as a list."""
    return [atoms for _, atoms in iter_structures(path, name=name, every=every,
                                                  species=species, **options)]


def iter_structures(path, *, name="structures file", every: int = 1, species=None,
                    **options):
    """Every ``every``-th frame of ``path`` (unlabelled structures: an MD pool, start
    structures), at least one, each checked with :func:`check_atoms`, as
    ``(frame number in the file, atoms)`` while they are read (a generator: a pool of any
    length in the memory of one frame).

    Parameters
    ----------
    path : path-like
        Any file ``ase.io.read`` reads.
    name : str
        What the file is, for the messages ("pool file").
    every : int
        Frame i of the result is frame ``i * every`` of the file. The frames after the last
        one kept are read too (and dropped), so that a file whose last frame is cut off
        (truncated) is refused whatever ``every`` is (a LAMMPS text dump's last frame is
        checked by :func:`read_frames` without them).
    species : sequence of str, optional
        The elements of LAMMPS atom types 1, 2, ..., for a dump of types (see
        :func:`read_frames`).
    **options
        Passed to ``ase.io.iread``.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a regular file (:func:`check_file`).
    DataError
        The file cannot be read or holds no frame, or a frame no potential can evaluate
        (no atoms, non-finite positions or cell, a periodic cell without volume, two atoms
        on one point); the message names the file and the frame. A frame's error comes
        after the frames before it were yielded.
    """
    path = Path(path)
    count = 0
    for i, atoms in enumerate(readers.iter_frames(path, f"::{every}", name=name,
                                                  species=species, **options)):
        check_atoms(atoms, f"{path}, frame {i * every}")
        count += 1
        yield i * every, atoms
    if not count:
        raise EmptyFileError(f"no configurations in {path}; allowed: a file of at "
                             "least one frame")
    # ASE skips frames unparsed: a cut last frame would pass unseen (read_frames checks a
    # LAMMPS text dump's last frame itself)
    if every > 1 and readers.file_format(path) != "lammps-dump-text":
        for _ in readers.iter_frames(path, f"{(count - 1) * every + 1}:", name=name,
                                     species=species, **options):
            pass


def _key_argument(label: str) -> str:
    return f"{label}_key"


def config_key(label: str) -> str:
    """The config key that names ``label``'s key in the files (``data.keys.forces``): the
    ``option`` of :func:`read_configurations` for a fit's config."""
    return f"data.keys.{label}"


def _key_setting(name: str, key: str) -> str:
    """The key option ``name`` set to ``key`` in that option's own syntax: a command
    line's (``--energy-key REF_energy``), a config's (``data.keys.energy: REF_energy``) or
    a keyword argument's (``energy_key='REF_energy'``)."""
    if name.startswith("--"):
        import shlex

        return f"{name} {shlex.quote(key)}"
    return f"{name}: {key}" if "." in name else f"{name}={key!r}"


def read_configurations(files, keys=None, require=(), option=_key_argument,
                        frames=None, found=None) -> list[LabelledConfig]:
    """The labelled configurations of several files, in order.

    Parameters
    ----------
    files : sequence of str or Path
    keys : dict, optional
        Label keys by label (those of :data:`LABEL_KEYS`); missing ones take its values.
    require : collection of str
        Labels whose key must be in at least one frame of one of the files (one file
        may hold only energies, e.g. isolated atoms); see :func:`changed_label_keys`.
    option : callable
        The name of a label's key option in error messages, e.g.
        :func:`config_key` (default: the argument of
        :func:`load_configurations`, ``forces_key``).
    frames : dict, optional
        Every frame of some of the files, read already (:func:`read_frames`), by the file
        as ``files`` names it: those files are not read again, and their frames are taken
        out of ``frames`` as they are labelled (so that their memory is freed).
    found : dict, optional
        Filled with what :func:`load_configurations` records of the files (the labels
        found, their keys, and, for an energy key of :data:`ENERGY_KEYS`, ``energy_gaps``:
        one :func:`energy_gap` per file).

    Returns
    -------
    list of LabelledConfig

    Raises
    ------
    ValueError
        For a label that is not one of :data:`LABEL_KEYS`, a required key in no frame
        (naming it as ``option`` does and listing the keys the files have), and what
        :func:`load_configurations` raises for.
    """
    unknown = sorted(set(keys or {}) - set(LABEL_KEYS))
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r}; allowed: {', '.join(LABEL_KEYS)}")
    keys = {**LABEL_KEYS, **(keys or {})}
    out, found = [], {} if found is None else found
    for f in files:
        out += load_configurations(f, **{f"{label}_key": key for label, key in keys.items()},
                                   found=found, frames=(frames or {}).pop(f, None),
                                   option=option)
    check_required_keys(require, keys, found, option)
    return out


def changed_label_keys(keys: dict) -> set:
    """The labels whose key is set to other than its default (and not None): such a key
    found in no frame is a typo, not a dataset without that label."""
    return {label for label, key in keys.items()
            if key is not None and key != LABEL_KEYS[label]}


def check_required_keys(require, keys: dict, found: dict, option=_key_argument) -> None:
    """Raise ValueError for a required label whose key no file had (``found`` as filled
    by :func:`load_configurations`), listing the keys the files have."""
    for label in require:
        if keys.get(label) is not None and label not in found.get("labels", ()):
            where = "; ".join(found.get("keys", []))
            raise MissingKeyError(label, option, f"key {keys[label]!r} is in no frame; keys "
                                  f"there: {where}")


FITTED_LABELS = ("energy", "forces", "stress")
"""The labels a fit has rows of (a virial is read as a stress)."""


def absent_labels(configs, keys: dict) -> list[str]:
    """The labels of :data:`FITTED_LABELS` that no configuration of ``configs`` has though
    ``keys`` (as for :func:`read_configurations`) reads them: a stress counted only among
    the configurations periodic in all three directions, the only ones expected to carry
    one (none of those: none expected, not absent)."""
    absent = []
    for label in FITTED_LABELS:
        among = _expected_of(configs, label)
        if read_key(label, keys) is not None and among and all(getattr(c, label) is None
                                                                for c in among):
            absent.append(label)
    return absent


def _expected_of(configs, label: str) -> list:
    """The configurations of ``configs`` expected to carry ``label``: all, and for a
    stress those periodic in all three directions (clusters and slabs first in a file
    would otherwise hide the periodic frames that lack one)."""
    return [c for c in configs if label != "stress" or c.fully_periodic]


def read_key(label: str, keys: dict) -> str | None:
    """The key ``label`` (of :data:`FITTED_LABELS`) is read from with ``keys`` (as for
    :func:`read_configurations`): a stress's is the virial's when one is read."""
    keys = {**LABEL_KEYS, **keys}
    return keys["virial"] or keys["stress"] if label == "stress" else keys[label]


def missing_labels(configs) -> list[tuple[str, str, str]]:
    """``(label, what, aside)`` for each label of :data:`FITTED_LABELS` that some
    configurations of ``configs`` lack while others have it (a stress: counted only among
    those periodic in all three directions, the only ones expected to carry one): ``what``
    says how many lack it, of how many, and names the first three ("1 of 26 configurations
    have no forces (test.xyz, frame 3)"); ``aside`` how many more lack a stress but are not
    counted ("" when none)."""
    out = []
    for label in FITTED_LABELS:
        among = _expected_of(configs, label)
        missing = [c for c in among if getattr(c, label) is None]
        if missing and len(missing) < len(among):
            shown = "; ".join(c.where for c in missing[:3]) + "; ..." * (len(missing) > 3)
            others = sum(getattr(c, label) is None for c in configs) - len(missing)
            aside = (f" ({others} more, not periodic in all three directions, are not "
                     "counted: a stress is expected only of those that are)") if others else ""
            out.append((label, f"{len(missing)} of {len(among)} "
                        f"{'periodic ' if label == 'stress' else ''}configurations have no "
                        f"{label} ({shown})", aside))
    return out


def offered_keys(found: dict, label: str, keys: dict) -> list[tuple[str, str, list[str]]]:
    """The keys of the files ``found`` describes (as :func:`read_configurations` fills it)
    that look like ``label`` (:func:`label_candidates`), other than the key ``keys`` reads
    it from, best first: ``(label they would be read as, key, the files that have it)``; a
    virial is offered for a stress."""
    keys = {**LABEL_KEYS, **keys}
    offered = {}
    for as_label in (label, "virial") if label == "stress" else (label,):
        for source, candidates in found.get("candidates", []):
            for key in candidates.get(as_label, []):
                if key != keys[as_label]:
                    offered.setdefault((as_label, key), []).append(source)
    return [(as_label, key, files) for (as_label, key), files in offered.items()]


def offered_text(offered, option=_key_argument) -> tuple[str, list[str]]:
    """:func:`offered_keys`' ``offered`` in words ("'dft_forces' in a.xyz, which looks
    like forces") and the settings that read each one, in the syntax of ``option``
    (``data.keys.forces: dft_forces``, ``--forces-key dft_forces``)."""
    shown = ", ".join(f"{key!r} in {', '.join(files[:2])}{', ...' * (len(files) > 2)}"
                      for _, key, files in offered)
    labels = {as_label for as_label, _, _ in offered}
    what = " or ".join(_LABEL_WORDS[as_label] for as_label in sorted(labels))
    verb = "looks" if len(offered) == 1 else "look"
    return (f"{shown}, which {verb} like {what}",
            [_key_setting(option(as_label), key) for as_label, key, _ in offered])


_LABEL_WORDS = {"energy": "an energy", "forces": "forces", "stress": "a stress",
                "virial": "a virial"}


class MissingKeyError(ValueError):
    """A label key set on purpose that no frame has: ``label``, and ``detail`` (the key and
    the keys the files have), after the option's name (``option(label)``) in the message."""

    def __init__(self, label: str, option, detail: str):
        super().__init__(f"{option(label)}: {detail}")
        self.label, self.detail = label, detail


def _label_keys(frames) -> dict:
    """The keys a file's frames have, by where a label can be: one pass over them."""
    found = {"calculator results": set(), "info": set(), "arrays": set()}
    for atoms in frames:
        if atoms.calc is not None:
            found["calculator results"] |= set(getattr(atoms.calc, "results", {}))
        found["info"] |= set(atoms.info)
        found["arrays"] |= set(atoms.arrays)
    return found


def _describe_keys(present: dict) -> str:
    """:func:`_label_keys` as text, without the arrays every frame has."""
    shown = {**present, "arrays": present["arrays"] - {"numbers", "positions"}}
    return "; ".join(f"{where}: {', '.join(sorted(map(str, k))) or '(none)'}"
                     for where, k in shown.items())


def check_elements(configs, elements, *, of="the basis", advice="", keep_hint=False) -> None:
    """Raise DataError naming the configurations (file and frame) that have an element
    outside ``elements``: :func:`check_frame_elements` of :class:`LabelledConfig` objects."""
    check_frame_elements(config_frames(configs), elements, of=of, advice=advice,
                         keep_hint=keep_hint)


def config_frames(configs):
    """:class:`LabelledConfig` objects as the frames :func:`check_frame_elements` takes."""
    return ((cfg.where, cfg.atoms, cfg.source) for cfg in configs)


def check_frame_elements(frames, elements, *, of="the basis", advice="",
                         keep_hint=False) -> None:
    """Raise DataError naming the frames that have an element outside ``elements``: the
    first with its elements, then up to :data:`ELEMENT_FRAMES_LISTED` more, and how many
    there are in all.

    Parameters
    ----------
    frames : iterable of (str, ase.Atoms, path-like or None)
        Each frame's name in messages (its file and frame), its atoms and the file it was
        read from (None: in memory, or a file the command would not read as written). A
        generator is read once, in the memory of one frame.
    elements : sequence of str
        The elements allowed.
    of : str
        What ``elements`` are the elements of.
    advice : str
        Appended to the message: what to do about it (the caller knows: a config key, a
        refit, other data).
    keep_hint : bool
        End with the command that writes a file's frames of ``elements`` only
        (:func:`keep_elements_command`), for files read whole.
    """
    allowed = {atomic_number(e) for e in elements}
    outside = []        # (where, its elements not in ``elements``, its file)
    count = 0
    for count, (where, atoms, source) in enumerate(frames, 1):
        extra = set(int(z) for z in np.unique(atoms.numbers)) - allowed
        if extra:
            outside.append((where, ", ".join(chemical_symbols[z] for z in sorted(extra)),
                            source))
    if not outside:
        return
    known = [chemical_symbols[z] for z in sorted(allowed)]
    (first, names, _), more = outside[0], outside[1:]
    listed = "; ".join(f"{where} ({extra})" for where, extra, _ in more[:ELEMENT_FRAMES_LISTED])
    others = (f"; also {listed}" + (f" and {len(more) - ELEMENT_FRAMES_LISTED} more"
                                    if len(more) > ELEMENT_FRAMES_LISTED else "")
              + f" ({len(outside)} of {count} configurations)") if more else ""
    files = list(dict.fromkeys(str(source) for _, _, source in outside if source))
    hint = (f"; to leave them out: `{keep_elements_command(files[0], known)}`"
            + (f" (and alike for {', '.join(files[1:])})" if len(files) > 1 else "")
            if keep_hint and files else "")
    raise DataError(f"{first}: element(s) {names} not in {of} "
                    f"({of.removeprefix('the ')} elements: {', '.join(known)})"
                    + (f": {advice}" if advice else "") + others + hint)


def check_potential_elements(frames, elements) -> None:
    """:func:`check_frame_elements` against a potential's ``elements``, as ``acefit
    evaluate``, ``validate`` and ``query`` say it: every frame outside them listed, and the
    command that writes a file without them (``frames`` as there)."""
    check_frame_elements(frames, elements, of="the potential", keep_hint=True,
                         advice="a potential predicts only the elements it was fitted with")


ELEMENT_FRAMES_LISTED = 5
"""How many configurations with other elements :func:`check_frame_elements` lists after
the first."""


def keep_elements_command(path, elements) -> str:
    """A shell command (python and ASE) that writes the frames of ``path`` whose elements
    are all in ``elements`` to a file beside it, labels and info kept: an ASE database's
    rows to a new database of its format (``name_<elements>.db``; extended XYZ would lose its
    key-value pairs and data), any other file's frames to ``name_<elements>.xyz``
    (extended XYZ). The name is one no file has now (:func:`unused_name`: ``-2``, ``-3``,
    ... added): the command replaces its own output when run again, never a file that was
    there when it was given."""
    import json
    import shlex

    from acefit.readers import DATABASE_FORMATS, file_format

    path = Path(path)
    stem = Path(path.stem).stem if path.suffix in (".gz", ".bz2", ".xz") else path.stem
    # Python strings in double quotes: the command in single ones needs no escapes
    keep = "{" + ", ".join(json.dumps(e) for e in elements) + "}"
    database = file_format(path) in DATABASE_FORMATS
    suffix = path.suffix if database else ".xyz"
    out = json.dumps(str(unused_name(path.with_name(f"{stem}_{''.join(elements)}{suffix}"))))
    if database:
        code = (f"import ase.db; rows = ase.db.connect({json.dumps(str(path))}).select(); "
                f"out = ase.db.connect({out}, append=False); "
                f"[out.write(row) for row in rows if set(row.symbols) <= {keep}]")
    else:
        code = (f"import ase.io; ase.io.write({out}, [a for a in ase.io.read("
                f"{json.dumps(str(path))}, \":\") if set(a.get_chemical_symbols()) <= {keep}])")
    return f"python -c {shlex.quote(code)}"


def unused_name(path) -> Path:
    """``path``, or the first of ``<stem>-2<suffix>``, ``<stem>-3<suffix>``, ... that names
    no file (nor a dangling link)."""
    path = candidate = Path(path)
    k = 1
    while candidate.exists() or candidate.is_symlink():
        k += 1
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
    return candidate


def split(configs, *, val_fraction=None, seed=0, val_key=None, val_value=True,
          stratify=False):
    """Split configurations into (train, validation).

    Exactly one of ``val_fraction`` (a seeded random fraction) and ``val_key``
    (configurations whose ``atoms.info[val_key] == val_value`` go to validation)
    must be given. With ``stratify``, the random fraction is drawn within each
    ``config_type`` (:func:`stratified_quotas`: largest-remainder quotas summing to the
    unstratified count, and at least one of every group that can be represented, which
    may add a few), so that every group is represented in validation. A validation
    set from a separate file is simply a second :func:`load_configurations`.
    Order within each part is preserved.

    Parameters
    ----------
    configs : iterable of LabelledConfig
        The configurations to split.
    val_fraction : float, optional
        Fraction in [0, 1) drawn at random into validation: round(f·n), at least one and
        at most n − 1 of n > 1 when f > 0.
    seed : int, default 0
        Seed of the random draw (``val_fraction`` only).
    val_key : str, optional
        Key of ``LabelledConfig.info`` (else ``atoms.info``) that marks validation
        configurations.
    val_value : object, default True
        The value of ``val_key`` that marks one.
    stratify : bool, default False
        Draw ``val_fraction`` within each config_type.

    Returns
    -------
    train, val : list of LabelledConfig

    Raises
    ------
    ValueError
        Neither or both of ``val_fraction`` and ``val_key``; ``val_fraction`` outside
        [0, 1); no configuration marked by ``val_key``; or no training configuration left.
    """
    configs = list(configs)
    if (val_fraction is None) == (val_key is None):
        raise ValueError("give exactly one of val_fraction and val_key")
    if val_key is not None:
        is_val = np.array([c.info.get(val_key, c.atoms.info.get(val_key)) == val_value
                           for c in configs], dtype=bool)
        if not is_val.any():
            raise ValueError(f"data.validation.key: no training configuration has "
                             f"info[{val_key!r}] == {val_value!r}, so the validation set would "
                             f"be empty")
    else:
        if not (0.0 <= float(val_fraction) < 1.0):
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n_val = _validation_count(len(configs), val_fraction)
        rng = np.random.default_rng(seed)
        if stratify:
            members = _groups(configs)
            quotas = stratified_quotas({t: len(cs) for t, cs in members.items()}, val_fraction,
                                       [t for t, cs in members.items() if not unsplittable(cs)])
            groups = [np.flatnonzero([c.config_type == t for c in configs]) for t in quotas]
            chosen = np.concatenate([rng.permutation(g)[:k]
                                     for g, k in zip(groups, quotas.values())])
        else:
            chosen = rng.permutation(len(configs))[:n_val]
        is_val = np.zeros(len(configs), dtype=bool)
        is_val[chosen] = True
    train = [c for c, v in zip(configs, is_val) if not v]
    val = [c for c, v in zip(configs, is_val) if v]
    if not train:
        raise ValueError("the split leaves no training configurations")
    return train, val


def _validation_count(n: int, fraction: float) -> int:
    """The configurations a random split of ``n`` puts in validation: round(f·n), at
    least one and at most n − 1 (of more than one)."""
    n_val = int(round(float(fraction) * n))
    if fraction > 0 and n > 1:
        n_val = min(max(n_val, 1), n - 1)
    return n_val


def stratified_quotas(sizes: dict, fraction: float, splittable=()) -> dict:
    """The validation configurations per config_type of a stratified split
    (:func:`split` with ``stratify``) of groups of ``sizes`` (config_type → count), in
    sorted order: largest-remainder quotas of the random split's count, raised to one for
    each group of ``splittable`` (those not :func:`unsplittable`) that they leave out: a
    stratified split that misses a group would not be one (10 % of 53 configurations in 6
    groups is 5)."""
    names = sorted(sizes)
    quotas = _largest_remainder([sizes[t] for t in names],
                                _validation_count(sum(sizes.values()), fraction))
    splittable = set(splittable)
    return {t: max(int(k), int(t in splittable and fraction > 0)) for t, k in zip(names, quotas)}


SMALL_VALIDATION = 10
"""Fewer validation configurations select checkpoints on noise: on a user's 53 EMT CuNi
frames (docs/fitting.md, "Splits"), the 5 of a 10 % split chose, at 80 functions, an OMP
checkpoint whose test energy MAE was 0.85 meV/atom, where the BLR beside it, worse on
those 5, had 0.60."""


ISOLATED = 6.0
"""Å: a single atom with no neighbour (periodic images included) this close is an
isolated atom, an E0 reference."""


def is_isolated_atom(config) -> bool:
    """Whether ``config`` is one atom with no neighbour within ``ISOLATED`` (a cluster's
    or a box's lone atom; not a one-atom crystal cell)."""
    from acefit.basis.neighbours import neighbour_pairs

    return config.n_atoms == 1 and not len(neighbour_pairs(config.atoms, ISOLATED)[3])


def unsplittable(configs) -> bool:
    """Whether a config_type of these configurations cannot be represented in
    validation: a single configuration (it is trained on or held out), or isolated atoms
    only (E0 references, with no neighbours for the selection to judge)."""
    return len(configs) < 2 or all(is_isolated_atom(c) for c in configs)


def _groups(configs) -> dict:
    groups = {}
    for c in configs:
        groups.setdefault(c.config_type, []).append(c)
    return groups


def missing_groups(train, val) -> list[str]:
    """The config_types of ``train`` and ``val`` with no configuration in ``val``, but
    those :func:`unsplittable`, sorted."""
    groups, held = _groups([*train, *val]), {c.config_type for c in val}
    return [t for t in sorted(groups) if t not in held and not unsplittable(groups[t])]


def validation_coverage(train, val, validation: dict) -> str | None:
    """Why the validation set ``val`` is too small to select checkpoints on, and what
    to set (``validation``: the config's ``data.validation``): fewer than
    ``SMALL_VALIDATION`` configurations, or config_types of the training data with none
    in it (but those :func:`unsplittable`); None when neither, or there is no
    validation set (the selection is then on the training data, said elsewhere)."""
    if not val:
        return None
    groups = _groups([*train, *val])
    missing = missing_groups(train, val)
    if len(val) >= SMALL_VALIDATION and not missing:
        return None
    problems = ([f"only {len(val)} of the {len(train) + len(val)} configurations"]
                if len(val) < SMALL_VALIDATION else []) \
        + ([f"none of the config_type(s) {', '.join(map(repr, missing))}"] if missing else [])
    return (f"the validation set, which selects the checkpoints, has {' and '.join(problems)}"
            f"; {_validation_advice(groups, missing, validation)}")


def _validation_advice(groups: dict, missing: list, validation: dict) -> str:
    """What to set for :func:`validation_coverage`: for a random split, the smallest
    fraction (from the configured one, in steps of 0.05 up to 0.3) whose stratified split
    holds ``SMALL_VALIDATION`` configurations and one of each group it can hold; a
    validation file or more data where none does and no missing group would be held
    (stratifying one group changes nothing)."""
    if validation.get("file"):
        return ("add configurations of every group to data.validation.file, "
                f"at least {SMALL_VALIDATION} in all")
    if validation.get("key"):
        return (f"mark more training configurations, of every group, with "
                f"data.validation.key ({validation['key']!r})")
    sizes = {t: len(cs) for t, cs in groups.items()}
    wanted = [t for t in sizes if not unsplittable(groups[t])]
    fraction = float(validation["fraction"])
    fractions = [fraction] + [f / 100 for f in range(5, 35, 5) if f / 100 > fraction]
    fits = [(f, stratified_quotas(sizes, f, wanted)) for f in fractions]
    for f, quotas in fits:
        if sum(quotas.values()) >= SMALL_VALIDATION and all(quotas[t] for t in wanted):
            break
    else:
        f, quotas = next(((f, q) for f, q in fits if all(q[t] for t in wanted)), fits[-1])
    too_few = (f"a validation file (data.validation.file) of at least {SMALL_VALIDATION} "
               "configurations covering every group, or more training data")
    held = [t for t in missing if quotas[t]]
    if not held and sum(quotas.values()) < SMALL_VALIDATION:
        # no split of these data does: a setting that changes nothing is no advice
        return (f"a split of at most {fractions[-1]:g} of these {sum(sizes.values())} "
                f"configurations holds fewer than {SMALL_VALIDATION}: {too_few}")
    settings = ([] if validation.get("stratify") else ["data.validation.stratify: true"]) \
        + ([f"data.validation.fraction: {f:g}"] if f != fraction else [])
    if not settings:
        return ("the groups are too small for a stratified split to hold them: more "
                "configurations of them, or a validation file")
    total = sum(quotas.values())
    return (f"{' and '.join(settings)} would hold {total} configuration{'s' * (total != 1)}"
            + (f", with {', '.join(map(repr, held))}" if held else "")
            + (" (a larger fraction trains on fewer)" if f != fraction else "")
            + (f"; still fewer than {SMALL_VALIDATION}: {too_few}"
               if total < SMALL_VALIDATION else ""))


def _largest_remainder(sizes, total):
    """Integer quotas proportional to ``sizes`` that sum to ``total`` (Hamilton's method)."""
    sizes = np.asarray(sizes, dtype=float)
    exact = total * sizes / sizes.sum()
    quotas = np.floor(exact).astype(int)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[:total - quotas.sum()]] += 1
    return quotas


def check_atoms(atoms, where: str) -> None:
    """DataError, naming ``where`` (a file and frame), for a structure no potential can
    evaluate: no atoms, ASE's dummy element X, non-finite positions or cell, coordinates
    beyond :data:`COORDINATE_LIMIT`, a periodic cell without volume, two atoms on one
    point. Every reader of configurations calls it."""
    if len(atoms) == 0:
        raise DataError(f"{where}: no atoms; allowed: a structure of at least one atom")
    dummy = np.flatnonzero(np.asarray(atoms.numbers) <= 0)
    if len(dummy):
        raise DataError(f"{where}: atoms {dummy[:10].tolist()} are ASE's dummy element X; "
                        "allowed: chemical elements")
    _check_coordinates(atoms, where)     # before the cell's rank test, whose tolerance grows
    try:    # checks of any atoms (a calculator's too): here a frame of the data is wrong
        validate_atoms(atoms, where)
        check_distinct_positions(atoms, where)
    except ValueError as exc:
        raise DataError(str(exc)) from None


def structure_key(atoms) -> str:
    """A hash of a structure: species, positions, cell and periodicity to 1e-6 Å (labels,
    info and calculators aside). Two frames with one key are one configuration."""
    import hashlib

    h = hashlib.sha1()
    for part in (atoms.numbers.astype(np.int64), np.round(atoms.positions, 6),
                 np.round(np.asarray(atoms.cell.array), 6), atoms.pbc.astype(np.int8)):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def repeated_structures(configs) -> list[tuple[int, int]]:
    """(index of a configuration, index of the first one with the same structure) for
    every repeat in ``configs``: the same :func:`structure_key`. A structure in both a
    fitted and a held-out set makes its held-out errors measure the fit, not the
    prediction."""
    first, out = {}, []
    for k, c in enumerate(configs):
        key = structure_key(c.atoms)
        if key in first:
            out.append((k, first[key]))
        else:
            first[key] = k
    return out


def _labelled(atoms, source, i, keys, option):
    """Frame ``i`` of ``source`` labelled with its ``keys`` (label -> key, as in
    :func:`load_configurations`); ``option`` names a key's option in the errors."""
    energy_key, forces_key, stress_key, virial_key, config_type_key, force_weight_key = (
        keys[label] for label in LABEL_KEYS)
    where = frame_where(source, i)
    check_atoms(atoms, where)       # here the message can name the file and frame
    n = len(atoms)
    energy = _label(atoms, energy_key)
    forces = _label(atoms, forces_key)
    stress = _label(atoms, stress_key)
    virial = _label(atoms, virial_key)
    if energy is not None:
        energy = _energy_label(energy, energy_key, where)
    if forces is not None:
        forces = _forces_label(forces, forces_key, n, where)
    if stress is not None:
        stress = _voigt(stress, stress_key, where)
        _finite(stress, stress_key, where)
    if virial is not None:
        virial = _voigt(virial, virial_key, where)
        _finite(virial, virial_key, where)
        vol = _volume(atoms)
        if not np.isfinite(vol):
            raise DataError(f"{where}: virial {virial_key!r} given but the cell has no volume")
        stress = -virial / vol
        # a virial within the limit over a cell of under 1 Å³ can exceed it as a stress
        _finite(stress, virial_key, where,
                what=f"the stress (−virial / volume, {vol:.6g} Å³) of label")
    if stress is not None:
        _check_volume(atoms, stress_key, where)
    if energy is None and forces is None and stress is None:
        raise DataError(_no_label(atoms, where, keys, option))
    weights = None
    if force_weight_key is not None and force_weight_key in atoms.arrays:
        weights = _weights_label(atoms.arrays[force_weight_key], force_weight_key, n, where)
    config_type = config_type_name(atoms.info.get(config_type_key, DEFAULT_CONFIG_TYPE))
    bare = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    return LabelledConfig(atoms=bare, energy=energy, forces=forces, stress=stress,
                          config_type=config_type, force_weights=weights, source=source,
                          index=i, info=dict(atoms.info))


def _energy_label(value, key, where) -> float:
    """An energy label as a float: one finite number of magnitude up to
    :data:`LABEL_LIMIT` (``key`` and ``where`` name it in the errors)."""
    energy = _numbers(value, "energy", key, where)
    if energy.size != 1:
        raise DataError(f"{where}: energy {key!r} must be a scalar, got shape {energy.shape}")
    energy = float(energy.reshape(()))
    _finite(energy, key, where)
    return energy


def _forces_label(value, key, n, where) -> np.ndarray:
    """A forces label of ``n`` atoms as a float array of shape (n, 3), finite."""
    forces = _numbers(value, "forces", key, where)
    if forces.shape != (n, 3):
        raise DataError(f"{where}: forces {key!r} must have shape ({n}, 3), got {forces.shape}")
    _finite(forces, key, where)
    return forces


def _weights_label(value, key, n, where) -> np.ndarray:
    """Per-atom force weights of ``n`` atoms as a float array of shape (n,), finite, >= 0."""
    weights = _numbers(value, "force weights", key, where).reshape(-1)
    if weights.shape != (n,):
        raise DataError(f"{where}: force weights {key!r} must have {n} entries")
    _finite(weights, key, where)
    if np.any(weights < 0):
        raise DataError(f"{where}: force weights {key!r} must be >= 0")
    return weights


def _check_volume(atoms, key, where) -> None:
    """A stress label needs a cell with a volume."""
    if not np.isfinite(_volume(atoms)):
        raise DataError(f"{where}: stress {key!r} given but the cell has no volume")


def check_labels(configs, what: str = "training") -> list:
    """Check hand-built configurations as the readers check the frames they read: each a
    :class:`LabelledConfig` of an ``ase.Atoms``, with at least one label, each label finite,
    of magnitude up to :data:`LABEL_LIMIT` and of its shape (energy a scalar, forces
    (n_atoms, 3), stress (6,), force weights (n_atoms,) and >= 0), a stress only with a
    cell volume, and a ``config_type`` that is a str (:func:`config_type_name`).

    :func:`acefit.assembly.assemble` calls it on every set: what the readers made passes.

    Parameters
    ----------
    configs : sequence of LabelledConfig
    what : str
        What the set is ("training", "validation", "test"), for the messages.

    Returns
    -------
    list of LabelledConfig
        The configurations with their labels as the readers make them (energy a float,
        the others float arrays): a list or a shape-(1,) energy passes, and goes on as
        the assembly expects.

    Raises
    ------
    TypeError
        For an item that is not a LabelledConfig (or whose ``atoms`` is no ``ase.Atoms``).
    ValueError
        For a label that fails; the message names the configuration (its position in
        ``configs``, and its ``where`` when it has a ``source``) and the label.
    """
    checked = []
    for k, cfg in enumerate(configs):
        if not isinstance(cfg, LabelledConfig):
            raise TypeError(f"{what} configuration {k}: {_type_name(cfg)}; allowed: "
                            "acefit.data.LabelledConfig (frames in memory: "
                            "configurations_from_atoms(frames))")
        # a hand-built one's index is no frame's: its place in ``configs`` names it
        where = f"{what} configuration {k} " + (f"({cfg.where})" if cfg.source else "(in memory)")
        if not isinstance(cfg.atoms, Atoms):
            raise TypeError(f"{where}: atoms is {_type_name(cfg.atoms)}; allowed: ase.Atoms")
        n = len(cfg.atoms)
        labels = {}
        if cfg.energy is not None:
            labels["energy"] = _energy_label(cfg.energy, "energy", where)
        if cfg.forces is not None:
            labels["forces"] = _forces_label(cfg.forces, "forces", n, where)
        if cfg.stress is not None:
            stress = _numbers(cfg.stress, "stress", "stress", where)
            if stress.shape != (6,):
                raise DataError(f"{where}: stress 'stress' must have shape (6,) (Voigt xx yy "
                                f"zz yz xz xy, eV/Å³), got {stress.shape}")
            _finite(stress, "stress", where)
            _check_volume(cfg.atoms, "stress", where)
            labels["stress"] = stress
        if not labels:
            raise DataError(f"{where}: no label (energy, forces and stress are None); "
                            "allowed: a configuration with at least one")
        if cfg.force_weights is not None:
            labels["force_weights"] = _weights_label(cfg.force_weights, "force_weights", n,
                                                     where)
        if not isinstance(cfg.config_type, str):
            raise DataError(f"{where}: config_type {cfg.config_type!r} is "
                            f"{_type_name(cfg.config_type)}; allowed: a str (the group's "
                            f"name, {config_type_name(cfg.config_type)!r})")
        checked.append(replace(cfg, **labels))
    return checked


def _no_label(atoms, where, keys, option) -> str:
    """The error for a frame in which none of the label ``keys`` is: the keys looked for,
    those of the frame that look like labels (:func:`label_candidates`), and the options
    (``option``) that would read those named for their label (``REF_energy``; not a
    ``step`` of an energy's shape); ``option`` None for every label: the keys were read
    off the files (``acefit init``), and no option sets them."""
    looked = ", ".join(f"{label} {keys[label]!r}" for label in LABEL_SHAPES if keys[label])
    text = (f"{where}: no label found (looked for {looked or 'none: every key is null'} in "
            "calculator results, info and arrays)")
    found = {label: k for label, k in label_candidates([atoms], named=False).items() if k}
    if "stress" in found:
        found.pop("virial", None)       # read in place of the stress: one of them
    if not found:
        return (f"{text}; no key of this frame holds numbers of a label's shape "
                f"({_describe_keys(_label_keys([atoms]))}); allowed: frames with an energy, "
                "forces or a stress")
    shown = "; ".join(f"{label}: {', '.join(k[:4])}{', ...' * (len(k) > 4)}"
                      for label, k in found.items())
    # only a key named for its label is offered as one: an MD frame's step or time has
    # an energy's shape, its velocities the forces'
    named = {label: k[0] for label, k in found.items()
             if k[0] == LABEL_KEYS[label] or _named_for(k[0], label)}
    options = {label: option(label) for label in found}
    if not named:
        return (f"{text}; keys of this frame of a label's shape, none named like a label "
                f"(a frame of MD or of a pool holds none): {shown}; allowed: frames with an "
                "energy, forces or a stress" + (
                    f", their keys named with {', '.join(options.values())}"
                    if all(options.values()) else ""))
    if not all(options.values()):
        return (f"{text}; keys of this frame that look like labels: {shown}; the keys looked "
                "for were found in the files, one per label for every frame; allowed: this "
                "frame's labels under those keys, or the files without this frame")
    return (f"{text}; keys of this frame that look like labels: {shown}; allowed: "
            + ", ".join(_key_setting(options[label], key) for label, key in named.items()))


def label_candidates(frames, named: bool = True) -> dict:
    """The keys of ``frames`` that can hold each label of :data:`LABEL_SHAPES`, best first.

    A key can hold a label when it is where that label can be (calculator results,
    ``atoms.info``, ``atoms.arrays``), its name does not end as a spread's or an error's
    (:data:`SPREAD_SUFFIXES`), it does not count (:func:`_is_index`), and the first frame
    that has it holds numbers of the label's shape; the label's default key
    (:data:`LABEL_KEYS`) whenever it is there.

    Parameters
    ----------
    frames : list of ase.Atoms
    named : bool
        Only keys whose name contains the label's word (``REF_energy``, ``dft_forces``,
        ``virial``). Otherwise any key of the shape whose name contains no other label's
        word (a virial: only by its name).

    Returns
    -------
    dict
        Label -> keys: the default key first, then those named for the label, then those
        whose name says ``dft`` or ``ref``, then in sorted order.
    """
    present = _label_keys(frames)
    out = {}
    for label, (places, word, shapes) in LABEL_SHAPES.items():
        default = LABEL_KEYS[label]
        keys = {k for p in places for k in present[p]
                if isinstance(k, str) and k not in _ASE_ARRAYS}
        fits = [k for k in keys if k == default or not _is_spread(k) and (
            _named_for(k, label) if named or label == "virial" else
            not any(_named_for(k, other) for other in LABEL_SHAPES if other != label))
            and _has_shape(frames, k, shapes) and not _is_index(frames, k)]
        out[label] = sorted(fits, key=lambda k: (
            k != default, not _named_for(k, label),
            not any(tag in k.lower() for tag in ("dft", "ref")), k))
    return out


def _named_for(key: str, label: str) -> bool:
    return LABEL_SHAPES[label][1] in key.lower()


SPREAD_SUFFIXES = ("_sd", "_std", "_sigma", "_var", "_err", "_error", "_uncertainty")
"""Endings of a key that holds a spread or an error of a label, never the label: acefit
query's ``committee_energy_sd``, a committee's ``energy_std``."""


def _is_spread(key: str) -> bool:
    return key.lower().endswith(SPREAD_SUFFIXES)


INDEX_WORDS = ("frame", "index", "idx", "id", "step", "timestep")
"""Words of a key's name (between non-letters) that say it counts or names, never
measures: acefit query's ``pool_frame``, an MD ``step``, a database ``id``."""


def _is_index(frames, key) -> bool:
    """Whether ``key`` counts rather than measures, so is no label: its name has no label's
    word and either has a word of :data:`INDEX_WORDS` or every frame that has it holds
    integers (or booleans). A key named for a label is one whatever it holds: a hand-written
    ``REF_energy=1``, a stress of integer zeros (which extxyz reads as integers),
    ``energy_step``."""
    if any(_named_for(key, label) for label in LABEL_SHAPES):
        return False
    if set(re.split(r"[^a-z]+", key.lower())) & set(INDEX_WORDS):
        return True
    values = _values(frames, key)
    first = next(values, None)
    return first is not None and all(np.asarray(v).dtype.kind in "biu"
                                     for v, _ in itertools.chain([first], values))


def _values(frames, key):
    """``key``'s value in each of ``frames`` that has it (in its calculator results, info
    or arrays, the first of these that has it), with that frame."""
    for atoms in frames:
        results = getattr(atoms.calc, "results", {}) if atoms.calc is not None else {}
        for store in (results, atoms.info, atoms.arrays):
            if key in store:
                yield store[key], atoms
                break


def _first_value(frames, key):
    """``key``'s value in the first of ``frames`` that has it, and that frame; (None, None)
    when none has it."""
    return next(_values(frames, key), (None, None))


def _has_shape(frames, key, shapes) -> bool:
    """Whether the first frame that has ``key`` holds numbers of one of ``shapes``
    ("n": the number of atoms)."""
    value, atoms = _first_value(frames, key)
    if atoms is None:
        return False
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return any(value.shape == tuple(len(atoms) if s == "n" else s for s in shape)
               for shape in shapes)


def _label(atoms, key):
    """A label from calculator results, info or arrays; None when absent."""
    if key is None:
        return None
    calc = atoms.calc
    results = getattr(calc, "results", {}) if calc is not None else {}
    if key in results:
        return results[key]
    if key in atoms.info:
        return atoms.info[key]
    if key in atoms.arrays:
        return atoms.arrays[key]
    return None


def _numbers(value, label, key, where) -> np.ndarray:
    """A label as a float array (a copy); an unreadable one named with its frame."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{where}: {label} {key!r} is not a number or array of numbers: "
                        f"{value!r}") from None


def _voigt(value, key, where):
    v = _numbers(value, "stress/virial", key, where)
    if v.shape == (6,):
        return v.copy()
    if v.shape in ((9,), (3, 3)):
        m = v.reshape(3, 3)
        if not np.allclose(m, m.T, rtol=1e-6, atol=1e-8):
            raise DataError(f"{where}: {key!r} is not symmetric: {m.tolist()}")
        return np.array([m[a, b] for a, b in _VOIGT])
    raise DataError(f"{where}: {key!r} must have 6, 9 or 3x3 entries, got shape {v.shape}")


LABEL_LIMIT = 1e12
"""The largest label magnitude read (eV, eV/Å, eV/Å³): the total energy of a million heavy
atoms is about 1e11 eV, and larger values (a unit or format error) would overflow the
squared norms of the fit."""


COORDINATE_LIMIT = 1e6
"""The largest magnitude of a position or periodic cell vector component read (Å). DFT
cells, slabs with their vacuum and MD positions unwrapped over a long run span 1e2-1e3 Å,
and float64 resolves 1e-10 Å at 1e6 Å; at 1e12 Å it resolves 1e-4 Å (atoms 1e-6 Å apart
are one point), and the neighbour search of one small cell took seconds."""


def _check_coordinates(atoms, where):
    """ValueError for a coordinate beyond :data:`COORDINATE_LIMIT` (NaN and inf are
    :func:`acefit.basis.neighbours.validate_atoms`' to name)."""
    positions = np.asarray(atoms.positions, dtype=float)
    far = np.where(np.isfinite(positions), np.abs(positions), 0.0).max(axis=1)
    if far.max() > COORDINATE_LIMIT:
        i = int(np.argmax(far))
        raise DataError(f"{where}: atom {i} is at {positions[i].tolist()} Å; allowed: "
                        f"coordinates of magnitude up to {COORDINATE_LIMIT:g} Å")
    periodic = np.asarray(atoms.cell.array, dtype=float)[np.asarray(atoms.pbc, dtype=bool)]
    if np.any(np.abs(periodic[np.isfinite(periodic)]) > COORDINATE_LIMIT):
        raise DataError(f"{where}: periodic cell vectors {periodic.tolist()} Å; allowed: "
                        f"components of magnitude up to {COORDINATE_LIMIT:g} Å")


def _finite(x, key, where, what="label"):
    """ValueError naming ``where`` and ``what`` ``key`` unless ``x`` is finite and of
    magnitude up to :data:`LABEL_LIMIT`."""
    if not np.all(np.isfinite(x)):
        raise DataError(f"{where}: {what} {key!r} contains NaN or inf")
    largest = float(np.max(np.abs(x)))
    if largest > LABEL_LIMIT:
        raise DataError(f"{where}: {what} {key!r} has a value of magnitude {largest:.10g}; "
                        f"allowed: magnitudes up to {LABEL_LIMIT:g}")


def _volume(atoms) -> float:
    vol = abs(float(np.linalg.det(np.asarray(atoms.cell))))
    return vol if vol > 1e-12 else float("nan")


__all__ = ["LabelledConfig", "load_configurations", "read_configurations",
           "configurations_from_atoms", "iter_structures", "ase_group_hints", "energy_gap",
           "LABEL_KEYS", "check_labels", "frame_where", "unknown_group", "read_structures",
           "COORDINATE_LIMIT", "check_atoms", "check_elements", "check_frame_elements",
           "check_potential_elements", "config_frames", "config_type_name", "extxyz_group",
           "MissingKeyError", "label_candidates", "absent_labels", "missing_labels",
           "offered_keys", "offered_text", "read_key", "config_key", "FITTED_LABELS",
           "repeated_structures", "structure_key", "split", "missing_groups",
           "stratified_quotas", "validation_coverage", "SMALL_VALIDATION"]
