"""`segkit demo`: threshold and label the built-in samples, write labels and overviews."""

from __future__ import annotations

import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from skimage.segmentation import find_boundaries

from . import backend, samples
from .io import write
from .methods import label, threshold

#: sample name -> (maker, threshold parameters suited to it)
DEMO_SAMPLES = {
    "nuclei_2d": (samples.nuclei_2d, {"method": "otsu"}),
    "nuclei_3d": (samples.nuclei_3d, {"method": "otsu"}),
    "ihc_slide": (samples.ihc_slide, {"method": "otsu", "dark": True}),
}

_PALETTE = np.array([[255, 225, 25], [60, 180, 75], [230, 25, 75], [0, 130, 200],
                     [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230]], np.uint8)


def run_demo(out_dir: str | Path, *, names=tuple(DEMO_SAMPLES), device: str = "auto",
             overwrite: bool = True) -> list[dict]:
    """Segment the samples ``names``; write ``<name>_labels.tif`` and ``<name>_overview.png``.

    Returns one summary row per sample (objects found, threshold, Dice against the
    generated truth where there is one, seconds, device).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        make, params = DEMO_SAMPLES[name]
        volume = make()
        start = time.perf_counter()
        mask, value = threshold(volume.data, return_threshold=True, rgb=volume.rgb,
                                device=device, **params)
        labels = label(mask, device=device)
        seconds = time.perf_counter() - start
        write(out_dir / f"{name}_labels.tif", labels, like=volume, overwrite=overwrite)
        picture = overview(volume.data, labels, rgb=volume.rgb)
        iio.imwrite(out_dir / f"{name}_overview.png", picture)
        truth = volume.metadata.get("truth")
        rows.append({
            "sample": name, "shape": volume.data.shape, "threshold": value,
            "objects": int(labels.max()),
            "true_objects": int(truth.max()) if truth is not None else None,
            "dice": _dice(labels > 0, truth > 0) if truth is not None else None,
            "seconds": seconds, "device": backend.last_device(),
        })
    return rows


def overview(image: np.ndarray, labels: np.ndarray, *, rgb: bool = False) -> np.ndarray:
    """An RGB uint8 picture of ``image`` with each object's outline in its own colour.

    3D input gives two panels side by side: the middle Z plane and the maximum projection.
    """
    if labels.ndim == 3:
        middle = labels.shape[0] // 2
        panels = [overview(image[middle], labels[middle], rgb=rgb),
                  overview(image.max(axis=0), labels.max(axis=0), rgb=rgb)]
        gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
        return np.concatenate([panels[0], gap, panels[1]], axis=1)
    picture = image[..., :3] if rgb else np.repeat(stretch(image)[..., None], 3, axis=-1)
    picture = picture.astype(np.uint8, copy=True)
    edges = find_boundaries(labels, mode="inner")
    picture[edges] = _PALETTE[labels[edges] % len(_PALETTE)]
    return picture


def stretch(image: np.ndarray) -> np.ndarray:
    """Grey to uint8, 0.5 and 99.8 percentiles to black and white."""
    lo, hi = np.percentile(image, (0.5, 99.8))
    return (np.clip((image - lo) / max(hi - lo, 1e-12), 0, 1) * 255).astype(np.uint8)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * np.logical_and(a, b).sum() / max(a.sum() + b.sum(), 1))


def show_in_napari(sample: str = "nuclei_2d", *, device: str = "auto"):
    """Open napari with one sample and the Threshold widget docked and run once.

    One sample at a time: napari shows all layers in one world, and the samples differ in
    units (µm for the nuclei, pixels for the slide).
    """
    import napari

    from . import _sample_data

    (data, kwargs, _), = getattr(_sample_data, sample)()
    viewer = napari.Viewer(title=f"napari-segkit demo: {kwargs['name']}")
    image = viewer.add_image(data, **kwargs)
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Threshold")
    widget.device.value = device
    widget.image.value = image
    widget.dark.value = DEMO_SAMPLES[sample][1].get("dark", False)
    widget.run()
    return viewer, widget
