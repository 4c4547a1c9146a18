"""The "Post-process" widget: clean up a Labels layer (holes, small objects, morphology,
borders, renumbering, interpolation between slices) into a new Labels layer."""

from __future__ import annotations

import napari

from ..methods import postprocess as pp
from ._family import FamilyWidget, Method


class PostprocessWidget(FamilyWidget):
    """Every post-processing step, on a Labels layer; the result is a new layer."""

    INPUT = napari.layers.Labels
    METHODS = {
        "fill holes": Method(pp.fill_holes),
        "remove small objects": Method(pp.remove_small_objects, start={"min_size": 50.0}),
        "remove small holes": Method(pp.remove_small_holes, start={"max_size": 50.0}),
        "erode / dilate / open / close": Method(
            pp.morphology_op, choices={"operation": pp.OPERATIONS}, start={"operation": "open"}
        ),
        "expand labels": Method(pp.expand_labels),
        "smooth labels": Method(pp.smooth_labels),
        "remove objects touching the border": Method(pp.remove_border_objects),
        "relabel 1…N": Method(pp.relabel_sequential),
        "keep largest": Method(pp.keep_largest),
        "fill between slices": Method(pp.fill_between_slices, preview=False),
    }
    FAMILY = pp
