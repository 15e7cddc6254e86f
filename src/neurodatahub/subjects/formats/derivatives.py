"""A BIDS derivatives folder as a readable format, so `hub validate DIR` and `hub info DIR` check it.

Reading runs `validate_bids_derivatives`: a dataset with errors raises BidsError (exit 1) with every
problem located; a valid one reads as a short description of the dataset with its warnings.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from neurodatahub.core import storage
from neurodatahub.core.registry import FormatSpec, Probe, register_format

if TYPE_CHECKING:
    from neurodatahub.core.models import DerivativesDataset


def _sniff(probe: Probe) -> bool:
    """A folder with a dataset_description.json of derivatives (or a broken one: reading says why)."""
    if not probe.is_dir or "dataset_description.json" not in probe.names:
        return False
    try:
        with storage.open_read(
            storage.join(probe.url, "dataset_description.json"), probe.storage_options
        ) as f:
            description = json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return True  # broken: reading it reports why
    if not isinstance(description, dict):
        return True
    # BIDS: DatasetType defaults to raw; derivatives must name their pipeline (GeneratedBy)
    kind = description.get("DatasetType")
    return kind == "derivative" or (kind not in ("raw", "study") and "GeneratedBy" in description)


def read(url: str, *, storage_options: Any = None) -> DerivativesDataset:
    from neurodatahub.subjects.bids.tree import walk
    from neurodatahub.subjects.bids.validation import as_lines, check_derivatives, invalid

    description, errors, warnings = check_derivatives(url, storage_options)
    if errors or description is None:
        raise invalid(url, errors)
    tree = walk(url, storage_options=storage_options)
    from neurodatahub.core.models import DerivativesDataset

    return DerivativesDataset(
        path=url,
        name=description["Name"],
        bids_version=str(description["BIDSVersion"]),
        generated_by=[entry["Name"] for entry in description["GeneratedBy"]],
        subjects=[folder for folder in tree.folders if "/" not in folder and folder.startswith("sub-")],
        files=len(tree.files),
        warnings=as_lines(warnings),
    )


register_format(
    FormatSpec(
        name="bids",
        kind="derivatives",
        description="BIDS 1.11 derivatives folder, with lacuna's checks and those bids-validator skips",
        extensions=(".bids",),  # folders are told by their content; the suffix is a convention
        read=read,
        sniff=_sniff,
        directory=True,
    )
)
