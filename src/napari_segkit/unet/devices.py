"""Where torch runs: "cpu", "gpu" (CUDA, or a clear error) or "auto"; mixed precision on
CUDA."""

from __future__ import annotations

import contextlib

from .._checks import require
from ..backend import DEVICES, GPUUnavailableError


def require_torch() -> None:
    """Refuse in one sentence when PyTorch or MONAI (the ``unet`` extra) is missing."""
    require(
        {"torch": "torch", "monai": "monai"},
        extra="unet",
        what="the U-Net",
        hint=" (without an NVIDIA GPU, install PyTorch's CPU build first, as the README says)",
    )


def torch_device(device: str = "auto"):
    """The torch device for ``device`` ("auto" takes CUDA when PyTorch sees a GPU)."""
    import torch

    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise GPUUnavailableError(
            "device='gpu' was asked for, but this PyTorch sees no CUDA "
            "GPU; install a CUDA build of PyTorch or use device='cpu'"
        )
    return torch.device("cuda")


def autocast(device):
    """Mixed precision (float16 compute, float32 weights) on CUDA; nothing on the CPU."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()
