"""Compile catalog/*.yaml into catalog/index.json (`python tools/build_catalog_index.py [--out FILE]`).

Every entry is validated on the way; the output is deterministic, so a test rebuilds it into a temporary
file and fails when the committed index is stale (as tests/test_generated.py does for generated/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neurodatahub.catalog.index import shipped_dir, write_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", type=Path, default=None, help="catalog folder (default: catalog/)")
    parser.add_argument("--out", type=Path, default=None, help="index file (default: <catalog>/index.json)")
    args = parser.parse_args()
    print(f"wrote {write_index(args.catalog or shipped_dir(), args.out)}")


if __name__ == "__main__":
    main()
