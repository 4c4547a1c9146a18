"""The "Cluster" widget: k-means, fuzzy c-means and mean shift on intensity or colour, and
SLIC superpixels; classes, objects, or both ("panoptic": two layers)."""

from __future__ import annotations

from collections.abc import Callable

from ..methods import cluster
from ..methods.cluster import MODES, fuzzy_cmeans, kmeans, mean_shift, objects_of_classes, slic
from ._family import FamilyWidget, Method

#: the panel's modes: the method's, and both layers from one clustering
PANEL_MODES = (*MODES, "panoptic")


def with_panoptic(function: Callable) -> Callable:
    """``function``, where mode "panoptic" gives (classes, objects): its classes, then
    :func:`~napari_segkit.methods.cluster.objects_of_classes` of them."""

    def call(image, *, mode: str = "semantic", progress=None, **params):
        if mode != "panoptic":
            return function(image, mode=mode, progress=progress, **params)
        classes = function(image, mode="semantic", progress=progress, **params)
        objects = objects_of_classes(
            classes,
            image,
            dark=params.get("dark", False),
            rgb=params.get("rgb", False),
            min_size=params.get("min_size"),
        )
        return classes, objects

    return call


class ClusterWidget(FamilyWidget):
    """Clustering by intensity or colour; superpixels."""

    METHODS = {
        "k-means": Method(kmeans, choices={"mode": PANEL_MODES}, call=with_panoptic(kmeans)),
        "fuzzy c-means": Method(
            fuzzy_cmeans, choices={"mode": PANEL_MODES}, call=with_panoptic(fuzzy_cmeans)
        ),
        "mean shift": Method(
            mean_shift, choices={"mode": PANEL_MODES}, call=with_panoptic(mean_shift)
        ),
        "SLIC superpixels": Method(slic),
    }
    FAMILY = cluster
