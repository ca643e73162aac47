"""Before any work: can the output folder be written? And OS errors as one line a person can act on.

A run used to find an unwritable output folder only when it wrote its first file, after loading the model,
and then ended in a traceback. `check_writable` raises the same OSError up front, and leaves nothing
behind; `describe_os_error` is what the command line prints for any OSError, naming the path and the fix.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

_FIXES = {
    errno.ENOSPC: "the disk is full: free some space or choose another output folder",
    errno.EDQUOT: "the disk quota is used up: free some space or choose another output folder",
    errno.EFBIG: "a file size limit was reached (ulimit -f): raise it or choose another output folder",
    errno.EACCES: "this user may not write there: fix the permissions or choose another output folder",
    errno.EPERM: "this user may not write there: fix the permissions or choose another output folder",
    errno.EROFS: "the file system is mounted read-only: choose another output folder",
    errno.ENOTDIR: "a part of that path is a file, not a folder: choose another output folder",
    errno.EEXIST: "a file is in the way of a folder: choose another output folder",
    errno.ENOENT: "check the path",
}
_KEPT = "samples generated so far are kept in the journal: rerun the same command to resume"


def check_writable(folder: Path) -> None:
    """Raise the OSError that writing into `folder` (or its journal folder) would raise. Creates nothing
    that stays: a folder that does not exist yet is checked through its nearest existing parent."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    journal = folder / ".journal"
    probe_in = journal if journal.is_dir() else existing
    try:
        handle, name = tempfile.mkstemp(prefix=".harness-write-check-", dir=probe_in)
    except OSError as err:  # name the folder, not the random probe file
        raise OSError(err.errno, err.strerror, str(probe_in)) from None
    os.close(handle)
    os.unlink(name)


def describe_os_error(err: OSError) -> str:
    """One line: the path, what the system said, and what to do about it."""
    where = err.filename if err.filename is not None else None
    reason = err.strerror or str(err)
    text = f"{where}: {reason}" if where is not None else reason
    fix = _FIXES.get(err.errno or 0, "check that path and its permissions")
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix += f"; {_KEPT}"
    return f"{text} ({fix})"
