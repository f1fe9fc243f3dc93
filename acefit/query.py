"""Which configurations to label next: query by committee (``acefit query``).

A potential with a committee (``export.committee``) carries K coefficient vectors drawn
from its posterior, their spread scaled to the validation errors. Where the members
disagree, the training data did not pin the model down. Active-learning loops therefore
run MD with the potential, score its frames by the members' spread, and send the most
uncertain ones to DFT. This module is the scoring and the choice:

* :func:`committee_deviation` scores one configuration: the members' energy SD per atom
  and the largest atomic force SD, the force deviation that such loops threshold;
* :func:`query` scores a pool and keeps the most uncertain frames, optionally only those
  above a threshold, a few per group of neighbouring frames at most, never one that is
  labelled already (:func:`labelled_structures`: e.g. the training data, from which an MD
  pool often starts), nor one with two atoms far closer than any labelled configuration
  has them (``min_distance``: :class:`PairLimits`, one limit per element pair,
  :func:`default_min_distance`): an MD that collapsed is most uncertain where its atoms
  overlap, and DFT of such a frame fails or teaches the fit a region no simulation should
  reach;
* :func:`iter_pool` reads a pool file frame by frame, each frame checked (so a pool is
  scored in the memory of one frame), :func:`read_pool` all of it;
  :func:`check_pool_files` checks the files of a pool before any is read, and
  :func:`check_pool_elements` their frames' elements before any is scored;
* :func:`query_pool` scores the files of a pool one after the other and chooses across
  them (``acefit query``), :func:`chosen_frames` reads the chosen frames again, and
  :func:`file_summary`, :func:`left_out_notes`, :func:`chosen_table` and
  :func:`chosen_summary` say what was scored, left out and chosen, and why fewer than
  asked for.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["committee_deviation", "Query", "query", "iter_pool", "pool_species", "read_pool",
           "check_pool_files", "check_pool_elements", "labelled_structures", "read_labelled",
           "Labelled", "PairLimits", "default_min_distance", "bond_reach", "pair_key",
           "QUERY_SCORES", "MIN_DISTANCE_FRACTION", "BOND_REACH", "PoolQuery", "query_pool",
           "file_summary", "left_out_notes", "shortfall_text", "chosen_summary",
           "chosen_table", "chosen_frames"]

QUERY_SCORES = {"force": "committee_max_force_sd", "energy": "committee_energy_sd"}
"""What a pool can be ranked by, and the ``atoms.info`` key of each score."""

MIN_DISTANCE_FRACTION = 0.5
"""A pool frame with two atoms closer than this fraction of the labelled data's shortest
distance of their element pair is not chosen (:func:`default_min_distance`). MD at any
temperature a potential is made for comes nowhere near it (thermal motion shortens the
nearest-neighbour distance by some 10-20 %, compressed crystals of the data by as much),
so atoms that close mean a simulation that collapsed:
their energies are tens to thousands of eV, DFT of them fails or is wasted, and their
labels spoil the next fit (in one walk-through of a learning loop, frames at 0.07-0.8 Å
labelled beside data from 2.35 Å cost the refit's fcc Al its compression curve). Each round of a learning loop
that labels frames nearer than the data lowers the limit with them. One limit per pair,
since one for all lets collapsed metal-metal pairs through beside short H-metal bonds, or
rejects those bonds beside metal data."""

BOND_REACH = 1.1
"""A pair's distances in the labelled data count up to this many bond lengths, the sum of
the two covalent radii (``ase.data.covalent_radii``, Cordero et al. 2008: within some
10 % of a single bond); a pair they never bring closer has no bond labelled, and its
limit is :data:`MIN_DISTANCE_FRACTION` of that reach (:func:`default_min_distance`):
0.55 of the sum, the limit inside which ``acefit validate`` asks a dimer for a repulsive
core (:func:`acefit.validate.dimer_check`), inside every measured dimer bond."""

SHORTEST_SEARCH = 6.0
"""Å: how far the table of chosen frames looks for each one's closest pair."""


def committee_deviation(atoms, potential) -> tuple[float, float]:
    """The committee's energy SD per atom (meV/atom) and its largest atomic force SD (eV/Å:
    the maximum over atoms of sqrt(Σ_xyz var of the members' force)) on ``atoms``.

    Raises
    ------
    ValueError
        The potential has no committee.
    """
    from acefit.basis.angular import thread_limit

    with thread_limit():        # the calculator's thread policy (MD's)
        energy, forces, _ = potential.committee_spread(atoms, forces=True)
    force_sd = np.sqrt(np.var(forces, axis=0, ddof=1).sum(axis=1))
    return 1e3 * float(np.std(energy, ddof=1)) / len(atoms), float(force_sd.max())


@dataclass
class Query:
    """The scored pool and the frames chosen from it.

    Attributes
    ----------
    energy_sd : ndarray (n_frames,)
        The committee's energy SD per atom of each pool frame, meV/atom.
    force_sd : ndarray (n_frames,)
        Its largest atomic force SD, eV/Å.
    chosen : ndarray of int
        Pool indices of the chosen frames, most uncertain first.
    by : str
        The score they were ranked by, a key of :data:`QUERY_SCORES`.
    labelled : ndarray of bool (n_frames,)
        The frames that are labelled already (``query``'s ``labelled``): scored, never
        chosen.
    shortest : ndarray (n_frames,)
        Where a frame has a pair of atoms closer than its limit (``query``'s
        ``min_distance``), their distance, Å, of the pair furthest below its limit (inf
        elsewhere: the search goes no further); those frames (:attr:`too_close`) are
        scored, never chosen.
    pairs : list
        That pair's atomic numbers ``(za, zb)``, za <= zb, per frame (None where none is
        too close).
    """

    energy_sd: np.ndarray
    force_sd: np.ndarray
    chosen: np.ndarray
    by: str
    labelled: np.ndarray
    shortest: np.ndarray
    pairs: list = field(default_factory=list)

    @property
    def scores(self) -> np.ndarray:
        return self.force_sd if self.by == "force" else self.energy_sd

    @property
    def too_close(self) -> np.ndarray:
        """The frames with two atoms closer than their pair's limit (``min_distance``)."""
        return np.isfinite(self.shortest)


@dataclass
class PairLimits:
    """How close the atoms of each element pair of a pool frame may come before the frame
    is not chosen (:func:`query`'s ``min_distance``).

    Attributes
    ----------
    limits : dict
        ``{(za, zb): Å}``, atomic numbers za <= zb.
    reasons : dict
        Why each limit, in words, by the same keys.
    default : float
        The limit of a pair not in ``limits``, Å (``--min-distance D``: one for every
        pair; 0: none).
    default_reason : str
        Why ``default``.
    """

    limits: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    default: float = 0.0
    default_reason: str = ""

    def limit(self, za: int, zb: int) -> float:
        return self.limits.get(pair_key(za, zb), self.default)

    @property
    def reach(self) -> float:
        """The largest limit, Å: no pair farther apart is too close."""
        return max([*self.limits.values(), self.default])

    def closest(self, pairs) -> tuple[float, float, tuple | None]:
        """Of the shortest distance of each element pair ``pairs``
        (:func:`acefit.basis.neighbours.shortest_by_pair`), the one nearest its limit,
        relative to it: ``(distance, distance / limit, pair)``; ``(inf, inf, None)`` for
        no pairs (a pair without a limit has the ratio inf)."""
        best = (math.inf, math.inf, None)
        for pair, d in sorted(pairs.items()):
            limit = self.limit(*pair)
            ratio = d / limit if limit > 0 else math.inf
            if ratio < best[1] or best[2] is None:
                best = (d, ratio, pair)
        return best

    def violation(self, atoms) -> tuple[float, tuple | None]:
        """The distance and pair of the atoms of ``atoms`` furthest below their pair's
        limit, ``(inf, None)`` when none is: searched no further than :attr:`reach` (a
        few neighbours, beside the committee's evaluation out to the cutoff)."""
        from acefit.basis.neighbours import shortest_by_pair

        d, ratio, pair = self.closest(shortest_by_pair(atoms, self.reach))
        return (d, pair) if ratio < 1 else (math.inf, None)

    def text(self) -> str:
        """The limits and why, in words."""
        from acefit.elements import pair_name

        if not self.limits:
            return f"{self.default:.2f} Å for every pair ({self.default_reason})"
        return "; ".join(f"{pair_name(*pair)} {limit:.2f} Å ({self.reasons[pair]})"
                         for pair, limit in sorted(self.limits.items()))


def query(potential, frames, *, n: int | None = None, threshold: float | None = None,
          by: str = "force", gap: int = 0, progress=None, where=None,
          labelled=frozenset(), min_distance: float | PairLimits | None = None) -> Query:
    """Score ``frames`` (a pool of ``ase.Atoms``) by the committee of ``potential`` and
    choose the most uncertain. Only the scores are kept: ``frames`` may be a generator
    (:func:`iter_pool`), read while it is scored.

    Parameters
    ----------
    potential : acefit.Potential
        With a committee.
    frames : iterable of ase.Atoms
        Of the potential's elements.
    n : int, optional
        Choose at most this many (default: every frame over ``threshold``).
    threshold : float, optional
        Choose only frames whose score is above it (eV/Å for ``by="force"``, meV/atom for
        ``"energy"``).
    by : {"force", "energy"}
        The largest atomic force SD, or the energy SD per atom.
    gap : int
        Chosen frames are more than ``gap`` pool indices apart: consecutive MD frames are
        nearly the same configuration, and one of them teaches the fit what the others
        would (0: no such rule).
    progress : bool, optional
        Draw a progress bar (None: when stderr is a terminal).
    where : sequence of str or callable, optional
        How an error names each frame (default ``"frame {i}"``), e.g. its file and its
        frame number in that file when every K-th frame was read (as
        :func:`acefit.validate.validate` takes it); a callable takes the frame's index
        in ``frames`` (for a generator, whose length is not known beforehand).
    labelled : set of str
        :func:`acefit.data.structure_key` of configurations that have labels already
        (:func:`labelled_structures`): a pool frame with one of them is not chosen (a
        second DFT calculation of it teaches the fit nothing).
    min_distance : float or PairLimits, optional
        A frame with two atoms closer than this (Å, for every pair), or than their
        element pair's limit (:func:`default_min_distance`), is scored but not chosen
        (None or 0: no such rule).

    Raises
    ------
    ValueError
        No committee, an unknown ``by``, a negative ``n``, ``gap`` or ``min_distance``, or
        frames with an element the potential does not have
        (:func:`acefit.data.check_potential_elements`: those of a sequence all named
        before any is scored, a generator's first as it is read).
    """
    from acefit.progress import bar

    if potential.committee is None:
        raise ValueError("the potential has no committee to query; allowed: one fitted with "
                         "export.committee >= 2, or `acefit export RUN --budget T "
                         "--committee 32`")
    if by not in QUERY_SCORES:
        raise ValueError(f"by={by!r}; allowed: {', '.join(QUERY_SCORES)}")
    if (n is not None and n < 0) or gap < 0:
        raise ValueError(f"n={n}, gap={gap}; allowed: integers >= 0")
    if threshold is not None and not math.isfinite(threshold):
        # no score is above NaN, yet `score <= nan` is False: every frame would be chosen
        raise ValueError(f"threshold={threshold}; allowed: a finite number")
    if isinstance(min_distance, (int, float)):
        if not 0 <= min_distance < math.inf:
            raise ValueError(f"min_distance={min_distance}; allowed: a finite number >= 0 "
                             "(Å), or PairLimits")
        min_distance = PairLimits(default=float(min_distance))
    if min_distance is not None and min_distance.reach <= 0:
        min_distance = None
    name = (lambda i: f"frame {i}") if where is None else \
        where if callable(where) else where.__getitem__
    total = len(frames) if hasattr(frames, "__len__") else None
    from acefit.data import check_potential_elements, structure_key

    if total is not None:   # every frame named before any is scored; a generator's below
        check_potential_elements(((name(i), a, None) for i, a in enumerate(frames)),
                                 potential.elements)
    scores, known_frames, close = [], [], []
    with bar(total, "committee on the pool", unit="frame", enabled=progress) as progress_bar:
        for i, atoms in enumerate(frames):
            if total is None:
                check_potential_elements([(name(i), atoms, None)], potential.elements)
            scores.append(committee_deviation(atoms, potential))
            known_frames.append(bool(labelled) and structure_key(atoms) in labelled)
            close.append(min_distance.violation(atoms) if min_distance else (math.inf, None))
            progress_bar.update(1)
    energy_sd, force_sd = np.array(scores, dtype=float).reshape(-1, 2).T
    result = Query(energy_sd, force_sd, np.zeros(0, dtype=int), by,
                   np.array(known_frames, dtype=bool),
                   np.array([d for d, _ in close], dtype=float), [p for _, p in close])
    skipped = result.labelled | result.too_close
    chosen = []
    for i in np.argsort(-result.scores, kind="stable"):
        if (n is not None and len(chosen) >= n) or \
                (threshold is not None and result.scores[i] <= threshold):
            break
        if not skipped[i] and all(abs(int(i) - j) > gap for j in chosen):
            chosen.append(int(i))
    result.chosen = np.array(chosen, dtype=int)
    return result


def iter_pool(path, every: int = 1, species=None):
    """Every ``every``-th frame of a pool file as ``(frame number in the file, atoms)``,
    each checked with :func:`acefit.data.check_atoms`, while they are read (a generator:
    :func:`acefit.data.iter_structures`, which names the file and frame of what it raises).

    Parameters
    ----------
    path : path-like
        Any file ``ase.io.read`` reads.
    every : int
        Read every K-th frame: frame i of the result is frame ``i * every`` of the file.
    species : sequence of str, optional
        The elements of LAMMPS atom types 1, 2, ... (ASE's ``specorder``), for a LAMMPS
        dump of types without element names (:func:`acefit.readers.types_only`), which needs
        them. A file that names its elements ignores them, with a logged note.
    """
    from acefit.data import iter_structures

    return iter_structures(path, name="pool file", every=every,
                           species=pool_species(path, species))


def pool_species(path, species):
    """``species`` for a LAMMPS dump of atom types (:func:`acefit.readers.types_only`),
    None for a file that names its elements, with a logged note that they are ignored."""
    from acefit.readers import types_only

    if species and Path(path).is_file() and not types_only(path):
        from acefit.progress import get_logger

        get_logger().info("note: --species ignored for %s: it names its elements; --species "
                          "is for LAMMPS dumps of atom types only", path)
        return None
    return species


def labelled_structures(paths, name="labelled file") -> set:
    """:func:`acefit.data.structure_key` of every frame of ``paths`` (files of labelled
    configurations, e.g. a run's training and test data; read as structures, labels
    aside), for :func:`query`'s ``labelled``."""
    return read_labelled(paths, name, distances=False).keys


@dataclass
class Labelled:
    """What :func:`query` needs of the labelled configurations.

    Attributes
    ----------
    keys : set of str
        Their :func:`acefit.data.structure_key` (``query``'s ``labelled``).
    pairs : dict
        ``{(za, zb): (Å, where)}``, atomic numbers za <= zb: each element pair's shortest
        distance in them and the file and frame that have it; a pair they never bring
        within its :func:`bond_reach` is left out (as are all when not searched).
    """

    keys: set
    pairs: dict = field(default_factory=dict)

    def shortest(self, za: int, zb: int) -> tuple[float, str | None]:
        """The shortest distance of a pair and where, or its :func:`bond_reach` and None
        when it is not in :attr:`pairs` (they come no closer)."""
        pair = pair_key(za, zb)
        return self.pairs.get(pair, (bond_reach(*pair), None))


def pair_key(za: int, zb: int) -> tuple:
    """The key of an element pair in :class:`PairLimits` and :class:`Labelled`, as
    :func:`acefit.basis.neighbours.shortest_by_pair` keys its pairs: the atomic numbers,
    the smaller first."""
    return (min(za, zb), max(za, zb))


def bond_reach(za: int, zb: int) -> float:
    """:data:`BOND_REACH` bond lengths of a pair of elements (atomic numbers), Å: the
    farthest its labelled distances count for its limit."""
    from ase.data import covalent_radii

    return BOND_REACH * float(covalent_radii[za] + covalent_radii[zb])


def read_labelled(paths, name="labelled file", distances: bool = True) -> Labelled:
    """The structure keys of every frame of ``paths`` and, with ``distances``, each element
    pair's shortest distance within its :func:`bond_reach` (for
    :func:`default_min_distance`), in one reading."""
    from acefit.basis.neighbours import shortest_by_pair
    from acefit.data import iter_structures, structure_key

    found = Labelled(set())
    for path in paths:
        for i, atoms in iter_structures(path, name=name):
            found.keys.add(structure_key(atoms))
            if not distances:
                continue
            # no wider than each pair's closest so far: most frames then search a little
            # beyond their nearest neighbours only
            elements = sorted(set(atoms.numbers.tolist()))
            radius = max((found.shortest(a, b)[0]
                          for a, b in itertools.combinations_with_replacement(elements, 2)),
                         default=0.0)
            for pair, d in shortest_by_pair(atoms, radius).items():
                if d < found.shortest(*pair)[0]:
                    found.pairs[pair] = (d, f"{path}, frame {i}")
    return found


def default_min_distance(labelled: Labelled | None, numbers) -> PairLimits:
    """:func:`query`'s ``min_distance`` when none is given, for the element pairs of
    ``numbers`` (atomic numbers, e.g. the potential's): :data:`MIN_DISTANCE_FRACTION` of
    the labelled data's shortest distance of the pair, or of its :func:`bond_reach` where
    the data bring it no closer (or there are none).

    The reach caps a limit read off data that show a pair only far apart: the H-H pairs of
    a hydride come no closer than some 2 Å, and half of that would leave out a frame in
    which two H atoms make an H2 molecule (0.74 Å). A pair the data never bring within
    its reach has no bond labelled, and the data tell nothing of how short its bonds are;
    the covalent radii (whose sum is within some 10 % of a single bond) put its limit at
    0.55 of their sum, inside every measured dimer bond (the shortest, multiply bonded
    Cr2 and Mo2, at 0.60 and 0.63 of it; fcc Cu and Al compressed to 80 %, 0.77 and 0.95),
    where collapsed frames are far closer (0.07-0.8 Å for the metals of the learning-loop
    walk-through in the module's docstring, 0.03-0.3 of it). The elements' own pairs would say little there: H-H in
    H2 is 0.74 Å, in a hydride over 2 Å. A reach of 1.1 bonds leaves the data's rule
    to every pair they show at its bond length or closer (the nearest neighbours of
    compressed or rattled crystals; fcc Al's 2.86 Å at equilibrium is 1.18 bonds, and
    its limit then 1.33 Å rather than 1.43)."""
    from acefit.elements import pair_name

    limits, reasons = {}, {}
    frac = f"{MIN_DISTANCE_FRACTION:g} ×"
    for a, b in itertools.combinations_with_replacement(sorted(set(numbers)), 2):
        d, where = (labelled or Labelled(set())).shortest(a, b)
        limits[a, b] = MIN_DISTANCE_FRACTION * d
        if where is not None:
            reasons[a, b] = (f"{frac} the labelled data's shortest {pair_name(a, b)}, "
                             f"{d:.2f} Å in {where}")
        else:
            reasons[a, b] = (f"{frac} {BOND_REACH:g} × the sum of covalent radii, {d:.2f} Å: "
                             + ("no labelled data" if labelled is None else
                                "none closer in the labelled data"))
    return PairLimits(limits, reasons)


def read_pool(path, every: int = 1, species=None) -> list:
    """The frames of :func:`iter_pool` as a list of ase.Atoms (frame i of it is frame
    ``i * every`` of the file)."""
    return [atoms for _, atoms in iter_pool(path, every, species)]


def check_pool_files(paths) -> None:
    """Check the files of a pool before any is read: each a regular file
    (:func:`acefit.readers.check_file`), and none of them an earlier one again, by the same
    name or another path (a link, ``..``): its frames would be scored twice, and one could
    be chosen twice.

    Raises
    ------
    FileNotFoundError
        A path that is not a regular file.
    ValueError
        A file named twice.
    """
    import os

    from acefit.readers import check_file

    seen = {}
    for path in paths:
        status = os.stat(check_file(path, "pool file"))
        key = (status.st_dev, status.st_ino)     # one file, by any path (os.path.samefile)
        if key in seen:
            again = "named twice" if str(seen[key]) == str(path) else f"{seen[key]} again"
            raise ValueError(f"pool file {path} is {again}: its frames would be scored twice, "
                             "and one could be chosen twice; allowed: each pool file once")
        seen[key] = path


@dataclass
class PoolQuery:
    """The files of a pool scored one after the other (:func:`query_pool`), and the frames
    chosen across them.

    Attributes
    ----------
    picks : list of tuple
        The chosen frames, most uncertain first (at most ``n``):
        ``(score, pool file, frame number in the file, force SD, energy SD)``.
    scored : int
        Frames scored, in all files.
    candidates : int
        Frames that could be chosen: neither labelled, too close nor at or below the
        threshold (``--gap`` may still leave some of them out).
    below : int
        Frames that were neither labelled nor too close but at or below the threshold.
    known : list of tuple
        ``(pool file, frame number)`` of the frames that are labelled already.
    close : list of tuple
        ``(pool file, frame number, distance Å, (za, zb))`` of the frames with two atoms
        closer than their pair's limit.
    species : dict
        Per pool file, the ``species`` it is read with (:func:`pool_species`).
    every : int
        Every K-th frame of each file was read.
    """

    picks: list = field(default_factory=list)
    scored: int = 0
    candidates: int = 0
    below: int = 0
    known: list = field(default_factory=list)
    close: list = field(default_factory=list)
    species: dict = field(default_factory=dict)
    every: int = 1

    def counts(self) -> dict:
        """How many frames were ``scored``, how many were ``candidates``, and how many
        were left out as ``labelled``, ``too close`` or ``below`` the threshold."""
        return {"scored": self.scored, "candidates": self.candidates,
                "labelled": len(self.known), "too close": len(self.close),
                "below": self.below}


def query_pool(potential, files, *, n: int | None = None, threshold: float | None = None,
               by: str = "force", gap: int = 0, every: int = 1, species=None,
               labelled=frozenset(), min_distance: float | PairLimits | None = None,
               progress=None, on_file=None) -> PoolQuery:
    """Score the pool files ``files`` by the committee of ``potential`` (:func:`query`),
    each streamed frame by frame (:func:`iter_pool`), and choose the ``n`` most uncertain
    frames of them all (``acefit query``).

    Parameters
    ----------
    potential : acefit.Potential
        With a committee.
    files : sequence of path-like
        The pool files (:func:`check_pool_files` checks them beforehand), read once for
        their elements (:func:`check_pool_elements`) before any frame is scored.
    n, threshold, by, labelled, min_distance, progress
        As :func:`query`'s (``n`` None: every frame over ``threshold``).
    gap : int
        Chosen frames of one file are more than ``gap`` frames of the file apart (with
        ``every``, ``gap // every`` frames read).
    every : int
        Read every K-th frame of each file.
    species : sequence of str, optional
        The elements of LAMMPS atom types (:func:`pool_species`).
    on_file : callable, optional
        Called with ``(file, Query)`` as each file has been scored (the frames are
        numbered as read: frame i is frame ``i * every`` of the file).

    Returns
    -------
    PoolQuery
    """
    found = PoolQuery(species={f: pool_species(f, species) for f in files},  # one note a file
                      every=every)
    check_pool_elements(potential, files, every=every, species=found.species)
    for f in files:
        # streamed: each frame scored as it is read (and checked, naming file and frame)
        frames = (atoms for _, atoms in iter_pool(f, every=every, species=found.species[f]))
        result = query(potential, frames, n=n, threshold=threshold, by=by,
                       gap=gap // every,     # read frames are K file frames apart
                       progress=progress, where=lambda i: f"{f}, frame {i * every}",
                       labelled=labelled, min_distance=min_distance)
        found.scored += len(result.scores)
        eligible = ~(result.labelled | result.too_close)
        if threshold is not None:
            found.below += int((eligible & (result.scores <= threshold)).sum())
            eligible &= result.scores > threshold
        found.candidates += int(eligible.sum())
        found.known += [(f, int(i) * every) for i in np.flatnonzero(result.labelled)]
        found.close += [(f, int(i) * every, float(result.shortest[i]), result.pairs[i])
                        for i in np.flatnonzero(result.too_close)]
        found.picks += [(float(result.scores[i]), f, int(i) * every,
                         float(result.force_sd[i]), float(result.energy_sd[i]))
                        for i in result.chosen]
        if on_file is not None:
            on_file(f, result)
    found.picks.sort(key=lambda pick: -pick[0])
    found.picks = found.picks[:n]      # n None: all
    return found


def check_pool_elements(potential, files, *, every: int = 1, species=None) -> None:
    """Read the pool files ``files`` (:func:`iter_pool`, in the memory of one frame) and
    raise DataError for frames of elements ``potential`` lacks, every one named
    (:func:`acefit.data.check_potential_elements`), before any frame is scored: a query
    that stopped at the first one would have scored the frames before it for nothing.
    ``species``: per file, the ``species`` it is read with (:func:`pool_species`); the
    command that writes a file without such frames is given for files that name their
    elements (a dump of atom types read by another reader gets other elements)."""
    from acefit.data import check_potential_elements

    species = species or {}
    frames = ((f"{f}, frame {i}", atoms, None if species.get(f) else f)
              for f in files for i, atoms in iter_pool(f, every, species.get(f)))
    check_potential_elements(frames, potential.elements)


def file_summary(path, result: Query) -> str:
    """A line on the scores of one pool file (``result``: its :class:`Query`): how many
    frames, and the median and largest force and energy SD."""
    return (f"{path}: {len(result.scores)} frames scored; largest atomic force SD (eV/Å) "
            f"median {np.median(result.force_sd):.4f}, max {result.force_sd.max():.4f}; "
            f"energy SD (meV/atom) median {np.median(result.energy_sd):.3f}, max "
            f"{result.energy_sd.max():.3f}")


def left_out_notes(pool: PoolQuery, labelled_files, limits: PairLimits | None) -> list[str]:
    """A line on the frames of ``pool`` that were not chosen because they are labelled
    already (in ``labelled_files``), and one on those with two atoms too close (by
    ``limits``, the :class:`PairLimits` the query used); none where there are none."""
    lines = []
    if pool.known:
        first, frame = pool.known[0]
        lines.append(f"{len(pool.known)} pool frame(s) are labelled already (in "
                     f"{', '.join(map(str, labelled_files))}) and were not chosen (first: "
                     f"{first}, frame {frame})")
    if pool.close:
        from acefit.elements import pair_name

        first, frame, d, pair = pool.close[0]
        lines.append(f"{len(pool.close)} pool frame(s) have two atoms closer than their "
                     f"pair's limit and were not chosen (first: {first}, frame {frame}, "
                     f"{pair_name(*pair)} {d:.2f} Å against {limits.limit(*pair):.2f} Å). "
                     f"Limits: {limits.text()}; --min-distance D sets one for every pair, "
                     "0: none")
    return lines


def shortfall_text(n: int | None, chosen: int, counts: dict, *, n_given: bool, gap: int,
                   threshold: float | None) -> str:
    """Why fewer than the ``n`` frames asked for were chosen ("" when they were not): too
    few candidates (``counts``: :meth:`PoolQuery.counts`), or ``gap``, which keeps the
    other candidates out as neighbours of chosen frames; worded with ``acefit query``'s
    options (``n_given``: -n was given, not its default)."""
    if n is None or chosen >= n:
        return ""
    asked = f"-n {n} asked for" if n_given else f"-n {n} by default"
    if counts["candidates"] > chosen:
        return (f" ({asked}; --gap {gap} left out the other "
                f"{counts['candidates'] - chosen} candidate(s), each within {gap} "
                "frames of a more uncertain one chosen: a smaller --gap chooses more)")
    below = f"at or below --threshold {threshold:g}" if threshold is not None else ""
    out = [f"{counts[key]} {what}" for key, what in (("labelled", "labelled already"),
                                                     ("too close", "with atoms too close"),
                                                     ("below", below)) if counts[key]]
    return (f" ({asked}; only {counts['candidates']} of the {counts['scored']} frames are "
            "candidates" + (f": {', '.join(out)}" if out else "") + ")")


def chosen_summary(pool: PoolQuery, chosen: int, *, n: int | None, n_given: bool,
                   by: str, gap: int, threshold: float | None) -> str:
    """What was chosen, in words: ``chosen`` of the frames scored, by which SD, above
    which threshold, and why fewer than ``n`` (:func:`shortfall_text`)."""
    return (f"{chosen} of {pool.scored} frames, by {by} SD"
            + (f" above {threshold:g}" if threshold is not None else "")
            + shortfall_text(n, chosen, pool.counts(), n_given=n_given, gap=gap,
                             threshold=threshold))


def chosen_table(chosen, labelled: Labelled, limits: PairLimits | None) -> tuple[str, str]:
    """The chosen frames (:func:`chosen_frames`) as a Markdown table, and a note on them.

    Parameters
    ----------
    chosen : list of ase.Atoms
        With their scores, pool file and frame in ``atoms.info``.
    labelled : Labelled
        The labelled configurations (:func:`read_labelled`).
    limits : PairLimits or None
        The limits the query used: each frame's closest pair is given relative to its
        pair's limit (None: the closest pair, in Å).

    Returns
    -------
    table : str
        Scores and the closest pair of atoms of each frame ("" for no frames).
    note : str
        On the frames with a pair closer than any labelled configuration has it ("" for
        none, or without labelled configurations).
    """
    from acefit.basis.neighbours import shortest_by_pair
    from acefit.elements import pair_name

    if not chosen:
        return "", ""
    head = "closest pair (Å, × its limit)" if limits else "closest pair (Å)"
    lines = ["| pool file | frame | atoms | force SD (eV/Å) | energy SD (meV/atom) | "
             f"{head} |", "|---|---:|---:|---:|---:|---:|"]
    nearer = []     # (frame, pair, distance) of each chosen frame that goes beyond the data
    for atoms in chosen:
        pairs = shortest_by_pair(atoms, SHORTEST_SEARCH)
        if not pairs:
            cell = f"> {SHORTEST_SEARCH:g}"
        elif limits:
            d, ratio, pair = limits.closest(pairs)
            cell = f"{pair_name(*pair)} {d:.2f} ({ratio:.2f}×)"
        else:
            pair, d = min(pairs.items(), key=lambda item: item[1])
            cell = f"{pair_name(*pair)} {d:.2f}"
        # the pair furthest beyond the data, relative to their shortest
        beyond = min(pairs.items(), key=lambda item: item[1] / labelled.shortest(*item[0])[0],
                     default=None)
        if beyond and beyond[1] < labelled.shortest(*beyond[0])[0]:
            nearer.append((atoms, *beyond))
        lines.append(f"| {atoms.info['pool_file']} | {atoms.info['pool_frame']} | "
                     f"{len(atoms)} | {atoms.info[QUERY_SCORES['force']]:.4f} | "
                     f"{atoms.info[QUERY_SCORES['energy']]:.3f} | {cell} |")
    # labelled data that bring no pair within its reach record none (fcc Al at
    # equilibrium), and a frame closer than that reach is still beyond them
    note = ""
    if nearer and labelled.keys:
        atoms, pair, d = nearer[0]
        seen, where = labelled.shortest(*pair)
        data = (f"the labelled data's shortest: {seen:.2f} Å, {where}" if where else
                f"none in the labelled data within {seen:.2f} Å")
        note = (f"note: {len(nearer)} chosen frame(s) have a pair of atoms closer than any "
                f"labelled configuration (first: {atoms.info['pool_file']}, frame "
                f"{atoms.info['pool_frame']}, {pair_name(*pair)} {d:.2f} Å; {data}): their "
                "labels take the data to shorter distances; check that their calculations "
                "converge")
    return "\n".join(lines), note


def chosen_frames(pool: PoolQuery) -> list:
    """The atoms of the frames ``pool`` chose (:attr:`PoolQuery.picks`), in that order,
    read again from their files (the scoring kept no frame), each file up to its last
    chosen frame; their scores, pool file and frame in ``atoms.info``
    (:data:`QUERY_SCORES`, ``pool_file``, ``pool_frame``).

    Raises
    ------
    ValueError
        A pool file that has fewer frames than when it was scored.
    """
    wanted = {}
    for k, (_, f, frame, _, _) in enumerate(pool.picks):
        wanted.setdefault(f, {})[frame] = k
    chosen = [None] * len(pool.picks)
    for f, frames in wanted.items():
        last = max(frames)
        for frame, atoms in iter_pool(f, every=pool.every, species=pool.species[f]):
            if frame in frames:
                _, _, _, force_sd, energy_sd = pool.picks[frames[frame]]
                atoms.calc = None
                atoms.info.update(pool_file=str(f), pool_frame=frame,
                                  **{QUERY_SCORES["force"]: force_sd,
                                     QUERY_SCORES["energy"]: energy_sd})
                chosen[frames[frame]] = atoms
            if frame >= last:
                break
        else:
            raise ValueError(f"pool file {f} has no frame {last} any more: it changed while "
                             "it was scored; allowed: a pool file left as it is until "
                             "acefit query ends")
    return chosen
