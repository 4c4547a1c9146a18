"""TIFF in (plain, ImageJ, OME) and label TIFF out (ImageJ, or OME-TIFF for uint32)."""

from __future__ import annotations

import numpy as np
import tifffile

from ._atomic import atomic_path
from .volume import Volume

#: tifffile axis letters that are positions in space (everything else gets spacing 1)
_SPATIAL = "ZYX"
_MICRON = ("um", "µm", "micron", "microns", "micrometer")


def read_tiff(path) -> Volume:
    """Read the first series of a TIFF with its axes and physical voxel size."""
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        data = series.asarray()
        axes = series.axes
        spacing, unit = _spacing(tif, axes)
        kind = "ome" if tif.is_ome else "imagej" if tif.is_imagej else "tiff"
    axes = _normalise_axes(axes)
    if "S" in axes[:-1]:  # planar colour: samples go last, as napari expects for RGB
        data = np.moveaxis(data, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    n = len(axes) - (axes.endswith("S") and data.shape[-1] in (3, 4))
    units = tuple(unit if a in spacing else "pixel" for a in axes[:n])
    return Volume(
        data,
        axes,
        tuple(spacing.get(a, 1.0) for a in axes[:n]),
        (0.0,) * n,
        units,
        {"path": str(path), "reader": f"segkit tiff ({kind})"},
    )


def write_tiff(path, labels: np.ndarray, *, like: Volume | None = None, overwrite=False) -> None:
    """Write a label image that Fiji and QuPath open with the right pixel size.

    uint8/uint16 labels (or larger dtypes whose values fit) are written as an ImageJ
    hyperstack; labels above 65535 as a zlib-compressed OME-TIFF with physical sizes.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "biu":
        raise ValueError(f"labels must be an integer or boolean array, not {labels.dtype}")
    if not 2 <= labels.ndim <= 3:
        raise ValueError(f"can only write 2D or 3D labels as TIFF, got shape {labels.shape}")
    # the labels cover the last spatial axes of the image (e.g. YX of a CYX or YXS image)
    n = labels.ndim
    axes = like.axes[: len(like.spacing)][-n:] if like is not None else "ZYX"[-n:]
    spacing = dict(zip(axes, like.spacing[-n:])) if like is not None else {}
    unit = next((u for u in (like.units if like else ()) if u != "pixel"), None)
    top = int(labels.max()) if labels.size else 0
    with atomic_path(path, overwrite=overwrite) as tmp:
        if top <= np.iinfo(np.uint16).max:
            dtype = np.uint8 if top <= 255 else np.uint16
            meta = {"axes": axes}
            if "Z" in spacing:
                meta["spacing"] = spacing["Z"]
            if unit:
                meta["unit"] = "um" if unit in _MICRON else unit
            tifffile.imwrite(
                tmp,
                labels.astype(dtype, copy=False),
                imagej=True,
                resolution=(1 / spacing.get("X", 1.0), 1 / spacing.get("Y", 1.0)),
                metadata=meta,
            )
        else:
            meta = {"axes": axes}
            for a in axes:
                meta[f"PhysicalSize{a}"] = spacing.get(a, 1.0)
                if unit:
                    meta[f"PhysicalSize{a}Unit"] = "µm" if unit in _MICRON else unit
            tifffile.imwrite(
                tmp, labels.astype(np.uint32, copy=False), ome=True,
                compression="zlib", metadata=meta,
            )


def _spacing(tif: tifffile.TiffFile, axes: str) -> tuple[dict, str]:
    """Physical size per axis letter and the unit ("pixel" when the file has none)."""
    spacing: dict[str, float] = {}
    unit = "pixel"
    if tif.is_ome:
        pixels = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        pixels = (pixels[0] if isinstance(pixels, list) else pixels)["Pixels"]
        for a in _SPATIAL:
            if f"PhysicalSize{a}" in pixels:
                spacing[a] = float(pixels[f"PhysicalSize{a}"])
                unit = pixels.get(f"PhysicalSize{a}Unit", "µm")
        return spacing, unit
    tags = tif.pages.first.tags
    ij = tif.imagej_metadata or {}
    res_unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 2
    # ImageJ stores pixels per `unit`; plain TIFFs are trusted only in centimetres, since
    # inches (and the 72-dpi default) never describe a microscope's pixels
    factor = 1.0 if ij else 1e4 if res_unit == 3 else None
    if factor and "XResolution" in tags:
        for a, tag in (("X", "XResolution"), ("Y", "YResolution")):
            num, den = tags[tag].value
            if num:
                spacing[a] = factor * den / num
        unit = ij.get("unit", "µm")
    if "spacing" in ij:
        spacing["Z"] = float(ij["spacing"])
    if unit in _MICRON:
        unit = "µm"
    return spacing, unit


def _normalise_axes(axes: str) -> str:
    """tifffile's "Q"/"I" (unknown/sequence) before Y and X become "Z"; RGB stays "S"."""
    axes = axes.replace("I", "Q")
    if axes.count("Q") == 1 and "Z" not in axes:
        axes = axes.replace("Q", "Z")
    return axes
