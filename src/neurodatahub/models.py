"""Every class and enum of the schema, validated with the hub's invariants (`neurodatahub.core.models`).

Each class is built on first use, with the classes of its schema module: `import neurodatahub.models`
itself builds none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neurodatahub.core import models as _models

if TYPE_CHECKING:
    from neurodatahub.core.models import *  # noqa: F403
    from neurodatahub.core.models import ENUMS, MODEL_CLASSES, concrete_classes, model_class  # noqa: F401

__all__ = list(_models.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_models, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
