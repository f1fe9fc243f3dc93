"""A first config written from the data: ``acefit init TRAIN.xyz``.

The settings a new user cannot guess without looking at the data are read off it:

* where the labels are (``energy`` or ``REF_energy``, a stress or a virial, ...);
* the elements, and the configuration groups to weight;
* a cutoff scaled to the nearest-neighbour distance;
* a core repulsion that stops just below the shortest distance in the data, so that
  it keeps atoms apart in MD without changing the fit;
* the total degree that gives a basis of about the size asked for, and path lengths
  and size budgets in proportion to it.

The rest are the defaults of ``docs/config.md``. The config is written with a comment
on each choice, then read back through :func:`acefit.config.load_config`, so that what
is written is a valid config.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acefit.data import DEFAULT_CONFIG_TYPE, LABEL_KEYS

__all__ = ["DataSurvey", "detect_label_keys", "survey", "totaldegree_for", "starter_config",
           "write_starter_config"]

NEIGHBOUR_SEARCH = 6.0
"""Å: the distances the survey looks at (every first-neighbour distance in a condensed
phase is shorter)."""
RCUT_PER_NEAREST = 2.3
"""The cutoff in units of the data's median nearest-neighbour distance: the Zuo Mo tuning's
6.0 Å is 2.3 times that of its data (2.58 Å; thermal motion puts it below the bcc crystal's
2.73 Å); past the third neighbour shell of a bcc or fcc crystal."""
RCUT_RANGE = (4.5, 7.0)
R0_PER_NEAREST = 1.45
"""The Agnesi centre r0 in units of the data's median nearest-neighbour distance, for one
element: validation errors of Zuo Mo and Si fell from the crystal's nearest-neighbour
distance (the basis default) to 1.35-1.55 times it (docs/zuo_tuning.md, "transform and
r0"; the Mo tuning's 3.7 Å is 1.45 times its data's 2.58 Å)."""
MIN_FUNCTIONS, MAX_FUNCTIONS = 10, 50_000
"""The basis sizes `acefit init` aims at (R of 50 000 functions takes 19 GiB)."""
MAX_ACTIVE = 1000
"""The sparse paths run to half the starting basis, and to at most this many functions (the
sparse-ACE protocol's 1000 of ~5000)."""
SMALL_BUDGET = 0.3
"""The smaller size budget per path length: the protocol's 300 of 1000."""

@dataclass
class DataSurvey:
    """What :func:`survey` found in the training configurations.

    Attributes
    ----------
    n_configs, n_atoms : int
    elements : list of str
        By atomic number.
    config_types : dict
        Configurations per ``config_type``.
    labelled : dict
        Configurations with an energy, forces and a stress.
    rows : int
        Label rows: one per energy, three per atom with forces, six per stress.
    nearest : float
        Median over the atoms with a neighbour within :data:`NEIGHBOUR_SEARCH` of the
        distance to their nearest neighbour, Å (NaN: no atom has one).
    shortest : dict
        Element pair ("Cu-Au") → (shortest distance in Å, the configuration's
        ``where``), shortest first.
    isolated : dict
        Element → (energy in eV, ``where``) of the first configuration that is one atom
        of it with an energy and no neighbour within :data:`NEIGHBOUR_SEARCH`: the
        isolated-atom reference of ``data.e0``.
    unstressed : list
        ``where`` of the configurations periodic in all three directions without a
        stress, when others have one (only those are expected to carry one).
    element_counts : dict
        Element → (atoms, configurations, ``where`` of the first configuration with it).
    """

    n_configs: int
    n_atoms: int
    elements: list
    config_types: dict
    labelled: dict
    rows: int
    nearest: float
    shortest: dict = field(default_factory=dict)
    isolated: dict = field(default_factory=dict)
    unstressed: list = field(default_factory=list)
    element_counts: dict = field(default_factory=dict)

    def rare_elements(self) -> list:
        """The elements in at most two configurations and under 1 % of the atoms, each as
        (symbol, atoms, configurations, where it first is): a typo or a stray frame gives
        the basis an element's functions and pairs all the same."""
        return [(e, atoms, configs, where)
                for e, (atoms, configs, where) in self.element_counts.items()
                if len(self.elements) > 1 and configs <= 2 and atoms < 0.01 * self.n_atoms]


def detect_label_keys(files, frames=None) -> tuple[dict, dict]:
    """Where the labels of ``files`` are, for :func:`acefit.data.read_configurations`.

    Each file's candidate keys of each label are found
    (:func:`acefit.data.label_candidates`: a label's default key, or one whose name
    contains the label's word, such as ``REF_energy``, ``dft_forces`` or ``virial``, with
    values of the label's shape), and of the keys every file with the label has, the first
    is taken: the default, then one whose name says ``dft`` or ``ref``, then the first in
    sorted order. A stress is taken before a virial, which is read in its place.

    Parameters
    ----------
    files : sequence of str or Path
    frames : dict, optional
        Filled with the frames of each file (file → list of ase.Atoms), for
        :func:`acefit.data.read_configurations` to label without reading them again.

    Returns
    -------
    keys : dict
        Label → key (None: no such label in the files).
    others : dict
        Label → the other candidate keys that were not taken (for the config's comments).

    Raises
    ------
    ValueError
        Files that keep a label under different keys, no key of which all of them have
        (a config reads every file with one ``data.keys``): each file's keys named.
    """
    from acefit.data import label_candidates
    from acefit.readers import read_frames

    by_file = {} if frames is None else frames
    for f in files:
        by_file[f] = read_frames(f)
    found = {f: label_candidates(by_file[f]) for f in files}
    keys, others, clashes = dict(LABEL_KEYS), {}, []
    for group in _KEY_GROUPS:
        having = [options for f in files if (options := _options(found[f], group))]
        common = [o for o in having[0] if all(o in x for x in having[1:])] if having else []
        keys.update(dict.fromkeys(group))
        if common:
            keys[common[0][0]] = common[0][1]
        elif having:
            clashes.append(group)
        for label in group:
            others[label] = sorted({k for x in having for lab, k in x if lab == label}
                                   - {keys[label]})
    if clashes:
        raise ValueError(_key_clash(files, found, clashes))
    return keys, others


def energy_choice(files, frames, keys) -> dict | None:
    """Which of ASE's two energies (:data:`acefit.data.ENERGY_KEYS`) a config of ``files``
    reads, when their ``frames`` (file -> every frame) carry both and they differ; None when
    they do not (or ``keys``, :func:`detect_label_keys`'s, read another key).

    ``free_energy`` is taken when every frame with an ``energy`` has one: it is the energy
    whose derivatives the forces and stresses are (VASP's TOTEN; ASE's ``energy`` of a
    smeared run is extrapolated to zero smearing), and a fit of energies, forces and
    stresses together reads them as one function's values and derivatives. VASP's
    machine-learned force fields fit it too (their isolated-atom references are its ``F=``).

    Returns
    -------
    dict
        ``key`` (the one to read), ``note`` (:func:`acefit.data.energy_gap_note`, what
        the frames hold beside it) and ``why`` (the choice in words).
    """
    from acefit.data import ENERGY_KEYS, energy_gap, energy_gap_note

    if keys["energy"] not in ENERGY_KEYS:
        return None
    gaps = [energy_gap(frames[f], f, range(len(frames[f]))) for f in files]
    if not any(g["differ"] for g in gaps):
        return None
    lacking = sum(g["energy"] - g["both"] for g in gaps)
    key = "energy" if lacking else "free_energy"
    why = (f"energy kept: {lacking} frames with an energy have no free_energy, and a config "
           "reads every frame with one key" if lacking else
           "free_energy, not energy: the forces and stresses are its derivatives (energy is "
           "extrapolated to zero smearing); energy: \"energy\" fits the extrapolated one")
    return {"key": key, "note": energy_gap_note(gaps, key), "why": why}


_KEY_GROUPS = (("energy",), ("forces",), ("stress", "virial"))
"""Labels of which one key is read: a virial is read in place of a stress."""


def _options(found: dict, group) -> list:
    """(label, key) of a file's candidates (``found``) for the labels of ``group``, best
    first."""
    return [(label, key) for label in group for key in found[label]]


def _key_clash(files, found, clashes) -> str:
    """The error for files that keep the labels of the groups ``clashes`` under keys no
    one of which they all have: each file's best key per label (files alike together)."""
    sets = {}
    for f in files:
        best = [_options(found[f], group)[:1] for group in _KEY_GROUPS]
        text = ", ".join(f"{label} <- {key}" for pick in best for label, key in pick)
        sets.setdefault(text or "no labels", []).append(str(f))
    labels = ", ".join("/".join(group) for group in clashes)
    held = "; ".join(f"{', '.join(names)}: {text}" for text, names in sets.items())
    return (f"the data files keep their labels under different keys ({held}); they share no "
            f"key for {labels}, and a config reads every file, training and test, with one "
            "data.keys; allowed: files that keep each label under one key "
            "(write one set again with the others' keys: ase.io.read, the labels put into "
            "atoms.info or atoms.arrays under those keys, ase.io.write), or a config per set")


def survey(configs) -> DataSurvey:
    """Elements, groups, labels and interatomic distances of ``configs``
    (:class:`acefit.data.LabelledConfig`)."""
    from ase.data import chemical_symbols

    from acefit.basis.neighbours import neighbour_pairs
    from acefit.design import row_count
    from acefit.elements import pair_name

    nearest, shortest, isolated, counts = [], {}, {}, {}
    groups, labelled, rows = {}, {"energy": 0, "forces": 0, "stress": 0}, 0
    for cfg in configs:
        z = cfg.atoms.numbers
        for number, atoms in zip(*np.unique(z, return_counts=True)):
            before = counts.get(int(number), (0, 0, cfg.where))
            counts[int(number)] = (before[0] + int(atoms), before[1] + 1, before[2])
        groups[cfg.config_type] = groups.get(cfg.config_type, 0) + 1
        for label in labelled:
            labelled[label] += getattr(cfg, label) is not None
        rows += row_count(cfg)
        i, j, _, d = neighbour_pairs(cfg.atoms, NEIGHBOUR_SEARCH)
        if not len(d):
            symbol = chemical_symbols[int(z[0])] if cfg.n_atoms == 1 else None
            if symbol and cfg.energy is not None and symbol not in isolated:
                isolated[symbol] = (float(cfg.energy), cfg.where)
            continue
        first = np.full(cfg.n_atoms, np.inf)
        np.minimum.at(first, i, d)
        nearest.append(first[np.isfinite(first)])
        zi, zj = np.minimum(z[i], z[j]), np.maximum(z[i], z[j])
        for a, b in set(zip(zi.tolist(), zj.tolist())):
            pair = pair_name(a, b)
            dmin = float(d[(zi == a) & (zj == b)].min())
            if pair not in shortest or dmin < shortest[pair][0]:
                shortest[pair] = (dmin, cfg.where)
    return DataSurvey(
        n_configs=len(configs), n_atoms=sum(c.n_atoms for c in configs),
        elements=[chemical_symbols[z] for z in sorted(counts)], config_types=groups,
        labelled=labelled, rows=rows,
        nearest=float(np.median(np.concatenate(nearest))) if nearest else math.nan,
        shortest=dict(sorted(shortest.items(), key=lambda item: item[1][0])),
        isolated=isolated,
        unstressed=[c.where for c in configs if c.fully_periodic and c.stress is None]
        if labelled["stress"] else [],
        element_counts={chemical_symbols[z]: counts[z] for z in sorted(counts)})


def totaldegree_for(elements, order: int, functions: int, at_most: int | None = None
                    ) -> tuple[int, int]:
    """The total degree D (the same for every correlation order, as in "order 3, total
    degree 25") whose basis of ``elements`` has the number of functions nearest to
    ``functions`` (by ratio) and at most ``at_most``, and that number; ValueError when
    even D = 1 has more than ``at_most``."""
    from acefit.basis import ACEBasis

    best, previous = None, None
    for degree in range(1, 61):
        n = len(ACEBasis(elements, order=order, totaldegree=degree))
        if at_most is not None and n > at_most:
            break
        if best is None or abs(math.log(n / functions)) < abs(math.log(best[1] / functions)):
            best = (degree, n)
        if n >= functions or n == previous and degree > 20:
            break
        previous = n
    if best is None:
        raise ValueError(f"the smallest basis of order {order} ({n} functions, total degree "
                         f"1) needs more than the {at_most} it can have with these data; "
                         "allowed: a lower --order, or more training data")
    return best


def _round(x: float, step: float, down: bool = False) -> float:
    k = math.floor(x / step + 1e-9) if down else round(x / step)
    return round(k * step, 10)


def _q(text) -> str:
    """A string as a YAML scalar (JSON's double-quoted strings are YAML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def _relative(path, start: Path) -> str:
    """``path`` relative to ``start`` when it is near (at most two levels up), else
    absolute."""
    path = Path(path).resolve()
    try:
        relative = os.path.relpath(path, start.resolve())
    except ValueError:                                  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith(os.path.join("..", "..", "..")) else relative


def starter_config(train, *, test=(), config_path="acefit.yaml", functions: int = 2000,
                   order: int = 3) -> tuple[str, dict]:
    """The text of a first config for the data in ``train`` (and ``test``), and the facts
    it was made from.

    Parameters
    ----------
    train, test : sequence of str or Path
        Labelled configuration files.
    config_path : str or Path
        Where the config will be written: its paths are relative to this file's folder,
        and the run directory is ``runs/<its stem>`` there.
    functions : int
        Size of the starting basis to aim for (the solvers select from it).
    order : int
        Correlation order ν, 1 to 4: up to (ν + 1)-body terms.

    Returns
    -------
    text : str
        The YAML config, with comments.
    facts : dict
        ``survey`` (:class:`DataSurvey`), ``keys``, ``changed_keys`` (those of ``keys``
        that are not the defaults, the config's ``data.keys``), ``other_keys``,
        ``energy_choice`` (:func:`energy_choice`: the frames' ``energy`` and
        ``free_energy`` differ, or None), ``totaldegree``,
        ``n_functions``, ``most_functions`` (half the training rows: the cap on the basis),
        ``rcut``, ``r0`` (one element: ``R0_PER_NEAREST`` times the median
        nearest-neighbour distance; else None, each pair's default), ``repulsion``
        ((inner, outer) or None), ``max_active``,
        ``budgets``, ``stress_checks`` (:class:`acefit.consistency.StressCheck` per
        config_type with stresses, on its frames of the training and test files
        together; an inconsistent one is read in the convention under which it agrees,
        ``data.stress_reading``, or gets V 0 where none does), ``unchecked_stresses``
        ((groups, readings): the untested training groups given V 0 because tested groups
        with training stresses needed a converter's reading, ``CONVERTER_READINGS``),
        ``test_only_stresses`` (the config_types with stresses in the test files only:
        read like the others, but with no V to set), ``unchecked_test_stresses``
        ((groups, readings): those of them untested beside tested groups read with a
        converter's reading, whose test stress errors may measure a converter's error),
        ``validation_missed`` (the config_types, :func:`acefit.data.missing_groups`, of
        which a random 10 % split, seed 0, would hold none: the config's split is then
        stratified).

    Raises
    ------
    ValueError
        No file, no labels, an element of a test file missing from the training data,
        and what :func:`acefit.data.read_configurations` raises for (naming file and
        frame).
    FileNotFoundError
        A data file that does not exist.
    """
    from acefit.data import check_elements, missing_groups, read_configurations, split
    from acefit.data_checks import warn_repeated_structures
    from acefit.fit_inputs import Data

    train, test = [Path(f) for f in train], [Path(f) for f in test]
    _check_request(train, order, functions)
    frames = {}     # each file read once: for its label keys, then its labels
    keys, others, smeared = _label_keys(train, test, frames)
    # the keys were read off the files and init has no option to set one: a frame
    # without them is named with the keys it has, no option offered
    configs = read_configurations(train, keys, frames=frames, option=_no_option)
    changed = {label: key for label, key in keys.items() if key != LABEL_KEYS[label]}
    facts = {"survey": survey(configs), "keys": keys, "changed_keys": changed,
             "other_keys": others, "energy_choice": smeared}
    s = facts["survey"]
    # (a training file given as a test file too: check_stresses drops the repeats)
    held_out = read_configurations(test, keys, frames=frames, option=_no_option) if test else []
    check_elements(held_out, s.elements, of="the training data",
                   advice="a fit cannot predict an element it has no training data of")
    warn_repeated_structures(Data(configs, [], held_out))      # as the fit will

    cap = _most_functions(s.rows)
    degree, n = totaldegree_for(s.elements, order, min(functions, max(cap, 1)), at_most=cap)
    rcut = _cutoff(s.nearest)
    r0 = _transform_centre(s, rcut)
    repulsion = _core_repulsion(s.shortest)
    stresses = _stress_plan(configs, held_out)
    max_active, budgets = _path_lengths(n)
    facts.update(totaldegree=degree, n_functions=n, most_functions=cap, rcut=rcut, r0=r0,
                 max_active=max_active, budgets=budgets, stress_checks=stresses.checks,
                 unchecked_stresses=(stresses.unchecked, stresses.trained_converted),
                 unchecked_test_stresses=(stresses.unchecked_held, stresses.converted),
                 test_only_stresses=stresses.test_only,
                 repulsion=repulsion[:2] if repulsion else None)

    # a random split can miss a small group, whose errors then select nothing (found by a
    # user): stratified, the 10 % holds a share of each group large enough.
    # On that user's 53 CuNi frames (6 groups) over seeds 0-4, the headline's test E MAE
    # was 0.46 meV/atom stratified against 0.67 random (F 0.0100 against 0.0131 eV/Å)
    facts["validation_missed"] = missing_groups(*split(configs, val_fraction=0.1, seed=0))

    here = Path(config_path).resolve().parent
    lines = [*_header_lines(s, config_path),
             *_data_lines(train, test, here, facts),
             *_stress_reading_lines(stresses),
             *_weight_lines(s, stresses),
             *_e0_lines(s, here),
             *_basis_lines(s, facts, order, functions),
             *_repulsion_lines(repulsion, s, here),
             *_run_lines(config_path, max_active, budgets)]
    return "\n".join(lines) + "\n", facts


def _check_request(train: list, order, functions) -> None:
    """Refuse what ``acefit init`` cannot aim at: no training file, a correlation ``order``
    outside 1-4, or a basis size ``functions`` outside [:data:`MIN_FUNCTIONS`,
    :data:`MAX_FUNCTIONS`] (ValueError naming the value and the allowed ones)."""
    if not train:
        raise ValueError("no training file given")
    if not 1 <= int(order) <= 4:
        raise ValueError(f"order {order}: allowed 1 to 4")
    if not MIN_FUNCTIONS <= int(functions) <= MAX_FUNCTIONS:
        raise ValueError(f"functions {functions}: allowed an integer in [{MIN_FUNCTIONS}, "
                         f"{MAX_FUNCTIONS}]")


def _label_keys(train: list, test: list, frames: dict) -> tuple[dict, dict, dict | None]:
    """The label keys a config of ``train`` and ``test`` reads: :func:`detect_label_keys`'s,
    with ASE's energy of :func:`energy_choice` where the frames' two differ.

    ``frames`` is filled as for :func:`detect_label_keys`. Returns the keys, the other
    candidate keys (the energy not taken among them) and the energy choice (or None);
    ValueError when the training files have neither energies nor forces.
    """
    keys, others = detect_label_keys(train + test, frames)
    smeared = energy_choice(train + test, frames, keys)
    if smeared:
        others["energy"] = sorted((set(others["energy"]) | {keys["energy"]}) - {smeared["key"]})
        keys["energy"] = smeared["key"]
    if keys["energy"] is None and keys["forces"] is None:
        raise ValueError(f"{', '.join(map(str, train))}: no energies or forces found (no key "
                         "named like energy in the calculator results or atoms.info, or like "
                         "force in atoms.arrays)")
    return keys, others, smeared


def _most_functions(rows: int) -> int:
    """The largest basis for ``rows`` training label rows: a fit needs a weighted row per
    function, and at most half of the rows the 10 % validation split leaves gives the
    paths and the prior room."""
    return int(0.9 * rows) // 2


def _cutoff(nearest: float) -> float:
    """The cutoff, Å: :data:`RCUT_PER_NEAREST` times the median nearest-neighbour distance
    ``nearest`` (2.5 Å when NaN), to 0.1 Å, within :data:`RCUT_RANGE`."""
    near = nearest if math.isfinite(nearest) else 2.5
    return min(max(_round(RCUT_PER_NEAREST * near, 0.1), RCUT_RANGE[0]), RCUT_RANGE[1])


def _transform_centre(s: DataSurvey, rcut: float) -> float | None:
    """The distance transform's centre r0, Å, for the survey ``s`` of one element:
    :data:`R0_PER_NEAREST` times its nearest-neighbour distance, inside ``rcut`` (at most
    0.75 of it), to 0.1 Å; None (each pair's default) for several elements or no
    neighbours."""
    # several elements: each pair's default, since 1.45 times each pair's own distance
    # made the small models of EMT CuAu 2x worse (benchmarks.md)
    return _round(min(R0_PER_NEAREST * s.nearest, 0.75 * rcut), 0.1) \
        if len(s.elements) == 1 and math.isfinite(s.nearest) else None


def _core_repulsion(shortest: dict) -> tuple | None:
    """The ZBL core repulsion under the fit, from the survey's ``shortest`` distances
    (:attr:`DataSurvey.shortest`, shortest first): (inner, outer, shortest distance, its
    ``where``), outer 0.05 Å or more below the shortest distance (to 0.1 Å down), inner
    half of it or 1 Å less; None without neighbours or with outer under 0.2 Å."""
    if not shortest:
        return None
    dmin, where = next(iter(shortest.values()))
    outer = _round(dmin - 0.05, 0.1, down=True)
    if outer < 0.2:
        return None
    return (max(_round(outer / 2, 0.1), outer - 1.0), outer, dmin, where)


@dataclass(frozen=True)
class _StressPlan:
    """How a config reads and weighs each group's stresses (:func:`_stress_plan`).

    Attributes
    ----------
    checks : list
        :class:`acefit.consistency.StressCheck` per config_type with stresses.
    groups : set
        The config_types of the training and test configurations.
    test_only : list
        The config_types with stresses in the test files only.
    reread : dict
        config_type → check of the inconsistent groups that agree in another reading.
    unfit : dict
        config_type → check of the inconsistent training groups that agree in none.
    unfit_held : list
        Checks of such groups of the test files only.
    converted, trained_converted : list
        The converters' readings (:data:`acefit.consistency.CONVERTER_READINGS`) of the
        reread groups, all of them and the training groups'.
    unchecked, unchecked_held : list
        The untested training groups beside a training group's converter reading, and the
        untested groups of the test files only beside any group's.
    """

    checks: list
    groups: set
    test_only: list
    reread: dict
    unfit: dict
    unfit_held: list
    converted: list
    trained_converted: list
    unchecked: list
    unchecked_held: list

    @property
    def no_stress(self) -> set:
        """The training groups whose stresses are not fitted (V 0)."""
        return set(self.unfit) | set(self.unchecked)


def _stress_plan(configs: list, held_out: list) -> _StressPlan:
    """Which stresses of the training ``configs`` and test ``held_out`` configurations are
    read in another convention, which are not fitted, and which are named in comments,
    from :func:`acefit.consistency.check_stresses` on the frames of both."""
    from acefit.consistency import check_stresses

    # a reading applies to a group's test frames as well, so it is decided on all of them
    # (pairs across the files too); a group of the test files only needs one just as
    # much, for its test stress errors
    stressed = [c for c in (*configs, *held_out) if c.stress is not None]
    checks = check_stresses(stressed)
    fitted = {c.config_type for c in configs if c.stress is not None}
    test_only = sorted({c.config_type for c in stressed} - fitted)
    # a group whose stresses agree in another convention is read so; the rest get V 0
    inconsistent = [c for c in checks if c.verdict == "inconsistent"]
    reread = {c.config_type: c for c in inconsistent if c.reading}
    # only the training groups have a V to set to 0; the others are named in comments
    unfit = {c.config_type: c for c in inconsistent if not c.reading and c.config_type in fitted}
    unfit_held = [c for c in inconsistent if not c.reading and c.config_type in test_only]
    # a converter's error found in the tested groups is likely in the untested ones too,
    # where 1602x (kbar) or the wrong sign would go unseen: those are not fitted either.
    # A training group's V follows the training groups' readings only: a test file may
    # come from another converter
    converted = _converter_readings(reread, reread)
    trained_converted = _converter_readings(reread, fitted)
    untested = [c.config_type for c in checks if c.verdict == "untested"]
    unchecked = [group for group in untested if group in fitted] if trained_converted else []
    unchecked_held = [group for group in untested if group in test_only] if converted else []
    return _StressPlan(
        checks=checks, groups={c.config_type for c in (*configs, *held_out)},
        test_only=test_only, reread=reread, unfit=unfit, unfit_held=unfit_held,
        converted=converted, trained_converted=trained_converted, unchecked=unchecked,
        unchecked_held=unchecked_held)


def _converter_readings(reread: dict, groups) -> list:
    """The converters' readings (:data:`acefit.consistency.CONVERTER_READINGS`) among those
    of the ``reread`` checks (config_type → check) of ``groups``, sorted."""
    from acefit.consistency import CONVERTER_READINGS

    return sorted({c.reading for c in reread.values() if c.config_type in groups}
                  & set(CONVERTER_READINGS))


def _path_lengths(n: int) -> tuple[int, list]:
    """The sparse paths' length (half the ``n`` functions, to 10, within 10 and
    :data:`MAX_ACTIVE`) and the size budgets (:data:`SMALL_BUDGET` of it, and it)."""
    max_active = min(MAX_ACTIVE, max(10, _round(n / 2, 10)))
    budgets = sorted({max(5, _round(SMALL_BUDGET * max_active, 10)), max_active})
    return max_active, budgets


def _header_lines(s: DataSurvey, config_path) -> list:
    """The config's opening comments: when and from what it was written, and the commands
    that run it."""
    run = Path(config_path).name
    return [
        f"# acefit config written by `acefit init` on {datetime.date.today()} from "
        f"{s.n_configs} configurations ({s.n_atoms} atoms).",
        "# Every key is in docs/config.md; each choice made from the data says why.",
        f"# Its size first: acefit fit {run} --plan        Then: acefit fit {run}",
        "",
    ]


def _data_lines(train: list, test: list, here: Path, facts: dict) -> list:
    """The ``data`` section's files (relative to the config's folder ``here``), validation
    split, energy choice and label keys, from :func:`starter_config`'s ``facts``."""
    missed, smeared = facts["validation_missed"], facts["energy_choice"]
    changed, others = facts["changed_keys"], facts["other_keys"]
    lines = [
        "data:",
        "  train: " + _flow(_relative(f, here) for f in train),
        "  test: " + (_flow(_relative(f, here) for f in test) if test else
                      "null    # a test file: test errors, and paired comparisons of models"),
    ]
    if missed:
        lines += [f"  # stratified: a random 10 % would hold none of {', '.join(map(_q, missed))}",
                  "  validation: {fraction: 0.1, seed: 0, stratify: true}    # seeded 10 % of "
                  "each config_type; selects checkpoints"]
    else:
        lines += ["  validation: {fraction: 0.1, seed: 0}    # seeded 10 % of train; selects "
                  "checkpoints"]
    if smeared:
        lines += [f"  # {smeared['note']}", f"  # {smeared['why']}"]
    if changed:
        lines += ["  # where the labels are in these files"
                  + "".join(f"; other {label} keys there: {', '.join(alt)}"
                            for label, alt in others.items() if alt),
                  "  keys: {" + ", ".join(f"{label}: {'null' if key is None else _q(key)}"
                                          for label, key in changed.items()) + "}"]
    return lines


def _stress_reading_lines(plan: _StressPlan) -> list:
    """``data.stress_reading`` of the groups the stress ``plan`` reads in another
    convention, and comments on the test files' groups it cannot weigh."""
    from acefit.consistency import MISS

    lines = []
    if plan.reread:
        lines += ["  # stresses that agree with their energies only when read in another convention"
                  " (remove to read them as labelled):"]
        test_only = plan.test_only
        lines += [f"  #   {_q(c.config_type)}{' (test files only)' * (c.config_type in test_only)}"
                  f": {c.bad} of {c.pairs} strain pairs miss ΔE by > "
                  f"{100 * MISS:.0f} %; with {c.reading_description}, {c.reading_bad} do"
                  for c in plan.reread.values()]
        common = {c.reading for c in plan.reread.values()}
        if set(plan.reread) == plan.groups and len(common) == 1:
            lines += ["  stress_reading: {default: " + common.pop() + "}"]
        else:
            lines += ["  stress_reading: {config_type: {" + ", ".join(
                f"{_q(group)}: {c.reading}" for group, c in plan.reread.items()) + "}}"]
    if plan.unfit_held:
        lines += ["  # stresses of the test files only that disagree with their energies (their "
                  "test errors measure the labels):"]
        lines += [f"  #   {_q(c.config_type)}: {c.bad} of {c.pairs} strain pairs miss ΔE by > "
                  f"{100 * MISS:.0f} %, and in no other convention tried" for c in plan.unfit_held]
    if plan.unchecked_held:
        lines += [f"  # stresses of the test files only not tested (no strain pairs), beside "
                  f"groups read as {', '.join(plan.converted)}:",
                  f"  #   {', '.join(map(_q, plan.unchecked_held))}; if they are in that "
                  "convention too, read them so (stress_reading) for their test errors"]
    return lines


def _weight_lines(s: DataSurvey, plan: _StressPlan) -> list:
    """``data.weights``: the default, and V 0 for the groups of the survey ``s`` whose
    stresses the stress ``plan`` does not fit, with the reasons and every group listed."""
    from acefit.consistency import MISS

    no_stress = plan.no_stress
    lines = ["  weights:"]
    if not s.labelled["stress"]:
        lines += ["    # no stresses in these files: V weighs nothing"]
    if plan.unfit:
        lines += ["    # stresses that disagree with their energies are not fitted (V 0):"]
        lines += [f"    #   {_q(c.config_type)}: {c.bad} of {c.pairs} strain pairs miss ΔE "
                  f"by > {100 * MISS:.0f} %, and in no other convention tried"
                  for c in plan.unfit.values()]
    if plan.unchecked:
        lines += [f"    # stresses not tested (no strain pairs) in files whose tested groups are "
                  f"read as {', '.join(plan.trained_converted)}: not fitted (V 0) in",
                  f"    #   {', '.join(map(_q, plan.unchecked))}; if they are in that convention "
                  "too, read them so (stress_reading) and fit them"]
    default_v0, overrides = _stress_weights(s.config_types, no_stress)
    lines += ["    default: {E: 30.0, F: 1.0, V: " + ("0.0}" if default_v0 else "1.0}")
              + ("    # also the configurations without a config_type"
                 if DEFAULT_CONFIG_TYPE in s.config_types and len(s.config_types) > 1 else "")]
    if len(s.config_types) > 1:
        lines += ["    # overrides per config_type; the groups in these files:"]
        width = max(len(_q(t)) for t in s.config_types)
        lines += [f"    #   {_q(group) + ':':<{width + 1}} {{E: 30.0, F: 1.0, "
                  f"V: {0.0 if group in no_stress else 1.0}}}    # {count} configurations"
                  for group, count in sorted(s.config_types.items(), key=lambda g: -g[1])
                  if group != DEFAULT_CONFIG_TYPE]
        lines += ["    config_type: {" + ", ".join(
            f"{_q(group)}: {{V: {0.0 if group in no_stress else 1.0}}}" for group in overrides)
            + "}"]
    return lines


def _stress_weights(config_types, no_stress: set) -> tuple[bool, list]:
    """Whether the default weight's V is 0, and the ``config_types`` given their own V,
    when the groups ``no_stress`` are not fitted."""
    # the frames without a config_type are weighted by the default, so when theirs are
    # not fitted the default is V 0 and the groups that are get V 1
    default_v0 = no_stress == set(config_types) or DEFAULT_CONFIG_TYPE in no_stress
    overrides = sorted(set(config_types) - no_stress - {DEFAULT_CONFIG_TYPE}) if default_v0 \
        else sorted(no_stress)
    return default_v0, overrides


def _e0_lines(s: DataSurvey, here: Path) -> list:
    """``data.e0``: the survey's isolated atoms when every element has one (named in the
    config's folder ``here``), else fitted."""
    if s.isolated and set(s.isolated) == set(s.elements):
        where = "; ".join(f"{e} {_relative_where(w, here)}" for e, (_, w) in s.isolated.items())
        return [f"  # the isolated atoms in these files: {where}",
                "  e0: {" + ", ".join(f"{e}: {s.isolated[e][0]!r}" for e in s.elements) + "}"]
    lines = []
    if s.isolated:
        lines += ["  # isolated atoms in these files for " + ", ".join(s.isolated)
                  + " only, so E0 is fitted for every element"]
    return lines + ["  e0: fit                                 # a reference energy per element, "
                    "fitted"]


def _basis_lines(s: DataSurvey, facts: dict, order: int, functions: int) -> list:
    """The ``basis`` section: elements, ``order``, and the total degree, cutoff and r0 of
    :func:`starter_config`'s ``facts`` with why (``functions``: the size asked for)."""
    cap, r0 = facts["most_functions"], facts["r0"]
    return [
        "",
        "basis:",
        "  elements: [" + ", ".join(s.elements) + "]",
        f"  order: {order}                                # up to {order + 1}-body terms",
        f"  # {facts['n_functions']} functions; `acefit init --functions N` aims at another size"
        + (f" (at most {cap} here: half of the training rows)" if functions > cap else ""),
        f"  totaldegree: {facts['totaldegree']}",
        ("  # the median nearest-neighbour distance in these files is "
         f"{s.nearest:.2f} Å; rcut is {RCUT_PER_NEAREST:g} times it, within "
         f"{RCUT_RANGE[0]:g}-{RCUT_RANGE[1]:g} Å"
         if math.isfinite(s.nearest) else
         f"  # no two atoms closer than {NEIGHBOUR_SEARCH:g} Å in these files"),
        f"  rcut: {facts['rcut']:.1f}",
        (f"  r0: {r0:.1f}                                 # distance-transform centre: "
         f"{R0_PER_NEAREST:g} x that distance" if r0 else
         "  # r0: each element pair's reference nearest-neighbour distance (the default)"),
        "",
    ]


def _repulsion_lines(repulsion: tuple | None, s: DataSurvey, here: Path) -> list:
    """The ``repulsion`` section of :func:`_core_repulsion`'s ``repulsion`` (none when
    None), its shortest distance named by pair (the survey ``s``) and configuration."""
    if not repulsion:
        return []
    inner, outer, dmin, where = repulsion
    return [
        "# ZBL core repulsion, to keep atoms apart in MD. It is zero from outer on, "
        "below the",
        f"# shortest distance in these files, {dmin:.2f} Å ({next(iter(s.shortest))}), "
        "so the fit is the one without it;",
        f"# that distance is in {_relative_where(where, here)}.",
        f"repulsion: {{kind: zbl, inner: {inner:.1f}, outer: {outer:.1f}}}",
        "",
    ]


def _run_lines(config_path, max_active: int, budgets: list) -> list:
    """The prior, solvers (paths to ``max_active``), selection (``budgets``), output
    (``runs/<the config's stem>``) and export sections."""
    return [
        "prior: {kind: algebraic, p: 4}          # smoothness prior: high degrees cost more",
        "",
        "solvers:",
        f"  - {{name: asp, max_active: {max_active}}}",
        f"  - {{name: omp, max_active: {max_active}}}",
        "  # Bayesian (BLR) on 8 nested sub-bases by prior cost, the largest last: stopped once",
        "  # two sizes in a row have not lowered the validation error (a fit costs O(size^3))",
        "  - {name: blr, sizes: 8, patience: 2}",
        "",
        "selection:",
        "  metric: loss                          # the weighted validation error",
        "  # per budget t, the best checkpoint of at most t functions",
        "  budgets: [" + ", ".join(str(b) for b in budgets) + "]",
        "",
        "output:",
        f"  directory: {_q('runs/' + Path(config_path).stem)}",
        "",
        "export:",
        "  formats: [acefit, yace]               # .h5 for ASE, .yace for LAMMPS ML-PACE",
        "  committee: 32                         # posterior draws in the .h5: energy_std, "
        "forces_std",
    ]


def _no_option(_label: str) -> None:
    """The ``option`` of :func:`acefit.data.read_configurations` for ``init``: called
    with a label as every option is, it names no option, since ``init`` reads the keys
    off the files (a frame without them is named with the keys it has)."""
    return None


def _relative_where(where: str, start: Path) -> str:
    """A configuration's ``where`` ("FILE, frame I") with FILE as the config gives it."""
    file, _, frame = where.rpartition(", frame ")
    return f"{_relative(file, start)}, frame {frame}" if file else where


def _flow(items) -> str:
    items = [_q(x) for x in items]
    return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"


def write_starter_config(path, train, *, test=(), functions: int = 2000, order: int = 3,
                         overwrite: bool = False) -> dict:
    """Write :func:`starter_config`'s config to ``path`` (atomically) after checking it
    with :func:`acefit.config.load_config`; returns its facts.

    Raises
    ------
    FileExistsError
        ``path`` exists and not ``overwrite``.
    """
    from acefit.atomic import atomic_path
    from acefit.config import load_config

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists (--force overwrites it)")
    text, facts = starter_config(train, test=test, config_path=path, functions=functions,
                                 order=order)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        load_config(tmp)            # the written text is a valid config, or nothing is written
    return facts
