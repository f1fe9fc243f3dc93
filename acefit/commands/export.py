"""``acefit export``: any checkpoint of a run written as a potential, with its errors."""

from __future__ import annotations

import sys

from acefit.commands import EXIT_ERROR, EXIT_OK


def run(args) -> int:
    """Run ``acefit export`` for the parsed ``args``; the exit status."""
    from acefit.compare import entry_stat
    from acefit.export.lammps import pair_commands_path
    from acefit.formatting import mae_text
    from acefit.runs import export_checkpoint
    from acefit.short_range import pairs_without_core

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
        # the SE where the fit stored one (validation and test; error entries written
        # before acefit stored the MAEs' bootstrap SEs have none)
        maes = [mae_text(entry_stat(entry, split, q), entry_stat(entry, split, q, "mae_se"),
                         digits) for split in splits]
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

