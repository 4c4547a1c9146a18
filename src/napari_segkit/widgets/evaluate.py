"""The "Evaluate" widget: compare a prediction Labels layer with a reference Labels layer.

- Picks: the reference is a layer named like ground truth ("gt", "truth", "reference",
  "manual", "annotation"), else the older layer; the prediction the newest other one.
- Compare "auto" (the default) decides from the data: instance when the labels have more
  than 10 ids and nearly every id is one connected object, else semantic (classes).
- Evaluate: :func:`napari_segkit.metrics.evaluate` in a worker; the summary shows in the dock,
  the per-class (semantic) or per-object (instance) rows in a table.
- Clicking a row moves the viewer to that class or object (its centroid; the slice too in
  3D) and selects its label id.
- An "<prediction> errors" Labels layer colours correct, missed and spurious voxels
  (semantic) or objects (instance), see :data:`napari_segkit.metrics.ERRORS`.
- Distances (HD95, surface distance, boundary tolerance) are in the reference layer's
  units when "physical units" is on, else in voxels.
- Save CSV writes the table (all columns, full precision).
"""

from __future__ import annotations

import re
from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    FileEdit,
    FloatSpinBox,
    PushButton,
    RadioButtons,
    Table,
)
from napari.utils.colormaps import DirectLabelColormap
from scipy import ndimage

from ..io.table import write_csv
from ..methods import metrics
from ._base import Panel, RunState
from ._layers import full_data, provenance, set_geometry, unit_symbol

#: a layer name that says it is the reference
_REFERENCE_NAME = re.compile(
    r"(^|[^a-z])(gt|truth|ground|reference|ref|manual|annotations?)"
    r"([^a-z]|$)",
    re.IGNORECASE,
)
#: "auto" compares objects when there are more ids than this, nearly all one object each
_INSTANCE_IDS = 10

#: columns shown in the table, per mode (the CSV has them all)
COLUMNS = {
    "semantic": [
        "class",
        "dice",
        "iou",
        "precision",
        "recall",
        "hd95",
        "boundary_f1",
        "reference_voxels",
        "predicted_voxels",
    ],
    "instance": [
        "status",
        "prediction_id",
        "reference_id",
        "iou",
        "reference_voxels",
        "predicted_voxels",
    ],
}


class EvaluateWidget(Panel):
    """Pick prediction and reference Labels layers; see, explore and save the comparison."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__(napari_viewer)
        self.prediction = ComboBox(label="prediction", choices=self._labels_layers, nullable=True)
        self.reference = ComboBox(label="reference", choices=self._labels_layers, nullable=True)
        self.mode = RadioButtons(
            label="compare",
            choices=["auto", *metrics.MODES],
            value="auto",
            orientation="horizontal",
            tooltip="auto: objects (instance) when the labels have many "
            "ids, each one connected object; else classes (semantic)",
        )
        self.physical = CheckBox(
            text="physical units (reference scale)",
            value=True,
            tooltip="distances in the reference layer's units",
        )
        self.tolerance = FloatSpinBox(
            label="boundary tolerance", min=0, max=1e9, value=1.0, step=0.5
        )
        self.show_errors = CheckBox(
            text="show errors in a new layer",
            value=True,
            tooltip="missed and spurious voxels or objects",
        )
        self.table = Table()
        self.csv_path = FileEdit(label="CSV file", mode="w", filter="*.csv")
        self.save_button = PushButton(text="Save CSV", enabled=False)
        self.extend(
            [
                self.prediction,
                self.reference,
                self.mode,
                self.physical,
                self.tolerance,
                self.show_errors,
                *self.running_widgets("Evaluate", "summary"),
                self.table,
                self.csv_path,
                self.save_button,
            ]
        )
        self.summary = self.result
        self.rows: list[dict] = []
        self._evaluated = None  # (prediction layer, reference layer, mode) of self.rows

        self.save_button.changed.connect(self.save_csv)
        self.table.native.itemSelectionChanged.connect(self._on_selection)
        self.follow_layer_list(self._on_layers)

    def _labels_layers(self, _widget=None) -> list:
        return self.layers_of(napari.layers.Labels)

    def _on_layers(self, _=None) -> None:
        """Refresh the choices; until two different layers are chosen, pick the reference
        (a ground-truth name, else the oldest) and the newest other layer as prediction."""
        self.prediction.reset_choices()
        self.reference.reset_choices()
        layers = self._labels_layers()
        unset = None in (self.prediction.value, self.reference.value)
        if len(layers) >= 2 and (unset or self.prediction.value is self.reference.value):
            named = [layer for layer in layers if _REFERENCE_NAME.search(layer.name)]
            reference = named[0] if named else layers[0]
            self.reference.value = reference
            self.prediction.value = [layer for layer in layers if layer is not reference][-1]

    def spacing(self):
        """Per-axis spacing from the reference layer's scale, or None (voxels)."""
        return tuple(self.reference.value.scale) if self.physical.value else None

    # -- evaluate ----------------------------------------------------------------------------

    def run(self, _=None):
        """Evaluate in a worker; returns the worker (None with a message on bad choices)."""
        pred, ref = self.prediction.value, self.reference.value
        if pred is None or ref is None:
            self.summary.value = "choose a prediction and a reference Labels layer"
            return None
        if pred is ref:
            self.summary.value = "prediction and reference are the same layer"
            return None
        mode, spacing = self.mode.value, self.spacing()
        tolerance, errors = self.tolerance.value, self.show_errors.value
        pred_data, ref_data = full_data(pred), full_data(ref)

        def job(state: RunState):
            return _evaluate(pred_data, ref_data, spacing, mode, tolerance, errors, state)

        return self.start(job, lambda out: self._show(pred, ref, spacing, *out))

    def _show(self, pred, ref, spacing, mode, guessed, rows, summary, errors) -> None:
        self.rows, self._evaluated = rows, (pred, ref, mode)
        unit = _unit(ref) if spacing is not None else "voxels"
        self.summary.value = (
            f"compared as {mode}"
            + (f" ({guessed})" if guessed else "")
            + "\n"
            + "\n".join(f"{k}: {_fmt(v)}" for k, v in summary.items())
            + f"\n(distances in {unit})"
        )
        columns = COLUMNS[mode]
        self.table.value = {c: [_fmt(row.get(c)) for row in rows] for c in columns}
        self.save_button.enabled = True
        if errors is not None:
            self._show_errors(pred, ref, mode, errors, summary)

    def _show_errors(self, pred, ref, mode, shown, summary) -> None:
        """Show the error map in "<prediction> errors" (updated in place when it exists:
        a new layer costs the GUI thread far more)."""
        errors, colours = shown
        name = f"{pred.name} errors"
        geometry = {
            "scale": ref.scale,
            "translate": ref.translate,
            "units": ref.units,
            "axis_labels": ref.axis_labels,
        }
        layer = self.viewer.layers[name] if name in self.viewer.layers else None
        if isinstance(layer, napari.layers.Labels) and layer.ndim == errors.ndim:
            layer.data = errors
            set_geometry(layer, geometry)
        else:
            if layer is not None:
                self.viewer.layers.remove(layer)
            layer = self.viewer.add_labels(errors, name=name, colormap=colours, **geometry)
        layer.metadata["segkit"] = provenance(
            "napari_segkit.metrics.error_map",
            {"mode": mode},
            "cpu",
            prediction=pred.name,
            reference=ref.name,
            legend=metrics.ERRORS,
            summary=summary,
        )
        layer.editable = False

    # -- explore and save ------------------------------------------------------------------

    def _on_selection(self) -> None:
        rows = sorted({i.row() for i in self.table.native.selectedIndexes()})
        if rows:
            self.go_to(rows[0])

    def go_to(self, index: int) -> None:
        """Centre the viewer on row ``index``'s class or object and select its label id."""
        if self._evaluated is None or not 0 <= index < len(self.rows):
            return
        pred, ref, mode = self._evaluated
        row = self.rows[index]
        if mode == "semantic":
            pred.selected_label = ref.selected_label = row["class"]
        else:
            for layer, key in ((pred, "prediction_id"), (ref, "reference_id")):
                if row[key] is not None:
                    layer.selected_label = row[key]
        if "centroid" not in row:
            return
        world = np.asarray(ref.data_to_world(row["centroid"]), dtype=float)
        offset = self.viewer.dims.ndim - len(world)  # world axes of the layer are the last
        for axis, value in enumerate(world):
            if axis + offset not in self.viewer.dims.displayed:
                self.viewer.dims.set_point(axis + offset, value)
        self.viewer.camera.center = tuple(
            world[d - offset] for d in self.viewer.dims.displayed if d >= offset
        )

    def save_csv(self, _=None, path=None) -> Path | None:
        """Write the table to ``path`` (default: the CSV file field)."""
        path = Path(path or self.csv_path.value)
        if not self.rows:
            self.summary.value = "evaluate first"
            return None
        if path.suffix.lower() != ".csv" or path.is_dir():
            self.summary.value = f"choose a .csv file to save to, not {path}"
            return None
        try:
            write_csv(path, self.rows)
        except OSError as err:
            self.summary.value = f"could not save: {err}"
            return None
        self.summary.value = self.summary.value.split("\nsaved ")[0] + f"\nsaved {path}"
        return path


def _evaluate(pred, ref, spacing, mode: str, tolerance: float, errors: bool, state: RunState):
    """In the worker: (mode, why it was guessed or "", rows, summary, and the error map with
    its colours or None)."""
    pred, ref = np.asarray(pred), np.asarray(ref)
    guessed = ""
    if mode == "auto":
        mode, guessed = guess_mode(ref)
    state.update(0.1)
    rows, summary = metrics.evaluate(pred, ref, spacing=spacing, mode=mode, tolerance=tolerance)
    state.update(0.8)
    shown = None
    if errors:
        error_map = metrics.error_map(pred, ref, mode=mode, rows=rows)
        shown = error_map, _error_colours(error_map.dtype)
    return mode, guessed, rows, summary, shown


def _error_colours(dtype) -> DirectLabelColormap:
    """The error map's colours, used once here so that napari compiles its colour lookup
    for ``dtype`` (about a second, the first time) in the worker, not on the GUI thread."""
    colours = DirectLabelColormap(
        color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0), **metrics.ERROR_COLOURS}
    )
    colours.map(np.arange(len(metrics.ERRORS) + 1, dtype=dtype))
    return colours


def guess_mode(reference) -> tuple[str, str]:
    """ "instance" when the reference labels have more than 10 ids and at least 90 % of them
    (up to 50 looked at) are one connected object each, else "semantic"; and why."""
    ids = np.unique(reference)
    ids = ids[ids != 0]
    if len(ids) <= _INSTANCE_IDS or reference.dtype.kind not in "iu":
        return "semantic", f"guessed: {len(ids)} ids in the reference, taken as classes"
    boxes = ndimage.find_objects(reference)
    looked = ids[np.linspace(0, len(ids) - 1, min(50, len(ids))).astype(int)]
    single = sum(ndimage.label(reference[boxes[i - 1]] == i)[1] == 1 for i in looked)
    if single >= 0.9 * len(looked):
        return "instance", f"guessed: {len(ids)} ids in the reference, each one object"
    return "semantic", f"guessed: {len(ids)} ids in the reference, not one object each"


def _unit(layer) -> str:
    """The layer's unit, abbreviated ("µm"); "voxels" when it has none."""
    units = {unit_symbol(u) if str(u) != "pixel" else "voxels" for u in layer.units}
    return units.pop() if len(units) == 1 else "layer units"


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
