"""Pictures of results for people: outlines, tints and labelled montages (RGB uint8)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.segmentation import find_boundaries

_PALETTE = np.array(
    [
        [255, 225, 25],
        [60, 180, 75],
        [230, 25, 75],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
    ],
    np.uint8,
)


def stretch(image: np.ndarray) -> np.ndarray:
    """Grey to uint8, the 0.5 and 99.8 percentiles to black and white."""
    lo, hi = np.percentile(image, (0.5, 99.8))
    return (np.clip((image - lo) / max(hi - lo, 1e-12), 0, 1) * 255).astype(np.uint8)


def as_rgb(image: np.ndarray, *, rgb: bool = False) -> np.ndarray:
    """An RGB uint8 copy of a grey (stretched) or colour image."""
    if rgb:
        return image[..., :3].astype(np.uint8, copy=True)
    return np.repeat(stretch(image)[..., None], 3, axis=-1)


def overview(image: np.ndarray, labels: np.ndarray, *, rgb: bool = False) -> np.ndarray:
    """``image`` with each object's outline in its own colour.

    3D input gives two panels side by side: the middle Z plane and the maximum projection.
    """
    if labels.ndim == 3:
        middle = labels.shape[0] // 2
        panels = [
            overview(image[middle], labels[middle], rgb=rgb),
            overview(image.max(axis=0), labels.max(axis=0), rgb=rgb),
        ]
        gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
        return np.concatenate([panels[0], gap, panels[1]], axis=1)
    picture = as_rgb(image, rgb=rgb)
    edges = find_boundaries(labels, mode="inner")
    picture[edges] = _PALETTE[labels[edges] % len(_PALETTE)]
    return picture


def tinted(image: np.ndarray, mask: np.ndarray, *, rgb: bool = False) -> np.ndarray:
    """``image`` with the foreground of ``mask`` tinted magenta."""
    picture = as_rgb(image, rgb=rgb).astype(np.float32)
    picture[mask] = 0.45 * picture[mask] + 0.55 * np.array([255, 0, 255], np.float32)
    return picture.astype(np.uint8)


def montage(tiles: list[np.ndarray], names: list[str], columns: int | None = None) -> np.ndarray:
    """Equal-sized RGB tiles in a grid on white, each under its name."""
    columns = columns or math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    h, w = tiles[0].shape[:2]
    size = max(11, min(24, w // 14))
    font = ImageFont.load_default(size=size)
    band, gap = size + 6, max(3, w // 60)
    picture = np.full((rows * (h + band + gap), columns * (w + gap), 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = r * (h + band + gap), c * (w + gap)
        picture[y + band : y + band + h, x : x + w] = tile
    canvas = Image.fromarray(picture)
    draw = ImageDraw.Draw(canvas)
    for i, name in enumerate(names):
        r, c = divmod(i, columns)
        draw.text((c * (w + gap) + 2, r * (h + band + gap) + 2), name, fill="black", font=font)
    return np.asarray(canvas)
