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
    """Count the voxels of every (reference id, predicted id) pair.

    The ids are those present in either image, background 0 included, in increasing
    order; one :func:`numpy.bincount` pass over the voxels. Rows are the reference, columns
    the prediction, so the diagonal holds the agreeing voxels.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background), any number of axes. NumPy, dask or zarr; read
        into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.

    Returns
    -------
    ids : (K,) int64 array
        The label ids present in either image, sorted.
    matrix : (K, K) int64 array
        ``matrix[i, j]``: the number of voxels with reference id ``ids[i]`` and predicted
        id ``ids[j]``.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If the shapes differ, or either image is empty or holds non-integer (e.g. float) or
        negative labels.

    See Also
    --------
    class_counts : True positives, false positives and false negatives per class.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.array([[0, 1, 1], [0, 2, 2]])
    >>> prediction = np.array([[0, 1, 1], [1, 1, 2]])
    >>> ids, matrix = metrics.confusion(prediction, reference)
    >>> ids.tolist()
    [0, 1, 2]
    >>> matrix.tolist()  # reference 0 predicted 1 once, reference 2 predicted 1 once
    [[1, 1, 0], [0, 2, 0], [0, 1, 1]]
    """
    pred, ref = label_pair(prediction, reference)
    ids = np.union1d(np.unique(pred), np.unique(ref))
    k = len(ids)
    index = np.searchsorted(ids, ref).ravel() * k + np.searchsorted(ids, pred).ravel()
    return ids, np.bincount(index, minlength=k * k).reshape(k, k)


def class_counts(prediction, reference, *, include_background=False) -> dict[int, tuple]:
    """Count true positives, false positives and false negatives of each class, in voxels.

    From the :func:`confusion` matrix: a class's true positives (TP) are the voxels both
    images give it, its false positives (FP) the voxels only the prediction gives it, its
    false negatives (FN) the voxels only the reference gives it. These counts are what
    :func:`dice`, :func:`iou`, :func:`precision` and :func:`recall` are computed from.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background, 1, 2, … class ids), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    include_background : bool, default False
        Count class 0 as well.

    Returns
    -------
    counts : dict of int to (int, int, int)
        ``{class id: (TP, FP, FN)}`` for every class present in either image, in increasing
        order of id.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If the shapes differ, or either image is empty or holds non-integer (e.g. float) or
        negative labels.

    See Also
    --------
    confusion : The full matrix of voxel counts.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((8, 8), np.uint8); reference[1:5, 1:5] = 1; reference[6:, :] = 2
    >>> prediction = np.zeros((8, 8), np.uint8); prediction[1:5, 1:7] = 1; prediction[7, :] = 2
    >>> metrics.class_counts(prediction, reference)  # class 1 too wide, class 2 half found
    {1: (16, 8, 0), 2: (8, 0, 8)}
    """
    ids, matrix = confusion(prediction, reference)
    tp = np.diag(matrix)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    return {
        int(c): (int(tp[i]), int(fp[i]), int(fn[i]))
        for i, c in enumerate(ids)
        if c != 0 or include_background
    }


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
    """Compute the Dice coefficient 2TP / (2TP + FP + FN) per class.

    Each class id (background 0 left out unless ``include_background``) is scored from its
    true positives, false positives and false negatives in voxels (:func:`class_counts`),
    then averaged. Dice is the F1 score of the voxels and equals 2 IoU / (1 + IoU). A class
    whose score has a zero denominator (NaN) is left out of the macro average; two images
    with no class at all agree perfectly (1.0). One pass over the voxels.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background, 1, 2, … class ids), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    average : {"macro", "micro", None}, default "macro"
        "macro": the mean over the classes present in either image; "micro": the counts of
        all classes pooled first, then one score; None: one score per class.
    include_background : bool, default False
        Score class 0 as a class too.
    spacing : sequence of float, optional
        Not needed (a ratio of voxel counts does not depend on the voxel size); accepted so
        that every metric takes the same keywords.

    Returns
    -------
    score : float or dict of int to float
        From 0 (no overlap) to 1 (identical); ``{class id: score}`` when ``average`` is
        None.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or ``average`` is not one of the choices.

    See Also
    --------
    iou : Intersection over union, a monotone function of Dice.
    class_counts : The counts the score is computed from.
    boundary_f1 : Agreement of the outlines rather than of the areas.

    References
    ----------
    .. [1] L. R. Dice, "Measures of the amount of ecologic association between species",
           Ecology 26(3):297-302, 1945. :doi:`10.2307/1932409`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((8, 8), np.uint8); reference[1:5, 1:5] = 1; reference[6:, :] = 2
    >>> prediction = np.zeros((8, 8), np.uint8); prediction[1:5, 1:7] = 1; prediction[7, :] = 2
    >>> metrics.dice(prediction, reference, average=None)  # 32 / (32 + 8), 16 / (16 + 8)
    {1: 0.8, 2: 0.667}
    >>> round(metrics.dice(prediction, reference), 3)  # their mean
    0.733
    >>> metrics.dice(prediction, reference, average="micro")  # 48 / (48 + 8 + 8)
    0.75
    """
    return _score("dice", prediction, reference, average, include_background)


def iou(prediction, reference, *, average="macro", include_background=False, spacing=None):
    """Compute the intersection over union (Jaccard index) TP / (TP + FP + FN) per class.

    Each class id (background 0 left out unless ``include_background``) is scored from its
    true positives, false positives and false negatives in voxels (:func:`class_counts`),
    then averaged. IoU equals Dice / (2 - Dice) and is never above Dice. A class whose
    score has a zero denominator (NaN) is left out of the macro average; two images with no
    class at all agree perfectly (1.0). One pass over the voxels.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background, 1, 2, … class ids), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    average : {"macro", "micro", None}, default "macro"
        "macro": the mean over the classes present in either image; "micro": the counts of
        all classes pooled first, then one score; None: one score per class.
    include_background : bool, default False
        Score class 0 as a class too.
    spacing : sequence of float, optional
        Not needed (a ratio of voxel counts does not depend on the voxel size); accepted so
        that every metric takes the same keywords.

    Returns
    -------
    score : float or dict of int to float
        From 0 (no overlap) to 1 (identical); ``{class id: score}`` when ``average`` is
        None.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or ``average`` is not one of the choices.

    See Also
    --------
    dice : The Dice coefficient of the same counts.
    match : Objects paired by their IoU.

    References
    ----------
    .. [1] P. Jaccard, "The distribution of the flora in the alpine zone", New Phytologist
           11(2):37-50, 1912. :doi:`10.1111/j.1469-8137.1912.tb05611.x`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((8, 8), np.uint8); reference[1:5, 1:5] = 1; reference[6:, :] = 2
    >>> prediction = np.zeros((8, 8), np.uint8); prediction[1:5, 1:7] = 1; prediction[7, :] = 2
    >>> metrics.iou(prediction, reference, average=None)  # 16 / 24, 8 / 16
    {1: 0.667, 2: 0.5}
    >>> round(metrics.iou(prediction, reference), 3)
    0.583
    """
    return _score("iou", prediction, reference, average, include_background)


def precision(prediction, reference, *, average="macro", include_background=False, spacing=None):
    """Compute the precision TP / (TP + FP) per class: the share of predicted voxels that are right.

    Each class id (background 0 left out unless ``include_background``) is scored from its
    true positives and false positives in voxels (:func:`class_counts`), then averaged. A
    class the prediction does not contain has no precision (NaN) and is left out of the
    macro average; when no class has one the macro average is 1.0 (nothing was predicted
    wrongly), the micro average NaN. Two images with no class at all score 1.0.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background, 1, 2, … class ids), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    average : {"macro", "micro", None}, default "macro"
        "macro": the mean over the classes present in either image; "micro": the counts of
        all classes pooled first, then one score; None: one score per class.
    include_background : bool, default False
        Score class 0 as a class too.
    spacing : sequence of float, optional
        Not needed (a ratio of voxel counts does not depend on the voxel size); accepted so
        that every metric takes the same keywords.

    Returns
    -------
    score : float or dict of int to float
        From 0 to 1 (1 = no false positives); ``{class id: score}`` when ``average`` is
        None.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or ``average`` is not one of the choices.

    See Also
    --------
    recall : The share of reference voxels found.
    dice : The harmonic mean of precision and recall.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((8, 8), np.uint8); reference[1:5, 1:5] = 1; reference[6:, :] = 2
    >>> prediction = np.zeros((8, 8), np.uint8); prediction[1:5, 1:7] = 1; prediction[7, :] = 2
    >>> metrics.precision(prediction, reference, average=None)  # class 1 is 8 voxels too wide
    {1: 0.667, 2: 1.0}
    """
    return _score("precision", prediction, reference, average, include_background)


def recall(prediction, reference, *, average="macro", include_background=False, spacing=None):
    """Compute the recall TP / (TP + FN) per class: the share of reference voxels found.

    Recall is also called sensitivity or true positive rate. Each class id (background 0
    left out unless ``include_background``) is scored from its true positives and false
    negatives in voxels (:func:`class_counts`), then averaged. A class the reference does
    not contain has no recall (NaN) and is left out of the macro average; when no class has
    one the macro average is 1.0 (nothing was missed), the micro average NaN. Two images
    with no class at all score 1.0.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background, 1, 2, … class ids), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    average : {"macro", "micro", None}, default "macro"
        "macro": the mean over the classes present in either image; "micro": the counts of
        all classes pooled first, then one score; None: one score per class.
    include_background : bool, default False
        Score class 0 as a class too.
    spacing : sequence of float, optional
        Not needed (a ratio of voxel counts does not depend on the voxel size); accepted so
        that every metric takes the same keywords.

    Returns
    -------
    score : float or dict of int to float
        From 0 to 1 (1 = nothing missed); ``{class id: score}`` when ``average`` is None.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or ``average`` is not one of the choices.

    See Also
    --------
    precision : The share of predicted voxels that are right.
    dice : The harmonic mean of precision and recall.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((8, 8), np.uint8); reference[1:5, 1:5] = 1; reference[6:, :] = 2
    >>> prediction = np.zeros((8, 8), np.uint8); prediction[1:5, 1:7] = 1; prediction[7, :] = 2
    >>> metrics.recall(prediction, reference, average=None)  # one of class 2's two rows found
    {1: 1.0, 2: 0.5}
    """
    return _score("recall", prediction, reference, average, include_background)


def pixel_accuracy(prediction, reference, *, spacing=None) -> float:
    """Compute the share of all voxels, background included, whose label is the same in both.

    Unlike the per-class scores, background counts, so a small object in a large image
    scores high even when it is missed entirely; prefer :func:`dice` for sparse objects.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background), any number of axes. NumPy, dask or zarr; read
        into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    spacing : sequence of float, optional
        Not needed (a ratio of voxel counts does not depend on the voxel size); accepted so
        that every metric takes the same keywords.

    Returns
    -------
    accuracy : float
        From 0 to 1 (1 = identical).

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array (a string, None, a dict).
    ValueError
        If the shapes differ, or either image is empty or holds non-integer (e.g. float) or
        negative labels.

    See Also
    --------
    dice : Per-class overlap, background left out.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((8, 8), np.uint8); reference[1:5, 1:5] = 1; reference[6:, :] = 2
    >>> prediction = np.zeros((8, 8), np.uint8); prediction[1:5, 1:7] = 1; prediction[7, :] = 2
    >>> metrics.pixel_accuracy(prediction, reference)  # 16 of 64 voxels differ
    0.75
    """
    pred, ref = label_pair(prediction, reference)
    return float(np.mean(pred == ref)) if pred.size else 1.0
