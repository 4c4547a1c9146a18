"""The "Cluster" widget: k-means, fuzzy c-means and mean shift on intensity or colour, and
SLIC superpixels; classes, objects, or both."""

from __future__ import annotations

from ..methods import cluster
from ..methods.cluster import MODES, fuzzy_cmeans, kmeans, mean_shift, slic
from ._family import FamilyWidget, Method


class ClusterWidget(FamilyWidget):
    """Clustering by intensity or colour; superpixels."""

    METHODS = {
        "k-means": Method(kmeans, choices={"mode": MODES}),
        "fuzzy c-means": Method(fuzzy_cmeans, choices={"mode": MODES}),
        "mean shift": Method(mean_shift, choices={"mode": MODES}),
        "SLIC superpixels": Method(slic),
    }
    FAMILY = cluster
