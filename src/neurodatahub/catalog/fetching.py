"""Fetching a catalog entry: plan, check space, download and verify, extract, register.

The names and parameters follow lacuna (`fetch_connectome`, `fetch_gsp1000`, `fetch_dtor985`,
`fetch_hcp1065`, `list_fetchable_connectomes`, FetchConfig, FetchProgress, FetchResult). Failures raise
hub errors (FetchError, AuthenticationError, IntegrityError, UnsafeArchiveError, DiskSpaceError) rather
than returning a failed result, so the CLI reports one line and an exit code by kind.

After the verified download an entry's `processing` step runs (`processing.py`: GSP1000 to HDF5 chunks,
TRK to TCK, merging the HCP1065 tracts), and the registration records whether it did (`processed`). GSP1000
needs the brain mask of its runs (`mask_path`); without one the download is registered unprocessed, with a
warning that says how to convert later.
"""

from __future__ import annotations

import shutil
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodatahub.catalog import archives, processing, registry, sources, trust
from neurodatahub.catalog.errors import DiskSpaceError, IntegrityError
from neurodatahub.catalog.http import Expected, download, partial_path, verify_file
from neurodatahub.catalog.index import CONNECTOME_KINDS
from neurodatahub.catalog.query import lookup
from neurodatahub.core import models

ProgressCallback = Callable[["FetchProgress"], None]
FreeSpace = Callable[[Path], int]


class FetchConfig(models.FetchConfig):
    """lacuna's FetchConfig (`register` is `auto_register`); the API key never shows in its repr."""

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, ("***" if name == "api_key" and value else value)

    def get_api_key(self) -> str | None:
        """The option, else DATAVERSE_API_KEY, else the config file."""
        return sources.dataverse_key(self.api_key)


class FetchProgress(models.FetchProgress):
    """Progress passed to callbacks, with lacuna's percentages."""

    @property
    def download_percent(self) -> float:
        return 100.0 * (self.bytes_transferred or 0) / self.bytes_total if self.bytes_total else 0.0

    @property
    def percent_complete(self) -> float:
        if not self.files_total:
            return 0.0
        return 100.0 * (self.files_completed + self.download_percent / 100.0) / self.files_total


class FetchResult(models.FetchResult):
    """Outcome of a fetch, with lacuna's summary()."""

    def summary(self) -> str:
        lines = [
            f"{self.connectome_name}: {'fetched' if self.success else 'failed'} into {self.output_dir}",
            f"  files: {len(self.output_files or [])}, download {self.download_time_seconds or 0:.1f} s,"
            f" total {self.duration_seconds or 0:.1f} s",
            f"  registered as {self.register_name}" if self.registered else "  not registered",
        ]
        lines += [f"  warning: {warning}" for warning in self.warnings or []]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


@dataclass
class FetchPlan:
    """What a fetch will do, for --dry-run and for the free-space check."""

    name: str
    output_dir: Path
    files: list[sources.RemoteFile]
    steps: list[str] = field(default_factory=list)
    download_bytes: int = 0
    unknown_sizes: list[str] = field(default_factory=list)
    needed_bytes: int = 0
    free_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "output_dir": str(self.output_dir),
            "files": [
                {"name": f.name, "url": f.url, "size_bytes": f.size, "algorithm": f.expected.algorithm}
                for f in self.files
            ],
            "download_bytes": self.download_bytes,
            "needed_bytes": self.needed_bytes,
            "free_bytes": self.free_bytes,
            "unknown_sizes": self.unknown_sizes,
            "steps": self.steps,
        }


def human(size: int | None) -> str:
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def free_space(directory: Path) -> int:
    """Free bytes on the filesystem that holds `directory` (or its nearest existing parent)."""
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def plan_fetch(
    name: str,
    output_dir: str | Path | None = None,
    *,
    api_key: str | None = None,
    test_mode: bool = False,
    keep_original: bool = True,
    register: bool = True,
    register_name: str | None = None,
    free_space_of: FreeSpace = free_space,
    only: set[str] | None = None,
) -> FetchPlan:
    """Resolve the files (one API call to the source) and list the steps, sizes and space needed;
    `only` keeps the files of those names (what `hub catalog get` matched)."""
    entry = lookup(name)
    target = (
        Path(output_dir).expanduser().resolve()
        if output_dir
        else registry.default_location(entry["name"], entry["kind"])
    )
    files = [remote for remote in sources.resolve(entry, api_key) if only is None or remote.name in only]
    for remote in files:
        _trusted_expectation(entry["name"], remote)
    if test_mode:
        files = files[:1]
    plan = FetchPlan(entry["name"], target, files)
    for remote in files:
        _plan_file(plan, remote, keep_original)
    process = processing.describe(entry.get("processing"))
    if process:
        plan.steps.append(f"process: {process}")
    if register:
        plan.steps.append(f"register as {register_name or entry['name']} in {registry.registry_path()}")
    plan.free_bytes = free_space_of(target)
    return plan


def _trusted_expectation(entry: str, remote: sources.RemoteFile) -> None:
    """A file with no published digest is checked against the one its first download recorded."""
    if remote.expected.digest is not None:
        return
    trusted = trust.lookup(entry, remote.name)
    if trusted is not None:
        remote.expected = Expected(
            remote.expected.size or trusted["size_bytes"],
            "sha256",
            trusted["sha256"],
            f"its first download ({trusted['recorded_at']}) recorded",
        )


def _plan_file(plan: FetchPlan, remote: sources.RemoteFile, keep_original: bool) -> None:
    """Steps and bytes for one file: what is already there or partly there is not counted again."""
    target = plan.output_dir / remote.name
    if target.exists():
        plan.steps.append(f"check {remote.name}, already downloaded ({human(remote.size)})")
    else:
        already = partial_path(target)
        resumed = already.stat().st_size if already.exists() else 0
        if remote.size is None:
            plan.unknown_sizes.append(remote.name)
        else:
            remaining = remote.size - min(resumed, remote.size)
            plan.download_bytes += remaining
            plan.needed_bytes += remaining
        check = (
            "size only; sha256 recorded on first use"
            if remote.expected.digest is None
            else remote.expected.algorithm
            + ("" if remote.expected.origin.startswith("the source") else ", first use")
        )
        origin = urllib.parse.urlsplit(remote.url).netloc
        resume_note = f", resuming at {human(resumed)}" if resumed else ""
        plan.steps.append(f"download {remote.name} ({human(remote.size)}) from {origin}{resume_note}")
        plan.steps.append(f"verify {remote.name} ({check})")
    if archives.is_archive(remote.name):
        # compressed imaging data (NIfTI .gz, .trk) take about as much room again once extracted
        plan.needed_bytes += remote.size or 0
        folder = plan.output_dir / archives.extracted_name(remote.name)
        plan.steps.append(f"extract {remote.name} into {folder}")
        if not keep_original:
            plan.steps.append(f"delete {remote.name} after extraction")


def _check_space(plan: FetchPlan) -> None:
    if plan.free_bytes is not None and plan.needed_bytes > plan.free_bytes:
        raise DiskSpaceError(
            f"{plan.name} needs {human(plan.needed_bytes)} in {plan.output_dir} (download and extraction),"
            f" only {human(plan.free_bytes)} free; free space or choose --output-dir elsewhere"
        )


def fetch(
    name: str,
    output_dir: str | Path | None = None,
    *,
    api_key: str | None = None,
    keep_original: bool = True,
    register: bool = True,
    register_name: str | None = None,
    force: bool = False,
    resume: bool = True,
    test_mode: bool = False,
    skip_checksum: bool = False,
    batches: int | None = None,
    progress_callback: ProgressCallback | None = None,
    verbose: bool = False,
    free_space_of: FreeSpace = free_space,
    mask_path: str | Path | None = None,
) -> FetchResult:
    """Download, verify, extract, process and register any catalog entry (connectome or atlas)."""
    started = time.perf_counter()
    plan = plan_fetch(
        name,
        output_dir,
        api_key=api_key,
        test_mode=test_mode,
        keep_original=keep_original,
        register=register,
        register_name=register_name,
        free_space_of=free_space_of,
    )
    entry = lookup(plan.name)
    config = FetchConfig(
        connectome=plan.name,
        output_dir=str(plan.output_dir),
        api_key=api_key,
        batches=batches or entry.get("default_batches"),
        force=force,
        keep_original=keep_original,
        auto_register=register,
        register_name=register_name or entry["name"],
        resume=resume,
    )
    warnings: list[str] = []
    _check_space(plan)
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    report = _reporter(progress_callback, len(plan.files), verbose)
    downloaded, digests = _download_all(plan, config, report, warnings, skip_checksum)
    download_seconds = time.perf_counter() - started
    outputs = _extract_all(plan, downloaded, config, report, free_space_of)
    processing_started = time.perf_counter()
    processed = False  # true once a processing step made the hub's layout
    if entry.get("processing"):
        report("processing", processing.describe(entry["processing"]) or "", len(plan.files))
        outcome = processing.run(
            entry["processing"],
            plan.output_dir,
            entry,
            force=bool(config.force),
            batches=config.batches,
            mask_path=mask_path,
        )
        outputs += outcome.outputs
        processed = outcome.processed
        if outcome.skipped:
            warnings.append(f"not processed: {outcome.skipped}")
    processing_seconds = time.perf_counter() - processing_started
    record = None
    if config.auto_register:
        report("registering", config.register_name, len(plan.files))
        record = registry.register(
            config.register_name,
            plan.output_dir,
            catalog_name=entry["name"],
            kind=entry["kind"],
            downloaded=True,
            processed=processed,
            files=digests,
            force=bool(config.force) or _same_place(config.register_name, plan.output_dir),
        )
    report("done", "", len(plan.files))
    return FetchResult(
        connectome_name=entry["name"],
        success=True,
        output_dir=str(plan.output_dir),
        output_files=[str(path) for path in outputs],
        register_name=record["name"] if record else None,
        registered=record is not None,
        download_time_seconds=download_seconds,
        processing_time_seconds=processing_seconds,
        duration_seconds=time.perf_counter() - started,
        warnings=warnings,
    )


def download_files(
    name: str,
    names: set[str],
    output_dir: str | Path | None = None,
    *,
    api_key: str | None = None,
    force: bool = False,
    progress_callback: ProgressCallback | None = None,
    free_space_of: FreeSpace = free_space,
) -> list[Path]:
    """Download, verify and extract only the files `names` of an entry (`hub catalog get`): no processing
    step and no registration, which concern the whole dataset; files already in place are checked, not
    downloaded again."""
    plan = plan_fetch(
        name, output_dir, api_key=api_key, register=False, free_space_of=free_space_of, only=names
    )
    config = FetchConfig(
        connectome=plan.name, output_dir=str(plan.output_dir), force=force, keep_original=True, resume=True
    )
    _check_space(plan)
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    report = _reporter(progress_callback, len(plan.files), False)
    downloaded, _ = _download_all(plan, config, report, [], False)
    _extract_all(plan, downloaded, config, report, free_space_of)
    return downloaded


def _same_place(name: str, location: Path) -> bool:
    """Re-registering a name at the place it already points to needs no force."""
    record = registry.find_record(name)
    return record is None or Path(record["path"]) == location


def _reporter(callback: ProgressCallback | None, total: int, verbose: bool) -> Callable[..., None]:
    def report(phase: str, current: str, completed: int, done: int = 0, size: int | None = None) -> None:
        if callback is None and not verbose:
            return
        progress = FetchProgress(
            phase=phase,
            current_file=current,
            files_completed=min(completed, total),
            files_total=total,
            bytes_transferred=done if size is None or done <= size else size,
            bytes_total=size or 0,
            message=f"{phase} {current}".strip(),
        )
        if callback is not None:
            callback(progress)
        if verbose and phase != "downloading":
            print(progress.message)

    return report


def _download_all(
    plan: FetchPlan,
    config: FetchConfig,
    report: Callable[..., None],
    warnings: list[str],
    skip_checksum: bool,
) -> tuple[list[Path], list[dict[str, Any]]]:
    paths, digests = [], []
    for index, remote in enumerate(plan.files):
        target = plan.output_dir / remote.name
        expected = Expected(remote.size) if skip_checksum else remote.expected
        if skip_checksum and remote.expected.digest:
            warnings.append(f"{remote.name}: {remote.expected.algorithm} not checked (skip_checksum)")
        sha256 = None
        if target.exists() and not config.force:
            report("verifying", remote.name, index)
            try:
                sha256 = _verify_existing(target, expected)
            except IntegrityError as error:
                warnings.append(f"{remote.name} was there but did not match ({error}); downloaded again")
        if sha256 is None:
            if target.exists():
                target.unlink()

            def progress(done: int, size: int | None, name: str = remote.name, at: int = index) -> None:
                report("downloading", name, at, done, size)

            report("downloading", remote.name, index, 0, remote.size)
            sha256 = download(
                remote.url,
                target,
                expected=expected,
                headers=remote.headers,
                resume=bool(config.resume),
                progress=progress,
            )
        if expected.algorithm == "unknown" or expected.digest is None:
            if not skip_checksum:
                trust.record(plan.name, remote.name, remote.url, sha256, target.stat().st_size)
            warnings.append(f"{remote.name}: no published hash; sha256 {sha256} recorded on first use")
        paths.append(target)
        digests.append({"name": remote.name, "size_bytes": target.stat().st_size, "sha256": sha256})
    return paths, digests


def _verify_existing(target: Path, expected: Expected) -> str:
    """A file already in place is kept only if it still matches (else it is deleted, to download again)."""
    staged = partial_path(target)
    target.rename(staged)
    sha256 = verify_file(staged, expected, target.name)
    staged.rename(target)
    return sha256


def _extract_all(
    plan: FetchPlan,
    downloaded: list[Path],
    config: FetchConfig,
    report: Callable[..., None],
    free_space_of: FreeSpace,
) -> list[Path]:
    outputs = []
    for index, path in enumerate(downloaded):
        if not archives.is_archive(path.name):
            outputs.append(path)
            continue
        destination = path.with_name(archives.extracted_name(path.name))
        report("extracting", path.name, index)
        archives.check_archive(path)
        needed = archives.members_size(path)
        free = free_space_of(plan.output_dir)
        if needed > free:
            raise DiskSpaceError(
                f"extracting {path.name} needs {human(needed)} in {plan.output_dir}, only {human(free)} free"
            )
        archives.extract(path, destination, overwrite=bool(config.force) or destination.exists())
        outputs.append(destination)
        if config.keep_original:
            outputs.append(path)
        else:
            path.unlink()
    return outputs


def list_fetchable_connectomes() -> list[Any]:
    """Every connectome in the catalog, as validated ConnectomeSource models."""
    from neurodatahub.catalog.query import search

    return search(kind=list(CONNECTOME_KINDS))


def fetch_connectome(name: str, output_dir: str | Path | None = None, **kwargs: Any) -> FetchResult:
    """Fetch a connectome of the catalog by name (any catalog entry is accepted, atlases too)."""
    return fetch(name, output_dir, **kwargs)


def fetch_gsp1000(
    output_dir: str | Path | None = None,
    *,
    api_key: str | None = None,
    batches: int = 10,
    test_mode: bool = False,
    skip_checksum: bool = False,
    register: bool = True,
    register_name: str = "GSP1000",
    force: bool = False,
    progress_callback: ProgressCallback | None = None,
    verbose: bool = False,
    mask_path: str | Path | None = None,
) -> FetchResult:
    """GSP1000 from Harvard Dataverse (API key from the option, DATAVERSE_API_KEY or the config file).

    test_mode downloads only the first tarball. The runs become HDF5 chunks of max(1, 1000 // batches)
    subjects when `mask_path` (the brain mask of the runs' grid; the hub's addition) is given.
    """
    return fetch(
        "gsp1000",
        output_dir,
        api_key=api_key,
        batches=batches,
        test_mode=test_mode,
        skip_checksum=skip_checksum,
        register=register,
        register_name=register_name,
        force=force,
        progress_callback=progress_callback,
        verbose=verbose,
        mask_path=mask_path,
    )


def fetch_dtor985(
    output_dir: str | Path | None = None,
    *,
    api_key: str | None = None,
    keep_original: bool = True,
    register: bool = True,
    register_name: str = "dTOR985",
    force: bool = False,
    progress_callback: ProgressCallback | None = None,
    verbose: bool = False,
) -> FetchResult:
    """dTOR985 from Figshare (token from the option, FIGSHARE_API_KEY or the config file)."""
    return fetch(
        "dtor985",
        output_dir,
        api_key=api_key,
        keep_original=keep_original,
        register=register,
        register_name=register_name,
        force=force,
        progress_callback=progress_callback,
        verbose=verbose,
    )


def fetch_hcp1065(
    output_dir: str | Path | None = None,
    *,
    keep_original: bool = True,
    register: bool = True,
    register_name: str = "HCP1065",
    force: bool = False,
    progress_callback: ProgressCallback | None = None,
    verbose: bool = False,
) -> FetchResult:
    """HCP1065 tracts from their GitHub release (a zip of .trk files, extracted safely)."""
    return fetch(
        "hcp1065",
        output_dir,
        keep_original=keep_original,
        register=register,
        register_name=register_name,
        force=force,
        progress_callback=progress_callback,
        verbose=verbose,
    )
