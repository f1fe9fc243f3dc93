"""The YAML run configuration: one schema, used to validate configs and to write the docs.

Every key a config may hold is declared once, in :data:`SCHEMA`, with its type,
default, allowed values and a one-line description. :func:`load_config` checks a
file against it *before any work starts* and returns plain nested dicts with
every default filled and every relative path resolved against the config file's
folder. :func:`render_markdown` turns the same schema into ``docs/config.md``
(``python -m acefit.config > docs/config.md``; a test keeps the two in step).

Every problem found is reported at once, as ``file:line: key.path: what was
found; what is allowed``, in a :class:`ConfigError` (a ``ValueError``). Unknown
keys and duplicate keys are errors, never silently ignored.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import yaml

from acefit.basis.radial import DEFAULT_ENVELOPE
from acefit.config.markdown import render_markdown
from acefit.config.problems import (KEY_LINES, NO_FILE, ConfigError, Context, close_match,
                                    found_text, loaded_context, show_value, type_name)
from acefit.config.problems import config_error as config_error
from acefit.config.schema import (DEBIAS, DEFAULT_TOTALDEGREE, DENSE_SOLVERS, SCHEMA,
                                  SOLVER_KINDS, SPARSE_SOLVERS)
from acefit.config.schema import (BASIS as BASIS, DATA as DATA, EXPORT as EXPORT,
                                  OUTPUT as OUTPUT, PARALLEL as PARALLEL, PRIOR as PRIOR,
                                  REPULSION as REPULSION, SELECTION as SELECTION,
                                  SOLVER as SOLVER)
from acefit.config.types import (Bool as Bool, Either as Either, Element as Element,
                                 ElementPair as ElementPair, File as File,
                                 FileName as FileName, Float as Float,
                                 GroupName as GroupName, Int as Int, Key as Key,
                                 ListOf as ListOf, MapOf as MapOf, Nullable as Nullable,
                                 OneOrList as OneOrList, Section as Section, Str as Str,
                                 Tagged as Tagged)
from acefit.data import DEFAULT_CONFIG_TYPE, extxyz_group
from acefit.elements import pair_name

_DEFAULT_TOTALDEGREE = DEFAULT_TOTALDEGREE   # tests/test_config.py checks it against ACEBasis'

__all__ = ["ConfigError", "load_config", "dump_config", "validate_config", "apply_override",
           "read_yaml", "yaml_problem", "render_markdown", "close_match",
           "SCHEMA", "SOLVER_KINDS", "SPARSE_SOLVERS", "DENSE_SOLVERS"]


def _show_numbers(values) -> str:
    """A list of numbers as written (validation stores total degrees as floats)."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def load_config(path, overrides=()) -> dict:
    """Read, validate and complete a YAML config file.

    Parameters
    ----------
    path : str or Path
        The YAML file. Relative paths inside it are resolved against its folder.
    overrides : sequence of str
        ``dotted.key=YAML`` assignments applied to the file's content before it is
        validated (:func:`apply_override`; ``acefit fit --set``).

    Returns
    -------
    dict
        Every key of :data:`SCHEMA`, defaults filled, paths absolute. Also
        ``"config_file"``: the absolute path of ``path``.

    Raises
    ------
    ConfigError
        Listing every problem, each as ``file:line: key.path: found ...; allowed ...``.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = _yaml_text(path)
    try:
        raw, lines = _parse_yaml(text, empty={})
    except yaml.YAMLError as exc:
        raise _not_yaml(path, exc) from None
    except _KeyProblem as exc:
        raise ConfigError([(f"{path}:{exc.line}: {exc.path or '<top level>'}", exc.message)],
                          str(path)) from None
    for assignment in overrides:
        apply_override(raw, assignment, lines)
    cfg = validate_config(raw, base_dir=path.resolve().parent, source=str(path), lines=lines)
    if cfg["name"] is None:
        cfg["name"] = path.stem
    cfg["config_file"] = str(path.resolve())
    KEY_LINES[cfg["config_file"]] = lines
    return cfg


class _GroupKey(str):
    """A config_type key in :func:`dump_config`'s output."""


class _ConfigDumper(yaml.SafeDumper):
    """Quotes a config_type key that ASE's extended XYZ reader would read as another group
    (``1e3``, ``T``): written plain, :class:`GroupName` would refuse it."""


def _represent_group_key(dumper, key):
    quote = "'" if extxyz_group(key) != key else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(key), style=quote)


_ConfigDumper.add_representer(_GroupKey, _represent_group_key)

_GROUP_MAPS = (("data", "weights", "config_type"), ("data", "stress_reading", "config_type"))
"""Where the config's config_type keys are (:class:`GroupName`)."""


def group_keys_to_check(cfg: dict) -> list[str]:
    """The keys of ``cfg`` (:func:`load_config`) that name config_types, as ``data.weights.
    config_type``: only the data say whether their names are groups (``acefit fit --plan``
    and ``acefit fit`` check them), so ``fit --check`` says it has not."""
    found = []
    for path in _GROUP_MAPS:
        value = cfg
        for key in path:
            value = value.get(key) or {}
        if value:
            found.append(".".join(path))
    return found


def dump_config(cfg: dict) -> str:
    """A completed config (:func:`load_config`) as YAML that :func:`load_config` reads back
    to the same settings: without the provenance key ``config_file``, and with group
    names such as ``'1e3'`` quoted. Paths are absolute, so it is read alike from any
    folder."""
    from acefit.atomic import json_ready

    settings = json_ready({k: v for k, v in cfg.items() if k != "config_file"})
    for path in _GROUP_MAPS:
        parent = settings
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = {_GroupKey(k): v for k, v in parent[path[-1]].items()}
    return yaml.dump(settings, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True)


def _set_option(assignment: str) -> str:
    """``--set`` and ``assignment`` as a shell would take it back, quoted: a problem names
    it so, and the quotes keep a value's own ``: `` apart from the message's."""
    if "'" not in assignment:
        return f"--set '{assignment}'"
    if not any(c in assignment for c in '"$`\\!'):
        return f'--set "{assignment}"'
    return f"--set {shlex.quote(assignment)}"


_KEY_PART = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def _key_steps(key: str) -> list | None:
    """The names and list indices of an override's key, ``solvers[0].max_active`` ->
    ``['solvers', 0, 'max_active']``; None when it is not such a key."""
    steps: list = []
    for part in key.split("."):
        match = _KEY_PART.fullmatch(part)
        if match is None:
            return None
        steps += [match[1], *map(int, re.findall(r"\d+", match[2]))]
    return steps


def _key_path(path: str, step) -> str:
    """The key path of ``step`` (a name, or a list index) under ``path``, as the
    problems name it: ``solvers[0].max_active``."""
    if isinstance(step, int):
        return f"{path}[{step}]"
    if step.startswith("["):     # a parsed value's own key path, under the override's key
        return path + step
    return f"{path}.{step}" if path else step


def _override_target(raw, steps, where):
    """The mapping or list that the last of ``steps`` sets an item of, mappings made where
    missing; a ConfigError naming what is in the way (a list index out of range names
    the list's length)."""
    def fail(message):
        raise ConfigError([(where, message)], where)

    node, path = raw, ""
    for depth, step in enumerate(steps):
        if isinstance(step, int):
            if not isinstance(node, list):
                fail(f"{path} is {found_text(node)}, not a list")
            if step >= len(node):
                items = f"{len(node)} item{'s' * (len(node) != 1)}"
                fail(f"{path} has {items}, so no {_key_path(path, step)}; allowed: "
                     + (f"an index 0 to {len(node) - 1}, or " if node else "")
                     + f"the whole list, {path}=[...]")
        elif isinstance(node, list) and step.isdigit():
            fail(f"{path} is a list, not a mapping; allowed: an item by its index, "
                 f"{_key_path(path, int(step))}")
        elif not isinstance(node, dict):
            fail(f"{path} is {found_text(node)}, not a mapping")
        if depth == len(steps) - 1:
            return node
        if isinstance(step, str) and step not in node:
            if isinstance(steps[depth + 1], int):
                fail(f"{_key_path(path, step)} is not in the config, so it has no items; "
                     f"allowed: the whole list, {_key_path(path, step)}=[...]")
            node[step] = {}
        node, path = node[step], _key_path(path, step)


def apply_override(raw, assignment: str, lines: dict | None = None) -> None:
    """Set one ``dotted.key=YAML`` in a parsed config mapping, e.g. ``basis.rcut=5.5``,
    ``'solvers=[{name: omp, max_active: 300}]'`` or, an item of a list by its index as the
    problems name it, ``solvers[0].max_active=300``; the value is YAML. Mappings on the
    way are made where missing (list items are not); what the key names is checked when
    the config is validated.

    ``lines`` (key path -> line, from the parser) loses the key and everything under it,
    so that a problem with the new value is not reported at the file's old line, and its
    ``overrides`` (key path -> assignment) names the assignment instead.

    Raises
    ------
    ConfigError
        An assignment that is not ``key=value``, a value that is not YAML, a key under
        something that is not a mapping, or a list index that is not in the list.
    """
    key, sep, value = assignment.partition("=")
    where = _set_option(assignment)
    steps = _key_steps(key.strip())
    if not sep or steps is None:
        raise ConfigError([(where, "allowed: dotted.key=value, e.g. basis.rcut=5.5 or "
                                   "solvers[0].max_active=300")], where)
    key = ""
    for step in steps:
        key = _key_path(key, step)
    try:
        parsed, parsed_lines = _parse_yaml(value)      # as the file is: no key given twice
    except yaml.YAMLError as exc:
        raise ConfigError([(where, f"the value is not valid YAML: {yaml_problem(exc)}")],
                          where) from None
    except _KeyProblem as exc:
        raise ConfigError([(f"{where}: {_key_path(key, exc.path) if exc.path else key}",
                            exc.message)], where) from None
    if not isinstance(raw, dict):
        raise ConfigError([(where, "the config is not a mapping")], where)
    _override_target(raw, steps, where)[steps[-1]] = parsed
    plain = getattr(lines, "plain", {})
    overrides = getattr(lines, "overrides", {})
    for known in (lines or {}, plain, overrides):
        for path in [p for p in known if p == key or p.startswith((key + ".", key + "["))]:
            del known[path]
    overrides[key] = _set_option(assignment)
    plain.update((_key_path(key, path), text) for path, text in parsed_lines.plain.items())
    path = ""       # the key's names are unquoted text, as the same keys written plain
    for step in steps:
        path = _key_path(path, step)
        if isinstance(step, str):
            plain[path] = step


def validate_config(raw, *, base_dir=".", source=NO_FILE, lines=None) -> dict:
    """Validate an already-parsed config mapping (see :func:`load_config`)."""
    ctx = Context(Path(base_dir).resolve(), lines or {}, source)
    if not isinstance(raw, dict):
        ctx.error("", f"{found_text(raw)}; allowed: a mapping with keys " + ", ".join(SCHEMA.keys))
        raise ConfigError(ctx.problems, source)
    cfg = SCHEMA.check(raw, "", ctx)
    if not ctx.problems:
        _cross_checks(cfg, ctx)
    if ctx.problems:
        raise ConfigError(ctx.problems, source)
    _fill_derived(cfg)
    return cfg


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


def _cross_checks(cfg, ctx) -> None:
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


def _fill_derived(cfg) -> None:
    if cfg["basis"]["envelope"] is None:
        cfg["basis"]["envelope"] = DEFAULT_ENVELOPE     # written out: a run's config.yaml says it
    for solver in cfg["solvers"]:
        solver["label"] = solver["label"] or solver["name"]


class _KeyProblem(Exception):
    """A mapping key YAML reads but a config cannot hold, at ``path`` (the mapping's key
    path, or the key's when given twice) and ``line``: ``message`` says why."""

    def __init__(self, path, line, message):
        self.path, self.line, self.message = path, line, message


def _duplicate_key(first, again, text) -> str:
    """The message for a key ``again`` (written ``text``) equal to the earlier key
    ``first``, perhaps of another type (``1`` and ``on``, which is True)."""
    if type(first) is type(again):
        return "duplicate key"
    # 1, 1.0 and true are one key to Python
    return (f"duplicate key: {text} ({type_name(again)} {again!r}) equals the key "
            f"{first!r} ({type_name(first)}) before it; allowed: distinct keys, e.g. "
            f"'{text}' quoted")


def read_yaml(path):
    """The YAML file ``path`` as plain objects; a ConfigError naming the file (and line and
    column) when it is not UTF-8 text or not YAML."""
    path = Path(path)
    text = _yaml_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _not_yaml(path, exc) from None


def _yaml_text(path: Path) -> str:
    """The text of a YAML file; a ConfigError naming it when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([(str(path), f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                            f"position {exc.start}); save the file as UTF-8")],
                          str(path)) from None


def _not_yaml(path: Path, exc) -> ConfigError:
    return ConfigError([(str(path), f"not valid YAML: {yaml_problem(exc)}")], str(path))


def yaml_problem(exc) -> str:
    """A YAML parser error in one line: where (line, column) and what, without the
    parser's own context lines."""
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[-1]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + what


class _KeyLines(dict):
    """The line of every key path of a YAML text, and in ``plain`` the text of every key
    written without quotes (``010``, which YAML 1.1 reads as 8): :class:`GroupName`
    compares it with what YAML and ASE read."""

    def __init__(self):
        super().__init__()
        self.plain: dict[str, str] = {}
        self.overrides: dict[str, str] = {}     # key path -> the --set that gave its value


def _parse_yaml(text: str, empty=None):
    """Plain Python objects from YAML (``empty`` for a text without any), plus the line
    number of every key path (a :class:`_KeyLines`).

    Raises
    ------
    yaml.YAMLError
        Text that is not YAML.
    _KeyProblem
        A key given twice, or a list or mapping as a key (which Python cannot hold).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines = _KeyLines()
    if node is None:
        return empty, lines

    def build(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = build(key_node, path + ".<key>")
                lines.pop(path + ".<key>", None)
                if isinstance(key, (list, dict)):
                    raise _KeyProblem(path, key_node.start_mark.line + 1,
                                      f"found the key {show_value(key)} ({type_name(key)}); "
                                      "allowed: a name or a number as a key")
                sub = f"{path}.{key}" if path else str(key)
                if key in out:
                    first = next(k for k in out if k == key)
                    raise _KeyProblem(sub, key_node.start_mark.line + 1,
                                      _duplicate_key(first, key, key_node.value))
                lines[sub] = key_node.start_mark.line + 1
                if isinstance(key_node, yaml.ScalarNode) and key_node.style is None:
                    lines.plain[sub] = key_node.value
                out[key] = build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        return yaml.SafeLoader("").construct_object(node, deep=True)

    return build(node, ""), lines
