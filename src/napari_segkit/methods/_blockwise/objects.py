"""Object-level clean-up of dask masks and label images: the objects' sizes or ids are
gathered from every block first (small tables), then each block is filtered through them."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from ...backend import lazy_version_of
from ...progress import reporting, share
from ...tiling.blocks import per_block
from .. import postprocess
from .._geometry import spacing_for, voxels_for_size
from .local import _check_labels, _is_mask
from .stitch import label


@lazy_version_of(postprocess.remove_small_objects)
def remove_small_objects(
    image,
    min_size: float,
    *,
    spacing=None,
    connectivity: int = 1,
    device: str = "auto",
    progress=None,
):
    """:func:`napari_segkit.postprocess.remove_small_objects` of a dask mask or labels."""
    _check_labels(image)
    limit = voxels_for_size(min_size, spacing_for(spacing, image.ndim) if spacing else None)
    with reporting(progress):
        ids, counts = _ids_and_sizes(image, connectivity)
    small = counts < limit
    small[0] = False
    return _filtered(image, ids, small)


@lazy_version_of(postprocess.keep_largest)
def keep_largest(image, count: int = 1, *, device: str = "auto", progress=None):
    """:func:`napari_segkit.postprocess.keep_largest` of a dask mask or labels."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    _check_labels(image)
    with reporting(progress):
        ids, sizes = _ids_and_sizes(image, image.ndim)
    sizes[0] = 0
    keep = np.argsort(sizes, kind="stable")[::-1][:count]
    drop = np.ones(len(sizes), bool)
    drop[keep[sizes[keep] > 0]] = False
    drop[0] = False
    return _filtered(image, ids, drop)


@lazy_version_of(postprocess.remove_border_objects)
def remove_border_objects(image, *, buffer: int = 0, device: str = "auto", progress=None):
    """:func:`napari_segkit.postprocess.remove_border_objects` of a dask mask or labels."""
    _check_labels(image)
    with reporting(progress), share(0.0, 0.5):
        ids = label(image) if _is_mask(image) else image
    top = int(ids.max().compute())
    with reporting(progress), share(0.5, 1.0):
        drop = np.zeros(top + 1, bool)
        drop[on_border(ids, buffer)] = True
    drop[0] = False
    return _filtered(image, ids, drop)


@lazy_version_of(postprocess.relabel_sequential)
def relabel_sequential(labels, *, device: str = "auto", progress=None):
    """:func:`napari_segkit.postprocess.relabel_sequential` of a dask label image."""
    _check_labels(labels)
    with reporting(progress):
        present = np.unique(np.concatenate(list(per_block(_ids, labels).ravel())))
    lut = np.zeros(int(present.max(initial=0)) + 1, labels.dtype)
    lut[present] = np.arange(len(present), dtype=labels.dtype) + (present[0] != 0)
    return da.map_blocks(
        _look_up,
        labels,
        dask.delayed(lut, pure=True),
        meta=np.empty((0,) * labels.ndim, labels.dtype),
    )


@lazy_version_of(postprocess.fill_holes)
def fill_holes(image, *, per_slice: bool = False, device: str = "auto", progress=None):
    """:func:`napari_segkit.postprocess.fill_holes` of a dask mask (or, slice by slice, of a
    label image): background parts that do not reach the image's border become foreground."""
    _check_labels(image)
    if per_slice and image.ndim == 3:
        planes = image.rechunk({1: -1, 2: -1})
        return planes.map_blocks(postprocess.fill_holes, per_slice=True, dtype=image.dtype)
    if not _is_mask(image):
        raise ValueError(
            "filling the holes of each object of a label image needs the whole "
            "image: load it (labels.compute()), or fill holes in the mask before "
            "labelling"
        )
    with reporting(progress), share(0.0, 0.7):
        background = label(image == 0, connectivity=1)
    with reporting(progress), share(0.7, 1.0):
        outside = on_border(background, 0)
    keep = np.zeros(int(background.max().compute()) + 1, bool)  # background to keep as is
    keep[outside] = True
    return da.map_blocks(
        _filled,
        image,
        background,
        dask.delayed(keep, pure=True),
        meta=np.empty((0,) * image.ndim, image.dtype),
    )


def on_border(ids, buffer: int) -> np.ndarray:
    """The ids found within ``buffer`` voxels of the image's border."""
    width = buffer + 1
    slabs = []
    for axis in range(ids.ndim):
        for part in (slice(0, width), slice(max(ids.shape[axis] - width, 0), None)):
            index = [slice(None)] * ids.ndim
            index[axis] = part
            slabs.append(da.unique(ids[tuple(index)].ravel()))
    return np.unique(np.concatenate(dask.compute(*slabs)))


def _ids_and_sizes(image, connectivity):
    """The object ids (a mask's connected parts, or the labels) and voxels per id."""
    with share(0.0, 0.5):
        ids = label(image, connectivity=connectivity) if _is_mask(image) else image
    with share(0.5, 1.0):
        parts = per_block(_sizes, ids).ravel()
    top = max((int(p[0][-1]) for p in parts if len(p[0])), default=0)
    sizes = np.zeros(top + 1, np.int64)
    for values, counts in parts:
        np.add.at(sizes, values, counts)
    return ids, sizes


def _sizes(block, *, block_index):
    return np.unique(np.asarray(block), return_counts=True)


def _ids(block, *, block_index):
    return np.unique(np.asarray(block))


def _filtered(image, ids, drop: np.ndarray):
    """``image`` with the voxels of the ids marked in ``drop`` set to 0."""
    return da.map_blocks(
        _drop,
        image,
        ids,
        dask.delayed(drop, pure=True),
        meta=np.empty((0,) * image.ndim, image.dtype),
    )


def _drop(block, ids_block, drop):
    return np.where(drop[ids_block], 0, block).astype(block.dtype, copy=False)


def _look_up(block, lut):
    return lut[block]


def _filled(block, background_block, keep):
    fill = (background_block > 0) & ~keep[background_block]
    return np.where(fill, True if block.dtype == bool else 1, block).astype(block.dtype)
