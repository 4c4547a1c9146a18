import numpy as np
import pytest
from skimage import measure

from napari_segkit import label

from .conftest import gpu


@pytest.mark.parametrize("shape", [(64, 80), (12, 30, 40)])
def test_equals_scikit_image_for_every_connectivity(shape):
    mask = np.random.default_rng(3).random(shape) > 0.6
    for connectivity in range(1, len(shape) + 1):
        labels = label(mask, connectivity=connectivity)
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(labels, measure.label(mask, connectivity=connectivity))


def test_hand_counted_objects():
    mask = np.array([[1, 1, 0, 0],
                     [0, 0, 0, 1],
                     [0, 0, 1, 0]])
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
