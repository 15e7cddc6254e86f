"""Random SpikeData for property tests, and the comparison every round trip uses."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from neurodatahub.models import SpikeData
from neurodatahub.spikes import common

LOCATIONS = ["CA1", "CA3", "DG", "V1 L4", "M1"]


@st.composite
def spike_data(
    draw: st.DrawFn,
    *,
    max_units: int = 8,
    max_spikes: int = 40,
    units: tuple[str, ...] = ("s", "ms", "samples"),
    with_attributes: bool = True,
    with_metadata: bool = True,
) -> SpikeData:
    """Empty units, one unit, negative start times and every time unit included."""
    time_unit = draw(st.sampled_from(units))
    rate = draw(st.sampled_from([20000.0, 30000.0, 32000.0]))
    n_units = draw(st.integers(0, max_units))
    start = draw(st.sampled_from([0.0, -2.5, 10.0, -0.125]))
    start_unit = common.convert_scalar(start, "s", time_unit, rate)
    if time_unit == "samples":
        start_unit = float(round(start_unit))
    duration = common.convert_scalar(draw(st.sampled_from([1.0, 5.0, 60.0])), "s", time_unit, rate)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    trains = []
    for _ in range(n_units):
        count = draw(st.integers(0, max_spikes))
        times = rng.uniform(start_unit, start_unit + duration, count)
        trains.append(np.sort(np.rint(times) if time_unit == "samples" else times))
    ids = (
        rng.choice(np.arange(1000), size=n_units, replace=False)
        if draw(st.booleans())
        else np.arange(n_units)
    )
    attributes = {}
    if with_attributes and n_units and draw(st.booleans()):
        attributes = {
            "electrode": rng.integers(0, 64, n_units),
            "location": np.array([LOCATIONS[i % len(LOCATIONS)] for i in range(n_units)]),
            "x": rng.normal(0, 100, n_units),
        }
    metadata = (
        {"session_description": "random", "subject": {"species": "Mus musculus"}} if with_metadata else None
    )
    return common.from_trains(
        trains,
        unit_ids=ids,
        time_unit=time_unit,
        start_time=start_unit,
        length=duration,
        sampling_rate=rate if time_unit == "samples" or draw(st.booleans()) else None,
        unit_attributes=attributes,
        metadata=metadata if draw(st.booleans()) else None,
    )


def assert_same_spikes(
    got: SpikeData,
    expected: SpikeData,
    *,
    ignore: tuple[str, ...] = (),
    atol_s: float = 1e-9,
) -> None:
    """Same units, same spikes (compared in seconds), same window and, unless ignored, the rest."""
    rate = expected.sampling_rate or got.sampling_rate
    if "unit_ids" not in ignore:
        np.testing.assert_array_equal(got.unit_ids, expected.unit_ids)
    np.testing.assert_array_equal(got.spike_times_index, expected.spike_times_index)
    np.testing.assert_allclose(
        common.times_in(got, "s", rate), common.times_in(expected, "s", rate), rtol=1e-12, atol=atol_s
    )
    if "window" not in ignore:
        for got_value, expected_value in zip(
            common.window_in(got, "s", rate), common.window_in(expected, "s", rate), strict=True
        ):
            assert abs(got_value - expected_value) <= max(atol_s, 1e-12 * abs(expected_value))
    if "sampling_rate" not in ignore:
        assert got.sampling_rate == expected.sampling_rate
    if "unit_attributes" not in ignore:
        got_attributes, expected_attributes = common.attributes(got), common.attributes(expected)
        assert got_attributes.keys() == expected_attributes.keys()
        for name, values in expected_attributes.items():
            np.testing.assert_array_equal(got_attributes[name], values)
    if "metadata" not in ignore:
        assert (got.metadata or {}) == (expected.metadata or {})


def losses_named(losses: list[Any]) -> set[str]:
    return {loss.field for loss in losses}
