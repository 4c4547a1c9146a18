"""Physical sizes to voxels: spacing, smoothing sigmas, balls, areas and volumes."""

from __future__ import annotations

import numpy as np

from .._checks import check_number


def spacing_for(spacing, ndim: int) -> tuple[float, ...]:
    """Per-axis voxel size (default 1); a single number applies to every axis."""
    if spacing is None:
        return (1.0,) * ndim
    try:
        values = np.atleast_1d(np.asarray(spacing, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(
            f"spacing must be numbers (a voxel size per axis), got {spacing!r}"
        ) from None
    if values.size == 1:
        values = np.repeat(values, ndim)
    if values.shape != (ndim,):
        raise ValueError(f"spacing needs {ndim} values (one per axis), got {values.size}")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(
            f"spacing must be finite numbers > 0 (positive voxel sizes), got "
            f"{tuple(values.tolist())}"
        )
    return tuple(float(v) for v in values)


def sigma_voxels(sigma: float, spacing, ndim: int) -> tuple[float, ...]:
    """A Gaussian sigma in physical units as one sigma per axis in voxels."""
    sigma = check_number("sigma", sigma, minimum=0)
    return tuple(sigma / s for s in spacing_for(spacing, ndim))


def ball(radius: float, spacing, ndim: int) -> np.ndarray:
    """Boolean ellipsoid footprint of ``radius`` in physical units (always holds its centre)."""
    radius = check_number("radius", radius, minimum=0)
    spacing = spacing_for(spacing, ndim)
    half = [int(np.floor(radius / s + 1e-9)) for s in spacing]
    grids = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    distance2 = sum((g * s) ** 2 for g, s in zip(grids, spacing))
    return distance2 <= radius**2 + 1e-9


def voxels_for_size(size: float, spacing) -> float:
    """A size in physical units (area in 2D, volume in 3D) as a number of voxels; with
    ``spacing`` None the size is already in voxels."""
    if spacing is None:
        return float(size)
    return float(size) / float(np.prod(spacing))
