"""npe2 reader: TIFF, NIfTI, DICOM (files and folders), OME-Zarr and PNG/JPEG/BMP pictures
as layers with their geometry."""

from __future__ import annotations

from pathlib import Path

from .io import READERS, Volume, is_zarr_path, read, suffix
from .io.dicom import folder_has_dicom, is_dicom_file

#: extensions this reader takes: every format segkit reads (napari.yaml lists the same)
EXTENSIONS = tuple(READERS)
#: OME-Zarr folders (".zarr", ".ome.zarr") open lazily, all pyramid levels
_MAX_CHANNELS = 16  # more than this along C is more likely a stack than fluorescence channels


def get_reader(path):
    """Return :func:`read_layers` if segkit reads ``path``, else None; never raises."""
    if isinstance(path, list):
        return None
    path = Path(path)
    try:
        if path.exists() and not (path.is_file() or path.is_dir()):  # FIFOs, devices and
            return None  # sockets: opening them would block
        if is_zarr_path(path):
            return read_layers if path.is_dir() else None
        if path.is_dir():
            return read_layers if folder_has_dicom(path) else None
        return read_layers if suffix(path) in EXTENSIONS or is_dicom_file(path) else None
    except Exception:  # noqa: BLE001 (napari's contract: a reader getter never raises)
        return None


def read_layers(path) -> list[tuple]:
    """One layer per volume (per series for DICOM folders, per channel if split): Labels
    for label files (:attr:`Volume.is_labels`), else Image."""
    volumes = read(path)
    layers = []
    for volume in volumes if isinstance(volumes, list) else [volumes]:
        layers.extend(layer_data(volume))
    return layers


def layer_data(volume: Volume) -> list[tuple]:
    """napari layer data for a volume: scale, translate, units, display range, channels."""
    kwargs = volume.layer_kwargs()
    kwargs["name"] = volume.name
    if volume.is_labels:
        data = [volume.data, *volume.pyramid] if volume.pyramid else volume.data
        kwargs.pop("rgb", None)
        return [(data, {**kwargs, "multiscale": bool(volume.pyramid)}, "labels")]
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
    """One layer per channel through napari's ``channel_axis`` (its colours and blending);
    the geometry lists lose the channel axis, names come from the file."""
    count = volume.data.shape[channel]
    names = volume.metadata.get("channel_names") or [f"C{i}" for i in range(count)]
    keep = [i for i in range(len(volume.spacing)) if i != channel]
    for key in ("scale", "translate", "units", "axis_labels"):
        kwargs[key] = tuple(kwargs[key][i] for i in keep)
    kwargs.update(
        channel_axis=channel,
        name=[f"{volume.name} [{n}]" for n in names],
        metadata=[kwargs["metadata"]] * count,
    )
    return [(data, kwargs, "image")]
