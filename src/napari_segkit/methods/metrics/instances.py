"""Object-level scores: one-to-one matching by IoU, detection F1, AP over IoU thresholds, PQ.

Objects are the non-zero ids of each image. A predicted and a reference object match when
their IoU is at least the threshold, each object matching at most one other; for
thresholds of 0.5 and below, the pairs maximise the total IoU (optimal assignment), above
0.5 a pair is unique anyway. "Average precision" at a threshold is TP / (TP + FP + FN), the
definition of the 2018 Data Science Bowl and of StarDist/Cellpose papers (there are no
detection scores to rank, so COCO's curve does not apply); ``mean_average_precision``
averages it over IoU 0.50, 0.55, …, 0.95. Panoptic quality is Kirillov et al. (2019):
(sum of matched IoUs) / (TP + FP/2 + FN/2) at IoU > 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._inputs import check_iou, label_pair

AP_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2))
PQ_THRESHOLD = float(np.nextafter(0.5, 1.0))  # panoptic quality matches at IoU > 0.5


@dataclass
class Matching:
    """Matched pairs and what is left over at one IoU threshold.

    What :func:`match` and :func:`matches_at` return: the one-to-one pairs of predicted and
    reference objects, the reference objects without a partner (false negatives) and the
    predicted ones without a partner (false positives), with the detection scores derived
    from their counts as properties. A score whose denominator is 0 (both images without
    objects) is 1.0.

    Parameters
    ----------
    threshold : float
        The IoU threshold the objects were matched at, in (0, 1].
    pairs : list of (int, int, float)
        ``(predicted id, reference id, IoU)`` of each matched pair, in increasing order of
        reference id.
    missed : list of int
        Reference ids with no match (false negatives), in increasing order.
    spurious : list of int
        Predicted ids with no match (false positives), in increasing order.
    areas : dict, optional
        Object sizes in voxels, ``{"pred": {id: n}, "ref": {id: n}}`` (not shown in the
        repr).

    Attributes
    ----------
    tp, fp, fn : int
        Number of matched pairs (true positives), spurious predicted objects (false
        positives) and missed reference objects (false negatives).
    precision : float
        TP / (TP + FP).
    recall : float
        TP / (TP + FN).
    f1 : float
        Detection F1, 2TP / (2TP + FP + FN).
    average_precision : float
        TP / (TP + FP + FN), the "average precision" at this threshold of the 2018 Data
        Science Bowl and the StarDist and Cellpose papers (1.0 when both images are empty).
    mean_matched_iou : float
        Mean IoU of the matched pairs (0.0 without pairs).
    panoptic_quality : float
        (sum of matched IoUs) / (TP + FP/2 + FN/2).

    See Also
    --------
    match : Build one from two label images.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((16, 16), np.uint16)
    >>> reference[2:6, 2:6] = 1; reference[10:14, 2:6] = 2; reference[2:6, 10:14] = 3
    >>> prediction = np.zeros((16, 16), np.uint16)
    >>> prediction[2:6, 2:7] = 5    # object 1, one column too wide: IoU 16 / 20
    >>> prediction[10:14, 2:4] = 6  # the left half of object 2: IoU 8 / 16
    >>> prediction[11:15, 10:13] = 7  # where there is nothing: spurious; object 3 is missed
    >>> m = metrics.match(prediction, reference)
    >>> m
    Matching(threshold=0.5, pairs=[(5, 1, 0.8), (6, 2, 0.5)], missed=[3], spurious=[7])
    >>> m.tp, m.fp, m.fn, round(m.f1, 3), m.average_precision
    (2, 1, 1, 0.667, 0.5)
    >>> m.areas["pred"]
    {5: 20, 6: 8, 7: 12}
    """

    threshold: float
    pairs: list[tuple[int, int, float]]  # (predicted id, reference id, IoU)
    missed: list[int]  # reference ids with no match (false negatives)
    spurious: list[int]  # predicted ids with no match (false positives)
    areas: dict = field(default_factory=dict, repr=False)  # {"pred": {id: n}, "ref": {...}}

    @property
    def tp(self) -> int:
        return len(self.pairs)

    @property
    def fp(self) -> int:
        return len(self.spurious)

    @property
    def fn(self) -> int:
        return len(self.missed)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else 1.0

    @property
    def average_precision(self) -> float:
        """TP / (TP + FP + FN) (1.0 when both images are empty)."""
        total = self.tp + self.fp + self.fn
        return self.tp / total if total else 1.0

    @property
    def mean_matched_iou(self) -> float:
        return float(np.mean([p[2] for p in self.pairs])) if self.pairs else 0.0

    @property
    def panoptic_quality(self) -> float:
        total = self.tp + 0.5 * self.fp + 0.5 * self.fn
        return sum(p[2] for p in self.pairs) / total if total else 1.0


def iou_table(prediction, reference):
    """(predicted ids, reference ids, pairs) where ``pairs`` maps overlapping
    (i, j) index pairs to their IoU, and the voxel counts of every object."""
    pred, ref = label_pair(prediction, reference)
    pred_ids, pred_area = np.unique(pred[pred > 0], return_counts=True)
    ref_ids, ref_area = np.unique(ref[ref > 0], return_counts=True)
    both = (pred > 0) & (ref > 0)
    i = np.searchsorted(pred_ids, pred[both])
    j = np.searchsorted(ref_ids, ref[both])
    codes, overlap = np.unique(i.astype(np.int64) * max(len(ref_ids), 1) + j, return_counts=True)
    i, j = np.divmod(codes, max(len(ref_ids), 1))
    union = pred_area[i] + ref_area[j] - overlap
    areas = {
        "pred": dict(zip(pred_ids.tolist(), pred_area.tolist())),
        "ref": dict(zip(ref_ids.tolist(), ref_area.tolist())),
    }
    return pred_ids, ref_ids, i, j, overlap / union, areas


def match(prediction, reference, *, threshold=0.5) -> Matching:
    """Pair predicted and reference objects one to one at IoU ≥ ``threshold``.

    Objects are the non-zero ids of each image. The IoU of every overlapping pair comes from
    one pass over the voxels; pairs below ``threshold`` are dropped. Above 0.5 each object
    can overlap at most one other that much, so the pairs are unique; at 0.5 and below an
    object may qualify with several, and the pairs are chosen to maximise the total IoU
    (optimal assignment, :func:`scipy.optimize.linear_sum_assignment`) rather than greedily.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted objects (0 = background, one id per object), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as one object.
    reference : array-like of int or bool
        Reference (ground-truth) objects of the same shape.
    threshold : float, default 0.5
        Smallest IoU of a matched pair, in (0, 1].

    Returns
    -------
    matching : Matching
        The pairs, missed reference ids and spurious predicted ids, with TP, FP, FN,
        precision, recall, F1, average precision and panoptic quality as properties.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``threshold`` is not a
        number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or ``threshold`` is not in (0, 1].

    See Also
    --------
    matches_at : The same at several thresholds, the IoUs computed once.
    f1, mean_average_precision, panoptic_quality : Scores of the matching.

    References
    ----------
    .. [1] H. W. Kuhn, "The Hungarian method for the assignment problem", Naval Research
           Logistics Quarterly 2:83-97, 1955. :doi:`10.1002/nav.3800020109`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((16, 16), np.uint16)
    >>> reference[2:6, 2:6] = 1; reference[10:14, 2:6] = 2; reference[2:6, 10:14] = 3
    >>> prediction = np.zeros((16, 16), np.uint16)
    >>> prediction[2:6, 2:7] = 5    # object 1, one column too wide: IoU 16 / 20
    >>> prediction[10:14, 2:4] = 6  # the left half of object 2: IoU 8 / 16
    >>> prediction[11:15, 10:13] = 7  # where there is nothing: spurious; object 3 is missed
    >>> metrics.match(prediction, reference)
    Matching(threshold=0.5, pairs=[(5, 1, 0.8), (6, 2, 0.5)], missed=[3], spurious=[7])
    >>> m = metrics.match(prediction, reference, threshold=0.6)  # object 2's half fails
    >>> m.pairs, m.missed, m.spurious
    ([(5, 1, 0.8)], [2, 3], [6, 7])
    """
    check_iou(threshold)
    pred_ids, ref_ids, i, j, ious, areas = iou_table(prediction, reference)
    return _match(pred_ids, ref_ids, i, j, ious, areas, threshold)


def _match(pred_ids, ref_ids, i, j, ious, areas, threshold) -> Matching:
    from scipy.optimize import linear_sum_assignment

    keep = ious >= threshold
    i, j, ious = i[keep], j[keep], ious[keep]
    if threshold <= 0.5 and len(ious):  # an object may overlap several: assign optimally
        rows, row_index = np.unique(i, return_inverse=True)
        cols, col_index = np.unique(j, return_inverse=True)
        score = np.zeros((len(rows), len(cols)))
        score[row_index, col_index] = ious
        r, c = linear_sum_assignment(score, maximize=True)
        chosen = score[r, c] > 0
        i, j, ious = rows[r[chosen]], cols[c[chosen]], score[r, c][chosen]
    pairs = [(int(pred_ids[a]), int(ref_ids[b]), float(v)) for a, b, v in zip(i, j, ious)]
    matched_pred, matched_ref = set(i.tolist()), set(j.tolist())
    return Matching(
        threshold,
        sorted(pairs, key=lambda p: p[1]),
        [int(r) for n, r in enumerate(ref_ids) if n not in matched_ref],
        [int(p) for n, p in enumerate(pred_ids) if n not in matched_pred],
        areas,
    )


def matches_at(prediction, reference, thresholds=AP_THRESHOLDS) -> list[Matching]:
    """Match objects at several IoU thresholds, computing the IoUs once.

    :func:`match` for each threshold in turn, sharing the table of overlaps, so the cost
    is one pass over the voxels plus a small assignment per threshold.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted objects (0 = background, one id per object), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as one object.
    reference : array-like of int or bool
        Reference (ground-truth) objects of the same shape.
    thresholds : sequence of float, default :data:`AP_THRESHOLDS`
        IoU thresholds, each in (0, 1]; by default 0.50, 0.55, …, 0.95.

    Returns
    -------
    matchings : list of Matching
        One per threshold, in the order given.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or a threshold is not a number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or a threshold is not in (0, 1].

    See Also
    --------
    match : One threshold.
    mean_average_precision : The mean of the average precisions.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((16, 16), np.uint16)
    >>> reference[2:6, 2:6] = 1; reference[10:14, 2:6] = 2; reference[2:6, 10:14] = 3
    >>> prediction = np.zeros((16, 16), np.uint16)
    >>> prediction[2:6, 2:7] = 5    # object 1, one column too wide: IoU 16 / 20
    >>> prediction[10:14, 2:4] = 6  # the left half of object 2: IoU 8 / 16
    >>> prediction[11:15, 10:13] = 7  # where there is nothing: spurious; object 3 is missed
    >>> [m.tp for m in metrics.matches_at(prediction, reference, (0.5, 0.75, 0.9))]
    [2, 1, 0]
    """
    for threshold in thresholds:
        check_iou(threshold)
    table = iou_table(prediction, reference)
    return [_match(*table, threshold) for threshold in thresholds]


def mean_average_precision(prediction, reference, *, thresholds=AP_THRESHOLDS) -> float:
    """Compute the average precision TP / (TP + FP + FN), averaged over IoU thresholds.

    At each threshold the objects are matched one to one (:func:`match`) and scored by
    TP / (TP + FP + FN), the definition of the 2018 Data Science Bowl and of the StarDist
    and Cellpose papers: there are no detection scores to rank, so COCO's
    precision-recall curve does not apply. The mean over the thresholds rewards objects
    whose outlines are right, not only found.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted objects (0 = background, one id per object), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as one object.
    reference : array-like of int or bool
        Reference (ground-truth) objects of the same shape.
    thresholds : sequence of float, default :data:`AP_THRESHOLDS`
        IoU thresholds, each in (0, 1]; by default 0.50, 0.55, …, 0.95.

    Returns
    -------
    score : float
        From 0 to 1 (1 = every object found with its exact outline, or no objects in
        either image).

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or a threshold is not a number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or a threshold is not in (0, 1].

    See Also
    --------
    matches_at : The matchings behind the score.
    f1 : Detection F1 at one threshold.

    References
    ----------
    .. [1] J. C. Caicedo et al., "Nucleus segmentation across imaging experiments: the 2018
           Data Science Bowl", Nature Methods 16:1247-1253, 2019.
           :doi:`10.1038/s41592-019-0612-7`
    .. [2] U. Schmidt, M. Weigert, C. Broaddus and G. Myers, "Cell detection with
           star-convex polygons", MICCAI 2018, LNCS 11071:265-273.
           :doi:`10.1007/978-3-030-00934-2_30`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((16, 16), np.uint16)
    >>> reference[2:6, 2:6] = 1; reference[10:14, 2:6] = 2; reference[2:6, 10:14] = 3
    >>> prediction = np.zeros((16, 16), np.uint16)
    >>> prediction[2:6, 2:7] = 5    # object 1, one column too wide: IoU 16 / 20
    >>> prediction[10:14, 2:4] = 6  # the left half of object 2: IoU 8 / 16
    >>> prediction[11:15, 10:13] = 7  # where there is nothing: spurious; object 3 is missed
    >>> # 2/4 at IoU 0.5, 1/5 from 0.55 to 0.8, 0 at 0.85 to 0.95
    >>> round(metrics.mean_average_precision(prediction, reference), 3)
    0.17
    """
    return float(
        np.mean([m.average_precision for m in matches_at(prediction, reference, thresholds)])
    )


def panoptic_quality(prediction, reference) -> float:
    """Compute the panoptic quality of predicted objects, matched at IoU > 0.5.

    PQ = segmentation quality × recognition quality = (sum of matched IoUs) /
    (TP + FP/2 + FN/2) (Kirillov et al., 2019). Above an IoU of 0.5 the pairs are unique,
    so no assignment is needed; a pair at exactly 0.5 does not match. All objects count as
    one class ("things"), so this is the PQ of one class, not a mean over classes.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted objects (0 = background, one id per object), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as one object.
    reference : array-like of int or bool
        Reference (ground-truth) objects of the same shape.

    Returns
    -------
    score : float
        From 0 to 1 (1 = identical objects, or no objects in either image).

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array.
    ValueError
        If the shapes differ, or either image is empty or holds non-integer (e.g. float) or
        negative labels.

    See Also
    --------
    match : The matching behind the score.
    mean_average_precision : Detection scored over several IoU thresholds.

    References
    ----------
    .. [1] A. Kirillov, K. He, R. Girshick, C. Rother and P. Dollár, "Panoptic
           segmentation", IEEE/CVF Conference on Computer Vision and Pattern Recognition
           (CVPR), 2019, pp. 9404-9413. arXiv:1801.00868

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((16, 16), np.uint16)
    >>> reference[2:6, 2:6] = 1; reference[10:14, 2:6] = 2; reference[2:6, 10:14] = 3
    >>> prediction = np.zeros((16, 16), np.uint16)
    >>> prediction[2:6, 2:7] = 5    # object 1, one column too wide: IoU 16 / 20
    >>> prediction[10:14, 2:4] = 6  # the left half of object 2: IoU 8 / 16, not > 0.5
    >>> prediction[11:15, 10:13] = 7  # where there is nothing: spurious; object 3 is missed
    >>> round(metrics.panoptic_quality(prediction, reference), 3)  # 0.8 / (1 + 2/2 + 2/2)
    0.267
    """
    return match(prediction, reference, threshold=PQ_THRESHOLD).panoptic_quality


def f1(prediction, reference, *, threshold=0.5) -> float:
    """Compute the detection F1 = 2TP / (2TP + FP + FN), objects matched at IoU ≥ ``threshold``.

    The objects are paired one to one by :func:`match`; a matched pair is a true positive
    (TP), a predicted object without a partner a false positive (FP), a reference object
    without one a false negative (FN). Two images without objects score 1.0.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted objects (0 = background, one id per object), any number of axes. NumPy,
        dask or zarr; read into memory. Booleans count as one object.
    reference : array-like of int or bool
        Reference (ground-truth) objects of the same shape.
    threshold : float, default 0.5
        Smallest IoU of a matched pair, in (0, 1].

    Returns
    -------
    score : float
        From 0 to 1 (1 = every object found, nothing spurious).

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``threshold`` is not a
        number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, or ``threshold`` is not in (0, 1].

    See Also
    --------
    match : The matching behind the score, with precision and recall.
    mean_average_precision : Detection scored over several IoU thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((16, 16), np.uint16)
    >>> reference[2:6, 2:6] = 1; reference[10:14, 2:6] = 2; reference[2:6, 10:14] = 3
    >>> prediction = np.zeros((16, 16), np.uint16)
    >>> prediction[2:6, 2:7] = 5    # object 1, one column too wide: IoU 16 / 20
    >>> prediction[10:14, 2:4] = 6  # the left half of object 2: IoU 8 / 16
    >>> prediction[11:15, 10:13] = 7  # where there is nothing: spurious; object 3 is missed
    >>> round(metrics.f1(prediction, reference), 3)  # 2·2 / (2·2 + 1 + 1)
    0.667
    >>> round(metrics.f1(prediction, reference, threshold=0.6), 3)  # 2·1 / (2·1 + 2 + 2)
    0.333
    """
    return match(prediction, reference, threshold=threshold).f1
