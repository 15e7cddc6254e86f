"""What a released package carries: the sdist and the wheel built offline, checked by twine, and the wheel
installed into a fresh environment where `hub` runs from it alone (never from this checkout).

The fresh environment gets only the wheel (`pip install --no-index --no-deps`); the hub's dependencies are
found through a .pth line naming this environment's site-packages, whose own .pth files (the editable
install of this checkout among them) are not processed, so every neurodatahub module comes from the wheel.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

import neurodatahub

REPO = Path(__file__).resolve().parent.parent
VERSION = neurodatahub.__version__
RELEASE_FILES = ("LICENSE", "CHANGELOG.md", "CITATION.cff", "CONTRIBUTING.md", "README.md")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, and the wheel built from that sdist (so the sdist is proved complete), by `build`."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_twine_checks_both_release_files(dist: Path) -> None:
    files = [str(_one(dist, "*.whl")), str(_one(dist, "*.tar.gz"))]
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_version_is_written_once_and_carried_everywhere(dist: Path) -> None:
    assert _one(dist, "*.whl").name.startswith(f"neurodatahub-{VERSION}-")
    assert _one(dist, "*.tar.gz").name == f"neurodatahub-{VERSION}.tar.gz"
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        metadata = wheel.read(f"neurodatahub-{VERSION}.dist-info/METADATA").decode()
    assert f"\nVersion: {VERSION}\n" in metadata and "License-Expression: MIT" in metadata
    # the other files that describe a release do not repeat it
    assert "version" not in yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert (
        'version = "'
        not in (REPO / "pyproject.toml").read_text(encoding="utf-8").split("[project]")[1].split("[")[0]
    )
    assert re.search(
        r"^## Unreleased$|^## \[?" + re.escape(VERSION), (REPO / "CHANGELOG.md").read_text(), re.M
    )


def test_the_wheel_ships_the_schema_in_every_form(dist: Path) -> None:
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        names = set(wheel.namelist())
        shipped_schema = {
            name.rsplit("/", 1)[1]: wheel.read(name)
            for name in names
            if "neurodatahub_models/schema/" in name
        }
    assert shipped_schema == {path.name: path.read_bytes() for path in (REPO / "schema").glob("*.yaml")}
    for name in (
        "neurodatahub.schema.json",
        "neurodatahub.owl.ttl",
        "neurodatahub.shacl.ttl",
        "neurodatahub.context.jsonld",
        "models.py",
        "facts.py",
        "py.typed",
    ):
        assert f"neurodatahub_models/{name}" in names, name
    assert f"neurodatahub-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "neurodatahub/catalog/data/index.json" in names
    assert not [name for name in names if name.startswith(("tests/", "docs/", "neurodatahub/tests"))]


def test_the_sdist_carries_what_a_release_needs(dist: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for name in (*RELEASE_FILES, "mkdocs.yml", "schema/neurodatahub.yaml", "docs/index.md", "Makefile"):
        assert name in names, name


@pytest.fixture(scope="module")
def fresh(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding only the wheel; the dependencies come from this environment."""
    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
         "--no-deps", str(_one(dist, "*.whl"))],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    work = root / "work"  # a folder far from the checkout, holding copies of the example data
    work.mkdir()
    for name in ("recording.nwb", "spikes.yaml"):
        shutil.copy(REPO / "examples" / name, work / name)
    return venv


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin",
            "NEURODATAHUB_DATA_DIR": str(venv.parent / "data"),
            "XDG_CONFIG_HOME": str(venv.parent / "config"),
        }
    )
    return subprocess.run(list(args), cwd=venv.parent / "work", env=env, capture_output=True, text=True)


def _ok(venv: Path, *args: str) -> str:
    done = _run(venv, *args)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_installed_package_is_the_wheel_and_stays_light(fresh: Path) -> None:
    shown = _ok(
        fresh,
        "python",
        "-c",
        "import sys, json, neurodatahub, neurodatahub_models; "
        "print(json.dumps([neurodatahub.__file__, neurodatahub_models.__file__, 'pydantic' in sys.modules,"
        " str(neurodatahub_models.schema_dir())]))",
    )
    package, models, pydantic_imported, schema_dir = json.loads(shown)
    for path in (package, models, schema_dir):
        assert Path(path).is_relative_to(fresh), path
    assert not pydantic_imported  # importing the generated package does not build the models
    assert (Path(schema_dir) / "neurodatahub.yaml").is_file()


def test_hub_runs_from_the_wheel(fresh: Path) -> None:
    assert _ok(fresh, "hub", "--version").strip() == f"hub (neurodatahub) {VERSION}"
    formats = json.loads(_ok(fresh, "hub", "formats", "--json"))
    assert {"nwb", "hdf5", "phy", "tsv", "trk", "gifti"} <= {row["name"] for row in formats}
    _ok(fresh, "hub", "convert", "recording.nwb", "recording.h5", "--style", "ragged")
    _ok(fresh, "hub", "convert", "spikes.yaml", "spikes.nwb")
    validated = _ok(fresh, "hub", "validate", "recording.nwb", "recording.h5", "spikes.yaml", "spikes.nwb")
    assert validated.count("ok ") == 4
    listed = json.loads(_ok(fresh, "hub", "catalog", "list", "--json"))  # the catalog shipped in the package
    assert "schaefer2018" in {entry["name"] for entry in listed}


def test_every_schema_form_prints_from_the_wheel(fresh: Path) -> None:
    assert json.loads(_ok(fresh, "hub", "schema", "SpikeData"))["title"] == "SpikeData"
    assert (
        "SpikeData"
        in yaml.safe_load(_ok(fresh, "hub", "schema", "SpikeData", "--format", "linkml"))["classes"]
    )
    assert "ndh:SpikeData a owl:Class" in _ok(fresh, "hub", "schema", "SpikeData", "--format", "owl")
    assert "ndh:SpikeData a sh:NodeShape" in _ok(fresh, "hub", "schema", "SpikeData", "--format", "shacl")
    assert (
        "spike_times"
        in json.loads(_ok(fresh, "hub", "schema", "SpikeData", "--format", "jsonld"))["@context"]
    )


def test_a_lab_schema_validates_from_the_wheel(fresh: Path) -> None:
    work = fresh.parent / "work"
    lab = {
        "id": "https://example.org/lab",
        "name": "lab",
        "prefixes": {"linkml": "https://w3id.org/linkml/", "lab": "https://example.org/lab/"},
        "default_prefix": "lab",
        "imports": ["linkml:types", "neurodatahub"],
        "classes": {"LabSpikeData": {"is_a": "SpikeData", "attributes": {"rig": {"required": True}}}},
    }
    (work / "lab.yaml").write_text(yaml.safe_dump(lab), encoding="utf-8")
    document = {**yaml.safe_load((work / "spikes.yaml").read_text(encoding="utf-8")), "rig": "rig-b"}
    (work / "lab-session.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    done = _ok(
        fresh, "hub", "validate", "--schema", "lab.yaml", "--class", "LabSpikeData", "lab-session.yaml"
    )
    assert "LabSpikeData" in done


def test_every_third_party_import_is_a_declared_dependency() -> None:
    """An import the wheel's metadata does not declare works here (the test peers bring it) and fails for
    a user: every module `src/` imports comes from a distribution pyproject.toml names (the runtime
    dependencies, or an extra a user installs for that feature: `schema`, `notebooks`...), not one that
    happens to come with another."""
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    features = [
        text
        for extra, texts in project["optional-dependencies"].items()
        if extra not in ("test", "docs")  # what the project's own work needs, not a user's feature
        for text in texts
    ]
    declared = {canonicalize_name(Requirement(text).name) for text in [*project["dependencies"], *features]}
    imported: dict[str, Path] = {}
    for path in sorted((REPO / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                imported.setdefault(name.split(".")[0], path)
    distributions = packages_distributions()
    undeclared = [
        f"{module} ({path.relative_to(REPO)})"
        for module, path in sorted(imported.items())
        if module not in sys.stdlib_module_names
        and module not in ("neurodatahub", "neurodatahub_models")
        and not {canonicalize_name(name) for name in distributions.get(module, [])} & declared
    ]
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
