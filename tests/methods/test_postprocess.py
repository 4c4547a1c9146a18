"""Post-processing against scikit-image/scipy and hand-made cases."""

import numpy as np
import pytest
from scipy import ndimage
from skimage import morphology, segmentation

from napari_segkit import postprocess as pp


def _two_squares():
    labels = np.zeros((20, 30), np.uint16)
    labels[2:10, 2:10] = 3
    labels[4:6, 4:6] = 0  # a 4-pixel hole
    labels[2:12, 10:22] = 7  # touches 3 along a column
    labels[5:9, 14:18] = 0  # a 16-pixel hole
    return labels


def test_fill_holes_per_object_and_per_mask():
    labels = _two_squares()
    filled = pp.fill_holes(labels)
    assert filled.dtype == labels.dtype
    assert (filled[4:6, 4:6] == 3).all() and (filled[5:9, 14:18] == 7).all()
    mask = labels > 0
    np.testing.assert_array_equal(pp.fill_holes(mask), ndimage.binary_fill_holes(mask))
    ring = np.zeros((9, 9), np.uint8)  # a hole enclosed by two objects together stays
    ring[1:8, 1:8] = 1
    ring[1:8, 4:8] = 2
    ring[3:6, 3:6] = 0
    assert (pp.fill_holes(ring)[3:6, 3:6] == 0).all()


@pytest.mark.parametrize("shape", [(1, 9), (9, 1), (30, 40), (1, 1, 9), (12, 13, 14)])
def test_filled_mask_equals_scipy_fill_holes(shape):
    rng = np.random.default_rng(sum(shape))
    for level in (0.3, 0.5, 0.7):  # few, some and many holes, touching the border or not
        mask = (
            ndimage.uniform_filter(rng.random(shape), 3) > level
            if min(shape) > 1
            else rng.random(shape) > level
        )
        np.testing.assert_array_equal(pp.filled_mask(mask), ndimage.binary_fill_holes(mask))


def test_fill_holes_per_slice_fills_2d_holes_of_a_tube():
    tube = np.zeros((5, 9, 9), bool)
    tube[:, 2:7, 2:7] = True
    tube[:, 4, 4] = False  # open at both ends: no 3D hole
    assert not pp.fill_holes(tube)[:, 4, 4].any()
    assert pp.fill_holes(tube, per_slice=True)[:, 4, 4].all()


def test_remove_small_objects_in_voxels_and_physical_units():
    mask = np.zeros((20, 20), bool)
    mask[1:3, 1:3] = True  # 4 px
    mask[10:15, 10:15] = True  # 25 px
    np.testing.assert_array_equal(
        pp.remove_small_objects(mask, 5), morphology.remove_small_objects(mask, max_size=4)
    )
    # with 0.5 × 0.5 µm pixels the small one is 1 µm², the large 6.25 µm²
    assert pp.remove_small_objects(mask, 2.0, spacing=0.5).sum() == 25
    assert pp.remove_small_objects(mask, 0.5, spacing=0.5).sum() == 29
    labels = _two_squares()  # label ids are objects even when they touch
    kept = pp.remove_small_objects(labels, 61)
    assert set(np.unique(kept)) == {0, 7}


def test_remove_small_holes_keeps_large_ones():
    labels = _two_squares()
    out = pp.remove_small_holes(labels, 10)
    assert (out[4:6, 4:6] == 3).all() and (out[5:9, 14:18] == 0).all()
    assert pp.remove_small_holes(labels, 10, spacing=0.5)[5:9, 14:18].all()  # 4 µm² < 10


@pytest.mark.parametrize("operation", ["erode", "dilate", "open", "close"])
def test_binary_morphology_equals_scipy(operation):
    mask = np.random.default_rng(0).random((30, 40)) > 0.55
    footprint = morphology.disk(2).astype(bool)
    expected = {
        "erode": ndimage.binary_erosion,
        "dilate": ndimage.binary_dilation,
        "open": ndimage.binary_opening,
        "close": ndimage.binary_closing,
    }[operation](mask, structure=footprint)
    np.testing.assert_array_equal(pp.morphology_op(mask, operation, 2), expected)


def test_anisotropic_ball_counts_physical_distance():
    mask = np.zeros((9, 21, 21), bool)
    mask[4, 10, 10] = True
    grown = pp.morphology_op(mask, "dilate", 2.0, spacing=(2.0, 1.0, 1.0))
    assert grown[:, 10, 10].tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0]  # 1 slice = 2 µm
    assert grown[4, 10].sum() == 5  # ±2 pixels in plane


def test_label_morphology_never_merges_and_erosion_separates():
    labels = np.zeros((10, 20), np.uint8)
    labels[2:8, 2:9] = 1
    labels[2:8, 11:18] = 2  # two pixels apart
    dilated = pp.morphology_op(labels, "dilate", 2)
    assert set(np.unique(dilated)) == {0, 1, 2}
    np.testing.assert_array_equal(dilated, segmentation.expand_labels(labels, 2))
    touching = _two_squares()
    eroded = pp.morphology_op(touching, "erode", 1)
    assert not (ndimage.binary_dilation(eroded == 3) & (eroded == 7)).any()  # now apart
    closed = pp.morphology_op(touching, "close", 1)
    assert (closed[touching > 0] == touching[touching > 0]).all()  # drawn voxels kept
    opened = pp.morphology_op(labels, "open", 1)
    for i in (1, 2):  # apart objects: each opened as a binary image
        np.testing.assert_array_equal(
            opened == i,
            ndimage.binary_opening(labels == i, structure=morphology.disk(1).astype(bool)),
        )


def test_smooth_labels_removes_a_spike_and_keeps_the_body():
    labels = np.zeros((30, 30), np.uint8)
    labels[8:22, 8:22] = 4
    labels[14, 22:28] = 4  # a one-pixel spike
    smooth = pp.smooth_labels(labels, 1.5)
    assert smooth[14, 24:28].sum() == 0 and (smooth[11:19, 11:19] == 4).all()


def test_border_relabel_and_largest():
    labels = np.zeros((10, 10), np.int32)
    labels[0:3, 0:3] = 5
    labels[4:6, 4:6] = 9
    labels[7:9, 6:9] = 2
    np.testing.assert_array_equal(
        pp.remove_border_objects(labels), segmentation.clear_border(labels)
    )
    assert pp.relabel_sequential(labels).max() == 3
    np.testing.assert_array_equal(np.unique(pp.relabel_sequential(labels)[labels == 9]), [3])
    assert set(np.unique(pp.keep_largest(labels))) == {0, 5}
    assert set(np.unique(pp.keep_largest(labels, 2))) == {0, 2, 5}
    with pytest.raises(ValueError, match="count must be an integer ≥ 1, got 0"):
        pp.keep_largest(labels, 0)


def test_fill_between_slices_interpolates_a_cone():
    labels = np.zeros((11, 40, 40), np.uint8)
    yy, xx = np.mgrid[:40, :40]
    labels[0][(yy - 20) ** 2 + (xx - 20) ** 2 <= 4**2] = 1
    labels[10][(yy - 20) ** 2 + (xx - 20) ** 2 <= 14**2] = 1
    filled = pp.fill_between_slices(labels)
    radii = [np.sqrt(filled[z].sum() / np.pi) for z in range(11)]
    np.testing.assert_allclose(radii, np.linspace(4, 14, 11), atol=0.6)
    np.testing.assert_array_equal(filled[[0, 10]], labels[[0, 10]])
    with pytest.raises(ValueError, match="3D"):
        pp.fill_between_slices(labels[0])


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="mask or label image"):
        pp.fill_holes(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="operation must be"):
        pp.morphology_op(np.zeros((3, 3), bool), "thin")
    with pytest.raises(ValueError, match="spacing needs 2"):
        pp.remove_small_objects(np.zeros((3, 3), bool), 2, spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        pp.relabel_sequential(np.full((2, 2), -1))


@pytest.mark.parametrize("big, dtype", [(2**27, np.int64), (2**31 - 1, np.uint32)])
def test_memory_follows_the_objects_not_the_largest_id(big, dtype):
    import tracemalloc

    sequential = np.zeros((64, 64), np.uint8)
    sequential[5:25, 5:25] = 1
    sequential[10:14, 10:14] = 0  # a hole
    sequential[30:33, 30:33] = 2  # small
    sequential[40:60, 40:60] = 3
    sequential[0:10, 50:64] = 4  # touches the border
    ids = np.array([0, 7, 1000, big - 1, big], dtype)
    huge = ids[sequential]
    cases = [
        lambda a: pp.fill_holes(a),
        lambda a: pp.remove_small_objects(a, 10),
        lambda a: pp.remove_small_holes(a, 100),
        lambda a: pp.smooth_labels(a, 2.0),
        lambda a: pp.keep_largest(a, 2),
        lambda a: pp.remove_border_objects(a),
        lambda a: pp.expand_labels(a, 2.0),
        lambda a: pp.morphology_op(a, "open", 2.0),
        lambda a: pp.relabel_sequential(a),
    ]
    for case in cases:
        tracemalloc.start()
        try:
            result = case(huge)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 50e6
        expected = case(sequential.astype(dtype))
        if case is not cases[-1]:  # relabelling gives 1…N either way
            expected = ids[expected]
        np.testing.assert_array_equal(result, expected)
        assert result.dtype == dtype


_SCIPY_BINARY = {
    "erode": ndimage.binary_erosion,
    "dilate": ndimage.binary_dilation,
    "open": ndimage.binary_opening,
    "close": ndimage.binary_closing,
}


@pytest.mark.parametrize("operation", ["erode", "dilate", "open", "close"])
def test_compiled_binary_morphology_equals_scipy_1d_to_3d(operation):
    """Random masks (sparse to dense), radii 0 to 30 (balls wider than the image, and
    distances above the relaxation's cap; 12 in 3D, where SciPy's ball of 30 takes a minute),
    anisotropic balls: SciPy's result with the outside as 0, exactly, also as 0/1 integers."""
    from napari_segkit.methods._geometry import ball

    rng = np.random.default_rng(28)
    shapes = {1: (61,), 2: (29, 47), 3: (11, 17, 23)}
    for ndim, shape in shapes.items():
        widest = 30 if ndim < 3 else 12  # above the relaxation's cap in 1D/2D; SciPy's 3D
        for radius, spacing in [
            (0, None),
            (1, None),
            (2.5, None),
            (3, None),
            (7, None),
            (widest, None),
            (3, (2.0, 1.0, 0.6)[-ndim:]),
        ]:
            footprint = ball(radius, spacing, ndim)
            for fraction in (0.2, 0.6, 0.97):
                mask = rng.random(shape) < fraction
                expected = _SCIPY_BINARY[operation](mask, structure=footprint)
                got = pp.morphology_op(mask, operation, radius, spacing=spacing)
                np.testing.assert_array_equal(got, expected)
        as_ints = pp.morphology_op(mask.astype(np.uint8), operation, 2)
        assert as_ints.dtype == np.uint8
        np.testing.assert_array_equal(
            as_ints, _SCIPY_BINARY[operation](mask, structure=ball(2, None, ndim))
        )


def test_compiled_binary_morphology_at_the_border_and_long_runs():
    """Hand-made: a full image erodes only at the border (outside 0); a run longer than
    the relaxation's cap erodes and dilates by the radius at each end; 4D goes to SciPy."""
    eroded = pp.morphology_op(np.ones((12, 15), bool), "erode", 2)
    assert eroded[2:-2, 2:-2].all() and eroded.sum() == 8 * 11
    line = np.zeros(400, bool)
    line[10:390] = True
    assert np.flatnonzero(pp.morphology_op(line, "erode", 40)).tolist() == list(range(50, 350))
    dot = np.zeros(400, bool)
    dot[100:110] = True
    assert np.flatnonzero(pp.morphology_op(dot, "dilate", 40)).tolist() == list(range(60, 150))
    four = np.random.default_rng(1).random((4, 5, 6, 7)) > 0.4
    np.testing.assert_array_equal(
        pp.morphology_op(four, "close", 1),
        ndimage.binary_closing(four, structure=ndimage.generate_binary_structure(4, 1)),
    )


@pytest.mark.parametrize("shape", [(64, 80), (20, 40, 50), (1, 30), (5, 1, 7)])
def test_remove_small_objects_of_a_mask_equals_scipy_labelling(shape):
    """Masks go through cc3d's dust: the parts smaller than the limit (any connectivity,
    a fractional limit rounded up) go, the others stay, as labelling with scipy says."""
    rng = np.random.default_rng(0)
    mask = ndimage.gaussian_filter(rng.random(shape), 1) > 0.5
    for connectivity in range(1, len(shape) + 1):
        structure = ndimage.generate_binary_structure(mask.ndim, connectivity)
        ids = ndimage.label(mask, structure)[0]
        sizes = np.bincount(ids.ravel())
        for limit in (1, 5, 12.5, 64):
            keep = sizes >= limit
            keep[0] = False
            got = pp.remove_small_objects(mask, limit, connectivity=connectivity)
            assert got.dtype == bool
            np.testing.assert_array_equal(got, keep[ids])


def test_id_counts_equal_bincount_and_refuse_negative_ids():
    from napari_segkit.methods.postprocess import id_counts

    rng = np.random.default_rng(2)
    for dtype in (np.int32, np.uint32, np.int64, np.uint16):
        ids = rng.integers(0, 70, (12, 30, 9)).astype(dtype)
        np.testing.assert_array_equal(id_counts(ids), np.bincount(ids.ravel()))
        np.testing.assert_array_equal(id_counts(ids[:, ::2]), np.bincount(ids[:, ::2].ravel()))
    with pytest.raises(ValueError, match="non-negative"):
        id_counts(np.array([3, -1], np.int32))


@pytest.mark.parametrize("parts", [1, 2, 7])
def test_binary_morphology_split_between_threads_equals_scipy(monkeypatch, parts):
    """Masks large enough to be split into blocks of rows (each with its own ring of
    distances) give SciPy's results at every split, in 2D and 3D, by erosion sweeps (small
    radius) and by scans (large radius), on the border too."""
    from napari_segkit.methods import _morphology
    from napari_segkit.methods._geometry import ball

    monkeypatch.setattr(_morphology, "pool_workers", lambda: parts)
    monkeypatch.setattr(_morphology, "THREADED", 1)
    rng = np.random.default_rng(3)
    cases = [
        ((300, 257), 3.0, None),
        ((500, 90), 27.0, None),
        ((600, 500), 2.0, None),
        ((23, 40, 37), 2.0, (2.0, 1.0, 1.0)),
        ((9, 11, 13), 1.0, None),
    ]
    for shape, radius, spacing in cases:
        footprint = ball(radius, spacing, len(shape)).astype(bool)
        for level in (0.3, 0.7):
            mask = ndimage.uniform_filter(rng.random(shape), 3) > level
            np.testing.assert_array_equal(
                _morphology.erode(mask, footprint), ndimage.binary_erosion(mask, footprint)
            )
            np.testing.assert_array_equal(
                _morphology.dilate(mask, footprint), ndimage.binary_dilation(mask, footprint)
            )
            for operation in ("open", "close"):  # the second step reuses the first's array
                np.testing.assert_array_equal(
                    pp.morphology_op(mask, operation, radius, spacing=spacing),
                    _SCIPY_BINARY[operation](mask, structure=footprint),
                )


def test_reused_mask_is_written_over_only_by_one_thread(monkeypatch):
    """With ``reuse``, one thread writes the result over its input (each line read before
    it is written); split between threads, or from another dtype, it gets an array of its
    own. Either way the result is SciPy's."""
    from napari_segkit.methods import _morphology
    from napari_segkit.methods._geometry import ball

    footprint = ball(3, None, 2).astype(bool)
    mask = ndimage.uniform_filter(np.random.default_rng(5).random((200, 150)), 3) > 0.5
    expected = ndimage.binary_dilation(mask, footprint)
    given = mask.copy()
    assert _morphology.dilate(given, footprint, reuse=True) is given
    np.testing.assert_array_equal(given, expected)
    as_ints = mask.astype(np.uint8)
    np.testing.assert_array_equal(_morphology.dilate(as_ints, footprint, reuse=True), expected)
    np.testing.assert_array_equal(as_ints, mask)  # not written over: another dtype
    monkeypatch.setattr(_morphology, "pool_workers", lambda: 2)
    monkeypatch.setattr(_morphology, "THREADED", 1)
    given = mask.copy()
    assert _morphology.erode(given, footprint, reuse=True) is not given
    np.testing.assert_array_equal(given, mask)
