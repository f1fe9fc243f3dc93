"""Labelled configurations: reading, validation and train/validation splits.

A :class:`LabelledConfig` is one atomic configuration with whatever DFT labels it
carries (energy, forces, stress). Labels are read from any file ``ase.io.read``
understands, either from the calculator results ASE attaches (``energy``,
``forces``, ``stress`` in extended XYZ) or from ``atoms.info`` / ``atoms.arrays``
under custom keys (``REF_energy``, ``REF_forces``, ``REF_virial``, ...).

Stress is always stored in ASE's convention: eV/Å³, tensile positive, Voigt
order xx yy zz yz xz xy. A virial label W is converted as stress = -W / volume.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from acefit.basis.neighbours import check_distinct_positions, validate_atoms
from acefit.elements import atomic_number

_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
DEFAULT_CONFIG_TYPE = "default"
SPECORDER_FORMATS = ("lammps-dump-text", "lammps-dump-binary")
"""The ``ase.io`` formats whose reader takes ``specorder`` (the elements of atom types 1,
2, ...); every other format names the elements itself."""
LABEL_KEYS = {"energy": "energy", "forces": "forces", "stress": "stress", "virial": None,
              "config_type": "config_type", "force_weight": None}
"""Where each label is looked for unless told otherwise (None: not read)."""


@dataclass
class LabelledConfig:
    """One configuration and its reference labels.

    Attributes
    ----------
    atoms : ase.Atoms
        Positions, numbers, cell, pbc (no calculator attached).
    energy : float or None
        Total energy in eV.
    forces : ndarray, shape (n_atoms, 3), or None
        Forces in eV/Å.
    stress : ndarray, shape (6,), or None
        Stress in eV/Å³, ASE sign (tensile positive), Voigt xx yy zz yz xz xy.
    config_type : str
        Group name used for weights and per-group errors.
    force_weights : ndarray, shape (n_atoms,), or None
        Optional per-atom multipliers of the force weight.
    source : str
        File the configuration was read from ("" if built in memory).
    index : int
        Frame index in ``source`` (negative: counted from its end, -1 the last, for a
        frame read by a selection that counts from the end, e.g. ``index=-1``).
    """

    atoms: Atoms
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    config_type: str = DEFAULT_CONFIG_TYPE
    force_weights: np.ndarray | None = None
    source: str = ""
    index: int = 0
    info: dict = field(default_factory=dict)

    @property
    def n_atoms(self) -> int:
        return len(self.atoms)

    @property
    def where(self) -> str:
        """Human-readable location for error messages."""
        return f"{self.source or '<memory>'}, {_frame_name(self.index)}"

    @property
    def volume(self) -> float:
        """Cell volume in Å³ (NaN when the cell is not three-dimensional)."""
        return _volume(self.atoms)


def load_configurations(path, energy_key=LABEL_KEYS["energy"],
                        forces_key=LABEL_KEYS["forces"], stress_key=LABEL_KEYS["stress"],
                        virial_key=LABEL_KEYS["virial"],
                        config_type_key=LABEL_KEYS["config_type"],
                        force_weight_key=LABEL_KEYS["force_weight"], index=":", require=(),
                        found=None, frames=None) -> list[LabelledConfig]:
    """Read labelled configurations from a file.

    Parameters
    ----------
    path : str or Path
        Any file ``ase.io.read`` reads (extended XYZ, ASE trajectory, ...).
    energy_key, forces_key, stress_key : str or None
        Where the labels are: a key of the calculator results ASE attached, of
        ``atoms.info`` (energy, stress) or of ``atoms.arrays`` (forces). ``None``
        ignores that label.
    virial_key : str or None
        Read a virial (eV, 3x3, 9 or Voigt-6 values) instead of a stress; it is
        converted to stress = -virial / volume. When given, ``stress_key`` is ignored.
    config_type_key : str
        ``atoms.info`` key of the configuration group (``"default"`` when absent).
    force_weight_key : str or None
        ``atoms.arrays`` key of optional per-atom force weights.
    index : str or int or slice
        Frame selection, as for ``ase.io.read``.
    require : collection of str
        Labels (``"energy"``, ``"forces"``, ``"stress"``, ``"virial"``,
        ``"config_type"``, ``"force_weight"``) whose key must be found in at least one
        frame of the file: a key set on purpose that matches nothing is a typo, not
        a dataset without that label. (Over several files: see ``found``.)
    found : dict, optional
        Filled instead of checking ``require`` here: ``found["labels"]`` (a set) gains
        the labels whose key this file has, ``found["keys"]`` (a list) a line on the
        keys it has; :func:`check_required_keys` then checks all files together
        (:func:`read_configurations` does both).
    frames : list of ase.Atoms, optional
        The frames of ``path`` that ``index`` selects, read already (:func:`read_frames`):
        not read again.

    Returns
    -------
    list of LabelledConfig

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a regular file (:func:`check_file`).
    ValueError
        On an unreadable or empty file, or a frame with no label, a NaN/inf
        label, or a label of the wrong shape; the message names file and frame.
    """
    path = Path(path)
    if virial_key is not None:
        stress_key = None
    frames = read_frames(path, index) if frames is None else frames
    if len(frames) == 0:
        raise ValueError(f"no configurations in {path} (index={index!r})")
    indices = _frame_indices(index, len(frames))
    keys = {"energy": energy_key, "forces": forces_key, "stress": stress_key,
            "virial": virial_key, "config_type": config_type_key,
            "force_weight": force_weight_key}
    present = _label_keys(frames)
    anywhere = set().union(*present.values())
    record = {} if found is None else found
    record.setdefault("labels", set()).update(
        label for label, key in keys.items() if key is not None and key in anywhere)
    record.setdefault("keys", []).append(f"{path}: {_describe_keys(present)}")
    if found is None:
        check_required_keys(require, keys, record)
    return [_labelled(atoms, str(path), i, energy_key, forces_key, stress_key, virial_key,
                      config_type_key, force_weight_key)
            for atoms, i in zip(frames, indices)]


def read_frames(path, index=":", *, name="configuration file", species=None,
                **options) -> list:
    """``ase.io.read(path, index, **options)`` as a list, after :func:`check_file` (``name``
    says what the file is, for its message), with a ValueError naming the file
    (and, for a format ASE does not know, what it reads) for whatever ASE raises; also the
    frame, for a file that ends inside one (truncated) or an error after earlier frames were
    read (before, ASE's extended XYZ reader scans the whole file: any frame's error).

    A LAMMPS dump of atom types without element names (:func:`types_only`) needs
    ``species``, the elements of types 1, 2, ... in order (ASE's ``specorder``; ASE alone
    reads the types as H, He, ...), and each frame's types must be 1 to ``len(species)``;
    a file that names its elements ignores ``species``, as ASE does.

    A LAMMPS text dump whose last frame is cut off is refused whatever ``index`` selects
    (:func:`_check_dump_end`): ASE's reader reads it with the atoms it finds.
    """
    import ase.io
    from ase.io.formats import UnknownFileTypeError

    check_file(path, name)
    size = Path(path).stat().st_size
    if size == 0 or _empty(path):
        raise ValueError(f"no configurations in {path}: the file is empty"
                         + (" once decompressed" if size else ""))
    fmt = _format(path)
    if fmt == "lammps-dump-text":
        _check_dump_end(path)
    by_type = types_only(path, fmt)
    if by_type and not species:
        raise ValueError(f"{path}: a LAMMPS dump of atom types without element names (no "
                         "element or mass column): ASE would read types 1, 2, ... as H, He, "
                         "...; allowed: the elements of its types, one per type in type order "
                         "(acefit query --species), or a dump that names them (LAMMPS "
                         "dump_modify element)")
    frames = []
    try:        # frame by frame: an error comes after the frames read before it
        with _readable(path, fmt) as source:
            for atoms in ase.io.iread(source, index=index, format=fmt, **options):
                frames.append(atoms)
    except CompressedFileError:     # named already (the decompressed copy's)
        raise
    except UnknownFileTypeError as exc:
        raise ValueError(f"cannot read configurations from {path}: ASE does not know its "
                         f"format ({exc}); allowed: a file ase.io.read reads, such as extended "
                         "XYZ (.xyz), an ASE trajectory (.traj) or a VASP OUTCAR") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read configurations from {path}: not text in the format "
                         f"its name says (byte {exc.object[exc.start]:#04x} at position "
                         f"{exc.start}); allowed: a file ase.io.read reads") from exc
    except Exception as exc:  # ase raises many types; name the file
        frame = _frame_number(index, len(frames))
        cut = -1 if frame is None else frame    # a file ends in its last frame
        short = _TRUNCATED.search(str(exc))
        if short:
            # ASE counts the last line it read, which has no line end, as an atom line
            read, half = int(short[1]), int(short[1]) > 0 and not _ends_a_line(path)
            raise _truncated(path, cut, _atom_lines(read - half, int(short[2]), half)) from exc
        if "StopIteration" in str(exc):     # cut after a count line
            raise _truncated(path, cut, "inside the frame") from exc
        where = f", {_frame_name(frame)}" if frames and frame is not None else ""
        detail = str(exc) or f"{type(exc).__name__} in ASE's reader, without a message"
        raise ValueError(f"cannot read configurations from {path}{where}: {detail}") from exc
    if by_type:
        _elements_of_types(frames, species, [f"{path}, {_frame_name(i)}" for i in
                                             _frame_indices(index, len(frames))])
    return frames


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
    saying what is there (:func:`path_problem`)."""
    problem = path_problem(path)
    if problem is not None:
        allowed = "" if problem == "does not exist" else "; allowed: a regular file"
        raise FileNotFoundError(f"{name} {path} {problem}{allowed}")
    return Path(path)


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
    fmt = fmt or _format(path)
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
    types) the elements ``species`` of their types; ValueError naming ``where`` (each
    frame's file and frame) for a type that is not 1 to ``len(species)``."""
    numbers = np.array([atomic_number(s) for s in species])
    given = f"{len(species)} species given ({', '.join(species)})"
    for atoms, name in zip(frames, where):
        types = np.asarray(atoms.numbers)
        if not len(types):      # no atoms: check_atoms says so
            continue
        if types.max() > len(species):
            raise ValueError(f"{name}: LAMMPS atom type {types.max()}, but {given}; allowed: "
                             f"one element per type, in type order, for types 1 to "
                             f"{types.max()}")
        if types.min() < 1:
            raise ValueError(f"{name}: LAMMPS atom type {types.min()}; allowed: types 1 to "
                             f"{len(species)}, those of the {given}")
        atoms.numbers = numbers[types - 1]


_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


def _format(path):
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


class CompressedFileError(ValueError):
    """A compressed data file that cannot be read decompressed; the message names it."""


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


def _truncated(path, frame, ends) -> ValueError:
    """The error for a file that ends inside its frame ``frame`` (cut off while it was
    written or copied); ``ends`` says where ("after 3 of the frame's 4 atom lines")."""
    return ValueError(f"{path}, {_frame_name(frame)}: the file ends {ends}: it looks "
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
    """ValueError for the LAMMPS text dump ``path`` if its last frame is cut off (fewer
    atom lines than its ``ITEM: NUMBER OF ATOMS``, a half-written last line, or an end
    inside its header), naming the frame. ASE's reader reads atom lines missing at the
    file's end as none (fewer atoms, silently) and stops in a cut header with an error
    naming no frame. Only the last frame can be cut: in one before it the next frame's
    lines would be read as atom lines, which ASE refuses."""
    frames, last = _dump_end(path)
    ends = _dump_frame_end(last) if frames else None
    if ends:
        raise _truncated(path, frames - 1, ends)


def read_structures(path, *, name="structures file", every: int = 1, species=None,
                    **options) -> list:
    """Every ``every``-th frame of ``path`` (unlabelled structures: an MD pool, start
    structures), at least one, each checked with :func:`check_atoms`.

    Parameters
    ----------
    path : path-like
        Any file ``ase.io.read`` reads.
    name : str
        What the file is, for the messages ("pool file").
    every : int
        Frame i of the result is frame ``i * every`` of the file. The frames after the last
        one kept are read too (and dropped), so that a file whose last frame is cut off
        (truncated) is refused whatever ``every`` is (a LAMMPS text dump's last frame is
        checked by :func:`read_frames` without them).
    species : sequence of str, optional
        The elements of LAMMPS atom types 1, 2, ..., for a dump of types (see
        :func:`read_frames`).
    **options
        Passed to ``ase.io.read``.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a regular file (:func:`check_file`).
    ValueError
        The file cannot be read or holds no frame, or a frame no potential can evaluate
        (no atoms, non-finite positions or cell, a periodic cell without volume, two atoms
        on one point); the message names the file and the frame.
    """
    path = Path(path)
    frames = read_frames(path, f"::{every}", name=name, species=species, **options)
    if not frames:
        raise ValueError(f"no configurations in {path}; allowed: a file of at least one frame")
    # ASE skips frames unparsed: a cut last frame would pass unseen (read_frames checks a
    # LAMMPS text dump's last frame itself)
    if every > 1 and _format(path) != "lammps-dump-text":
        read_frames(path, f"{(len(frames) - 1) * every + 1}:", name=name, species=species,
                    **options)
    for i, atoms in enumerate(frames):
        check_atoms(atoms, f"{path}, frame {i * every}")
    return frames


def _key_argument(label: str) -> str:
    return f"{label}_key"


def read_configurations(files, keys=None, require=(), option=_key_argument,
                        frames=None) -> list[LabelledConfig]:
    """The labelled configurations of several files, in order.

    Parameters
    ----------
    files : sequence of str or Path
    keys : dict, optional
        Label keys by label (those of :data:`LABEL_KEYS`); missing ones take its values.
    require : collection of str
        Labels whose key must be in at least one frame of one of the files (one file
        may hold only energies, e.g. isolated atoms); see :func:`changed_label_keys`.
    option : callable
        The name of a label's key option in error messages, e.g.
        ``lambda label: f"data.keys.{label}"`` (default: the argument of
        :func:`load_configurations`, ``forces_key``).
    frames : dict, optional
        Every frame of some of the files, read already (:func:`read_frames`), by the file
        as ``files`` names it: those files are not read again, and their frames are taken
        out of ``frames`` as they are labelled (so that their memory is freed).

    Returns
    -------
    list of LabelledConfig

    Raises
    ------
    ValueError
        For a label that is not one of :data:`LABEL_KEYS`, a required key in no frame
        (naming it as ``option`` does and listing the keys the files have), and what
        :func:`load_configurations` raises for.
    """
    unknown = sorted(set(keys or {}) - set(LABEL_KEYS))
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r}; allowed: {', '.join(LABEL_KEYS)}")
    keys = {**LABEL_KEYS, **(keys or {})}
    out, found = [], {}
    for f in files:
        out += load_configurations(f, **{f"{label}_key": key for label, key in keys.items()},
                                   found=found, frames=(frames or {}).pop(f, None))
    check_required_keys(require, keys, found, option)
    return out


def changed_label_keys(keys: dict) -> set:
    """The labels whose key is set to other than its default (and not None): such a key
    found in no frame is a typo, not a dataset without that label."""
    return {label for label, key in keys.items()
            if key is not None and key != LABEL_KEYS[label]}


def check_required_keys(require, keys: dict, found: dict, option=_key_argument) -> None:
    """Raise ValueError for a required label whose key no file had (``found`` as filled
    by :func:`load_configurations`), listing the keys the files have."""
    for label in require:
        if keys.get(label) is not None and label not in found.get("labels", ()):
            where = "; ".join(found.get("keys", []))
            raise ValueError(f"{option(label)} = {keys[label]!r} is in no frame; "
                             f"keys there: {where}")


def _label_keys(frames) -> dict:
    """The keys a file's frames have, by where a label can be: one pass over them."""
    found = {"calculator results": set(), "info": set(), "arrays": set()}
    for atoms in frames:
        if atoms.calc is not None:
            found["calculator results"] |= set(getattr(atoms.calc, "results", {}))
        found["info"] |= set(atoms.info)
        found["arrays"] |= set(atoms.arrays)
    return found


def _describe_keys(present: dict) -> str:
    """:func:`_label_keys` as text, without the arrays every frame has."""
    shown = {**present, "arrays": present["arrays"] - {"numbers", "positions"}}
    return "; ".join(f"{where}: {', '.join(sorted(map(str, k))) or '(none)'}"
                     for where, k in shown.items())


def check_elements(configs, elements) -> None:
    """Raise ValueError naming file and frame if a configuration has an element outside ``elements``."""
    allowed = {atomic_number(e) for e in elements}
    for cfg in configs:
        present = set(int(z) for z in np.unique(cfg.atoms.numbers))
        extra = present - allowed
        if extra:
            names = ", ".join(chemical_symbols[z] for z in sorted(extra))
            known = ", ".join(chemical_symbols[z] for z in sorted(allowed))
            raise ValueError(f"{cfg.where}: element(s) {names} not in the basis (basis elements: {known})")


def split(configs, *, val_fraction=None, seed=0, val_key=None, val_value=True,
          stratify=False):
    """Split configurations into (train, validation).

    Exactly one of ``val_fraction`` (a seeded random fraction) and ``val_key``
    (configurations whose ``atoms.info[val_key] == val_value`` go to validation)
    must be given. With ``stratify``, the random fraction is drawn within each
    ``config_type`` (largest-remainder quotas summing to the unstratified count),
    so that every group large enough is represented in validation. A validation
    set from a separate file is simply a second :func:`load_configurations`.
    Order within each part is preserved.

    Returns
    -------
    train, val : list of LabelledConfig
    """
    configs = list(configs)
    if (val_fraction is None) == (val_key is None):
        raise ValueError("give exactly one of val_fraction and val_key")
    if val_key is not None:
        is_val = np.array([c.info.get(val_key, c.atoms.info.get(val_key)) == val_value
                           for c in configs], dtype=bool)
        if not is_val.any():
            raise ValueError(f"data.validation.key: no training configuration has "
                             f"info[{val_key!r}] == {val_value!r}, so the validation set would "
                             f"be empty")
    else:
        if not (0.0 <= float(val_fraction) < 1.0):
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n_val = int(round(float(val_fraction) * len(configs)))
        if val_fraction > 0 and len(configs) > 1:
            n_val = min(max(n_val, 1), len(configs) - 1)
        rng = np.random.default_rng(seed)
        if stratify:
            groups = [np.flatnonzero([c.config_type == t for c in configs])
                      for t in sorted({c.config_type for c in configs})]
            quotas = _largest_remainder([len(g) for g in groups], n_val)
            chosen = np.concatenate([rng.permutation(g)[:k] for g, k in zip(groups, quotas)])
        else:
            chosen = rng.permutation(len(configs))[:n_val]
        is_val = np.zeros(len(configs), dtype=bool)
        is_val[chosen] = True
    train = [c for c, v in zip(configs, is_val) if not v]
    val = [c for c, v in zip(configs, is_val) if v]
    if not train:
        raise ValueError("the split leaves no training configurations")
    return train, val


def _largest_remainder(sizes, total):
    """Integer quotas proportional to ``sizes`` that sum to ``total`` (Hamilton's method)."""
    sizes = np.asarray(sizes, dtype=float)
    exact = total * sizes / sizes.sum()
    quotas = np.floor(exact).astype(int)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[:total - quotas.sum()]] += 1
    return quotas


def check_atoms(atoms, where: str) -> None:
    """ValueError, naming ``where`` (a file and frame), for a structure no potential can
    evaluate: no atoms, ASE's dummy element X, non-finite positions or cell, coordinates
    beyond :data:`COORDINATE_LIMIT`, a periodic cell without volume, two atoms on one
    point. Every reader of configurations calls it."""
    if len(atoms) == 0:
        raise ValueError(f"{where}: no atoms; allowed: a structure of at least one atom")
    dummy = np.flatnonzero(np.asarray(atoms.numbers) <= 0)
    if len(dummy):
        raise ValueError(f"{where}: atoms {dummy[:10].tolist()} are ASE's dummy element X; "
                         "allowed: chemical elements")
    _check_coordinates(atoms, where)     # before the cell's rank test, whose tolerance grows
    validate_atoms(atoms, where)
    check_distinct_positions(atoms, where)


def repeated_structures(configs) -> list[tuple[int, int]]:
    """(index of a configuration, index of the first one with the same structure) for
    every repeat in ``configs``: same species, positions, cell and periodicity to 1e-6 Å.
    A structure in both a fitted and a held-out set makes its held-out errors measure the
    fit, not the prediction."""
    import hashlib

    first, out = {}, []
    for k, c in enumerate(configs):
        a = c.atoms
        h = hashlib.sha1()
        for part in (a.numbers.astype(np.int64), np.round(a.positions, 6),
                     np.round(np.asarray(a.cell.array), 6), a.pbc.astype(np.int8)):
            h.update(np.ascontiguousarray(part).tobytes())
        key = h.hexdigest()
        if key in first:
            out.append((k, first[key]))
        else:
            first[key] = k
    return out


def _labelled(atoms, source, i, energy_key, forces_key, stress_key, virial_key,
              config_type_key, force_weight_key):
    where = f"{source}, {_frame_name(i)}"
    check_atoms(atoms, where)       # here the message can name the file and frame
    n = len(atoms)
    energy = _label(atoms, energy_key, where)
    forces = _label(atoms, forces_key, where)
    stress = _label(atoms, stress_key, where)
    virial = _label(atoms, virial_key, where)
    if energy is not None:
        energy = _numbers(energy, "energy", energy_key, where)
        if energy.size != 1:
            raise ValueError(f"{where}: energy {energy_key!r} must be a scalar, got shape {energy.shape}")
        energy = float(energy.reshape(()))
        _finite(energy, energy_key, where)
    if forces is not None:
        forces = _numbers(forces, "forces", forces_key, where)
        if forces.shape != (n, 3):
            raise ValueError(f"{where}: forces {forces_key!r} must have shape ({n}, 3), got {forces.shape}")
        _finite(forces, forces_key, where)
    if stress is not None:
        stress = _voigt(stress, stress_key, where)
        _finite(stress, stress_key, where)
    if virial is not None:
        virial = _voigt(virial, virial_key, where)
        _finite(virial, virial_key, where)
        vol = _volume(atoms)
        if not np.isfinite(vol):
            raise ValueError(f"{where}: virial {virial_key!r} given but the cell has no volume")
        stress = -virial / vol
    if stress is not None and not np.isfinite(_volume(atoms)):
        raise ValueError(f"{where}: stress {stress_key!r} given but the cell has no volume")
    if energy is None and forces is None and stress is None:
        keys = [k for k in (energy_key, forces_key, stress_key, virial_key) if k]
        raise ValueError(f"{where}: no label found (looked for {keys} in calculator results, "
                         f"info and arrays)")
    weights = None
    if force_weight_key is not None and force_weight_key in atoms.arrays:
        weights = _numbers(atoms.arrays[force_weight_key], "force weights", force_weight_key,
                           where).reshape(-1)
        if weights.shape != (n,):
            raise ValueError(f"{where}: force weights {force_weight_key!r} must have {n} entries")
        _finite(weights, force_weight_key, where)
        if np.any(weights < 0):
            raise ValueError(f"{where}: force weights {force_weight_key!r} must be >= 0")
    config_type = str(atoms.info.get(config_type_key, DEFAULT_CONFIG_TYPE))
    bare = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    return LabelledConfig(atoms=bare, energy=energy, forces=forces, stress=stress,
                          config_type=config_type, force_weights=weights, source=source,
                          index=i, info=dict(atoms.info))


def _label(atoms, key, where):
    """A label from calculator results, info or arrays; None when absent."""
    if key is None:
        return None
    calc = atoms.calc
    results = getattr(calc, "results", {}) if calc is not None else {}
    if key in results:
        return results[key]
    if key in atoms.info:
        return atoms.info[key]
    if key in atoms.arrays:
        return atoms.arrays[key]
    return None


def _numbers(value, label, key, where) -> np.ndarray:
    """A label as a float array (a copy); an unreadable one named with its frame."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {label} {key!r} is not a number or array of numbers: "
                         f"{value!r}") from None


def _voigt(value, key, where):
    v = _numbers(value, "stress/virial", key, where)
    if v.shape == (6,):
        return v.copy()
    if v.shape in ((9,), (3, 3)):
        m = v.reshape(3, 3)
        if not np.allclose(m, m.T, rtol=1e-6, atol=1e-8):
            raise ValueError(f"{where}: {key!r} is not symmetric: {m.tolist()}")
        return np.array([m[a, b] for a, b in _VOIGT])
    raise ValueError(f"{where}: {key!r} must have 6, 9 or 3x3 entries, got shape {v.shape}")


LABEL_LIMIT = 1e12
"""The largest label magnitude read (eV, eV/Å, eV/Å³): the total energy of a million heavy
atoms is about 1e11 eV, and larger values (a unit or format error) would overflow the
squared norms of the fit."""


COORDINATE_LIMIT = 1e6
"""The largest magnitude of a position or periodic cell vector component read (Å). DFT
cells, slabs with their vacuum and MD positions unwrapped over a long run span 1e2-1e3 Å,
and float64 resolves 1e-10 Å at 1e6 Å; at 1e12 Å it resolves 1e-4 Å (atoms 1e-6 Å apart
are one point), and the neighbour search of one small cell took seconds."""


def _check_coordinates(atoms, where):
    """ValueError for a coordinate beyond :data:`COORDINATE_LIMIT` (NaN and inf are
    :func:`acefit.basis.neighbours.validate_atoms`' to name)."""
    positions = np.asarray(atoms.positions, dtype=float)
    far = np.where(np.isfinite(positions), np.abs(positions), 0.0).max(axis=1)
    if far.max() > COORDINATE_LIMIT:
        i = int(np.argmax(far))
        raise ValueError(f"{where}: atom {i} is at {positions[i].tolist()} Å; allowed: "
                         f"coordinates of magnitude up to {COORDINATE_LIMIT:g} Å")
    periodic = np.asarray(atoms.cell.array, dtype=float)[np.asarray(atoms.pbc, dtype=bool)]
    if np.any(np.abs(periodic[np.isfinite(periodic)]) > COORDINATE_LIMIT):
        raise ValueError(f"{where}: periodic cell vectors {periodic.tolist()} Å; allowed: "
                         f"components of magnitude up to {COORDINATE_LIMIT:g} Å")


def _finite(x, key, where):
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{where}: label {key!r} contains NaN or inf")
    largest = float(np.max(np.abs(x)))
    if largest > LABEL_LIMIT:
        raise ValueError(f"{where}: label {key!r} has a value of magnitude {largest:.10g}; "
                         f"allowed: magnitudes up to {LABEL_LIMIT:g}")


def _volume(atoms) -> float:
    vol = abs(float(np.linalg.det(np.asarray(atoms.cell))))
    return vol if vol > 1e-12 else float("nan")


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


def _frame_indices(index, n_frames):
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


def _frame_name(i) -> str:
    """Frame ``i`` of a file in words: "frame 4", or counted from the end (``i`` < 0)
    "the last frame", "the 2nd frame from the end"."""
    if i >= 0:
        return f"frame {i}"
    return "the last frame" if i == -1 else f"the {_ordinal(-i)} frame from the end"


def _ordinal(k) -> str:
    """``k`` > 0 as an ordinal: "1st", "2nd", "11th", "23rd"."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


__all__ = ["LabelledConfig", "load_configurations", "read_frames", "read_structures",
           "check_file", "path_problem", "folder_problem", "types_only", "SPECORDER_FORMATS",
           "COORDINATE_LIMIT",
           "check_atoms", "check_elements", "repeated_structures", "split"]
