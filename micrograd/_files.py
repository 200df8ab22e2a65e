"""Safe files: atomic writes (a reader sees the old file or the new one, never half of one),
and careful reads of small files (regular files only, size-capped, strict JSON)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from typing import Any

from micrograd._numbers import clip, preview


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
        raise FileNotFoundError(errno.ENOENT, f"no directory {clip(directory, 200)}", path)
    return directory


def check_writable(path: str | os.PathLike[str]) -> None:
    """OSError naming path, before any work, if write_atomic(path, ...) cannot write it.

    Makes (and removes) an empty temp file where write_atomic would make its own.
    """
    path = os.fspath(path)
    _directory_of(path)
    fd, tmp = _temp_beside(path, _target(path))
    os.close(fd)
    os.unlink(tmp)


def _target(path: str) -> str:
    """The file a write to path writes: path itself, or the file a symlink leads to.

    Written in place of the link, a new file would replace it; open() writes the file the
    link names (even one still to be made), and so does write_atomic.
    """
    if not os.path.islink(path):
        return path
    target = os.path.realpath(path)
    if os.path.islink(target):  # realpath stops at a loop
        raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
    return target


def _temp_beside(path: str, target: str) -> tuple[int, str]:
    """A new temp file beside target, open for writing; an OSError names path, not the temp.

    Made as open() makes a file, with mode 0o666 less the umask, so that a new file gets
    the permissions open() would give it.
    """
    directory, name = os.path.split(os.path.abspath(target))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as err:
            raise OSError(err.errno, err.strerror, path) from None
    raise FileExistsError(errno.EEXIST, "no free temp file name", path)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write data to a temp file beside path, fsync it, then os.replace it onto path.

    A failure leaves any previous file intact and no temp file behind. A new file gets the
    mode open() would give it (0o666 less the umask), an existing file keeps its mode, and
    a symlink is kept: the file it leads to is the one replaced. An OSError names path,
    never the temp file.
    """
    path = os.fspath(path)
    _directory_of(path)
    target = _target(path)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None  # a new file: the temp file's own mode, as open() made it
    fd, tmp = _temp_beside(path, target)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if mode is not None:
                os.chmod(tmp, mode)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno is not None:
            raise OSError(err.errno, err.strerror, path) from err
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename durable (POSIX)
        dir_fd = os.open(os.path.dirname(os.path.abspath(target)), os.O_RDONLY)
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
        raise ValueError(f"over the limit of {limit:,} bytes")
    return raw


def _check_small_file(info: os.stat_result, limit: int) -> None:
    mode = info.st_mode
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a character device" if stat.S_ISCHR(mode)
                else "a block device" if stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a file")
        raise ValueError(f"not a regular file ({kind})")
    if info.st_size > limit:
        raise ValueError(f"{info.st_size:,} bytes, over the limit of {limit:,}")


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
