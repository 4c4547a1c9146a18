"""One call for a whole comparison: a tidy per-class or per-object table and a summary."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..._checks import check_choice
from . import instances, overlap, surface
from ._inputs import check_surface_options, label_pair, spacing_for

MODES = ("semantic", "instance")


def evaluate(prediction, reference, *, spacing=None, mode="semantic", tolerance=1.0):
    """Compare a segmentation with a reference in one call: a table of rows and a summary.

    ``mode="semantic"`` scores each class id with every per-class metric of this module;
    ``mode="instance"`` matches objects one to one (:func:`match`) and lists each matched
    pair, missed reference object and spurious prediction. The rows suit a table
    (``pandas.DataFrame(rows)``) or a CSV file; the IoUs and surface distances are computed
    once and shared between the scores. Distances are in the units of ``spacing``.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background; class ids, or object ids for ``"instance"``), any
        number of axes. NumPy, dask or zarr; read into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis, i.e. voxels; one number applies
        to every axis); the surface distances and ``tolerance`` are in its units.
    mode : {"semantic", "instance"}, default "semantic"
        Score classes voxel by voxel, or objects matched one to one.
    tolerance : float, default 1.0
        Boundary F1's tolerance (>= 0), in the units of ``spacing``.

    Returns
    -------
    rows : list of dict
        ``"semantic"``: a row per class id, with ``class``, ``dice``, ``iou``,
        ``precision``, ``recall``, ``hd95``, ``average_surface_distance``, ``boundary_f1``
        (within ``tolerance``), ``reference_voxels``, ``predicted_voxels`` and ``centroid``.
        ``"instance"``: a row per matched pair (at IoU ≥ 0.5), missed reference object and
        spurious prediction, with ``status`` ("matched", "missed", "spurious"),
        ``prediction_id`` and ``reference_id`` (None when absent), ``iou`` (0.0 unless
        matched), ``predicted_voxels``, ``reference_voxels`` and ``centroid``. The centroid
        is in voxel indices (rounded to 0.01), of the reference object or class when there
        is one, else of the prediction.
    summary : dict
        ``"semantic"``: ``pixel_accuracy``, ``classes`` (their number), the macro and micro
        averages ``dice_macro``, ``dice_micro``, ``iou_macro``, …, ``recall_micro``, and
        the means ``hd95_mean``, ``average_surface_distance_mean``, ``boundary_f1_mean``.
        ``"instance"``: ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1`` and
        ``mean_matched_iou`` at IoU 0.5, ``mean_average_precision`` over IoU 0.5:0.95,
        ``panoptic_quality``, and the foreground's (all objects as one mask)
        ``foreground_dice``, ``foreground_hd95`` and ``foreground_boundary_f1``.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``tolerance`` is not a
        number.
    ValueError
        If ``mode`` is not one of the choices, ``tolerance`` is negative, the shapes differ,
        either image is empty or holds non-integer (e.g. float) or negative labels, or
        ``spacing`` does not give one positive finite size per axis.

    See Also
    --------
    error_map : Where the errors are, as a label image.
    dice, hd95, boundary_f1, match, mean_average_precision, panoptic_quality

    References
    ----------
    .. [1] L. Maier-Hein et al., "Metrics reloaded: recommendations for image analysis
           validation", Nature Methods 21:195-212, 2024. :doi:`10.1038/s41592-023-02151-z`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((8, 8), np.uint8); reference[1:5, 1:5] = 1; reference[6:, :] = 2
    >>> prediction = np.zeros((8, 8), np.uint8); prediction[1:5, 1:7] = 1; prediction[7, :] = 2
    >>> rows, summary = metrics.evaluate(prediction, reference)
    >>> [(row["class"], row["dice"], row["recall"], row["centroid"]) for row in rows]
    [(1, 0.8, 1.0, (2.5, 2.5)), (2, 0.667, 0.5, (6.5, 3.5))]
    >>> summary["pixel_accuracy"], summary["dice_micro"]
    (0.75, 0.75)

    Per object:

    >>> reference = np.zeros((16, 16), np.uint16); reference[2:6, 2:6] = 1
    >>> reference[10:14, 2:6] = 2
    >>> prediction = np.zeros((16, 16), np.uint16); prediction[2:6, 2:7] = 5
    >>> prediction[11:15, 10:13] = 7
    >>> rows, summary = metrics.evaluate(prediction, reference, mode="instance")
    >>> [(row["status"], row["prediction_id"], row["reference_id"]) for row in rows]
    [('matched', 5, 1), ('missed', None, 2), ('spurious', 7, None)]
    >>> summary["tp"], summary["fp"], summary["fn"], round(summary["f1"], 3)
    (1, 1, 1, 0.5)
    """
    check_choice("mode", mode, MODES)
    check_surface_options(tolerance=tolerance)
    pred, ref = label_pair(prediction, reference)
    spacing = spacing_for(spacing, pred.ndim)
    return (_semantic if mode == "semantic" else _instance)(pred, ref, spacing, tolerance)


def _semantic(pred, ref, spacing, tolerance):
    counts = overlap.class_counts(pred, ref)
    rows = []
    for c, (tp, fp, fn) in counts.items():
        distances = surface.surface_distances(pred, ref, label=c, spacing=spacing)
        one = {c: (tp, fp, fn)}
        rows.append(
            {
                "class": c,
                **{name: overlap.summarise(one, name, None)[c] for name in overlap.FORMULAS},
                "hd95": surface.hausdorff_of(distances, 95.0),
                "average_surface_distance": surface.average_of(distances),
                "boundary_f1": surface.boundary_f1_of(distances, tolerance),
                "reference_voxels": tp + fn,
                "predicted_voxels": tp + fp,
            }
        )
    _add_centroids(rows, pred, ref, key="class")
    summary = {"pixel_accuracy": overlap.pixel_accuracy(pred, ref), "classes": len(rows)}
    for name in overlap.FORMULAS:
        for average in ("macro", "micro"):
            summary[f"{name}_{average}"] = overlap.summarise(counts, name, average)
    for name in ("hd95", "average_surface_distance", "boundary_f1"):
        values = [row[name] for row in rows]
        summary[f"{name}_mean"] = float(np.mean(values)) if values else float("nan")
    return rows, summary


def _instance(pred, ref, spacing, tolerance):
    *matchings, strict = instances.matches_at(
        pred, ref, (*instances.AP_THRESHOLDS, instances.PQ_THRESHOLD)
    )
    at_half = matchings[0]
    areas = at_half.areas
    rows = [_row("matched", p, r, iou, areas) for p, r, iou in at_half.pairs]
    rows += [_row("missed", None, r, 0.0, areas) for r in at_half.missed]
    rows += [_row("spurious", p, None, 0.0, areas) for p in at_half.spurious]
    _add_centroids(rows, pred, ref)
    distances = surface.surface_distances(pred, ref, spacing=spacing)
    summary = {
        "tp": at_half.tp,
        "fp": at_half.fp,
        "fn": at_half.fn,
        "precision": at_half.precision,
        "recall": at_half.recall,
        "f1": at_half.f1,
        "mean_matched_iou": at_half.mean_matched_iou,
        "mean_average_precision": float(np.mean([m.average_precision for m in matchings])),
        "panoptic_quality": strict.panoptic_quality,
        "foreground_dice": overlap.dice(pred > 0, ref > 0),
        "foreground_hd95": surface.hausdorff_of(distances, 95.0),
        "foreground_boundary_f1": surface.boundary_f1_of(distances, tolerance),
    }
    return rows, summary


def _row(status, pred_id, ref_id, iou, areas) -> dict:
    return {
        "status": status,
        "prediction_id": pred_id,
        "reference_id": ref_id,
        "iou": iou,
        "predicted_voxels": areas["pred"].get(pred_id, 0),
        "reference_voxels": areas["ref"].get(ref_id, 0),
    }


def _add_centroids(rows: list[dict], pred: np.ndarray, ref: np.ndarray, key=None) -> None:
    """Each row's centroid (voxel indices) from its reference object (or class), else its
    prediction; ``key`` names the id column when both images share it ("class")."""
    keys = (key, key) if key else ("reference_id", "prediction_id")
    for key, image in zip(keys, (ref, pred)):
        ids = [
            row[key]
            for row in rows
            if row[key] is not None
            and "centroid" not in row
            and row.get("reference_voxels" if image is ref else "predicted_voxels")
        ]
        centres = ndimage.center_of_mass(image > 0, image, ids) if ids else []
        lookup = dict(zip(ids, centres))
        for row in rows:
            if row[key] in lookup and "centroid" not in row:
                row["centroid"] = tuple(round(float(c), 2) for c in lookup[row[key]])
