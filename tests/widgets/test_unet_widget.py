"""The Train U-Net and Apply U-Net widgets in a real napari viewer: open a TIFF through the
plugin's reader, paint labels, train, save, apply to another image."""

import numpy as np
import pytest
import tifffile

from napari_segkit import samples, unet
from napari_segkit.methods.metrics import dice

pytestmark = pytest.mark.gui
pytest.importorskip("torch", reason="needs the unet extra (PyTorch, MONAI)")
pytest.importorskip("monai", reason="needs the unet extra (PyTorch, MONAI)")


def open_nuclei(viewer, tmp_path, name, seed):
    volume = samples.nuclei_2d((192, 192), count=30, seed=seed, touching=True)
    path = tmp_path / f"{name}.tif"
    tifffile.imwrite(
        path,
        volume.data,
        imagej=True,
        resolution=(1 / 0.325, 1 / 0.325),
        metadata={"unit": "um", "axes": "YX"},
    )
    layer = viewer.open(path, plugin="napari-segkit")[0]
    return layer, volume.metadata["truth"]


def wait(qtbot, widget):
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=180_000)


def test_train_on_painted_labels_save_and_apply_to_a_new_image(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    image, truth = open_nuclei(viewer, tmp_path, "train", seed=1)
    painted = viewer.add_labels(np.zeros(truth.shape, np.uint8), name="painted", scale=image.scale)
    painted.data = np.where(truth > 0, 1, 2).astype(np.uint8)  # object 1, background 2
    _, train = viewer.window.add_plugin_dock_widget("napari-segkit", "Train U-Net")
    pair = train.pairs[0]
    assert pair.image.value.name == "train" and pair.annotations.value.name == "painted"
    train.epochs.value = 4
    train.labels_are.value = "scribbles"  # "auto" reads 1 and 2 everywhere as two classes
    train.run()
    wait(qtbot, train)
    assert train.model is not None, train.result.value
    assert len(train.model.history) == 4 and "best validation Dice" in train.result.value
    assert train.model.config["spacing"] == pytest.approx([0.325, 0.325])
    dice_points, loss_points = train.plot.curves["Dice"], train.plot.curves["loss"]
    assert len(dice_points) == 4 and len(loss_points) == dice_points[-1][0] > 4  # per batch
    assert [y for _, y in dice_points] == pytest.approx([e.mean_dice for e in train._state.epochs])
    assert train.warning.native.isHidden()  # validated: no warning
    train.folder.value = tmp_path / "model"
    assert train.save() == tmp_path / "model"

    other, other_truth = open_nuclei(viewer, tmp_path, "new", seed=2)
    _, apply = viewer.window.add_plugin_dock_widget("napari-segkit", "Apply U-Net")
    apply.folder.value = tmp_path / "model"
    assert "unet 2D, 4 epochs" in apply.about.value
    apply.image.value = other
    apply.probabilities.value = True
    apply.run()
    wait(qtbot, apply)
    result = viewer.layers["new U-Net"]
    assert tuple(result.scale) == pytest.approx((0.325, 0.325))
    assert result.metadata["segkit"]["function"] == "napari_segkit.unet.predict"
    np.testing.assert_array_equal(
        result.data, unet.predict(tmp_path / "model", other.data, spacing=(0.325, 0.325))
    )
    assert dice(result.data > 0, other_truth > 0) > 0.85
    probability = viewer.layers["new P(class 1)"].data
    assert probability.shape == other.data.shape
    assert 0 <= probability.min() <= probability.max() <= 1

    apply.instances.value = True
    apply.run()
    wait(qtbot, apply)
    assert viewer.layers["new U-Net"].data.max() > 10  # touching nuclei split into objects


def test_training_by_time_plots_each_batch_and_warns_when_not_validated(
    make_napari_viewer, qtbot, tmp_path, monkeypatch
):
    import time

    from napari_segkit.widgets.unet import _Run

    plotted_before_first_epoch = []
    on_epoch = _Run.on_epoch

    def on_epoch_after_a_look(state, epoch):  # in the worker: hold the first epoch's report
        if not state.epochs:  # until the GUI's refresh has plotted a batch (or 30 s)
            end = time.perf_counter() + 30
            while not train.plot.curves.get("loss") and time.perf_counter() < end:
                time.sleep(0.02)
            plotted_before_first_epoch.append(list(train.plot.curves.get("loss", [])))
        on_epoch(state, epoch)

    monkeypatch.setattr(_Run, "on_epoch", on_epoch_after_a_look)
    viewer = make_napari_viewer()
    image, truth = open_nuclei(viewer, tmp_path, "train", seed=1)
    viewer.add_labels(np.where(truth > 0, 1, 2).astype(np.uint8), name="painted")
    _, train = viewer.window.add_plugin_dock_widget("napari-segkit", "Train U-Net")
    assert train.labels_are.value == "auto" and train.minutes.value == 2
    train.minutes.value, train.validation.value = 5 / 60, 0.0  # 5 s, nothing held out
    train.labels_are.value, train.live.value = "scribbles", True
    train.run()
    qtbot.waitUntil(lambda: "s left" in train.result.value, timeout=60_000)
    wait(qtbot, train)
    (first,) = plotted_before_first_epoch  # the loss of a batch, before the first epoch ended
    assert len(first) >= 1 and first[0] == (1, pytest.approx(train._state.batches[0][1]))
    model = train.model
    assert model is not None and model.config["validated"] is False
    assert 3 <= model.config["training"]["seconds"] <= 40, model.config["training"]
    assert train.plot.curves["loss"] == [
        (i + 1, pytest.approx(loss))
        for i, loss in enumerate(loss for _, loss in train._state.batches)
    ]
    assert not train.warning.native.isHidden() and "no validation" in train.warning.value
    preview = viewer.layers["train U-Net preview"]  # the model's labels while it trained
    assert preview.data.shape == image.data.shape and set(np.unique(preview.data)) <= {0, 1}
    assert tuple(preview.scale) == pytest.approx(tuple(image.scale))
    train.run()  # a new run takes the warning away
    assert train.warning.native.isHidden()
    train.cancel()
    wait(qtbot, train)


def test_cancel_keeps_a_model_and_bad_input_is_one_line(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    image, truth = open_nuclei(viewer, tmp_path, "train", seed=1)
    _, train = viewer.window.add_plugin_dock_widget("napari-segkit", "Train U-Net")
    train.run()
    assert "choose an image and a labels layer" in train.result.value

    viewer.add_labels(np.zeros((10, 10), np.uint8), name="wrong shape")
    train.pairs[0].annotations.value = viewer.layers["wrong shape"]
    train.run()
    wait(qtbot, train)
    assert "shape" in train.result.value and train.model is None

    viewer.add_labels(np.where(truth > 0, 1, 2).astype(np.uint8), name="painted")
    train.pairs[0].annotations.value = viewer.layers["painted"]
    train.epochs.value = 500
    train.run()
    qtbot.waitUntil(lambda: len(train._state.epochs) >= 2, timeout=120_000)
    train.cancel()
    wait(qtbot, train)
    assert train.model is not None and train.model.config["stopped"] == "cancelled"
    assert 2 <= len(train.model.history) < 500 and train.save_button.enabled

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    train.folder.value = tmp_path / "notes"
    assert train.save() is None and "already exists" in train.result.value
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"

    _, apply = viewer.window.add_plugin_dock_widget("napari-segkit", "Apply U-Net")
    apply.folder.value = tmp_path / "notes"
    assert "not a model" in apply.about.value
    apply.run()
    assert "choose a model folder" in apply.result.value


def test_apply_opens_a_bundle_only_when_trusted(make_napari_viewer, tmp_path):
    from ..unet.test_model_trust import make_bundle

    viewer = make_napari_viewer()
    marker = tmp_path / "marker"
    make_bundle(tmp_path / "bundle", marker)
    _, apply = viewer.window.add_plugin_dock_widget("napari-segkit", "Apply U-Net")
    assert apply.trust.value is False and "run code on this computer" in apply.trust.text
    apply.folder.value = tmp_path / "bundle"
    assert apply.model is None and not marker.exists()
    assert "not opened" in apply.about.value and "can run Python code" in apply.about.value
    apply.trust.value = True
    assert apply.model is not None and marker.exists()
    assert apply.about.value.startswith("bundle 2D")
    apply.trust.value = False
    assert apply.model is None and "not opened" in apply.about.value
