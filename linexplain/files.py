"""Opening a user's file safely: a regular file through its links, opened so nothing blocks.

Pure Python (no NumPy): the header-only readers use it on their fast path.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from .errors import LinexplainError


def open_regular(path: str) -> tuple[BinaryIO, int]:
    """A regular file open for reading, and its size; refused before any read otherwise.

    ``O_NONBLOCK`` keeps the open of a FIFO from waiting for a writer, and a read of a file
    that only looks regular (``/proc/kmsg``) from waiting for data; the file's type is that of
    what the path resolves to, checked on the open file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        target = os.path.realpath(path)
        link = f" (a link to {target}, which does not exist)" if os.path.islink(path) else ""
        raise LinexplainError(f"{path} does not exist{link}", "check the path") from None
    except PermissionError:
        raise LinexplainError(
            f"{path}: permission denied", "check the file's permissions, e.g. with ls -l"
        ) from None
    except OSError as e:
        raise LinexplainError(f"cannot read {path}: {e.strerror}", "check the path") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        refuse_special(path, info.st_mode)
    return os.fdopen(fd, "rb"), info.st_size


def refuse_special(path: str, mode: int) -> None:
    """Refuse what is not a regular file, naming it (and what a link resolves to)."""
    target = os.path.realpath(path)
    via = f" ({target})" if target != os.path.abspath(path) else ""
    if stat.S_ISDIR(mode):
        raise LinexplainError(f"{path}{via} is a directory", "give a file")
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    kind = next((name for test, name in kinds if test(mode)), "a special file")
    raise LinexplainError(
        f"{path}{via} is {kind}, not a regular file",
        "save the data to a file first (or pipe text in with -)",
    )
