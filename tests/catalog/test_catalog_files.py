"""Queries down to files, trust on first use, stacked catalogs (HTTP and moto S3), a lab's own entries."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml
from catalog_server import ServerState, serve

from neurodatahub.catalog import IntegrityError, NoMatchError, get, load, ls, remote, verify
from neurodatahub.catalog.index import build_index, index_text
from neurodatahub.catalog.query import find
from neurodatahub.cli import main
from neurodatahub.core.errors import InvalidDataError

# FSL's MNI152 2 mm grid (TemplateFlow res-02 of MNI152NLin6Asym): the grid an atlas in that space is on
GRID_2MM = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
GRID_1MM = np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])


def parcellation(path: Path, labels: int, shape: tuple[int, int, int], affine: np.ndarray) -> Path:
    """A labelled image written by nibabel (the peer), labels 1..n in slabs."""
    data = np.zeros(shape, dtype=np.int16)
    for label in range(1, labels + 1):
        data[10 + 3 * label : 12 + 3 * label, 20:60, 20:60] = label
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


VARIANTS = {
    (n, k, res): f"atlas_{n}p_{k}n_res-{res}_dseg.nii.gz".encode() * 50 + os.urandom(64)
    for n in (100, 400)
    for k in (7, 17)
    for res in (1, 2)
}


def variant_entry(base: str) -> dict:
    files = []
    for (n, k, res), payload in VARIANTS.items():
        files.append(
            {
                "name": f"atlas_{n}p_{k}n_res-{res}_dseg.nii.gz",
                "url": f"{base}/atlas/{n}_{k}_{res}.nii.gz",
                "size_bytes": len(payload),
                "checksum": {"algorithm": "md5", "value": md5(payload)},
                "suffix": "dseg",
                "space": "MNI152NLin6Asym",
                "resolution": float(res),
                "n_regions": n,
                "networks": k,
                "lookup_table": f"atlas_{n}p_{k}n.tsv",
            }
        )
        lut = f"atlas_{n}p_{k}n.tsv"
        if not any(file["name"] == lut for file in files):
            files.append(
                {
                    "name": lut,
                    "url": f"{base}/atlas/{lut}",
                    "checksum": {"algorithm": "unknown"},
                    "suffix": "lut",
                }
            )
    return {
        "name": "lab_variants",
        "display_name": "Variants",
        "kind": "atlas",
        "description": "Many variants, fetched one at a time.",
        "license": "CC0-1.0",
        "citation": "Nobody (2025) Test atlas.",
        "facts_source": "tests/catalog/test_catalog_files.py",
        "source_type": "http",
        "modality": "dMRI",
        "files": files,
    }


def publish_variants(state: ServerState) -> dict:
    for (n, k, res), payload in VARIANTS.items():
        state.files[f"/atlas/{n}_{k}_{res}.nii.gz"] = payload
        state.files[f"/atlas/atlas_{n}p_{k}n.tsv"] = f"index\tname\n1\tregion-{n}-{k}\n".encode()
    return variant_entry(state.base)


def write_catalog(folder: Path, *entries: dict, index: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        (folder / f"{entry['name']}.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
    if index:
        (folder / "index.json").write_text(index_text(build_index(folder)))
    return folder


@pytest.fixture(name="env")
def env_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEURODATAHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEURODATAHUB_CONFIG", str(tmp_path / "config" / "config.yaml"))
    monkeypatch.setenv("NEURODATAHUB_FETCH_BACKOFF", "0")
    monkeypatch.delenv("NEURODATAHUB_CATALOG_PATH", raising=False)
    remote.forget()
    return tmp_path


@pytest.fixture(name="server")
def server_fixture() -> Iterator[ServerState]:
    with serve() as state:
        yield state


def file_requests(state: ServerState) -> list[str]:
    return [path for path, _ in state.log if path.startswith("/atlas/")]


def test_get_fetches_only_the_matching_variants(env: Path, server: ServerState, monkeypatch) -> None:
    entry = publish_variants(server)
    monkeypatch.setenv("NEURODATAHUB_CATALOG_PATH", str(write_catalog(env / "lab", entry)))
    assert len(ls("lab_variants")) == 12 and all(row["local_path"] is None for row in ls("lab_variants"))
    paths = get("lab_variants", n_regions=400, networks=[7, 17], resolution=2, suffix="parcellation")
    assert sorted(path.name for path in paths) == [
        "atlas_400p_17n_res-2_dseg.nii.gz",
        "atlas_400p_7n_res-2_dseg.nii.gz",
    ]
    assert sorted(file_requests(server)) == ["/atlas/400_17_2.nii.gz", "/atlas/400_7_2.nii.gz"]
    assert paths[0].read_bytes() == VARIANTS[(400, 7, 2)] or paths[1].read_bytes() == VARIANTS[(400, 7, 2)]
    again = get("lab_variants", n_regions=400, resolution=2, suffix="dseg")  # present: nothing downloaded
    assert again == paths and len(file_requests(server)) == 2
    listed = {row["file"]: row["local_path"] for row in ls("lab_variants", n_regions=400)}
    assert listed["atlas_400p_7n_res-2_dseg.nii.gz"] == str(
        paths[0].parent / "atlas_400p_7n_res-2_dseg.nii.gz"
    )
    assert listed["atlas_400p_7n_res-1_dseg.nii.gz"] is None


def test_cli_get_ls_and_no_match(env: Path, server: ServerState, monkeypatch, capsys) -> None:
    monkeypatch.setenv("NEURODATAHUB_CATALOG_PATH", str(write_catalog(env / "lab", publish_variants(server))))
    assert (
        main(["catalog", "get", "lab_*", "n_regions=100", "networks=17", "resolution=1", "suffix=dseg"]) == 0
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].endswith("atlas_100p_17n_res-1_dseg.nii.gz") and Path(out[0]).is_file()
    assert main(["catalog", "ls", "lab_variants", "n_regions=450"]) == 1
    err = capsys.readouterr().err
    assert "no file in lab_variants matches n_regions=450" in err and "nearest values: n_regions: 400" in err
    assert main(["catalog", "ls", "lab_variants", "suffix=lut", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("entry,file,") and len(rows) == 5


def test_changed_files_fail_their_published_or_first_use_hash(
    env: Path, server: ServerState, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("NEURODATAHUB_CATALOG_PATH", str(write_catalog(env / "lab", publish_variants(server))))
    server.corrupt.add("/atlas/100_7_1.nii.gz")
    with pytest.raises(IntegrityError, match=r"md5 is .* the source publishes"):
        get("lab_variants", file="atlas_100p_7n_res-1_dseg.nii.gz")
    (lut,) = get("lab_variants", file="atlas_100p_7n.tsv")  # no published hash: trusted on first use
    lock = json.loads((env / "data" / "hashes.lock.json").read_text())["hashes"]
    assert lock["lab_variants/atlas_100p_7n.tsv"]["sha256"] == hashlib.sha256(lut.read_bytes()).hexdigest()
    assert main(["catalog", "show", "lab_variants"]) == 0
    assert "first use" in capsys.readouterr().out
    server.files["/atlas/atlas_100p_7n.tsv"] = b"index\tname\n1\tsomething else\n"
    with pytest.raises(IntegrityError, match=r"first download .* recorded"):
        get("lab_variants", file="atlas_100p_7n.tsv", force=True)
    assert not lut.exists()  # the changed download was deleted, nothing unverified left
    get("lab_variants", file="atlas_400p_7n.tsv")
    (env / "data" / "atlases" / "lab_variants" / "atlas_400p_7n.tsv").write_text("tampered\n")
    assert main(["catalog", "verify", "lab_variants"]) == 5
    assert "atlas_400p_7n.tsv" in capsys.readouterr().err
    assert {row["status"] for row in verify("lab_variants")} == {"changed"}


def test_lab_catalogs_over_http_and_s3_stack_with_the_shipped_one(
    env: Path, server: ServerState, s3_bucket: str, monkeypatch, capsys
) -> None:
    import s3fs

    http_lab = write_catalog(env / "http_lab", publish_variants(server), index=True)
    server.files["/lab/index.json"] = (http_lab / "index.json").read_bytes()
    s3_entry = {
        **variant_entry(server.base),
        "name": "s3_atlas",
        "files": variant_entry(server.base)["files"][:2],
    }
    s3_lab = write_catalog(env / "s3_lab", s3_entry, index=True)
    fs = s3fs.S3FileSystem()
    fs.put_file(str(s3_lab / "index.json"), f"{s3_bucket}/lab/index.json")
    monkeypatch.setenv("NEURODATAHUB_CATALOG_PATH", f"{server.base}/lab;{s3_bucket}/lab")
    names = {entry["name"]: entry["source"] for entry in find({})}
    assert (
        names["lab_variants"] == "lab" and names["s3_atlas"] == "lab-2" and names["schaefer2018"] == "shipped"
    )
    assert [e["name"] for e in find({"modality": "diffusion", "name": "*variants"})] == ["lab_variants"]
    remote.forget()  # a new run: one conditional request, answered 304 from the ETag
    find({})
    assert server.not_modified == 1 and [p for p, _ in server.log].count("/lab/index.json") == 2
    remote.forget()
    server.files.pop("/lab/index.json")  # the source is gone: the cached copy is used, with a warning
    assert "lab_variants" in {entry["name"] for entry in find({})}
    assert "using the cached copy" in capsys.readouterr().err
    assert main(["catalog", "source", "list", "--json"]) == 0
    listed = [source["name"] for source in json.loads(capsys.readouterr().out)]
    assert listed == ["shipped", "lab", "lab-2", "registered"]


def test_duplicate_ids_name_both_catalogs_unless_the_later_overrides(env: Path, monkeypatch, capsys) -> None:
    copy = yaml.safe_load((Path(__file__).parents[2] / "catalog" / "tian2020.yaml").read_text())
    lab = write_catalog(env / "lab", {**copy, "description": "Our copy."})
    monkeypatch.setenv("NEURODATAHUB_CATALOG_PATH", str(lab))
    with pytest.raises(
        InvalidDataError, match=r"'tian2020' is defined by catalog shipped .* and by catalog lab"
    ):
        find({})
    assert main(["catalog", "list"]) == 1
    write_catalog(lab, {**copy, "description": "Our copy.", "overrides": True})
    assert [e["description"] for e in find({"name": "tian2020"})] == ["Our copy."]


def test_source_add_list_remove(env: Path, server: ServerState, capsys) -> None:
    lab = write_catalog(env / "lab", publish_variants(server))
    assert main(["catalog", "source", "add", str(lab), "--name", "mylab"]) == 0
    assert "lab_variants" in {entry["name"] for entry in find({})}
    assert main(["catalog", "source", "add", str(env / "nowhere")]) == 2  # refused, not recorded
    assert main(["catalog", "source", "remove", "mylab"]) == 0
    assert "lab_variants" not in {entry["name"] for entry in find({})}
    assert main(["catalog", "source", "remove", "shipped"]) == 2


def test_registered_lab_entry_shows_everywhere_and_a_wrong_file_is_refused(env: Path, capsys) -> None:
    atlas = parcellation(env / "lab_atlas.nii.gz", 5, (91, 109, 91), GRID_2MM)
    code = main(
        ["catalog", "register", "mylab_atlas", str(atlas), "--kind", "atlas", "--space", "MNI152NLin6Asym",
         "--resolution", "2", "--n-regions", "5", "--license", "CC-BY-4.0"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    for command in (["catalog", "list", "--json"], ["catalog", "search", "space=MNI152NLin6Asym", "--json"]):
        assert main(command) == 0
        assert "mylab_atlas" in [entry["name"] for entry in json.loads(capsys.readouterr().out)]
    assert main(["catalog", "show", "mylab_atlas", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["source"] == "registered" and shown["files"][0]["n_regions"] == 5
    assert shown["files"][0]["suffix"] == "dseg" and shown["files"][0]["checksum"]["algorithm"] == "sha256"
    assert get("mylab_atlas", suffix="dseg", n_regions=5) == [atlas.resolve()]
    assert main(["catalog", "verify", "mylab_atlas", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "ok"
    wrong_grid = parcellation(env / "one_mm.nii.gz", 5, (182, 218, 182), GRID_1MM)
    assert (
        main(["catalog", "register", "other", str(wrong_grid), "--kind", "atlas", "--resolution", "2"]) == 1
    )
    assert "resolution is 2.0 mm" in capsys.readouterr().err
    assert main(["catalog", "register", "other", str(atlas), "--kind", "atlas", "--n-regions", "7"]) == 1
    assert "7 regions, the image has 5 labels" in capsys.readouterr().err
    junk = env / "gsp.bin"
    junk.write_bytes(os.urandom(12 * 1024))
    assert main(["catalog", "register", "gsp1000", str(junk)]) == 1
    assert "is not gsp1000" in capsys.readouterr().err
    assert main(["catalog", "search", "name=other"]) == 1  # nothing was registered


def test_queries_people_type(env: Path, capsys) -> None:
    assert [e["name"] for e in find({"name": "SCHAEFER*"})] == ["schaefer2018"]
    assert {e["name"] for e in find({"modality": "dwi"})} == {"dtor985", "hcp1065", "hcp1065_tracts"}
    with pytest.raises(NoMatchError, match="nearest values: modality: dMRI"):
        find({"modality": "dMRl"}, required=True)
    assert len(find({})) >= 30
    assert main(["catalog", "list"]) == 0
    out = capsys.readouterr().out
    assert all(
        name in out for name in ("mial67_thalamic_nuclei", "mni152nlin2009casym", "destrieux2009_volume")
    )


def test_new_writes_a_valid_skeleton(env: Path, capsys) -> None:
    folder = env / "skeleton"
    folder.mkdir()
    assert main(["catalog", "new", "our_atlas", "--kind", "atlas", "-o", str(folder / "our_atlas.yaml")]) == 0
    assert main(["catalog", "index", str(folder)]) == 0
    assert main(["validate", str(folder)]) == 0


def test_load_reads_an_atlas_image_as_a_parcellation_with_its_table_and_space(
    env: Path, server: ServerState, monkeypatch
) -> None:
    image = parcellation(env / "atlas.nii.gz", 3, (40, 40, 40), GRID_2MM)
    table = b"index\tname\n1\tLH_Vis_1\n2\tLH_SomMot_1\n3\tRH_Vis_1\n"  # a BIDS dseg.tsv
    server.files["/atlas/img.nii.gz"], server.files["/atlas/img.tsv"] = image.read_bytes(), table
    base = {"checksum": {"algorithm": "unknown"}}
    entry = {
        **variant_entry(server.base),
        "name": "lab_image",
        "files": [
            {**base, "name": "atlas-Lab_res-02_dseg.nii.gz", "url": f"{server.base}/atlas/img.nii.gz",
             "suffix": "dseg", "space": "MNI152NLin6Asym", "resolution": 2.0, "n_regions": 3,
             "lookup_table": "atlas-Lab_dseg.tsv"},
            {**base, "name": "atlas-Lab_dseg.tsv", "url": f"{server.base}/atlas/img.tsv",
             "suffix": "lut"},
        ],
    }  # fmt: skip
    monkeypatch.setenv("NEURODATAHUB_CATALOG_PATH", str(write_catalog(env / "lab", entry)))
    atlas = load("lab_image", suffix="dseg")
    assert type(atlas).__name__ == "Parcellation"
    assert atlas.space == "MNI152NLin6Asym" and atlas.resolution == 2.0
    assert [(region.index, region.name) for region in atlas.lut.regions] == [
        (1, "LH_Vis_1"), (2, "LH_SomMot_1"), (3, "RH_Vis_1"),
    ]  # fmt: skip
    assert np.array_equal(np.asarray(atlas.data), np.asarray(nib.load(image).dataobj))
