"""Region tables to pandas and back: qsiparc's stats_df columns, fields in attrs, foreign frames read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodatahub.core import conversion
from neurodatahub.core.errors import InvalidDataError
from neurodatahub.regions import from_dataframe, to_dataframe
from neurodatahub.regions.tables import columns_of


def test_both_ways_and_from_a_written_table(tmp_path) -> None:
    from conftest import DOCUMENTS

    result = conversion.read(str(DOCUMENTS / "valid" / "ExtractionResult.yaml"))
    frame = to_dataframe(result)
    assert list(frame.columns) == columns_of(str(result.stat_tier))
    back = from_dataframe(frame)
    assert back.model_dump() == result.model_dump()
    conversion.write(result, str(tmp_path / "r.tsv"))
    read_back = from_dataframe(pd.read_csv(tmp_path / "r.tsv", sep="\t"), atlas_name=result.atlas_name)
    assert [row.region_name for row in read_back.rows] == [row.region_name for row in result.rows]
    means = [[np.nan if row.mean is None else row.mean for row in r.rows] for r in (read_back, result)]
    assert np.allclose(*means, equal_nan=True)
    with pytest.raises(InvalidDataError, match="missing columns"):
        from_dataframe(frame.drop(columns=[frame.columns[-1]]), stat_tier=str(result.stat_tier))
