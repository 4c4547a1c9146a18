"""The image type every reader returns and every writer and method understands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Volume:
    """An image array with its geometry.

    ``spacing``, ``origin`` and ``units`` have one entry per *spatial* axis, i.e. per axis
    of ``data`` except a trailing colour axis (``axes`` ending in "S"), which is what napari
    calls the layer's dimensions: they become the layer's ``scale``, ``translate`` and
    ``units``.
    """

    data: Any
    axes: str
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    units: tuple[str, ...]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.axes) != self.data.ndim:
            raise ValueError(f"axes {self.axes!r} do not match data with {self.data.ndim} axes")
        n = self.data.ndim - self.rgb
        for name in ("spacing", "origin", "units"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} needs {n} values (one per spatial axis)")

    @property
    def rgb(self) -> bool:
        """True when the last axis holds colour samples (RGB or RGBA)."""
        return self.axes.endswith("S") and self.data.shape[-1] in (3, 4)

    @classmethod
    def plain(cls, data: Any, axes: str, **metadata: Any) -> Volume:
        """A volume with unit spacing, zero origin and pixel units."""
        n = data.ndim - (axes.endswith("S") and data.shape[-1] in (3, 4))
        return cls(data, axes, (1.0,) * n, (0.0,) * n, ("pixel",) * n, metadata)

    def layer_kwargs(self) -> dict:
        """Keyword arguments for a napari layer of this volume."""
        return {
            "scale": self.spacing,
            "translate": self.origin,
            "units": self.units,
            "axis_labels": tuple(self.axes[: len(self.spacing)]),
            "rgb": self.rgb,
            "metadata": {"segkit_source": dict(self.metadata)},
        }
