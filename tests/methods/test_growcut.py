"""Grow from seeds: the fixed point of the GrowCut automaton, accurate on generated objects."""

import numpy as np
import pytest

import napari_segkit as sk
from napari_segkit import metrics
from napari_segkit.methods import growcut
from napari_segkit.methods.graphcut import offsets

from .test_graphcut import ellipse_image, strokes

FRAME = [
    np.s_[24:26, 50:170],
    np.s_[176:178, 50:170],
    np.s_[24:178, 50:52],
    np.s_[24:178, 168:170],
]  # background strokes around the ellipse


def automaton(values, seeds, connectivity):
    """GrowCut run the original way: neighbours attack until nothing changes."""
    shape = seeds.shape
    labels, strength = seeds.copy(), (seeds > 0).astype(np.float64)
    changed = True
    while changed:
        changed = False
        for offset in offsets(len(shape), connectivity):
            for sign in (1, -1):
                step = tuple(sign * o for o in offset)
                here = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(step, shape))
                there = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(step, shape))
                drop = np.abs(values[here] - values[there])[..., 0]
                g = (1 - drop) * np.exp(-growcut.STEP_COST * np.linalg.norm(step))
                attack = strength[here] * g
                wins = attack > strength[there] * (1 + 1e-12)
                if wins.any():
                    strength[there][wins] = attack[wins]
                    labels[there][wins] = labels[here][wins]
                    changed = True
    return labels


@pytest.mark.parametrize("connectivity", [1, 2])
def test_the_result_is_where_the_growcut_automaton_ends(connectivity):
    rng = np.random.default_rng(connectivity)
    image = rng.random((30, 34)).astype(np.float32)
    seeds = np.zeros(image.shape, np.uint8)
    for k in (1, 2, 3):
        seeds[tuple(rng.integers(0, 30, 2))] = k
    values = growcut._normalised(image[..., None], None, False)
    expected = automaton(values, seeds, connectivity)
    grown = sk.grow_from_seeds(image, seeds, sigma=0, connectivity=connectivity, background=None)
    assert (grown == expected).mean() >= 0.999  # ties may go either way


def test_seeds_around_a_noisy_object_recover_it():
    image, truth = ellipse_image()
    seeds = strokes(image.shape, [np.s_[95:105, 105:115]], FRAME)
    grown = sk.grow_from_seeds(image, seeds)
    assert metrics.dice(grown == 1, truth) >= 0.95
    assert (grown[seeds == 1] == 1).all() and (grown[seeds == 2] == 0).all()


def test_without_smoothing_noise_stops_the_growth():
    image, truth = ellipse_image()
    seeds = strokes(image.shape, [np.s_[95:105, 105:115]], FRAME)
    rough = metrics.dice(sk.grow_from_seeds(image, seeds, sigma=0) == 1, truth)
    smooth = metrics.dice(sk.grow_from_seeds(image, seeds) == 1, truth)
    assert rough < smooth - 0.1


def test_anisotropic_3d_from_seeds_on_two_slices():
    rng = np.random.default_rng(5)
    z, y, x = np.mgrid[:20, :80, :80]
    truth = ((z * 3 - 30) ** 2 + (y - 40) ** 2 + (x - 40) ** 2) < 25**2  # a ball in µm
    image = (rng.normal(100, 20, truth.shape) + 60 * truth).astype(np.float32)
    seeds = np.zeros(truth.shape, np.uint8)
    for plane in (8, 12):
        seeds[plane, 36:44, 36:44] = 1
        seeds[plane, 2:6, 2:78] = seeds[plane, 74:78, 2:78] = 2
    grown = sk.grow_from_seeds(image, seeds, spacing=(3.0, 1.0, 1.0))
    assert metrics.dice(grown == 1, truth) >= 0.95


def test_three_labels_and_colour():
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[:120, :160]
    left = (yy - 60) ** 2 + (xx - 45) ** 2 < 30**2
    right = (yy - 60) ** 2 + (xx - 115) ** 2 < 30**2
    image = np.empty((120, 160, 3), np.float32)
    image[:] = (230, 220, 235)
    image[left], image[right] = (120, 70, 160), (200, 90, 140)
    image = np.clip(image + rng.normal(0, 15, image.shape), 0, 255).astype(np.uint8)
    seeds = np.zeros((120, 160), np.uint8)
    seeds[58:62, 40:50], seeds[58:62, 110:120] = 1, 3
    seeds[2:4, :], seeds[116:118, :], seeds[:, 2:4], seeds[:, 156:158] = 2, 2, 2, 2
    seeds[10:110, 79:81] = 2
    grown = sk.grow_from_seeds(image, seeds, rgb=True)
    assert metrics.dice(grown == 1, left) >= 0.95
    assert metrics.dice(grown == 3, right) >= 0.95


def test_bad_seeds_are_refused_clearly():
    image, _ = ellipse_image((40, 40))
    with pytest.raises(ValueError, match="at least two labels"):
        sk.grow_from_seeds(image, strokes(image.shape, [np.s_[18:22, 18:22]], []))
    with pytest.raises(ValueError, match="the scribbles have shape"):
        sk.grow_from_seeds(image, np.zeros((40, 41), np.uint8))


def scipy_reference(values, seeds, spacing, connectivity):
    """The former CPU path: the step-cost graph in scipy.sparse and its Dijkstra; the labels
    and, per seed label, every voxel's path length from it."""
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    shape = seeds.shape
    index = np.arange(seeds.size).reshape(shape)
    rows, cols, costs = [], [], []
    for offset in offsets(len(shape), connectivity):
        here = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape))
        there = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, shape))
        distance = np.linalg.norm(np.asarray(offset) * np.asarray(spacing)) / min(spacing)
        drop = np.sqrt(((values[here] - values[there]) ** 2).sum(axis=-1))
        cost = -np.log1p(-np.minimum(drop, growcut._MAX_DROP)) + growcut.STEP_COST * distance
        rows.append(index[here].ravel())
        cols.append(index[there].ravel())
        costs.append(cost.ravel())
    graph = sparse.csr_matrix(
        (np.concatenate(costs), (np.concatenate(rows), np.concatenate(cols))),
        shape=(seeds.size, seeds.size),
    )
    _, _, sources = dijkstra(
        graph,
        directed=False,
        indices=np.flatnonzero(seeds),
        min_only=True,
        return_predecessors=True,
    )
    per_label = np.stack(
        [
            dijkstra(graph, directed=False, min_only=True, indices=np.flatnonzero(seeds == k))
            for k in range(1, seeds.max() + 1)
        ]
    )
    return seeds.ravel()[sources].reshape(shape), per_label.reshape(-1, *shape)


@pytest.mark.parametrize("shape, channels", [((23, 31), 1), ((7, 12, 13), 1), ((9, 11, 8), 3)])
@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_dijkstra_on_the_grid_equals_the_scipy_graph(shape, channels, connectivity):
    if connectivity > len(shape):
        pytest.skip("connectivity above ndim")
    rng = np.random.default_rng(connectivity + 10 * len(shape) + channels)
    image = rng.random((*shape, channels)).astype(np.float32)
    image[..., : shape[-1] // 2, :] += 0.5  # an edge
    seeds = np.zeros(shape, np.uint8)
    for k in (1, 2, 3, 1):
        seeds[tuple(rng.integers(0, n) for n in shape)] = k
    spacing = (2.5,) + (1.0,) * (len(shape) - 2) + (0.7,)
    values = growcut._normalised(image, None, channels > 1)
    expected, lengths = scipy_reference(values, seeds, spacing, connectivity)
    grown = growcut._dijkstra(values, seeds, spacing, connectivity)
    best = np.sort(lengths, axis=0)
    tied = best[1] - best[0] <= 1e-6 * best[0]  # two seeds' paths equally strong
    assert tied.mean() < 0.01
    np.testing.assert_array_equal(grown[~tied], expected[~tied])
    # where seeds tie, the label is one of theirs
    chosen = np.take_along_axis(lengths, grown[None].astype(int) - 1, axis=0)[0]
    assert (chosen <= best[0] * (1 + 1e-6)).all()


def test_3d_seed_blocks_in_a_smoothed_image_equal_the_scipy_graph():
    """Blocks of seeds and strokes in a smoothed 3D image (the queue then holds a front, not
    most of the image): the labels of scipy's Dijkstra, ties aside."""
    from scipy import ndimage

    rng = np.random.default_rng(11)
    shape = (14, 18, 20)
    image = ndimage.gaussian_filter(rng.random(shape), 1.5).astype(np.float32)
    seeds = np.zeros(shape, np.uint8)
    seeds[3:6, 4:7, 4:8], seeds[9:12, 10:14, 12:16] = 1, 3
    seeds[7, 1:3, :], seeds[:, 16, 2:18] = 2, 2
    values = growcut._normalised(image[..., None], None, False)
    expected, lengths = scipy_reference(values, seeds, (1.0, 1.0, 1.0), 1)
    grown = sk.grow_from_seeds(image, seeds, sigma=0, background=None)
    best = np.sort(lengths, axis=0)
    tied = best[1] - best[0] <= 1e-9 * best[0]
    assert tied.mean() < 0.01
    np.testing.assert_array_equal(grown[~tied], expected[~tied])


def test_normalising_in_place_gives_the_same_values():
    rng = np.random.default_rng(12)
    image = rng.normal(100, 20, (6, 30, 40)).astype(np.float32)[..., None]
    copied = growcut._normalised(image, None, False)
    own = image.copy()
    assert growcut._normalised(own, None, False, in_place=True) is own
    np.testing.assert_array_equal(own, copied)
    lo, hi = np.percentile(image.astype(np.float64), (0.5, 99.5))
    np.testing.assert_allclose(copied, np.clip((image - lo) / (hi - lo), 0, 1), atol=1e-6)
