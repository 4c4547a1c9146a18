"""Write a file or folder completely or not at all, and replace an old one so that at every
moment its path holds either the complete old or the complete new result.

The new result is written beside the target under a hidden temporary name
(``.{name}.segkit-tmp-{pid}-{random}{suffix}``) and then swapped in by one rename (a folder
is exchanged atomically where the system allows, else moved aside to a hidden
``.segkit-trash-`` folder first). :func:`sweep` removes temporaries left by processes that
were killed; it runs before each write into a folder.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

#: a segkit temporary or trash name: the visible part, its kind, the writer's process id
TEMP_NAME = re.compile(
    r"\.(?P<name>.*)\.segkit-(?P<kind>tmp|trash)-(?P<pid>\d+)-[0-9a-f]{8}"
    r"(?:\..*)?",
    re.DOTALL,
)
_VISIBLE = 96  # bytes of the target's name kept in a temporary name (names stay <= 255 bytes)
_SUFFIX = 32  # longest suffix (bytes) kept: enough for any format's extension
_SLACK = 2.0  # seconds: process start times are known to about a second


def temp_name(path: Path, kind: str = "tmp", suffix: str = "") -> Path:
    """A fresh hidden name beside ``path`` that :func:`sweep` recognises."""
    visible = path.name.encode()[:_VISIBLE].decode(errors="ignore")
    suffix = suffix if len(suffix.encode()) <= _SUFFIX else ""
    return path.parent / f".{visible}.segkit-{kind}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def sweep(folder: str | os.PathLike) -> list[Path]:
    """Remove segkit temporaries in ``folder`` whose writer is no longer running (or that are
    older than the process now holding the writer's id); put back an old result that a
    killed writer had moved aside. Anything else is left alone. Returns what was removed."""
    folder = Path(folder)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = TEMP_NAME.fullmatch(entry.name)
        if match is None or not _stale(int(match["pid"]), entry):
            continue
        path = Path(entry.path)
        try:
            if match["kind"] == "trash":
                _restore(path, folder)
            _remove(path)
        except OSError:  # another process sweeping at the same time
            continue
        removed.append(path)
    return removed


def remove_own_temporaries(path: str | os.PathLike) -> None:
    """Remove this process's temporaries for ``path`` (after a failed or cancelled write
    whose worker threads may still have written into one after it was cleaned up)."""
    path = Path(path)
    visible = path.name.encode()[:_VISIBLE].decode(errors="ignore")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        match = TEMP_NAME.fullmatch(entry.name)
        if (
            match is not None
            and match["kind"] == "tmp"
            and match["name"] == visible
            and int(match["pid"]) == os.getpid()
        ):
            _remove(Path(entry.path))


@contextmanager
def atomic_path(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    suffix: str | None = None,
    folder: bool = False,
    replaceable=None,
    what: str = "a file",
):
    """Yield a temporary path next to ``path`` (a new empty folder when ``folder``, else a
    new empty file); swap it into place only if the block succeeds.

    The temporary name ends in ``suffix`` (default: ``path``'s last suffix), which tells
    libraries such as nibabel the format (".nii.gz"). Raises ``FileExistsError`` if ``path``
    exists and ``overwrite`` is False, or if it exists and ``replaceable(path)`` is False
    (default: only a plain file is replaced); ``what`` names what may be replaced.
    """
    path = Path(path)
    _check_target(path, overwrite, replaceable or _plain_file, what)
    tmp = temp_name(path, suffix=path.suffix if suffix is None else suffix)
    if folder:
        os.mkdir(tmp)
    else:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        replace_path(tmp, path)
    finally:
        _remove(tmp)


@contextmanager
def scratch_folder(path: str | os.PathLike):
    """Yield a new hidden folder beside ``path`` for intermediate files; removed at the end."""
    tmp = temp_name(Path(path))
    os.mkdir(tmp)
    try:
        yield tmp
    finally:
        _remove(tmp)


def replace_path(new: Path, path: Path) -> None:
    """Move ``new`` (file or folder) to ``path``, replacing what is there in one step."""
    if not (path.is_dir() or new.is_dir()) or not os.path.lexists(path):
        os.replace(new, path)
    elif _exchange(new, path):  # ``new`` now holds the old result
        _remove(new)
    else:  # no atomic exchange here: move the old aside; sweep() puts it back if killed
        trash = temp_name(path, "trash")
        os.mkdir(trash)
        os.rename(path, trash / path.name)
        os.rename(new, path)
        _remove(trash)


def _check_target(path: Path, overwrite: bool, replaceable, what: str) -> None:
    if os.path.lexists(path):
        if not overwrite:
            raise FileExistsError(f"{path} already exists; choose another name or allow overwrite")
        if not replaceable(path):
            raise FileExistsError(f"{path} exists and is not {what}; it is left as it is")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist")
    sweep(path.parent)


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _stale(pid: int, entry: os.DirEntry) -> bool:
    """Whether the process that made ``entry`` is gone (its id unused or reused since)."""
    import psutil

    try:
        started = psutil.Process(pid).create_time()
        made = entry.stat(follow_symlinks=False).st_mtime
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, OSError):  # not ours to look at, or already gone
        return False
    return made < started - _SLACK


def _restore(trash: Path, folder: Path) -> None:
    """Put an old result moved aside into ``trash`` back where it was if nothing took its
    place."""
    for old in trash.iterdir():
        if not os.path.lexists(folder / old.name):
            os.rename(old, folder / old.name)


def _remove(path: Path) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically (Linux renameat2 RENAME_EXCHANGE); False where the
    system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))
