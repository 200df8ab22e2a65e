"""Safe files: atomic writes (a reader sees the old file or the new one, never half of one),
and careful reads of small files (regular files only, size-capped, strict JSON)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from typing import Any

from micrograd._numbers import preview


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


def read_small_file(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ValueError, before reading, if not.

    The file is checked by stat before it is opened (opening a FIFO for reading would wait
    for a writer), opened without blocking, and checked again on the open descriptor.
    """
    _check_small_file(os.stat(path), limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    with os.fdopen(os.open(path, flags | getattr(os, "O_BINARY", 0)), "rb") as f:
        _check_small_file(os.fstat(f.fileno()), limit)  # the path may have changed since the stat
        raw = f.read(limit + 1)
    if len(raw) > limit:  # it grew while being read
        raise ValueError(f"over MAX_FILE_BYTES ({limit:,} bytes)")
    return raw


def _check_small_file(info: os.stat_result, limit: int) -> None:
    mode = info.st_mode
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a character device" if stat.S_ISCHR(mode)
                else "a block device" if stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a file")
        raise ValueError(f"not a regular file ({kind}); load() reads a file written by save()")
    if info.st_size > limit:
        raise ValueError(f"{info.st_size:,} bytes is over MAX_FILE_BYTES ({limit:,}), "
                         "the most a saved model of scalars needs")


def parse_json(raw: bytes) -> Any:
    """JSON from bytes: UTF-8, no NaN/Infinity, no duplicate keys; ValueError otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not a UTF-8 text file ({err.reason} at byte {err.start})") from None

    def no_constants(name: str) -> Any:
        raise ValueError(f"non-finite number {name} in the file")

    def short_int(digits: str) -> int:  # int() refuses over 4,300 digits, with a long message
        if len(digits) > 400:
            raise ValueError(f"an integer of {len(digits):,} digits in the file")
        return int(digits)

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {preview(key)}")
            result[key] = value
        return result

    try:
        return json.loads(text, parse_constant=no_constants, object_pairs_hook=no_duplicates,
                          parse_int=short_int)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except RecursionError:
        raise ValueError("not JSON this library reads (nested too deeply)") from None
