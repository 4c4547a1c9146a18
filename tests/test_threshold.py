import sys
import tracemalloc

import numpy as np
import pytest
from skimage import color, data, exposure, filters

from napari_segkit import samples, threshold
from napari_segkit.methods.threshold import as_grey, histogram

SKIMAGE = {
    "otsu": filters.threshold_otsu,
    "isodata": filters.threshold_isodata,
    "minimum": filters.threshold_minimum,
    "yen": filters.threshold_yen,
}


def _images():
    rng = np.random.default_rng(0)
    camera = data.camera()
    return {
        "camera uint8": camera,
        "coins uint8": data.coins(),
        "nuclei 3D uint16": samples.nuclei_3d().data,
        "camera float32 + noise": (camera / 255 + rng.normal(0, 0.05, camera.shape)).astype(
            np.float32),
        "signed int16": camera.astype(np.int16) * 3 - 400,
    }


@pytest.mark.parametrize("method", sorted(SKIMAGE))
@pytest.mark.parametrize("name", sorted(_images()))
def test_equals_scikit_image(method, name):
    image = _images()[name]
    expected = SKIMAGE[method](image)
    mask, value = threshold(image, method, return_threshold=True, device="cpu")
    assert value == pytest.approx(expected, rel=1e-6)
    np.testing.assert_array_equal(mask, image > expected)


def test_mean_equals_scikit_image():
    image = samples.nuclei_2d().data
    _, value = threshold(image, "mean", return_threshold=True)
    assert value == pytest.approx(filters.threshold_mean(image), rel=1e-12)


def test_histogram_equals_scikit_image_across_chunks(monkeypatch):
    module = sys.modules["napari_segkit.methods.threshold"]  # the function shadows the name
    monkeypatch.setattr(module, "_CHUNK", 1000)  # many bincount passes
    image = samples.nuclei_3d().data
    counts, centers = histogram(image)
    ref_counts, ref_centers = exposure.histogram(image)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(centers, ref_centers)
    floats = image.astype(np.float32) / 7
    counts, centers = histogram(floats, nbins=100)
    ref_counts, ref_centers = exposure.histogram(floats, nbins=100)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_allclose(centers, ref_centers)


def test_hand_computed_bimodal_histogram():
    # two classes, 10 and 200: every method must put the threshold between them
    image = np.array([10] * 60 + [200] * 40, np.uint8).reshape(10, 10)
    for method in ("otsu", "isodata", "yen", "mean"):
        mask, t = threshold(image, method, return_threshold=True)
        assert 10 <= t < 200, method
        assert mask.sum() == 40, method
    # mean of the pixels: (60*10 + 40*200) / 100 = 86
    assert threshold(image, "mean", return_threshold=True)[1] == pytest.approx(86.0)


def test_dark_objects_are_the_complement():
    image = data.coins()
    bright, t = threshold(image, return_threshold=True)
    dark = threshold(image, dark=True)
    np.testing.assert_array_equal(dark, image <= t)
    np.testing.assert_array_equal(dark, ~bright)


def test_manual_value():
    image = data.camera()
    np.testing.assert_array_equal(threshold(image, "manual", value=50.5), image > 50.5)
    with pytest.raises(ValueError, match="needs a value"):
        threshold(image, "manual")
    with pytest.raises(ValueError, match="only used with method='manual'"):
        threshold(image, "otsu", value=3)


def test_threshold_from_a_region_applies_to_the_whole_image():
    image = data.camera()
    roi = np.zeros(image.shape, bool)
    roi[100:300, 150:400] = True
    mask, value = threshold(image, mask=roi, return_threshold=True)
    assert value == filters.threshold_otsu(image[roi])
    assert value != filters.threshold_otsu(image)
    np.testing.assert_array_equal(mask, image > value)


def test_rgb_uses_luminance_like_scikit_image():
    rgb = data.immunohistochemistry()
    grey = as_grey(rgb)
    assert grey.dtype == np.float32 and grey.shape == rgb.shape[:2]
    np.testing.assert_allclose(grey, color.rgb2gray(rgb) * 255, atol=1e-3)
    mask, value = threshold(rgb, dark=True, return_threshold=True)
    assert mask.shape == rgb.shape[:2]
    assert value == pytest.approx(filters.threshold_otsu(grey), rel=1e-6)
    with pytest.raises(ValueError, match="colour in the last axis"):
        threshold(np.zeros((5, 5)), rgb=True)


def test_3d_stack_is_thresholded_as_a_whole():
    volume = samples.nuclei_3d()
    mask = threshold(volume.data)
    assert mask.shape == volume.data.shape
    truth = volume.metadata["truth"] > 0
    dice = 2 * (mask & truth).sum() / (mask.sum() + truth.sum())
    assert dice > 0.9


@pytest.mark.parametrize(
    "image, kwargs, message",
    [
        (np.full((4, 4), 7, np.uint8), {}, "constant"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), {}, "NaN"),
        (np.zeros((0, 4)), {}, "empty"),
        (np.arange(16).reshape(4, 4), {"mask": np.zeros((4, 4), bool)}, "selects no pixels"),
        (np.arange(16).reshape(4, 4), {"mask": np.ones((2, 2), bool)}, "does not match"),
        (np.arange(16).reshape(4, 4), {"method": "huang2"}, "unknown threshold method"),
    ],
)
def test_bad_input_gets_a_clear_error(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        threshold(image, **kwargs)


def test_uint16_stack_is_not_copied_to_float():
    image = np.random.default_rng(1).integers(0, 4000, (64, 512, 512), dtype=np.uint16)
    tracemalloc.start()
    threshold(image, device="cpu")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the bool result (nbytes / 2) or one bounded chunk; a float64 copy alone is 4 × nbytes
    assert peak < image.nbytes
