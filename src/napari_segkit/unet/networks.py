"""The MONAI segmentation networks a model can be built from, with defaults for small data.

- "unet" (default): MONAI ``UNet``; ``channels`` per level (default 16, 32, 64, 128),
  ``residual_units`` per block (default 2; 0 gives plain convolutions). In an anisotropic
  stack an axis is not down-sampled until its voxels are no more than twice as coarse as the
  finest axis (as nnU-Net does), so Z is not squashed away.
- "attention_unet": MONAI ``AttentionUnet``, same ``channels`` and strides.
- "segresnet": MONAI ``SegResNet`` (``channels[0]`` initial filters, a multiple of 8).
- "unetr", "swin_unetr": MONAI's transformers (best for 3D and many training images; UNETR
  sees a fixed tile, the patch size, SwinUNETR needs sizes divisible by 32).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ARCHITECTURES = ("unet", "attention_unet", "segresnet", "unetr", "swin_unetr")
DEFAULT_CHANNELS = (16, 32, 64, 128)


def strides_for(patch: Sequence[int], spacing: Sequence[float] | None, levels: int) -> list:
    """Down-sampling per level and axis (1 or 2): an axis is halved while its patch size
    allows and its voxels are at most twice the finest axis's (in physical units)."""
    size = np.asarray(patch, float)
    voxel = np.ones(len(patch)) if spacing is None else np.asarray(spacing, float)
    strides = []
    for _ in range(levels):
        halve = (voxel <= 2 * voxel.min() + 1e-9) & (size >= 8)
        step = np.where(halve, 2, 1)
        strides.append(tuple(int(s) for s in step))
        size, voxel = size / step, voxel * step
    return strides


def divisor(architecture: str, strides: list) -> np.ndarray:
    """What each patch side must be a multiple of for the network to run."""
    if architecture in ("unetr", "swin_unetr"):
        return np.full(len(strides[0]), 16 if architecture == "unetr" else 32)
    if architecture == "segresnet":
        return np.full(len(strides[0]), 8)
    return np.prod(np.asarray(strides), axis=0)


def build(
    architecture: str,
    *,
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    patch: Sequence[int],
    strides: list,
    channels: Sequence[int] = DEFAULT_CHANNELS,
    residual_units: int = 2,
    dropout: float = 0.0,
):
    """A MONAI network for ``architecture`` (one of :data:`ARCHITECTURES`)."""
    from monai.networks import nets

    channels = tuple(int(c) for c in channels)
    compact = [s[0] if len(set(s)) == 1 else s for s in strides]
    if architecture == "unet":
        return nets.UNet(
            spatial_dims=spatial_dims,
            in_channels=in_channels,
            out_channels=out_channels,
            channels=channels,
            strides=compact,
            num_res_units=residual_units,
            dropout=dropout,
        )
    if architecture == "attention_unet":
        return nets.AttentionUnet(
            spatial_dims=spatial_dims,
            in_channels=in_channels,
            out_channels=out_channels,
            channels=channels,
            strides=compact,
            dropout=dropout,
        )
    if architecture == "segresnet":
        return nets.SegResNet(
            spatial_dims=spatial_dims,
            init_filters=8 * max(1, channels[0] // 8),
            in_channels=in_channels,
            out_channels=out_channels,
            dropout_prob=dropout or None,
        )
    if architecture == "unetr":
        return nets.UNETR(
            in_channels=in_channels,
            out_channels=out_channels,
            img_size=tuple(patch),
            spatial_dims=spatial_dims,
            feature_size=channels[0],
            hidden_size=384,
            mlp_dim=1536,
            num_heads=6,
            dropout_rate=dropout,
        )
    if architecture == "swin_unetr":
        return nets.SwinUNETR(
            in_channels=in_channels,
            out_channels=out_channels,
            spatial_dims=spatial_dims,
            feature_size=12 * max(1, channels[0] // 12),
            drop_rate=dropout,
        )
    raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
