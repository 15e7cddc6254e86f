"""Options are checked before anything is written, the output is never the input, a raster never grows
a hundredfold without being asked, and what is written is read back and validated, not only counted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from cli_helpers import hub, one_line
from conftest import DOCUMENTS

from neurodatahub.core import conversion, registry
from neurodatahub.core.errors import ExitCode, OutputError, UsageError

SPIKES = DOCUMENTS / "valid" / "SpikeData.yaml"


@pytest.mark.parametrize("rate", ["-5", "0"])
def test_a_sampling_rate_must_be_positive(capsys: pytest.CaptureFixture, tmp_path: Path, rate: str) -> None:
    """--fs -5 is refused by the typed options (#7); --fs 0 used to vanish on its way to them (0 == False)."""
    target = tmp_path / "out5.h5"
    code, _, err = hub(capsys, "convert", str(SPIKES), str(target), "--fs", rate)
    assert code == ExitCode.USAGE and "option sampling_rate must be > 0.0" in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_zero_rate_document_is_invalid(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    document = tmp_path / "zero.json"
    document.write_text(json.dumps({**yaml.safe_load(SPIKES.read_text()), "sampling_rate": 0}))
    code, out, _ = hub(capsys, "validate", str(document))
    assert code == ExitCode.INVALID and "sampling_rate must be > 0 Hz" in out


@pytest.fixture
def counting_format() -> registry.FormatSpec:
    """A format whose writer scrambles the times and whose verify only counts them."""
    from neurodatahub.core.documents import read_json, write_json

    def write(model: object, path: Path) -> None:
        scrambled = model.model_copy(update={"spike_times": np.asarray(model.spike_times)[::-1].copy()})
        write_json(scrambled, path)

    def verify(model: object, path: Path) -> None:
        if len(json.loads(path.read_text())["spike_times"]) != len(model.spike_times):
            raise OutputError("spike count differs")

    spec = registry.FormatSpec(
        name="counting-test-format", kind="document", description="test only", extensions=(".counted",),
        read=read_json, write=write, verify=verify,
    )  # fmt: skip
    registry.register_format(spec)
    yield spec
    registry._FORMATS.pop((spec.kind, spec.name))


def test_the_output_is_read_back_and_validated_not_only_counted(
    counting_format: registry.FormatSpec, tmp_path: Path
) -> None:
    target = tmp_path / "out.counted"
    with pytest.raises(OutputError, match=r"does not read back right.*not sorted"):
        conversion.convert(str(SPIKES), str(target))
    assert list(tmp_path.iterdir()) == []


def test_the_source_is_never_the_target(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    conversion.convert(str(SPIKES), str(source))
    before = source.read_bytes()
    (tmp_path / "link.json").symlink_to(source)
    os.link(source, tmp_path / "hard.json")
    for target in (source, tmp_path / "." / "in.json", tmp_path / "link.json", tmp_path / "hard.json"):
        code, _, err = hub(capsys, "convert", str(source), str(target), "--overwrite")
        assert code == ExitCode.USAGE and "is the input itself" in one_line(err)
    assert source.read_bytes() == before
    with pytest.raises(UsageError, match="is the input itself"):
        conversion.convert(f"file://{source}", str(source), overwrite=True)


def test_the_source_is_never_the_target_on_s3(s3_bucket: str) -> None:
    url = f"{s3_bucket}/in.json"
    conversion.convert(str(SPIKES), url)
    with pytest.raises(UsageError, match="is the input itself"):
        conversion.convert(url, url, overwrite=True)


@pytest.fixture
def long_recording(shared_data: Path) -> Path:
    return shared_data / "nwb" / "sub-4_ses-4_ecephys+image.nwb"  # 35 units, 47 min, 1.7 MB of spikes


def test_a_huge_raster_asks_for_force(
    capsys: pytest.CaptureFixture, tmp_path: Path, long_recording: Path
) -> None:
    target = tmp_path / "raster.h5"
    args = ("convert", str(long_recording), str(target), "--style", "raster", "--bin-size-ms", "1")
    code, _, err = hub(capsys, *args)
    line = one_line(err)
    assert code == ExitCode.USAGE and "35 units x 2821072 bins of 1 ms = 98.7 MB (uint8)" in line
    assert "pass --force to write it" in line and list(tmp_path.iterdir()) == []
    code, _, err = hub(capsys, *args, "--force")
    assert code == 0, err
    with h5py.File(target) as file:
        raster = file["raster"]
        assert raster.dtype == np.uint8 and raster.compression == "gzip" and raster.chunks is not None
    assert target.stat().st_size < 2 * long_recording.stat().st_size  # not 790 MB of int64
    code, _, err = hub(capsys, "convert", str(long_recording), str(tmp_path / "r.h5"), "--style", "raster",
                       "--bin-size-ms", "100")  # fmt: skip
    assert code == 0, err  # 1 MB: under the limit, no --force needed


def test_force_is_for_writers_that_take_it(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, _, err = hub(capsys, "convert", str(SPIKES), str(tmp_path / "x.json"), "--force")
    assert code == ExitCode.USAGE and "option 'force' does not apply to yaml -> json" in one_line(err)
