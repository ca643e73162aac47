"""Atomic file writes: a reader sees either the old file or the complete new one, never a mix.

The new content goes to a temporary file in the same folder (so the final rename stays on one file
system), is flushed and fsynced, and then replaces the target with `os.replace`. If anything fails
before the rename, the temporary file is removed and the previous file is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _read_umask() -> int:
    # os.umask can only be read by setting it; doing that once at import keeps the race window to
    # start-up instead of every write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _target_mode(path: Path) -> int:
    # mkstemp creates files readable by the owner only; keep an existing file's mode, otherwise use
    # what a plain open() would have produced.
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; some platforms do not allow opening a folder, which is fine.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """An OSError raised inside says which file it concerns: a failed write() on an open handle (a full
    disk, say) carries no file name, and a message without one leaves a person guessing."""
    try:
        yield
    except OSError as err:
        if err.filename is not None or err.errno is None:
            raise
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace `path` with `data` atomically. The folder must exist."""
    with naming(path):
        _write_bytes_atomic(path, data)


def _write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {target}: the folder {folder} does not exist; create it first")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _target_mode(target))
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_folder(folder)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` atomically (encoded before any file is touched)."""
    write_bytes_atomic(path, text.encode(encoding))
