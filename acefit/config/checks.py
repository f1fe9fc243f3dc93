"""The rules across keys: those of a config whose keys are each valid
(:func:`cross_checks`), and those that need the basis' elements, run again once the data
give them (per element pair distances, :func:`check_radial_pairs`; the e0 table,
:func:`check_e0`).
"""

from __future__ import annotations

import math

from acefit.config.problems import ConfigError, found_text, loaded_context
from acefit.config.schema import DEBIAS, DEFAULT_TOTALDEGREE
from acefit.data import DEFAULT_CONFIG_TYPE
from acefit.elements import pair_name


def _show_numbers(values) -> str:
    """A list of numbers as written (validation stores total degrees as floats)."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _check_subbasis_degrees(ctx, where: str, solver: dict, basis: dict) -> None:
    """`totaldegrees` of an a-priori path: not with `sizes`, nested, within the basis."""
    key = f"{where}.totaldegrees"
    if solver.get("sizes") is not None:
        ctx.error(key, "set together with `sizes`; allowed: one of them")
    order = basis["order"]
    full = basis["totaldegree"]
    if full is None:
        full = list(DEFAULT_TOTALDEGREE[:order])
    elif not isinstance(full, list):
        full = [full] * order

    previous = None
    for j, entry in enumerate(solver["totaldegrees"]):
        degrees = entry if isinstance(entry, list) else [entry] * order
        where_j = f"{key}[{j}]"
        if len(degrees) > order:
            ctx.error(where_j, f"found {_show_numbers(degrees)}; allowed: at most {order} "
                      "numbers (basis.order)")
            return
        if any(d > f for d, f in zip(degrees, full)):
            ctx.error(where_j, f"found {_show_numbers(degrees)}; allowed: at most the basis' "
                      f"total degrees {_show_numbers(full)}, order by order")
        if previous is not None and (len(degrees) < len(previous)
                                     or any(d < e for d, e in zip(degrees, previous))):
            ctx.error(where_j, f"found {_show_numbers(degrees)}; allowed: at least the entry "
                      f"before, {_show_numbers(previous)}, in every order (nested sub-bases)")
        previous = degrees


def _pair_values(ctx, basis, key, elements, elements_from):
    """``basis.<key>``, one value (or null) or one per element pair with an optional
    ``default``, as ``(named, rest)``: ``{frozenset(pair): (path, value)}`` of the pairs
    it names and the ``(path, value)`` of every other pair (None when it has none). Its
    pairs must be of ``elements`` (when known; ``elements_from`` names them) and each
    given once."""
    value = basis[key]
    if not isinstance(value, dict):
        return {}, (f"basis.{key}", value)
    named = {}
    for pair, v in value.items():
        if pair == "default":
            continue
        path, members = f"basis.{key}.{pair}", frozenset(pair.split("-"))
        if elements is not None and not members <= set(elements):
            ctx.error(path, f"names an element not in {elements_from} {list(elements)}; "
                      "allowed: pairs of those elements")
        elif members in named:
            ctx.error(path, f"the pair of {named[members][0]} again (the order of a pair's "
                      "elements does not matter); allowed: each pair once")
        else:
            named[members] = (path, v)
    return named, ((f"basis.{key}.default", value["default"]) if "default" in value else None)


def _check_radial_pairs(ctx, basis, elements, elements_from="basis.elements",
                        reference_r0=None):
    """rin < r0 < rcut for every element pair, ``basis.rcut`` and ``basis.r0`` each one
    distance or one per pair: the pairs of ``elements`` when known, else those named and
    one standing for all the rest (their defaults). ``reference_r0(a, b)``: the r0 of a
    pair that basis.r0 leaves to the reference crystals (without it those pairs are left
    to the basis, which checks them). A value out of range is named once, against the
    smallest cutoff it meets."""
    rcuts, rcut_rest = _pair_values(ctx, basis, "rcut", elements, elements_from)
    r0s, r0_rest = _pair_values(ctx, basis, "r0", elements, elements_from)
    if elements is None:
        pairs = [(None, p) for p in dict.fromkeys([*rcuts, *r0s])] + [(None, None)]
    else:
        pairs = [((a, b), frozenset((a, b))) for i, a in enumerate(elements)
                 for b in elements[i:]]
    rin, missing, worst = basis["rin"], [], {}   # worst: path -> (cutoff, message)

    def blame(path, rcut, message):
        worst[path] = min(worst.get(path, (math.inf, "")), (rcut, message))

    for names, pair in pairs:
        rcut_path, rcut = rcuts.get(pair, rcut_rest) or (None, None)
        if rcut is None:
            if names is not None:
                missing.append(pair_name(*names))
            continue
        if not rin < rcut:
            blame("basis.rin", rcut, f"{found_text(rin)}; allowed: a distance below {rcut_path} "
                                     f"= {rcut}")
            continue
        r0_path, r0 = r0s.get(pair, r0_rest) or (None, None)
        if r0 is not None and not rin < r0 < rcut:
            blame(r0_path, rcut, f"{found_text(r0)}; allowed: a distance between basis.rin = "
                                 f"{rin} and {rcut_path} = {rcut}")
        elif r0 is None and reference_r0 is not None and names is not None:
            r0 = reference_r0(*names)
            if not r0 < rcut:
                blame(rcut_path, rcut, f"{found_text(rcut)}; allowed: a distance above "
                      f"{pair_name(*names)}'s r0 = {r0:.4g} Å, the reference crystals' "
                      "nearest-neighbour distance (basis.r0 gives none for the pair), or "
                      "an r0 for the pair in basis.r0")
    if missing:
        ctx.error("basis.rcut", f"no value for the pair{'s' * (len(missing) > 1)} "
                  f"{', '.join(missing)}; allowed: one for every pair of {elements_from}, "
                  "or a `default`")
    for path, (_, message) in worst.items():
        ctx.error(path, message)


def check_radial_pairs(cfg, elements) -> None:
    """Check the config's per-pair distances against the basis' elements, which may come
    from the training data (``basis.elements: null``).

    Parameters
    ----------
    cfg : dict
        A config from :func:`load_config`.
    elements : sequence of str
        Chemical symbols of the basis.

    Raises
    ------
    ConfigError
        Naming the key (``basis.rcut.Cu-Au``): a pair without a cutoff, a pair of
        another element, a cutoff at or below the r0 a pair takes from its reference
        crystals (``basis.r0`` null or without the pair).
    """
    from ase.data import atomic_numbers

    from acefit.basis.radial import default_r0

    _against_elements(cfg, lambda ctx, source: _check_radial_pairs(
        ctx, cfg["basis"], list(elements), source,
        lambda a, b: default_r0(atomic_numbers[a], atomic_numbers[b])))


def check_e0(cfg, elements) -> list:
    """The elements of a ``data.e0`` table that the basis lacks: allowed, and unused (one
    table serves fits of subsets of its elements); a ConfigError naming ``data.e0`` (and
    its line) for an element of the basis without a value. ``elements``: as
    :func:`check_radial_pairs` takes them."""
    return _against_elements(cfg, lambda ctx, source: _check_e0(ctx, cfg["data"]["e0"],
                                                                list(elements), source))


def _against_elements(cfg, check):
    """``check(ctx, source)``'s result, run in the checking context of the loaded config
    ``cfg``, ``source`` naming where the basis' elements come from (for the messages); a
    ConfigError for the problems it found."""
    ctx = loaded_context(cfg)
    result = check(ctx, "the training data's elements" if cfg["basis"]["elements"] is None
                   else "basis.elements")
    if ctx.problems:
        raise ConfigError(ctx.problems, ctx.source)
    return result


def _check_e0(ctx, e0, elements, elements_from="basis.elements") -> list:
    """:func:`check_e0` in a checking context: an error for each element of ``elements``
    that an ``e0`` table has no value for; the table's other elements, returned."""
    if not isinstance(e0, dict):    # fit, zero: every element has one
        return []
    missing = [e for e in elements if e not in e0]
    if missing:
        ctx.error("data.e0", f"no value for {', '.join(missing)} of {elements_from} "
                             f"[{', '.join(elements)}]; allowed: a value for every element "
                             "of the basis (other elements may have one too: unused)")
    return [e for e in e0 if e not in elements]


def _check_patience(ctx, key: str, solver: dict, validation: dict) -> None:
    """`patience` stops a path of several sizes, by a validation set."""
    if solver.get("sizes") is None and solver.get("totaldegrees") is None:
        ctx.error(key, f"{found_text(solver['patience'])} for a single fit on the full basis; "
                  "allowed: null, or set `sizes` or `totaldegrees` (an a-priori path)")
    if validation["fraction"] == 0 and validation["file"] is None and validation["key"] is None:
        ctx.error(key, f"{found_text(solver['patience'])} without a validation set "
                  "(data.validation.fraction is 0); allowed: null, or a validation set")


def _check_debias_keys(ctx, key: str, solver: dict) -> None:
    """`debias_every` and `tsvd_truncation` act only through `debias`: set (to other than
    their defaults: a run's resolved config.yaml writes those out) without it, they were
    accepted and silently ignored."""
    needs = {"debias_every": ("ls", "tsvd"), "tsvd_truncation": ("tsvd",)}
    for name, methods in needs.items():
        default = DEBIAS[name].default
        if solver.get(name, default) != default and solver["debias"] not in methods:
            ctx.error(f"{key}.{name}", f"{found_text(solver[name])} with {key}.debias: "
                      f"{solver['debias']!r}, which ignores it; allowed: {key}.debias: "
                      f"{' or '.join(repr(m) for m in methods)}, or leave `{name}` out")


def _check_huber_keys(ctx, key: str, solver: dict) -> None:
    """ista's `delta` is the Huber threshold: needed with `loss: huber`, and nothing
    without it (a delta beside least squares would be silently ignored)."""
    if solver["loss"] == "huber" and solver["delta"] is None:
        ctx.error(f"{key}.delta", f"found null with {key}.loss: 'huber', which needs it; "
                  "allowed: a number > 0, the residual beyond which the loss grows linearly "
                  "(in weighted-residual units)")
    elif solver["loss"] != "huber" and solver["delta"] is not None:
        ctx.error(f"{key}.delta", f"{found_text(solver['delta'])} with {key}.loss: "
                  f"{solver['loss']!r}, which ignores it; allowed: {key}.loss: 'huber', or "
                  "leave `delta` out")


def cross_checks(cfg, ctx) -> None:
    """Rules that involve more than one key."""
    basis = cfg["basis"]
    degrees = basis["totaldegree"]
    if isinstance(degrees, list) and len(degrees) != basis["order"]:
        ctx.error("basis.totaldegree", f"found {_show_numbers(degrees)} (list); allowed: one "
                                       f"number, or {basis['order']} numbers (one per order)")
    validation = cfg["data"]["validation"]
    if validation["file"] is not None and validation["key"] is not None:
        ctx.error("data.validation", "both `file` and `key` are set; allowed: at most one")
    if basis["elements"] is not None:   # else once the data give them (check_e0)
        _check_e0(ctx, cfg["data"]["e0"], basis["elements"])
    labels = {}
    for i, solver in enumerate(cfg["solvers"]):
        label = solver["label"] or solver["name"]
        if label in labels:
            ctx.error(f"solvers[{i}].label", f"found {label!r}, already used by "
                      f"solvers[{labels[label]}]; allowed: a label unique among the solvers "
                      "(set `label` to tell two runs of one solver apart)")
        labels[label] = i
        if solver["name"] == "rrqr" and solver["rtol"] is None and solver["lam"] is None:
            ctx.error(f"solvers[{i}]", "rrqr needs `rtol` or `lam`; allowed: set one of them")
        if solver.get("totaldegrees") is not None:
            _check_subbasis_degrees(ctx, f"solvers[{i}]", solver, basis)
        if solver.get("patience") is not None:
            _check_patience(ctx, f"solvers[{i}].patience", solver, validation)
        if "debias" in solver:
            _check_debias_keys(ctx, f"solvers[{i}]", solver)
        if solver["name"] == "ista":
            _check_huber_keys(ctx, f"solvers[{i}]", solver)
    _check_radial_pairs(ctx, basis, basis["elements"])
    if basis["transform"] == "agnesi" and basis["transform_q"] <= basis["transform_p"]:
        ctx.error("basis.transform_q", f"{found_text(basis['transform_q'])}; allowed: a number "
                  f"greater than basis.transform_p = {basis['transform_p']}")
    repulsion = cfg["repulsion"]
    if repulsion["kind"] == "zbl" and not repulsion["inner"] < repulsion["outer"]:
        ctx.error("repulsion.outer", f"{found_text(repulsion['outer'])}; allowed: a distance "
                  f"greater than repulsion.inner = {repulsion['inner']}")
    if basis["pure2b"] and basis["radial_orthonormal"]:
        ctx.error("basis.radial_orthonormal", "true together with basis.pure2b: true; "
                  "allowed: one of them (pure2b subtracts two-body parts in the Legendre "
                  "radial functions)")
    if "yace" in cfg["export"]["formats"] and basis["pure2b"]:
        ctx.error("export.formats", "'yace' (LAMMPS ML-PACE) cannot represent basis.pure2b: "
                  "true; allowed: basis.pure2b: false, or drop 'yace'")
    elif "yace" in cfg["export"]["formats"] and cfg["export"]["yace_radial"] == "recurrence":
        why = []
        if basis["transform"] != "polynomial":
            why.append(f"basis.transform is {basis['transform']!r} (needs 'polynomial')")
        if basis["rin"] != 0:
            why.append(f"basis.rin is {basis['rin']} (needs 0)")
        if basis["pair_degree"] != 0 and basis["pair_envelope"] == "repulsive":
            why.append("the pair basis uses pair_envelope 'repulsive' (needs 'x' or 'y', "
                       "or pair_degree: 0)")
        if basis["radial_orthonormal"]:
            why.append("basis.radial_orthonormal is true (needs false)")
        if why:
            ctx.error("export.yace_radial", "'recurrence' can only represent polynomial "
                      "radial bases exactly, but " + "; ".join(why) + "; allowed: "
                      "export.yace_radial: spline, or change those basis keys")
    committee = cfg["export"]["committee"]
    if committee == 1:
        ctx.error("export.committee", "found 1, and a spread needs two members; allowed: 0 "
                  "(none) or an integer >= 2")
    elif committee and "acefit" not in cfg["export"]["formats"]:
        ctx.error("export.committee", f"found {committee}, but only the acefit format "
                  "(`.h5`) stores a committee and export.formats lacks it; allowed: add "
                  "'acefit' to export.formats, or committee: 0")
    default = cfg["data"]["weights"]["default"]
    if DEFAULT_CONFIG_TYPE in cfg["data"]["weights"]["config_type"]:
        ctx.error(f"data.weights.config_type.{DEFAULT_CONFIG_TYPE}", "found; it is the group "
                  "of the configurations without a config_type, which data.weights.default "
                  "weighs together with every group not listed; allowed: their weights in "
                  "data.weights.default, and the other groups' here")
    if not cfg["data"]["weights"]["config_type"] and all(default[k] == 0 for k in "EFV"):
        ctx.error("data.weights.default", f"found {default} and no config_type weights: no "
                  "row would weigh anything; allowed: at least one positive weight")
    keys = cfg["data"]["keys"]
    if keys["energy"] is None and keys["forces"] is None and keys["stress"] is None \
            and keys["virial"] is None:
        ctx.error("data.keys", "every label is switched off; allowed: at least one of energy, "
                               "forces, stress, virial")
