"""Round trips between every pair of TRK, TCK and TRX: what comes back is what went in, minus the losses
the target declared, and every declared loss is real."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from tract_helpers import (
    FORMATS,
    assert_same_columns,
    assert_same_grid,
    assert_same_streamlines,
    tractograms,
)

from neurodatahub.core import conversion, streaming
from neurodatahub.core.errors import OutputError
from neurodatahub.models import Tractogram

# what each format drops of the hypothesis tractograms (all numeric float32 arrays, short names)
DROPS = {
    "trk": {"space", "metadata"},
    "tck": {"data_per_point", "data_per_streamline"},
    "trx": set(),
}


def _expected_losses(model: Tractogram, fmt: str) -> set[str]:
    present = {
        "space": model.space is not None,
        "metadata": bool(model.metadata),
        "data_per_point": bool(model.data_per_point),
        "data_per_streamline": bool(model.data_per_streamline),
    }
    return {field for field in DROPS[fmt] if present[field]}


def _dropped(model: Tractogram, fields: set[str]) -> Tractogram:
    """The model as a format that drops `fields` gives it back."""
    return model.model_copy(update=dict.fromkeys(fields))


def _check(found: Tractogram, expected: Tractogram) -> None:
    assert_same_streamlines(found, expected)
    assert_same_grid(found.reference, expected.reference)
    assert_same_columns(found.data_per_point, expected.data_per_point)
    assert_same_columns(found.data_per_streamline, expected.data_per_streamline)
    assert (found.space is None) == (expected.space is None)
    if expected.space is not None:
        assert found.space == expected.space
    assert (found.metadata or {}) == (expected.metadata or {})


@pytest.mark.parametrize(("source", "target"), list(itertools.product(FORMATS, FORMATS)))
@settings(max_examples=12, deadline=None)
@given(data=tractograms(allow_empty_streamlines=False))
def test_every_pair_keeps_all_but_declared_losses(source: str, target: str, data: Tractogram) -> None:
    with tempfile.TemporaryDirectory() as folder:
        first, second = Path(folder) / f"a.{source}", Path(folder) / f"b.{target}"
        lost_first = conversion.write(data, str(first))
        assert {loss.field for loss in lost_first} == _expected_losses(data, source)
        after_first = _dropped(data, _expected_losses(data, source))
        report = conversion.convert(str(first), str(second), overwrite=True)
        assert {loss.field for loss in report.losses} == _expected_losses(after_first, target)
        expected = _dropped(after_first, _expected_losses(after_first, target))
        _check(conversion.read(str(second)), expected)
        assert report.counts["streamlines"] == len(data.offsets)
        assert report.counts["points"] == len(data.positions)


@pytest.mark.parametrize("fmt", ["trk", "trx"])
@settings(max_examples=15, deadline=None)
@given(data=tractograms(allow_empty_streamlines=True))
def test_streamlines_without_points_survive_trk_and_trx(fmt: str, data: Tractogram) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"a.{fmt}"
        conversion.write(data, str(path))
        _check(conversion.read(str(path)), _dropped(data, _expected_losses(data, fmt)))


def test_tck_refuses_a_streamline_without_points(tmp_path: Path) -> None:
    """TCK has no way to say "a streamline of no points" that nibabel reads back; refusing beats a
    file with fewer streamlines than the source, and no half file is left."""
    data = Tractogram(positions=np.ones((4, 3), np.float32), offsets=np.array([0, 2, 2]), data_per_point=None)
    with pytest.raises(OutputError, match="without points"):
        conversion.write(data, str(tmp_path / "out.tck"))
    assert list(tmp_path.iterdir()) == []


def test_chunks_of_a_few_points_give_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk boundaries fall anywhere (even inside the first block of a long streamline) without changing
    the result: a 3-point chunk size against the default, for every format."""
    rng = np.random.default_rng(1)
    lengths = [1, 7, 2, 30, 3, 1, 12]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    from tract_helpers import GRID

    data = Tractogram(
        positions=rng.uniform(-50, 50, (sum(lengths), 3)).astype(np.float32),
        offsets=offsets,
        reference=GRID,
        data_per_point=[{"name": "fa", "values": rng.random(sum(lengths)).astype(np.float32)}],
        data_per_streamline=[{"name": "w", "values": rng.random(len(lengths)).astype(np.float32)}],
    )
    for fmt in FORMATS:
        whole = tmp_path / f"whole.{fmt}"
        conversion.write(data, str(whole))
        monkeypatch.setenv("NEURODATAHUB_TRACT_CHUNK_POINTS", "3")
        small = tmp_path / f"small.{fmt}"
        conversion.write(data, str(small))
        with conversion.open_stream(conversion.input_format(str(whole)), str(whole)) as stream:
            sizes = [len(piece.positions) for piece in stream.chunks]
        monkeypatch.delenv("NEURODATAHUB_TRACT_CHUNK_POINTS")
        assert small.read_bytes() == whole.read_bytes(), fmt
        assert len(sizes) > 3 and max(sizes) <= 30, (fmt, sizes)
        again = conversion.read(str(whole))
        assert_same_streamlines(again, data)


def test_stream_and_whole_summaries_agree(tmp_path: Path) -> None:
    from neurodatahub.core.summary import summarize

    data = Tractogram(
        positions=np.zeros((5, 3), np.float32),
        offsets=np.array([0, 2]),
        reference={"shape": [4, 5, 6], "affine": np.diag([2.0, 2.0, 2.0, 1.0])},
        data_per_point=[{"name": "fa", "values": np.zeros(5, np.float32)}],
    )
    path = tmp_path / "a.trx"
    conversion.write(data, str(path))
    whole = summarize(conversion.read(str(path)))
    with conversion.open_stream(conversion.input_format(str(path)), str(path)) as stream:
        streamed = streaming.summarize_stream(stream.header, streaming.tally(stream.chunks))
    streamed.pop("class")
    whole.pop("class")
    assert whole == streamed
    assert streamed["streamlines"] == 2 and streamed["points"] == 5
    assert streamed["voxel_sizes_mm"] == [2.0, 2.0, 2.0] and streamed["data_per_point"] == ["fa"]
