"""Shared pieces of the spectral tests: a hypothesis strategy for decompositions, and model comparison."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neurodatahub.models import NamedArray, SpectralDecomposition

ARRAYS = ("eigenvalues", "eigenvectors", "vertices", "faces")
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10)
names = text.filter(lambda name: name and "/" not in name and name not in (".", ".."))
scalars = (
    st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_infinity=False, allow_nan=False) | text
)
attribute = scalars | st.lists(st.integers(-1000, 1000), max_size=3) | st.lists(text, min_size=1, max_size=3)
finite = st.floats(-1e6, 1e6, width=32)


def _array(draw: st.DrawFn, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return draw(hnp.arrays(dtype, shape, elements=finite))


@st.composite
def decompositions(draw: st.DrawFn) -> SpectralDecomposition:
    """Any subset of the parts (consistent with each other), float32 or float64, named descriptors."""
    n = draw(st.integers(3, 7))
    k = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    fields: dict[str, Any] = {}
    has_mesh = draw(st.booleans())
    if has_mesh:
        fields["vertices"] = _array(draw, (n, 3), np.float64)
        if draw(st.booleans()):
            fields["faces"] = draw(
                hnp.arrays(
                    draw(st.sampled_from([np.int64, np.int32])),
                    (draw(st.integers(0, 5)), 3),
                    elements=st.integers(0, n - 1),
                )
            )
    if draw(st.booleans()):
        fields["eigenvectors"] = _array(draw, (n, k), dtype)
    if draw(st.booleans()):
        fields["eigenvalues"] = np.sort(_array(draw, (k,), dtype))
    descriptor_names = draw(st.lists(names, max_size=3, unique=True))
    rows = n if (has_mesh or "eigenvectors" in fields) else draw(st.integers(1, 4))
    descriptors = []
    for name in descriptor_names:
        kind = draw(st.sampled_from(["matrix", "vector", "ints", "bools", "text"]))
        values = {
            "matrix": lambda: _array(draw, (rows, 2), dtype),
            "vector": lambda: _array(draw, (rows,), np.float64),
            "ints": lambda: np.arange(rows, dtype=np.int64) * 3,
            "bools": lambda: np.arange(rows) % 2 == 0,
            "text": lambda: np.array([f"v{index}é" for index in range(rows)]),
        }[kind]()
        descriptors.append(
            NamedArray(
                name=name, values=values, description=draw(st.none() | text), unit=draw(st.none() | text)
            )
        )
    metadata = draw(
        st.none()
        | st.dictionaries(
            names.filter(lambda key: key != "spectralbrain_version"), attribute, min_size=1, max_size=4
        )
    )
    return SpectralDecomposition(
        **fields,
        descriptors=descriptors or None,
        metadata=metadata,
        software_version=draw(st.none() | st.just("0.1.0") | text.filter(bool)),
    )


def assert_same(left: SpectralDecomposition, right: SpectralDecomposition) -> None:
    """Equal arrays with equal dtypes, the same descriptors in the same order, equal metadata."""
    for name in ARRAYS:
        a, b = getattr(left, name), getattr(right, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert np.array_equal(a, b) and a.dtype == b.dtype, name
    assert [d.name for d in left.descriptors or ()] == [d.name for d in right.descriptors or ()]
    for a, b in zip(left.descriptors or (), right.descriptors or (), strict=True):
        assert np.array_equal(a.values, b.values) and a.values.dtype.kind == b.values.dtype.kind, a.name
        assert (a.description, a.unit) == (b.description, b.unit)
    assert (left.metadata or None) == (right.metadata or None)
    assert left.software_version == right.software_version
