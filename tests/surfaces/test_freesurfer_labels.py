"""FreeSurfer overlays (morphometry, MGH), annotations, GIfTI label files and .label files: nibabel reads
ours equal and we read what nibabel (and mris_convert, in nibabel's test data) wrote; property round trips
with the declared losses; S3; bad input."""

from __future__ import annotations

import gzip
import tempfile
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from cli_helpers import hub, one_line
from hypothesis import given, settings, strategies as st

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode
from neurodatahub.core.registry import detect_format
from neurodatahub.models import SurfaceLabel, SurfaceLabels, SurfaceMesh

NILEARN = Path(__import__("nilearn").__file__).parent / "datasets" / "data" / "fsaverage5"
NIBABEL_GIFTI = Path(nib.__file__).parent / "gifti" / "tests" / "data"


def fsaverage5(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """nilearn's fsaverage5 left white surface as a FreeSurfer file, and its real cortical thickness."""
    white = conversion.read(str(NILEARN / "white_left.gii.gz"))
    path = tmp_path / "lh.white"
    nib.freesurfer.write_geometry(str(path), white.vertices, white.faces)
    thickness = np.asarray(nib.load(NILEARN / "thick_left.gii.gz").darrays[0].data, dtype=np.float32)
    return path, thickness


# ---- FreeSurfer surfaces, written ----


def test_nibabel_reads_our_surface_with_its_stamp_and_volume_info(tmp_path: Path) -> None:
    source = NIBABEL_GIFTI.parent.parent / "freesurfer"  # unused: nibabel ships no FreeSurfer surface
    del source
    vertices = np.random.default_rng(1).normal(0, 30, (20, 3)).astype(np.float32)
    faces = np.array([[0, 1, 2], [2, 3, 4], [5, 6, 19]], dtype=np.int32)
    info = {"head": [2, 0, 20], "valid": "1  # volume info valid", "filename": "vol.mgz", "volume": [256] * 3,
            "voxelsize": [1.0] * 3, "xras": [-1.0, 0, 0], "yras": [0, 0, -1.0], "zras": [0, 1.0, 0],
            "cras": [1.5, -17.25, 18.0]}  # fmt: skip
    mesh = SurfaceMesh(
        vertices=vertices, faces=faces, hemisphere="R",
        metadata={"freesurfer": {"created_by": "created by bert", "volume_info": info}},
    )  # fmt: skip
    losses = conversion.write(mesh, str(tmp_path / "rh.pial"))
    assert [loss.field for loss in losses] == ["hemisphere"]  # kept only in the file name
    coords, tris, volume_info, stamp = nib.freesurfer.read_geometry(
        str(tmp_path / "rh.pial"), read_metadata=True, read_stamp=True
    )
    assert np.array_equal(coords, vertices) and np.array_equal(tris, faces) and stamp == "created by bert"
    assert volume_info["filename"] == "vol.mgz" and list(volume_info["cras"]) == [1.5, -17.25, 18.0]
    back = conversion.read(str(tmp_path / "rh.pial"))
    assert back.hemisphere == "R" and back.metadata == mesh.metadata


# ---- overlays ----


def test_morphometry_both_ways_with_nibabel_on_fsaverage5(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    surface, thickness = fsaverage5(tmp_path)
    theirs = tmp_path / "lh.thickness"
    nib.freesurfer.write_morph_data(str(theirs), thickness)
    assert detect_format(str(theirs)).name == "freesurfer-morph"
    mesh = conversion.read(str(theirs), geometry=str(surface))
    assert mesh.vertex_data[0].name == "thickness"
    assert np.array_equal(mesh.vertex_data[0].values, thickness)
    code, _, err = hub(
        capsys, "convert", str(theirs), str(tmp_path / "lh.thickness.mgz"), "-R", f"geometry={surface}"
    )
    assert code == 0, err
    assert np.array_equal(np.asarray(nib.load(tmp_path / "lh.thickness.mgz").dataobj).reshape(-1), thickness)
    code, _, err = hub(
        capsys,
        "convert",
        str(tmp_path / "lh.thickness.mgz"),
        str(tmp_path / "rh.curv"),
        "-R",
        f"geometry={surface}",
    )
    assert code == 0, err
    assert np.array_equal(nib.freesurfer.read_morph_data(str(tmp_path / "rh.curv")), thickness)


def test_mgh_overlays_with_frames_and_volumes_apart(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    surface, thickness = fsaverage5(tmp_path)
    frames = np.stack([thickness, thickness * 2, -thickness], axis=1)
    nib.save(nib.MGHImage(frames.reshape(-1, 1, 1, 3), np.eye(4)), tmp_path / "lh.series.mgh")
    mesh = conversion.read(str(tmp_path / "lh.series.mgh"), geometry=str(surface))
    assert mesh.vertex_data[0].name == "series" and np.array_equal(mesh.vertex_data[0].values, frames)
    conversion.write(mesh, str(tmp_path / "out.mgz"))
    with gzip.open(tmp_path / "out.mgz") as handle:
        assert handle.read(4) == b"\x00\x00\x00\x01"
    assert np.array_equal(np.asarray(nib.load(tmp_path / "out.mgz").dataobj).reshape(-1, 3), frames)
    volume = Path(nib.__file__).parent / "tests" / "data" / "test.mgz"  # a real MGH volume: not an overlay
    code, _, err = hub(capsys, "convert", str(volume), str(tmp_path / "x.mgh"), "--from", "mgh-overlay",
                       "-R", f"geometry={surface}")  # fmt: skip
    assert code == ExitCode.USAGE and "not a surface overlay" in one_line(err)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), fmt=st.sampled_from(["freesurfer-morph", "mgh-overlay"]), data=st.data()
)
def test_overlay_round_trips_with_declared_losses(seed: int, fmt: str, data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    kind = data.draw(
        st.sampled_from(
            ["float32", "float64", "int32", "frames"] if fmt == "mgh-overlay" else ["float32", "float64"]
        )
    )
    values = {
        "float32": rng.normal(size=n).astype(np.float32), "float64": rng.normal(size=n),
        "int32": rng.integers(-5, 5, n).astype(np.int32),
        "frames": rng.normal(size=(n, 2)).astype(np.float32),
    }[kind]  # fmt: skip
    mesh = SurfaceMesh(
        vertices=rng.normal(size=(n, 3)), faces=np.zeros((0, 3), dtype=np.int64),
        vertex_data=[{"name": "thickness", "values": values}],
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        geometry = Path(folder) / "lh.white.vtp"
        conversion.write(mesh.model_copy(update={"vertex_data": None}), str(geometry))
        target = Path(folder) / ("lh.thickness" if fmt == "freesurfer-morph" else "lh.thickness.mgz")
        losses = {loss.field for loss in conversion.write(mesh, str(target), format=fmt)}
        back = conversion.read(str(target), geometry=str(geometry))
    assert {"vertices", "faces"} <= losses
    assert ("vertex_data.thickness" in losses) == (kind == "float64")
    assert (
        np.allclose(back.vertex_data[0].values, values, rtol=1e-6)
        and back.vertex_data[0].values.shape == values.shape
    )


# ---- annotations and GIfTI label files ----


def test_mris_convert_label_gifti_to_annot_and_back(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = NIBABEL_GIFTI / "rh.aparc.annot.gii"  # FreeSurfer's aparc, as mris_convert --annot wrote it
    original = conversion.read(str(source))
    assert len(original.label_table) == 36 and original.label_table[1].name == "bankssts"
    code, _, err = hub(capsys, "convert", str(source), str(tmp_path / "rh.aparc.annot"))
    assert code == 0 and "keys" in err  # renumbered 0..35 and unlabelled vertices: declared
    keys, ctab, names = nib.freesurfer.read_annot(str(tmp_path / "rh.aparc.annot"))
    assert [name.decode() for name in names] == [entry.name for entry in original.label_table]
    assert [list(row[:3]) for row in ctab[1:]] == [
        list(entry.color[:3]) for entry in original.label_table[1:]
    ]
    table_keys = [entry.key for entry in original.label_table]
    expected = np.array([table_keys.index(key) if key in table_keys else -1 for key in original.keys])
    assert np.array_equal(keys[expected >= 0], expected[expected >= 0])
    assert (
        hub(capsys, "convert", str(tmp_path / "rh.aparc.annot"), str(tmp_path / "rh.aparc.label.gii"))[0] == 0
    )
    gifti = nib.load(tmp_path / "rh.aparc.label.gii")
    assert np.array_equal(gifti.darrays[0].data, keys)
    assert [label.label for label in gifti.labeltable.labels] == [
        entry.name for entry in original.label_table
    ]
    assert gifti.darrays[0].meta["AnatomicalStructurePrimary"] == "CortexRight"


def test_annot_written_by_nibabel_reads_equal(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ctab = np.array([[25, 5, 25, 0], [25, 100, 40, 0], [125, 100, 160, 0], [100, 25, 0, 10]])
    names = ["unknown", "bankssts", "caudalanteriorcingulate", "caudalmiddlefrontal"]
    keys = rng.integers(-1, 4, 500)
    nib.freesurfer.write_annot(str(tmp_path / "lh.aparc.annot"), keys, ctab, names)
    back = conversion.read(str(tmp_path / "lh.aparc.annot"))
    assert back.hemisphere == "L" and np.array_equal(back.keys, keys)
    assert [entry.name for entry in back.label_table] == names
    assert [entry.color.tolist() for entry in back.label_table][3] == [100, 25, 0, 245]


@st.composite
def surface_labels(draw: st.DrawFn) -> SurfaceLabels:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(1, 6))
    consecutive = draw(st.booleans())
    table_keys = list(range(k)) if consecutive else rng.choice(np.arange(-3, 5000), k, replace=False).tolist()
    table_keys = [key for key in table_keys if key != -1] or [0]
    letters = st.characters(codec="utf-8", categories=("L", "N", "P", "Zs"))
    size = len(table_keys)
    names = draw(st.lists(st.text(letters, min_size=1, max_size=8), min_size=size, max_size=size))
    colors = rng.integers(0, 256, (len(table_keys), 4))
    if draw(st.booleans()) and len(table_keys) > 1:
        colors[1, :3] = colors[0, :3]  # two labels of one colour
    n = draw(st.integers(1, 40))
    keys = rng.choice([*table_keys, -1], n)
    return SurfaceLabels(
        keys=keys,
        label_table=[
            {"key": key, "name": name, "color": color}
            for key, name, color in zip(table_keys, names, colors, strict=True)
        ],
        hemisphere=draw(st.sampled_from([None, "L", "R", "bilateral"])),
        space=draw(st.sampled_from([None, "fsaverage5"])),
        metadata=draw(st.sampled_from([None, {"atlas": "aparc", "n": [1, 2]}])),
    )


def _table(labels: SurfaceLabels, strip: bool = False) -> list:
    return [
        (entry.key, entry.name.strip() if strip else entry.name, entry.color.tolist())
        for entry in labels.label_table
    ]


def _per_vertex(labels: SurfaceLabels) -> list:
    table = {entry.key: (entry.name, tuple(entry.color.tolist())) for entry in labels.label_table}
    return [table.get(key) for key in labels.keys.tolist()]


@settings(max_examples=40, deadline=None)
@given(labels=surface_labels())
def test_labels_round_trip_through_annot_and_gifti(labels: SurfaceLabels) -> None:
    with tempfile.TemporaryDirectory() as folder:
        gifti_losses = conversion.write(labels, str(Path(folder) / "lh.x.label.gii"))
        via_gifti = conversion.read(str(Path(folder) / "lh.x.label.gii"))
        annot_losses = {
            loss.field: loss.reason for loss in conversion.write(labels, str(Path(folder) / "lh.x.annot"))
        }
        via_annot = conversion.read(str(Path(folder) / "lh.x.annot"))
    padded = any(entry.name != entry.name.strip() for entry in labels.label_table)
    expected = ["hemisphere"] * (labels.hemisphere == "bilateral") + ["label_table"] * padded
    assert [loss.field for loss in gifti_losses] == expected
    assert np.array_equal(via_gifti.keys, labels.keys) and _table(via_gifti) == _table(labels, strip=True)
    assert via_gifti.space == labels.space and via_gifti.metadata == labels.metadata
    colors = [tuple(entry.color[:3].tolist()) for entry in labels.label_table]
    merged = len(set(colors)) < len(colors) or ((0, 0, 0) in colors and (labels.keys == -1).any())
    assert ("keys" in annot_losses) == (
        merged or [e.key for e in labels.label_table] != list(range(len(colors)))
    )
    assert [entry.name for entry in via_annot.label_table] == [entry.name for entry in labels.label_table]
    if not merged:
        assert _per_vertex(via_annot) == _per_vertex(labels)
    assert {"space", "metadata"} & set(annot_losses) == {
        name for name in ("space", "metadata") if getattr(labels, name)
    }


# ---- .label ----


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), decimals=st.sampled_from([3, 6]))
def test_label_files_round_trip_and_nibabel_reads_them(seed: int, decimals: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    label = SurfaceLabel(
        vertex_indices=rng.choice(100_000, n, replace=False),
        coordinates=np.round(rng.normal(0, 40, (n, 3)), decimals),
        values=np.round(rng.random(n), 4), subject="bert",
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lh.BA1.label"
        losses = [loss.field for loss in conversion.write(label, str(path))]
        back = conversion.read(str(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns about an empty label's missing rows
            indices, scalars = nib.freesurfer.read_label(str(path), read_scalars=True)
    assert losses == (["coordinates"] if decimals == 6 and n else [])
    indices, scalars = np.atleast_1d(indices), np.atleast_1d(scalars)  # nibabel squeezes a single row
    assert np.array_equal(indices, label.vertex_indices) and np.allclose(scalars, label.values)
    assert back.subject == "bert" and back.hemisphere == "L" and np.array_equal(back.values, label.values)
    assert np.allclose(back.coordinates, label.coordinates, atol=5e-4)


# ---- S3 and bad input ----


def test_every_new_surface_format_on_s3(tmp_path: Path, s3_bucket: str, aws_env: str) -> None:
    surface, thickness = fsaverage5(tmp_path)
    import s3fs

    s3fs.S3FileSystem(endpoint_url=aws_env).put(str(surface), f"{s3_bucket}/lh.white")
    mesh = conversion.read(f"{s3_bucket}/lh.white")
    with_data = SurfaceMesh(
        vertices=mesh.vertices, faces=mesh.faces, vertex_data=[{"name": "thickness", "values": thickness}]
    )
    for name in ("lh.thickness", "lh.thickness.mgz"):
        conversion.write(with_data, f"{s3_bucket}/{name}")
        back = conversion.read(f"{s3_bucket}/{name}", geometry=f"{s3_bucket}/lh.white")
        assert np.array_equal(back.vertex_data[0].values, thickness)
    labels = SurfaceLabels(
        keys=[0, 1, 1, 2, -1],
        label_table=[{"key": key, "name": name, "color": [key * 40, 100, 50, 255]} for key, name in
                     enumerate(["unknown", "bankssts", "cuneus"])],
    )  # fmt: skip
    for name in ("lh.x.annot", "lh.x.label.gii"):
        conversion.write(labels, f"{s3_bucket}/{name}")
        assert np.array_equal(conversion.read(f"{s3_bucket}/{name}").keys, labels.keys)
    region = SurfaceLabel(vertex_indices=[4, 9], coordinates=[[1.0, 2, 3], [4, 5, 6.5]], values=[0, 1.0])
    conversion.write(region, f"{s3_bucket}/lh.region.label")
    assert conversion.read(f"{s3_bucket}/lh.region.label").vertex_indices.tolist() == [4, 9]


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    surface, thickness = fsaverage5(tmp_path)
    nib.freesurfer.write_morph_data(str(tmp_path / "lh.thickness"), thickness)
    cut = tmp_path / "lh.cut.thickness"
    cut.write_bytes((tmp_path / "lh.thickness").read_bytes()[:400])
    short = tmp_path / "lh.short.thickness"
    nib.freesurfer.write_morph_data(str(short), thickness[:10])
    conversion.write(conversion.read(str(NIBABEL_GIFTI / "label.gii")), str(tmp_path / "lh.x.annot"))
    bad_annot = tmp_path / "lh.bad.annot"
    bad_annot.write_bytes((tmp_path / "lh.x.annot").read_bytes()[:5000])
    bad_label = tmp_path / "lh.bad.label"
    bad_label.write_text("#!ascii label  , from subject bert vox2ras=TkReg\n3\n1  0.0  0.0  0.0 0.0\n")
    conversion.write(conversion.read(str(tmp_path / "lh.x.annot")), str(tmp_path / "lh.x.label.gii"))
    cut_gifti = tmp_path / "lh.cut.label.gii"
    cut_gifti.write_bytes((tmp_path / "lh.x.label.gii").read_bytes()[:1500])
    out = str(tmp_path / "out.vtp")
    for args, fragment in [
        ((str(cut_gifti), str(tmp_path / "o.annot"), "--from", "gifti-label"), "GIfTI"),
        ((str(tmp_path / "lh.thickness"), out), "without geometry"),
        ((str(cut), out, "-R", f"geometry={surface}"), "truncated"),
        ((str(short), out, "-R", f"geometry={surface}"), "has 10 values per array but"),
        ((str(bad_annot), str(tmp_path / "o.label.gii")), "not a readable FreeSurfer annotation"),
        ((str(bad_label), str(tmp_path / "o.json")), "announces 3 vertices but lists 1"),
    ]:
        code, _, err = hub(capsys, "convert", *args)
        assert code == ExitCode.USAGE and fragment in one_line(err), err
    assert not Path(out).exists() and not (tmp_path / "o.label.gii").exists()
    assert not (tmp_path / "o.annot").exists()


def test_previews_of_labels_draw_each_label_in_its_colour() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from neurodatahub.core import preview

    labels = SurfaceLabels(
        keys=[0, 1, 1, 1, 2],
        label_table=[
            {"key": 0, "name": "unknown", "color": [0, 0, 255, 255]},
            {"key": 1, "name": "bankssts", "color": [255, 0, 0, 255]},
            {"key": 2, "name": "cuneus", "color": [0, 160, 0, 255]},
        ],
    )
    figure = preview.figure(labels)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)
    axes = figure.axes[0]
    for row, (count, colour) in enumerate(((1, [0, 0, 255]), (3, [255, 0, 0]), (1, [0, 160, 0]))):
        column, height = axes.transData.transform((count / 2, row))
        assert image[image.shape[0] - round(float(height)), round(float(column))].tolist() == colour
    region = SurfaceLabel(vertex_indices=[1, 2], coordinates=[[0.0, 1, 2], [3, 4, 5]], values=[0.0, 1.0])
    assert len(preview.figure(region).axes) == 3  # two views and the colour bar
