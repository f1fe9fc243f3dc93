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
