import functools
import sys
import tracemalloc

import numpy as np
import pytest
from skimage import color, data, exposure, filters

from napari_segkit import samples, threshold, threshold_value
from napari_segkit.methods.channels import to_grey
from napari_segkit.methods.global_threshold import histogram

SKIMAGE = {
    "otsu": filters.threshold_otsu,
    "isodata": filters.threshold_isodata,
    "minimum": filters.threshold_minimum,
    "yen": filters.threshold_yen,
    "li": filters.threshold_li,
    "triangle": filters.threshold_triangle,
}


@functools.cache
def _images():
    rng = np.random.default_rng(0)
    camera = data.camera()
    return {
        "camera uint8": camera,
        "coins uint8": data.coins(),
        "nuclei 3D uint16": samples.nuclei_3d().data,
        "camera float32 + noise": (camera / 255 + rng.normal(0, 0.05, camera.shape)).astype(
            np.float32
        ),
        "signed int16": camera.astype(np.int16) * 3 - 400,
    }


@pytest.mark.parametrize("method", sorted(SKIMAGE))
@pytest.mark.parametrize("name", sorted(_images()))
def test_equals_scikit_image(method, name):
    image = _images()[name]
    expected = SKIMAGE[method](image)
    mask, value = (
        threshold(image, method, device="cpu"),
        threshold_value(image, method, device="cpu"),
    )
    assert value == pytest.approx(expected, rel=1e-6)
    np.testing.assert_array_equal(mask, image > expected)


def test_mean_equals_scikit_image():
    image = samples.nuclei_2d().data
    value = threshold_value(image, "mean")
    assert value == pytest.approx(filters.threshold_mean(image), rel=1e-12)


def test_histogram_equals_scikit_image_across_chunks(monkeypatch):
    module = sys.modules["napari_segkit.methods.global_threshold"]
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
        mask, t = threshold(image, method), threshold_value(image, method)
        assert 10 <= t < 200, method
        assert mask.sum() == 40, method
    # mean of the pixels: (60*10 + 40*200) / 100 = 86
    assert threshold_value(image, "mean") == pytest.approx(86.0)


def test_dark_objects_are_the_complement():
    image = data.coins()
    bright, t = threshold(image), threshold_value(image)
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
    mask, value = threshold(image, mask=roi), threshold_value(image, mask=roi)
    assert value == filters.threshold_otsu(image[roi])
    assert value != filters.threshold_otsu(image)
    np.testing.assert_array_equal(mask, image > value)


def test_rgb_uses_luminance_like_scikit_image():
    rgb = data.immunohistochemistry()
    grey = to_grey(rgb)
    assert grey.dtype == np.float32 and grey.shape == rgb.shape[:2]
    np.testing.assert_allclose(grey, color.rgb2gray(rgb) * 255, atol=1e-3)
    mask, value = (
        threshold(rgb, channel="luminance", dark=True),
        threshold_value(rgb, channel="luminance", dark=True),
    )
    assert mask.shape == rgb.shape[:2]
    assert value == pytest.approx(filters.threshold_otsu(grey), rel=1e-6)
    with pytest.raises(ValueError, match="colour in the last axis"):
        threshold(np.zeros((5, 5)), rgb=True)


def test_default_channel_is_haematoxylin_on_brightfield_and_luminance_on_fluorescence():
    slide = data.immunohistochemistry()  # light background: brightfield
    mask, value = threshold(slide), threshold_value(slide)
    nuclei = to_grey(slide, channel="hematoxylin")
    assert value == pytest.approx(filters.threshold_otsu(nuclei), rel=1e-6)
    np.testing.assert_array_equal(mask, nuclei > value)
    # dark=True on a slide asks for dark objects in luminance, as before
    dark = threshold(slide, dark=True)
    np.testing.assert_array_equal(dark, threshold(slide, channel="luminance", dark=True))
    glowing = np.zeros((40, 40, 3), np.uint8)  # fluorescence: black where nothing glows
    glowing[10:20, 10:20, 1] = 200
    glowing[25:35, 25:35] = (90, 30, 0)
    mask, value = threshold(glowing), threshold_value(glowing)
    assert value == pytest.approx(filters.threshold_otsu(to_grey(glowing)), rel=1e-6)


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
        (np.full((3, 3), np.nan), {}, "NaN"),
        (np.array([[7]], np.uint16), {}, "constant"),
        (np.zeros((0, 4)), {}, "empty"),
        (np.arange(16).reshape(4, 4), {"mask": np.zeros((4, 4), bool)}, "selects no pixels"),
        (np.arange(16).reshape(4, 4), {"mask": np.ones((2, 2), bool)}, "does not match"),
        (np.arange(16).reshape(4, 4), {"method": "huang2"}, "unknown threshold method"),
        (
            np.arange(16).reshape(4, 4),
            {"method": "percentile", "percentile": 100},
            "percentile must be a finite number > 0 and < 100",
        ),
        (np.arange(16).reshape(4, 4), {"channel": "hematoxylin"}, "needs an RGB image"),
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


def test_multiotsu_gives_class_labels_like_scikit_image():
    image = data.camera()
    labels, cuts = (
        threshold(image, "multiotsu", classes=3),
        threshold_value(image, "multiotsu", classes=3),
    )
    np.testing.assert_array_equal(cuts, filters.threshold_multiotsu(image, classes=3))
    np.testing.assert_array_equal(labels, np.digitize(image, cuts))
    assert labels.dtype == np.uint8 and labels.max() == 2
    np.testing.assert_array_equal(threshold(image, "multiotsu", dark=True), 2 - labels)


def test_nan_pixels_are_left_out_and_never_foreground():
    image = data.camera().astype(np.float32)
    holed = image.copy()
    holed[:50] = np.nan
    mask, t = threshold(holed), threshold_value(holed)
    assert t == pytest.approx(filters.threshold_otsu(image[50:]), rel=1e-6)
    assert not mask[:50].any()
    assert not threshold(holed, dark=True)[:50].any()


def test_bool_input_is_its_own_mask():
    mask = data.binary_blobs(64, rng=1)
    np.testing.assert_array_equal(threshold(mask), mask)


@pytest.mark.parametrize(
    "image",
    [
        np.array([[0, 2**64 - 2], [2**64 - 1, 2**64 - 1]], dtype=np.uint64),
        np.array([[-1e300, 1e300], [0.0, 5e299]]),
        np.array([[-30000, -29000], [-29500, -100]], dtype=np.int16),
        np.array([[2**63 - 3, 2**63 - 2], [2**63 - 1, 2**63 - 1]], dtype=np.uint64),
    ],
)
def test_extreme_values_give_a_sensible_split(image):
    mask, t = threshold(image), threshold_value(image)
    assert image.min() <= t < image.max()
    assert mask.any() and not mask.all()
    np.testing.assert_array_equal(mask, image > t)


def test_per_slice_thresholds_each_plane():
    volume = samples.nuclei_3d().data.copy()
    volume[5] //= 4  # a dimmer plane gets its own threshold
    volume[7] = 3  # and a constant plane gets none
    mask, ts = threshold(volume, per_slice=True), threshold_value(volume, per_slice=True)
    assert ts.shape == (volume.shape[0],)
    for z in (0, 5, 12):
        assert ts[z] == filters.threshold_otsu(volume[z])
        np.testing.assert_array_equal(mask[z], volume[z] > ts[z])
    assert np.isnan(ts[7]) and not mask[7].any()
    assert ts[5] < ts[4]


def test_time_series_per_slice_keeps_leading_axes():
    series = np.stack([samples.nuclei_3d(seed=s).data[:4] for s in (1, 2)])  # (T, Z, Y, X)
    mask, ts = threshold(series, per_slice=True), threshold_value(series, per_slice=True)
    assert mask.shape == series.shape and ts.shape == (2, 4)
    assert ts[1, 2] == filters.threshold_otsu(series[1, 2])


def test_stain_channel_equals_scikit_image_deconvolution():
    rgb = data.immunohistochemistry()
    hed = color.rgb2hed(rgb)
    for index, name in enumerate(("hematoxylin", "eosin", "dab")):
        np.testing.assert_allclose(to_grey(rgb, channel=name), hed[..., index], atol=2e-5)
    np.testing.assert_array_equal(to_grey(rgb, channel="green"), rgb[..., 1])
    nuclei = threshold(rgb, channel="hematoxylin")
    assert nuclei.shape == rgb.shape[:2] and 0.05 < nuclei.mean() < 0.5


@pytest.mark.parametrize("threaded", [False, True])
def test_counted_histogram_of_8_and_16_bit_images_equals_bincount(monkeypatch, threaded):
    """uint8/uint16 are counted in one compiled pass (no min/max passes); split between
    threads the counts are the same, also for sizes that do not divide evenly."""
    module = sys.modules["napari_segkit.methods.global_threshold"]
    monkeypatch.setattr(module, "_THREADED", 1000 if threaded else 1 << 40)
    monkeypatch.setattr(module, "pool_workers", lambda: 3)
    rng = np.random.default_rng(1)
    for image in (
        data.camera(),
        data.coins()[:101, :77],
        samples.nuclei_3d().data,
        rng.integers(3, 40001, 4099).astype(np.uint16),
        np.array([7, 9], np.uint8),
    ):
        counts, centers = histogram(image)
        ref_counts, ref_centers = exposure.histogram(image)
        np.testing.assert_array_equal(counts, ref_counts)
        np.testing.assert_array_equal(centers, ref_centers)
        assert counts.dtype == np.int64 and centers.dtype == np.int64
        lo, hi = int(image.min()), int(image.max())
        counts, _ = histogram(image, value_range=(lo + 1, hi))  # a given range: counts in it
        np.testing.assert_array_equal(counts, np.bincount(image.ravel())[lo + 1 : hi + 1])


@pytest.mark.parametrize("name", ["camera", "coins", "page", "moon", "text"])
def test_otsu_on_8_bit_equals_opencv(name):
    """On 8-bit images the Otsu mask equals OpenCV's THRESH_OTSU (and scikit-image's)."""
    cv2 = pytest.importorskip("cv2")
    image = getattr(data, name)()
    mask, t = threshold(image), threshold_value(image)
    level, binary = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    assert t == level == filters.threshold_otsu(image)
    np.testing.assert_array_equal(mask, binary > 0)


def test_constant_8_bit_image_is_refused_after_counting():
    with pytest.raises(ValueError, match="every pixel is 7"):
        threshold(np.full((5, 6), 7, np.uint8))
    mask = np.zeros((5, 6), bool)
    mask[0, :2] = True
    image = np.arange(30, dtype=np.uint16).reshape(5, 6)
    with pytest.raises(ValueError, match="every pixel is 0"):
        threshold(np.where(mask, 0, image).astype(np.uint16), mask=mask)


def test_the_shared_pool_runs_nested_work_inline_and_hands_back_errors():
    """A pool task that asks the pool for more work gets it done in its own thread (the
    pool never waits on itself, even with every worker busy), and errors reach the caller."""
    from napari_segkit.methods import _pool

    def inner(i):
        return i * i, _pool.workers()

    def outer(i):
        return sum(v for v, _ in _pool.map_tasks(inner, range(i))), _pool.workers()

    results = _pool.map_tasks(outer, range(8))
    assert [v for v, _ in results] == [sum(j * j for j in range(i)) for i in range(8)]
    assert all(w == 1 for _, w in results)  # inside a task: one at a time
    with pytest.raises(ZeroDivisionError):
        _pool.submit(lambda: 1 / 0).result()
    with pytest.raises(ZeroDivisionError):
        _pool.map_tasks(lambda i: 1 / 0, [0, 1])


@pytest.mark.parametrize("populate", [True, False])
def test_mask_written_into_prefaulted_pages_equals_the_plain_compare(monkeypatch, populate):
    """The 2-class mask (into pages mapped at once, from 256 KiB, or a plain new array off
    Linux) is ``grey > t`` (``<=`` for dark), for every dtype and layout."""
    from napari_segkit.methods import _pages
    from napari_segkit.methods.global_threshold import apply_threshold

    if not populate:
        monkeypatch.setattr(_pages, "_LINUX", False)
    rng = np.random.default_rng(4)
    grey8 = rng.integers(0, 256, (700, 513), np.uint8)
    greyf = rng.normal(0, 1, (600, 300)).astype(np.float32)
    greyf[3, :5] = np.nan
    for grey, t in (
        (grey8, 120),
        (grey8, 119.5),
        (greyf, 0.1),
        (grey8[:, ::2], 37),
        (grey8.T, 200),
        (grey8[:3, :5], 9),
    ):
        for dark in (False, True):
            got = apply_threshold(grey, t, dark=dark)
            expected = grey <= t if dark else grey > t
            assert got.dtype == bool and got.shape == grey.shape
            np.testing.assert_array_equal(got, expected)
            got[:] = ~got  # an array of its own, writable
    assert filters.threshold_otsu(grey8) == threshold_value(grey8)


def test_integer_images_split_at_any_threshold_as_in_float64():
    """Integer images are compared as integers (x > t where x > floor(t)): the same mask as
    the float64 compare for fractional, negative, out-of-range and extreme thresholds."""
    from napari_segkit.methods.global_threshold import apply_threshold

    rng = np.random.default_rng(5)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32):
        info = np.iinfo(dtype)
        grey = rng.integers(info.min, info.max, (90, 70), dtype, endpoint=True)
        grey[0, :2] = info.min, info.max
        cuts = [info.min - 0.5, info.min - 3, info.min, info.min + 0.5, -1.5, -0.5, 0, 0.25]
        cuts += [9.999, 17, info.max - 1, info.max - 0.5, info.max, info.max + 2, 2.0**70]
        for t in cuts:
            for dark in (False, True):
                got = apply_threshold(grey, t, dark=dark)
                wide = grey.astype(np.float64)
                expected = wide <= t if dark else wide > t
                assert got.dtype == bool and got.shape == grey.shape
                np.testing.assert_array_equal(got, expected, err_msg=f"{dtype} {t} {dark}")


def test_check_method_accepts_whole_numbers_and_refuses_others():
    from napari_segkit.methods.global_threshold import check_method

    check_method("otsu", None)
    check_method("otsu", None, classes=3.0, nbins=np.int64(256), percentile=50)
    with pytest.raises(TypeError, match="classes"):
        check_method("otsu", None, classes=True)
    with pytest.raises(ValueError, match="nbins"):
        check_method("otsu", None, nbins=1)
    with pytest.raises(ValueError, match="percentile"):
        check_method("percentile", None, percentile=100.0)


def test_8_bit_counts_at_every_alignment_and_length():
    """The 8-bit counter reads aligned 64-bit words: views starting at each byte of a word,
    of lengths around whole words (and shorter than one), count as bincount does."""
    module = sys.modules["napari_segkit.methods.global_threshold"]
    values = np.random.default_rng(3).integers(0, 256, 200, np.uint8)
    for start in range(9):
        for length in (0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 150):
            part = values[start : start + length]
            np.testing.assert_array_equal(
                module._dtype_counts(part), np.bincount(part, minlength=256)
            )
