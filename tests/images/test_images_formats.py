"""Every volume format of every image kind: round trips (hypothesis), the peers as oracles both ways,
declared losses and --strict, typed options, bad input as one line and nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from image_helpers import MNI_2MM, OBLIQUE, labels, save_nifti, scalar, series

from neurodatahub.cli import main
from neurodatahub.core.conversion import convert, read, write
from neurodatahub.core.errors import ExitCode
from neurodatahub.core.models import ImageSeries, ImageVolume, Parcellation, VoxelMap

VOLUME_FORMATS = {
    "nifti": ".nii.gz",
    "nifti-raw": ".nii",
    "mgh": ".mgz",
    "nrrd": ".nrrd",
    "ome-zarr": ".ome.zarr",
}
DTYPES = ("uint8", "int16", "int32", "float32", "float64")


def _affines() -> st.SearchStrategy[np.ndarray]:
    def build(values: list[float], sizes: list[float], origin: list[float]) -> np.ndarray:
        rotation = np.eye(3) + 0.1 * np.asarray(values).reshape(3, 3)
        affine = np.eye(4)
        affine[:3, :3] = rotation * np.asarray(sizes)
        affine[:3, 3] = origin
        return affine

    small = st.floats(-1, 1, allow_nan=False)
    return st.builds(
        build,
        st.lists(small, min_size=9, max_size=9),
        st.lists(st.floats(0.5, 3), min_size=3, max_size=3),
        st.lists(st.floats(-100, 100), min_size=3, max_size=3),
    )


@st.composite
def images(draw: st.DrawFn) -> ImageVolume:
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=3, max_size=3)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    volumes = draw(st.integers(2, 4))
    kind = draw(st.sampled_from(["volume", "map", "parcellation", "series"]))
    seed = draw(st.integers(0, 2**16))
    generator = np.random.default_rng(seed)
    full = (*shape, volumes) if kind == "series" else shape
    values = generator.integers(0, 100, full) if dtype.kind in "iu" else generator.normal(size=full) * 100
    data = values.astype(dtype)
    affine = draw(_affines())
    if kind == "map":
        return VoxelMap(data=data, affine=affine, name="FA", intent="estimate")
    if kind == "parcellation":
        return Parcellation(data=np.abs(values).astype(np.int16) % 5, affine=affine, intent="label")
    if kind == "series":
        return ImageSeries(
            data=data, affine=affine, repetition_time=draw(st.floats(0.1, 3)), volume_count=volumes
        )
    return ImageVolume(data=data, affine=affine, description="a volume")


def _extension(name: str) -> str:
    return VOLUME_FORMATS[name]


@pytest.mark.parametrize("name", list(VOLUME_FORMATS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=images())
def test_round_trip_keeps_data_affine_and_class(
    tmp_path_factory: pytest.TempPathFactory, name: str, model: ImageVolume
) -> None:
    path = tmp_path_factory.mktemp("trip") / f"image{_extension(name)}"
    losses = write(model, str(path))
    named = {"format": "mgh"} if name == "mgh" else {}  # an MGH of N x 1 x 1 is otherwise an overlay
    back = read(str(path), class_name=type(model).__name__, **named)
    assert type(back) is type(model)
    expected = np.asarray(model.data)
    if name == "mgh" and expected.dtype.name in ("float64", "int64"):
        assert "data" in [loss.field for loss in losses]
        expected = expected.astype(np.float32)
    assert np.array_equal(back.data, expected)
    assert np.allclose(back.affine, model.affine, atol=1e-4)
    if name in ("nifti", "nifti-raw", "nrrd", "ome-zarr"):
        assert back.intent == model.intent
    if isinstance(model, ImageSeries):
        assert back.repetition_time == pytest.approx(model.repetition_time, rel=1e-5)


@pytest.mark.parametrize("name", ["nifti", "nifti-raw", "mgh"])
def test_nibabel_reads_ours_and_we_read_nibabels(tmp_path: Path, name: str) -> None:
    data = series()
    source = save_nifti(tmp_path / "sub-01_task-rest_bold.nii.gz", data, OBLIQUE, repetition_time=1.5)
    target = tmp_path / f"out{_extension(name)}"
    convert(str(source), str(target))
    theirs = nib.load(target)
    assert np.array_equal(np.asarray(theirs.dataobj), data) and np.allclose(theirs.affine, OBLIQUE, atol=1e-5)
    assert theirs.get_data_dtype() == np.dtype("int16").newbyteorder(theirs.get_data_dtype().byteorder)
    if name == "mgh":
        assert float(theirs.header["tr"]) == pytest.approx(1500)
        made = tmp_path / "nibabel.mgz"
        nib.save(nib.MGHImage(data.astype(np.float32), OBLIQUE), made)
        assert np.array_equal(read(str(made)).data, data.astype(np.float32))
    else:
        assert theirs.header.get_zooms()[3] == pytest.approx(1.5)


def test_pynrrd_reads_ours_and_we_read_slicers_lps_files(tmp_path: Path) -> None:
    data = labels()
    write(Parcellation(data=data, affine=MNI_2MM), str(tmp_path / "ours.nrrd"))
    theirs, header = nrrd.read(str(tmp_path / "ours.nrrd"))
    assert np.array_equal(theirs, data) and header["space"] == "right-anterior-superior"
    assert (
        np.allclose(header["space directions"], MNI_2MM[:3, :3].T)
        and json.loads(header["neurodatahub"])["class"] == "Parcellation"
    )
    dwi = scalar((4, 9, 10, 11))  # gradients first, as DWI NRRDs store them
    directions = np.array([[np.nan] * 3, [2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0]])
    nrrd.write(
        str(tmp_path / "slicer.nrrd"),
        dwi,
        {
            "space": "left-posterior-superior",
            "space directions": directions,
            "kinds": ["list", "domain", "domain", "domain"],
            "space origin": np.array([10.0, 20.0, 30.0]),
        },
    )
    model = read(str(tmp_path / "slicer.nrrd"))
    assert type(model).__name__ == "ImageSeries" and np.array_equal(model.data, np.moveaxis(dwi, 0, -1))
    assert np.allclose(model.affine, [[-2, 0, 0, -10], [0, -2, 0, -20], [0, 0, 2, 30], [0, 0, 0, 1]])


def test_ome_zarr_peer_reads_ours_and_we_read_its_files(tmp_path: Path) -> None:
    import zarr
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Multiscales, Reader
    from ome_zarr.writer import write_image

    data = series()
    source = save_nifti(
        tmp_path / "sub-01_bold.nii.gz", data, MNI_2MM, intent="time series", repetition_time=2.0
    )
    convert(str(source), str(tmp_path / "ours.ome.zarr"))
    node = next(
        node for node in Reader(parse_url(str(tmp_path / "ours.ome.zarr")))() if node.load(Multiscales)
    )
    assert np.array_equal(np.asarray(node.data[0]), data.T)
    transforms = node.metadata["coordinateTransformations"][0]
    assert transforms[0]["scale"] == [2.0, 2.0, 2.0, 2.0] and transforms[1]["translation"] == [
        0.0,
        -72.0,
        -126.0,
        90.0,
    ]
    # a file ome-zarr-py writes (t, c, z, y, x with one channel), read from its transformations
    group = zarr.group(parse_url(str(tmp_path / "theirs.ome.zarr"), mode="w").store)
    five = data.T[:, None]
    write_image(
        five,
        group,
        axes="tczyx",
        coordinate_transformations=[[{"type": "scale", "scale": [2.0, 1.0, 3.0, 2.5, 2.0]}]],
        storage_options={"chunks": (1, 1, 4, 4, 4)},
        scaler=None,
    )
    model = read(str(tmp_path / "theirs.ome.zarr"))
    assert type(model).__name__ == "ImageSeries" and np.array_equal(model.data, data)
    assert np.allclose(model.affine, np.diag([2.0, 2.5, 3.0, 1.0]))


def test_nifti_to_ome_zarr_and_back_keeps_data_affine_intent(tmp_path: Path) -> None:
    data = scalar()
    source = save_nifti(tmp_path / "sub-01_stat-z_statmap.nii.gz", data, OBLIQUE, intent="z score")
    convert(str(source), str(tmp_path / "z.ome.zarr"))
    attributes = json.loads((tmp_path / "z.ome.zarr" / ".zattrs").read_text())
    assert np.allclose(attributes["neurodatahub"]["affine"], nib.load(source).affine)
    assert attributes["neurodatahub"]["intent"] == "zscore"
    convert(str(tmp_path / "z.ome.zarr"), str(tmp_path / "back_statmap.nii.gz"))
    back = nib.load(tmp_path / "back_statmap.nii.gz")
    assert np.array_equal(back.get_fdata(dtype=np.float32), data)
    assert (
        np.allclose(back.affine, nib.load(source).affine, atol=1e-6)
        and back.header.get_intent()[0] == "z score"
    )


def test_losses_are_declared_and_strict_refuses(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "map.nrrd"
    write(
        VoxelMap(
            data=scalar().astype(np.float64),
            affine=OBLIQUE,
            name="correlation",
            intent="correlation",
            metadata={"r": 1},
        ),
        str(source),
    )
    assert main(["convert", str(source), str(tmp_path / "map.mgz")]) == 0
    err = capsys.readouterr().err
    assert "lost: data" in err and "lost: intent" in err and "lost: name" in err and "lost: metadata" in err
    assert main(["convert", str(source), str(tmp_path / "strict.mgz"), "--strict"]) == ExitCode.LOSS
    assert not (tmp_path / "strict.mgz").exists()
    assert main(["convert", str(source), str(tmp_path / "map.nii.gz")]) == 0
    assert "lost: metadata" in capsys.readouterr().err
    assert read(str(tmp_path / "map.nii.gz"), class_name="VoxelMap").name == "correlation"  # intent_name


def test_parcellation_nifti_writes_its_table_beside(tmp_path: Path) -> None:
    from neurodatahub.core.models import AtlasLUT

    lut = AtlasLUT(
        atlas_name="Toy",
        regions=[
            {"index": i, "name": f"r{i}", "hemisphere": "L", "color": [i, 2, 3, 255]} for i in range(1, 5)
        ],
    )
    write(
        Parcellation(data=labels(count=4), affine=OBLIQUE, lut=lut),
        str(tmp_path / "sub-01_atlas-Toy_dseg.nii.gz"),
    )
    assert (tmp_path / "sub-01_atlas-Toy_dseg.tsv").read_text().splitlines()[:2] == [
        "index\tname\themisphere\tcolor",
        "1\tr1\tL\t#010203ff",
    ]
    back = read(str(tmp_path / "sub-01_atlas-Toy_dseg.nii.gz"))
    assert back.lut.model_dump(mode="json", exclude={"source"}) == lut.model_dump(
        mode="json", exclude={"source"}
    )


def test_typed_options(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = save_nifti(tmp_path / "t1.nii.gz", scalar())
    assert (
        main(["convert", str(source), str(tmp_path / "a.nii.gz"), "-O", "compression_level=12"])
        == ExitCode.USAGE
    )
    assert "compression_level must be <= 9" in capsys.readouterr().err
    assert (
        main(["convert", str(source), str(tmp_path / "a.ome.zarr"), "-O", "chunk_size=4"]) == ExitCode.USAGE
    )
    assert main(["convert", str(source), str(tmp_path / "a.ome.zarr"), "-O", "chunk_size=8"]) == 0
    assert json.loads((tmp_path / "a.ome.zarr" / "0" / ".zarray").read_text())["chunks"] == [8, 8, 8]
    assert main(["convert", str(source), str(tmp_path / "a.nrrd"), "-O", "encoding=raw"]) == 0
    assert b"encoding: raw" in (tmp_path / "a.nrrd").read_bytes()[:600]
    assert main(["info", str(source), "-R", "lut=x.tsv"]) == ExitCode.USAGE  # a plain volume takes no table
    assert main(["formats", "nifti", "--kind", "parcellation"]) == 0
    assert "compression_level" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".mgz", ".nrrd"])
def test_bad_input_is_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, suffix: str
) -> None:
    good = tmp_path / f"good{suffix}"
    write(ImageVolume(data=scalar((20, 20, 20)), affine=OBLIQUE), str(good))
    truncated = tmp_path / f"truncated{suffix}"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    garbage = tmp_path / f"garbage{suffix}"
    garbage.write_bytes(b"\x00not an image" * 40)
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "kept.nii.gz"
    existing.write_bytes(b"old")
    for bad in (truncated, garbage):
        assert main(["convert", str(bad), str(out / "new.ome.zarr")]) == ExitCode.USAGE
        error = capsys.readouterr().err
        assert error.startswith("hub: error: ") and error.count("\n") == 1
        assert main(["convert", str(bad), str(existing), "--overwrite"]) == ExitCode.USAGE
        assert main(["validate", str(bad)]) == ExitCode.USAGE
        capsys.readouterr()
    assert sorted(path.name for path in out.iterdir()) == ["kept.nii.gz"] and existing.read_bytes() == b"old"


def test_bad_ome_zarr_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "broken.ome.zarr"
    write(ImageVolume(data=scalar(), affine=OBLIQUE), str(folder))
    chunk = next(
        path for path in (folder / "0").rglob("*") if path.is_file() and not path.name.startswith(".")
    )
    chunk.write_bytes(b"not blosc")
    assert main(["validate", str(folder)]) == ExitCode.USAGE
    assert "cannot be read" in capsys.readouterr().out
