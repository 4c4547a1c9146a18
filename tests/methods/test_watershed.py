"""Watershed, seeds and the split-touching-objects / Voronoi-Otsu recipes."""

import numpy as np
import pytest
from conftest import gpu, has_gpu
from scipy import ndimage
from skimage import segmentation

import napari_segkit as sk
from napari_segkit import metrics, samples
from napari_segkit.methods.separate import seeds_to_markers


def _touching_discs(shape=(80, 120), centres=((40, 40), (40, 75)), radius=20):
    yy, xx = np.indices(shape)
    mask = np.zeros(shape, bool)
    for cy, cx in centres:
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    return mask


def test_distance_transform_equals_scipy_with_spacing():
    mask = np.random.default_rng(1).random((20, 30, 25)) > 0.3
    for spacing in (None, (3.0, 0.5, 0.7)):
        np.testing.assert_allclose(
            sk.distance_transform(mask, spacing=spacing),
            ndimage.distance_transform_edt(mask, sampling=spacing),
            rtol=1e-5,
        )


def test_distance_transform_of_labels_separates_touching_objects():
    labels = np.zeros((1, 9), np.uint8)
    labels[0, 1:5], labels[0, 5:8] = 1, 2
    assert sk.distance_transform(labels)[0].tolist() == [0, 1, 2, 2, 1, 1, 2, 1, 0]


def test_seeded_watershed_from_points_and_labels_equals_skimage():
    mask = _touching_discs()
    distance = ndimage.distance_transform_edt(mask)
    points = np.array([[40, 40], [40, 75]])
    labels = sk.watershed(-distance, points, mask=mask)
    markers = np.zeros(mask.shape, int)
    markers[40, 40], markers[40, 75] = 1, 2
    np.testing.assert_array_equal(labels, segmentation.watershed(-distance, markers, mask=mask))
    np.testing.assert_array_equal(sk.watershed(-distance, markers, mask=mask), labels)
    with pytest.raises(ValueError, match="outside the image"):
        sk.watershed(-distance, np.array([[500, 3]]))
    with pytest.raises(ValueError, match="points"):
        sk.watershed(-distance, np.zeros((3, 3)))


def test_find_seeds_one_per_plateau_and_respects_min_distance():
    image = np.zeros((20, 40), np.float32)
    image[5:8, 5:8] = 2.0  # a flat top: one seed
    image[10, 30] = 3.0
    image[10, 34] = 1.0  # 4 px from a brighter peak
    seeds = sk.find_seeds(image, min_distance=2)
    assert seeds.max() == 3 and seeds[6, 6] > 0  # the plateau's centre
    assert sk.find_seeds(image, min_distance=5).max() == 2
    assert sk.find_seeds(image, min_distance=5, spacing=2.0).max() == 3  # 5 µm = 2.5 px
    assert sk.find_seeds(np.ones((5, 5))).max() == 0  # a flat image has no seed


def test_split_touching_discs_into_two():
    mask = _touching_discs()
    assert sk.label(mask).max() == 1
    labels = sk.split_touching_objects(mask)
    assert labels.max() == 2
    assert labels[40, 40] != labels[40, 75]
    np.testing.assert_array_equal(labels > 0, mask)
    # the cut runs along the neck, at x = 57.5
    assert set(np.unique(labels[:, :57][mask[:, :57]])) == {labels[40, 40]}


def test_split_touching_spheres_in_an_anisotropic_stack():
    spacing = (2.0, 0.5, 0.5)  # Z slices 4× thicker than the pixels
    z, y, x = np.indices((20, 80, 120)) * np.array(spacing)[:, None, None, None]
    mask = np.zeros((20, 80, 120), bool)
    for cz, cy, cx in ((20, 20, 20), (20, 20, 37)):  # µm; 10 µm radius, 17 µm apart
        mask |= (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= 10**2
    labels = sk.split_touching_objects(mask, spacing=spacing)
    assert labels.max() == 2
    left, right = labels[mask & (x < 27.5)], labels[mask & (x > 29.5)]  # the neck: 28.5 µm
    assert len(np.unique(left)) == len(np.unique(right)) == 1 and left[0] != right[0]


@pytest.mark.parametrize("make", [samples.nuclei_2d, samples.nuclei_3d])
def test_split_touching_nuclei_finds_them_all(make):
    volume = make(count=60, touching=True)
    truth = volume.metadata["truth"]
    merged = sk.label(sk.threshold(volume.data))
    assert metrics.f1(merged, truth) < 0.8  # touching nuclei merge when only thresholded
    labels = sk.split_touching_objects(volume.data, spacing=volume.spacing)
    assert metrics.f1(labels, truth) >= 0.95
    # the default denoise (needed on real, noisy stacks) grows the Otsu mask by ~1 %
    assert metrics.dice(labels > 0, truth > 0) >= 0.94


@pytest.mark.parametrize("make", [samples.nuclei_2d, samples.nuclei_3d])
def test_voronoi_otsu_labeling_on_nuclei(make):
    volume = make(count=60, touching=True)
    truth = volume.metadata["truth"]
    labels = sk.voronoi_otsu_labeling(
        volume.data, spot_sigma=1.0, outline_sigma=0.3, spacing=volume.spacing
    )
    assert labels.dtype == np.int32 and labels.max() == len(np.unique(labels)) - 1
    assert metrics.f1(labels, truth) >= 0.85
    assert metrics.dice(labels > 0, truth > 0) >= 0.95
    # larger spot sigma: fewer seeds, fewer objects
    assert (
        sk.voronoi_otsu_labeling(
            volume.data, spot_sigma=3.0, outline_sigma=0.3, spacing=volume.spacing
        ).max()
        < labels.max()
    )


def test_dark_objects_and_rgb_input():
    mask = _touching_discs()
    bright = np.where(mask, 200, 20).astype(np.uint8)
    rgb = np.repeat((255 - bright)[..., None], 3, axis=-1)  # dark discs on white
    labels = sk.split_touching_objects(rgb, rgb=True, dark=True)
    assert labels.max() == 2
    assert sk.voronoi_otsu_labeling(255 - bright, dark=True, spot_sigma=8).max() == 2


def test_recipes_refuse_the_gpu_clearly_and_empty_images_give_no_objects():
    with pytest.raises(sk.backend.GPUUnavailableError, match="CPU only"):
        sk.voronoi_otsu_labeling(np.zeros((5, 5)), device="gpu")
    if not has_gpu():
        with pytest.raises(sk.backend.GPUUnavailableError, match="device='gpu' was asked"):
            sk.split_touching_objects(np.zeros((5, 5), bool), device="gpu")
    assert sk.split_touching_objects(np.zeros((5, 5), bool)).max() == 0


@gpu
def test_split_touching_objects_on_the_gpu_matches_the_cpu():
    import cupy

    mask = _touching_discs()
    on_gpu = sk.split_touching_objects(cupy.asarray(mask), device="gpu")
    assert isinstance(on_gpu, cupy.ndarray)
    cpu = sk.split_touching_objects(mask, device="cpu")
    assert on_gpu.max() == cpu.max() == 2
    assert (on_gpu.get() == cpu).mean() >= 0.99


def test_seeded_watershed_on_edges_recovers_touching_squares_of_different_brightness():
    image = np.full((60, 80), 10.0)
    image[15:45, 10:40] = 100.0
    image[15:45, 40:70] = 200.0  # touches the first square
    image += np.random.default_rng(0).normal(0, 2, image.shape)
    seeds = np.array([[30, 25], [30, 55], [5, 5]])  # one in each square, one in background
    labels = sk.watershed(image, seeds, landscape="edges", sigma=1.0)
    truth = np.full(image.shape, 3)
    truth[15:45, 10:40], truth[15:45, 40:70] = 1, 2
    assert (labels == truth).mean() > 0.99


def test_inverted_landscape_is_the_watershed_of_the_negated_image():
    rng = np.random.default_rng(1)
    image = ndimage.gaussian_filter(rng.random((40, 40)), 3)
    points = np.array([[10, 10], [30, 30]])
    markers = seeds_to_markers(points, image.shape)
    np.testing.assert_array_equal(
        sk.watershed(image, points, landscape="inverted"),
        segmentation.watershed(-image.astype(np.float32), markers),
    )
    with pytest.raises(ValueError, match="landscape must be one of"):
        sk.watershed(image, points, landscape="gradient")


@pytest.mark.parametrize("compactness", [0.0, 0.5])
def test_flooding_part_by_part_equals_one_watershed_of_the_whole_mask(compactness):
    from napari_segkit.methods.separate import _flood_by_parts

    rng = np.random.default_rng(3)
    mask = ndimage.gaussian_filter(rng.random((30, 64, 64)), 1.5) > 0.52
    parts = sk.label(mask)
    assert parts.max() > 40  # many parts: several groups of parts
    landscape = -np.round(ndimage.distance_transform_edt(mask)).astype(np.float32)  # ties
    seeds = np.zeros(mask.shape, np.int32)
    points = np.argwhere(mask)[rng.choice(mask.sum(), 150, replace=False)]
    seeds[tuple(points.T)] = np.arange(1, 151)
    # seeds at distinct heights: scikit-image queues all seeds at age 0, so between seeds of
    # one height its heap layout (other parts' seeds included) decides
    landscape[tuple(points.T)] -= np.arange(1, 151) / 1000
    expected = segmentation.watershed(landscape, seeds, mask=mask, compactness=compactness)
    np.testing.assert_array_equal(_flood_by_parts(landscape, seeds, parts, compactness), expected)


def _flood_cases():
    """(name, landscape, markers, mask) on real and generated images: coins (Sobel edges,
    markers from dark/bright levels), the 3D nuclei sample and touching balls (inverted
    distance, markers at its peaks: many of one height, so their tie order counts)."""
    from skimage import data, filters

    coins = data.coins()
    edges = filters.sobel(coins).astype(np.float32)
    coin_markers = np.zeros(coins.shape, np.int32)
    coin_markers[coins < 30], coin_markers[coins > 150] = 1, 2
    coin_markers = sk.label(coin_markers > 0) * (coin_markers > 0)
    yield "coins", edges, coin_markers, None
    yield "coins uint8", coins, coin_markers, coins > 40
    nuclei = samples.nuclei_3d(count=30, touching=True)
    mask = sk.threshold(nuclei.data)
    distance = -ndimage.distance_transform_edt(mask, sampling=nuclei.spacing).astype(np.float32)
    peaks = sk.find_seeds(-distance, min_distance=2, sigma=0)
    yield "nuclei", distance, peaks, mask
    yield "nuclei float64", distance.astype(np.float64), peaks, mask
    yield "nuclei uint16", nuclei.data, peaks, mask
    zz, yy, xx = np.indices((40, 48, 48))
    balls = np.zeros(zz.shape, bool)
    for c in ((20, 16, 16), (20, 16, 31), (20, 31, 24), (12, 30, 36)):
        balls |= (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= 81
    distance = -np.round(ndimage.distance_transform_edt(balls)).astype(np.int16)  # ties
    yield (
        "balls",
        distance,
        sk.find_seeds(-distance.astype(np.float32), min_distance=3, sigma=0),
        balls,
    )


@pytest.mark.parametrize("connectivity", ["one", "full"])
def test_compiled_flood_equals_skimage_watershed_exactly(connectivity):
    from napari_segkit.methods._flood import flood

    for name, landscape, markers, mask in _flood_cases():
        conn = 1 if connectivity == "one" else landscape.ndim
        for where in (None, mask):
            expected = segmentation.watershed(landscape, markers, mask=where, connectivity=conn)
            got = flood(landscape, markers, where, conn)
            assert got.dtype == np.int32
            np.testing.assert_array_equal(got, expected, err_msg=name)
            assert np.array_equal(
                sk.watershed(landscape, markers, mask=where, connectivity=conn), expected
            )
        # a constant landscape: the Voronoi partition, a breadth-first flood
        np.testing.assert_array_equal(
            flood(None, markers, mask, conn),
            segmentation.watershed(
                np.zeros(markers.shape, np.uint8), markers, mask=mask, connectivity=conn
            ),
            err_msg=name,
        )


def test_compiled_flood_equals_skimage_on_random_small_images():
    """Ties everywhere (few levels), signed, unsigned, float and bool landscapes, markers of
    equal height next to each other, negative ids, 1D to 3D."""
    from napari_segkit.methods._flood import flood

    rng = np.random.default_rng(0)
    for _ in range(150):
        shape = tuple(rng.integers(1, 10, rng.integers(1, 4)))
        dtype = rng.choice(["f4", "f8", "u1", "i2", "i8", "bool"])
        landscape = rng.integers(-3, 3, shape)
        landscape = (
            landscape > 0
            if dtype == "bool"
            else (landscape + 3 if dtype == "u1" else landscape * 0.5).astype(dtype)
        )
        markers = np.zeros(shape, np.int32)
        markers.flat[rng.integers(0, markers.size, 5)] = rng.integers(-2, 4, 5)
        mask = None if rng.random() < 0.3 else rng.random(shape) > 0.3
        conn = int(rng.integers(1, len(shape) + 1))
        np.testing.assert_array_equal(
            flood(landscape, markers, mask, conn),
            segmentation.watershed(landscape, markers, mask=mask, connectivity=conn),
        )


def test_compiled_flood_leaves_nan_and_4d_to_skimage():
    from napari_segkit.methods._flood import flood

    landscape = np.array([0.0, np.nan, 1.0, 2.0])
    assert flood(landscape, np.array([1, 0, 0, 2])) is None
    assert flood(np.zeros((2, 2, 2, 2)), np.ones((2, 2, 2, 2), int)) is None
    landscape4 = np.random.default_rng(1).random((4, 5, 6, 7))
    markers4 = np.zeros(landscape4.shape, np.int32)
    markers4[0, 0, 0, 0], markers4[3, 4, 5, 6] = 1, 2
    np.testing.assert_array_equal(
        sk.watershed(landscape4, markers4), segmentation.watershed(landscape4, markers4)
    )


def test_compiled_local_maxima_equal_the_maximum_filter_comparison():
    from napari_segkit.methods._flood import local_maxima

    rng = np.random.default_rng(2)
    for shape in ((9,), (12, 15), (6, 7, 8), (1, 9, 9)):
        for dtype in (np.float32, np.float64, np.uint8, np.int16):
            image = rng.integers(0, 4, shape).astype(dtype)  # plateaus
            mask = rng.random(shape) > 0.3
            expected = image >= ndimage.maximum_filter(image, size=3, mode="nearest")
            np.testing.assert_array_equal(local_maxima(image, None), expected)
            np.testing.assert_array_equal(local_maxima(image, mask), expected & mask)
    assert local_maxima(np.zeros((2, 2, 2, 2)), None) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16])
@pytest.mark.parametrize("size", [3, 5, (1, 3, 3), (3, 7, 1), (5, 9, 9), 21])
def test_box_maxima_equal_scipys_maximum_filter(dtype, size):
    """Compiled maxima in a box (row first, then candidates against the whole box) equal
    ``image >= maximum_filter(image, size, mode="nearest")``, plateaus, borders and masks
    included; boxes too large for the candidate check fall back to scipy."""
    from napari_segkit.methods.separate import box_maxima

    rng = np.random.default_rng(3)
    image = ndimage.gaussian_filter(rng.random((12, 40, 33)), 1.5)
    image = (image * 200).astype(dtype) if np.dtype(dtype).kind in "iu" else image.astype(dtype)
    image[2:5, 10:14, 3:9] = image.max()  # a plateau at the top, touching the border
    mask = rng.random(image.shape) > 0.3
    for m in (None, mask):
        expected = image >= ndimage.maximum_filter(image, size=size, mode="nearest")
        if m is not None:
            expected &= m
        np.testing.assert_array_equal(box_maxima(image, size, m), expected)
    plane = image[5]
    np.testing.assert_array_equal(
        box_maxima(plane, 5), plane >= ndimage.maximum_filter(plane, size=5, mode="nearest")
    )
