"""Train a MONAI network from images and (sparse) labels, for a time or a number of epochs.

Training runs batches of random patches; every so often (an "epoch": ``steps`` batches, or
a tenth of ``time_limit``) the validation voxels (whole blocks held out of training, see
:func:`data.split`) are predicted with sliding-window inference and scored per class with
MONAI's Dice; the best epoch's weights are kept. Training stops when ``time_limit`` is up
(after one last validation), after ``epochs``, after ``patience`` epochs without improvement,
or when the caller cancels (a callback raises :class:`~napari_segkit.progress.Cancelled`):
the best model so far is returned either way, with ``config["validated"]`` False when no
validation finished.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..progress import Cancelled, report, reporting
from . import data, networks
from .devices import autocast, require_torch, torch_device
from .model import Model, load_model

LOSSES = ("dicece", "dice", "focal", "dicefocal")
#: seconds of training when neither ``time_limit`` nor ``epochs`` is given
DEFAULT_TIME_LIMIT = 120.0
#: per device kind: patch side (2D, 3D), batch size (2D, 3D), channels, residual units
PLANS = {
    "cpu": {"side": (96, 48), "batch": (4, 2), "channels": (16, 32, 64, 128), "residual_units": 1},
    "cuda": {
        "side": (128, 64),
        "batch": (8, 2),
        "channels": networks.DEFAULT_CHANNELS,
        "residual_units": 2,
    },
}


@dataclass
class Epoch:
    """One epoch's report: training loss, validation Dice per class (None without
    validation), whether it is the best so far, and the seconds it took."""

    epoch: int
    loss: float
    dice: dict[str, float] | None
    best: bool
    seconds: float

    @property
    def mean_dice(self) -> float | None:
        if not self.dice:
            return None
        values = [v for v in self.dice.values() if not math.isnan(v)]
        return float(np.mean(values)) if values else None


@dataclass
class Batch:
    """One batch's report, for a live plot: ``step`` (batches so far, from 1), ``epoch``
    (the epoch it belongs to, from 1), its ``loss``, ``fraction`` of the training done (by
    time with a ``time_limit``), ``seconds`` since training began and ``seconds_left`` (an
    estimate). ``model`` is the model being trained (for :func:`~napari_segkit.unet.preview`;
    do not keep it)."""

    step: int
    epoch: int
    loss: float
    fraction: float
    seconds: float
    seconds_left: float
    model: Model = field(repr=False)


def train(
    images,
    labels,
    *,
    labels_are: str = "auto",
    background: int | None = 2,
    spatial_dims: int | None = None,
    rgb: bool | None = None,
    spacing=None,
    architecture: str = "unet",
    channels: Sequence[int] | None = None,
    residual_units: int | None = None,
    dropout: float = 0.0,
    time_limit: float | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    patch_size: Sequence[int] | int | None = None,
    learning_rate: float = 2e-3,
    loss: str = "dicece",
    class_weights: str | Sequence[float] | None = "auto",
    normalisation: str = "percentile",
    augment: bool = True,
    validation: float = 0.2,
    patience: int = 15,
    resume=None,
    trust: bool = False,
    seed: int = 0,
    device: str = "auto",
    threads: int | None = None,
    callback: Callable[[Epoch], None] | None = None,
    on_batch: Callable[[Batch], None] | None = None,
    progress: Callable[[float], None] | None = None,
) -> Model:
    """Train a segmentation network on images and their (sparse) labels.

    Training runs batches of random patches, each centred near a labelled voxel of a class
    drawn uniformly (rare classes are seen as often as common ones); the loss counts
    labelled voxels only, so scribbles are enough. Every epoch the validation voxels (whole
    blocks held out of training) are predicted with sliding-window inference and scored per
    class with MONAI's Dice; the best epoch's weights are kept. Training stops when
    ``time_limit`` is up (after one last validation), after ``epochs``, after ``patience``
    epochs without improvement, or when the caller cancels: the best model so far is
    returned either way. Uses AdamW (weight decay 1e-5), and mixed precision on CUDA.

    Parameters
    ----------
    images : array, napari layer or Volume, or a list of them
        2D or 3D images, grey or RGB, read into memory. A layer or Volume also gives the
        voxel size and whether it is RGB.
    labels : integer array, napari layer or Volume, or a list of them
        One labels image per image, paired in order, of the image's spatial shape.
    labels_are : {"auto", "scribbles", "classes", "objects"}, default "auto"
        What the label values mean. "auto": 5 or more ids are objects; label
        ``background`` (2) in sparse strokes (less than half the voxels labelled) are
        scribbles; else classes, e.g. a 0/1 mask. "scribbles": 0 = not labelled, ignored;
        1, 2, … classes; ``background``'s id predicts as 0. "classes": every voxel
        labelled; 0 = background. "objects": instance ids; trained as background / object /
        boundary plus each object's distance to its edge, so that touching objects are
        split.
    background : int or None, default 2
        The scribble id that means background.
    spatial_dims : {2, 3}, optional
        Dimension of the network (default the image's; 2 on a stack trains on its slices).
    rgb : bool, optional
        Whether the last axis holds colour (default: from the layer or Volume; False for a
        bare array).
    spacing : sequence of float, optional
        Voxel size per spatial axis (default: from the first layer or Volume, else
        isotropic). An anisotropic stack gets fewer patch voxels along its coarse axis,
        which is not down-sampled until its voxels are no more than twice as coarse as the
        finest (as nnU-Net does); recorded so that :func:`predict` resamples images of
        another voxel size.
    architecture : {"unet", "attention_unet", "segresnet", "unetr", "swin_unetr"}, default "unet"
        The MONAI network, see :mod:`~napari_segkit.unet.networks`.
    channels : sequence of int, optional
        Feature channels per level; with ``residual_units`` it defaults to the device's
        plan (:data:`PLANS`: 16-32-64-128 with 1 residual unit on the CPU, 2 on a GPU).
    residual_units : int, optional
        Residual units per block (0: plain convolutions).
    dropout : float, default 0.0
        Dropout probability.
    time_limit : float, optional
        Seconds of training (> 0; default 120 when ``epochs`` is not given either),
        validating every tenth of it (or every ``steps`` batches).
    epochs : int, optional
        Number of epochs of ``steps`` batches; with ``time_limit`` too, whichever comes
        first ends training.
    steps : int, optional
        Batches per epoch (default 16 without ``time_limit``).
    batch_size : int, optional
        Patches per batch (default 4 of 96² or 2 of 48³ on the CPU, 8 of 128² or 2 of 64³
        on a GPU; fewer voxels along a coarse axis).
    patch_size : int or sequence of int, optional
        Training patch in voxels (default as for ``batch_size``, at most the smallest
        image, rounded down to a multiple of 16). It must fit in the smallest image and be
        a multiple of the network's down-sampling.
    learning_rate : float, default 2e-3
        AdamW's learning rate.
    loss : {"dicece", "dice", "focal", "dicefocal"}, default "dicece"
        MONAI's loss of that name (softmax over the classes).
    class_weights : "auto", "balanced", sequence of float or None, default "auto"
        "balanced": the inverse square root of each class's share; a weight per class;
        None; or "auto": None for objects (whose distance map does the splitting), else
        "balanced".
    normalisation : {"percentile", "fixed"}, default "percentile"
        "percentile" rescales each image's 1st-99.8th percentiles per channel to 0-1
        (microscopy: exposure differs between images); "fixed" uses one window from the
        training images (CT: intensities mean something).
    augment : bool, default True
        Random flips on every axis, 90° turns in the image plane, contrast, gain, offset
        and a little noise.
    validation : float, default 0.2
        Share (0 to below 1) of labelled voxels held out, in whole blocks of about half a
        patch, each class in both parts. 0: none; then the last epoch is kept.
    patience : int, default 15
        Stop after this many epochs without improvement.
    resume : Model or path, optional
        A model (or folder) to go on training, with its settings and optimiser state.
    trust : bool, default False
        Allow a ``resume`` path that can run code (see
        :func:`~napari_segkit.unet.load_model`).
    seed : int, default 0
        Seed of the weights, the patches and the validation split.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to train: "auto" takes CUDA when PyTorch sees a GPU; "gpu" without one
        raises GPUUnavailableError.
    threads : int, optional
        PyTorch's CPU threads while training (default the cores this process may use).
    callback : callable, optional
        ``callback(epoch)`` gets each :class:`Epoch`.
    on_batch : callable, optional
        ``on_batch(batch)`` gets each :class:`Batch` (e.g. for a live plot or
        :func:`preview`).
    progress : callable, optional
        Called with the fraction done (0 to 1; by time with a ``time_limit``); see
        :mod:`napari_segkit.progress`. Raising
        :class:`~napari_segkit.progress.Cancelled` here, in ``callback`` or in ``on_batch``
        stops training and keeps the best model.

    Returns
    -------
    model : Model
        The trained network (on the CPU, in evaluation mode). Its config records how it
        was trained (``config["training"]``), whether a validation finished
        (``config["validated"]``; False when none did), why it stopped
        (``config["stopped"]``: "finished", "no improvement" or "cancelled"), the best mean
        validation Dice (``config["best_dice"]``, None without validation) and each epoch
        (``config["history"]``). Training can go on from it (``resume``).

    Raises
    ------
    MissingDependency
        If PyTorch or MONAI (the ``unet`` extra) is not installed.
    ValueError
        If the images and labels do not pair up (numbers, shapes, non-integer labels, not
        all 2D or all 3D), the labels have no labelled voxel or one class only, an option
        is not one of its choices, ``time_limit`` is not above 0, ``validation`` is 1 or
        more, the patch does not fit, or the labels are in too few places to hold some of
        every class out for validation.
    GPUUnavailableError
        If ``device="gpu"`` and PyTorch sees no CUDA GPU.
    UntrustedModelError
        If ``resume`` is a path to a model that can run code and ``trust`` is False.

    See Also
    --------
    predict : Apply the model to new images.
    Model.save : Keep it as a folder.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer and T. Brox, "U-Net: convolutional networks for
           biomedical image segmentation", MICCAI 2015, LNCS 9351:234-241.
           :doi:`10.1007/978-3-319-24574-4_28`
    .. [2] F. Isensee, P. F. Jaeger, S. A. A. Kohl, J. Petersen and K. H. Maier-Hein,
           "nnU-Net: a self-configuring method for deep learning-based biomedical image
           segmentation", Nature Methods 18:203-211, 2021.
           :doi:`10.1038/s41592-020-01008-z`
    .. [3] M. J. Cardoso et al., "MONAI: an open-source framework for deep learning in
           healthcare", arXiv:2211.02701, 2022.

    Examples
    --------
    A bright square on a noisy background, its mask as two classes. Training needs PyTorch
    (the ``unet`` extra) and takes some seconds, so the lines that train are not run as
    doctests.

    >>> import numpy as np
    >>> from napari_segkit import unet
    >>> from napari_segkit.methods import metrics
    >>> image = np.zeros((64, 64), np.float32); image[16:48, 16:48] = 1.0
    >>> image += np.random.default_rng(0).normal(0, 0.2, image.shape).astype(np.float32)
    >>> mask = np.zeros((64, 64), np.uint8); mask[16:48, 16:48] = 1
    >>> model = unet.train(image, mask, labels_are="classes", epochs=2, steps=10,
    ...                    device="cpu")  # doctest: +SKIP
    >>> model.config["validated"], model.config["stopped"]  # doctest: +SKIP
    (True, 'finished')
    >>> metrics.dice(unet.predict(model, image), mask) > 0.9  # doctest: +SKIP
    True
    """
    require_torch()
    import torch

    if time_limit is None and epochs is None:
        time_limit = DEFAULT_TIME_LIMIT
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be a number of seconds above 0, got {time_limit}")
    if time_limit is None:
        steps = steps or 16
    pairs = _pairs(images, labels)
    previous = load_model(resume, trust=trust) if isinstance(resume, (str, os.PathLike)) else resume
    dev = torch_device(device)
    plan = PLANS["cuda" if dev.type == "cuda" else "cpu"]
    config = _config(
        pairs,
        previous,
        labels_are=labels_are,
        background=background,
        spatial_dims=spatial_dims,
        rgb=rgb,
        spacing=spacing,
        architecture=architecture,
        channels=channels or plan["channels"],
        residual_units=plan["residual_units"] if residual_units is None else residual_units,
        dropout=dropout,
        patch_size=patch_size,
        normalisation=normalisation,
        side=plan["side"],
    )
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    n_classes = len(config["classes"]["values"])
    images_cf, targets, distances = _arrays(pairs, config)
    patch = tuple(config["patch"])
    sample_patch = (1,) * (images_cf[0].ndim - 1 - len(patch)) + patch
    block = tuple(max(1, p // 2) for p in sample_patch)
    train_t, val_t = data.split(targets, validation, block, n_classes, seed)
    if isinstance(class_weights, str) and class_weights == "auto":
        class_weights = None if config["labels_are"] == "objects" else "balanced"
    weights = _class_weights(class_weights, train_t, n_classes)
    torch.manual_seed(seed)

    if previous is not None:
        model = Model(copy.deepcopy(previous.network), config)
    else:
        network = networks.build(config["architecture"], **config["network"])
        model = Model(network, config)
    network = model.network.to(dev)
    optimiser = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=1e-5)
    if previous is not None and previous.training is not None:
        optimiser.load_state_dict(previous.training["optimiser"])
    loss_fn = _loss(loss, weights.to(dev) if weights is not None else None)
    sampler = data.PatchSampler(
        images_cf, train_t, sample_patch, augment, seed + len(model.history), distances
    )
    batch_size = batch_size or plan["batch"][len(patch) - 2]
    scaler = torch.amp.GradScaler(enabled=dev.type == "cuda")
    history = model.history
    start = len(history)
    best_score = max((_score(e) for e in history), default=-math.inf)
    best_state = copy.deepcopy(network.state_dict())
    threads = threads or _cores()
    threads_before = torch.get_num_threads()
    clock = _Clock(time_limit, epochs, steps)
    validated = False
    stopped = "finished"
    with reporting(progress):
        try:
            torch.set_num_threads(threads)
            waited, losses = 0, []
            network.train()
            while not clock.done():
                x, y, *d = (torch.from_numpy(a).to(dev) for a in sampler.batch(batch_size))
                if len(patch) < y.ndim - 1:  # 2D network on slices of a stack
                    x, y, d = x[:, :, 0], y[:, 0], [v[:, 0] for v in d]
                optimiser.zero_grad(set_to_none=True)
                with autocast(dev):
                    value = _masked_loss(loss_fn, network(x), y, n_classes, d)
                scaler.scale(value).backward()
                scaler.step(optimiser)
                scaler.update()
                losses.append(float(value.detach()))
                clock.stepped()
                report(clock.fraction())
                if on_batch is not None:
                    on_batch(
                        Batch(
                            clock.step,
                            start + clock.epoch + 1,
                            losses[-1],
                            clock.fraction(),
                            clock.elapsed(),
                            clock.left(),
                            model,
                        )
                    )
                if not clock.epoch_ends():
                    continue
                began = time.perf_counter()
                dice = _validate(network, images_cf, val_t, config, dev) if validation > 0 else None
                network.train()
                clock.validated(time.perf_counter() - began)
                validated = validated or dice is not None
                loss_value = float(np.mean(losses))
                score = _score({"loss": loss_value, "dice": dice})
                waited = 0 if score > best_score else waited + 1
                best = score >= best_score  # ties: the later epoch has trained longer
                if best:
                    best_score, best_state = score, copy.deepcopy(network.state_dict())
                report_ = Epoch(start + clock.epoch, loss_value, dice, best, clock.epoch_seconds())
                history.append(asdict(report_))
                losses = []
                if callback is not None:
                    callback(report_)
                if waited >= patience:
                    stopped = "no improvement"
                    break
        except Cancelled:
            stopped = "cancelled"
        finally:
            torch.set_num_threads(threads_before)
    if validation <= 0:
        best_state = network.state_dict()
    network.load_state_dict(best_state)
    model.network = network.cpu().eval()
    # tensors, numbers, strings, lists, dicts only: training.pt loads with weights_only=True
    model.training = {"optimiser": optimiser.state_dict()}
    model.config["stopped"] = stopped
    model.config["validated"] = validated
    model.config["best_dice"] = best_score if validated else None
    model.config["training"] = {
        "time_limit": time_limit,
        "seconds": round(clock.elapsed(), 2),
        "epochs": clock.epoch,
        "steps": clock.step,
        "batch_size": batch_size,
        "patch": list(patch),
        "device": dev.type,
        "torch_threads": threads,
        "augment": augment,
        "learning_rate": learning_rate,
        "loss": loss,
        "class_weights": None if weights is None else [round(float(w), 4) for w in weights],
    }
    return model


class _Clock:
    """When epochs end and training stops: by ``time_limit`` seconds (an epoch every tenth
    of it, or every ``steps`` batches; the last validation fits in the time), by ``epochs``
    of ``steps`` batches, or both (whichever comes first)."""

    def __init__(self, time_limit, epochs, steps):
        self.limit, self.epochs, self.steps = time_limit, epochs, steps
        self.began = self.epoch_began = time.perf_counter()
        self.step = self.epoch = self.in_epoch = 0
        self.validation = 0.0  # seconds of the last validation
        self.batch = 0.0  # seconds of the last batch
        self._last = self.began  # when the last batch ended

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def stepped(self) -> None:
        now = time.perf_counter()
        self.batch = now - self._last
        self._last = now
        self.step += 1
        self.in_epoch += 1

    def time_up(self) -> bool:
        """Whether one more batch and a validation would overrun the time limit."""
        return (
            self.limit is not None and self.elapsed() + self.batch + self.validation >= self.limit
        )

    def epoch_ends(self) -> bool:
        if self.steps is not None and self.in_epoch >= self.steps:
            return True
        if self.limit is not None and (
            self.time_up()
            or self.steps is None
            and time.perf_counter() - self.epoch_began >= self.limit / 10
        ):
            return True
        return False

    def validated(self, seconds: float) -> None:
        self.validation = seconds
        self.epoch += 1
        self.in_epoch = 0

    def epoch_seconds(self) -> float:
        now = time.perf_counter()
        seconds, self.epoch_began, self._last = now - self.epoch_began, now, now
        return seconds

    def done(self) -> bool:
        if self.epochs is not None and self.epoch >= self.epochs:
            return True
        return self.in_epoch == 0 and self.step > 0 and self.time_up()

    def fraction(self) -> float:
        parts = []
        if self.limit is not None:
            parts.append(self.elapsed() / self.limit)
        if self.epochs:
            per = self.steps or 1
            parts.append((self.epoch + min(self.in_epoch / per, 1)) / self.epochs)
        return float(min(max(parts, default=1.0), 1.0))

    def left(self) -> float:
        if self.limit is not None and not self.epochs:
            return max(0.0, self.limit - self.elapsed())
        f = self.fraction()
        return self.elapsed() * (1 - f) / f if f > 0 else float("nan")


def _cores() -> int:
    """The CPU cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _pairs(images, labels) -> list[tuple]:
    images = list(images) if isinstance(images, (list, tuple)) else [images]
    labels = list(labels) if isinstance(labels, (list, tuple)) else [labels]
    if len(images) != len(labels) or not images:
        raise ValueError(
            f"give one labels image per image ({len(images)} images, {len(labels)} labels)"
        )
    return list(zip(images, labels))


def _config(
    pairs,
    previous,
    *,
    labels_are,
    background,
    spatial_dims,
    rgb,
    spacing,
    architecture,
    channels,
    residual_units,
    dropout,
    patch_size,
    normalisation,
    side,
) -> dict:
    """Check the pairs and settle the model's settings (those of ``previous`` if resuming)."""
    _, first_spacing, first_rgb = data.layer_parts(pairs[0][0])
    rgb = bool(first_rgb) if rgb is None else rgb
    spacing = spacing if spacing is not None else first_spacing
    shapes = []
    for k, (image, lab) in enumerate(pairs):
        image, _, _ = data.layer_parts(image)
        lab, _, _ = data.layer_parts(lab)
        spatial = tuple(image.shape[:-1] if rgb else image.shape)
        if tuple(lab.shape) != spatial:
            raise ValueError(
                f"labels {k + 1} have shape {tuple(lab.shape)} but image {k + 1} "
                f"is {spatial}; paint labels in a layer of the image's shape"
            )
        if not np.issubdtype(np.dtype(lab.dtype), np.integer):
            raise ValueError(f"labels {k + 1} are not integers ({lab.dtype})")
        if len(spatial) not in (2, 3):
            raise ValueError(
                f"image {k + 1} has {len(spatial)} spatial axes; give 2D or 3D "
                "images (one channel, or RGB)"
            )
        shapes.append(spatial)
    if len({len(s) for s in shapes}) != 1:
        raise ValueError("give all 2D or all 3D images")
    ndim = len(shapes[0])
    dims = spatial_dims or ndim
    if dims not in (2, 3) or dims > ndim:
        raise ValueError(f"spatial_dims must be 2 or 3 and at most the images' {ndim}")
    if spacing is not None:
        spacing = [float(s) for s in spacing][-ndim:][-dims:]
    if previous is not None:
        config = copy.deepcopy(previous.config)
        if config["spatial_dims"] != dims or config["in_channels"] != (3 if rgb else 1):
            raise ValueError(
                "the model to resume was trained on "
                f"{config['spatial_dims']}D images with {config['in_channels']} "
                "channel(s); these images differ"
            )
        return config
    labels_list = [np.asarray(data.layer_parts(lab)[0]) for _, lab in pairs]
    if labels_are == "auto":
        labels_are = data.labels_kind(labels_list, background)
    classes = data.classes_of(labels_list, labels_are, background)
    smallest = np.min(np.asarray(shapes)[:, -dims:], axis=0)
    patch = _patch(patch_size, smallest, spacing, dims, side[dims - 2])
    levels = len(channels) - 1
    strides = networks.strides_for(patch, spacing, levels)
    multiple = networks.divisor(architecture, strides)
    if any(p % m for p, m in zip(patch, multiple)):
        raise ValueError(
            f"patch size {tuple(patch)} must be a multiple of "
            f"{tuple(int(m) for m in multiple)} for {architecture}"
        )
    return {
        "architecture": architecture,
        "spatial_dims": dims,
        "in_channels": 3 if rgb else 1,
        "classes": classes,
        "labels_are": labels_are,
        "spacing": spacing,
        "patch": [int(p) for p in patch],
        "distance": labels_are == "objects",
        "network": {
            "spatial_dims": dims,
            "in_channels": 3 if rgb else 1,
            "out_channels": len(classes["values"]) + (labels_are == "objects"),
            "patch": [int(p) for p in patch],
            "strides": strides,
            "channels": list(channels),
            "residual_units": residual_units,
            "dropout": dropout,
        },
        "normalisation": {"mode": normalisation},
        "history": [],
    }


def _patch(patch_size, smallest, spacing, dims, side) -> list[int]:
    """The training patch: as given (checked against the smallest image), else up to
    ``side`` voxels a side (fewer along a coarser axis), rounded down to a multiple of 16."""
    if patch_size is not None:
        patch = (
            [int(patch_size)] * dims if np.isscalar(patch_size) else [int(p) for p in patch_size]
        )
        if len(patch) != dims:
            raise ValueError(f"patch_size needs {dims} sizes, got {patch}")
        if any(p > s for p, s in zip(patch, smallest)):
            raise ValueError(
                f"patch size {tuple(patch)} is larger than the smallest image "
                f"({tuple(int(s) for s in smallest)}); choose a patch no larger"
            )
        return patch
    ratio = np.ones(dims) if spacing is None else np.min(spacing) / np.asarray(spacing)
    wanted = np.maximum(side * ratio, 8)
    patch = [int(min(w, s) // 16 * 16) or int(min(w, s) // 8 * 8) for w, s in zip(wanted, smallest)]
    if min(patch) < 8:
        raise ValueError(
            f"the smallest image ({tuple(int(s) for s in smallest)}) is too small "
            "for a U-Net: it needs 8 or more voxels along each axis"
        )
    return patch


def _arrays(pairs, config) -> tuple[list, list, list | None]:
    """Normalised (C, *spatial) images, their targets, and distance targets (objects; else
    None)."""
    rgb = config["in_channels"] == 3
    images = [data.channels_first(np.asarray(data.layer_parts(im)[0]), rgb) for im, _ in pairs]
    record = config["normalisation"]
    if "percentiles" not in record:  # a new model: settle it from the training images
        record.update(data.normalisation(images, record["mode"]))
    images = [data.normalise(im, record) for im in images]
    labels = [np.asarray(data.layer_parts(lab)[0]) for _, lab in pairs]
    targets = [data.target(lab, config["classes"], config["labels_are"]) for lab in labels]
    distances = None
    if config.get("distance"):  # a 2D model on a stack: distances within each slice
        spacing = list(config["spacing"] or [1.0] * config["spatial_dims"])
        distances = [
            data.distance_target(lab, [1e6] * (lab.ndim - len(spacing)) + spacing) for lab in labels
        ]
    return images, targets, distances


def _class_weights(kind, targets, n):
    import torch

    if kind is None:
        return None
    if isinstance(kind, str):
        if kind != "balanced":
            raise ValueError(
                f"class_weights must be 'auto', 'balanced', a list or None, got {kind!r}"
            )
        counts = sum(np.bincount(t.ravel(), minlength=n + 1)[1 : n + 1] for t in targets)
        share = counts / max(counts.sum(), 1)
        weights = 1 / np.sqrt(np.maximum(share, 1e-4))
        weights = weights / weights.mean()
    else:
        weights = np.asarray(kind, float)
        if weights.shape != (n,):
            raise ValueError(f"class_weights needs {n} values, one per class")
    return torch.as_tensor(weights, dtype=torch.float32)


def _loss(name: str, weights):
    from monai import losses

    common = {"to_onehot_y": True, "include_background": True}
    if name == "dicece":
        return losses.DiceCELoss(softmax=True, batch=True, weight=weights, **common)
    if name == "dice":
        return losses.DiceLoss(softmax=True, batch=True, **common)
    if name == "focal":
        return losses.FocalLoss(use_softmax=True, weight=weights, **common)
    return losses.DiceFocalLoss(softmax=True, batch=True, weight=weights, **common)


def _masked_loss(loss_fn, logits, target, n_classes, distance):
    """The loss over labelled voxels only: those voxels as one (1, C, N) "image"; with a
    ``distance`` target (a list of one), plus the binary cross-entropy of the last channel
    against it."""
    import torch

    mask = target > 0
    chosen = logits.movedim(1, -1)[mask].T[None].float()
    value = loss_fn(chosen[:, :n_classes], (target[mask].long() - 1)[None, None])
    if distance:
        value = value + torch.nn.functional.binary_cross_entropy_with_logits(
            chosen[0, n_classes], distance[0][mask].float()
        )
    return value


def _validate(network, images, targets, config, dev) -> dict[str, float]:
    """Dice per class over the validation voxels of all images (MONAI's ``compute_dice``)."""
    import torch
    from monai.metrics import compute_dice

    from .predict import probabilities_of

    names = config["classes"]["names"]
    predicted, truth = [], []
    network.eval()
    with torch.no_grad():
        for image, t in zip(images, targets):
            if t.any():
                box = _around(t, config["patch"])
                pred = probabilities_of(network, image[(slice(None),) + box], config, dev)[
                    : len(names)
                ].argmax(0)
                keep = t[box] > 0
                predicted.append(pred[keep])
                truth.append(t[box][keep].astype(np.int64) - 1)
    one_hot = [
        torch.nn.functional.one_hot(torch.as_tensor(np.concatenate(v)), len(names)).T[None].float()
        for v in (predicted, truth)
    ]
    dice = compute_dice(*one_hot, include_background=True, ignore_empty=True)[0]
    return {name: float(d) for name, d in zip(names, dice)}


def _around(target: np.ndarray, patch) -> tuple[slice, ...]:
    """The bounding box of the labelled voxels, grown by half a patch (context)."""
    where = np.nonzero(target)
    halo = [0] * (target.ndim - len(patch)) + [p // 2 for p in patch]
    return tuple(
        slice(max(0, int(w.min()) - h), min(n, int(w.max()) + 1 + h))
        for w, h, n in zip(where, halo, target.shape)
    )


def _score(record: dict) -> float:
    """Higher is better: mean validation Dice, or minus the loss without validation."""
    dice = record.get("dice")
    if dice:
        values = [v for v in dice.values() if not math.isnan(v)]
        if values:
            return float(np.mean(values))
    return -float(record["loss"])
