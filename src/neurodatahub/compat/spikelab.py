"""spikelab's names, on the hub's models and on any storage URL (see `neurodatahub.spikes.spikelab`)."""

from neurodatahub.spikes.spikelab import *  # noqa: F403
from neurodatahub.spikes.spikelab import __all__  # noqa: F401
