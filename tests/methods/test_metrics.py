"""Metrics against MONAI and hand-computed cases, anisotropic spacing included."""

import numpy as np
import pytest
from scipy import ndimage

from napari_segkit import metrics

try:  # MONAI is the reference of some tests; without the unet extra those skip
    import torch
    from monai.metrics import (
        compute_average_surface_distance,
        compute_dice,
        compute_hausdorff_distance,
        compute_iou,
    )
except ImportError:
    torch = None
needs_monai = pytest.mark.skipif(torch is None, reason="needs the unet extra (PyTorch, MONAI)")


def _blobs(shape, seed, classes=3):
    """Smooth random class labels 0..classes-1 (some large regions, some small)."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.random(shape), 3)
    edges = np.quantile(field, np.linspace(0, 1, classes + 1)[1:-1])
    return np.digitize(field, edges).astype(np.uint8)


def _onehot(labels, classes):
    onehot = np.stack([labels == c for c in range(classes)])[None]
    return torch.from_numpy(onehot.astype(np.float32))


# --- overlap --------------------------------------------------------------------------------


@needs_monai
@pytest.mark.parametrize("shape", [(64, 80), (20, 32, 28)])
def test_dice_and_iou_per_class_equal_monai(shape):
    pred, ref = _blobs(shape, 1, 4), _blobs(shape, 2, 4)
    ours_dice = metrics.dice(pred, ref, average=None)
    ours_iou = metrics.iou(pred, ref, average=None)
    theirs_dice = compute_dice(_onehot(pred, 4), _onehot(ref, 4), include_background=False)[0]
    theirs_iou = compute_iou(_onehot(pred, 4), _onehot(ref, 4), include_background=False)[0]
    for c in (1, 2, 3):
        assert ours_dice[c] == pytest.approx(float(theirs_dice[c - 1]), rel=1e-6)
        assert ours_iou[c] == pytest.approx(float(theirs_iou[c - 1]), rel=1e-6)
    assert metrics.dice(pred, ref) == pytest.approx(np.mean(list(ours_dice.values())))


def test_hand_counted_precision_recall_micro_and_accuracy():
    ref = np.array([[1, 1, 1, 0], [2, 2, 0, 0]])
    pred = np.array([[1, 1, 0, 0], [2, 1, 2, 0]])
    # class 1: TP 2, FP 1, FN 1; class 2: TP 1, FP 1, FN 1
    assert metrics.precision(pred, ref, average=None) == {1: 2 / 3, 2: 1 / 2}
    assert metrics.recall(pred, ref, average=None) == {1: 2 / 3, 2: 1 / 2}
    assert metrics.dice(pred, ref, average="micro") == pytest.approx(2 * 3 / (2 * 3 + 2 + 2))
    assert metrics.iou(pred, ref, average=None)[2] == pytest.approx(1 / 3)
    assert metrics.pixel_accuracy(pred, ref) == 5 / 8
    with_background = metrics.dice(pred, ref, average=None, include_background=True)
    assert with_background[0] == pytest.approx(2 * 2 / (3 + 3))  # background: 2 of 3 each


def test_empty_images_and_absent_classes_have_defined_scores():
    empty = np.zeros((5, 5), np.uint8)
    one = empty.copy()
    one[1:3, 1:3] = 1
    assert metrics.dice(empty, empty) == 1.0
    assert metrics.dice(one, empty) == 0.0
    assert metrics.dice(empty, one) == 0.0
    assert np.isnan(metrics.precision(empty, one, average=None)[1])  # nothing predicted
    two = one * 2
    assert metrics.dice(two, one, average=None) == {1: 0.0, 2: 0.0}  # ids differ


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: metrics.dice(np.zeros((3, 3), int), np.zeros((3, 4), int)), "differ in shape"),
        (lambda: metrics.dice(np.zeros((3, 3)), np.zeros((3, 3), int)), "integer labels"),
        (lambda: metrics.iou(np.full((2, 2), -1), np.zeros((2, 2), int)), "negative"),
        (
            lambda: metrics.dice(np.zeros((2, 2), int), np.zeros((2, 2), int), average="mean"),
            "average must be",
        ),
        (
            lambda: metrics.hd95(np.ones((3, 3), int), np.ones((3, 3), int), spacing=(1, 0)),
            "positive",
        ),
        (
            lambda: metrics.hd95(np.ones((3, 3), int), np.ones((3, 3), int), spacing=(1, 1, 1)),
            "2 values",
        ),
        (
            lambda: metrics.match(np.ones((3, 3), int), np.ones((3, 3), int), threshold=0),
            "threshold must be a finite number > 0 and ≤ 1, got 0",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- surfaces -------------------------------------------------------------------------------


@needs_monai
@pytest.mark.parametrize(
    "shape, spacing",
    [((60, 70), (1.0, 1.0)), ((60, 70), (2.0, 0.5)), ((24, 30, 26), (3.0, 0.5, 0.7))],
)
def test_surface_distances_equal_monai(shape, spacing):
    pred, ref = _blobs(shape, 3, 2), _blobs(shape, 4, 2)
    p, r = _onehot(pred, 2), _onehot(ref, 2)
    hd = float(compute_hausdorff_distance(p, r, spacing=spacing)[0, 0])
    hd95 = float(compute_hausdorff_distance(p, r, percentile=95, spacing=spacing)[0, 0])
    asd = float(compute_average_surface_distance(p, r, symmetric=True, spacing=spacing)[0, 0])
    assert metrics.hausdorff(pred, ref, spacing=spacing) == pytest.approx(hd, rel=1e-5)
    assert metrics.hd95(pred, ref, spacing=spacing) == pytest.approx(hd95, rel=1e-5)
    assert metrics.average_surface_distance(pred, ref, spacing=spacing) == pytest.approx(
        asd, rel=1e-5
    )


def _square(shift_rows=0, shift_cols=0):
    image = np.zeros((30, 30), np.uint8)
    image[5 + shift_rows : 15 + shift_rows, 5 + shift_cols : 15 + shift_cols] = 1
    return image


def test_shifted_squares_in_physical_units():
    a = _square()
    assert metrics.hausdorff(_square(0, 2), a, spacing=(1.0, 0.5)) == pytest.approx(1.0)
    assert metrics.hausdorff(_square(2, 0), a, spacing=(2.0, 0.5)) == pytest.approx(4.0)
    assert metrics.boundary_f1(_square(0, 2), a, tolerance=1.0, spacing=(1.0, 0.5)) == 1.0
    # within 0.4 only boundary voxels that coincide count: rows 5 and 14, columns 7..14
    assert metrics.boundary_f1(
        _square(0, 2), a, tolerance=0.4, spacing=(1.0, 0.5)
    ) == pytest.approx(16 / 36)


def test_empty_masks_in_surface_metrics():
    empty, a = np.zeros((30, 30), np.uint8), _square()
    assert metrics.hd95(empty, empty) == 0.0
    assert metrics.hd95(empty, a) == np.inf
    assert metrics.average_surface_distance(a, empty) == np.inf
    assert metrics.boundary_f1(empty, empty) == 1.0
    assert metrics.boundary_f1(a, empty) == 0.0


# --- instances ------------------------------------------------------------------------------


def _intervals(*spans, size=30):
    """A one-row label image with object k + 1 on spans[k] = (start, stop)."""
    row = np.zeros((1, size), np.int32)
    for k, (start, stop) in enumerate(spans):
        row[0, start:stop] = k + 1
    return row


def test_matching_by_hand_with_missed_and_spurious():
    ref = _intervals((0, 10), (12, 20), (25, 28))
    pred = _intervals((1, 10), (12, 22), (22, 24))  # IoU 0.9, 0.8; 3rd overlaps nothing
    m = metrics.match(pred, ref, threshold=0.5)
    assert [(p, r) for p, r, _ in m.pairs] == [(1, 1), (2, 2)]
    assert [iou for *_, iou in m.pairs] == pytest.approx([0.9, 0.8])
    assert m.missed == [3] and m.spurious == [3]
    assert (m.tp, m.fp, m.fn) == (2, 1, 1)
    assert m.f1 == pytest.approx(2 / 3) and m.average_precision == pytest.approx(0.5)
    assert metrics.panoptic_quality(pred, ref) == pytest.approx((0.9 + 0.8) / 3)
    # over 0.5 … 0.95: both pairs match up to 0.8, one up to 0.9, none above
    expected = [2 / 4] * 7 + [1 / 5] * 2 + [0.0]
    assert metrics.mean_average_precision(pred, ref) == pytest.approx(np.mean(expected))


def test_low_thresholds_use_the_optimal_assignment():
    ref = _intervals((0, 10), (10, 20))
    pred = _intervals((4, 15), (0, 4))  # P1: 0.4 with R1, 0.3125 with R2; P2: 0.4 with R1
    m = metrics.match(pred, ref, threshold=0.3)
    assert sorted((p, r) for p, r, _ in m.pairs) == [(1, 2), (2, 1)]  # greedy would find one
    assert m.tp == 2 and not m.missed and not m.spurious


def test_identical_and_empty_instance_images():
    labels = _intervals((0, 5), (7, 9))
    empty = np.zeros_like(labels)
    assert metrics.mean_average_precision(labels, labels) == 1.0
    assert metrics.panoptic_quality(labels, labels) == 1.0
    assert metrics.mean_average_precision(empty, labels) == 0.0
    assert metrics.f1(empty, empty) == 1.0
    renumbered = np.where(labels > 0, labels + 40, 0)  # ids need not agree
    assert metrics.f1(renumbered, labels) == 1.0


# --- evaluate -------------------------------------------------------------------------------


def test_evaluate_semantic_rows_agree_with_the_single_metrics():
    pred, ref = _blobs((40, 50), 5, 3), _blobs((40, 50), 6, 3)
    rows, summary = metrics.evaluate(pred, ref, spacing=(2.0, 0.5), mode="semantic")
    assert [row["class"] for row in rows] == [1, 2]
    dice = metrics.dice(pred, ref, average=None)
    for row in rows:
        assert row["dice"] == pytest.approx(dice[row["class"]])
        assert row["hd95"] == pytest.approx(
            metrics.hd95(pred, ref, label=row["class"], spacing=(2.0, 0.5))
        )
        assert row["reference_voxels"] == int((ref == row["class"]).sum())
        assert row["centroid"] == pytest.approx(
            np.argwhere(ref == row["class"]).mean(axis=0), abs=0.01
        )
    assert summary["dice_macro"] == pytest.approx(metrics.dice(pred, ref))
    assert summary["pixel_accuracy"] == pytest.approx(np.mean(pred == ref))


def test_evaluate_instance_rows_name_matched_missed_and_spurious_objects():
    ref = _intervals((0, 10), (12, 20), (25, 28))
    pred = _intervals((1, 10), (12, 22), (22, 24))
    rows, summary = metrics.evaluate(pred, ref, mode="instance")
    assert [(r["status"], r["prediction_id"], r["reference_id"]) for r in rows] == [
        ("matched", 1, 1),
        ("matched", 2, 2),
        ("missed", None, 3),
        ("spurious", 3, None),
    ]
    assert rows[2]["centroid"] == pytest.approx((0.0, 26.0))  # where to look in the viewer
    assert rows[3]["centroid"] == pytest.approx((0.0, 22.5))
    assert (summary["tp"], summary["fp"], summary["fn"]) == (2, 1, 1)
    assert summary["panoptic_quality"] == pytest.approx(metrics.panoptic_quality(pred, ref))
    with pytest.raises(ValueError, match="mode must be"):
        metrics.evaluate(pred, ref, mode="panoptic")


def test_semantic_class_only_in_the_prediction_is_centred_on_the_prediction():
    ref = np.zeros((4, 6), int)
    ref[1, 1] = 1
    pred = np.zeros_like(ref)
    pred[2, 3:5] = 2
    rows, _ = metrics.evaluate(pred, ref)
    assert [(r["class"], r["centroid"]) for r in rows] == [(1, (1.0, 1.0)), (2, (2.0, 3.5))]


# --- error map ------------------------------------------------------------------------------


def test_semantic_error_map_by_hand():
    ref = np.array([[0, 1, 1, 2, 0]])
    pred = np.array([[1, 1, 0, 1, 0]])
    assert metrics.error_map(pred, ref).tolist() == [[3, 1, 2, 4, 0]]


def test_instance_error_map_marks_whole_objects_and_reuses_evaluate_rows():
    ref = _intervals((0, 10), (12, 20), (25, 28))
    pred = _intervals((1, 10), (12, 22), (22, 24))
    expected = np.zeros_like(ref)
    expected[(pred == 1) | (pred == 2)] = 1  # matched predictions
    expected[pred == 3] = 3  # spurious
    expected[ref == 3] = 2  # missed
    assert np.array_equal(metrics.error_map(pred, ref, mode="instance"), expected)
    rows, _ = metrics.evaluate(pred, ref, mode="instance")
    assert np.array_equal(metrics.error_map(pred, ref, mode="instance", rows=rows), expected)
    assert set(np.unique(expected)) == {0, 1, 2, 3}  # the case exercises every colour
