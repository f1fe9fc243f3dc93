"""Atomic writes: an interrupted writer never leaves a partial or stray file."""

import os
import stat

import pytest

from acefit.atomic import atomic_path, write_text


def test_write_text_replaces_and_follows_umask(tmp_path):
    target = tmp_path / "sub" / "report.md"
    write_text(target, "first\n")
    write_text(target, "second\n")
    assert target.read_text() == "second\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.md"]


def test_interrupted_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.h5"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.h5"]


def test_a_folder_where_a_file_goes_and_a_file_where_a_folder_goes_are_named(tmp_path):
    """Found by fuzzing (session 25): OSError texts naming a temporary file."""
    from acefit.atomic import make_folder, write_text

    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match="folder: it is a folder; allowed: a file path"):
        write_text(tmp_path / "folder", "x")
    assert list((tmp_path / "folder").iterdir()) == []
    (tmp_path / "file").write_text("keep")
    with pytest.raises(NotADirectoryError, match=r"run directory .*file is an existing file"):
        make_folder(tmp_path / "file", "run directory")
    assert (tmp_path / "file").read_text() == "keep"
    assert make_folder(tmp_path / "a" / "b").is_dir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")    # was the system's 'File exists'
    with pytest.raises(NotADirectoryError, match=r"output folder .*loop is a loop of symbolic "
                                                 r"links; allowed: a folder, or a path"):
        make_folder(tmp_path / "loop", "output folder")


def test_a_folder_that_cannot_be_written_in_is_named_not_the_temporary_file(tmp_path,
                                                                             monkeypatch):
    """Found by fuzzing: a read-only output folder (evaluate --json, query -o, export -o,
    a run's potentials/) said "[Errno 13] Permission denied: '.e.json.rk3cl9vp.tmp'",
    and a read-only run directory named its lock file."""
    import errno
    import tempfile

    from acefit.atomic import make_folder
    from acefit.run_folder import RunLock

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".x.tmp"))

    run = make_folder(tmp_path / "run")
    with monkeypatch.context() as m:
        m.setattr("acefit.run_folder.open", denied, raising=False)
        with pytest.raises(PermissionError, match=f"^cannot write in run directory {run}: "):
            RunLock(run)
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError, match=f"^cannot write {tmp_path / 'e.json'}: "
                                              "Permission denied; allowed: a folder you "
                                              "can write in$"):
        write_text(tmp_path / "e.json", "{}")
    monkeypatch.setattr("pathlib.Path.mkdir", denied)
    with pytest.raises(PermissionError, match=f"^cannot make output folder {tmp_path / 'o'}: "
                                              "Permission denied; allowed"):
        make_folder(tmp_path / "o", "output folder")
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.mark.parametrize("name, magic", [("f.png", b"\x89PNG"), ("f.PDF", b"%PDF"),
                                         ("f.svg", b"<?xml"), ("f.eps", b"%!PS")])
def test_a_figure_is_written_in_the_format_its_suffix_names(tmp_path, name, magic):
    """Found by fuzzing (session 25): --plot p.pdf wrote PNG bytes into p.pdf."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acefit.atomic import write_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    assert write_figure(fig, tmp_path / name, dpi=50).read_bytes().startswith(magic)
    assert not plt.get_fignums()           # released


@pytest.mark.parametrize("name, found", [("f.bmp", "suffix .bmp is no figure format "
                                                   "matplotlib writes"),
                                         ("f", "no suffix to name the figure format")])
def test_a_figure_file_without_a_figure_suffix_is_refused(tmp_path, name, found):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acefit.atomic import check_figure_path, figure_suffixes, write_figure

    assert {".png", ".pdf", ".svg", ".eps", ".ps"} <= set(figure_suffixes())
    with pytest.raises(ValueError, match=rf"f{name[1:]}: {found}; allowed: a file name ending "
                                         r"in .*\.pdf, .*\.png, .*\.svg"):
        check_figure_path(tmp_path / name)
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match=found):
        write_figure(fig, tmp_path / name, dpi=50)
    assert list(tmp_path.iterdir()) == [] and not plt.get_fignums()


def test_extended_xyz_goes_only_to_an_xyz_file(tmp_path):
    """Found by fuzzing (session 25): `acefit query -o x.traj` wrote extended XYZ into it."""
    import ase.io
    import numpy as np
    from ase.build import bulk

    from acefit.atomic import write_extxyz

    atoms = bulk("Cu", cubic=True)
    atoms.arrays["fit_forces"] = np.ones((4, 3))
    atoms.info["score"] = 0.5
    for name in ("a.xyz", "b.extxyz", "c.XYZ"):
        back = ase.io.read(write_extxyz(tmp_path / name, [atoms]))
        assert back.info["score"] == 0.5 and back.arrays["fit_forces"].shape == (4, 3)
    for name, found in (("d.traj", "suffix .traj names another format"),
                        ("e", "no suffix to name its format")):
        with pytest.raises(ValueError, match=rf"{name}: {found}; the file is extended XYZ.*"
                                             r"allowed: a file name ending in .xyz or .extxyz"):
            write_extxyz(tmp_path / name, [atoms])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xyz", "b.extxyz", "c.XYZ"]
