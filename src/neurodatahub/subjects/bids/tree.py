"""The files and folders below a dataset root on any URL, as paths relative to the root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neurodatahub.core import storage


@dataclass(frozen=True)
class Tree:
    files: list[str]  # relative paths with "/" separators, sorted
    folders: list[str]


def walk(root: str, *, recursive: bool = True, storage_options: Mapping[str, Any] | None = None) -> Tree:
    """Everything below `root` (only its own entries when not recursive); hidden entries are skipped."""
    if storage.is_local(root):
        base = storage.local_path(root)
        if not recursive:
            entries = sorted(entry for entry in os.listdir(base) if not entry.startswith("."))
            return Tree(
                [entry for entry in entries if (base / entry).is_file()],
                [entry for entry in entries if (base / entry).is_dir()],
            )
        files, folders = [], []
        for current, dirs, names in os.walk(base):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            prefix = os.path.relpath(current, base).replace(os.sep, "/")
            prefix = "" if prefix == "." else prefix + "/"
            folders.extend(prefix + name for name in dirs)
            files.extend(prefix + name for name in names if not name.startswith("."))
        return Tree(sorted(files), sorted(folders))
    fs, path = storage.filesystem(root, storage_options)
    path = path.rstrip("/")
    entries = fs.find(path, maxdepth=None if recursive else 1, withdirs=True, detail=True)
    files, folders = [], set()
    for name, info in entries.items():
        relative = name[len(path) :].lstrip("/")
        if not relative or any(part.startswith(".") for part in relative.split("/")):
            continue
        if info["type"] == "directory":
            folders.add(relative)
        else:
            files.append(relative)
            # object stores list keys, not folders: every prefix of a key is a folder
            parts = relative.split("/")[:-1]
            folders.update("/".join(parts[: depth + 1]) for depth in range(len(parts)))
    return Tree(sorted(files), sorted(folders))
