"""The hub's data classes: the generated models, with the invariants installed as their validation hook.

The classes are those of `neurodatahub_models` (generated from schema/, never edited), so `SpikeData` in a
signature is the class a reader returns. Their base class hands every validated model (and every model
after an assignment) to `neurodatahub_models.hooks`, where this module installs `checks.check_model`: the
invariants the schema cannot express run wherever a model is built.

Importing this module builds no class: each is taken from its generated schema module on first use
(`models.SpikeData` builds the spikes module's classes and those they refer to, not every class of the
schema), and the invariants, with numpy, are installed then.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from neurodatahub_models import hooks, models as generated
from neurodatahub_models.facts import CLASSES

if TYPE_CHECKING:
    from neurodatahub_models.models import *  # noqa: F403 - every class and enum of the schema
    from pydantic import BaseModel

    MODEL_CLASSES: dict[str, type[BaseModel]]  # every model class by name (builds them all)
    ENUMS: dict[str, type[Enum]]  # every enum by name

__all__ = [*generated.__all__, "model_class", "concrete_classes", "MODEL_CLASSES", "ENUMS"]


def _install_checks() -> None:
    from neurodatahub.core.checks import check_model  # numpy, only once a class is used

    hooks.install(check_model)


def __getattr__(name: str) -> Any:
    if name == "MODEL_CLASSES":
        value: Any = {name: model_class(name) for name in CLASSES if name in generated.MODULES}
    elif name == "ENUMS":
        value = {
            name: found
            for name in generated.MODULES
            if name not in CLASSES and isinstance(found := getattr(generated, name), type)
            if issubclass(found, Enum)
        }
    elif name in generated.__all__:
        _install_checks()
        value = getattr(generated, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def model_class(name: str) -> type[BaseModel]:
    """The class called `name` (KeyError lists nothing: callers phrase the message)."""
    if name not in CLASSES or name not in generated.MODULES:  # linkml's `Any` is a class, not a model
        raise KeyError(name)
    return __getattr__(name)


def concrete_classes() -> dict[str, type[BaseModel]]:
    """The classes a document may be (the schema's abstract ones are not)."""
    return {name: cls for name, cls in __getattr__("MODEL_CLASSES").items() if not CLASSES[name]["abstract"]}
