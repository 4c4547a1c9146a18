"""TIFF in (plain, ImageJ, OME) and label TIFF out (ImageJ, or OME-TIFF for uint32)."""

from __future__ import annotations

import logging
import struct
from functools import partial
from pathlib import Path

import numpy as np
import tifffile

from ._atomic import atomic_path
from .volume import ReadError, Volume, check_size, reader_errors

log = logging.getLogger(__name__)

#: series larger than this (bytes) open lazily unless asked otherwise
LAZY_BYTES = 512 * 2**20

#: TIFF compressions whose expansion is bounded (LZW, deflate, PackBits): see check_size
_BOUNDED_CODECS = (5, 8, 32773, 32946)

#: the TIFF Software tag of label images segkit writes (read back as ``metadata["labels"]``)
LABELS_SOFTWARE = "napari-segkit labels"

_MICRON = ("um", "µm", "micron", "microns", "micrometer")


@reader_errors
def read_tiff(path, *, lazy: bool | None = None) -> Volume:
    """Read the first series of a TIFF with its axes and physical voxel size.

    Axes follow tifffile's letters, reordered so that Z, Y, X come last (before colour
    samples "S"). ``lazy`` (default: only for series above :data:`LAZY_BYTES`) returns a
    dask array that reads planes when they are used, so napari shows the first plane of a
    huge stack at once; ``np.asarray`` or ``.compute()`` of the whole array reads the file in
    one pass, as ``tifffile.imread`` does (:class:`~napari_segkit.io._whole.WholeRead`).
    Pyramids (whole-slide images) are always lazy, with their lower levels in
    ``Volume.pyramid``.

    A stack with fewer planes than its header announces (ImageJ ``images=``, OME
    SizeZ×SizeC×SizeT, tifffile's shape) is refused with a :class:`ReadError` saying how
    many are missing, rather than opened short: a partial stack has the wrong depth and
    labels drawn on it would not fit the complete file. So is a header that claims more
    pixels than the file holds (see :func:`~napari_segkit.io.volume.check_size`).
    """
    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            tif.pages.useframes = True  # the checks need the pages' data offsets, not all tags
            _check_planes(path, tif, series)
            axes = series.axes
            physical = _spacing(tif)
            origin = _origin(tif, physical)
            kind = "ome" if tif.is_ome else "imagej" if tif.is_imagej else "tiff"
            marked = tif.pages.first.software == LABELS_SOFTWARE
            names = _channel_names(tif)
            levels = len(series.levels)
            more = len(tif.series) - 1
            lazy = levels > 1 or (series.nbytes > LAZY_BYTES if lazy is None else lazy)
            check_size(path, series.nbytes, in_memory=not lazy)
            data = None if lazy else series.asarray()
            if lazy:  # zarr stores over the series parsed here (they reopen the file to read)
                data, *pyramid = [_lazy(series, level) for level in range(levels)]
    except (ReadError, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 (tifffile, zlib, imagecodecs: each becomes one line)
        raise ReadError(
            f"cannot read {path.name}: not a readable TIFF file ({type(err).__name__}: {err})"
        ) from None
    if more and levels == 1:
        log.info("%s holds %d more series; segkit opened the first", path.name, more)
    source_axes = _normalise_axes(axes)
    data, axes = _reorder(data, source_axes)
    pyramid = [_reorder(level, source_axes)[0] for level in pyramid] if lazy else []
    loader = partial(_read_whole, path, source_axes) if lazy else None
    if lazy:  # np.asarray(data) then reads the file in one pass, as tifffile.imread
        from ._whole import WholeRead

        data = WholeRead.of(data, loader)
    n = len(axes) - (axes.endswith("S") and data.shape[-1] in (3, 4))
    spacing = tuple(physical.get(a, (1.0, ""))[0] for a in axes[:n])
    units = tuple(physical.get(a, (1.0, "pixel"))[1] for a in axes[:n])
    metadata = {
        "path": str(path),
        "reader": f"segkit tiff ({kind})",
        "labels": marked,
        "name": path.name.split(".")[0],
        "lazy": lazy,
    }
    if names and "C" in axes and len(names) == data.shape[axes.index("C")]:
        metadata["channel_names"] = names
    return Volume(
        data,
        axes,
        spacing,
        tuple(origin.get(a, 0.0) for a in axes[:n]),
        units,
        metadata,
        pyramid=tuple(pyramid),
        loader=loader,
    )


def _check_planes(path: Path, tif: tifffile.TiffFile, series) -> None:
    """Refuse a stack with missing planes or pages whose data lie outside the file."""
    first = tif.pages.first
    size = tif.filehandle.size
    plane = max(first.nbytes, 1)
    expected = _announced_planes(tif, first) or series.nbytes // plane
    if series.dataoffset is not None:  # contiguous data: count the planes that fit
        stored = max(0, size - series.dataoffset)
        if stored < plane:  # not even one plane: say how many bytes are missing
            check_size(path, expected * plane, stored=stored, in_memory=False)
        present = min(expected, stored // plane)
    else:
        present = min(expected, sum(p is not None for p in series.pages))
    if present < expected:
        raise ReadError(
            f"cannot read {path.name}: it holds {present} of the {expected} "
            f"planes its header announces ({expected - present} missing; the "
            "file is truncated or damaged)"
        )
    if _chain_broken(tif):  # e.g. the metadata that announce the planes were cut off too
        raise ReadError(
            f"cannot read {path.name}: its list of planes breaks off after plane "
            f"{len(tif.pages)} (the file is truncated or damaged)"
        )
    if series.dataoffset is not None:  # contiguous and uncompressed: the count above is all
        return
    for page in series.pages:
        key = getattr(page, "keyframe", None)
        if key is None:
            continue
        ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts)]
        if max(ends, default=0) > size:
            raise ReadError(
                f"cannot read {path.name}: image data of plane {page.index} "
                "lie beyond the end of the file (truncated or damaged)"
            )
        if key.compression == 1 or key.compression in _BOUNDED_CODECS:
            check_size(
                path,
                key.nbytes,
                stored=sum(page.databytecounts),
                compressed=key.compression != 1,
                in_memory=False,
            )


def _chain_broken(tif: tifffile.TiffFile) -> bool:
    """True if the last page's link to a next page points beyond the end of the file."""
    tiff, fh = tif.tiff, tif.filehandle
    last = tif.pages[len(tif.pages) - 1]
    fh.seek(last.offset)
    count = struct.unpack(tiff.tagnoformat, fh.read(tiff.tagnosize))[0]
    fh.seek(last.offset + tiff.tagnosize + count * tiff.tagsize)
    link = fh.read(tiff.offsetsize)
    return len(link) < tiff.offsetsize or struct.unpack(tiff.offsetformat, link)[0] >= fh.size


def _announced_planes(tif: tifffile.TiffFile, first) -> int | None:
    """The number of planes the file's metadata announce (ImageJ, OME, tifffile's shape)."""
    if tif.is_imagej and tif.imagej_metadata:
        return int(tif.imagej_metadata.get("images", 1))
    if tif.is_ome:
        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        pixels = (image[0] if isinstance(image, list) else image)["Pixels"]
        count = (
            int(pixels.get("SizeZ", 1)) * int(pixels.get("SizeT", 1)) * int(pixels.get("SizeC", 1))
        )
        return max(1, count // max(first.samplesperpixel, 1))
    if tif.is_shaped and tif.shaped_metadata:
        shape = tif.shaped_metadata[0].get("shape")
        if shape:
            return max(1, int(np.prod(shape)) * first.dtype.itemsize // max(first.nbytes, 1))
    return None


def _read_whole(path: Path, axes: str) -> np.ndarray:
    """The full-resolution series in one read (faster than chunk by chunk through zarr)."""
    return _reorder(tifffile.imread(path, series=0, level=0), axes)[0]


def _lazy(series, level: int):
    """One pyramid level of a tifffile series as a dask array over its zarr store (chunks =
    TIFF tiles or planes)."""
    import dask.array as da
    import zarr

    store = series.aszarr(level=level)
    return da.from_zarr(zarr.open(store, mode="r"))


def _reorder(data, axes: str):
    """Move Z, Y, X (in that order) to the end, before colour samples; other axes keep order."""
    tail = "".join(a for a in "ZYXS" if a in axes)
    order = [a for a in axes if a not in tail] + list(tail)
    if "".join(order) == axes:
        return data, axes
    return data.transpose([axes.index(a) for a in order]), "".join(order)


def _channel_names(tif: tifffile.TiffFile) -> list[str]:
    """Channel names from OME (Channel Name) or ImageJ (slice Labels of the first slice)."""
    if tif.is_ome:
        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        channels = (image[0] if isinstance(image, list) else image)["Pixels"].get("Channel", [])
        channels = channels if isinstance(channels, list) else [channels]
        names = [str(c.get("Name", "")) for c in channels]
        return names if all(names) else []
    ij = tif.imagej_metadata or {}
    labels, count = ij.get("Labels"), int(ij.get("channels", 1))
    if labels and count > 1 and len(labels) >= count and all(labels[:count]):
        return [str(label) for label in labels[:count]]
    return []


def write_tiff(path, labels: np.ndarray, *, like: Volume | None = None, overwrite=False) -> None:
    """Write a label image that Fiji and QuPath open with the right pixel size.

    uint8/uint16 labels (or larger dtypes whose values fit) are written as an ImageJ
    hyperstack; labels above 65535 as a zlib-compressed OME-TIFF with physical sizes.
    The origin (``like.origin``, napari's translate) goes where Fiji reads it: ImageJ's
    ``xorigin``/``yorigin``/``zorigin`` (in pixels, the other way round) or OME's Plane
    ``PositionX/Y/Z``.
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
    origin = dict(zip(axes, like.origin[-n:])) if like is not None else {}
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
            for a, position in origin.items():
                if position:
                    meta[f"{a.lower()}origin"] = -position / spacing.get(a, 1.0)
            tifffile.imwrite(
                tmp,
                labels.astype(dtype, copy=False),
                imagej=True,
                software=LABELS_SOFTWARE,
                resolution=(1 / spacing.get("X", 1.0), 1 / spacing.get("Y", 1.0)),
                metadata=meta,
            )
        else:
            meta = {"axes": axes}
            for a in axes:
                meta[f"PhysicalSize{a}"] = spacing.get(a, 1.0)
                if unit:
                    meta[f"PhysicalSize{a}Unit"] = "µm" if unit in _MICRON else unit
            meta["Plane"] = _ome_planes(labels.shape, axes, spacing, origin, unit)
            tifffile.imwrite(
                tmp,
                labels.astype(np.uint32, copy=False),
                ome=True,
                compression="zlib",
                metadata=meta,
                software=LABELS_SOFTWARE,
            )


def _ome_planes(shape, axes: str, spacing: dict, origin: dict, unit: str | None) -> dict:
    """OME Plane positions of each Z plane (physical units; the first plane's is the origin)."""
    planes = shape[0] if axes[0] == "Z" else 1
    positions = {a: [origin.get(a, 0.0)] * planes for a in "XY"}
    if "Z" in axes:
        positions["Z"] = [origin.get("Z", 0.0) + k * spacing.get("Z", 1.0) for k in range(planes)]
    planes_meta = {f"Position{a}": values for a, values in positions.items()}
    if unit:
        planes_meta.update(
            {f"Position{a}Unit": ["µm" if unit in _MICRON else unit] * planes for a in positions}
        )
    return planes_meta


def _origin(tif: tifffile.TiffFile, physical: dict[str, tuple[float, str]]) -> dict[str, float]:
    """The position of the first voxel per axis: OME Plane PositionX/Y/Z of the first plane
    (in the pixel size's unit), or ImageJ's x/y/zorigin (pixels, counted the other way)."""
    if tif.is_ome:
        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        plane = (image[0] if isinstance(image, list) else image)["Pixels"].get("Plane") or {}
        plane = plane[0] if isinstance(plane, list) else plane
        found = {}
        for a in "ZYX":  # a position without a unit is taken in the pixel size's unit
            unit = plane.get(f"Position{a}Unit")
            if f"Position{a}" in plane and (
                unit is None or _unit(unit) == physical.get(a, (1.0, "pixel"))[1]
            ):
                found[a] = float(plane[f"Position{a}"])
        return {a: v for a, v in found.items() if np.isfinite(v)}
    ij = tif.imagej_metadata or {}
    found = {
        a: -float(ij[f"{a.lower()}origin"]) * physical.get(a, (1.0, ""))[0]
        for a in "ZYX"
        if f"{a.lower()}origin" in ij
    }
    return {a: v for a, v in found.items() if np.isfinite(v)}


def _spacing(tif: tifffile.TiffFile) -> dict[str, tuple[float, str]]:
    """(size, unit) per axis letter that the file gives a physical size."""
    if tif.is_ome:
        pixels = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        pixels = (pixels[0] if isinstance(pixels, list) else pixels)["Pixels"]
        found = {
            a: (float(pixels[f"PhysicalSize{a}"]), _unit(pixels.get(f"PhysicalSize{a}Unit", "µm")))
            for a in "ZYX"
            if f"PhysicalSize{a}" in pixels
        }
        if pixels.get("TimeIncrement"):
            found["T"] = (
                float(pixels["TimeIncrement"]),
                _unit(pixels.get("TimeIncrementUnit", "s")),
            )
        return _valid(found)
    tags = tif.pages.first.tags
    ij = tif.imagej_metadata or {}
    res_unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 2
    # ImageJ stores pixels per `unit`; plain TIFFs are trusted only in centimetres, since
    # inches (and the 72-dpi default) never describe a microscope's pixels
    factor = 1.0 if ij else 1e4 if res_unit == 3 else None
    unit = _unit(ij.get("unit", "µm"))
    found = {}
    if factor and "XResolution" in tags:
        for a, tag in (("X", "XResolution"), ("Y", "YResolution")):
            num, den = tags[tag].value
            if num:
                found[a] = (factor * den / num, unit)
    if "spacing" in ij:
        found["Z"] = (float(ij["spacing"]), unit)
    if ij.get("finterval"):
        found["T"] = (float(ij["finterval"]), _unit(ij.get("tunit", "s")))
    return _valid(found)


def _valid(found: dict[str, tuple[float, str]]) -> dict[str, tuple[float, str]]:
    """Drop sizes that cannot be right (zero, negative, NaN): that axis stays in pixels."""
    bad = [a for a, (size, _) in found.items() if not (np.isfinite(size) and size > 0)]
    for axis in bad:
        log.warning("ignoring the file's %s pixel size %s", axis, found.pop(axis)[0])
    return found


def _unit(name: str) -> str:
    """A unit name napari (pint) understands: micron spellings become "µm", "sec" "s"."""
    name = str(name).strip()
    if name in _MICRON or name.lower() in ("\\u00b5m", "micron", "microns"):
        return "µm"
    return {"sec": "s", "second": "s", "seconds": "s", "msec": "ms", "min": "min"}.get(name, name)


def _normalise_axes(axes: str) -> str:
    """tifffile's "Q"/"I" (unknown/sequence) before Y and X become "Z"; RGB stays "S"."""
    axes = axes.replace("I", "Q")
    if axes.count("Q") == 1 and "Z" not in axes:
        axes = axes.replace("Q", "Z")
    return axes
