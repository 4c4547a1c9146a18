"""The "Segment" widget: watershed recipes that split touching objects, and a watershed
from seeds the user clicks (Points) or paints (Labels).

The typical object size the recipes derive their sizes from is estimated in a worker when
the image (or its channel, units, dark/bright) changes and shown under the method; unticking
"auto" for the object size starts the field at that estimate.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import Label

from ..methods import separate
from ..methods.channels import CHOICES
from ..methods.global_threshold import HISTOGRAM_METHODS
from ..methods.scale import estimate_object_size
from ..methods.separate import LANDSCAPES, split_touching_objects, voronoi_otsu_labeling, watershed
from ._family import Auto, FamilyWidget, Method
from ._layers import full_data, spatial_ndim, unit_symbol


class SegmentWidget(FamilyWidget):
    """Split touching objects, Voronoi-Otsu labelling, seeded watershed."""

    METHODS = {
        "split touching objects": Method(
            split_touching_objects,
            choices={"method": tuple(sorted(HISTOGRAM_METHODS)), "channel": CHOICES},
            labels={"method": "threshold"},
        ),
        "Voronoi-Otsu": Method(voronoi_otsu_labeling, choices={"channel": CHOICES}),
        "watershed from seeds": Method(
            watershed,
            seeds="required",
            choices={"landscape": LANDSCAPES},
            start={"landscape": "edges", "sigma": 1.0},
        ),
    }
    FAMILY = separate

    def __init__(self, napari_viewer):
        self.size = Label(
            label="estimate",
            value="—",
            tooltip="the typical object diameter the recipes start from",
        )
        self.estimate: float | None = None  # the latest estimate (layer units with spacing)
        self._estimating = None  # what the running estimate is of (see _estimate_key)
        super().__init__(napari_viewer)
        self.insert(self.index(self.method) + 1, self.size)
        watched = [self.image, self.method, self.physical]
        for fields in self.fields.values():
            watched += [fields[p] for p in ("channel", "dark") if p in fields]
            if isinstance(fields.get("object_size"), Auto):
                auto = fields["object_size"]
                auto.auto.changed.connect(lambda on, field=auto: self._prefill(field, on))
        for widget in watched:
            widget.changed.connect(self._estimate_size)
        self._estimate_size()

    def _estimate_key(self) -> tuple | None:
        """(layer, keyword arguments of estimate_object_size, unit) for the chosen image."""
        layer = self.image.value
        if layer is None:
            return None
        fields = self.fields[self.method.value]
        spacing, unit = None, "px"
        if self._offers_physical() and self.physical.value:
            ndim = spatial_ndim(layer)
            spacing = tuple(float(s) for s in layer.scale[-ndim:])
            unit = unit_symbol(layer.units[-1])
        kwargs = {
            "spacing": spacing,
            "rgb": self._is_rgb(),
            "dark": bool(fields["dark"].value) if "dark" in fields else False,
        }
        if self._is_rgb():
            kwargs["channel"] = fields["channel"].value if "channel" in fields else "auto"
        return layer, kwargs, unit

    def _estimate_size(self, _=None) -> None:
        """Estimate the object size in a worker; shown when it is still the one wanted."""
        key = self._estimate_key()
        if key is None or self._closed:
            self.size.value, self.estimate = "—", None
            return
        if key == self._estimating:
            return
        self._estimating = key
        layer, kwargs, unit = key
        data = full_data(layer)
        self.size.value = "estimating…"

        def job(state):
            try:
                return estimate_object_size(np.asarray(data), **kwargs), None
            except ValueError as err:  # NoObjects, or an image it cannot size
                return None, str(err)

        self.in_background(job, lambda out: self._show_size(key, unit, *out))

    def _show_size(self, key, unit: str, size: float | None, problem: str | None) -> None:
        if key != self._estimating:  # the image or its settings changed meanwhile
            return
        self.estimate = size
        self.size.value = problem if size is None else f"objects ≈ {size:.3g} {unit}"

    def _prefill(self, field: Auto, auto: bool) -> None:
        """Start a field just taken off "auto" at the estimate."""
        if not auto and self.estimate is not None:
            field.number.value = self.estimate
