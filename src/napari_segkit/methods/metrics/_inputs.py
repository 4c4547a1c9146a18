"""Checks shared by every metric: two label images of one shape, integer ids, no negatives."""

from __future__ import annotations

import numpy as np


def label_pair(prediction, reference) -> tuple[np.ndarray, np.ndarray]:
    """Both as non-negative integer NumPy arrays of the same shape (booleans become 0/1)."""
    pred, ref = np.asarray(prediction), np.asarray(reference)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction {pred.shape} and reference {ref.shape} differ in shape; "
                         "compare labels of the same image")
    for name, array in (("prediction", pred), ("reference", ref)):
        if array.dtype.kind not in "biu":
            raise ValueError(f"{name} must hold integer labels, not {array.dtype}")
        if array.dtype.kind == "i" and array.size and array.min() < 0:
            raise ValueError(f"{name} has negative labels; labels are 0 (background) or more")
    return pred.astype(np.int64, copy=False), ref.astype(np.int64, copy=False)


def spacing_for(spacing, ndim: int) -> tuple[float, ...]:
    """Per-axis voxel size (default 1); a single number applies to every axis."""
    if spacing is None:
        return (1.0,) * ndim
    values = np.broadcast_to(np.asarray(spacing, dtype=float), (ndim,)) \
        if np.ndim(spacing) == 0 else np.asarray(spacing, dtype=float)
    if values.shape != (ndim,):
        raise ValueError(f"spacing needs {ndim} values (one per axis), got {len(values)}")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"spacing must be positive, got {tuple(values)}")
    return tuple(float(v) for v in values)
