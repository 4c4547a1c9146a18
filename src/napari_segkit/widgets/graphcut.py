"""The "Graph cut" widget: segment from scribbles as you paint (graph cut or grow from
seeds), or cut the object in each rectangle of a Shapes layer (GrabCut).

Scribbles live in a Labels layer of the image's shape: 1 = object, 2 = background, 3… more
classes. With "update as you paint" on, each finished stroke (and each undo or redo) re-runs
the method in a worker; a newer stroke supersedes a run still going.
"""

from __future__ import annotations

from functools import partial

import napari
import numpy as np
from magicgui.widgets import CheckBox, ComboBox, PushButton
from qtpy.QtCore import QTimer

from ..backend import cpu_only
from ..methods.grabcut import grab_cut
from ..methods.graphcut import MODELS, graph_cut
from ..methods.growcut import grow_from_seeds
from ..progress import steps
from ._family import FamilyWidget, Method
from ._layers import full_data, spatial_ndim

_GRABCUT = "GrabCut box"
#: quiet time (ms) after a change of the scribbles not ended by a stroke (undo, redo) or of
#: the boxes, before the update runs
_SETTLE_MS = 300


@cpu_only
def cut_each_box(image, boxes, *, seeds=None, **params) -> np.ndarray:
    """:func:`grab_cut` in each box (pairs of corners); object k of box k, as uint16 labels
    (where boxes overlap, the earlier box keeps its voxels)."""
    shape = image.shape[:-1] if params.get("rgb") else image.shape
    out = np.zeros(shape, np.uint16)
    for k, box in enumerate(steps(boxes), 1):
        mask = grab_cut(image, box, seeds=seeds, **params) == 1
        out[mask & (out == 0)] = k
    return out


class GraphCutWidget(FamilyWidget):
    """Graph cut and grow from seeds from painted scribbles; GrabCut from boxes."""

    SEEDS = "scribbles"
    METHODS = {
        "graph cut": Method(
            graph_cut,
            seeds="required",
            choices={"model": MODELS},
            filled=("window", "background"),
            labels={"lam": "smoothness λ"},
        ),
        "grow from seeds": Method(
            grow_from_seeds, seeds="required", filled=("window", "background")
        ),
        _GRABCUT: Method(
            grab_cut,
            seeds="optional",
            choices={"model": MODELS},
            filled=("box",),
            labels={"lam": "smoothness λ"},
            preview=False,
            call=cut_each_box,
        ),
    }

    def __init__(self, napari_viewer):
        self._watched: list = []
        self._last = None  # what the last run depended on (see _inputs)
        super().__init__(napari_viewer)
        self.window = CheckBox(text="intensity window: the layer's contrast limits", value=True)
        self.boxes = ComboBox(label="boxes", choices=self._shapes_layers, nullable=True)
        self.new_boxes = PushButton(text="Add a Shapes layer to draw boxes in")
        self.auto = CheckBox(text="update as you paint (each finished stroke)", value=True)
        self.new_seeds.text = "Add a Labels layer for scribbles"
        self.insert(self.index(self.new_seeds) + 1, self.boxes)
        self.insert(self.index(self.boxes) + 1, self.new_boxes)
        self.insert(self.index(self.physical), self.window)
        self.insert(self.index(self.run_button), self.auto)
        self._settle = QTimer(self.native)
        self._life.timers.append(self._settle)
        self._settle.setSingleShot(True)
        self._settle.setInterval(_SETTLE_MS)
        self._settle.timeout.connect(self.update_now)
        self.new_boxes.changed.connect(self.add_boxes_layer)
        for widget in (self.seeds, self.boxes, self.auto, self.method, self.image):
            widget.changed.connect(self._watch)
        for widget in (
            self.method,
            self.window,
            self.physical,
            *(w for fields in self.fields.values() for w in fields.values()),
        ):
            widget.changed.connect(self._changed)
        self.on_close(partial(_disconnect, self._watched))
        self._update_visibility()
        self._watch()

    # -- layers ------------------------------------------------------------------------------

    def _seed_layers(self, _widget=None) -> list:
        return [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, napari.layers.Labels)
            and layer is not self.image.value
            and not layer.name.endswith(tuple(self.METHODS))
        ]

    def _shapes_layers(self, _widget=None) -> list:
        return [layer for layer in self.viewer.layers if isinstance(layer, napari.layers.Shapes)]

    def _on_layers(self, _=None) -> None:
        super()._on_layers()
        if hasattr(self, "boxes"):  # built
            self.boxes.reset_choices()

    def _update_visibility(self, _=None) -> None:
        super()._update_visibility()
        if not hasattr(self, "auto"):  # still being built
            return
        grabcut = self.method.value == _GRABCUT
        self.boxes.visible = self.new_boxes.visible = grabcut
        layer = self.image.value
        self.window.visible = not grabcut and layer is not None and not layer.rgb

    def add_seeds_layer(self, _=None):
        """A Labels layer of the image's shape to paint scribbles in (brush on label 1)."""
        layer = self.image.value
        if layer is None:
            self.result.value = "choose an image layer first"
            return None
        shape = full_data(layer).shape[: spatial_ndim(layer)]
        scribbles = self.viewer.add_labels(
            np.zeros(shape, np.uint8),
            name=f"{layer.name} scribbles",
            scale=layer.scale[-len(shape) :],
            translate=layer.translate[-len(shape) :],
        )
        scribbles.mode, scribbles.selected_label = "paint", 1
        scribbles.brush_size = max(3, int(min(shape[-2:]) / 60))
        self.seeds.value = scribbles
        return scribbles

    def add_boxes_layer(self, _=None):
        """A Shapes layer over the image, in rectangle mode: one rectangle per object."""
        layer = self.image.value
        if layer is None:
            self.result.value = "choose an image layer first"
            return None
        ndim = spatial_ndim(layer)
        shapes = self.viewer.add_shapes(
            name=f"{layer.name} boxes",
            ndim=ndim,
            scale=layer.scale[-ndim:],
            translate=layer.translate[-ndim:],
            face_color="transparent",
            edge_color="yellow",
            edge_width=max(1.0, 0.004 * float(np.ptp(layer.extent.world[:, -1]))),
        )
        shapes.mode = "add_rectangle"
        self.boxes.value = shapes
        return shapes

    # -- parameters --------------------------------------------------------------------------

    def parameters(self) -> dict:
        params = super().parameters()
        layer = self.image.value
        if self.method.value == _GRABCUT:
            params["boxes"] = self.box_corners()
        elif self.window.value and not layer.rgb:
            params["window"] = tuple(float(v) for v in layer.contrast_limits)
        return params

    def box_corners(self) -> list:
        """The corners (image voxels) of each shape in the boxes layer, in drawing order."""
        shapes, image = self.boxes.value, self.image.value
        if shapes is None or len(shapes.data) == 0:
            raise ValueError(
                "draw a rectangle around an object: choose a Shapes layer (or "
                "add one with the button) and draw in it"
            )
        ndim = spatial_ndim(image)
        corners = []
        for vertices in shapes.data:
            voxels = np.array([image.world_to_data(shapes.data_to_world(v)) for v in vertices])[
                :, -ndim:
            ]
            corners.append((voxels.min(axis=0), voxels.max(axis=0)))
        return corners

    # -- update as you paint -----------------------------------------------------------------

    def _watch(self, _=None) -> None:
        """Listen to the chosen scribbles (strokes; undo/redo) and boxes while auto is on."""
        _disconnect(self._watched)
        if not self.auto.value:
            return
        if self.seeds.value is not None:
            self._watched += [
                (self.seeds.value.events.paint, self._stroke_done),
                (self.seeds.value.events.set_data, self._changed),
            ]
        if self.boxes.value is not None and self.method.value == _GRABCUT:
            self._watched.append((self.boxes.value.events.data, self._changed))
        for event, callback in self._watched:
            event.connect(callback)

    def _stroke_done(self, _=None) -> None:
        self._settle.stop()
        # napari may announce an edit before writing it: look once the event has returned
        QTimer.singleShot(0, self.update_now)

    def _changed(self, _=None) -> None:
        self._settle.start()  # restarts: runs once things have been quiet for a moment

    def _inputs(self) -> tuple:
        """What a run depends on: scribbles, boxes and settings."""
        seeds = self.seeds.value
        scribbles = None if seeds is None else np.array(full_data(seeds))
        boxes = None
        if self.method.value == _GRABCUT and self.boxes.value is not None:
            boxes = [np.asarray(v) for v in self.boxes.value.data]
        settings = (
            self.image.value.name,
            self.method.value,
            self.window.value,
            self.physical.value,
            tuple(str(w.value) for w in self.fields[self.method.value].values()),
        )
        return scribbles, boxes, settings

    def update_now(self):
        """Re-run when the scribbles, boxes or settings differ from the last run's; returns
        the worker (None when nothing changed)."""
        if self._closed or not self.auto.value or self.image.value is None:
            return None
        scribbles, boxes, settings = inputs = self._inputs()
        last = self._last
        if (
            last is not None
            and _same(last[0], scribbles)
            and _same_list(last[1], boxes)
            and last[2] == settings
        ):
            return None
        self._last = inputs
        return self.run()


def _same(a, b) -> bool:
    return (a is None and b is None) or (
        a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b)
    )


def _same_list(a, b) -> bool:
    return (a is None and b is None) or (
        a is not None
        and b is not None
        and len(a) == len(b)
        and all(_same(x, y) for x, y in zip(a, b))
    )


def _disconnect(watched: list) -> None:
    """Disconnect the ``(event, callback)`` pairs and empty the list."""
    for event, callback in watched:
        event.disconnect(callback)
    watched.clear()
