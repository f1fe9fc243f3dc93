"""A config read, validated against the schema and completed (:func:`load_config`; a
mapping from Python: :func:`validate_config`), and written back as YAML that reads to
the same settings (:func:`dump_config`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from acefit.basis.radial import DEFAULT_ENVELOPE
from acefit.config.checks import cross_checks
from acefit.config.overrides import apply_override
from acefit.config.problems import KEY_LINES, NO_FILE, ConfigError, Context, found_text
from acefit.config.schema import SCHEMA
from acefit.config.yaml_reading import KeyProblem, not_yaml, parse_yaml, yaml_text
from acefit.data import extxyz_group


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
    text = yaml_text(path)
    try:
        raw, lines = parse_yaml(text, empty={})
    except yaml.YAMLError as exc:
        raise not_yaml(path, exc) from None
    except KeyProblem as exc:
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


def validate_config(raw, *, base_dir=".", source=NO_FILE, lines=None) -> dict:
    """Validate an already-parsed config mapping (see :func:`load_config`)."""
    ctx = Context(Path(base_dir).resolve(), lines or {}, source)
    if not isinstance(raw, dict):
        ctx.error("", f"{found_text(raw)}; allowed: a mapping with keys " + ", ".join(SCHEMA.keys))
        raise ConfigError(ctx.problems, source)
    cfg = SCHEMA.check(raw, "", ctx)
    if not ctx.problems:
        cross_checks(cfg, ctx)
    if ctx.problems:
        raise ConfigError(ctx.problems, source)
    _fill_derived(cfg)
    return cfg


def _fill_derived(cfg) -> None:
    if cfg["basis"]["envelope"] is None:
        cfg["basis"]["envelope"] = DEFAULT_ENVELOPE     # written out: a run's config.yaml says it
    for solver in cfg["solvers"]:
        solver["label"] = solver["label"] or solver["name"]


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
