"""Catalog queries from the CLI: `hub catalog search` and `list` wall time, against `hub --help`.

The compiled index (catalog/index.json) is what makes a query this fast; the figure is compared with
`hub --help` (the CLI's own floor) and checked against the 0.3 s target of issue 6.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench_startup import TARGET_SECONDS, _wall


def run() -> list[dict]:
    hub = shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"
    with tempfile.TemporaryDirectory() as data:  # an empty registry: no user state in the figure
        os.environ["NEURODATAHUB_DATA_DIR"] = data
        floor = _wall([hub, "--help"])
        cases = {
            "hub catalog search n_regions=400 --json": [hub, "catalog", "search", "n_regions=400", "--json"],
            "hub catalog search space=fsLR n_subjects>=900 (table)": [
                hub,
                "catalog",
                "search",
                "space=fsLR",
                "n_subjects>=900",
            ],
            "hub catalog list": [hub, "catalog", "list"],
        }
        rows = []
        for name, command in cases.items():
            seconds = _wall(command)
            rows.append(
                {
                    "name": name,
                    "value": seconds,
                    "unit": "s",
                    "compared_with": "hub --help",
                    "ratio_to_floor": seconds / floor,
                    "target": f"< {TARGET_SECONDS} s",
                    "meets_target": seconds < TARGET_SECONDS,
                }
            )
    return rows
