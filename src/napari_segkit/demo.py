"""`segkit demo`: threshold the built-in samples and split their nuclei, write labels and
overviews (each nucleus outlined in its own colour)."""

from __future__ import annotations

import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from . import backend, samples
from .io import write
from .io._atomic import atomic_path
from .methods import split_touching_objects, threshold_value
from .render import overview

#: sample name -> (maker, threshold parameters suited to it; the slide's nuclei are the
#: haematoxylin stain)
DEMO_SAMPLES = {
    "nuclei_2d": (samples.nuclei_2d, {"method": "otsu"}),
    "nuclei_3d": (samples.nuclei_3d, {"method": "otsu"}),
    "ihc_slide": (samples.ihc_slide, {"method": "otsu", "channel": "hematoxylin"}),
}


def run_demo(
    out_dir: str | Path, *, names=tuple(DEMO_SAMPLES), device: str = "auto", overwrite: bool = False
) -> list[dict]:
    """Segment the samples ``names``; write ``<name>_labels.tif`` and ``<name>_overview.png``
    into ``out_dir`` (made if missing). Earlier demo results there are replaced only with
    ``overwrite``; otherwise nothing is written and ``FileExistsError`` says so.

    Returns one summary row per sample (objects found, threshold, Dice against the
    generated truth where there is one, seconds, device).
    """
    out_dir = Path(out_dir)
    there = demo_outputs(out_dir, names)
    if there and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds demo results ({there[0].name}); add "
            "--overwrite to replace them or choose another --out folder"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        make, params = DEMO_SAMPLES[name]
        volume = make()
        start = time.perf_counter()
        value = threshold_value(volume.data, rgb=volume.rgb, device=device, **params)
        labels = split_touching_objects(
            volume.data,
            spacing=volume.spacing,
            rgb=volume.rgb,
            channel=params.get("channel"),
            device=device,
        )
        seconds = time.perf_counter() - start
        write(out_dir / f"{name}_labels.tif", labels, like=volume, overwrite=overwrite)
        picture = overview(volume.data, labels, rgb=volume.rgb)
        with atomic_path(out_dir / f"{name}_overview.png", overwrite=overwrite) as tmp:
            iio.imwrite(tmp, picture)
        truth = volume.metadata.get("truth")
        rows.append(
            {
                "sample": name,
                "shape": volume.data.shape,
                "threshold": value,
                "objects": int(labels.max()),
                "true_objects": int(truth.max()) if truth is not None else None,
                "dice": _dice(labels > 0, truth > 0) if truth is not None else None,
                "seconds": seconds,
                "device": backend.last_device(),
            }
        )
    return rows


def demo_outputs(out_dir: Path, names=tuple(DEMO_SAMPLES)) -> list[Path]:
    """The demo results for ``names`` that already exist in ``out_dir``."""
    paths = [
        Path(out_dir) / f"{name}_{kind}"
        for name in names
        for kind in ("labels.tif", "overview.png")
    ]
    return [p for p in paths if p.exists()]


def fresh_folder(base: str | Path, names=tuple(DEMO_SAMPLES)) -> Path:
    """``base``, or ``base-2``, ``base-3``, … : the first holding no demo results yet."""
    base = Path(base)
    folder, n = base, 1
    while demo_outputs(folder, names):
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * np.logical_and(a, b).sum() / max(a.sum() + b.sum(), 1))


def show_in_napari(sample: str = "nuclei_2d", *, device: str = "auto"):
    """Open napari with one sample and the Threshold widget docked and run once (with the
    sample's channel: haematoxylin on the slide).

    One sample at a time: napari shows all layers in one world, and the samples differ in
    units (µm for the nuclei, pixels for the slide).
    """
    import napari

    from . import _sample_data

    ((data, kwargs, _),) = getattr(_sample_data, sample)()
    viewer = napari.Viewer(title=f"napari-segkit demo: {kwargs['name']}")
    image = viewer.add_image(data, **kwargs)
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Threshold")
    widget.device.value = device
    widget.image.value = image
    params = DEMO_SAMPLES[sample][1]
    widget.dark.value = params.get("dark", False)
    if "channel" in params:
        widget.channel.value = params["channel"]
    widget.run()
    return viewer, widget
