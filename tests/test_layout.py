"""The layout the import contract checks is the one the schema names: one layer entry per kind package."""

from __future__ import annotations

import tomllib
from pathlib import Path

from neurodatahub.core import kinds

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contract_lists_every_kind_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")["layers"]
    kind_layer = max(layers, key=lambda layer: layer.count("|"))  # the kinds: the widest layer
    listed = sorted(name.strip().removeprefix("neurodatahub.") for name in kind_layer.split("|"))
    assert listed == sorted(kinds.kind_packages())


def test_every_kind_package_has_its_checks_and_formats() -> None:
    source = ROOT / "src" / "neurodatahub"
    for package in kinds.kind_packages():
        assert (source / package / "checks.py").is_file(), package
        assert (source / package / "formats" / "__init__.py").is_file(), package


def test_the_format_index_is_what_the_modules_register() -> None:
    """The index lookups use (core/format_index.py), rebuilt from the modules; stale: `make generate`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_format_index", ROOT / "tools" / "build_format_index.py"
    )
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert builder.index_text() == (ROOT / "src/neurodatahub/core/format_index.py").read_text(
        encoding="utf-8"
    )
