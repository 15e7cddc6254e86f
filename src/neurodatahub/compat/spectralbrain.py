"""spectralbrain 0.1.0's `spectralbrain.io.export` under the same names, parameters and defaults.

Each kind holds its part: `save_connectome` in `neurodatahub.connectivity.spectralbrain`, the spectral
cache (`save_hdf5`, `load_hdf5`, `save_npz`) in `neurodatahub.spectral.spectralbrain`, `save_mesh` and
`save_gifti_func` in `neurodatahub.surfaces.spectralbrain`; their docstrings say where the hub differs
on purpose. Arguments that make no valid model raise `InvalidArguments` (a hub error and a ValueError).
"""

from neurodatahub.connectivity.spectralbrain import save_connectome
from neurodatahub.core.peers import InvalidArguments
from neurodatahub.spectral.spectralbrain import SPECTRALBRAIN_VERSION, load_hdf5, save_hdf5, save_npz
from neurodatahub.surfaces.spectralbrain import save_gifti_func, save_mesh

__all__ = [
    "SPECTRALBRAIN_VERSION",
    "InvalidArguments",
    "load_hdf5",
    "save_connectome",
    "save_gifti_func",
    "save_hdf5",
    "save_mesh",
    "save_npz",
]
