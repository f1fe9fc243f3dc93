"""``acefit query``: the frames of a pool a potential's committee disagrees on most,
written for labelling, with why fewer were chosen than asked for.
"""

from __future__ import annotations

from acefit.commands import EXIT_OK, UsageError
from acefit.commands.files import potential_file, refuse_overwriting


def run(args, progress) -> int:
    """Run ``acefit query`` for the parsed ``args``; the exit status.
    ``progress``: False for no progress bars (--no-progress), else None."""
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
