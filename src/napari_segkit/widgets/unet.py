"""The "Train U-Net" and "Apply U-Net" widgets over :mod:`napari_segkit.unet`.

Train: pairs of image and labels layers (painted scribbles, full classes or objects), the
network and how long to train; a live plot of the loss and validation Dice; Cancel keeps the
best model so far; Save writes the model folder.
Apply: a model folder and an image layer; the Labels layer "<image> U-Net" (and, on
request, the probabilities as Image layers) with the image's scale, progress and Cancel.
"""

from __future__ import annotations

import logging
from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import (CheckBox, ComboBox, Container, FileEdit, FloatSpinBox, Label,
                              ProgressBar, PushButton, SpinBox)
from napari.qt.threading import thread_worker
from qtpy.QtCore import QTimer

from .. import backend, unet
from ..progress import Cancelled
from ._family import _RunState
from ._layers import connect_while_open, full_data, provenance, show_labels, spatial_ndim
from ._plot import CurvePlot

log = logging.getLogger(__name__)
_INPUT_ERRORS = (ValueError, OSError, backend.GPUUnavailableError)


class _Run(_RunState):
    """Shared with a worker: fraction done, whether Cancel was pressed, epochs reported."""

    def __init__(self):
        super().__init__()
        self.epochs = []


class _RunningWidget(Container):
    """Run/Cancel buttons, a progress bar refreshed from the worker's shared state."""

    def _init_running(self, run_text: str) -> list:
        self.run_button = PushButton(text=run_text)
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(value=0, min=0, max=100, visible=False)
        self.result = Label(label="result", value="—")
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self.worker = None
        self._state = _Run()
        self._timer = QTimer()
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._refresh)
        self.native.destroyed.connect(lambda _=None: setattr(self._state, "cancelled", True))
        return [self.run_button, self.cancel_button, self.progress, self.result]

    def _start(self, function, state: _Run, done) -> None:
        self._state = state
        self.run_button.enabled, self.cancel_button.enabled = False, True
        self.progress.value, self.progress.visible = 0, True
        self.result.value = "running…"
        self._timer.start()
        self.worker = _work(function, state)
        self.worker.returned.connect(lambda out: state is self._state and done(out))
        self.worker.errored.connect(lambda err: state is self._state and self._failed(err))
        self.worker.finished.connect(lambda: state is self._state and self._idle())
        self.worker.start()

    def _refresh(self) -> None:
        self.progress.value = int(100 * self._state.fraction)

    def cancel(self, _=None) -> None:
        self._state.cancelled = True
        self.result.value = "cancelling…"

    def _idle(self) -> None:
        self._timer.stop()
        self.run_button.enabled, self.cancel_button.enabled = True, False
        self.progress.visible = False

    def _failed(self, err: Exception) -> None:
        if isinstance(err, Cancelled):
            self.result.value = "cancelled"
            return
        self.result.value = f"failed: {err}"
        if not isinstance(err, _INPUT_ERRORS):
            log.error("U-Net failed", exc_info=err)

    def _image_layers(self, _widget=None) -> list:
        return [layer for layer in self.viewer.layers if isinstance(layer, napari.layers.Image)]

    def _labels_layers(self, _widget=None) -> list:
        return [layer for layer in self.viewer.layers if isinstance(layer, napari.layers.Labels)]


class _Pair(Container):
    """One training pair: an image layer and its labels layer."""

    def __init__(self, owner: "TrainUNetWidget", number: int):
        self.image = ComboBox(label=f"image {number}", choices=owner._image_layers,
                              nullable=True)
        self.annotations = ComboBox(label=f"labels {number}", choices=owner._labels_layers,
                                    nullable=True)
        super().__init__(widgets=[self.image, self.annotations])
        self.margins = (0, 0, 0, 0)


class TrainUNetWidget(_RunningWidget):
    """Train a network on painted (or loaded) labels; watch it learn; save it."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.pairs = Container(widgets=[_Pair(self, 1)])
        self.pairs.margins = (0, 0, 0, 0)
        self.add_pair = PushButton(text="Add a pair")
        self.remove_pair = PushButton(text="Remove the last pair")
        self.labels_are = ComboBox(label="labels are", choices=list(unet.LABELS_ARE),
                                   value="scribbles",
                                   tooltip="scribbles: 0 not labelled, 1 object, 2 background; "
                                   "classes: every pixel, 0 background; objects: instance ids "
                                   "(learns to split touching objects)")
        self.architecture = ComboBox(label="network", choices=list(unet.ARCHITECTURES))
        self.slices = CheckBox(text="2D network on the slices of a stack", value=False)
        self.epochs = SpinBox(label="epochs", min=1, max=10_000, value=40)
        self.patch = SpinBox(label="patch size (0: auto)", min=0, max=1024, step=16, value=0)
        self.validation = FloatSpinBox(label="validation share", min=0, max=0.9, step=0.05,
                                       value=0.2)
        self.plot = CurvePlot()
        self.folder = FileEdit(label="model folder", mode="w")
        self.save_button = PushButton(text="Save model", enabled=False)
        running = self._init_running("Train")
        self.extend([self.pairs, self.add_pair, self.remove_pair, self.labels_are,
                     self.architecture, self.slices, self.epochs, self.patch, self.validation,
                     *running])
        self.native.layout().addWidget(self.plot)
        self.extend([self.folder, self.save_button])
        self.model: unet.Model | None = None

        self.add_pair.changed.connect(self._add_pair)
        self.remove_pair.changed.connect(self._remove_pair)
        self.save_button.changed.connect(self.save)
        connect_while_open(self, [(self.viewer.layers.events.inserted, self._on_layers),
                                  (self.viewer.layers.events.removed, self._on_layers)])
        self._on_layers()

    def _on_layers(self, _=None) -> None:
        self.reset_choices()
        images, labels = self._image_layers(), self._labels_layers()
        for pair in self.pairs:
            if pair.image.value is None and images:
                pair.image.value = images[-1]
            if pair.annotations.value is None and labels:
                pair.annotations.value = labels[-1]

    def _add_pair(self, _=None) -> None:
        self.pairs.append(_Pair(self, len(self.pairs) + 1))
        self.reset_choices()

    def _remove_pair(self, _=None) -> None:
        if len(self.pairs) > 1:
            self.pairs.pop()

    def run(self, _=None):
        """Train in a worker; the plot follows each epoch. Returns the worker."""
        chosen = [(p.image.value, p.annotations.value) for p in self.pairs]
        if any(image is None or labels is None for image, labels in chosen):
            self.result.value = "choose an image and a labels layer for each pair"
            return None
        images = [(full_data(image), image.scale[-spatial_ndim(image):], image.rgb)
                  for image, _ in chosen]
        labels = [np.asarray(full_data(labels)) for _, labels in chosen]
        settings = {"labels_are": self.labels_are.value,
                    "architecture": self.architecture.value, "epochs": self.epochs.value,
                    "patch_size": self.patch.value or None,
                    "validation": self.validation.value,
                    "spatial_dims": 2 if self.slices.value else None,
                    "rgb": bool(images[0][2]), "spacing": tuple(images[0][1])}
        state = _Run()

        def train():
            return unet.train([np.asarray(data) for data, _, _ in images], labels, **settings,
                              callback=state.epochs.append, progress=state.update)

        self.names = [f"{image.name} + {lab.name}" for image, lab in chosen]
        self._start(train, state, self._trained)
        return self.worker

    def _refresh(self) -> None:
        super()._refresh()
        epochs = list(self._state.epochs)
        if epochs:
            self.plot.set_curves({"loss": [e.loss for e in epochs],
                                  "Dice": [e.mean_dice if e.mean_dice is not None
                                           else float("nan") for e in epochs]})
            last = epochs[-1]
            self.result.value = (f"epoch {last.epoch}: loss {last.loss:.3f}"
                                 + (f", Dice {last.mean_dice:.3f}" if last.mean_dice else ""))

    def _trained(self, model: unet.Model) -> None:
        if self._closed:
            return
        self.model = model
        model.config["trained_on"] = self.names
        self._refresh()
        best = model.config.get("best_dice")
        self.result.value = (f"{len(model.history)} epochs ({model.config['stopped']})"
                             + (f", best validation Dice {best:.3f}" if best is not None
                                else "") + "; save it to apply it")
        self.save_button.enabled = True

    def save(self, _=None) -> Path | None:
        """Write the model folder (a new one, or a model folder to replace)."""
        folder = Path(self.folder.value)
        if self.model is None or str(self.folder.value) in ("", "."):
            self.result.value = "train a model and choose a folder first"
            return None
        try:
            path = self.model.save(folder, overwrite=(folder / "config.json").is_file())
        except (OSError, ValueError) as err:
            self.result.value = f"not saved: {err}"
            return None
        self.result.value = f"saved {path}"
        return path


class ApplyUNetWidget(_RunningWidget):
    """Segment an image layer with a saved model."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.folder = FileEdit(label="model folder", mode="d")
        self.about = Label(label="model", value="—")
        self.image = ComboBox(label="image", choices=self._image_layers, nullable=True)
        self.instances = CheckBox(text="split touching objects", value=False)
        self.probabilities = CheckBox(text="add the probabilities as images", value=False)
        self.tile = SpinBox(label="tile (0: training patch)", min=0, max=4096, step=16,
                            value=0)
        running = self._init_running("Apply")
        self.extend([self.folder, self.about, self.image, self.instances, self.probabilities,
                     self.tile, *running])
        self.model: unet.Model | None = None
        self.folder.changed.connect(self._load)
        connect_while_open(self, [(self.viewer.layers.events.inserted, self._on_layers),
                                  (self.viewer.layers.events.removed, self._on_layers)])
        self._on_layers()

    def _on_layers(self, _=None) -> None:
        self.reset_choices()
        images = self._image_layers()
        if self.image.value is None and images:
            self.image.value = images[-1]

    def _load(self, _=None) -> None:
        self.model = None
        try:
            self.model = unet.load_model(self.folder.value)
        except (OSError, ValueError) as err:
            self.about.value = f"not a model: {err}"
            return
        config = self.model.config
        classes = ", ".join(config["classes"]["names"])
        self.about.value = (f"{config['architecture']} {config['spatial_dims']}D, "
                            f"{len(self.model.history)} epochs; classes: {classes}")
        self.instances.value = config.get("labels_are") == "objects"

    def run(self, _=None):
        """Predict the chosen image in a worker; returns the worker."""
        layer = self.image.value
        if self.model is None:
            self.result.value = "choose a model folder first"
            return None
        if layer is None:
            self.result.value = "choose an image layer first"
            return None
        model, data = self.model, full_data(layer)
        ndim = spatial_ndim(layer)
        slices = model.spatial_dims == 2 and ndim == 3
        settings = {"spacing": tuple(float(s) for s in layer.scale[-ndim:]),
                    "slices": slices, "instances": self.instances.value,
                    "probabilities": self.probabilities.value, "tile": self.tile.value or None}
        state = _Run()

        def apply():
            return unet.predict(model, np.asarray(data), **settings, progress=state.update)

        self._start(apply, state, lambda out: self._show(layer, settings, out))
        return self.worker

    def _show(self, layer, settings: dict, result) -> None:
        if self._closed:
            return
        probs = None
        if isinstance(result, tuple):
            result, probs = result
        config = self.model.config
        record = provenance("napari_segkit.unet.predict",
                            {k: v for k, v in settings.items() if k != "spacing"}, "cpu",
                            source=layer.name, model=str(self.folder.value))
        title = f"{layer.name} U-Net"
        show_labels(self.viewer, title, result, layer, record)
        if probs is not None:
            ndim = spatial_ndim(layer)
            for name, output, p in zip(config["classes"]["names"], config["classes"]["output"],
                                       probs):
                if output == 0:
                    continue
                key = f"{layer.name} P({name})"
                if key in self.viewer.layers:
                    self.viewer.layers[key].data = p
                else:
                    self.viewer.add_image(p, name=key, scale=layer.scale[-ndim:],
                                          translate=layer.translate[-ndim:],
                                          colormap="magma", blending="additive",
                                          contrast_limits=(0, 1))
        kind = "object" if result.dtype == np.int32 else "class"
        found = len(np.unique(result[result > 0]))
        plural = "" if found == 1 else ("s" if kind == "object" else "es")
        self.result.value = (f"{found} {kind}{plural} in {title!r}"
                             + (" (slice by slice)" if settings["slices"] else ""))


@thread_worker(ignore_errors=True)  # errors are shown in the widget
def _work(function, state: _Run):
    return function()
