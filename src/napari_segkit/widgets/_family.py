"""One dock widget for a family of methods (watershed, edges, regions, clusters, contours,
post-processing), built from the methods' signatures.

- Pick the input layer and a method; its keyword parameters appear as fields (defaults
  from the signature; an "auto" box for parameters whose default is chosen by the method).
- ``spacing`` comes from the layer's scale when "physical units" is on, ``rgb`` from the
  layer, seeds from a Points or Labels layer (a button adds a Points layer to click them in).
- Live preview: the displayed slice, computed in 2D, into "<input> preview".
- Apply: the whole image in a worker, with a progress bar and Cancel, into the Labels layer
  "<input> <method>" (created or replaced) with the input's geometry and provenance.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import napari
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    PushButton,
    SpinBox,
    Widget,
)

from .._docstrings import parameter_docs
from ..backend import last_device
from ..methods import label, label_methods
from ._base import Panel, RunState, follow_active, pick
from ._layers import displayed_plane, full_data, provenance, public_name, show_labels, spatial_ndim

log = logging.getLogger(__name__)

#: parameters the widget fills in itself rather than showing
_FILLED = ("spacing", "rgb", "seeds", "point", "mask", "seed", "sample", "device", "progress")


@dataclass(frozen=True)
class Method:
    """A method offered by a family widget.

    function: called as ``function(image, **parameters)``.
    seeds: "none", "optional" or "required" (passed as ``seeds``).
    choices: allowed values of string parameters, shown as a drop-down.
    start: starting values for parameters with no default.
    of_range: parameters starting at this fraction of the image's intensity range.
    labels: field labels other than the parameter's name.
    preview: cheap enough for a live preview of the displayed slice.
    mask: returns a mask (offer to split it into objects).
    filled: more parameters the widget fills in itself (not shown).
    call: run instead of ``function`` (same parameters), e.g. once per box.
    """

    function: Callable
    seeds: str = "none"
    choices: dict[str, tuple] = field(default_factory=dict)
    start: dict[str, Any] = field(default_factory=dict)
    of_range: dict[str, float] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    preview: bool = True
    mask: bool = False
    filled: tuple[str, ...] = ()
    call: Callable | None = None

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The keyword parameters shown as fields, by name."""
        found = list(inspect.signature(self.function).parameters.values())[1:]
        return {
            p.name: p
            for p in found
            if p.name not in _FILLED + self.filled
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }


class Auto(Container):
    """A number, or "auto" (the method's own choice, passed as ``auto_value``)."""

    def __init__(self, name: str, label: str, auto_value: Any):
        self.auto = CheckBox(text="auto", value=True)
        self.number = FloatSpinBox(min=-1e9, max=1e9, step=0.1, value=1.0, enabled=False)
        super().__init__(
            name=name,
            label=label,
            layout="horizontal",
            widgets=[self.auto, self.number],
            labels=False,
        )
        self.margins = (0, 0, 0, 0)
        self.auto_value = auto_value
        self.auto.changed.connect(lambda on: setattr(self.number, "enabled", not on))

    @property
    def value(self):
        return self.auto_value if self.auto.value else self.number.value

    @value.setter
    def value(self, value) -> None:
        self.auto.value = value == self.auto_value
        if not self.auto.value:
            self.number.value = value


def _field(name: str, parameter: inspect.Parameter, method: Method, key: str) -> Widget:
    """The field for one parameter, from its default (or the method's starting value) and
    its docstring entry (the tooltip; the choices of a ``{"a", "b"}`` type); its widget name
    is ``key`` (unique in the dock)."""
    documented = parameter_docs(method.function).get(name)
    field = _plain_field(name, parameter, method, key, documented)
    if documented is not None and documented.text:
        field.tooltip = documented.text
    return field


def _plain_field(
    name: str, parameter: inspect.Parameter, method: Method, key: str, documented
) -> Widget:
    default = method.start.get(name, parameter.default)
    label = method.labels.get(name, name.replace("_", " "))
    choices = method.choices.get(name)
    if choices is None and documented and default in documented.choices:
        choices = documented.choices  # a string default among the documented ones
    if choices:
        choices = list(choices)  # a default of None: the first choice
        return ComboBox(
            name=key,
            label=label,
            choices=choices,
            value=default if default in choices else choices[0],
        )
    if default is None or default == "auto":
        return Auto(key, label, default)
    if default is parameter.empty:
        default = 0.0 if name in method.of_range else None
        if default is None:
            raise TypeError(f"{method.function.__name__}: give a start for {name!r}")
    if isinstance(default, bool):
        return CheckBox(name=key, text=label, value=default)
    if isinstance(default, int):
        return SpinBox(name=key, label=label, min=0, max=10**7, value=default)
    return FloatSpinBox(
        name=key,
        label=label,
        min=-1e9,
        max=1e9,
        step=0.1 if abs(default) < 10 else 1.0,
        value=float(default),
    )


class FamilyWidget(Panel):
    """Pick an input layer and a method of the family; preview, apply, cancel."""

    #: display name -> method; the first is the default
    METHODS: dict[str, Method] = {}
    #: the methods module of the family: every labels method in its ``__all__`` that is not
    #: in METHODS is offered too, with fields from its signature and docstring (see
    #: :func:`napari_segkit.methods.label_methods`)
    FAMILY: ModuleType | None = None
    #: the layer type the methods take
    INPUT: type = napari.layers.Image
    #: what the seeds field is called
    SEEDS = "seeds"

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__(napari_viewer)
        self.METHODS = {**type(self).METHODS, **self.more_methods()}
        kind = "labels" if self.INPUT is napari.layers.Labels else "image"
        self.image = ComboBox(label=kind, choices=self._input_layers, nullable=True)
        self.method = ComboBox(label="method", choices=list(self.METHODS))
        self.seeds = ComboBox(label="seeds", choices=self._seed_layers, nullable=True)
        self.new_seeds = PushButton(text="Add a Points layer for seeds")
        self.fields = {
            name: {
                p: _field(p, parameter, method, f"{p}_{i}")
                for p, parameter in method.parameters().items()
            }
            for i, (name, method) in enumerate(self.METHODS.items())
        }
        self.physical = CheckBox(
            text="physical units (layer scale)",
            value=True,
            tooltip="sizes and distances in the layer's units",
        )
        self.instances = CheckBox(text="split the mask into objects", value=True)
        self.preview = CheckBox(
            text="live preview (displayed slice)",
            value=False,
            tooltip="the method on the displayed slice, in 2D",
        )
        self.extend(
            [
                self.image,
                self.method,
                self.seeds,
                self.new_seeds,
                *(w for fields in self.fields.values() for w in fields.values()),
                self.physical,
                self.instances,
                self.preview,
                *self.running_widgets("Apply"),
            ]
        )
        self._preview_worker = None
        self._preview_again = False

        self.method.changed.connect(self._update_visibility)
        self.image.changed.connect(self._on_image)
        self.new_seeds.changed.connect(self.add_seeds_layer)
        for widget in (
            self.image,
            self.method,
            self.seeds,
            self.physical,
            self.preview,
            *(w for fields in self.fields.values() for w in fields.values()),
        ):
            widget.changed.connect(self._schedule_preview)
        self.listen(
            [
                (self.viewer.dims.events.current_step, self._schedule_preview),
                (self.viewer.layers.events.inserted, self._on_layers),
                (self.viewer.layers.events.removed, self._on_layers),
                (self.viewer.layers.selection.events.active, self._on_active),
            ]
        )
        self._on_layers()
        self._on_image()

    @classmethod
    def more_methods(cls) -> dict[str, Method]:
        """The family's labels methods missing from METHODS whose only required input besides
        the image is ``seeds`` (a point or a box needs its own panel), by name."""
        if cls.FAMILY is None:
            return {}
        listed = {method.function for method in cls.METHODS.values()}
        found = {}
        for name, function in label_methods(cls.FAMILY).items():
            parameters = list(inspect.signature(function).parameters.values())[1:]
            needed = {
                p.name
                for p in parameters
                if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            }
            if function in listed or not needed <= {"seeds"}:
                continue
            seeds = (
                "none"
                if not any(p.name == "seeds" for p in parameters)
                else "required"
                if "seeds" in needed
                else "optional"
            )
            found[name.replace("_", " ")] = Method(function, seeds=seeds)
        return found

    # -- what the widget shows -----------------------------------------------------------

    def _on_layers(self, _=None) -> None:
        """Refresh the layer choices; keep the input layer, or pick one (see ``pick``)."""
        pick(self.image, self.viewer)
        self.seeds.reset_choices()

    def _on_active(self, _=None) -> None:
        follow_active(self.image, self.viewer)

    def _input_layers(self, _widget=None) -> list:
        return self.layers_of(self.INPUT, inputs=False)

    def _seed_layers(self, _widget=None) -> list:
        return [
            layer
            for layer in self.viewer.layers
            if layer is not self.image.value
            and isinstance(layer, (napari.layers.Points, napari.layers.Labels))
        ]

    @property
    def chosen(self) -> Method:
        return self.METHODS[self.method.value]

    def _on_image(self, _=None) -> None:
        layer = self.image.value
        if layer is not None and self.INPUT is napari.layers.Image:
            lo, hi = (float(v) for v in layer.contrast_limits_range)
            for name, method in self.METHODS.items():
                for parameter, fraction in method.of_range.items():
                    self.fields[name][parameter].value = round(fraction * (hi - lo), 6)
        self._update_visibility()

    def _is_3d(self) -> bool:
        return self.image.value is not None and spatial_ndim(self.image.value) >= 3

    def _is_rgb(self) -> bool:
        return bool(getattr(self.image.value, "rgb", False))

    def _offers_physical(self) -> bool:
        """Whether the method takes ``spacing`` and the layer has a scale other than 1."""
        layer = self.image.value
        return (
            "spacing" in inspect.signature(self.chosen.function).parameters
            and layer is not None
            and not np.allclose(layer.scale, 1)
        )

    def _update_visibility(self, _=None) -> None:
        method = self.chosen
        for name, fields in self.fields.items():
            for parameter, widget in fields.items():
                widget.visible = (
                    name == self.method.value
                    and (parameter != "per_slice" or self._is_3d())
                    and (parameter != "channel" or self._is_rgb())
                )
        self.seeds.visible = self.new_seeds.visible = method.seeds != "none"
        self.seeds.label = self.SEEDS + (" (optional)" if method.seeds == "optional" else "")
        self.physical.visible = self._offers_physical()
        self.instances.visible = method.mask
        self.preview.enabled = method.preview

    def add_seeds_layer(self, _=None):
        """A Points layer over the image, ready to click seeds in; chosen as the seeds."""
        layer = self.image.value
        if layer is None:
            self.result.value = "choose an image layer first"
            return None
        points = self.viewer.add_points(
            np.empty((0, layer.ndim)),
            name=f"{layer.name} seeds",
            scale=layer.scale,
            translate=layer.translate,
            size=max(3.0, 0.01 * max(layer.extent.world[1] - layer.extent.world[0])),
        )
        points.mode = "add"
        self.seeds.value = points
        return points

    def parameters(self) -> dict:
        """Keyword arguments for the chosen method (seeds not included)."""
        layer, method = self.image.value, self.chosen
        params = {
            name: widget.value
            for name, widget in self.fields[self.method.value].items()
            if (name != "per_slice" or self._is_3d()) and (name != "channel" or self._is_rgb())
        }
        if "rgb" in inspect.signature(method.function).parameters:
            params["rgb"] = bool(getattr(layer, "rgb", False))
        if self._offers_physical() and self.physical.value:
            params["spacing"] = tuple(float(s) for s in layer.scale[-spatial_ndim(layer) :])
        return params

    def seed_data(self, shape: tuple) -> np.ndarray | None:
        """The seeds as voxel coordinates (Points) or a label image (Labels) of the input."""
        seeds, method = self.seeds.value, self.chosen
        if method.seeds == "none" or seeds is None:
            if method.seeds == "required":
                raise ValueError(
                    f"{self.method.value} needs seeds: choose a Points or Labels "
                    "layer (or add one with the button)"
                )
            return None
        if isinstance(seeds, napari.layers.Labels):
            data = np.asarray(full_data(seeds))
            if data.shape != shape:
                raise ValueError(
                    f"the seeds layer {seeds.name!r} has shape {data.shape}, the "
                    f"image {shape}; paint seeds in a layer of the image's shape"
                )
            return data
        image = self.image.value
        points = np.array([image.world_to_data(seeds.data_to_world(p)) for p in seeds.data])
        if len(points) == 0:
            raise ValueError(f"the seeds layer {seeds.name!r} has no points; click some first")
        return points.reshape(-1, image.ndim)[:, -len(shape) :]

    # -- apply to the whole image --------------------------------------------------------

    def run(self, _=None):
        """Apply the chosen method to the whole input in a worker; returns the worker."""
        layer = self.image.value
        if layer is None:
            self.result.value = (
                "choose a Labels layer first"
                if self.INPUT is napari.layers.Labels
                else "choose an image layer first"
            )
            return None
        name, method = self.method.value, self.chosen
        data = full_data(layer)
        shape = tuple(data.shape[: spatial_ndim(layer)])
        try:
            params, seeds = self.parameters(), self.seed_data(shape)
        except ValueError as err:
            self.result.value = str(err)
            return None
        split = self.instances.value and method.mask
        seeds_name = None if seeds is None else self.seeds.value.name
        function = method.call or method.function

        def job(state: RunState):
            result = _call_method(function, data, params, seeds, state.update)
            device = last_device() or "cpu"  # this worker thread's last device ("auto")
            return (*_finish(result, method.mask, split, state), device)

        return self.start(job, lambda out: self._show(layer, name, params, seeds_name, out))

    def _show(self, layer, name: str, params: dict, seeds_name: str | None, out) -> None:
        """Add the worker's result (see ``_finish``) as layers; only this is on the GUI
        thread."""
        kind, data, count, device = out
        method = self.METHODS[name]
        record = provenance(
            public_name(method.function),
            _jsonable(params),
            device,
            source=layer.name,
            seeds=seeds_name,
        )
        title = f"{layer.name} {name}"
        if kind == "map":  # a map to look at (e.g. edge strength)
            self._show_image(title, data, layer, record)
            self.result.value = f"{title}: {count[0]:.4g} … {count[1]:.4g}"
            return
        if kind == "panoptic":  # classes and objects
            show_labels(self.viewer, f"{title} classes", data[0], layer, record)
            data, title = data[1], f"{title} objects"
        show_labels(self.viewer, title, data, layer, record)
        self.result.value = f"{count} labels in {title!r}"

    def _show_image(self, name: str, data, source, record) -> None:
        if name in self.viewer.layers:
            self.viewer.layers[name].data = data
            self.viewer.layers[name].metadata["segkit"] = record
        else:
            self.viewer.add_image(
                data,
                name=name,
                scale=source.scale[-data.ndim :],
                translate=source.translate[-data.ndim :],
                colormap="magma",
                blending="additive",
                metadata={"segkit": record},
            )

    # -- live preview ------------------------------------------------------------------------

    def _schedule_preview(self, _=None) -> None:
        if (
            self._closed
            or not (self.preview.value and self.chosen.preview)
            or self.image.value is None
        ):
            return
        if self._preview_worker is not None and self._preview_worker.is_running:
            self._preview_again = True  # one more run when this one ends, with the latest
            return
        self._preview_again = False
        layer = self.image.value
        plane, index = displayed_plane(self.viewer, layer)
        try:  # read here: Qt widgets belong to this thread
            params = self.parameters()
            seeds = self.seed_data(full_data(layer).shape[: spatial_ndim(layer)])
        except ValueError as err:
            self.result.value = str(err)
            return
        params.pop("per_slice", None)
        if "spacing" in params:
            params["spacing"] = params["spacing"][-2:]
        seeds = _seeds_on_plane(seeds, index)
        if self.chosen.seeds == "required" and seeds is None:
            self.result.value = "no seeds on this slice to preview"
            return
        function = self.chosen.call or self.chosen.function

        def job(state: RunState):
            result = _call_method(function, plane, params, seeds, state.update)
            result = result[1] if isinstance(result, tuple) else result
            if result.dtype.kind == "f":
                result = np.zeros(result.shape, np.uint8)  # maps are not previewed
            return result, len(np.unique(result[result > 0]))

        self._preview_worker = self.in_background(
            job, lambda out: self._show_preview(layer, *out), self._preview_done
        )

    def _preview_done(self) -> None:
        if self._preview_again:
            self._schedule_preview()

    def _show_preview(self, layer, result, count: int) -> None:
        name = f"{layer.name} preview"
        geometry = {"scale": layer.scale[-2:], "translate": layer.translate[-2:]}
        if name in self.viewer.layers:
            self.viewer.layers[name].data = result
        else:
            self.viewer.add_labels(result, name=name, opacity=0.5, **geometry)
        self.result.value = f"preview: {count} labels"


def _call_method(function, data, params: dict, seeds, progress):
    if seeds is not None:
        params = {**params, "seeds": seeds}
    return function(np.asarray(data), **params, progress=progress)


def _finish(result, mask: bool, split: bool, state: RunState):
    """The worker's last step: ("map", image, (min, max)), ("panoptic", (classes, objects),
    object count) or ("labels", labels, count); a mask is numbered into objects when
    ``split``."""
    state.check()
    if isinstance(result, tuple):
        return "panoptic", result, _count(result[1])
    if result.dtype.kind == "f":
        return "map", result, (float(result.min()), float(result.max()))
    if result.dtype == bool or (mask and result.max() <= 1):
        result = label(result, device="cpu") if split else result.astype(np.uint8)
        state.check()
    return "labels", result, _count(result)


def _count(labels) -> int:
    """The number of distinct non-zero labels."""
    return len(np.unique(labels)) - int((labels == 0).any())


def _seeds_on_plane(seeds, index):
    """Seeds of the displayed plane: the plane of a seed label image, or the points on it."""
    if seeds is None or index is None:
        return seeds
    if seeds.ndim != 2:  # a label image (points are N × ndim)
        plane = seeds[index]
        return plane if plane.any() else None
    on_plane = np.all(np.rint(seeds[:, : len(index)]) == index, axis=1)
    return seeds[on_plane, len(index) :] if on_plane.any() else None


def _jsonable(params: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
