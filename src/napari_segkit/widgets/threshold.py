"""The "Threshold" widget: global and adaptive thresholds with live preview and "Try all".

- Parameters show only when the chosen method uses them.
- Live preview: the displayed plane is segmented as the whole-image run would segment it
  (global: the threshold of the whole image, from a histogram computed once; adaptive:
  the plane with the neighbouring planes its 3D window reaches) into a "<image> preview"
  layer, again whenever a parameter or the slice changes.
- Apply: the whole image in a worker, with a progress bar and Cancel, into the Labels layer
  "<image> threshold" (created or replaced) with the image's geometry and provenance.
- Try all: every global method on the displayed plane, side by side in one image layer
  with the method names, to choose by eye as in Fiji.
"""

from __future__ import annotations

import math

import napari
import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, PushButton, RadioButtons, SpinBox

from .. import backend
from ..methods import adaptive, label
from ..methods.adaptive import DEFAULT_K, iter_adaptive_threshold
from ..methods.channels import CHANNELS, to_grey
from ..methods.global_threshold import METHODS as GLOBAL_METHODS
from ..methods.global_threshold import (
    apply_threshold,
    from_histogram,
    histogram,
    threshold_and_value,
)
from ..render import montage, tinted
from ._base import Panel, RunState, follow_active, pick
from ._layers import displayed_plane, full_data, provenance, show_labels, spatial_ndim

#: widget -> the methods that use it (all methods when missing)
_USED_BY = {
    "value": {"manual"},
    "percentile": {"percentile"},
    "classes": {"multiotsu"},
    "offset": {"mean", "gaussian", "median", "midgrey", "niblack"},
    "k": {"niblack", "sauvola", "phansalkar"},
    "contrast": {"bernsen"},
}
#: the global methods shown by "Try all"
TRY_ALL = [m for m in GLOBAL_METHODS if m not in ("manual", "multiotsu")]


class ThresholdWidget(Panel):
    """Pick an image and a method, preview it on the current slice, apply it to the image."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__(napari_viewer)
        self.image = ComboBox(label="image", choices=self._image_layers, nullable=True)
        self.kind = RadioButtons(
            label="threshold",
            choices=["global", "adaptive"],
            value="global",
            orientation="horizontal",
        )
        self.method = ComboBox(label="method", choices=self._methods, value="otsu")
        self.value = FloatSpinBox(label="value", min=-1e12, max=1e12, step=1.0)
        self.percentile = FloatSpinBox(label="percentile", min=0.1, max=99.9, value=50.0)
        self.classes = SpinBox(label="classes", min=2, max=5, value=3)
        self.block_size = FloatSpinBox(label="block size", min=1, max=1e6, value=51, step=2)
        self.physical = CheckBox(
            text="physical units (layer scale)", tooltip="block size in the layer's units"
        )
        self.offset = FloatSpinBox(label="offset", min=-1e12, max=1e12, value=0.0)
        self.auto_window = CheckBox(
            text="auto block size and offset",
            value=True,
            tooltip="block 4 × the typical object diameter; offset 2 × the noise (objects "
            "stand above the local mean); untick to set them",
        )
        self._auto_values: dict = {}  # (layer, options) -> (block size, offset)
        self.k = FloatSpinBox(label="k", min=-10, max=10, step=0.05, value=0.2)
        self.contrast = FloatSpinBox(label="contrast (0 = auto)", min=0, max=1e12, value=0)
        self.channel = ComboBox(label="channel", choices=CHANNELS, value="luminance")
        self.dark = CheckBox(
            text="dark objects",
            value=False,
            tooltip="objects darker than the background, e.g. nuclei in brightfield",
        )
        self.per_slice = CheckBox(text="each slice on its own (3D)", value=False)
        self.instances = CheckBox(text="split into objects (instances)", value=True)
        self.device = ComboBox(label="device", choices=backend.DEVICES, value="auto")
        self.preview = CheckBox(text="live preview (displayed slice)", value=False)
        self.try_all_button = PushButton(text="Try all global methods")
        running = self.running_widgets("Apply", result_label="threshold")
        self.extend(
            [
                self.image,
                self.kind,
                self.method,
                self.value,
                self.percentile,
                self.classes,
                self.auto_window,
                self.block_size,
                self.physical,
                self.offset,
                self.k,
                self.contrast,
                self.channel,
                self.dark,
                self.per_slice,
                self.instances,
                self.device,
                self.preview,
                *running[:3],
                self.try_all_button,
                running[3],
            ]
        )
        self._preview_worker = None
        self._preview_again = False
        self.try_all_names: list[str] = []  # of the last Try all
        self._histograms: dict = {}

        self.kind.changed.connect(self._on_kind)
        self.method.changed.connect(self._on_method)
        self.image.changed.connect(self._update_visibility)
        self.auto_window.changed.connect(self._update_visibility)
        self.try_all_button.changed.connect(self.try_all)
        for widget in (
            self.image,
            self.method,
            self.value,
            self.percentile,
            self.classes,
            self.block_size,
            self.physical,
            self.offset,
            self.k,
            self.contrast,
            self.channel,
            self.dark,
            self.per_slice,
            self.preview,
            self.auto_window,
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
        self._on_method(self.method.value)

    # -- what the widget shows -----------------------------------------------------------

    def _on_layers(self, _=None) -> None:
        """Refresh the layer choices; keep the image, or pick one (see ``pick``)."""
        pick(self.image, self.viewer)

    def _on_active(self, _=None) -> None:
        follow_active(self.image, self.viewer)

    def _image_layers(self, _widget=None) -> list:
        return self.layers_of(napari.layers.Image, inputs=False)

    def _methods(self, _widget=None) -> list:
        """The methods of the chosen kind (napari resets choices when layers change)."""
        return list(GLOBAL_METHODS if self.kind.value == "global" else adaptive.METHODS)

    def _on_kind(self, kind: str) -> None:
        before = self.method.value
        self.method.reset_choices()
        if self.method.value != before or before not in self._methods():
            self.method.value = "otsu" if kind == "global" else "mean"
        self._on_method(self.method.value)

    def _on_method(self, method: str) -> None:
        if method in DEFAULT_K:
            self.k.value = DEFAULT_K[method]
        self._update_visibility()

    def _update_visibility(self, _=None) -> None:
        method, is_adaptive = self.method.value, self.kind.value == "adaptive"
        for name, users in _USED_BY.items():
            getattr(self, name).visible = method in users
        self.block_size.visible = self.auto_window.visible = is_adaptive
        self.block_size.enabled = self.offset.enabled = not self.auto_window.value
        layer = self.image.value
        self.physical.visible = (
            is_adaptive and layer is not None and not np.allclose(layer.scale, 1)
        )
        self.channel.visible = layer is not None and layer.rgb
        self.per_slice.visible = layer is not None and spatial_ndim(layer) >= 3

    def parameters(self) -> dict:
        """Keyword arguments for :func:`threshold` or :func:`adaptive_threshold`."""
        layer, method = self.image.value, self.method.value
        params = {
            "method": method,
            "dark": self.dark.value,
            "rgb": bool(layer.rgb),
            "device": self.device.value,
        }
        if layer.rgb:
            params["channel"] = self.channel.value
        if spatial_ndim(layer) >= 3:
            params["per_slice"] = self.per_slice.value
        for name, users in _USED_BY.items():
            if method in users:
                params[name] = getattr(self, name).value
        if params.get("contrast") == 0:
            params["contrast"] = None
        if self.kind.value == "adaptive":
            if self.physical.value:
                params["spacing"] = tuple(layer.scale)
            params["block_size"] = self.block_size.value
            if self.auto_window.value:
                self._fill_auto(layer, params)
        return params

    def _fill_auto(self, layer, params: dict) -> None:
        """Put :func:`~napari_segkit.methods.adaptive.auto_window`'s block size and offset
        for this image and these options in their (disabled) fields; measured once each."""
        options = {
            "spacing": params.get("spacing"),
            "dark": params["dark"],
            "per_slice": params.get("per_slice", False),
            "rgb": params["rgb"],
            "channel": params.get("channel"),
        }
        noisy = params["method"] in adaptive.NOISE_METHODS
        key = (id(layer), layer.data.shape, noisy, tuple(sorted(map(str, options.items()))))
        if key not in self._auto_values:  # the noise only where the offset uses it
            self._auto_values[key] = adaptive.auto_window(
                full_data(layer), params["method"], **options
            )
        block, offset = self._auto_values[key]
        with self.block_size.changed.blocked(), self.offset.changed.blocked():
            self.block_size.value = block  # shown rounded; the run gets the exact values
            if noisy:
                self.offset.value = offset
        params["block_size"] = block
        if noisy:
            params["offset"] = offset

    # -- apply to the whole image --------------------------------------------------------

    def run(self, _=None):
        """Apply to the whole image in a worker; returns the worker."""
        layer = self.image.value
        if layer is None:
            self.result.value = "choose an image layer first"
            return None
        params, kind, instances = self.parameters(), self.kind.value, self.instances.value
        data = full_data(layer)
        return self.start(
            lambda state: _apply(data, kind, params, instances, state),
            lambda out: self._show(layer, kind, params, instances, *out),
        )

    def _show(self, layer, kind, params, instances, labels, value, device) -> None:
        self.result.value = _describe(value)
        function = (
            "napari_segkit.threshold" if kind == "global" else "napari_segkit.adaptive_threshold"
        )
        record = provenance(
            function,
            params,
            device,
            threshold=_jsonable(value),
            instances=instances,
            source=layer.name,
        )
        show_labels(self.viewer, f"{layer.name} threshold", labels, layer, record)

    # -- live preview ------------------------------------------------------------------------

    def _schedule_preview(self, _=None) -> None:
        if self._closed or not self.preview.value or self.image.value is None:
            return
        if self._preview_worker is not None and self._preview_worker.is_running:
            self._preview_again = True  # one more run when this one ends, with the latest
            return
        self._preview_again = False
        layer = self.image.value
        plane, index = displayed_plane(self.viewer, layer)
        params = self.parameters()  # read here: Qt widgets belong to this thread
        if self.kind.value == "global":

            def job(_state):
                return _preview_global(self.whole_image_histogram, layer, params, plane)
        else:

            def job(_state):
                return _preview_adaptive(layer, params, plane, index, self.intensity_range)

        self._preview_worker = self.in_background(
            job, lambda out: self._show_preview(layer, *out), self._preview_done
        )

    def _preview_done(self) -> None:
        if self._preview_again:
            self._schedule_preview()

    def _show_preview(self, layer, mask, value) -> None:
        self.result.value = _describe(value)
        name = f"{layer.name} preview"
        geometry = {"scale": layer.scale[-2:], "translate": layer.translate[-2:]}
        if name in self.viewer.layers:
            self.viewer.layers[name].data = mask
        else:
            self.viewer.add_labels(mask, name=name, opacity=0.5, **geometry)

    def _whole_image(self, layer, params):
        """Histogram and (min, max) of the whole grey image, computed once per setting."""
        key = (id(layer.data), params.get("channel"), params["rgb"])
        if key not in self._histograms:
            grey = to_grey(
                np.asarray(full_data(layer)), rgb=params["rgb"], channel=params.get("channel")
            )
            grey = grey.view(np.uint8) if grey.dtype == bool else grey
            finite = grey if grey.dtype.kind != "f" else grey[np.isfinite(grey)]
            span = (float(finite.min()), float(finite.max()))
            self._histograms = {key: (histogram(finite), span)}
        return self._histograms[key]

    def whole_image_histogram(self, layer, params):
        """Histogram of the whole grey image, for global previews and Try all."""
        return self._whole_image(layer, params)[0]

    def intensity_range(self, layer, params):
        """(min, max) of the whole grey image, so adaptive previews match Apply."""
        return self._whole_image(layer, params)[1]

    # -- try all ---------------------------------------------------------------------------

    def try_all(self, _=None):
        """Every global method on the displayed plane, in a worker; then one montage layer
        with the names (also in ``try_all_names``). Returns the worker."""
        layer = self.image.value
        if layer is None:
            self.result.value = "choose an image layer first"
            return None
        params = self.parameters()  # read here: Qt widgets belong to this thread
        percentile, plane = self.percentile.value, displayed_plane(self.viewer, layer)[0]
        histogram_of = self.whole_image_histogram
        self.try_all_button.enabled = False

        def job(_state):
            return _try_all(plane, histogram_of(layer, params), layer.rgb, params, percentile)

        return self.in_background(
            job,
            lambda out: self._show_try_all(layer, *out),
            lambda: setattr(self.try_all_button, "enabled", True),
        )

    def _show_try_all(self, layer, picture, names, step) -> None:
        self.try_all_names = names
        name = f"{layer.name} try all"
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        self.viewer.add_image(
            picture, name=name, rgb=True, scale=np.asarray(layer.scale[-2:]) * step
        )
        self.viewer.reset_view()


# -- workers and helpers -------------------------------------------------------------------


def _apply(data, kind: str, params: dict, instances: bool, state: RunState):
    """The whole image, in the worker: labels, threshold and device (progress and Cancel
    through ``state``)."""
    params = dict(params)
    where = backend.resolve_device(params.pop("device"))
    image = backend.to_device(np.asarray(data), where)
    if kind == "global":
        mask, value = threshold_and_value(image, device=where, **params)
    else:
        slabs = iter_adaptive_threshold(image, **params)
        while True:
            try:
                state.update(0.9 * next(slabs))  # the last tenth is for labelling
            except StopIteration as done:
                mask, value = done.value, None
                break
    state.update(0.9)
    if params.get("method") == "multiotsu":
        labels = mask
    else:
        labels = label(mask, device=where) if instances else mask.astype(np.uint8)
    state.update(1.0)
    return backend.to_host(labels), value, where


def _try_all(plane, whole_histogram, rgb: bool, params: dict, percentile: float):
    """In the worker: the montage of every Try all method on ``plane`` (tiles of at most
    384 pixels), the tile names and the subsampling step."""
    counts, centers = whole_histogram
    grey = to_grey(plane, rgb=rgb, channel=params.get("channel"))
    step = max(1, math.ceil(max(grey.shape) / 384))
    shown = plane[::step, ::step]
    tiles, names = [], []
    for method in TRY_ALL:
        try:
            t = from_histogram(counts, centers, method, percentile=percentile)
        except ValueError:
            continue
        mask = apply_threshold(grey[::step, ::step], t, dark=params["dark"])
        tiles.append(tinted(shown, mask, rgb=rgb))
        names.append(f"{method}: {t:.4g}")
    return montage(tiles, names), names, step


def _preview_global(whole_image_histogram, layer, params, plane):
    grey = to_grey(plane, rgb=layer.rgb, channel=params.get("channel"))
    method = params["method"]
    if method == "manual" or params.get("per_slice"):
        options = {k: params[k] for k in ("value", "percentile", "classes") if k in params}
        mask, value = threshold_and_value(
            grey, method, dark=params["dark"], device="cpu", **options
        )
    else:
        value = from_histogram(
            *whole_image_histogram(layer, params),
            method,
            percentile=params.get("percentile", 50.0),
            classes=params.get("classes", 3),
        )
        mask = apply_threshold(
            grey, value, method=method, dark=params["dark"], classes=params.get("classes", 3)
        )
    return mask.astype(np.uint8), value


def _preview_adaptive(layer, params, plane, index, intensity_range):
    """The displayed plane exactly as the whole-image run gives it: with a 3D window the
    neighbouring planes it reaches are included."""
    params = dict(params)
    params.pop("device")
    data = full_data(layer)
    params["intensity_range"] = intensity_range(layer, params)  # the whole image's
    if params.get("per_slice", True) or index is None:
        mask = adaptive.adaptive_threshold(np.asarray(plane), device="cpu", **params)
        return mask.astype(np.uint8), None
    shape = data.shape[:-1] if layer.rgb else data.shape
    size = adaptive.window(params["block_size"], params.get("spacing"), shape[-3:])
    reach = adaptive._halo(params["method"], size)
    z = index[-1]
    lo, hi = max(0, z - reach), min(shape[-3], z + reach + 1)
    block = np.asarray(data[index[:-1] + (slice(lo, hi),)])
    mask = adaptive.adaptive_threshold(block, device="cpu", **params)
    return mask[z - lo].astype(np.uint8), None


def _describe(value) -> str:
    if value is None:
        return "local (adaptive)"
    if np.ndim(value):
        finite = np.asarray(value, dtype=float)
        return ", ".join(f"{v:.6g}" for v in finite.ravel()[:6]) + (" …" if finite.size > 6 else "")
    return f"{value:.6g}"


def _jsonable(value):
    if value is None or np.ndim(value) == 0:
        return value
    return np.asarray(value).tolist()
