"""Numpy arrays as pydantic fields: dtype family and shape checked in place, never copied.

`NDArray[Shape["* vertex, 3"], float]` is what the LinkML generator writes for array slots. A numpy array
of the right family (float: any float width; int: any signed or unsigned width) and shape passes as it
is; a list (from a JSON or YAML document, where 1 and 1.0 look alike) becomes an array of the field's
family first. JSON output writes arrays as nested lists. Copied into the generated package by
tools/generate.py; it needs numpy and pydantic only, so importing the models stays cheap.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import numpy as np
from pydantic_core import core_schema

FAMILIES: dict[Any, tuple[str, str, type | None]] = {  # field type -> (dtype kinds, name, list dtype)
    float: ("f", "float", np.float64),
    int: ("iu", "integer", np.int64),
    bool: ("b", "boolean", np.bool_),
    str: ("UO", "text", None),
    # LinkML's `decimal` range: a real number of any width, integer or float (an image keeps the type
    # it is stored as: a uint8 mask, an int16 scan, a float32 map)
    Decimal: ("iuf", "number", None),
}


class Shape:
    """Axis sizes written as text: "*" (any size, optionally named: "* vertex") or a number per axis."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.sizes = tuple(None if part.strip().startswith("*") else int(part) for part in spec.split(","))

    def __class_getitem__(cls, spec: str) -> Shape:
        return cls(spec)

    def fits(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == len(self.sizes) and all(
            want is None or want == got for want, got in zip(self.sizes, shape, strict=True)
        )

    def __repr__(self) -> str:
        return f"Shape[{self.spec!r}]"


class ArraySpec:
    """The pydantic validator of one array annotation."""

    def __init__(self, shape: Shape | None, dtype: Any) -> None:
        self.shape = shape
        self.family = FAMILIES.get(dtype)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _as_lists, when_used="json-unless-none"
            ),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        items: dict[str, Any] = (
            {
                "type": {"f": "number", "iu": "integer", "b": "boolean", "UO": "string"}.get(
                    self.family[0] if self.family else "", "number"
                )
            }
            if self.family
            else {}
        )
        for _ in self.shape.sizes if self.shape else (None,):
            items = {"type": "array", "items": items} if items else {"type": "array"}
        return items

    def validate(self, value: Any) -> np.ndarray:
        if not isinstance(value, np.ndarray):
            value = self._from_sequence(value)
        if self.family is not None and value.dtype.kind not in self.family[0]:
            raise ValueError(f"expected {self.family[1]} values, got an array of {value.dtype}")
        if self.shape is not None and not self.shape.fits(value.shape):
            raise ValueError(f"expected an array of shape ({self.shape.spec}), got {value.shape}")
        return value

    def _from_sequence(self, value: Any) -> np.ndarray:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected an array, got {type(value).__name__}")
        try:
            array = np.asarray(value)
        except ValueError as error:  # ragged nesting
            raise ValueError(f"not a rectangular array ({error})") from error
        if self.family is None or self.family[2] is None or array.dtype.kind in self.family[0]:
            return array
        if self.family[0] == "iu" and array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
            raise ValueError("expected integer values, got fractions")
        if array.dtype.kind in "biuf" or array.size == 0:
            return array.astype(self.family[2])
        raise ValueError(f"expected {self.family[1]} values, got {array.dtype}")


def _as_lists(value: np.ndarray) -> Any:
    return value.tolist()


class NDArray(np.ndarray):
    """`NDArray[Shape[...], dtype]` in annotations; plain `NDArray` takes any array."""

    def __class_getitem__(cls, params: tuple[Shape, Any]) -> Any:
        shape, dtype = params
        return Annotated[np.ndarray, ArraySpec(shape, dtype)]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return ArraySpec(None, None).__get_pydantic_core_schema__(source, handler)
