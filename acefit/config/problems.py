"""How a config's problems are named: each where it is, and all of them at once.

:class:`ConfigError` lists every problem found; the checking :class:`Context` names a
key by its file and line, or by the ``--set`` option that gave its value, and does so
for the problems found once the data are known (:func:`config_error`, from the key lines
of the configs loaded). :func:`found_text` is the words for a value found
(:func:`acefit.spelling.close_match` those for the option it likely stands for).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from acefit.spelling import close_match  # noqa: F401 - it lived here


NO_FILE = "<config>"
"""The ``source`` of a config given as a mapping, not read from a file."""


class ConfigError(ValueError):
    """A config that cannot be run; ``problems`` lists every (where, message) found."""

    def __init__(self, problems: list[tuple[str, str]], source: str = NO_FILE,
                 what: str = "config"):
        self.problems = problems
        self.source = source
        lines = [f"{where}: {msg}" for where, msg in problems]
        head = f"invalid {what} {source} ({len(problems)} problem{'s' * (len(problems) != 1)}):"
        super().__init__("\n  ".join([head] + lines))


CONFIG_FOLDER = "the config file's folder"
"""What :class:`File` says relative paths are resolved against; a config without a file
(``validate_config`` from Python) resolves them against its ``base_dir``, which its
errors name instead (:meth:`Context.error`)."""


class Context:
    """What checking needs besides the value: the config folder and the error sink."""

    def __init__(self, base_dir: Path, lines: dict, source: str):
        self.base_dir = base_dir
        self.lines = lines
        self.source = source
        self.problems: list[tuple[str, str]] = []

    def where(self, path: str) -> str:
        line = self.lines.get(path)
        loc = f"{self.source}:{line}" if line else self._override(path) or self.source
        return f"{loc}: {path or '<top level>'}"

    def _override(self, path: str) -> str | None:
        """The ``--set`` option that gave ``path`` its value (the innermost, if nested),
        or, for a key the file does not hold, one that set a value inside it (a data
        check names the config_type key of ``--set data.weights.config_type.bulk.E=3``)."""
        given = getattr(self.lines, "overrides", {})
        keys = [k for k in given if path == k or path.startswith((k + ".", k + "["))]
        if keys:
            return given[max(keys, key=len)]
        inner = [k for k in given if path and k.startswith((path + ".", path + "["))]
        return given[inner[0]] if inner else None

    def error(self, path: str, message: str) -> None:
        if self.source == NO_FILE:
            message = message.replace(CONFIG_FOLDER, f"base_dir ({self.base_dir})")
        self.problems.append((self.where(path), message))


KEY_LINES: dict[str, dict] = {}
"""The line of each key path in the config files :func:`load_config` read (after their
``--set`` overrides, whose keys have none), by absolute path: for :func:`config_error`."""


def config_error(cfg: dict, problems: list[tuple[str, str]]) -> ConfigError:
    """The ConfigError of ``problems`` ((key path, message) pairs) found in the loaded
    config ``cfg`` once the data or the basis are known, each named with its file and line
    as :func:`load_config` names the problems it finds."""
    ctx = loaded_context(cfg)
    for key, message in problems:
        ctx.error(key, message)
    return ConfigError(ctx.problems, ctx.source)


def loaded_context(cfg: dict) -> "Context":
    """A checking context for the loaded config ``cfg``: its file and key lines."""
    source = cfg.get("config_file", NO_FILE)
    return Context(Path("."), KEY_LINES.get(source, {}), source)


def show_value(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (dict, list)):
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        return text if len(text) < 80 else text[:77] + "..."
    return repr(value)


def found_text(value, words: bool = False) -> str:
    """``found <value> (<type>)``, and why YAML read it so; ``words``: the value wanted
    may be a word, so a boolean may have been one (:func:`_yaml_boolean`)."""
    boolean = _yaml_boolean(value) if words else ""
    return f"found {show_value(value)} ({type_name(value)}{_text_number(value)}{boolean})"


def _yaml_boolean(value) -> str:
    """Where a boolean may have been meant as a word: YAML 1.1 reads yes, no, on, off,
    true and false (any case) as booleans."""
    if not isinstance(value, bool):
        return ""
    return ", as YAML 1.1 reads yes, no, on, off, true and false; a word meant as text " \
        "is quoted, as 'no'"


def _text_number(value) -> str:
    """Why a number such as ``1e-6`` is a string, and how to write it: YAML 1.1's floats
    need a '.' and a signed exponent (YAML 1.2's and Python's do not)."""
    if not isinstance(value, str) or not any(e in value for e in "eE"):
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    written = yaml.safe_dump(number).splitlines()[0]
    return (", as YAML 1.1 reads a number with an exponent but without a '.' or the "
            f"exponent's sign; the number is written {written}")


def type_name(value) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "mapping", type(None): "null"}.get(type(value), type(value).__name__)
