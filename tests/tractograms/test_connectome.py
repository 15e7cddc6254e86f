"""`hub connectome`: streamline counts and mean lengths between end-point parcels, against dipy.

dipy's `connectivity_matrix` (the oracle) is run on the same streamlines and label volume; counts must be
identical, mean lengths equal to dipy's `length` in double precision. Also: streamed in small chunks
(the same numbers), S3, the cross-kind hint of `hub convert`, and bad inputs.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from cli_helpers import hub, one_line
from hypothesis import given, settings, strategies as st

from neurodatahub.core import conversion
from neurodatahub.core.errors import ExitCode
from neurodatahub.tractograms.connectome import EndpointCounter, connectome

SHAPE = (12, 14, 10)
AFFINE = np.array([[-2.0, 0, 0, 12], [0, 2, 0, -14], [0, 0, 2.5, -10], [0, 0, 0, 1]])  # LAS, anisotropic


def make_inputs(
    folder: Path, seed: int = 0, n: int = 600, labels: int = 6
) -> tuple[Path, Path, list, np.ndarray]:
    """A TRK written by nibabel (the streamlines as nibabel loads them) and a NIfTI label volume."""
    rng = np.random.default_rng(seed)
    volume = rng.integers(0, labels + 1, size=SHAPE).astype(np.int16)
    volume[volume == 2] = 0  # a gap in the labels: rows are the labels present, not 1..N
    volume[volume == 5] = 1000  # large label values are labels too
    parcellation = folder / "atlas_dseg.nii.gz"
    nib.save(nib.Nifti1Image(volume, AFFINE), parcellation)
    corners = np.array([AFFINE @ [*corner, 1] for corner in [(0, 0, 0), (*(np.array(SHAPE) - 1),)]])[:, :3]
    low, high = corners.min(axis=0) - 0.9, corners.max(axis=0) + 0.9  # ends may fall outside the grid
    streamlines = [
        rng.uniform(low, high, size=(int(rng.integers(2, 25)), 3)).astype(np.float32) for _ in range(n)
    ]
    header = {
        "voxel_to_rasmm": AFFINE,
        "dimensions": SHAPE,
        "voxel_sizes": (2.0, 2.0, 2.5),
        "voxel_order": "LAS",
    }
    tractogram = folder / "tracks.trk"
    nib.streamlines.TrkFile(nib.streamlines.Tractogram(streamlines, affine_to_rasmm=np.eye(4)), header).save(
        tractogram
    )
    loaded = list(nib.streamlines.load(tractogram).streamlines)
    return tractogram, parcellation, loaded, volume


def dipy_reference(streamlines: list, volume: np.ndarray, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Counts and mean lengths from dipy, restricted to streamlines whose ends are in the grid (dipy
    raises for negative voxel indices and numpy for indices past the end; the hub counts those apart)."""
    from dipy.tracking.streamline import length
    from dipy.tracking.utils import connectivity_matrix

    inverse = np.linalg.inv(AFFINE)
    voxels = [np.dot(s[[0, -1]], inverse[:3, :3].T) + inverse[:3, 3] + 0.5 for s in streamlines]
    inside = [
        s for s, v in zip(streamlines, voxels, strict=True) if (v.round(6) >= 0).all() and (v < SHAPE).all()
    ]
    matrix, mapping = connectivity_matrix(inside, AFFINE, volume, return_mapping=True)
    lengths = np.asarray(length([s.astype(np.float64) for s in inside]))
    means = np.zeros((len(ids), len(ids)))
    for (a, b), members in mapping.items():
        if a in ids and b in ids:
            i, j = ids.index(int(a)), ids.index(int(b))
            means[i, j] = means[j, i] = lengths[members].mean()
    return matrix[np.ix_(ids, ids)], means


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), chunk=st.sampled_from([7, 64, 1 << 19]))
def test_counts_equal_dipy_and_lengths_equal_dipy_in_double(
    tmp_path_factory: pytest.TempPathFactory, seed: int, chunk: int
) -> None:
    folder = tmp_path_factory.mktemp("connectome")
    tractogram, parcellation, streamlines, volume = make_inputs(folder, seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURODATAHUB_TRACT_CHUNK_POINTS", str(chunk))  # streamed in chunks of any size
        counts, lengths = connectome(str(tractogram), str(parcellation))
    ids = [int(label) for label in counts.region_labels]
    assert ids == sorted(set(np.unique(volume).tolist()) - {0})
    expected_counts, expected_lengths = dipy_reference(streamlines, volume, ids)
    assert np.array_equal(counts.matrix, expected_counts)
    assert np.allclose(lengths.matrix, expected_lengths, rtol=1e-12, atol=0)
    assert counts.symmetric and counts.measure == "streamline count"
    assert counts.metadata["streamlines"] == len(streamlines)
    assigned = int(np.triu(expected_counts).sum())
    assert counts.metadata["unassigned_streamlines"] == len(streamlines) - assigned


def test_cli_writes_counts_and_lengths_and_tck_gives_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tractogram, parcellation, _, _ = make_inputs(tmp_path)
    code, out, _ = hub(
        capsys, "connectome", str(tractogram), str(parcellation), "-o", str(tmp_path / "conn.tsv"),
        "--lengths", str(tmp_path / "length.h5"),
    )  # fmt: skip
    assert code == 0 and "conn.tsv" in out
    assert hub(capsys, "convert", str(tractogram), str(tmp_path / "tracks.tck"))[0] == 0
    counts, lengths = connectome(str(tmp_path / "tracks.tck"), str(parcellation))
    written = conversion.read(str(tmp_path / "conn.tsv"))
    assert np.array_equal(written.matrix, counts.matrix) and written.region_labels == counts.region_labels
    assert np.allclose(conversion.read(str(tmp_path / "length.h5")).matrix, lengths.matrix, rtol=1e-6)
    # an existing output is refused before anything is read
    code, _, err = hub(
        capsys, "connectome", str(tractogram), str(parcellation), "-o", str(tmp_path / "conn.tsv")
    )
    assert code == ExitCode.OUTPUT and "exists" in one_line(err)


def test_on_s3(tmp_path: Path, s3_bucket: str, aws_env: str, capsys: pytest.CaptureFixture) -> None:
    tractogram, parcellation, _, _ = make_inputs(tmp_path, n=50)
    assert hub(capsys, "convert", str(tractogram), f"{s3_bucket}/t.trk")[0] == 0
    import s3fs

    s3fs.S3FileSystem(endpoint_url=aws_env).put(str(parcellation), f"{s3_bucket}/atlas_dseg.nii.gz")
    code, _, err = hub(
        capsys,
        "connectome",
        f"{s3_bucket}/t.trk",
        f"{s3_bucket}/atlas_dseg.nii.gz",
        "-o",
        f"{s3_bucket}/c.mat",
    )
    assert code == 0, err
    expected, _ = connectome(str(tractogram), str(parcellation))
    assert np.array_equal(conversion.read(f"{s3_bucket}/c.mat").matrix, expected.matrix)


def test_convert_names_the_connectome_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tractogram, _, _, _ = make_inputs(tmp_path, n=5)
    code, _, err = hub(capsys, "convert", str(tractogram), str(tmp_path / "conn.tsv"))
    assert code == ExitCode.USAGE
    assert one_line(err).endswith(
        "tractogram -> connectivity needs a parcellation: hub connectome TRACTOGRAM PARCELLATION"
        f" -o {tmp_path / 'conn.tsv'}"
    )
    code, _, err = hub(capsys, "convert", str(tractogram), str(tmp_path / "tracks.xyz"))
    assert code == ExitCode.USAGE and "no writable format" in one_line(err)


def test_bad_inputs_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tractogram, parcellation, _, _ = make_inputs(tmp_path, n=5)
    out = str(tmp_path / "c.tsv")
    fractional = tmp_path / "fractional.nii.gz"
    nib.save(nib.Nifti1Image(np.full(SHAPE, 0.5, dtype=np.float32), AFFINE), fractional)
    empty = tmp_path / "empty.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros(SHAPE, dtype=np.int16), AFFINE), empty)
    truncated = tmp_path / "cut.trk"
    truncated.write_bytes(tractogram.read_bytes()[:1100])
    for args, fragment in [
        ((str(tractogram), str(fractional)), "non-integer"),
        ((str(tractogram), str(empty)), "no parcels"),
        ((str(parcellation), str(parcellation)), "not a tractogram"),
        ((str(truncated), str(parcellation)), "truncated"),
        ((str(tractogram), str(tmp_path / "missing.nii.gz")), "no such file"),
    ]:
        code, _, err = hub(capsys, "connectome", *args, "-o", out)
        assert code == ExitCode.USAGE and fragment in one_line(err), err
    assert not Path(out).exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_counter_refuses_four_d_series_and_negative_labels() -> None:
    with pytest.raises(Exception, match="3-D label volume"):
        EndpointCounter(np.zeros((2, 2, 2, 3), dtype=np.int16), np.eye(4))
    with pytest.raises(Exception, match="negative labels"):
        EndpointCounter(np.full((2, 2, 2), -1, dtype=np.int16), np.eye(4))
