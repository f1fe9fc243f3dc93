"""``acefit init``: a first config written from the data, and what it read off them."""

from __future__ import annotations

from acefit.commands import EXIT_OK
from acefit.commands.files import refuse_overwriting


def run(args) -> int:
    """Run ``acefit init`` for the parsed ``args``; the exit status."""
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
