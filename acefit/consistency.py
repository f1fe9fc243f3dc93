"""Do a data set's stresses agree with its energies?

Two labelled configurations of the same atoms, one a small homogeneous strain of the
other (an elastic series), are joined by the straight path t -> (h_a + t Δh, s_a + t Δs)
in cell h (rows are lattice vectors) and scaled positions s. Along it

    dE/dt = -Σ_i F_i · (Δs_i h) + V σ : (h⁻¹ Δh)

(σ tensile-positive, as ASE), and the trapezoid over the two ends' labels estimates
E_b − E_a to third order in the step; it is exact for a quadratic energy. Stresses that
were converted with the wrong sign, Voigt order or units miss ΔE by about as much as the
stress work itself; consistent ones miss by a few per cent (the cubic term) at strain
steps of a few per cent.

The miss of a pair is relative to the larger of its end derivatives and ΔE. On
consistent data (Zuo Mo and Si uniaxial series, EMT Cu and Al, Lennard-Jones Ar, the
quickstart) no pair of steps up to 5 % misses by more than 19 %; a stress in the wrong
convention misses by 30-190 % on a strain series. Pairs whose forces do most of the work
(variable-cell MD) test the forces rather than the stresses and are left out. A config_type's verdict is the share of its pairs that miss by more than
``MISS``. Where the labels miss, the same test is run on the stresses read in other
conventions (two shear components swapped, the opposite sign, GPa or kbar for eV/Å³), to
say what went wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from ase.stress import voigt_6_to_full_3x3_stress

from acefit.metrics import EV_PER_A3_TO_GPA

__all__ = ["StressCheck", "check_stresses", "strain_pairs", "pair_miss", "end_derivatives",
           "read_stresses", "reads_as_labelled", "StressReading", "STRESS_READINGS",
           "CONVERTER_READINGS", "converter_errors", "untested_beside_converters",
           "converter_text"]

MAX_STRAIN = 0.05      # largest |h_a⁻¹ h_b − 1| of a pair: the trapezoid needs small steps
MIN_STRAIN = 1e-4      # below this the cells are the same (an MD run at fixed volume)
MAX_SHIFT = 0.02       # largest change of a scaled coordinate (internal relaxation)
MIN_WORK = 1e-3        # eV per atom: pairs whose energy scale is below it are noise
FORCE_SHARE = 0.5      # a pair whose force work is more of its scale tests the forces
STILL = 1e-6           # scaled positions that moved less are at rest (rounding): no forces needed
PROBE = 8              # atoms whose shift ranks the candidates before the full comparison
MISS = 0.25            # a pair missing by more than this (relative) disagrees
CONSISTENT = 0.02      # at most this share of disagreeing pairs: the stresses agree
INCONSISTENT = 0.10    # at least this share: they do not
MIN_PAIRS = 3
MAX_PAIRS = 200        # per config_type: enough for a share, bounded cost
CANDIDATES = 20        # closest cells offered per frame
MAX_FRAMES = 2000      # per config_type, evenly spaced: the pair search is O(frames²)
                       # (0.5 s at 2000 frames, 5 s at 8000); elastic series are small


def _swap(i, j):
    def read(v):
        v = np.array(v, dtype=float)
        v[[i, j]] = v[[j, i]]
        return v
    return read


@dataclass(frozen=True)
class StressReading:
    """A way stresses get mislabelled: what went wrong, and the map of the labelled
    Voigt 6-vector (xx yy zz yz xz xy) to the stress in eV/Å³, tensile positive (each
    map of a swap or sign is its own inverse)."""

    description: str
    read: Callable[[np.ndarray], np.ndarray]

    def __call__(self, voigt) -> np.ndarray:
        return self.read(voigt)


# by their names in the config (data.stress_reading)
STRESS_READINGS = {
    "as_labelled": StressReading("as labelled", lambda v: np.asarray(v, dtype=float)),
    "swap_yz_xz": StressReading("yz and xz swapped", _swap(3, 4)),
    "swap_yz_xy": StressReading("yz and xy swapped", _swap(3, 5)),
    "swap_xz_xy": StressReading("xz and xy swapped", _swap(4, 5)),
    "negated": StressReading("the opposite sign", lambda v: -np.asarray(v, dtype=float)),
    "gpa": StressReading("the values in GPa (not eV/Å³)",
                         lambda v: np.asarray(v, dtype=float) / EV_PER_A3_TO_GPA),
    "kbar": StressReading("the values in kbar (not eV/Å³)",
                          lambda v: np.asarray(v, dtype=float) / (10 * EV_PER_A3_TO_GPA)),
    "kbar_negated": StressReading(
        "the values in kbar and the opposite sign (VASP's OUTCAR)",
        lambda v: -np.asarray(v, dtype=float) / (10 * EV_PER_A3_TO_GPA)),
}
AS_LABELLED = STRESS_READINGS["as_labelled"]
# errors of a converter (units, sign), so likely of every group it wrote, unlike a swap,
# which the Zuo Si data show in one series only
CONVERTER_READINGS = ("negated", "gpa", "kbar", "kbar_negated")


def reads_as_labelled(reading) -> bool:
    """Whether ``reading`` (a config's ``data.stress_reading``, or None) is the default,
    which reads every stress as labelled."""
    return not reading or reading == {"default": "as_labelled", "config_type": {}}


def describe_reading(name: str) -> str:
    """What the reading ``name`` says of the labels (a name it does not know, as it is:
    the reports of acefit 0.3 stored the description)."""
    return STRESS_READINGS[name].description if name in STRESS_READINGS else name


def read_stresses(configs, default: str = "as_labelled", config_type=None) -> list:
    """``configs`` (:class:`acefit.data.LabelledConfig`) with their stresses read as
    ``STRESS_READINGS[name]``: ``config_type`` maps a group to its reading's name,
    ``default`` names the reading of every other group. Configurations without a
    stress, or read as labelled, are returned as they are."""
    config_type = config_type or {}
    out = []
    for c in configs:
        name = config_type.get(c.config_type, default)
        if c.stress is None or name == "as_labelled":
            out.append(c)
        else:
            out.append(replace(c, stress=STRESS_READINGS[name](c.stress)))
    return out


def _end_parts(atoms, forces, stress, dh, ds) -> tuple[float, float]:
    """dE/dt at one end of the path (eV): the work of its forces, and of its stress (Voigt)."""
    h = atoms.cell.array
    force_work = 0.0 if forces is None else -float(np.sum(forces * (ds @ h)))
    stress_work = atoms.get_volume() * float(np.sum(voigt_6_to_full_3x3_stress(stress)
                                                    * np.linalg.solve(h, dh)))
    return force_work, stress_work


def _step(a, b):
    """Δh and the minimum-image Δs from configuration ``a`` to ``b``."""
    ds = b.atoms.get_scaled_positions(wrap=False) - a.atoms.get_scaled_positions(wrap=False)
    return b.atoms.cell.array - a.atoms.cell.array, ds - np.round(ds)


def end_derivatives(a, b, reading=AS_LABELLED) -> tuple[float, float]:
    """dE/dt (eV) at ``a`` and at ``b`` (:class:`acefit.data.LabelledConfig`) along the
    straight path from ``a`` to ``b``, from their forces and stresses (read through
    ``reading``); their mean is the trapezoid estimate of E_b − E_a."""
    dh, ds = _step(a, b)
    first, last = (sum(_end_parts(c.atoms, c.forces, reading(c.stress), dh, ds))
                   for c in (a, b))
    return first, last


def pair_miss(a, b, reading=AS_LABELLED) -> float | None:
    """Relative miss of the trapezoid estimate of E_b − E_a (:func:`end_derivatives`);
    None when the pair says little about the stresses: its energy scale is below
    ``MIN_WORK`` per atom, or the forces do more than ``FORCE_SHARE`` of it (as in a
    variable-cell MD run, where a stress error hides in the trapezoid's error of the
    forces' work)."""
    dh, ds = _step(a, b)
    parts = [_end_parts(c.atoms, c.forces, reading(c.stress), dh, ds) for c in (a, b)]
    ends = [sum(p) for p in parts]
    d_energy = b.energy - a.energy
    scale = max(abs(ends[0]), abs(ends[1]), abs(d_energy))
    if scale < MIN_WORK * a.n_atoms or max(abs(p[0]) for p in parts) > FORCE_SHARE * scale:
        return None
    return (d_energy - 0.5 * (ends[0] + ends[1])) / scale


def strain_pairs(configs, max_pairs: int = MAX_PAIRS) -> list[tuple[int, int]]:
    """Index pairs of periodic ``configs`` that are small homogeneous strains of each
    other: the same atoms in the same order, cells within ``MAX_STRAIN`` but not the
    same, scaled positions within ``MAX_SHIFT``; those whose atoms moved least first (a
    strain series before the frames of a variable-cell MD run), then the closest cells,
    at most ``max_pairs``. Each frame offers its ``CANDIDATES`` best partners, ranked on
    the shifts of ``PROBE`` atoms, so the cost stays near linear in the frames' atoms."""
    by_atoms = {}
    for k, c in enumerate(configs):
        by_atoms.setdefault(c.atoms.numbers.tobytes(), []).append(k)
    candidates = []
    for members in by_atoms.values():
        cells = np.array([configs[k].atoms.cell.array for k in members])
        inverse = np.linalg.inv(cells)
        probe = np.array([configs[k].atoms.get_scaled_positions(wrap=False)[:PROBE]
                          for k in members])
        for a in range(len(members) - 1):
            strain = np.abs(inverse[a] @ cells[a + 1:] - np.eye(3)).max(axis=(1, 2))
            near = np.flatnonzero((strain >= MIN_STRAIN) & (strain <= MAX_STRAIN))
            moved = probe[a + 1 + near] - probe[a]
            shift = np.abs(moved - np.round(moved)).max(axis=(1, 2), initial=0.0)
            near, shift = near[shift <= MAX_SHIFT], shift[shift <= MAX_SHIFT]
            best = np.lexsort((strain[near], shift))[:CANDIDATES]
            candidates += [(shift[b], strain[near[b]], members[a], members[a + 1 + near[b]])
                           for b in best]
    pairs = []
    for _, _, i, j in sorted(candidates)[:CANDIDATES * max_pairs]:
        _, ds = _step(configs[i], configs[j])
        if np.abs(ds).max() <= MAX_SHIFT:
            pairs.append((i, j))
            if len(pairs) == max_pairs:
                break
    return pairs


@dataclass(frozen=True)
class StressCheck:
    """The stresses of one config_type against its energies.

    Attributes
    ----------
    config_type : str
    pairs : int
        Strain pairs tested (those above the energy-scale floor).
    bad : int
        Pairs whose labels, as they are, miss by more than ``MISS``.
    examples : tuple of str
        Up to three of those pairs, by file and frame.
    reading : str or None
        Where the labels disagree: the name of the other reading (``STRESS_READINGS``)
        under which they agree, if one does.
    reading_bad : int
        Pairs that still miss under ``reading``.
    periodic : bool
        False: none of the group's frames with a stress is periodic in all three
        directions (slabs, pbc T T F), so it has no strain pairs to test.
    """

    config_type: str
    pairs: int
    bad: int = 0
    examples: tuple = ()
    reading: str | None = None
    reading_bad: int = 0
    periodic: bool = True

    @property
    def verdict(self) -> str:
        """``untested`` (fewer than ``MIN_PAIRS`` pairs), ``consistent``,
        ``inconsistent`` or ``unclear`` (between the two thresholds)."""
        if self.pairs < MIN_PAIRS:
            return "untested"
        return _verdict(self.bad, self.pairs)

    def summary(self) -> str:
        """Its verdict in a few words: ``Elastic inconsistent (71 of 200 pairs miss; with
        yz and xz swapped, 0)``."""
        return (f"{self.config_type} {self.verdict} ({self.bad} of {self.pairs} pairs miss"
                + (f"; with {self.reading_description}, {self.reading_bad})"
                   if self.reading else ")"))

    @property
    def reading_description(self) -> str | None:
        """What ``reading`` says went wrong: ``yz and xz swapped``."""
        return describe_reading(self.reading) if self.reading else None

    @property
    def reading_setting(self) -> str | None:
        """The config setting that reads this group's stresses so, as YAML."""
        if not self.reading:
            return None
        group = json.dumps(self.config_type)
        return f"data.stress_reading: {{config_type: {{{group}: {self.reading}}}}}"

    def describe(self) -> str:
        """One line for a person: what was tested and what it found."""
        if not self.periodic:
            return (f"{self.config_type}: stresses not tested ({NOT_PERIODIC})")
        if self.verdict == "untested":
            return (f"{self.config_type}: stresses not tested ({self.pairs} strain pairs "
                    f"whose forces do less than half the work; needs {MIN_PAIRS})")
        text = (f"{self.config_type}: stresses {self.verdict} with the energies: "
                f"{self.bad} of {self.pairs} strain pairs miss ΔE by more than "
                f"{100 * MISS:.0f} %")
        if self.examples:
            text += f" (e.g. {'; '.join(self.examples[:1])})"
        if self.reading:
            text += (f"; with {self.reading_description}, {self.reading_bad} do: check how "
                     f"these stresses were converted, or read them so ({self.reading_setting})")
        return text


NOT_PERIODIC = "frames not periodic in all three directions, such as slabs"
"""Why a group with stresses has no :class:`StressCheck` pairs: strain pairs need cells
periodic in all three directions."""


def _verdict(bad: int, pairs: int) -> str:
    if bad <= CONSISTENT * pairs:
        return "consistent"
    return "inconsistent" if bad >= INCONSISTENT * pairs else "unclear"


def _misses(configs, pairs, reading) -> list:
    """(miss, i, j) of the pairs above the energy-scale floor."""
    out = []
    for i, j in pairs:
        miss = pair_miss(configs[i], configs[j], reading)
        if miss is not None:
            out.append((abs(miss), i, j))
    return out


def file_order(configs) -> list:
    """``configs`` by file, in the order their files first appear, and by frame index
    within a file: a random validation split takes frames out of the training files'
    order, and the first ``MAX_PAIRS`` strain pairs of a group depend on the frames' order
    where candidates tie (a strain series whose atoms do not move)."""
    rank = {}
    for c in configs:
        rank.setdefault(c.source, len(rank))
    return sorted(configs, key=lambda c: (rank[c.source], c.index))


def check_stresses(configs) -> list[StressCheck]:
    """:class:`StressCheck` of every config_type of ``configs``
    (:class:`acefit.data.LabelledConfig`) with frames that carry an energy and a stress,
    sorted by config_type: tested on those periodic in all three directions (a group with
    none, such as slabs, is untested, ``periodic`` False). Forces enter where scaled
    positions change; a frame without forces is used only where they do not. A group of more than
    ``MAX_FRAMES`` frames is checked on that many, evenly spaced. A structure given more
    than once (a training file that is the test file too) is checked once. The frames
    are taken in file order (:func:`file_order`), so that the same frames give the same
    pairs however the caller arranged them (``acefit init``'s training and test files,
    the fit's training, validation and test sets)."""
    from acefit.data import repeated_structures

    labelled = file_order([c for c in configs if c.energy is not None and c.stress is not None])
    usable = [c for c in labelled if c.atoms.pbc.all()]
    # a repeat would pair with its original's partners, counting their pairs again
    repeats = {k for k, _ in repeated_structures(usable)}
    groups = {}
    for k, c in enumerate(usable):
        if k not in repeats:
            groups.setdefault(c.config_type, []).append(c)
    checks = []
    for config_type, group in sorted(groups.items()):
        group = group[::-(-len(group) // MAX_FRAMES)]
        pairs = [(i, j) for i, j in strain_pairs(group)
                 if (group[i].forces is not None and group[j].forces is not None)
                 or np.abs(_step(group[i], group[j])[1]).max() < STILL]
        misses = _misses(group, pairs, AS_LABELLED)
        bad = sorted((m for m in misses if m[0] > MISS), reverse=True)
        check = StressCheck(config_type, len(misses), len(bad), tuple(
            f"{group[i].where} to frame {group[j].index}: {100 * m:.0f} %"
            for m, i, j in bad[:3]))
        if check.verdict == "inconsistent":
            others = {name: sum(m > MISS for m, _, _ in _misses(group, pairs, read))
                      for name, read in STRESS_READINGS.items() if name != "as_labelled"}
            name = min(others, key=others.get)
            if _verdict(others[name], len(misses)) == "consistent":
                check = replace(check, reading=name, reading_bad=others[name])
        checks.append(check)
    # named, not left out: "not tested" must list every group whose stresses are not
    slabs = {c.config_type for c in labelled} - set(groups)
    checks += [StressCheck(config_type, 0, periodic=False) for config_type in slabs]
    return sorted(checks, key=lambda check: check.config_type)


def converter_errors(checks, readings=None) -> dict:
    """Where ``checks`` (:class:`StressCheck`) show a converter's error of sign or units
    (:data:`CONVERTER_READINGS`): config_type -> reading, of the groups read in one
    (``readings``, a config's ``data.stress_reading``: it was found before) and of those
    that agree with their energies only in one."""
    readings = readings or {"default": "as_labelled", "config_type": {}}
    found = {}
    for check in checks:
        reading = readings["config_type"].get(check.config_type, readings["default"])
        if reading not in CONVERTER_READINGS and check.verdict == "inconsistent":
            reading = check.reading
        if reading in CONVERTER_READINGS:
            found[check.config_type] = reading
    return found


def untested_beside_converters(checks, readings=None, found=None) -> list[str]:
    """The config_types of ``checks`` whose stresses no strain pair tested, read as
    labelled (``readings``), when a converter's error was found in others
    (:func:`converter_errors`, and ``found``: more of the same, config_type -> reading):
    the same error would go unseen in them (1602x for kbar, the opposite sign). None
    without such an error: an untested stress is no doubt by itself."""
    readings = readings or {"default": "as_labelled", "config_type": {}}
    if not {**converter_errors(checks, readings), **(found or {})}:
        return []
    return [check.config_type for check in checks if check.verdict == "untested"
            and readings["config_type"].get(check.config_type, readings["default"])
            == "as_labelled"]


def converter_text(found: dict) -> str:
    """``found`` (:func:`converter_errors`) in words: ``strain (the opposite sign)``."""
    return "; ".join(f"{group} ({describe_reading(reading)})"
                     for group, reading in sorted(found.items()))

