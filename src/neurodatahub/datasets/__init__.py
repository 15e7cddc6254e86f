"""Many files at once: walking folders, globs and fsspec prefixes (`inputs`), and validating whole datasets
(`validation`: configuration, check codes, per-file validation run on Dask, checks across files, a cache,
reports for people and CI). It sits between the CLI and the kinds: it reads files through the core's
registry and storage, and borrows BIDS naming from `subjects.bids`."""
