"""Pictures are checked for what they show: pixels are read back from the rendered canvas at the places
where the data says something must be drawn (a spike's mark, a mask's voxel, a strong connection)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from neurodatahub.connectivity import common as connectivity
from neurodatahub.core import preview
from neurodatahub.core.errors import UsageError
from neurodatahub.core.models import FileRecord, LesionMask, SpectralDecomposition, Tractogram
from neurodatahub.spikes import common as spikes_common
from neurodatahub.surfaces import common as surfaces


def rendered(figure) -> np.ndarray:
    """The figure as an RGB array (rows from the top), as it would be saved."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)


def pixel(image: np.ndarray, axes, x: float, y: float) -> np.ndarray:
    """The colour at data coordinates (x, y) of `axes`."""
    column, row = axes.transData.transform((x, y))
    return image[image.shape[0] - round(float(row)), round(float(column))]


def around(image: np.ndarray, axes, x: float, y: float, radius: int = 2) -> np.ndarray:
    """The colours within `radius` pixels of (x, y): thin lines are antialiased across pixels."""
    column, row = axes.transData.transform((x, y))
    row, column = image.shape[0] - round(float(row)), round(float(column))
    return image[row - radius : row + radius + 1, column - radius : column + radius + 1].reshape(-1, 3)


def dark(colour: np.ndarray) -> bool:
    return bool(colour.max() < 100)


def test_a_raster_has_a_mark_at_each_spike_and_none_between() -> None:
    times = [np.array([0.5, 2.5, 7.5]), np.array([1.0, 9.0])]
    model = spikes_common.build(
        spike_times=np.concatenate(times),
        spike_times_index=np.cumsum([len(train) for train in times]),
        time_unit="s",
        start_time=0.0,
        length=20.0,
    )
    figure = preview.figure(model)
    image = rendered(figure)
    raster = figure.axes[0]
    for unit, train in enumerate(times):
        for time in train:
            assert dark(pixel(image, raster, time, unit)), (unit, time)
    assert not dark(pixel(image, raster, 5.0, 0))  # no spike of unit 0 at 5 s
    assert not dark(pixel(image, raster, 2.5, 1))  # unit 0's spike at 2.5 s is not drawn on unit 1's row


def test_a_mask_is_bright_where_the_mask_is() -> None:
    data = np.zeros((20, 24, 16))
    data[4:8, 14:18, 10:13] = 1  # a block away from the middle of the grid
    mask = LesionMask(data=data, affine=np.eye(4))
    figure = preview.figure(mask)
    image = rendered(figure)
    sagittal, coronal, axial = figure.axes
    centre = (5.5, 15.5, 11.0)  # the block's centre of mass: the slices cross there
    assert not dark(pixel(image, axial, centre[0], centre[1]))  # axial shows (i, j)
    assert dark(pixel(image, axial, 15, 3))
    assert not dark(pixel(image, coronal, centre[0], centre[2]))  # coronal shows (i, k)
    assert not dark(pixel(image, sagittal, centre[1], centre[2]))  # sagittal shows (j, k)
    assert dark(pixel(image, sagittal, 3, 3))


def test_a_heatmap_groups_hemispheres_and_shows_the_strongest_cell() -> None:
    labels = ["7Networks_RH_Vis_1", "7Networks_LH_Vis_1", "7Networks_LH_Default_1", "7Networks_RH_Default_1"]
    matrix = np.full((4, 4), 0.1)
    matrix[1, 2] = matrix[2, 1] = 1.0  # LH_Vis <-> LH_Default
    figure = preview.figure(connectivity.build(matrix, labels))
    heatmap = figure.axes[0]
    shown = [tick.get_text() for tick in heatmap.get_yticklabels()]
    assert shown == [
        "7Networks_LH_Default_1",
        "7Networks_LH_Vis_1",
        "7Networks_RH_Default_1",
        "7Networks_RH_Vis_1",
    ]
    image = rendered(figure)
    strong, weak = pixel(image, heatmap, 1, 0), pixel(image, heatmap, 3, 2)
    assert strong[1] > weak[1] + 100  # viridis: yellow (high green) for the strongest, purple for the rest


def test_a_surface_is_drawn_and_shaded_by_its_data() -> None:
    grid = np.stack(
        np.meshgrid(np.linspace(-10, 10, 12), np.linspace(-10, 10, 12), indexing="ij"), -1
    ).reshape(-1, 2)
    vertices = np.column_stack([np.zeros(len(grid)), grid])  # a sheet facing left-right
    quads = [
        triangle
        for r in range(11)
        for c in range(11)
        for triangle in (
            (r * 12 + c, r * 12 + c + 1, (r + 1) * 12 + c),
            (r * 12 + c + 1, (r + 1) * 12 + c + 1, (r + 1) * 12 + c),
        )
    ]
    mesh = surfaces.build(
        vertices=vertices,
        faces=np.array(quads),
        url="sheet",
        vertex_data=[{"name": "thickness", "values": grid[:, 1] + 10}],
    )
    figure = preview.figure(mesh)
    image = rendered(figure)
    lateral = figure.axes[0]
    colours = [pixel(image, lateral, y, z) for y, z in ((0, -8), (0, 8))]
    assert not np.array_equal(colours[0], colours[1])  # the data changes along z: the shading follows it
    assert all(colour.sum() < 3 * 250 for colour in colours)  # drawn, not background


def test_streamlines_are_coloured_by_direction() -> None:
    x = np.linspace(-30, 30, 50)
    left_right = np.column_stack([x, np.full_like(x, 5.0), np.zeros_like(x)])
    up_down = np.column_stack([np.zeros_like(x) + 10, np.zeros_like(x), x])
    tracts = Tractogram(positions=np.concatenate([left_right, up_down]), offsets=np.array([0, 50]))
    figure = preview.figure(tracts)
    image = rendered(figure)
    _, coronal, axial = figure.axes
    red = around(image, axial, 20, 5)  # the left-right line in the axial view (x, y)
    blue = around(image, coronal, 10, 20)  # the inferior-superior line in the coronal view (x, z)
    assert (red[:, 0] - red[:, 2]).max() > 60  # a red line on black
    assert (blue[:, 2] - blue[:, 0]).max() > 60


def test_long_streamlines_are_drawn_through_a_few_of_their_points_ends_kept() -> None:
    from neurodatahub.tractograms import preview as tract_preview

    t = np.linspace(0, 2 * np.pi, 1000)
    circle = np.column_stack([40 * np.cos(t), 40 * np.sin(t), np.zeros_like(t)])
    tracts = Tractogram(positions=np.concatenate([circle, circle[:10]]), offsets=np.array([0, 1000]))
    long, short = tract_preview.sample(tracts)
    assert len(long) == tract_preview.MAX_POINTS
    assert np.array_equal(long[[0, -1]], circle[[0, -1]])
    assert np.allclose(np.linalg.norm(long[:, :2], axis=1), 40)  # points of the line, not a resampling
    assert np.array_equal(short, circle[:10])


def test_an_eigenvalue_spectrum_is_plotted() -> None:
    spec = SpectralDecomposition(eigenvalues=np.array([0.0, 1.0, 4.0]))
    figure = preview.figure(spec)
    line = figure.axes[0].get_lines()[0]
    assert line.get_ydata().tolist() == [0.0, 1.0, 4.0]


def test_files_previews_and_errors(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    written = preview.preview(str(examples / "spikes.yaml"), str(tmp_path / "spikes.svg"))
    assert Path(written).read_text().lstrip().startswith(("<?xml", "<svg"))
    with pytest.raises(UsageError, match="png, svg, pdf"):
        preview.preview(str(examples / "spikes.yaml"), str(tmp_path / "spikes.jpg"))
    with pytest.raises(UsageError, match="no preview for FileRecord"):
        preview.figure(FileRecord(url="x.nwb"))
    assert not list(tmp_path.glob(".*"))
