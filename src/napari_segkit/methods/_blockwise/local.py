"""Local methods on dask images: each block with the halo its window reaches, so the result
equals the in-memory run."""

from __future__ import annotations

import math

import numpy as np

from ...backend import lazy_version_of
from ...progress import reporting
from ...tiling.blocks import as_dask, overlapping, per_block
from .. import adaptive, postprocess
from .._geometry import spacing_for
from .grey import grey_of
from .histogram import _finite_range


@lazy_version_of(adaptive.adaptive_threshold)
def adaptive_threshold(
    image,
    method: str = "mean",
    *,
    block_size=None,
    spacing=None,
    offset: float | None = None,
    k=None,
    r=None,
    contrast=None,
    dark: bool = False,
    mask=None,
    per_slice: bool = False,
    channel=None,
    rgb=None,
    intensity_range=None,
    device: str = "auto",
    progress=None,
):
    """:func:`napari_segkit.adaptive_threshold` of a dask image, block by block with a halo of
    half a window (the whole image's intensity range, and the "auto" window and offset from
    its central box, are found first)."""
    grey, halo, options = _adaptive_options(
        image,
        method,
        block_size=block_size,
        spacing=spacing,
        offset=offset,
        k=k,
        r=r,
        contrast=contrast,
        dark=dark,
        per_slice=per_slice,
        channel=channel,
        rgb=rgb,
        intensity_range=intensity_range,
        device=device,
        progress=progress,
    )
    others = () if mask is None else (as_dask(mask, grey).astype(bool),)
    return overlapping(_adaptive_block, grey, *others, halo=halo, dtype=bool, **options)


@lazy_version_of(adaptive.adaptive_threshold_map)
def adaptive_threshold_map(
    image,
    method: str = "mean",
    *,
    block_size=None,
    spacing=None,
    offset: float | None = None,
    k=None,
    r=None,
    contrast=None,
    dark: bool = False,
    per_slice: bool = False,
    channel=None,
    rgb=None,
    intensity_range=None,
    device: str = "auto",
    progress=None,
):
    """:func:`napari_segkit.adaptive_threshold_map` of a dask image, as
    :func:`adaptive_threshold`."""
    grey, halo, options = _adaptive_options(
        image,
        method,
        block_size=block_size,
        spacing=spacing,
        offset=offset,
        k=k,
        r=r,
        contrast=contrast,
        dark=dark,
        per_slice=per_slice,
        channel=channel,
        rgb=rgb,
        intensity_range=intensity_range,
        device=device,
        progress=progress,
    )
    return overlapping(_threshold_block, grey, halo=halo, dtype=np.float32, **options)


def _adaptive_options(
    image,
    method,
    *,
    block_size,
    spacing,
    offset,
    k,
    r,
    contrast,
    dark,
    per_slice,
    channel,
    rgb,
    intensity_range,
    device,
    progress,
):
    """(grey dask image, halo per axis, options for each block's in-memory run)."""
    if method not in adaptive.METHODS:
        raise ValueError(f"unknown adaptive method {method!r}; choose one of {adaptive.METHODS}")
    grey = grey_of(image, rgb=rgb, channel=channel)
    if grey.ndim < 2:
        raise ValueError(f"adaptive thresholding needs a 2D or 3D image, got shape {grey.shape}")
    spatial = 2 if per_slice or grey.ndim == 2 else min(grey.ndim, 3)
    block_size, offset = adaptive.auto_window(
        grey,
        method,
        block_size=block_size,
        offset=offset,
        spacing=spacing,
        dark=dark,
        per_slice=per_slice,
    )
    size = adaptive.window(block_size, spacing, grey.shape[-spatial:])
    reach = [int(4.0 * (s - 1) / 6.0 + 0.5) if method == "gaussian" else s // 2 for s in size]
    halo = [0] * (grey.ndim - spatial) + reach
    if intensity_range is None:
        with reporting(progress):
            ranges = [r for r in per_block(_finite_range, grey).ravel() if r is not None]
        if not ranges:
            raise ValueError("every pixel to threshold is NaN or infinite")
        intensity_range = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    options = {
        "method": method,
        "block_size": block_size,
        "spacing": spacing,
        "offset": offset,
        "k": k,
        "r": r,
        "contrast": contrast,
        "dark": dark,
        "per_slice": per_slice,
        "rgb": False,
        "intensity_range": intensity_range,
        "device": device,
    }
    return grey, halo, options


def _adaptive_block(block, mask_block=None, **options):
    return adaptive.adaptive_threshold(block, mask=mask_block, **options)


def _threshold_block(block, **options):
    return adaptive.adaptive_threshold_map(block, **options)


def _reach(radius: float, spacing, ndim: int, times: int = 1) -> list[int]:
    """Voxels per axis that ``times`` passes of a ball of ``radius`` reach, plus one."""
    return [times * math.floor(radius / s + 1e-9) + 1 for s in spacing_for(spacing, ndim)]


@lazy_version_of(postprocess.morphology_op)
def morphology_op(
    image, operation: str, radius: float = 1.0, *, spacing=None, device: str = "auto", progress=None
):
    """:func:`napari_segkit.postprocess.morphology_op` of a dask mask or label image."""
    if operation not in postprocess.OPERATIONS:
        raise ValueError(f"operation must be one of {postprocess.OPERATIONS}, not {operation!r}")
    _check_labels(image)
    passes = 2 if operation in ("open", "close") else 1
    return overlapping(
        _morphology_block,
        image,
        halo=_reach(radius, spacing, image.ndim, passes),
        dtype=image.dtype,
        operation=operation,
        radius=radius,
        spacing=spacing,
        is_mask=_is_mask(image),
    )


def _morphology_block(block, *, operation, radius, spacing, is_mask):
    if not is_mask and block.max(initial=0) <= 1:  # a label image's block with one id
        return _labels_op(block, operation, radius, spacing)
    return postprocess.morphology_op(block, operation, radius, spacing=spacing)


def _labels_op(block, operation, radius, spacing):
    """A label block whose only id is 1 is processed as labels, as the whole image would be:
    the same as a mask except that dilation and closing never join two ids (none here)."""
    return (
        postprocess.morphology_op(block.astype(np.uint8) * 2, operation, radius, spacing=spacing)
        // 2
    )


@lazy_version_of(postprocess.expand_labels)
def expand_labels(
    labels, distance: float = 1.0, *, spacing=None, device: str = "auto", progress=None
):
    """:func:`napari_segkit.postprocess.expand_labels` of a dask label image."""
    _check_labels(labels)
    return overlapping(
        postprocess.expand_labels,
        labels,
        halo=_reach(distance, spacing, labels.ndim),
        dtype=labels.dtype,
        distance=distance,
        spacing=spacing,
    )


@lazy_version_of(postprocess.smooth_labels)
def smooth_labels(
    labels, radius: float = 1.0, *, spacing=None, device: str = "auto", progress=None
):
    """:func:`napari_segkit.postprocess.smooth_labels` of a dask mask or label image (the
    Gaussian reaches 4 sigma)."""
    _check_labels(labels)
    halo = [math.ceil(4 * radius / s) + 2 for s in spacing_for(spacing, labels.ndim)]
    return overlapping(
        _smooth_block,
        labels,
        halo=halo,
        dtype=labels.dtype,
        radius=radius,
        spacing=spacing,
        is_mask=_is_mask(labels),
    )


def _smooth_block(block, *, radius, spacing, is_mask):
    if not is_mask and block.max(initial=0) <= 1:
        return postprocess.smooth_labels(block.astype(np.uint8) * 2, radius, spacing=spacing) // 2
    return postprocess.smooth_labels(block, radius, spacing=spacing)


def _check_labels(image) -> None:
    if image.dtype.kind not in "biu":
        raise ValueError(f"expected a mask or label image (integers), not {image.dtype}")


def _is_mask(image) -> bool:
    """As the in-memory methods decide: bool, or integers whose largest value is 1 (read
    from the whole image)."""
    return image.dtype == bool or (image.size > 0 and int(image.max().compute()) <= 1)
