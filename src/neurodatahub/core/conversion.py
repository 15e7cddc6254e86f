"""Read -> validated model -> write -> reopen and check -> provenance: the one path every conversion takes."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from neurodatahub import __version__
from neurodatahub.core import budget, extensions, kinds, references, remote, storage
from neurodatahub.core.errors import (
    HubError,
    InvalidDataError,
    LossError,
    OutputError,
    UsageError,
    unreadable_input,
)
from neurodatahub.core.registry import FormatSpec, input_format, target_format

if TYPE_CHECKING:
    from neurodatahub.core.models import ConversionReport, FileRecord, Loss


def problems_of(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as {location, message}, without the validator plumbing in the location."""
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"] if not str(part).startswith("function-"))
        problems.append(
            {
                "location": location or "(document)",
                "message": item["msg"].removeprefix("Value error, "),
                "type": item["type"],  # value_error: an invariant of the models; else the schema's types
            }
        )
    return problems


def _first_problem(problems: list[dict[str, str]]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first['location']}: {first['message']}{more}"


@contextlib.contextmanager
def limits(allow_external: bool | None = None, max_memory: str | int | None = None) -> Iterator[None]:
    """The safety limits of one call of the API: references to other files allowed or not
    (core.references) and the memory budget (core.budget); None keeps the ones in force (the CLI's
    --allow-external and --max-memory, else the defaults)."""
    with references.allowing(allow_external), budget.limited(max_memory):
        yield


def _one_reading(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run `function` in a storage.reading() scope: each byte of a remote input is fetched once, to detect
    its format, to read it and to hash it. What was fetched goes when the scope ends (the caller's, when
    it opened one: a batch decides what to keep between files)."""

    @functools.wraps(function)
    def scoped(*args: Any, **kwargs: Any) -> Any:
        with storage.reading():
            return function(*args, **kwargs)

    return scoped


@_one_reading
def read(
    url: str,
    *,
    format: str | None = None,
    kind: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    allow_external: bool | None = None,
    max_memory: str | int | None = None,
    **options: Any,
) -> BaseModel:
    """Read any supported file into its validated model (`kind` settles a table two kinds could read,
    `class_name=` picks an image's class).

    `allow_external` lets HDF5 and GIfTI files read data they keep in other files of their own folder;
    `max_memory` (bytes, or text such as "2G") caps what a file may declare (core.budget).
    """
    with limits(allow_external, max_memory):
        spec = input_format(url, format, storage_options, kind, class_name=options.get("class_name"))
        return read_as(spec, url, storage_options, **options)


CHECKSUM_ALGORITHM = remote.DIGEST_ALGORITHM  # XXH3-128 identifies inputs and outputs at memory speed
STEPS = ("reading", "checksums", "writing and checking", "done")
SHARED_OPTIONS = {"sampling_rate"}  # needed to read times in samples as much as to write them


def route_options(
    source: FormatSpec | None,
    target: FormatSpec | None,
    options: Mapping[str, Any],
    output_options: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send each option to the writer that declares it, else to the reader; one neither takes is an error.

    Options describe the output (--style, --time-unit) unless only the reader knows them (--units-path);
    the sampling rate goes to both, since reading samples needs it as much as writing them.
    `output_options` (-O) stay with the writer, which names any it does not take, unless only the reader
    declares one (the mask a folder of runs is read with): that one can only be meant for the reader.
    """
    read_options: dict[str, Any] = {}
    write_options: dict[str, Any] = {}
    for name, value in options.items():
        to_writer = target is not None and target.writes_option(name)
        reader_takes = source is not None and source.reads_option(name)
        to_reader = reader_takes and (not to_writer or name in SHARED_OPTIONS)
        if not (to_writer or to_reader):
            formats = " -> ".join(spec.name for spec in (source, target) if spec is not None)
            raise UsageError(f"option {name!r} does not apply to {formats}")
        if to_writer:
            write_options[name] = value
        if to_reader:
            read_options[name] = value
    for name, value in (output_options or {}).items():
        for_reader = (
            source is not None
            and source.reads_option(name)
            and (target is None or not target.writes_option(name))
        )
        (read_options if for_reader else write_options)[name] = value
    return read_options, write_options


def read_as(
    spec: FormatSpec, url: str, storage_options: Mapping[str, Any] | None = None, **options: Any
) -> BaseModel:
    if spec.read is None:
        raise UsageError(f"format {spec.name!r} cannot be read")
    checked = spec.checked_read_options(options)
    with unreadable_input(url, spec.name), invalid_data_of(url):
        return spec.read(url, storage_options=storage_options, **checked)


@contextlib.contextmanager
def invalid_data_of(url: str) -> Iterator[None]:
    """Schema violations found while reading `url` (at once, or chunk by chunk) as InvalidDataError;
    a reader's own InvalidDataError gets the file's name when its message lacks it."""
    try:
        yield
    except ValidationError as error:
        problems = problems_of(error)
        raise InvalidDataError(
            f"{url} is not valid {error.title}: {_first_problem(problems)}", problems
        ) from error
    except InvalidDataError as error:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if name in str(error):
            raise
        raise type(error)(f"{url}: {error}", error.problems) from error


@contextlib.contextmanager
def open_stream(
    spec: FormatSpec, url: str, storage_options: Mapping[str, Any] | None = None, **options: Any
) -> Iterator[Any]:
    """A `streaming.Stream` of `url`; chunks are validated as they are read."""
    if spec.read_stream is None:
        raise UsageError(f"format {spec.name!r} cannot be read piece by piece")
    checked = spec.checked_read_options(options)
    with (
        unreadable_input(url, spec.name),
        invalid_data_of(url),
        spec.read_stream(url, storage_options=storage_options, **checked) as stream,
    ):
        yield stream


def summarize_file(
    spec: FormatSpec, url: str, storage_options: Mapping[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    """The summary `hub info` prints; streamed formats are read chunk by chunk, never whole."""
    from neurodatahub.core import streaming
    from neurodatahub.core.summary import summarize

    with storage.reading():
        if spec.read_stream is None:
            return summarize(read_as(spec, url, storage_options, **options))
        with open_stream(spec, url, storage_options, **options) as stream:
            return streaming.summarize_stream(stream.header, streaming.tally(stream.chunks))


def describe_file(
    spec: FormatSpec, url: str, storage_options: Mapping[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    """What `hub info` prints: the format's header-only summary when it has one (its `describe` returns
    None where a full read says more, e.g. a local 3D image), else `summarize_file`.

    `hub validate` keeps reading everything (`summarize_file`): a header says nothing of the data.
    """
    if spec.describe is not None:
        checked = spec.checked_read_options(options)
        with storage.reading(), unreadable_input(url, spec.name), invalid_data_of(url):
            described = spec.describe(url, storage_options=storage_options, **checked)
        if described is not None:
            return described
    return summarize_file(spec, url, storage_options, **options)


def losses_of(spec: FormatSpec, model: BaseModel, **options: Any) -> list[Any]:
    found = list(spec.losses(model, **options)) if spec.losses else []
    return found + _lab_field_losses(spec, model)


def _schema_class_of(model: BaseModel) -> str | None:
    """The hub's class a model is or extends (a lab schema's LabSpikeData is a SpikeData)."""
    from neurodatahub_models.facts import CLASSES

    return next((cls.__name__ for cls in type(model).__mro__ if cls.__name__ in CLASSES), None)


def _lab_field_losses(spec: FormatSpec, model: BaseModel) -> list[Any]:
    """The fields a lab schema adds to one of the hub's classes: only documents store them."""
    base = _schema_class_of(model)
    if spec.kind == "document" or base is None or base == type(model).__name__:
        return []
    from neurodatahub.core.models import Loss, model_class

    known = model_class(base).model_fields
    return [
        Loss(
            field=name,
            reason=f"{type(model).__name__} extends {base}; {spec.name} holds {base}'s fields only",
        )
        for name in type(model).model_fields
        if name not in known and getattr(model, name) is not None
    ]


def write(
    model: BaseModel,
    url: str,
    *,
    format: str | None = None,
    overwrite: bool = False,
    strict: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> list[Loss]:
    """Write a validated model atomically; returns what the format could not store."""
    spec = target_format(url, _kind_of(model), format)
    return _write_checked(spec, model, url, overwrite, strict, storage_options, options)


def _kind_of(model: BaseModel) -> str | None:
    """The kind whose pivot class the model is or extends (from the schema), None for other classes."""
    base = _schema_class_of(model)
    return kinds.kind_of_class(base) if base else None


def _write_checked(
    spec: FormatSpec,
    model: BaseModel,
    url: str,
    overwrite: bool,
    strict: bool,
    storage_options: Mapping[str, Any] | None,
    options: Mapping[str, Any],
    written: dict[str, Any] | None = None,
    digest: bool = False,
) -> list[Any]:
    """Write, check and place; `written` (when given) receives the output's size and digest."""
    from neurodatahub.core import summary

    if spec.write is None:
        raise UsageError(f"format {spec.name!r} cannot be written")
    options = spec.checked_write_options(options)
    losses = _allowed_losses(spec, model, strict, options)
    with _staged(spec, url, overwrite, storage_options) as tmp, _named_as(tmp, url) as name:
        spec.write(model, tmp, **options)
        try:
            if spec.verify is not None:
                spec.verify(model, tmp, **options)
                if (
                    spec.read is not None
                    and not spec.verify_reads_back
                    and storage.size_of(str(tmp)) <= READ_BACK_BYTES
                ):
                    _validate_read_back(spec, model, tmp, options)
            elif spec.read is not None:
                reopened = read_as(spec, str(tmp), **_read_back_options(spec, model, options))
                if not losses and not summary.same(summary.fingerprint(reopened), summary.fingerprint(model)):
                    raise OutputError("it reads back as other data")
        except HubError as error:
            raise OutputError(f"{url}: what was written does not read back right ({name(error)})") from error
        _describe_output(tmp, written, digest)
    return losses


def _describe_output(tmp: Any, written: dict[str, Any] | None, digest: bool) -> None:
    """Size and digest of an output taken from its local staging copy before it is placed: a remote
    output is never downloaded again to be described."""
    if written is not None:
        written.update({"size_bytes": storage.size_of(str(tmp)), **_checksum(str(tmp), None, digest)})


# Outputs up to this size are read back and validated in full even when the format has a cheaper
# `verify` (a spot check of the arrays); larger ones rely on `verify` alone, since reading them again
# would double the time of the conversion. 64 MiB read back costs well under a second.
READ_BACK_BYTES = 64 * 2**20


def _validate_read_back(spec: FormatSpec, model: BaseModel, tmp: Any, options: Mapping[str, Any]) -> None:
    """Read the output again: the reader validates what it builds. A reader that needs what only the
    user can give (the surface of per-vertex data) cannot; the format's verify has checked it then."""
    with contextlib.suppress(UsageError):
        read_as(spec, str(tmp), **_read_back_options(spec, model, options))


def _read_back_options(spec: FormatSpec, model: BaseModel, options: Mapping[str, Any]) -> dict[str, Any]:
    """What the reader needs to find what the writer put where (dataset names, the class of a document)."""
    given = {name: value for name, value in options.items() if spec.reads_option(name)}
    if spec.reads_option("class_name"):
        given["class_name"] = type(model).__name__
        if (lab_schema := extensions.schema_of(type(model))) is not None:  # a lab schema's class
            given["lab_schema"] = str(lab_schema)
    return given


@contextlib.contextmanager
def _named_as(staging: Any, url: str) -> Iterator[Callable[[Any], str]]:
    """Warnings raised while a staged output is written and read back name `url`, the user's file,
    never the temporary it is staged in (`.1a2b3c4d.partial.out.csv`); yields the same renaming for
    error messages."""
    import warnings
    from pathlib import Path

    def name(message: Any) -> str:
        text = str(message).replace(str(staging), url)
        return text.replace(Path(staging).name, Path(url.rstrip("/")).name)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield name
    finally:
        for warning in caught:
            warnings.warn_explicit(name(warning.message), warning.category, warning.filename, warning.lineno)


@contextlib.contextmanager
def _staged(
    spec: FormatSpec, url: str, overwrite: bool, storage_options: Mapping[str, Any] | None
) -> Iterator[Any]:
    """The local path a writer fills; it replaces `url` only once written and checked.

    A format with sidecars (FormatSpec.sidecars) writes them beside that path under their final names,
    in a private folder; they are placed first and the main file last, each atomically, so the main
    file never appears without them (a failure while placing the main file can leave the new sidecars
    beside the old one). Existing ones are refused together, before anything is written.
    """
    if spec.sidecars is None:
        with storage.atomic_write(
            url, overwrite=overwrite, directory=spec.directory, storage_options=storage_options
        ) as tmp:
            yield tmp
        return
    import shutil
    from pathlib import Path

    from neurodatahub.core import scratch

    placed = [*spec.sidecars(url), url]
    for each in placed:
        storage.refuse_existing(each, overwrite, storage_options)
    with scratch.folder() as folder:
        yield Path(folder) / Path(url.rstrip("/")).name
        for each in placed:
            written = Path(folder) / Path(each).name
            if not written.is_file():
                raise OutputError(f"the writer produced no {each}")
            with storage.atomic_write(each, overwrite=True, storage_options=storage_options) as tmp:
                shutil.copyfile(written, tmp)


def _allowed_losses(spec: FormatSpec, model: BaseModel, strict: bool, options: Mapping[str, Any]) -> list:
    losses = losses_of(spec, model, **options)
    if strict and losses:
        listed = "; ".join(f"{loss.field}: {loss.reason}" for loss in losses)
        raise LossError(f"{spec.name} cannot store everything (--strict): {listed}")
    return losses


def write_stream_checked(
    spec: FormatSpec,
    stream: Any,
    url: str,
    overwrite: bool,
    strict: bool,
    storage_options: Mapping[str, Any] | None,
    options: Mapping[str, Any],
    output: dict[str, Any] | None = None,
    digest: bool = False,
) -> tuple[list[Any], dict[str, Any]]:
    """Write a stream chunk by chunk, then read the output back as a stream and compare the tallies.

    Memory stays at a few chunks whatever the size of the data; the check compares counts and sums of
    every bulk array the writer did not declare it drops.
    """
    from neurodatahub.core import streaming

    if spec.write_stream is None:
        raise UsageError(f"format {spec.name!r} cannot be written piece by piece")
    options = spec.checked_write_options(options)
    losses = _allowed_losses(spec, stream.header, strict, options)
    written: dict[str, Any] = {}
    with (
        storage.atomic_write(
            url, overwrite=overwrite, directory=spec.directory, storage_options=storage_options
        ) as tmp,
        _named_as(tmp, url) as name,
    ):
        counted = streaming.Stream(stream.header, streaming.tallied(stream.chunks, written))
        spec.write_stream(counted, tmp, **options)
        if spec.read_stream is not None:
            try:
                with open_stream(spec, str(tmp)) as back:
                    found = streaming.tally(back.chunks)
            except HubError as error:
                raise OutputError(f"{url}: what was written does not read back ({name(error)})") from error
            problems = streaming.differences(written, found, dropped=[loss.field for loss in losses])
            if problems:
                raise OutputError(f"{url}: what was written reads back as other data: {'; '.join(problems)}")
        _describe_output(tmp, output, digest)
    return losses, written


@_one_reading
def convert(
    source: str,
    target: str,
    *,
    from_format: str | None = None,
    to_format: str | None = None,
    overwrite: bool = False,
    strict: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    read_options: Mapping[str, Any] | None = None,
    write_options: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    checksum: bool = True,
    on_step: Callable[[str], None] | None = None,
    kind: str | None = None,
    allow_external: bool | None = None,
    max_memory: str | int | None = None,
) -> ConversionReport:
    """Convert one file to another format of the same kind; returns a ConversionReport.

    `read_options` and `write_options` go to the reader and the writer; `options` (the CLI's --style,
    --time-unit, --fs...) go to whichever of the two declares each one. `on_step` hears each of STEPS;
    `kind` is the input's kind, for a table that two kinds could read. A remote input is fetched once:
    its digest comes from the bytes the reader fetched (storage.read_digest). `allow_external` and
    `max_memory` are the safety limits of `read`.
    """
    with limits(allow_external, max_memory):
        return _convert(
            source, target, from_format, to_format, overwrite, strict, storage_options,
            read_options, write_options, options, checksum, on_step, kind,
        )  # fmt: skip


def _convert(
    source: str,
    target: str,
    from_format: str | None,
    to_format: str | None,
    overwrite: bool,
    strict: bool,
    storage_options: Mapping[str, Any] | None,
    read_options: Mapping[str, Any] | None,
    write_options: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
    checksum: bool,
    on_step: Callable[[str], None] | None,
    kind: str | None,
) -> ConversionReport:
    from neurodatahub.core import summary
    from neurodatahub.core.models import ActivityRecord

    started = time.perf_counter()
    if storage.same_place(source, target, storage_options):
        raise UsageError(f"{target} is the input itself; write the conversion to another path")
    class_name = (read_options or {}).get("class_name")
    source_spec = input_format(source, from_format, storage_options, kind, class_name=class_name)
    kind = None if source_spec.kind == "document" else source_spec.kind
    if kind is None:  # a document holds any class: the class names the kind (documents are small)
        kind = _kind_of(read_as(source_spec, source, storage_options, **dict(read_options or {})))
    target_spec = target_format(target, kind, to_format)
    routed_read, routed_write = route_options(source_spec, target_spec, options or {}, write_options)
    read_options = {**routed_read, **dict(read_options or {})}
    if not source_spec.reads_option("class_name"):  # the class picked the format's kind; nothing more
        read_options.pop("class_name", None)
    write_options = routed_write
    announce = on_step or (lambda name: None)
    announce("reading")
    if source_spec.read_stream is not None and target_spec.write_stream is not None:
        return _convert_stream(
            source_spec, source, target_spec, target, overwrite, strict, storage_options,
            read_options, write_options, checksum, announce, started,
        )  # fmt: skip
    with _digest_beside_read(source, storage_options, checksum) as source_digest:
        model = read_as(source_spec, source, storage_options, **read_options)
        announce("checksums")
        source_record = _file_record(source, source_spec, storage_options, source_digest())
    if "provenance" in type(model).model_fields:
        step = ActivityRecord(
            timestamp=datetime.now(UTC),
            function="neurodatahub.conversion",
            software="neurodatahub",
            version=__version__,
            parameters={"from": source_spec.name, "to": target_spec.name, **write_options},
            inputs=[source_record],
        )
        model = model.model_copy(update={"provenance": [*(model.provenance or []), step]})
    announce("writing and checking")
    written: dict[str, Any] = {}
    losses = _write_checked(
        target_spec, model, target, overwrite, strict, storage_options, write_options, written, checksum
    )
    announce("done")
    return _report(
        source_spec.kind,
        source_record,
        target_spec,
        target,
        written,
        summary.summarize(model),
        losses,
        started,
    )


def _convert_stream(
    source_spec: FormatSpec,
    source: str,
    target_spec: FormatSpec,
    target: str,
    overwrite: bool,
    strict: bool,
    storage_options: Mapping[str, Any] | None,
    read_options: Mapping[str, Any],
    write_options: Mapping[str, Any],
    checksum: bool,
    announce: Callable[[str], None],
    started: float,
) -> ConversionReport:
    """convert() for data read and written piece by piece (tractograms, functional chunks)."""
    from neurodatahub.core import streaming

    output: dict[str, Any] = {}
    with _digest_beside_read(source, storage_options, checksum) as source_digest:
        with open_stream(source_spec, source, storage_options, **read_options) as stream:
            announce("writing and checking")
            losses, written = write_stream_checked(
                target_spec,
                stream,
                target,
                overwrite,
                strict,
                storage_options,
                write_options,
                output,
                checksum,
            )
            header = stream.header
        announce("checksums")
        source_record = _file_record(source, source_spec, storage_options, source_digest())
    announce("done")
    counts = streaming.summarize_stream(header, written)
    return _report(source_spec.kind, source_record, target_spec, target, output, counts, losses, started)


@contextlib.contextmanager
def _digest_beside_read(
    url: str, storage_options: Mapping[str, Any] | None, wanted: bool
) -> Iterator[Callable[[], dict[str, Any]]]:
    """The input's digest from the same pass as the read; call what this yields once reading is done.

    A remote file is hashed from the bytes the reader fetches, as they arrive (storage.read_digest: the
    ranges it skipped are fetched once more, only for the digest; or the store's own SHA-256). A local
    file is hashed in a thread while it is read, from the page cache (2 cores).
    """
    if not wanted:
        yield dict
        return
    if not storage.is_local(url):
        yield lambda: storage.read_digest(url, storage_options) or {}
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_checksum, url, storage_options, True)
        yield future.result


def _file_record(
    url: str, spec: FormatSpec, storage_options: Mapping[str, Any] | None, digest: dict[str, Any]
) -> FileRecord:
    from neurodatahub.core.models import FileRecord

    return FileRecord(url=url, format=spec.name, size_bytes=storage.size_of(url, storage_options), **digest)


def _report(
    kind: str,
    source_record: Any,
    target_spec: FormatSpec,
    target: str,
    written: dict[str, Any],
    counts: dict[str, Any],
    losses: list[Any],
    started: float,
) -> ConversionReport:
    from neurodatahub.core.models import ConversionReport, FileRecord

    return ConversionReport(
        source=source_record,
        target=FileRecord(url=target, format=target_spec.name, **written),
        kind=kind,
        model_class=counts["class"],
        counts=counts,
        losses=losses,
        duration_seconds=time.perf_counter() - started,
        software_version=__version__,
    )


def _checksum(url: str, storage_options: Mapping[str, Any] | None, wanted: bool) -> dict[str, Any]:
    digest = storage.checksum_of(url, CHECKSUM_ALGORITHM, storage_options) if wanted else None
    if not digest:
        return {}
    return {"checksum": digest, "checksum_algorithm": CHECKSUM_ALGORITHM, "checksum_source": "content"}
