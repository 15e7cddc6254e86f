"""Format detection (content first, extension second), target choice, and the convert path's guarantees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DOCUMENTS

from neurodatahub.core import conversion as api, registry
from neurodatahub.core.errors import InputError, LossError, OutputError, UsageError

SPIKES = DOCUMENTS / "valid" / "SpikeData.yaml"


def test_content_wins_over_a_misleading_extension(tmp_path: Path) -> None:
    disguised = tmp_path / "spikes.txt"
    disguised.write_text(json.dumps(json.loads(json.dumps({"name": "q", "values": [1, 2]}))))
    assert registry.detect_format(str(disguised)).name == "json"
    yaml_named_json = tmp_path / "doc.json"
    yaml_named_json.write_text(SPIKES.read_text())
    assert registry.detect_format(str(yaml_named_json)).name == "yaml"


def test_extension_decides_between_formats_that_both_accept_the_content(tmp_path: Path) -> None:
    flow = tmp_path / "doc.yaml"
    flow.write_text('{"name": "q", "values": [1]}')  # JSON is YAML too
    assert registry.detect_format(str(flow)).name == "yaml"
    assert registry.detect_format(str(tmp_path / "doc.yaml")).name == "yaml"


def test_unknown_content_and_extension_is_a_clear_error(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError, match="cannot tell the format"):
        registry.detect_format(str(blob))


def test_target_format_by_name_and_extension() -> None:
    assert registry.target_format("out.yml").name == "yaml"
    assert registry.target_format("out.bin", name="json").name == "json"
    with pytest.raises(UsageError, match="no writable format"):
        registry.target_format("out.xyz")


def test_every_format_declares_what_it_needs() -> None:
    for spec in registry.all_formats():
        assert spec.kind and spec.model and spec.description and spec.extensions
        assert spec.read or spec.write
        assert all(ext.startswith(".") for ext in spec.extensions)


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        registry.register_format(registry.get_format("json", kind="document"))


@pytest.fixture
def crashing_format() -> registry.FormatSpec:
    """A format whose writer dies halfway, as a real writer can on bad data or a full disk."""

    def write(model: object, path: Path) -> None:
        path.write_text("half a file")
        raise OSError("No space left on device")

    spec = registry.FormatSpec(
        name="crashing-test-format",
        kind="document",
        description="test only",
        extensions=(".crash",),
        write=write,
    )
    registry.register_format(spec)
    yield spec
    registry._FORMATS.pop((spec.kind, spec.name))


def test_a_writer_that_dies_leaves_the_old_file_intact(
    crashing_format: registry.FormatSpec, tmp_path: Path
) -> None:
    target = tmp_path / "out.crash"
    target.write_text("the previous result")
    with pytest.raises(OSError, match="No space"):
        api.convert(str(SPIKES), str(target), to_format=crashing_format.name, overwrite=True)
    assert target.read_text() == "the previous result"
    assert [path.name for path in tmp_path.iterdir()] == ["out.crash"]


@pytest.fixture
def lossy_format() -> registry.FormatSpec:
    from neurodatahub.core.documents import write_json
    from neurodatahub.models import Loss

    spec = registry.FormatSpec(
        name="lossy-test-format",
        kind="document",
        description="test only",
        extensions=(".lossy",),
        write=write_json,
        cannot_store=("unit attributes",),
        losses=lambda model: [Loss(field="unit_attributes", reason="test format has no attributes", count=2)],
    )
    registry.register_format(spec)
    yield spec
    registry._FORMATS.pop((spec.kind, spec.name))


def test_strict_turns_a_declared_loss_into_an_error_before_writing(
    lossy_format: registry.FormatSpec, tmp_path: Path
) -> None:
    target = tmp_path / "out.lossy"
    with pytest.raises(LossError, match="unit_attributes"):
        api.convert(str(SPIKES), str(target), strict=True)
    assert not target.exists()
    report = api.convert(str(SPIKES), str(target))
    assert [loss.field for loss in report.losses] == ["unit_attributes"]
    assert target.exists()


def test_api_read_and_write_round_trip(tmp_path: Path) -> None:
    model = api.read(str(SPIKES))
    assert api.write(model, str(tmp_path / "copy.json")) == []
    again = api.read(str(tmp_path / "copy.json"))
    assert again.model_dump_json() == model.model_dump_json()
    with pytest.raises(OutputError):
        api.write(model, str(tmp_path / "copy.json"))


@pytest.fixture
def second_tsv() -> registry.FormatSpec:
    """A format of another kind with a name the spike tables use too, as region tables will."""
    spec = registry.FormatSpec(
        name="tsv",
        kind="surface",
        description="test only",
        extensions=(".tsv",),
        read=lambda url, storage_options=None: None,
        sniff=lambda probe: probe.head.startswith(b"index\tname"),
    )
    registry.register_format(spec)
    yield spec
    registry._FORMATS.pop((spec.kind, spec.name))


def test_formats_of_two_kinds_may_share_a_name(second_tsv: registry.FormatSpec, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="exists for"):
        registry.get_format("tsv")
    assert registry.get_format("tsv", kind="surface") is second_tsv
    assert registry.target_format("out.tsv", kind="spikes").kind == "spikes"
    regions = tmp_path / "regions.tsv"
    regions.write_text("index\tname\n1\tV1\n")
    assert registry.input_format(str(regions), "tsv") is second_tsv  # the content decides between kinds
    spikes = tmp_path / "spikes.tsv"
    spikes.write_text("unit_id\ttime_s\n0\t0.5\n")
    assert registry.input_format(str(spikes), "tsv").kind == "spikes"
