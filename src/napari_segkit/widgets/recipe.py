"""The "Recipe" widget: save how a Labels layer was made, and make it again on another image.

- Save recipe: the calls recorded in the layer's ``metadata["segkit"]`` (and in its source
  layer's, when that is a segkit result too, back to the first image) as a YAML recipe and,
  next to it, a Python script with the same ``napari_segkit`` calls (see
  :mod:`napari_segkit.recipe`).
- Load recipe: run a YAML recipe on a chosen image layer in a worker; the labels become a
  Labels layer "<image> <recipe name>" with the image's scale and translate. Array inputs
  the recipe names (e.g. seeds) are taken from the viewer's layers of that name.
"""

from __future__ import annotations

from pathlib import Path

import napari
import numpy as np
from magicgui.widgets import ComboBox, Label, PushButton
from qtpy.QtWidgets import QFileDialog

from ..recipe import Recipe, _identifier
from ._base import Panel, RunState, pick
from ._layers import full_data, provenance, show_labels, spatial_ndim

#: recorded calls that a recipe cannot repeat, and why
_NOT_REPLAYABLE = {
    "napari_segkit.magic_wand": "magic-wand regions come from clicks",
    "napari_segkit.grab_cut": "GrabCut works on boxes drawn by hand",
    "napari_segkit.unet.predict": "a U-Net needs its model folder (use `segkit run unet`)",
    "napari_segkit.metrics.error_map": "an error map needs its reference labels",
}
#: functions that return a mask which a panel may split into objects
_MASKS = ("napari_segkit.chan_vese", "napari_segkit.geodesic_active_contour")


class RecipeWidget(Panel):
    """Save a Labels layer's recipe (YAML and Python); run a recipe on an image layer."""

    def __init__(self, napari_viewer: napari.Viewer):
        super().__init__(napari_viewer)
        self.labels = ComboBox(
            label="labels",
            choices=self._labels_layers,
            nullable=True,
            tooltip="a layer made by a segkit panel",
        )
        self.save_button = PushButton(text="Save recipe…")
        self.image = ComboBox(label="image", choices=self._image_layers, nullable=True)
        self.load_button = PushButton(text="Load recipe and run…")
        self.saved = Label(label="saved", value="—")
        self.extend(
            [
                self.labels,
                self.save_button,
                self.saved,
                self.image,
                self.load_button,
                *self.running_widgets("Run again", "result"),
            ]
        )
        self.recipe_path: Path | None = None
        self.run_button.enabled = False  # until a recipe was loaded

        self.save_button.changed.connect(self._save_dialog)
        self.load_button.changed.connect(self._load_dialog)
        self.follow_layer_list(self._on_layers)

    def _labels_layers(self, _widget=None) -> list:
        # all of them: a panel puts its record in a layer after the layer is added
        return self.layers_of(napari.layers.Labels, inputs=False)

    def _image_layers(self, _widget=None) -> list:
        return [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, napari.layers.Image) and "segkit" not in layer.metadata
        ]

    def _on_layers(self, _=None) -> None:
        pick(self.labels, self.viewer)
        pick(self.image, self.viewer)

    # -- save ----------------------------------------------------------------------------------

    def _save_dialog(self, _=None) -> None:
        layer = self.labels.value
        start = f"{_identifier(layer.name)}.yaml" if layer is not None else "recipe.yaml"
        path, _ = QFileDialog.getSaveFileName(
            self.native, "Save the recipe", start, "Recipe (*.yaml *.yml)"
        )
        if path:
            self.save_recipe(path)

    def save_recipe(self, path) -> tuple[Path, Path] | None:
        """Write the chosen layer's recipe to ``path`` (YAML; ``.yaml`` added when missing)
        and the Python script next to it (``.py``); both replaced when they exist."""
        layer = self.labels.value
        if layer is None:
            self.saved.value = "choose a Labels layer made by a segkit panel"
            return None
        path = Path(path)
        if path.suffix.lower() not in (".yaml", ".yml"):
            path = path.with_name(path.name + ".yaml")
        try:
            recipe = recipe_of(layer, self.viewer.layers)
            recipe.save(path, overwrite=True)
            script = recipe.save_script(path.with_suffix(".py"), overwrite=True)
        except (ValueError, OSError) as err:
            self.saved.value = f"not saved: {err}"
            return None
        self.saved.value = f"{len(recipe.steps)} steps: {path.name}, {script.name}"
        return path, script

    # -- load and run --------------------------------------------------------------------------

    def _load_dialog(self, _=None) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.native, "Run a recipe", "", "Recipe (*.yaml *.yml)"
        )
        if path:
            self.load_recipe(path)

    def load_recipe(self, path):
        """Run the recipe file ``path`` on the chosen image layer; returns the worker."""
        self.recipe_path = Path(path)
        self.run_button.enabled = True
        return self.run()

    def run(self, _=None):
        """Run the loaded recipe on the chosen image layer in a worker; returns the worker
        (None with a message when something is missing)."""
        image, path = self.image.value, self.recipe_path
        if path is None:
            self.result.value = "load a recipe first"
            return None
        if image is None:
            self.result.value = "choose an image layer first"
            return None
        try:
            recipe = Recipe.load(path)
            inputs = {name: self._array(name, image) for name in recipe.needs()}
        except (ValueError, OSError) as err:
            self.result.value = f"failed: {err}"
            return None
        data = full_data(image)
        ndim = spatial_ndim(image)
        scale = tuple(float(s) for s in image.scale[-ndim:])
        spacing = None if np.allclose(scale, 1) else scale

        def job(state: RunState):
            state.update(0.05)
            labels = recipe.run(np.asarray(data), spacing=spacing, inputs=inputs)
            state.check()
            return labels.astype(np.uint8) if labels.dtype == bool else labels

        return self.start(job, lambda labels: self._show(image, path, recipe, labels))

    def _array(self, name: str, image) -> np.ndarray:
        """The array input ``name``: a Labels layer's data, or a Points layer's points as
        voxel coordinates of ``image``."""
        found = [layer for layer in self.viewer.layers if _identifier(layer.name) == name]
        if not found:
            raise ValueError(f"the recipe needs the array {name!r}: add a layer of that name")
        layer = found[-1]
        if isinstance(layer, napari.layers.Points):
            ndim = spatial_ndim(image)
            return np.array(
                [image.world_to_data(layer.data_to_world(p)) for p in layer.data]
            ).reshape(-1, image.ndim)[:, -ndim:]
        return np.asarray(full_data(layer))

    def _show(self, image, path: Path, recipe: Recipe, labels) -> None:
        record = provenance(
            "napari_segkit.recipe",
            {"path": str(path)},
            "cpu",
            source=image.name,
            steps=recipe.to_dict()["steps"],
        )
        name = f"{image.name} {path.stem}"
        show_labels(self.viewer, name, labels, image, record)
        count = len(np.unique(labels)) - int((labels == 0).any())
        self.result.value = f"{count} labels in {name!r}"


def recipe_of(layer, layers) -> Recipe:
    """The recipe that made ``layer``: the records of its chain of source layers (each
    record's ``source`` names the layer it was made from), oldest first."""
    chain, seen = [], set()
    while layer is not None and "segkit" in layer.metadata and id(layer) not in seen:
        seen.add(id(layer))
        record = layer.metadata["segkit"]
        chain.append((layer, record))
        source = record.get("source")
        layer = layers[source] if source in layers else None
    if not chain:
        raise ValueError("the layer has no segkit record: make it with a segkit panel")
    recipe = Recipe()
    for layer, record in reversed(chain):
        _add(recipe, layer, record)
    return recipe


def _add(recipe: Recipe, layer, record: dict) -> None:
    """Append the steps of one layer's record (a panel's call, or a recipe it ran)."""
    function = record.get("function")
    if function in _NOT_REPLAYABLE:
        raise ValueError(
            f"{layer.name!r} cannot be made again by a recipe: {_NOT_REPLAYABLE[function]}"
        )
    if record.get("parameters", {}).get("mode") == "panoptic":
        raise ValueError(
            f"{layer.name!r} is one half of a panoptic result; run the method "
            "with mode semantic or instance to save a recipe"
        )
    previous = recipe.steps[-1]["output"] if recipe.steps else "image"
    if "steps" in record:  # a recipe the Recipe panel ran
        names = {"image": previous}
        for step in record["steps"]:
            added = recipe.add(
                step["function"],
                step.get("parameters"),
                input=names.get(step["input"], step["input"]),
                arrays={k: names.get(v, v) for k, v in step.get("arrays", {}).items()},
                version=step.get("version", record.get("version")),
            )
            names[step["output"]] = added["output"]
        return
    recipe.add_record(record, input=previous)
    if _split_into_objects(layer, record):
        recipe.add("label")


def _split_into_objects(layer, record: dict) -> bool:
    """Whether the panel numbered the method's mask into objects: the Threshold panel says
    so; for a mask method of the other panels, a layer with ids above 1 was split (a mask
    of one object is the same either way)."""
    if record["function"] in ("napari_segkit.threshold", "napari_segkit.adaptive_threshold"):
        return (
            bool(record.get("instances"))
            and record.get("parameters", {}).get("method") != "multiotsu"
        )
    if record["function"] in _MASKS:
        return bool(record.get("instances", int(np.max(full_data(layer))) > 1))
    return False
