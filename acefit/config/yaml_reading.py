"""YAML read with the line of every key: files and texts as plain objects, a file that is
not UTF-8 text or not YAML, a key given twice and a list or mapping as a key named by
line (and column).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from acefit.config.problems import ConfigError, show_value, type_name


class KeyProblem(Exception):
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
    text = yaml_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise not_yaml(path, exc) from None


def yaml_text(path: Path) -> str:
    """The text of a YAML file; a ConfigError naming it when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([(str(path), f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                            f"position {exc.start}); save the file as UTF-8")],
                          str(path)) from None


def not_yaml(path: Path, exc) -> ConfigError:
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


def parse_yaml(text: str, empty=None):
    """Plain Python objects from YAML (``empty`` for a text without any), plus the line
    number of every key path (a :class:`_KeyLines`).

    Raises
    ------
    yaml.YAMLError
        Text that is not YAML.
    KeyProblem
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
                    raise KeyProblem(path, key_node.start_mark.line + 1,
                                      f"found the key {show_value(key)} ({type_name(key)}); "
                                      "allowed: a name or a number as a key")
                sub = f"{path}.{key}" if path else str(key)
                if key in out:
                    first = next(k for k in out if k == key)
                    raise KeyProblem(sub, key_node.start_mark.line + 1,
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
