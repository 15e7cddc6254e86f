"""`hub validate` on a mixed shared dataset (~200 files written by pynwb, nibabel, spectralbrain, meshio and
the hub, with planted problems): exactly the expected problems, codes and exit code, locally and on S3;
the cache; the configuration; nothing written into the dataset."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import mixed
import pytest

from neurodatahub.cli import main
from neurodatahub.core.errors import ExitCode
from neurodatahub.datasets.validation import validate_dataset

SUBJECTS = 18


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Counter]:
    root = tmp_path_factory.mktemp("mixed") / "study"
    expected = Counter(mixed.build(root, subjects=SUBJECTS))
    return root, expected


@pytest.fixture
def dataset(built: tuple[Path, Counter], tmp_path: Path) -> tuple[Path, Counter]:
    """A copy each test may change."""
    root, expected = built
    copy = tmp_path / "study"
    shutil.copytree(root, copy)
    return copy, Counter(expected)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
    }


def _problems(report: dict, root: str) -> Counter:
    prefix = root.rstrip("/") + "/"
    found = Counter()
    for entry in report["files"]:
        for problem in entry["problems"]:
            found[(entry["path"].removeprefix(prefix), problem["code"])] += 1
    for problem in report["dataset"]:
        found[(problem["file"].removeprefix(prefix), problem["code"])] += 1
    return found


def test_a_mixed_dataset_gives_exactly_the_planted_problems(
    dataset: tuple[Path, Counter], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root, expected = dataset
    files = sum(1 for path in root.rglob("*") if path.is_file())
    assert 180 <= files <= 260, files
    before = _snapshot(root)
    code = main(["validate", str(root), "--format", "json", "--cache", str(tmp_path / "cache"), "-j", "1"])
    report = json.loads(capsys.readouterr().out)
    assert _problems(report, str(root)) == expected
    assert code == ExitCode.USAGE  # the truncated NWB file; the rest are invalid data (1)
    summary = report["summary"]
    assert summary["errors"] == 1 and summary["skipped"] == 4 and summary["exit_code"] == code
    assert summary["by_kind"]["spikes"] == 2 * SUBJECTS + 1  # NWB and HDF5 files, one Phy folder
    statuses = {Path(entry["path"]).name: entry["status"] for entry in report["files"]}
    assert statuses["sub-07_units.nwb"] == "error" and statuses["README.md"] == "skipped"
    assert statuses["sub-03_units.nwb"] == "invalid" and statuses["sorting"] == "valid"
    assert _snapshot(root) == before  # validation never writes into the dataset
    # the text report: one line per file, problems under it, one summary line
    code = main(["validate", str(root), "--cache", str(tmp_path / "cache"), "-j", "1", "-v"])
    lines = capsys.readouterr().out.splitlines()
    assert code == ExitCode.USAGE
    assert f"skipped  {root}/README.md (" in "\n".join(lines)
    assert lines[-1].startswith(f"{summary['files']} files: {summary['valid']} valid,")
    assert "from cache" in lines[-1]
    broken = next(index for index, line in enumerate(lines) if "sub-03_units.nwb" in line)
    assert lines[broken].startswith("invalid ") and "NDH103 error" in lines[broken + 1]
    assert "/units/spike_times_index" in lines[broken + 1]


def test_the_second_run_reads_nothing_and_a_changed_file_alone_is_validated_again(
    dataset: tuple[Path, Counter], tmp_path: Path
) -> None:
    root, _ = dataset
    cache = tmp_path / "cache"
    first = validate_dataset([str(root)], cache=cache, jobs=1)
    assert not any(result.cached for result in first.files)
    second = validate_dataset([str(root)], cache=cache, jobs=1)
    assert all(result.cached for result in second.files)
    assert [second.file_entry(result) | {"cached": False} for result in second.files] == [
        first.file_entry(result) for result in first.files
    ]
    changed = root / "sub-02" / "docs" / "spikes.yaml"
    shutil.copy(mixed.DOCUMENTS / "invalid-invariants" / "SpikeData-unsorted.yaml", changed)
    third = validate_dataset([str(root)], cache=cache, jobs=1)
    fresh = [result.url for result in third.files if not result.cached]
    assert fresh == [str(changed)]
    assert [problem.code for problem in third.problems_of(str(changed))] == ["NDH102"]
    # a fresh checkout (same bytes, new times) hashes the files but validates none again
    shutil.copytree(root, tmp_path / "checkout")
    moved = validate_dataset([str(tmp_path / "checkout")], cache=cache, jobs=1)
    assert all(result.cached for result in moved.files)


def test_the_configuration_changes_the_outcome_as_documented(dataset: tuple[Path, Counter]) -> None:
    root, _ = dataset
    (root / "pyproject.toml").write_text(
        """
[tool.neurodatahub.validate]
exclude = ["sub-07/**", "bids/**"]
ignore = ["NDH201"]
fail-on = "warning"
severity = {NDH205 = "error"}

[tool.neurodatahub.validate.files]
"sub-11/docs/*.yaml" = {ignore = ["NDH102"]}
"sub-01/docs/*.yaml" = {class = "ConnectivityMatrix"}
"**/tck2connectome.csv" = {options = {n_regions = 4}}
"sub-03/anat/*_mask.nii.gz" = {class = "VoxelMap"}
"""
    )
    report = validate_dataset([str(root / "sub-01")], cache=False, jobs=1)  # found above the input
    assert report.config_source == str(root / "pyproject.toml")
    found = mixed.found(report, root)
    assert found[("sub-01/docs/spikes.yaml", "NDH101")] >= 1  # read as the class the glob names
    report = validate_dataset([str(root)], cache=False, jobs=1)
    found = mixed.found(report, root)
    assert not any(path.startswith(("sub-07/", "bids/")) for path, _ in found)
    assert ("sub-02/anat/sub-02_space-MNI152NLin6Asym_label-old_mask.nii.gz", "NDH201") not in found
    assert ("sub-11/docs/unsorted.yaml", "NDH102") not in found
    assert ("sub-08/conn/tck2connectome.csv", "NDH003") in found  # a glob's option must apply: 3 regions
    classes = {Path(result.url).name: result.model_class for result in report.files}
    if not mixed.images_read_as_masks():  # the class a glob names picks the format of its kind
        assert classes[f"sub-03_space-{mixed.SPACE}_label-lesion_mask.nii.gz"] == "VoxelMap"
        assert classes[f"sub-04_space-{mixed.SPACE}_label-lesion_mask.nii.gz"] == "LesionMask"
    severities = {(problem.code, problem.severity) for problem in report.problems()}
    assert ("NDH205", "error") not in severities  # the file fails on its options before the sidecar
    assert report.exit_code == ExitCode.USAGE
    (root / "pyproject.toml").write_text(
        '[tool.neurodatahub.validate]\ninclude = ["**/tck2connectome.csv"]\nfail-on = "warning"\n'
        'severity = {NDH205 = "error"}\n'
    )
    report = validate_dataset([str(root)], cache=False, jobs=1)
    assert {(problem.code, problem.severity) for problem in report.problems()} == {
        ("NDH104", "warning"),
        ("NDH205", "error"),
    }
    assert report.exit_code == ExitCode.INVALID
    (root / "pyproject.toml").write_text(
        '[tool.neurodatahub.validate]\ninclude = ["**/tck2connectome.csv"]\n'
    )
    assert validate_dataset([str(root)], cache=False, jobs=1).exit_code == ExitCode.OK  # warnings pass


def test_unknown_files_fail_only_when_the_configuration_says_they_must_be_known(
    dataset: tuple[Path, Counter], capsys: pytest.CaptureFixture
) -> None:
    root, _ = dataset
    (root / ".neurodatahub.yaml").write_text("validate:\n  include: ['*.md', '*.txt']\n")
    assert main(["validate", str(root), "--no-cache"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "skipped  2 file(s)" in out and "README.md" not in out
    assert main(["validate", str(root), "--no-cache", "--require-known"]) == ExitCode.USAGE
    assert "error    " in capsys.readouterr().out
    (root / ".neurodatahub.yaml").write_text("validate:\n  include: ['*.md']\n  require-known: true\n")
    assert main(["validate", str(root), "--no-cache"]) == ExitCode.USAGE
    (root / ".neurodatahub.yaml").write_text("validate:\n  ignore: [NDH999]\n")
    assert main(["validate", str(root), "--no-cache"]) == ExitCode.USAGE
    assert "no check has the code NDH999" in capsys.readouterr().err


def test_the_same_dataset_on_s3(built: tuple[Path, Counter], s3_bucket: str, capsys) -> None:
    import s3fs

    root, expected = built
    s3fs.S3FileSystem().put(str(root), f"{s3_bucket}/study", recursive=True)
    prefix = f"{s3_bucket}/study"
    code = main(["validate", prefix, "--format", "json", "--no-cache", "-j", "1"])
    report = json.loads(capsys.readouterr().out)
    assert _problems(report, prefix) == expected
    assert code == ExitCode.USAGE
    code = main(["validate", f"{prefix}/sub-1*/**/*.nwb", "--format", "json", "--no-cache", "-j", "1"])
    report = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK and report["summary"]["valid"] == SUBJECTS - 9
