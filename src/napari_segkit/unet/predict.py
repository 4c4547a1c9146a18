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


def predict(
    model,
    image,
    *,
    tile=None,
    overlap: float = 0.25,
    batch_size: int = 4,
    slices: bool = False,
    spacing=None,
    probabilities: bool = False,
    instances: bool | None = None,
    min_size: float | None = None,
    device: str = "auto",
    trust: bool = False,
    progress=None,
):
    """Segment an image with a trained network.

    Sliding-window inference with Gaussian blending of overlapping windows (MONAI's
    ``sliding_window_inference``), each voxel taking the class of highest probability. The
    image is processed in slabs along its first axis, so memory is bounded by the slab
    (about 2**25 voxels), not the image, with the same result as one whole-image run; a 2D
    network goes slice by slice through a stack. Normalised as the model's training
    images were. A CuPy image is segmented on the GPU and gives CuPy labels.

    Parameters
    ----------
    model : Model or path
        A trained :class:`Model`, or a model folder or file (see :func:`load_model`).
    image : array, napari layer or Volume
        The image, of the model's dimension and channels (grey or RGB); NumPy or CuPy.
    tile : int or sequence of int, optional
        The sliding window in voxels (default the training patch).
    overlap : float, default 0.25
        Overlap of neighbouring windows, from 0 to below 1.
    batch_size : int, default 4
        Windows per network call.
    slices : bool, default False
        Apply a 2D model to each slice of a stack.
    spacing : sequence of float, optional
        The image's voxel size (default: from the layer or Volume). When it differs from
        the model's by more than 5 % the image is resampled to the model's and the result
        back.
    probabilities : bool, default False
        Also return the class probabilities.
    instances : bool, optional
        Split the foreground into objects (default for a model trained on objects): from
        the seeds and distance map it learnt (older object models: the boundary class as
        the watershed's barrier), else by the distance watershed of
        :func:`~napari_segkit.split_touching_objects`; then fill holes and remove small
        objects.
    min_size : float, optional
        With ``instances``: objects under this many voxels are removed (default a fifth of
        the median object).
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where the network runs: "auto" takes CUDA when PyTorch sees a GPU; "gpu" without
        one raises GPUUnavailableError. A CuPy image always runs on the GPU.
    trust : bool, default False
        Allow a model path that can run code (MONAI bundle, TorchScript), see
        :func:`~napari_segkit.unet.load_model`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : uint8 or int32 array
        Of the image's spatial shape: class labels (uint8, background 0, each class the
        value it had in the training labels) or, with ``instances``, objects (int32,
        numbered 1, 2, …). Same array kind as ``image``.
    probabilities : (C, ...) float32 array
        Only with ``probabilities=True``: the probability of each of the model's C
        classes, class axis first.

    Raises
    ------
    MissingDependency
        If PyTorch or MONAI (the ``unet`` extra) is not installed.
    TypeError
        If ``model`` is neither a Model nor a path.
    ValueError
        If the model does not fit the image (grey vs. RGB, 2D vs. 3D; a 2D model on a stack
        needs ``slices=True``), or ``overlap`` is not from 0 to below 1.
    UntrustedModelError
        If ``model`` is a path to a model that can run code and ``trust`` is False.
    GPUUnavailableError
        If ``device="gpu"`` and PyTorch sees no CUDA GPU.

    See Also
    --------
    train : Train a model.
    preview : One quick pass over a slice, while training.

    Examples
    --------
    Applying a model needs PyTorch (the ``unet`` extra) and a trained model, so these lines
    are not run as doctests.

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_segkit import unet
    >>> from napari_segkit.methods import metrics
    >>> image = np.zeros((64, 64), np.float32); image[16:48, 16:48] = 1.0
    >>> image += np.random.default_rng(0).normal(0, 0.2, image.shape).astype(np.float32)
    >>> mask = np.zeros((64, 64), np.uint8); mask[16:48, 16:48] = 1
    >>> model = unet.train(image, mask, labels_are="classes", epochs=2, steps=10,
    ...                    device="cpu")  # doctest: +SKIP
    >>> labels, probabilities = unet.predict(model, image,
    ...                                      probabilities=True)  # doctest: +SKIP
    >>> labels.dtype.name, probabilities.shape  # doctest: +SKIP
    ('uint8', (2, 64, 64))
    >>> metrics.dice(labels, mask) > 0.9  # doctest: +SKIP
    True

    From a saved model folder:

    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = model.save(folder / "squares")  # doctest: +SKIP
    >>> unet.predict(folder / "squares", image).shape  # doctest: +SKIP
    (64, 64)
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
        probs = probabilities_of(
            model.network, x, config, dev, tile=tile, overlap=overlap, batch_size=batch_size
        )
    if zoom is not None:
        probs = np.stack(
            [ndimage.zoom(p, [o / n for o, n in zip(spatial, p.shape)], order=1) for p in probs]
        )
    n_classes = len(config["classes"]["values"])
    probs, distance = probs[:n_classes], probs[n_classes] if len(probs) > n_classes else None
    output = xp.asarray(config["classes"]["output"], dtype=xp.uint8)
    labels = output[probs.argmax(0)]
    if instances is None:
        instances = config.get("labels_are") == "objects"
    if instances:
        labels = xp.asarray(
            _objects(
                _host(probs),
                _host(labels),
                config,
                spacing,
                min_size,
                None if distance is None else _host(distance),
            )
        )
    return (labels, probs) if probabilities else labels


def preview(model, image_slice, *, instances: bool = False):
    """Label one slice quickly with a model, e.g. while it trains.

    One pass of the network where it is (on the GPU while training there; e.g. from a
    :class:`~napari_segkit.unet.train.Batch`), over a window covering the whole slice,
    leaving it in training mode if it was. Normalised by the slice's own percentiles. For
    a live view: a 256² slice takes a few hundredths of a second on a CPU.

    Parameters
    ----------
    model : Model
        The model, e.g. ``batch.model`` in an ``on_batch`` callback of :func:`train`.
    image_slice : array, napari layer or Volume
        A 2D image for a 2D model, a small block for a 3D one (grey or RGB as the model).
    instances : bool, default False
        Split the foreground into objects, as :func:`predict` does.

    Returns
    -------
    labels : uint8 or int32 array
        Class labels (uint8, background 0), or objects (int32) with ``instances``.

    Raises
    ------
    MissingDependency
        If PyTorch or MONAI (the ``unet`` extra) is not installed.
    ValueError
        If the model does not fit the slice (grey vs. RGB, 2D vs. 3D).

    See Also
    --------
    predict : The full sliding-window inference.

    Examples
    --------
    Show a preview after every tenth batch while training (needs PyTorch, so not run as a
    doctest):

    >>> import numpy as np
    >>> from napari_segkit import unet
    >>> image = np.zeros((64, 64), np.float32); image[16:48, 16:48] = 1.0
    >>> mask = (image > 0).astype(np.uint8)
    >>> previews = []
    >>> def on_batch(batch):
    ...     if batch.step % 10 == 0:
    ...         previews.append(unet.preview(batch.model, image))
    >>> model = unet.train(image, mask, labels_are="classes", epochs=2, steps=10,
    ...                    device="cpu", on_batch=on_batch)  # doctest: +SKIP
    >>> len(previews), previews[-1].dtype.name  # doctest: +SKIP
    (2, 'uint8')
    """
    require_torch()
    config, network = model.config, model.network
    array = np.asarray(data.layer_parts(image_slice)[0])
    rgb = config["in_channels"] == 3
    spatial = _check(array, config, rgb, False, None)
    x = data.normalise(data.channels_first(array, rgb), config["normalisation"])
    dev = next(network.parameters()).device
    was_training = network.training
    try:
        probs = probabilities_of(
            network, x, config, dev, tile=_one_tile(spatial, config), overlap=0
        )
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
        raise ValueError(
            f"this model was trained on RGB images and this image is grey "
            f"(shape {shape}); use a model trained on grey images"
        )
    if not rgb and image_rgb:
        raise ValueError(
            f"this model was trained on grey images and this image is RGB "
            f"(shape {shape}); use a model trained on RGB images, or make the "
            "image grey first"
        )
    spatial = shape[:-1] if rgb else shape
    if len(spatial) == dims:
        return spatial
    if len(spatial) == dims + 1 == 3:
        if slices:
            return spatial
        raise ValueError(
            "this model is 2D and the image is 3D; apply it slice by slice or train a 3D model"
        )
    raise ValueError(
        f"this model was trained on {dims}D images and the image is "
        f"{len(spatial)}D {'RGB ' if rgb else ''}{spatial}; use a {len(spatial)}D "
        "model"
    )


def _zoom(spacing, model_spacing, spatial, dims):
    """Zoom factors to the model's voxel size, or None when they agree within 5 %."""
    if spacing is None or model_spacing is None:
        return None
    spacing = np.asarray(spacing, float)[-dims:]
    factors = spacing / np.asarray(model_spacing, float)
    if np.allclose(factors, 1, rtol=0.05):
        return None
    return (1.0,) * (len(spatial) - dims) + tuple(factors)


def probabilities_of(
    network, image, config, dev, *, tile=None, overlap: float = 0.25, batch_size: int = 4
):
    """Class probabilities (C, *spatial), float32, of a normalised (channels, *spatial)
    image; NumPy in, NumPy out (computed on ``dev``), CuPy in, CuPy out."""
    dims = config["spatial_dims"]
    xp = get_xp(image)
    n_classes = len(config["classes"]["values"])
    n_out = n_classes + bool(config.get("distance"))
    spatial = image.shape[1:]
    tile = (
        tuple(config["patch"])
        if tile is None
        else ((int(tile),) * dims if np.isscalar(tile) else tuple(int(t) for t in tile))
    )
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be from 0 to below 1, got {overlap}")
    out = xp.empty((n_out, *spatial), xp.float32)
    if len(spatial) > dims:  # a 2D network, slice by slice
        for z in range(spatial[0]):
            out[:, z] = _window(network, image[:, z], tile, overlap, batch_size, dev, n_classes)
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
        out[:, start:stop] = probs[:, start - lo : stop - lo]
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
        logits = sliding_window_inference(
            x,
            tile,
            batch_size,
            run,
            overlap=overlap,
            mode="gaussian",
            sw_device=dev,
            device=keep_on,
        )
        probs = torch.cat(
            [torch.softmax(logits[:, :n_classes], 1), torch.sigmoid(logits[:, n_classes:])], 1
        )[0]
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
        markers = label(h_maxima(smooth, _SEED_HEIGHT).astype(bool) & foreground, device="cpu")
        objects = watershed(-smooth, markers, mask=foreground).astype(np.int32)
    elif config.get("labels_are") == "objects":  # background, object, boundary
        foreground = probs[0] < 0.5
        markers = label(probs[1] > 0.5, device="cpu")
        objects = watershed(-probs[1], markers, mask=foreground).astype(np.int32)
    else:
        foreground = labels > 0
        objects = split_touching_objects(
            foreground, spacing=None if spacing is None else tuple(spacing)[-dims:], device="cpu"
        )
    objects = postprocess.fill_holes(objects, device="cpu")
    sizes = np.bincount(objects.ravel())[1:]
    sizes = sizes[sizes > 0]
    if sizes.size:
        limit = np.median(sizes) / 5 if min_size is None else min_size
        objects = postprocess.remove_small_objects(objects, limit, device="cpu")
    return postprocess.relabel_sequential(objects, device="cpu").astype(np.int32)
