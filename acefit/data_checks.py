"""What the config and the loaded data cannot do together, found before the assembly, so
that a corrected config reuses the run directory (:func:`check_against_data`, with
:func:`check_sizes` of the basis): elements, E0, cutoffs that reach no pair or thousands of
neighbours, config_type keys that match no group, a selection metric the data cannot
score, rows too few for the basis, stresses that disagree with their energies; and, named
but not refused, what the fit cannot learn from the data (an element or element pair the
training data never show, an element whose functions outnumber its rows, repeated
structures, a core repulsion's reach into the data, :func:`log_repulsion_reach`). Their
findings that the fit uses later come back as :class:`DataChecks`."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import numpy as np

from acefit.data import ase_group_hints
from acefit.fit_settings import repulsion_setting, weight_table
from acefit.progress import get_logger
from acefit.selection import METRIC_KEYS

__all__ = ["DataChecks", "check_against_data", "check_sizes", "log_repulsion_reach",
           "huber_rows_problem", "warn_repeated_structures", "doubtful_test_stresses",
           "basis_elements", "unfitted_elements", "R0_FLOOR", "MAX_NEIGHBOURS"]


@dataclass
class DataChecks:
    """What :func:`check_against_data` found that a fit or its plan uses later:
    ``stress``, the stress checks (:func:`acefit.consistency.check_stresses`) of the
    training, validation and test data; ``doubtful_stresses``, the test stresses scored
    but in doubt (:func:`doubtful_test_stresses`: the fit's warning and report.md's note
    from one record); ``nearest``, a cutoff and each training
    configuration's shortest interatomic distance below it (inf where none is), from the
    cutoff check's neighbour search; ``train_rows``, the training rows per kind, all of
    them and those with a nonzero weight (:func:`acefit.design.row_counts`), and
    ``val_rows`` those of the validation data; ``pairs``,
    the shortest distance of each element pair in the training data from the same search
    (``{"Cu-Au": Å}``, pairs farther apart than every cutoff left out), which the fit's
    compression check of its headline potential quotes."""

    stress: list
    doubtful_stresses: dict
    nearest: tuple
    train_rows: tuple
    val_rows: tuple
    pairs: dict = field(default_factory=dict)


def check_against_data(cfg: dict, data, basis) -> DataChecks:
    """What the loaded data and the config cannot do together, found before the assembly
    (so that a corrected config reuses the run directory): an error for an element the
    basis lacks (naming the file and frame), an error for a basis element without a
    ``data.e0`` value (and a note of those it has for no basis element) or for
    ``data.e0: fit`` without a training energy, an error for a
    selection metric whose
    quantity the selecting set lacks (nothing would be exported) or, for the loss, whose
    validation rows all weigh 0 (it would select the empty model), an error for cutoffs
    no two training atoms are within and a warning for a pair's cutoff within none of its
    distances, an element in no training configuration or a pair of elements never near
    each other (:func:`_check_cutoff_reach`), an error for config_type weights and stress
    readings that match no group of any data set (typos, :func:`_check_group_keys`), a
    warning for weights of groups with no training configuration and readings that read
    no stress, for stresses that disagree with their energies (weighed, or of the test
    data only) or are untested beside a converter's error (not fitted, but of the test
    data), and for a validation set too small to select on
    (:func:`acefit.data.validation_coverage`). Returns the :class:`DataChecks`."""
    from acefit.config import check_e0, config_error
    from acefit.data import check_elements, config_key, offered_text, validation_coverage

    try:
        check_elements(data.train, basis.elements, advice="add them to basis.elements")
        # a held-out element with no training data would be scored by unfitted functions
        for part in (data.val, data.test):
            check_elements(part, basis.elements, advice=(
                "leave these configurations out of the file, or add training "
                "configurations with them and add them to basis.elements"))
    except ValueError as exc:
        raise config_error(cfg, [("basis.elements", str(exc))]) from None
    _warn_held_out_elements_without_training(data, basis)
    unused = check_e0(cfg, basis.elements)  # before the assembly, which needs each one
    if cfg["data"]["e0"] == "fit" and all(c.energy is None for c in data.train):
        why = " (data.keys.energy is null)" if cfg["data"]["keys"]["energy"] is None else ""
        shown, settings = offered_text(data.offered.get("energy", []), config_key)
        raise config_error(cfg, [("data.e0", (
            f"found 'fit', but no training configuration has an energy{why} to fit E0 to"
            + (f", and the files carry {shown}" if settings else "") + "; allowed: zero, "
            + "or " * (not settings) + "a mapping {element: eV} with a value for each element "
            f"of the basis ({', '.join(basis.elements)})"
            + "".join(f", or {setting}" for setting in settings)))])
    if unused:
        get_logger().info("data.e0: the values of %s are not used (no such element in the "
                          "basis)", ", ".join(unused))
    _check_group_keys(cfg, data)
    metric = cfg["selection"]["metric"]
    if metric in METRIC_KEYS:
        quantity = {"E": "energy", "F": "forces"}[METRIC_KEYS[metric][0]]
        on, name = (data.val, "validation") if data.val else (data.train, "training")
        if all(getattr(c, quantity) is None for c in on):
            raise config_error(cfg, [("selection.metric", (
                f"found {metric!r}, but the {name} data have no {quantity} to score it; "
                f"allowed: 'loss', or a metric of a quantity they have"))])
    from acefit.design import row_counts

    table = weight_table(cfg)
    train_rows = row_counts(data.train, table)
    m = sum(train_rows[1].values())
    if m < len(basis):      # the reduced form needs m >= n (found by fuzzing `acefit init`)
        raise config_error(cfg, [("basis", (
            f"{len(basis)} functions, but the training data give only {m} weighted rows "
            f"(a fit needs at least one per function); allowed: a basis of at most {m} "
            "functions (a lower basis.totaldegree or order), or more training data"))])
    val_rows = row_counts(data.val, table)
    if data.val and metric == "loss" and not any(val_rows[1].values()):
        groups = sorted({c.config_type for c in data.val})
        held = {q for q, quantity in (("E", "energy"), ("F", "forces"))
                if any(getattr(c, quantity) is not None for c in data.val)}
        unweighted = [m for m, (q, _) in METRIC_KEYS.items() if q in held]
        raise config_error(cfg, [("selection.metric", (
            f"found 'loss', but every row of the validation data weighs 0 (config_type(s) "
            f"{groups} under data.weights), so the loss is 0 at every checkpoint and would "
            "select the first, an empty model; allowed: a nonzero weight for a validation "
            "group" + (f", or an unweighted metric ({', '.join(unweighted)})"
                       if unweighted else "")))])
    huber = huber_rows_problem(cfg, m, len(basis))
    if huber:
        raise config_error(cfg, huber)
    *nearest, pairs = _check_cutoff_reach(cfg, data.train, basis)
    _warn_underdetermined_centres(data.train, table, basis)
    warn_repeated_structures(data)
    checks, doubt = _warn_inconsistent_stresses(table, data, cfg["data"]["stress_reading"])
    _warn_unfitted_weights(cfg, data)
    _warn_unused_readings(data, cfg["data"]["stress_reading"])
    coverage = validation_coverage(data.train, data.val, cfg["data"]["validation"])
    if coverage:
        get_logger().warning(coverage)
    return DataChecks(stress=checks, doubtful_stresses=doubt, nearest=tuple(nearest),
                      train_rows=train_rows, val_rows=val_rows, pairs=pairs)


def check_sizes(cfg: dict, n_functions: int) -> None:
    """Sizes beyond the basis: a-priori sub-bases and ARD targets fail before assembly,
    not after it; budgets and max_active beyond it (no limit, then) are logged."""
    from acefit.config import config_error

    problems = [(f"solvers[{i}].sizes", (f"found {max(spec['sizes'])}; allowed: at most the "
                 f"{n_functions} functions of the basis"
                 + ("" if spec["name"] == "ard" else " (or a count of evenly spaced sizes)")))
                for i, spec in enumerate(cfg["solvers"])
                if isinstance(spec.get("sizes"), list) and max(spec["sizes"]) > n_functions]
    if problems:
        raise config_error(cfg, problems)
    log = get_logger()
    beyond = [f"selection.budgets {b}" for b in cfg["selection"]["budgets"] if b > n_functions]
    beyond += [f"solvers[{i}].max_active {spec['max_active']}"
               for i, spec in enumerate(cfg["solvers"])
               if (spec.get("max_active") or 0) > n_functions]
    if beyond:
        log.warning("%s: more than the %d functions of the basis (no limit, then)",
                    ", ".join(beyond), n_functions)


def huber_rows_problem(cfg: dict, m: int, n: int) -> list:
    """(key, message) of each ista solver with ``loss: huber`` whose dense training rows,
    ``m`` x ``n``, exceed ``output.train_rows_gib``: that path holds them in memory."""
    limit = cfg["output"]["train_rows_gib"]
    gib = 8.0 * m * n / 2 ** 30
    return [(f"solvers[{i}].loss", f"found 'huber', which fits the {m} x {n} dense weighted "
             f"training rows ({gib:.2f} GiB in memory) instead of the reduced system, above "
             f"output.train_rows_gib = {limit}; allowed: output.train_rows_gib of at least "
             f"{gib:.2f}, or loss: 'least_squares'")
            for i, spec in enumerate(cfg["solvers"])
            if spec.get("loss") == "huber" and gib > limit]


R0_FLOOR = 0.5
"""A pair's ``basis.r0`` below this share of its shortest training distance is warned of:
a user's r0 of 0.272 Å for 2.72 (shortest Cu-Au distance 1.88 Å) gave test errors 16-31x
those of the default, with no word. On the quickstart (shortest distances 2.06-2.41 Å),
r0 1.0 for every pair doubled OMP's validation loss at 300 functions (0.0144 against
0.0075) and 0.5 made it 4.4x."""


MAX_NEIGHBOURS = 5000
"""Neighbours per atom a cutoff may reach in a periodic training cell (about 25 Å in a
metal; the Zuo cutoffs reach about 60)."""


def _check_cutoff_reach(cfg: dict, train, basis) -> tuple:
    """Refuse cutoffs that no two training atoms are within (every function but the
    constants would see nothing), and warn about a pair whose training atoms come closer
    than the largest cutoff but never within the pair's own (its functions see nothing:
    a ``basis.rcut`` entry too short), a basis element in no training configuration and
    a pair of elements that no training configuration brings within its cutoff (their
    functions are not fitted: binary data of a ternary basis), and a given ``basis.r0``
    below ``R0_FLOOR`` of its pair's shortest training distance (a slip of the decimal
    point). Returns the largest cutoff, each training configuration's shortest distance
    below it (inf: none) and each element pair's (``{"Cu-Au": Å}``, basis order; pairs
    never that close left out)."""
    from acefit.basis.neighbours import neighbour_pairs
    from acefit.config import config_error
    from acefit.elements import pair_name

    radial = basis.radial
    # before any search: a cutoff of many shells would not fit in memory (1000 Å: one
    # allocation failure, named nowhere)
    for c in train:
        if c.atoms.pbc.all():
            crowd = c.n_atoms / c.atoms.get_volume() * 4 / 3 * np.pi * radial.max_cutoff ** 3
            if crowd > MAX_NEIGHBOURS:
                raise config_error(cfg, [("basis.rcut", (
                    f"found {cfg['basis']['rcut']}, which puts about {crowd:.3g} neighbours "
                    f"around each atom of {c.where}; allowed: a cutoff of a few neighbour "
                    f"shells, at most {MAX_NEIGHBOURS} neighbours (ACE uses 4-8 Å)"))])
    index = {z: k for k, z in enumerate(radial.elements)}
    inside, closest = set(), {}      # pairs (a, b) of element indices, a <= b
    shortest = np.full(len(train), np.inf)
    by_pair = np.full((len(index), len(index)), np.inf)
    for k, c in enumerate(train):
        i, j, _, d = neighbour_pairs(c.atoms, radial.max_cutoff)
        if not len(d):
            continue
        shortest[k] = d.min()
        kind = np.array([index[z] for z in c.atoms.numbers])
        a, b = np.minimum(kind[i], kind[j]), np.maximum(kind[i], kind[j])
        np.minimum.at(by_pair, (a, b), d)
        within = d < radial.rcut[a, b]
        inside.update(zip(a[within].tolist(), b[within].tolist()))
        for pair in set(zip(a[~within].tolist(), b[~within].tolist())) - inside:
            near = (a == pair[0]) & (b == pair[1])
            closest[pair] = min(closest.get(pair, np.inf), float(d[near].min()))
    if not inside:
        # (only now: how close the atoms do come, for the message)
        apart = float(_shortest_distances(train, 8.0).min(initial=np.inf))
        raise config_error(cfg, [("basis.rcut", (
            f"found {cfg['basis']['rcut']}, and no two atoms of the training data are that "
            f"close{f' (the closest are {apart:.3g} Å apart)' if apart < np.inf else ''}: the "
            "basis functions would see nothing; allowed: cutoffs beyond the neighbour "
            "distances of the data"))])
    # elements, and pairs of elements, whose functions see nothing (with three elements,
    # binary data leave a pair out)
    present = sorted({index[z] for c in train for z in set(c.atoms.numbers.tolist())})
    for a, b in itertools.combinations_with_replacement(present, 2):
        if (a, b) in inside:
            continue
        pair = pair_name(basis.elements[a], basis.elements[b])
        if (a, b) in closest:   # near, but not within the pair's own cutoff
            get_logger().warning(
                "basis.rcut: no %s pair of the training data is within its cutoff %g Å "
                "(the closest are %.3g Å apart), so its functions see nothing and are not "
                "fitted", pair, float(radial.rcut[a, b]), closest[a, b])
        else:
            get_logger().warning(
                "no %s pair of the training data is within the cutoff %g Å (no training "
                "configuration has them near each other), so its functions see nothing and "
                "are not fitted", pair, float(radial.rcut[a, b]))
    absent = [basis.elements[k] for k in range(len(index)) if k not in present]
    if absent:
        names = ", ".join(absent)
        e0 = (", nor is E0 (data.e0: fit gives it 0)" if cfg["data"]["e0"] == "fit"
              else "")
        get_logger().warning(
            "basis.elements: no training configuration holds %s, so the functions of %s are "
            "not fitted (zero)%s: the potential cannot describe atoms of %s", names, names,
            e0, names)
    names = basis_elements(basis)
    pairs = {f"{names[a]}-{names[b]}": float(by_pair[a, b])
             for a, b in itertools.combinations_with_replacement(range(len(index)), 2)
             if np.isfinite(by_pair[a, b])}
    given = cfg["basis"]["r0"]
    for a, b in itertools.combinations_with_replacement(range(len(index)), 2):
        # the reference crystals' default can sit far below a dilute pair's distances
        by_default = given is None or (isinstance(given, dict) and "default" not in given and
                                       not {f"{names[a]}-{names[b]}",
                                            f"{names[b]}-{names[a]}"} & set(given))
        if not by_default and np.isfinite(by_pair[a, b]) \
                and radial.r0[a, b] < R0_FLOOR * by_pair[a, b]:
            get_logger().warning(
                "basis.r0: %s has r0 %g Å, below %g of the pair's shortest training distance "
                "(%.3g Å): the distance transform then spends its resolution where no "
                "training pair is (a decimal-point slip?); r0 is usually near the pair's "
                "nearest-neighbour distance", f"{names[a]}-{names[b]}", float(radial.r0[a, b]),
                R0_FLOOR, float(by_pair[a, b]))
    return radial.max_cutoff, shortest, pairs


def _shortest_distances(configs, cutoff: float) -> np.ndarray:
    """Each configuration's shortest interatomic distance below ``cutoff`` (inf: none)."""
    from acefit.basis.neighbours import shortest_distance

    return np.array([shortest_distance(c.atoms, cutoff) for c in configs])


def log_repulsion_reach(cfg: dict, data, nearest=None) -> None:
    """Say how far into the training data the core repulsion reaches: where it does, the
    fit learns the labels less the repulsion; where it does not, the fit is unchanged.
    ``nearest``: :attr:`DataChecks.nearest`, whose search serves when the repulsion ends
    within its cutoff (no second search of the training data)."""
    repulsion = repulsion_setting(cfg)
    if repulsion is None:
        return
    if nearest is None or repulsion.outer > nearest[0]:
        nearest = (repulsion.outer, _shortest_distances(data.train, repulsion.outer))
    inside = nearest[1][nearest[1] < repulsion.outer]
    if len(inside):
        get_logger().info("core repulsion %s: inside %g Å in %d of %d training configurations "
                          "(shortest distance %.2f Å); the fit learns their labels less it",
                          repulsion.kind.upper(), repulsion.outer, len(inside),
                          len(data.train), float(inside.min()))
    else:
        get_logger().info("core repulsion %s: no training pair inside %g Å, so the fit is the "
                          "one without it", repulsion.kind.upper(), repulsion.outer)


def _warn_underdetermined_centres(train, table, basis) -> None:
    """Warn about an element whose own functions outnumber the rows that can see them: a
    function centred on element X is nonzero only on the rows of training configurations
    holding X, so with fewer such rows (weighted: nonzero weight) than functions centred
    on X, the data cannot determine them all, whatever the rest of the data (a rare
    dopant, few frames of a phase). One element: the fit's own rows-against-functions
    check says it."""
    from acefit.design import row_weights
    from acefit.elements import atomic_number

    if len(basis.elements) < 2:
        return
    holding, rows = {}, {}      # per atomic number: configurations, weighted rows
    for c in train:             # each configuration's rows counted once, for all its elements
        weighted = sum(int(np.count_nonzero(w)) for w in row_weights(c, table).values())
        for z in np.unique(c.atoms.numbers).tolist():
            holding[z] = holding.get(z, 0) + 1
            rows[z] = rows.get(z, 0) + weighted
    centres = np.array([f.centre for f in basis.functions])
    for symbol in basis_elements(basis):
        z = atomic_number(symbol)
        if z not in holding:
            continue            # _check_cutoff_reach names an element in no configuration
        functions = int(np.count_nonzero(centres == z))
        if rows[z] < functions:
            get_logger().warning(
                "basis.elements: the %d training configuration(s) holding %s give %d weighted "
                "rows, fewer than the %d functions centred on %s, which only those rows see: "
                "the data cannot determine them all (a sparse solver chooses among them, a "
                "dense one leans on its prior); allowed: more training data with %s, or a "
                "smaller basis (basis.totaldegree, basis.order)", holding[z], symbol, rows[z],
                functions, symbol, symbol)


def _warn_held_out_elements_without_training(data, basis) -> None:
    """Warn about validation and test configurations holding a basis element that no
    training configuration has (:func:`unfitted_elements`): unfitted functions score them,
    and their errors enter the headline's (an element outside the basis is refused with
    the same advice)."""
    from acefit.elements import atomic_number

    unfitted = set(unfitted_elements(basis, data.train))
    for name, part in (("validation", data.val), ("test", data.test)):
        held = [c for c in part if unfitted & set(c.atoms.get_chemical_symbols())]
        if held:
            present = {e for c in held for e in c.atoms.get_chemical_symbols()}
            missing = sorted(unfitted & present, key=atomic_number)
            get_logger().warning(
                "%d %s configuration(s) hold %s, which no training configuration has "
                "(first: %s): unfitted functions score them, and their errors enter the "
                "%s errors; leave them out of the file, or add training configurations with "
                "%s", len(held), name, ", ".join(missing), held[0].where, name,
                "it" if len(missing) == 1 else "them")


def _check_group_keys(cfg: dict, data) -> None:
    """Refuse a config_type key of ``data.weights`` or ``data.stress_reading`` that names
    no group of the training, validation or test data: a typo, which would otherwise
    weigh or read nothing for a whole run. The error names the key's line, the groups
    there are, and the group ASE makes of a key it reads as a number."""
    from acefit.config import config_error
    from acefit.data import unknown_group

    groups = {c.config_type for part in (data.train, data.val, data.test) for c in part}
    problems = [(f"data.{setting}.config_type.{key}", unknown_group(key, groups))
                for setting in ("weights", "stress_reading")
                for key in cfg["data"][setting]["config_type"] if key not in groups]
    if problems:
        raise config_error(cfg, problems)


def _warn_unfitted_weights(cfg: dict, data) -> None:
    """Warn about config_type weights of groups with no training configuration: of the
    validation data, they weigh only the loss that selects the checkpoints; of the test
    data only, nothing (:func:`_check_group_keys` refuses those of no group)."""
    fitted = {c.config_type for c in data.train}
    held = {c.config_type for c in data.val}
    unfitted = sorted(set(cfg["data"]["weights"]["config_type"]) - fitted)
    for names, what in (
            ([k for k in unfitted if k in held], "they weigh only the validation loss that "
             "selects the checkpoints"),
            ([k for k in unfitted if k not in held], "of the test data only, where no weight "
             "enters, they are unused")):
        if names:
            get_logger().warning(
                "data.weights.config_type: %s match no training configuration (%s); "
                "config_types in the training data: %s", names, what, sorted(fitted))


def _warn_unused_readings(data, readings: dict) -> None:
    """Warn about stress readings (``data.stress_reading``) that read no stress: of a
    config_type with no stress in the training, validation or test data (a typo, or a
    group whose stresses are not read), or a default that every group with stresses
    overrides. Readings apply to every set: a group of the validation or test data only
    is read too."""
    stressed = {c.config_type for part in (data.train, data.val, data.test) for c in part
                if c.stress is not None}
    by_group = readings["config_type"]
    unused = sorted(set(by_group) - stressed)
    if unused:
        get_logger().warning(
            "data.stress_reading.config_type: %s match no configuration with a stress in the "
            "training, validation or test data (their readings read nothing); config_types "
            "with stresses: %s%s", unused, sorted(stressed), ase_group_hints(unused, stressed))
    if readings["default"] != "as_labelled" and not stressed - set(by_group):
        get_logger().warning(
            "data.stress_reading.default: %s reads no stress (%s); it applies to the "
            "config_types not in data.stress_reading.config_type", readings["default"],
            f"every config_type with stresses has its own reading: {sorted(stressed)}"
            if stressed else "no configuration has a stress")


def warn_repeated_structures(data) -> None:
    """Warn about structures that appear twice: within the training data (weighted twice)
    and, worse, in training and a held-out set (held-out errors that measure the fit).
    ``data``: a :class:`acefit.fit_inputs.Data` (``acefit init`` gives its training and test
    files)."""
    from acefit.data import repeated_structures

    log = get_logger()
    parts = {"training": data.train, "validation": data.val, "test": data.test}
    configs = [c for part in parts.values() for c in part]
    # by position: one file can be both training and test data, its frames named alike
    part_of = [name for name, part in parts.items() for _ in part]
    groups = {}
    for k, first in repeated_structures(configs):
        groups.setdefault((part_of[k], part_of[first]), []).append(
            (configs[k].where, configs[first].where))
    for (held, fitted), pairs in groups.items():
        if held == fitted:
            log.warning("%d %s configuration%s an earlier one (first: %s = %s)%s",
                        len(pairs), held, " repeats" if len(pairs) == 1 else "s repeat",
                        *pairs[0], "; each copy is fitted as another configuration"
                        if held == "training" else "")
        else:
            log.warning("%d %s configuration%s also in the %s data (first: %s = %s): "
                        "%s the %s, not the prediction", len(pairs), held,
                        " is" if len(pairs) == 1 else "s are", fitted, *pairs[0],
                        "its error measures" if len(pairs) == 1 else "their errors measure",
                        "fit" if fitted == "training" else "selection")


def _warn_inconsistent_stresses(table: dict, data, readings: dict) -> tuple[list, dict]:
    """Warn about stresses that disagree with their energies (an error of sign, Voigt
    order or units in the labels; :mod:`acefit.consistency`) as ``readings``
    (``data.stress_reading``) reads them: those weighed in ``table``
    (:func:`acefit.fit_settings.weight_table`), and those of groups in the test data,
    unweighed or of the test data only, whose test stress errors they make meaningless;
    and about the groups untested beside a converter's error, not fitted but in the test
    data (:func:`doubtful_test_stresses`), whose test stresses are scored as labelled. A
    group is checked on its frames of every set together (a reading applies to them all).
    The checks, and the record of :func:`doubtful_test_stresses`."""
    from acefit.consistency import (MIN_PAIRS, check_stresses, converter_errors, converter_text,
                                    describe_reading, untested_beside_converters)
    from acefit.design import weights_for

    checks = check_stresses([*data.train, *(data.val or []), *(data.test or [])])
    found = converter_errors(checks, readings)
    beside = untested_beside_converters(checks, readings)
    fitted, weighed, tested = _stressed_groups(data)
    for check in checks:
        weight = weights_for(table, check.config_type)["V"]
        held = check.config_type not in weighed
        if check.verdict != "inconsistent" or (weight == 0 and check.config_type not in tested):
            continue
        reading = readings["config_type"].get(check.config_type, readings["default"])
        if reading == "as_labelled":
            what = check.describe()
        else:   # a reading found now would be one on top of the configured one
            what = (f"{check.config_type}: stresses read with {describe_reading(reading)} "
                    f"(data.stress_reading: {reading}) inconsistent with the energies: "
                    f"{check.bad} of {check.pairs} strain pairs miss ΔE; check that reading")
        if held:    # no weight silences it: these labels enter the test errors only
            get_logger().warning(
                "%s; they are in the test data only: the test stress errors (in total and "
                "of %s) measure these labels, not the fit", what, check.config_type)
        elif weight == 0:   # out of the fit, but not out of the test errors
            get_logger().warning(
                "%s; V 0 keeps them out of the fit, but the test data have them too: the "
                "test stress errors (in total and of %s) include these labels", what,
                check.config_type)
        else:   # validation rows are not fitted, but their loss selects the checkpoints
            how = "fitted" if check.config_type in fitted else \
                "in the validation data only, which select the checkpoints,"
            get_logger().warning(
                "%s; they are %s with V %g: fix the labels, or set "
                "data.weights.config_type: {%s: {V: 0.0}}", what, how, weight,
                json.dumps(check.config_type))
    doubt = doubtful_test_stresses(table, data, checks, beside, found)
    untested = [group for group, why in doubt["groups"].items() if why == "untested"]
    if untested:    # the inconsistent ones were warned of above
        held = [group for group in untested if group not in weighed]
        get_logger().warning(
            "%s: stresses not tested against their energies (fewer than %d strain pairs), "
            "beside a converter's error of sign or units found in %s, which would go unseen "
            "in these; not fitted (%s), but the test stress errors (in total and of each) "
            "include them as labelled: if they are in that convention too, read them so "
            "(data.stress_reading)", ", ".join(untested), MIN_PAIRS,
            converter_text(doubt["found"]),
            "V 0" if not held else "in the test data only" if held == untested else
            f"V 0; {', '.join(held)} in the test data only")
    weighed_untested = [group for group in beside
                        if group in weighed and weights_for(table, group)["V"] > 0]
    if weighed_untested:     # worse than scored: fitted, or selecting the checkpoints
        unfitted = [group for group in weighed_untested if group not in fitted]
        get_logger().warning(
            "%s: stresses %s as labelled (V > 0) but not tested against their energies "
            "(fewer than %d strain pairs), beside a converter's error of sign or units found "
            "in %s, which would go unseen in these: if they are in that convention too, read "
            "them so (data.stress_reading); if unsure, give them V 0",
            ", ".join(weighed_untested), "fitted" if not unfitted else
            "in the validation data only, which select the checkpoints, weighed"
            if unfitted == weighed_untested else
            f"fitted ({', '.join(unfitted)}: in the validation data only) and weighed",
            MIN_PAIRS, converter_text(found))
    return checks, doubt


def _stressed_groups(data) -> tuple[set, set, set]:
    """The config_types with stresses: fitted (training data), weighed (training or
    validation data: the validation loss selects the checkpoints) and tested (test
    data)."""
    def stressed(part):
        return {c.config_type for c in part or [] if c.stress is not None}

    fitted = stressed(data.train)
    return fitted, fitted | stressed(data.val), stressed(data.test)


def doubtful_test_stresses(table: dict, data, checks, untested, found) -> dict:
    """The config_types whose test stresses are scored, although they are not fitted (V 0
    in ``table``, or in the test data only) and their labels are in doubt, as the config's
    ``data.stress_reading`` reads them: inconsistent with their energies (``checks``,
    :func:`acefit.consistency.check_stresses`), or ``untested`` beside a converter's error
    of sign or units found in other groups
    (:func:`acefit.consistency.untested_beside_converters`), where that error would go
    unseen. ``{"groups": {config_type: "inconsistent" or "untested"}, "found":
    {config_type: reading}}`` (``found``, the converter's errors,
    :func:`acefit.consistency.converter_errors`; {} without such a group), for the fit's
    warning and the note beside report.md's stress errors, once per fit
    (:attr:`DataChecks.doubtful_stresses`)."""
    from acefit.design import weights_for

    _, weighed, tested = _stressed_groups(data)
    groups = {check.config_type: "inconsistent" if check.verdict == "inconsistent"
              else "untested" for check in checks
              if (check.verdict == "inconsistent" or check.config_type in untested)
              and check.config_type in tested
              and (check.config_type not in weighed
                   or weights_for(table, check.config_type)["V"] == 0)}
    return {"groups": groups, "found": dict(found) if groups else {}}


def basis_elements(basis) -> list[str]:
    from ase.data import chemical_symbols

    return [z if isinstance(z, str) else chemical_symbols[int(z)] for z in basis.elements]


def unfitted_elements(basis, train) -> list[str]:
    """The elements of ``basis`` that no configuration of ``train`` holds: their functions
    are not fitted (the fit warns; each exported potential records them,
    :attr:`acefit.Potential.unfitted_elements`)."""
    held = {int(z) for c in train for z in np.unique(c.atoms.numbers)}
    names = basis_elements(basis)
    return [name for name, z in zip(names, _basis_numbers(basis)) if z not in held]


def _basis_numbers(basis) -> list[int]:
    from acefit.elements import atomic_number

    return [atomic_number(e) for e in basis.elements]
