"""Expanding dataset inputs: folders walked, format folders kept whole, globs, prefixes on S3, filters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neurodatahub.core import conversion
from neurodatahub.core.errors import InputError
from neurodatahub.datasets.inputs import expand

DOCUMENTS = Path(__file__).resolve().parent.parent / "data" / "valid"
WALKED = ["README.md", "sub-01/spikes.json", "sub-02/ses-1/spikes.yaml", "sub-02/sorting"]  # `dataset`


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """sub-01/spikes.json, sub-02/ses-1/spikes.yaml, a Phy folder, hidden files, a README."""
    root = tmp_path / "study"
    spikes = conversion.read(str(DOCUMENTS / "SpikeData.yaml"))
    (root / "sub-01").mkdir(parents=True)
    conversion.write(spikes, str(root / "sub-01" / "spikes.json"))
    (root / "sub-02" / "ses-1").mkdir(parents=True)
    shutil.copy(DOCUMENTS / "SpikeData.yaml", root / "sub-02" / "ses-1" / "spikes.yaml")
    conversion.write(spikes, str(root / "sub-02" / "sorting"), format="phy", sampling_rate=30000.0)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".DS_Store").write_bytes(b"\0")
    (root / "README.md").write_text("# study\n")
    return root


def test_a_folder_is_walked_and_a_format_folder_kept_whole(dataset: Path) -> None:
    items = expand([str(dataset)])
    assert [item.relpath for item in items] == WALKED
    assert [item.is_dir for item in items] == [False, False, False, True]
    assert all(item.root == str(dataset) for item in items)


def test_links_out_of_the_input_are_walked_and_links_back_into_it_are_not(
    dataset: Path, tmp_path: Path
) -> None:
    """A link to an ancestor would loop forever, and one to a folder of the input would list it twice;
    a link to a folder elsewhere (a dataset assembled from links) is walked, once."""
    (dataset / "sub-01" / "up").symlink_to("..", target_is_directory=True)
    (dataset / "again-sub-01").symlink_to("sub-01", target_is_directory=True)
    elsewhere = tmp_path / "elsewhere" / "sub-03"
    elsewhere.mkdir(parents=True)
    shutil.copy(dataset / "sub-01" / "spikes.json", elsewhere / "spikes.json")
    (dataset / "sub-03").symlink_to(elsewhere, target_is_directory=True)
    (dataset / "sub-04").symlink_to(elsewhere, target_is_directory=True)
    items = expand([str(dataset)])
    assert [item.relpath for item in items] == [*WALKED, "sub-03/spikes.json"]


def test_filters_match_paths_and_names(dataset: Path) -> None:
    names = lambda **filters: [item.relpath for item in expand([str(dataset)], **filters)]  # noqa: E731
    assert names(include=["*.json", "*.yaml"]) == ["sub-01/spikes.json", "sub-02/ses-1/spikes.yaml"]
    assert names(include=["sub-02/**"]) == ["sub-02/ses-1/spikes.yaml", "sub-02/sorting"]
    assert names(exclude=["README.md", "sub-02/*"]) == ["sub-01/spikes.json"]


def test_globs_files_and_duplicates(dataset: Path) -> None:
    items = expand([str(dataset / "**" / "spikes.*"), str(dataset / "sub-01" / "spikes.json")])
    assert [item.relpath for item in items] == ["sub-01/spikes.json", "sub-02/ses-1/spikes.yaml"]
    assert expand([str(dataset / "README.md")])[0].relpath == "README.md"
    with pytest.raises(InputError, match="no such file"):
        expand([str(dataset / "missing")])


def test_an_s3_prefix_and_glob(dataset: Path, s3_bucket: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem()
    fs.put(str(dataset), f"{s3_bucket}/study", recursive=True)
    prefix = f"{s3_bucket}/study"
    items = expand([prefix])
    assert [item.relpath for item in items] == WALKED
    assert items[-1].is_dir and items[1].url == f"{prefix}/sub-01/spikes.json"
    # the listing gave each file's size: planning asks no more (a request a file)
    assert [item.size for item in items] == [
        (dataset / item.relpath).stat().st_size if not item.is_dir else None for item in items
    ]
    globbed = expand([f"{prefix}/**/*.yaml"])
    assert [item.url for item in globbed] == [f"{prefix}/sub-02/ses-1/spikes.yaml"]


def test_an_object_store_lists_a_level_of_folders_at_once(s3_bucket: str) -> None:
    """`list_entries_of` asks for every folder of a level together (fsspec's async API), and gives what
    one `list_entries` a folder gives, in order; a folder that is not there is named in the error."""
    import s3fs

    from neurodatahub.core import storage

    fs = s3fs.S3FileSystem()
    fs.pipe({f"{s3_bucket}/raw/sub-{n:02d}/ses-1/x{n}.nwb": b"x" for n in range(40)})
    fs.pipe({f"{s3_bucket}/raw/sub-00/notes.txt": b"n"})
    folders = [f"{s3_bucket}/raw/sub-{n:02d}" for n in range(40)]
    at_once = storage.list_entries_of(folders)
    assert at_once == [storage.list_entries(folder) for folder in folders]
    assert at_once[0] == [("notes.txt", False), ("ses-1", True)]
    with pytest.raises(InputError, match=f"{s3_bucket}/raw/sub-99: no such file"):
        storage.list_entries_of([*folders[:3], f"{s3_bucket}/raw/sub-99"])
