"""Model documents: any data class as a JSON or YAML mapping, exactly as the JSON Schema describes it.

A document does not name its class; the reader infers it from the keys (or takes `class_name`), so a
catalog entry, a provenance record or a whole SpikeData can be validated and converted the same way.
Documents are checked against the generated JSON Schema first, so `hub validate` agrees with any other
JSON Schema validator (pydantic alone would coerce "yes" to True), then against the models' invariants.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field

from neurodatahub.core import budget, storage
from neurodatahub.core.errors import InputError, InvalidDataError, UnrecognisedInputError, UsageError
from neurodatahub.core.options import Options
from neurodatahub.core.registry import FormatSpec, Probe, register_format


class ReadOptions(Options):
    class_name: str | None = Field(
        None, description="data class of the document (default: inferred from its keys)"
    )
    lab_schema: str | None = Field(
        None, description="a LinkML schema that imports the hub's: its classes validate too (`--schema`)"
    )


YAML_KEY_LINE = re.compile(rb"^(---\s*$|[A-Za-z_][\w .-]*:(\s|$))")


def concrete_classes() -> dict[str, Any]:
    from neurodatahub.core.models import concrete_classes

    return concrete_classes()


def infer_class(data: Any, url: str, classes: dict[str, Any] | None = None) -> str:
    """The concrete class whose fields cover every key and whose required fields are all there.

    When none has all its required fields, the one class whose fields still cover every key is taken,
    so that validation can say what is missing instead of "no class fits".
    """
    if not isinstance(data, dict):
        raise UnrecognisedInputError(f"{url}: a model document is a mapping of field names to values")
    keys = set(data)
    classes = classes or concrete_classes()
    covering = {name: cls for name, cls in classes.items() if keys <= set(cls.model_fields)}
    complete = [
        name
        for name, cls in covering.items()
        if all(field in keys for field, info in cls.model_fields.items() if info.is_required())
    ]
    candidates = complete or list(covering)
    if len(candidates) > 1:  # the most specific class (the largest share of its fields used) wins
        share = {name: len(keys) / len(classes[name].model_fields) for name in candidates}
        candidates = [name for name in candidates if share[name] == max(share.values())]
    if len(candidates) > 1:  # classes with the same fields: the parent, which claims no more than the keys
        candidates = [name for name in candidates if _parent_of_all(name, candidates)] or candidates
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise InputError(
            f"{url}: the document fits several classes ({', '.join(sorted(candidates))});"
            " name one with --class"
        )
    if not _looks_like_a_document(keys, classes):
        raise UnrecognisedInputError(f"{url}: a JSON/YAML file of no data class (no key of one is there)")
    raise InputError(
        f"{url}: the document fits no data class (unknown keys); name one with --class to see why"
    )


def _looks_like_a_document(keys: set[str], classes: dict[str, Any]) -> bool:
    """At least half of the keys are fields of one class: a document with a typo, not someone else's
    file (a BIDS sidecar, a tool's configuration), which dataset validation skips."""
    best = max((len(keys & set(cls.model_fields)) for cls in classes.values()), default=0)
    return bool(keys) and 2 * best >= len(keys)


def _parent_of_all(name: str, candidates: list[str]) -> bool:
    """A plain ImageVolume document is not a LesionMask merely because a mask has the same fields."""
    from neurodatahub_models.facts import CLASSES

    return all(other == name or name in CLASSES[other]["parents"] for other in candidates)


@cache
def _json_schema_validator(class_name: str, extended: Any = None) -> Any:
    import jsonschema

    from neurodatahub.core.schema import class_schema

    schema = class_schema(class_name, extended.json_schema if extended else None)
    return jsonschema.validators.validator_for(schema)(schema)


def _schema_problems(data: Any, class_name: str, extended: Any = None) -> list[dict[str, str]]:
    errors = sorted(
        _json_schema_validator(class_name, extended).iter_errors(data),
        key=lambda error: list(error.absolute_path),
    )
    return [
        {
            "location": ".".join(str(part) for part in error.absolute_path) or "(document)",
            "message": error.message,
            "type": f"schema:{error.validator}",
        }
        for error in errors
    ]


def to_model(data: Any, url: str, class_name: str | None, lab_schema: str | None = None) -> Any:
    """The document as a validated model of `class_name` (else inferred), of the hub's schema or of a
    lab schema that extends it (`lab_schema`)."""
    from neurodatahub.core import extensions

    extended = extensions.load(lab_schema) if lab_schema else None
    classes = extended.classes if extended else concrete_classes()
    if class_name is not None and class_name not in classes:
        raise UsageError(f"unknown class {class_name!r}; classes: {', '.join(sorted(classes))}")
    name = class_name or infer_class(data, url, classes)
    problems = _schema_problems(data, name, extended)
    if problems:
        first = problems[0]
        raise InvalidDataError(
            f"{url} is not valid {name}: {first['location']}: {first['message']}", problems
        )
    return classes[name].model_validate(data)


# what a text document costs in memory per byte once parsed (Python objects of its values, the text too)
PARSED_TEXT_COPIES = 8


def read_text_bytes(url: str, storage_options: Any = None) -> bytes:
    """The bytes of a whole text file (a document, a JSON sidecar, a configuration), its size held to
    the memory budget first: a text file is read at once and parsed into objects many times its size."""
    size = storage.size_of(url, storage_options)
    budget.require(
        size * PARSED_TEXT_COPIES, f"the text of {budget.human(size)}, parsed ({PARSED_TEXT_COPIES}x)", url
    )
    with storage.open_read(url, storage_options) as handle:
        return handle.read()


def load_text(url: str, storage_options: Any = None) -> str:
    """`read_text_bytes` as UTF-8 text."""
    raw = read_text_bytes(url, storage_options)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{url}: not UTF-8 text ({error.reason} at byte {error.start})") from error


def read_json(
    url: str, *, storage_options: Any = None, class_name: str | None = None, lab_schema: str | None = None
) -> Any:
    return to_model(load_json(load_text(url, storage_options), url), url, class_name, lab_schema)


def load_json(text: str, url: str) -> Any:
    """JSON text as Python; too deep nesting and numbers too long to convert are InputError too."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{url}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from error
    except RecursionError as error:
        raise InputError(f"{url}: JSON nested too deeply to be read") from error
    except ValueError as error:  # an integer of more digits than Python converts (int_max_str_digits)
        raise InputError(f"{url}: invalid JSON ({_too_long(error)})") from error


def read_yaml(
    url: str, *, storage_options: Any = None, class_name: str | None = None, lab_schema: str | None = None
) -> Any:
    return to_model(load_yaml(load_text(url, storage_options), url), url, class_name, lab_schema)


def _too_long(error: ValueError) -> str:
    import sys

    if "digits" in str(error):
        return f"a number has more than {sys.get_int_max_str_digits()} digits"
    return " ".join(str(error).split())


# what one node of a document costs once read and validated (Python objects, JSON Schema, pydantic)
YAML_NODE_BYTES = 256


def load_yaml(text: str, url: str) -> Any:
    """YAML text as Python (safe tags only), refused when its aliases would expand beyond the budget.

    YAML aliases let a kilobyte name a billion nodes (a "billion laughs" document): PyYAML builds them
    shared, but validation walks every one. The nodes are counted with aliases expanded before anything
    is built, and a document that refers to itself is refused.
    """
    import yaml

    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as error:  # characters YAML does not allow, found as the text is taken in
        raise InputError(f"{url}: invalid YAML: {' '.join(str(error).split())}") from error
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        nodes = _expanded_nodes(root, url)
        budget.require(
            nodes * YAML_NODE_BYTES, f"the YAML document ({nodes} nodes with aliases expanded)", url
        )
        return loader.construct_document(root)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        position = f" at line {where.line + 1} column {where.column + 1}" if where else ""
        raise InputError(f"{url}: invalid YAML{position}: {getattr(error, 'problem', error)}") from error
    except RecursionError as error:
        raise InputError(f"{url}: YAML nested too deeply to be read") from error
    except ValueError as error:  # an integer of more digits than Python converts (int_max_str_digits)
        raise InputError(f"{url}: invalid YAML ({_too_long(error)})") from error
    finally:
        loader.dispose()


def _expanded_nodes(root: Any, url: str) -> int:
    """How many nodes the document has with every alias expanded (shared nodes counted each time)."""
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = [
            item
            for entry in node.value
            for item in (entry if isinstance(node, yaml.MappingNode) else (entry,))
        ]
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise InputError(f"{url}: the YAML document refers to itself through an alias")
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise InputError(f"{url}: the YAML document refers to itself through an alias")
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _document(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def write_json(model: Any, path: Path) -> None:
    path.write_text(json.dumps(_document(model), indent=2, allow_nan=True) + "\n", encoding="utf-8")


def write_yaml(model: Any, path: Path) -> None:
    import yaml

    path.write_text(yaml.safe_dump(_document(model), sort_keys=False, allow_unicode=True), encoding="utf-8")


def _first_text(probe: Probe) -> bytes:
    return probe.head.lstrip(b"\xef\xbb\xbf \t\r\n")


def sniff_json(probe: Probe) -> bool:
    return _first_text(probe)[:1] == b"{"


def sniff_yaml(probe: Probe) -> bool:
    """YAML is a superset of JSON, so a JSON-looking file is YAML too; the extension then decides."""
    lines = [line for line in _first_text(probe).splitlines() if line.strip() and not line.startswith(b"#")]
    return bool(lines) and (sniff_json(probe) or YAML_KEY_LINE.match(lines[0]) is not None)


register_format(
    FormatSpec(
        name="json",
        kind="document",
        description="Any data class as a JSON document (the generated JSON Schema describes it)",
        extensions=(".json",),
        read=read_json,
        write=write_json,
        sniff=sniff_json,
        read_options=ReadOptions,
    )
)
register_format(
    FormatSpec(
        name="yaml",
        kind="document",
        description="Any data class as a YAML document (same content as JSON)",
        extensions=(".yaml", ".yml"),
        read=read_yaml,
        write=write_yaml,
        sniff=sniff_yaml,
        read_options=ReadOptions,
    )
)
