"""Many scalars x many atlases in one call: the jobs, where each writes, and running them.

Jobs come from explicit files (every scalar with every dseg) or from a QSIRecon tree (every scalar map
of a subject and session with every dseg of that subject and session). A single job may write one file
in any region table format; a batch writes qsiparc's layout (`_diffmap.tsv` + sidecar, or Parquet)
under an output folder. Jobs run in parallel on the execution layer (`core.execution`: local workers
or a Dask cluster by address), each reading its lookup table, scalar map and dseg and writing its own
output atomically; one worker (the default in Python) runs them here, one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neurodatahub.core import storage
from neurodatahub.core.errors import UsageError
from neurodatahub.regions.diffmap import diffmap_tsv_path, write_diffmap
from neurodatahub.regions.entities import parse_entities
from neurodatahub.regions.extract import extract_scalar_map
from neurodatahub.regions.lut import atlas_name_of
from neurodatahub.regions.qsirecon import ScalarMap, discover_dseg_files, discover_scalar_maps

FOLDER_FORMATS = ("diffmap", "parquet")


@dataclass(frozen=True)
class Job:
    """One scalar map within one parcellation."""

    scalar: str
    scalar_name: str
    dseg: str
    lut: str | None
    atlas_name: str
    entities: dict[str, str] = field(default_factory=dict)  # of the scalar map, for output names
    software: str | None = None

    @property
    def subject(self) -> str:
        return f"sub-{self.entities['sub']}" if "sub" in self.entities else ""

    @property
    def session(self) -> str:
        return f"ses-{self.entities['ses']}" if "ses" in self.entities else ""


def jobs_from_files(
    scalars: Sequence[str],
    dsegs: Sequence[str],
    luts: Sequence[str] = (),
    scalar_names: Sequence[str] = (),
) -> list[Job]:
    """Every scalar with every dseg; luts pair with dsegs, names with scalars (default: param entity)."""
    if not scalars or not dsegs:
        raise UsageError("give at least one scalar map and one dseg")
    if luts and len(luts) != len(dsegs):
        raise UsageError(f"{len(luts)} lookup tables for {len(dsegs)} dsegs: give one per dseg, in order")
    if scalar_names and len(scalar_names) != len(scalars):
        raise UsageError(f"{len(scalar_names)} scalar names for {len(scalars)} scalar maps: one per scalar")
    jobs = []
    for position, scalar in enumerate(scalars):
        found = ScalarMap(path=scalar, entities=parse_entities(scalar))
        name = scalar_names[position] if scalar_names else found.scalar_name
        for at, dseg in enumerate(dsegs):
            table = luts[at] if luts else None
            atlas = atlas_name_of(dseg, stem=False) or atlas_name_of(table or dseg)
            jobs.append(Job(scalar, name, dseg, table, atlas, found.entities, found.software or None))
    return jobs


def jobs_from_qsirecon(
    root: str,
    *,
    participant_label: str | None = None,
    session_label: str | None = None,
    atlases: Sequence[str] = (),
    scalars: Sequence[str] = (),
    storage_options: Mapping[str, Any] | None = None,
) -> list[Job]:
    """Every scalar map of each dseg's subject and session, as qsiparc's run does."""
    jobs = []
    dsegs = discover_dseg_files(
        root, participant_label, session_label, list(atlases) or None, storage_options=storage_options
    )
    for dseg in dsegs:
        maps = discover_scalar_maps(
            root, dseg.subject, dseg.session, list(scalars) or None, storage_options=storage_options
        )
        for found in maps:
            jobs.append(
                Job(
                    scalar=found.path,
                    scalar_name=found.scalar_name,
                    dseg=dseg.path,
                    lut=dseg.lut_path,
                    atlas_name=dseg.atlas_name,
                    entities=found.entities,
                    software=found.software or None,
                )
            )
    if not jobs:
        raise UsageError(f"{root}: no dseg with a scalar map of the same subject and session was found")
    return jobs


def _folder_entities(job: Job) -> dict[str, str]:
    """The scalar's entities, with its name as param when the file has none (keeps outputs apart)."""
    entities = dict(job.entities)
    if "param" not in entities and "desc" not in entities:
        entities["param"] = job.scalar_name
    return entities


def _parquet_target(job: Job, output: str) -> str:
    tsv = diffmap_tsv_path(
        output, job.subject, job.session, job.atlas_name, job.software, _folder_entities(job)
    )
    return tsv[: -len(".tsv")] + ".parquet"


def run_jobs(
    jobs: Sequence[Job],
    output: str,
    *,
    stat_tier: str = "extended",
    zero_is_missing: bool = False,
    folder_format: str | None = None,
    as_folder: bool = False,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    on_done: Callable[[Job, str], None] | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
) -> list[str]:
    """Extract every job and write it: one job to one file, unless `as_folder`; several under a folder.

    `workers` local processes (None: the machine's CPUs), or the Dask cluster at `scheduler`, share the
    jobs; the first failure (in job order) is raised, as a sequential run would.
    """
    from neurodatahub.core import execution

    single = (
        len(jobs) == 1
        and not as_folder
        and folder_format is None
        and not storage.is_dir(output, storage_options)
    )
    if folder_format is not None and folder_format not in FOLDER_FORMATS:
        raise UsageError(f"folder format must be one of {', '.join(FOLDER_FORMATS)}, got {folder_format!r}")
    shared = {
        "output": output,
        "single": single,
        "folder_format": folder_format or "diffmap",
        "stat_tier": stat_tier,
        "zero_is_missing": zero_is_missing,
        "overwrite": overwrite,
        "storage_options": storage_options,
    }

    def done(outcome: execution.Outcome) -> None:
        if outcome.ok and on_done is not None:
            on_done(outcome.item, outcome.value)

    outcomes = execution.map(
        extract_job, jobs, jobs=workers, scheduler=scheduler, shared=shared, on_result=done, fail_fast=True
    )
    execution.raise_first_failure(outcomes)
    return [outcome.value for outcome in outcomes]


def extract_job(
    job: Job,
    *,
    output: str,
    single: bool,
    folder_format: str,
    stat_tier: str,
    zero_is_missing: bool,
    overwrite: bool,
    storage_options: Mapping[str, Any] | None,
) -> str:
    """Extract one scalar map within one parcellation and write it (a task of the execution layer)."""
    from neurodatahub.core.conversion import write

    result = extract_scalar_map(
        job.scalar,
        job.dseg,
        job.lut,  # read by extract_scalar_map while the scalar map is decompressed
        job.scalar_name,
        stat_tier,
        zero_is_missing,
        storage_options=storage_options,
        atlas_name=job.atlas_name,
    )
    if single:
        write(result, output, overwrite=overwrite, storage_options=storage_options)
        return output
    if folder_format == "diffmap":
        return write_diffmap(
            result,
            output,
            job.subject,
            job.session,
            software=job.software,
            source_entities=_folder_entities(job),
            overwrite=overwrite,
            storage_options=storage_options,
            atlas_dseg=job.dseg,
            lut_file=job.lut,
            source_file=job.scalar,
        )
    url = _parquet_target(job, output)
    if storage.is_local(url):
        storage.local_path(url).parent.mkdir(parents=True, exist_ok=True)
    write(result, url, format="parquet", overwrite=overwrite, storage_options=storage_options)
    return url
