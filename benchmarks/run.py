"""Run every benchmark (`make bench`) and write benchmarks/results.json.

Each `bench_*.py` beside this file exposes `run() -> list[dict]`; a result row names what was measured,
the figure, its unit, the peer or floor it is compared with in the same run, and the target if any.
"""

from __future__ import annotations

import compileall
import importlib
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def compiled_as_installed() -> None:
    """Whole processes are timed as users run the hub: with its bytecode cached. A development shell may
    set PYTHONDONTWRITEBYTECODE, and then every module edited since its last cached compile is compiled
    again in every process (about 5 ms each)."""
    for folder in ("src", "generated"):
        compileall.compile_dir(str(HERE.parent / folder), quiet=1)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def main() -> int:
    sys.path.insert(0, str(HERE))
    compiled_as_installed()
    only = set(sys.argv[1:])
    rows: list[dict] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        print(f"== {path.stem}", flush=True)
        for row in importlib.import_module(path.stem).run():
            row = {"benchmark": path.stem, **row}
            rows.append(row)
            met = row.get("meets_target")
            verdict = "" if met is None else ("  [ok]" if met else "  [MISSED]")
            print(f"   {row['name']}: {row['value']:.4g} {row['unit']}{verdict}", flush=True)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "results": rows,
    }
    out = HERE / "results.json"
    previous = json.loads(out.read_text()) if out.exists() and only else None
    if previous:  # a partial run keeps the other benchmarks' last figures
        kept = [row for row in previous["results"] if row["benchmark"] not in only]
        results["results"] = kept + rows
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if all(row.get("meets_target") is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
