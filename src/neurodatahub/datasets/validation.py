"""`hub validate` on datasets: files, folders, globs and prefixes in; one report out.

The run expands its inputs, decides how each file is read (the command line, then the configuration's
globs; BIDS metadata by BIDS's rules), takes what the cache knows, validates the rest in parallel
(`running`), then checks across files on the facts the workers sent back. Nothing is written into the
dataset; the cache lives in the user's cache folder (or `cache`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from neurodatahub.core.errors import HubError
from neurodatahub.datasets import bids, dataset_checks, running
from neurodatahub.datasets.cache import ResultCache, default_folder, result_key
from neurodatahub.datasets.config import ValidateConfig, discover
from neurodatahub.datasets.files import FileSettings, validate_item
from neurodatahub.datasets.inputs import Item, expand, selected
from neurodatahub.datasets.results import FileResult, Report, Settings


def validate_dataset(
    inputs: Sequence[str],
    *,
    config: ValidateConfig | None = None,
    format: str | None = None,
    kind: str | None = None,
    class_name: str | None = None,
    read_options: Mapping[str, Any] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    cache: Path | bool | None = True,
    thumbnails: bool = False,
    allow_external: bool | None = None,
    max_memory: str | int | None = None,
) -> Report:
    """Validate every file under `inputs`; `cache` is a folder, True (the user's cache) or False.

    `thumbnails`: each file validated also gets its HTML report thumbnail, drawn from the same bytes.
    `allow_external` and `max_memory` are the safety limits of `conversion.read` (None: the ones in
    force, the command line's); every file is read under them, whichever worker reads it.
    """
    from neurodatahub.core import budget, kinds, references

    started = time.perf_counter()
    with references.allowing(allow_external), budget.limited(max_memory):
        limits = {"allow_external": references.external_allowed(), "max_memory": budget.max_memory()}
    if kind is not None:
        kinds.require_kind(kind)
    config = config if config is not None else discover(inputs, storage_options)
    items = [
        item
        for item in expand(inputs, storage_options=storage_options)
        if selected(config.relative(item.url, item.relpath), config.include, config.exclude)
    ]
    roots = bids.roots(items, storage_options)
    tasks: list[tuple[Item, FileSettings]] = []
    ignored: dict[str, tuple[str, ...]] = {}
    for item in items:
        rule = config.rule_for(config.relative(item.url, item.relpath))
        role = "bids-metadata" if bids.is_metadata(item.url, bids.root_of(item.url, roots)) else "data"
        tasks.append(
            (
                item,
                FileSettings(
                    format=format or rule.format,  # the command line wins over the configuration
                    kind=kind or rule.kind,
                    class_name=class_name or rule.class_name,
                    read_options=dict(read_options or {}),
                    rule_options=dict(rule.options),
                    role=role,
                    thumbnail=thumbnails,
                    **limits,
                ),
            )
        )
        if rule.ignore:
            ignored[item.url] = rule.ignore
    cache_folder = _cache_folder(cache)
    results = _results(tasks, storage_options, jobs, scheduler, _open_cache(cache_folder))
    scopes = {item.url: bids.root_of(item.url, roots) or item.root for item, _ in tasks}
    dataset_problems = [*dataset_checks.check(results, scopes), *bids.check_dataset(results, roots)]
    settings = Settings(
        select=config.select,
        ignore=config.ignore,
        severity=dict(config.severity),
        fail_on=config.fail_on,
        require_known=config.require_known,
        ignore_by_file=ignored,
    )
    return Report(
        results,
        dataset_problems,
        settings,
        time.perf_counter() - started,
        list(inputs),
        config.source,
        storage_options=dict(storage_options or {}),
        cache_folder=cache_folder,
    )


def _cache_folder(cache: Path | bool | None) -> Path | None:
    if cache is False or cache is None:
        return None
    return default_folder() if cache is True else Path(cache)


def _open_cache(folder: Path | None) -> ResultCache | None:
    return None if folder is None else ResultCache(folder)


def _results(
    tasks: list[tuple[Item, FileSettings]],
    storage_options: Mapping[str, Any] | None,
    jobs: int | None,
    scheduler: str | None,
    cache: ResultCache | None,
) -> list[FileResult]:
    """Each task's result, from the cache when it knows it, else validated (and then remembered)."""
    found: list[FileResult | None] = [None] * len(tasks)
    keys: list[str | None] = [None] * len(tasks)
    if cache is not None:
        digests = _digests(cache, [item for item, _ in tasks], storage_options)
        siblings = _companions([item.url for item, _ in tasks])
        for position, (item, settings) in enumerate(tasks):
            if digests.get(item.url) is None:
                continue
            companions = [f"{name}:{digests.get(url)}" for name, url in siblings.get(item.url, [])]
            keys[position] = key = result_key(
                digests[item.url], PurePosixPath(item.url).name, companions, settings.cache_key()
            )
            stored = cache.get(key)
            if stored is not None:
                found[position] = FileResult.from_cache(stored, item.url, item.relpath)
    missing = [position for position, result in enumerate(found) if result is None]
    try:
        for index, result in running.run(
            validate_item,
            [tasks[position] for position in missing],
            jobs=jobs,
            scheduler=scheduler,
            shared={"storage_options": storage_options},
        ):
            position = missing[index]
            found[position] = result
            if cache is not None and keys[position] is not None:
                cache.put(keys[position], result.to_cache())
    finally:
        if cache is not None:
            cache.close()
    return [result for result in found if result is not None]


def _digests(
    cache: ResultCache, items: list[Item], storage_options: Mapping[str, Any] | None
) -> dict[str, str | None]:
    """Each item's content digest; None where even its stat fails (the worker will say why)."""
    digests: dict[str, str | None] = {}
    for item in items:
        try:
            digests[item.url] = cache.digest(item.url, storage_options)
        except (HubError, OSError):
            digests[item.url] = None
    return digests


def _companions(urls: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Files beside each file with the same stem (its sidecar, its lookup table): readers may use them."""
    by_stem: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        name = PurePosixPath(url).name
        by_stem[url[: len(url) - len(name)] + name.split(".", 1)[0]].append(url)
    return {
        url: [(PurePosixPath(other).name, other) for other in group if other != url]
        for group in by_stem.values()
        for url in group
    }
