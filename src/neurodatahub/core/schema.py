"""The generated JSON Schema, whole or cut down to one class and what it refers to."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from neurodatahub.core.errors import UsageError


@cache
def json_schema() -> dict[str, Any]:
    from neurodatahub_models import JSON_SCHEMA_PATH

    return json.loads(JSON_SCHEMA_PATH.read_text(encoding="utf-8"))


def class_names() -> list[str]:
    """Classes and enums defined by the schema."""
    return sorted(json_schema()["$defs"])


def listing() -> dict[str, list[str]]:
    """The schema's classes and enums apart (the JSON Schema's helper types left out), for `--list`:
    abstract classes and each kind's pivot class are marked."""
    from neurodatahub_models.facts import CLASSES, ENUMS

    def described(name: str) -> str:
        facts = CLASSES[name]
        notes = ["abstract"] if facts["abstract"] else []
        if facts["kind"]:
            notes.append(f"kind {facts['kind']}")
        return f"{name} ({', '.join(notes)})" if notes else name

    return {"classes": [described(name) for name in sorted(CLASSES)], "enums": sorted(ENUMS)}


def class_schema(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A standalone JSON Schema for one class: a $ref to it plus the definitions it reaches.

    `schema`: another whole JSON Schema to cut from (a lab schema's), else the hub's.
    """
    schema = schema or json_schema()
    definitions = schema["$defs"]
    if name not in definitions:
        raise UsageError(f"unknown class {name!r}; classes: {', '.join(sorted(definitions))}")
    needed: dict[str, Any] = {}
    pending = [name]
    while pending:
        current = pending.pop()
        if current in needed:
            continue
        needed[current] = definitions[current]
        pending.extend(_references(definitions[current]))
    return {
        "$schema": schema["$schema"],
        "$id": f"{schema['$id']}/{name}",
        "title": name,
        "$ref": f"#/$defs/{name}",
        "$defs": dict(sorted(needed.items())),
    }


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


# the forms `hub schema --format` prints; all but json-schema and linkml are Turtle or JSON-LD files
# written by `make generate` (generated/neurodatahub_models/), shipped in the wheel
FORMS = ("json-schema", "linkml", "owl", "shacl", "jsonld")


def schema_text(name: str | None, form: str = "json-schema") -> str:
    """The whole schema, or one class or enum, in one of FORMS, as text to print."""
    if form not in FORMS:
        raise UsageError(f"unknown schema format {form!r}; formats: {', '.join(FORMS)}")
    if name is not None and name not in json_schema()["$defs"]:
        raise UsageError(f"unknown class {name!r}; classes: {', '.join(class_names())}")
    if form == "json-schema":
        return json.dumps(class_schema(name) if name else json_schema(), indent=2) + "\n"
    if form == "linkml":
        return _linkml_text(name)
    if form == "jsonld":
        return _jsonld_text(name)
    return _turtle_text(name, form)


def _modules() -> dict[str, dict[str, Any]]:
    """Each schema module by name, as loaded from the schema's YAML files."""
    import yaml
    from neurodatahub_models import schema_dir

    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(schema_dir().glob("*.yaml"))
    }


def _linkml_text(name: str | None) -> str:
    import yaml
    from neurodatahub_models import schema_dir

    if name is None:  # every module, one YAML document each, the root first
        paths = sorted(schema_dir().glob("*.yaml"), key=lambda path: path.stem != "neurodatahub")
        return "".join(f"---\n# {path.name}\n{path.read_text(encoding='utf-8').rstrip()}\n" for path in paths)
    for module, document in _modules().items():
        for section in ("classes", "enums"):
            definition = (document.get(section) or {}).get(name)
            if definition is not None:
                text = yaml.safe_dump({section: {name: definition}}, sort_keys=False, allow_unicode=True)
                return f"# {name}, from schema module {module} ({module}.yaml, id {document['id']})\n{text}"
    raise UsageError(f"{name!r} is not defined in the schema's YAML files")


def _element_uri(name: str) -> str:
    """The IRI of a class or enum: its class_uri or enum_uri expanded, else the default prefix's."""
    for document in _modules().values():
        for section, key in (("classes", "class_uri"), ("enums", "enum_uri")):
            definition = (document.get(section) or {}).get(name)
            if definition is None:
                continue
            prefixes = {
                prefix: value if isinstance(value, str) else value["prefix_reference"]
                for prefix, value in (document.get("prefixes") or {}).items()
            }
            curie = (definition or {}).get(key) or f"{document.get('default_prefix', 'ndh')}:{name}"
            prefix, _, local = curie.partition(":")
            return prefixes.get(prefix, f"{prefix}:") + local
    raise UsageError(f"{name!r} is not defined in the schema's YAML files")


def _turtle_text(name: str | None, form: str) -> str:
    """OWL or SHACL in Turtle: the whole file, or the triples that describe one class (its CBD)."""
    from neurodatahub_models import OWL_PATH, SHACL_PATH

    path = OWL_PATH if form == "owl" else SHACL_PATH
    if name is None:
        return path.read_text(encoding="utf-8")
    import rdflib
    from rdflib.namespace import OWL, RDF, RDFS, SH

    graph = rdflib.Graph().parse(path, format="turtle")
    if form == "owl":  # classes keep the hub's own IRI in OWL, whatever their class_uri
        labelled = graph.subjects(RDFS.label, rdflib.Literal(name))
        subjects = [subject for subject in labelled if (subject, RDF.type, OWL.Class) in graph]
    else:
        subjects = list(graph.subjects(SH.targetClass, rdflib.URIRef(_element_uri(name))))
    if not subjects:
        raise UsageError(f"{name!r} has no {form.upper()} description (enums have no SHACL shape)")
    found = rdflib.Graph()
    for prefix, namespace in graph.namespaces():
        found.bind(prefix, namespace)
    for subject in subjects:
        found += graph.cbd(subject)
    return found.serialize(format="turtle")


def _jsonld_text(name: str | None) -> str:
    """The JSON-LD context, whole or cut down to the prefixes, one class and its slots."""
    from neurodatahub_models import JSONLD_CONTEXT_PATH

    document = json.loads(JSONLD_CONTEXT_PATH.read_text(encoding="utf-8"))
    if name is None:
        return json.dumps(document, indent=2) + "\n"
    slots = set(json_schema()["$defs"][name].get("properties", {}))
    context = {
        key: value
        for key, value in document["@context"].items()
        if key.startswith("@")
        or isinstance(value, str)
        or (isinstance(value, dict) and value.get("@prefix"))
        or key in slots
        or key == name
    }
    return json.dumps({"@context": context}, indent=2) + "\n"
