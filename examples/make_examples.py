"""Example data of every kind the demo previews (synthetic, made by this project with the hub's own API).

Written into the folder given (`python examples/make_examples.py OUT`): a 2 mm brain-shaped grid with a
lesion mask, an FA-like map and a 100-region parcellation (`hub extract` turns them into a region table),
a connectome of the parcellation's regions named as Schaefer's 7-network atlas names them, an ellipsoid
cortex-like surface with a curvature-like overlay, a spectral decomposition of that surface's graph
Laplacian, and a tractogram of arcs between the hemispheres.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from neurodatahub.connectivity import common as connectivity
from neurodatahub.core import conversion
from neurodatahub.core.models import SpectralDecomposition, Tractogram
from neurodatahub.surfaces import common as surfaces

SHAPE = (91, 109, 91)  # MNI152 at 2 mm
NETWORKS = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")


def mni_affine() -> np.ndarray:
    affine = np.diag([-2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = (90, -126, -72)
    return affine


def brain(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    grid = np.indices(SHAPE).reshape(3, -1).T
    inside = (((grid - np.array([45, 54, 40])) / np.array([34, 43, 33])) ** 2).sum(axis=1) <= 1
    return grid, inside


def volumes(folder: Path, rng: np.random.Generator) -> None:
    grid, inside = brain(rng)
    lesion = (((grid - np.array([30, 60, 50])) / np.array([6, 9, 5])) ** 2).sum(axis=1) <= 1
    nib.save(
        nib.Nifti1Image(lesion.reshape(SHAPE).astype(np.uint8), mni_affine()),
        folder / "sub-01_space-MNI152NLin6Asym_res-2_label-infarct_mask.nii.gz",
    )
    # white-matter-like: high in the middle, falling off towards the cortex, with noise
    depth = (((grid - np.array([45, 54, 40])) / np.array([34, 43, 33])) ** 2).sum(axis=1)
    fa = np.where(inside, np.clip(0.75 - 0.55 * depth + rng.normal(0, 0.05, inside.size), 0.05, 1), 0)
    fa = fa.astype(np.float32)
    nib.save(
        nib.Nifti1Image(fa.reshape(SHAPE), mni_affine()),
        folder / "sub-01_space-MNI152NLin6Asym_desc-FA_dwimap.nii.gz",
    )
    seeds = grid[inside][rng.choice(int(inside.sum()), 100, replace=False)]
    labels = np.zeros(inside.size, dtype=np.int16)
    points = grid[inside]
    nearest = np.argmin(((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2), axis=1)
    labels[inside] = nearest + 1
    nib.save(nib.Nifti1Image(labels.reshape(SHAPE), mni_affine()), folder / "atlas-toy100_dseg.nii.gz")
    names = [region_name(index, seeds[index - 1]) for index in range(1, 101)]
    (folder / "atlas-toy100_dseg.tsv").write_text(
        "index\tname\n" + "".join(f"{index}\t{name}\n" for index, name in enumerate(names, start=1))
    )
    connectome(folder, names, seeds, rng)


def region_name(index: int, seed: np.ndarray) -> str:
    hemisphere = "LH" if seed[0] > 45 else "RH"  # voxel i grows to the left on this grid (x = 90 - 2i)
    return f"7Networks_{hemisphere}_{NETWORKS[index % len(NETWORKS)]}_{index}"


def connectome(folder: Path, names: list[str], seeds: np.ndarray, rng: np.random.Generator) -> None:
    distance = np.linalg.norm(seeds[:, None, :] - seeds[None, :, :], axis=2)
    networks = np.array([name.split("_")[2] for name in names])
    matrix = np.exp(-distance / 20) + 0.4 * (networks[:, None] == networks[None, :])
    matrix = (matrix + matrix.T) / 2 + rng.normal(0, 0.02, matrix.shape)
    matrix = (matrix + matrix.T) / 2
    np.fill_diagonal(matrix, 0)
    conn = connectivity.build(matrix, names, measure="correlation", symmetric=True)
    conversion.write(conn, str(folder / "sub-01_atlas-toy100_conn.tsv"), overwrite=True)


def ellipsoid(rows: int = 30, columns: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A UV ellipsoid shaped like a left hemisphere, folded a little so that shading shows gyri."""
    theta, phi = np.meshgrid(
        np.linspace(0.05, np.pi - 0.05, rows),
        np.linspace(0, 2 * np.pi, columns, endpoint=False),
        indexing="ij",
    )
    radius = 1 + 0.04 * np.sin(9 * theta) * np.cos(11 * phi)
    vertices = np.stack(
        [
            -35 + 30 * radius * np.sin(theta) * np.cos(phi),
            70 * radius * np.sin(theta) * np.sin(phi) - 15,
            45 * radius * np.cos(theta) + 15,
        ],
        axis=-1,
    ).reshape(-1, 3)
    faces = []
    for row in range(rows - 1):
        for column in range(columns):
            a, b = row * columns + column, row * columns + (column + 1) % columns
            c, d = a + columns, b + columns
            faces += [(a, c, b), (b, c, d)]
    return vertices, np.array(faces, dtype=np.int64)


def surface_and_spectrum(folder: Path) -> None:
    vertices, faces = ellipsoid()
    curvature = np.sin(9 * np.arccos(np.clip((vertices[:, 2] - 15) / 45, -1, 1)))
    mesh = surfaces.build(
        vertices=vertices,
        faces=faces,
        url="example",
        hemisphere="L",
        vertex_data=[{"name": "curv", "values": curvature}],
    )
    conversion.write(mesh, str(folder / "lh.pial.vtp"), overwrite=True)
    adjacency = np.zeros((len(vertices), len(vertices)))
    for a, b in ((0, 1), (1, 2), (2, 0)):
        adjacency[faces[:, a], faces[:, b]] = adjacency[faces[:, b], faces[:, a]] = 1
    laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
    values, vectors = np.linalg.eigh(laplacian)
    spec = SpectralDecomposition(
        eigenvalues=values[:50], eigenvectors=vectors[:, :50], vertices=vertices, faces=faces
    )
    conversion.write(spec, str(folder / "lh_spectral.h5"), overwrite=True)


def tractogram(folder: Path, rng: np.random.Generator) -> None:
    """Arcs over the top of the brain from one hemisphere to the other, like callosal fibres."""
    lines = []
    for _ in range(400):
        y, z = rng.uniform(-60, 30), rng.uniform(5, 25)
        t = np.linspace(0, np.pi, 40)
        lines.append(
            np.column_stack(
                [-50 * np.cos(t), np.full_like(t, y) + rng.normal(0, 1, t.size), z + 30 * np.sin(t)]
            )
        )
    offsets = np.concatenate([[0], np.cumsum([len(line) for line in lines])[:-1]])
    tracts = Tractogram(positions=np.concatenate(lines), offsets=offsets, space="MNI152NLin6Asym")
    conversion.write(tracts, str(folder / "callosal.tck"), overwrite=True)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "examples-out")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    volumes(folder, rng)
    surface_and_spectrum(folder)
    tractogram(folder, rng)
    print(f"wrote the example data of every kind into {folder}/")


if __name__ == "__main__":
    main()
