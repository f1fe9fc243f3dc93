"""The paths a command line names, before any work: an output file that is one of the
input files (refused), and a potential named by its file or its run directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from acefit.commands import UsageError


def refuse_overwriting(option: str, output, input_option: str, inputs) -> None:
    """UsageError, before any work, when the file ``option`` names is one of the files
    ``input_option`` names (also through a link): it would replace the user's data."""
    if output is None:
        return
    for f in inputs:
        # realpath, not Path.resolve: a loop of links is left to the reader to name
        if os.path.realpath(output) == os.path.realpath(f) or (
                Path(output).exists() and Path(f).exists() and os.path.samefile(output, f)):
            raise UsageError(f"{option} {output} is the {input_option} file {f}: writing there "
                             f"would overwrite it; allowed: a path that is none of the "
                             f"{input_option} files")


def potential_file(path: Path) -> Path:
    """A potential file named as it is, or the headline potential of a run directory
    (:meth:`acefit.potential.Potential.load` says what is there when it is no regular
    file: a loop of links, a FIFO)."""
    return path / "potential.h5" if path.is_dir() else path
