"""`hub schema CLASS --format FORM`: every form of the schema, read back by the tools of that form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from neurodatahub.core.schema import FORMS

REPO = Path(__file__).resolve().parent.parent
NDH = "https://w3id.org/neurodatahub/schema/"


def _hub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurodatahub.cli", *args], capture_output=True, text=True, cwd=REPO
    )


def _printed(*args: str) -> str:
    done = _hub(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_json_schema_of_a_class_validates_a_document() -> None:
    import jsonschema

    schema = json.loads(_printed("schema", "SpikeData", "--format", "json-schema"))
    document = yaml.safe_load((REPO / "examples" / "spikes.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "time_unit": "hours"}, schema)


def test_linkml_form_is_the_class_as_its_module_defines_it() -> None:
    printed = yaml.safe_load(_printed("schema", "SpikeData", "--format", "linkml"))
    module = yaml.safe_load((REPO / "schema" / "spikes.yaml").read_text(encoding="utf-8"))
    assert printed == {"classes": {"SpikeData": module["classes"]["SpikeData"]}}
    enum = yaml.safe_load(_printed("schema", "TimeUnit", "--format", "linkml"))
    assert set(enum["enums"]["TimeUnit"]["permissible_values"]) == {"s", "ms", "samples"}


def test_the_whole_linkml_schema_loads_in_linkml() -> None:
    """Every module, printed as one YAML stream, is the schema LinkML itself reads from schema_dir()."""
    from linkml_runtime.utils.schemaview import SchemaView
    from neurodatahub_models import schema_dir
    from neurodatahub_models.facts import CLASSES

    documents = list(yaml.safe_load_all(_printed("schema", "--format", "linkml")))
    assert documents[0]["name"] == "neurodatahub"
    assert {document["name"] for document in documents} == {path.stem for path in schema_dir().glob("*.yaml")}
    view = SchemaView(str(schema_dir() / "neurodatahub.yaml"))
    assert set(view.all_classes()) == set(CLASSES)


def test_owl_of_a_class_parses_and_restricts_its_slots() -> None:
    import rdflib
    from rdflib.namespace import OWL, RDF, RDFS

    graph = rdflib.Graph().parse(data=_printed("schema", "SpikeData", "--format", "owl"), format="turtle")
    spike_data = rdflib.URIRef(NDH + "SpikeData")
    assert (spike_data, RDF.type, OWL.Class) in graph
    restricted = {
        graph.value(restriction, OWL.onProperty) for restriction in graph.objects(spike_data, RDFS.subClassOf)
    }
    assert {rdflib.URIRef(NDH + slot) for slot in ("spike_times", "unit_ids", "time_unit")} <= restricted
    assert not list(graph.subjects(RDFS.label, rdflib.Literal("ConnectivityMatrix")))  # one class only


def test_shacl_of_a_class_is_its_node_shape() -> None:
    import rdflib
    from rdflib.namespace import SH

    graph = rdflib.Graph().parse(data=_printed("schema", "SpikeData", "--format", "shacl"), format="turtle")
    shape = rdflib.URIRef(NDH + "SpikeData")
    assert (shape, SH.targetClass, shape) in graph
    paths = {graph.value(prop, SH.path) for prop in graph.objects(shape, SH.property)}
    assert rdflib.URIRef(NDH + "spike_times_index") in paths
    # a class whose IRI is another vocabulary's (class_uri) is found by that IRI
    provenance = _printed("schema", "ProvenanceRecord", "--format", "shacl")
    assert "prov:Activity a sh:NodeShape" in provenance


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")  # inside rdflib
def test_jsonld_context_of_a_class_turns_a_document_into_triples() -> None:
    """rdflib reads a hub document with the printed context as linked data: the slots become IRIs."""
    import rdflib

    context = json.loads(_printed("schema", "SpikeData", "--format", "jsonld"))["@context"]
    document = {"@context": context, "@id": "http://example.org/session-1", "time_unit": "s", "length": 3.0}
    graph = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    subject = rdflib.URIRef("http://example.org/session-1")
    assert graph.value(subject, rdflib.URIRef(NDH + "length")).toPython() == 3.0
    assert graph.value(subject, rdflib.URIRef(NDH + "time_unit")) is not None


@pytest.mark.parametrize("form", FORMS)
def test_a_whole_form_is_the_shipped_file(form: str) -> None:
    import neurodatahub_models

    printed = _printed("schema", "--format", form)
    shipped = {
        "json-schema": neurodatahub_models.JSON_SCHEMA_PATH,
        "owl": neurodatahub_models.OWL_PATH,
        "shacl": neurodatahub_models.SHACL_PATH,
        "jsonld": neurodatahub_models.JSONLD_CONTEXT_PATH,
    }.get(form)
    if shipped is None:
        assert "LabSpikeData" not in printed and "SpikeData:" in printed
    elif shipped.suffix in (".json", ".jsonld"):
        assert json.loads(printed) == json.loads(shipped.read_text(encoding="utf-8"))
    else:
        assert printed == shipped.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("schema", "SpikeData", "--format", "xml"), "unknown schema format 'xml'"),
        (("schema", "NoSuchClass", "--format", "owl"), "unknown class 'NoSuchClass'"),
        (("schema", "TimeUnit", "--format", "shacl"), "has no SHACL description"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = _hub(*args)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
