"""The files a dataset job visits: files, folders (recursive), globs and fsspec prefixes, expanded once.

A folder that is one format (a Phy folder, BIDS derivatives, a catalog, a GSP1000 tree: any format the
registry reads as a directory) is one item, never walked into. Hidden entries (`.git`, `.DS_Store`,
partial downloads) are not visited. `include`/`exclude` are globs matched against each item's path
relative to its input (`**` crosses folders; a pattern without `/` matches the name at any depth).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from neurodatahub.core import registry, storage
from neurodatahub.core.errors import InputError


@dataclass(frozen=True)
class Item:
    """One file, or one folder that is a format, found under an input."""

    url: str
    root: str  # the input it was found under (the file itself for a file given directly)
    relpath: str  # its path below `root`, with / separators; the name for a file given directly
    is_dir: bool = False
    size: int | None = None  # in bytes, when the listing gave it (object stores)


def expand(
    inputs: Sequence[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[Item]:
    """Every item under `inputs`, in input order then path order, each once."""
    seen: dict[str, Item] = {}
    for given in inputs:
        for item in _items(given, storage_options):
            if item.url not in seen and selected(item.relpath, include, exclude):
                seen[item.url] = item
    return list(seen.values())


def _items(given: str, storage_options: Mapping[str, Any] | None) -> Iterator[Item]:
    if storage.is_glob(given):
        root = _glob_root(given)
        for url in storage.glob(given, storage_options):
            if PurePosixPath(url).name.startswith("."):
                continue
            relpath = _relative(url, root)
            if storage.is_dir(url, storage_options):
                yield from _walk(url, root, relpath, storage_options)
            else:
                yield Item(url, root, relpath)
        return
    if not storage.exists(given, storage_options):
        raise InputError(f"{given}: no such file or directory")
    if storage.is_dir(given, storage_options):
        yield from _walk(given, given, "", storage_options)
    else:
        yield Item(given, given, PurePosixPath(given.rstrip("/")).name)


def _walk(url: str, root: str, relpath: str, storage_options: Mapping[str, Any] | None) -> Iterator[Item]:
    """A folder's items: itself when it is a format folder, else its files and sub-folders' items, in
    path order. The folders are listed a level at a time (an object store's at once: `list_entries_of`)."""
    sizes: dict[str, int] = {}
    listed = _listings(url, storage_options, sizes)

    def walk(folder: str, below: str) -> Iterator[Item]:
        if folder not in listed:  # a link to a folder visited elsewhere
            return
        entries = listed[folder]
        if entries is None:  # a format folder: one item
            yield Item(folder, root, below or PurePosixPath(folder.rstrip("/")).name, is_dir=True)
            return
        for name, is_folder in entries:
            if name.startswith("."):
                continue
            child, child_path = storage.join(folder, name), f"{below}/{name}" if below else name
            if is_folder:
                yield from walk(child, child_path)
            else:
                yield Item(child, root, child_path, size=sizes.get(child))

    yield from walk(url, relpath)


def _listings(
    url: str, storage_options: Mapping[str, Any] | None, sizes: dict[str, int]
) -> dict[str, list[tuple[str, bool]] | None]:
    """The entries of every folder the walk visits below `url`; None for a format folder (not entered).

    Local folders reached through symbolic links are walked when the link leads out of the input (a
    dataset assembled from links), not when it leads back into it (its folder is walked at its own
    path; a link to an ancestor would loop forever); none is walked twice."""
    listed: dict[str, list[tuple[str, bool]] | None] = {}
    inside = _real(url)
    visited = {inside}
    level = [url]
    while level:
        following = []
        for folder, entries in zip(
            level, storage.list_entries_of(level, storage_options, sizes), strict=True
        ):
            if registry.directory_format(folder, storage_options, entries) is not None:
                listed[folder] = None
                continue
            listed[folder] = entries
            for name, is_folder in entries:
                child = storage.join(folder, name)
                if is_folder and name[:1] != "." and _to_walk(child, inside, visited):
                    following.append(child)
        level = following
    return listed


def _real(url: str) -> str | None:
    """Where a local folder really is; None in an object store (which has no links)."""
    return os.path.realpath(storage.local_path(url)) if storage.is_local(url) else None


def _to_walk(folder: str, inside: str | None, visited: set[str | None]) -> bool:
    real = _real(folder)
    if real is None or inside is None:
        return True
    if os.path.islink(storage.local_path(folder)) and os.path.commonpath([real, inside]) == inside:
        return False  # a link back into the input: walked at its own path
    if real in visited:
        return False
    visited.add(real)
    return True


def _glob_root(pattern: str) -> str:
    """The part of a glob before its first wildcard's folder: what matches are relative to."""
    head = pattern[
        : min(pattern.index(character) for character in storage.GLOB_CHARACTERS if character in pattern)
    ]
    return head.rsplit("/", 1)[0] if "/" in head else "."


def _relative(url: str, root: str) -> str:
    prefix = root.rstrip("/") + "/"
    return url[len(prefix) :] if url.startswith(prefix) else PurePosixPath(url).name


def selected(relpath: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    include, exclude = list(include), list(exclude)
    if include and not any(matches(relpath, pattern) for pattern in include):
        return False
    return not any(matches(relpath, pattern) for pattern in exclude)


def matches(relpath: str, pattern: str) -> bool:
    """fnmatch on the whole relative path (`*` and `**` cross folders), or on the name for a bare pattern."""
    if "/" not in pattern:
        return fnmatch.fnmatchcase(PurePosixPath(relpath).name, pattern)
    return fnmatch.fnmatchcase(relpath, pattern) or fnmatch.fnmatchcase(relpath, pattern.replace("**/", ""))
