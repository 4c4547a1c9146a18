"""Where a prediction goes wrong: one label image that colours correct, missed and spurious."""

from __future__ import annotations

import numpy as np

from ..._checks import check_choice
from . import instances
from ._inputs import label_pair

#: the values of :func:`error_map` and what they mean
ERRORS = {1: "correct", 2: "missed", 3: "spurious", 4: "wrong class"}
#: RGBA colours for them (green, magenta, orange, yellow) as napari label colours
ERROR_COLOURS = {
    1: (0.2, 0.8, 0.3, 0.6),
    2: (0.9, 0.1, 0.9, 1.0),
    3: (1.0, 0.55, 0.0, 1.0),
    4: (1.0, 0.9, 0.1, 1.0),
}


def error_map(prediction, reference, *, mode="semantic", rows=None) -> np.ndarray:
    """Map where a prediction is right and wrong, as a label image of :data:`ERRORS`.

    Meant to be shown over the image as a napari labels layer coloured by
    :data:`ERROR_COLOURS` (green correct, magenta missed, orange spurious, yellow wrong
    class). ``mode="semantic"`` judges each voxel, ``mode="instance"`` each object, matched
    one to one at IoU ≥ 0.5 as in :func:`match`.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background; class ids, or object ids for ``"instance"``), any
        number of axes. NumPy, dask or zarr; read into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    mode : {"semantic", "instance"}, default "semantic"
        "semantic": per voxel, 1 same class, 2 reference foreground the prediction calls
        background, 3 prediction foreground where the reference has background, 4 both
        foreground with different classes. "instance": per object at IoU 0.5, 1 matched
        predicted objects, 3 spurious predicted objects, 2 missed reference objects (drawn
        last, so a missed object shows even under a spurious one).
    rows : list of dict, optional
        The rows of :func:`evaluate` with ``mode="instance"`` for these images; they save
        matching again. Ignored in semantic mode.

    Returns
    -------
    errors : uint8 array
        Of the images' shape: 0 where both are background (or, in instance mode, voxels of
        no matched, spurious or missed object), else a key of :data:`ERRORS`.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If ``mode`` is not one of the choices, the shapes differ, or either image is empty or
        holds non-integer (e.g. float) or negative labels.

    See Also
    --------
    evaluate : The scores and the per-object rows.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.array([[0, 1, 1, 2], [0, 1, 1, 2]])
    >>> prediction = np.array([[1, 1, 0, 1], [0, 1, 0, 2]])
    >>> metrics.error_map(prediction, reference).tolist()
    [[3, 1, 2, 4], [0, 1, 2, 1]]
    >>> metrics.ERRORS
    {1: 'correct', 2: 'missed', 3: 'spurious', 4: 'wrong class'}

    Per object, with one spurious predicted object and one missed reference object:

    >>> reference = np.zeros((16, 16), np.uint16); reference[2:6, 2:6] = 1
    >>> reference[10:14, 2:6] = 2
    >>> prediction = np.zeros((16, 16), np.uint16); prediction[2:6, 2:7] = 5
    >>> prediction[11:15, 10:13] = 7
    >>> errors = metrics.error_map(prediction, reference, mode="instance")
    >>> np.bincount(errors.ravel()).tolist()  # voxels: 20 correct, 16 missed, 12 spurious
    [208, 20, 16, 12]
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

        matched, missed, spurious = (
            ids("matched", "prediction_id"),
            ids("missed", "reference_id"),
            ids("spurious", "prediction_id"),
        )
    out[np.isin(pred, matched) & (pred > 0)] = 1
    out[np.isin(pred, spurious) & (pred > 0)] = 3
    out[np.isin(ref, missed) & (ref > 0)] = 2
    return out
