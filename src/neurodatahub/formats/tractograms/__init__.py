"""Tractogram formats (TRK, TCK, TRX): streamed readers and writers of the Tractogram model."""
