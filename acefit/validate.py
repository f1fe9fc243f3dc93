"""Validation of a potential in molecular dynamics and on cubic-crystal properties.

``validate(calc_or_potential, configs, settings)`` runs

* NVT Langevin stability runs (every start configuration x temperature x time step),
  each reported stable or unstable with the reason: ``"min_distance"`` (two atoms
  closer than ``min_distance``), ``"energy_blowup"`` (potential energy per atom rose
  more than ``energy_blowup`` eV/atom above its start), or ``"non_finite"``;
* NVE runs with the energy drift per atom per ps (slope of a linear fit of the total
  energy per atom against time) and the largest deviation (none for a single atom, at
  rest once its centre-of-mass motion is removed: reported as skipped, with the reason);
* for cubic elements (fcc, bcc, diamond, sc): equilibrium lattice constant, C11, C12,
  C44 (``matscipy.elasticity.fit_elastic_constants``), relaxed vacancy formation
  energy and (100)/(110)/(111) surface energies, each next to a reference value
  when the caller supplies one;
* the short range, closer than training data usually go: every dimer's energy from
  0.5 to 3 Å (does it rise at every step inwards from its lowest point, or does it
  fall again: a potential that binds atoms on top of each other), and each cubic
  crystal compressed to 60-90 % of its lattice constant (above its equilibrium
  energy, or below: collapse under pressure).

Results: :class:`ValidationReport` with ``to_markdown()``, ``to_dict()`` and
``to_json(path)``. Long runs show a tqdm progress bar.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path

import numpy as np
from ase import units
from ase.data import atomic_numbers, reference_states

from acefit.atomic import json_ready, json_text, write_text
from acefit.basis.neighbours import shortest_distance
from acefit.data import check_atoms, check_potential_elements
from acefit.elements import pair_name
from acefit.formatting import number
from acefit.query import committee_deviation

__all__ = ["ValidationSettings", "ValidationReport", "validate", "crystal_properties",
           "dimer_curve", "dimer_check", "dimer_checks", "compression_check", "PROPERTY_KEYS",
           "CUBIC_STRUCTURES", "REPORT_FILES", "DIMER_DISTANCES", "COMPRESSION_SCALES", "NEAREST_NEIGHBOUR",
           "separated_atoms_note"]

REPORT_FILES = {"md": "validation.md", "json": "validation.json"}
"""What ``acefit validate`` writes beside the potential it checks (in a run directory,
where ``acefit fit --force`` sets them aside with the potential they describe)."""

CUBIC_STRUCTURES = ("fcc", "bcc", "diamond", "sc")
#: property keys (units in the name); reference values use the same keys
PROPERTY_KEYS = ("a0_A", "C11_GPa", "C12_GPa", "C44_GPa", "E_vac_eV",
                 "gamma_100_J_m2", "gamma_110_J_m2", "gamma_111_J_m2")
_EV_A2_TO_J_M2 = units._e * 1e20
DIMER_DISTANCES = tuple(round(0.5 + 0.05 * k, 2) for k in range(51))  # 0.5 ... 3.0 Å
COMPRESSION_SCALES = (0.6, 0.7, 0.8, 0.9)
#: nearest-neighbour distance of each cubic structure per unit lattice constant
NEAREST_NEIGHBOUR = {"fcc": 0.5 ** 0.5, "bcc": 0.75 ** 0.5, "diamond": 0.1875 ** 0.5, "sc": 1.0}
#: nearest neighbours of an atom in each cubic structure
COORDINATION = {"fcc": 12, "bcc": 8, "diamond": 4, "sc": 6}


@dataclass
class ValidationSettings:
    """Settings of :func:`validate` (all keys optional; the CLI maps YAML keys 1:1).

    Attributes
    ----------
    temperatures : list of float
        NVT temperatures (K).
    md_steps : int
        Steps per NVT run.
    timesteps : list of float
        NVT time steps (fs); every (config, T, dt) combination is run.
    friction : float
        Langevin friction (1/fs).
    min_distance : float
        Instability threshold on the smallest interatomic distance (Å).
    energy_blowup : float
        Instability threshold on the rise of potential energy per atom above the
        start value (eV/atom).
    check_every : int
        Stability checks every this many steps.
    nve_steps : int
        Steps per NVE run (0 disables NVE).
    nve_timestep : float
        NVE time step (fs).
    nve_temperature : float
        Initial Maxwell-Boltzmann temperature of NVE runs (K).
    max_md_configs : int or None
        Use at most this many start configurations, evenly spread over the list.
    min_atoms : int
        Start configurations smaller than this are repeated (supercells) until they
        have at least this many atoms.
    crystals : dict or None
        ``{"Cu": {"structure": "fcc", "a": 3.6}}``; elements of the potential not
        listed use ``ase.data.reference_states`` when that is cubic. ``{}`` or
        ``properties: false`` skips properties.
    properties : bool
        Compute crystal properties.
    reference : dict
        ``{"Cu": {"a0_A": 3.61, "C11_GPa": 170, ...}}``, each value shown beside the
        computed one, with keys from :data:`PROPERTY_KEYS`.
    vacancy_repeat : int
        Vacancy supercell: repeat of the conventional cubic cell.
    surface_layers : int
        Layers of the surface slabs (``ase.build.surface``).
    vacuum : float
        Vacuum on each side of the slabs (Å).
    relax_fmax : float
        Force tolerance of position relaxations (eV/Å).
    elastic_delta : float
        Strain increment of the elastic-constant fit.
    short_range : bool
        Dimer curves of every element pair and compressed cubic crystals.
    seed : int
        Seed of the MD's random numbers (initial velocities, Langevin noise).
    progress : bool
        Show tqdm progress bars (``acefit validate``: when stderr is a terminal, unless
        ``--no-progress``).
    """

    temperatures: list = field(default_factory=lambda: [300.0])
    md_steps: int = 1000
    timesteps: list = field(default_factory=lambda: [1.0])
    friction: float = 0.01
    min_distance: float = 1.0
    energy_blowup: float = 1.0
    check_every: int = 10
    nve_steps: int = 1000
    nve_timestep: float = 1.0
    nve_temperature: float = 300.0
    max_md_configs: int | None = 3
    min_atoms: int = 32
    crystals: dict | None = None
    properties: bool = True
    reference: dict = field(default_factory=dict)
    vacancy_repeat: int = 3
    surface_layers: int = 6
    vacuum: float = 8.0
    relax_fmax: float = 1e-3
    elastic_delta: float = 5e-3
    short_range: bool = True
    seed: int = 0
    progress: bool = True

    @classmethod
    def from_dict(cls, d):
        """Settings from a plain dict; an unknown key raises ValueError naming it (with
        the allowed key it is closest to) and every allowed key."""
        from acefit.config import close_match

        d = dict(d or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(known), key=str)
        if unknown:
            named = ", ".join(f"{k!r}{close_match(k, known)}" for k in unknown)
            raise ValueError(f"unknown validation setting{'s' * (len(unknown) > 1)} {named}; "
                             f"allowed: {', '.join(known)}")
        s = cls(**d)
        s.check()
        return s

    def check(self):
        def number(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        def positive(name, allow_zero=False):
            v = getattr(self, name)
            if not number(v) or not (v >= 0 if allow_zero else v > 0):
                raise ValueError(f"validation setting {name} must be a "
                                 f"{'non-negative' if allow_zero else 'positive'} number, "
                                 f"got {v!r}")

        def integer(name, low, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ValueError(f"validation setting {name} must be an integer >= {low}"
                                 f"{' or null' if allow_none else ''}, got {v!r}")

        for name in ("friction", "min_distance", "energy_blowup", "nve_timestep",
                     "vacuum", "relax_fmax", "elastic_delta"):
            positive(name)
        positive("nve_temperature", allow_zero=True)
        for name in ("md_steps", "nve_steps", "seed"):
            integer(name, 0)
        for name in ("check_every", "vacancy_repeat", "surface_layers", "min_atoms"):
            integer(name, 1)
        integer("max_md_configs", 1, allow_none=True)
        for name in ("properties", "short_range", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"validation setting {name} must be true or false, got "
                                 f"{getattr(self, name)!r}")
        if self.crystals is not None:
            if not isinstance(self.crystals, dict):
                raise ValueError(f"validation setting crystals must be a mapping of element "
                                 f"to {{structure, a}}, got {self.crystals!r}")
            for el, spec in self.crystals.items():
                if not isinstance(spec, dict) or set(spec) - {"structure", "a"} \
                        or spec.get("structure") not in CUBIC_STRUCTURES \
                        or not number(spec.get("a")) or spec["a"] <= 0:
                    raise ValueError(f"crystals[{el!r}] must be {{structure: one of "
                                     f"{list(CUBIC_STRUCTURES)}, a: lattice constant guess "
                                     f"> 0 (Å)}}, got {spec!r}")
        for name in ("temperatures", "timesteps"):
            vals = getattr(self, name)
            if isinstance(vals, (int, float)):
                vals = [vals]
                setattr(self, name, vals)
            if not isinstance(vals, list) or not vals or any(not number(v) or v < 0
                                                               for v in vals):
                raise ValueError(f"validation setting {name} must be a non-empty list of "
                                 f"non-negative numbers, got {vals!r}")
        if any(v <= 0 for v in self.timesteps):
            raise ValueError(f"timesteps must be positive, got {self.timesteps!r}")
        for el, ref in (self.reference or {}).items():
            bad = sorted(set(ref) - set(PROPERTY_KEYS))
            if bad:
                raise ValueError(f"reference[{el!r}] has unknown keys {bad}; allowed: "
                                 f"{list(PROPERTY_KEYS)}")
        return self


@dataclass
class ValidationReport:
    """Results of :func:`validate`."""

    md: list = field(default_factory=list)
    nve: list = field(default_factory=list)
    properties: dict = field(default_factory=dict)
    dimers: list = field(default_factory=list)
    compression: list = field(default_factory=list)
    not_compressed: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    # the potential's elements whose separated-atom energy no free atom pins (its metadata's
    # record, acefit.fit_settings.separated_atoms): its dimers' absolute E mean nothing
    separated_atoms: dict | None = None
    potential: str = ""     # what was validated: a file, or a calculator's class
    date: str = ""          # when, UTC

    @property
    def all_stable(self):
        return all(r["stable"] for r in self.md)

    @property
    def short_range_ok(self):
        """Every dimer has a repulsive core and no compressed crystal collapses (None when
        the short range was not checked)."""
        if not self.dimers and not self.compression:
            return None
        return all(r["repulsive_core"] for r in self.dimers) and \
            all(r["holds"] for r in self.compression)

    def to_dict(self):
        return json_ready(asdict(self))

    def to_json(self, path=None):
        """JSON text; also written atomically to ``path`` when given."""
        text = json_text(self.to_dict(), indent=2)
        if path is not None:
            write_text(Path(path), text)
        return text

    def to_markdown(self):
        out = [f"# Validation of `{self.potential or 'a potential'}`", "",
               f"Validated {self.date or '(no date)'}; settings: "
               f"{_settings_text(self.settings)}.", ""]
        if not self.md and not self.nve:
            out += ["No MD: no start structures were given (`acefit validate POTENTIAL "
                    "--structures FILE` runs NVT and NVE from the frames of FILE).", ""]
        if self.md:
            sd = any("max_energy_sd_meV_atom" in r for r in self.md)
            out += ["### NVT stability", "",
                    "| config | atoms | T (K) | dt (fs) | steps | stable | reason | "
                    "min dist (Å) | max ΔE (eV/atom) |"
                    + (" max E SD (meV/atom) | max F SD (eV/Å) |" if sd else ""),
                    "|---|---|---|---|---|---|---|---|---|" + ("---|---|" if sd else "")]
            for r in self.md:
                out.append(f"| {r['config']} | {r['n_atoms']} | {r['temperature']:g} | "
                           f"{r['timestep']:g} | {r['steps_done']}/{r['steps']} | "
                           f"{'yes' if r['stable'] else 'NO'} | {r['reason'] or ''} | "
                           f"{_fmt(r['min_distance'])} | {_fmt(r['max_energy_rise'])} |"
                           + (f" {_fmt(r.get('max_energy_sd_meV_atom'))} | "
                              f"{_fmt(r.get('max_force_sd_eV_A'))} |" if sd else ""))
            if sd:
                out += ["", "max E SD: the largest energy spread of the potential's "
                            "committee at the checks of the run, per atom; max F SD: the "
                            "largest spread of an atom's force (the root of the summed "
                            "variances of its three components, the force deviation active "
                            "learning thresholds). A value far above that of the test set "
                            "marks a run that left the training data."]
            out.append("")
        if self.nve:
            out += ["### NVE energy drift", "",
                    "| config | atoms | dt (fs) | length (ps) | drift (meV/atom/ps) | "
                    "max abs ΔE (meV/atom) | stable |",
                    "|---|---|---|---|---|---|---|"]
            for r in self.nve:
                if r["stable"] is None:     # not run
                    out.append(f"| {r['config']} | {r['n_atoms']} | {r['timestep']:g} | - | "
                               f"- | - | skipped: {r['reason']} |")
                    continue
                out.append(f"| {r['config']} | {r['n_atoms']} | {r['timestep']:g} | "
                           f"{_fmt(r['length_ps'])} | {_fmt(1e3 * r['drift_eV_atom_ps'])} | "
                           f"{_fmt(1e3 * r['max_deviation_eV_atom'])} | "
                           f"{'yes' if r['stable'] else 'NO: ' + str(r['reason'])} |")
            out.append("")
        if self.dimers:
            out += ["### Dimers (0.5-3 Å)", "",
                    "| pair | lowest E (eV) | at r (Å) | E(0.5 Å) (eV) | rises inwards below (Å) | "
                    "repulsive core |", "|---|---|---|---|---|---|"]
            for r in self.dimers:
                wall = r["rises_inwards_from_A"]
                out.append(f"| {r['pair']} | {_fmt(r['lowest_eV'])} | {_fmt(r['lowest_at_A'])} | "
                           f"{_fmt(r['shortest_eV'])} | {'-' if wall is None else _fmt(wall)} | "
                           f"{'yes' if r['repulsive_core'] else 'NO'} |")
            out += ["", "E relative to the separated atoms. A repulsive core rises at every "
                        "0.05 Å step inwards from the lowest point down to 0.5 Å, and that "
                        "point is no closer than 0.55 of the sum of covalent radii."
                    + (f" {separated_atoms_note(self.separated_atoms)}"
                       if self.separated_atoms else ""), ""]
        if self.compression:
            scales = self.compression[0]["scales"]
            out += ["### Compressed crystals", "",
                    "| crystal | a (Å) | " + " | ".join(f"E({s:g} a) - E(a)" for s in scales)
                    + " | holds |", "|---|---|" + "---|" * len(scales) + "---|"]
            for r in self.compression:
                out.append(f"| {r['element']} {r['structure']} | {_fmt(r['a_A'])} | "
                           + " | ".join(_fmt(e) for e in r["energies_eV_atom"])
                           + f" | {'yes' if r['holds'] else 'NO'} |")
            out += ["", "eV/atom, from the potential's equilibrium lattice constant a. A "
                        "crystal holds when no compression lowers its energy and each costs "
                        "at least as much as a milder one.", ""]
        if self.not_compressed:
            out += [f"Not compressed (no cubic reference crystal; give one in `crystals`): "
                    f"{', '.join(self.not_compressed)}.", ""]
        for el, props in self.properties.items():
            out += [f"### {el} ({props.get('structure', '')})", "",
                    "| property | acefit | reference | error |", "|---|---|---|---|"]
            ref = props.get("reference", {})
            if "error" in props:
                out += [f"| (none) | {props['error']} | | |", ""]
                continue
            for key in PROPERTY_KEYS:
                if key not in props:
                    continue
                val, rv = props[key], ref.get(key)
                err = "" if rv is None else f"{_fmt(val - rv)} ({_fmt(100 * (val - rv) / rv)} %)"
                out.append(f"| {key} | {_fmt(val)} | {'' if rv is None else _fmt(rv)} | {err} |")
            out.append("")
        return "\n".join(out)


def _settings_text(settings: dict) -> str:
    """The settings (:class:`ValidationSettings`, as a dict) that differ from the
    defaults, as text (the MD ones too where no MD ran: they are what was asked for)."""
    default = asdict(ValidationSettings())
    changed = [f"{key} {value}" for key, value in settings.items()
               if key != "progress" and key in default and value != default[key]]
    return ("the defaults" if not changed else
            "the defaults but " + ", ".join(changed)) + " (validation.json lists them all)"


def _fmt(x):
    # NaN and inf as such (an MD that blew up); None as "None", as it always printed
    return number(x, ".4g", missing="None", keep_nan=True)


def _as_calculator(obj):
    from ase.calculators.calculator import BaseCalculator

    if isinstance(obj, BaseCalculator):
        return obj
    from acefit.calculator import ACECalculator

    from acefit.potential import Potential

    if isinstance(obj, (str, PathLike, Potential)):
        return ACECalculator(obj)
    raise ValueError("validate needs an ASE calculator, an acefit.Potential or the path of a "
                     f"potential file, got {type(obj).__name__}")


def _progress(total, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)


def _prepare(atoms, min_atoms):
    atoms = atoms.copy()
    atoms.calc = None
    if len(atoms) < min_atoms and atoms.pbc.any():
        reps = [1, 1, 1]
        while len(atoms) * np.prod(reps) < min_atoms:
            k = min((i for i in range(3) if atoms.pbc[i]),
                    key=lambda i: reps[i] * np.linalg.norm(atoms.cell[i]))
            reps[k] += 1
        atoms = atoms.repeat(reps)
    return atoms


# --------------------------------------------------------------------------- MD
def _committee_of(calc):
    """The potential of an acefit calculator whose potential has a committee, else None."""
    pot = getattr(calc, "potential", None)
    return pot if getattr(pot, "committee", None) is not None else None


def _md_run(atoms, calc, dyn_factory, steps, s: ValidationSettings, bar, track_total=False):
    """Run ``steps`` MD steps with periodic checks; returns a result dict (with a
    committee, also the largest energy SD per atom, in meV/atom, and the largest atomic
    force SD, in eV/Å, met at a check: how far the run went from the training data)."""
    atoms.calc = calc
    n = len(atoms)
    reason, steps_done = None, 0
    try:
        e_start = atoms.get_potential_energy() / n
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        # the start structure itself (validate refuses the structures check_atoms does;
        # a calculator may still fail on others), before any MD step
        return {"stable": False, "reason": f"start not evaluable ({type(exc).__name__}: "
                                           f"{exc})"[:160], "steps_done": 0,
                "min_distance": math.nan, "max_energy_rise": math.nan, "energies": []}
    committee = _committee_of(calc)
    sd = [committee_deviation(atoms, committee)] if committee is not None else []
    dmin = shortest_distance(atoms, 3.0 * s.min_distance)
    max_rise = 0.0
    totals = [(0.0, atoms.get_total_energy() / n)] if track_total else []
    dyn = dyn_factory(atoms)
    while steps_done < steps:
        chunk = min(s.check_every, steps - steps_done)
        try:
            with np.errstate(all="ignore"):
                dyn.run(chunk)
            steps_done += chunk
            bar.update(chunk)
            epot = atoms.get_potential_energy() / n
            finite = (np.isfinite(epot) and np.all(np.isfinite(atoms.positions))
                      and np.all(np.isfinite(atoms.get_forces())))
        except Exception as exc:  # noqa: BLE001 - e.g. neighbour list overflow
            reason = f"non_finite ({type(exc).__name__}: {exc})"[:120]
            break
        if not finite:
            reason = "non_finite"
            break
        dmin = min(dmin, shortest_distance(atoms, 3.0 * s.min_distance))
        max_rise = max(max_rise, epot - e_start)
        if committee is not None:
            sd.append(committee_deviation(atoms, committee))
        if track_total:
            totals.append((dyn.get_time() / (1000 * units.fs), atoms.get_total_energy() / n))
        if dmin < s.min_distance:
            reason = "min_distance"
            break
        if epot - e_start > s.energy_blowup:
            reason = "energy_blowup"
            break
    bar.update(steps - steps_done)
    out = {"stable": reason is None, "reason": reason, "steps_done": steps_done,
           "min_distance": dmin, "max_energy_rise": max_rise, "energies": totals}
    if sd:
        out["max_energy_sd_meV_atom"] = max(e for e, _ in sd)
        out["max_force_sd_eV_A"] = max(f for _, f in sd)
    return out


def _thermalize(atoms, temperature, rng):
    try:  # ASE >= 3.29
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    thermalize_momenta(atoms, temperature_K=temperature, rng=rng)


def _nvt(atoms, calc, T, dt, s, rng, bar):
    from ase.md.langevin import Langevin

    _thermalize(atoms, T, rng)
    factory = lambda a: Langevin(a, timestep=dt * units.fs, temperature_K=T,  # noqa: E731
                                 friction=s.friction / units.fs, fixcm=False,
                                 rng=rng)
    return _md_run(atoms, calc, factory, s.md_steps, s, bar)


_ONE_ATOM = ("one atom: at rest once its centre-of-mass motion is removed, it has no "
             "motion to integrate")
"""Why a start structure of one atom gets no NVE run (its momentum, removed, left ASE's
Maxwell-Boltzmann rescaling dividing by zero: a 'non_finite' run)."""


def _not_run(reason, steps, bar):
    """The result of an MD run not made: ``stable`` None, with the reason."""
    bar.update(steps)
    return {"stable": None, "reason": reason, "steps_done": 0, "min_distance": math.nan,
            "max_energy_rise": math.nan, "drift_eV_atom_ps": math.nan,
            "max_deviation_eV_atom": math.nan, "length_ps": 0.0}


def _nve(atoms, calc, s, rng, bar):
    from ase.md.velocitydistribution import Stationary
    from ase.md.verlet import VelocityVerlet

    _thermalize(atoms, s.nve_temperature, rng)
    Stationary(atoms)
    factory = lambda a: VelocityVerlet(a, timestep=s.nve_timestep * units.fs)  # noqa: E731
    res = _md_run(atoms, calc, factory, s.nve_steps, s, bar, track_total=True)
    t, e = np.array(res["energies"]).T if res["energies"] else (np.zeros(0), np.zeros(0))
    drift = float(np.polyfit(t, e, 1)[0]) if len(t) > 2 else math.nan
    dev = float(np.max(np.abs(e - e[0]))) if len(e) else math.nan
    res.update(drift_eV_atom_ps=drift, max_deviation_eV_atom=dev,
               length_ps=float(t[-1]) if len(t) else 0.0)
    del res["energies"]
    return res


# ------------------------------------------------------------------- properties
def _bulk(symbol, structure, a):
    from ase.build import bulk

    return bulk(symbol, structure, a=a, cubic=True)


def _relax(atoms, fmax, steps=500):
    from ase.optimize import BFGS

    if len(atoms) > 1:
        BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
    return atoms.get_potential_energy()


def _energy_per_atom(calc, symbol, structure, a):
    atoms = _bulk(symbol, structure, a)
    atoms.calc = calc
    return atoms.get_potential_energy() / len(atoms)


def _lattice_constant(symbol, structure, a_guess, calc):
    from scipy.optimize import minimize_scalar

    def energy(a):
        return _energy_per_atom(calc, symbol, structure, a)

    lo, hi = 0.85 * a_guess, 1.15 * a_guess
    res = minimize_scalar(energy, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-7 * a_guess})
    if not lo * 1.001 < res.x < hi * 0.999:
        raise RuntimeError(f"{symbol}: no energy minimum within ±15 % of a = {a_guess} Å")
    return float(res.x), float(res.fun)


def crystal_properties(calc, symbol, structure, a_guess, s: ValidationSettings | None = None):
    """Lattice constant, cubic elastic constants, vacancy and surface energies.

    Parameters
    ----------
    calc : ase calculator
    symbol : str
    structure : {"fcc", "bcc", "diamond", "sc"}
    a_guess : float
        Starting lattice constant (Å); the minimum is searched within ±15 %.
    s : ValidationSettings, optional

    Returns
    -------
    dict
        Keys of :data:`PROPERTY_KEYS` plus ``"structure"`` and ``"E_coh_eV"``
        (energy per atom of the bulk, E0 included).
    """
    from ase.build import surface
    from matscipy.elasticity import fit_elastic_constants

    s = s or ValidationSettings()
    if structure not in CUBIC_STRUCTURES:
        raise ValueError(f"{symbol}: structure must be one of {CUBIC_STRUCTURES}, "
                         f"got {structure!r}")
    a0, e_bulk = _lattice_constant(symbol, structure, a_guess, calc)
    out = {"structure": structure, "a0_A": a0, "E_coh_eV": e_bulk}

    unit = _bulk(symbol, structure, a0)
    unit.calc = calc
    optimizer = None
    if structure == "diamond":  # internal relaxation matters for C11-C12, C44
        from ase.optimize import BFGS as optimizer
    kwargs = {"fmax": s.relax_fmax} if optimizer else {}
    C, _ = fit_elastic_constants(unit, symmetry="cubic", N_steps=5, delta=s.elastic_delta,
                                 optimizer=optimizer, verbose=False, **kwargs)
    out.update(C11_GPa=float(C[0, 0] / units.GPa), C12_GPa=float(C[0, 1] / units.GPa),
               C44_GPa=float(C[3, 3] / units.GPa))

    sc = _bulk(symbol, structure, a0).repeat(s.vacancy_repeat)
    n = len(sc)
    sc.calc = calc
    e_perfect = sc.get_potential_energy()
    del sc[0]
    sc.calc = calc
    e_vac = _relax(sc, s.relax_fmax)
    out["E_vac_eV"] = float(e_vac - (n - 1) / n * e_perfect)

    for hkl in ((1, 0, 0), (1, 1, 0), (1, 1, 1)):
        slab = surface(_bulk(symbol, structure, a0), hkl, s.surface_layers, vacuum=s.vacuum,
                       periodic=True)
        slab.calc = calc
        e_slab = _relax(slab, s.relax_fmax)
        area = np.linalg.norm(np.cross(slab.cell[0], slab.cell[1]))
        gamma = (e_slab - len(slab) * e_bulk) / (2.0 * area)
        out[f"gamma_{''.join(map(str, hkl))}_J_m2"] = float(gamma * _EV_A2_TO_J_M2)
    return out


# ------------------------------------------------------------------ short range
def dimer_curve(calc, a, b, distances=DIMER_DISTANCES):
    """Energy (eV) of an isolated a-b dimer at each distance, relative to far apart."""
    def energy(r):
        from ase import Atoms

        atoms = Atoms([a, b], positions=[[0.0, 0.0, 0.0], [0.0, 0.0, r]])
        atoms.calc = calc
        return atoms.get_potential_energy()

    cutoff = float(getattr(getattr(calc, "potential", None), "cutoff", 10.0))
    far = energy(2.0 * cutoff + 10.0)
    return np.array([energy(r) - far for r in distances])


def separated_atoms_note(record) -> str:
    """What a record of :func:`acefit.fit_settings.separated_atoms` (the elements whose
    separated-atom energy no free atom pins) means for the energies relative to the
    separated atoms, as one sentence; "" for None."""
    if not record:
        return ""
    names = ", ".join(record["elements"])
    e0 = ("fitted (the mean energy per atom over the training compositions)"
          if record["e0"] == "fit" else
          "zero (the labels' zero, a free atom's energy only if the labels are measured "
          "from the free atoms)")
    return (f"The separated atoms' energy of {names} is not constrained by the data: E0 "
            f"is {e0}, and no isolated-atom frame pins it (one in the training data, with "
            "basis.one_body, or E0 given per element would). Absolute energies relative "
            "to the separated atoms (a dimer's lowest E, a low-coordination structure's) "
            "are therefore not meaningful; the shape of the dimer curves, and so the "
            "repulsive-core verdict, is.")


def dimer_check(calc, a, b):
    """The a-b dimer curve and whether it has a repulsive core.

    The core is repulsive when the curve's lowest point is no closer than
    ``core_limit_A`` (0.55 of the sum of the covalent radii, ``ase.data.covalent_radii``:
    inside every measured dimer bond, Cr₂: 1.68 Å against 1.53) and, closer than that
    limit, the energy rises at every step inwards: two atoms must climb from the lowest
    point to come closer than any bond. A wiggle between the limit and the lowest point
    (fitted curves have them, a few meV at bond distances) is not the core's business;
    ``rises_inwards_from_A`` is the largest distance up to which the energy rises at
    every step inwards from there (None: it falls already between the two shortest
    distances).
    """
    from ase.data import covalent_radii

    r = np.asarray(DIMER_DISTANCES)
    e = dimer_curve(calc, a, b, r)
    lowest = int(np.argmin(e))
    rising = np.diff(e) < 0  # rising[k]: E(r_k) > E(r_k+1), higher inwards
    wall = int(np.argmin(rising)) if not rising.all() else len(rising)
    limit = 0.55 * float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])
    inside = int(np.searchsorted(r, limit, side="right")) - 1  # the last r <= limit
    return {"pair": pair_name(a, b), "distances_A": r, "energies_eV": e,
            "lowest_eV": float(e[lowest]), "lowest_at_A": float(r[lowest]),
            "shortest_eV": float(e[0]),
            "rises_inwards_from_A": float(r[wall]) if wall > 0 else None,
            "core_limit_A": limit,
            "repulsive_core": bool(r[lowest] >= limit and wall >= inside)}


def dimer_checks(calc, elements):
    """:func:`dimer_check` of every pair of ``elements`` (each pair once)."""
    elements = list(elements)
    return [dimer_check(calc, a, b) for i, a in enumerate(elements) for b in elements[i:]]


def compression_check(calc, symbol, structure, a, scales=COMPRESSION_SCALES):
    """Energy per atom of a cubic crystal compressed to ``scales`` of ``a`` (its
    equilibrium lattice constant), relative to ``a``; it holds when no compression
    lowers the energy and each costs at least as much as a milder one.

    Returns
    -------
    dict
        ``element``, ``structure``, ``a_A``, ``scales``, ``energies_eV_atom``,
        ``nearest_A`` (the nearest-neighbour distance at each scale), ``holds``, and
        ``fails_at``: the mildest scale whose energy is below that of the milder one
        (below E(a) for the mildest), None when it holds.
    """
    ref = _energy_per_atom(calc, symbol, structure, a)
    e = np.array([_energy_per_atom(calc, symbol, structure, a * f) - ref for f in scales])
    fails_at, milder = None, 0.0
    for k in np.argsort(scales)[::-1]:  # from the mildest; NaN fails too
        if not e[k] >= milder:
            fails_at = float(scales[k])
            break
        milder = e[k]
    return {"element": symbol, "structure": structure, "a_A": float(a),
            "scales": list(scales), "energies_eV_atom": e,
            "nearest_A": [float(a * f * NEAREST_NEIGHBOUR[structure]) for f in scales],
            "holds": fails_at is None, "fails_at": fails_at}


def _crystals(elements, s: ValidationSettings):
    if s.crystals == {}:
        return {}
    given = dict(s.crystals or {})
    out = {}
    for el in elements:
        spec = given.get(el)
        if spec is None:
            ref = reference_states[atomic_numbers[el]] or {}
            if ref.get("symmetry") not in CUBIC_STRUCTURES:
                continue
            spec = {"structure": ref["symmetry"], "a": ref["a"]}
        out[el] = spec  # a given spec was checked with the settings
    unknown = sorted(set(given) - set(elements))
    if unknown:
        raise ValueError(f"crystals names elements {unknown} the potential does not cover "
                         f"({elements})")
    return out


# ------------------------------------------------------------------------ main
def validate(calc_or_potential, configs=(), settings=None, *, where=None, name=None):
    """Validate a potential: MD stability, NVE drift and cubic-crystal properties.

    Parameters
    ----------
    calc_or_potential : ase calculator, acefit.Potential or path-like
    configs : sequence of ase.Atoms
        Start configurations of the MD runs (e.g. the test set). Each may carry
        ``atoms.info["name"]``; small periodic ones are repeated to ``min_atoms``.
    settings : ValidationSettings or dict, optional
        See :class:`ValidationSettings` for every key.
    where : sequence of str, optional
        How an error names each of ``configs`` (default ``"structure {k}"``), e.g. its file
        and frame.
    name : str, optional
        How the report names the potential (default: the path given, else the
        calculator's class).

    Returns
    -------
    ValidationReport

    Raises
    ------
    ValueError
        Bad settings, or a start structure that no potential can evaluate (see
        :func:`acefit.data.check_atoms`) or with elements the potential does not cover.
    """
    s = settings if isinstance(settings, ValidationSettings) \
        else ValidationSettings.from_dict(settings)
    s.check()
    calc = _as_calculator(calc_or_potential)
    configs = list(configs)
    where = where or [f"structure {k}" for k in range(len(configs))]
    for k, a in enumerate(configs):
        if not hasattr(a, "get_positions"):
            raise ValueError(f"configs[{k}] is not an ase.Atoms ({type(a).__name__})")
        # no atoms (a periodic cell was repeated towards min_atoms forever), atoms on one
        # point, a NaN cell: no potential evaluates them, and no MD run reports them better
        check_atoms(a, where[k])
    pot = getattr(calc, "potential", None)
    if pot is not None and hasattr(pot, "elements"):
        # a structure the potential cannot evaluate is bad input, not an unstable run
        check_potential_elements(zip(where, configs, itertools.repeat(None)), pot.elements)
    names = [_config_name(a, k) for k, a in enumerate(configs)]
    if s.max_md_configs is not None and len(configs) > s.max_md_configs:
        # spread over the list (data files are often grouped by kind)
        keep = np.unique(np.linspace(0, len(configs) - 1, s.max_md_configs).round().astype(int))
        configs, names = [configs[k] for k in keep], [names[k] for k in keep]
    rng = np.random.default_rng(s.seed)
    if name is None:
        name = str(calc_or_potential) if isinstance(calc_or_potential, (str, PathLike)) \
            else type(calc).__name__
    report = ValidationReport(settings=asdict(s), potential=name, date=datetime.now(
        timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"))

    runs = [(k, T, dt) for k in range(len(configs)) for T in s.temperatures
            for dt in s.timesteps]
    total = len(runs) * s.md_steps + (len(configs) * s.nve_steps)
    with _progress(total, "validate MD", s.progress) as bar:
        for k, T, dt in runs:
            atoms = _prepare(configs[k], s.min_atoms)
            res = _nvt(atoms, calc, T, dt, s, rng, bar)
            del res["energies"]
            report.md.append({"config": names[k],
                              "n_atoms": len(atoms), "temperature": float(T),
                              "timestep": float(dt), "steps": s.md_steps, **res})
        if s.nve_steps:
            for k, a in enumerate(configs):
                atoms = _prepare(a, s.min_atoms)
                res = _nve(atoms, calc, s, rng, bar) if len(atoms) > 1 else \
                    _not_run(_ONE_ATOM, s.nve_steps, bar)
                report.nve.append({"config": names[k],
                                   "n_atoms": len(atoms), "timestep": s.nve_timestep,
                                   "steps": s.nve_steps, **res})

    elements = _elements_of(calc, configs, extra=(s.crystals or {}))
    cubic = _crystals(elements, s) if s.properties or s.short_range else {}
    crystals = cubic if s.properties else {}
    with _progress(len(crystals), "crystal properties", s.progress) as bar:
        for el, spec in crystals.items():
            bar.set_postfix_str(el)
            try:
                props = crystal_properties(calc, el, spec["structure"], float(spec["a"]), s)
            except RuntimeError as exc:     # no minimum: a verdict on the potential, which
                props = {"structure": spec["structure"], "error": str(exc)}   # ends no run
            props["reference"] = dict((s.reference or {}).get(el, {}))
            report.properties[el] = props
            bar.update(1)
    if s.short_range:
        report.dimers = dimer_checks(calc, elements)
        report.separated_atoms = (getattr(pot, "metadata", None) or {}).get("separated_atoms")
        report.not_compressed = [el for el in elements if el not in cubic]
        for el, spec in cubic.items():
            a0 = report.properties.get(el, {}).get("a0_A")
            if a0 is None:  # compress from the potential's own equilibrium
                try:
                    a0 = _lattice_constant(el, spec["structure"], float(spec["a"]), calc)[0]
                except RuntimeError:
                    report.not_compressed.append(f"{el} (no energy minimum within ±15 % of "
                                                 f"a = {spec['a']} Å)")
                    continue
            report.compression.append(compression_check(calc, el, spec["structure"], a0))
    return report


def _config_name(atoms, k):
    """``info["name"]``, else index, config_type and formula."""
    if "name" in atoms.info:
        return str(atoms.info["name"])
    kind = atoms.info.get("config_type")
    return f"{k} {kind + ' ' if kind else ''}{atoms.get_chemical_formula()}"


def _elements_of(calc, configs, extra=()):
    pot = getattr(calc, "potential", None)
    if pot is not None and hasattr(pot, "elements"):
        return list(pot.elements)
    seen = list(extra)
    for a in configs:
        for sym in a.get_chemical_symbols():
            if sym not in seen:
                seen.append(sym)
    return seen


def settings_reference() -> list[tuple[str, str, str]]:
    """Every :class:`ValidationSettings` key as (key, default in YAML, meaning), in the
    class's order, the meanings read from its docstring (one source for both)."""
    import json
    import re

    text = ValidationSettings.__doc__.split("----------\n", 1)[1]
    meaning, key = {}, None
    for line in text.splitlines():
        entry = re.match(r"    (\w+) :", line)
        if entry:
            key = entry.group(1)
            meaning[key] = ""
        elif key and line.startswith(" " * 8):
            meaning[key] = f"{meaning[key]} {line.strip()}".strip()
    defaults = asdict(ValidationSettings())
    return [(name, json.dumps(defaults[name]),
             re.sub(r":\w+:`~?([^`]+)`|``([^`]+)``",
                    lambda m: f"`{m.group(1) or m.group(2)}`", meaning.get(name, "")))
            for name in defaults]


def settings_help() -> str:
    """The keys of a ``--settings`` file with their defaults, for ``acefit validate
    --help``."""
    return ", ".join(f"{key}: {default}" for key, default, _ in settings_reference())


def render_markdown() -> str:
    """docs/validation.md: the keys of ``acefit validate --settings`` (generated:
    ``python -m acefit.validate > docs/validation.md``)."""
    rows = "\n".join(f"| `{key}` | `{default}` | {meaning.replace('|', '/')} |"
                      for key, default, meaning in settings_reference())
    return f"""# Validation settings

<!-- Generated by `python -m acefit.validate > docs/validation.md` from the
ValidationSettings docstring in acefit/validate.py. Do not edit by hand:
tests/test_validate.py checks that the two agree. -->

`acefit validate POTENTIAL --settings FILE.yaml` reads these keys from a YAML mapping. Every
key is optional (the default shown is taken); an unknown key is an error that names the file,
the key and the allowed keys. Units follow ASE: Å, eV, fs, K.

```yaml
temperatures: [300.0, 600.0]
timesteps: [1.0]
md_steps: 2000
crystals:
  Cu: {{structure: fcc, a: 3.61}}
reference:
  Cu: {{a0_A: 3.615, C11_GPa: 170, C12_GPa: 123, C44_GPa: 76}}
```

| key | default | meaning |
|---|---|---|
{rows}

`reference` keys (units in the name): {", ".join(f"`{k}`" for k in PROPERTY_KEYS)}.
`crystals` structures: {", ".join(CUBIC_STRUCTURES)}.
"""


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_markdown())
