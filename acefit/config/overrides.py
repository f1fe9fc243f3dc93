"""``key=YAML`` overrides, ``acefit fit --set``: one key of a parsed config set before it
is validated (a list item by its index, as the problems name keys), and the option
named by the problems with the value it gave.
"""

from __future__ import annotations

import re
import shlex

import yaml

from acefit.config.problems import ConfigError, found_text
from acefit.config.yaml_reading import KeyProblem, parse_yaml, yaml_problem


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
        parsed, parsed_lines = parse_yaml(value)      # as the file is: no key given twice
    except yaml.YAMLError as exc:
        raise ConfigError([(where, f"the value is not valid YAML: {yaml_problem(exc)}")],
                          where) from None
    except KeyProblem as exc:
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
