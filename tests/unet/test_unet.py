"""U-Net training and inference (napari_segkit.unet), on the CPU with generated nuclei."""

import json
import time

import numpy as np
import pytest
from conftest import gpu

from napari_segkit import samples, unet
from napari_segkit.methods.metrics import dice, match
from napari_segkit.progress import Cancelled

torch = pytest.importorskip("torch", reason="needs the unet extra (PyTorch, MONAI)")
pytest.importorskip("monai", reason="needs the unet extra (PyTorch, MONAI)")

FAST = {"epochs": 6, "steps": 12, "seed": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def nuclei():
    """A 512×256 image of touching nuclei: the left half to train on, the right to test."""
    volume = samples.nuclei_2d((256, 512), count=80, seed=3, touching=True)
    image, truth = volume.data, volume.metadata["truth"]
    return image[:, :256], truth[:, :256], image[:, 256:], truth[:, 256:]


@pytest.fixture(scope="module")
def trained(nuclei):
    image, truth, _, _ = nuclei
    return unet.train(image, (truth > 0).astype(np.uint8), labels_are="classes", **FAST)


@pytest.mark.slow
def test_learns_2d_and_beats_an_untrained_network(nuclei, trained):
    _, _, test_image, test_truth = nuclei
    untrained = unet.train(
        nuclei[0], (nuclei[1] > 0).astype(np.uint8), labels_are="classes", **{**FAST, "epochs": 0}
    )
    learned = dice(unet.predict(trained, test_image) > 0, test_truth > 0)
    guessed = dice(unet.predict(untrained, test_image) > 0, test_truth > 0)
    assert learned > 0.9
    assert learned > guessed + 0.3
    history = trained.history
    assert [e["epoch"] for e in history] == list(range(1, 7))
    assert history[-1]["loss"] < history[0]["loss"]
    assert max(e["dice"]["class 1"] for e in history) > 0.9
    assert trained.config["best_dice"] == pytest.approx(
        max(np.mean(list(e["dice"].values())) for e in history)
    )


def test_validation_blocks_are_never_trained_on(nuclei):
    from napari_segkit.unet import data

    truth = nuclei[1]
    target = data.target(truth, data.classes_of([truth], "objects", None), "objects")
    train, val = data.split([target], 0.2, (32, 32), 3, seed=0)
    train, val = train[0], val[0]
    assert not ((train > 0) & (val > 0)).any()
    np.testing.assert_array_equal(np.where(val > 0, val, train), target)
    assert 0.2 <= (val > 0).sum() / (target > 0).sum() < 0.3
    assert set(np.unique(val[val > 0])) == set(np.unique(train[train > 0])) == {1, 2, 3}
    # whole 32×32 blocks: a block is all validation or all training
    blocks = (val > 0).reshape(8, 32, 8, 32).any(axis=(1, 3))
    assert ((val > 0).reshape(8, 32, 8, 32).all(axis=(1, 3)) == blocks).all()


@pytest.mark.slow
def test_learns_3d_anisotropic_and_keeps_z():
    volume = samples.nuclei_3d(seed=1)
    model = unet.train(
        volume,
        (volume.metadata["truth"] > 0).astype(np.uint8),
        labels_are="classes",
        **{**FAST, "epochs": 3, "steps": 16, "batch_size": 4},
    )
    assert model.config["spacing"] == [1.0, 0.25, 0.25]
    assert model.config["patch"] == [8, 48, 48]  # the CPU plan's 48, a quarter along Z
    # Z (4× coarser) is not halved at the first level
    assert tuple(model.config["network"]["strides"][0]) == (1, 2, 2)
    other = samples.nuclei_3d(seed=5)
    result = unet.predict(model, other)
    assert result.shape == other.data.shape and result.dtype == np.uint8
    # 48 small batches of 8×48² patches: 0.76-0.79 measured
    assert dice(result > 0, other.metadata["truth"] > 0) > 0.65


def scribbles_of(truth, rng):
    """Strokes: a horizontal line through the middle of some objects (1) and a few
    background lines (2), as a user would paint them; about 2 % of the pixels."""
    from scipy import ndimage

    marks = np.zeros(truth.shape, np.uint8)
    for box in ndimage.find_objects(truth)[::2]:
        if box is None:
            continue
        y = (box[0].start + box[0].stop) // 2
        row = truth[y, box[1]] > 0
        marks[y, box[1]][row] = 1
    background = ndimage.binary_erosion(truth == 0, iterations=1)
    for y in rng.choice(truth.shape[0], 12, replace=False):
        marks[y][background[y]] = 2
    return marks


@pytest.mark.slow
def test_sparse_scribbles_predict_whole_objects(nuclei):
    image, truth, test_image, test_truth = nuclei
    marks = scribbles_of(truth, np.random.default_rng(0))
    assert (marks > 0).mean() < 0.1
    model = unet.train(image, marks, **FAST)  # scribbles: 1 object, 2 background
    assert model.config["classes"]["output"] == [1, 0]
    result = unet.predict(model, test_image)
    assert set(np.unique(result)) <= {0, 1}
    assert dice(result > 0, test_truth > 0) > 0.85


@pytest.fixture(scope="module")
def objects_model(nuclei):
    """Trained on the instance image with labels_are left to "auto" (192 batches: the learnt
    distance map needs them to dip between touching nuclei)."""
    return unet.train(nuclei[0], nuclei[1], **{**FAST, "epochs": 12, "steps": 16})


@pytest.mark.slow
def test_objects_mode_splits_touching_nuclei(nuclei, objects_model):
    image, truth, test_image, test_truth = nuclei
    model = objects_model
    assert model.config["classes"]["names"] == ["background", "object", "boundary"]
    objects = unet.predict(model, test_image)
    assert objects.dtype == np.int32
    matching = match(objects, test_truth, threshold=0.5)
    merged = unet.predict(model, test_image, instances=False)
    assert set(np.unique(merged)) <= {0, 1, 2}
    assert matching.f1 > 0.7
    # better than taking connected parts of the foreground, which merges touching nuclei
    from napari_segkit import label

    assert matching.f1 > match(label(merged > 0), test_truth).f1


def test_probabilities_and_two_class_instances(nuclei, trained):
    _, _, test_image, test_truth = nuclei
    labels, probs = unet.predict(trained, test_image, probabilities=True)
    assert probs.shape == (2, *test_image.shape) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(0), 1, atol=1e-4)
    np.testing.assert_array_equal(labels, probs.argmax(0))
    objects = unet.predict(trained, test_image, instances=True)
    assert objects.max() > 10
    assert dice(objects > 0, labels > 0) > 0.97  # fill holes / fragments change little


def test_slabs_give_the_whole_image_result(nuclei, trained, monkeypatch):
    import sys

    predict_module = sys.modules["napari_segkit.unet.predict"]

    _, _, test_image, _ = nuclei
    whole = unet.predict(trained, test_image, probabilities=True)[1]
    monkeypatch.setattr(predict_module, "_SLAB_VOXELS", 64 * 256)
    slabs = unet.predict(trained, test_image, probabilities=True)[1]
    np.testing.assert_allclose(slabs, whole, atol=1e-5)  # two slabs of 128 rows, one run
    monkeypatch.setattr(predict_module, "_SLAB_VOXELS", 100 * 256)
    tiles = unet.predict(trained, test_image, tile=96, overlap=0.4, probabilities=True)[1]
    monkeypatch.setattr(predict_module, "_SLAB_VOXELS", 1 << 25)
    whole = unet.predict(trained, test_image, tile=96, overlap=0.4, probabilities=True)[1]
    np.testing.assert_allclose(tiles, whole, atol=1e-5)


@pytest.mark.slow
def test_save_load_round_trip_predicts_the_same(nuclei, trained, tmp_path):
    _, _, test_image, _ = nuclei
    folder = trained.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == "unet" and config["normalisation"]["mode"] == "percentile"
    assert len(config["history"]) == 6 and config["classes"]["output"] == [0, 1]
    again = unet.load_model(folder)
    np.testing.assert_array_equal(
        unet.predict(again, test_image), unet.predict(trained, test_image)
    )
    np.testing.assert_array_equal(
        unet.predict(str(folder), test_image), unet.predict(trained, test_image)
    )
    with pytest.raises(FileExistsError, match="already exists"):
        trained.save(folder)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a segkit model folder"):
        trained.save(tmp_path / "other", overwrite=True)
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"
    trained.save(folder, overwrite=True)
    assert unet.load_model(folder).config["history"] == config["history"]


@pytest.mark.slow
def test_resume_goes_on_from_the_saved_state(nuclei, tmp_path):
    image, truth, _, _ = nuclei
    labels = (truth > 0).astype(np.uint8)
    first = unet.train(image, labels, labels_are="classes", **{**FAST, "epochs": 2})
    first.save(tmp_path / "m")
    more = unet.train(
        image, labels, labels_are="classes", resume=tmp_path / "m", **{**FAST, "epochs": 2}
    )
    assert [e["epoch"] for e in more.history] == [1, 2, 3, 4]
    assert more.history[3]["loss"] < first.history[0]["loss"]
    assert len(first.history) == 2  # the model resumed from is not changed


@pytest.mark.slow
def test_cancel_keeps_the_best_model_so_far(nuclei):
    image, truth, test_image, test_truth = nuclei
    seen = []

    def stop_after_four(epoch):
        seen.append(epoch)
        if epoch.epoch == 4:
            raise Cancelled

    model = unet.train(
        image,
        (truth > 0).astype(np.uint8),
        labels_are="classes",
        callback=stop_after_four,
        **{**FAST, "epochs": 50},
    )
    assert len(model.history) == 4 and model.config["stopped"] == "cancelled"
    assert [e.epoch for e in seen] == [1, 2, 3, 4] and seen[0].seconds > 0
    assert dice(unet.predict(model, test_image) > 0, test_truth > 0) > 0.8


@pytest.mark.slow
def test_two_pairs_of_images_and_labels():
    a, b = samples.nuclei_2d((64, 128), seed=1), samples.nuclei_2d((160, 128), seed=2)
    labels = [(v.metadata["truth"] > 0).astype(np.uint8) for v in (a, b)]
    model = unet.train(
        [a.data, b.data], labels, labels_are="classes", **{**FAST, "epochs": 1, "steps": 2}
    )
    assert model.config["patch"] == [64, 96]  # the smaller image's 64 rows; CPU plan's 96
    assert len(model.history) == 1


@pytest.mark.slow
def test_2d_model_on_a_stack_slice_by_slice():
    volume = samples.nuclei_3d(seed=1)
    truth = (volume.metadata["truth"] > 0).astype(np.uint8)
    model = unet.train(volume, truth, labels_are="classes", spatial_dims=2, **FAST)
    assert model.spatial_dims == 2 and model.config["spacing"] == [0.25, 0.25]
    with pytest.raises(ValueError, match="slice by slice"):
        unet.predict(model, volume.data)
    result = unet.predict(model, volume, slices=True)
    assert result.shape == volume.data.shape
    assert dice(result > 0, truth > 0) > 0.65  # 0.76 measured (the blurred ends of nuclei)


def test_resamples_to_the_model_voxel_size(nuclei, trained):
    from scipy import ndimage

    _, _, test_image, test_truth = nuclei
    finer = ndimage.zoom(test_image.astype(np.float32), 2, order=1)
    finer_truth = ndimage.zoom(test_truth > 0, 2, order=0)
    spacing = trained.config["spacing"]
    assert spacing is None  # trained on a bare array: no voxel size to resample to
    trained_sized = unet.Model(trained.network, {**trained.config, "spacing": [0.5, 0.5]})
    result = unet.predict(trained_sized, finer, spacing=(0.25, 0.25))
    assert result.shape == finer.shape
    assert dice(result > 0, finer_truth) > 0.85


@pytest.mark.parametrize("architecture", ["attention_unet", "segresnet", "unetr", "swin_unetr"])
def test_other_monai_networks_train_and_predict(architecture, tmp_path):
    volume = samples.nuclei_2d((64, 64), seed=2, count=8)
    model = unet.train(
        volume.data,
        (volume.metadata["truth"] > 0).astype(np.uint8),
        labels_are="classes",
        architecture=architecture,
        patch_size=64,
        channels=(12, 24),
        **{**FAST, "epochs": 1, "steps": 1, "batch_size": 2},
    )
    result = unet.predict(model, volume.data)
    assert result.shape == (64, 64) and set(np.unique(result)) <= {0, 1}
    again = unet.load_model(model.save(tmp_path / architecture))
    assert type(again.network) is type(model.network)


def test_torchscript_and_monai_bundle_load(nuclei, trained, tmp_path):
    _, _, test_image, _ = nuclei
    expected = unet.predict(trained, test_image)
    patch = trained.config["patch"]  # the same windows as `expected`
    scripted = torch.jit.trace(trained.network, torch.zeros(1, 1, *patch))
    scripted.save(str(tmp_path / "model.ts"))
    with pytest.raises(ValueError, match="spatial_dims"):
        unet.load_model(tmp_path / "model.ts", trust=True)
    loaded = unet.load_model(
        tmp_path / "model.ts", spatial_dims=2, classes=[0, 1], patch=patch, trust=True
    )
    np.testing.assert_array_equal(unet.predict(loaded, test_image), expected)

    bundle = tmp_path / "bundle"
    (bundle / "configs").mkdir(parents=True)
    (bundle / "models").mkdir()
    net = trained.config["network"]
    (bundle / "configs" / "inference.json").write_text(
        json.dumps(
            {
                "network_def": {
                    "_target_": "monai.networks.nets.UNet",
                    "spatial_dims": 2,
                    "in_channels": 1,
                    "out_channels": 2,
                    "channels": net["channels"],
                    "strides": [2, 2, 2],
                    "num_res_units": net["residual_units"],
                }
            }
        )
    )
    (bundle / "configs" / "metadata.json").write_text(
        json.dumps(
            {
                "network_data_format": {
                    "inputs": {"image": {"num_channels": 1, "spatial_shape": patch}},
                    "outputs": {"pred": {"num_channels": 2}},
                }
            }
        )
    )
    torch.save(trained.network.state_dict(), bundle / "models" / "model.pt")
    loaded = unet.load_model(bundle, patch=patch, trust=True)
    assert loaded.config["architecture"] == "bundle"
    np.testing.assert_array_equal(unet.predict(loaded, test_image), expected)


# -- bad input: clear messages, nothing lost ------------------------------------------------


def test_bad_training_input_is_refused_clearly(nuclei):
    image, truth, _, _ = nuclei
    with pytest.raises(ValueError, match="shape"):
        unet.train(image, truth[:100], **FAST)
    with pytest.raises(ValueError, match="no labelled pixels"):
        unet.train(image, np.zeros_like(truth), **FAST)
    with pytest.raises(ValueError, match="one class only"):
        unet.train(image, (truth > 0).astype(np.uint8), labels_are="scribbles", **FAST)
    with pytest.raises(ValueError, match="time_limit"):
        unet.train(image, (truth > 0).astype(np.uint8), time_limit=0)
    with pytest.raises(ValueError, match="larger than the smallest image"):
        unet.train(
            image, (truth > 0).astype(np.uint8), labels_are="classes", patch_size=512, **FAST
        )
    with pytest.raises(ValueError, match="one labels image per image"):
        unet.train([image, image], [truth], **FAST)
    with pytest.raises(ValueError, match="too few places"):
        marks = np.zeros_like(truth)
        marks[10, 10:20], marks[12, 10:20] = 1, 2
        unet.train(image, marks, **FAST)
    with pytest.raises(ValueError, match="architecture"):
        unet.train(
            image, (truth > 0).astype(np.uint8), labels_are="classes", architecture="resnet", **FAST
        )


def test_bad_model_and_image_are_refused_clearly(nuclei, trained, tmp_path):
    _, _, test_image, _ = nuclei
    with pytest.raises(FileNotFoundError):
        unet.predict(tmp_path / "missing", test_image)
    (tmp_path / "notes").mkdir()
    with pytest.raises(ValueError, match="not a segkit model folder"):
        unet.load_model(tmp_path / "notes")
    (tmp_path / "notes" / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a usable segkit model folder"):
        unet.load_model(tmp_path / "notes")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a TorchScript file"):
        unet.load_model(tmp_path / "junk.pt", spatial_dims=2, classes=2)
    with pytest.raises(ValueError, match="2D and the image is 3D"):
        unet.predict(trained, np.stack([test_image] * 3))
    with pytest.raises(ValueError, match="trained on 2D images and the image is 1D"):
        unet.predict(trained, test_image[0])
    three_d = unet.Model(trained.network, {**trained.config, "spatial_dims": 3})
    with pytest.raises(ValueError, match="trained on 3D images and the image is 2D"):
        unet.predict(three_d, test_image)
    rgb = unet.Model(trained.network, {**trained.config, "in_channels": 3})
    with pytest.raises(ValueError, match="RGB"):
        unet.predict(rgb, test_image)


@gpu
def test_cupy_image_goes_to_torch_on_the_gpu(nuclei, trained):
    cupy = pytest.importorskip("cupy")
    if not (cupy.cuda.is_available() and torch.cuda.is_available()):
        pytest.skip("no CUDA GPU for CuPy and PyTorch")
    _, _, test_image, _ = nuclei
    result = unet.predict(trained, cupy.asarray(test_image))
    assert isinstance(result, cupy.ndarray)
    agree = (result.get() == unet.predict(trained, test_image, device="cpu")).mean()
    assert agree > 0.999


def test_rgb_image_on_a_grey_model_is_refused_in_plain_words(nuclei, trained):
    from napari_segkit.io import Volume

    test_image = nuclei[2]
    colour = np.stack([test_image] * 3, axis=-1)  # (256, 256, 3): was "2D model, 3D image"
    for image in (colour, Volume.plain(colour, "YXS")):
        with pytest.raises(ValueError) as refused:
            unet.predict(trained, image)
        message = str(refused.value)
        assert message.startswith(
            "this model was trained on grey images and this image is RGB (shape (256, 256, 3))"
        )
    rgb = unet.Model(trained.network, {**trained.config, "in_channels": 3})
    with pytest.raises(ValueError, match="trained on RGB images and this image is grey"):
        unet.predict(rgb, test_image)
    with pytest.raises(ValueError) as stack:
        unet.predict(trained, np.stack([test_image] * 3))
    for refusal in (message, str(stack.value)):  # words that fit the panel and the CLI alike
        assert not any(word in refusal for word in ("=True", "--", "slices=", "()"))


# -- training by time, per-batch feedback, labels as users have them (issue 22) -------------


def test_labels_kind_reads_masks_scribbles_and_objects(nuclei):
    from napari_segkit.unet import data

    truth = nuclei[1]
    assert truth.max() > 20
    marks = scribbles_of(truth, np.random.default_rng(0))
    assert data.labels_kind([(truth > 0).astype(np.uint8)], 2) == "classes"  # 0/1 mask
    assert data.labels_kind([marks], 2) == "scribbles"  # strokes with 2 = background
    assert data.labels_kind([truth], 2) == "objects"  # many ids
    dense = np.where(truth > 0, 1, 2).astype(np.uint8)  # every pixel 1 or 2: classes
    assert data.labels_kind([dense], 2) == "classes"
    assert data.labels_kind([np.array([[0, 1, 2], [3, 4, 0]])], 2) == "classes"  # 4 ids
    assert data.labels_kind([np.array([[0, 1, 2], [3, 4, 5]])], 2) == "objects"  # 5 ids


def test_distance_target_is_one_at_centres_and_zero_at_a_shared_edge():
    from napari_segkit.unet import data

    labels = np.zeros((7, 12), np.int32)
    labels[1:6, 1:6], labels[1:6, 6:11] = 1, 2  # two touching 5×5 squares
    distance = data.distance_target(labels)
    assert distance.dtype == np.float32
    assert distance[3, 3] == distance[3, 8] == 1  # each square's centre
    assert (distance[labels == 0] == 0).all()
    assert (distance[1:6, 5] == 0).all() and (distance[1:6, 6] == 0).all()  # shared edge
    np.testing.assert_allclose(distance[3, 1:6], [0, 0.5, 1, 0.5, 0])  # EDT 0 1 2 1 0, / 2


@pytest.mark.slow
def test_dense_binary_mask_trains_with_default_arguments(nuclei):
    image, truth, test_image, test_truth = nuclei
    mask = (truth > 0).astype(np.uint8)
    model = unet.train(image, mask, time_limit=10, device="cpu")  # was "one class only"
    assert model.config["labels_are"] == "classes"
    assert model.config["classes"]["output"] == [0, 1]
    assert model.config["validated"] is True
    result = unet.predict(model, test_image)
    assert set(np.unique(result)) <= {0, 1}
    assert dice(result > 0, test_truth > 0) > 0.6  # a few seconds of a loaded 2-core CPU


@pytest.mark.slow
def test_time_limit_stops_in_time_and_reports_every_batch(nuclei, tmp_path):
    image, truth, _, _ = nuclei
    batches, epochs = [], []
    began = time.perf_counter()
    model = unet.train(
        image,
        (truth > 0).astype(np.uint8),
        time_limit=6,
        device="cpu",
        threads=1,
        seed=0,
        on_batch=batches.append,
        callback=epochs.append,
    )
    seconds = time.perf_counter() - began
    assert seconds < 6 + 15  # set-up (normalisation, targets) and one validation's slack
    training = model.config["training"]
    assert training["time_limit"] == 6 and training["torch_threads"] == 1
    assert training["device"] == "cpu" and training["patch"] == [96, 96]
    assert training["steps"] == len(batches) and training["batch_size"] == 4
    assert training["epochs"] == len(epochs) == len(model.history) >= 1
    # the plot has points before the first epoch ends
    assert batches[0].epoch == 1 and batches[0].step == 1 and batches[0].loss > 0
    assert [b.step for b in batches] == list(range(1, len(batches) + 1))
    fractions = [b.fraction for b in batches]
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] <= 1
    assert batches[-1].seconds_left < batches[0].seconds_left
    # elapsed and left are read a few microseconds apart
    assert all(b.seconds + b.seconds_left == pytest.approx(6, abs=0.01) for b in batches)
    saved = json.loads((model.save(tmp_path / "m") / "config.json").read_text())
    assert saved["training"] == training and saved["validated"] is True


def test_cancel_before_validation_marks_the_model_unvalidated(nuclei, tmp_path):
    image, truth, _, _ = nuclei
    threads = torch.get_num_threads()

    def cancel(batch):
        raise Cancelled

    model = unet.train(
        image, (truth > 0).astype(np.uint8), time_limit=60, device="cpu", threads=1, on_batch=cancel
    )
    assert torch.get_num_threads() == threads  # torch's threads are given back
    assert model.config["stopped"] == "cancelled" and model.history == []
    assert model.config["validated"] is False and model.config["best_dice"] is None
    assert model.config["training"]["steps"] == 1
    again = unet.load_model(model.save(tmp_path / "m"))  # training.pt: weights_only
    assert again.config["validated"] is False


def test_preview_of_a_training_model_matches_predict_and_keeps_it_training(nuclei, trained):
    _, _, test_image, _ = nuclei
    trained.network.train()
    quick = unet.preview(trained, test_image)
    assert trained.network.training  # still in training mode
    trained.network.eval()
    assert quick.shape == test_image.shape and quick.dtype == np.uint8
    assert (quick == unet.predict(trained, test_image)).mean() > 0.95


def test_objects_are_learnt_automatically_with_a_distance_map(nuclei, objects_model):
    image, truth, test_image, test_truth = nuclei
    model = objects_model  # an instance image: objects, by itself
    assert model.config["labels_are"] == "objects" and model.config["distance"] is True
    assert model.config["network"]["out_channels"] == 4  # 3 classes + the distance map
    labels, probs = unet.predict(model, test_image, probabilities=True)
    assert probs.shape == (3, *test_image.shape)
    np.testing.assert_allclose(probs.sum(0), 1, atol=1e-4)
    assert labels.dtype == np.int32
    assert match(labels, test_truth, threshold=0.5).f1 > 0.7
    objects = unet.preview(model, test_image, instances=True)
    assert match(objects, test_truth, threshold=0.5).f1 > 0.6


def test_cli_train_with_a_time_limit(nuclei, tmp_path):
    import tifffile

    from napari_segkit.cli import main

    image, truth, _, _ = nuclei
    tifffile.imwrite(tmp_path / "image.tif", image)
    tifffile.imwrite(tmp_path / "labels.tif", (truth > 0).astype(np.uint8))
    code = main(
        [
            "train",
            "--image",
            str(tmp_path / "image.tif"),
            "--labels",
            str(tmp_path / "labels.tif"),
            "--time-limit",
            "5",
            "--device",
            "cpu",
            "-o",
            str(tmp_path / "model"),
        ]
    )
    assert code == 0
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["labels_are"] == "classes" and config["training"]["time_limit"] == 5


@pytest.mark.parametrize(
    "channels, patch", [(1, (16, 16)), (3, (16, 16)), (1, (8, 12, 12)), (2, (6, 10, 10))]
)
def test_augmented_patches_keep_image_and_targets_aligned(channels, patch):
    """Flips and turns move the image, its labels and its distance map alike: every patch's
    target is still the threshold of its image (a misaligned flip breaks that)."""
    from napari_segkit.unet import data

    rng = np.random.default_rng(0)
    spatial = tuple(3 * p for p in patch)
    image = rng.random((channels, *spatial)).astype(np.float32)
    target = (image[0] > 0.5).astype(np.uint8) + 1
    distance = image[-1].copy()
    sampler = data.PatchSampler([image], [target], patch, True, 0, [distance])
    for _ in range(40):
        x, y, d = sampler._one()
        assert x.shape == (channels, *patch) and y.shape == patch == d.shape
        np.testing.assert_array_equal(y, (x[0] > 0.5) + 1)
        np.testing.assert_array_equal(d, x[-1])
