"""The "Segment" widget: watershed recipes that split touching objects, and a watershed
from seeds the user clicks (Points) or paints (Labels)."""

from __future__ import annotations

from ..methods.threshold import HISTOGRAM_METHODS
from ..methods.watershed import (LANDSCAPES, split_touching_objects, voronoi_otsu_labeling,
                                 watershed)
from ._family import FamilyWidget, Method


class SegmentWidget(FamilyWidget):
    """Split touching objects, Voronoi-Otsu labelling, seeded watershed."""

    METHODS = {
        "split touching objects": Method(split_touching_objects,
                                         choices={"method": tuple(sorted(HISTOGRAM_METHODS))},
                                         labels={"method": "threshold"}),
        "Voronoi-Otsu": Method(voronoi_otsu_labeling),
        "watershed from seeds": Method(watershed, seeds="required",
                                       choices={"landscape": LANDSCAPES},
                                       start={"landscape": "edges", "sigma": 1.0}),
    }
