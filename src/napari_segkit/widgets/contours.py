"""The "Contours" widget: morphological Chan-Vese and geodesic active contours, started from
seeds (optional) and split into objects if wanted."""

from __future__ import annotations

from ..methods import contours
from ..methods.contours import chan_vese, geodesic_active_contour
from ._family import FamilyWidget, Method

_INITS = ("checkerboard", "disk")


class ContoursWidget(FamilyWidget):
    """Active contours, 2D and 3D."""

    METHODS = {
        "Chan-Vese": Method(chan_vese, seeds="optional", choices={"init": _INITS}, mask=True),
        "geodesic active contour": Method(
            geodesic_active_contour, seeds="optional", choices={"init": _INITS}, mask=True
        ),
    }
    FAMILY = contours
