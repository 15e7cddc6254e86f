"""Both spectral formats, alone and in every pair: lossless, dtypes and descriptor order included."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from spectral_helpers import assert_same, decompositions

from neurodatahub.core import conversion
from neurodatahub.core.registry import get_format
from neurodatahub.models import SpectralDecomposition

FILE_NAMES = {"hdf5": "spectral.h5", "npz": "spectral.npz"}


def _through(model: SpectralDecomposition, folder: Path, format_name: str) -> SpectralDecomposition:
    target = folder / FILE_NAMES[format_name]
    assert conversion.write(model, str(target), format=format_name, overwrite=True) == []
    # by the spectral reader itself: a cache holding only metadata has nothing content detection can see
    return conversion.read_as(get_format(format_name, kind="spectral"), str(target))


@pytest.mark.parametrize(("first", "second"), list(itertools.product(FILE_NAMES, FILE_NAMES)))
@settings(max_examples=40, deadline=None)
@given(model=decompositions())
def test_every_pair_of_spectral_formats_is_lossless(
    first: str, second: str, model: SpectralDecomposition
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert_same(model, _through(_through(model, Path(folder), first), Path(folder), second))


@pytest.mark.parametrize("format_name", list(FILE_NAMES))
def test_content_tells_a_cache_from_other_files_with_the_same_extension(
    format_name: str, tmp_path: Path
) -> None:
    import numpy as np

    from neurodatahub.core.registry import detect_format

    model = SpectralDecomposition(eigenvalues=np.array([0.0, 1.0]), eigenvectors=np.ones((3, 2)))
    target = tmp_path / FILE_NAMES[format_name]
    conversion.write(model, str(target))
    spec = detect_format(str(target))
    assert (spec.kind, spec.name) == ("spectral", format_name)


@pytest.mark.parametrize("name", ["file", "allow_pickle", "eigenvalues", "metadata_json"])
def test_descriptor_names_numpy_or_the_layout_reserve_still_round_trip(name: str, tmp_path: Path) -> None:
    import numpy as np

    from neurodatahub.models import NamedArray

    model = SpectralDecomposition(
        eigenvalues=np.array([0.0, 1.0]),
        eigenvectors=np.ones((3, 2)),
        descriptors=[NamedArray(name=name, values=np.arange(3.0))],
    )
    assert_same(model, _through(model, tmp_path, "npz"))
