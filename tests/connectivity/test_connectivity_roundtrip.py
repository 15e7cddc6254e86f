"""Every connectivity format, alone and in every pair: what comes back is what went in, but declared losses.

The losses each format must declare are stated independently in connectivity_helpers.expected_losses,
so a writer that drops a field without saying so, or claims a loss it does not have, fails here.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from connectivity_helpers import (
    FILE_NAMES,
    TEXT_FORMATS,
    assert_same_but_declared,
    connectivity,
    expected_losses,
    write_read,
)
from hypothesis import given, settings

from neurodatahub.models import ConnectivityMatrix

FORMATS = list(FILE_NAMES)


@pytest.mark.parametrize("format_name", FORMATS)
@settings(max_examples=30, deadline=None)
@given(model=connectivity())
def test_each_format_round_trips_with_exactly_its_declared_losses(
    format_name: str, model: ConnectivityMatrix
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        back, losses = write_read(model, Path(folder), format_name)
    assert {loss.field for loss in losses} == expected_losses(model, format_name)
    assert_same_but_declared(model, back, losses, exact_dtype=format_name not in TEXT_FORMATS)


@pytest.mark.parametrize(("first", "second"), list(itertools.product(FORMATS, FORMATS)))
@settings(max_examples=4, deadline=None)
@given(model=connectivity(max_regions=4))
def test_every_pair_of_formats_round_trips(first: str, second: str, model: ConnectivityMatrix) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        (folder_path / "a").mkdir()
        (folder_path / "b").mkdir()
        middle, first_losses = write_read(model, folder_path / "a", first)
        back, second_losses = write_read(middle, folder_path / "b", second)
    exact = not ({first, second} & TEXT_FORMATS)
    assert_same_but_declared(model, back, [*first_losses, *second_losses], exact_dtype=exact)


def test_exact_float_format_makes_the_tsv_lossless_for_values(tmp_path: Path) -> None:
    matrix = np.array([[0.1, 1 / 3], [2 / 3, 1e-17]])
    model = ConnectivityMatrix(matrix=matrix, region_labels=["a", "b"])
    back, losses = write_read(model, tmp_path, "tsv", float_format="%r")
    assert losses == [] and np.array_equal(back.matrix, matrix)
    back, losses = write_read(model, tmp_path, "tsv")  # spectralbrain's %.10g rounds 1/3
    assert [loss.field for loss in losses] == ["matrix"] and losses[0].count == 2
    assert np.allclose(back.matrix, matrix, rtol=1e-9) and not np.array_equal(back.matrix, matrix)


def test_symmetric_edge_list_keeps_one_triangle_and_the_diagonal(tmp_path: Path) -> None:
    matrix = np.array([[0.0, 2.0, 0.0], [2.0, 5.0, np.nan], [0.0, np.nan, 0.0]])
    model = ConnectivityMatrix(matrix=matrix, region_labels=["a", "b", "c"], symmetric=True)
    back, _ = write_read(model, tmp_path, "edges-tsv")
    rows = (tmp_path / FILE_NAMES["edges-tsv"]).read_text().splitlines()
    assert rows == [
        "i\tj\tregion_i\tregion_j\tweight",
        "1\t1\ta\ta\t0.0",
        "1\t2\ta\tb\t2.0",
        "2\t2\tb\tb\t5.0",
        "2\t3\tb\tc\tnan",
        "3\t3\tc\tc\t0.0",
    ]
    assert np.array_equal(back.matrix, matrix, equal_nan=True)


def test_directed_edge_list_writes_both_directions_of_each_pair(tmp_path: Path) -> None:
    """Strictly upper-triangular: without the written zeros below it would read back mirrored."""
    matrix = np.array([[0.0, 3.0], [0.0, 0.0]])
    model = ConnectivityMatrix(matrix=matrix, region_labels=["from", "to"])
    back, _ = write_read(model, tmp_path, "edges-tsv")
    rows = (tmp_path / FILE_NAMES["edges-tsv"]).read_text().splitlines()[1:]
    assert rows == [
        "1\t1\tfrom\tfrom\t0.0",
        "1\t2\tfrom\tto\t3.0",
        "2\t1\tto\tfrom\t0.0",
        "2\t2\tto\tto\t0.0",
    ]
    assert np.array_equal(back.matrix, matrix)
