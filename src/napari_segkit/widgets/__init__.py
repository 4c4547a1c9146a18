"""magicgui widgets: thin faces over napari_segkit.methods, run in napari thread workers."""

from .threshold import ThresholdWidget

__all__ = ["ThresholdWidget"]
