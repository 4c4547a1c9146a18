"""The "Evaluate" widget: compare a prediction Labels layer with a reference Labels layer.

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

import logging
from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import (CheckBox, ComboBox, Container, FileEdit, FloatSpinBox, Label,
                              PushButton, RadioButtons, Table)
from napari.qt.threading import thread_worker
from napari.utils.colormaps import DirectLabelColormap

from ..io.table import write_csv
from ..methods import metrics
from ._layers import connect_while_open, full_data, provenance

log = logging.getLogger(__name__)

#: columns shown in the table, per mode (the CSV has them all)
COLUMNS = {
    "semantic": ["class", "dice", "iou", "precision", "recall", "hd95", "boundary_f1",
                 "reference_voxels", "predicted_voxels"],
    "instance": ["status", "prediction_id", "reference_id", "iou", "reference_voxels",
                 "predicted_voxels"],
}


class EvaluateWidget(Container):
    """Pick prediction and reference Labels layers; see, explore and save the comparison."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.prediction = ComboBox(label="prediction", choices=self._labels_layers,
                                   nullable=True)
        self.reference = ComboBox(label="reference", choices=self._labels_layers,
                                  nullable=True)
        self.mode = RadioButtons(label="compare", choices=list(metrics.MODES),
                                 value="semantic", orientation="horizontal")
        self.physical = CheckBox(text="distances in physical units (reference scale)",
                                 value=True)
        self.tolerance = FloatSpinBox(label="boundary tolerance", min=0, max=1e9, value=1.0,
                                      step=0.5)
        self.show_errors = CheckBox(text="show missed / spurious in a new layer", value=True)
        self.run_button = PushButton(text="Evaluate")
        self.summary = Label(label="summary", value="—")
        self.table = Table()
        self.csv_path = FileEdit(label="CSV file", mode="w", filter="*.csv")
        self.save_button = PushButton(text="Save CSV", enabled=False)
        self.extend([self.prediction, self.reference, self.mode, self.physical, self.tolerance,
                     self.show_errors, self.run_button, self.summary, self.table,
                     self.csv_path, self.save_button])
        self.rows: list[dict] = []
        self.worker = None
        self._evaluated = None  # (prediction layer, reference layer, mode) of self.rows

        self.run_button.changed.connect(self.run)
        self.save_button.changed.connect(self.save_csv)
        self.table.native.itemSelectionChanged.connect(self._on_selection)
        connect_while_open(self, [(self.viewer.layers.events.inserted, self._on_layers),
                                  (self.viewer.layers.events.removed, self._on_layers)])
        self._on_layers()

    def _labels_layers(self, _widget=None) -> list:
        return [layer for layer in self.viewer.layers if isinstance(layer, napari.layers.Labels)
                and not layer.name.endswith(" errors")]

    def _on_layers(self, _=None) -> None:
        """Refresh the choices; until two different layers are chosen, take the newest as
        prediction and the one before as reference."""
        self.reset_choices()
        layers = self._labels_layers()
        unset = None in (self.prediction.value, self.reference.value)
        if len(layers) >= 2 and (unset or self.prediction.value is self.reference.value):
            self.prediction.value, self.reference.value = layers[-1], layers[-2]

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
        self.run_button.enabled = False
        self.summary.value = "evaluating…"
        self.worker = _evaluate(full_data(pred), full_data(ref), spacing, mode,
                                self.tolerance.value, self.show_errors.value)
        self.worker.returned.connect(lambda out: self._show(pred, ref, mode, spacing, *out))
        self.worker.errored.connect(self._failed)
        self.worker.finished.connect(lambda: setattr(self.run_button, "enabled", True))
        self.worker.start()
        return self.worker

    def _show(self, pred, ref, mode, spacing, rows, summary, errors) -> None:
        if self._closed:
            return
        self.rows, self._evaluated = rows, (pred, ref, mode)
        unit = _unit(ref) if spacing is not None else "voxels"
        self.summary.value = "\n".join(f"{k}: {_fmt(v)}" for k, v in summary.items()) + \
            f"\n(distances in {unit})"
        columns = COLUMNS[mode]
        self.table.value = {c: [_fmt(row.get(c)) for row in rows] for c in columns}
        self.save_button.enabled = True
        if errors is not None:
            self._show_errors(pred, ref, mode, errors, summary)

    def _show_errors(self, pred, ref, mode, errors, summary) -> None:
        name = f"{pred.name} errors"
        colours = DirectLabelColormap(color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0),
                                                  **metrics.ERROR_COLOURS})
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        layer = self.viewer.add_labels(errors, name=name, colormap=colours, scale=ref.scale,
                                       translate=ref.translate, units=ref.units,
                                       axis_labels=ref.axis_labels)
        layer.metadata["segkit"] = provenance(
            "napari_segkit.metrics.error_map", {"mode": mode}, "cpu", prediction=pred.name,
            reference=ref.name, legend=metrics.ERRORS, summary=summary)
        layer.editable = False

    def _failed(self, err: Exception) -> None:
        self.summary.value = f"failed: {err}"
        if not isinstance(err, ValueError):  # a bug, not input
            log.error("evaluation failed", exc_info=err)

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
        self.viewer.camera.center = tuple(world[d - offset] for d in self.viewer.dims.displayed
                                          if d >= offset)

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


@thread_worker(ignore_errors=True)  # errors go to EvaluateWidget._failed
def _evaluate(pred, ref, spacing, mode, tolerance, errors: bool):
    pred, ref = np.asarray(pred), np.asarray(ref)
    rows, summary = metrics.evaluate(pred, ref, spacing=spacing, mode=mode,
                                     tolerance=tolerance)
    return rows, summary, metrics.error_map(pred, ref, mode=mode, rows=rows) if errors else None


def _unit(layer) -> str:
    """The layer's unit, abbreviated ("µm"); "voxels" when it has none."""
    units = {format(u, "~") if str(u) != "pixel" else "voxels" for u in layer.units}
    return units.pop() if len(units) == 1 else "layer units"


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
