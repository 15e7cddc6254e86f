"""Spike trains (spikelab's SpikeData): checks and summary, the formats (NWB, spikelab's HDF5 styles,
KiloSort/Phy, long tables, NPZ, pickle, SpikeInterface folders, NIX), spikelab's functions
(`neurodatahub.spikes.spikelab`) and the notebook bridges (`to_dataframe`, `to_sorting` and back)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodatahub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neurodatahub.spikes.bridges import (
        from_dataframe as from_dataframe,
        from_sorting as from_sorting,
        to_dataframe as to_dataframe,
        to_sorting as to_sorting,
    )

__getattr__, __all__ = lazy_exports(
    __name__, {name: "bridges" for name in ("from_dataframe", "from_sorting", "to_dataframe", "to_sorting")}
)
