"""The automatic object scale and what the recipes do with it (generated images here; real
images in test_real_data.py)."""

import numpy as np
import pytest

import napari_segkit as sk
from napari_segkit.methods.scale import NoObjects, estimate_object_size


def discs(radius, *, shape=(256, 256), spacing=(1.0, 1.0), count=25, noise=0.05, seed=0):
    """Bright discs (balls) of ``radius`` (physical units) on a grid, plus Gaussian noise and
    a smooth illumination ramp."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    image = np.zeros(shape, np.float32)
    extent = [n * s for n, s in zip(shape, spacing)]
    per_axis = int(round(count ** (1 / len(shape))))
    for centre in np.stack(
        np.meshgrid(
            *[np.linspace(e / per_axis / 2, e - e / per_axis / 2, per_axis) for e in extent],
            indexing="ij",
        ),
        -1,
    ).reshape(-1, len(shape)):
        centre = centre + rng.uniform(-radius / 4, radius / 4, len(shape))
        image[sum((g - c) ** 2 for g, c in zip(grids, centre)) <= radius**2] = 1.0
    image += 0.3 * grids[-1] / extent[-1]  # uneven illumination
    return image + rng.normal(0, noise, shape).astype(np.float32)


@pytest.mark.parametrize("radius", [4, 8, 14])
def test_disc_diameter_is_found(radius):
    estimate = estimate_object_size(discs(radius, count=16))
    assert estimate == pytest.approx(2 * radius, rel=0.25)


def test_ball_diameter_in_physical_units():
    image = discs(3.0, shape=(24, 96, 96), spacing=(0.5, 0.25, 0.25), count=8)
    assert estimate_object_size(image, spacing=(0.5, 0.25, 0.25)) == pytest.approx(6.0, rel=0.25)


def test_ball_diameter_when_planes_are_far_apart():
    """z four times coarser than x, y (the generated nuclei_3d): the smallest σ is under a
    z voxel, where a Gaussian-derivative kernel answers the intensity, not its curvature."""
    image = discs(3.0, shape=(24, 128, 128), spacing=(1.0, 0.25, 0.25), count=8)
    assert estimate_object_size(image, spacing=(1.0, 0.25, 0.25)) == pytest.approx(6.0, rel=0.25)


def test_a_stack_of_a_few_slices_is_sized_like_its_planes():
    """Three planes of the same discs: binning for large σ keeps at least one plane (it
    divided by zero before)."""
    planes = np.stack([discs(8, count=16, seed=seed) for seed in range(3)])
    assert estimate_object_size(planes) == pytest.approx(16, rel=0.3)


def test_specks_do_not_set_the_size():
    image = discs(10, count=16)
    rng = np.random.default_rng(1)
    image[tuple(rng.integers(0, 256, (2, 400)))] = 1.5  # 400 bright one-pixel specks
    assert estimate_object_size(image) == pytest.approx(20, rel=0.25)


def test_noise_and_constant_images_have_no_objects():
    with pytest.raises(NoObjects, match="noise"):
        estimate_object_size(np.random.default_rng(0).normal(size=(128, 128)))
    with pytest.raises(NoObjects, match="constant"):
        estimate_object_size(np.full((64, 64), 7, np.uint8))


@pytest.mark.parametrize("recipe", [sk.split_touching_objects, sk.voronoi_otsu_labeling])
@pytest.mark.parametrize("kind", ["constant", "noise", "all foreground"])
def test_bad_input_gives_empty_labels_and_a_warning(recipe, kind):
    image = {
        "constant": np.zeros((96, 96), np.uint16),
        "noise": np.random.default_rng(0).normal(100, 10, (96, 96)).astype(np.float32),
        "all foreground": np.full((96, 96), 200, np.uint8),
    }[kind]
    with pytest.warns(UserWarning, match="no objects|constant"):
        labels = recipe(image)
    assert labels.shape == image.shape and labels.max() == 0


def test_find_seeds_on_pure_noise_is_empty_with_a_warning():
    with pytest.warns(UserWarning, match="noise"):
        seeds = sk.find_seeds(np.random.default_rng(0).normal(size=(64, 64)))
    assert seeds.max() == 0


@pytest.mark.parametrize("recipe", [sk.split_touching_objects, sk.voronoi_otsu_labeling])
def test_no_object_below_a_tenth_of_the_typical_size(recipe):
    image = discs(8, count=16, noise=0.25)  # noisy: Otsu alone leaves specks
    size = estimate_object_size(image)
    labels = recipe(image)
    areas = np.bincount(labels.ravel())[1:]
    assert 12 <= labels.max() <= 20
    assert areas.min() >= 0.1 * np.pi / 4 * size**2


def test_explicit_sizes_override_the_estimate():
    image = discs(8, count=16)
    kept = sk.split_touching_objects(image, min_size=0, object_size=16.0)
    dropped = sk.split_touching_objects(image, min_size=1000.0, object_size=16.0)
    assert kept.max() >= 16 and dropped.max() == 0


def test_noise_of_a_large_image_from_evenly_spaced_lines(monkeypatch):
    """Above 2 M pixels the noise comes from every k-th line: within 0.5 % of all lines, and
    of the noise that was added (σ = 5 on a smooth ramp with discs)."""
    from napari_segkit.methods import scale

    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:2048, :2048]
    image = 0.05 * xx + 60.0 * (((yy % 64) - 32) ** 2 + ((xx % 64) - 32) ** 2 < 12**2)
    image = (image + rng.normal(0, 5, image.shape)).astype(np.float32)
    sampled = scale.noise_level(image)
    monkeypatch.setattr(scale, "_NOISE_SAMPLE", image.size)
    every_line = scale.noise_level(image)
    assert sampled == pytest.approx(every_line, rel=0.005)
    assert sampled == pytest.approx(5.0, rel=0.03)
