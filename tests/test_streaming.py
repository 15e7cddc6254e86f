"""The streaming core: chunks join into the model they were cut from, tallies tell copies apart."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from neurodatahub.core import streaming
from neurodatahub.models import NamedArray, Tractogram


def _tractogram(lengths: list[int], seed: int = 0) -> Tractogram:
    rng = np.random.default_rng(seed)
    n_points = sum(lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if lengths else np.zeros(0)
    return Tractogram(
        positions=rng.normal(size=(n_points, 3)).astype(np.float32),
        offsets=offsets,
        data_per_point=[NamedArray(name="fa", values=rng.random(n_points))],
        data_per_streamline=[NamedArray(name="length", values=np.asarray(lengths, dtype=np.float64))],
        space="MNI152NLin2009cAsym",
    )


def _cut(whole: Tractogram, streamline_groups: list[slice]) -> list[Tractogram]:
    """Pieces of a tractogram, each a valid tractogram with offsets from 0."""
    ends = np.append(whole.offsets[1:], len(whole.positions))
    pieces = []
    for group in streamline_groups:
        starts, stops = whole.offsets[group], ends[group]
        first, last = starts[0], stops[-1]
        pieces.append(
            Tractogram(
                positions=whole.positions[first:last],
                offsets=starts - first,
                data_per_point=[NamedArray(name="fa", values=whole.data_per_point[0].values[first:last])],
                data_per_streamline=[
                    NamedArray(name="length", values=whole.data_per_streamline[0].values[group])
                ],
                space=whole.space,
            )
        )
    return pieces


def _header(whole: Tractogram) -> Tractogram:
    return Tractogram(
        positions=np.zeros((0, 3), np.float32),
        offsets=np.zeros(0, np.int64),
        data_per_point=[NamedArray(name="fa", values=np.zeros(0))],
        data_per_streamline=[NamedArray(name="length", values=np.zeros(0))],
        space=whole.space,
    )


def test_chunks_join_into_the_whole() -> None:
    whole = _tractogram([3, 5, 2, 7, 4])
    pieces = _cut(whole, [slice(0, 2), slice(2, 3), slice(3, 5)])
    joined = streaming.collect(streaming.Stream(_header(whole), iter(pieces)))
    np.testing.assert_array_equal(joined.positions, whole.positions)
    np.testing.assert_array_equal(joined.offsets, whole.offsets)
    np.testing.assert_array_equal(joined.data_per_point[0].values, whole.data_per_point[0].values)
    np.testing.assert_array_equal(joined.data_per_streamline[0].values, whole.data_per_streamline[0].values)
    assert joined.space == whole.space


def test_no_chunks_give_the_empty_header() -> None:
    whole = _tractogram([3, 4])
    joined = streaming.collect(streaming.Stream(_header(whole), iter([])))
    assert joined.positions.shape == (0, 3) and len(joined.offsets) == 0


def test_tally_does_not_depend_on_how_the_data_was_cut() -> None:
    whole = _tractogram([3, 5, 2, 7, 4], seed=1)
    one = streaming.tally([whole])
    many = streaming.tally(_cut(whole, [slice(0, 1), slice(1, 4), slice(4, 5)]))
    assert streaming.differences(one, many) == []
    assert one["offsets"]["rows"] == 5 and one["positions"]["rows"] == 21
    assert set(one) == {"positions", "offsets", "data_per_point.fa", "data_per_streamline.length"}


def test_differences_name_what_changed() -> None:
    whole = _tractogram([3, 5, 2], seed=2)
    moved = whole.model_copy(update={"positions": whole.positions + np.float32(0.5)})
    shorter = _cut(whole, [slice(0, 2)])[0]
    assert streaming.differences(streaming.tally([whole]), streaming.tally([moved])) == [
        f"positions values differ (sum {streaming.tally([moved])['positions']['sum']!r}, "
        f"expected {streaming.tally([whole])['positions']['sum']!r})"
    ]
    assert any(
        "rows" in problem
        for problem in streaming.differences(streaming.tally([whole]), streaming.tally([shorter]))
    )


def test_declared_drops_are_not_differences() -> None:
    whole = _tractogram([3, 5], seed=3)
    bare = whole.model_copy(update={"data_per_point": None, "data_per_streamline": None})
    expected, found = streaming.tally([whole]), streaming.tally([bare])
    assert len(streaming.differences(expected, found)) == 2
    assert streaming.differences(expected, found, dropped=["data_per_point", "data_per_streamline"]) == []


def test_rounding_within_tolerance_is_the_same_data() -> None:
    whole = _tractogram([50] * 20, seed=4)
    rounded = whole.model_copy(update={"positions": whole.positions + np.float32(1e-5)})
    assert streaming.differences(streaming.tally([whole]), streaming.tally([rounded])) == []


def test_a_bad_chunk_fails_validation_when_it_is_made() -> None:
    with pytest.raises(ValidationError, match="offset"):
        Tractogram(positions=np.zeros((3, 3), np.float32), offsets=np.array([0, 5]))


def test_classes_without_bulk_cannot_stream() -> None:
    from neurodatahub.models import ImageGrid

    with pytest.raises(KeyError, match="no bulk fields"):
        streaming.bulk_fields(ImageGrid)
