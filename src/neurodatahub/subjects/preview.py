"""A subject is seen through its lesion mask: three orthogonal slices through the lesion's centre of mass
(the images kind draws masks and maps themselves)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neurodatahub.core.imaging import slices
from neurodatahub.core.preview import paints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from neurodatahub.core.models import SubjectData


@paints("SubjectData")
def paint_subject(subject: SubjectData, figure: Figure) -> None:
    slices.draw(figure, np.asarray(subject.mask.data), of_mass=True, cmap="gray", vmin=0, vmax=1)
