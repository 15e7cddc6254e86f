"""`hub validate --format html` on 200 mixed files (NWB, spike HDF5, NIfTI masks, maps and parcellations,
connectome TSV, meshes, tractograms; bench_validate_datasets's files), as whole processes: cold (empty
cache: every file validated and its thumbnail drawn) and warm (unchanged: results and thumbnails from the
cache), beside the text report of the same files in the same run (the cost of the page and its pictures).

Goal (issue 18): a warm HTML report draws nothing, so it costs about what the warm text report costs
(within 1 s more for 200 files: the page's template and the inlined pictures).

Measured (2026-12-06, 2 cores at load 7): cold 179 s (0.9 s a file, 96 s CPU), warm 1.17 s against the
text report's 0.94 s, 7.9 MB (40 kB a file). The cold time is the pictures': the tractogram painter takes
about 11 s for one of these 2,000-streamline files (441,000 segments with alpha through Agg), an NWB
raster or a connectome heatmap about 1 s, a mask 0.2 s.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench_validate_datasets import COUNTS, _timed, build

SCALE = 5  # a fifth of bench_validate_datasets's 1,000 files: drawing them all cold takes minutes here


def run() -> list[dict]:
    counts = {kind: count // SCALE for kind, count in COUNTS.items()}
    with tempfile.TemporaryDirectory() as folder:
        root = build(Path(folder) / "dataset", counts)
        files = sum(counts.values())
        cache, page = Path(folder) / "cache", Path(folder) / "report.html"
        text_cold, _, _ = _timed(str(root), "--cache", str(Path(folder) / "text-cache"))
        text_warm = min(_timed(str(root), "--cache", str(Path(folder) / "text-cache"))[0] for _ in range(3))
        cold, cold_cpu, done = _timed(str(root), "--cache", str(cache), "--format", "html", "-o", str(page))
        assert page.exists(), done.stderr[-500:]
        warm_runs = [
            _timed(str(root), "--cache", str(cache), "--format", "html", "-o", str(page)) for _ in range(3)
        ]
        warm, warm_cpu, _ = min(warm_runs, key=lambda run: run[0])
        size = page.stat().st_size
    return [
        {
            "name": f"hub validate --format html, {files} mixed files, cold (validated, drawn; a process)",
            "value": cold,
            "unit": "s",
            "cpu_s": cold_cpu,
            "per_file_s": cold / files,
            "compared_with": f"text report, cold: {text_cold:.2f} s",
        },
        {
            "name": f"hub validate --format html, {files} mixed files, warm (whole process, best of 3)",
            "value": warm,
            "unit": "s",
            "cpu_s": warm_cpu,
            "compared_with": f"text report, warm: {text_warm:.2f} s",
            "load_average": os.getloadavg()[0],
            "target": "<= the warm text report + 1 s",
            "meets_target": warm <= text_warm + 1.0,
        },
        {
            "name": f"HTML report of {files} mixed files, size (thumbnails inlined)",
            "value": size / 2**20,
            "unit": "MB",
            "per_file_kb": size / files / 1024,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
