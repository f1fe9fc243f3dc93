"""The ``acefit`` command: ``init``, ``fit``, ``compare``, ``export``, ``evaluate``,
``validate`` and ``query``.

Exit status: 0 on success, 2 for a bad config or command line (nothing was run: also a
file or run directory named there that does not exist or holds no frame, a label key
option that no frame has, ``validate``'s bad ``--settings``, an output file whose suffix
names another format or that is one of the input files, a pool file given twice, a
``.yace`` given to ``evaluate``, a potential without a committee given to ``query``,
``--stress-reading`` values that clash or name no group of ``--data``, for ``export`` a
solver path, step or size that the run does not have, and for ``compare`` a ``--set``
that no run has), 3 when the output directory holds a finished run and ``--force`` was
not given (or another ``acefit fit`` is using it; for ``init``: the config file exists),
1 for any other error, 130 when interrupted (a fit resumes when the same command runs
again), 143 when a fit was ended by SIGTERM (a batch system's time limit, ``kill``,
``timeout``; it resumes as after a Ctrl-C), 141 when the reader of the output went away
(``| head``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from pathlib import Path

from acefit import __version__
from acefit.atomic import check_extxyz_path, check_figure_path
from acefit.commands import (EXIT_CONFIG, EXIT_ERROR, EXIT_EXISTS, EXIT_INTERRUPTED, EXIT_OK,
                             EXIT_PIPE, EXIT_TERMINATED, UsageError)
from acefit.commands.paths import potential_file, refuse_overwriting

__all__ = ["main"]
_EVALUATE_LABELS = ("energy", "forces", "stress", "virial", "config_type")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acefit",
        description="Fit fast, sparse, linear ACE interatomic potentials from DFT data.")
    parser.add_argument("--version", action="version", version=f"acefit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = sub.add_parser("init", help="write a first config for your data",
                          description="Write a config for labelled configurations, each "
                                      "choice made from the data commented (docs/config.md), "
                                      "the label keys too: those the files have, one per "
                                      "label for every frame (data.keys in the config).")
    init.add_argument("train", nargs="+", type=Path, metavar="TRAIN",
                      help="training configurations (any file ase.io.read reads)")
    init.add_argument("--test", nargs="+", type=Path, default=[], metavar="FILE",
                      help="test configurations")
    init.add_argument("-o", "--output", type=Path, default=Path("acefit.yaml"),
                      help="config file to write (default: ./acefit.yaml)")
    init.add_argument("--functions", type=_basis_size, default=2000, metavar="N",
                      help="size of the starting basis to aim for (default 2000; the sparse "
                           "paths run to half of it, at most 1000)")
    init.add_argument("--order", type=int, default=3, choices=(1, 2, 3, 4),
                      help="correlation order ν of the basis: up to (ν + 1)-body terms, e.g. "
                           "3: up to 4-body (default 3)")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")
    _add_verbosity(init)

    fit = sub.add_parser("fit", help="run a fit described by a YAML config",
                         description="Load data, assemble, run every solver path "
                                     "(checkpointed), evaluate, select, export, report. "
                                     "Re-running an interrupted fit resumes it.")
    fit.add_argument("config", type=Path, help="YAML config (see docs/config.md)")
    fit.add_argument("--force", action="store_true",
                     help="replace the run in the output directory (finished, or unfinished "
                          "with another config). Nothing there changes until the new run's "
                          "config, data and basis checks pass; then a finished run's results "
                          "move to previous-run/ in the directory, deleted when the new run "
                          "finishes, and an unfinished run is deleted (acefit.log and cache/ "
                          "stay). In a folder that is not an acefit run, the run is written "
                          "beside the files there, and refused if any has a name a run "
                          "writes")
    fit.add_argument("--check", action="store_true",
                     help="only validate the config and print it with defaults filled")
    fit.add_argument("--plan", action="store_true",
                     help="read the data and build the basis, print the rows, basis size and "
                          "the memory and disk the run will take, and stop (nothing assembled)")
    fit.add_argument("-o", "--output", type=_output_folder, default=None,
                     help="run directory (overrides output.directory), relative to the "
                          "current folder")
    fit.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY=YAML",
                     help="change one config key for this run, e.g. --set basis.rcut=5.5, "
                          "--set 'solvers[0].max_active=300' (a list item by its index) or "
                          "--set 'solvers=[{name: omp, max_active: 300}]' (repeatable; a "
                          "path, as data.train, is relative to the config's folder, as in "
                          "the file; config.yaml in the run directory records the result)")
    _add_verbosity(fit)

    compare = sub.add_parser("compare", help="compare the checkpoints of finished runs",
                             description="Side-by-side table of checkpoints across runs and "
                                         "solvers, best per size budget, learning curves and "
                                         "basis-selection pictures (PNG + Markdown).")
    compare.add_argument("runs", nargs="+", type=Path, help="run directories")
    compare.add_argument("-o", "--output", type=Path, default=Path("comparison"),
                         help="folder for compare.md and the PNGs (default: ./comparison)")
    compare.add_argument("--budgets", type=int, nargs="+", default=None,
                         help="size budgets t (default: the runs' selection budgets)")
    compare.add_argument("--set", dest="split", choices=("test", "val", "train"), default=None,
                         help="the data set whose errors the learning curves show (test, "
                              "validation or training data; not a config key as in `acefit "
                              "fit --set KEY=YAML`: compare reads finished runs); runs "
                              "without them are left off it with a note (default: test if "
                              "every run has it, else validation, else training)")
    _add_verbosity(compare)

    export = sub.add_parser("export", help="write any checkpoint of a run as a potential file",
                            description="Write one checkpoint of a run's solver path (any "
                                        "step, not only the selected ones) as the potential "
                                        "file the fit would have written for it, and print "
                                        "its errors.")
    export.add_argument("run", type=Path, metavar="RUN",
                        help="run directory written by `acefit fit`")
    export.add_argument("--path", dest="label", metavar="LABEL", default=None,
                        help="solver path label, as in errors/<label>.json (default: the only "
                             "one, else that of the run's potential.h5)")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--step", type=int, metavar="I",
                       help="step index I of the path (negative: from its end, -1 is the last)")
    which.add_argument("--active", type=int, metavar="N",
                       help="the best-validation step with exactly N active functions")
    which.add_argument("--budget", type=_positive_int, metavar="T",
                       help="the best-validation step with at most T active functions (the "
                            "fit's selection for budget T)")
    export.add_argument("-o", "--output", type=Path, default=None, metavar="OUT",
                        help="output path stem; each format adds its suffix, .h5 or .yace, "
                             "in place of one of these on OUT (default: "
                             "RUN/potentials/<label>_step<I>)")
    export.add_argument("--format", dest="formats", nargs="+", choices=("acefit", "yace"),
                        default=None, help="file formats (default: the run's export.formats)")
    export.add_argument("--yace-radial", choices=("spline", "recurrence"), default=None,
                        help="radial functions in .yace: spline (current LAMMPS ML-PACE, any "
                             "basis) or recurrence (python-ace 0.4, polynomial bases only); "
                             "default: the run's export.yace_radial")
    export.add_argument("--committee", type=_committee_size, default=None, metavar="K",
                        help="store a committee of K >= 2 members in the .h5, calibrated on "
                             "the run's validation set as export.committee does (0: none; "
                             "default: the run's export.committee)")
    _add_verbosity(export)

    ev = sub.add_parser("evaluate", help="errors of fitted potentials on any labelled data",
                        description="Score fitted potentials on labelled configurations "
                                    "(any file ase.io.read reads): energy, force and stress "
                                    "MAE and RMSE, in total and per config_type, each MAE "
                                    "with its bootstrap standard error over the "
                                    "configurations; with several potentials, each one's "
                                    "paired difference to the first.")
    ev.add_argument("potentials", nargs="+", type=Path, metavar="POTENTIAL",
                    help="potential file (.h5) or run directory (its potential.h5)")
    ev.add_argument("--data", nargs="+", type=Path, required=True, metavar="FILE",
                    help="labelled configurations (extended XYZ, ASE trajectory, ...), read "
                         "with the label keys the potentials were fitted with (their run's "
                         "data.keys, where known; of several, those of the first whose keys "
                         "are known: all are scored on the same labels, and one fitted with "
                         "other keys is named); each --*-key given replaces its own label's")
    from acefit.data import LABEL_KEYS

    for label in _EVALUATE_LABELS:
        default = LABEL_KEYS[label]
        ev.add_argument(_key_option(label), default=None, metavar="KEY",
                        help=f"where the {label} labels are (default: the fit's key, else "
                             f"{default or 'none; read instead of the stress when given'})")
    ev.add_argument("--stress-reading", type=_stress_reading, action="append", default=[],
                    metavar="[CONFIG_TYPE=]NAME",
                    help="read the stresses of every configuration, or of one config_type, "
                         "in another convention, as the config's data.stress_reading (e.g. "
                         "Elastic=swap_yz_xz, kbar); repeat for several groups")
    ev.add_argument("--predictions", type=_output_file(check_extxyz_path), default=None,
                    metavar="XYZ",
                    help="write the configurations with their labels (ref_energy, "
                         "ref_forces, ref_stress) and every potential's predictions, also of "
                         "what a frame has no label of: <label>_energy (eV), <label>_forces "
                         "(eV/Å) and, for every frame whose cell has a volume along a "
                         "periodic direction, <label>_stress (eV/Å³, ASE sign, Voigt) "
                         "(extended XYZ, a .xyz or .extxyz file)")
    ev.add_argument("--plot", type=_output_file(check_figure_path), default=None,
                    metavar="FILE",
                    help="write parity plots: predicted against reference energy per atom, "
                         "force and stress components, in the format the suffix names (.png, "
                         ".pdf, .svg, ...)")
    ev.add_argument("--json", type=_output_file(), default=None, metavar="FILE",
                    help="write the errors as JSON; per potential whose run is known, also "
                         "the configurations of --data that are the run's training or "
                         "validation data (fitted_data: run, count, configurations)")
    ev.add_argument("--worst", type=_count, default=5, metavar="N",
                    help="list the N configurations with the largest energy error per atom "
                         "of the first potential (default 5; 0: none)")
    ev.add_argument("--resamples", type=int, default=10000,
                    help="bootstrap draws of the configurations (default 10000)")
    _add_verbosity(ev)

    val = sub.add_parser("validate", help="MD stability, NVE drift and crystal properties "
                                          "of a fitted potential",
                         description="Check a fitted potential beyond its test errors: the "
                                     "short range (every dimer from 0.5 to 3 Å, cubic "
                                     "crystals compressed to 60-90 %), cubic crystal "
                                     "properties (lattice constant, elastic constants, "
                                     "vacancy and surface energies) and, from the frames of "
                                     "--structures only, NVT stability and NVE energy drift. "
                                     "Writes validation.md and validation.json.")
    val.add_argument("potential", type=Path, help="potential file (.h5) or a run directory")
    val.add_argument("--structures", type=Path, default=None,
                     help="start configurations for MD (any ase-readable file; without "
                          "them, no MD runs)")
    from acefit.validate import settings_help

    val.add_argument("--settings", type=Path, default=None, metavar="FILE",
                     help="YAML mapping of validation settings, every key optional, an "
                          "unknown key an error (docs/validation.md says what each does); "
                          f"the keys and their defaults: {settings_help()}")
    val.add_argument("-o", "--output", type=Path, default=None,
                     help="folder for validation.md/.json (default: next to the potential)")
    _add_verbosity(val)

    q = sub.add_parser("query", help="the configurations of a pool to label next",
                       description="Query by committee: write the configurations of a pool "
                                   "on which a potential's committee disagrees most.")
    q.add_argument("potential", type=Path, metavar="POTENTIAL",
                   help="potential file (.h5) with a committee, or a run directory")
    q.add_argument("--pool", nargs="+", type=Path, required=True, metavar="FILE",
                   help="candidate configurations (any files ase.io.read reads, each once)")
    q.add_argument("-o", "--output", type=_output_file(check_extxyz_path), required=True,
                   metavar="XYZ",
                   help="where to write the chosen configurations (extended XYZ, a .xyz or "
                        ".extxyz file, with their scores and pool file and frame in "
                        "atoms.info); not a pool file")
    q.add_argument("-n", type=_positive_int, default=None, metavar="N",
                   help="choose at most N (default 10, or every frame over --threshold)")

    q.add_argument("--threshold", type=_finite_number, default=None, metavar="X",
                   help="choose only frames scoring above X, a finite number (eV/Å with "
                        "--by force, meV/atom with --by energy)")
    q.add_argument("--by", choices=("force", "energy"), default="force",
                   help="score: the largest atomic force SD of the members (default), or "
                        "their energy SD per atom")
    q.add_argument("--every", type=_positive_int, default=1, metavar="K",
                   help="read every K-th frame of each pool file (default 1)")
    q.add_argument("--species", nargs="+", type=_element, default=None, metavar="EL",
                   help="the elements of LAMMPS atom types 1, 2, ... for a dump without "
                        "element or mass columns, which needs them (ASE's specorder); "
                        "ignored with a note for pool files that name their elements")
    q.add_argument("--gap", type=_count, default=0, metavar="G",
                   help="chosen frames of one pool file are more than G frames apart "
                        "(neighbouring MD frames are nearly the same configuration); "
                        "default 0: no such rule")
    q.add_argument("--labelled", nargs="*", type=Path, default=None, metavar="FILE",
                   help="labelled configurations: a pool frame that is one of them (same "
                        "species, positions and cell) is not chosen; default for a run "
                        "directory: its training, validation and test files (--labelled "
                        "with no file: none)")
    q.add_argument("--min-distance", type=_distance, default=None, metavar="D",
                   help="a pool frame with two atoms closer than D Å is scored but not "
                        "chosen (an MD that collapsed; DFT of it fails or is wasted); "
                        "default: one limit per element pair, half the pair's shortest "
                        "distance in the labelled configurations, at most half of 1.1 "
                        "times its covalent radii's sum (the limit of a pair they lack); "
                        "D: one limit for every pair; 0: none")
    _add_verbosity(q)
    return parser


def _output_folder(text: str) -> Path:
    """An argparse type: the path of a folder to write in (made if missing), its links
    followed as for ``output.directory``; an error, before any work, for a path that can
    hold no folder (:func:`acefit.readers.folder_problem`)."""
    from acefit.readers import folder_problem

    path = Path(os.path.realpath(text))     # Path.resolve raises for a loop of links
    problem = folder_problem(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text} {problem}; allowed: a folder, or a path "
                                         "that does not exist yet")
    return path


def _output_file(check=None):
    """An argparse type: the path of a file to write, not a folder, its suffix checked by
    ``check`` (a ValueError naming what is allowed), before any work (argparse names the
    option on an error)."""
    def convert(text: str) -> Path:
        if Path(text).is_dir():
            raise argparse.ArgumentTypeError(f"{text} is a folder; allowed: the path of a "
                                             "file to write")
        try:
            if check is not None:
                check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return Path(text)
    return convert


def _committee_size(text: str) -> int:
    """``--committee K``: 0 (none) or K >= 2 (argparse names the option on an error)."""
    try:
        size = int(text)
    except ValueError:
        size = -1
    if size < 0 or size == 1:
        raise argparse.ArgumentTypeError(f"found {text!r}; allowed: 0 (none) or an integer "
                                         ">= 2 (a spread needs two members)")
    return size


def _stress_reading(text: str) -> tuple:
    """``--stress-reading [GROUP=]NAME``: (group or None, a name of
    ``acefit.consistency.STRESS_READINGS``)."""
    from acefit.consistency import STRESS_READINGS

    group, equals, name = text.rpartition("=")
    if name not in STRESS_READINGS or (equals and not group):
        raise argparse.ArgumentTypeError(
            f"found {text!r}; allowed: NAME or CONFIG_TYPE=NAME, NAME one of "
            + ", ".join(STRESS_READINGS))
    return group or None, name


def _stress_readings(given) -> dict:
    """The ``--stress-reading`` options (:func:`_stress_reading`'s pairs) as config_type
    (None: the default) -> reading; a ValueError for a group given two readings (the
    last one would win unseen)."""
    readings = {}
    for group, name in given:
        if readings.setdefault(group, name) != name:
            what = "the default" if group is None else f"config_type {group!r}"
            raise UsageError(f"--stress-reading: {what} given two readings, "
                             f"{readings[group]} and {name}; allowed: one reading each")
    return readings


def _integer_from(low: int):
    """An argparse type: an integer >= ``low`` (argparse names the option on an error)."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"found {text!r}; allowed: an integer >= {low}")
        return value
    return convert


_positive_int, _count = _integer_from(1), _integer_from(0)


def _element(text: str) -> str:
    """A chemical symbol (``--species EL``; argparse names the option on an error)."""
    from ase.data import atomic_numbers

    if atomic_numbers.get(text, 0) < 1:    # 0: 'X', ASE's dummy atom, is no element
        raise argparse.ArgumentTypeError(f"found {text!r}; allowed: chemical symbols such "
                                         "as Cu or Au, capital first letter")
    return text


def _finite_number(text: str) -> float:
    """A finite number (``--threshold X``; argparse names the option on an error)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"found {text!r}; allowed: a finite number")
    return value


def _distance(text: str) -> float:
    """A finite number >= 0 (``--min-distance D``, Å; argparse names the option on an
    error)."""
    value = _finite_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"found {text!r}; allowed: a finite number >= 0 "
                                         "(Å)")
    return value


def _basis_size(text: str) -> int:
    """``--functions N`` within the sizes `acefit init` aims at (argparse names the option
    on an error)."""
    from acefit.starter import MAX_FUNCTIONS, MIN_FUNCTIONS

    try:
        size = int(text)
    except ValueError:
        size = 0
    if not MIN_FUNCTIONS <= size <= MAX_FUNCTIONS:
        raise argparse.ArgumentTypeError(f"found {text!r}; allowed: an integer in "
                                         f"[{MIN_FUNCTIONS}, {MAX_FUNCTIONS}]")
    return size


def _add_verbosity(p):
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("-v", "--verbose", action="store_true", help="log every step")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")


@contextlib.contextmanager
def _unfitted_elements_logged():
    """A potential's :class:`acefit.potential.UnfittedElementWarning` (atoms of an element
    its fit had no data of) as a line of the log, ``warning: ...``, not Python's
    ``file:line: UnfittedElementWarning`` with a source line under it."""
    import warnings

    from acefit.potential import UnfittedElementWarning
    from acefit.progress import get_logger

    with warnings.catch_warnings():     # restores showwarning
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, UnfittedElementWarning):
                get_logger().warning("warning: %s", message)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Entry point of the ``acefit`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG
    from acefit.progress import catching_interrupts, close_logging, setup_logging

    setup_logging(None, verbose=args.verbose, quiet=args.quiet)
    progress = False if args.no_progress else None
    try:
        if args.command == "init":
            return _init(args)
        if args.command == "fit":
            with catching_interrupts():     # a Ctrl-C during a solver path is never lost
                return _fit(args, progress)
        if args.command == "compare":
            return _compare(args)
        if args.command == "export":
            return _export(args)
        with _unfitted_elements_logged():
            if args.command == "evaluate":
                return _evaluate(args)
            if args.command == "query":
                return _query(args, progress)
            return _validate(args, progress)
    except KeyboardInterrupt as exc:
        from acefit.progress import Terminated

        resume = "; run the same command again to resume" if args.command == "fit" else ""
        if getattr(exc, "__notes__", None):     # e.g. a fit that had finished
            resume = "; " + "; ".join(exc.__notes__)
        if isinstance(exc, Terminated):     # a fit's only: the others keep the default
            print(f"acefit: terminated (SIGTERM){resume}", file=sys.stderr)
            return EXIT_TERMINATED
        print(f"acefit: interrupted{resume}", file=sys.stderr)  # only a fit resumes
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of the output went away (`acefit evaluate ... | head`): stop quietly,
        # as cat does; what the command wrote to files is complete
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except Exception as exc:  # every failure ends with one clear line, not a traceback
        from acefit.config import ConfigError
        from acefit.data import MissingKeyError
        from acefit.pipeline import RunExistsError
        from acefit.readers import EmptyFileError
        from acefit.runs import RunSelectionError

        if args.debug:
            raise
        if isinstance(exc, (RunSelectionError, UsageError, EmptyFileError,
                            MissingKeyError)):
            print(f"acefit: error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        if isinstance(exc, ConfigError):
            print(f"acefit: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        if isinstance(exc, (RunExistsError, FileExistsError)):
            print(f"acefit: {exc}", file=sys.stderr)
            return EXIT_EXISTS
        if isinstance(exc, FileNotFoundError):   # a path the command line or config named
            what = f"{exc.filename}: no such file or directory" if exc.filename else exc
            print(f"acefit: error: {what}", file=sys.stderr)
            return EXIT_CONFIG
        print(f"acefit: error: {exc}", file=sys.stderr)
        if not isinstance(exc, (ValueError, FileNotFoundError, OSError, RuntimeError)):
            print("(run with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR
    finally:
        close_logging()


def _init(args) -> int:
    import math

    from acefit.starter import NEIGHBOUR_SEARCH, write_starter_config

    # --force replaces a config, never the data it is read from (found by fuzzing)
    refuse_overwriting("-o", args.output, "data", [*args.train, *(args.test or [])])
    facts = write_starter_config(args.output, args.train, test=args.test,
                                 functions=args.functions, order=args.order,
                                 overwrite=args.force)
    s = facts["survey"]
    print(f"{s.n_configs} configurations, {s.n_atoms} atoms, elements {', '.join(s.elements)}; "
          + ", ".join(f"{count} with {label}" for label, count in s.labelled.items())
          + (f" ({len(s.unstressed)} periodic in all three directions without one: "
             + "; ".join(s.unstressed[:3]) + ("; ..." if len(s.unstressed) > 3 else "") + ")"
             if s.unstressed else ""))
    for symbol, atoms, configs, where in s.rare_elements():
        print(f"note: {symbol} is in {configs} of {s.n_configs} configurations ({atoms} atom"
              f"{'s' * (atoms > 1)}; first {where}); the basis gives it functions of its own "
              "and of its pairs, for which the total degree makes room: if it is a mistake, "
              "leave out those frames")
    if facts["energy_choice"]:
        print(f"{facts['energy_choice']['note']}; {facts['energy_choice']['why']}")
    changed = facts["changed_keys"]
    if changed:
        print("labels read from: " + ", ".join(f"{k} <- {v}" for k, v in changed.items()
                                               if v is not None))
    if len(s.config_types) > 1:
        print(f"config_type groups: {len(s.config_types)} (listed in the config, for weights)")
    if facts["validation_missed"]:
        print("validation split stratified by config_type: a random 10 % would hold none of "
              + ", ".join(facts["validation_missed"]))
    near = f"{s.nearest:.2f} Å" if math.isfinite(s.nearest) else \
        f"none (no atoms within {NEIGHBOUR_SEARCH:g} Å)"
    r0 = f", r0 {facts['r0']:g} Å" if facts["r0"] else ""
    print(f"median nearest-neighbour distance {near} -> rcut {facts['rcut']:g} Å{r0}")
    if facts["repulsion"]:
        pair, (dmin, where) = next(iter(s.shortest.items()))
        print(f"shortest distance {dmin:.2f} Å ({pair}, {where}) -> ZBL repulsion zero from "
              f"{facts['repulsion'][1]:.1f} Å on")
    from acefit.consistency import MIN_PAIRS, NOT_PERIODIC

    checks, test_only = facts["stress_checks"], facts["test_only_stresses"]
    if checks:
        parts = [c.summary() + " [test files only]" * (c.config_type in test_only)
                 for c in checks if c.verdict != "untested"]
        for periodic, why in ((True, f"fewer than {MIN_PAIRS} strain pairs"),
                              (False, NOT_PERIODIC)):
            untested = [c.config_type + " [test files only]" * (c.config_type in test_only)
                        for c in checks if c.verdict == "untested" and c.periodic == periodic]
            if untested:
                parts.append(f"not tested ({why}): " + ", ".join(untested))
        print("stresses against energies on strain pairs: " + "; ".join(parts))
    for check in checks:
        if check.verdict == "unclear":
            print("note: " + check.describe())
        elif check.verdict == "inconsistent":
            print((f"stresses read with {check.reading_description}: " if check.reading
                   else "stresses of the test files only, whose test errors measure these "
                   "labels: " if check.config_type in test_only
                   else "stresses not fitted (V 0): ") + check.describe())
    unchecked, converted = facts["unchecked_stresses"]
    if unchecked:
        print(f"stresses not fitted (V 0): {', '.join(unchecked)}: not tested (no strain "
              f"pairs), in files whose tested groups are read as {', '.join(converted)}; if "
              "theirs are too, read them so in the config and fit them")
    unchecked_held, converted = facts["unchecked_test_stresses"]
    if unchecked_held:
        print(f"stresses of the test files only not tested (no strain pairs): "
              f"{', '.join(unchecked_held)}, beside groups read as {', '.join(converted)}; if "
              "theirs are too, read them so (data.stress_reading) for their test errors")
    print(f"order {args.order}, total degree {facts['totaldegree']}: {facts['n_functions']} "
          f"functions; ASP and OMP paths to {facts['max_active']}, budgets "
          + ", ".join(map(str, facts["budgets"])))
    if args.functions > facts["most_functions"]:
        print(f"note: {s.rows} label rows allow at most {facts['most_functions']} functions "
              f"(half of those left after the validation split), not {args.functions}")
    elif s.rows < 5 * facts["n_functions"]:
        print(f"note: {s.rows} labels for {facts['n_functions']} functions; the full-basis "
              "fits (blr) will lean on the prior; fewer --functions or more data")
    print(f"wrote {args.output}\nnext: acefit fit {args.output} --plan   (its size), then "
          f"acefit fit {args.output}")
    return EXIT_OK


def _fit(args, progress) -> int:
    from acefit.config import ConfigError, dump_config, group_keys_to_check, load_config

    try:
        cfg = load_config(args.config, args.overrides)
    except FileNotFoundError as exc:
        raise ConfigError([(str(args.config), str(exc))], str(args.config)) from None
    if args.output is not None:
        cfg["output"]["directory"] = str(args.output)
    if args.check:
        print(dump_config(cfg), end="")
        groups = group_keys_to_check(cfg)
        unchecked = (f" (the config_type names in {' and '.join(groups)} are checked against "
                     "the data by --plan and fit)") if groups else ""
        print(f"# {args.config}: valid{unchecked}", file=sys.stderr)
        return EXIT_OK
    if args.plan:
        from acefit.plan import plan, plan_text

        print(plan_text(plan(cfg)))
        return EXIT_OK
    from acefit.pipeline import run_fit
    from acefit.report import (best_any_size_lines, stress_note_lines, summary_table,
                               unmet_budget_lines)

    result = run_fit(cfg, force=args.force, progress=progress)
    print()
    selection = result.report["selection"]
    if selection["selected"]:       # else the lines below say why the table is empty
        print(summary_table(result.report))
        print()
    for line in (stress_note_lines(result.report, markdown=False)
                 + best_any_size_lines(selection)
                 + unmet_budget_lines(selection["unmet_budgets"], bool(selection["selected"]))):
        print(line)
    head = [s for s in result.report["selection"]["selected"] if s["best"]]
    files = head[-1].get("files", {}) if head else {}
    print(f"Run directory: {result.run_dir}  (report.md, report.json, acefit.log)")
    for fmt, paths in files.items():
        what = "LAMMPS pair commands" if fmt == "lammps" else f"Potential ({fmt})"
        print(f"{what}: " + ", ".join(str(result.run_dir / p) for p in paths))
    print(f"Wall time: {result.wall_time:.1f} s")
    return EXIT_OK


def _compare(args) -> int:
    from acefit.compare import compare_runs

    out = compare_runs(args.runs, args.output, budgets=args.budgets, split=args.split)
    print(out["table"])
    print()
    for note in out["notes"]:
        print(f"note: {note}")
    for f in out["files"]:
        print(f"wrote {f}")
    return EXIT_OK


def _export(args) -> int:
    from acefit.export.lammps import pair_commands_path
    from acefit.pipeline import pairs_without_core
    from acefit.runs import export_checkpoint

    out = export_checkpoint(args.run, args.label, step=args.step, active=args.active,
                            budget=args.budget, output=args.output, formats=args.formats,
                            yace_radial=args.yace_radial, committee=args.committee)
    label = out["label"]
    if args.label is None and len(out["labels"]) > 1:
        others = ", ".join(x for x in out["labels"] if x != label)
        print(f"path {label}: that of the run's potential.h5 (--path for {others})")
    solver = "" if out["solver"] == label else f" ({out['solver']})"
    print(f"{out['run']}: path {label}{solver}, step {out['step']}: "
          f"{out['n_active']} active functions")
    entry = out["entry"]
    splits = ("train", "val", "test")
    for q, unit, digits in (("E", "meV/atom", 3), ("F", "eV/Å", 4), ("S", "GPa", 3)):
        maes = [_mae(entry, split, q, digits) for split in splits]
        if q != "S" or any(m != "–" for m in maes):    # S only for a fit with stress rows
            print(f"  {q} MAE ({unit}): " + ", ".join(map(" ".join, zip(splits, maes))))
    if out["e0_source"] != "report.json":
        print(f"  E0 {out['e0_source']}")
    if out["committee"]:
        c = out["committee"]
        scaled = ("spread scaled to the validation errors by " + ", ".join(
            f"{q} {v:.3g}" for q, v in c["scale"].items()) if "val" in c else
            "spread not scaled (the run has no validation set)")
        print(f"  committee: {c['members']} members, {scaled}" + "".join(
                  f"; test {q}: RMS error / SD {v['z_rms']:.2f}, {100 * v['within_2sd']:.0f} % "
                  "within 2 SD" for q, v in c.get("test", {}).items()))
    bad = pairs_without_core(out["dimers"])
    blind = [pair for pair, v in out["dimers"].items() if v.get("no_training_data")]
    print("  dimers (0.5-3 Å): " + (f"NO repulsive core for {', '.join(bad)} (acefit validate "
                                     "shows the curves)" if bad else
                                     "every pair has a repulsive core")
          + (f"; no training data of {', '.join(blind)}" if blind else ""))
    for fmt, path in out["files"].items():
        print(f"wrote {path}")
        if fmt == "yace":
            print(f"wrote {pair_commands_path(path)} (its LAMMPS pair commands)")
    if out["not_written"]:
        print(f"acefit: error: {', '.join(out['not_written'])} not written (see the "
              "warning above)", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _mae(entry, split, q, digits) -> str:
    """The MAE, with its bootstrap SE over the split's configurations where the fit stored
    one (validation and test, runs since session 18)."""
    from acefit.compare import entry_stat

    value = entry_stat(entry, split, q)
    if value is None:
        return "–"
    se = entry_stat(entry, split, q, "mae_se")
    return f"{value:.{digits}f}" + ("" if se is None else f" ± {se:.{digits}f}")


def _key_option(label: str) -> str:
    return f"--{label.replace('_', '-')}-key"


def _evaluate(args) -> int:
    from acefit.consistency import read_stresses
    from acefit.data import changed_label_keys, read_configurations
    from acefit.evaluate import (committee_by_config_type_table, committee_table,
                                 element_table, errors_table, evaluate, paired_table,
                                 parity_plot, worst_table, write_predictions)
    from acefit.potential import Potential

    for option in ("--predictions", "--plot", "--json"):
        refuse_overwriting(option, getattr(args, option[2:]), "--data", args.data)
    for f in args.potentials:       # the format first: said also where the file is not
        if f.suffix == ".yace":
            raise UsageError(f"{f}: acefit evaluate reads acefit potential files (.h5), not "
                             f".yace; the fit wrote {f.with_suffix('.h5').name} beside it")
    files = [potential_file(p) for p in args.potentials]
    potentials = [Potential.load(f) for f in files]     # each named if no regular file
    readings = _stress_readings(args.stress_reading)
    default = readings.pop(None, "as_labelled")
    labels = potential_labels(args.potentials)
    given = {label: key for label in _EVALUATE_LABELS
             if (key := getattr(args, f"{label}_key")) is not None}
    keys, notes = _evaluate_keys(args.potentials, potentials, given)
    configs = read_configurations(args.data, keys, require=changed_label_keys(given),
                                  option=_key_option)
    groups = {c.config_type for c in configs}
    if set(readings) - groups:
        raise UsageError(f"--stress-reading: config_type {sorted(set(readings) - groups)} is "
                         f"in no configuration of --data; allowed: {sorted(groups)}")
    configs = read_stresses(configs, default, readings)
    result = evaluate(potentials, configs, labels, resamples=args.resamples,
                      progress=False if args.no_progress else None,
                      unlabelled=args.predictions is not None)  # else nothing reads them
    n_atoms = sum(cfg.n_atoms for cfg in configs)
    print(f"{len(configs)} configurations ({n_atoms} atoms) from "
          + ", ".join(str(f) for f in args.data)
          + ". MAE ± bootstrap standard error over the configurations, and RMSE: "
            "E meV/atom, F eV/Å, S GPa.")
    fitted_data = _fitted_data(args.potentials, potentials, configs)
    for note in notes + _fitted_data_notes(fitted_data, labels, len(configs)):
        print(note)
    from acefit.consistency import check_stresses

    checks = check_stresses(configs)    # once, for both kinds of note
    stress_notes = _stress_check_notes(checks) + _untested_stress_notes(
        configs, checks, {"default": default, "config_type": readings},
        {r["run"] for r in fitted_data if r is not None}, args.data)
    for line in stress_notes + _own_prediction_notes(result, fitted_data):
        print(line)
    for label, plural in (("energy", "energies"), ("forces", "forces")):
        if all(getattr(cfg, label) is None for cfg in configs):
            print(f"No {plural} scored: " + (
                f"no frame has {'an energy' if label == 'energy' else 'a force'} label under "
                f"{keys[label]!r} ({_key_option(label)} names another)." if keys[label] else
                f"the {label} key is null."))
    for j, (label, pot, f) in enumerate(zip(labels, potentials, files)):
        solver = pot.metadata.get("solver")
        print(f"\n{label}: {f} ({len(pot)} active functions"
              + (f", {solver}" if solver else "")
              + f"; energy, forces and stress in {result.ms_per_atom[j]:.3f} ms/atom here)\n")
        print(errors_table(result, j))
        by_element = element_table(result, j)
        if by_element:
            print(f"\nForces per element ({label}):\n\n{by_element}")
    worst = worst_table(result, args.worst) if args.worst > 0 else ""
    if worst:
        print(f"\nLargest errors (ΔE: prediction − label, meV/atom; F MAE eV/Å):\n\n{worst}")
    scales = [pot.committee_scale for pot in potentials]
    committee = committee_table(result.labels, result.committee, scales)
    if committee:
        print("\nCommittees: does the spread of the members measure the errors (calibrated: "
              "RMS of error / SD near 1, 95 % within 2 SD)? E meV/atom per configuration, F "
              f"eV/Å and S GPa per component.\n\n{committee}")
    by_type = committee_by_config_type_table(result.labels, result.committee_by_config_type,
                                             scales)
    if by_type:
        print("\nThe same per config_type: where the committee is cautious (below 1) or "
              f"overconfident (above 1).\n\n{by_type}")
    if len(potentials) > 1:
        print("\nPaired on the same draws of the configurations (a difference within about "
              "two standard errors is one this data cannot resolve):\n")
        print(paired_table(result))
    written = []
    if args.predictions is not None:
        written.append(write_predictions(args.predictions, result))
    if args.plot is not None:
        written.append(parity_plot(args.plot, result))
    if args.json is not None:
        from acefit.atomic import write_json

        record = result.to_dict()
        record["potentials"] = [{"file": str(f), **p, "fitted_data": d}
                                for f, p, d in zip(files, record["potentials"], fitted_data)]
        written.append(write_json(args.json, record))
    if written:
        print("\n" + "\n".join(f"wrote {path}" for path in written))
    return EXIT_OK


def _fitted_data(paths, potentials, configs) -> list:
    """Per potential, None where its run is not known (:func:`acefit.runs.potential_run`),
    else the record of its run (one dict shared by the potentials of a run): ``run``,
    ``count`` and ``configurations`` (file and frame) of ``configs`` that are the run's
    training or validation data (the same structure, :func:`acefit.data.structure_key`),
    both None when ``missing_files`` names data files of the run that are gone."""
    from acefit.data import structure_key
    from acefit.query import labelled_structures
    from acefit.runs import potential_run, run_data_files

    found, runs, keys = [], {}, None     # runs: real path -> record
    for path, pot in zip(paths, potentials):
        run = potential_run(path, pot)
        if run is None:
            found.append(None)
            continue
        if os.path.realpath(run) not in runs:
            files = run_data_files(run, ("train", "validation"))
            missing = [str(f) for f in files if not f.is_file()]
            seen = None
            if not missing:
                fitted = labelled_structures(files, name="data file of the run")
                keys = keys or [structure_key(cfg.atoms) for cfg in configs]
                seen = [cfg.where for cfg, key in zip(configs, keys) if key in fitted]
            runs[os.path.realpath(run)] = {
                "run": str(run), "count": None if seen is None else len(seen),
                "configurations": seen, "missing_files": missing}
        found.append(runs[os.path.realpath(run)])
    return found


def _fitted_data_notes(found, labels, n_configs: int, shown: int = 3) -> list[str]:
    """A line per run of :func:`_fitted_data`'s records ``found`` (one per potential, named
    by ``labels``) whose training or validation files hold configurations of the
    ``n_configs`` of --data: their errors measure the fit, not the prediction. How many,
    and the first ``shown`` by file and frame; or that the run's data files are gone."""
    lines = []
    for record in {id(r): r for r in found if r is not None}.values():
        names = [label for label, r in zip(labels, found) if r is record]
        run, seen = record["run"], record["configurations"]
        if seen is None:
            lines.append(f"note: the data of run {run} ({', '.join(record['missing_files'])}) "
                         "are not there any more: whether --data holds its configurations "
                         "is not known.")
        elif seen:
            lines.append(f"note: {len(seen)} of {n_configs} configurations of --data are "
                         f"training or validation data of run {run} ({', '.join(names)}): "
                         "their errors measure the fit, not the prediction (first: "
                         + "; ".join(seen[:shown]) + ("; ..." if len(seen) > shown else "")
                         + ").")
    return lines


def _own_prediction_notes(result, fitted_data, shown: int = 3) -> list[str]:
    """A warning per potential of ``result`` (:class:`acefit.evaluate.Evaluation`) whose
    own predictions some configurations carry as labels (``own_predictions``): a
    trajectory written with it, or data it reproduces exactly, whose errors are zero by
    construction. Configurations named already as its run's training or validation data
    (``fitted_data``, :func:`_fitted_data`) are left out. They stay in the scores (another
    potential's errors on them are its differences to this one, and ``--predictions``
    writes them), named with how many and the first ``shown``."""
    from acefit.evaluate import OWN_RTOL

    lines = []
    for label, own, run in zip(result.labels, result.own_predictions, fitted_data):
        known = set((run or {}).get("configurations") or ())
        where = [result.configs[i].where for i in own if result.configs[i].where not in known]
        if where:
            lines.append(
                f"warning: {len(where)} of {len(result.configs)} configurations of --data "
                f"carry labels equal to the predictions of {label} (every label, to "
                f"{OWN_RTOL:g} relative): written with it (ASE stores its calculator's results "
                "as a frame's labels, as in an MD trajectory), or data it reproduces exactly; "
                "its errors on them are zero by construction, and they are scored with the "
                "others (first: " + "; ".join(where[:shown])
                + ("; ..." if len(where) > shown else "") + "). If they were written with it, "
                "label them with the reference method to score the potential on them.")
    return lines


def _stress_check_notes(checks) -> list[str]:
    """A line for each config_type whose stresses, as read, disagree with their energies
    (``checks``: :func:`acefit.consistency.check_stresses` of the data): its stress errors
    measure the labels, not the potentials; with the reading under which they agree, if
    one does."""
    import shlex

    lines = []
    for check in checks:
        if check.verdict != "inconsistent":
            continue
        line = (f"note: {check.summary()}: the stress errors of {check.config_type} measure "
                "these labels, not the potentials")
        if check.reading:
            option = shlex.quote(f"{check.config_type}={check.reading}")
            line += (f"; they agree with the energies read with {check.reading_description}: "
                     f"--stress-reading {option}")
        lines.append(line + ".")
    return lines


def _untested_stress_notes(configs, checks, readings: dict, runs, files) -> list[str]:
    """A line naming the config_types of ``configs`` (``checks``: their
    :func:`acefit.consistency.check_stresses`) whose stresses are scored as labelled
    (``readings``, the --stress-reading options) but no strain pair tested, when a
    converter's error of sign or units is known beside them (the same error would go
    unseen in them): found in other groups of ``configs``
    (:func:`acefit.consistency.converter_errors`), or corrected by the
    ``data.stress_reading`` of a potential's run (``runs``, their directories) that read
    one of ``files`` (--data) itself; a run's reading says nothing of other files, which
    may come from another converter. None without such an error."""
    import shlex

    from acefit.consistency import (CONVERTER_READINGS, MIN_PAIRS, converter_errors,
                                    converter_text, untested_beside_converters)
    from acefit.runs import run_data_files, run_stress_reading

    here = converter_errors(checks, readings)
    found = dict(here)
    given = {os.path.realpath(f) for f in files}
    for run in runs:
        if not given & {os.path.realpath(f) for f in run_data_files(run)}:
            continue
        fitted = run_stress_reading(run)
        groups = {"": fitted["default"], **fitted["config_type"]}
        found.update({f"the {group}{' ' * bool(group)}stresses that run {run} read from "
                      "--data": reading for group, reading in groups.items()
                      if reading in CONVERTER_READINGS and group not in here})
    untested = untested_beside_converters(checks, readings, found)
    if not untested:
        return []
    common = set(found.values())
    stressed = {c.config_type for c in configs if c.stress is not None}
    # one reading for all when the groups it leaves as labelled are none
    advice = ("with --stress-reading " + (
        min(common) if stressed <= set(untested) | set(here) else
        " --stress-reading ".join(shlex.quote(f"{group}={min(common)}") for group in untested))
        if len(common) == 1 else "with --stress-reading GROUP=NAME")
    return [f"note: the stresses of {', '.join(untested)} are scored as labelled, but fewer "
            f"than {MIN_PAIRS} strain pairs tested them against their energies, beside a "
            f"converter's error of sign or units in {converter_text(found)}: the same error "
            "would go unseen in them, and their stress errors would measure it, not the "
            f"potentials; if they are in that convention too, read them so ({advice})."]


def _evaluate_keys(paths, potentials, given: dict) -> tuple[dict, list]:
    """The label keys ``evaluate`` reads its data with: each of ``given`` (the --*-key
    options), else the key the first of ``potentials`` whose fit's keys are known was
    fitted with (:func:`acefit.runs.fitted_label_keys`), else the default; and lines that
    say where they came from and name a potential fitted with other keys."""
    from acefit.data import LABEL_KEYS
    from acefit.runs import fitted_label_keys

    known = [(path, *found) for path, pot in zip(paths, potentials)
             if (found := fitted_label_keys(path, pot)) is not None]
    default = {label: LABEL_KEYS[label] for label in _EVALUATE_LABELS}
    fitted = {label: known[0][1][label] for label in _EVALUATE_LABELS} if known else default
    keys = {**fitted, **given}
    if "stress" in given and "virial" not in given:
        keys["virial"] = None       # a fit's virial would be read in place of the stress
    notes, taken = [], {label: key for label, key in fitted.items()
                        if label not in given and key != default[label]}
    if taken:
        notes.append(f"Labels read as {known[0][0]} was fitted ({known[0][2]}): "
                     + ", ".join(f"{label} <- {key}" for label, key in taken.items())
                     + "; --energy-key and the like override.")
    for path, other, source in known[1:]:
        differ = {label: other[label] for label in _EVALUATE_LABELS
                  if label not in given and other[label] != fitted[label]}
        if differ:
            notes.append(f"note: {path} was fitted with other label keys ("
                         + ", ".join(f"{label} <- {key}" for label, key in differ.items())
                         + f", {source}); every potential is scored on the labels read as "
                           f"{known[0][0]} was fitted.")
    return keys, notes


def potential_labels(paths) -> list[str]:
    """Short distinct names of potential files or run directories, for tables and keys:
    the file stem (or the run directory's name), with its folder's name where two
    stems are the same, and a number where that is not enough."""
    paths = [Path(p) for p in paths]
    names = [p.name if p.is_dir() else p.stem for p in paths]
    if len(set(names)) == len(names):
        return names
    qualified = [f"{p.resolve().parent.name}_{n}" for p, n in zip(paths, names)]
    if len(set(qualified)) == len(qualified):
        return qualified
    return [f"{j}_{n}" for j, n in enumerate(names)]


def _query(args, progress) -> int:
    import numpy as np

    from acefit.potential import Potential
    from acefit.query import (PairLimits, check_pool_files, default_min_distance,
                              iter_pool, pool_species, query, read_labelled)

    # the paths before any work (-o is no folder: argparse): the output must not replace a
    # pool file (the user's data)
    try:
        check_pool_files(args.pool)
    except ValueError as exc:   # a file named twice: the command line's
        raise UsageError(str(exc)) from None
    refuse_overwriting("-o", args.output, "--pool", args.pool)
    labelled_files = _labelled_files(args)
    refuse_overwriting("-o", args.output, "--labelled", labelled_files)
    n = 10 if args.n is None and args.threshold is None else args.n
    target = potential_file(args.potential)
    potential = Potential.load(target)
    if potential.committee is None:
        raise UsageError(f"{target} has no committee to query; allowed: a potential fitted "
                         "with export.committee >= 2, or one written by `acefit export RUN "
                         "--budget T --committee 32`")
    labelled = read_labelled(labelled_files)
    limits = PairLimits(default=args.min_distance, default_reason="--min-distance") \
        if args.min_distance is not None else \
        default_min_distance(labelled if labelled_files else None, potential.basis.numbers)
    picks, scored = [], 0       # (score, pool file, frame number, force SD, energy SD)
    candidates = below = 0      # frames neither labelled, too close nor below --threshold
    known = []                  # (pool file, frame number) of the labelled pool frames
    close = []                  # (pool file, frame number, distance, pair) of frames too close
    species = {f: pool_species(f, args.species) for f in args.pool}   # one note per file
    for f in args.pool:
        # streamed: each frame scored as it is read (and checked, naming file and frame);
        # read frame i is frame i * every of the file
        frames = (atoms for _, atoms in iter_pool(f, every=args.every, species=species[f]))
        result = query(potential, frames, n=n, threshold=args.threshold, by=args.by,
                       gap=args.gap // args.every,    # read frames are K file frames apart
                       progress=progress, where=lambda i: f"{f}, frame {i * args.every}",
                       labelled=labelled.keys, min_distance=limits)
        scored += len(result.scores)
        eligible = ~(result.labelled | result.too_close)
        if args.threshold is not None:
            below += int((eligible & (result.scores <= args.threshold)).sum())
            eligible &= result.scores > args.threshold
        candidates += int(eligible.sum())
        known += [(f, int(i) * args.every) for i in np.flatnonzero(result.labelled)]
        close += [(f, int(i) * args.every, float(result.shortest[i]), result.pairs[i])
                  for i in np.flatnonzero(result.too_close)]
        picks += [(float(result.scores[i]), f, int(i) * args.every, float(result.force_sd[i]),
                   float(result.energy_sd[i])) for i in result.chosen]
        print(f"{f}: {len(result.scores)} frames scored; largest atomic force SD (eV/Å) median "
              f"{np.median(result.force_sd):.4f}, max {result.force_sd.max():.4f}; energy SD "
              f"(meV/atom) median {np.median(result.energy_sd):.3f}, max "
              f"{result.energy_sd.max():.3f}")
    if known:
        print(f"{len(known)} pool frame(s) are labelled already (in "
              f"{', '.join(map(str, labelled_files))}) and were not chosen (first: "
              f"{known[0][0]}, frame {known[0][1]})")
    if close:
        from acefit.elements import pair_name

        first, frame, d, pair = close[0]
        print(f"{len(close)} pool frame(s) have two atoms closer than their pair's limit and "
              f"were not chosen (first: {first}, frame {frame}, {pair_name(*pair)} {d:.2f} Å "
              f"against {limits.limit(*pair):.2f} Å). Limits: {limits.text()}; "
              "--min-distance D sets one for every pair, 0: none")
    picks.sort(key=lambda pick: -pick[0])
    chosen = _chosen_frames(picks[:n], args.every, species)   # n None: all
    from acefit.atomic import write_extxyz

    write_extxyz(args.output, chosen)
    _print_chosen(chosen, labelled, limits if args.min_distance != 0 else None)
    print(f"\nwrote {args.output}: {len(chosen)} of {scored} frames, by {args.by} SD"
          + (f" above {args.threshold:g}" if args.threshold is not None else "")
          + _query_shortfall(n, len(chosen), {"scored": scored, "candidates": candidates,
                                               "labelled": len(known), "too close": len(close),
                                               "below": below}, args))
    return EXIT_OK


def _query_shortfall(n, chosen: int, counts: dict, args) -> str:
    """Why ``acefit query`` chose fewer than the ``n`` frames asked for ("" when it did not):
    too few candidates (``counts``: frames ``scored``, ``candidates`` among them, and those
    left out as ``labelled``, ``too close`` or ``below`` --threshold), or --gap, which keeps
    the other candidates out as neighbours of chosen frames."""
    if n is None or chosen >= n:
        return ""
    asked = f"-n {n} asked for" if args.n is not None else f"-n {n} by default"
    if counts["candidates"] > chosen:
        return (f" ({asked}; --gap {args.gap} left out the other "
                f"{counts['candidates'] - chosen} candidate(s), each within {args.gap} "
                "frames of a more uncertain one chosen: a smaller --gap chooses more)")
    threshold = f"at or below --threshold {args.threshold:g}" if args.threshold is not None \
        else ""
    out = [f"{counts[key]} {what}" for key, what in (("labelled", "labelled already"),
                                                     ("too close", "with atoms too close"),
                                                     ("below", threshold)) if counts[key]]
    return (f" ({asked}; only {counts['candidates']} of the {counts['scored']} frames are "
            "candidates" + (f": {', '.join(out)}" if out else "") + ")")


def _print_chosen(chosen, labelled, limits) -> None:
    """The table of the chosen frames: scores and each one's closest pair of atoms relative
    to its pair's limit (``limits``, :class:`acefit.query.PairLimits`; None: the closest
    pair); and a note on those with a pair closer than any ``labelled`` configuration
    has it (:class:`acefit.query.Labelled`)."""
    from acefit.basis.neighbours import shortest_by_pair
    from acefit.elements import pair_name
    from acefit.query import QUERY_SCORES, SHORTEST_SEARCH

    if not chosen:
        return
    head = "closest pair (Å, × its limit)" if limits else "closest pair (Å)"
    print("\n| pool file | frame | atoms | force SD (eV/Å) | energy SD (meV/atom) | "
          f"{head} |\n|---|---:|---:|---:|---:|---:|")
    nearer = []     # (frame, pair, distance) of each chosen frame that goes beyond the data
    for atoms in chosen:
        pairs = shortest_by_pair(atoms, SHORTEST_SEARCH)
        if not pairs:
            cell = f"> {SHORTEST_SEARCH:g}"
        elif limits:
            d, ratio, pair = limits.closest(pairs)
            cell = f"{pair_name(*pair)} {d:.2f} ({ratio:.2f}×)"
        else:
            pair, d = min(pairs.items(), key=lambda item: item[1])
            cell = f"{pair_name(*pair)} {d:.2f}"
        # the pair furthest beyond the data, relative to their shortest
        beyond = min(pairs.items(), key=lambda item: item[1] / labelled.shortest(*item[0])[0],
                     default=None)
        if beyond and beyond[1] < labelled.shortest(*beyond[0])[0]:
            nearer.append((atoms, *beyond))
        print(f"| {atoms.info['pool_file']} | {atoms.info['pool_frame']} | {len(atoms)} | "
              f"{atoms.info[QUERY_SCORES['force']]:.4f} | "
              f"{atoms.info[QUERY_SCORES['energy']]:.3f} | {cell} |")
    # labelled data that bring no pair within its reach record none (fcc Al at
    # equilibrium), and a frame closer than that reach is still beyond them
    if nearer and labelled.keys:
        atoms, pair, d = nearer[0]
        seen, where = labelled.shortest(*pair)
        data = (f"the labelled data's shortest: {seen:.2f} Å, {where}" if where else
                f"none in the labelled data within {seen:.2f} Å")
        print(f"\nnote: {len(nearer)} chosen frame(s) have a pair of atoms closer than any "
              f"labelled configuration (first: {atoms.info['pool_file']}, frame "
              f"{atoms.info['pool_frame']}, {pair_name(*pair)} {d:.2f} Å; {data}): their "
              "labels take the data to shorter distances; check that their calculations "
              "converge")


def _labelled_files(args) -> list:
    """The files of ``acefit query --labelled``; without the option, a run directory's
    data files (training, validation, test) that are still there, with a warning for each
    that is not (its frames could be chosen again). The run's ``config.yaml`` is read as
    written, not validated again: a run whose data have moved, or a folder holding only a
    potential.h5, is queried all the same."""
    if args.labelled is not None:
        return list(args.labelled)
    if not args.potential.is_dir() or not (args.potential / "config.yaml").is_file():
        return []
    from acefit.progress import get_logger
    from acefit.runs import run_data_files

    files = run_data_files(args.potential)
    for f in files:
        if not f.is_file():
            get_logger().warning("the run's data file %s is not there any more: a pool frame "
                                 "that is one of its configurations may be chosen (name the "
                                 "labelled files with --labelled)", f)
    return [f for f in files if f.is_file()]


def _chosen_frames(picks, every, species) -> list:
    """The atoms of the chosen frames ``picks`` (score, pool file, frame number, force SD,
    energy SD), in that order, read again from their files (the scoring kept no frame),
    each file up to its last chosen frame; their scores, pool file and frame in
    ``atoms.info``. ``species``: per pool file, :func:`acefit.query.pool_species`."""
    from acefit.query import QUERY_SCORES, iter_pool

    wanted = {}
    for k, (_, f, frame, _, _) in enumerate(picks):
        wanted.setdefault(f, {})[frame] = k
    chosen = [None] * len(picks)
    for f, frames in wanted.items():
        last = max(frames)
        for frame, atoms in iter_pool(f, every=every, species=species[f]):
            if frame in frames:
                _, _, _, force_sd, energy_sd = picks[frames[frame]]
                atoms.calc = None
                atoms.info.update(pool_file=str(f), pool_frame=frame,
                                  **{QUERY_SCORES["force"]: force_sd,
                                     QUERY_SCORES["energy"]: energy_sd})
                chosen[frames[frame]] = atoms
            if frame >= last:
                break
        else:
            raise ValueError(f"pool file {f} has no frame {last} any more: it changed while "
                             "it was scored; allowed: a pool file left as it is until "
                             "acefit query ends")
    return chosen


def _validate(args, progress) -> int:
    from acefit.config import ConfigError, read_yaml
    from acefit.data import read_structures
    from acefit.potential import Potential
    from acefit.validate import REPORT_FILES, ValidationSettings, validate

    target = potential_file(args.potential)
    potential = Potential.load(target)      # before any work, and before -o is made
    raw = {}
    if args.settings is not None:
        if not args.settings.is_file():
            raise FileNotFoundError(f"validation settings file {args.settings} not found")
        try:
            raw = read_yaml(args.settings) or {}    # not YAML: named by line and column
        except ConfigError as exc:
            raise ConfigError(exc.problems, exc.source, what="validation settings") from None
    try:    # a bad settings file exits 2, as a bad fit config does
        if not isinstance(raw, dict):
            raise ValueError(f"found {type(raw).__name__}; allowed: a mapping of validation "
                             "settings (docs/validation.md)")
        raw.setdefault("progress", sys.stderr.isatty() if progress is None else progress)
        settings = ValidationSettings.from_dict(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError([(str(args.settings), str(exc))], str(args.settings),
                          what="validation settings") from None
    configs, where = [], None
    if args.structures is not None:   # each structure checked, naming the file and frame
        configs = read_structures(args.structures)
        where = [f"{args.structures}, frame {i}" for i in range(len(configs))]
    from acefit.atomic import make_folder, write_text

    out_dir = make_folder(args.output or target.parent, "output folder")   # before the MD
    report = validate(potential, configs, settings, where=where, name=str(target))
    report.to_json(out_dir / REPORT_FILES["json"])
    md = report.to_markdown()

    write_text(out_dir / REPORT_FILES["md"], md)
    print(md)
    print(f"wrote {out_dir / REPORT_FILES['md']} and {out_dir / REPORT_FILES['json']}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
