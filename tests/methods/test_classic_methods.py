"""Edges, clustering, regions and active contours on generated images with known answers."""

import numpy as np
import pytest
from scipy import ndimage
from skimage import filters, graph, segmentation

from napari_segkit import metrics, samples
from napari_segkit.methods import cluster, contours, edges, regions


def _discs(shape=(90, 120), noise=0.0, seed=0):
    """Three separate bright discs (labels 1–3) of different brightness on a dark ground."""
    yy, xx = np.indices(shape)
    truth = np.zeros(shape, np.int32)
    image = np.full(shape, 20.0, np.float32)
    for i, (cy, cx, r, level) in enumerate(
        ((30, 30, 15, 200), (60, 75, 18, 150), (25, 95, 10, 250)), start=1
    ):
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
        truth[inside], image[inside] = i, level
    image += np.random.default_rng(seed).normal(0, noise, shape).astype(np.float32)
    return image, truth


# --- edges ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, reference",
    [("sobel", filters.sobel), ("prewitt", filters.prewitt), ("scharr", filters.scharr)],
)
def test_gradient_maps_equal_scikit_image_in_2d_and_3d(method, reference):
    image = np.random.default_rng(0).random((12, 20, 24)).astype(np.float32)
    np.testing.assert_allclose(
        edges.edge_map(image, method), reference(image), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        edges.edge_map(image[0], method), reference(image[0]), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("method", ["sobel", "scharr", "canny", "log"])
def test_edge_regions_find_the_three_discs(method):
    image, truth = _discs(noise=3.0)
    labels = edges.edge_regions(image, method, sigma=4.0 if method == "log" else 1.0, min_size=20)
    assert labels.max() == 3
    assert metrics.f1(labels, truth) == 1.0
    assert metrics.dice(labels > 0, truth > 0) > (0.75 if method == "log" else 0.9)


def test_edges_in_3d_and_canny_needs_slices():
    z, y, x = np.indices((30, 40, 60))
    balls = np.zeros(z.shape, np.int32)
    balls[(z - 15) ** 2 + (y - 20) ** 2 + (x - 18) ** 2 <= 10**2] = 1
    balls[(z - 15) ** 2 + (y - 20) ** 2 + (x - 44) ** 2 <= 12**2] = 2
    labels = edges.edge_regions(np.where(balls > 0, 200.0, 20.0), "sobel", sigma=1.0)
    assert labels.max() == 2 and metrics.f1(labels, balls) == 1.0
    image, truth = _discs()
    stack = np.stack([image] * 6)
    with pytest.raises(ValueError, match="per_slice=True"):
        edges.edge_map(stack, "canny")
    per_slice = edges.edge_regions(stack, "canny", sigma=1.0, per_slice=True)
    assert per_slice.max() == 18  # 3 discs × 6 slices, each slice on its own
    with pytest.raises(ValueError, match="sigma > 0"):
        edges.edge_map(image, "log")


# --- clustering -----------------------------------------------------------------------------


@pytest.mark.parametrize("function", [cluster.kmeans, cluster.fuzzy_cmeans])
def test_intensity_clusters_order_by_brightness(function):
    image, truth = _discs(noise=5.0)
    classes = function(image, 4)
    expected = np.choose(truth, [1, 3, 2, 4])  # ground 20, discs 200, 150, 250
    assert (classes == expected).mean() > 0.99
    instances = function(image, 4, mode="instance")
    assert instances.max() == 3  # three discs; the ground (darkest class) is background
    np.testing.assert_array_equal(instances > 0, classes > 1)
    assert function(image, 4, mode="instance", dark=True).max() == 3  # ground + two discs
    objects = cluster.objects_of_classes(classes, image)  # the objects of one clustering
    np.testing.assert_array_equal(objects, instances)


def test_fuzzy_memberships_sum_to_one_and_pick_the_label():
    image, _ = _discs(noise=5.0)
    labels, u = cluster.fuzzy_cmeans(image, 3), cluster.fuzzy_memberships(image, 3)
    assert u.shape == (3, *image.shape)
    np.testing.assert_allclose(u.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(np.argmax(u, axis=0) + 1, labels)


def test_kmeans_on_colour_separates_stains():
    slide = samples.ihc_slide().data
    classes = cluster.kmeans(slide, 3, rgb=True)
    means = [slide[classes == c].mean() for c in (1, 2, 3)]
    assert means == sorted(means)  # 1 = darkest
    assert cluster.kmeans(slide, 3, rgb=True, seed=0).tolist() == classes.tolist()


@pytest.mark.parametrize("function", [cluster.kmeans, cluster.fuzzy_cmeans])
def test_cluster_instances_on_a_real_image_leave_background(function):
    from skimage import data, filters, measure

    image = data.coins()  # bright coins on a darker ground (bundled with scikit-image)
    reference = measure.label(image > filters.threshold_otsu(image))
    reference_count = int((np.bincount(reference.ravel())[1:] >= 50).sum())  # 24 coins
    instances = function(image, 2, mode="instance")
    assert 0.4 < (instances == 0).mean() < 0.8
    sizes = np.bincount(instances.ravel())[1:]
    assert 0.8 * reference_count <= (sizes >= 50).sum() <= 1.2 * reference_count


def test_clustering_a_line_profile():
    profile = np.r_[np.full(10, 5.0), np.full(5, 100.0), np.full(10, 5.0), np.full(3, 100.0)]
    np.testing.assert_array_equal(cluster.kmeans(profile, 2), np.where(profile > 50, 2, 1))
    objects = cluster.kmeans(profile, 2, mode="instance")
    np.testing.assert_array_equal(objects, np.r_[[0] * 10, [1] * 5, [0] * 10, [2] * 3])


def test_mean_shift_finds_the_number_of_levels_itself():
    image, truth = _discs(noise=3.0)
    classes = cluster.mean_shift(image, bandwidth=15.0)
    assert classes.max() == 4
    assert metrics.f1(cluster.mean_shift(image, bandwidth=15.0, mode="instance"), truth) == 1.0


def test_slic_equals_scikit_image_and_takes_spacing():
    image, _ = _discs()
    norm = (image - image.min()) * (100 / np.ptp(image))
    np.testing.assert_array_equal(
        cluster.slic(image, n_segments=50),
        segmentation.slic(norm, n_segments=50, compactness=10.0, channel_axis=None, start_label=1),
    )
    stack = np.stack([image] * 8)
    assert cluster.slic(stack, n_segments=50, spacing=(4.0, 1.0, 1.0)).ndim == 3


def test_bad_cluster_input():
    with pytest.raises(ValueError, match="k must be an integer ≥ 2 and ≤ 255"):
        cluster.kmeans(np.zeros((5, 5)), 1)
    with pytest.raises(ValueError, match="fewer than k=3 distinct"):
        cluster.kmeans(np.zeros((5, 5)), 3)
    with pytest.raises(ValueError, match="mode must be"):
        cluster.kmeans(_discs()[0], 2, mode="both")
    with pytest.raises(ValueError, match="no finite"):
        cluster.kmeans(np.full((4, 4), np.nan), 2)


# --- regions --------------------------------------------------------------------------------


def test_region_grow_and_magic_wand():
    image, truth = _discs(noise=2.0)
    wand = regions.magic_wand(image, (30, 30), tolerance=20)
    np.testing.assert_array_equal(wand, truth == 1)
    seeds = np.array([[30, 30], [60, 75], [5, 5]])
    grown = regions.region_grow(image, seeds, tolerance=20)
    np.testing.assert_array_equal(grown, np.choose(truth, [3, 1, 2, 0]))
    painted = np.zeros(image.shape, np.uint8)
    painted[55:65, 70:80] = 7  # a stroke: its mean intensity is the reference
    assert set(np.unique(regions.region_grow(image, painted, tolerance=20))) == {0, 7}
    with pytest.raises(ValueError, match="no seeds"):
        regions.region_grow(image, np.zeros(image.shape, np.uint8), tolerance=5)


def test_region_grow_points_on_one_voxel_take_the_last_id():
    """Points are numbered 1, 2, … in order; two on one voxel leave the later id, as a
    marker image painted point by point would (no voxel-sized image is made for points)."""
    image = np.zeros((5, 6), np.uint8)
    image[:, 3:] = 50
    grown = regions.region_grow(image, np.array([[2, 1.2], [4, 5], [2, 0.8]]), tolerance=0)
    assert (grown[:, :3] == 3).all() and (grown[:, 3:] == 2).all()


def test_region_grow_gives_contested_voxels_to_one_seed():
    image = np.zeros((10, 20), np.float32)
    grown = regions.region_grow(image, np.array([[5, 2], [5, 17]]), tolerance=1)
    assert set(np.unique(grown)) == {1, 2}
    assert (grown[:, :9] == 1).all() and (grown[:, 11:] == 2).all()


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_magic_wand_equals_scikit_image_flood(connectivity):
    rng = np.random.default_rng(connectivity)
    image = (ndimage.gaussian_filter(rng.random((24, 30, 36)), 2) * 2000).astype(np.uint16)
    point = (12, 15, 18)
    np.testing.assert_array_equal(
        regions.magic_wand(image, point, tolerance=40, connectivity=connectivity),
        segmentation.flood(image, point, tolerance=40, connectivity=connectivity),
    )


def test_magic_wand_in_3d_and_colour():
    image, truth = _discs()
    stack = np.stack([image] * 5)
    assert regions.magic_wand(stack, (2, 60, 75), tolerance=10).sum() == 5 * (truth == 2).sum()
    rgb = np.stack([image, image / 2, image / 4], axis=-1)
    np.testing.assert_array_equal(
        regions.magic_wand(rgb, (25, 95), tolerance=5, rgb=True), truth == 3
    )


def test_split_and_merge_recovers_flat_regions():
    image, truth = _discs()
    labels = regions.split_and_merge(image, tolerance=5)
    assert labels.max() == 4
    assert metrics.f1(labels, np.where(truth > 0, truth, 4)) == 1.0
    stack = np.stack([image] * 4)
    assert regions.split_and_merge(stack, tolerance=5).max() == 4


def test_felzenszwalb_and_normalized_cut():
    image, truth = _discs(noise=2.0)
    labels = regions.felzenszwalb(image, scale=200, min_size=50)
    grey = (image - image.min()) * (255 / np.ptp(image))
    np.testing.assert_array_equal(
        labels, segmentation.felzenszwalb(grey, scale=200, sigma=0.8, min_size=50) + 1
    )
    # the bit depth does not matter: the same image in uint16 gives the same regions
    deep = ((image - image.min()) * (60000 / np.ptp(image))).astype(np.uint16)
    assert metrics.f1(regions.felzenszwalb(deep, scale=200, min_size=50), labels) > 0.9
    assert regions.felzenszwalb(np.stack([image] * 3), scale=200).ndim == 3
    cut = regions.normalized_cut(image, n_segments=100)
    # the same pipeline written with scikit-image: SLIC, mean-colour similarity RAG, Ncut
    superpixels = cluster.slic(image, n_segments=100)
    grey = (image - image.min()) * (255 / np.ptp(image))
    rag = graph.rag_mean_color(
        np.repeat(grey[..., None] / np.sqrt(3), 3, axis=-1), superpixels, mode="similarity"
    )
    expected = graph.cut_normalized(superpixels, rag, thresh=0.001, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(cut, segmentation.relabel_sequential(expected + 1)[0])
    assert 1 < cut.max() < superpixels.max()
    assert regions.normalized_cut(image, n_segments=100, threshold=0.3).max() > cut.max()


# --- active contours ------------------------------------------------------------------------


def test_chan_vese_segments_bright_discs_in_2d_and_3d():
    image, truth = _discs(noise=10.0)
    mask = contours.chan_vese(image, iterations=60)
    assert metrics.dice(mask, truth > 0) > 0.97
    assert metrics.dice(contours.chan_vese(image, iterations=60, dark=True), truth == 0) > 0.97
    stack = np.stack([image] * 5)
    assert metrics.dice(contours.chan_vese(stack, iterations=60), np.stack([truth] * 5) > 0) > 0.9


def test_geodesic_active_contour_grows_from_a_point_to_the_edge():
    image, truth = _discs(noise=2.0)
    mask = contours.geodesic_active_contour(
        image, seeds=np.array([[60, 75]]), iterations=150, sigma=1.0
    )
    assert metrics.dice(mask, truth == 2) > 0.95
    with pytest.raises(ValueError, match="empty"):
        contours.geodesic_active_contour(image, seeds=np.zeros(image.shape, np.uint8))


# --- k-means against scikit-learn, and its histogram path -----------------------------------


def _within_class(image, classes):
    """Sum over classes of squared distances to the class mean (float64)."""
    rows = np.asarray(image, np.float64).reshape(classes.size, -1)
    ids = classes.ravel()
    return sum(((rows[ids == c] - rows[ids == c].mean(axis=0)) ** 2).sum() for c in np.unique(ids))


def _real_images():
    from skimage import data

    return [
        ("camera", data.camera(), False, 3),
        ("camera", data.camera(), False, 4),
        ("coins", data.coins(), False, 3),
        ("astronaut", data.astronaut()[::4, ::4], True, 3),
        ("astronaut", data.astronaut()[::4, ::4], True, 5),
    ]


@pytest.mark.parametrize("name, image, rgb, k", _real_images())
def test_kmeans_cost_no_worse_than_scikit_learn(name, image, rgb, k):
    from sklearn.cluster import KMeans

    rows = image.reshape(-1, 3 if rgb else 1).astype(np.float64)
    classes = cluster.kmeans(image, k, rgb=rgb, sample=len(rows))  # all pixels: same data
    reference = KMeans(k, n_init=10, random_state=0).fit(rows).inertia_
    assert _within_class(image, classes) <= reference * (1 + 1e-6), name


@pytest.mark.parametrize("name, image, rgb, k", _real_images()[1::2])
def test_kmeans_repeats_itself(name, image, rgb, k):
    first = cluster.kmeans(image, k, rgb=rgb, seed=3)
    np.testing.assert_array_equal(cluster.kmeans(image, k, rgb=rgb, seed=3), first)


def test_kmeans_grey_reaches_the_global_optimum():
    """k = 3 on coins' histogram: the best of every pair of thresholds (brute force)."""
    from skimage import data

    image = data.coins()
    counts = np.bincount(image.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256.0)
    n, s, q = (np.concatenate([[0.0], np.cumsum(counts * levels**p)]) for p in (0, 1, 2))

    def within(lo, hi):  # levels lo…hi-1
        count = n[hi] - n[lo]
        return q[hi] - q[lo] - (s[hi] - s[lo]) ** 2 / np.maximum(count, 1)

    a, b = np.meshgrid(np.arange(1, 256), np.arange(1, 256), indexing="ij")
    best = np.where(b > a, within(0, a) + within(a, b) + within(b, 256), np.inf).min()
    classes = cluster.kmeans(image, 3, sample=image.size)
    assert _within_class(image, classes) == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize("iterations", [1, 3, 100])
def test_kmeans_histogram_lloyd_is_lloyd_on_the_pixels(iterations):
    from skimage import data

    from napari_segkit.methods import _kmeans

    pixels = data.camera()[::2, ::2].reshape(-1)
    values, counts = _kmeans.histogram(pixels)
    np.testing.assert_array_equal(counts, np.bincount(pixels)[values.astype(int)])
    for uniforms in np.random.default_rng(0).random((5, 7)):
        start = np.sort(_kmeans.plusplus(values[:, None], counts, 3, uniforms, 3), axis=0)
        on_histogram = _kmeans.lloyd_1d(values, counts, start[:, 0], iterations, 0.0)
        on_pixels = _kmeans.lloyd(
            pixels[:, None].astype(np.float64), np.ones(pixels.size), start, iterations, 0.0
        )
        np.testing.assert_allclose(on_histogram, on_pixels[:, 0], rtol=1e-12)


def _markers(seeds, shape):
    from napari_segkit.methods.separate import seeds_to_markers

    return seeds_to_markers(seeds, shape)


def _grown_reference(image, markers, tolerance, connectivity, rgb=False):
    """region_grow by NumPy and SciPy: per id the connected parts of (float32 colour
    distance to the seed mean ≤ tolerance, or seed) that hold the seed; voxels claimed by
    several ids go to the one they are connected to first (scikit-image's watershed)."""
    values = np.asarray(image, np.float32)
    values = values if rgb else values[..., None]
    structure = ndimage.generate_binary_structure(markers.ndim, connectivity)
    claims = np.zeros(markers.shape, np.uint8)
    owner = np.zeros(markers.shape, np.int32)
    for i in np.unique(markers[markers > 0]):
        seed = markers == i
        distance = np.sqrt(((values - values[seed].mean(axis=0)) ** 2).sum(axis=-1))
        parts = ndimage.label((distance <= tolerance) | seed, structure)[0]
        region = np.isin(parts, np.unique(parts[seed]))
        claims += region
        owner[region] = i
    owner[claims > 1] = 0
    owner[markers > 0] = markers[markers > 0]
    return segmentation.watershed(
        np.zeros(markers.shape, np.uint8), owner, mask=claims > 0, connectivity=connectivity
    )


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_compiled_magic_wand_equals_flood_and_reference(ndim):
    """The compiled flood (1-3D, every connectivity, integer dtypes through a table, floats
    and colour computed): scikit-image's flood for integer images, and the NumPy/SciPy
    reference for floats, colour, painted seeds and several seeds."""
    rng = np.random.default_rng(ndim)
    shape = {1: (300,), 2: (45, 61), 3: (11, 19, 23)}[ndim]
    smooth = ndimage.gaussian_filter(rng.random(shape), 1.5)
    smooth = (smooth - smooth.min()) / np.ptp(smooth)
    images = [
        (smooth * 250).astype(np.uint8),
        (smooth * 3000 - 1500).astype(np.int16),
        (smooth * 1e5).astype(np.int32),
        (smooth * 100).astype(np.float32),
        smooth * 100 + rng.normal(0, 2, shape),
    ]
    for connectivity in range(1, ndim + 1):
        for image in images:
            points = np.stack([rng.integers(0, n, 3) for n in shape], axis=1)
            span = float(np.ptp(image))
            for tolerance in (0, int(span / 10), int(span / 4)):
                wand = regions.magic_wand(
                    image, points[0], tolerance=tolerance, connectivity=connectivity
                )
                if image.dtype.kind in "iu":
                    np.testing.assert_array_equal(
                        wand,
                        segmentation.flood(
                            image, tuple(points[0]), tolerance=tolerance, connectivity=connectivity
                        ),
                    )
                markers = np.zeros(shape, np.int32)
                markers[tuple(points.T)] = [1, 2, 3]
                np.testing.assert_array_equal(
                    wand,
                    _grown_reference(image, np.where(markers == 1, 1, 0), tolerance, connectivity)
                    > 0,
                )
                painted = markers.copy()
                painted[tuple(slice(max(p - 2, 0), p + 2) for p in points[1])] = 5
                for seeds in (points, painted):
                    got = regions.region_grow(
                        image, seeds, tolerance=tolerance, connectivity=connectivity
                    )
                    expected = _grown_reference(
                        image, _markers(seeds, shape), tolerance, connectivity
                    )
                    np.testing.assert_array_equal(got, expected)
    colour = ndimage.uniform_filter(rng.random(shape + (3,)) * 255, (3,) * ndim + (1,))
    for image in (colour.astype(np.uint8), colour.astype(np.float32)):
        points = np.stack([rng.integers(0, n, 2) for n in shape], axis=1)
        got = regions.region_grow(image, points, tolerance=30, rgb=True)
        np.testing.assert_array_equal(
            got, _grown_reference(image, _markers(points, shape), 30, 1, rgb=True)
        )


@pytest.mark.parametrize("connectivity", [1, 2])
def test_magic_wand_on_a_porous_noisy_region_equals_flood(connectivity):
    """Noise makes the region a lace of short runs (tens of thousands): the run-by-run flood
    with its jumps over the parent run takes exactly scikit-image's flood."""
    rng = np.random.default_rng(7)
    smooth = ndimage.gaussian_filter(rng.random((300, 400)), 4)
    image = 128 + 30 * (smooth - smooth.mean()) / smooth.std() + rng.normal(0, 8, smooth.shape)
    image = image.clip(0, 255).astype(np.uint8)
    point = (150, 200)
    wand = regions.magic_wand(image, point, tolerance=20, connectivity=connectivity)
    expected = segmentation.flood(image, point, tolerance=20, connectivity=connectivity)
    assert 0.1 < expected.mean() < 0.9  # a large region with holes, not all or nothing
    np.testing.assert_array_equal(wand, expected)


def test_compiled_magic_wand_edge_cases():
    """A seed on a NaN reaches nothing else; a NaN wall is not crossed; the whole image
    when everything is within; 4D (SciPy's labelling) equals the reference; a float64
    tolerance compares in float64 as NumPy does."""
    image = np.full((8, 9), 5.0, np.float32)
    image[:, 4] = np.nan
    assert regions.magic_wand(image, (3, 4), tolerance=100).sum() == 1
    assert regions.magic_wand(image, (3, 1), tolerance=100).sum() == 8 * 4
    assert regions.magic_wand(np.zeros((5, 6), np.uint8), (0, 0), tolerance=0).all()
    four = (np.random.default_rng(4).random((4, 5, 6, 7)) * 10).astype(np.uint8)
    markers = np.zeros(four.shape, np.int32)
    markers[1, 2, 3, 4] = 1
    np.testing.assert_array_equal(
        regions.region_grow(four, markers, tolerance=4), _grown_reference(four, markers, 4, 1)
    )
    close = np.array([[0.0, 0.1, 0.2]], np.float32)
    loose = regions.magic_wand(close, (0, 0), tolerance=0.1)  # float32(0.1) ≥ 0.1f
    assert loose.tolist() == [[True, True, False]]
    strict = regions.magic_wand(close, (0, 0), tolerance=np.float64(0.1))  # 0.1f > 0.1
    assert strict.tolist() == [[True, False, False]]


def test_compiled_magic_wand_on_a_large_porous_region():
    """A percolating noise image: a ragged region of many short runs (the flood's stack
    outgrows its first size), equal to scikit-image's flood."""
    image = np.random.default_rng(9).integers(0, 256, (1200, 1300)).astype(np.uint8)
    point = (600, int(np.flatnonzero(image[600] == 128)[0]))
    wand = regions.magic_wand(image, point, tolerance=80)  # 161 of 256 values within
    assert wand.sum() > 500_000
    np.testing.assert_array_equal(
        wand, segmentation.flood(image, point, tolerance=80, connectivity=1)
    )


@pytest.mark.parametrize("method", ["sobel", "prewitt", "scharr"])
def test_compiled_gradients_equal_scikit_image_in_the_image_dtype(method):
    """uint8, uint16 and float32 read as they are, 2D and 3D, thin axes (reflected borders
    of one voxel): scikit-image's magnitude of a float32 copy, within float32 rounding."""
    rng = np.random.default_rng(5)
    reference = getattr(filters, method)
    shapes = [(67, 45), (1, 9), (9, 1), (2, 3), (9, 14, 11), (1, 6, 7), (5, 1, 2)]
    for shape in shapes:
        for dtype, top in ((np.uint8, 256), (np.uint16, 65536), (np.float32, 1)):
            image = (rng.random(shape) * top).astype(dtype)
            expected = reference(image.astype(np.float32))
            result = edges.edge_map(image, method)
            assert result.dtype == np.float32 and result.shape == shape
            np.testing.assert_allclose(
                result, expected, rtol=1e-5, atol=1e-5 * max(float(expected.max()), 1e-30)
            )
    step = np.zeros((40, 50), np.uint8)  # by hand: a vertical step of 100, smoothing
    step[:, 25:] = 100  # weights summing to 1, so |gx| = 100 beside it, magnitude 100/√2
    magnitude = edges.edge_map(step, method)
    np.testing.assert_allclose(magnitude[:, 24:26], 100 / np.sqrt(2), rtol=1e-6)
    assert not magnitude[:, :24].any() and not magnitude[:, 26:].any()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16])
def test_grey_range_of_the_wand_equals_the_float32_distance_test(dtype):
    """The wand's grey values within the tolerance (a compiled search around the
    reference) are exactly those NumPy's float32 distance test keeps, for integer and
    painted (mean) references and Python, float64 and float32 tolerances."""
    from napari_segkit.methods._wand import grey_range

    info = np.iinfo(dtype)
    every = np.arange(info.min, info.max + 1)
    rng = np.random.default_rng(2)
    tolerances = [0, 0.1, 0.5, 0.49999, 1, 2.5, 20, 300.7, 1e9, np.float64(0.1)]
    tolerances += [np.float64(20.3), np.float32(3.3)]
    for trial in range(120):
        reference = np.float32(
            rng.integers(info.min, info.max + 1)
            if trial % 3 == 0
            else rng.uniform(info.min, info.max)
        )
        tolerance = tolerances[trial % len(tolerances)]
        kept = every[
            regions._within(regions._values(every, False), np.array([reference]), tolerance)
        ]
        expected = (int(kept[0]), int(kept[-1])) if kept.size else (1, 0)
        assert kept.size == 0 or kept.size == expected[1] - expected[0] + 1  # one range
        threshold = float(np.result_type(np.float32, tolerance).type(tolerance))
        assert (
            tuple(map(int, grey_range(int(info.min), int(info.max), reference, threshold)))
            == expected
        )
