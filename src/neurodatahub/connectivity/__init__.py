"""Connectivity matrices: checks and summary, the formats (labelled TSV, MRtrix CSV with its sidecar, NPZ,
HDF5, edge lists, MATLAB, GraphML), spectralbrain's `save_connectome`
(`neurodatahub.connectivity.spectralbrain`) and the notebook bridges (`to_dataframe`, `to_xarray`,
`to_networkx` and back)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatahub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neurodatahub.connectivity.bridges import (
        from_dataframe as from_dataframe,
        from_networkx as from_networkx,
        from_xarray as from_xarray,
        to_dataframe as to_dataframe,
        to_networkx as to_networkx,
        to_xarray as to_xarray,
    )

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        name: "bridges"
        for name in (
            "from_dataframe",
            "from_networkx",
            "from_xarray",
            "to_dataframe",
            "to_networkx",
            "to_xarray",
        )
    },
)
