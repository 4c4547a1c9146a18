"""Where a prediction goes wrong: one label image that colours correct, missed and spurious."""

from __future__ import annotations

import numpy as np

from ..._checks import check_choice
from . import instances
from ._inputs import label_pair

#: the values of :func:`error_map` and what they mean
ERRORS = {1: "correct", 2: "missed", 3: "spurious", 4: "wrong class"}
#: RGBA colours for them (green, magenta, orange, yellow) as napari label colours
ERROR_COLOURS = {1: (0.2, 0.8, 0.3, 0.6), 2: (0.9, 0.1, 0.9, 1.0), 3: (1.0, 0.55, 0.0, 1.0),
                 4: (1.0, 0.9, 0.1, 1.0)}


def error_map(prediction, reference, *, mode="semantic", rows=None) -> np.ndarray:
    """A uint8 image of :data:`ERRORS` (0 = background in both).

    ``mode="semantic"``: per voxel — 1 same class, 2 reference foreground the prediction
    calls background, 3 prediction foreground where the reference has background,
    4 both foreground with different classes. ``mode="instance"``: per object at IoU 0.5 —
    1 matched predicted objects, 3 spurious predicted objects, 2 missed reference objects
    (drawn last, so a missed object shows even under a spurious one). ``rows`` from
    :func:`evaluate` (instance mode) saves matching again.
    """
    check_choice("mode", mode, ("semantic", "instance"))
    pred, ref = label_pair(prediction, reference)
    out = np.zeros(pred.shape, np.uint8)
    if mode == "semantic":
        out[(pred > 0) & (pred == ref)] = 1
        out[(ref > 0) & (pred == 0)] = 2
        out[(pred > 0) & (ref == 0)] = 3
        out[(pred > 0) & (ref > 0) & (pred != ref)] = 4
        return out
    if mode != "instance":
        raise ValueError(f"mode must be 'semantic' or 'instance', not {mode!r}")
    if rows is None:
        m = instances.match(pred, ref)
        matched, missed, spurious = [p for p, _, _ in m.pairs], m.missed, m.spurious
    else:
        def ids(status, key):
            return [r[key] for r in rows if r["status"] == status]
        matched, missed, spurious = (ids("matched", "prediction_id"),
                                     ids("missed", "reference_id"),
                                     ids("spurious", "prediction_id"))
    out[np.isin(pred, matched) & (pred > 0)] = 1
    out[np.isin(pred, spurious) & (pred > 0)] = 3
    out[np.isin(ref, missed) & (ref > 0)] = 2
    return out
