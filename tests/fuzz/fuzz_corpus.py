"""The fuzz corpus: one valid seed file per readable format (written by the hub's writers, and by the
peers where the hub only reads), and the hostile variants made from them.

Variants: truncations at many offsets (including inside the header), declarations of huge sizes, and
references to files outside the input; hypothesis then mutates the seeds' bytes (fuzz_worker.py).
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

Maker = Callable[[Path], Path]


def _written(model_of: Callable[[], object], name: str, **options: object) -> Maker:
    def make(folder: Path) -> Path:
        from neurodatahub.core import conversion

        path = folder / name
        conversion.write(model_of(), str(path), overwrite=True, **options)
        return path

    return make


def _spikes() -> object:
    from neurodatahub.spikes import common

    return common.from_trains(
        [[0.01, 0.25, 0.5, 0.75], [0.1, 0.2], [0.9]],
        time_unit="s",
        length=1.0,
        unit_attributes={"quality": np.array(["good", "mua", "good"])},
        metadata={"lab": "fuzz"},
    )


def _connectivity() -> object:
    from neurodatahub.connectivity import common

    matrix = np.array([[0.0, 0.5, 0.25], [0.5, 0.0, 1.0], [0.25, 1.0, 0.0]])
    return common.build(matrix, ["L_a", "R_b", "L_c"], symmetric=True)


def _mesh() -> object:
    from neurodatahub.core.models import SurfaceMesh

    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    return SurfaceMesh(vertices=vertices, faces=np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3]]), hemisphere="L")


def _tractogram() -> object:
    from neurodatahub.core.models import ImageGrid
    from neurodatahub.tractograms import common

    positions = np.array([[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 1, 2], [5, 1, 2]], dtype=np.float32)
    model = common.chunk(positions, np.array([0, 3]), {"fa": np.linspace(0, 1, 5, dtype=np.float32)})
    grid = ImageGrid(shape=np.array([10, 10, 10]), affine=np.eye(4))
    return model.model_copy(update={"reference": grid})


def _mask(folder: Path) -> Path:
    import nibabel as nib

    data = np.zeros((6, 7, 5), np.uint8)
    data[2:4, 3:5, 1:3] = 1
    image = nib.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0]))
    image.set_sform(image.affine, code=1)
    path = folder / "sub-01_space-MNI152NLin6Asym_label-lesion_mask.nii.gz"
    image.to_filename(path)
    return path


def _regions(folder: Path) -> Path:
    path = folder / "regions.tsv"
    path.write_text("region\tmean\tstd\tvolume\nL_a\t0.5\t0.1\t12\nR_b\t0.25\t0.05\t7\n")
    return path


def _phy_npy(folder: Path) -> Path:
    """One .npy of a Phy folder (the folder's other files stay valid; the fuzzed file is this one)."""
    sorting = folder / "sorting"
    sorting.mkdir(exist_ok=True)
    np.save(sorting / "spike_clusters.npy", np.array([0, 1, 0, 2], dtype=np.int32))
    (sorting / "params.py").write_text("sample_rate = 30000.0\n")
    np.save(sorting / "spike_times.npy", np.array([10, 20, 30, 40], dtype=np.uint64))
    return sorting / "spike_times.npy"


def _functional(folder: Path) -> Path:
    import h5py

    path = folder / "chunk.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("timeseries", data=np.random.default_rng(0).normal(size=(2, 5, 3)).astype("f4"))
        file.create_dataset("mask_indices", data=np.array([[1, 2, 3], [2, 2, 3], [3, 2, 3]]))
        file.create_dataset("mask_affine", data=np.eye(4))
        file.attrs["mask_shape"] = [6, 6, 6]
        file.attrs["n_subjects"] = 2
        file.attrs["n_timepoints"] = 5
        file.attrs["n_voxels"] = 3
    return path


def _sorted_spikes() -> object:
    """Spikes with a sampling rate: what NIX and SpikeInterface folders keep."""
    from neurodatahub.spikes import common

    return common.from_trains(
        [[0.01, 0.25, 0.5], [0.1, 0.2], [0.9]], time_unit="s", sampling_rate=30000.0, length=1.0
    )


def _si_npy(folder: Path) -> Path:
    """spikes.npy of a SpikeInterface NumPy sorting folder written by the hub (the fuzzed file)."""
    from neurodatahub.core import conversion

    conversion.write(_sorted_spikes(), str(folder / "sorting.si"), overwrite=True)
    return folder / "sorting.si" / "spikes.npy"


def _zarray(folder: Path) -> Path:
    """The .zarray declaration of a SpikeInterface zarr sorting written by the hub (the fuzzed file)."""
    from neurodatahub.core import conversion

    conversion.write(_sorted_spikes(), str(folder / "sorting.zarr"), format="si-zarr", overwrite=True)
    return folder / "sorting.zarr" / "spikes" / "sample_index" / ".zarray"


def _annot(folder: Path) -> Path:
    from nibabel.freesurfer import write_annot

    path = folder / "lh.aparc.annot"
    ctab = np.array([[25, 5, 25, 0, 0], [25, 100, 40, 0, 0]], dtype=np.int32)
    write_annot(path, np.array([0, 1, 1, 0, -1]), ctab, [b"unknown", b"bankssts"], fill_ctab=True)
    return path


def _morph(folder: Path) -> Path:
    from nibabel.freesurfer import write_morph_data

    path = folder / "lh.thickness"
    write_morph_data(path, np.linspace(1.0, 3.0, 6, dtype=np.float32))
    return path


def _mgz(folder: Path) -> Path:
    import nibabel as nib

    path = folder / "lh.thickness.mgz"
    nib.save(nib.MGHImage(np.linspace(1.0, 3.0, 6, dtype=np.float32).reshape(6, 1, 1), np.eye(4)), path)
    return path


def _label(folder: Path) -> Path:
    path = folder / "lh.V1.label"
    path.write_text(
        "#!ascii label  , from subject  vox2ras=TkReg\n2\n3  1.0  2.0  3.0 0.5\n7  4.0  5.0  6.0 0.25\n"
    )
    return path


def _gifti_label(folder: Path) -> Path:
    import nibabel as nib

    table = nib.gifti.GiftiLabelTable()
    for key, name in enumerate(("unknown", "V1")):
        label = nib.gifti.GiftiLabel(key, 0.5, 0.5, 0.5, 1.0)
        label.label = name
        table.labels.append(label)
    array = nib.gifti.GiftiDataArray(np.array([0, 1, 1, 0], dtype=np.int32), intent="NIFTI_INTENT_LABEL")
    path = folder / "lh.aparc.label.gii"
    nib.save(nib.GiftiImage(darrays=[array], labeltable=table), path)
    return path


# the path a fuzzed case's `hub` reads: the seed itself, or (Phy) the folder holding it
def target_of(path: Path) -> Path:
    folders = [parent for parent in path.parents if parent.name in ("sorting", "sorting.si", "sorting.zarr")]
    return folders[0] if folders else path


SEEDS: dict[str, Maker] = {
    "spikes-hdf5": _written(_spikes, "spikes.h5"),
    "spikes-nwb": _written(_spikes, "spikes.nwb"),
    "spikes-npz": _written(_spikes, "spikes.npz"),
    "spikes-parquet": _written(_spikes, "spikes.parquet"),
    "spikes-tsv": _written(_spikes, "spikes.tsv"),
    "spikes-json": _written(_spikes, "spikes.json"),
    "spikes-yaml": _written(_spikes, "spikes.yaml"),
    "spikes-phy": _phy_npy,
    "connectivity-tsv": _written(_connectivity, "conn.tsv"),
    "connectivity-npz": _written(_connectivity, "conn.npz"),
    "connectivity-hdf5": _written(_connectivity, "conn.h5"),
    "connectivity-mat": _written(_connectivity, "conn.mat"),
    "connectivity-mat73": _written(_connectivity, "conn73.mat", version="7.3"),
    "connectivity-graphml": _written(_connectivity, "conn.graphml"),
    "spikes-nix": _written(_sorted_spikes, "spikes.nix"),
    "spikes-si-folder": _si_npy,
    "spikes-si-zarr": _zarray,
    "surface-annot": _annot,
    "surface-gifti-label": _gifti_label,
    "surface-label": _label,
    "surface-morph": _morph,
    "surface-mgh": _mgz,
    "surface-gifti": _written(_mesh, "lh.surf.gii"),
    "surface-ply": _written(_mesh, "mesh.ply"),
    "surface-stl": _written(_mesh, "mesh.stl"),
    "surface-vtk": _written(_mesh, "mesh.vtk"),
    "surface-vtp": _written(_mesh, "mesh.vtp"),
    "tractogram-trk": _written(_tractogram, "tracts.trk"),
    "tractogram-tck": _written(_tractogram, "tracts.tck"),
    "tractogram-trx": _written(_tractogram, "tracts.trx"),
    "lesion-mask": _mask,
    "regions-tsv": _regions,
    "functional-hdf5": _functional,
}


def truncations(data: bytes, count: int) -> list[bytes]:
    """`count` cuts: every 16 bytes into the first header-sized part, then spread over the rest."""
    cuts = {0, 1, 2, 4, 8} | set(range(16, min(len(data), 16 * (count // 2)), 16))
    cuts |= {
        int(len(data) * fraction)
        for fraction in np.linspace(0.1, 0.99, count - len(cuts) if count > len(cuts) else 2)
    }
    return [data[:cut] for cut in sorted(cuts) if cut < len(data)]


def hostile(folder: Path) -> dict[str, Path]:
    """Files that declare far more than they hold, or point outside themselves, one per reader family."""
    import h5py
    from nibabel.streamlines.trk import TrkFile

    made: dict[str, Path] = {}
    path = folder / "index-bomb.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("spike_times", data=np.arange(10.0))
        file.create_dataset(
            "spike_times_index", shape=(400_000_000,), dtype="i8", chunks=(1 << 20,), compression="gzip"
        )
    made["hdf5 declaring 3.2 GB"] = path
    path = folder / "external.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("spike_times", shape=(16,), dtype="u1", external=[("/etc/hostname", 0, 16)])
        file.create_dataset("spike_times_index", data=np.array([16]))
    made["hdf5 with external storage"] = path
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**10,)})
    path = folder / "declared.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("spike_times.npy", buffer.getvalue())
        archive.writestr("spike_times_index.npy", buffer.getvalue())
    made["npz member declaring 80 GB"] = path
    header = TrkFile._default_structarr(endianness="little")
    header["voxel_to_rasmm"] = np.eye(4)
    header["nb_scalars_per_point"] = 32000
    path = folder / "scalars.trk"
    path.write_bytes(header.tobytes() + np.array([1], "<i4").tobytes())
    made["trk with 32000 scalars per point"] = path
    path = folder / "offset.tck"
    path.write_bytes(b"mrtrix tracks\ncount: 1\ndatatype: Float32LE\nfile: . 99999999999999999999\nEND\n")
    made["tck data offset past the end"] = path
    path = folder / "huge.nii.gz"
    import nibabel as nib

    nifti = nib.Nifti1Header()
    nifti.set_data_shape((4000, 4000, 4000))
    path.write_bytes(gzip.compress(nifti.binaryblock + b"\0" * 4))
    made["nifti declaring 64 GB"] = path
    path = folder / "bomb.yaml"
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
    path.write_text("\n".join(lines) + "\n")
    made["yaml alias bomb"] = path
    path = folder / "external.surf.gii"
    path.write_text(
        '<?xml version="1.0"?><GIFTI Version="1.0" NumberOfDataArrays="1"><DataArray'
        ' Intent="NIFTI_INTENT_POINTSET" DataType="NIFTI_TYPE_FLOAT32" ArrayIndexingOrder="RowMajorOrder"'
        ' Dimensionality="2" Dim0="1" Dim1="3" Encoding="ExternalFileBinary" Endian="LittleEndian"'
        ' ExternalFileName="/etc/hostname" ExternalFileOffset="0"><Data></Data></DataArray></GIFTI>'
    )
    made["gifti with an external file"] = path
    path = folder / "deep.json"
    path.write_text('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}")
    made["json nested 50000 deep"] = path
    return made
