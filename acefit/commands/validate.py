"""``acefit validate``: a potential's short-range, crystal and MD checks, written as
validation.md and validation.json.
"""

from __future__ import annotations

import itertools
import sys

from acefit.commands import EXIT_OK
from acefit.commands.files import potential_file


def run(args, progress) -> int:
    """Run ``acefit validate`` for the parsed ``args``; the exit status.
    ``progress``: False for no progress bars (--no-progress), else None."""
    from acefit.config import ConfigError, read_yaml
    from acefit.data import check_potential_elements, frame_where, read_structures
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
        where = [frame_where(str(args.structures), i) for i in range(len(configs))]
        # every frame of an element the potential lacks, before -o is made
        check_potential_elements(zip(where, configs, itertools.repeat(args.structures)),
                                 potential.elements)
    from acefit.atomic import make_folder, write_text

    out_dir = make_folder(args.output or target.parent, "output folder")   # before the MD
    report = validate(potential, configs, settings, where=where, name=str(target))
    report.to_json(out_dir / REPORT_FILES["json"])
    md = report.to_markdown()

    write_text(out_dir / REPORT_FILES["md"], md)
    print(md)
    print(f"wrote {out_dir / REPORT_FILES['md']} and {out_dir / REPORT_FILES['json']}")
    return EXIT_OK
