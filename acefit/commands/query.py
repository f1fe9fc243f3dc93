"""``acefit query``: the frames of a pool a potential's committee disagrees on most,
written for labelling, with why fewer were chosen than asked for. The options read, the
library called (:func:`acefit.query.query_pool`), its lines and table printed.
"""

from __future__ import annotations

from acefit.commands import EXIT_OK, UsageError
from acefit.commands.files import potential_file, refuse_overwriting


def run(args, progress) -> int:
    """Run ``acefit query`` for the parsed ``args``; the exit status.
    ``progress``: False for no progress bars (--no-progress), else None."""
    from acefit.potential import Potential
    from acefit.query import (PairLimits, check_pool_files, chosen_frames, chosen_summary,
                              chosen_table, default_min_distance, file_summary,
                              left_out_notes, query_pool, read_labelled)
    from acefit.runs import run_labelled_files

    # the paths before any work (-o is no folder: argparse): the output must not replace a
    # pool file (the user's data)
    try:
        check_pool_files(args.pool)
    except ValueError as exc:   # a file named twice: the command line's
        raise UsageError(str(exc)) from None
    refuse_overwriting("-o", args.output, "--pool", args.pool)
    labelled_files = list(args.labelled) if args.labelled is not None else \
        run_labelled_files(args.potential)
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
    pool = query_pool(potential, args.pool, n=n, threshold=args.threshold, by=args.by,
                      gap=args.gap, every=args.every, species=args.species,
                      labelled=labelled.keys, min_distance=limits, progress=progress,
                      on_file=lambda f, result: print(file_summary(f, result)))
    for line in left_out_notes(pool, labelled_files, limits):
        print(line)
    chosen = chosen_frames(pool)
    summary = chosen_summary(pool, len(chosen), n=n, n_given=args.n is not None, by=args.by,
                             gap=args.gap, threshold=args.threshold)
    if not chosen:      # an empty extended XYZ file is one ase.io.read refuses
        print(f"\n{args.output} not written: " + summary + _earlier_output(args.output))
        return EXIT_OK
    from acefit.atomic import write_extxyz

    write_extxyz(args.output, chosen)
    table, note = chosen_table(chosen, labelled, limits if args.min_distance != 0 else None)
    for text in (table, note):
        if text:
            print("\n" + text)
    print(f"\nwrote {args.output}: " + summary)
    return EXIT_OK


def _earlier_output(path) -> str:
    """A note that the file at ``path``, if any, is not this query's."""
    return f"; the {path} there is an earlier one, left as it was" if path.exists() else ""
