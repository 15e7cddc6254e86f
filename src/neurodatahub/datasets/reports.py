"""The report of a batch (`--report FILE`), its journal, and what an earlier run already finished.

While a batch runs, each finished entry is appended to a journal beside the report (`.<name>.journal`,
one JSON line each, flushed at once), so a run killed outright still leaves a record of what it did.
At the end the report is written atomically and the journal removed. A rerun reads both: an entry is
complete when its recorded output is still there with the same size and checksum, and its source has
the size it had. A target that did not exist when an earlier run planned it but exists now was written
by that run (outputs are placed atomically, so it is whole) even if the run died before recording it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError

CONVERTED, SKIPPED, FAILED, IGNORED, NOT_RUN = "converted", "skipped", "failed", "ignored", "not_run"
COMPLETE = (CONVERTED, SKIPPED)


def journal_path(report: Path) -> Path:
    return report.with_name(f".{report.name}.journal")


def earlier_entries(report: Path) -> dict[str, dict[str, Any]]:
    """The latest entry of each target (by source when it has none) from a report and its journal."""
    found: dict[str, dict[str, Any]] = {}
    if report.exists():
        try:
            document = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(
                f"{report}: not a readable batch report ({error}); remove it or pass --no-resume"
            ) from None
        for entry in document.get("entries", []) if isinstance(document, dict) else []:
            found[_identity(entry)] = entry
    journal = journal_path(report)
    if journal.exists():
        for line in journal.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):  # the last line of a killed run may be cut short
                entry = json.loads(line)
                if isinstance(entry, dict) and "source" in entry:
                    found[_identity(entry)] = {**found.get(_identity(entry), {}), **entry}
    return found


def _identity(entry: Mapping[str, Any]) -> str:
    return str(entry.get("target") or entry["source"])


def completed_output(
    earlier: Mapping[str, Any] | None,
    target: str,
    source_size: int,
    storage_options: Mapping[str, Any] | None,
) -> tuple[dict[str, Any] | None, str]:
    """The output record of a target an earlier run finished (and why), or None when it must be done.

    Runs on the workers: it reads the target through to compare checksums.
    """
    if not earlier or not storage.exists(target, storage_options):
        return None, ""
    recorded_size = earlier.get("source_size_bytes")
    if recorded_size is not None and recorded_size != source_size:
        return None, ""
    from neurodatahub.core.conversion import CHECKSUM_ALGORITHM

    size = storage.size_of(target, storage_options)
    output = earlier.get("output") if earlier.get("status") in COMPLETE else None
    if output:
        if output.get("size_bytes") not in (None, size):
            return None, ""
        algorithm = output.get("checksum_algorithm") or CHECKSUM_ALGORITHM
        checksum = storage.checksum_of(target, algorithm, storage_options) if output.get("checksum") else None
        if checksum != output.get("checksum"):
            return None, ""
        return dict(output), "complete in an earlier run"
    if earlier.get("status") == NOT_RUN and earlier.get("new_target"):
        checksum = storage.checksum_of(target, CHECKSUM_ALGORITHM, storage_options)
        record = {"url": target, "size_bytes": size}
        if checksum:
            record.update(checksum=checksum, checksum_algorithm=CHECKSUM_ALGORITHM)
        return record, "written by an interrupted run"
    return None, ""


class Journal:
    """Entries appended as they finish, one JSON line each; nothing when the batch has no report."""

    def __init__(self, report: Path | None) -> None:
        self.path = journal_path(report) if report is not None else None
        self._handle: IO[str] | None = None

    def __enter__(self) -> Journal:
        if self.path is not None:
            self._handle = self.path.open("a", encoding="utf-8")
        return self

    def write(self, entries: Sequence[Mapping[str, Any]]) -> None:
        if self._handle is None:
            return
        for entry in entries:
            self._handle.write(json.dumps(entry, default=str) + "\n")
        self._handle.flush()

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def write_report(report: Path, document: Mapping[str, Any]) -> None:
    """The report, atomically (a reader never sees half of it)."""
    with storage.atomic_write(str(report), overwrite=True) as tmp:
        tmp.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
