"""lacuna's converter and fetcher names, with the parameters and defaults of its API page (lacuna io)."""

from __future__ import annotations

import inspect

import pytest

from neurodatahub.compat import lacuna

LACUNA_SIGNATURES = {
    "trk_to_tck": "(trk_path, output_path, *, overwrite=False)",
    "merge_trk_to_tck": "(source_dir, output_path, *, exclude_patterns=None, overwrite=False)",
    "gsp1000_to_hdf5": (
        "(gsp_dir, mask_path, output_dir, subjects_per_chunk=10, *, max_subjects=None, overwrite=False"
    ),
    # the fetchers' output_dir may be left out (the data directory): the hub's one addition to them
    "fetch_dtor985": (
        "(output_dir=None, *, api_key=None, keep_original=True, register=True, register_name='dTOR985',"
        " force=False, progress_callback=None, verbose=False"
    ),
    "fetch_hcp1065": (
        "(output_dir=None, *, keep_original=True, register=True, register_name='HCP1065', force=False,"
        " progress_callback=None, verbose=False"
    ),
}


def _plain(function: object) -> str:
    """The signature without annotations, as lacuna's page prints it."""
    parameters = [
        parameter.replace(annotation=inspect.Parameter.empty)
        for parameter in inspect.signature(function).parameters.values()
    ]
    return str(inspect.Signature(parameters))


@pytest.mark.parametrize("name", sorted(LACUNA_SIGNATURES))
def test_lacuna_parameters_come_first_with_lacunas_defaults(name: str) -> None:
    """The hub may add keyword-only parameters after lacuna's (storage options), never change them."""
    documented = LACUNA_SIGNATURES[name]
    mine = _plain(getattr(lacuna, name))
    assert mine.startswith(documented.rstrip(")")), f"{name}{mine} differs from lacuna's {name}{documented}"
