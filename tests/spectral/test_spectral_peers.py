"""spectralbrain 0.1.0 is the oracle: its caches read equal here, ours load equal in its load_hdf5, and the
compat functions write what it writes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from spectral_helpers import decompositions
from spectralbrain.io import export as sb

from neurodatahub.compat import spectralbrain as compat
from neurodatahub.core import conversion
from neurodatahub.core.errors import InvalidDataError
from neurodatahub.models import SpectralDecomposition

logging.getLogger("spectralbrain").setLevel(logging.WARNING)
sb_metadata = st.dictionaries(
    st.sampled_from(["subject", "hemi", "n_eigenvalues", "backend", "sigma", "flag"]),
    st.integers(-1000, 1000) | st.floats(-1e3, 1e3) | st.text("abcxyz-_", max_size=6) | st.booleans(),
    max_size=4,
)


@st.composite
def save_hdf5_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """What a spectralbrain user passes to save_hdf5: any subset of the parts."""
    n, k = draw(st.integers(3, 6)), draw(st.integers(1, 3))
    floats = st.floats(-10, 10, width=32)
    arguments: dict[str, Any] = {}
    if draw(st.booleans()):
        arguments["eigenvalues"] = np.sort(draw(hnp.arrays(np.float64, k, elements=floats)))
    if draw(st.booleans()):
        arguments["eigenvectors"] = draw(
            hnp.arrays(draw(st.sampled_from([np.float32, np.float64])), (n, k), elements=floats)
        )
    if draw(st.booleans()):
        arguments["vertices"] = draw(hnp.arrays(np.float64, (n, 3), elements=floats))
        arguments["faces"] = draw(hnp.arrays(np.int64, (2, 3), elements=st.integers(0, n - 1)))
    names = draw(st.lists(st.sampled_from(["hks", "wks", "gps", "eigenvalues"]), unique=True, max_size=3))
    if names:
        arguments["descriptors"] = {
            name: draw(hnp.arrays(np.float64, (n, 2), elements=floats)) for name in names
        }
    arguments["metadata"] = draw(sb_metadata)
    return arguments


def _their_view(model: SpectralDecomposition) -> dict[str, Any]:
    """The model as spectralbrain's load_hdf5 shows a cache: arrays, descriptors by name, metadata."""
    out: dict[str, Any] = {
        name: getattr(model, name)
        for name in ("eigenvalues", "eigenvectors", "vertices", "faces")
        if getattr(model, name) is not None
    }
    if model.descriptors:
        out["descriptors"] = {d.name: d.values for d in model.descriptors}
    out["metadata"] = {
        **(model.metadata or {}),
        **({"spectralbrain_version": model.software_version} if model.software_version else {}),
    }
    return out


def _assert_same_dicts(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if key == "descriptors":
            assert set(ours[key]) == set(value)
            for name, array in value.items():
                assert np.array_equal(ours[key][name], array)
        elif key == "metadata":
            assert {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in value.items()} == ours[key]
        else:
            assert np.array_equal(ours[key], value) and np.asarray(ours[key]).dtype == value.dtype, key


@settings(max_examples=40, deadline=None)
@given(arguments=save_hdf5_arguments())
def test_spectralbrain_caches_read_equal(
    arguments: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("sb") / "cache.h5"
    sb.save_hdf5(path, **arguments)
    model = conversion.read(str(path))  # found by content among the .h5 formats
    assert isinstance(model, SpectralDecomposition) and model.software_version == "0.1.0"
    _assert_same_dicts(_their_view(model), sb.load_hdf5(path))
    _assert_same_dicts(compat.load_hdf5(path), sb.load_hdf5(path))


@settings(max_examples=40, deadline=None)
@given(model=decompositions())
def test_our_caches_load_equal_in_spectralbrain(
    model: SpectralDecomposition, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("ours") / "cache.h5"
    conversion.write(model, str(path))
    theirs = sb.load_hdf5(path)
    view = _their_view(model)
    if "descriptors" in view:  # spectralbrain's loader decodes nothing: text comes back as bytes
        theirs["descriptors"] = {
            name: np.char.decode(values.astype(bytes), "utf-8") if values.dtype.kind == "O" else values
            for name, values in theirs["descriptors"].items()
        }
    theirs["metadata"] = {
        key: [item.decode() if isinstance(item, bytes) else item for item in value.tolist()]
        if isinstance(value, np.ndarray)
        else value
        for key, value in theirs["metadata"].items()
    }
    _assert_same_dicts(view, theirs)


def test_the_compat_writer_makes_spectralbrains_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    arguments = {
        "eigenvalues": np.sort(rng.random(4)),
        "eigenvectors": rng.normal(size=(6, 4)).astype(np.float32),
        "vertices": rng.normal(size=(6, 3)),
        "faces": np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int32),
        "descriptors": {"wks": rng.random((6, 3)), "hks": rng.random((6, 2))},
        "metadata": {"subject": "sub-01", "hemi": "lh", "n_eigenvalues": 4, "t": 0.5},
    }
    theirs, ours = tmp_path / "theirs.h5", tmp_path / "sub" / "ours.h5"
    sb.save_hdf5(theirs, **arguments)
    assert compat.save_hdf5(ours, **arguments) == ours  # a missing folder is created, as spectralbrain does

    def layout(path: Path) -> dict[str, Any]:
        with h5py.File(path) as file:
            found: dict[str, Any] = {"attrs": {key: file.attrs[key] for key in file.attrs}}
            file.visititems(
                lambda name, item: (
                    found.__setitem__(
                        name,
                        (item.shape, item.dtype, item.compression, item.compression_opts, item[()].tolist()),
                    )
                    if isinstance(item, h5py.Dataset)
                    else None
                )
            )
            return found

    assert layout(ours) == layout(theirs)
    _assert_same_dicts(compat.load_hdf5(ours), sb.load_hdf5(theirs))


def test_compat_validates_what_spectralbrain_would_write_blindly(tmp_path: Path) -> None:
    target = tmp_path / "cache.h5"
    target.write_bytes(b"the previous cache")
    with pytest.raises(InvalidDataError, match="3 eigenvalues for 2 eigenvectors"):
        compat.save_hdf5(target, eigenvalues=np.arange(3.0), eigenvectors=np.ones((4, 2)))
    with pytest.raises(InvalidDataError, match="face vertex indices"):
        compat.save_hdf5(target, vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 3]]))
    with pytest.raises(InvalidDataError, match="metadata values"):
        compat.save_hdf5(target, eigenvalues=np.ones(2), metadata={"nested": {"a": 1}})
    assert target.read_bytes() == b"the previous cache"


def test_npz_both_ways(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    evals, evecs, hks = np.sort(rng.random(3)), rng.normal(size=(5, 3)), rng.random((5, 2))
    theirs = tmp_path / "theirs.npz"
    sb.save_npz(theirs, eigenvalues=evals, eigenvectors=evecs, hks=hks)
    model = conversion.read(str(theirs))
    assert np.array_equal(model.eigenvectors, evecs) and model.descriptors[0].name == "hks"
    ours = compat.save_npz(tmp_path / "ours.npz", eigenvalues=evals, eigenvectors=evecs, hks=hks)
    assert ours == tmp_path / "ours.npz"
    with np.load(ours, allow_pickle=False) as mine, np.load(theirs, allow_pickle=False) as reference:
        assert sorted(mine.files) == sorted(reference.files)
        assert all(np.array_equal(mine[name], reference[name]) for name in reference.files)
    with zipfile_of(ours) as archive:
        assert {info.compress_type for info in archive.infolist()} == {8}  # deflated, as savez_compressed


def zipfile_of(path: Path) -> Any:
    import zipfile

    return zipfile.ZipFile(path)
