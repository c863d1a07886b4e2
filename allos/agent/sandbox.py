"""Race-free file access below one directory: the primitives the built-in file tools stand on.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     sandbox = Sandbox(Path(root))
    ...     with sandbox.place("a/b.txt", create_parents=True) as place:
    ...         sandbox.replace(place, b"one\\n")
    ...     with sandbox.place("a/../a/b.txt") as place:
    ...         sandbox.read(place, limit=100)
    b'one\\n'

Policy: a path is a list of names below the working directory, never a string handed to the kernel whole. `.` and
`..` are resolved by name (`..` above the working directory is outside it); the directory itself is opened as a file
descriptor whose identity (device, inode) must be the one it had when the sandbox was made; then every directory
below it is opened relative to its parent's descriptor with `O_NOFOLLOW | O_DIRECTORY`, and the last name with
`O_NOFOLLOW`. A symbolic link at any name below the working directory is refused, and so is a path whose directories
another process swaps for links while it is walked: what is opened is always what was checked, because the check is
the open. Files are opened with `O_NONBLOCK` and inspected with `fstat`: only regular files are read or written, so
a FIFO, a socket or a device is refused, never waited on.

Writes go to a temporary file in the same (already opened) directory, are flushed to disk, take the old file's mode,
and are renamed over the name (`rename` replaces a link rather than follows it). A file with more than one hard link
is refused for writing: the rename would split the link, leaving the other names with the old bytes.

With `allow_outside` there is no boundary to keep: a path is resolved the ordinary way (symlinks followed, `os.path.
realpath`), its directory opened, and only the last name is opened with the rules above (regular files only, atomic
writes). Race-freedom is then not promised, because nothing a race could reach is forbidden.

Linux and the BSDs have every flag used here; elsewhere the sandbox refuses to start with a clear error.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from allos.agent.tools import ToolError

__all__ = ["MissingParent", "Place", "Sandbox", "check_writable", "outside_error"]

_MISSING_FLAGS = [name for name in ("O_NOFOLLOW", "O_DIRECTORY", "O_NONBLOCK") if not hasattr(os, name)]
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_NOCTTY: Final = getattr(os, "O_NOCTTY", 0)
_DIR_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | _O_CLOEXEC
# O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
_FILE_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | _O_CLOEXEC | _O_NOCTTY
_TEMP_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | _O_CLOEXEC
_KINDS: Final = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a directory",
}
_CHUNK: Final = 1 << 20


class MissingParent(ToolError):
    """A directory on the way to the path does not exist (and was not to be created)."""


@dataclass(frozen=True)
class Place:
    """A name in an open directory: where a tool reads or writes. `name` is "." for the directory itself."""

    dir_fd: int
    name: str
    shown: str  # the path as the model and the user should see it


class Sandbox:
    """File access confined to `root` (unless `allow_outside`), race-free; see the module's policy."""

    def __init__(self, root: Path, *, allow_outside: bool = False) -> None:
        if _MISSING_FLAGS:
            raise OSError(f"the file tools need {', '.join(_MISSING_FLAGS)}, which this system does not have")
        self.root = root
        self.allow_outside = allow_outside
        info = os.stat(root)
        self._identity = (info.st_dev, info.st_ino)

    # --- finding a place -----------------------------------------------------------------------------------------

    @contextmanager
    def place(self, path: str, *, create_parents: bool = False) -> Iterator[Place]:
        """The open directory that holds `path`, and its last name; the directory is closed afterwards."""
        place = self._outside(path, create_parents) if self.allow_outside else self._inside(path, create_parents)
        try:
            yield place
        finally:
            os.close(place.dir_fd)

    def names(self, path: str) -> list[str] | None:
        """`path` as names below the root (`.` and `..` resolved by name); None when it lies outside."""
        candidate = Path(path).expanduser()
        if candidate.is_absolute():
            normal = Path(os.path.normpath(candidate))
            if not normal.is_relative_to(self.root):
                return None
            candidate = normal.relative_to(self.root)
        names: list[str] = []
        for part in candidate.parts:
            if part == "..":
                if not names:
                    return None
                names.pop()
            elif part not in ("", "."):
                names.append(part)
        return names

    def _inside(self, path: str, create_parents: bool) -> Place:
        names = self.names(path)
        if names is None:
            raise outside_error(path, self.root)
        fd = self._open_root()
        try:
            for depth, name in enumerate(names[:-1]):
                below = self._open_dir(fd, name, "/".join(names[: depth + 1]), path, create_parents)
                os.close(fd)
                fd = below
        except BaseException:
            os.close(fd)
            raise
        return Place(fd, names[-1] if names else ".", "/".join(names) or ".")

    def _open_root(self) -> int:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != self._identity:
            os.close(fd)
            raise ToolError(f"the working directory {self.root} was replaced; the file tools stop here")
        return fd

    def _open_dir(self, parent: int, name: str, shown: str, path: str, create: bool) -> int:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise MissingParent(f"no such file or directory: {path}") from None
        except OSError as exc:
            raise _refusal(parent, name, shown, path, exc) from None
        with suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent)
        try:  # the same checks again: what was just made may have been swapped already
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise _refusal(parent, name, shown, path, exc) from None

    def _outside(self, path: str, create_parents: bool) -> Place:
        candidate = Path(path).expanduser()
        real = Path(os.path.realpath(candidate if candidate.is_absolute() else self.root / candidate))
        if create_parents:
            os.makedirs(real.parent, exist_ok=True)
        shown = str(real.relative_to(self.root)) if real.is_relative_to(self.root) else str(real)
        try:
            fd = os.open(real.parent, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
        except FileNotFoundError:
            raise MissingParent(f"no such file or directory: {path}") from None
        except OSError as exc:
            raise ToolError(f"cannot open {path}: {exc.strerror or exc}") from None
        return Place(fd, real.name or ".", shown if shown != "." else ".")

    # --- reading -------------------------------------------------------------------------------------------------

    def read(self, place: Place, *, limit: int) -> bytes:
        """At most `limit` bytes of the regular file at `place`."""
        fd = self.open_file(place)
        try:
            return _read_up_to(fd, limit)
        finally:
            os.close(fd)

    def open_file(self, place: Place) -> int:
        """A descriptor of the regular file at `place` (never a link, a FIFO, a socket or a device)."""
        try:
            fd = os.open(place.name, _FILE_FLAGS, dir_fd=place.dir_fd)
        except FileNotFoundError:
            raise ToolError(f"no such file: {place.shown}") from None
        except OSError as exc:
            raise _refusal(place.dir_fd, place.name, place.shown, place.shown, exc) from None
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != stat.S_IFREG:
            os.close(fd)
            raise _not_regular(place.shown, kind)
        return fd

    def open_directory(self, place: Place) -> int:
        """A descriptor of the directory at `place` (never a link)."""
        try:
            return os.open(place.name, _DIR_FLAGS, dir_fd=place.dir_fd)
        except FileNotFoundError:
            raise ToolError(f"no such directory: {place.shown}") from None
        except OSError as exc:
            refusal = _refusal(place.dir_fd, place.name, place.shown, place.shown, exc)
            if exc.errno == errno.ENOTDIR and "symbolic link" not in str(refusal):
                refusal = ToolError(f"{place.shown} is not a directory")
            raise refusal from None

    def existing(self, place: Place) -> os.stat_result | None:
        """What is at `place` now (not following a link), or None."""
        try:
            return os.stat(place.name, dir_fd=place.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    # --- writing -------------------------------------------------------------------------------------------------

    def replace(self, place: Place, data: bytes) -> None:
        """Make the file at `place` hold exactly `data`, atomically, keeping its mode; a new file gets the default
        mode (0666 less the umask). Refuses a directory, a link, anything not a regular file, and hard links."""
        old = self.existing(place)
        if old is not None:
            check_writable(place.shown, old)
        try:
            self._replace(place, data, old)
        except OSError as exc:
            raise ToolError(f"cannot write {place.shown}: {exc.strerror or exc}") from None

    def _replace(self, place: Place, data: bytes, old: os.stat_result | None) -> None:
        temp = f".allos-{secrets.token_hex(6)}.tmp"  # short: a long name plus a suffix could pass NAME_MAX
        fd = os.open(temp, _TEMP_FLAGS, 0o666, dir_fd=place.dir_fd)
        try:
            try:
                if old is not None:
                    os.fchmod(fd, stat.S_IMODE(old.st_mode))
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, place.name, src_dir_fd=place.dir_fd, dst_dir_fd=place.dir_fd)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp, dir_fd=place.dir_fd)
            raise
        with suppress(OSError):  # the rename itself made durable; not every file system can fsync a directory
            os.fsync(place.dir_fd)


def outside_error(path: str, root: Path) -> ToolError:
    return ToolError(
        f"{path} is outside the working directory {root}; only paths inside it may be used"
        " (the user can allow others with --allow-outside)"
    )


def check_writable(shown: str, info: os.stat_result) -> None:
    """`ToolError` unless `info` is a regular file with one name."""
    kind = stat.S_IFMT(info.st_mode)
    if kind != stat.S_IFREG:
        raise _not_regular(shown, kind)
    if info.st_nlink > 1:
        raise ToolError(
            f"{shown} has {info.st_nlink} hard links; writing it would split them (the other names would keep the"
            " old content), so the file tools leave it alone: use run_shell if that is what you mean"
        )


def _not_regular(shown: str, kind: int) -> ToolError:
    if kind == stat.S_IFDIR:
        return ToolError(f"{shown} is a directory; use list_directory")
    what = _KINDS.get(kind, "not a regular file")
    return ToolError(f"{shown} is {what}, not a regular file; the file tools read and write regular files only")


def _refusal(parent: int, name: str, shown: str, path: str, exc: OSError) -> ToolError:
    """Why `name` in `parent` could not be opened, told from what is there now (the refusal itself is already
    safe: this only chooses its words)."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
        try:
            kind = stat.S_IFMT(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
        except OSError:
            kind = 0
        if kind == stat.S_IFLNK:
            return ToolError(
                f"{path}: {shown} is a symbolic link; the file tools do not follow links in the working directory"
                " (use the path it points to)"
            )
        if kind == stat.S_IFSOCK or exc.errno == errno.ENXIO:
            return _not_regular(shown, stat.S_IFSOCK)
        if exc.errno == errno.ENOTDIR:
            return ToolError(f"{path}: {shown} is not a directory")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ToolError(f"{path}: permission denied")
    return ToolError(f"cannot open {path}: {exc.strerror or exc}")


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
