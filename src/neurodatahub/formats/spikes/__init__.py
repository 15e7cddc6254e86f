"""Spike-train formats: every module here reads into and writes from the SpikeData model."""
