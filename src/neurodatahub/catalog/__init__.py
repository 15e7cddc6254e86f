"""The catalog of connectomes and atlases: queries, trustworthy fetching and the local registry.

Names are resolved lazily so that `hub catalog search` loads only the compiled index and the query code,
never the HTTP, archive or model machinery it does not use (start-up time: heavy imports where needed).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "search": "query",
    "get_one": "query",
    "get": "files",
    "ls": "files",
    "load": "files",
    "verify": "files",
    "entries": "stack",
    "catalog_sources": "stack",
    "add_source": "stack",
    "remove_source": "stack",
    "shipped_dir": "index",
    "build_index": "index",
    "register_entry": "lab",
    "get_data_dir": "registry",
    "register": "registry",
    "unregister": "registry",
    "registered": "registry",
    "get_connectome_path": "registry",
    "get_fetch_status": "registry",
    "FetchConfig": "fetching",
    "FetchProgress": "fetching",
    "FetchResult": "fetching",
    "FetchPlan": "fetching",
    "plan_fetch": "fetching",
    "fetch": "fetching",
    "fetch_connectome": "fetching",
    "fetch_gsp1000": "fetching",
    "fetch_dtor985": "fetching",
    "fetch_hcp1065": "fetching",
    "list_fetchable_connectomes": "fetching",
    "FetchError": "errors",
    "NoMatchError": "errors",
    "AuthenticationError": "errors",
    "IntegrityError": "errors",
    "UnsafeArchiveError": "errors",
    "DiskSpaceError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
