"""Sample images, made here or shipped with scikit-image (never downloaded).

- :func:`nuclei_2d`: fluorescent nuclei, 2D, uint16, 0.325 µm pixels.
- :func:`nuclei_3d`: fluorescent nuclei in a 3D stack with 4× coarser Z (1.0 × 0.25 × 0.25 µm).
- :func:`ihc_slide`: an RGB brightfield slide (haematoxylin + DAB) from scikit-image.

The generated images come with their true object masks (``metadata["truth"]``) so the
demo and the tests can measure how well a method does.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .io import Volume


def nuclei_2d(shape=(256, 256), *, count=40, seed=0, touching=False) -> Volume:
    """Blurred elliptic nuclei of varied brightness on a dim background, with shot noise;
    ``touching`` packs them so that many touch or overlap a little (as in tissue)."""
    spacing = (0.325, 0.325)
    truth = _ellipsoids(shape, spacing, count, radius_um=(2.0, 4.0), seed=seed, touching=touching)
    data = _microscope(truth, spacing, blur_um=0.4, seed=seed)
    return Volume(
        data,
        "YX",
        spacing,
        (0.0, 0.0),
        ("µm", "µm"),
        {"name": "nuclei 2D (generated)", "truth": truth},
    )


def nuclei_3d(shape=(24, 160, 160), *, count=30, seed=1, touching=False) -> Volume:
    """Nuclei (ellipsoids of 2.5–4 µm radii) in an anisotropic stack: Z steps 4× the pixel
    size; ``touching`` as for :func:`nuclei_2d`."""
    spacing = (1.0, 0.25, 0.25)
    truth = _ellipsoids(shape, spacing, count, radius_um=(2.5, 4.0), seed=seed, touching=touching)
    data = _microscope(truth, spacing, blur_um=0.5, seed=seed)
    return Volume(
        data,
        "ZYX",
        spacing,
        (0.0, 0.0, 0.0),
        ("µm",) * 3,
        {"name": "nuclei 3D (generated, anisotropic)", "truth": truth},
    )


def ihc_slide() -> Volume:
    """scikit-image's immunohistochemistry image: 512×512 RGB, haematoxylin + DAB stain."""
    from skimage import data

    return Volume.plain(
        data.immunohistochemistry(),
        "YXS",
        name="IHC slide (scikit-image)",
        source="skimage.data.immunohistochemistry",
    )


def _ellipsoids(shape, spacing, count, *, radius_um, seed, touching=False) -> np.ndarray:
    """Instance labels of ``count`` ellipsoids with radii in µm: apart by two voxels or more,
    or (``touching``) each overlapping the others by at most a tenth of its own volume
    (the overlap stays with the older object, so the new one touches it)."""
    rng = np.random.default_rng(seed)
    spacing = np.asarray(spacing)
    grid = np.indices(shape, dtype=np.float32)
    labels = np.zeros(shape, np.uint16)
    extent = np.asarray(shape) * spacing
    placed = 0
    for _ in range(count * 50):
        if placed == count:
            break
        radii = rng.uniform(*radius_um, size=len(shape))
        centre = rng.uniform(0, extent)
        # random rotation in the last two axes makes ellipses point in all directions
        angle = rng.uniform(0, np.pi)
        d = [(grid[i] * spacing[i] - centre[i]) for i in range(len(shape))]
        y, x = d[-2], d[-1]
        d[-2], d[-1] = np.cos(angle) * y - np.sin(angle) * x, np.sin(angle) * y + np.cos(angle) * x
        inside = sum((di / r) ** 2 for di, r in zip(d, radii)) <= 1
        if touching:
            fits = inside.any() and (labels[inside] > 0).mean() <= 0.1
        else:
            fits = inside.any() and not labels[ndimage.binary_dilation(inside, iterations=2)].any()
        if fits:
            placed += 1
            labels[inside & (labels == 0)] = placed
    return labels


def _microscope(truth, spacing, *, blur_um, seed) -> np.ndarray:
    """Brightness per object, optical blur (σ in µm), background and Poisson noise → uint16."""
    rng = np.random.default_rng(seed + 100)
    brightness = np.concatenate([[0.0], rng.uniform(0.5, 1.0, truth.max())])
    signal = brightness[truth].astype(np.float32)
    signal = ndimage.gaussian_filter(signal, [blur_um / s for s in spacing])
    photons = 60 + 900 * signal
    return rng.poisson(photons).astype(np.uint16)
