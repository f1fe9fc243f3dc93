"""Short-range verdicts of a fitted potential: whether each dimer has a repulsive core
(:func:`dimer_verdicts`) and whether its cubic crystals hold under compression
(:func:`compression_verdicts`), with the words that the fit's warnings, report.md and
``acefit compare`` give them (:func:`warn_without_core`, :func:`cored_alternatives`,
:func:`collapse_text`, :func:`warn_collapse`). The checks themselves are
``acefit validate``'s (:mod:`acefit.validate`)."""

from __future__ import annotations

import numpy as np

from acefit.progress import get_logger

__all__ = ["dimer_verdicts", "warn_without_core", "cored_alternatives", "alternatives_text",
           "pairs_without_core", "compression_verdicts", "dense_configurations",
           "collapse_text", "collapse_advice", "warn_collapse"]


def _said_already(message) -> None:
    """An unfitted element's notice (:func:`acefit.potential.unfitted_element_notices`)
    dropped: the fit has said so."""


def dimer_verdicts(potential) -> dict:
    """Whether every dimer of ``potential`` has a repulsive core (``acefit.validate``), by
    pair (:func:`warn_without_core` names those that have not). A pair without one also
    has ``inner_minimum_A`` and ``inner_minimum_eV``, the innermost point of its curve
    from which the energy rises inwards (the shortest distance checked when it still
    falls there), and, under a core repulsion, ``repulsion_eV``, what the repulsion gives
    there (the fitted part gives the rest). A pair of an element without training data
    (:attr:`acefit.Potential.unfitted_elements`: nothing of it is fitted) has
    ``no_training_data`` True."""
    from acefit.calculator import ACECalculator
    from acefit.elements import atomic_number
    from acefit.potential import unfitted_element_notices
    from acefit.validate import dimer_checks

    out = {}
    with unfitted_element_notices(_said_already):
        checks = dimer_checks(ACECalculator(potential), potential.elements)
    for check in checks:
        entry = {k: check[k] for k in ("repulsive_core", "lowest_eV", "lowest_at_A",
                                       "shortest_eV")}
        if set(check["pair"].split("-")) & set(potential.unfitted_elements):
            entry["no_training_data"] = True
        if not check["repulsive_core"]:
            r = check["distances_A"]
            k = 0 if check["rises_inwards_from_A"] is None else \
                int(np.searchsorted(r, check["rises_inwards_from_A"]))
            entry.update(inner_minimum_A=float(r[k]),
                         inner_minimum_eV=float(check["energies_eV"][k]))
            if potential.repulsion is not None:
                a, b = (atomic_number(e) for e in check["pair"].split("-"))
                entry["repulsion_eV"] = float(potential.repulsion.pair(r[k], a, b)[0])
        out[check["pair"]] = entry
    return out


def warn_without_core(verdicts, repulsion=None, train_pairs=None, alternatives="") -> None:
    """Warn, for MD's sake, of the pairs of :func:`dimer_verdicts` without a repulsive core.

    Without a core ``repulsion`` the advice is to put one under the fit; under one, the
    warning says where its fitted part overwhelms it, and advises training data there
    (``train_pairs``: :attr:`acefit.data_checks.DataChecks.pairs`, whether the data's
    distances reach that close already) and a repulsion reaching further out.
    ``alternatives``: the text of
    :func:`alternatives_text`, the selected potentials that do have a core.
    """
    bad = pairs_without_core(verdicts)
    if not bad:
        return
    tail = f"; {alternatives}" if alternatives else ""
    if repulsion is None:
        get_logger().warning(
            "the selected potential has no repulsive core for %s: closer than any bond, its "
            "dimer energy does not rise at every step inwards, or its lowest point is there "
            "(acefit validate shows the curves); for MD, put a core repulsion under the fit "
            "(repulsion: {kind: zbl, inner, outer}, docs/config.md)%s", ", ".join(bad), tail)
        return
    where = "; ".join(
        f"{pair} {v['inner_minimum_eV']:+.4g} eV at {v['inner_minimum_A']:g} Å, where the "
        f"repulsion gives {v['repulsion_eV']:+.4g} eV and the fitted part "
        f"{v['inner_minimum_eV'] - v['repulsion_eV']:+.4g}"
        for pair, v in verdicts.items() if pair in bad)
    get_logger().warning(
        "the selected potential has no repulsive core for %s: its fitted part overwhelms "
        "the core repulsion (%s, %g-%g Å) closer than any bond: %s (acefit validate shows "
        "the curves). For MD, add training data at short distances first of all (%s), and "
        "a repulsion reaching further out (a larger repulsion.outer)%s", ", ".join(bad),
        repulsion.kind.upper(), repulsion.inner, repulsion.outer, where,
        "; ".join(_short_data_hint(pair, verdicts[pair]["inner_minimum_A"],
                                   (train_pairs or {}).get(pair)) for pair in bad), tail)


def _short_data_hint(pair, r, seen) -> str:
    """Which training data would reach a dimer's failing distance ``r``, given the
    training data's shortest distance ``seen`` of the pair (None: none)."""
    if seen is None:
        return f"{pair} near {r:g} Å, none in the data"
    if seen > r:
        return f"{pair} near {r:g} Å, the data's closest: {seen:.2f} Å"
    return (f"{pair} near {r:g} Å with few neighbours, as dimers or small clusters: the "
            f"data's {pair} pairs come to {seen:.2f} Å already")


def cored_alternatives(selected, headline_entry) -> list:
    """The selected potentials (records of :func:`acefit.pipeline.export_potentials`, or
    report entries) other than ``headline_entry``, with a file written and a repulsive core
    for every pair: one per checkpoint, best score first. None when the headline has a core
    too."""
    if not pairs_without_core(headline_entry.get("dimers")):
        return []
    seen, out = {(headline_entry["label"], headline_entry["step"])}, []
    for s in sorted(selected, key=lambda s: (s["score"], s["n_active"])):
        key = (s["label"], s["step"])
        if key in seen or not s.get("files") or not s.get("dimers") \
                or pairs_without_core(s["dimers"]):
            continue
        seen.add(key)
        out.append(s)
    return out


def alternatives_text(alternatives, metric: str, on: str, headline_entry) -> str:
    """Words that name the potentials of :func:`cored_alternatives` for MD ("" for none):
    the best one by file, with its score against the headline's, and the others' files."""
    if not alternatives:
        return ""

    def file_of(s):
        files = s["files"]
        return next(iter(files.get("acefit") or next(iter(files.values()))))

    best, *rest = alternatives
    others = f" (so do {', '.join(f'`{file_of(s)}`' for s in rest)})" if rest else ""
    return (f"`{file_of(best)}` ({best['label']}, {best['n_active']} functions, {on} {metric} "
            f"{best['score']:.4g} against the headline's {headline_entry['score']:.4g}) has "
            f"a repulsive core for every pair{others}: use it for MD, after `acefit validate` "
            "(the fit compresses the headline's crystals only)")


def pairs_without_core(verdicts) -> list:
    """The pairs of :func:`dimer_verdicts` (or of a report entry's ``dimers``) whose dimer
    has no repulsive core."""
    return [pair for pair, v in (verdicts or {}).items() if not v["repulsive_core"]]


def compression_verdicts(potential, train_pairs=None, train=None) -> dict:
    """The compressed-crystal check of ``acefit validate`` on ``potential``, by element:
    each element whose ASE reference state is cubic, compressed to 60-90 % of the
    potential's lattice constant near the reference one
    (:func:`acefit.validate.compression_check`). An entry has ``structure``, ``a_A``,
    ``scales``, ``energies_eV_atom``, ``holds`` and, where it does not hold, ``fails_at``
    (the mildest scale that lowers the energy) with ``nearest_A``, the nearest-neighbour
    distance there, and ``train_nearest_A``, the shortest distance of the element's
    atoms in the training data (``train_pairs``:
    :attr:`acefit.data_checks.DataChecks.pairs`; None: not known). Where the data's
    distances reach below ``nearest_A`` already, ``dense_train`` says how many of the
    training configurations ``train`` are as dense there
    (:func:`dense_configurations`). An element not compressed has ``holds`` None and the
    ``reason``. It costs
    a lattice-constant search and five energies of a small cell per element (0.06 s
    for a 5317-function Mo potential), so the fit checks its headline potential only."""
    from acefit.calculator import ACECalculator
    from acefit.potential import unfitted_element_notices

    with unfitted_element_notices(_said_already):
        return _compression_verdicts(ACECalculator(potential), potential, train_pairs, train)


def _compression_verdicts(calc, potential, train_pairs, train) -> dict:
    from acefit.validate import (COORDINATION, ValidationSettings, _crystals,
                                 _lattice_constant, compression_check)

    cubic = _crystals(list(potential.elements), ValidationSettings())
    out = {}
    for el in potential.elements:
        spec = cubic.get(el)
        if spec is None:
            out[el] = {"structure": None, "holds": None,
                       "reason": "no cubic reference crystal (ase.data.reference_states)"}
            continue
        try:
            a0 = _lattice_constant(el, spec["structure"], float(spec["a"]), calc)[0]
        except RuntimeError as exc:     # no minimum: a verdict too, not the run's end
            out[el] = {"structure": spec["structure"], "holds": None,
                       "reason": str(exc).removeprefix(f"{el}: ")}
            continue
        check = compression_check(calc, el, spec["structure"], a0)
        entry = {k: check[k] for k in ("structure", "a_A", "scales", "energies_eV_atom",
                                       "holds", "fails_at")}
        if not check["holds"]:
            k = check["scales"].index(check["fails_at"])
            entry["nearest_A"] = check["nearest_A"][k]
            seen = entry["train_nearest_A"] = (train_pairs or {}).get(f"{el}-{el}")
            if train is not None and seen is not None and seen < entry["nearest_A"]:
                entry["dense_train"] = dense_configurations(
                    train, el, entry["nearest_A"], COORDINATION[spec["structure"]])
        out[el] = entry
    return out


def dense_configurations(train, element, radius, neighbours) -> dict:
    """How many of the configurations ``train`` hold an atom of ``element`` with at least
    ``neighbours`` atoms (of any element) within ``radius`` Å: as dense as a compressed
    crystal whose nearest neighbours are that close. ``{"configs", "of", "neighbours"}``."""
    from acefit.basis.neighbours import neighbour_pairs
    from acefit.elements import atomic_number

    z = atomic_number(element)
    n = 0
    for c in train:
        mine = c.atoms.numbers == z
        if not mine.any():
            continue
        i = neighbour_pairs(c.atoms, radius * (1 + 1e-9))[0]     # each pair from both ends
        n += bool((np.bincount(i, minlength=len(mine))[mine] >= neighbours).any())
    return {"configs": n, "of": len(train), "neighbours": neighbours}


def _reaches(v) -> bool:
    """Whether the training data's distances of a collapsing crystal's element reach
    below its failing nearest-neighbour distance (the collapse is then not for want of
    short distances)."""
    return v.get("train_nearest_A") is not None and v["train_nearest_A"] < v["nearest_A"]


def collapse_text(el, v) -> str:
    """How a crystal of :func:`compression_verdicts` that does not hold fails, in words."""
    scales, energies = v["scales"], list(v["energies_eV_atom"])
    k = scales.index(v["fails_at"])
    milder = [j for j in range(len(scales)) if scales[j] > scales[k]]
    j = min(milder, key=lambda j: scales[j]) if milder else None
    against = f"{energies[j]:+.3g} at {scales[j]:g} a" if j is not None else "0 at a"
    seen = v.get("train_nearest_A")
    data = (f"the training data's shortest {el}-{el} distance: {seen:.2f} Å"
            if seen is not None else f"no {el}-{el} distance in the training data")
    dense = v.get("dense_train")
    if dense:
        data += (f"; {dense['configs']} of {dense['of']} training configurations hold {el} "
                 f"atoms with {dense['neighbours']} neighbours that close")
    return (f"{v['structure']} {el} at {scales[k]:g} a (nearest neighbours {v['nearest_A']:.2f} "
            f"Å; {data}): {energies[k]:+.3g} eV/atom against {against}")


def collapse_advice(verdicts) -> str:
    """What training data would help the crystals of :func:`compression_verdicts` that
    collapse: compressed crystals (dense environments) where the data's distances reach
    closer already, else compressed cells or short distances."""
    bad = {el: v for el, v in verdicts.items() if v["holds"] is False}
    dense = [el for el, v in bad.items() if _reaches(v)]
    short = [el for el in bad if el not in dense]
    parts = []
    if dense:
        parts.append(f"compressed crystals of {', '.join(dense)} (dense environments: the "
                     "training data's distances are short enough already)")
    if short:
        parts.append("compressed cells or short distances"
                     + (f" of {', '.join(short)}" if dense else ""))
    return "add training data of " + " and ".join(parts)


def warn_collapse(verdicts) -> None:
    """Warn of the crystals of :func:`compression_verdicts` that do not hold."""
    bad = [collapse_text(el, v) for el, v in (verdicts or {}).items() if v["holds"] is False]
    if bad:
        get_logger().warning(
            "the selected potential's energy falls again under compression, so a crystal "
            "pressed that far would collapse: %s. MD that presses atoms "
            "this close (high pressure, collisions) would collapse too: %s (acefit validate "
            "shows the curves)", "; ".join(bad), collapse_advice(verdicts))
