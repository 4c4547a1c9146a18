"""The "Measure" widget: one row per object of a Labels layer, in physical units.

- Measure: :func:`napari_segkit.measure` in a worker, with the Labels layer's scale as
  spacing and its translate as origin (sizes in the layer's units, centroids in world
  coordinates), and intensities from an optional image layer of the same shape.
- The table goes into the layer's ``features`` (napari shows the values under the mouse;
  other plugins can read them) and into a sortable table in the dock; clicking a row moves
  the viewer to that object (its slice and the camera centre) and selects its label.
- Colour: "<labels> by <column>", the same objects coloured by a column's values.
- Filter: "<labels> <column> a–b", the objects whose value lies in [a, b], as a new layer.
- Save CSV: the whole table, full precision.
"""

from __future__ import annotations

from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import ComboBox, FloatSpinBox, PushButton
from napari.utils.colormaps import DirectLabelColormap, ensure_colormap
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QAbstractItemView, QFileDialog, QTableWidget, QTableWidgetItem

from ..methods.measure import measure
from ._base import Panel, RunState, pick
from ._layers import full_data, unit_symbol

#: colormaps offered for colouring objects by a column
COLORMAPS = ("viridis", "magma", "turbo", "plasma", "PiYG")
_NUMBER = Qt.ItemDataRole.UserRole


class MeasureWidget(Panel):
    """Measure a Labels layer; explore, colour, filter and save the table."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__(napari_viewer)
        self.frame = None  # the last table (pandas), and the layer it belongs to
        self.measured = None
        self.labels = ComboBox(label="labels", choices=self._labels_layers, nullable=True)
        self.image = ComboBox(
            label="image (optional)",
            choices=self._image_layers,
            nullable=True,
            tooltip="intensities: mean, min, max, std, sum",
        )
        self.column = ComboBox(
            label="column",
            choices=self._columns,
            tooltip="the column to colour or filter the objects by",
        )
        self.colormap = ComboBox(label="colormap", choices=list(COLORMAPS))
        self.colour_button = PushButton(text="Colour objects by column", enabled=False)
        self.low = FloatSpinBox(
            label="from",
            min=-1e12,
            max=1e12,
            step=1.0,
            tooltip="keep objects with the column at least this",
        )
        self.high = FloatSpinBox(
            label="to",
            min=-1e12,
            max=1e12,
            step=1.0,
            tooltip="keep objects with the column at most this",
        )
        self.filter_button = PushButton(text="Keep objects in range (new layer)", enabled=False)
        self.save_button = PushButton(text="Save CSV…", enabled=False)
        running = self.running_widgets("Measure", "measured")
        self.extend(
            [
                self.labels,
                self.image,
                *running,
                self.column,
                self.colormap,
                self.colour_button,
                self.low,
                self.high,
                self.filter_button,
                self.save_button,
            ]
        )
        self.table = _table()
        self.form_layout.insertWidget(self.index(self.column), self.table)

        self.column.changed.connect(self._on_column)
        self.colour_button.changed.connect(self.colour)
        self.filter_button.changed.connect(self.filter)
        self.save_button.changed.connect(self._save_dialog)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.follow_layer_list(self._on_layers)

    def _labels_layers(self, _widget=None) -> list:
        return self.layers_of(napari.layers.Labels)

    def _image_layers(self, _widget=None) -> list:
        return self.layers_of(napari.layers.Image)

    def _columns(self, _widget=None) -> list:
        """The measured columns to colour or filter by (not the label or box)."""
        if self.frame is None:
            return []
        return [c for c in self.frame.columns if c != "label" and not c.startswith("bbox")]

    def _on_layers(self, _=None) -> None:
        pick(self.labels, self.viewer)
        image = self.image.value
        self.image.reset_choices()
        if image is None and self.labels.value is not None:  # the image of the same shape
            fits = [
                layer
                for layer in self._image_layers()
                if full_data(layer).shape[: self.labels.value.ndim]
                == full_data(self.labels.value).shape
            ]
            self.image.value = fits[-1] if fits else None

    # -- measure -----------------------------------------------------------------------------

    def run(self, _=None):
        """Measure in a worker; returns the worker (None with a message when no labels)."""
        layer, image = self.labels.value, self.image.value
        if layer is None:
            self.result.value = "choose a Labels layer first"
            return None
        data = full_data(layer)
        intensities = None if image is None else full_data(image)
        spacing, origin = tuple(layer.scale), tuple(layer.translate)

        def job(state: RunState):
            state.update(0.05)
            return measure(data, intensities, spacing=spacing, origin=origin)

        return self.start(job, lambda frame: self._show(layer, frame))

    def _show(self, layer, frame) -> None:
        """Put the table in the layer's features and in the dock."""
        self.frame, self.measured = frame, layer
        features = frame.copy()
        features.insert(0, "index", frame["label"].to_numpy())  # napari finds rows by id
        layer.features = features
        _fill(self.table, frame)
        self.column.reset_choices()
        size = "area" if "area" in frame else "volume"
        if size in frame:
            self.column.value = size
        self._on_column()
        unit = _unit(layer)
        self.result.value = f"{len(frame)} objects; {size} in " + (
            ("pixels" if size == "area" else "voxels")
            if unit is None
            else unit + ("²" if size == "area" else "³")
        )
        for button in (self.colour_button, self.filter_button, self.save_button):
            button.enabled = True

    def _on_column(self, _=None) -> None:
        """Set the range to the chosen column's minimum and maximum (rounded outwards to
        about 4 significant digits, the digits the fields show)."""
        if self.frame is None or self.column.value is None:
            return
        values = self.frame[self.column.value].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size:
            top = float(np.abs(values).max()) or 1.0
            decimals = int(np.clip(3 - np.floor(np.log10(top)), 0, 10))
            for field in (self.low, self.high):
                field.native.setDecimals(decimals)
            unit = 10.0**-decimals
            self.low.value = np.floor(values.min() / unit) * unit
            self.high.value = np.ceil(values.max() / unit) * unit

    # -- explore -------------------------------------------------------------------------------

    def _on_selection(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        if rows:
            self.go_to(int(self.table.item(rows[0], 0).data(_NUMBER)))

    def go_to(self, label: int) -> None:
        """Move the viewer to object ``label``: the slice through its centroid, the camera
        centred on it; and select the label."""
        layer, frame = self.measured, self.frame
        if layer is None or label not in set(frame["label"]):
            return
        row = frame[frame["label"] == label].iloc[0]
        world = np.array([row[f"centroid-{a}"] for a in range(layer.ndim)], dtype=float)
        offset = self.viewer.dims.ndim - len(world)  # the layer's axes are the last ones
        for axis, value in enumerate(world):
            if axis + offset not in self.viewer.dims.displayed:
                self.viewer.dims.set_point(axis + offset, value)
        self.viewer.camera.center = tuple(
            world[d - offset] for d in self.viewer.dims.displayed if d >= offset
        )
        layer.selected_label = label

    def colour(self, _=None) -> napari.layers.Labels | None:
        """Show the measured objects coloured by the chosen column's values (from its
        minimum to its maximum on the chosen colormap; NaN grey) in "<labels> by <column>"."""
        if self.frame is None or self.column.value is None:
            return None
        layer, column = self.measured, self.column.value
        colours = colours_by(
            self.frame["label"].to_numpy(), self.frame[column].to_numpy(float), self.colormap.value
        )
        name = f"{layer.name} by {column}"
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        shown = self.viewer.add_labels(
            full_data(layer),
            name=name,
            colormap=colours,
            scale=layer.scale,
            translate=layer.translate,
            units=layer.units,
            axis_labels=layer.axis_labels,
            features=layer.features,
            metadata={"segkit_measured": layer.name},
        )
        shown.editable = False  # it shares the measured layer's data
        return shown

    def filter(self, _=None):
        """Copy the objects whose chosen column lies in [from, to] into a new Labels layer
        in a worker; returns the worker."""
        if self.frame is None or self.column.value is None:
            self.result.value = "measure first"
            return None
        layer, column = self.measured, self.column.value
        low, high = self.low.value, self.high.value
        values = self.frame[column].to_numpy(dtype=float)
        keep = self.frame["label"].to_numpy()[(values >= low) & (values <= high)]
        data = full_data(layer)

        def job(state: RunState):
            state.update(0.1)
            array = np.asarray(data)
            return np.where(np.isin(array, keep), array, 0)

        name = f"{layer.name} {column} {low:.4g}–{high:.4g}"
        return self.start(job, lambda kept: self._show_filtered(layer, name, kept, keep))

    def _show_filtered(self, layer, name: str, kept, keep) -> None:
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        features = layer.features
        self.viewer.add_labels(
            kept,
            name=name,
            scale=layer.scale,
            translate=layer.translate,
            units=layer.units,
            axis_labels=layer.axis_labels,
            features=features[features["index"].isin(keep)],
        )
        self.result.value = f"{len(keep)} of {len(self.frame)} objects in {name!r}"

    # -- save ----------------------------------------------------------------------------------

    def _save_dialog(self, _=None) -> None:
        start = f"{self.measured.name}.csv" if self.measured is not None else "table.csv"
        path, _ = QFileDialog.getSaveFileName(
            self.native, "Save the table as CSV", start, "CSV (*.csv)"
        )
        if path:
            self.save_csv(path)

    def save_csv(self, path) -> Path | None:
        """Write the table to ``path`` (replaced when it exists: the dialog asked)."""
        from ..io._atomic import atomic_path

        if self.frame is None:
            self.result.value = "measure first"
            return None
        path = Path(path)
        if path.suffix.lower() != ".csv":
            path = path.with_name(path.name + ".csv")
        try:
            with atomic_path(path, overwrite=True) as tmp:
                self.frame.to_csv(tmp, index=False)
        except OSError as err:
            self.result.value = f"could not save: {err}"
            return None
        self.result.value = self.result.value.split("\nsaved ")[0] + f"\nsaved {path}"
        return path


def colours_by(labels: np.ndarray, values: np.ndarray, colormap: str) -> DirectLabelColormap:
    """Each label's colour: its value from the minimum to the maximum of ``values`` on
    ``colormap`` (a single value maps to the middle); NaN is grey, 0 transparent."""
    finite = np.isfinite(values)
    low, high = (values[finite].min(), values[finite].max()) if finite.any() else (0.0, 0.0)
    scaled = (values - low) / (high - low) if high > low else np.full(len(values), 0.5)
    rgba = ensure_colormap(colormap).map(np.nan_to_num(scaled, nan=0.0))
    rgba[~finite] = (0.5, 0.5, 0.5, 1.0)
    mapping = {int(k): tuple(c) for k, c in zip(labels, rgba)}
    return DirectLabelColormap(color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0), **mapping})


class _NumberItem(QTableWidgetItem):
    """A table cell that shows a number to 4 digits and sorts by its value (NaN last)."""

    def __init__(self, value: float, integer: bool):
        super().__init__(str(int(value)) if integer else f"{value:.4g}")
        self.setData(_NUMBER, float(value))

    def __lt__(self, other) -> bool:
        a, b = self.data(_NUMBER), other.data(_NUMBER)
        return (np.isnan(a), a) < (np.isnan(b), b)


def _table() -> QTableWidget:
    table = QTableWidget()
    table.setSortingEnabled(True)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setMinimumHeight(200)
    return table


def _fill(table: QTableWidget, frame) -> None:
    """Show every row and column of ``frame`` (the label first)."""
    table.setSortingEnabled(False)  # else each new cell re-sorts
    table.clearContents()
    table.setRowCount(len(frame))
    table.setColumnCount(len(frame.columns))
    table.setHorizontalHeaderLabels(list(frame.columns))
    for c, column in enumerate(frame.columns):
        values = frame[column].to_numpy()
        integer = values.dtype.kind in "iu"
        for r, value in enumerate(values):
            table.setItem(r, c, _NumberItem(value, integer))
    table.setSortingEnabled(True)
    table.resizeColumnsToContents()


def _unit(layer) -> str | None:
    """The layer's unit, abbreviated ("µm"); None when it has none (pixels)."""
    units = {None if str(u) == "pixel" else unit_symbol(u) for u in layer.units}
    return units.pop() if len(units) == 1 else "layer units"
