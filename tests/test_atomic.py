"""Atomic writes: the old file or the complete new one, a new file's usual mode, errors that name the file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from harness.atomic import naming, write_bytes_atomic, write_text_atomic


def test_a_new_file_gets_the_mode_a_plain_open_would_give(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    target = tmp_path / "new.json"
    write_bytes_atomic(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's owner-only 0600


def test_text_that_cannot_be_encoded_fails_before_any_file_is_touched(tmp_path: Path) -> None:
    target = tmp_path / "board.md"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "lone surrogate \udc80")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["board.md"]


def test_repeated_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    for i in range(5):
        write_text_atomic(target, f"version {i}", encoding="utf-16")
    assert target.read_text(encoding="utf-16") == "version 4"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill a 'disk'")
def test_naming_puts_the_file_into_an_error_that_had_none(tmp_path: Path) -> None:
    target = tmp_path / "scores.json"
    # Writing to /dev/full fails with ENOSPC like a full disk, and the error carries no file name.
    with pytest.raises(OSError) as caught, naming(target), open("/dev/full", "wb", buffering=0) as handle:
        handle.write(b"x")
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(target)
    assert str(target) in str(caught.value)


def test_naming_keeps_an_error_that_already_names_its_file(tmp_path: Path) -> None:
    absent = tmp_path / "absent" / "x"
    with pytest.raises(FileNotFoundError) as caught, naming(tmp_path / "other"):
        absent.read_text()
    assert caught.value.filename == str(absent)
