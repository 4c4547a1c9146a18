"""Checks shared by every metric: two label images of one shape, integer ids, no negatives."""

from __future__ import annotations

import numpy as np

from ..._checks import check_array, check_number
from .._geometry import spacing_for  # noqa: F401  (re-exported for the metrics)


def label_pair(prediction, reference) -> tuple[np.ndarray, np.ndarray]:
    """Both as non-negative integer NumPy arrays of the same shape (booleans become 0/1)."""
    check_array("prediction", prediction)
    check_array("reference", reference)
    pred, ref = np.asarray(prediction), np.asarray(reference)
    if pred.shape != ref.shape:
        raise ValueError(
            f"prediction {pred.shape} and reference {ref.shape} differ in shape; "
            "compare labels of the same image"
        )
    for name, array in (("prediction", pred), ("reference", ref)):
        if array.dtype.kind not in "biu":
            raise ValueError(f"{name} must hold integer labels, not {array.dtype}")
        if array.dtype.kind == "i" and array.size and array.min() < 0:
            raise ValueError(f"{name} has negative labels; labels are 0 (background) or more")
    return pred.astype(np.int64, copy=False), ref.astype(np.int64, copy=False)


def check_iou(threshold) -> float:
    """An IoU threshold in (0, 1]."""
    return check_number("threshold", threshold, above=0, maximum=1)


def check_surface_options(label=None, tolerance=1.0, percentile=100.0) -> None:
    """The class id, boundary tolerance and percentile of the surface metrics."""
    check_number("label", label, minimum=0, integer=True, optional=True)
    check_number("tolerance", tolerance, minimum=0)
    check_number("percentile", percentile, minimum=0, maximum=100)
