"""Typed options of readers and writers: one pydantic model per reader and per writer.

A format declares what its reader and its writer take as an `Options` subclass: names, types, bounds,
defaults and help in one place. Values from the CLI (`-O`, `-R`, `--fs`...) and from Python are validated
by that model once, before anything is read or written, so every format gets the same rules: choices
come from the schema's enums (`choice`), numbers carry their bounds, and booleans follow one rule
(`Flag`: a boolean, or the text true or false in any case; yes/no/1/0 are refused, so that no typo
turns on unpickling). `hub formats FORMAT` prints the models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from neurodatahub.core import kinds
from neurodatahub.core.errors import UsageError

# numbers that must be positive: a sampling rate, a bin size, a voxel size
Positive = Annotated[float, Field(gt=0)]


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("must be true or false")


# the one boolean rule of every option
Flag = Annotated[bool, BeforeValidator(_flag)]


def _float_format(value: str) -> str:
    try:
        for sample in (1.5, -2.5e-9, float("nan")):
            float(value % sample)
    except (TypeError, ValueError) as error:
        raise ValueError(f"must be a printf format that writes numbers, such as %.6f ({error})") from None
    return value


# a printf format for numbers written as text (%.6f; %r writes the shortest exact text)
FloatFormat = Annotated[str, AfterValidator(_float_format)]


class Options(BaseModel):
    """Base of every reader's and writer's options: unknown names and wrong values are usage errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Hdf5Compression(Options):
    """How HDF5 datasets are compressed (h5py's filters)."""

    compression: Literal["gzip", "lzf", "none"] = Field("gzip", description="HDF5 filter")
    compression_opts: Annotated[int, Field(ge=0, le=9)] = Field(4, description="gzip level 0-9")


def choice(enum_name: str) -> Any:
    """A Literal of the values of one of the schema's enums (TimeUnit, Hdf5SpikeStyle...)."""
    return Literal[tuple(kinds.enum_values(enum_name))]


def validated(options_class: type[Options] | None, given: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """The given values checked and converted by `options_class`, with its defaults filled in.

    `owner` names who takes them in messages ("the hdf5 writer"). No class: the format takes none.
    """
    if options_class is None:
        if given:
            raise UsageError(f"{owner} takes no option {', '.join(sorted(given))} (it takes: none)")
        return {}
    try:
        return options_class.model_validate(dict(given)).model_dump()
    except ValidationError as error:
        raise UsageError(_message(error, options_class, owner)) from None


def names(options_class: type[Options] | None) -> frozenset[str]:
    return frozenset(options_class.model_fields) if options_class is not None else frozenset()


def _message(error: ValidationError, options_class: type[Options], owner: str) -> str:
    """The first problem in the CLI's words: `owner: option NAME must be ..., got VALUE`."""
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    if first["type"] == "extra_forbidden":
        unknown = sorted(str(item["loc"][0]) for item in error.errors() if item["type"] == "extra_forbidden")
        known = ", ".join(sorted(options_class.model_fields)) or "none"
        return f"{owner} takes no option {', '.join(unknown)} (it takes: {known})"
    wanted = first["msg"]
    if first["type"] == "literal_error":
        expected = first["ctx"]["expected"].replace("'", "")
        wanted = f"must be one of {expected}" if "," in expected else f"must be {expected}"
    elif first["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        symbol = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
        bound = next(iter(first["ctx"].values()))
        wanted = f"must be {symbol[first['type']]} {bound}"
    elif first["type"].startswith("bool"):
        wanted = "must be true or false"
    elif first["type"] in ("float_parsing", "float_type"):
        wanted = "must be a number"
    elif first["type"] in ("int_parsing", "int_type", "int_from_float"):
        wanted = "must be a whole number"
    elif first["type"] == "value_error":
        wanted = wanted.removeprefix("Value error, ")
    else:
        wanted = wanted[0].lower() + wanted[1:]
    field = options_class.model_fields.get(name)
    about = f" ({field.description})" if field and field.description and len(field.description) <= 60 else ""
    return f"{owner}: option {name} {wanted}, got {first['input']!r}{about}"


def describe(options_class: type[Options] | None) -> dict[str, dict[str, Any]]:
    """Each option by name with its type, bounds, default and help, for `hub formats FORMAT`."""
    if options_class is None:
        return {}
    return {
        name: {
            "type": _type_text(field.annotation),
            "bounds": _bounds(field.annotation, field.metadata),
            "default": None if field.is_required() else field.default,
            "required": field.is_required(),
            "help": field.description or "",
        }
        for name, field in options_class.model_fields.items()
    }


def _bounds(annotation: Any, metadata: list[Any]) -> str:
    """Bounds as text (> 0, 0-9...), from the field and from an Annotated type inside an Optional."""
    import typing

    found = list(metadata)
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is Annotated:
            found += [item for part in typing.get_args(arg)[1:] for item in getattr(part, "metadata", [part])]
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " ".join(
        f"{symbols[key]} {getattr(item, key)}" for item in found for key in symbols if hasattr(item, key)
    )


def _type_text(annotation: Any) -> str:
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(str(value) for value in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        shown = [_type_text(arg) for arg in args if arg is not type(None)]
        return " | ".join(shown)
    if origin is Annotated:
        return _type_text(args[0])
    return getattr(annotation, "__name__", str(annotation))
