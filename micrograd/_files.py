"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile


def _directory_of(path: str) -> str:
    """The directory write_atomic writes path in; OSError naming path if it cannot be a target.

    An empty path, an existing directory or other non-regular file (a FIFO, /dev/null: it
    would be replaced, not written), a path ending in a slash, and a missing parent
    directory are refused.
    """
    if not path:
        raise FileNotFoundError(errno.ENOENT, "empty path", path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    if mode is not None and not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file", path)
    if path.endswith(("/", os.sep)):  # names a directory, as open() reads it: not a file
        raise IsADirectoryError(errno.EISDIR, "a path ending in a slash names a directory", path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"no directory {directory}", path)
    return directory


def check_writable(path: str | os.PathLike[str]) -> None:
    """OSError naming path, before any work, if write_atomic(path, ...) cannot write it.

    Makes (and removes) an empty temp file beside path, as write_atomic does.
    """
    path = os.fspath(path)
    fd, tmp = _temp_beside(path, _directory_of(path))
    os.close(fd)
    os.unlink(tmp)


def _temp_beside(path: str, directory: str) -> tuple[int, str]:
    """A new temp file in directory, named after path; an OSError names path, not the temp."""
    try:
        return tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                dir=directory)
    except OSError as err:
        raise OSError(err.errno, err.strerror, path) from None


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write data to a temp file beside path, fsync it, then os.replace it onto path.

    A failure leaves any previous file intact and no temp file behind; an existing file's
    permissions are kept. An OSError names path, never the temp file.
    """
    path = os.fspath(path)
    directory = _directory_of(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o644
    fd, tmp = _temp_beside(path, directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno is not None:
            raise OSError(err.errno, err.strerror, path) from err
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
