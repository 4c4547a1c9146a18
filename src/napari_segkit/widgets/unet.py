"""The "Train U-Net" and "Apply U-Net" widgets over :mod:`napari_segkit.unet`.

Train: pairs of image and labels layers (painted scribbles, full classes or objects), the
network and how long to train (minutes; optionally at most some epochs); a live plot of the
loss per batch and the validation Dice per epoch, the time left; Cancel keeps the best model
so far; Save writes the model folder (with a warning when no validation finished).
Apply: a model folder and an image layer; the Labels layer "<image> U-Net" (and, on
request, the probabilities as Image layers) with the image's scale, progress and Cancel.
"""

from __future__ import annotations

from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    PushButton,
    SpinBox,
)

from .. import unet
from ._base import Panel, RunState, follow_active, pick
from ._layers import displayed_plane, full_data, provenance, show_labels, spatial_ndim
from ._plot import CurvePlot


class _Run(RunState):
    """Shared with a worker: fraction done, whether Cancel was pressed, the epochs reported
    (with the batch count at each), the (step, loss) of each batch and the seconds left; with
    a ``plane`` (2D), the model's labels of it every ``PREVIEW_EVERY`` seconds."""

    #: seconds between live previews
    PREVIEW_EVERY = 2.0

    def __init__(self, plane: np.ndarray | None = None):
        super().__init__()
        self.epochs, self.epoch_steps, self.batches = [], [], []
        self.seconds_left: float | None = None
        self.plane, self.preview, self._previewed = plane, None, -self.PREVIEW_EVERY

    def on_epoch(self, epoch) -> None:
        self.epoch_steps.append(self.batches[-1][0] if self.batches else 0)
        self.epochs.append(epoch)

    def on_batch(self, batch) -> None:
        """Keeps the numbers only (not the model)."""
        self.batches.append((batch.step, batch.loss))
        self.fraction, self.seconds_left = batch.fraction, batch.seconds_left
        if self.plane is not None and batch.seconds - self._previewed >= self.PREVIEW_EVERY:
            self.preview, self._previewed = unet.preview(batch.model, self.plane), batch.seconds


class _RunningWidget(Panel):
    """Layer choices for the U-Net panels."""

    def _image_layers(self, _widget=None) -> list:
        return self.layers_of(napari.layers.Image, inputs=False)

    def _labels_layers(self, _widget=None) -> list:
        return self.layers_of(napari.layers.Labels, inputs=False)


class _Pair(Container):
    """One training pair: an image layer and its labels layer."""

    def __init__(self, owner: TrainUNetWidget, number: int):
        self.image = ComboBox(label=f"image {number}", choices=owner._image_layers, nullable=True)
        self.annotations = ComboBox(
            label=f"labels {number}", choices=owner._labels_layers, nullable=True
        )
        super().__init__(widgets=[self.image, self.annotations])
        self.margins = (0, 0, 0, 0)


class TrainUNetWidget(_RunningWidget):
    """Train a network on painted (or loaded) labels; watch it learn; save it."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__(napari_viewer)
        self.pairs = Container(widgets=[_Pair(self, 1)])
        self.pairs.margins = (0, 0, 0, 0)
        self.add_pair = PushButton(text="Add a pair")
        self.remove_pair = PushButton(text="Remove the last pair")
        self.labels_are = ComboBox(
            label="labels are",
            choices=list(unet.LABELS_ARE),
            value=unet.LABELS_ARE[0],
            tooltip="auto: told from the labels; scribbles: 0 not "
            "labelled, 1 object, 2 background; classes: every pixel, "
            "0 background; objects: instance ids "
            "(learns to split touching objects)",
        )
        self.architecture = ComboBox(label="network", choices=list(unet.ARCHITECTURES))
        self.slices = CheckBox(
            text="2D network on slices",
            value=False,
            tooltip="a 2D network trained on the slices of a stack",
        )
        self.minutes = FloatSpinBox(
            label="minutes",
            min=0.05,
            max=24 * 60,
            step=0.5,
            value=2,
            tooltip="how long to train (validation included)",
        )
        self.epochs = SpinBox(
            label="at most epochs (0: no limit)",
            min=0,
            max=10_000,
            value=0,
            tooltip="stop after this many epochs if sooner",
        )
        self.patch = SpinBox(label="patch size (0: auto)", min=0, max=1024, step=16, value=0)
        self.live = CheckBox(
            text="live preview (displayed slice)",
            value=False,
            tooltip="the model's labels of the first image's displayed slice "
            "every 2 s while it trains (2D images or a 2D network)",
        )
        self.validation = FloatSpinBox(
            label="validation share", min=0, max=0.9, step=0.05, value=0.2
        )
        self.plot = CurvePlot()
        self.folder = FileEdit(label="model folder", mode="w")
        self.save_button = PushButton(text="Save model", enabled=False)
        self.warning = Label(value="", visible=False)
        self.extend(
            [
                self.pairs,
                self.add_pair,
                self.remove_pair,
                self.labels_are,
                self.architecture,
                self.slices,
                self.minutes,
                self.epochs,
                self.patch,
                self.validation,
                self.live,
                *self.running_widgets("Train"),
            ]
        )
        self.extend([self.warning, self.folder, self.save_button])
        self.form_layout.insertWidget(self.form_layout.count() - 1, self.plot)  # above stretch
        self.model: unet.Model | None = None
        self._preview_of = None  # the image layer of the live preview

        self.add_pair.changed.connect(self._add_pair)
        self.remove_pair.changed.connect(self._remove_pair)
        self.save_button.changed.connect(self.save)
        self.follow_layer_list(self._on_layers)

    def _on_layers(self, _=None) -> None:
        for pair in self.pairs:
            pick(pair.image, self.viewer)
            pick(pair.annotations, self.viewer)

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
        images = [
            (full_data(image), image.scale[-spatial_ndim(image) :], image.rgb)
            for image, _ in chosen
        ]
        labels = [np.asarray(full_data(labels)) for _, labels in chosen]
        settings = {
            "labels_are": self.labels_are.value,
            "architecture": self.architecture.value,
            "time_limit": 60 * self.minutes.value,
            "epochs": self.epochs.value or None,
            "patch_size": self.patch.value or None,
            "validation": self.validation.value,
            "spatial_dims": 2 if self.slices.value else None,
            "rgb": bool(images[0][2]),
            "spacing": tuple(images[0][1]),
        }

        def train(state: _Run):
            return unet.train(
                [np.asarray(data) for data, _, _ in images],
                labels,
                **settings,
                callback=state.on_epoch,
                on_batch=state.on_batch,
                progress=state.update,
            )

        self.names = [f"{image.name} + {lab.name}" for image, lab in chosen]
        self.warning.visible = False
        first = chosen[0][0]
        plane = None
        if self.live.value and (spatial_ndim(first) == 2 or self.slices.value):
            plane = displayed_plane(self.viewer, first)[0]
        self._preview_of = first
        return self.start(train, self._trained, _Run(plane))

    def cancel(self, _=None) -> None:
        """Stop after the current batch; the best model so far is kept."""
        if self.cancel_button.enabled:
            self._state.cancelled = True
            self.result.value = "stopping: the best model so far is kept…"

    def _refresh(self) -> None:
        super()._refresh()
        state = self._state
        epochs, steps, batches = list(state.epochs), list(state.epoch_steps), list(state.batches)
        if not batches:
            return
        dice = [
            (step, e.mean_dice if e.mean_dice is not None else float("nan"))
            for step, e in zip(steps, epochs)
        ]
        self.plot.set_curves({"loss": batches, "Dice": dice})
        if state.preview is not None:
            self._show_preview(state.preview)
            state.preview = None
        step, loss = batches[-1]
        text = f"batch {step}: loss {loss:.3f}"
        if epochs and epochs[-1].mean_dice is not None:
            text += f", Dice {epochs[-1].mean_dice:.3f}"
        if state.seconds_left is not None and self.cancel_button.enabled:
            text += f"; ≈ {state.seconds_left:.0f} s left"
        if not state.cancelled:  # else it says it is stopping
            self.result.value = text

    def _show_preview(self, labels: np.ndarray) -> None:
        """The live preview into "<image> U-Net preview" (the displayed slice)."""
        layer = self._preview_of
        name = f"{layer.name} U-Net preview"
        if name in self.viewer.layers:
            self.viewer.layers[name].data = labels
        else:
            self.viewer.add_labels(
                labels,
                name=name,
                opacity=0.5,
                scale=layer.scale[-2:],
                translate=layer.translate[-2:],
            )

    def _trained(self, model: unet.Model) -> None:
        self.model = model
        model.config["trained_on"] = self.names
        self._refresh()
        best = model.config.get("best_dice")
        self.result.value = (
            f"{len(model.history)} epochs ({model.config['stopped']})"
            + (f", best validation Dice {best:.3f}" if best is not None else "")
            + "; save it to apply it"
        )
        self.save_button.enabled = True
        if model.config.get("validated") is False:
            self.warning.value = (
                "⚠ no validation finished: nothing checked this model on "
                "held-out labels (train longer, or give a validation "
                "share); save it only to try it"
            )
            self.warning.visible = True

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
        super().__init__(napari_viewer)
        self.folder = FileEdit(label="model folder", mode="d")
        self.trust = CheckBox(
            text="trust this model: a MONAI bundle can run code on this computer",
            value=False,
            tooltip="tick only for a bundle from a source you trust; a segkit model folder "
            "never needs it",
        )
        self.about = Label(label="model", value="—")
        self.image = ComboBox(label="image", choices=self._image_layers, nullable=True)
        self.instances = CheckBox(text="split touching objects", value=False)
        self.probabilities = CheckBox(text="add the probabilities as images", value=False)
        self.tile = SpinBox(label="tile (0: training patch)", min=0, max=4096, step=16, value=0)
        self.extend(
            [
                self.folder,
                self.trust,
                self.about,
                self.image,
                self.instances,
                self.probabilities,
                self.tile,
                *self.running_widgets("Apply"),
            ]
        )
        self.model: unet.Model | None = None
        self.folder.changed.connect(self._load)
        self.trust.changed.connect(self._load)
        self.listen(
            [
                (self.viewer.layers.events.inserted, self._on_layers),
                (self.viewer.layers.events.removed, self._on_layers),
                (self.viewer.layers.selection.events.active, self._on_active),
            ]
        )
        self._on_layers()

    def _on_layers(self, _=None) -> None:
        pick(self.image, self.viewer)

    def _on_active(self, _=None) -> None:
        follow_active(self.image, self.viewer)

    def _load(self, _=None) -> None:
        self.model = None
        try:
            self.model = unet.load_model(self.folder.value, trust=self.trust.value)
        except unet.UntrustedModelError as err:
            self.about.value = f"not opened: {err}"
            return
        except (OSError, ValueError) as err:
            self.about.value = f"not a model: {err}"
            return
        config = self.model.config
        classes = ", ".join(config["classes"]["names"])
        self.about.value = (
            f"{config['architecture']} {config['spatial_dims']}D, "
            f"{len(self.model.history)} epochs; classes: {classes}"
        )
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
        settings = {
            "spacing": tuple(float(s) for s in layer.scale[-ndim:]),
            "slices": slices,
            "instances": self.instances.value,
            "probabilities": self.probabilities.value,
            "tile": self.tile.value or None,
        }

        def apply(state: RunState):
            out = unet.predict(model, np.asarray(data), **settings, progress=state.update)
            state.check()
            labels = out[0] if isinstance(out, tuple) else out
            return out, len(np.unique(labels[labels > 0]))  # here, not on the GUI thread

        return self.start(apply, lambda out: self._show(layer, settings, *out))

    def _show(self, layer, settings: dict, result, found: int) -> None:
        probs = None
        if isinstance(result, tuple):
            result, probs = result
        config = self.model.config
        record = provenance(
            "napari_segkit.unet.predict",
            {k: v for k, v in settings.items() if k != "spacing"},
            "cpu",
            source=layer.name,
            model=str(self.folder.value),
        )
        title = f"{layer.name} U-Net"
        show_labels(self.viewer, title, result, layer, record)
        if probs is not None:
            ndim = spatial_ndim(layer)
            for name, output, p in zip(
                config["classes"]["names"], config["classes"]["output"], probs
            ):
                if output == 0:
                    continue
                key = f"{layer.name} P({name})"
                if key in self.viewer.layers:
                    self.viewer.layers[key].data = p
                else:
                    self.viewer.add_image(
                        p,
                        name=key,
                        scale=layer.scale[-ndim:],
                        translate=layer.translate[-ndim:],
                        colormap="magma",
                        blending="additive",
                        contrast_limits=(0, 1),
                        metadata={"segkit": record},
                    )
        kind = "object" if result.dtype == np.int32 else "class"
        plural = "" if found == 1 else ("s" if kind == "object" else "es")
        self.result.value = f"{found} {kind}{plural} in {title!r}" + (
            " (slice by slice)" if settings["slices"] else ""
        )
