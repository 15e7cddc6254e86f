"""Shared pieces of the connectivity tests: hypothesis strategies, and comparison up to declared losses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from neurodatahub.core import conversion
from neurodatahub.models import ConnectivityMatrix

# one file name per format; the extension picks the format within the connectivity kind
FILE_NAMES = {
    "tsv": "conn.tsv",
    "csv": "conn.csv",
    "npz": "conn.npz",
    "hdf5": "conn.h5",
    "parquet": "conn.parquet",
    "edges-tsv": "conn.edges.tsv",
    "mat": "conn.mat",
    "graphml": "conn.graphml",
}
TEXT_FORMATS = {"tsv", "csv", "edges-tsv"}  # values come back as float64 whatever the model's dtype
OPTIONAL = ("measure", "atlas", "symmetric", "description", "metadata")

# any printable text; tabs, quotes, commas and separators test the quoting of the text formats
label_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from(["\t", '"', ",", " ", "é", "\u2028"]),
    min_size=1,
    max_size=8,
)
plain_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
metadata_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)  # JSON holds NUL
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | metadata_text
)
metadata_keys = metadata_text.filter(bool) | st.sampled_from(["mrtrix_header", "measure", "k"])
metadata = st.none() | st.dictionaries(
    metadata_keys,
    json_scalars | st.lists(json_scalars, max_size=3) | st.lists(metadata_text),
    min_size=1,
    max_size=4,
)
# below the float64 limit, where %.10g could round a value up to infinity (tested on its own)
values = st.sampled_from([0.0, 0.0, 1.0, -0.0, np.nan, 0.1, 1e-300, 12.0]) | st.floats(-1e300, 1e300)


@st.composite
def connectivity(draw: st.DrawFn, *, max_regions: int = 6) -> ConnectivityMatrix:
    """Matrices of 1..max_regions regions: symmetric or not, sparse or dense, NaN, float32 sometimes."""
    n = draw(st.integers(1, max_regions))
    flat = draw(st.lists(values, min_size=n * n, max_size=n * n))
    dtype = draw(st.sampled_from([np.float64, np.float64, np.float32]))
    matrix = np.array(flat, dtype=np.float64).reshape(n, n)
    if dtype is np.float32:
        with np.errstate(over="ignore"):
            matrix = matrix.astype(np.float32)
        matrix[np.isinf(matrix)] = 0  # float64 values beyond float32's range
    symmetric = draw(st.booleans())
    if symmetric:
        matrix = np.triu(matrix) + np.triu(matrix, 1).T
    flag = draw(st.sampled_from([None, True, False])) if symmetric else draw(st.sampled_from([None, False]))
    return ConnectivityMatrix(
        matrix=matrix,
        region_labels=draw(st.lists(label_text, min_size=n, max_size=n, unique=True)),
        measure=draw(st.none() | plain_text),
        atlas=draw(st.none() | plain_text),
        symmetric=flag,
        description=draw(st.none() | plain_text),
        metadata=draw(metadata),
    )


def write_read(model: ConnectivityMatrix, folder: Path, format_name: str, **options: Any) -> tuple[Any, list]:
    """Write with the registry (atomic, checked), read back by content detection; returns (model, losses)."""
    target = folder / FILE_NAMES[format_name]
    losses = conversion.write(model, str(target), format=format_name, overwrite=True, **options)
    back = conversion.read(str(target))
    assert type(back).__name__ == "ConnectivityMatrix"
    return back, losses


def _normal(metadata: Any) -> Any:
    return None if metadata == {} else metadata


def assert_same_matrix(left: Any, right: Any, *, exact_dtype: bool = True) -> None:
    assert np.array_equal(np.asarray(left), np.asarray(right), equal_nan=True)
    if exact_dtype:
        assert np.asarray(left).dtype == np.asarray(right).dtype


def assert_same_but_declared(original: Any, back: Any, losses: list, *, exact_dtype: bool) -> None:
    """Equal field by field, except the fields a writer declared it could not store."""
    lost = {loss.field for loss in losses}
    assert back.region_labels == original.region_labels
    if "matrix" not in lost:
        assert_same_matrix(back.matrix, original.matrix, exact_dtype=exact_dtype)
    for name in OPTIONAL:
        if name not in lost:
            assert _normal(getattr(back, name)) == _normal(getattr(original, name)), name


def expected_losses(model: ConnectivityMatrix, format_name: str) -> set[str]:
    """What each format is documented to drop from this model (the test's own account, not the code's)."""
    if format_name in ("tsv", "edges-tsv"):
        lost = {name for name in OPTIONAL if getattr(model, name) is not None}
        rounded = format_name == "tsv" and not _survives(model.matrix, "%.10g")
        return lost | ({"matrix"} if rounded else set())
    if format_name == "csv" and isinstance(model.metadata, dict):
        reserved = {"atlas_name", "measure", "n_regions", "region_labels", "symmetric", "description"}
        return {"metadata"} if reserved & set(model.metadata) else set()
    return set()


def _survives(matrix: np.ndarray, float_format: str) -> bool:
    flat = np.asarray(matrix, dtype=np.float64).reshape(-1)
    back = np.array([float(float_format % value) for value in flat.tolist()])
    return bool(np.array_equal(back, flat, equal_nan=True))
