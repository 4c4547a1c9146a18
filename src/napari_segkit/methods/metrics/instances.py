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
    """Matched pairs and what is left over at one IoU threshold."""

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
    codes, overlap = np.unique(i.astype(np.int64) * max(len(ref_ids), 1) + j,
                               return_counts=True)
    i, j = np.divmod(codes, max(len(ref_ids), 1))
    union = pred_area[i] + ref_area[j] - overlap
    areas = {"pred": dict(zip(pred_ids.tolist(), pred_area.tolist())),
             "ref": dict(zip(ref_ids.tolist(), ref_area.tolist()))}
    return pred_ids, ref_ids, i, j, overlap / union, areas


def match(prediction, reference, *, threshold=0.5) -> Matching:
    """Pair predicted and reference objects one to one at IoU ≥ ``threshold``."""
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
    return Matching(threshold, sorted(pairs, key=lambda p: p[1]),
                    [int(r) for n, r in enumerate(ref_ids) if n not in matched_ref],
                    [int(p) for n, p in enumerate(pred_ids) if n not in matched_pred], areas)


def matches_at(prediction, reference, thresholds=AP_THRESHOLDS) -> list[Matching]:
    """:func:`match` at several thresholds, computing the IoUs once."""
    for threshold in thresholds:
        check_iou(threshold)
    table = iou_table(prediction, reference)
    return [_match(*table, threshold) for threshold in thresholds]


def mean_average_precision(prediction, reference, *, thresholds=AP_THRESHOLDS) -> float:
    """Average precision (TP / (TP + FP + FN)) averaged over IoU ``thresholds``."""
    return float(np.mean([m.average_precision for m in
                          matches_at(prediction, reference, thresholds)]))


def panoptic_quality(prediction, reference) -> float:
    """PQ = segmentation quality × recognition quality, objects matched at IoU > 0.5."""
    return match(prediction, reference, threshold=PQ_THRESHOLD).panoptic_quality


def f1(prediction, reference, *, threshold=0.5) -> float:
    """Detection F1 = 2TP / (2TP + FP + FN) with objects matched at IoU ≥ ``threshold``."""
    return match(prediction, reference, threshold=threshold).f1
