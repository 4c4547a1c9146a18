"""The "Regions" widget: region growing from seeds, a magic wand (click the image), split and
merge, Felzenszwalb's graph segmentation and normalised cut."""

from __future__ import annotations

from functools import partial

import numpy as np
from magicgui.widgets import CheckBox

from ..methods import regions
from ..methods.regions import felzenszwalb, magic_wand, normalized_cut, region_grow, split_and_merge
from ._family import FamilyWidget, Method
from ._layers import full_data, provenance, show_labels, spatial_ndim

_GROW = "region growing"


class RegionsWidget(FamilyWidget):
    """Region-based methods; the magic wand adds one region per click to "<image> wand"."""

    METHODS = {
        _GROW: Method(region_grow, seeds="required", of_range={"tolerance": 0.1}),
        "split and merge": Method(split_and_merge),
        "Felzenszwalb": Method(felzenszwalb),
        "normalised cut": Method(normalized_cut, preview=False),
    }
    FAMILY = regions

    def __init__(self, napari_viewer):
        self.wand = CheckBox(
            text="magic wand: click to add a region",
            tooltip="click the image to add the region around the point (in "
            "the displayed slice, with the tolerance below)",
        )
        self._wand_on: list = []  # (layer, click callback) while the wand is on
        super().__init__(napari_viewer)
        self.insert(self.index(self.new_seeds) + 1, self.wand)
        self.wand.changed.connect(self._attach_wand)
        self.image.changed.connect(self._attach_wand)
        self.method.changed.connect(self._attach_wand)
        self.on_close(partial(_detach, self._wand_on))

    def _update_visibility(self, _=None) -> None:
        super()._update_visibility()
        self.wand.visible = self.method.value == _GROW

    def _attach_wand(self, _=None) -> None:
        """The click handler sits on the chosen image layer while the wand is on."""
        _detach(self._wand_on)
        if self.wand.value and self.method.value == _GROW and self.image.value is not None:
            self._wand_on.append((self.image.value, self._on_click))
            self.image.value.mouse_drag_callbacks.append(self._on_click)

    def _on_click(self, layer, event) -> None:
        if event.type == "mouse_press" and event.button == 1:
            self.wand_click(event.position)

    def wand_click(self, world_position) -> int | None:
        """Add the region around ``world_position`` (world coordinates) in the displayed
        slice to "<image> wand" as a new id; returns the id (None outside the image)."""
        layer = self.image.value
        data = full_data(layer)
        ndim = spatial_ndim(layer)
        point = np.asarray(layer.world_to_data(world_position))[-ndim:]
        shape = data.shape[:ndim]
        index = tuple(int(round(p)) for p in point)
        if any(not 0 <= i < n for i, n in zip(index, shape)):
            return None
        fields = self.fields[_GROW]
        params = {
            "tolerance": fields["tolerance"].value,
            "connectivity": fields["connectivity"].value,
            "rgb": bool(layer.rgb),
        }
        plane = np.asarray(data[index[:-2]])
        region = magic_wand(plane, point[-2:], device="cpu", **params)
        name = f"{layer.name} wand"
        if name in self.viewer.layers:
            labels = self.viewer.layers[name].data
        else:
            labels = np.zeros(shape, np.int32)
        new_id = int(labels.max()) + 1
        labels[index[:-2]][region] = new_id
        record = provenance("napari_segkit.magic_wand", params, "cpu", source=layer.name)
        shown = show_labels(self.viewer, name, labels, layer, record)
        shown.refresh()
        self.result.value = f"wand: region {new_id}, {int(region.sum())} pixels"
        return new_id


def _detach(attached: list) -> None:
    """Take the wand's click callbacks off their layers."""
    for layer, callback in attached:
        if callback in layer.mouse_drag_callbacks:
            layer.mouse_drag_callbacks.remove(callback)
    attached.clear()
