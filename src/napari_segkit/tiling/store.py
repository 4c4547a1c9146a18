"""Write labels chunk by chunk to OME-Zarr or tiled OME-TIFF, with a pyramid for 2D images,
so that results larger than memory are written without being held, and napari, Fiji and
QuPath open them lazily."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dask.array as da
import numpy as np
import tifffile
import zarr

from ..io._atomic import atomic_path, remove_own_temporaries, scratch_folder
from ..io.tiff import LABELS_SOFTWARE
from ..io.volume import Volume
from ..io.zarr import NGFF_UNITS, is_zarr_path
from ..progress import reporting, share
from .blocks import is_dask, per_block

#: chunk edge (voxels) for new stores: 1024² tiles in 2D, 128³ in 3D
CHUNK_2D, CHUNK_3D = 1024, 128
#: a 2D result larger than this (either side, pixels) gets a pyramid down to this size
PYRAMID_FROM = 2048
_TILE = 512  # TIFF tile edge


def write_labels(path, labels, *, like: Volume | None = None, overwrite: bool = False,
                 pyramid: bool | None = None, progress=None) -> dict:
    """Write ``labels`` (dask or NumPy, 2D or 3D) to ``path``: an OME-Zarr folder
    (".zarr", NGFF 0.4) or a tiled, zlib-compressed OME-TIFF (".tif"/".tiff"), with the
    voxel size of ``like``. The work is done block by block on the current scheduler (see
    :func:`napari_segkit.tiling.scheduler`); nothing is left at ``path`` if it fails.

    ``pyramid`` (default: 2D images larger than :data:`PYRAMID_FROM`) adds levels halved
    each time (every other pixel, so ids stay ids) down to :data:`PYRAMID_FROM`.
    Returns ``{"max": largest id, "levels": number of levels}``.
    """
    path = Path(path)
    labels = labels if is_dask(labels) else da.from_array(np.asarray(labels))
    if labels.dtype.kind not in "biu":
        raise ValueError(f"labels must be an integer or boolean array, not {labels.dtype}")
    if labels.ndim not in (2, 3):
        raise ValueError(f"can only write 2D or 3D labels, got shape {labels.shape}")
    if labels.dtype == bool:
        labels = labels.astype(np.uint8)
    tiff = path.suffix.lower() in (".tif", ".tiff")
    if not tiff and not is_zarr_path(path):
        raise ValueError(f"cannot write {path.name} block by block: use .zarr or .tif")
    if pyramid is None:
        pyramid = labels.ndim == 2 and max(labels.shape) > PYRAMID_FROM
    try:
        with reporting(progress):
            top, levels = _write(path, labels, like, overwrite, pyramid, tiff)
    except BaseException:
        time.sleep(0.5)  # blocks already running on threads finish (they find no store)
        remove_own_temporaries(path)  # in case one wrote after the first clean-up
        raise
    return {"max": top, "levels": levels}


def _write(path: Path, labels, like, overwrite: bool, pyramid: bool, tiff: bool):
    """Write the store (and the TIFF) beside ``path`` and swap it in; (largest id, levels)."""
    if tiff:
        with atomic_path(path, overwrite=overwrite, what="a TIFF file") as target, \
                scratch_folder(path) as work:
            with share(0.0, 0.9):
                top, levels = _write_zarr(work / "store.zarr", labels, like, pyramid,
                                          path.stem)
            with share(0.9, 1.0):
                _zarr_to_tiff(work / "store.zarr", target, like, top, levels)
    else:
        with atomic_path(path, overwrite=overwrite, folder=True, replaceable=is_label_store,
                         what="an OME-Zarr label store written by napari-segkit") as store:
            top, levels = _write_zarr(store, labels, like, pyramid, path.stem)
    return top, levels


def is_label_store(path: Path) -> bool:
    """Whether ``path`` is an OME-Zarr label store that :func:`write_labels` wrote."""
    for name, key in ((".zattrs", None), ("zarr.json", "attributes")):
        try:
            attrs = json.loads((Path(path) / name).read_text())
            attrs = attrs[key] if key else attrs
            return attrs["image-label"]["source"]["software"] == LABELS_SOFTWARE
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return False


def _chunks(labels) -> tuple[int, ...]:
    """Regular chunks for the store: the array's own when they are regular, else tiles."""
    if all(len(set(c[:-1])) <= 1 and c[-1] <= c[0] for c in labels.chunks):
        return tuple(c[0] for c in labels.chunks)
    edge = CHUNK_2D if labels.ndim == 2 else CHUNK_3D
    return tuple(min(edge, n) for n in labels.shape)


def _write_zarr(path: Path, labels, like, pyramid: bool, name: str) -> tuple[int, int]:
    chunks = _chunks(labels)
    labels = labels.rechunk(chunks)
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    root.create_array("0", shape=labels.shape, chunks=chunks, dtype=labels.dtype,
                      fill_value=0)
    levels = 1
    with share(0.0, 0.85 if pyramid else 1.0):
        tops = per_block(_store_block, labels, target=str(path / "0"))
    top = int(max(tops.ravel(), default=0))
    if pyramid:
        with share(0.85, 1.0):
            while max(labels.shape[-2:]) > PYRAMID_FROM:
                labels = da.from_zarr(str(path / str(levels - 1)))[..., ::2, ::2]
                labels = labels.rechunk(tuple(min(c, n) for c, n in zip(chunks, labels.shape)))
                root.create_array(str(levels), shape=labels.shape, chunks=labels.chunksize,
                                  dtype=labels.dtype, fill_value=0)
                per_block(_store_block, labels, target=str(path / str(levels)))
                levels += 1
    root.attrs.update(ome_metadata(labels.ndim, like, levels, name))
    return top, levels


def _store_block(block, *, block_index, target):
    """Write one block where it belongs in the zarr array at ``target``; its largest id.
    Nothing is written once the store is gone (a cancelled or failed write cleaned it up)."""
    block = np.asarray(block)
    if not Path(target).is_dir():
        return 0
    array = zarr.open_array(target, mode="r+")
    starts = [i * c for i, c in zip(block_index, array.chunks)]
    array[tuple(slice(s, s + n) for s, n in zip(starts, block.shape))] = block
    return int(block.max(initial=0))


def ome_metadata(ndim: int, like: Volume | None, levels: int, name: str) -> dict:
    """NGFF 0.4 multiscales (axes with units, scale per level) for a label image."""
    letters = "zyx"[-ndim:]
    spacing = list(like.spacing[-ndim:]) if like is not None else [1.0] * ndim
    units = list(like.units[-ndim:]) if like is not None else ["pixel"] * ndim
    origin = list(like.origin[-ndim:]) if like is not None else [0.0] * ndim
    axes = []
    for letter, unit in zip(letters, units):
        axis = {"name": letter, "type": "space"}
        if unit in NGFF_UNITS:
            axis["unit"] = NGFF_UNITS[unit]
        axes.append(axis)
    datasets = []
    for level in range(levels):
        factor = [1.0] * (ndim - 2) + [2.0 ** level] * 2
        datasets.append({"path": str(level), "coordinateTransformations": [
            {"type": "scale", "scale": [s * f for s, f in zip(spacing, factor)]},
            {"type": "translation", "translation": [
                o + (f - 1) * s / 2 for o, s, f in zip(origin, spacing, factor)]}]})
    return {"multiscales": [{"version": "0.4", "name": name, "axes": axes,
                             "datasets": datasets, "type": "nearest"}],
            "image-label": {"version": "0.4", "source": {"software": LABELS_SOFTWARE}}}


def _zarr_to_tiff(store: Path, target: Path, like, top: int, levels: int) -> None:
    """A tiled OME-TIFF (pyramid levels as SubIFDs) read tile by tile from the zarr store."""
    dtype = np.uint8 if top <= 0xFF else np.uint16 if top <= 0xFFFF else np.uint32
    arrays = [zarr.open_array(str(store / str(level)), mode="r") for level in range(levels)]
    ndim = arrays[0].ndim
    axes = "ZYX"[-ndim:]
    spacing = dict(zip(axes, like.spacing[-ndim:])) if like is not None else {}
    unit = next((u for u in (like.units if like else ()) if u != "pixel"), None)
    metadata = {"axes": axes}
    for a in axes:
        metadata[f"PhysicalSize{a}"] = spacing.get(a, 1.0)
        if unit:
            metadata[f"PhysicalSize{a}Unit"] = "µm" if unit in ("um", "µm", "micron") else unit
    tile = (_TILE, _TILE)
    with tifffile.TiffWriter(target, bigtiff=arrays[0].nbytes > 2**31, ome=True) as tif:
        for level, array in enumerate(arrays):
            options = {"subifds": levels - 1, "metadata": metadata,
                       "software": LABELS_SOFTWARE} if level == 0 else {"subfiletype": 1}
            tif.write(_tiles(array, dtype), shape=array.shape, dtype=dtype, tile=tile,
                      compression="zlib", **options)


def _tiles(array, dtype):
    """The tiles of a 2D or 3D array in TIFF order (plane by plane, rows of tiles), read
    one row of tiles at a time."""
    planes = array.shape[:-2]
    height, width = array.shape[-2:]
    for plane in np.ndindex(*planes):
        for y in range(0, height, _TILE):
            band = np.asarray(array[plane + (slice(y, y + _TILE),)]).astype(dtype, copy=False)
            for x in range(0, width, _TILE):
                piece = band[:, x:x + _TILE]
                if piece.shape != (_TILE, _TILE):
                    piece = np.pad(piece, ((0, _TILE - piece.shape[0]),
                                           (0, _TILE - piece.shape[1])))
                yield piece
