"""Frames from files: any format ``ase.io`` reads, checked where ASE reads wrong or
names nothing.

ASE's readers are the readers; this module hands them what they read well and names the
file and frame of what they do not: a path that is no regular file (looked at before it
is opened: a FIFO would wait), a compressed file (read from a decompressed copy: ASE
seeks back in the stream, which decompresses it again each time), a UTF-8 byte order
mark, a file cut off in its last frame (ASE reads a LAMMPS dump's missing atom lines as
none), a LAMMPS dump of atom types without element names, and frames counted from a
file's end. An ASE database (.db, .json) is read row by row here, each row's
key_value_pairs and data put where an extended XYZ frame keeps them (ASE's reader leaves
them out). :mod:`acefit.data` labels the frames.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from acefit.elements import atomic_number

__all__ = ["read_frames", "check_file", "path_problem", "folder_problem", "types_only",
           "file_format", "frame_indices", "frame_name", "CompressedFileError",
           "DataError", "EmptyFileError", "index_suffix_note", "SPECORDER_FORMATS",
           "DATABASE_FORMATS"]

SPECORDER_FORMATS = ("lammps-dump-text", "lammps-dump-binary")
"""The ``ase.io`` formats whose reader takes ``specorder`` (the elements of atom types 1,
2, ...); every other format names the elements itself."""

DATABASE_FORMATS = ("db", "json")
"""The ``ase.io`` formats of ASE databases (SQLite, JSON), read by :func:`_database_rows`."""


def read_frames(path, index=":", *, name="data file", species=None,
                **options) -> list:
    """The frames of :func:`iter_frames` as a list.

    Parameters
    ----------
    path : str or os.PathLike
        A file any ``ase.io`` reader reads (also ``.gz``, ``.bz2``, ``.xz``), or an ASE
        database.
    index : str or int
        ASE's index: ``":"`` every frame, ``"-1"`` the last, ``"::2"``, ``3``, ...
    name : str
        What the file is, for the messages (``"data file"``).
    species : list of str, optional
        The elements of atom types 1, 2, ... of a LAMMPS dump that names none.
    **options
        Keywords of ASE's reader, passed to ``ase.io.iread`` (the format is the one
        :func:`file_format` names).

    Returns
    -------
    list of ase.Atoms

    Raises
    ------
    DataError
        Named with the file (and frame, where there is one): see :func:`iter_frames`;
        :class:`EmptyFileError` for a file without a frame.
    """
    return list(iter_frames(path, index, name=name, species=species, **options))


def iter_frames(path, index=":", *, name="data file", species=None, **options):
    """``ase.io.iread(path, index, **options)``, after :func:`check_file` (``name``
    says what the file is, for its message), with a DataError naming the file
    (and, for a format ASE does not know, what it reads) for whatever ASE raises; also the
    frame, for a file that ends inside one (truncated) or an error in a frame ASE was
    reading; for an extended XYZ file whose frame does not start with its atom count (ASE
    finds that in its scan for frames, before it reads any), the line and frame.

    A LAMMPS dump of atom types without element names (:func:`types_only`) needs
    ``species``, the elements of types 1, 2, ... in order (ASE's ``specorder``; ASE alone
    reads the types as H, He, ...), and each frame's types must be 1 to ``len(species)``;
    a file that names its elements ignores ``species``, as ASE does.

    A LAMMPS text dump whose last frame is cut off is refused whatever ``index`` selects
    (:func:`_check_dump_end`): ASE's reader reads it with the atoms it finds.

    An ASE database's rows (:data:`DATABASE_FORMATS`) come with their key_value_pairs
    and data (:func:`_database_rows`), and a slice of any step selects them.

    A generator: each frame is yielded as ASE reads it (a pool of any length in the memory
    of one frame), and the checks before the first frame run at the first ``next``.
    """
    check_file(path, name)
    size = Path(path).stat().st_size
    if size == 0 or _empty(path):
        raise EmptyFileError(f"no configurations in {path}: the file is empty"
                         + (" once decompressed" if size else ""))
    fmt = file_format(path)
    if fmt == "lammps-dump-text":
        _check_dump_end(path)
    by_type = types_only(path, fmt)
    if by_type and not species:
        raise DataError(f"{path}: a LAMMPS dump of atom types without element names (no "
                         "element or mass column): ASE would read types 1, 2, ... as H, He, "
                         "...; allowed: the elements of its types, one per type in type order "
                         "(acefit query --species), or a dump that names them (LAMMPS "
                         "dump_modify element)")
    frames = _ase_frames(path, fmt, index, options)
    if not by_type:
        yield from frames
    elif _selection(index) is None:     # counted from the file's end: named once all are read
        frames = list(frames)
        _elements_of_types(frames, species, [f"{path}, {frame_name(i)}" for i in
                                             frame_indices(index, len(frames))])
        yield from frames
    else:
        for k, atoms in enumerate(frames):
            _elements_of_types([atoms], species,
                               [f"{path}, {frame_name(_frame_number(index, k))}"])
            yield atoms


def _ase_frames(path, fmt, index, options):
    """The frames ``ase.io.iread`` reads from ``path`` (of format ``fmt``), as they are
    read; whatever ASE raises is a DataError naming the file, and the frame where it
    can be told (:func:`iter_frames`)."""
    import ase.io
    from ase.io.formats import UnknownFileTypeError

    n_read = 0
    try:        # frame by frame: an error comes after the frames read before it
        with _readable(path, fmt) as source:
            # a name with an '@' is a file's name: ASE would cut it there (file@index)
            frames = _database_rows(source, fmt, index, options) if fmt in DATABASE_FORMATS \
                else ase.io.iread(source, index=index, format=fmt,
                                  do_not_split_by_at_sign=True, **options)
            for atoms in frames:
                n_read += 1
                yield atoms
    except CompressedFileError:     # named already (the decompressed copy's)
        raise
    except UnknownFileTypeError as exc:
        raise DataError(f"cannot read configurations from {path}: ASE does not know its "
                         f"format ({exc}); allowed: a file ase.io.read reads, such as extended "
                         "XYZ (.xyz), an ASE trajectory (.traj) or a VASP OUTCAR") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read configurations from {path}: not text in the format "
                         f"its name says (byte {exc.object[exc.start]:#04x} at position "
                         f"{exc.start}); allowed: a file ase.io.read reads") from exc
    except (ImportError, MemoryError) as exc:   # the machine's, not the file's: not exit 2
        raise RuntimeError(f"cannot read configurations from {path}: "
                           f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # ase raises many types; name the file
        frame = _frame_number(index, n_read)
        cut = -1 if frame is None else frame    # a file ends in its last frame
        short = _TRUNCATED.search(str(exc))
        if short:
            # ASE counts the last line it read, which has no line end, as an atom line
            read, half = int(short[1]), int(short[1]) > 0 and not _ends_a_line(path)
            raise _truncated(path, cut, _atom_lines(read - half, int(short[2]), half)) from exc
        if "StopIteration" in str(exc):     # cut after a count line
            raise _truncated(path, cut, "inside the frame") from exc
        detail = _unknown_symbol(exc) or str(exc) \
            or f"{type(exc).__name__} in ASE's reader, without a message"
        if fmt == "extxyz" and _XYZ_HEADER in str(exc):     # met in ASE's scan for frames
            raise DataError(f"cannot read configurations from {path}"
                             f"{_xyz_count_problem(path)}: {detail}") from exc
        # ASE's extended XYZ reader scans every frame's count line before it yields one,
        # so an error before the first frame read is still that frame's
        named = n_read or fmt == "extxyz"
        where = f", {frame_name(frame)}" if named and frame is not None else ""
        raise DataError(f"cannot read configurations from {path}{where}: {detail}") from exc


def _database_rows(path, fmt, index, options):
    """The rows of the ASE database ``path`` (of format ``fmt``) that ``index`` selects, as
    ``ase.io.read`` selects them, and slices of any step (ASE's reader takes step 1 only,
    which ``acefit query --every`` is not), each as atoms (:func:`_row_atoms`) with its
    key_value_pairs and data. ASE's reader calls ``row.toatoms()``, which leaves both out,
    and with them a config_type or a label kept there."""
    import itertools

    import ase.db
    from ase.io.formats import string2index

    selection = string2index(index) if isinstance(index, str) else index
    if isinstance(selection, int):
        selection = slice(selection, selection + 1 or None)
    with ase.db.connect(str(path), type=fmt, serial=True, **options) as db:
        numbers = range(*selection.indices(db.count()))
        if not numbers:
            return
        first = min(numbers)
        rows = db.select(offset=first, limit=max(numbers) - first + 1)
        if numbers.step < 0:
            rows = reversed(list(rows))
        for row in itertools.islice(rows, 0, None, abs(numbers.step)):
            yield _row_atoms(row)


_TENSOR_SHAPES = ((6,), (9,), (3, 3))
"""The shapes of a stress or virial: a frame of 6, 9 or 3 atoms can hold one in a
database's data that looks like one row per atom."""


def _row_atoms(row):
    """An ASE database row as atoms, its key_value_pairs and data where an extended XYZ
    frame keeps them: each key_value_pair in ``info``; a data array of one row per atom in
    ``arrays`` (a per-atom column), the other data in ``info`` (one of a stress's shape in
    both: a frame of 6 atoms may hold a Voigt stress or six per-atom values). A
    key_value_pair comes before a data entry of its name in ``info``."""
    atoms = row.toatoms()
    atoms.info.update(row.key_value_pairs)
    for key, value in (row.get("data") or {}).items():
        per_atom = (isinstance(value, np.ndarray) and value.ndim > 0
                    and len(value) == len(atoms) and key not in atoms.arrays)
        if per_atom:
            atoms.new_array(key, value)
        if not per_atom or value.shape in _TENSOR_SHAPES:
            atoms.info.setdefault(key, value)
    return atoms


def path_problem(path) -> str | None:
    """Why ``path`` is no file to read, as words that follow it ("does not exist", "is a
    folder", "is a named pipe (FIFO)", ...), or None for a regular file or a link to one.
    The path is looked at, never opened: reading a FIFO waits for a writer."""
    import errno
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "is a symbolic link to nothing" if os.path.islink(path) else "does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a loop of symbolic links"
        if exc.errno == errno.ENOTDIR:
            return "does not exist (a folder on its path is a file)"
        return f"cannot be looked at ({exc.strerror})"
    kinds = ((stat.S_ISREG, None), (stat.S_ISDIR, "is a folder"),
             (stat.S_ISFIFO, "is a named pipe (FIFO)"), (stat.S_ISCHR, "is a device"),
             (stat.S_ISBLK, "is a device"), (stat.S_ISSOCK, "is a socket"))
    return next((what for kind, what in kinds if kind(mode)), "is not a regular file")


def folder_problem(path) -> str | None:
    """Why ``path`` can hold no folder to write in, in the words of :func:`path_problem`
    ("is an existing file", "is a loop of symbolic links", ...), or None for a folder or
    a path where one can be made."""
    problem = path_problem(path)
    if problem in ("is a folder", "does not exist"):
        return None
    return problem or "is an existing file"


def check_file(path, name="file") -> Path:
    """``path`` as a Path if it is a regular file (or a link to one); otherwise a
    FileNotFoundError naming ``name`` (what the file is, "pool file") and ``path``, and
    saying what is there (:func:`path_problem`); a DataError for a file this process may
    not read."""
    import os

    problem = path_problem(path)
    if problem is not None:
        allowed = index_suffix_note(path) if problem == "does not exist" else \
            "; allowed: a regular file"
        raise FileNotFoundError(f"{name} {path} {problem}{allowed}")
    if not os.access(path, os.R_OK):    # else a PermissionError that names no file's role
        raise DataError(f"{name} {path} cannot be read: no read permission; allowed: a file "
                        f"you may read (`chmod u+r {path}`, or ask its owner)")
    return Path(path)


def index_suffix_note(path) -> str:
    """For a path that names an existing file before its last ``@`` (ASE's ``file@index``
    selection: ``train.xyz@:100``, ``data.db@config_type=bulk``), the words, after a "does
    not exist", that say acefit reads whole files and how to select frames; "" for any
    other path."""
    from ase.io.formats import string2index

    head, at, selection = str(path).rpartition("@")
    if not at or "/" in selection or path_problem(head) is not None:
        return ""
    try:
        database = file_format(head) in DATABASE_FORMATS
    except CompressedFileError:
        database = False
    try:        # a query of ASE's database is returned as text
        rows = selection if isinstance(string2index(selection), str) else "--offset N --limit M"
    except ValueError:
        rows = "QUERY"
    subset = (f"`ase db {head} {rows} --insert-into subset.db`, which keeps the rows' "
              "key_value_pairs" if database else
              f"`ase convert -n {selection} {head} subset.xyz`")
    return (f"; {head} exists, but acefit reads whole files, not ASE's file@index selection "
            f"(@{selection}); allowed: the whole file, or the frames written to a file of "
            f"their own ({subset}); a query pool can be thinned with acefit query --every K")


def types_only(path, fmt=None) -> bool:
    """Whether ``path`` is a LAMMPS dump (:data:`SPECORDER_FORMATS`) whose atoms have types
    but no element names: no ``element`` or ``mass`` column in its first frame (a text
    dump), or a binary dump (ASE reads its columns as id type x y z ...).

    Parameters
    ----------
    path : path-like
    fmt : str, optional
        Its ``ase.io`` format, when known (else found as ASE finds it).
    """
    fmt = fmt or file_format(path)
    if fmt not in SPECORDER_FORMATS:
        return False
    if fmt == "lammps-dump-binary":
        return True
    with _decompressed(path) as handle:      # as ASE reads md.dump.gz
        for line in handle:
            if line.startswith(b"ITEM: ATOMS"):
                columns = line.split()[2:]
                return b"element" not in columns and b"mass" not in columns
    return False        # no atoms: ASE's reader says so


def _elements_of_types(frames, species, where) -> None:
    """Give the atoms of ``frames`` (read from a dump of types, ASE's numbers being the
    types) the elements ``species`` of their types; DataError naming ``where`` (each
    frame's file and frame) for a type that is not 1 to ``len(species)``."""
    numbers = np.array([atomic_number(s) for s in species])
    given = f"{len(species)} species given ({', '.join(species)})"
    for atoms, name in zip(frames, where):
        types = np.asarray(atoms.numbers)
        if not len(types):      # no atoms: check_atoms says so
            continue
        if types.max() > len(species):
            raise DataError(f"{name}: LAMMPS atom type {types.max()}, but {given}; allowed: "
                             f"one element per type, in type order, for types 1 to "
                             f"{types.max()}")
        if types.min() < 1:
            raise DataError(f"{name}: LAMMPS atom type {types.min()}; allowed: types 1 to "
                             f"{len(species)}, those of the {given}")
        atoms.numbers = numbers[types - 1]


_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


def file_format(path):
    """The ``ase.io`` format of ``path`` as ASE finds it (None: one it does not know; its
    reader then says so)."""
    from ase.io.formats import filetype, get_ioformat

    try:
        return get_ioformat(filetype(str(path))).name   # filetype may give a suffix only
    except Exception as exc:  # noqa: BLE001 - named where ASE reads it
        if _decompression_failed(path, exc):    # ASE would say it again, naming nothing
            raise _undecompressible(path, exc) from exc
        return None


def _compression(path) -> str | None:
    """The compression ASE reads ``path`` with, by its name (``gz``, ``bz2``, ``xz``), or
    None."""
    from ase.io.formats import get_compression

    return get_compression(str(path))[1]


class DataError(ValueError):
    """A data file, or a frame of one, that cannot be used (unreadable, cut off, a label or
    structure no fit can use); the message names the file and the frame, where there is
    one. A problem with the data, found before any work: ``acefit`` exits with 2."""


class CompressedFileError(DataError):
    """A compressed data file that cannot be read decompressed; the message names it."""


class EmptyFileError(DataError):
    """A data file without a frame; the message names it (a fit names its config key)."""


_TOOLS = {"gz": "gzip", "bz2": "bzip2", "xz": "xz"}


def _undecompressible(path, exc) -> CompressedFileError:
    """The error for the compressed file ``path`` whose data do not decompress (cut off,
    damaged, or not compressed as its name says; ``exc`` the decompressor's complaint),
    naming the check to run."""
    tool = _TOOLS.get(_compression(path), _compression(path))
    why = ("its compressed data end before their end marker: the file looks truncated"
           if isinstance(exc, EOFError) else
           f"its data are not valid {tool} data ({exc or type(exc).__name__})")
    return CompressedFileError(f"cannot decompress {path}: {why}; allowed: a complete {tool} "
                               f"file (`{tool} -t {path}` checks one), or the file uncompressed")


def _decompression_failed(path, exc) -> bool:
    """Whether ``exc`` is a decompressor's complaint about the data of the compressed
    file ``path``: gzip, bz2 and lzma raise EOFError, zlib.error, lzma.LZMAError, or an
    OSError without an errno (the system's errors, such as a full disk, have one)."""
    import lzma
    import zlib

    return bool(_compression(path)) and (
        isinstance(exc, (EOFError, zlib.error, lzma.LZMAError))
        or (isinstance(exc, OSError) and exc.errno is None))


@contextmanager
def _decompressed(path):
    """``path`` open for reading bytes, decompressed as ASE reads it (.gz, .bz2, .xz);
    a failure to decompress in the block is a :class:`CompressedFileError`."""
    from ase.io.formats import open_with_compression

    try:
        with open_with_compression(str(path), "rb") as handle:
            yield handle
    except Exception as exc:
        if _decompression_failed(path, exc):
            raise _undecompressible(path, exc) from exc
        raise


def _empty(path) -> bool:
    """Whether ``path`` holds no bytes, decompressed (a compressed file of nothing is
    not empty on disk)."""
    with _decompressed(path) as handle:
        return not handle.read(1)


@contextmanager
def _readable(path, fmt):
    """What ``ase.io`` reads for ``path`` of format ``fmt``, while the block runs: the
    file's name, or

    - for a compressed file (.gz, .bz2, .xz), the name of a decompressed copy in a
      temporary file. ASE's readers seek back in the decompressed stream, and each seek
      back decompresses from the start: 2000 frames of extended XYZ took 52 s from .gz
      against 1 s from the plain file, and a LAMMPS dump's time grew with the square of
      its frames;
    - for a file that starts with a UTF-8 byte order mark (Windows editors write one; ASE
      reads it as part of the first line), its text without the mark, for any format
      whose reader takes an open file (text formats, and CIF, which ASE opens as bytes
      and also reads as text). A compressed file's copy leaves the mark out too.
    """
    from io import StringIO

    from ase.io.formats import get_compression, ioformats

    root, compression = get_compression(str(path))
    if fmt is not None and compression:
        with _decompressed_copy(path, Path(root).suffix) as copy:
            yield copy.name
        return
    if fmt is not None and ioformats[fmt].acceptsfd:
        with open(path, "rb") as handle:
            marked = handle.read(len(_BYTE_ORDER_MARK)) == _BYTE_ORDER_MARK
        if marked:
            # decoded whole and the mark (U+FEFF) cut off: a bad byte's position is the file's
            yield StringIO(Path(path).read_bytes().decode("utf-8")[1:])
            return
    yield str(path)


def _decompressed_copy(path, suffix):
    """A temporary file (``tempfile.NamedTemporaryFile``, gone when closed) of name
    ending ``suffix`` that holds the compressed file ``path`` decompressed, without a
    UTF-8 byte order mark at its start. A temporary folder without room for it (the
    decompressed data can be ten times the file) is a :class:`CompressedFileError`
    naming that folder: the system's 'No space left on device' names none."""
    import shutil
    import tempfile

    copy = None
    try:
        copy = tempfile.NamedTemporaryFile(prefix="acefit-", suffix=suffix)
        with _decompressed(path) as handle:
            head = handle.read(len(_BYTE_ORDER_MARK))
            copy.write(b"" if head == _BYTE_ORDER_MARK else head)
            shutil.copyfileobj(handle, copy, 1 << 22)
        copy.flush()
    except BaseException as exc:
        if copy is not None:
            copy.close()
        if isinstance(exc, OSError):    # the system's: decompression errors are named already
            raise CompressedFileError(
                f"cannot decompress {path} into a temporary file in {tempfile.gettempdir()}: "
                f"{exc.strerror or exc}; allowed: TMPDIR set to a folder with room for the "
                f"decompressed data, or {path} decompressed beforehand") from exc
        raise
    return copy


_TRUNCATED = re.compile(r"Frame has (\d+) atoms, expected (\d+)")
"""ASE's extended XYZ reader at the end of the file before a frame's last atom line."""


_XYZ_HEADER = "Expected xyz header"
"""ASE's extended XYZ reader, where a frame's first line is not its atom count."""


def _xyz_count_problem(path) -> str:
    """Where in the extended XYZ file ``path`` a frame's first line is not its atom count,
    found as ASE's reader scans for frames (count, comment, that many atom lines, then any
    ``VEC`` lines; a blank line ends the file): ", line 9, the first line of frame 2 (after
    frame 1's 2 atoms): 'x2' where its atom count should be"; "" if every count reads."""
    frame, natoms, skip = 0, None, 0
    with _decompressed(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.decode("utf-8", "replace").lstrip("\ufeff")
            if skip:
                skip -= 1
            elif natoms is not None and line.lstrip().startswith("VEC"):
                continue
            elif not line.strip():
                return ""
            else:
                try:
                    count = int(line)
                except ValueError:
                    after = "" if natoms is None else f" (after frame {frame - 1}'s {natoms} atoms)"
                    return (f", line {number}, the first line of {frame_name(frame)}{after}: "
                            f"{line.strip()[:60]!r} where its atom count should be")
                frame, natoms, skip = frame + 1, count, count + 1
    return ""


def _unknown_symbol(exc) -> str | None:
    """What ASE's reader meant by ``exc`` when it is the KeyError of its look-up of an atom's
    symbol that names no element (its message is the symbol alone: 'Xx'); None for any
    other error."""
    from ase.data import atomic_numbers

    key = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else None
    if not isinstance(key, str) or key in atomic_numbers:
        return None
    return (f"an atom's species {key!r} is not an element symbol; allowed: chemical "
            "symbols such as Cu or Mo")


def _truncated(path, frame, ends) -> DataError:
    """The error for a file that ends inside its frame ``frame`` (cut off while it was
    written or copied); ``ends`` says where ("after 3 of the frame's 4 atom lines")."""
    return DataError(f"{path}, {frame_name(frame)}: the file ends {ends}: it looks "
                      "truncated; allowed: complete frames")


def _atom_lines(found, expected, half=False) -> str:
    """Where a frame of ``expected`` atom lines ends, after ``found`` complete ones and,
    if ``half``, inside the next (a line without its end: cut while written)."""
    inside = f", inside the {_ordinal(found + 1)}" if half else ""
    return f"after {found} of the frame's {expected} atom lines{inside}"


def _blocks(path, size=1 << 22):
    """The bytes of ``path`` in blocks of ``size``, decompressed as ASE reads it (.gz,
    .bz2, .xz)."""
    with _decompressed(path) as handle:
        while block := handle.read(size):
            yield block


def _ends_a_line(path) -> bool:
    """Whether ``path`` (decompressed) ends with a line end, as a writer leaves a file it
    finished; read through (it is read only when the file is found cut off)."""
    last = b""
    for block in _blocks(path):
        last = block[-1:]
    return last == b"\n"


_DUMP_FRAME = b"ITEM: TIMESTEP"
"""The line that starts each frame of a LAMMPS text dump (ASE's reader splits the file
at each line holding it)."""


def _dump_end(path) -> tuple[int, bytes]:
    """(the number of frames, the text of the last one from its ``ITEM: TIMESTEP``) of
    the LAMMPS text dump ``path``, in one pass over its bytes (C-speed searches: no line
    is parsed)."""
    count, tail = 0, bytearray()
    for block in _blocks(path):
        start = max(len(tail) - len(_DUMP_FRAME) + 1, 0)   # a marker across two blocks
        tail += block
        found = tail.count(_DUMP_FRAME, start)
        count += found
        if found:
            del tail[:tail.rindex(_DUMP_FRAME)]
        elif not count:     # no frame yet: only a marker's start can matter
            del tail[:-len(_DUMP_FRAME)]
    return count, bytes(tail)


def _dump_frame_end(text: bytes) -> str | None:
    """Where the LAMMPS text dump frame ``text`` (its lines from ``ITEM: TIMESTEP`` to
    the file's end) ends, for :func:`_truncated`, if before its last atom line; None for
    a complete frame, or one whose header its reader refuses (no atom count)."""
    lines = text.split(b"\n")
    rest = lines.pop()      # after the last line end: nothing, or a line cut short
    atoms = next((k for k, line in enumerate(lines) if line.startswith(b"ITEM: ATOMS")), None)
    if atoms is None:
        return "inside the frame's header, before its atom lines"
    counts = [lines[k + 1] for k, line in enumerate(lines[:atoms])
              if line.startswith(b"ITEM: NUMBER OF ATOMS")]
    try:
        expected = int(counts[0])
    except (IndexError, ValueError):
        return None
    found = sum(1 for line in lines[atoms + 1:] if line.strip())
    # a last line without its end is whole if it has every column (LAMMPS ends each line;
    # a file written by hand may not), else cut while written
    half = bool(rest.strip()) and len(rest.split()) != len(lines[atoms].split()) - 2
    found += bool(rest.strip()) and not half
    return None if found >= expected else _atom_lines(found, expected, half)


def _check_dump_end(path) -> None:
    """DataError for the LAMMPS text dump ``path`` if its last frame is cut off (fewer
    atom lines than its ``ITEM: NUMBER OF ATOMS``, a half-written last line, or an end
    inside its header), naming the frame. ASE's reader reads atom lines missing at the
    file's end as none (fewer atoms, silently) and stops in a cut header with an error
    naming no frame. Only the last frame can be cut: in one before it the next frame's
    lines would be read as atom lines, which ASE refuses."""
    frames, last = _dump_end(path)
    ends = _dump_frame_end(last) if frames else None
    if ends:
        raise _truncated(path, frames - 1, ends)


def _selection(index, n_frames=None):
    """(start, step) of the frames ``index`` selects, as ``ase.io.read`` takes it, numbers
    counted from the file's end negative (-1 the last): one frame's number, or for a slice
    of step 1 from the end, given the number ``n_frames`` it selected, the number of the
    first of them (they are the last before its stop). None for another slice counted from
    the file's end, or an index not parsed here."""
    if isinstance(index, str):
        if index.strip() in (":", ""):
            return 0, 1
        try:
            parts = [int(p) if p.strip() else None for p in index.split(":")]
        except ValueError:
            return None
        index = parts[0] if len(parts) == 1 else slice(*parts)
    if isinstance(index, int):
        return index, 1
    if not isinstance(index, slice):
        return None
    start, step, stop = index.start or 0, index.step or 1, index.stop or 0
    if start >= 0 and step > 0:
        return start, step
    return (stop - n_frames, 1) if step == 1 and stop <= 0 and n_frames is not None else None


def frame_indices(index, n_frames):
    """Frame numbers in the file of the frames ``ase.io.read`` returned (negative: counted
    from its end)."""
    first = _selection(index, n_frames)
    if first is None:
        return list(range(n_frames))  # a stepped slice from the end: places in it
    return [first[0] + first[1] * k for k in range(n_frames)]


def _frame_number(index, k):
    """The frame number in the file of frame ``k`` of those ``ase.io.read`` returns for
    ``index`` (None when that counts from the file's end)."""
    first = _selection(index)
    return None if first is None else first[0] + first[1] * k


def frame_name(i) -> str:
    """Frame ``i`` of a file in words: "frame 4", or counted from the end (``i`` < 0)
    "the last frame", "the 2nd frame from the end"."""
    if i >= 0:
        return f"frame {i}"
    return "the last frame" if i == -1 else f"the {_ordinal(-i)} frame from the end"


def _ordinal(k) -> str:
    """``k`` > 0 as an ordinal: "1st", "2nd", "11th", "23rd"."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"
