"""Many files at once: walking folders, globs and fsspec prefixes (`inputs`), manifests, planning the
targets of a batch (`plan`), converting whole datasets (`batch.convert_many`) and their reports
(`reports`), validating whole datasets (`validation`: configuration, check codes, per-file validation,
checks across files, a cache, report writers for people and CI). Tasks run on the core's execution layer
(`core.execution`: here, a local Dask cluster or a cluster by address). Works through the core's
registry, storage and conversion; the one kind it borrows from is `subjects.bids` (BIDS names)."""
