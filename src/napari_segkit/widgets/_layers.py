"""Put a result into the viewer as a Labels layer that overlays its source image."""

from __future__ import annotations

from typing import Any

import napari
import numpy as np

from .. import __version__


def full_data(layer):
    """The full-resolution data of a layer (the first level of a multiscale one)."""
    return layer.data[0] if layer.multiscale else layer.data


def public_name(function) -> str:
    """The name a recipe (and the user) calls ``function`` by, e.g.
    "napari_segkit.postprocess.fill_holes"; its module path if it is not public."""
    from ..recipe import resolve

    try:
        name, found = resolve(function.__name__)
    except ValueError:
        found = None
    return name if found is function else f"{function.__module__}.{function.__qualname__}"


def provenance(function: str, parameters: dict, backend: str, **extra: Any) -> dict:
    """The record a Labels layer keeps in ``metadata["segkit"]`` to re-run or cite the call."""
    return {
        "function": function,
        "parameters": parameters,
        "version": __version__,
        "backend": backend,
        **extra,
    }


def show_labels(
    viewer: napari.Viewer, name: str, data, source: napari.layers.Layer, record: dict
) -> napari.layers.Labels:
    """Add ``data`` as Labels ``name`` with ``source``'s geometry, or update that layer."""
    geometry = {
        "scale": source.scale,
        "translate": source.translate,
        "units": source.units,
        "axis_labels": source.axis_labels,
    }
    if name in viewer.layers and isinstance(viewer.layers[name], napari.layers.Labels):
        layer = viewer.layers[name]
        layer.data = data
        set_geometry(layer, geometry)
    else:
        layer = viewer.add_labels(data, name=name, **geometry)
    layer.metadata["segkit"] = record
    if "segkit_source" in source.metadata:  # lets the writer put the labels back on the source
        layer.metadata["segkit_source"] = source.metadata["segkit_source"]
    return layer


def set_geometry(layer, geometry: dict) -> None:
    """Set the layer's scale, translate, … that differ (each change redraws the layer)."""
    for key, value in geometry.items():
        now = getattr(layer, key)
        if not np.array_equal(np.asarray(now, object), np.asarray(value, object)):
            setattr(layer, key, value)


def unit_symbol(unit) -> str:
    """A layer unit (pint) abbreviated, with the micro sign: "µm" (pint 0.26 writes the
    Greek letter mu, "μm", which looks the same and compares different)."""
    return format(unit, "~").replace("\u03bc", "\u00b5")


def spatial_ndim(layer) -> int:
    """The number of spatial axes of an image layer (its colour axis not counted)."""
    return full_data(layer).ndim - (1 if getattr(layer, "rgb", False) else 0)


def displayed_plane(viewer: napari.Viewer, layer):
    """The 2D (or 2D RGB) plane of ``layer`` at the viewer's position, and the index of its
    leading axes (None for a 2D layer)."""
    data = full_data(layer)
    leading = spatial_ndim(layer) - 2
    if leading == 0:
        return np.asarray(data), None
    position = layer.world_to_data(viewer.dims.point)[:leading]
    index = tuple(int(np.clip(round(p), 0, n - 1)) for p, n in zip(position, data.shape))
    return np.asarray(data[index]), index
