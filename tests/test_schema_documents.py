"""The JSON Schema and the models accept every valid document and reject every invalid one."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import DOCUMENTS

from neurodatahub import models
from neurodatahub.core.documents import concrete_classes, to_model
from neurodatahub.core.errors import InvalidDataError
from neurodatahub.core.schema import class_names, class_schema, json_schema

VALID = sorted((DOCUMENTS / "valid").iterdir())
INVALID = sorted((DOCUMENTS / "invalid").iterdir())
INVARIANT_BREAKS = sorted((DOCUMENTS / "invalid-invariants").iterdir())


def load(path: Path) -> object:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def class_of(path: Path) -> str:
    """valid/ and invalid/ name files by class; invalid-invariants/ says it in the first line."""
    if path.parent.name == "invalid-invariants":
        return path.read_text().splitlines()[0].removeprefix("# class: ").split(" ")[0]
    return path.name.split(".")[0]


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = class_schema(name)
    return jsonschema.validators.validator_for(schema)(schema)


def data_classes() -> list[str]:
    return [name for name, definition in json_schema()["$defs"].items() if "properties" in definition]


def test_every_class_has_a_valid_and_an_invalid_document() -> None:
    assert set(data_classes()) == set(models.MODEL_CLASSES)
    assert {class_of(path) for path in VALID} == set(data_classes())
    assert {class_of(path) for path in INVALID} == set(data_classes())
    assert set(class_names()) >= set(data_classes())


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.name)
def test_json_schema_accepts_valid(path: Path) -> None:
    validator(class_of(path)).validate(load(path))


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.name)
def test_models_accept_valid(path: Path) -> None:
    model = models.model_class(class_of(path)).model_validate(load(path))
    assert type(model).__name__ == class_of(path)


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.name)
def test_json_schema_rejects_invalid(path: Path) -> None:
    assert list(validator(class_of(path)).iter_errors(load(path)))


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.name)
def test_document_reader_rejects_invalid(path: Path) -> None:
    """The reader behind `hub validate` agrees with the JSON Schema (pydantic alone is lax: "yes" -> True)."""
    with pytest.raises(InvalidDataError) as error:
        to_model(load(path), str(path), class_of(path) if class_of(path) in concrete_classes() else None)
    assert error.value.problems


@pytest.mark.parametrize("path", INVARIANT_BREAKS, ids=lambda path: path.name)
def test_invariant_breaks_pass_json_schema_but_not_the_models(path: Path) -> None:
    document = load(path)
    validator(class_of(path)).validate(document)  # structurally fine...
    with pytest.raises(ValueError):  # ...but breaks an invariant only the models check
        models.model_class(class_of(path)).model_validate(document)


def test_documents_round_trip_through_the_models() -> None:
    for path in VALID:
        model = models.model_class(class_of(path)).model_validate(load(path))
        again = type(model).model_validate(model.model_dump(mode="json"))
        assert again.model_dump_json() == model.model_dump_json()
