"""npe2 writer: a Labels layer to TIFF, NIfTI or PNG, keeping its source image's geometry."""

from __future__ import annotations

import numpy as np

from .io import Volume, write

#: napari reports units by their pint names; the writers know the short ones
_SHORT_UNITS = {
    "micrometer": "µm",
    "millimeter": "mm",
    "nanometer": "nm",
    "meter": "m",
    "second": "s",
    "millisecond": "ms",
}


class LabelsNotWritten(RuntimeError):
    """The labels cannot go into the chosen file (a ValueError would not reach the user:
    napari takes it for "this writer does not apply" and shows only its generic warning)."""


def write_labels(path: str, data, meta: dict) -> list[str]:
    """Write one Labels layer; napari's save dialog has already asked about overwriting.

    A layer made by segkit (or drawn on an image segkit read) carries its source image's
    geometry in ``metadata["segkit_source"]``: the NIfTI header or the patient affine, so the
    file overlays on the source in other tools. Otherwise the layer's scale, translate and
    units are used. Labels the format cannot hold (3D labels as PNG, say) raise
    :class:`LabelsNotWritten` with one sentence that napari shows.
    """
    like = like_layer(np.asarray(data), meta)
    try:
        write(path, data, like=like, overwrite=True)
    except ValueError as err:
        raise LabelsNotWritten(str(err)) from None
    return [path]


def like_layer(data: np.ndarray, meta: dict) -> Volume:
    """The geometry of a layer (from napari's layer state ``meta``) as a Volume."""
    ndim = data.ndim
    source = dict((meta.get("metadata") or {}).get("segkit_source") or {})
    labels = [str(a) for a in (meta.get("axis_labels") or ())]
    axes = (
        "".join(labels)
        if set(labels) <= set("TCZYX") and len(labels) == ndim
        else "ZYX"[-ndim:]
        if ndim <= 3
        else "TZYX"[-ndim:]
    )
    units = tuple(_SHORT_UNITS.get(str(u), str(u)) for u in meta.get("units") or ("pixel",) * ndim)
    spacing = tuple(float(s) for s in meta.get("scale") or (1.0,) * ndim)
    origin = tuple(float(t) for t in meta.get("translate") or (0.0,) * ndim)
    affine = source.pop("affine", None)
    space = source.pop("space", "")
    if affine is not None and np.shape(affine) != (ndim + 1, ndim + 1):
        affine = np.asarray(affine)[-(ndim + 1) :, -(ndim + 1) :] if len(affine) > ndim else None
    return Volume(data, axes, spacing, origin, units, source, affine=affine, space=space)
