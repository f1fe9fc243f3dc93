"""The value types of the schema: each checks (and normalises) one value and says in words
what it allows, in the errors and in docs/config.md.

:class:`Key`, :class:`Section` and :class:`Tagged` (a section picked by a key, as a
solver's ``name``) make mappings of them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from acefit.config.problems import CONFIG_FOLDER, Context, found_text, show_value, type_name
from acefit.data import config_type_name, extxyz_group, extxyz_reading, reading_in_words
from acefit.spelling import close_match


_REQUIRED = object()


class _Type:
    doc_type = "value"

    def describe(self) -> str:
        return self.doc_type

    def allowed(self) -> str:
        """The 'allowed' column of the docs (empty when the type says it all)."""
        return ""

    def check(self, value, path, ctx):  # pragma: no cover - interface
        raise NotImplementedError

    def fail(self, value, path, ctx, hint=""):
        ctx.error(path, f"{found_text(value, _wants_words(self))}{hint}; allowed: "
                        f"{self.describe()}")
        return None


@dataclass
class Int(_Type):
    lo: int | None = None
    hi: int | None = None
    doc_type = "integer"

    def describe(self):
        return "an integer" + _range_text(self.lo, self.hi, False, False)

    def allowed(self):
        return _range_text(self.lo, self.hi, False, False).strip()

    def check(self, value, path, ctx):
        if isinstance(value, bool) or not isinstance(value, int):
            return self.fail(value, path, ctx)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            return self.fail(value, path, ctx)
        return value


@dataclass
class Float(_Type):
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    doc_type = "number"

    def describe(self):
        return "a number" + _range_text(self.lo, self.hi, self.lo_open, self.hi_open)

    def allowed(self):
        return _range_text(self.lo, self.hi, self.lo_open, self.hi_open).strip()

    def check(self, value, path, ctx):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return self.fail(value, path, ctx)
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return self.fail(value, path, ctx)
        if self.hi is not None and (value > self.hi or (self.hi_open and value == self.hi)):
            return self.fail(value, path, ctx)
        return float(value)


def _range_text(lo, hi, lo_open, hi_open) -> str:
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {hi}"
    return ""


@dataclass
class Bool(_Type):
    doc_type = "boolean"

    def describe(self):
        return "true or false"

    def check(self, value, path, ctx):
        return value if isinstance(value, bool) else self.fail(value, path, ctx)


@dataclass
class Str(_Type):
    choices: tuple | None = None
    doc_type = "string"

    def describe(self):
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return "a string"

    def allowed(self):
        return ", ".join(f"`{c}`" for c in self.choices) if self.choices else ""

    def check(self, value, path, ctx):
        if not isinstance(value, str):
            return self.fail(value, path, ctx)
        if self.choices and value not in self.choices:
            return self.fail(value, path, ctx, close_match(value, self.choices))
        if not self.choices and not value.strip():
            return self.fail(value, path, ctx)
        return value


@dataclass
class GroupName(Str):
    """A ``config_type`` name, the key of per-group weights and stress readings. An
    unquoted ``1:`` is an integer to YAML and ``config_type=1`` one to ASE: a number
    names the group :func:`acefit.data.config_type_name` names the frames' number by,
    so that ``1:`` and ``'1':`` are one key. A boolean or null is refused, not named:
    YAML 1.1 reads yes, no, on and off as booleans too, and ``str`` of the boolean
    would not be the word that was written. So is an unquoted key that YAML 1.1 and
    ASE's extended XYZ reader (:func:`acefit.data.extxyz_reading`) name differently:
    ``010`` (8 to YAML, 10 to ASE), ``0x10``, ``1e3`` (text to YAML, 1000.0 to ASE),
    ``T`` (text to YAML, True to ASE); the message names both quoted names."""

    doc_type = "config_type name"

    def describe(self):
        return "a config_type name (a string, or a number such as 1)"

    def check(self, value, path, ctx):
        written = getattr(ctx.lines, "plain", {}).get(path)
        if isinstance(value, bool) or value is None:
            if written is None:
                found, quote = found_text(value), "a name such as 'yes'"
            else:
                what = "null" if value is None else f"the boolean {value}"
                found = f"found the unquoted key {written}, which is {what}"
                quote = f"the name: {_quoted_names(written)}"
            ctx.error(path, f"{found}, as YAML 1.1 reads an unquoted true, false, yes, no, on, "
                            f"off, null or ~; allowed: {self.describe()}; quote {quote}")
            return None
        if isinstance(value, (int, float)):
            name = config_type_name(value)
        else:
            name = super().check(value, path, ctx)
        if written is None or name is None:
            return name
        by_ase = extxyz_group(written)
        if by_ase != name:
            reading = reading_in_words(extxyz_reading(written))
            ctx.error(path, f"found the unquoted key {written}, which YAML 1.1 reads as the "
                            f"{type_name(value)} {value!r} (the group {name!r}) and ASE's "
                            f"extended XYZ reader as {reading} (the group {by_ase!r}); "
                            f"allowed: the group's name quoted: {_quoted_names(written)}")
            return None
        return name


def _quoted_names(written: str) -> str:
    """The quoted key of each group the unquoted key ``written`` may mean: the group of
    ``config_type=<written>`` as ASE's extended XYZ reader names it, and a group named
    ``written`` as text (of a file that keeps text, such as an ASE trajectory)."""
    def quoted(name):
        return "'" + name.replace("'", "''") + "'"

    by_ase = extxyz_group(written)
    if by_ase == written:
        return quoted(written)
    return (f"{quoted(by_ase)} for the frames of config_type={written} in an extended XYZ "
            f"file (as ASE reads it), or {quoted(written)} for a group named {written} as "
            "text (from a file that keeps it, such as an ASE trajectory)")


@dataclass
class FileName(Str):
    """A string that names files and HDF5 groups of the run (a solver path: no ``/``), or
    with ``folders`` a relative path of folders under ``runs/`` (a run name), which may
    not climb out of it."""

    folders: bool = False

    def describe(self):
        if self.folders:
            return "a relative path without '..' (folders under runs/)"
        return "a name without '/', other than '.' and '..'"

    def allowed(self):
        return "relative, no `..`" if self.folders else "no `/`, not `.` or `..`"

    def check(self, value, path, ctx):
        if not isinstance(value, str) or "\0" in value or not value.strip():
            return self.fail(value, path, ctx)
        parts = value.split("/")
        if self.folders:
            bad = value.startswith("/") or ".." in parts
        else:
            bad = len(parts) > 1 or value.strip() in (".", "..")
        return self.fail(value, path, ctx) if bad else value


@dataclass
class Element(_Type):
    doc_type = "element"

    def describe(self):
        return "a chemical symbol such as 'Cu'"

    @staticmethod
    def symbol(value) -> bool:
        """Whether ``value`` is a chemical symbol (not ASE's placeholder 'X')."""
        from ase.data import atomic_numbers
        return isinstance(value, str) and value in atomic_numbers and value != "X"

    def check(self, value, path, ctx):
        if self.symbol(value):
            return value
        # 'cu' for 'Cu'; a symbol is not guessed from a misspelling
        near = [value.capitalize()] if isinstance(value, str) else []
        return self.fail(value, path, ctx, close_match(value, filter(self.symbol, near)))


class ElementPair(_Type):
    """An unordered element pair written ``"Cu-Au"``, or ``default``."""

    doc_type = "element pair"

    def describe(self):
        return "an element pair such as 'Cu-Au', or 'default'"

    @staticmethod
    def normalised(value) -> str | None:
        """The pair or ``default`` that ``value`` likely stands for, written as the config
        wants it, else None: case, dashes (en, em, minus), underscores and spaces between
        the elements aside ('Cu-Au' for 'cu_au' or 'Cu – Au'; 'default' for 'Default')."""
        if not isinstance(value, str):
            return None
        if value.strip().lower() == "default":
            return "default"
        parts = [p for p in re.split(r"[\s_\-\u2010-\u2015\u2212]+", value) if p]
        parts = [p.capitalize() for p in parts]
        return "-".join(parts) if len(parts) == 2 and all(map(Element.symbol, parts)) \
            else None

    def check(self, value, path, ctx):
        if value == "default":
            return value
        parts = value.split("-") if isinstance(value, str) else ()
        if len(parts) != 2 or not all(map(Element.symbol, parts)):
            guess = self.normalised(value)
            return self.fail(value, path, ctx, "" if guess is None else
                             close_match(guess, [guess]))
        return value


@dataclass
class File(_Type):
    """A path, resolved against the config folder; ``must_exist`` checks it is a file,
    ``folder`` that it is not a file (a folder, or nothing yet)."""

    must_exist: bool = True
    folder: bool = False
    doc_type = "path"

    def describe(self):
        return f"a path (relative to {CONFIG_FOLDER})" + (
            " to an existing file" if self.must_exist else
            " of a folder (made if missing)" if self.folder else "")

    def check(self, value, path, ctx):
        if not isinstance(value, str) or not value.strip():
            return self.fail(value, path, ctx)
        given = ctx.base_dir / Path(value).expanduser()
        try:
            resolved = given.resolve()
        except (OSError, RuntimeError):     # links in a loop (RuntimeError before Python 3.13)
            resolved = given
        from acefit.readers import folder_problem, index_suffix_note, path_problem

        if self.folder:
            reason = folder_problem(resolved)   # a file, a FIFO, a loop of links: no folder
            if reason is not None:
                ctx.error(path, f"{value!r} {reason} (resolved to {resolved}); allowed: "
                                f"{self.describe()}")
                return None
        if self.must_exist:
            reason = path_problem(resolved)     # a folder, a FIFO, /dev/null: no data file
            if reason is not None:
                ctx.error(path, f"file {value!r} {reason} (resolved to {resolved}); allowed: "
                                f"a path to an existing regular file, relative to "
                                f"{CONFIG_FOLDER}" + index_suffix_note(resolved))
                return None
        return str(resolved)


@dataclass
class Nullable(_Type):
    inner: _Type = None

    def describe(self):
        return f"null or {self.inner.describe()}"

    @property
    def doc_type(self):
        return f"{self.inner.doc_type} or null"

    def allowed(self):
        return self.inner.allowed()

    def check(self, value, path, ctx):
        if value is None:
            return None
        probe = Context(ctx.base_dir, ctx.lines, ctx.source)
        out = self.inner.check(value, path, probe)
        inner_allowed = f"allowed: {self.inner.describe()}"
        for where, msg in probe.problems:  # say that null is allowed too
            if where == ctx.where(path) and msg.endswith(inner_allowed):
                msg = msg[: -len(inner_allowed)] + f"allowed: {self.describe()}"
            ctx.problems.append((where, msg))
        return out


@dataclass
class ListOf(_Type):
    item: _Type = None
    min_len: int = 0
    unique: bool = False
    increasing: bool = False

    def describe(self):
        adjectives = ["non-empty"] * bool(self.min_len) + ["increasing"] * self.increasing
        kind = ", ".join(adjectives + ["list"]).replace(", list", " list")
        article = "an" if kind[0] in "aeiou" else "a"
        return f"{article} {kind}, each item {self.item.describe()}"

    @property
    def doc_type(self):
        return f"list of {self.item.doc_type}"

    def allowed(self):
        return self.item.allowed()

    def check(self, value, path, ctx):
        if not isinstance(value, list) or len(value) < self.min_len:
            return self.fail(value, path, ctx)
        out = [self.item.check(v, f"{path}[{i}]", ctx) for i, v in enumerate(value)]
        valid = [v for v in out if v is not None]      # the invalid are named already
        if self.unique and len({_freeze(v) for v in valid}) != len(valid):
            ctx.error(path, f"{found_text(value)}; allowed: {self.describe()} without repeats")
        if self.increasing and any(b is not None and a is not None and b <= a
                                   for a, b in zip(out, out[1:])):
            ctx.error(path, f"{found_text(value)}; allowed: {self.describe()}")
        return out


def _freeze(v):
    return tuple(v) if isinstance(v, list) else v


@dataclass
class OneOrList(_Type):
    """One value or a list of them; always returned as a list."""

    item: _Type = None

    def describe(self):
        return f"{self.item.describe()}, or a list of them"

    @property
    def doc_type(self):
        return f"{self.item.doc_type} or list"

    def allowed(self):
        return self.item.allowed()

    def check(self, value, path, ctx):
        if isinstance(value, list):
            if not value:
                return self.fail(value, path, ctx)
            return [self.item.check(v, f"{path}[{i}]", ctx) for i, v in enumerate(value)]
        return [self.item.check(value, path, ctx)]


@dataclass
class Either(_Type):
    """The first alternative whose type matches the value (by Python type) checks it."""

    options: tuple = ()

    def describe(self):
        return " or ".join(o.describe() for o in self.options)

    @property
    def doc_type(self):
        return " or ".join(o.doc_type for o in self.options)

    def allowed(self):
        return "; ".join(dict.fromkeys(a for a in (o.allowed() for o in self.options) if a))

    def check(self, value, path, ctx):
        for option in self.options:
            probe = Context(ctx.base_dir, ctx.lines, ctx.source)
            out = option.check(value, path, probe)
            if not probe.problems:
                return out
        # report through the option that takes this Python type, if any
        for option in self.options:
            if _accepts_type(option, value):
                return option.check(value, path, ctx)
        return self.fail(value, path, ctx)


def _wants_words(kind: _Type) -> bool:
    """Whether ``kind`` takes text (a name, a choice, a path): where a boolean was found,
    a quoted word may have been meant; not where a number or a list was."""
    if isinstance(kind, Nullable):
        return _wants_words(kind.inner)
    if isinstance(kind, Either):
        return any(map(_wants_words, kind.options))
    return isinstance(kind, (Str, Element, File))


def _accepts_type(option, value) -> bool:
    kinds = {Int: int, Float: (int, float), Str: str, Bool: bool, Element: str, File: str,
             ListOf: list, MapOf: dict, Section: dict}
    for cls, types in kinds.items():
        if isinstance(option, cls):
            return isinstance(value, types) and not (isinstance(value, bool) and cls is not Bool)
    return False


@dataclass
class MapOf(_Type):
    """A mapping with free keys (e.g. element -> E0)."""

    key: _Type = None
    value: _Type = None
    doc_type = "mapping"

    def describe(self):
        return f"a mapping from {self.key.describe()} to {self.value.describe()}"

    def check(self, value, path, ctx):
        if not isinstance(value, dict):
            return self.fail(value, path, ctx)
        out, written = {}, {}
        for k, v in value.items():
            sub = f"{path}.{k}"
            kk = self.key.check(k, sub, ctx)
            first = written.setdefault(kk, k)
            if kk is not None and first is not k:   # e.g. 1 and '1': one key once checked
                ctx.error(sub, f"found the keys {show_value(first)} ({type_name(first)}) and "
                               f"{show_value(k)} ({type_name(k)}), which are both {kk!r}; "
                               "allowed: one of them")
            out[kk if kk is not None else k] = self.value.check(v, sub, ctx)
        return out


@dataclass
class Key:
    """One key of a section: its type, default (or required) and documentation."""

    type: _Type
    default: Any = _REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        # a missing section is filled from its own defaults (reporting its required keys)
        return self.default is _REQUIRED and not isinstance(self.type, Section)


@dataclass
class Section(_Type):
    """A mapping with fixed keys; unknown keys are errors; missing keys take defaults."""

    keys: dict = field(default_factory=dict)
    doc: str = ""
    doc_type = "mapping"

    def describe(self):
        return "a mapping with keys " + ", ".join(self.keys)

    def check(self, value, path, ctx):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            return self.fail(value, path, ctx)
        out = {}
        for k in value:
            if k not in self.keys:
                sub = f"{path}.{k}" if path else str(k)
                hint = close_match(k, self.keys)
                ctx.error(sub, f"unknown key {k!r}{hint}; allowed keys here: "
                               + ", ".join(self.keys))
        for name, key in self.keys.items():
            sub = f"{path}.{name}" if path else name
            if name in value:
                out[name] = key.type.check(value[name], sub, ctx)
            elif key.required:
                ctx.error(sub, f"missing required key; allowed: {key.type.describe()}")
                out[name] = None
            else:
                out[name] = _default(key, sub, ctx)
        return out


def _default(key: Key, path, ctx):
    if isinstance(key.type, Section):
        return key.type.check({}, path, ctx)
    if isinstance(key.type, Tagged) and isinstance(key.default, dict):
        return key.type.check(dict(key.default), path, ctx)
    if isinstance(key.default, (list, dict)):
        return yaml.safe_load(yaml.safe_dump(key.default))  # a fresh copy
    return key.default


@dataclass
class Tagged(_Type):
    """A mapping whose ``tag`` key picks which section checks the rest (solvers, priors)."""

    tag: str = "name"
    variants: dict = field(default_factory=dict)
    default: str | None = None      # the variant of a mapping without the tag
    doc_type = "mapping"

    def describe(self):
        return f"a mapping with {self.tag}: one of " + ", ".join(self.variants)

    def check(self, value, path, ctx):
        if not isinstance(value, dict):
            return self.fail(value, path, ctx)
        kind = value.get(self.tag, self.default)
        if kind not in self.variants:
            sub = f"{path}.{self.tag}"
            what = "missing" if self.tag not in value else found_text(kind)
            ctx.error(sub, f"{what}{close_match(kind, self.variants) if kind else ''}; "
                           f"allowed: one of " + ", ".join(self.variants))
            return None
        section = self.variants[kind]
        rest = {k: v for k, v in value.items() if k != self.tag}
        for k in rest:
            if k not in section.keys:
                ctx.error(f"{path}.{k}", self._unknown_key(k, kind, path,
                                                           tagged=self.tag in value))
        checked = section.check({k: v for k, v in rest.items() if k in section.keys}, path, ctx)
        return {self.tag: kind, **checked}

    def _unknown_key(self, key, kind, path, *, tagged: bool) -> str:
        """The problem with ``key``, not one of ``kind``'s. Without the tag, the mapping was
        read as the default variant, which the user may not know: a key of another variant
        then asks for that variant's tag."""
        keys = ", ".join(self.variants[kind].keys)
        others = [n for n, s in self.variants.items() if key in s.keys]
        if others and not tagged:
            return (f"key {key!r} belongs to {self.tag} " + " or ".join(map(repr, others))
                    + "; add " + " or ".join(f"`{self.tag}: {n}`" for n in others)
                    + f" (a {path} without {self.tag} is {kind}, whose keys are "
                    + (keys or "none") + ")")
        extra = (f" ({key!r} is a parameter of {', '.join(others)})" if others
                 else close_match(key, self.variants[kind].keys))
        return (f"unknown key {key!r} for {self.tag} {kind!r}{extra}; allowed keys for {kind}: "
                + ", ".join([self.tag, *self.variants[kind].keys]))
