"""Segmentation algorithms. Nothing here imports napari or Qt."""

import importlib

from ..backend import on_dask_input
from . import cluster, contours, edges, metrics, postprocess, regions
from .adaptive import adaptive_threshold
from .cluster import fuzzy_cmeans, kmeans, mean_shift, slic
from .components import label
from .contours import chan_vese, geodesic_active_contour
from .distance import distance_transform
from .edges import edge_map, edge_regions
from .grabcut import grab_cut
from .graphcut import graph_cut
from .growcut import grow_from_seeds
from .measure import measure
from .regions import felzenszwalb, magic_wand, normalized_cut, region_grow, split_and_merge
from .scale import estimate_object_size
from .threshold import threshold
from .watershed import find_seeds, split_touching_objects, voronoi_otsu_labeling, watershed

on_dask_input(lambda: importlib.import_module("._blockwise", __name__))

__all__ = ["adaptive_threshold", "chan_vese", "cluster", "contours", "distance_transform",
           "edge_map", "edge_regions", "edges", "estimate_object_size", "felzenszwalb",
           "find_seeds", "fuzzy_cmeans", "geodesic_active_contour", "grab_cut", "graph_cut",
           "grow_from_seeds", "kmeans", "label", "magic_wand", "mean_shift", "measure", "metrics",
           "normalized_cut", "postprocess", "region_grow", "regions", "slic", "split_and_merge",
           "split_touching_objects", "threshold", "voronoi_otsu_labeling", "watershed"]
