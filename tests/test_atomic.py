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
