"""The hub's data classes: the generated models, with the invariants installed as their validation hook.

The classes are those of `neurodatahub_models` (generated from schema/, never edited), so `SpikeData` in a
signature is the class a reader returns. Their base class hands every validated model (and every model
after an assignment) to `neurodatahub_models.hooks`, where importing this module installs
`checks.check_model`: the invariants the schema cannot express run wherever a model is built.
"""

from __future__ import annotations

import inspect
from enum import Enum

import neurodatahub_models.models as generated
from neurodatahub_models import hooks
from neurodatahub_models.facts import CLASSES
from neurodatahub_models.models import *  # noqa: F403 - every class and enum of the schema
from pydantic import BaseModel

from neurodatahub.core.checks import check_model

hooks.install(check_model)

MODEL_CLASSES: dict[str, type[BaseModel]] = {
    name: found
    for name in CLASSES
    if inspect.isclass(found := getattr(generated, name, None)) and issubclass(found, BaseModel)
}
ENUMS: dict[str, type[Enum]] = {
    name: value
    for name, value in vars(generated).items()
    if inspect.isclass(value) and issubclass(value, Enum) and value.__module__ == generated.__name__
}


def model_class(name: str) -> type[BaseModel]:
    """The class called `name` (KeyError lists nothing: callers phrase the message)."""
    return MODEL_CLASSES[name]


def concrete_classes() -> dict[str, type[BaseModel]]:
    """The classes a document may be (the schema's abstract ones are not)."""
    return {name: cls for name, cls in MODEL_CLASSES.items() if not CLASSES[name]["abstract"]}
