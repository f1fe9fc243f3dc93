"""The ``acefit`` commands, one module each, named as the command: its ``run(args[,
progress])`` does the command for the arguments :func:`acefit.cli.main` parsed and
returns one of the exit statuses below (raising :class:`UsageError` for exit 2).
"""

__all__ = ["EXIT_CONFIG", "EXIT_ERROR", "EXIT_EXISTS", "EXIT_INTERRUPTED", "EXIT_OK",
           "EXIT_PIPE", "EXIT_TERMINATED", "UsageError"]


class UsageError(ValueError):
    """A command-line value that argparse let through but the command cannot use (two
    readings for one group, an input file given as the output, a ``.yace`` where an
    acefit potential is read, a potential without the committee the command needs):
    nothing was run, exit 2."""


EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_EXISTS, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 3, 130, 141
EXIT_TERMINATED = 143     # 128 + SIGTERM, as a shell reports a process it ended
