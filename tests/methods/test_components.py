import numpy as np
import pytest
from conftest import gpu
from skimage import measure

from napari_segkit import label


@pytest.mark.parametrize("shape", [(64, 80), (12, 30, 40)])
def test_equals_scikit_image_for_every_connectivity(shape):
    mask = np.random.default_rng(3).random(shape) > 0.6
    for connectivity in range(1, len(shape) + 1):
        labels = label(mask, connectivity=connectivity)
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(labels, measure.label(mask, connectivity=connectivity))


def test_hand_counted_objects():
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
    assert label(mask, connectivity=1).max() == 3  # the diagonal pair is two objects
    assert label(mask).max() == 2  # with corners they join
    np.testing.assert_array_equal(label(mask), [[1, 1, 0, 0], [0, 0, 0, 2], [0, 0, 2, 0]])


def test_bad_connectivity():
    with pytest.raises(ValueError, match="connectivity must be an integer from 1 to 2"):
        label(np.ones((3, 3)), connectivity=3)


@gpu
def test_gpu_equals_cpu_up_to_renumbering():
    mask = np.random.default_rng(4).random((40, 50, 60)) > 0.7
    cpu = label(mask, device="cpu")
    on_gpu = label(mask, device="gpu")
    pairs = set(zip(cpu.ravel().tolist(), on_gpu.ravel().tolist()))
    assert len(pairs) == cpu.max() + 1 == on_gpu.max() + 1


@pytest.mark.parametrize("shape", [(120, 90), (20, 30, 40)])
def test_labels_are_int32_without_a_copy_and_equal_scipy(shape):
    """int32 labels equal to SciPy's; cc3d's uint32 output (these sizes) is returned as an
    int32 view (no second label image)."""
    from scipy import ndimage

    mask = np.random.default_rng(5).random(shape) > 0.65
    for connectivity, order in zip(range(1, len(shape) + 1), "CFC"):
        labels = label(np.asarray(mask, order=order), connectivity=connectivity)
        assert labels.dtype == np.int32 and labels.base is not None  # a view of cc3d's array
        structure = ndimage.generate_binary_structure(len(shape), connectivity)
        expected, count = ndimage.label(mask, structure=structure)
        assert labels.max() == count
        np.testing.assert_array_equal(labels, expected)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_2d_labels_by_runs_equal_scikit_image_across_thread_seams(monkeypatch, connectivity):
    """The run-based 2D labelling numbers objects as scikit-image does, also when bands of
    rows are labelled on threads and joined at their seams (objects crossing several),
    and on empty, full, one-row and one-column masks."""
    from skimage import measure

    from napari_segkit.methods import _label2d

    monkeypatch.setattr(_label2d, "THREADED", 0)
    monkeypatch.setattr(_label2d, "pool_workers", lambda: 7)  # 7 bands, several seams
    rng = np.random.default_rng(connectivity)
    masks = [rng.random((61, 83)) > p for p in (0.3, 0.5, 0.7, 0.9)]
    masks.append(np.zeros((9, 4), bool))
    masks.append(np.ones((9, 4), bool))
    masks.append(rng.random((1, 50)) > 0.5)
    masks.append(rng.random((50, 1)) > 0.5)
    snake = np.zeros((21, 30), bool)  # one object winding down through every band
    snake[::2] = True
    snake[1::4, -1] = snake[3::4, 0] = True
    masks.append(snake)
    for mask in masks:
        got = _label2d.label_2d(np.asfortranarray(mask), connectivity)
        np.testing.assert_array_equal(got, measure.label(mask, connectivity=connectivity))
    assert _label2d.label_2d(snake, connectivity).max() == 1
    assert _label2d.label_2d(np.ones((4, 0), bool), connectivity).shape == (4, 0)


def test_large_2d_masks_are_labelled_by_runs_as_scikit_image_numbers_them():
    """From 1 M pixels label() takes the run-based labelling (threads); same numbers."""
    from skimage import measure

    from napari_segkit.methods import components

    mask = np.random.default_rng(8).random((1024, 1100)) > 0.45
    assert mask.size >= components._RUNS_FROM
    for connectivity in (1, 2):
        got = label(mask, connectivity=connectivity)
        assert got.dtype == np.int32 and got.base is None  # written, not cc3d's view
        np.testing.assert_array_equal(got, measure.label(mask, connectivity=connectivity))


def test_more_objects_than_int32_holds_come_back_as_int64(monkeypatch):
    from napari_segkit.methods import components

    ids = np.array([[[1, 2**31 + 5]]], dtype=np.uint32)
    monkeypatch.setattr(
        components.cc3d, "connected_components", lambda *args, **kwargs: (ids, 2**31 + 5)
    )
    labels = label(np.ones((1, 1, 2), bool))
    assert labels.dtype == np.int64 and labels.tolist() == [[[1, 2**31 + 5]]]
