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

One module per concept, everything public importable from here: ``problems`` (how a
problem is named), ``types`` (the value types), ``schema`` (the keys), ``yaml_reading``
(YAML with the line of every key), ``overrides`` (``--set``), ``checks`` (rules across
keys, and against the data's elements), ``loading`` (:func:`load_config`,
:func:`dump_config`), ``markdown`` (docs/config.md).
"""

from acefit.config.loading import dump_config, load_config, validate_config
from acefit.config.markdown import render_markdown
from acefit.config.overrides import apply_override
from acefit.config.problems import ConfigError
from acefit.config.schema import DENSE_SOLVERS, SCHEMA, SOLVER_KINDS, SPARSE_SOLVERS
from acefit.config.yaml_reading import read_yaml, yaml_problem
from acefit.spelling import close_match

# Public as in the one module acefit.config was, and left out of ``import *`` as there:
# the checks that the pipeline runs once the data are known, the schema's parts, its types
from acefit.config.checks import check_e0 as check_e0, check_radial_pairs as check_radial_pairs
from acefit.config.loading import group_keys_to_check as group_keys_to_check
from acefit.config.problems import NO_FILE as NO_FILE, config_error as config_error
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

__all__ = ["ConfigError", "load_config", "dump_config", "validate_config", "apply_override",
           "read_yaml", "yaml_problem", "render_markdown", "close_match",
           "SCHEMA", "SOLVER_KINDS", "SPARSE_SOLVERS", "DENSE_SOLVERS"]
