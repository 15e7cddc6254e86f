"""Bad input and impossible requests: one clear line, a documented exit code, and never an output."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import hub, one_line
from tract_helpers import nibabel_file, write_raw_trk

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode, InputError, InvalidDataError, UsageError

TCK = nibabel_file("standard.tck")
IMAGE = nibabel_file("standard.nii.gz")


@pytest.mark.parametrize("fmt", ["trk", "trx"])
def test_tck_to_a_gridded_format_without_reference_fails_and_writes_nothing(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    target = tmp_path / f"out.{fmt}"
    code, _, err = hub(capsys, "convert", TCK, str(target))
    assert code == ExitCode.USAGE
    assert "reference=" in one_line(err) and "has none" in err
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"the previous result")
    code, _, err = hub(capsys, "convert", TCK, str(target), "--overwrite")
    assert code == ExitCode.USAGE
    assert target.read_bytes() == b"the previous result"
    assert [path.name for path in tmp_path.iterdir()] == [target.name]
    with pytest.raises(UsageError, match="voxel grid"):
        conversion.convert(TCK, str(tmp_path / f"api.{fmt}"))


def test_tck_to_trk_with_a_reference_image_or_a_template(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from neurodatahub.tractograms import reference

    code, _, err = hub(capsys, "convert", TCK, str(tmp_path / "a.trk"), "-O", f"reference={IMAGE}")
    assert code == 0, err
    found = conversion.read(str(tmp_path / "a.trk")).reference
    np.testing.assert_allclose(found.affine, reference.from_url(IMAGE).affine, atol=1e-6)
    code, _, err = hub(
        capsys, "convert", TCK, str(tmp_path / "b.trk"), "-O", "space=MNI152NLin6Asym", "-O", "resolution=2"
    )
    assert code == 0, err
    assert conversion.read(str(tmp_path / "b.trk")).reference.shape.tolist() == [91, 109, 91]
    # the reader takes the reference too: the stream then has a grid, whatever the target
    code, _, err = hub(capsys, "convert", TCK, str(tmp_path / "c.trx"), "--read-option", f"reference={IMAGE}")
    assert code == 0, err
    code, out, _ = hub(capsys, "info", str(tmp_path / "c.trx"), "--json")
    assert json.loads(out)["reference_shape"] == reference.from_url(IMAGE).shape.tolist()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["space=MNI152NLin2009cAsym", "resolution=1"], "several template grids"),
        (["space=MNI152NLin2009cAsym"], "several template grids"),
        (["space=MNI152NLin2009bAsym", "resolution=0.5"], "no template grid is known"),
        (["space=Talairach"], "space must be one of"),
        (["resolution=2"], "resolution needs space"),
        (["space=MNI152NLin6Asym", "resolution=3"], "no 3 mm template grid"),
        (["resolution=abc", "space=MNI152NLin6Asym"], "must be a number"),
        ([f"reference={IMAGE}", "resolution=7"], "disagrees with the voxel sizes"),
        ([f"reference={IMAGE}", "space=MNI152NLin6Asym", "resolution=1"], "disagrees"),
    ],
)
def test_ambiguous_or_wrong_grid_options_are_usage_errors(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = [arg for option in options for arg in ("-O", option)]
    code, _, err = hub(capsys, "convert", TCK, str(tmp_path / "out.trk"), *args)
    assert code == ExitCode.USAGE
    assert message in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_reference_that_is_no_image_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    junk = tmp_path / "junk.nii"
    junk.write_bytes(b"\x00" * 400)
    code, _, err = hub(capsys, "convert", TCK, str(tmp_path / "out.trk"), "-O", f"reference={junk}")
    assert code == ExitCode.USAGE and "cannot give a reference grid" in one_line(err)
    assert [path.name for path in tmp_path.iterdir()] == ["junk.nii"]


def _trx_with_offsets(tmp_path: Path, change: dict) -> Path:
    """A valid TRX (hub-written) with its offsets or header replaced."""
    good = tmp_path / "good.trx"
    conversion.write(conversion.read(nibabel_file("standard.trk")), str(good))
    bad = tmp_path / "bad.trx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("offsets.") and "offsets" in change:
                offsets = np.frombuffer(data, dtype=info.filename.rsplit(".", 1)[1]).copy()
                change["offsets"](offsets)
                data = offsets.tobytes()
            if info.filename == "header.json" and "header" in change:
                header = json.loads(data)
                change["header"](header)
                data = json.dumps(header).encode()
            target.writestr(info.filename, data)
    return bad


def _set(index: int, value: int):
    def edit(offsets: np.ndarray) -> None:
        offsets[index] = value

    return edit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"offsets": _set(5, 10_000)}, "run past NB_VERTICES"),
        ({"offsets": _set(-1, 10_000)}, "not NB_VERTICES"),
        ({"offsets": _set(0, 3)}, "must start at 0"),
        ({"offsets": _set(7, 2)}, "decrease"),
        ({"header": lambda header: header.update(NB_VERTICES=400)}, "holds 1080 values"),
        ({"header": lambda header: header.pop("DIMENSIONS")}, "lacks DIMENSIONS"),
        (
            {"header": lambda header: header.update(VOXEL_TO_RASMM=[[0] * 4] * 4)},
            "cannot serve as a reference",
        ),
    ],
)
def test_damaged_trx_is_a_clear_input_error(
    change: dict, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = _trx_with_offsets(tmp_path, change)
    with pytest.raises(InputError, match=message):
        conversion.read(str(bad))
    code, _, err = hub(capsys, "convert", str(bad), str(tmp_path / "out.tck"))
    assert code == ExitCode.USAGE and message in one_line(err)
    assert not (tmp_path / "out.tck").exists()
    code, out, _ = hub(capsys, "validate", str(bad))
    assert code == ExitCode.USAGE and message in out


def test_truncated_trk_files(tmp_path: Path) -> None:
    whole = tmp_path / "whole.trk"
    write_raw_trk(whole, 50, 10)
    data = whole.read_bytes()
    cut = tmp_path / "cut.trk"
    cut.write_bytes(data[:-7])
    with pytest.raises(InputError, match="header announces 50 streamlines, the file holds 49"):
        conversion.read(str(cut))
    uncounted = tmp_path / "uncounted.trk"
    write_raw_trk(uncounted, 50, 10, count_in_header=False)
    uncounted.write_bytes(uncounted.read_bytes()[:-7])
    with pytest.raises(InputError, match="do not make a whole streamline"):
        conversion.read(str(uncounted))
    header_only = tmp_path / "short.trk"
    header_only.write_bytes(data[:500])
    with pytest.raises(InputError, match="truncated TRK header"):
        conversion.read(str(header_only))
    gz = tmp_path / "cut.trk.gz"
    gz.write_bytes(gzip.compress(data)[:-100])
    with pytest.raises(InputError, match=r"truncated or damaged|damaged gzip data"):
        conversion.read(str(gz))


def test_gzipped_trk_reads_like_the_plain_file(tmp_path: Path) -> None:
    plain = tmp_path / "a.trk"
    write_raw_trk(plain, 20, 7)
    packed = tmp_path / "a.trk.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    one, two = conversion.read(str(plain)), conversion.read(str(packed))
    np.testing.assert_array_equal(one.positions, two.positions)
    assert conversion.input_format(str(packed)).name == "trk"


def test_truncated_and_garbage_tck(tmp_path: Path) -> None:
    data = Path(TCK).read_bytes()
    cut = tmp_path / "cut.tck"
    cut.write_bytes(data[:-12])  # the inf inf inf end marker is gone
    with pytest.raises(InputError, match="no end-of-file marker"):
        conversion.read(str(cut))
    mid = tmp_path / "mid.tck"
    mid.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated TCK"):
        conversion.read(str(mid))
    garbage = tmp_path / "garbage.tck"
    garbage.write_bytes(b"mrtrix tracks\ncount: 3\nno end here" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="damaged TCK header"):
        conversion.read(str(garbage))
    odd = tmp_path / "odd.tck"
    odd.write_bytes(b"mrtrix tracks\ndatatype: Int16LE\nfile: . 60\nEND\n")
    with pytest.raises(InputError, match="datatype 'Int16LE' is not supported"):
        conversion.read(str(odd))


@pytest.mark.parametrize("name", ["garbage.trk", "garbage.tck", "garbage.trx"])
def test_garbage_with_a_tractogram_extension(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / name
    path.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)))
    code, _, err = hub(capsys, "info", str(path))
    assert code == ExitCode.USAGE
    assert "not a T" in one_line(err) or "cannot tell" in err


def test_nan_positions_in_a_trk_break_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "nan.trk"
    write_raw_trk(path, 5, 4)
    data = bytearray(path.read_bytes())
    data[1000 + 4 + 4 : 1000 + 4 + 8] = np.float32(np.nan).tobytes()  # y of the first point
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidDataError, match="finite"):
        conversion.read(str(path))
    code, out, _ = hub(capsys, "validate", str(path))
    assert code == ExitCode.INVALID and "finite" in out


def test_a_negative_point_count_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "negative.trk"
    write_raw_trk(path, 3, 4)
    data = bytearray(path.read_bytes())
    data[1000:1004] = np.int32(-2).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="streamline of -2 points"):
        conversion.read(str(path))


def test_strict_refuses_what_tck_drops(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = hub(capsys, "convert", nibabel_file("complex.trk"), str(tmp_path / "out.tck"), "--strict")
    assert code == ExitCode.LOSS and "data_per_point" in one_line(err)
    assert list(tmp_path.iterdir()) == []
    code, _, err = hub(capsys, "convert", nibabel_file("complex.trk"), str(tmp_path / "out.tck"))
    assert code == 0 and "lost: data_per_point" in err and "lost: data_per_streamline" in err


def test_trk_names_beyond_what_trk_holds_are_declared(tmp_path: Path) -> None:
    from tract_helpers import GRID

    from neurodatahub.models import NamedArray, Tractogram

    n = 4
    named = [NamedArray(name=f"s{i}", values=np.arange(n, dtype=np.float32)) for i in range(11)]
    named.append(NamedArray(name="a_very_long_scalar_name", values=np.zeros(n, np.float32)))
    named.append(NamedArray(name="wide", values=np.arange(n, dtype=np.float64) + 0.1))
    model = Tractogram(
        positions=np.zeros((n, 3), np.float32), offsets=np.array([0, 2]), reference=GRID, data_per_point=named
    )
    losses = {loss.field: loss.reason for loss in conversion.write(model, str(tmp_path / "out.trk"))}
    assert "at most 10" in losses["data_per_point.s10"]
    assert "at most 20" in losses["data_per_point.a_very_long_scalar_name"]
    assert "at most 10" in losses["data_per_point.wide"]
    back = conversion.read(str(tmp_path / "out.trk"))
    assert [column.name for column in back.data_per_point] == [f"s{i}" for i in range(10)]
