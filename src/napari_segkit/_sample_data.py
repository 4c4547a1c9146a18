"""npe2 sample-data targets (File > Open Sample > napari-segkit)."""

from __future__ import annotations

from . import samples


def _layer(volume) -> list[tuple]:
    kwargs = volume.layer_kwargs()
    kwargs["name"] = volume.metadata["name"]
    return [(volume.data, kwargs, "image")]


def nuclei_2d() -> list[tuple]:
    return _layer(samples.nuclei_2d())


def nuclei_3d() -> list[tuple]:
    return _layer(samples.nuclei_3d())


def ihc_slide() -> list[tuple]:
    return _layer(samples.ihc_slide())
