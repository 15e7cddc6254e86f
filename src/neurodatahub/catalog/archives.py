"""Safe extraction of zip and tar archives: every member is checked before anything is written.

Python's zipfile silently rewrites `../` and absolute names instead of refusing them, and tarfile before
the "data" filter follows them; a published archive that tries either is suspect, so it is refused with a
message naming the member. The extraction goes to a staging folder that replaces the target only when
complete (storage.atomic_write), so an interrupted extraction leaves nothing half done.
"""

from __future__ import annotations

import posixpath
import tarfile
import zipfile
from pathlib import Path

from neurodatahub.catalog.errors import UnsafeArchiveError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def extracted_name(name: str) -> str:
    """Folder an archive is extracted into: its name without the archive suffix."""
    lowered = name.lower()
    for suffix in sorted(ARCHIVE_SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _check_name(archive: Path, member: str) -> None:
    normalized = member.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        raise UnsafeArchiveError(f"{archive.name}: refused: member {member!r} has an absolute path")
    if ".." in posixpath.normpath(normalized).split("/"):
        raise UnsafeArchiveError(f"{archive.name}: refused: member {member!r} would escape its folder")


def _check_link(archive: Path, member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        base = posixpath.dirname(member.name) if member.issym() else ""
        target = posixpath.normpath(posixpath.join(base, member.linkname))
        if member.linkname.startswith("/") or target.split("/")[0] == "..":
            raise UnsafeArchiveError(
                f"{archive.name}: refused: link {member.name!r} points outside its folder"
                f" ({member.linkname!r})"
            )
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"{archive.name}: refused: member {member.name!r} is a device or pipe")


def members_size(archive: Path) -> int:
    """Bytes the archive holds once extracted (checked against free space before extracting)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as opened:
            return sum(info.file_size for info in opened.infolist())
    with tarfile.open(archive) as opened:
        return sum(member.size for member in opened.getmembers())


def check_archive(archive: Path) -> None:
    """Raise UnsafeArchiveError when any member would land outside the extraction folder."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                _check_name(archive, info.filename)
        return
    with tarfile.open(archive) as opened:
        for member in opened.getmembers():
            _check_name(archive, member.name)
            _check_link(archive, member)


def extract(archive: Path, destination: Path, *, overwrite: bool = False) -> Path:
    """Check, then extract `archive` into `destination` atomically; returns `destination`."""
    from neurodatahub.core.storage import atomic_write

    check_archive(archive)
    with atomic_write(str(destination), overwrite=overwrite, directory=True) as staging:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as opened:
                opened.extractall(staging)
        else:
            with tarfile.open(archive) as opened:
                opened.extractall(staging, filter="data")  # a second guard behind check_archive
    return destination
