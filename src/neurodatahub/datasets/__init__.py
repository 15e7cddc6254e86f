"""Many files at once: walking folders, globs and fsspec prefixes (`inputs`); validation and batch
conversion of whole datasets build on it. Works through the core's registry and storage only, so it
sits below the CLI and above no kind: it never imports a kind package."""
