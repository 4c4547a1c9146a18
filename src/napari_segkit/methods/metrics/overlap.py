"""Voxel overlap per class: Dice, IoU, precision, recall, pixel accuracy.

Each class id (background 0 left out unless ``include_background``) is scored from its
true positives, false positives and false negatives. ``average="macro"`` means over the
classes present in either image, ``"micro"`` pools the counts first, ``None`` returns
``{class id: value}``. A class absent from both images has no score (NaN) and is left out
of the averages; two images with no class at all agree perfectly (1.0).
"""

from __future__ import annotations

import numpy as np

from ..._checks import check_choice
from ._inputs import label_pair

AVERAGES = ("macro", "micro", None)


def confusion(prediction, reference) -> tuple[np.ndarray, np.ndarray]:
    """(ids, matrix): voxel counts with reference id ``ids[i]`` and predicted id ``ids[j]``."""
    pred, ref = label_pair(prediction, reference)
    ids = np.union1d(np.unique(pred), np.unique(ref))
    k = len(ids)
    index = np.searchsorted(ids, ref).ravel() * k + np.searchsorted(ids, pred).ravel()
    return ids, np.bincount(index, minlength=k * k).reshape(k, k)


def class_counts(prediction, reference, *, include_background=False) -> dict[int, tuple]:
    """``{class id: (true positives, false positives, false negatives)}`` in voxels."""
    ids, matrix = confusion(prediction, reference)
    tp = np.diag(matrix)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    return {int(c): (int(tp[i]), int(fp[i]), int(fn[i])) for i, c in enumerate(ids)
            if c != 0 or include_background}


#: name -> (numerator, denominator) from (true positives, false positives, false negatives)
FORMULAS = {
    "dice": lambda tp, fp, fn: (2 * tp, 2 * tp + fp + fn),
    "iou": lambda tp, fp, fn: (tp, tp + fp + fn),
    "precision": lambda tp, fp, fn: (tp, tp + fp),
    "recall": lambda tp, fp, fn: (tp, tp + fn),
}


def summarise(counts: dict[int, tuple], name: str, average):
    """Score ``name`` from :func:`class_counts`, per class or averaged."""
    check_choice("average", average, AVERAGES)
    formula = FORMULAS[name]
    per_class = {c: _ratio(*formula(*n)) for c, n in counts.items()}
    if average is None:
        return per_class
    if not counts:
        return 1.0  # nothing to find and nothing found
    if average == "micro":
        return _ratio(*formula(*np.sum(list(counts.values()), axis=0)))
    values = [v for v in per_class.values() if not np.isnan(v)]
    return float(np.mean(values)) if values else 1.0


def _score(name, prediction, reference, average, include_background):
    check_choice("average", average, AVERAGES)
    counts = class_counts(prediction, reference, include_background=include_background)
    return summarise(counts, name, average)


def _ratio(numerator, denominator) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def dice(prediction, reference, *, average="macro", include_background=False, spacing=None):
    """Dice coefficient 2TP / (2TP + FP + FN) per class (``spacing`` is not needed)."""
    return _score("dice", prediction, reference, average, include_background)


def iou(prediction, reference, *, average="macro", include_background=False, spacing=None):
    """Intersection over union (Jaccard index) TP / (TP + FP + FN) per class."""
    return _score("iou", prediction, reference, average, include_background)


def precision(prediction, reference, *, average="macro", include_background=False,
              spacing=None):
    """TP / (TP + FP) per class: the share of predicted voxels that are right."""
    return _score("precision", prediction, reference, average, include_background)


def recall(prediction, reference, *, average="macro", include_background=False, spacing=None):
    """TP / (TP + FN) per class (sensitivity): the share of reference voxels found."""
    return _score("recall", prediction, reference, average, include_background)


def pixel_accuracy(prediction, reference, *, spacing=None) -> float:
    """The share of all voxels, background included, whose label is the same in both."""
    pred, ref = label_pair(prediction, reference)
    return float(np.mean(pred == ref)) if pred.size else 1.0
