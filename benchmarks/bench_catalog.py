"""Catalog queries from the CLI over a stacked catalog: whole `hub catalog search` / `ls` / `list` processes.

The stack is the shipped catalog plus a lab folder and a lab catalog served over HTTP on loopback (Python's
own http.server, which answers If-Modified-Since with 304), together 100 entries and 5,000 files, the size
issue 13 asks for. Each run is a new process, so each asks the HTTP catalog once with a conditional request;
the figure counts those requests per run. Compared with `hub --help` (the CLI's own floor); target 0.3 s.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench_startup import REPEATS, TARGET_SECONDS, _wall

TOTAL_ENTRIES = 100
TOTAL_FILES = 5000


def _entry(name: str, files: int) -> dict:
    return {
        "name": name,
        "display_name": name,
        "kind": "atlas",
        "description": "Benchmark entry.",
        "license": "CC0-1.0",
        "citation": "Benchmark (2025).",
        "facts_source": "benchmarks/bench_catalog.py",
        "source_type": "http",
        "download_url": "https://example.org/atlas",
        "modality": "rs-fMRI",
        "files": [
            {
                "name": f"{name}_{i}_dseg.nii.gz",
                "checksum": {"algorithm": "unknown"},
                "suffix": "dseg",
                "space": "MNI152NLin6Asym",
                "resolution": float(i % 3 + 1),
                "n_regions": 100 * (i % 10 + 1),
                "networks": 7 if i % 2 else 17,
            }
            for i in range(files)
        ],
    }


def _lab(folder: Path, names: list[str], files_each: int) -> None:
    import yaml

    from neurodatahub.catalog.index import write_index

    folder.mkdir(parents=True)
    for name in names:
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(_entry(name, files_each)))
    write_index(folder)


class _Counting(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.headers.get("If-Modified-Since") or "unconditional")
        super().do_GET()


def run() -> list[dict]:
    from neurodatahub.catalog.index import folder_index, shipped_dir

    shipped = folder_index(shipped_dir())["entries"]
    shipped_files = sum(len(entry.get("files") or []) for entry in shipped)
    lab_entries = TOTAL_ENTRIES - len(shipped)
    each = (TOTAL_FILES - shipped_files) // lab_entries
    hub = shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        half = lab_entries // 2
        _lab(root / "local_lab", [f"local_{i:03d}" for i in range(half)], each)
        _lab(root / "served" / "lab", [f"remote_{i:03d}" for i in range(lab_entries - half)], each)
        handler = functools.partial(_Counting, directory=str(root / "served"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        os.environ.update(
            {
                "NEURODATAHUB_DATA_DIR": str(root / "data"),
                "NEURODATAHUB_CONFIG": str(root / "config.yaml"),
                "NEURODATAHUB_CATALOG_PATH": f"{root / 'local_lab'};http://127.0.0.1:{server.server_address[1]}/lab",
            }
        )
        try:
            floor = _wall([hub, "--help"])
            _wall([hub, "catalog", "list", "--json"])  # first run: downloads, validates and caches the remote
            counted = json.loads(os.popen(f"{hub} catalog list --json").read())
            assert len(counted) == TOTAL_ENTRIES, len(counted)
            cases = {
                "hub catalog search n_regions=400 --json (100 entries, 5000 files)": [
                    hub, "catalog", "search", "n_regions=400", "--json"
                ],
                "hub catalog ls n_regions=400 networks=7 resolution=2 (100 entries, 5000 files)": [
                    hub, "catalog", "ls", "n_regions=400", "networks=7", "resolution=2", "--json"
                ],
                "hub catalog list (100 entries)": [hub, "catalog", "list"],
            }  # fmt: skip
            for name, command in cases.items():
                before = len(_Counting.requests)
                seconds = _wall(command)
                runs = REPEATS + 1  # _wall runs a warm-up and REPEATS timed runs (bench_startup)
                per_run = (len(_Counting.requests) - before) / runs
                rows.append(
                    {
                        "name": name,
                        "value": seconds,
                        "unit": "s",
                        "compared_with": "hub --help",
                        "ratio_to_floor": seconds / floor,
                        "remote_requests_per_run": per_run,
                        "target": f"< {TARGET_SECONDS} s, <= 1 conditional request per run",
                        "meets_target": seconds < TARGET_SECONDS and per_run <= 1,
                    }
                )
        finally:
            server.shutdown()
            for name in ("NEURODATAHUB_CATALOG_PATH", "NEURODATAHUB_CONFIG"):
                os.environ.pop(name, None)
    return rows
