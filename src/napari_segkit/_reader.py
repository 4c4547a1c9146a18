"""npe2 reader: TIFF, NIfTI and DICOM (files and folders) as layers with their geometry."""

from __future__ import annotations

from itertools import cycle
from pathlib import Path

import numpy as np

from .io import Volume, read, suffix
from .io.dicom import folder_has_dicom, is_dicom_file

#: extensions this reader takes (napari's own reader handles PNG/JPEG)
EXTENSIONS = (".tif", ".tiff", ".nii", ".nii.gz", ".dcm", ".dicom", ".ima")
_CHANNEL_COLOURS = ("magenta", "green", "cyan", "yellow", "red", "blue")
_MAX_CHANNELS = 16  # more than this along C is more likely a stack than fluorescence channels


def get_reader(path):
    """Return :func:`read_layers` if segkit reads ``path``, else None; never raises."""
    if isinstance(path, list):
        return None
    path = Path(path)
    try:
        if path.is_dir():
            return read_layers if folder_has_dicom(path) else None
        return read_layers if suffix(path) in EXTENSIONS or is_dicom_file(path) else None
    except OSError:
        return None


def read_layers(path) -> list[tuple]:
    """One Image layer per volume (per series for DICOM folders, per channel if split)."""
    volumes = read(path)
    layers = []
    for volume in volumes if isinstance(volumes, list) else [volumes]:
        layers.extend(layer_data(volume))
    return layers


def layer_data(volume: Volume) -> list[tuple]:
    """napari layer data for a volume: scale, translate, units, display range, channels."""
    kwargs = volume.layer_kwargs()
    kwargs["name"] = volume.name
    window = volume.metadata.get("window")
    if window:
        kwargs["contrast_limits"] = window
    if volume.metadata.get("photometric") == "MONOCHROME1":  # bright means low values
        kwargs["colormap"] = "gray_r"
    data = [volume.data, *volume.pyramid] if volume.pyramid else volume.data
    if volume.pyramid:
        kwargs["multiscale"] = True
    channel = volume.axes.find("C")
    if channel < 0 or volume.rgb or not 1 < volume.data.shape[channel] <= _MAX_CHANNELS:
        return [(data, kwargs, "image")]
    return _split_channels(volume, data, kwargs, channel)


def _split_channels(volume: Volume, data, kwargs: dict, channel: int) -> list[tuple]:
    count = volume.data.shape[channel]
    names = volume.metadata.get("channel_names") or [f"C{i}" for i in range(count)]
    keep = [i for i in range(len(volume.spacing)) if i != channel]
    layers = []
    for i, colour in zip(range(count), cycle(_CHANNEL_COLOURS)):
        part = dict(kwargs, name=f"{volume.name} [{names[i]}]", colormap=colour,
                    blending="additive" if i else "translucent_no_depth")
        for key in ("scale", "translate", "units", "axis_labels"):
            part[key] = tuple(np.asarray(kwargs[key], dtype=object)[keep])
        levels = data if volume.pyramid else [data]
        levels = [np.take(level, i, axis=channel) for level in levels]
        layers.append((levels if volume.pyramid else levels[0], part, "image"))
    return layers
