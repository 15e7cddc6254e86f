"""`hub convert` of many inputs (in this process): trees, templates, folders, manifests, filters, resume,
collisions refused before anything runs, failures recorded and the batch going on; the local default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest
from batch_helpers import pynwb_trains, same_trains, spike_tree, trains
from cli_helpers import hub, one_line

from neurodatahub.core.models import BatchReport
from neurodatahub.datasets.batch import convert_many


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study") / "raw"
    spike_tree(root, subjects=3)
    return root


def _nwb(study: Path) -> list[Path]:
    return sorted(study.rglob("*.nwb"))


def test_a_tree_converts_keeping_its_structure(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    report = tmp_path / "report.json"
    template = str(tmp_path / "out" / "{relpath}" / "{stem}.h5")
    code, out, err = hub(
        capsys, "convert", str(study), template, "--style", "ragged", "--report", str(report)
    )
    assert code == 0, err
    assert out.startswith("3 converted, 0 skipped as complete, 0 failed, 2 ignored in ")
    for source in _nwb(study):
        written = tmp_path / "out" / source.relative_to(study).with_suffix(".h5")
        assert same_trains(trains(str(written)), pynwb_trains(source))
        with h5py.File(written) as file:
            assert "spike_times_index" in file  # spikelab's ragged layout
    done = BatchReport.model_validate(json.loads(report.read_text()))
    assert [entry.status for entry in done.entries] == ["ignored", "ignored", *["converted"] * 3]
    assert done.runs_on == "this process" and not (tmp_path / ".report.json.journal").exists()
    first = done.entries[2]
    assert first.conversion.source.checksum and first.output.checksum == first.conversion.target.checksum
    # a folder as destination keeps the structure, with the extension of --to
    code, _, err = hub(capsys, "convert", str(study), str(tmp_path / "folder"), "--to", "hdf5")
    assert code == 0, err
    assert sorted(
        p.relative_to(tmp_path / "folder").as_posix() for p in (tmp_path / "folder").rglob("*.h5")
    ) == [f"sub-0{n}/ses-1/sub-0{n}_ses-1_ecephys.h5" for n in (1, 2, 3)]


def test_the_python_api_returns_the_reports(study: Path, tmp_path: Path) -> None:
    import neurodatahub

    done = neurodatahub.convert_many(str(study / "**" / "*.nwb"), str(tmp_path / "{stem}.parquet"), jobs=1)
    assert (done.converted, done.ignored, done.failed) == (3, 0, 0)
    assert all(entry.conversion.kind == "spikes" for entry in done.entries)
    assert sorted(path.name for path in tmp_path.glob("*.parquet")) == [
        f"sub-0{n}_ses-1_ecephys.parquet" for n in (1, 2, 3)
    ]


def test_each_source_is_looked_at_once_to_find_its_format(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan finds each source's format; the conversion reads it as that format, detecting it no
    second time (a detection opens the file and walks its links)."""
    from neurodatahub.core import registry

    detected: list[str] = []
    detect = registry.detect

    def counted(url: str, *args: object, **kwargs: object) -> object:
        detected.append(url)
        return detect(url, *args, **kwargs)

    monkeypatch.setattr(registry, "detect", counted)
    done = convert_many(str(study), str(tmp_path / "{stem}.h5"), jobs=1, options={"style": "ragged"})
    assert done.converted == 3 and {str(path) for path in _nwb(study)} <= set(detected)
    assert len(detected) == len(set(detected))  # once each
    assert [entry.conversion.source.format for entry in done.entries if entry.conversion] == ["nwb"] * 3


def test_a_rerun_converts_only_what_is_missing(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    report, out = tmp_path / "report.json", tmp_path / "out"
    args = ["convert", str(study), str(out / "{relpath}" / "{stem}.h5"), "--report", str(report)]
    assert hub(capsys, *args)[0] == 0
    outputs = sorted(out.rglob("*.h5"))
    outputs[0].unlink()
    kept = outputs[1].stat().st_mtime_ns
    with outputs[2].open("ab") as handle:  # changed since: its checksum no longer matches the report
        handle.write(b"\0")
    code, stdout, err = hub(capsys, *args)
    assert code == 4  # the changed output is not replaced without --overwrite
    assert stdout.startswith("1 converted, 1 skipped as complete, 1 failed, 2 ignored")
    assert one_line(err) == f"failed: {_nwb(study)[2]}: {outputs[2]} exists; pass --overwrite to replace it"
    assert outputs[0].exists() and outputs[1].stat().st_mtime_ns == kept
    code, stdout, _ = hub(capsys, *args, "--overwrite")
    assert code == 0 and stdout.startswith("1 converted, 2 skipped as complete, 0 failed")
    assert same_trains(trains(str(outputs[2])), pynwb_trains(_nwb(study)[2]))
    # without resuming, everything is done again
    code, stdout, _ = hub(capsys, *args, "--overwrite", "--no-resume")
    assert code == 0 and stdout.startswith("3 converted, 0 skipped")


def test_two_entries_writing_one_target_are_refused_first(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(study, tree)
    twin = tree / "sub-02" / "ses-1" / "sub-01_ses-1_ecephys.nwb"
    shutil.copy(_nwb(study)[0], twin)
    out = tmp_path / "flat"
    code, _, err = hub(capsys, "convert", str(tree), str(out / "{stem}.h5"))
    assert code == 2 and not out.exists()
    assert one_line(err) == (
        f"hub: error: {tree}/sub-01/ses-1/sub-01_ses-1_ecephys.nwb and {twin} would both be written to "
        f"{out}/sub-01_ses-1_ecephys.h5 (put {{relpath}} in the template?)"
    )
    code, _, err = hub(capsys, "convert", str(tree), str(tree / "{relpath}" / "{name}"))
    assert code == 2 and "would be written over the source" in one_line(err)
    code, _, err = hub(capsys, "convert", str(tree), str(tmp_path / "{stems}.h5"))
    assert code == 2 and "unknown field {stems}" in one_line(err)
    code, _, err = hub(capsys, "convert", str(tree), str(tmp_path / "folder"))
    assert code == 2 and "--to" in one_line(err)


def test_failures_are_recorded_and_the_batch_goes_on(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(study, tree)
    broken = tree / "sub-02" / "ses-1" / "sub-02_ses-1_ecephys.nwb"
    broken.write_bytes(broken.read_bytes()[:2000])  # truncated: HDF5 signature, no data
    out = tmp_path / "out"
    code, stdout, err = hub(capsys, "convert", str(tree), str(out / "{stem}.h5"), "--include", "*.nwb")
    assert code == 2
    assert stdout.startswith("2 converted, 0 skipped as complete, 1 failed in ")
    assert one_line(err).startswith(f"failed: {broken}: ")
    assert one_line(err).count(str(broken)) == 1  # named once, though the reader's message names it too
    assert sorted(path.name for path in out.iterdir()) == [
        "sub-01_ses-1_ecephys.h5",
        "sub-03_ses-1_ecephys.h5",
    ]
    code, stdout, _ = hub(
        capsys, "convert", str(tree), str(tmp_path / "ff" / "{stem}.h5"), "--include", "*.nwb", "--fail-fast"
    )
    assert code == 2 and stdout.startswith("1 converted, 0 skipped as complete, 1 failed, 1 not run")
    # a file named directly that is not data fails; one found in a folder is only ignored
    code, stdout, err = hub(
        capsys, "convert", str(tree / "README.md"), str(_nwb(study)[0]), str(tmp_path / "x" / "{stem}.h5")
    )
    assert code == 2 and stdout.startswith("1 converted, 0 skipped as complete, 1 failed")
    assert "cannot tell the format" in one_line(err)


def test_manifests_give_targets_and_options_per_row(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    sources = _nwb(study)
    manifest = tmp_path / "list.csv"
    manifest.write_text(
        "source,target,style,time_unit\n"
        f"{sources[0]},out/ragged.h5,ragged,\n"
        f"{sources[1]},out/group.h5,group,ms\n"
    )
    (tmp_path / "out").mkdir()
    code, _, err = hub(capsys, "convert", "--manifest", str(manifest))
    assert code == 0, err
    expected = pynwb_trains(sources[1])
    with (
        h5py.File(tmp_path / "out" / "ragged.h5") as ragged,
        h5py.File(tmp_path / "out" / "group.h5") as group,
    ):
        assert "spike_times_index" in ragged
        stored = [group["units"][str(n)][()] for n in range(len(expected))]  # in ms, as the row asked
    assert same_trains(stored, [train * 1000 for train in expected])
    assert same_trains(trains(str(tmp_path / "out" / "group.h5")), expected)
    listing = tmp_path / "list.yaml"
    listing.write_text(f"entries:\n  - source: {sources[2]}\n    style: paired\n")
    code, _, err = hub(capsys, "convert", "--manifest", str(listing), str(tmp_path / "y" / "{stem}.h5"))
    assert code == 0 and (tmp_path / "y" / "sub-03_ses-1_ecephys.h5").exists(), err
    # options nested under `options:`, as YAML is usually written
    listing.write_text(f"- source: {sources[2]}\n  target: nested.h5\n  options: {{style: ragged}}\n")
    code, _, err = hub(capsys, "convert", "--manifest", str(listing))
    assert code == 0, err
    with h5py.File(tmp_path / "nested.h5") as nested:
        assert "spike_times_index" in nested
    listing.write_text(f"- source: {sources[2]}\n  target: t.h5\n  style: group\n  options: {{style: x}}\n")
    code, _, err = hub(capsys, "convert", "--manifest", str(listing))
    twice = "row 1 gives option style twice (beside and in 'options')"
    assert code == 2 and one_line(err) == f"hub: error: {listing}: {twice}"
    listing.write_text("entries:\n  - target: nowhere.h5\n")
    code, _, err = hub(capsys, "convert", "--manifest", str(listing))
    assert code == 2 and one_line(err) == f"hub: error: {listing}: row 1 has no source"


def test_kind_filter(study: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, stdout, _ = hub(
        capsys, "convert", str(study), str(tmp_path / "{stem}.h5"), "--kind", "connectivity"
    )
    assert code == 0 and stdout.startswith("0 converted, 0 skipped as complete, 0 failed, 5 ignored")
    assert not list(tmp_path.glob("*.h5"))


def test_the_default_is_a_local_cluster_sized_to_the_machine(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEURODATAHUB_JOBS")
    done = convert_many([str(study)], str(tmp_path / "{relpath}" / "{stem}.h5"), options={"style": "ragged"})
    assert done.runs_on.startswith("a local Dask cluster of ") and done.converted == 3
    for source in _nwb(study):
        written = tmp_path / source.relative_to(study).with_suffix(".h5")
        assert same_trains(trains(str(written)), pynwb_trains(source))
    assert not list(tmp_path.rglob(".*.partial*"))


def test_a_task_run_again_writes_its_targets_again(study: Path, tmp_path: Path) -> None:
    """Dask runs a task again when its worker dies, perhaps after the task wrote some of its targets: a
    target the plan found absent is the batch's own and is written again; one that was there is not."""
    from dataclasses import replace

    from neurodatahub.core.errors import OutputError
    from neurodatahub.datasets.batch import Task, convert_entry

    source, target = _nwb(study)[0], tmp_path / "out.h5"
    task = Task(str(source), str(target), source.stat().st_size, new_target=True)
    settings = {
        "overwrite": False,
        "strict": False,
        "checksum": True,
        "read_options": {},
        "write_options": {"style": "ragged"},
        "options": {},
        "storage_options": None,
    }
    first = convert_entry(task, **settings)
    again = convert_entry(task, **settings)
    assert first["status"] == again["status"] == "converted"
    assert same_trains(trains(str(target)), pynwb_trains(source))
    with pytest.raises(OutputError, match="exists; pass overwrite=True to replace it"):
        convert_entry(replace(task, new_target=False), **settings)
