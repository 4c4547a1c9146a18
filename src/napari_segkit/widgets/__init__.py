"""magicgui widgets: thin faces over napari_segkit.methods, run in napari thread workers."""

from .evaluate import EvaluateWidget
from .threshold import ThresholdWidget

__all__ = ["EvaluateWidget", "ThresholdWidget"]
