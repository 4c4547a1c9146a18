"""Graph cut from scribbles: exact on tiny graphs, accurate on generated objects."""

import itertools

import numpy as np
import pytest
from scipy import ndimage

import napari_segkit as sk
from napari_segkit import metrics
from napari_segkit.methods import graphcut


def ellipse_image(shape=(200, 220), seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    truth = (yy - 100) ** 2 / 70**2 + (xx - 110) ** 2 / 50**2 < 1
    image = rng.normal(100, 20, shape) + 60 * truth
    return image.astype(np.float32), truth


def strokes(shape, object_boxes, background_boxes):
    seeds = np.zeros(shape, np.uint8)
    for box in object_boxes:
        seeds[box] = 1
    for box in background_boxes:
        seeds[box] = 2
    return seeds


def random_problem(labels, shape, connectivity, seed):
    """Unary costs and edges of a random energy over every voxel of ``shape``."""
    rng = np.random.default_rng(seed)
    values = rng.random(shape + (1,)).astype(np.float32) * 50
    costs = rng.random((labels,) + shape).astype(np.float32) * 4
    return graphcut._restricted(
        values,
        costs,
        np.ones(shape, bool),
        np.zeros(shape, np.intp),
        (1.0, 1.0),
        connectivity,
        None,
        1.0,
    )


def test_min_cut_finds_the_lowest_energy_of_all_labellings():
    unary, edges = random_problem(2, (3, 4), 2, seed=3)
    found = graphcut._min_cut(unary, edges)
    best = min(
        graphcut._energy(np.array(bits), unary, edges)
        for bits in itertools.product((0, 1), repeat=12)
    )
    assert graphcut._energy(found, unary, edges) == pytest.approx(best, rel=1e-9)


def test_alpha_expansion_is_within_twice_the_optimum_and_never_worse_than_its_start():
    unary, edges = random_problem(3, (2, 4), 1, seed=4)
    found = graphcut._alpha_expansion(unary, edges)
    energy = graphcut._energy(found, unary, edges)
    best = min(
        graphcut._energy(np.array(v), unary, edges) for v in itertools.product(range(3), repeat=8)
    )
    start = graphcut._energy(np.argmin(unary, axis=0), unary, edges)
    assert best - 1e-9 <= energy <= min(2 * best, start) + 1e-9


def test_edge_weights_fall_with_physical_distance():
    values = np.zeros((4, 5, 5, 1), np.float32)  # flat: weights are 1 / distance
    _, edges = graphcut._whole_grid(
        values, np.zeros((2, 4, 5, 5), np.float32), (4.0, 1.0, 1.0), 1, None, 1.0
    )
    found = sorted((len(w), float(w.min()), float(w.max())) for _, _, w in edges)
    assert found == [(75, 0.25, 0.25), (80, 1.0, 1.0), (80, 1.0, 1.0)]  # Z steps 4×
    ((i, j, _),) = [e for e in edges if len(e[2]) == 75]
    assert np.all(j - i == 25)  # Z neighbours: one plane apart


def test_coarse_to_fine_agrees_with_the_direct_cut(monkeypatch):
    image, truth = ellipse_image()
    seeds = strokes(image.shape, [np.s_[95:105, 105:115]], [np.s_[5:12, 5:60]])
    direct = sk.graph_cut(image, seeds)
    monkeypatch.setattr(graphcut, "_MAX_DIRECT", 2000)  # 200 × 220 now goes in 3 levels
    banded = sk.graph_cut(image, seeds)
    assert metrics.dice(banded == 1, direct == 1) >= 0.995
    assert metrics.dice(banded == 1, truth) >= 0.95


def test_progress_rises_through_the_levels_and_labels(monkeypatch):
    image, _ = ellipse_image()
    seeds = strokes(image.shape, [np.s_[95:105, 105:115]], [np.s_[5:12, 5:60]])
    seeds[180:185, 200:205] = 3  # three labels: alpha-expansion
    monkeypatch.setattr(graphcut, "_MAX_DIRECT", 2000)
    seen = []
    sk.graph_cut(image, seeds, progress=seen.append)
    assert len(seen) > 10 and seen[-1] == 1.0
    assert np.all(np.diff(seen) >= -1e-12)


def test_a_few_scribbles_recover_a_noisy_object_and_more_never_hurt():
    image, truth = ellipse_image()
    few = strokes(image.shape, [np.s_[95:105, 105:115]], [np.s_[5:12, 5:60]])
    dice_few = metrics.dice(sk.graph_cut(image, few) == 1, truth)
    more = few.copy()
    more[np.s_[60:140, 108:112]] = 1
    more[np.s_[190:196, 20:200]] = 2
    dice_more = metrics.dice(sk.graph_cut(image, more) == 1, truth)
    assert dice_few >= 0.95
    assert dice_more >= dice_few - 0.002
    assert (sk.graph_cut(image, few)[few == 1] == 1).all()  # scribbles are kept


def test_three_labels_by_alpha_expansion():
    image, truth = ellipse_image()
    yy, xx = np.mgrid[:200, :220]
    dark = (yy - 30) ** 2 + (xx - 190) ** 2 < 22**2
    image[dark] -= 70
    seeds = strokes(image.shape, [np.s_[95:105, 105:115]], [np.s_[180:195, 5:60]])
    seeds[28:33, 188:193] = 3
    labels = sk.graph_cut(image, seeds)
    assert set(np.unique(labels)) == {0, 1, 3}
    assert metrics.dice(labels == 1, truth) >= 0.95
    assert metrics.dice(labels == 3, dark) >= 0.9


def test_anisotropic_3d_from_scribbles_on_two_slices():
    rng = np.random.default_rng(5)
    spacing = (3.0, 1.0, 1.0)
    z, y, x = np.mgrid[:20, :80, :80]
    truth = ((z * 3 - 30) ** 2 + (y - 40) ** 2 + (x - 40) ** 2) < 25**2  # a ball in µm
    image = (rng.normal(100, 20, truth.shape) + 60 * truth).astype(np.float32)
    seeds = np.zeros(truth.shape, np.uint8)
    for plane in (8, 12):
        seeds[plane, 36:44, 36:44] = 1
        seeds[plane, 2:6, 2:78] = 2
    labels = sk.graph_cut(image, seeds, spacing=spacing)
    assert metrics.dice(labels == 1, truth) >= 0.95


def test_rgb_stained_object_on_a_pale_background():
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[:160, :160]
    truth = (yy - 80) ** 2 + (xx - 70) ** 2 < 45**2
    image = np.empty((160, 160, 3), np.float32)
    image[:] = (200, 190, 220)  # pale lilac (eosin-like)
    image[truth] = (120, 80, 50)  # brown (DAB-like)
    image = np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)
    seeds = strokes(truth.shape, [np.s_[75:85, 60:80]], [np.s_[3:8, 3:150]])
    labels = sk.graph_cut(image, seeds, rgb=True)
    assert metrics.dice(labels == 1, truth) >= 0.95


def test_margin_cuts_only_around_the_scribbles():
    image, truth = ellipse_image()
    around = [
        np.s_[24:26, 50:170],
        np.s_[176:178, 50:170],
        np.s_[24:178, 50:52],
        np.s_[24:178, 168:170],
    ]  # a frame of background strokes around the object
    seeds = strokes(image.shape, [np.s_[95:105, 105:115]], around)
    whole = sk.graph_cut(image, seeds)
    near = sk.graph_cut(image, seeds, margin=5)
    assert not near[:19].any() and not near[:, :45].any()  # outside the box: background
    assert metrics.dice(near == 1, whole == 1) >= 0.99


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda image, seeds: (image, np.where(seeds == 2, 0, seeds)), "at least two labels"),
        (lambda image, seeds: (image, seeds[:-1]), "the scribbles have shape"),
        (lambda image, seeds: (np.where(seeds == 1, np.nan, image), seeds), "NaN"),
        (lambda image, seeds: (image, seeds.astype(np.float32)), "label image"),
    ],
)
def test_bad_input_is_refused_clearly(change, message):
    image, _ = ellipse_image((40, 40))
    seeds = strokes(image.shape, [np.s_[18:22, 18:22]], [np.s_[0:2, :]])
    image, seeds = change(image, seeds)
    with pytest.raises(ValueError, match=message):
        sk.graph_cut(image, seeds)


def test_connectivity_beyond_the_dimensions_is_refused():
    image, _ = ellipse_image((40, 40))
    seeds = strokes(image.shape, [np.s_[18:22, 18:22]], [np.s_[0:2, :]])
    with pytest.raises(ValueError, match="connectivity must be an integer from 1 to 2"):
        sk.graph_cut(image, seeds, connectivity=3)


def test_a_small_gaussian_mixture_is_the_normal_density():
    """Under 40 training voxels the mixture is one Gaussian: its cost is -log N(x; μ, Σ)
    in the image's standardised units (plus the 0.05 ridge), shifted by log ∏ scale."""
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(8)
    values = rng.normal((100, 50, 30), (20, 10, 5), (30, 30, 3)).astype(np.float32)
    train = np.zeros((30, 30), bool)
    train[:5, :6] = True
    costs = graphcut.data_costs(values, [train, ~train], model="gmm")
    flat = values.reshape(-1, 3).astype(np.float64)
    scale = flat.std(axis=0)
    sample = flat[train.ravel()] / scale
    covariance = np.cov(sample, rowvar=False, bias=True) + 0.05 * np.eye(3)
    expected = -multivariate_normal(sample.mean(axis=0), covariance).logpdf(flat / scale)
    assert np.allclose(costs[0].ravel(), expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("model", graphcut.MODELS)
def test_two_stain_object_from_small_scribbles(model):
    """An H&E-like object of purple and pink specks on a pale background, 4-pixel strokes."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:160, :160]
    truth = (yy - 80) ** 2 + (xx - 70) ** 2 < 45**2
    image = np.empty((160, 160, 3), np.float32)
    image[:] = (235, 220, 235)
    speck = rng.random(truth.shape) < 0.5
    image[truth & speck], image[truth & ~speck] = (110, 60, 150), (200, 90, 150)
    image = np.clip(image + rng.normal(0, 35, image.shape), 0, 255).astype(np.uint8)
    seeds = strokes(truth.shape, [np.s_[79:81, 69:71]], [np.s_[3:5, 3:6]])
    labels = sk.graph_cut(image, seeds, rgb=True, model=model)
    assert metrics.dice(labels == 1, truth) >= 0.95


def test_an_unknown_model_is_refused():
    image, _ = ellipse_image((40, 40))
    seeds = strokes(image.shape, [np.s_[18:22, 18:22]], [np.s_[0:2, :]])
    with pytest.raises(ValueError, match="model must be one of"):
        sk.graph_cut(image, seeds, model="svm")


def test_the_band_energy_is_the_energy_of_every_voxel_with_the_rest_fixed():
    """_restricted against a loop over voxels and neighbours: a free pair is an edge, a free
    voxel next to a fixed one pays the edge for every label but the fixed one's."""
    rng = np.random.default_rng(9)
    shape, spacing, lam = (5, 6, 7), (2.0, 1.0, 1.0), 3.0
    values = rng.random(shape + (1,)).astype(np.float32)
    costs = rng.random((3,) + shape).astype(np.float32)
    free = rng.random(shape) < 0.4
    fixed = rng.integers(0, 3, shape).astype(np.uint8)
    unary, edges = graphcut._restricted(values, costs, free, fixed, spacing, 1, 0.5, lam)
    where = [tuple(v) for v in np.argwhere(free)]
    index = {v: k for k, v in enumerate(where)}
    expected_unary = costs[:, free].astype(np.float64)
    expected_edges = {}
    for v in where:
        for axis in range(3):
            for sign in (1, -1):
                u = list(v)
                u[axis] += sign
                u = tuple(u)
                if not all(0 <= c < n for c, n in zip(u, shape)):
                    continue
                diff = float(values[v][0]) - float(values[u][0])
                w = lam * np.exp(-2.0 * diff**2) / spacing[axis]  # β = 1 / (2 · 0.5²)
                if u in index:
                    expected_edges[tuple(sorted((index[v], index[u])))] = w
                else:
                    expected_unary[:, index[v]] += w * (np.arange(3) != fixed[u])
    found = {(int(a), int(b)): float(c) for i, j, w in edges for a, b, c in zip(i, j, w)}
    assert all(i.dtype == np.int32 and j.dtype == np.int32 for i, j, _ in edges)
    assert found.keys() == expected_edges.keys()
    assert np.allclose([found[k] for k in found], [expected_edges[k] for k in found], rtol=1e-6)
    np.testing.assert_allclose(unary, expected_unary, rtol=1e-6)


def test_histogram_costs_are_minus_log_of_the_smoothed_histogram():
    rng = np.random.default_rng(10)
    values = rng.normal(100, 30, (6, 20, 30, 1)).astype(np.float32)
    train = [values[..., 0] < 90, values[..., 0] > 120]
    costs = graphcut.data_costs(values, train, bins=16, window=(40.0, 160.0))
    bins = np.clip((values[..., 0] - 40.0) * (16 / 120.0), 0, 15).astype(np.int32)
    for k, mask in enumerate(train):
        counts = np.bincount(bins[mask], minlength=16).astype(np.float64)
        counts = ndimage.gaussian_filter(counts, 1.0, mode="constant")
        p = counts / counts.sum() + 1e-6
        np.testing.assert_array_equal(costs[k], (-np.log(p / p.sum()))[bins].astype(np.float32))


def test_labels_come_back_as_uint8_indices():
    image, _ = ellipse_image((80, 90))
    seeds = strokes(image.shape, [np.s_[38:42, 40:50]], [np.s_[0:3, :]])
    ids = np.array([1, 2])
    costs = graphcut.data_costs(image[..., None], [seeds == i for i in ids])
    graphcut.fix_scribbles(costs, seeds, ids)
    labels = graphcut.min_energy_labels(image[..., None], costs, (1.0, 1.0), 1, None, 10.0)
    assert labels.dtype == np.uint8 and set(np.unique(labels)) == {0, 1}
