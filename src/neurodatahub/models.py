"""Every class and enum of the schema, validated with the hub's invariants (`neurodatahub.core.models`)."""

from neurodatahub.core.models import *  # noqa: F403
from neurodatahub.core.models import ENUMS, MODEL_CLASSES, model_class  # noqa: F401
