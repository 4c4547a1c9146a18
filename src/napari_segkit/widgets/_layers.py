"""Put a result into the viewer as a Labels layer that overlays its source image."""

from __future__ import annotations

from typing import Any

import napari

from .. import __version__


def full_data(layer):
    """The full-resolution data of a layer (the first level of a multiscale one)."""
    return layer.data[0] if layer.multiscale else layer.data


def provenance(function: str, parameters: dict, backend: str, **extra: Any) -> dict:
    """The record a Labels layer keeps in ``metadata["segkit"]`` to re-run or cite the call."""
    return {"function": function, "parameters": parameters, "version": __version__,
            "backend": backend, **extra}


def show_labels(viewer: napari.Viewer, name: str, data, source: napari.layers.Layer,
                record: dict) -> napari.layers.Labels:
    """Add ``data`` as Labels ``name`` with ``source``'s geometry, or update that layer."""
    geometry = {"scale": source.scale, "translate": source.translate, "units": source.units,
                "axis_labels": source.axis_labels}
    if name in viewer.layers and isinstance(viewer.layers[name], napari.layers.Labels):
        layer = viewer.layers[name]
        layer.data = data
        for key, value in geometry.items():
            setattr(layer, key, value)
    else:
        layer = viewer.add_labels(data, name=name, **geometry)
    layer.metadata["segkit"] = record
    if "segkit_source" in source.metadata:  # lets the writer put the labels back on the source
        layer.metadata["segkit_source"] = source.metadata["segkit_source"]
    return layer
