"""qsiparc's names, on the hub's models and on any storage URL (see `neurodatahub.regions.qsiparc`)."""

from neurodatahub.regions.qsiparc import *  # noqa: F403
from neurodatahub.regions.qsiparc import __all__  # noqa: F401
