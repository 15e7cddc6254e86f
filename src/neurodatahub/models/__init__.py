"""The hub's data classes: the generated Pydantic models plus the invariants the schema cannot express.

Every class of `neurodatahub_models` (generated from schema/, never edited) has a subclass here with the
same name and fields. The subclass
- turns nested lists into numpy arrays of the field's dtype before validation, so JSON and YAML
  documents (where 1 and 1.0 look alike) validate like arrays do;
- runs the vectorised checks of `invariants` after validation, and again on assignment;
- refers to the other subclasses in its fields, so a nested container is checked like a top-level one.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import typing
from pathlib import Path
from typing import Any, ForwardRef

import neurodatahub_models.models as generated
import numpy as np
from numpydantic.ndarray import NDArrayMeta
from pydantic import BaseModel, model_validator

from .invariants import check_model

__all__: list[str] = []


def _array_dtype(annotation: Any) -> type | None:
    """The numpy dtype to build from a list for an NDArray annotation (None when not a numeric array)."""
    if isinstance(annotation, NDArrayMeta):
        dtypes = annotation.__args__[1]
        if isinstance(dtypes, tuple) and dtypes and all(np.issubdtype(d, np.number) for d in dtypes):
            return np.float64 if np.issubdtype(dtypes[0], np.floating) else np.int64
        return None
    if typing.get_origin(annotation) is typing.Union:
        for member in typing.get_args(annotation):
            found = _array_dtype(member)
            if found is not None:
                return found
    return None


class _Validated:
    """Behaviour shared by every validated class (mixed in before the generated base)."""

    __array_dtypes__: typing.ClassVar[dict[str, type]] = {}

    @model_validator(mode="before")
    @classmethod
    def _lists_to_arrays(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not cls.__array_dtypes__:
            return data
        converted = dict(data)
        for name, dtype in cls.__array_dtypes__.items():
            value = converted.get(name)
            if isinstance(value, list | tuple):
                # on failure leave it to numpydantic, which reports the field and the problem
                with contextlib.suppress(TypeError, ValueError):
                    converted[name] = np.asarray(value, dtype=dtype)
        return converted

    @model_validator(mode="after")
    def _invariants(self) -> Any:
        check_model(self)
        return self


def _swap(annotation: Any, names: set[str]) -> Any:
    """The same annotation with generated model classes replaced by forward references to ours."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation.__name__ in names:
        return ForwardRef(annotation.__name__)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None or not args or origin is typing.Literal:
        return annotation
    swapped = tuple(_swap(arg, names) for arg in args)
    if origin is typing.Union:
        return typing.Union[swapped]  # noqa: UP007 - rebuilding a Union from a tuple of arguments
    return origin[swapped] if len(swapped) > 1 else origin[swapped[0]]


def _build() -> dict[str, type[BaseModel]]:
    bases = {
        name: cls
        for name, cls in vars(generated).items()
        if inspect.isclass(cls)
        and issubclass(cls, generated.ConfiguredBaseModel)
        and cls.__module__ == generated.__name__
        and cls is not generated.ConfiguredBaseModel
    }
    names = set(bases)
    built: dict[str, type[BaseModel]] = {}
    for name, base in bases.items():  # generated order puts parents before children
        parents = tuple(built[p.__name__] for p in base.__bases__ if p.__name__ in built)
        namespace: dict[str, Any] = {"__module__": __name__, "__doc__": base.__doc__, "__annotations__": {}}
        dtypes = {}
        for field, info in base.model_fields.items():
            dtype = _array_dtype(info.annotation)
            if dtype is not None:
                dtypes[field] = dtype
            swapped = _swap(info.annotation, names)
            if swapped is not info.annotation:
                namespace["__annotations__"][field] = swapped
                namespace[field] = copy.copy(info)
        namespace["__array_dtypes__"] = dtypes
        # the generated class comes before our parent so that its own fields (such as the designated
        # type literal) win over the fields the parent inherited
        built[name] = type(name, (base, *parents) if parents else (_Validated, base), namespace)
    for cls in built.values():
        cls.model_rebuild(force=True, _types_namespace=built)
    return built


def _load_invariant_modules() -> None:
    """Invariants live in `invariants.py` and, per area, in `invariants_<area>.py` beside it."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("invariants_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_invariant_modules()
MODEL_CLASSES: dict[str, type[BaseModel]] = _build()
globals().update(MODEL_CLASSES)
__all__ += sorted(MODEL_CLASSES)

ENUMS: dict[str, type] = {
    name: value
    for name, value in vars(generated).items()
    if inspect.isclass(value) and issubclass(value, generated.Enum) and value is not generated.Enum
}
globals().update(ENUMS)
__all__ += sorted(ENUMS)


def model_class(name: str) -> type[BaseModel]:
    """The validated class called `name` (KeyError lists nothing: callers phrase the message)."""
    return MODEL_CLASSES[name]


if typing.TYPE_CHECKING:  # static tools see the generated classes and their fields
    from neurodatahub_models.models import *  # noqa: F403
