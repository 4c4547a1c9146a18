"""Apply a trained network: sliding-window inference with Gaussian blending (MONAI's
``sliding_window_inference``), in slabs along the first axis so that memory is bounded by the
slab, not the image (with the same result); a 2D network goes slice by slice through a stack.
Labels, probabilities, and objects: split by a seeded watershed on the learnt distance map (models
trained on objects), else by the classic distance watershed. :func:`preview`: one quick pass over a
slice, for a live view while training.
"""

from __future__ import annotations

import os

import numpy as np
from scipy import ndimage
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from ..backend import get_xp, is_cupy
from ..methods import label, postprocess, split_touching_objects
from ..progress import report, reporting
from . import data
from .devices import autocast, require_torch, torch_device
from .model import Model, load_model

_SLAB_VOXELS = 1 << 25  # voxels per slab (≈ 128 MB per channel in float32)
#: a seed must stand this far above its surroundings in the learnt distance (0 at edges, 1 at
#: centres; touching objects part at 0). Two 120 s models: 0.05 over-split (F1 0.87 DSB
#: 2018, 0.96 BBBC007), 0.15 gave 0.93 / 0.97, 0.3 began to merge (0.96 / 0.94). A model
#: trained for only ~70 batches has shallow dips and splits better at 0.05.
_SEED_HEIGHT = 0.15


def predict(model, image, *, tile=None, overlap: float = 0.25, batch_size: int = 4,
            slices: bool = False, spacing=None, probabilities: bool = False,
            instances: bool | None = None, min_size: float | None = None,
            device: str = "auto", trust: bool = False, progress=None):
    """Segment ``image`` (array, napari layer or segkit Volume) with ``model`` (a
    :class:`Model` or a model folder/file).

    ``tile``: the window (default the training patch); ``overlap``: its overlap (0…1).
    ``slices``: apply a 2D model to each slice of a stack. ``spacing``: the image's voxel
    size; when it differs from the model's by more than 5 % the image is resampled to the
    model's and the result back. ``instances``: split the foreground into objects (default
    for a model trained on objects) — from the seeds and distance map it learnt (older
    object models: the boundary class as the watershed's barrier),
    else by the distance watershed of :func:`split_touching_objects` — then fill holes and
    remove objects under ``min_size`` voxels (default a fifth of the median object).
    ``trust``: allow a model path that can run code (MONAI bundle, TorchScript), see
    :func:`~napari_segkit.unet.load_model`.
    Returns labels (uint8 classes, background 0; int32 objects), and with ``probabilities``
    also the float32 probabilities (classes first).
    """
    require_torch()
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model, trust=trust)
    if not isinstance(model, Model):
        raise TypeError("model must be a Model or the path of a model folder or file")
    config = model.config
    array, layer_spacing, image_rgb = data.layer_parts(image)
    spacing = spacing if spacing is not None else layer_spacing
    rgb = config["in_channels"] == 3
    spatial = _check(array, config, rgb, slices, image_rgb)
    xp = get_xp(array)
    x = xp.moveaxis(array[..., :3], -1, 0) if rgb else array[None]
    x = data.normalise(x.astype(xp.float32), config["normalisation"], xp)
    zoom = _zoom(spacing, config.get("spacing"), spatial, config["spatial_dims"])
    if zoom is not None:
        x = np.stack([ndimage.zoom(np.asarray(c), zoom, order=1) for c in _host(x)])
    dev = torch_device("gpu" if is_cupy(array) else device)
    with reporting(progress):
        probs = probabilities_of(model.network, x, config, dev, tile=tile, overlap=overlap,
                                 batch_size=batch_size)
    if zoom is not None:
        probs = np.stack([ndimage.zoom(p, [o / n for o, n in zip(spatial, p.shape)], order=1)
                          for p in probs])
    n_classes = len(config["classes"]["values"])
    probs, distance = probs[:n_classes], probs[n_classes] if len(probs) > n_classes else None
    output = xp.asarray(config["classes"]["output"], dtype=xp.uint8)
    labels = output[probs.argmax(0)]
    if instances is None:
        instances = config.get("labels_are") == "objects"
    if instances:
        labels = xp.asarray(_objects(_host(probs), _host(labels), config, spacing, min_size,
                                     None if distance is None else _host(distance)))
    return (labels, probs) if probabilities else labels


def preview(model, image_slice, *, instances: bool = False):
    """Quick labels of ``image_slice`` (a 2D image for a 2D model, a small block for a 3D
    one) by ``model`` in one pass of its network where it is (e.g. while it trains, from a
    :class:`~napari_segkit.unet.train.Batch`), leaving it in training mode if it was.
    Normalised by the slice's own percentiles; class labels (uint8), or objects with
    ``instances``. For a live view: a 256² slice takes a few hundredths of a second on a
    CPU."""
    require_torch()
    config, network = model.config, model.network
    array = np.asarray(data.layer_parts(image_slice)[0])
    rgb = config["in_channels"] == 3
    spatial = _check(array, config, rgb, False, None)
    x = data.normalise(data.channels_first(array, rgb), config["normalisation"])
    dev = next(network.parameters()).device
    was_training = network.training
    try:
        probs = probabilities_of(network, x, config, dev, tile=_one_tile(spatial, config),
                                 overlap=0)
    finally:
        network.train(was_training)
    n_classes = len(config["classes"]["values"])
    labels = np.asarray(config["classes"]["output"], np.uint8)[probs[:n_classes].argmax(0)]
    if not instances:
        return labels
    distance = probs[n_classes] if len(probs) > n_classes else None
    return _objects(probs[:n_classes], labels, config, None, None, distance)


def _one_tile(spatial, config) -> tuple[int, ...]:
    """A window covering the whole slice, rounded up to what the network needs (UNet-like
    networks), else the training patch."""
    network = config.get("network", {})
    if config.get("architecture") not in ("unet", "attention_unet") or "strides" not in network:
        return tuple(config["patch"])
    multiple = np.prod(np.asarray(network["strides"]), axis=0)
    return tuple(int(-(-n // m) * m) for n, m in zip(spatial, multiple))


def _host(array) -> np.ndarray:
    return array.get() if is_cupy(array) else np.asarray(array)


def _check(array, config, rgb: bool, slices: bool, image_rgb: bool | None) -> tuple[int, ...]:
    """The spatial shape, or a ValueError saying why the model does not fit the image (in
    words for every face: panel, CLI and Python). ``image_rgb``: whether the image is colour
    (None for a bare array: then a last axis of 3 or 4 after two or more others is colour)."""
    dims = config["spatial_dims"]
    shape = tuple(array.shape)
    if image_rgb is None:
        image_rgb = array.ndim >= 3 and shape[-1] in (3, 4)
    if rgb and not image_rgb:
        raise ValueError(f"this model was trained on RGB images and this image is grey "
                         f"(shape {shape}); use a model trained on grey images")
    if not rgb and image_rgb:
        raise ValueError(f"this model was trained on grey images and this image is RGB "
                         f"(shape {shape}); use a model trained on RGB images, or make the "
                         "image grey first")
    spatial = shape[:-1] if rgb else shape
    if len(spatial) == dims:
        return spatial
    if len(spatial) == dims + 1 == 3:
        if slices:
            return spatial
        raise ValueError("this model is 2D and the image is 3D; apply it slice by slice "
                         "or train a 3D model")
    raise ValueError(f"this model was trained on {dims}D images and the image is "
                     f"{len(spatial)}D {'RGB ' if rgb else ''}{spatial}; use a {len(spatial)}D "
                     "model")


def _zoom(spacing, model_spacing, spatial, dims):
    """Zoom factors to the model's voxel size, or None when they agree within 5 %."""
    if spacing is None or model_spacing is None:
        return None
    spacing = np.asarray(spacing, float)[-dims:]
    factors = spacing / np.asarray(model_spacing, float)
    if np.allclose(factors, 1, rtol=0.05):
        return None
    return (1.0,) * (len(spatial) - dims) + tuple(factors)


def probabilities_of(network, image, config, dev, *, tile=None, overlap: float = 0.25,
                     batch_size: int = 4):
    """Class probabilities (C, *spatial), float32, of a normalised (channels, *spatial)
    image; NumPy in, NumPy out (computed on ``dev``), CuPy in, CuPy out."""
    dims = config["spatial_dims"]
    xp = get_xp(image)
    n_classes = len(config["classes"]["values"])
    n_out = n_classes + bool(config.get("distance"))
    spatial = image.shape[1:]
    tile = tuple(config["patch"]) if tile is None else (
        (int(tile),) * dims if np.isscalar(tile) else tuple(int(t) for t in tile))
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be from 0 to below 1, got {overlap}")
    out = xp.empty((n_out, *spatial), xp.float32)
    if len(spatial) > dims:  # a 2D network, slice by slice
        for z in range(spatial[0]):
            out[:, z] = _window(network, image[:, z], tile, overlap, batch_size, dev,
                                n_classes)
            report((z + 1) / spatial[0])
        return out
    # Slabs along the first axis, each with the windows of a whole-image run that reach
    # into it (MONAI puts them every `step` voxels): the result equals the whole run's.
    plane = int(np.prod(spatial[1:]))
    thick = max(tile[0], _SLAB_VOXELS // max(plane, 1))
    step = max(1, int(tile[0] * (1 - overlap)))
    for start in range(0, spatial[0], thick):
        stop = min(start + thick, spatial[0])
        lo = max(0, ((start - tile[0]) // step + 1) * step)
        hi = min(spatial[0], stop + tile[0])
        probs = _window(network, image[:, lo:hi], tile, overlap, batch_size, dev, n_classes)
        out[:, start:stop] = probs[:, start - lo:stop - lo]
        report(stop / spatial[0])
    return out


def _window(network, image, tile, overlap, batch_size, dev, n_classes):
    """Sliding-window softmax of one slab's ``n_classes`` class channels (a sigmoid of any
    channel after them: the distance map), back as the input's array kind."""
    import torch
    from monai.inferers import sliding_window_inference

    if is_cupy(image):
        x = torch.from_dlpack(get_xp(image).ascontiguousarray(image))[None]
        keep_on = x.device
    else:
        x = torch.from_numpy(np.ascontiguousarray(image))[None]
        keep_on = torch.device("cpu")
    network = network.to(dev).eval()

    def run(window):
        with autocast(dev):
            return network(window).float()

    with torch.no_grad():
        logits = sliding_window_inference(x, tile, batch_size, run, overlap=overlap,
                                          mode="gaussian", sw_device=dev, device=keep_on)
        probs = torch.cat([torch.softmax(logits[:, :n_classes], 1),
                           torch.sigmoid(logits[:, n_classes:])], 1)[0]
    if is_cupy(image):
        return get_xp(image).from_dlpack(probs.contiguous())
    return probs.numpy()


def _objects(probs, labels, config, spacing, min_size, distance=None) -> np.ndarray:
    """Instance labels: the foreground split into objects, holes filled, fragments gone.
    With a learnt ``distance`` map (1 at object centres): seeds at its peaks (smoothed by
    σ = 1 voxel, at least :data:`_SEED_HEIGHT` above their surroundings), grown over the
    foreground by a watershed on it (foreground specks without a peak are dropped)."""
    dims = labels.ndim
    if distance is not None:
        foreground = probs[0] < 0.5
        smooth = ndimage.gaussian_filter(distance, 1.0)
        markers = label(h_maxima(smooth, _SEED_HEIGHT).astype(bool) & foreground,
                        device="cpu")
        objects = watershed(-smooth, markers, mask=foreground).astype(np.int32)
    elif config.get("labels_are") == "objects":  # background, object, boundary
        foreground = probs[0] < 0.5
        markers = label(probs[1] > 0.5, device="cpu")
        objects = watershed(-probs[1], markers, mask=foreground).astype(np.int32)
    else:
        foreground = labels > 0
        objects = split_touching_objects(foreground, spacing=None if spacing is None else
                                         tuple(spacing)[-dims:], device="cpu")
    objects = postprocess.fill_holes(objects, device="cpu")
    sizes = np.bincount(objects.ravel())[1:]
    sizes = sizes[sizes > 0]
    if sizes.size:
        limit = np.median(sizes) / 5 if min_size is None else min_size
        objects = postprocess.remove_small_objects(objects, limit, device="cpu")
    return postprocess.relabel_sequential(objects, device="cpu").astype(np.int32)
