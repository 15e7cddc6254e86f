"""Shared helpers of the tractogram tests: small tractograms (hypothesis), comparisons, raw TRK files."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from hypothesis import strategies as st

from neurodatahub.models import ImageGrid, NamedArray, Tractogram

NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"
FORMATS = ("trk", "tck", "trx")
# MNI152NLin6Asym 2 mm, the grid of the hypothesis tractograms (positions stay inside it)
GRID = ImageGrid(
    shape=np.array([91, 109, 91]),
    affine=np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]]),
)


def nibabel_file(name: str) -> str:
    return str(NIBABEL_DATA / name)


def dipy_file(name: str) -> str:
    import dipy

    return str(Path(dipy.__file__).parent / "data" / "files" / name)


@st.composite
def tractograms(draw: Any, allow_empty_streamlines: bool = True, max_streamlines: int = 6) -> Tractogram:
    """A small valid tractogram: float32 positions in the brain, optional named per-point and
    per-streamline arrays (float32, 1 or 3 wide), a grid, sometimes a space and metadata."""
    low = 0 if allow_empty_streamlines else 1
    lengths = draw(st.lists(st.integers(low, 5), max_size=max_streamlines))
    n_points, n_lines = sum(lengths), len(lengths)
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    positions = rng.uniform(-80, 80, size=(n_points, 3)).astype(np.float32)
    offsets = (
        np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if lengths else np.zeros(0, np.int64)
    )

    def arrays(rows: int, prefix: str) -> list[NamedArray]:
        widths = draw(st.lists(st.sampled_from([1, 3]), max_size=2))
        shapes = [(rows,) if width == 1 else (rows, width) for width in widths]
        return [
            NamedArray(name=f"{prefix}{index}", values=rng.uniform(-5, 5, size=shape).astype(np.float32))
            for index, shape in enumerate(shapes)
        ]

    space = draw(st.sampled_from([None, "MNI152NLin6Asym"]))
    metadata = draw(st.sampled_from([None, {"software": "hypothesis", "step_size": "0.5"}]))
    return Tractogram(
        positions=positions,
        offsets=offsets,
        reference=GRID,
        data_per_point=arrays(n_points, "dpp") or None,
        data_per_streamline=arrays(n_lines, "dps") or None,
        space=space,
        metadata=metadata,
    )


def lengths(model: Tractogram) -> np.ndarray:
    return np.diff(np.append(np.asarray(model.offsets, dtype=np.int64), len(model.positions)))


def columns(named: list[NamedArray] | None) -> dict[str, np.ndarray]:
    return {column.name: np.asarray(column.values) for column in named or ()}


def assert_same_streamlines(found: Tractogram, expected: Tractogram, atol: float = 1e-4) -> None:
    assert len(found.offsets) == len(expected.offsets)
    np.testing.assert_array_equal(np.asarray(found.offsets), np.asarray(expected.offsets))
    np.testing.assert_allclose(np.asarray(found.positions), np.asarray(expected.positions), atol=atol, rtol=0)


def assert_same_grid(found: Any, expected: Any) -> None:
    assert found is not None and expected is not None
    np.testing.assert_array_equal(found.shape, expected.shape)
    np.testing.assert_allclose(found.affine, expected.affine, atol=1e-5)


def assert_same_columns(found: list | None, expected: list | None) -> None:
    found_columns, expected_columns = columns(found), columns(expected)
    assert list(found_columns) == list(expected_columns)
    for name, values in expected_columns.items():
        np.testing.assert_allclose(found_columns[name].reshape(values.shape), values, atol=1e-6, rtol=0)


def write_raw_trk(
    path: Path, n_streamlines: int, points: int, *, seed: int = 0, count_in_header: bool = True
) -> np.ndarray:
    """A TRK written with numpy alone (no hub code): `points` per streamline, RAS 1 mm grid, voxmm
    coordinates; returns the voxmm positions as written."""
    from nibabel.streamlines.trk import TrkFile

    header = TrkFile._default_structarr(endianness="little")
    header["dimensions"] = (100, 100, 100)
    header["voxel_sizes"] = (1, 1, 1)
    header["voxel_order"] = b"RAS"
    header["nb_streamlines"] = n_streamlines if count_in_header else 0
    rng = np.random.default_rng(seed)
    coords = rng.uniform(0, 100, size=(n_streamlines, points, 3)).astype("<f4")
    records = np.empty((n_streamlines, 1 + 3 * points), dtype="<f4")
    records[:, 1:] = coords.reshape(n_streamlines, -1)
    records.view("<i4")[:, 0] = points
    with open(path, "wb") as handle:
        handle.write(header.tobytes())
        records.tofile(handle)
    return coords.reshape(-1, 3)


def trk_count_field(path: Path) -> int:
    """nb_streamlines of a little-endian TRK header (offset 988)."""
    return struct.unpack("<i", Path(path).read_bytes()[988:992])[0]
