"""The core every kind builds on: storage, registry, options, conversion, streaming, validation, codecs.

Nothing here imports a kind package; kinds register their formats, checks and summaries with the core.
"""
