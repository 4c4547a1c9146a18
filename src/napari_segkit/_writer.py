"""npe2 writer target: a Labels layer to TIFF (ImageJ/OME) or PNG, keeping its pixel size."""

from __future__ import annotations

from .io import Volume, write


def write_labels(path: str, data, meta: dict) -> list[str]:
    """Write one Labels layer; napari's save dialog has already asked about overwriting."""
    ndim = data.ndim
    labels = [str(a) for a in (meta.get("axis_labels") or ())]
    axes = "".join(labels) if set(labels) <= set("ZYX") and len(labels) == ndim else "ZYX"[-ndim:]
    units = tuple(str(u) for u in meta.get("units") or ("pixel",) * ndim)
    spacing = tuple(float(s) for s in meta.get("scale") or (1.0,) * ndim)
    origin = tuple(float(t) for t in meta.get("translate") or (0.0,) * ndim)
    like = Volume(data, axes, spacing, origin, units)
    write(path, data, like=like, overwrite=True)
    return [path]
