"""The "Threshold" widget: one global threshold of an Image layer into a Labels layer."""

from __future__ import annotations

import logging

import napari
import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, PushButton
from napari.qt.threading import thread_worker

from .. import backend
from ..methods import label, threshold
from ..methods.threshold import METHODS
from ._layers import provenance, show_labels

log = logging.getLogger(__name__)


class ThresholdWidget(Container):
    """Pick an image and a method; see the threshold; get a Labels layer with its scale."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.image = ComboBox(label="image", choices=self._image_layers, nullable=True)
        self.method = ComboBox(label="method", choices=METHODS, value="otsu")
        self.value = FloatSpinBox(label="value", min=-1e12, max=1e12, step=1.0, visible=False)
        self.dark = CheckBox(text="dark objects (e.g. nuclei in brightfield)", value=False)
        self.instances = CheckBox(text="label each object (instances)", value=True)
        self.device = ComboBox(label="device", choices=backend.DEVICES, value="auto")
        self.run_button = PushButton(text="Run")
        self.result = Label(label="threshold", value="—")
        self.extend([self.image, self.method, self.value, self.dark, self.instances,
                     self.device, self.run_button, self.result])
        self.method.changed.connect(self._on_method)
        self.run_button.changed.connect(self.run)
        self.worker = None
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(self.reset_choices)
        self.reset_choices()

    def _image_layers(self, _widget=None) -> list:
        return [layer for layer in self.viewer.layers if isinstance(layer, napari.layers.Image)]

    def _on_method(self, method: str) -> None:
        self.value.visible = method == "manual"

    def parameters(self) -> dict:
        """The keyword arguments this widget passes to :func:`napari_segkit.threshold`."""
        params = {"method": self.method.value, "dark": self.dark.value,
                  "rgb": bool(self.image.value.rgb), "device": self.device.value}
        if self.method.value == "manual":
            params["value"] = self.value.value
        return params

    def run(self, _=None):
        """Start the threshold in a worker; returns the worker (its ``returned`` shows the layer)."""
        layer = self.image.value
        if layer is None:
            self.result.value = "choose an image layer first"
            return None
        params, instances = self.parameters(), self.instances.value
        data = layer.data[0] if layer.multiscale else layer.data
        self.run_button.enabled = False
        self.result.value = "running…"
        self.worker = _compute(data, params, instances)
        self.worker.returned.connect(lambda out: self._show(layer, params, instances, *out))
        self.worker.errored.connect(self._failed)
        self.worker.finished.connect(lambda: setattr(self.run_button, "enabled", True))
        self.worker.start()
        return self.worker

    def _show(self, layer, params, instances, labels, value, device) -> None:
        self.result.value = f"{value:.6g}"
        record = provenance("napari_segkit.threshold", params, device, threshold=value,
                            instances=instances, source=layer.name)
        show_labels(self.viewer, f"{layer.name} threshold", labels, layer, record)

    def _failed(self, err: Exception) -> None:
        self.result.value = f"failed: {err}"
        if not isinstance(err, (ValueError, backend.GPUUnavailableError)):  # a bug, not input
            log.error("threshold failed", exc_info=err)


@thread_worker(ignore_errors=True)  # errors go to ThresholdWidget._failed
def _compute(data, params: dict, instances: bool):
    """Threshold (and label) off the UI thread; returns labels, threshold and device used."""
    mask, value = threshold(np.asarray(data), return_threshold=True, **params)
    device = backend.last_device()
    labels = label(mask, device=device) if instances else mask.astype(np.uint8)
    return labels, value, device
