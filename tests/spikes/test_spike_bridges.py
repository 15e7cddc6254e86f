"""Spike bridges against pandas and SpikeInterface: both ways, and objects made by the peers read equal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from strategies import assert_same_spikes, spike_data

from neurodatahub.core.errors import UsageError
from neurodatahub.models import SpikeData
from neurodatahub.spikes import common, from_dataframe, from_sorting, to_dataframe, to_sorting


@settings(max_examples=30, deadline=None)
@given(spikes=spike_data())
def test_long_table_round_trips_exactly(spikes: SpikeData) -> None:
    frame = to_dataframe(spikes)
    assert len(frame) == len(spikes.spike_times)
    assert list(frame.columns[:2]) == ["unit_id", f"time_{spikes.time_unit}"]
    assert_same_spikes(from_dataframe(frame), spikes, atol_s=0)
    shuffled = frame.sample(frac=1.0, random_state=1)  # any row order
    shuffled.attrs = frame.attrs
    assert_same_spikes(from_dataframe(shuffled), spikes, atol_s=0)


@settings(max_examples=30, deadline=None)
@given(spikes=spike_data(units=("samples",)))
def test_sorting_round_trips_in_samples(spikes: SpikeData) -> None:
    if len(spikes.spike_times) and spikes.spike_times.min() < 0:
        with pytest.raises(UsageError, match="before time 0"):
            to_sorting(spikes)
        return
    sorting = to_sorting(spikes)
    assert list(sorting.unit_ids) == spikes.unit_ids.tolist()
    for unit_id, train in zip(spikes.unit_ids, common.trains(spikes), strict=True):
        assert sorting.get_unit_spike_train(unit_id).tolist() == train.astype(np.int64).tolist()
    assert_same_spikes(from_sorting(sorting), spikes, ignore=("window",), atol_s=0)


def test_foreign_frames_and_sortings_read() -> None:
    import spikeinterface.core as si

    frame = pd.DataFrame({"cluster": [4, 2, 4], "spike_time": [0.5, 0.25, 0.1], "depth": [10.0, 20.0, 10.0]})
    spikes = from_dataframe(frame, time_unit="s")
    assert spikes.unit_ids.tolist() == [2, 4] and common.attributes(spikes)["depth"].tolist() == [20.0, 10.0]
    assert [train.tolist() for train in common.trains(spikes)] == [[0.25], [0.1, 0.5]]
    sorting = si.NumpySorting.from_unit_dict([{"7": np.array([3, 9])}], sampling_frequency=1000.0)
    back = from_sorting(sorting)
    assert back.unit_ids.tolist() == [7] and back.sampling_rate == 1000.0
