"""The "Edges" widget: objects enclosed by edges (Sobel, Prewitt, Scharr, Canny, LoG), or
the edge map itself as an image to look at."""

from __future__ import annotations

from ..methods import edges
from ..methods.edges import METHODS, edge_map, edge_regions
from ._family import FamilyWidget, Method


class EdgesWidget(FamilyWidget):
    """Regions enclosed by edges; the edge strength map."""

    METHODS = {
        "regions enclosed by edges": Method(
            edge_regions, choices={"method": METHODS}, labels={"method": "operator"}
        ),
        "edge map (image)": Method(
            edge_map, choices={"method": METHODS}, labels={"method": "operator"}, preview=False
        ),
    }
    FAMILY = edges
