"""Quick-look pictures of any model, drawn headless (matplotlib's Agg canvas, no display, no VTK).

Each kind registers a painter for its classes in `neurodatahub.<package>.preview` (`@paints("Class")`),
imported the first time a model of one of its classes is previewed, as checks are. A painter draws into an
empty Figure; the core adds the title (the file, the kind, the key numbers of the model's summary) and
saves it. Data larger than memory is previewed from a bounded sample: for streamed formats only the first
chunks are read (`SAMPLE_ROWS` points or rows), so a 1 GB tractogram costs what its first chunks cost.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodatahub.core import kinds, storage
from neurodatahub.core.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from pydantic import BaseModel

Painter = Callable[[Any, "Figure"], None]
_PAINTERS: dict[str, Painter] = {}
_LOADED: set[str] = set()
FORMATS = ("png", "svg", "pdf")
SIZE_INCHES = (11.0, 6.5)
DPI = 100
SAMPLE_ROWS = 1_000_000  # bulk rows (points, subjects...) a preview reads from a streamed file
KEY_NUMBERS = 6  # summary entries shown under the title


def paints(class_name: str) -> Callable[[Painter], Painter]:
    def register(painter: Painter) -> Painter:
        _PAINTERS[class_name] = painter
        return painter

    return register


def _painter(model: BaseModel) -> Painter:
    for cls in type(model).__mro__:
        package = kinds.package_of_class(cls.__name__)
        if package and package != kinds.CORE_PACKAGE and package not in _LOADED:
            _LOADED.add(package)
            if importlib.util.find_spec(f"neurodatahub.{package}.preview") is not None:
                importlib.import_module(f"neurodatahub.{package}.preview")
        if cls.__name__ in _PAINTERS:
            return _PAINTERS[cls.__name__]
    raise UsageError(f"there is no preview for {type(model).__name__} data")


def figure(model: BaseModel, *, source: str | None = None, kind: str | None = None) -> Figure:
    """The model's picture as a matplotlib Figure (no pyplot: nothing global, nothing shown)."""
    from matplotlib.figure import Figure

    from neurodatahub.core.summary import summarize

    painter = _painter(model)
    drawing = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    painter(model, drawing)
    summary = summarize(model)
    numbers = [
        f"{key} {_short(value)}"
        for key, value in summary.items()
        if key != "class" and isinstance(value, int | float | str) and not isinstance(value, bool)
    ][:KEY_NUMBERS]
    head = " - ".join(
        part for part in (source and Path(source.rstrip("/")).name, kind or "", summary["class"]) if part
    )
    drawing.suptitle(f"{head}\n{', '.join(numbers)}", fontsize=10)
    return drawing


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def save(
    drawing: Figure, url: str, *, overwrite: bool = True, storage_options: Mapping[str, Any] | None = None
) -> str:
    """Write the picture atomically; its format comes from the extension (png, svg or pdf)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    suffix = Path(url.rstrip("/")).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(
            f"{url}: a preview is written as {', '.join(FORMATS)}, not {suffix or 'no extension'!r}"
        )
    FigureCanvasAgg(drawing)
    with storage.atomic_write(url, overwrite=overwrite, storage_options=storage_options) as tmp:
        drawing.savefig(tmp, format=suffix, dpi=DPI)
    return url


def png_bytes(drawing: Figure, dpi: int = DPI) -> bytes:
    """The picture as PNG bytes in memory (a thumbnail to inline, rather than a file to write)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(drawing)
    buffer = io.BytesIO()
    drawing.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def sample_file(
    url: str,
    *,
    format: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    rows: int = SAMPLE_ROWS,
    **options: Any,
) -> tuple[BaseModel, str]:
    """The model of a file for a preview, and its kind: whole, or the first chunks (about `rows` rows) of
    a streamed format."""
    from neurodatahub.core import conversion, registry, streaming

    spec = registry.input_format(url, format, storage_options, class_name=options.get("class_name"))
    if not spec.reads_option("class_name"):  # the class picked the format's kind; nothing more
        options.pop("class_name", None)
    if spec.read_stream is None:
        return conversion.read_as(spec, url, storage_options, **options), spec.kind
    with conversion.open_stream(spec, url, storage_options, **options) as stream:
        return streaming.collect(streaming.Stream(stream.header, _first_rows(stream.chunks, rows))), spec.kind


def _first_rows(chunks: Any, rows: int) -> Any:
    """Chunks until `rows` rows of their first bulk array are taken (the rest is never read)."""
    from neurodatahub.core import streaming

    taken = 0
    for chunk in chunks:
        yield chunk
        first = next(iter(streaming.bulk_fields(chunk)))
        taken += len(getattr(chunk, first))
        if taken >= rows:
            return


def preview(
    source: Any,
    out: str | None = None,
    *,
    format: str | None = None,
    overwrite: bool = True,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """The picture of a model or of a file (any URL; streamed files from a bounded sample).

    Without `out` the matplotlib Figure is returned (for notebooks); with it, the picture is written there
    (png, svg or pdf) and its URL returned.
    """
    if isinstance(source, str | Path):
        model, kind = sample_file(str(source), format=format, storage_options=storage_options, **options)
        drawing = figure(model, source=str(source), kind=kind)
    else:
        drawing = figure(source, kind=kinds.kind_of_class(type(source).__name__))
    if out is None:
        return drawing
    return save(drawing, str(out), overwrite=overwrite, storage_options=storage_options)
