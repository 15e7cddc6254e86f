"""Converting whole datasets: many sources, one command, on the execution layer (core.execution).

`convert_many` plans every source first (format, kind, target: on the workers, since it reads each
file's head), refuses two entries writing one target before anything runs, then converts each entry as
a task: `core.conversion.convert`, the same path as one file, so every output is written atomically,
read back and checked. Failures are recorded and the batch goes on (`fail_fast` stops it). With a
report, a rerun skips what is complete (reports.completed_output) and converts only the rest.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatahub import __version__
from neurodatahub.core import execution, kinds, storage
from neurodatahub.core.errors import ExitCode, Interrupted, OutputError, UsageError
from neurodatahub.datasets import plan, reports
from neurodatahub.datasets.inputs import expand
from neurodatahub.datasets.manifest import read_manifest

if TYPE_CHECKING:
    from neurodatahub.core.models import BatchEntry, BatchReport


# what the batch's tasks import on a worker (planning, then conversion)
WORKER_MODULES = (plan.__name__, "neurodatahub.core.conversion")


@dataclass(frozen=True)
class Task:
    """One planned conversion as a worker receives it (plain data: it crosses processes)."""

    source: str
    target: str
    source_size: int
    new_target: bool
    from_format: str | None = None
    to_format: str | None = None
    from_kind: str | None = None  # the kind of `from_format`, where two kinds have a format of its name
    options: Mapping[str, Any] = field(default_factory=dict)
    earlier: Mapping[str, Any] | None = None  # the entry of an earlier run, when resuming

    def base(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "source_size_bytes": self.source_size,
            "new_target": self.new_target,
        }


def convert_entry(
    task: Task,
    *,
    overwrite: bool,
    strict: bool,
    checksum: bool,
    read_options: Mapping[str, Any],
    write_options: Mapping[str, Any],
    options: Mapping[str, Any],
    storage_options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Convert one entry where the task runs (or find it complete from an earlier run); a BatchEntry dict."""
    from neurodatahub.core.conversion import convert

    if task.earlier is not None:
        output, reason = reports.completed_output(
            task.earlier, task.target, task.source_size, storage_options
        )
        if output is not None:
            done = {**task.base(), "status": reports.SKIPPED, "reason": reason, "output": output}
            if task.earlier.get("conversion"):
                done["conversion"] = task.earlier["conversion"]
            return done
    if storage.is_local(task.target):
        storage.local_path(task.target).parent.mkdir(parents=True, exist_ok=True)
    # the plan's size: a small source is fetched whole by one GET, without a HEAD (core.remote)
    with storage.reading({task.source: task.source_size}):
        report = convert(
            task.source,
            task.target,
            from_format=task.from_format,
            kind=task.from_kind,
            to_format=task.to_format,
            # a target the plan found absent is the batch's own: found now, it was written by this entry's
            # first run in a task that Dask ran again (its worker died after the write), and is replaced
            overwrite=overwrite or task.new_target,
            strict=strict,
            storage_options=storage_options,
            read_options=read_options,
            write_options=write_options,
            options={**options, **task.options},
            checksum=checksum,
        )
    record = report.model_dump(mode="json", exclude_none=True)
    return {**task.base(), "status": reports.CONVERTED, "output": record["target"], "conversion": record}


def convert_many(
    inputs: Sequence[str] | str = (),
    destination: str | None = None,
    *,
    manifest: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    kind: str | None = None,
    from_format: str | None = None,
    to_format: str | None = None,
    overwrite: bool = False,
    strict: bool = False,
    checksum: bool = True,
    storage_options: Mapping[str, Any] | None = None,
    read_options: Mapping[str, Any] | None = None,
    write_options: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    report: str | Path | None = None,
    resume: bool | None = None,
    fail_fast: bool = False,
    on_plan: Callable[[int, int], None] | None = None,
    on_entry: Callable[[BatchEntry], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> BatchReport:
    """Convert every source under `inputs` (files, folders, globs, fsspec prefixes) and of `manifest`.

    `destination` is a folder (the inputs' structure is kept; `to_format` names the outputs' format) or a
    template (`out/{relpath}/{stem}.h5`, see `datasets.plan`). Runs on `jobs` local workers, or on the
    Dask cluster at `scheduler` (see `core.execution`). With `report` (a local JSON file) a rerun skips
    what is complete (`resume`, default on with a report). Returns the BatchReport, entries in input
    order; raises UsageError (nothing written) for a bad plan and Interrupted after Ctrl-C or SIGTERM.
    `on_plan` hears the number of entries to convert and their bytes, `on_entry` each finished entry.
    """

    started, clock = datetime.now(UTC), time.perf_counter()
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    if manifest is None or destination is not None:
        plan.check_destination(destination, to_format)
    if kind is not None and kind not in kinds.kind_names():
        raise UsageError(f"unknown kind {kind!r}; kinds: {', '.join(kinds.kind_names())}")
    report_path = Path(report) if report is not None else None
    resume = report_path is not None if resume is None else resume
    if resume and report_path is None:
        raise UsageError("resuming needs the report of the earlier run (--report FILE)")
    if report_path is not None and not report_path.parent.is_dir():
        raise OutputError(f"cannot write {report_path}: folder {report_path.parent} does not exist")
    earlier = reports.earlier_entries(report_path) if resume and report_path is not None else {}
    shared = {"storage_options": dict(storage_options or {}) or None}
    planning = {"destination": destination, "from_format": from_format, "to_format": to_format, "kind": kind}
    entries: list[dict[str, Any] | None]
    listing = (inputs, manifest, include, exclude, storage_options)
    with _session_for_sources(*listing, jobs, scheduler, announce) as (runner, sources):
        planned = [
            _planned(outcome)
            for outcome in runner.map(plan.plan_source, sources, shared={**shared, **planning}, group=True)
        ]
        plan.refuse_collisions(planned)
        found = storage.existing(
            (entry.target for entry in planned if entry.status == plan.TODO and entry.target), storage_options
        )
        tasks = {
            index: _task(entry, earlier.get(entry.target or ""), found)
            for index, entry in enumerate(planned)
            if entry.status == plan.TODO
        }
        entries = [None if index in tasks else _unplanned(entry) for index, entry in enumerate(planned)]
        if on_plan is not None:
            on_plan(len(tasks), sum(task.source_size for task in tasks.values()))
        order = list(tasks)
        settings = {
            "overwrite": overwrite,
            "strict": strict,
            "checksum": checksum,
            "read_options": dict(read_options or {}),
            "write_options": dict(write_options or {}),
            "options": dict(options or {}),
        }
        with reports.Journal(report_path) as journal:
            # what this run means to do; an entry an earlier run finished keeps that run's record
            journal.write(
                [
                    {**task.base(), "status": reports.NOT_RUN}
                    for task in tasks.values()
                    if not (task.earlier and task.earlier.get("status") in reports.COMPLETE)
                ]
            )

            def finished(outcome: execution.Outcome) -> None:
                entry = _entry(outcome)
                entries[order[outcome.index]] = entry
                journal.write([entry])
                if on_entry is not None:
                    on_entry(_model_entry(entry))

            def sweep() -> None:  # temporaries of killed workers, once no task can still be writing
                storage.remove_leftovers(task.target for task in tasks.values())

            try:
                runner.map(
                    convert_entry,
                    list(tasks.values()),
                    shared={**shared, **settings},
                    on_result=finished,
                    fail_fast=fail_fast,
                    after_stop=sweep,
                    group=True,  # small files: several a task (convert_entry may run twice)
                )
            except Interrupted as stop:
                done = _report(entries, tasks, started, clock, runner.where, interrupted=True)
                _save(done, report_path, journal)
                halted = Interrupted(f"{stop}: {summary(done)}")
                halted.report = done  # type: ignore[attr-defined]
                raise halted from None
    done = _report(entries, tasks, started, clock, runner.where, interrupted=False)
    _save(done, report_path, journal)
    return done


@contextlib.contextmanager
def _session_for_sources(
    inputs: Sequence[str],
    manifest: str | None,
    include: Sequence[str],
    exclude: Sequence[str],
    storage_options: Mapping[str, Any] | None,
    jobs: int | None,
    scheduler: str | None,
    announce: Callable[[str], None] | None,
) -> Iterator[tuple[execution.Runner, list[plan.Source]]]:
    """The batch's sources, and the Runner to convert them. A running cluster (an address) is reached
    first, and its workers import what the tasks need while the sources are listed (a prefix of
    thousands of files takes seconds to list); local workers start once their number is known."""
    if execution.where(jobs, scheduler).address is None:
        sources = _sources(inputs, manifest, include, exclude, storage_options)
        with execution.session(jobs, scheduler, tasks=len(sources), announce=announce) as runner:
            yield runner, sources
        return
    with execution.session(jobs, scheduler, announce=announce) as runner:
        runner.prepare(WORKER_MODULES)
        yield runner, _sources(inputs, manifest, include, exclude, storage_options)


def _sources(
    inputs: Sequence[str],
    manifest: str | None,
    include: Sequence[str],
    exclude: Sequence[str],
    storage_options: Mapping[str, Any] | None,
) -> list[plan.Source]:
    sources = read_manifest(manifest, storage_options) if manifest is not None else []
    items = expand(inputs, storage_options=storage_options, include=include, exclude=exclude)
    sources += [
        plan.Source(item.url, item.relpath, named=item.url == item.root, size=item.size) for item in items
    ]
    if not sources:
        raise UsageError("nothing to convert: the inputs hold no file (after --include/--exclude)")
    return sources


def _planned(outcome: execution.Outcome) -> plan.Entry:
    if outcome.ok:
        return outcome.value
    return plan.Entry(outcome.item, plan.FAILED, reason=outcome.error, exit_code=outcome.exit_code)


def _task(entry: plan.Entry, earlier: Mapping[str, Any] | None, existing: set[str]) -> Task:
    assert entry.target is not None
    source = entry.source
    format_kind, format_name = entry.found_format or (None, source.from_format)
    return Task(
        source=source.url,
        target=entry.target,
        source_size=entry.size,
        # a target found now is the batch's own only if an earlier run planned it absent and never
        # finished that entry (it was written, whole, just before that run was stopped)
        new_target=entry.target not in existing
        or bool(earlier and earlier.get("status") == reports.NOT_RUN and earlier.get("new_target")),
        from_format=format_name,
        from_kind=None if format_kind == "document" else format_kind,
        to_format=source.to_format,
        options=dict(source.options),
        earlier=earlier,
    )


def _unplanned(entry: plan.Entry) -> dict[str, Any]:
    status = reports.IGNORED if entry.status == plan.IGNORED else reports.FAILED
    found = {"source": entry.source.url, "status": status, "reason": entry.reason}
    if status == reports.FAILED:
        found["exit_code"] = entry.exit_code
    return found


def _entry(outcome: execution.Outcome) -> dict[str, Any]:
    task: Task = outcome.item
    if outcome.ok:
        return outcome.value
    return {**task.base(), "status": reports.FAILED, "reason": outcome.error, "exit_code": outcome.exit_code}


def _model_entry(entry: Mapping[str, Any]) -> BatchEntry:
    from neurodatahub.core.models import BatchEntry

    return BatchEntry(**{key: value for key, value in entry.items() if value is not None})


def _report(
    entries: list[dict[str, Any] | None],
    tasks: Mapping[int, Task],
    started: datetime,
    clock: float,
    place: execution.Where,
    *,
    interrupted: bool,
) -> BatchReport:
    from neurodatahub.core.models import BatchReport

    final = [
        entry if entry is not None else {**tasks[index].base(), "status": reports.NOT_RUN}
        for index, entry in enumerate(entries)
    ]
    counts = {
        status: 0
        for status in (reports.CONVERTED, reports.SKIPPED, reports.FAILED, reports.IGNORED, reports.NOT_RUN)
    }
    for entry in final:
        counts[entry["status"]] += 1
    return BatchReport(
        entries=[_model_entry(entry) for entry in final],
        **counts,
        interrupted=interrupted,
        runs_on=place.describe(),
        started=started,
        duration_seconds=time.perf_counter() - clock,
        software_version=__version__,
    )


def _save(done: BatchReport, report_path: Path | None, journal: reports.Journal) -> None:
    if report_path is None:
        return
    reports.write_report(report_path, done.model_dump(mode="json", exclude_none=True))
    journal.remove()


def summary(done: BatchReport) -> str:
    """One line: converted, skipped, failed, ignored and not run counts."""
    parts = [f"{done.converted} converted", f"{done.skipped} skipped as complete", f"{done.failed} failed"]
    if done.ignored:
        parts.append(f"{done.ignored} ignored")
    if done.not_run:
        parts.append(f"{done.not_run} not run")
    return ", ".join(parts)


def exit_code(done: BatchReport) -> int:
    """The batch's exit code: the highest of its failures' (README "Exit codes"), 0 when none failed."""
    codes = [
        entry.exit_code or ExitCode.INTERNAL for entry in done.entries or [] if entry.status == reports.FAILED
    ]
    return max(codes, default=ExitCode.OK)
