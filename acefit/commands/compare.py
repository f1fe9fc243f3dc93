"""``acefit compare``: finished runs side by side, the table and the files written."""

from __future__ import annotations

from acefit.commands import EXIT_OK


def run(args) -> int:
    """Run ``acefit compare`` for the parsed ``args``; the exit status."""
    from acefit.compare import compare_runs

    out = compare_runs(args.runs, args.output, budgets=args.budgets, split=args.split)
    print(out["table"])
    print()
    for note in out["notes"]:
        print(f"note: {note}")
    for f in out["files"]:
        print(f"wrote {f}")
    return EXIT_OK
