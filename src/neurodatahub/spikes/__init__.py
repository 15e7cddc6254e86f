"""Spike trains (spikelab's SpikeData): checks and summary, the formats (NWB, spikelab's HDF5 styles,
KiloSort/Phy, long tables, NPZ, pickle) and spikelab's functions (`neurodatahub.spikes.spikelab`)."""
