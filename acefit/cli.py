"""The ``acefit`` command: ``init``, ``fit``, ``compare``, ``export``, ``evaluate``,
``validate`` and ``query``.

Exit status: 0 on success, 2 for a bad config or command line (nothing was run: also a
file or run directory named there that does not exist or holds no frame, a data file or
frame that cannot be read or used (:class:`acefit.readers.DataError`), a label key
option that no frame has, ``validate``'s bad ``--settings``, an output file whose suffix
names another format or that is one of the input files, a pool file given twice, a
``.yace`` given to ``evaluate``, a potential without a committee given to ``query``,
``--stress-reading`` values that clash or name no group of ``--data``, for ``export`` a
solver path, step or size that the run does not have, and for ``compare`` a ``--set``
that no run has), 3 when the output directory holds a finished run and ``--force`` was
not given (or another ``acefit fit`` is using it; for ``init``: the config file exists),
1 for any other error (also a fit that selected no potential, or could not write a format
``export.formats`` names, once its report is written), 130 when interrupted (a fit resumes
when the same command runs again), 143 when a fit was ended by SIGTERM (a batch system's
time limit, ``kill``, ``timeout``; it resumes as after a Ctrl-C), 141 when the reader of
the output went away (``| head``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from importlib import import_module
from pathlib import Path

from acefit import __version__
from acefit.atomic import check_extxyz_path, check_figure_path
from acefit.commands import (EXIT_CONFIG, EXIT_ERROR, EXIT_EXISTS, EXIT_INTERRUPTED, EXIT_PIPE,
                             EXIT_TERMINATED, UsageError)

__all__ = ["main"]


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
    from acefit.commands.evaluate import EVALUATE_LABELS, key_option
    from acefit.data import LABEL_KEYS

    for label in EVALUATE_LABELS:
        default = LABEL_KEYS[label]
        ev.add_argument(key_option(label), default=None, metavar="KEY",
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


def main(argv=None) -> int:
    """Entry point of the ``acefit`` command; returns the exit status."""
    try:    # the parser imports numpy and ASE (0.1-0.5 s): a Ctrl-C then is one line too
        parser = _parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("acefit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.command is None:
        parser.print_help()
        return EXIT_CONFIG
    from acefit.progress import catching_interrupts, close_logging, setup_logging

    setup_logging(None, verbose=args.verbose, quiet=args.quiet)
    progress = False if args.no_progress else None
    try:
        command = import_module(f"acefit.commands.{args.command}")   # its imports lazy
        if args.command in ("init", "compare", "export"):
            return command.run(args)
        if args.command == "fit":
            with catching_interrupts():     # a Ctrl-C during a solver path is never lost
                return command.run(args, progress)
        from acefit.potential import unfitted_element_notices
        from acefit.progress import get_logger

        # the notice a potential gives of atoms it has no fit of, as a line of the log
        # (not Python's `file:line: UnfittedElementWarning`), whatever the warnings filters
        with unfitted_element_notices(lambda message: get_logger().warning("warning: %s",
                                                                           message)):
            return command.run(args, progress)     # evaluate, query, validate
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
        from acefit.run_folder import RunExistsError
        from acefit.readers import DataError
        from acefit.runs import RunSelectionError

        if args.debug:
            raise
        if isinstance(exc, (RunSelectionError, UsageError, DataError, MissingKeyError)):
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


if __name__ == "__main__":
    sys.exit(main())
