"""One grey channel from an RGB(A) image: luminance, a colour, or a histology stain."""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.color import hed_from_rgb

from ..backend import get_xp, to_host

#: Rec. 709 luminance weights, as in :func:`skimage.color.rgb2gray`.
LUMINANCE = (0.2125, 0.7154, 0.0721)
COLOURS = {"red": 0, "green": 1, "blue": 2}
#: stains separated by Ruifrok & Johnston (2001) colour deconvolution (H&E and H-DAB)
STAINS = {"hematoxylin": 0, "eosin": 1, "dab": 2}
CHANNELS = ("luminance", *COLOURS, *STAINS)
#: what the recipes accept: a channel, or "auto" (see :func:`auto_channel`)
CHOICES = ("auto", *CHANNELS)


def to_grey(image: Any, *, rgb: bool | None = None, channel: str | int | None = None) -> Any:
    """The grey image to segment.

    Parameters
    ----------
    image : array; colour in the last axis (3 or 4 values) when ``rgb``.
    rgb : bool or None, default None (guess: ndim >= 3 and a last axis of length 3 or 4)
    channel : {"luminance", "red", "green", "blue", "hematoxylin", "eosin", "dab"} or int,
        default "luminance". Luminance and colours keep the image's intensity scale; a stain
        is its optical density (≥ 0, higher = more stain, as :func:`skimage.color.rgb2hed`).

    Grey input is returned as it is (``channel`` must then be None). Colour work is float32.
    """
    if rgb is None:
        rgb = image.ndim >= 3 and image.shape[-1] in (3, 4)
    if not rgb:
        if channel not in (None, "luminance"):
            raise ValueError(f"channel={channel!r} needs an RGB image; this one is grey")
        return image
    if image.shape[-1] not in (3, 4):
        raise ValueError(
            f"rgb=True needs colour in the last axis (3 or 4 values), got shape {image.shape}"
        )
    xp = get_xp(image)
    channel = "luminance" if channel is None else channel
    if isinstance(channel, (int, np.integer)) or channel in COLOURS:
        return image[..., COLOURS.get(channel, channel)]
    if channel == "luminance":
        return image[..., :3].astype(xp.float32) @ xp.asarray(LUMINANCE, dtype=xp.float32)
    if channel in STAINS:
        return _stain(image, STAINS[channel], xp)
    raise ValueError(f"unknown channel {channel!r}; choose one of {CHANNELS} or 0, 1, 2")


def _stain(image, index, xp):
    rgb = image[..., :3].astype(xp.float32)
    if image.dtype.kind in "ui":
        rgb /= np.iinfo(image.dtype).max
    xp.maximum(rgb, 1e-6, out=rgb)
    xp.log(rgb, out=rgb)
    column = xp.asarray(hed_from_rgb[:, index] / np.log(1e-6), dtype=xp.float32)
    density = rgb @ column
    return xp.maximum(density, 0, out=density)


def is_brightfield(image, *, rgb: bool | None = None) -> bool:
    """True for a colour image lit from behind, as a stained slide (dark objects on light):
    its typical pixel has light in every colour (the median of its darkest channel is over a
    third of the range), where a fluorescence image is black wherever nothing glows."""
    if rgb is None:
        rgb = image.ndim >= 3 and image.shape[-1] in (3, 4)
    if not rgb or image.shape[-1] not in (3, 4):  # not colour: to_grey says so
        return False
    step = max(int(np.prod(image.shape[:-1])) // 100_000, 1)
    sample = (
        to_host(image[..., :3])
        .reshape(-1, image.shape[-1] if image.shape[-1] == 3 else 4)[::step, :3]
        .astype(np.float32)
    )
    top = np.iinfo(image.dtype).max if image.dtype.kind in "ui" else max(float(sample.max()), 1.0)
    return float(np.median(sample.min(axis=1))) > top / 3


def auto_channel(image, *, rgb: bool | None = None, channel=None, dark: bool = False):
    """(channel, dark) to segment with. ``channel`` "auto" (or None) on colour input: a
    brightfield slide (:func:`is_brightfield`) gives "hematoxylin" (nuclei; stain density is
    high where they are, so ``dark`` stays False) unless ``dark`` asks for dark objects in
    luminance; other colour images give "luminance". Other channels pass through."""
    if channel not in (None, "auto"):
        return channel, dark
    if rgb is None:
        rgb = image.ndim >= 3 and image.shape[-1] in (3, 4)
    if not rgb:
        return None, dark
    if not dark and is_brightfield(image, rgb=True):
        return "hematoxylin", False
    return "luminance", dark
