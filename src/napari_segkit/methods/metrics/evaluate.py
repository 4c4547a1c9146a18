"""One call for a whole comparison: a tidy per-class or per-object table and a summary."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..._checks import check_choice
from . import instances, overlap, surface
from ._inputs import check_surface_options, label_pair, spacing_for

MODES = ("semantic", "instance")


def evaluate(prediction, reference, *, spacing=None, mode="semantic", tolerance=1.0):
    """Compare ``prediction`` with ``reference``; returns ``(rows, summary)``.

    ``mode="semantic"``: a row per class id (Dice, IoU, precision, recall, HD95, average
    surface distance, boundary F1 within ``tolerance``, voxel counts); the summary has pixel
    accuracy and macro/micro averages. ``mode="instance"``: a row per object (matched pair,
    missed reference object or spurious prediction, with IoU, sizes and the centroid in
    voxel indices); the summary has TP/FP/FN, precision, recall, F1 at IoU 0.5, AP over
    0.5:0.95, panoptic quality and foreground Dice. Distances are in the units of
    ``spacing`` (per axis, default 1 = voxels).
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
        rows.append({
            "class": c,
            **{name: overlap.summarise(one, name, None)[c] for name in overlap.FORMULAS},
            "hd95": surface.hausdorff_of(distances, 95.0),
            "average_surface_distance": surface.average_of(distances),
            "boundary_f1": surface.boundary_f1_of(distances, tolerance),
            "reference_voxels": tp + fn,
            "predicted_voxels": tp + fp,
        })
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
    *matchings, strict = instances.matches_at(pred, ref, (*instances.AP_THRESHOLDS,
                                                          instances.PQ_THRESHOLD))
    at_half = matchings[0]
    areas = at_half.areas
    rows = [_row("matched", p, r, iou, areas) for p, r, iou in at_half.pairs]
    rows += [_row("missed", None, r, 0.0, areas) for r in at_half.missed]
    rows += [_row("spurious", p, None, 0.0, areas) for p in at_half.spurious]
    _add_centroids(rows, pred, ref)
    distances = surface.surface_distances(pred, ref, spacing=spacing)
    summary = {
        "tp": at_half.tp, "fp": at_half.fp, "fn": at_half.fn,
        "precision": at_half.precision, "recall": at_half.recall, "f1": at_half.f1,
        "mean_matched_iou": at_half.mean_matched_iou,
        "mean_average_precision": float(np.mean([m.average_precision for m in matchings])),
        "panoptic_quality": strict.panoptic_quality,
        "foreground_dice": overlap.dice(pred > 0, ref > 0),
        "foreground_hd95": surface.hausdorff_of(distances, 95.0),
        "foreground_boundary_f1": surface.boundary_f1_of(distances, tolerance),
    }
    return rows, summary


def _row(status, pred_id, ref_id, iou, areas) -> dict:
    return {"status": status, "prediction_id": pred_id, "reference_id": ref_id, "iou": iou,
            "predicted_voxels": areas["pred"].get(pred_id, 0),
            "reference_voxels": areas["ref"].get(ref_id, 0)}


def _add_centroids(rows: list[dict], pred: np.ndarray, ref: np.ndarray, key=None) -> None:
    """Each row's centroid (voxel indices) from its reference object (or class), else its
    prediction; ``key`` names the id column when both images share it ("class")."""
    keys = (key, key) if key else ("reference_id", "prediction_id")
    for key, image in zip(keys, (ref, pred)):
        ids = [row[key] for row in rows if row[key] is not None and "centroid" not in row
               and row.get("reference_voxels" if image is ref else "predicted_voxels")]
        centres = ndimage.center_of_mass(image > 0, image, ids) if ids else []
        lookup = dict(zip(ids, centres))
        for row in rows:
            if row[key] in lookup and "centroid" not in row:
                row["centroid"] = tuple(round(float(c), 2) for c in lookup[row[key]])
