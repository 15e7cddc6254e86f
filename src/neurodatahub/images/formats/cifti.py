"""CIFTI-2 dense files through nibabel's cifti2 axes: scalar maps (`.dscalar.nii`), label maps
(`.dlabel.nii`, a parcellation of grayordinates with one lookup table per map) and series
(`.dtseries.nii`), each read into its class and written from it.

The brain models axis (surface vertices and voxels of each structure, the volume grid) becomes the
model's `brain_models` and `volume`; label tables become AtlasLUT models (key 0, `???`, is background;
colours RGBA 0-255). The description, the template space and free-form metadata ride in the CIFTI
matrix's own metadata (`Description`, `neurodatahub`). Parcel axes (`.ptseries.nii`, `.pscalar.nii`) and
connectivity matrices are not grayordinate maps and are refused by name. A remote file is read through the
storage layer's block cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from neurodatahub.core import storage
from neurodatahub.core.codecs.gzip import gunzipped_head
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.core.imaging.lut import infer_hemisphere
from neurodatahub.core.imaging.nifti import header_from_bytes
from neurodatahub.core.options import Options, choice
from neurodatahub.core.registry import FormatSpec, Probe, register_format

KIND = "grayordinates"
HUB_KEY = "neurodatahub"
# (format name, extension, NIfTI intent code, intent name, class)
FLAVOURS = (
    ("dscalar", ".dscalar.nii", 3006, "ConnDenseScalar", "GrayordinateMaps"),
    ("dlabel", ".dlabel.nii", 3007, "ConnDenseLabel", "GrayordinateParcellation"),
    ("dtseries", ".dtseries.nii", 3002, "ConnDenseSeries", "GrayordinateSeries"),
)
BACKGROUND = ("???", (0.0, 0.0, 0.0, 0.0))


def _intent(probe: Probe) -> int | None:
    if probe.is_dir:
        return None
    try:
        header = header_from_bytes(gunzipped_head(probe.head, probe.url), probe.url)
    except InputError:
        return None
    return int(header["intent_code"]) if header is not None else None


def _text(value: Any) -> Any:
    return getattr(value, "value", value)


class ReadOptions(Options):
    class_name: str | None = Field(None, description="GrayordinateMaps reads any dense file as plain maps")
    space: choice("CoordinateSpace") | None = Field(None, description="template space (CIFTI has no field)")


def _brain_models(axis: Any) -> tuple[list[Any], Any]:
    from neurodatahub.core.models import BrainModel, ImageGrid

    models = []
    for structure, where, part in axis.iter_structures():
        count = int(where.stop - where.start) if where.stop is not None else len(part)
        offset = int(where.start or 0)
        if part.surface_mask.all():
            models.append(
                BrainModel(
                    structure=structure,
                    model_type="surface",
                    index_offset=offset,
                    index_count=count,
                    surface_vertices=int(part.nvertices[structure]),
                    vertex_indices=np.asarray(part.vertex, dtype=np.int64),
                )
            )
        else:
            models.append(
                BrainModel(
                    structure=structure,
                    model_type="voxels",
                    index_offset=offset,
                    index_count=count,
                    voxel_indices=np.asarray(part.voxel, dtype=np.int64),
                )
            )
    grid = None
    if axis.volume_shape is not None:
        grid = ImageGrid(
            shape=np.asarray(axis.volume_shape, dtype=np.int64), affine=np.asarray(axis.affine, float)
        )
    return models, grid


def _label_tables(axis: Any, name: str) -> list[Any]:
    from neurodatahub.core.imaging.lut import build_lut

    tables = []
    for map_name, labels in zip(axis.name, axis.label, strict=True):
        regions = [
            {
                "index": int(key),
                "name": label,
                "hemisphere": infer_hemisphere(label),
                "color": [round(float(channel) * 255) for channel in rgba],
            }
            for key, (label, rgba) in sorted(labels.items())
            if int(key) != 0
        ]
        tables.append(build_lut(regions, map_name or name, None))
    return tables


def read(
    url: str, *, storage_options: Any = None, class_name: str | None = None, space: str | None = None
) -> Any:
    import nibabel as nib
    from nibabel import cifti2
    from nibabel.fileholders import FileHolder

    with storage.open_read(url, storage_options) as handle:
        try:
            holder = FileHolder(fileobj=handle)
            return from_image(
                cifti2.Cifti2Image.from_file_map({"header": holder, "image": holder}), url, class_name, space
            )
        except (
            nib.filebasedimages.ImageFileError,
            nib.spatialimages.HeaderDataError,
            cifti2.Cifti2HeaderError,
            OSError,
            EOFError,
            ValueError,
        ) as error:
            raise InputError(
                f"{url}: not a readable CIFTI-2 file ({' '.join(str(error).split())})"
            ) from error


def from_image(image: Any, url: str, class_name: str | None = None, space: str | None = None) -> Any:
    """The model of a nibabel Cifti2Image (dense files): its class from the row axis, or `class_name`."""
    from nibabel import cifti2

    from neurodatahub.core.models import model_class

    rows, columns = image.header.get_axis(0), image.header.get_axis(1)
    data = np.asarray(image.dataobj)
    meta = dict(image.header.matrix.metadata or {})
    if not isinstance(columns, cifti2.BrainModelAxis) or data.ndim != 2:
        raise InputError(f"{url}: only dense CIFTI-2 files (grayordinates along the columns) are read")
    found = {cifti2.ScalarAxis: "GrayordinateMaps", cifti2.LabelAxis: "GrayordinateParcellation"}.get(
        type(rows), "GrayordinateSeries" if isinstance(rows, cifti2.SeriesAxis) else None
    )
    if found is None:
        raise InputError(f"{url}: rows of {type(rows).__name__} are not maps, labels or a series")
    wanted = class_name or found
    if wanted not in (found, "GrayordinateMaps"):
        raise UsageError(f"{url} holds {found}; it can be read as that or as GrayordinateMaps, not {wanted}")
    hub = json.loads(meta.get(HUB_KEY, "{}"))
    models, grid = _brain_models(columns)
    fields: dict[str, Any] = {
        "brain_models": models,
        "volume": grid,
        "space": space or hub.get("space"),
        "description": meta.get("Description"),
        "metadata": hub.get("metadata"),
    }
    if isinstance(rows, cifti2.SeriesAxis):
        fields["map_names"] = None
        if wanted == "GrayordinateSeries":
            fields.update(series_start=float(rows.start), series_step=float(rows.step), series_unit=rows.unit)
    else:
        fields["map_names"] = [str(name) for name in rows.name]
    if isinstance(rows, cifti2.LabelAxis) and wanted == "GrayordinateParcellation":
        fields["label_tables"] = _label_tables(rows, Path(url).name)
        data = np.rint(data).astype(np.int32)
    return model_class(wanted)(data=data, **fields)


def _columns(maps: Any) -> Any:
    from nibabel import cifti2

    axis = None
    grid = maps.volume
    for model in maps.brain_models:
        names = [model.structure] * model.index_count
        if _text(model.model_type) == "surface":
            part = cifti2.BrainModelAxis(
                names,
                vertex=np.asarray(model.vertex_indices),
                nvertices={model.structure: model.surface_vertices},
            )
        else:
            part = cifti2.BrainModelAxis(
                names,
                voxel=np.asarray(model.voxel_indices),
                affine=np.asarray(grid.affine),
                volume_shape=tuple(int(size) for size in grid.shape),
            )
        axis = part if axis is None else axis + part
    return axis


def _rows(maps: Any, flavour: str) -> Any:
    from nibabel import cifti2

    count = maps.data.shape[0]
    names = list(maps.map_names or [f"map_{row}" for row in range(count)])
    if flavour == "dtseries":
        return cifti2.SeriesAxis(maps.series_start, maps.series_step, count, _text(maps.series_unit))
    if flavour == "dlabel":
        labels = [
            {
                0: BACKGROUND,
                **{
                    region.index: (
                        region.name,
                        tuple(value / 255 for value in region.color)
                        if region.color is not None
                        else (1, 1, 1, 1),
                    )
                    for region in table.regions
                },
            }
            for table in maps.label_tables
        ]
        return cifti2.LabelAxis(names, labels)
    return cifti2.ScalarAxis(names)


def flavour_of(maps: Any) -> tuple[str, str, int, str, str]:
    """The CIFTI flavour a model is written as by default (a dlabel file for a parcellation...)."""
    return next(flavour for flavour in FLAVOURS if flavour[4] == type(maps).__name__)


def to_image(maps: Any, flavour: str | None = None) -> Any:
    """A nibabel Cifti2Image of the model (intent, axes and matrix metadata set), without a file."""
    from nibabel import cifti2

    name, _, intent, intent_name, class_name = next(
        (found for found in FLAVOURS if found[0] == flavour), None
    ) or flavour_of(maps)
    if class_name != "GrayordinateMaps" and type(maps).__name__ != class_name:
        raise UsageError(f"a {name} file holds {class_name}, not {type(maps).__name__}")
    header = cifti2.Cifti2Header.from_axes((_rows(maps, name), _columns(maps)))
    hub = {"space": _text(maps.space), "metadata": maps.metadata}
    header.matrix.metadata = cifti2.Cifti2MetaData(
        {HUB_KEY: json.dumps({key: value for key, value in hub.items() if value is not None})}
        | ({"Description": maps.description} if maps.description else {})
    )
    dtype = np.int32 if name == "dlabel" else np.float32
    image = cifti2.Cifti2Image(np.asarray(maps.data, dtype=dtype), header)
    image.nifti_header.set_intent(intent, name=intent_name)
    return image


def _writer(flavour: str) -> Any:
    def write(maps: Any, path: Path) -> None:
        path.write_bytes(to_image(maps, flavour).to_bytes())

    return write


def verify(maps: Any, path: Path, **options: Any) -> None:
    """The file read again holds the values (float32) and the brain models written (a dscalar file of a
    label or series model reads back as plain maps: that is its declared loss)."""
    from neurodatahub.core.errors import OutputError

    back = read(str(path))
    expected = np.asarray(maps.data, dtype=back.data.dtype)
    if back.data.shape != expected.shape or not np.array_equal(back.data, expected, equal_nan=True):
        raise OutputError(f"{path.name}: the values read back differ from those written")
    layout = [(model.structure, model.index_offset, model.index_count) for model in maps.brain_models]
    if [(model.structure, model.index_offset, model.index_count) for model in back.brain_models] != layout:
        raise OutputError(f"{path.name}: the brain models read back differ from those written")


def losses(maps: Any, **options: Any) -> list[Any]:
    from neurodatahub.core.models import Loss

    found = []
    if np.asarray(maps.data).dtype.itemsize > 4 and np.asarray(maps.data).dtype.kind == "f":
        found.append(Loss(field="data", reason="CIFTI maps are written as float32"))
    return found


def _dscalar_losses(maps: Any, **options: Any) -> list[Any]:
    from neurodatahub.core.models import Loss

    found = losses(maps)
    if hasattr(maps, "label_tables"):
        found.append(
            Loss(field="label_tables", reason="a dscalar file has no label tables (use .dlabel.nii)")
        )
    if hasattr(maps, "series_step"):
        found.append(Loss(field="series", reason="a dscalar file has no series axis (use .dtseries.nii)"))
    return found


def _sniffer(code: int) -> Any:
    def sniff(probe: Probe) -> bool:
        return _intent(probe) == code

    return sniff


SPECS = [
    register_format(
        FormatSpec(
            name=name,
            kind=KIND,
            description=f"CIFTI-2 dense {class_name} ({extension}, nibabel): brain models"
            + (" and label tables" if name == "dlabel" else "")
            + " kept",
            extensions=(extension,),
            read=read,
            write=_writer(name),
            verify=verify,
            sniff=_sniffer(code),
            read_options=ReadOptions,
            cannot_store=("label tables", "series axis") if name == "dscalar" else (),
            losses=_dscalar_losses if name == "dscalar" else losses,
        )
    )
    for name, extension, code, intent_name, class_name in FLAVOURS
]
