"""Many files at once: walking folders, globs and fsspec prefixes (`inputs`), manifests, planning the
targets of a batch (`plan`), converting whole datasets (`batch.convert_many`) and their reports
(`reports`). Tasks run on the core's execution layer (`core.execution`: here, a local Dask cluster or a
cluster by address). Works through the core's registry, storage and conversion only, so it sits below
the CLI and above no kind: it never imports a kind package."""
